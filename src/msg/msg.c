/* msg.c — message parsing with json-c and validation by hand, every
 * refusal with a reason a person can act on. */
#include "msg/msg.h"
#include "core/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define MAX_DEPTH 32
#define MAX_METADATA 8192

static const char *const commands[] = { "", "interrupt", "clear", "pause", "resume", "set_avatar",
                                        "set_voice", "ping" };

const char *tc_msg_type_name(tc_msg_type t) { return t == TC_MSG_CONTROL ? "control" : "text"; }
const char *tc_msg_command_name(tc_msg_command c)
{
    return c >= TC_CMD_NONE && c <= TC_CMD_PING ? commands[c] : "?";
}

void tc_msg_free(tc_msg *m)
{
    if (!m) return;
    free(m->timestamp);
    free(m->metadata);
    free(m->text);
    free(m->voice);
    free(m->arg);
    memset(m, 0, sizeof *m);
}

static int refuse(char *reason, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, len, fmt, ap);
    va_end(ap);
    return TC_ERR_INVAL;
}

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t len, size_t *bad_at)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!n || i + (size_t)n > len) { *bad_at = i; return 0; }
        unsigned cp = n == 1 ? c : c & (0x7F >> n);
        for (int k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) { *bad_at = i; return 0; }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *bad_at = i; return 0; }
        i += (size_t)n;
    }
    return 1;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A string field: absent → *out stays NULL; present must be a string. */
static int get_string(json_object *o, const char *key, char **out, size_t max_chars, int required,
                      char *reason, size_t rl)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        return required ? refuse(reason, rl, "missing field \"%s\"", key) : TC_OK;
    }
    if (!json_object_is_type(v, json_type_string))
        return refuse(reason, rl, "field \"%s\" must be a string, not %s", key, json_type_to_name(json_object_get_type(v)));
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return refuse(reason, rl, "field \"%s\" contains a NUL character (\\u0000)", key);
    if (max_chars && utf8_chars(s) > max_chars)
        return refuse(reason, rl, "field \"%s\" is longer than %zu characters", key, max_chars);
    if (!(*out = strdup(s))) return TC_ERR_NOMEM;
    return TC_OK;
}

static int get_int(json_object *o, const char *key, int *out, int lo, int hi, char *reason, size_t rl)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) return TC_OK;
    if (!json_object_is_type(v, json_type_int))
        return refuse(reason, rl, "field \"%s\" must be a whole number, not %s", key,
                      json_type_to_name(json_object_get_type(v)));
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi) return refuse(reason, rl, "field \"%s\" is %lld; must be %d to %d", key, (long long)x, lo, hi);
    *out = (int)x;
    return TC_OK;
}

/* Trim ASCII and Unicode-agnostic whitespace at both ends, in place. */
static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && isspace((unsigned char)s[a])) a++;
    while (n > a && isspace((unsigned char)s[n - 1])) n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

/* RFC 3339: 2026-11-25T10:00:00Z, optional fraction, Z or ±hh:mm. */
static int rfc3339(const char *s)
{
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n < 19) return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return 0;
    const char *p = s + n;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'Z' || *p == 'z') return p[1] == '\0';
    int oh, om;
    return (*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && strlen(p) == 6 && oh < 24 && om < 60;
}

int tc_msg_parse(const void *body, size_t len, const char *amqp_id, tc_msg *out, char *reason, size_t rl)
{
    memset(out, 0, sizeof *out);
    out->pitch = -1;
    out->v = 1;
    if (!body || len == 0) return refuse(reason, rl, "empty body");
    if (len > TC_MSG_MAX_BODY) return refuse(reason, rl, "body of %zu bytes is over the %d-byte limit", len, TC_MSG_MAX_BODY);
    if (memchr(body, '\0', len)) return refuse(reason, rl, "body contains a NUL byte");
    size_t bad;
    if (!valid_utf8(body, len, &bad)) return refuse(reason, rl, "body is not valid UTF-8 (byte %zu)", bad);

    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok) return TC_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (je == json_tokener_continue) {
        /* The body is all there is: a number, true or null at its very end
         * is complete (json-c waits for a delimiter), not truncated. */
        root = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) == json_tokener_success) je = json_tokener_success, end = len;
    }
    json_tokener_free(tok);
    if (!root && je == json_tokener_success) return refuse(reason, rl, "message must be a JSON object, not null");
    if (!root || je != json_tokener_success) {
        json_object_put(root);
        if (je == json_tokener_error_depth) return refuse(reason, rl, "JSON nested deeper than %d levels", MAX_DEPTH);
        if (je == json_tokener_continue) return refuse(reason, rl, "JSON ends early (truncated)");
        return refuse(reason, rl, "not JSON: %s at byte %zu", json_tokener_error_desc(je), end);
    }
    for (; end < len; end++)
        if (!isspace(((const unsigned char *)body)[end])) {
            json_object_put(root);
            return refuse(reason, rl, "trailing data after the JSON value at byte %zu", end);
        }
    int r = TC_OK;
    if (!json_object_is_type(root, json_type_object)) {
        r = refuse(reason, rl, "message must be a JSON object, not %s", json_type_to_name(json_object_get_type(root)));
        goto done;
    }
    if ((r = get_int(root, "v", &out->v, 1, 1000, reason, rl)) < 0) goto done;
    if (out->v != 1) {
        r = refuse(reason, rl, "schema version %d is not supported (this talkcast speaks v1)", out->v);
        goto done;
    }
    char *type = NULL;
    if ((r = get_string(root, "type", &type, 32, 1, reason, rl)) < 0) goto done;
    if (!strcmp(type, "text")) out->type = TC_MSG_TEXT;
    else if (!strcmp(type, "control")) out->type = TC_MSG_CONTROL;
    else r = refuse(reason, rl, "unknown type \"%.32s\" (text or control)", type);
    free(type);
    if (r < 0) goto done;

    char *id = NULL;
    if ((r = get_string(root, "id", &id, 0, 0, reason, rl)) < 0) goto done;
    const char *use = id && *id ? id : amqp_id && *amqp_id ? amqp_id : NULL;
    /* no id at all is allowed: the message is spoken, only not deduplicated */
    if (!use) out->id[0] = 0;
    else if (strlen(use) > TC_MSG_MAX_ID) r = refuse(reason, rl, "id is longer than %d bytes", TC_MSG_MAX_ID);
    else snprintf(out->id, sizeof out->id, "%s", use);
    free(id);
    if (r < 0) goto done;

    if ((r = get_string(root, "timestamp", &out->timestamp, 64, 0, reason, rl)) < 0) goto done;
    if (out->timestamp && !rfc3339(out->timestamp)) {
        r = refuse(reason, rl, "timestamp \"%.40s\" is not RFC 3339", out->timestamp);
        goto done;
    }
    json_object *meta;
    if (json_object_object_get_ex(root, "metadata", &meta) && !json_object_is_type(meta, json_type_null)) {
        if (!json_object_is_type(meta, json_type_object)) {
            r = refuse(reason, rl, "field \"metadata\" must be an object");
            goto done;
        }
        const char *m = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
        if (strlen(m) > MAX_METADATA) {
            r = refuse(reason, rl, "metadata is over %d bytes", MAX_METADATA);
            goto done;
        }
        if (!(out->metadata = strdup(m))) { r = TC_ERR_NOMEM; goto done; }
    }

    if (out->type == TC_MSG_TEXT) {
        if ((r = get_string(root, "text", &out->text, 0, 1, reason, rl)) < 0) goto done;
        trim(out->text);
        size_t chars = utf8_chars(out->text);
        if (chars == 0) { r = refuse(reason, rl, "text is empty"); goto done; }
        if (chars > TC_MSG_MAX_TEXT) {
            r = refuse(reason, rl, "text has %zu characters; at most %d", chars, TC_MSG_MAX_TEXT);
            goto done;
        }
        if ((r = get_string(root, "voice", &out->voice, 64, 0, reason, rl)) < 0) goto done;
        if ((r = get_int(root, "rate", &out->rate, 80, 450, reason, rl)) < 0) goto done;
        if ((r = get_int(root, "pitch", &out->pitch, 0, 100, reason, rl)) < 0) goto done;
        if ((r = get_int(root, "priority", &out->priority, 0, 9, reason, rl)) < 0) goto done;
        json_object *it;
        if (json_object_object_get_ex(root, "interrupt", &it) && !json_object_is_type(it, json_type_null)) {
            if (!json_object_is_type(it, json_type_boolean)) {
                r = refuse(reason, rl, "field \"interrupt\" must be true or false");
                goto done;
            }
            out->interrupt = json_object_get_boolean(it);
        }
    } else {
        char *cmd = NULL;
        if ((r = get_string(root, "command", &cmd, 32, 1, reason, rl)) < 0) goto done;
        for (int i = TC_CMD_INTERRUPT; i <= TC_CMD_PING; i++)
            if (!strcmp(cmd, commands[i])) out->command = (tc_msg_command)i;
        if (out->command == TC_CMD_NONE)
            r = refuse(reason, rl, "unknown command \"%.32s\" (interrupt clear pause resume set_avatar set_voice ping)", cmd);
        free(cmd);
        if (r < 0) goto done;
        if (out->command == TC_CMD_SET_AVATAR || out->command == TC_CMD_SET_VOICE) {
            const char *key = out->command == TC_CMD_SET_AVATAR ? "avatar" : "voice";
            json_object *args;
            if (!json_object_object_get_ex(root, "args", &args) || !json_object_is_type(args, json_type_object)) {
                r = refuse(reason, rl, "%s needs \"args\": {\"%s\": …}", commands[out->command], key);
                goto done;
            }
            if ((r = get_string(args, key, &out->arg, 256, 1, reason, rl)) < 0) goto done;
            if (!out->arg[0]) { r = refuse(reason, rl, "args.%s is empty", key); goto done; }
        }
    }
done:
    json_object_put(root);
    if (r < 0) tc_msg_free(out);
    return r;
}
