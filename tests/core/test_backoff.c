/* test_backoff.c — delays double from min to the cap, each within ±20 %,
 * reset starts over, and two seeds do not retry in lock-step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/backoff.h"

static void test_doubling_with_jitter(void **state)
{
    (void)state;
    tc_backoff b;
    tc_backoff_init(&b, 0.5, 30, 42);
    const double want[] = { 0.5, 1, 2, 4, 8, 16, 30, 30, 30 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double d = tc_backoff_next(&b);
        if (d < want[i] * 0.8 - 1e-9 || d > want[i] * 1.2 + 1e-9) fail_msg("step %zu: %.3f, want %.1f ±20%%", i, d, want[i]);
    }
    tc_backoff_reset(&b);
    double d = tc_backoff_next(&b);
    assert_true(d >= 0.4 && d <= 0.6);
}

static void test_jitter_spreads(void **state)
{
    (void)state;
    tc_backoff a, b;
    tc_backoff_init(&a, 1, 1, 1);
    tc_backoff_init(&b, 1, 1, 2);
    int same = 0;
    double lo = 2, hi = 0;
    for (int i = 0; i < 1000; i++) {
        double x = tc_backoff_next(&a), y = tc_backoff_next(&b);
        same += x == y;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
    }
    assert_true(same < 5);
    assert_true(lo < 0.82 && hi > 1.18 && lo >= 0.8 && hi <= 1.2); /* uses the whole ±20 % */
    tc_backoff c;
    tc_backoff_init(&c, -1, -5, 0); /* bad input is corrected */
    assert_true(c.min == 0.5 && c.max == 0.5 && c.rng != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubling_with_jitter),
        cmocka_unit_test(test_jitter_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
