/* test_msg.c — the message schema: good messages parse with every field;
 * each kind of bad message is refused with a reason that names the
 * problem (the reason becomes the dead-letter header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "msg/msg.h"

static int parse(const char *s, const char *amqp_id, tc_msg *m, char *reason)
{
    return tc_msg_parse(s, strlen(s), amqp_id, m, reason, 256);
}

static void test_good_text(void **state)
{
    (void)state;
    tc_msg m;
    char reason[256] = "";
    const char *s = "{\"v\":1,\"type\":\"text\",\"id\":\"b1f\",\"text\":\"  Hello there.  \",\"voice\":\"en-us\","
                    "\"rate\":200,\"pitch\":40,\"priority\":7,\"interrupt\":true,\"timestamp\":\"2026-11-25T10:00:00.5+01:00\","
                    "\"metadata\":{\"user\":\"ann\",\"n\":[1,2]},\"future_field\":42}";
    assert_int_equal(parse(s, NULL, &m, reason), TC_OK);
    assert_int_equal(m.type, TC_MSG_TEXT);
    assert_string_equal(m.id, "b1f");
    assert_string_equal(m.text, "Hello there.");
    assert_string_equal(m.voice, "en-us");
    assert_int_equal(m.rate, 200);
    assert_int_equal(m.pitch, 40);
    assert_int_equal(m.priority, 7);
    assert_int_equal(m.interrupt, 1);
    assert_string_equal(m.metadata, "{\"user\":\"ann\",\"n\":[1,2]}");
    assert_string_equal(m.timestamp, "2026-11-25T10:00:00.5+01:00");
    tc_msg_free(&m);
    /* minimal: v defaults to 1, id from AMQP, defaults for the rest */
    assert_int_equal(parse("{\"type\":\"text\",\"text\":\"Hi \xc3\xa9t\xc3\xa9\"}", "amqp-7", &m, reason), TC_OK);
    assert_string_equal(m.id, "amqp-7");
    assert_int_equal(m.pitch, -1);
    assert_int_equal(m.priority, 0);
    assert_null(m.voice);
    assert_null(m.metadata);
    tc_msg_free(&m);
}

static void test_good_control(void **state)
{
    (void)state;
    tc_msg m;
    char reason[256];
    const char *cmds[] = { "interrupt", "clear", "pause", "resume", "ping" };
    for (int i = 0; i < 5; i++) {
        char s[128];
        snprintf(s, sizeof s, "{\"type\":\"control\",\"id\":\"c%d\",\"command\":\"%s\"}", i, cmds[i]);
        assert_int_equal(parse(s, NULL, &m, reason), TC_OK);
        assert_string_equal(tc_msg_command_name(m.command), cmds[i]);
        tc_msg_free(&m);
    }
    assert_int_equal(parse("{\"type\":\"control\",\"id\":\"c\",\"command\":\"set_avatar\",\"args\":{\"avatar\":\"astronaut\"}}",
                           NULL, &m, reason), TC_OK);
    assert_int_equal(m.command, TC_CMD_SET_AVATAR);
    assert_string_equal(m.arg, "astronaut");
    tc_msg_free(&m);
    assert_int_equal(parse("{\"type\":\"control\",\"id\":\"c\",\"command\":\"set_voice\",\"args\":{\"voice\":\"de\"}}",
                           NULL, &m, reason), TC_OK);
    assert_string_equal(m.arg, "de");
    tc_msg_free(&m);
    /* no id anywhere: accepted (spoken, just not deduplicated) */
    assert_int_equal(parse("{\"type\":\"text\",\"text\":\"hi\"}", NULL, &m, reason), TC_OK);
    assert_string_equal(m.id, "");
    tc_msg_free(&m);
}

static void test_bad_messages(void **state)
{
    (void)state;
    static char huge[TC_MSG_MAX_BODY + 100], longtext[20000], deep[200];
    memset(huge, ' ', sizeof huge - 1);
    memcpy(huge, "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\"}", 36);
    strcpy(longtext, "{\"type\":\"text\",\"id\":\"x\",\"text\":\"");
    for (int i = 0; i < 5001; i++) strcat(longtext, "a");
    strcat(longtext, "\"}");
    for (int i = 0; i < 40; i++) strcat(deep, "[");
    const struct { const char *body; size_t len; const char *reason; } cases[] = {
        { "", 0, "empty body" },
        { "hello", 0, "not JSON" },
        { "{\"type\":\"text\",", 0, "ends early" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\"} extra", 0, "at byte 36" },
        { "[1,2]", 0, "must be a JSON object" },
        /* scalars that end the body are whole values, not truncated JSON */
        { "2.5", 0, "must be a JSON object, not double" },
        { "7", 0, "must be a JSON object, not int" },
        { "true", 0, "must be a JSON object, not boolean" },
        { "null", 0, "must be a JSON object, not null" },
        { "-", 0, "ends early" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"bad \xff byte\"}", 0, "not valid UTF-8" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"\xc0\xaf\"}", 0, "not valid UTF-8" },
        { "{\"type\":\"text\"}\0junk", 20, "NUL byte" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\\u0000b\"}", 0, "NUL character" },
        { deep, 0, "nested deeper" },
        { huge, sizeof huge - 1, "over the 65536-byte limit" },
        { "{\"v\":2,\"type\":\"text\",\"id\":\"x\",\"text\":\"a\"}", 0, "version 2" },
        { "{\"v\":\"1\",\"type\":\"text\",\"id\":\"x\",\"text\":\"a\"}", 0, "\"v\" must be a whole number" },
        { "{\"id\":\"x\",\"text\":\"a\"}", 0, "missing field \"type\"" },
        { "{\"type\":\"speech\",\"id\":\"x\"}", 0, "unknown type \"speech\"" },
        { "{\"type\":7,\"id\":\"x\"}", 0, "\"type\" must be a string" },
        { "{\"type\":\"text\",\"id\":\"x\"}", 0, "missing field \"text\"" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"   \"}", 0, "text is empty" },
        { longtext, 0, "at most 5000" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":[\"a\"]}", 0, "\"text\" must be a string" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"priority\":10}", 0, "\"priority\" is 10; must be 0 to 9" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"priority\":1.5}", 0, "\"priority\" must be a whole number" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"rate\":5}", 0, "\"rate\" is 5" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"interrupt\":\"yes\"}", 0, "\"interrupt\" must be true or false" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"metadata\":[1]}", 0, "\"metadata\" must be an object" },
        { "{\"type\":\"text\",\"id\":\"x\",\"text\":\"a\",\"timestamp\":\"yesterday\"}", 0, "not RFC 3339" },
        { "{\"type\":\"control\",\"id\":\"x\",\"command\":\"explode\"}", 0, "unknown command \"explode\"" },
        { "{\"type\":\"control\",\"id\":\"x\"}", 0, "missing field \"command\"" },
        { "{\"type\":\"control\",\"id\":\"x\",\"command\":\"set_avatar\"}", 0, "set_avatar needs \"args\"" },
        { "{\"type\":\"control\",\"id\":\"x\",\"command\":\"set_voice\",\"args\":{\"voice\":\"\"}}", 0, "args.voice is empty" },
        { "{\"type\":\"text\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"text\":\"a\"}", 0, "id is longer than 128" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_msg m;
        char reason[256] = "";
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
        int r = tc_msg_parse(cases[i].body, len, NULL, &m, reason, sizeof reason);
        if (r >= 0) fail_msg("case %zu accepted", i);
        if (!strstr(reason, cases[i].reason)) fail_msg("case %zu: reason '%s' lacks '%s'", i, reason, cases[i].reason);
        assert_null(strchr(reason, '\n')); /* one line, for a header */
        assert_null(m.text);
        tc_msg_free(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_text),
        cmocka_unit_test(test_good_control),
        cmocka_unit_test(test_bad_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
