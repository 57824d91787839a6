/* log.c — logfmt or JSON lines to stderr (or a test hook), one write per line. */
#include "core/log.h"
#include "core/err.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = TC_LOG_INFO;
static atomic_int g_format = TC_LOG_LOGFMT;
static _Thread_local const char *t_tag;
static tc_log_hook g_hook;
static void *g_hook_opaque;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void tc_log_set_level(tc_log_level level) { atomic_store(&g_level, (int)level); }
tc_log_level tc_log_get_level(void) { return (tc_log_level)atomic_load(&g_level); }

int tc_log_level_parse(const char *s, tc_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (tc_log_level)i;
            return TC_OK;
        }
    }
    return TC_ERR_INVAL;
}

void tc_log_set_tag(const char *tag) { t_tag = tag; }
const char *tc_log_get_tag(void) { return t_tag; }

typedef struct tagged_start {
    void *(*fn)(void *);
    void *arg;
    const char *tag;
} tagged_start;

static void *tagged_main(void *p)
{
    tagged_start ts = *(tagged_start *)p;
    free(p);
    t_tag = ts.tag;
    return ts.fn(ts.arg);
}

int tc_log_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
    tagged_start *ts = malloc(sizeof *ts);
    if (!ts) return ENOMEM;
    *ts = (tagged_start){ fn, arg, t_tag };
    int r = pthread_create(th, NULL, tagged_main, ts);
    if (r != 0) free(ts);
    return r;
}

void tc_log_set_format(tc_log_format f) { atomic_store(&g_format, (int)f); }

void tc_log_set_hook(tc_log_hook hook, void *opaque)
{
    g_hook = hook;
    g_hook_opaque = opaque;
}

/* Append `s` as a logfmt quoted value: quotes and backslashes escaped,
 * control characters replaced so one event stays one line. */
static size_t put_quoted(char *dst, size_t pos, size_t cap, const char *s)
{
    if (pos < cap) dst[pos++] = '"';
    for (; *s && pos + 2 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[pos++] = '\\';
            dst[pos++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            dst[pos++] = ' ';
        } else {
            dst[pos++] = (char)c;
        }
    }
    if (pos < cap) dst[pos++] = '"';
    return pos;
}

/* Append `s` as a JSON string: quotes, backslashes and control characters
 * escaped (UTF-8 passes through; a cut multibyte tail is dropped). */
static size_t put_json(char *dst, size_t pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (pos < cap) dst[pos++] = '"';
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[pos++] = '\\';
            dst[pos++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(dst + pos, "\\u00", 4);
            dst[pos + 4] = hex[c >> 4];
            dst[pos + 5] = hex[c & 15];
            pos += 6;
        } else {
            dst[pos++] = (char)c;
        }
    }
    if (*s) /* truncated: never leave half a UTF-8 sequence */
        while (pos > 1 && ((unsigned char)dst[pos - 1] & 0xc0) == 0x80) pos--;
    if (*s && pos > 1 && ((unsigned char)dst[pos - 1] & 0xc0) == 0xc0) pos--;
    if (pos < cap) dst[pos++] = '"';
    return pos;
}

static size_t format_json(char *line, size_t cap, const char *ts, tc_log_level level, const tc_log_ctx *ctx,
                          const char *msg)
{
    size_t pos = (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":", ts,
                                  level_names[level]);
    pos = put_json(line, pos, cap - 2, ctx && ctx->module ? ctx->module : "talkcast");
    if (t_tag && pos + 10 < cap) {
        memcpy(line + pos, ",\"stream\":", 10);
        pos = put_json(line, pos + 10, cap - 2, t_tag);
    }
    if (ctx && ctx->instance && pos + 8 < cap) {
        memcpy(line + pos, ",\"inst\":", 8);
        pos = put_json(line, pos + 8, cap - 2, ctx->instance);
    }
    if (pos + 7 < cap) {
        memcpy(line + pos, ",\"msg\":", 7);
        pos = put_json(line, pos + 7, cap - 2, msg);
    }
    line[pos++] = '}';
    return pos;
}

void tc_vlog(const tc_log_ctx *ctx, tc_log_level level, const char *fmt, va_list ap)
{
    if ((int)level > atomic_load(&g_level)) return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char tstr[64];
    snprintf(tstr, sizeof tstr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);

    char line[2048];
    size_t pos;
    if (atomic_load(&g_format) == TC_LOG_JSON) {
        pos = format_json(line, sizeof line - 1, tstr, level, ctx, msg);
    } else {
        int n = snprintf(line, sizeof line, "ts=%s level=%s module=%s", tstr, level_names[level],
                         ctx && ctx->module ? ctx->module : "talkcast");
        pos = n > 0 ? (size_t)n : 0;
        if (t_tag) pos += (size_t)snprintf(line + pos, sizeof line - pos, " stream=%s", t_tag);
        if (ctx && ctx->instance)
            pos += (size_t)snprintf(line + pos, sizeof line - pos, " inst=%s", ctx->instance);
        if (pos + 5 < sizeof line) {
            memcpy(line + pos, " msg=", 5);
            pos = put_quoted(line, pos + 5, sizeof line - 1, msg);
        }
    }
    line[pos] = '\0';

    if (g_hook) {
        g_hook(line, g_hook_opaque);
        return;
    }
    line[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void tc_log(const tc_log_ctx *ctx, tc_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc_vlog(ctx, level, fmt, ap);
    va_end(ap);
}
