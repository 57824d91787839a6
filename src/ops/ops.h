/* ops.h — what operators see of a running talkcast: Prometheus metrics and
 * the health HTTP server (/metrics, /healthz, /readyz); later systemd notify.
 *
 * prom.c writes the Prometheus text exposition format 0.0.4 into a growable
 * buffer; it knows nothing about HTTP. http.c serves whatever a handler
 * writes, over libmicrohttpd on a thread of its own; it knows nothing about
 * metrics. The caller (src/cli/) wires the two together.
 *
 * Ownership: nothing here keeps a pointer it was given, except the handler's
 * `opaque`, which must outlive the server. */
#ifndef TC_OPS_H
#define TC_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- text buffer (prom.c) ---- */

/* A growable text buffer. data is NUL-terminated whenever it is not NULL;
 * len does not count the NUL. On allocation failure `failed` is set, the
 * text written so far stays, and every further write is ignored: build the
 * whole text, then check `failed` once. The buffer owns data. */
typedef struct tc_ops_buf {
    char *data;
    size_t len, cap;
    int failed;
} tc_ops_buf;

void tc_ops_buf_init(tc_ops_buf *b);
void tc_ops_buf_free(tc_ops_buf *b); /* frees data and re-initialises b */
void tc_ops_buf_printf(tc_ops_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tc_ops_buf_append(tc_ops_buf *b, const char *s, size_t n);

/* ---- Prometheus text format 0.0.4 (prom.c) ---- */

/* Numbers are written as Prometheus parses them, whatever the C locale:
 * integers as integers while exact (|v| <= 2^53), other values in the
 * shortest form that reads back to the same double, NaN, +Inf, -Inf.
 *
 * Names are checked: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__". A call with a bad name,
 * type or label list writes nothing and logs a warning (module "ops"): a
 * scrape with one metric missing beats a scrape Prometheus rejects whole.
 * Label values are escaped (\\ \" \n); bytes that are not UTF-8 become U+FFFD. */

/* "# HELP" and "# TYPE" lines; type is counter|gauge|histogram|summary|untyped.
 * help may be NULL (no HELP line); its \ and newlines are escaped. */
void tc_ops_prom_family(tc_ops_buf *b, const char *name, const char *type, const char *help);

/* labels: NULL or a NULL-terminated array of key, value, key, value, ..., NULL.
 * Writes `name{k="v",...} v`. */
void tc_ops_prom_sample(tc_ops_buf *b, const char *name, const char *const *labels, double v);

/* bounds[0..n-1] strictly increasing, bounds[n-1] == INFINITY (written
 * le="+Inf"); cumulative[i] = observations <= bounds[i], so cumulative[n-1]
 * should equal count. labels must not contain "le". Writes n lines
 * name_bucket{...,le="…"}, then name_sum and name_count. */
void tc_ops_prom_histogram(tc_ops_buf *b, const char *name, const char *const *labels,
                           const double *bounds, const int64_t *cumulative, int n, double sum,
                           int64_t count);

/* The content type of what the functions above write. */
#define TC_OPS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- health HTTP server (http.c) ---- */

#define TC_OPS_HTTP_MAX_CONNECTIONS 16 /* more wait, unaccepted, until one closes */
#define TC_OPS_HTTP_TIMEOUT_S       10 /* an idle or slow connection is closed after this */

/* Fill `body` and set *content_type (a string that outlives the call, e.g. a
 * literal; NULL = "text/plain; charset=utf-8"), return the HTTP status
 * (100..599; anything else is answered 500 and logged). `path` is the
 * request path without the query string. A body with `failed` set is
 * answered 500. Runs on the server's thread, one request at a time: it must
 * be quick and must not call tc_ops_http_stop. HEAD requests call it too
 * (the server sends the headers only). */
typedef int (*tc_ops_handler)(void *opaque, const char *path, tc_ops_buf *body,
                              const char **content_type);

typedef struct tc_ops_http tc_ops_http;

/* Parse a listen address: "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464",
 * "[::]:9464", "localhost:9464" (= 127.0.0.1; names are not resolved).
 * Port 0 means any free port. TC_ERR_INVAL with a one-line reason in err
 * (may be NULL). Useful to check a setting without binding. */
int tc_ops_listen_parse(const char *listen, struct sockaddr_storage *out, char *err, size_t errlen);

/* Start serving on a thread of its own (libmicrohttpd's internal polling
 * thread, owned by the server and joined by stop). Only GET and HEAD reach the handler;
 * other methods get 405 with "Allow: GET, HEAD". An IPv6 address listens
 * dual-stack ("[::]" takes IPv4 too). Bad address: TC_ERR_INVAL; cannot
 * bind (port in use, no permission) or start: TC_ERR_IO; both with a
 * one-line reason in err (may be NULL). *out is NULL on failure. */
int tc_ops_http_start(tc_ops_http **out, const char *listen, tc_ops_handler h, void *opaque,
                      char *err, size_t errlen);

/* The port actually bound (useful after port 0). */
int tc_ops_http_port(const tc_ops_http *s);

/* Close every connection, wait for a running handler to return, free.
 * Accepts NULL. Callable from any thread but the server's own, once. */
void tc_ops_http_stop(tc_ops_http *s);

/* ---- systemd notify (notify.c) ---- */

/* systemd's notify protocol (sd_notify). Outside systemd — no
 * NOTIFY_SOCKET in the environment — every call does nothing. */
void tc_ops_notify_ready(const char *status); /* READY=1 and STATUS= */
void tc_ops_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tc_ops_notify_stopping(void); /* STOPPING=1 */
void tc_ops_notify_watchdog(void); /* WATCHDOG=1 */
/* The watchdog period systemd asked for (WatchdogSec=), in µs; 0 = none.
 * Ping at half of it. */
int64_t tc_ops_watchdog_usec(void);

#endif
