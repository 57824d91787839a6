/* output.c — a muxer per destination on its own thread.
 *
 * Packet shells come from a free list of `queue_packets` AVPackets made at
 * create time, so the bound on queued packets is also the bound on memory
 * held (plus the encoder's refcounted payloads). The thread owns the muxer;
 * the encoder thread only touches `q`, `free` and the atomics. */
#include "stream/output.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/queue.h"
#include "stream/encoder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>

struct tc_output {
    tc_outfmt fmt;
    char *name;
    tc_log_ctx log;
    tc_output_config cfg;

    tc_queue *q;        /* packets to write, in order */
    tc_queue *free;     /* empty packet shells */
    AVPacket **shells;  /* all shells, for destroy */
    int n_shells;

    AVCodecParameters *par[2];
    AVRational tb[2];
    AVFormatContext *oc; /* thread-owned */

    /* Producer side (encoder thread only). */
    int resync;          /* skip until a video keyframe after a drop */

    atomic_int abort;
    atomic_int state;
    atomic_llong close_deadline; /* 0, or when a graceful close gives up (ns) */
    atomic_llong bytes, packets, dropped, reconnects, failures;
    int64_t bytes_before; /* bytes of earlier connections (thread-owned) */

    void (*want_key)(void *opaque);
    void *opaque;
    tc_backoff backoff;  /* reconnect schedule (thread-owned) */
    pthread_t thread;
    int thread_started;
};

const char *tc_output_state_name(tc_output_state s)
{
    switch (s) {
    case TC_OUTPUT_CONNECTING: return "connecting";
    case TC_OUTPUT_CONNECTED: return "connected";
    case TC_OUTPUT_RECONNECTING: return "reconnecting";
    case TC_OUTPUT_FAILED: return "failed";
    case TC_OUTPUT_CLOSED: return "closed";
    }
    return "unknown";
}

/* libav polls this during blocking I/O. A graceful close may finish what is
 * queued, but not wait on a peer forever: it gives up at close_deadline, and
 * at once when the output is not connected. */
static int interrupt_cb(void *opaque)
{
    tc_output *o = opaque;
    if (atomic_load(&o->abort)) return 1;
    int64_t dl = atomic_load(&o->close_deadline);
    if (!dl || !o->fmt.is_network) return 0; /* files always finish */
    return atomic_load(&o->state) != TC_OUTPUT_CONNECTED || tc_now_ns() > dl;
}

static void drop_shell(tc_output *o, AVPacket *p)
{
    av_packet_unref(p);
    tc_queue_try_put(o->free, p); /* cannot fail: shells never exceed capacity */
}

void tc_output_send(tc_output *o, int stream, const AVPacket *pkt)
{
    int is_key = stream == 0 && (pkt->flags & AV_PKT_FLAG_KEY);
    if (o->resync && !is_key) {
        atomic_fetch_add(&o->dropped, 1);
        return;
    }
    o->resync = 0;
    void *item;
    if (tc_queue_try_get(o->free, &item) != TC_OK) goto drop;
    AVPacket *p = item;
    if (av_packet_ref(p, pkt) < 0) {
        tc_queue_try_put(o->free, p);
        goto drop;
    }
    p->stream_index = stream;
    if (tc_queue_try_put(o->q, p) != TC_OK) {
        drop_shell(o, p);
        goto drop;
    }
    return;
drop:
    /* The GOP is broken for this output: skip to the next keyframe. */
    atomic_fetch_add(&o->dropped, 1);
    o->resync = 1;
}

static void close_muxer(tc_output *o, int write_trailer)
{
    if (!o->oc) return;
    if (write_trailer) {
        int r = av_write_trailer(o->oc);
        if (r < 0) tc_log(&o->log, TC_LOG_WARN, "finishing %s failed: %s", o->fmt.display, av_err2str(r));
    }
    if (o->oc->pb) {
        /* A file's size, not its position: faststart leaves the position
         * after the moved index, near the start. */
        int64_t n = o->fmt.is_network ? -1 : avio_size(o->oc->pb);
        if (n < 0) n = avio_tell(o->oc->pb);
        o->bytes_before += n > 0 ? n : 0;
        atomic_store(&o->bytes, o->bytes_before);
        avio_closep(&o->oc->pb);
    }
    avformat_free_context(o->oc);
    o->oc = NULL;
}

static int open_muxer(tc_output *o)
{
    AVFormatContext *oc = NULL;
    int r = avformat_alloc_output_context2(&oc, NULL, o->fmt.format, o->fmt.url);
    if (r < 0) return r;
    oc->interrupt_callback = (AVIOInterruptCB){ interrupt_cb, o };
    for (int i = 0; i < 2; i++) {
        AVStream *st = avformat_new_stream(oc, NULL);
        if (!st) { r = AVERROR(ENOMEM); goto fail; }
        if ((r = avcodec_parameters_copy(st->codecpar, o->par[i])) < 0) goto fail;
        st->time_base = o->tb[i];
        if (i == 0) st->avg_frame_rate = st->r_frame_rate = av_inv_q(o->tb[0]);
    }
    if (!(oc->oformat->flags & AVFMT_NOFILE)) {
        AVDictionary *io = NULL;
        if (o->fmt.is_network) {
            char us[32];
            snprintf(us, sizeof us, "%lld", (long long)o->cfg.io_timeout_ms * 1000);
            av_dict_set(&io, "rw_timeout", us, 0);
        }
        r = avio_open2(&oc->pb, o->fmt.url, AVIO_FLAG_WRITE, &oc->interrupt_callback, &io);
        av_dict_free(&io);
        if (r < 0) goto fail;
    }
    AVDictionary *mo = NULL;
    if (!strcmp(o->fmt.format, "flv") && o->fmt.is_network)
        av_dict_set(&mo, "flvflags", "no_duration_filesize", 0);
    if (!strcmp(o->fmt.format, "mp4") || !strcmp(o->fmt.format, "mov"))
        av_dict_set(&mo, "movflags", "+faststart", 0);
    r = avformat_write_header(oc, &mo);
    av_dict_free(&mo);
    if (r < 0) goto fail;
    o->oc = oc;
    return 0;
fail:
    if (oc) {
        if (oc->pb) avio_closep(&oc->pb);
        avformat_free_context(oc);
    }
    return r;
}

/* Discard queued packets until `deadline_ns` (or until the queue closes:
 * returns TC_ERR_CLOSED). A disconnected output must not hoard stale media. */
static int discard_until(tc_output *o, int64_t deadline_ns)
{
    for (;;) {
        int64_t left_ms = (deadline_ns - tc_now_ns()) / 1000000;
        if (left_ms <= 0) return TC_OK;
        void *item;
        int r = tc_queue_get(o->q, &item, (int)left_ms);
        if (r == TC_ERR_CLOSED) return r;
        if (r == TC_OK) {
            drop_shell(o, item);
            atomic_fetch_add(&o->dropped, 1);
        }
    }
}

static void *output_thread(void *arg)
{
    tc_output *o = arg;
    int ever_connected = 0, failing = 0, need_key = 1;

    while (!atomic_load(&o->abort)) {
        /* Closing: a network output that is down does not try again. */
        if (!o->oc && o->fmt.is_network && atomic_load(&o->failures) && atomic_load(&o->close_deadline))
            break;
        if (!o->oc) {
            int r = open_muxer(o);
            if (r < 0) {
                atomic_fetch_add(&o->failures, 1);
                if (!o->fmt.is_network) {
                    tc_log(&o->log, TC_LOG_ERROR, "cannot open %s: %s", o->fmt.display, av_err2str(r));
                    atomic_store(&o->state, TC_OUTPUT_FAILED);
                    break;
                }
                double wait = tc_backoff_next(&o->backoff);
                /* Log the first failure of a streak loudly, repeats quietly. */
                tc_log(&o->log, failing ? TC_LOG_DEBUG : TC_LOG_WARN,
                       "cannot connect to %s: %s; reconnect in %.1fs", o->fmt.display,
                       av_err2str(r), wait);
                failing = 1;
                atomic_store(&o->state, ever_connected ? TC_OUTPUT_RECONNECTING : TC_OUTPUT_CONNECTING);
                if (discard_until(o, tc_now_ns() + (int64_t)(wait * 1e9)) == TC_ERR_CLOSED) break;
                continue;
            }
            tc_log(&o->log, TC_LOG_INFO, "%s %s (%s)", ever_connected ? "reconnected to" : "connected to",
                   o->fmt.display, o->fmt.format);
            if (ever_connected) atomic_fetch_add(&o->reconnects, 1);
            ever_connected = 1;
            failing = 0;
            tc_backoff_reset(&o->backoff);
            need_key = 1;
            atomic_store(&o->state, TC_OUTPUT_CONNECTED);
            if (o->want_key) o->want_key(o->opaque);
        }

        void *item;
        int r = tc_queue_get(o->q, &item, 200);
        if (r == TC_ERR_CLOSED) break;
        if (r != TC_OK) continue;
        AVPacket *p = item;
        int stream = p->stream_index;
        if (need_key) {
            if (stream != 0 || !(p->flags & AV_PKT_FLAG_KEY)) {
                drop_shell(o, p);
                atomic_fetch_add(&o->dropped, 1);
                continue;
            }
            need_key = 0;
        }
        av_packet_rescale_ts(p, o->tb[stream], o->oc->streams[stream]->time_base);
        r = av_interleaved_write_frame(o->oc, p); /* takes the reference */
        drop_shell(o, p);
        if (r < 0) {
            atomic_fetch_add(&o->failures, 1);
            if (!o->fmt.is_network) {
                tc_log(&o->log, TC_LOG_ERROR, "writing %s failed: %s; output stopped",
                       o->fmt.display, av_err2str(r));
                close_muxer(o, 0);
                atomic_store(&o->state, TC_OUTPUT_FAILED);
                break;
            }
            /* Reconnect at once (a restarted server is often back already);
             * if that fails, the back-off above takes over. */
            tc_log(&o->log, TC_LOG_WARN, "lost %s: %s; reconnecting", o->fmt.display, av_err2str(r));
            close_muxer(o, 0);
            failing = 1;
            atomic_store(&o->state, TC_OUTPUT_RECONNECTING);
            continue;
        }
        atomic_fetch_add(&o->packets, 1);
        atomic_store(&o->bytes, o->bytes_before + (o->oc->pb ? avio_tell(o->oc->pb) : 0));
    }

    /* A failed output keeps draining so the encoder never sees it full. */
    void *item;
    while (tc_queue_get(o->q, &item, -1) == TC_OK) {
        drop_shell(o, item);
        if (!atomic_load(&o->abort)) atomic_fetch_add(&o->dropped, 1);
    }
    close_muxer(o, !atomic_load(&o->abort));
    if (atomic_load(&o->state) != TC_OUTPUT_FAILED) atomic_store(&o->state, TC_OUTPUT_CLOSED);
    return NULL;
}

int tc_output_create(tc_output **out, const tc_output_config *cfg,
                     const AVCodecContext *video, const AVCodecContext *audio,
                     void (*want_key)(void *opaque), void *opaque,
                     char *err, int errlen)
{
    *out = NULL;
    tc_output *o = calloc(1, sizeof *o);
    if (!o) return TC_ERR_NOMEM;
    int r = tc_outfmt_parse(cfg->spec, &o->fmt, err, errlen);
    if (r < 0) {
        free(o);
        return r;
    }
    r = TC_ERR_NOMEM;
    o->cfg = *cfg;
    o->cfg.spec = NULL;
    if (o->cfg.queue_packets < 8) o->cfg.queue_packets = 8;
    if (o->cfg.io_timeout_ms <= 0) o->cfg.io_timeout_ms = 5000;
    if (o->cfg.reconnect_min <= 0) o->cfg.reconnect_min = 0.5;
    if (o->cfg.reconnect_max < o->cfg.reconnect_min) o->cfg.reconnect_max = o->cfg.reconnect_min;
    o->name = strdup(cfg->name ? cfg->name : "out");
    if (!o->name) goto fail;
    o->cfg.name = o->name;
    o->log = (tc_log_ctx){ "output", o->name };
    o->want_key = want_key;
    o->opaque = opaque;
    tc_backoff_init(&o->backoff, o->cfg.reconnect_min, o->cfg.reconnect_max,
                    (uint64_t)tc_now_ns() ^ (uint64_t)(uintptr_t)o);
    o->tb[0] = video->time_base;
    o->tb[1] = audio->time_base;
    const AVCodecContext *ctx[2] = { video, audio };
    for (int i = 0; i < 2; i++) {
        if (!(o->par[i] = avcodec_parameters_alloc())) goto fail;
        if (avcodec_parameters_from_context(o->par[i], ctx[i]) < 0) goto fail;
    }
    int n = o->cfg.queue_packets;
    if (tc_queue_create(&o->q, (size_t)n) < 0 || tc_queue_create(&o->free, (size_t)n) < 0) goto fail;
    if (!(o->shells = calloc((size_t)n, sizeof *o->shells))) goto fail;
    for (; o->n_shells < n; o->n_shells++) {
        if (!(o->shells[o->n_shells] = av_packet_alloc())) goto fail;
        tc_queue_try_put(o->free, o->shells[o->n_shells]);
    }
    atomic_store(&o->state, TC_OUTPUT_CONNECTING);
    if (tc_log_thread_create(&o->thread, output_thread, o) != 0) {
        r = TC_ERR_IO;
        goto fail;
    }
    o->thread_started = 1;
    *out = o;
    return TC_OK;
fail:
    snprintf(err, (size_t)errlen, "cannot set up output %s: %s", o->fmt.display, tc_strerror(r));
    tc_output_destroy(o, 1);
    return r;
}

#define CLOSE_GRACE_NS 5000000000LL /* longest a graceful close waits on a peer */

void tc_output_close(tc_output *o, int abort)
{
    if (abort) atomic_store(&o->abort, 1);
    atomic_store(&o->close_deadline, tc_now_ns() + CLOSE_GRACE_NS);
    if (o->q) tc_queue_close(o->q);
    if (o->thread_started) pthread_join(o->thread, NULL);
    o->thread_started = 0;
}

void tc_output_destroy(tc_output *o, int abort)
{
    if (!o) return;
    tc_output_close(o, abort);
    void *item;
    while (o->q && tc_queue_try_get(o->q, &item) == TC_OK) av_packet_unref(item);
    for (int i = 0; i < o->n_shells; i++) av_packet_free(&o->shells[i]);
    free(o->shells);
    tc_queue_destroy(o->q);
    tc_queue_destroy(o->free);
    for (int i = 0; i < 2; i++) avcodec_parameters_free(&o->par[i]);
    close_muxer(o, 0);
    tc_outfmt_free(&o->fmt);
    free(o->name);
    free(o);
}

void tc_output_get_stats(tc_output *o, tc_output_stats *st)
{
    st->state = (tc_output_state)atomic_load(&o->state);
    st->bytes = atomic_load(&o->bytes);
    st->packets = atomic_load(&o->packets);
    st->dropped = atomic_load(&o->dropped);
    st->reconnects = atomic_load(&o->reconnects);
    st->failures = atomic_load(&o->failures);
}

const char *tc_output_display(const tc_output *o) { return o->fmt.display; }
