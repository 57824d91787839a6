/* amqp_int.h — what the amqp module's files share (not a public header).
 *
 * conn.c opens a connection (URL, TCP or TLS, login, channel 1) and
 * declares or checks the topology; consumer.c is the amqp-in thread,
 * publisher.c the amqp-out thread; amqp.c is the public face. */
#ifndef TC_AMQP_INT_H
#define TC_AMQP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <amqp.h>

#include "amqp/amqp.h"
#include "core/backoff.h"
#include "core/log.h"

/* A settlement asked for by another thread, carried out by amqp-in. */
typedef enum settle_kind { SETTLE_ACK, SETTLE_REQUEUE, SETTLE_DEAD_LETTER } settle_kind;

typedef struct settle_req {
    settle_kind kind;
    uint64_t generation, tag;
    int control;
    /* dead-letter only: the copy to publish */
    void *body;
    size_t len;
    char *message_id, *content_type, *correlation_id, *reason;
    int64_t timestamp;
    struct settle_req *next;
} settle_req;

/* An event waiting for (or being) confirmed. */
typedef struct event_item {
    char *routing_key;
    char *json;
    uint64_t seq;             /* publish sequence on the current connection; 0 = not sent */
    struct event_item *next;
} event_item;

struct tc_amqp {
    /* settings (owned copies) */
    char *url, *queue, *control_queue, *dlx, *dlq, *events, *stream;
    char *ca_file, *cert_file, *key_file;
    char *url_masked;         /* for logs */
    int prefetch, heartbeat, passive, tls_verify, max_events;
    double reconnect_min, reconnect_max;
    tc_amqp_on_delivery on_delivery;
    tc_amqp_on_state on_state;
    void *opaque;
    tc_log_ctx log_in, log_out;

    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t cond;      /* stop, new work, progress for flush */
    int stop;
    int want_consuming;
    settle_req *settles, *settles_tail; /* waiting for amqp-in */
    int settles_busy;         /* amqp-in is carrying some out */
    event_item *ev_head, *ev_tail;      /* unconfirmed events, oldest first */
    int n_events;
    tc_amqp_stats st;

    pthread_t th_in, th_out;
    int started_in, started_out;
};

/* conn.c: open a connection with channel 1 (and `confirm_channel` in
 * confirm mode when > 0). NULL with a reason on failure. */
amqp_connection_state_t tc_amqp_open(tc_amqp *a, const tc_log_ctx *ctx, int confirm_channel, char *why,
                                     size_t whylen);
/* Declare (or, passive, check) the topology on a fresh channel. */
int tc_amqp_declare(tc_amqp *a, amqp_connection_state_t c, char *why, size_t whylen);
/* Close politely (bounded by the RPC timeout) and free. Accepts NULL. */
void tc_amqp_close(amqp_connection_state_t c);
/* A reply as one line of text. */
void tc_amqp_reply_text(amqp_rpc_reply_t r, const char *what, char *buf, size_t len);
/* Sleep up to `s` seconds or until stop; 1 when stopping. */
int tc_amqp_nap(tc_amqp *a, double s);

/* amqp.c */
void tc_amqp_settle_free(settle_req *q);

/* consumer.c / publisher.c thread bodies */
void *tc_amqp_consumer_main(void *arg);
void *tc_amqp_publisher_main(void *arg);

#endif
