/* http.c — the health HTTP server: libmicrohttpd with one internal polling
 * thread that accepts, reads, calls the handler and writes.
 *
 * Invariants: the handler only ever runs on that thread, one request at a
 * time, and never after tc_ops_http_stop returned (MHD_stop_daemon joins the
 * thread); every MHD response is destroyed right after it is queued (MHD
 * keeps its own reference while sending); a body buffer is handed to MHD,
 * which frees it, or freed here — never both. At most
 * TC_OPS_HTTP_MAX_CONNECTIONS connections, each closed after
 * TC_OPS_HTTP_TIMEOUT_S idle seconds, so a stuck scraper cannot pin the
 * daemon. */
#include "ops/ops.h"

#include "core/err.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

struct tc_ops_http {
    struct MHD_Daemon *daemon;
    tc_ops_handler handler;
    void *opaque;
    int port;
    /* libmicrohttpd's last message: read only when MHD_start_daemon failed,
     * i.e. when no server thread exists that could write it. */
    char mhd_msg[200];
};

static const tc_log_ctx log_ctx = {"ops", "http"};

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A setting as it may be quoted in a one-line reason: at most 80 bytes,
 * control characters shown as '?'. */
static const char *shown(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap && i < 80; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* ---- listen address ---- */

int tc_ops_listen_parse(const char *listen, struct sockaddr_storage *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char show[96];
    shown(listen, show, sizeof show);
    if (!listen || !*listen)
        return fail(err, errlen, TC_ERR_INVAL,
                    "listen address is empty: expected host:port, e.g. 127.0.0.1:9464");

    char host[64];
    const char *hstart, *port;
    size_t hlen;
    int v6 = listen[0] == '[';
    if (v6) {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':')
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": expected [IPv6]:port, e.g. [::1]:9464", show);
        hstart = listen + 1;
        hlen = (size_t)(end - hstart);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon)
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": expected host:port, e.g. 127.0.0.1:9464", show);
        hlen = (size_t)(colon - listen);
        if (memchr(listen, ':', hlen))
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": an IPv6 address goes in brackets, e.g. [::1]:9464",
                        show);
        hstart = listen;
        port = colon + 1;
    }
    if (hlen >= sizeof host)
        return fail(err, errlen, TC_ERR_INVAL, "listen address \"%s\": host too long", show);
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';

    long p = 0;
    size_t digits = strspn(port, "0123456789");
    if (digits == 0 || digits > 5 || port[digits] != '\0' || (p = strtol(port, NULL, 10)) > 65535)
        return fail(err, errlen, TC_ERR_INVAL,
                    "listen address \"%s\": the port must be a number from 0 to 65535", show);

    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": not a numeric IPv6 address in the brackets", show);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)out;
        if (!*host)
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": no host; 0.0.0.0:%ld listens on every interface",
                        show, p);
        const char *num = strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;
        if (inet_pton(AF_INET, num, &a->sin_addr) != 1)
            return fail(err, errlen, TC_ERR_INVAL,
                        "listen address \"%s\": the host is not a numeric IPv4 address or "
                        "localhost (names are not resolved)",
                        show);
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
    }
    return TC_OK;
}

/* ---- requests ---- */

/* Queue one response; `data` is handed to MHD in `mode` (MUST_FREE: MHD
 * frees it, even when this fails). */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *data, size_t len,
                             enum MHD_ResponseMemoryMode mode, const char *ctype, int allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(data);
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot create a response (out of memory?)");
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES)
        tc_log(&log_ctx, TC_LOG_ERROR, "content type \"%s\" refused; sent without", ctype);
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    if (ok != MHD_YES) tc_log(&log_ctx, TC_LOG_ERROR, "cannot queue a %u response", status);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text,
                                  int allow)
{
    return reply(conn, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT,
                 "text/plain; charset=utf-8", allow);
}

/* Answers on the first call for every request: GET and HEAD carry no body
 * worth waiting for, and a refused method's body is not read at all (MHD
 * closes such a connection after the response). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    tc_ops_http *s = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", 1);

    tc_ops_buf body;
    tc_ops_buf_init(&body);
    const char *ctype = NULL;
    int status = s->handler(s->opaque, url, &body, &ctype);
    if (body.failed) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: out of memory writing the response", url);
        tc_ops_buf_free(&body);
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", 0);
    }
    if (status < 100 || status > 599) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: the handler answered status %d", url, status);
        tc_ops_buf_free(&body);
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", 0);
    }
    return reply(conn, (unsigned)status, body.data, body.len, MHD_RESPMEM_MUST_FREE,
                 ctype ? ctype : "text/plain; charset=utf-8", 0);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    tc_ops_http *s = cls;
    vsnprintf(s->mhd_msg, sizeof s->mhd_msg, fmt, ap);
    size_t n = strlen(s->mhd_msg);
    while (n > 0 &&
           (s->mhd_msg[n - 1] == '\n' || s->mhd_msg[n - 1] == ' ' || s->mhd_msg[n - 1] == '.'))
        s->mhd_msg[--n] = '\0';
    tc_log(&log_ctx, TC_LOG_WARN, "libmicrohttpd: %s", s->mhd_msg);
}

/* ---- server ---- */

int tc_ops_http_start(tc_ops_http **out, const char *listen, tc_ops_handler h, void *opaque,
                      char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!out) return fail(err, errlen, TC_ERR_INVAL, "no place for the server");
    *out = NULL;
    if (!h) return fail(err, errlen, TC_ERR_INVAL, "no request handler");
    struct sockaddr_storage addr;
    int rc = tc_ops_listen_parse(listen, &addr, err, errlen);
    if (rc != TC_OK) return rc;

    tc_ops_http *s = calloc(1, sizeof *s);
    if (!s) return fail(err, errlen, TC_ERR_NOMEM, "out of memory");
    s->handler = h;
    s->opaque = opaque;
    /* MHD_USE_AUTO: epoll on Linux, so a daemon with more than FD_SETSIZE
     * descriptors open still serves (select would fail). */
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_DUAL_STACK;
    /* the logger first: libmicrohttpd warns (on its own logger) otherwise */
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)TC_OPS_HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)TC_OPS_HTTP_TIMEOUT_S, MHD_OPTION_END);
    char show[96];
    if (!s->daemon) {
        rc = fail(err, errlen, TC_ERR_IO, "cannot listen on %s: %s",
                  shown(listen, show, sizeof show),
                  s->mhd_msg[0] ? s->mhd_msg : "libmicrohttpd did not start");
        free(s);
        return rc;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    tc_log(&log_ctx, TC_LOG_INFO, "listening on %s (port %d)", shown(listen, show, sizeof show),
           s->port);
    *out = s;
    return TC_OK;
}

int tc_ops_http_port(const tc_ops_http *s)
{
    return s ? s->port : 0;
}

void tc_ops_http_stop(tc_ops_http *s)
{
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
