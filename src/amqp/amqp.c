/* amqp.c — the module's public face: settings checked at create, the
 * requests other threads make (settle, events, consuming on/off) queued to
 * the two threads, flush and teardown. See amqp.h for the contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/amqp_int.h"
#include "core/clock.h"
#include "core/err.h"

void tc_amqp_delivery_free(tc_amqp_delivery *d)
{
    if (!d) return;
    free(d->body);
    free(d->message_id);
    free(d->content_type);
    free(d->correlation_id);
    free(d);
}

/* "amqp://user:secret@host/" → "amqp://user:***@host/" (a new string). */
static char *mask_url(const char *url)
{
    const char *scheme = strstr(url, "://"), *at = strrchr(url, '@');
    const char *colon = scheme && at && at > scheme ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (!colon) return strdup(url);
    size_t n = strlen(url) + 4;
    char *m = malloc(n);
    if (m) snprintf(m, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
    return m;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) memcpy(s, a, la), memcpy(s + la, b, lb + 1);
    return s;
}

static char *dup_or_null(const char *s) { return s && s[0] ? strdup(s) : NULL; }

static int bad(char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf(err, errlen, fmt, what);
    return TC_ERR_INVAL;
}

static int check_config(const tc_amqp_config *c, char *err, size_t errlen)
{
    if (!c->url || !c->url[0]) return bad(err, errlen, "%s", "no AMQP URL (amqp://user:pass@host:5672/vhost)");
    char *u = strdup(c->url);
    if (!u) return TC_ERR_NOMEM;
    struct amqp_connection_info ci;
    int r = amqp_parse_url(u, &ci);
    free(u);
    if (r != AMQP_STATUS_OK || strncmp(c->url, "amqp", 4))
        return bad(err, errlen, "bad AMQP URL '%s' (expected amqp://user:pass@host:port/vhost or amqps://…)",
                   strncmp(c->url, "amqp", 4) ? "not amqp:// or amqps://" : "unparsable");
    if (!c->queue || !c->queue[0] || strlen(c->queue) > 200)
        return bad(err, errlen, "%s", "the queue name must be 1-200 characters");
    if (c->events_exchange && strlen(c->events_exchange) > 200)
        return bad(err, errlen, "%s", "the events exchange name must be at most 200 characters");
    if (c->stream && strlen(c->stream) > 100) return bad(err, errlen, "%s", "the stream name must be at most 100 characters");
    if (c->prefetch < 1 || c->prefetch > 65535) return bad(err, errlen, "%s", "prefetch must be 1-65535");
    if (c->heartbeat < 0 || c->heartbeat > 65535) return bad(err, errlen, "%s", "heartbeat must be 0-65535 s");
    if (c->reconnect_min <= 0 || c->reconnect_max < c->reconnect_min)
        return bad(err, errlen, "%s", "reconnect back-off must be > 0 with min <= max");
    return TC_OK;
}

int tc_amqp_create(tc_amqp **out, const tc_amqp_config *cfg, tc_amqp_on_delivery on_delivery,
                   tc_amqp_on_state on_state, void *opaque, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = 0;
    if (!on_delivery) return bad(err, errlen, "%s", "no delivery callback");
    int r = check_config(cfg, err, errlen);
    if (r < 0) return r;
    tc_amqp *a = calloc(1, sizeof *a);
    if (!a) return TC_ERR_NOMEM;
    a->url = strdup(cfg->url);
    a->queue = strdup(cfg->queue);
    a->control_queue = join(cfg->queue, ".control");
    a->dlx = join(cfg->queue, ".dlx");
    a->dlq = join(cfg->queue, ".dlq");
    a->events = strdup(cfg->events_exchange ? cfg->events_exchange : "");
    a->stream = strdup(cfg->stream && cfg->stream[0] ? cfg->stream : "talkcast");
    a->ca_file = dup_or_null(cfg->ca_file);
    a->cert_file = dup_or_null(cfg->cert_file);
    a->key_file = dup_or_null(cfg->key_file);
    a->url_masked = mask_url(cfg->url);
    if (!a->url || !a->queue || !a->control_queue || !a->dlx || !a->dlq || !a->events || !a->stream ||
        !a->url_masked || (cfg->ca_file && cfg->ca_file[0] && !a->ca_file)) {
        tc_amqp_destroy(a);
        return TC_ERR_NOMEM;
    }
    a->prefetch = cfg->prefetch;
    a->heartbeat = cfg->heartbeat;
    a->passive = cfg->passive;
    a->tls_verify = cfg->tls_verify;
    a->max_events = cfg->max_events > 0 ? cfg->max_events : 10000;
    a->reconnect_min = cfg->reconnect_min;
    a->reconnect_max = cfg->reconnect_max;
    a->on_delivery = on_delivery;
    a->on_state = on_state;
    a->opaque = opaque;
    a->log_in = (tc_log_ctx){ "amqp", "in" };
    a->log_out = (tc_log_ctx){ "amqp", "out" };
    a->want_consuming = 1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    *out = a;
    return TC_OK;
}

int tc_amqp_start(tc_amqp *a)
{
    if (a->started_in) return TC_ERR_INVAL;
    if (tc_log_thread_create(&a->th_in, tc_amqp_consumer_main, a) != 0) return TC_ERR_IO;
    a->started_in = 1;
    if (a->events[0]) {
        if (tc_log_thread_create(&a->th_out, tc_amqp_publisher_main, a) != 0) return TC_ERR_IO;
        a->started_out = 1;
    }
    return TC_OK;
}

void tc_amqp_settle_free(settle_req *q)
{
    free(q->body);
    free(q->message_id);
    free(q->content_type);
    free(q->correlation_id);
    free(q->reason);
    free(q);
}

static void push(tc_amqp *a, settle_req *q)
{
    pthread_mutex_lock(&a->lock);
    if (a->settles_tail) a->settles_tail->next = q;
    else a->settles = q;
    a->settles_tail = q;
    pthread_mutex_unlock(&a->lock);
}

static void settle(tc_amqp *a, const tc_amqp_delivery *d, settle_kind kind, const char *reason)
{
    settle_req *q = calloc(1, sizeof *q);
    if (!q) return; /* the broker keeps it unacked and redelivers it after a reconnect */
    q->kind = kind;
    q->generation = d->generation;
    q->tag = d->tag;
    q->control = d->control;
    if (kind == SETTLE_DEAD_LETTER) {
        /* one line, at most 512 bytes */
        char line[513];
        snprintf(line, sizeof line, "%s", reason ? reason : "refused");
        for (char *p = line; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
        q->reason = strdup(line);
        q->body = malloc(d->len + 1);
        q->len = d->len;
        if (q->body) memcpy(q->body, d->body, d->len);
        q->message_id = d->message_id ? strdup(d->message_id) : NULL;
        q->content_type = d->content_type ? strdup(d->content_type) : NULL;
        q->correlation_id = d->correlation_id ? strdup(d->correlation_id) : NULL;
        q->timestamp = d->timestamp;
        if (!q->reason || !q->body) q->kind = SETTLE_REQUEUE; /* no memory for the copy: try again later */
    }
    push(a, q);
}

void tc_amqp_ack(tc_amqp *a, const tc_amqp_delivery *d) { settle(a, d, SETTLE_ACK, NULL); }
void tc_amqp_requeue(tc_amqp *a, const tc_amqp_delivery *d) { settle(a, d, SETTLE_REQUEUE, NULL); }
void tc_amqp_dead_letter(tc_amqp *a, const tc_amqp_delivery *d, const char *reason)
{
    settle(a, d, SETTLE_DEAD_LETTER, reason);
}

void tc_amqp_set_consuming(tc_amqp *a, int on)
{
    pthread_mutex_lock(&a->lock);
    a->want_consuming = on != 0;
    pthread_mutex_unlock(&a->lock);
}

void tc_amqp_publish_event(tc_amqp *a, const char *event, const char *json)
{
    if (!a || !a->events[0]) return;
    event_item *e = calloc(1, sizeof *e);
    size_t n = strlen(a->stream) + strlen(event) + 2;
    if (e) e->routing_key = malloc(n), e->json = strdup(json);
    if (!e || !e->routing_key || !e->json) {
        if (e) free(e->routing_key), free(e->json);
        free(e);
        pthread_mutex_lock(&a->lock);
        a->st.events_dropped++;
        pthread_mutex_unlock(&a->lock);
        return;
    }
    snprintf(e->routing_key, n, "%s.%s", a->stream, event);
    pthread_mutex_lock(&a->lock);
    if (a->n_events >= a->max_events) {
        /* the broker has been away for long: keep what is buffered, count the rest */
        a->st.events_dropped++;
        pthread_mutex_unlock(&a->lock);
        free(e->routing_key);
        free(e->json);
        free(e);
        return;
    }
    if (a->ev_tail) a->ev_tail->next = e;
    else a->ev_head = e;
    a->ev_tail = e;
    a->n_events++;
    pthread_mutex_unlock(&a->lock);
}

int tc_amqp_flush(tc_amqp *a, int timeout_ms)
{
    int64_t deadline = tc_now_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&a->lock);
    while ((a->settles || a->settles_busy || (a->started_out && a->n_events > 0)) && a->started_in) {
        int64_t left = deadline - tc_now_ns();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left < 50000000 ? left : 50000000);
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&a->cond, &a->lock, &ts);
    }
    int done = !a->settles && !a->settles_busy && !(a->started_out && a->n_events > 0);
    pthread_mutex_unlock(&a->lock);
    return done ? TC_OK : TC_ERR_TIMEOUT;
}

void tc_amqp_destroy(tc_amqp *a)
{
    if (!a) return;
    if (a->started_in || a->started_out) {
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        if (a->started_in) pthread_join(a->th_in, NULL);
        if (a->started_out) pthread_join(a->th_out, NULL);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
    } else if (a->on_delivery) {
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
    }
    while (a->settles) {
        settle_req *q = a->settles;
        a->settles = q->next;
        tc_amqp_settle_free(q);
    }
    while (a->ev_head) {
        event_item *e = a->ev_head;
        a->ev_head = e->next;
        free(e->routing_key);
        free(e->json);
        free(e);
    }
    free(a->url);
    free(a->queue);
    free(a->control_queue);
    free(a->dlx);
    free(a->dlq);
    free(a->events);
    free(a->stream);
    free(a->ca_file);
    free(a->cert_file);
    free(a->key_file);
    free(a->url_masked);
    free(a);
}

void tc_amqp_get_stats(tc_amqp *a, tc_amqp_stats *st)
{
    pthread_mutex_lock(&a->lock);
    *st = a->st;
    st->events_pending = a->n_events;
    pthread_mutex_unlock(&a->lock);
}
