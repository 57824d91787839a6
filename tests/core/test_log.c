/* test_log.c — one event is one line in either format: logfmt values are
 * quoted and escaped, JSON lines parse (with json-c) back to the same
 * fields, control characters never break a line, levels filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/log.h"

static char g_line[4096];
static int g_lines;

static void capture(const char *line, void *opaque)
{
    (void)opaque;
    snprintf(g_line, sizeof g_line, "%s", line);
    g_lines++;
}

static int setup(void **state)
{
    (void)state;
    g_lines = 0;
    g_line[0] = '\0';
    tc_log_set_hook(capture, NULL);
    tc_log_set_level(TC_LOG_INFO);
    tc_log_set_format(TC_LOG_LOGFMT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_log_set_hook(NULL, NULL);
    tc_log_set_format(TC_LOG_LOGFMT);
    return 0;
}

static void test_logfmt_escapes(void **state)
{
    (void)state;
    const tc_log_ctx ctx = { "engine", "out0" };
    tc_log(&ctx, TC_LOG_WARN, "say \"hi\"\nback\\slash");
    assert_int_equal(g_lines, 1);
    assert_non_null(strstr(g_line, " level=warn module=engine inst=out0 msg=\"say \\\"hi\\\" back\\\\slash\""));
    assert_null(strchr(g_line, '\n'));
    assert_memory_equal(g_line, "ts=", 3);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    tc_log_set_format(TC_LOG_JSON);
    const tc_log_ctx ctx = { "amqp", "q\"1" };
    tc_log(&ctx, TC_LOG_ERROR, "bad \"body\"\n\ttab \x01 caf\xc3\xa9 %d", 42);
    assert_int_equal(g_lines, 1);
    assert_null(strchr(g_line, '\n'));
    json_object *o = json_tokener_parse(g_line);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "error");
    assert_true(json_object_object_get_ex(o, "module", &v));
    assert_string_equal(json_object_get_string(v), "amqp");
    assert_true(json_object_object_get_ex(o, "inst", &v));
    assert_string_equal(json_object_get_string(v), "q\"1");
    assert_true(json_object_object_get_ex(o, "msg", &v));
    assert_string_equal(json_object_get_string(v), "bad \"body\"\n\ttab \x01 caf\xc3\xa9 42");
    assert_true(json_object_object_get_ex(o, "ts", &v));
    assert_int_equal(strlen(json_object_get_string(v)), 24); /* 2026-11-28T04:38:56.123Z */
    json_object_put(o);
}

/* A message longer than a line is cut, and the JSON still parses: no half
 * UTF-8 sequence, closing quote and brace in place. */
static void test_json_truncated_stays_valid(void **state)
{
    (void)state;
    tc_log_set_format(TC_LOG_JSON);
    char big[1000];
    for (size_t i = 0; i + 2 < sizeof big; i += 2) memcpy(big + i, "\xc3\xa9", 2); /* é x 499 */
    big[sizeof big - 2] = '\0';
    for (int ctl = 0; ctl < 2; ctl++) {
        if (ctl) memset(big, '\x02', 500); /* 6 bytes each once escaped */
        tc_log(NULL, TC_LOG_INFO, "%s", big);
        json_object *o = json_tokener_parse(g_line);
        assert_non_null(o);
        json_object *v;
        assert_true(json_object_object_get_ex(o, "msg", &v));
        assert_true(json_object_get_string_len(v) > 100);
        json_object_put(o);
    }
}

static void test_level_filters(void **state)
{
    (void)state;
    tc_log(NULL, TC_LOG_DEBUG, "hidden");
    assert_int_equal(g_lines, 0);
    tc_log_set_level(TC_LOG_DEBUG);
    tc_log(NULL, TC_LOG_DEBUG, "shown");
    assert_int_equal(g_lines, 1);
    assert_non_null(strstr(g_line, "module=talkcast msg=\"shown\""));
}

static void *log_from_thread(void *arg)
{
    (void)arg;
    tc_log(NULL, TC_LOG_INFO, "from a stream's thread");
    return NULL;
}

/* The stream tag follows threads started with tc_log_thread_create, in both
 * formats, and stays off lines of untagged threads. */
static void test_stream_tag_follows_threads(void **state)
{
    (void)state;
    tc_log_set_tag("alpha");
    pthread_t th;
    assert_int_equal(tc_log_thread_create(&th, log_from_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_non_null(strstr(g_line, " module=talkcast stream=alpha msg=\"from a stream's thread\""));
    tc_log_set_format(TC_LOG_JSON);
    assert_int_equal(tc_log_thread_create(&th, log_from_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_non_null(strstr(g_line, "\"module\":\"talkcast\",\"stream\":\"alpha\",\"msg\""));
    tc_log_set_tag(NULL);
    assert_int_equal(tc_log_thread_create(&th, log_from_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_null(strstr(g_line, "\"stream\":"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logfmt_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_truncated_stays_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_tag_follows_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
