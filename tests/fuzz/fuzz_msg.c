/* fuzz_msg.c — tc_msg_parse on arbitrary AMQP bodies. A body is the one
 * input any publisher controls, so beyond "no crash, no leak" every message
 * the parser accepts must keep the promises msg.h makes to the pipeline:
 * valid UTF-8 within the limits, fields in range, and on refusal an empty
 * tc_msg with a reason. */
#include "core/err.h"
#include "msg/msg.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

/* Strict UTF-8, written apart from msg.c's so a shared mistake is unlikely;
 * returns the number of characters, or -1. */
static long utf8_count(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p, cp, len;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else
            return -1;
        for (unsigned k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80) return -1;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        p += len;
        n++;
    }
    return n;
}

static void check_string(const char *s, long max_chars)
{
    if (!s) return;
    long n = utf8_count(s);
    CHECK(n >= 0);
    CHECK(!max_chars || n <= max_chars);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_msg m;
    char reason[256] = "";
    /* the AMQP message_id stands in when the JSON has no "id" */
    const char *amqp_id = size & 1 ? "amqp-id-1" : NULL;
    int r = tc_msg_parse(data, size, amqp_id, &m, reason, sizeof reason);
    if (r < 0) {
        CHECK(r == TC_ERR_INVAL || r == TC_ERR_FORMAT || r == TC_ERR_NOMEM);
        CHECK(r == TC_ERR_NOMEM || reason[0]);
        CHECK(!m.text && !m.voice && !m.arg && !m.timestamp && !m.metadata);
        tc_msg_free(&m);
        return 0;
    }
    CHECK(r == TC_OK);
    CHECK(size <= TC_MSG_MAX_BODY);
    CHECK(m.v == 1);
    CHECK(strlen(m.id) <= TC_MSG_MAX_ID);
    CHECK(m.id[0] || !amqp_id);
    check_string(m.id, 0);
    check_string(m.timestamp, 64);
    if (m.metadata) {
        CHECK(strlen(m.metadata) <= 8192);
        json_object *o = json_tokener_parse(m.metadata);
        CHECK(o && json_object_is_type(o, json_type_object));
        json_object_put(o);
    }
    if (m.type == TC_MSG_TEXT) {
        CHECK(m.text && !m.arg && m.command == TC_CMD_NONE);
        check_string(m.text, TC_MSG_MAX_TEXT);
        size_t tl = strlen(m.text);
        CHECK(tl > 0 && !isspace((unsigned char)m.text[0]) &&
              !isspace((unsigned char)m.text[tl - 1]));
        check_string(m.voice, 64);
        CHECK(m.rate == 0 || (m.rate >= 80 && m.rate <= 450));
        CHECK(m.pitch >= -1 && m.pitch <= 100);
        CHECK(m.priority >= 0 && m.priority <= 9);
        CHECK(m.interrupt == 0 || m.interrupt == 1);
    } else {
        CHECK(m.type == TC_MSG_CONTROL && !m.text && !m.voice);
        CHECK(m.command >= TC_CMD_INTERRUPT && m.command <= TC_CMD_PING);
        int takes_arg = m.command == TC_CMD_SET_AVATAR || m.command == TC_CMD_SET_VOICE;
        CHECK(takes_arg == (m.arg != NULL));
        if (m.arg) CHECK(m.arg[0]);
        check_string(m.arg, 256);
    }
    CHECK(strcmp(tc_msg_command_name(m.command), "?") != 0);
    tc_msg_free(&m);
    return 0;
}
