/* consumer.c — the amqp-in thread: the only code that touches the
 * consumer's connection.
 *
 * Loop: (re)connect with back-off → carry out queued settlements → start or
 * stop consuming as asked → wait ≤ 20 ms for a delivery or another frame.
 * Dead-letter copies go out on channel 2 in confirm mode; the original is
 * acked when the broker confirms the copy (or rejected, so the queue's own
 * dead-lettering takes it, when the copy could not be routed). Everything
 * of a connection — delivery tags, pending copies — dies with it: the
 * broker requeues what was not acked, and a settle for an older generation
 * is a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "amqp/amqp_int.h"
#include "core/clock.h"
#include "core/err.h"

#define WAIT_MS 20
#define DL_CHANNEL 2

typedef struct dl_pending {
    uint64_t seq, tag;
    int returned;
    struct dl_pending *next;
} dl_pending;

typedef struct in_state {
    tc_amqp *a;
    amqp_connection_state_t c;
    uint64_t gen;
    int consuming;
    amqp_bytes_t tag_main, tag_ctl; /* consumer tags (malloc'ed copies) */
    uint64_t dl_seq;
    dl_pending *dl;
    int outage_logged;
} in_state;

static void bump(tc_amqp *a, int64_t *counter)
{
    pthread_mutex_lock(&a->lock);
    (*counter)++;
    pthread_mutex_unlock(&a->lock);
}

static void set_connected(in_state *s, int up, const char *why)
{
    tc_amqp *a = s->a;
    pthread_mutex_lock(&a->lock);
    a->st.connected = up;
    pthread_mutex_unlock(&a->lock);
    if (a->on_state) a->on_state(a->opaque, up, why);
}

/* Forget the connection (the broker requeues what was not acked). */
static void drop(in_state *s, const char *why)
{
    tc_amqp *a = s->a;
    tc_log(&a->log_in, TC_LOG_WARN, "lost the broker connection: %s; unacked messages return to the queue", why);
    s->outage_logged = 1;
    amqp_destroy_connection(s->c); /* no polite close: the connection is broken */
    s->c = NULL;
    s->consuming = 0;
    amqp_bytes_free(s->tag_main);
    amqp_bytes_free(s->tag_ctl);
    s->tag_main = s->tag_ctl = amqp_empty_bytes;
    while (s->dl) {
        dl_pending *p = s->dl;
        s->dl = p->next;
        free(p);
    }
    set_connected(s, 0, why);
}

static int consume(in_state *s, const char *queue, amqp_bytes_t *tag)
{
    amqp_basic_consume_ok_t *ok = amqp_basic_consume(s->c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                                                     amqp_empty_table);
    if (!ok) {
        char why[512];
        tc_amqp_reply_text(amqp_get_rpc_reply(s->c), "basic.consume", why, sizeof why);
        drop(s, why);
        return TC_ERR_NET;
    }
    *tag = amqp_bytes_malloc_dup(ok->consumer_tag);
    return TC_OK;
}

static void set_consuming(in_state *s, int on)
{
    tc_amqp *a = s->a;
    if (on) {
        if (consume(s, a->queue, &s->tag_main) < 0 || consume(s, a->control_queue, &s->tag_ctl) < 0) return;
        s->consuming = 1;
        tc_log(&a->log_in, TC_LOG_DEBUG, "consuming %s and %s", a->queue, a->control_queue);
    } else {
        /* deliveries already on their way still arrive, and are still ours */
        if (!amqp_basic_cancel(s->c, 1, s->tag_main) || !amqp_basic_cancel(s->c, 1, s->tag_ctl)) {
            char why[512];
            tc_amqp_reply_text(amqp_get_rpc_reply(s->c), "basic.cancel", why, sizeof why);
            drop(s, why);
            return;
        }
        amqp_bytes_free(s->tag_main);
        amqp_bytes_free(s->tag_ctl);
        s->tag_main = s->tag_ctl = amqp_empty_bytes;
        s->consuming = 0;
        tc_log(&a->log_in, TC_LOG_INFO, "stopped consuming");
    }
}

static void connect_once(in_state *s, tc_backoff *bo)
{
    tc_amqp *a = s->a;
    char why[768] = "";
    s->c = tc_amqp_open(a, &a->log_in, DL_CHANNEL, why, sizeof why);
    if (s->c && tc_amqp_declare(a, s->c, why, sizeof why) < 0) {
        tc_amqp_close(s->c);
        s->c = NULL;
    }
    if (s->c) {
        amqp_basic_qos(s->c, 1, 0, (uint16_t)a->prefetch, 0);
        amqp_rpc_reply_t rr = amqp_get_rpc_reply(s->c);
        if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
            tc_amqp_reply_text(rr, "basic.qos", why, sizeof why);
            tc_amqp_close(s->c);
            s->c = NULL;
        }
    }
    if (!s->c) {
        bump(a, &a->st.connect_failures);
        double wait = tc_backoff_next(bo);
        /* one warning per outage (a passive-mode or argument mismatch is
         * an error: it needs a person), the retries at debug */
        int severe = strstr(why, "PRECONDITION_FAILED") || strstr(why, "passive") || strstr(why, "ACCESS_REFUSED");
        if (!s->outage_logged || severe)
            tc_log(&a->log_in, severe ? TC_LOG_ERROR : TC_LOG_WARN, "%s; retrying in %.1f s, then with back-off up to the cap", why, wait);
        else
            tc_log(&a->log_in, TC_LOG_DEBUG, "%s; retrying in %.1f s", why, wait);
        s->outage_logged = 1;
        tc_amqp_nap(a, wait);
        return;
    }
    s->gen++;
    s->dl_seq = 0;
    tc_backoff_reset(bo);
    pthread_mutex_lock(&a->lock);
    a->st.connects++;
    if (s->gen > 1) a->st.reconnects++;
    int want = a->want_consuming;
    pthread_mutex_unlock(&a->lock);
    tc_log(&a->log_in, TC_LOG_INFO, "%s %s (queue %s, prefetch %d)", s->gen > 1 ? "reconnected to" : "connected to",
           a->url_masked, a->queue, a->prefetch);
    s->outage_logged = 0;
    if (want) set_consuming(s, 1);
    if (s->c) set_connected(s, 1, NULL);
}

/* ---- settlements ----------------------------------------------------------- */

static void dead_letter(in_state *s, settle_req *q)
{
    tc_amqp *a = s->a;
    amqp_table_entry_t h[3];
    h[0].key = amqp_cstring_bytes("x-talkcast-error");
    h[0].value.kind = AMQP_FIELD_KIND_UTF8;
    h[0].value.value.bytes = amqp_cstring_bytes(q->reason);
    h[1].key = amqp_cstring_bytes("x-talkcast-queue");
    h[1].value.kind = AMQP_FIELD_KIND_UTF8;
    h[1].value.value.bytes = amqp_cstring_bytes(q->control ? a->control_queue : a->queue);
    h[2].key = amqp_cstring_bytes("x-talkcast-dl-seq");
    h[2].value.kind = AMQP_FIELD_KIND_I64;
    h[2].value.value.i64 = (int64_t)(s->dl_seq + 1);
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    p.delivery_mode = 2;
    p.headers = (amqp_table_t){ 3, h };
    if (q->content_type) {
        p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
        p.content_type = amqp_cstring_bytes(q->content_type);
    }
    if (q->message_id) {
        p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        p.message_id = amqp_cstring_bytes(q->message_id);
    }
    if (q->correlation_id) {
        p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p.correlation_id = amqp_cstring_bytes(q->correlation_id);
    }
    if (q->timestamp) {
        p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
        p.timestamp = (uint64_t)q->timestamp;
    }
    dl_pending *pd = malloc(sizeof *pd);
    if (!pd) { /* cannot track the copy: let the queue dead-letter it */
        amqp_basic_reject(s->c, 1, q->tag, 0);
        return;
    }
    amqp_bytes_t body = { q->len, q->body };
    int r = amqp_basic_publish(s->c, DL_CHANNEL, amqp_cstring_bytes(a->dlx), amqp_cstring_bytes(a->queue), 1, 0, &p,
                               body);
    if (r < 0) {
        free(pd);
        drop(s, amqp_error_string2(r));
        return;
    }
    *pd = (dl_pending){ ++s->dl_seq, q->tag, 0, NULL };
    dl_pending **at = &s->dl;
    while (*at) at = &(*at)->next;
    *at = pd;
}

static void carry_out(in_state *s, settle_req *q)
{
    tc_amqp *a = s->a;
    if (!s->c || q->generation != s->gen) {
        tc_log(&a->log_in, TC_LOG_DEBUG, "settle of delivery %llu from connection %llu: gone with it (requeued)",
               (unsigned long long)q->tag, (unsigned long long)q->generation);
        bump(a, &a->st.stale_settles);
        return;
    }
    int r = AMQP_STATUS_OK;
    switch (q->kind) {
    case SETTLE_ACK:
        r = amqp_basic_ack(s->c, 1, q->tag, 0);
        if (r == AMQP_STATUS_OK) bump(a, &a->st.acks);
        break;
    case SETTLE_REQUEUE:
        r = amqp_basic_nack(s->c, 1, q->tag, 0, 1);
        if (r == AMQP_STATUS_OK) bump(a, &a->st.requeues);
        break;
    case SETTLE_DEAD_LETTER:
        dead_letter(s, q);
        return;
    }
    if (r != AMQP_STATUS_OK) drop(s, amqp_error_string2(r));
}

static void run_settles(in_state *s)
{
    tc_amqp *a = s->a;
    pthread_mutex_lock(&a->lock);
    settle_req *q = a->settles;
    a->settles = a->settles_tail = NULL;
    a->settles_busy = q != NULL;
    int want = a->want_consuming;
    pthread_mutex_unlock(&a->lock);
    /* stop first: a requeue sent while still consuming comes straight back
     * to us (on SIGTERM every held message did, and was requeued twice) */
    if (s->c && !want && s->consuming) set_consuming(s, 0);
    while (q) {
        settle_req *next = q->next;
        carry_out(s, q);
        tc_amqp_settle_free(q);
        q = next;
    }
    if (s->c && want != s->consuming) set_consuming(s, want);
    pthread_mutex_lock(&a->lock);
    a->settles_busy = s->dl != NULL; /* copies not confirmed yet still count */
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* The broker confirmed (ack) or refused (nack) dead-letter copies up to `seq`. */
static void dl_confirmed(in_state *s, uint64_t seq, int multiple, int ok)
{
    tc_amqp *a = s->a;
    dl_pending **at = &s->dl;
    while (*at) {
        dl_pending *p = *at;
        if (p->seq == seq || (multiple && p->seq < seq)) {
            if (ok && !p->returned) {
                if (amqp_basic_ack(s->c, 1, p->tag, 0) == AMQP_STATUS_OK) bump(a, &a->st.dead_lettered);
            } else {
                tc_log(&a->log_in, TC_LOG_WARN, "the dead-letter copy was %s; rejecting the message so the queue "
                                                "dead-letters it (without the reason header)",
                       ok ? "unroutable (is the dead-letter queue bound?)" : "refused by the broker");
                if (amqp_basic_reject(s->c, 1, p->tag, 0) == AMQP_STATUS_OK) bump(a, &a->st.dead_lettered);
            }
            *at = p->next;
            free(p);
        } else {
            at = &p->next;
        }
    }
}

/* ---- deliveries and other frames ------------------------------------------- */

static char *dup_bytes(amqp_bytes_t b)
{
    char *s = malloc(b.len + 1);
    if (!s) return NULL;
    memcpy(s, b.bytes, b.len);
    s[b.len] = 0;
    return s;
}

static void deliver(in_state *s, amqp_envelope_t *env)
{
    tc_amqp *a = s->a;
    tc_amqp_delivery *d = calloc(1, sizeof *d);
    if (d) d->body = malloc(env->message.body.len + 1);
    if (!d || !d->body) {
        /* cannot hold it now: give it back for later */
        tc_log(&a->log_in, TC_LOG_ERROR, "out of memory: message requeued");
        amqp_basic_nack(s->c, 1, env->delivery_tag, 0, 1);
        free(d);
        return;
    }
    d->generation = s->gen;
    d->tag = env->delivery_tag;
    d->received_ns = tc_now_ns();
    d->redelivered = env->redelivered;
    d->control = s->tag_ctl.len && env->consumer_tag.len == s->tag_ctl.len &&
                 !memcmp(env->consumer_tag.bytes, s->tag_ctl.bytes, s->tag_ctl.len);
    d->len = env->message.body.len;
    if (d->len) memcpy(d->body, env->message.body.bytes, d->len);
    ((char *)d->body)[d->len] = 0;
    const amqp_basic_properties_t *p = &env->message.properties;
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) d->message_id = dup_bytes(p->message_id);
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) d->content_type = dup_bytes(p->content_type);
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) d->correlation_id = dup_bytes(p->correlation_id);
    if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG) d->timestamp = (int64_t)p->timestamp;
    bump(a, &a->st.deliveries);
    /* the one trace, after a crash of ours or a lost connection, that a
     * message may be heard a second time (at-least-once) */
    if (d->redelivered)
        tc_log(&a->log_in, TC_LOG_INFO, "redelivery from the broker (held unacked by a consumer before us)%s%s",
               d->message_id ? ": message_id=" : "", d->message_id ? d->message_id : "");
    a->on_delivery(a->opaque, d);
}

/* A frame that is not a delivery: confirms, returns, closes, cancels. */
static void other_frame(in_state *s)
{
    amqp_frame_t f;
    int r = amqp_simple_wait_frame(s->c, &f);
    if (r != AMQP_STATUS_OK) {
        drop(s, amqp_error_string2(r));
        return;
    }
    if (f.frame_type != AMQP_FRAME_METHOD) return;
    char why[512];
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *m = f.payload.method.decoded;
        if (f.channel == DL_CHANNEL) dl_confirmed(s, m->delivery_tag, m->multiple, 1);
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *m = f.payload.method.decoded;
        if (f.channel == DL_CHANNEL) dl_confirmed(s, m->delivery_tag, m->multiple, 0);
        break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_message_t msg;
        if (amqp_read_message(s->c, f.channel, &msg, 0).reply_type != AMQP_RESPONSE_NORMAL) {
            drop(s, "could not read a returned message");
            return;
        }
        const amqp_table_t *h = &msg.properties.headers;
        for (int i = 0; (msg.properties._flags & AMQP_BASIC_HEADERS_FLAG) && i < h->num_entries; i++)
            if (h->entries[i].key.len == 17 && !memcmp(h->entries[i].key.bytes, "x-talkcast-dl-seq", 17))
                for (dl_pending *p = s->dl; p; p = p->next)
                    if ((int64_t)p->seq == h->entries[i].value.value.i64) p->returned = 1;
        amqp_destroy_message(&msg);
        break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *m = f.payload.method.decoded;
        snprintf(why, sizeof why, "broker closed channel %u: %u %.*s", f.channel, m->reply_code,
                 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        drop(s, why);
        break;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *m = f.payload.method.decoded;
        snprintf(why, sizeof why, "broker closed the connection: %u %.*s", m->reply_code, (int)m->reply_text.len,
                 (const char *)m->reply_text.bytes);
        drop(s, why);
        break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        drop(s, "the broker cancelled our consumer (queue deleted?)");
        break;
    case AMQP_CONNECTION_BLOCKED_METHOD: { /* after a dead-letter copy: acks wait too */
        amqp_connection_blocked_t *m = f.payload.method.decoded;
        tc_log(&s->a->log_in, TC_LOG_WARN, "broker blocks this connection (%.*s): acks and dead-letter copies wait",
               (int)m->reason.len, (const char *)m->reason.bytes);
        break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        tc_log(&s->a->log_in, TC_LOG_INFO, "broker unblocked this connection");
        break;
    default:
        break;
    }
}

static void wait_once(in_state *s)
{
    amqp_maybe_release_buffers(s->c);
    struct timeval tv = { 0, WAIT_MS * 1000 };
    amqp_envelope_t env;
    amqp_rpc_reply_t r = amqp_consume_message(s->c, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        deliver(s, &env);
        amqp_destroy_envelope(&env);
        return;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        other_frame(s);
        return;
    }
    char why[512];
    tc_amqp_reply_text(r, "consume", why, sizeof why);
    drop(s, why);
}

void *tc_amqp_consumer_main(void *arg)
{
    in_state s = { .a = arg, .tag_main = amqp_empty_bytes, .tag_ctl = amqp_empty_bytes };
    tc_amqp *a = s.a;
    tc_backoff bo;
    tc_backoff_init(&bo, a->reconnect_min, a->reconnect_max, (uint64_t)tc_now_ns());
    for (;;) {
        pthread_mutex_lock(&a->lock);
        int stop = a->stop;
        pthread_mutex_unlock(&a->lock);
        if (stop) break;
        if (!s.c) {
            connect_once(&s, &bo);
            continue;
        }
        run_settles(&s);
        if (s.c) wait_once(&s);
    }
    if (s.c) {
        run_settles(&s); /* last acks before we go */
        for (int i = 0; s.c && s.dl && i < 50; i++) wait_once(&s); /* up to ~1 s for copies' confirms */
    }
    if (s.c) {
        tc_amqp_close(s.c);
        amqp_bytes_free(s.tag_main);
        amqp_bytes_free(s.tag_ctl);
        while (s.dl) {
            dl_pending *p = s.dl;
            s.dl = p->next;
            free(p);
        }
        set_connected(&s, 0, "closed");
    }
    /* whatever is still queued belonged to this connection: dropped */
    pthread_mutex_lock(&a->lock);
    settle_req *q = a->settles;
    a->settles = a->settles_tail = NULL;
    a->settles_busy = 0;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    while (q) {
        settle_req *n = q->next;
        tc_amqp_settle_free(q);
        q = n;
    }
    return NULL;
}
