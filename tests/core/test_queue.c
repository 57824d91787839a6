/* test_queue.c — FIFO order, bounds, time-outs, close semantics, and a
 * two-thread producer/consumer run that loses and reorders nothing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/queue.h"

static void test_fifo_and_bounds(void **state)
{
    (void)state;
    tc_queue *q;
    assert_int_equal(tc_queue_create(&q, 3), TC_OK);
    for (intptr_t i = 1; i <= 3; i++) assert_int_equal(tc_queue_try_put(q, (void *)i), TC_OK);
    assert_int_equal(tc_queue_try_put(q, (void *)4), TC_ERR_AGAIN);
    assert_int_equal(tc_queue_count(q), 3);
    void *it;
    for (intptr_t i = 1; i <= 3; i++) {
        assert_int_equal(tc_queue_try_get(q, &it), TC_OK);
        assert_ptr_equal(it, (void *)i);
        assert_int_equal(tc_queue_try_put(q, (void *)(i + 10)), TC_OK); /* wraps */
    }
    for (intptr_t i = 11; i <= 13; i++) {
        assert_int_equal(tc_queue_try_get(q, &it), TC_OK);
        assert_ptr_equal(it, (void *)i);
    }
    assert_int_equal(tc_queue_try_get(q, &it), TC_ERR_AGAIN);
    tc_queue_destroy(q);
    assert_int_equal(tc_queue_create(&q, 0), TC_ERR_INVAL);
    assert_null(q);
}

static void test_timeouts(void **state)
{
    (void)state;
    tc_queue *q;
    assert_int_equal(tc_queue_create(&q, 1), TC_OK);
    void *it;
    int64_t t0 = tc_now_ns();
    assert_int_equal(tc_queue_get(q, &it, 30), TC_ERR_TIMEOUT);
    assert_true(tc_now_ns() - t0 >= 29000000);
    assert_int_equal(tc_queue_put(q, (void *)1, 10), TC_OK);
    assert_int_equal(tc_queue_put(q, (void *)2, 10), TC_ERR_TIMEOUT);
    tc_queue_destroy(q);
}

static void test_close_drains_then_reports(void **state)
{
    (void)state;
    tc_queue *q;
    assert_int_equal(tc_queue_create(&q, 4), TC_OK);
    assert_int_equal(tc_queue_try_put(q, (void *)7), TC_OK);
    tc_queue_close(q);
    tc_queue_close(q);
    assert_int_equal(tc_queue_try_put(q, (void *)8), TC_ERR_CLOSED);
    void *it;
    assert_int_equal(tc_queue_get(q, &it, -1), TC_OK);
    assert_ptr_equal(it, (void *)7);
    assert_int_equal(tc_queue_get(q, &it, -1), TC_ERR_CLOSED);
    tc_queue_destroy(q);
}

#define N_ITEMS 200000
static void *producer(void *arg)
{
    tc_queue *q = arg;
    for (intptr_t i = 1; i <= N_ITEMS; i++)
        if (tc_queue_put(q, (void *)i, -1) != TC_OK) return (void *)1;
    tc_queue_close(q);
    return NULL;
}

static void test_threads_lose_nothing(void **state)
{
    (void)state;
    tc_queue *q;
    assert_int_equal(tc_queue_create(&q, 16), TC_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, q), 0);
    intptr_t expect = 1;
    void *it;
    int r;
    while ((r = tc_queue_get(q, &it, 5000)) == TC_OK) {
        assert_ptr_equal(it, (void *)expect);
        expect++;
    }
    assert_int_equal(r, TC_ERR_CLOSED);
    assert_int_equal(expect - 1, N_ITEMS);
    void *ret;
    pthread_join(th, &ret);
    assert_null(ret);
    tc_queue_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_bounds),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_close_drains_then_reports),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
