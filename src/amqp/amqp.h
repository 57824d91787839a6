/* amqp.h — RabbitMQ in and out, over rabbitmq-c.
 *
 * One tc_amqp owns two connections, each with its own thread (rabbitmq-c
 * connections are not thread-safe, so nothing else ever touches them):
 *
 *   "amqp-in"   consumes the main queue and its control queue, delivers each
 *               message to the on_delivery callback, and carries out the
 *               settlements (ack, requeue, dead-letter) other threads ask for.
 *   "amqp-out"  publishes events to the events exchange with publisher
 *               confirms; an event stays buffered until the broker confirmed
 *               it, across reconnects (beyond max_events the oldest is
 *               dropped and counted).
 *
 * Topology (declared unless `passive`, then only checked):
 *   <queue>          durable; x-dead-letter-exchange=<queue>.dlx
 *   <queue>.control  durable; control messages that must not wait behind
 *                    `prefetch` unacked text messages on the main queue
 *   <queue>.dlx      durable direct exchange; <queue>.dlq bound with key <queue>
 *   <queue>.dlq      durable; refused messages, header x-talkcast-error
 *   <events>         durable topic exchange; routing key <stream>.<event>
 *
 * Both connections reconnect on their own with exponential backoff
 * (reconnect_min → reconnect_max, ±20 % jitter). Deliveries carry the
 * generation of the connection they came on; settling a delivery of an
 * earlier connection does nothing (the broker already requeued it and will
 * deliver it again — callers deduplicate by message id).
 *
 * Threading: every function here may be called from any thread, except
 * create/destroy. Callbacks run on the amqp-in thread and must not block. */
#ifndef TC_AMQP_H
#define TC_AMQP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_amqp_config {
    const char *url;             /* amqp://user:pass@host:port/vhost or amqps://…; secret */
    const char *queue;           /* main queue name, e.g. "talkcast" */
    const char *events_exchange; /* e.g. "talkcast.events"; NULL/"" = no events */
    const char *stream;          /* this stream's name: routing key prefix of events */
    int prefetch;                /* unacked deliveries per consumer (≥ 1) */
    int heartbeat;               /* seconds, 0 = off */
    int passive;                 /* 1: the topology must exist; only check it */
    /* amqps:// only */
    const char *ca_file;         /* CA bundle; NULL = the system's */
    const char *cert_file, *key_file; /* client certificate, optional */
    int tls_verify;              /* verify the peer and its hostname (default 1) */
    double reconnect_min, reconnect_max; /* seconds: 0.5, 30 */
    int max_events;              /* events kept while unconfirmed (e.g. 10000) */
} tc_amqp_config;

/* One message as it arrived. Owned by whoever the callback hands it to;
 * free with tc_amqp_delivery_free. */
typedef struct tc_amqp_delivery {
    uint64_t generation;      /* connection it came on */
    uint64_t tag;             /* delivery tag on that connection */
    int control;              /* 1: from <queue>.control */
    int redelivered;
    void *body;               /* body bytes (+ a NUL after them, not counted) */
    size_t len;
    char *message_id;         /* AMQP properties, NULL when absent */
    char *content_type;
    char *correlation_id;
    int64_t timestamp;        /* AMQP timestamp (s), 0 when absent */
    int64_t received_ns;      /* tc_now_ns() when it arrived */
} tc_amqp_delivery;

void tc_amqp_delivery_free(tc_amqp_delivery *d); /* accepts NULL */

typedef struct tc_amqp tc_amqp;

/* `d` is the callee's; runs on the amqp-in thread. */
typedef void (*tc_amqp_on_delivery)(void *opaque, tc_amqp_delivery *d);
/* Connection state of the consumer: connected 1/0, with a reason when 0. */
typedef void (*tc_amqp_on_state)(void *opaque, int connected, const char *reason);

typedef struct tc_amqp_stats {
    int connected;            /* consumer connection up and consuming */
    int64_t connects, reconnects, connect_failures;
    int64_t deliveries, acks, requeues, dead_lettered, stale_settles;
    int64_t events_published, events_confirmed, events_dropped;
    int events_pending;       /* buffered, not yet confirmed */
} tc_amqp_stats;

/* Checks the config (URL syntax, names) and returns TC_ERR_INVAL with a
 * reason in err on a bad one; connects nothing yet. */
int tc_amqp_create(tc_amqp **out, const tc_amqp_config *cfg, tc_amqp_on_delivery on_delivery,
                   tc_amqp_on_state on_state, void *opaque, char *err, size_t errlen);
/* Start both threads; they connect in the background (and keep trying). */
int tc_amqp_start(tc_amqp *a);

/* Settle a delivery (queued to the amqp-in thread; never blocks). */
void tc_amqp_ack(tc_amqp *a, const tc_amqp_delivery *d);
void tc_amqp_requeue(tc_amqp *a, const tc_amqp_delivery *d);
/* Publish a copy (body and properties, plus header x-talkcast-error: reason)
 * to <queue>.dlx with key <queue>, wait for the broker's confirm, then ack
 * the original; when that publish fails, reject(requeue=false), which the
 * queue dead-letters without the reason header. */
void tc_amqp_dead_letter(tc_amqp *a, const tc_amqp_delivery *d, const char *reason);

/* Stop (1) or resume (0) consuming both queues (basic.cancel/consume);
 * unacked deliveries stay ours. */
void tc_amqp_set_consuming(tc_amqp *a, int on);

/* Publish `json` (copied) to the events exchange, routing key
 * "<stream>.<event>", persistent, content type application/json. */
void tc_amqp_publish_event(tc_amqp *a, const char *event, const char *json);

/* Wait up to timeout_ms for queued settlements to be done and events to be
 * confirmed. TC_OK when all were, TC_ERR_TIMEOUT otherwise. */
int tc_amqp_flush(tc_amqp *a, int timeout_ms);

/* Stop the threads and close both connections; the broker requeues every
 * delivery not yet acked. Accepts NULL. */
void tc_amqp_destroy(tc_amqp *a);

void tc_amqp_get_stats(tc_amqp *a, tc_amqp_stats *st);

#endif
