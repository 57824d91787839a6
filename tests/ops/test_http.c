/* test_http.c — the health server on loopback with libcurl as the client:
 * GET and HEAD reach the handler, other methods get 405 and never do,
 * handler mistakes become logged 500s, listen addresses are refused with a
 * reason, a taken port is TC_ERR_IO, the connection limit and time-out hold,
 * and stop returns promptly with a slow client connected but only once a
 * running handler has finished. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "core/err.h"
#include "core/log.h"
#include "ops/ops.h"

/* ---- log capture (lines come from the server thread) ---- */

static pthread_mutex_t logs_lock = PTHREAD_MUTEX_INITIALIZER; /* guards logs */
static char logs[16384];

static void hook(const char *line, void *opaque)
{
    (void)opaque;
    pthread_mutex_lock(&logs_lock);
    size_t have = strlen(logs);
    snprintf(logs + have, sizeof logs - have, "%s\n", line);
    pthread_mutex_unlock(&logs_lock);
}

static int logged(const char *needle)
{
    pthread_mutex_lock(&logs_lock);
    int yes = strstr(logs, needle) != NULL;
    pthread_mutex_unlock(&logs_lock);
    return yes;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the handler under test ---- */

typedef struct fixture {
    atomic_int calls;
    atomic_int in_slow, slow_done;
    char last_path[256]; /* written on the server thread, read after the request */
} fixture;

static void write_metrics(tc_ops_buf *b)
{
    tc_ops_prom_family(b, "talkcast_up", "gauge", "1 while running.");
    tc_ops_prom_sample(b, "talkcast_up", NULL, 1);
    tc_ops_prom_family(b, "talkcast_messages_total", "counter", "Messages.");
    const char *const l[] = {"result", "spoken", NULL};
    tc_ops_prom_sample(b, "talkcast_messages_total", l, 42);
}

static int handler(void *opaque, const char *path, tc_ops_buf *body, const char **ctype)
{
    fixture *f = opaque;
    atomic_fetch_add(&f->calls, 1);
    snprintf(f->last_path, sizeof f->last_path, "%s", path);
    if (strcmp(path, "/metrics") == 0) {
        write_metrics(body);
        *ctype = TC_OPS_PROM_CONTENT_TYPE;
        return 200;
    }
    if (strcmp(path, "/healthz") == 0) {
        tc_ops_buf_printf(body, "ok\n");
        return 200;
    }
    if (strcmp(path, "/readyz") == 0) {
        tc_ops_buf_printf(body, "not ready: %s\n", "starting");
        return 503;
    }
    if (strcmp(path, "/slow") == 0) {
        atomic_store(&f->in_slow, 1);
        usleep(400 * 1000);
        tc_ops_buf_printf(body, "slow\n");
        atomic_store(&f->slow_done, 1);
        return 200;
    }
    if (strcmp(path, "/bad-status") == 0) return 42;
    if (strcmp(path, "/oom") == 0) {
        tc_ops_buf_printf(body, "half a page");
        body->failed = 1; /* as a failed realloc leaves it */
        return 200;
    }
    if (strcmp(path, "/bad-ctype") == 0) {
        *ctype = "text/plain\r\nX-Injected: 1";
        tc_ops_buf_printf(body, "x\n");
        return 200;
    }
    tc_ops_buf_printf(body, "not found\n");
    return 404;
}

/* ---- client ---- */

typedef struct resp {
    long status;
    char body[8192];
    size_t body_len;
    char headers[4096];
    size_t headers_len;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t len = sz * n, room = sizeof r->body - 1 - r->body_len;
    memcpy(r->body + r->body_len, p, len < room ? len : room);
    r->body_len += len < room ? len : room;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t len = sz * n, room = sizeof r->headers - 1 - r->headers_len;
    memcpy(r->headers + r->headers_len, p, len < room ? len : room);
    r->headers_len += len < room ? len : room;
    r->headers[r->headers_len] = '\0';
    return len;
}

/* One request to http://host:port/path; host may be "[::1]". */
static CURLcode request_to(const char *method, const char *host, int port, const char *path,
                           resp *r)
{
    memset(r, 0, sizeof *r);
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d%s", host, port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1&b=2");
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    return rc;
}

static CURLcode request(const char *method, int port, const char *path, resp *r)
{
    return request_to(method, "127.0.0.1", port, path, r);
}

/* The value of header `name` (case-insensitive), or "" if absent. */
static const char *header(const resp *r, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *l = r->headers; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return out;
        }
    }
    return out;
}

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Seconds until the server closes fd (reads to EOF or error), or -1 after limit_s. */
static double wait_closed(int fd, double limit_s)
{
    double t0 = now_s();
    for (;;) {
        double left = limit_s - (now_s() - t0);
        if (left <= 0) return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) > 0) {
            char buf[512];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return now_s() - t0;
        }
    }
}

static tc_ops_http *start_ok(const char *listen, fixture *f)
{
    tc_ops_http *s = NULL;
    char err[256] = "unchanged";
    int rc = tc_ops_http_start(&s, listen, handler, f, err, sizeof err);
    if (rc != TC_OK) fail_msg("start %s: %s: %s", listen, tc_err_name(rc), err);
    assert_non_null(s);
    assert_true(tc_ops_http_port(s) > 0 && tc_ops_http_port(s) <= 65535);
    return s;
}

/* ---- tests ---- */

static void test_get_head_and_paths(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int port = tc_ops_http_port(s);
    resp r;
    char v[256];

    tc_ops_buf want;
    tc_ops_buf_init(&want);
    write_metrics(&want);
    assert_int_equal(request("GET", port, "/metrics?debug=1", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want.data);
    assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(f.last_path, "/metrics"); /* the query string is not the path */

    assert_int_equal(request("HEAD", port, "/metrics", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_int_equal(atoi(header(&r, "Content-Length", v, sizeof v)), (int)want.len);
    assert_string_equal(header(&r, "Content-Type", v, sizeof v), TC_OPS_PROM_CONTENT_TYPE);
    tc_ops_buf_free(&want);

    assert_int_equal(request("GET", port, "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_string_equal(header(&r, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");

    assert_int_equal(request("GET", port, "/readyz", &r), CURLE_OK);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready: starting\n");

    assert_int_equal(request("GET", port, "/nope", &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "not found\n");
    assert_string_equal(f.last_path, "/nope");
    assert_int_equal(atomic_load(&f.calls), 5);
    tc_ops_http_stop(s);
}

static void test_other_methods_405(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int port = tc_ops_http_port(s);
    resp r;
    char v[256];
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        assert_int_equal(request(methods[i], port, "/metrics", &r), CURLE_OK);
        if (r.status != 405) fail_msg("%s: status %ld", methods[i], r.status);
        assert_string_equal(header(&r, "Allow", v, sizeof v), "GET, HEAD");
        assert_string_equal(r.body, "method not allowed\n");
    }
    assert_int_equal(atomic_load(&f.calls), 0); /* the handler never saw them */
    /* the server is still fine afterwards */
    assert_int_equal(request("GET", port, "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    tc_ops_http_stop(s);
}

static void test_handler_mistakes_are_500(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int port = tc_ops_http_port(s);
    resp r;
    char v[256];
    assert_int_equal(request("GET", port, "/bad-status", &r), CURLE_OK);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "internal error\n");
    assert_true(logged("/bad-status: the handler answered status 42"));

    assert_int_equal(request("GET", port, "/oom", &r), CURLE_OK);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "out of memory\n");
    assert_true(logged("/oom: out of memory writing the response"));

    /* a content type that would smuggle a header is refused, not sent */
    assert_int_equal(request("GET", port, "/bad-ctype", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "X-Injected", v, sizeof v), "");
    assert_true(logged("refused; sent without"));
    tc_ops_http_stop(s);
}

static void test_bad_listen_addresses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "9464",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:9x",
        "127.0.0.1:123456",
        ":9464",
        "::1:9464",
        "[::1]",
        "[::1]9464",
        "[::1:9464",
        "[127.0.0.1]:80",
        "[nothost]:1",
        "example.com:80",
        "256.0.0.1:80",
        "1.2.3:80",
        "local\nhost:80",
        NULL,
    };
    fixture f = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_ops_http *s = (tc_ops_http *)&f; /* must be reset to NULL */
        char err[256] = "";
        int rc = tc_ops_http_start(&s, bad[i], handler, &f, err, sizeof err);
        if (rc != TC_ERR_INVAL)
            fail_msg("\"%s\": %s (%s)", bad[i] ? bad[i] : "NULL", tc_err_name(rc), err);
        assert_null(s);
        assert_true(strlen(err) > 20);
        assert_null(strchr(err, '\n')); /* one line */
        struct sockaddr_storage ss;
        assert_int_equal(tc_ops_listen_parse(bad[i], &ss, NULL, 0), TC_ERR_INVAL);
    }
    char err[256];
    tc_ops_http *s = NULL;
    tc_ops_http_start(&s, "::1:9464", handler, &f, err, sizeof err);
    assert_non_null(strstr(err, "brackets"));
    tc_ops_http_start(&s, "127.0.0.1:70000", handler, &f, err, sizeof err);
    assert_non_null(strstr(err, "0 to 65535"));
    tc_ops_http_start(&s, "example.com:80", handler, &f, err, sizeof err);
    assert_non_null(strstr(err, "not resolved"));
    assert_int_equal(tc_ops_http_start(&s, "127.0.0.1:0", NULL, &f, err, sizeof err), TC_ERR_INVAL);
    assert_null(s);

    struct sockaddr_storage ss;
    assert_int_equal(tc_ops_listen_parse("localhost:9464", &ss, NULL, 0), TC_OK);
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
    assert_int_equal(a4->sin_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 9464);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(tc_ops_listen_parse("[::]:65535", &ss, NULL, 0), TC_OK);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(a6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 65535);

    assert_int_equal(tc_ops_http_port(NULL), 0);
    tc_ops_http_stop(NULL);
}

static void test_port_in_use(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    char listen[64], err[256] = "";
    snprintf(listen, sizeof listen, "127.0.0.1:%d", tc_ops_http_port(s));
    tc_ops_http *s2 = (tc_ops_http *)&f;
    int rc = tc_ops_http_start(&s2, listen, handler, &f, err, sizeof err);
    assert_int_equal(rc, TC_ERR_IO);
    assert_null(s2);
    if (!strstr(err, "in use") || !strstr(err, listen)) fail_msg("reason: %s", err);
    assert_null(strchr(err, '\n'));
    /* the first server is untouched */
    resp r;
    assert_int_equal(request("GET", tc_ops_http_port(s), "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    tc_ops_http_stop(s);
}

static int ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_listen_forms(void **state)
{
    (void)state;
    fixture f = {0};
    resp r;
    static const char *const v4[] = {"localhost:0", "LOCALHOST:0", "0.0.0.0:0"};
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        tc_ops_http *s = start_ok(v4[i], &f);
        assert_int_equal(request("GET", tc_ops_http_port(s), "/healthz", &r), CURLE_OK);
        assert_int_equal(r.status, 200);
        tc_ops_http_stop(s);
    }
    if (!ipv6_loopback()) {
        print_message("no IPv6 loopback here: [::1] and [::] not checked\n");
        return;
    }
    tc_ops_http *s = start_ok("[::1]:0", &f);
    assert_int_equal(request_to("GET", "[::1]", tc_ops_http_port(s), "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    tc_ops_http_stop(s);
    /* [::] is dual stack: IPv4 clients reach it too */
    s = start_ok("[::]:0", &f);
    assert_int_equal(request_to("GET", "[::1]", tc_ops_http_port(s), "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(request("GET", tc_ops_http_port(s), "/healthz", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    tc_ops_http_stop(s);
}

static void test_stop_with_slow_client(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int fd = raw_connect(tc_ops_http_port(s));
    const char *partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n"; /* never finished */
    assert_int_equal(send(fd, partial, strlen(partial), 0), (ssize_t)strlen(partial));
    usleep(200 * 1000); /* the server has read it */
    double t0 = now_s();
    tc_ops_http_stop(s);
    double took = now_s() - t0;
    if (took > 2) fail_msg("stop took %.2f s with a slow client", took);
    assert_true(wait_closed(fd, 2) >= 0); /* the connection was closed, not leaked */
    close(fd);
    assert_int_equal(atomic_load(&f.calls), 0);
}

typedef struct bg_req {
    int port;
    const char *path;
    CURLcode rc;
    resp r;
    atomic_int done;
} bg_req;

static void *bg_client(void *arg)
{
    bg_req *q = arg;
    q->rc = request("GET", q->port, q->path, &q->r);
    atomic_store(&q->done, 1);
    return NULL;
}

static void test_stop_waits_for_handler(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    bg_req q = {.port = tc_ops_http_port(s), .path = "/slow"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_client, &q), 0);
    double t0 = now_s();
    while (!atomic_load(&f.in_slow)) {
        if (now_s() - t0 > 5) fail_msg("the slow request never reached the handler");
        usleep(1000);
    }
    tc_ops_http_stop(s);
    /* stop returned only after the handler did */
    assert_int_equal(atomic_load(&f.slow_done), 1);
    pthread_join(t, NULL);
    assert_true(now_s() - t0 < 3);
}

/* Past the limit a client waits (the server stops accepting; the kernel
 * queues it) and is served as soon as a slot frees up. */
static void test_connection_limit(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int port = tc_ops_http_port(s);
    int fds[TC_OPS_HTTP_MAX_CONNECTIONS];
    for (int i = 0; i < TC_OPS_HTTP_MAX_CONNECTIONS; i++) {
        fds[i] = raw_connect(port);
        assert_int_equal(send(fds[i], "GET", 3, 0), 3);
    }
    usleep(100 * 1000);
    bg_req q = {.port = port, .path = "/healthz"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_client, &q), 0);
    usleep(500 * 1000);
    if (atomic_load(&q.done) || atomic_load(&f.calls))
        fail_msg("connection %d was served: status %ld", TC_OPS_HTTP_MAX_CONNECTIONS + 1,
                 q.r.status);
    double t0 = now_s();
    close(fds[0]);
    pthread_join(t, NULL);
    assert_int_equal(q.rc, CURLE_OK);
    assert_int_equal(q.r.status, 200);
    assert_true(now_s() - t0 < 1);
    for (int i = 1; i < TC_OPS_HTTP_MAX_CONNECTIONS; i++)
        close(fds[i]);
    tc_ops_http_stop(s);
}

static void test_idle_connection_times_out(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    int fd = raw_connect(tc_ops_http_port(s));
    assert_int_equal(send(fd, "GET /metr", 9, 0), 9);
    double took = wait_closed(fd, TC_OPS_HTTP_TIMEOUT_S + 5);
    close(fd);
    if (took < TC_OPS_HTTP_TIMEOUT_S - 0.5 || took > TC_OPS_HTTP_TIMEOUT_S + 3)
        fail_msg("idle connection closed after %.2f s, want %d s", took, TC_OPS_HTTP_TIMEOUT_S);
    tc_ops_http_stop(s);
}

typedef struct hammer {
    int port, ok;
    const char *want;
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 25; i++) {
        resp r;
        if (request("GET", h->port, "/metrics", &r) == CURLE_OK && r.status == 200 &&
            strcmp(r.body, h->want) == 0)
            h->ok++;
    }
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    fixture f = {0};
    tc_ops_http *s = start_ok("127.0.0.1:0", &f);
    tc_ops_buf want;
    tc_ops_buf_init(&want);
    write_metrics(&want);
    hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer){.port = tc_ops_http_port(s), .want = want.data};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].ok, 25);
    }
    assert_int_equal(atomic_load(&f.calls), 100);
    tc_ops_buf_free(&want);
    tc_ops_http_stop(s);
}

static int group_setup(void **state)
{
    (void)state;
    tc_log_set_hook(hook, NULL);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    tc_log_set_hook(NULL, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_head_and_paths),
        cmocka_unit_test(test_other_methods_405),
        cmocka_unit_test(test_handler_mistakes_are_500),
        cmocka_unit_test(test_bad_listen_addresses),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_stop_with_slow_client),
        cmocka_unit_test(test_stop_waits_for_handler),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_idle_connection_times_out),
        cmocka_unit_test(test_concurrent_clients),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
