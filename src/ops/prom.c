/* prom.c — the Prometheus text exposition format 0.0.4, and the growable
 * buffer it is written into.
 *
 * Invariants: a call writes whole lines or nothing (bad names are refused
 * before the first byte); numbers never depend on the C locale; a buffer
 * that failed to grow stays failed and unchanged. */
#include "ops/ops.h"

#include "core/log.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tc_log_ctx log_ctx = {"ops", "prom"};

/* ---- buffer ---- */

void tc_ops_buf_init(tc_ops_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void tc_ops_buf_free(tc_ops_buf *b)
{
    if (!b) return;
    free(b->data);
    tc_ops_buf_init(b);
}

/* Room for `extra` more bytes plus the NUL; 0, or -1 with failed set. */
static int reserve(tc_ops_buf *b, size_t extra)
{
    if (b->failed) return -1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void tc_ops_buf_append(tc_ops_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0) return;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tc_ops_buf_printf(tc_ops_buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    size_t avail = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data ? b->data + b->len : NULL, avail, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= avail) {
        if (reserve(b, (size_t)n) != 0) {
            if (b->data) b->data[b->len] = '\0'; /* undo the truncated attempt */
            return;
        }
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static void put(tc_ops_buf *b, const char *s)
{
    tc_ops_buf_append(b, s, strlen(s));
}

/* ---- numbers ---- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale; /* LC_NUMERIC "C"; (locale_t)0 if newlocale failed */

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Write v as Prometheus (Go's ParseFloat) reads it into out[32]. */
static void format_number(char *out, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v == trunc(v) && fabs(v) <= 9007199254740992.0) { /* 2^53: exact */
        snprintf(out, cap, "%" PRId64, (int64_t)v);
    } else {
        /* %g honours LC_NUMERIC (a "," in de_DE); this thread uses "C" for it. */
        pthread_once(&c_locale_once, c_locale_init);
        locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v) break;
        }
        if (old) uselocale(old);
    }
}

/* ---- names and escaping ---- */

static int metric_name_ok(const char *s)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p > s && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

static int label_name_ok(const char *s)
{
    if (!s || !*s || strncmp(s, "__", 2) == 0) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(p > s && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

/* 1 when labels is a well-formed list of distinct, valid names with values
 * (and without "le" when the caller adds its own). Logs why not. */
static int labels_ok(const char *metric, const char *const *labels, int reserve_le)
{
    if (!labels) return 1;
    for (size_t i = 0; labels[i]; i += 2) {
        const char *k = labels[i];
        if (!label_name_ok(k) || (reserve_le && strcmp(k, "le") == 0)) {
            tc_log(&log_ctx, TC_LOG_WARN, "metric %s: label name \"%s\" is not valid: skipped",
                   metric, k);
            return 0;
        }
        if (!labels[i + 1]) {
            tc_log(&log_ctx, TC_LOG_WARN, "metric %s: label %s has no value: skipped", metric, k);
            return 0;
        }
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(labels[j], k) == 0) {
                tc_log(&log_ctx, TC_LOG_WARN, "metric %s: label %s given twice: skipped", metric,
                       k);
                return 0;
            }
        }
    }
    return 1;
}

static int check_name(const char *name)
{
    if (metric_name_ok(name)) return 1;
    tc_log(&log_ctx, TC_LOG_WARN, "metric name \"%s\" is not valid: skipped",
           name ? name : "(null)");
    return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

/* A label value: \ " and newline escaped, invalid UTF-8 replaced. */
static void put_value(tc_ops_buf *b, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    while (*s) {
        const unsigned char *run = s;
        size_t n;
        while (*s && *s != '\\' && *s != '"' && *s != '\n' && (n = utf8_len(s)) > 0)
            s += n;
        tc_ops_buf_append(b, (const char *)run, (size_t)(s - run));
        if (!*s) break;
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '"')
            put(b, "\\\"");
        else if (*s == '\n')
            put(b, "\\n");
        else
            put(b, "\xEF\xBF\xBD"); /* U+FFFD */
        s++;
    }
}

/* A HELP text: only \ and newline are escaped there. */
static void put_help(tc_ops_buf *b, const char *h)
{
    for (const char *s = h; *s;) {
        size_t n = strcspn(s, "\\\n");
        tc_ops_buf_append(b, s, n);
        s += n;
        if (!*s) break;
        put(b, *s == '\\' ? "\\\\" : "\\n");
        s++;
    }
}

/* `{k="v",...,le="x"}` or nothing when there are no labels. */
static void put_labels(tc_ops_buf *b, const char *const *labels, const char *le)
{
    int first = 1;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        put(b, first ? "{" : ",");
        put(b, labels[i]);
        put(b, "=\"");
        put_value(b, labels[i + 1]);
        put(b, "\"");
        first = 0;
    }
    if (le) {
        put(b, first ? "{le=\"" : ",le=\"");
        put(b, le);
        put(b, "\"");
        first = 0;
    }
    if (!first) put(b, "}");
}

static void put_line(tc_ops_buf *b, const char *name, const char *suffix, const char *const *labels,
                     const char *le, const char *num)
{
    put(b, name);
    put(b, suffix);
    put_labels(b, labels, le);
    put(b, " ");
    put(b, num);
    put(b, "\n");
}

/* ---- families, samples, histograms ---- */

void tc_ops_prom_family(tc_ops_buf *b, const char *name, const char *type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    if (!check_name(name)) return;
    int known = 0;
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        known |= !strcmp(type, types[i]);
    if (!known) {
        tc_log(&log_ctx, TC_LOG_WARN, "metric %s: type \"%s\" is not valid: skipped", name,
               type ? type : "(null)");
        return;
    }
    if (help) {
        tc_ops_buf_printf(b, "# HELP %s ", name);
        put_help(b, help);
        put(b, "\n");
    }
    tc_ops_buf_printf(b, "# TYPE %s %s\n", name, type);
}

void tc_ops_prom_sample(tc_ops_buf *b, const char *name, const char *const *labels, double v)
{
    if (!check_name(name) || !labels_ok(name, labels, 0)) return;
    char num[32];
    format_number(num, sizeof num, v);
    put_line(b, name, "", labels, NULL, num);
}

void tc_ops_prom_histogram(tc_ops_buf *b, const char *name, const char *const *labels,
                           const double *bounds, const int64_t *cumulative, int n, double sum,
                           int64_t count)
{
    if (!check_name(name) || !labels_ok(name, labels, 1)) return;
    int ok = n >= 1 && bounds && cumulative && bounds[n - 1] == INFINITY;
    for (int i = 0; ok && i < n; i++)
        ok = !isnan(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]);
    if (!ok) {
        tc_log(&log_ctx, TC_LOG_WARN,
               "histogram %s: bounds must increase and end with +Inf: skipped", name);
        return;
    }
    char le[32], num[32];
    for (int i = 0; i < n; i++) {
        /* counts stay int64: past 2^53 a double would round them */
        format_number(le, sizeof le, bounds[i]);
        snprintf(num, sizeof num, "%" PRId64, cumulative[i]);
        put_line(b, name, "_bucket", labels, le, num);
    }
    format_number(num, sizeof num, sum);
    put_line(b, name, "_sum", labels, NULL, num);
    snprintf(num, sizeof num, "%" PRId64, count);
    put_line(b, name, "_count", labels, NULL, num);
}
