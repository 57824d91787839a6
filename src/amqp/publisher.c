/* publisher.c — the amqp-out thread: events to the topic exchange with
 * publisher confirms, on a connection of its own (so a slow or blocked
 * events path never holds up acks).
 *
 * The event list is oldest first; an event leaves it only when the broker
 * confirmed it. After a reconnect every unconfirmed event is sent again
 * (an event can thus arrive twice, never not at all while it is buffered).
 * Producers only append; this thread alone sends and removes, marking what
 * it sends with its publish sequence under the lock, then publishing with
 * the lock released. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "amqp/amqp_int.h"
#include "core/clock.h"
#include "core/err.h"

#define WAIT_MS 20
#define MAX_IN_FLIGHT 256

typedef struct out_state {
    tc_amqp *a;
    amqp_connection_state_t c;
    uint64_t seq;              /* last publish sequence on this connection */
    int in_flight;
    int outage_logged;
} out_state;

static void drop(out_state *s, const char *why)
{
    tc_amqp *a = s->a;
    tc_log(&a->log_out, TC_LOG_WARN, "events connection lost: %s; unconfirmed events will be sent again", why);
    s->outage_logged = 1;
    amqp_destroy_connection(s->c);
    s->c = NULL;
    s->in_flight = 0;
    pthread_mutex_lock(&a->lock);
    for (event_item *e = a->ev_head; e; e = e->next) e->seq = 0;
    pthread_mutex_unlock(&a->lock);
}

static void send_pending(out_state *s)
{
    tc_amqp *a = s->a;
    event_item *batch[MAX_IN_FLIGHT];
    int n = 0;
    pthread_mutex_lock(&a->lock);
    for (event_item *e = a->ev_head; e && s->in_flight + n < MAX_IN_FLIGHT; e = e->next)
        if (!e->seq) {
            e->seq = s->seq + (uint64_t)n + 1;
            batch[n++] = e;
        }
    pthread_mutex_unlock(&a->lock);
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.delivery_mode = 2;
    p.content_type = amqp_cstring_bytes("application/json");
    for (int i = 0; i < n; i++) {
        /* batch[i] stays valid: only this thread frees events */
        int r = amqp_basic_publish(s->c, 1, amqp_cstring_bytes(a->events), amqp_cstring_bytes(batch[i]->routing_key),
                                   0, 0, &p, amqp_cstring_bytes(batch[i]->json));
        if (r < 0) {
            drop(s, amqp_error_string2(r));
            return;
        }
        s->seq++;
        s->in_flight++;
        pthread_mutex_lock(&a->lock);
        a->st.events_published++;
        pthread_mutex_unlock(&a->lock);
    }
}

/* Confirmed (ok) or refused up to `tag`: remove, or send again. */
static void confirmed(out_state *s, uint64_t tag, int multiple, int ok)
{
    tc_amqp *a = s->a;
    event_item *done = NULL;
    pthread_mutex_lock(&a->lock);
    event_item **at = &a->ev_head, *prev = NULL;
    while (*at) {
        event_item *e = *at;
        if (e->seq && (e->seq == tag || (multiple && e->seq < tag))) {
            s->in_flight--;
            if (ok) {
                *at = e->next;
                if (a->ev_tail == e) a->ev_tail = prev;
                a->n_events--;
                a->st.events_confirmed++;
                e->next = done;
                done = e;
                continue;
            }
            e->seq = 0; /* nacked: send it again */
        }
        prev = e;
        at = &e->next;
    }
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    while (done) {
        event_item *n = done->next;
        free(done->routing_key);
        free(done->json);
        free(done);
        done = n;
    }
}

static void wait_once(out_state *s)
{
    amqp_frame_t f;
    struct timeval tv = { 0, WAIT_MS * 1000 };
    /* decoded frames live in the connection's pools until released: without
     * this every confirm (one per event) stayed allocated */
    amqp_maybe_release_buffers(s->c);
    int r = amqp_simple_wait_frame_noblock(s->c, &f, &tv);
    if (r == AMQP_STATUS_TIMEOUT) return;
    if (r != AMQP_STATUS_OK) {
        drop(s, amqp_error_string2(r));
        return;
    }
    if (f.frame_type != AMQP_FRAME_METHOD) return;
    char why[512];
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *m = f.payload.method.decoded;
        confirmed(s, m->delivery_tag, m->multiple, 1);
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *m = f.payload.method.decoded;
        confirmed(s, m->delivery_tag, m->multiple, 0);
        break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *m = f.payload.method.decoded;
        snprintf(why, sizeof why, "broker closed the events channel: %u %.*s", m->reply_code,
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
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        amqp_connection_blocked_t *m = f.payload.method.decoded;
        tc_log(&s->a->log_out, TC_LOG_WARN, "broker blocks publishing (%.*s): events wait in memory until it unblocks",
               (int)m->reason.len, (const char *)m->reason.bytes);
        break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        tc_log(&s->a->log_out, TC_LOG_INFO, "broker unblocked publishing: events flow again");
        break;
    default:
        break;
    }
}

void *tc_amqp_publisher_main(void *arg)
{
    out_state s = { .a = arg };
    tc_amqp *a = s.a;
    tc_backoff bo;
    tc_backoff_init(&bo, a->reconnect_min, a->reconnect_max, (uint64_t)tc_now_ns() ^ 0x9e3779b97f4a7c15ULL);
    for (;;) {
        pthread_mutex_lock(&a->lock);
        int stop = a->stop, pending = a->n_events;
        pthread_mutex_unlock(&a->lock);
        /* on stop, a last chance to deliver what is buffered (flush waited) */
        if (stop && (!pending || !s.c)) break;
        if (!s.c) {
            char why[768];
            if ((s.c = tc_amqp_open(a, &a->log_out, 1, why, sizeof why))) {
                s.seq = 0;
                s.in_flight = 0;
                tc_backoff_reset(&bo);
                if (s.outage_logged) tc_log(&a->log_out, TC_LOG_INFO, "events connection back");
                s.outage_logged = 0;
            } else {
                double wait = tc_backoff_next(&bo);
                tc_log(&a->log_out, s.outage_logged ? TC_LOG_DEBUG : TC_LOG_WARN, "%s; retrying in %.1f s", why, wait);
                s.outage_logged = 1;
                tc_amqp_nap(a, wait);
            }
            continue;
        }
        send_pending(&s);
        if (s.c) wait_once(&s);
        if (stop) break;
    }
    tc_amqp_close(s.c);
    return NULL;
}
