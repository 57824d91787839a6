/* conn.c — one connection to the broker: URL, TCP or TLS socket, login,
 * channel 1, and the topology. Both threads use it; each owns what it
 * opens. Every failure comes back as one line a person can act on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "amqp/amqp_int.h"
#include "core/err.h"

#define CONNECT_TIMEOUT_S 5
#define RPC_TIMEOUT_S 10
#define FRAME_MAX 131072

void tc_amqp_reply_text(amqp_rpc_reply_t r, const char *what, char *buf, size_t len)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, len, "%s: ok", what);
        return;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, len, "%s: no reply", what);
        return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, len, "%s: %s", what, amqp_error_string2(r.library_error));
        return;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD && r.reply.decoded) {
            amqp_connection_close_t *m = r.reply.decoded;
            snprintf(buf, len, "%s: broker closed the connection: %u %.*s", what, m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD && r.reply.decoded) {
            amqp_channel_close_t *m = r.reply.decoded;
            snprintf(buf, len, "%s: %u %.*s", what, m->reply_code, (int)m->reply_text.len,
                     (const char *)m->reply_text.bytes);
        } else {
            snprintf(buf, len, "%s: broker error (method 0x%08x)", what, r.reply.id);
        }
        return;
    }
    snprintf(buf, len, "%s: unknown reply", what);
}

int tc_amqp_nap(tc_amqp *a, double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)(s * 1e9);
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&a->lock);
    while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &ts) == 0) {}
    int stop = a->stop;
    pthread_mutex_unlock(&a->lock);
    return stop;
}

amqp_connection_state_t tc_amqp_open(tc_amqp *a, const tc_log_ctx *ctx, int confirm_channel, char *why,
                                     size_t whylen)
{
    (void)ctx;
    struct amqp_connection_info ci;
    char *url = strdup(a->url);
    amqp_connection_state_t c = NULL;
    if (!url) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (amqp_parse_url(url, &ci) != AMQP_STATUS_OK) { /* checked at create; cannot fail here */
        snprintf(why, whylen, "bad AMQP URL");
        goto fail;
    }
    if (!(c = amqp_new_connection())) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    amqp_socket_t *sock = ci.ssl ? amqp_ssl_socket_new(c) : amqp_tcp_socket_new(c);
    if (!sock) {
        snprintf(why, whylen, "cannot create a %s socket", ci.ssl ? "TLS" : "TCP");
        goto fail;
    }
    if (ci.ssl) {
        amqp_ssl_socket_set_verify_peer(sock, a->tls_verify);
        amqp_ssl_socket_set_verify_hostname(sock, a->tls_verify);
        if (a->ca_file && amqp_ssl_socket_set_cacert(sock, a->ca_file) != AMQP_STATUS_OK) {
            snprintf(why, whylen, "cannot read the CA file %s", a->ca_file);
            goto fail;
        }
        if (a->cert_file && a->key_file &&
            amqp_ssl_socket_set_key(sock, a->cert_file, a->key_file) != AMQP_STATUS_OK) {
            snprintf(why, whylen, "cannot read the client certificate %s / key %s", a->cert_file, a->key_file);
            goto fail;
        }
    }
    struct timeval tv = { CONNECT_TIMEOUT_S, 0 };
    int r = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
    if (r != AMQP_STATUS_OK) {
        snprintf(why, whylen, "cannot connect to %s: %s", a->url_masked, amqp_error_string2(r));
        goto fail;
    }
    struct timeval rpc = { RPC_TIMEOUT_S, 0 };
    amqp_set_rpc_timeout(c, &rpc);
    /* connection.blocked: without it a broker in a resource alarm stops
     * reading our socket and says nothing; with it we can log why events
     * (and, after a dead-letter copy, acks) wait. rabbitmq-c merges these
     * capabilities into its own. */
    amqp_table_entry_t cap = { amqp_cstring_bytes("connection.blocked"),
                               { .kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1 } };
    amqp_table_entry_t prop = { amqp_cstring_bytes("capabilities"),
                                { .kind = AMQP_FIELD_KIND_TABLE, .value.table = { 1, &cap } } };
    amqp_table_t props = { 1, &prop };
    amqp_rpc_reply_t rr = amqp_login_with_properties(c, ci.vhost, 0, FRAME_MAX, a->heartbeat, &props,
                                                     AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
        char t[256];
        tc_amqp_reply_text(rr, "login", t, sizeof t);
        if (rr.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && rr.library_error == AMQP_STATUS_SOCKET_CLOSED)
            snprintf(why, whylen, "%s at %s (ACCESS_REFUSED? check user, password and vhost)", t, a->url_masked);
        else
            snprintf(why, whylen, "%s at %s", t, a->url_masked);
        goto fail;
    }
    amqp_channel_open(c, 1);
    rr = amqp_get_rpc_reply(c);
    if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
        tc_amqp_reply_text(rr, "channel.open", why, whylen);
        goto fail;
    }
    if (confirm_channel > 0) {
        if (confirm_channel != 1) {
            amqp_channel_open(c, (amqp_channel_t)confirm_channel);
            rr = amqp_get_rpc_reply(c);
            if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
                tc_amqp_reply_text(rr, "channel.open", why, whylen);
                goto fail;
            }
        }
        amqp_confirm_select(c, (amqp_channel_t)confirm_channel);
        rr = amqp_get_rpc_reply(c);
        if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
            tc_amqp_reply_text(rr, "confirm.select", why, whylen);
            goto fail;
        }
    }
    free(url);
    return c;
fail:
    tc_amqp_close(c);
    free(url);
    return NULL;
}

void tc_amqp_close(amqp_connection_state_t c)
{
    if (!c) return;
    amqp_connection_close(c, AMQP_REPLY_SUCCESS); /* bounded by the RPC timeout */
    amqp_destroy_connection(c);
}

/* ---- topology ------------------------------------------------------------- */

static int declare_queue(tc_amqp *a, amqp_connection_state_t c, amqp_channel_t ch, const char *name,
                         int with_dlx, char *why, size_t whylen)
{
    amqp_table_entry_t args[2];
    amqp_table_t t = { 0, args };
    if (with_dlx) {
        args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
        args[0].value.kind = AMQP_FIELD_KIND_UTF8;
        args[0].value.value.bytes = amqp_cstring_bytes(a->dlx);
        args[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
        args[1].value.kind = AMQP_FIELD_KIND_UTF8;
        args[1].value.value.bytes = amqp_cstring_bytes(a->queue);
        t.num_entries = 2;
    }
    amqp_queue_declare(c, ch, amqp_cstring_bytes(name), a->passive, 1, 0, 0, a->passive ? amqp_empty_table : t);
    amqp_rpc_reply_t rr = amqp_get_rpc_reply(c);
    if (rr.reply_type == AMQP_RESPONSE_NORMAL) return TC_OK;
    char what[300], t2[512];
    snprintf(what, sizeof what, "%s queue '%s'", a->passive ? "checking" : "declaring", name);
    tc_amqp_reply_text(rr, what, t2, sizeof t2);
    if (strstr(t2, "PRECONDITION_FAILED"))
        snprintf(why, whylen, "%s — it exists with other arguments; delete it, use another --queue, "
                              "or declare it yourself and use --amqp-passive", t2);
    else if (a->passive && strstr(t2, "NOT_FOUND"))
        snprintf(why, whylen, "%s — passive mode: it must exist (declare it, or drop --amqp-passive)", t2);
    else
        snprintf(why, whylen, "%s", t2);
    return TC_ERR_NOTFOUND;
}

static int declare_exchange(tc_amqp *a, amqp_connection_state_t c, amqp_channel_t ch, const char *name,
                            const char *type, char *why, size_t whylen)
{
    amqp_exchange_declare(c, ch, amqp_cstring_bytes(name), amqp_cstring_bytes(type), a->passive, 1, 0, 0,
                          amqp_empty_table);
    amqp_rpc_reply_t rr = amqp_get_rpc_reply(c);
    if (rr.reply_type == AMQP_RESPONSE_NORMAL) return TC_OK;
    char what[300], t2[512];
    snprintf(what, sizeof what, "%s exchange '%s'", a->passive ? "checking" : "declaring", name);
    tc_amqp_reply_text(rr, what, t2, sizeof t2);
    if (a->passive && strstr(t2, "NOT_FOUND"))
        snprintf(why, whylen, "%s — passive mode: it must exist (declare it, or drop --amqp-passive)", t2);
    else
        snprintf(why, whylen, "%s", t2);
    return TC_ERR_NOTFOUND;
}

int tc_amqp_declare(tc_amqp *a, amqp_connection_state_t c, char *why, size_t whylen)
{
    /* its own channel: a failed declare closes the channel it ran on */
    const amqp_channel_t ch = 9;
    amqp_channel_open(c, ch);
    amqp_rpc_reply_t rr = amqp_get_rpc_reply(c);
    if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
        tc_amqp_reply_text(rr, "channel.open", why, whylen);
        return TC_ERR_NET;
    }
    /* the queues people name first, so a missing one is what an error names */
    int r = declare_queue(a, c, ch, a->queue, 1, why, whylen);
    if (r == TC_OK) r = declare_queue(a, c, ch, a->control_queue, 1, why, whylen);
    if (r == TC_OK) r = declare_exchange(a, c, ch, a->dlx, "direct", why, whylen);
    if (r == TC_OK) r = declare_queue(a, c, ch, a->dlq, 0, why, whylen);
    if (r == TC_OK && !a->passive) {
        amqp_queue_bind(c, ch, amqp_cstring_bytes(a->dlq), amqp_cstring_bytes(a->dlx), amqp_cstring_bytes(a->queue),
                        amqp_empty_table);
        rr = amqp_get_rpc_reply(c);
        if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
            tc_amqp_reply_text(rr, "binding the dead-letter queue", why, whylen);
            r = TC_ERR_NET;
        }
    }
    if (r == TC_OK && a->events[0]) r = declare_exchange(a, c, ch, a->events, "topic", why, whylen);
    if (r == TC_OK) {
        amqp_channel_close(c, ch, AMQP_REPLY_SUCCESS);
        rr = amqp_get_rpc_reply(c);
        if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
            tc_amqp_reply_text(rr, "channel.close", why, whylen);
            r = TC_ERR_NET;
        }
    }
    return r;
}
