/* test_amqp.c — the amqp module without a broker: settings refused with a
 * reason, and a client whose broker is down keeps retrying with back-off
 * while nothing it offers blocks (settles, events, flush's timeout) and
 * teardown is quick. With a broker: tests/integration/run_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "amqp/amqp.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

static void on_delivery(void *opaque, tc_amqp_delivery *d)
{
    (void)opaque;
    tc_amqp_delivery_free(d);
}

static tc_amqp_config good(const char *url)
{
    tc_amqp_config c = { .url = url, .queue = "q", .events_exchange = "ev", .stream = "s", .prefetch = 4,
                         .heartbeat = 30, .tls_verify = 1, .reconnect_min = 0.05, .reconnect_max = 0.2,
                         .max_events = 3 };
    return c;
}

static void test_bad_settings(void **state)
{
    (void)state;
    struct {
        const char *url, *queue;
        int prefetch;
        const char *why;
    } cases[] = {
        { "", "q", 1, "no AMQP URL" },
        { "http://host/", "q", 1, "not amqp://" },
        { "amqp://host:notaport/", "q", 1, "bad AMQP URL" },
        { "amqp://127.0.0.1/", "", 1, "queue name" },
        { "amqp://127.0.0.1/", "q", 0, "prefetch" },
        { "amqp://127.0.0.1/", "q", 70000, "prefetch" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_amqp_config c = good(cases[i].url);
        c.queue = cases[i].queue;
        c.prefetch = cases[i].prefetch;
        tc_amqp *a = (tc_amqp *)1;
        char err[256] = "";
        assert_int_equal(tc_amqp_create(&a, &c, on_delivery, NULL, NULL, err, sizeof err), TC_ERR_INVAL);
        assert_null(a);
        if (!strstr(err, cases[i].why)) fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].why);
    }
    tc_amqp_config c = good("amqp://u:p@127.0.0.1:1/");
    tc_amqp *a = NULL;
    char err[256];
    assert_int_equal(tc_amqp_create(&a, &c, NULL, NULL, NULL, err, sizeof err), TC_ERR_INVAL);
    /* created and never started: destroy frees everything (ASan checks) */
    assert_int_equal(tc_amqp_create(&a, &c, on_delivery, NULL, NULL, err, sizeof err), TC_OK);
    tc_amqp_publish_event(a, "x", "{}");
    tc_amqp_destroy(a);
    tc_amqp_destroy(NULL);
    tc_amqp_delivery_free(NULL);
}

static int state_calls, secret_seen, masked_seen;
static void log_hook(const char *line, void *opaque)
{
    (void)opaque;
    if (strstr(line, "secret")) secret_seen++;
    if (strstr(line, "guest:***@")) masked_seen++;
}

static void on_state(void *opaque, int up, const char *why)
{
    (void)opaque, (void)why;
    if (up) state_calls++;
}

/* A port nobody listens on: retries pile up, nothing blocks. */
static void test_broker_down(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "amqp://guest:secret@127.0.0.1:%d/", 1); /* tcpmux: closed */
    tc_amqp_config c = good(url);
    tc_amqp *a = NULL;
    char err[256];
    assert_int_equal(tc_amqp_create(&a, &c, on_delivery, on_state, NULL, err, sizeof err), TC_OK);
    tc_log_set_hook(log_hook, NULL);
    assert_int_equal(tc_amqp_start(a), TC_OK);
    usleep(800000);
    tc_amqp_stats st;
    tc_amqp_get_stats(a, &st);
    assert_int_equal(st.connected, 0);
    assert_true(st.connect_failures >= 3); /* 0.05 s doubling to 0.2 s: ~5 tries */
    assert_int_equal(st.connects, 0);

    int64_t t0 = tc_now_ns();
    tc_amqp_delivery d = { .generation = 1, .tag = 7, .body = "x", .len = 1 };
    tc_amqp_ack(a, &d);
    tc_amqp_requeue(a, &d);
    tc_amqp_dead_letter(a, &d, "line one\nline two");
    for (int i = 0; i < 5; i++) tc_amqp_publish_event(a, "started", "{\"event\":\"started\"}");
    tc_amqp_set_consuming(a, 0);
    assert_true(tc_now_ns() - t0 < 50000000); /* none of it waits for the broker */
    tc_amqp_get_stats(a, &st);
    assert_int_equal(st.events_pending, 3); /* max_events */
    assert_int_equal(st.events_dropped, 2);
    t0 = tc_now_ns();
    assert_int_equal(tc_amqp_flush(a, 200), TC_ERR_TIMEOUT);
    int64_t took = tc_now_ns() - t0;
    assert_true(took >= 190000000 && took < 600000000);
    t0 = tc_now_ns();
    tc_amqp_destroy(a);
    assert_true(tc_now_ns() - t0 < 1000000000LL);
    tc_log_set_hook(NULL, NULL);
    assert_int_equal(state_calls, 0);
    assert_int_equal(secret_seen, 0); /* the password is never logged */
    assert_true(masked_seen >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_broker_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
