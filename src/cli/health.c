/* health.c — what /metrics, /healthz and /readyz answer for the stations
 * of this process. Runs on the HTTP server's thread; reads only stats that
 * the modules publish for any thread.
 *
 *   /healthz  200 while every stream's clock ticks (the last frame is no
 *             older than 10 frame periods, at least 2 s); else 503.
 *   /readyz   200 when every stream has its broker connection (if it takes
 *             messages) and at least one output up; else 503. The body
 *             says, per stream, what is missing.
 *   /metrics  Prometheus text, every family once, one series per stream. */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/station.h"
#include "core/clock.h"
#include "ops/ops.h"
#include "tc_version.h"

#define STALE_MIN_NS 2000000000LL

static void face_metrics(tc_cli_health *h, const tc_station_stats *st, tc_ops_buf *b);

static int64_t stale_after_ns(const tc_config *c)
{
    int64_t t = (int64_t)(10e9 * c->fps_den / c->fps_num);
    return t < STALE_MIN_NS ? STALE_MIN_NS : t;
}

/* 1 when the stream's clock ticks; why says otherwise. */
static int station_live(const tc_station_stats *st, const tc_config *c, int64_t now, char *why, size_t len)
{
    if (!st->engine.last_tick_ns) {
        snprintf(why, len, "no frame yet");
        return 0;
    }
    int64_t age = now - st->engine.last_tick_ns;
    if (age > stale_after_ns(c)) {
        snprintf(why, len, "no frame for %.1f s", (double)age / 1e9);
        return 0;
    }
    snprintf(why, len, "ticking (%lld frames)", (long long)st->engine.frames);
    return 1;
}

static int outputs_up(const tc_station_stats *st)
{
    int up = 0;
    for (int i = 0; i < st->n_outputs; i++) up += st->outputs[i].state == TC_OUTPUT_CONNECTED;
    return up;
}

int tc_cli_health_live(tc_cli_health *h, char *why, size_t len)
{
    int ok = 1;
    int64_t now = tc_now_ns();
    if (len) why[0] = '\0';
    for (int i = 0; i < h->n; i++) {
        tc_station_stats st;
        tc_station_get_stats(h->stations[i], &st);
        char w[128];
        if (!station_live(&st, tc_station_config(h->stations[i]), now, w, sizeof w)) {
            ok = 0;
            size_t used = strlen(why);
            snprintf(why + used, len - used, "%sstream %s: %s", used ? "; " : "", tc_station_name(h->stations[i]), w);
        }
    }
    return ok;
}

/* ---- /metrics ----------------------------------------------------------------- */

typedef struct counter_def {
    const char *name, *help;
    size_t off; /* of an int64_t in tc_station_stats */
    int needs_messaging;
} counter_def;

#define ST(f) offsetof(tc_station_stats, f)

static const counter_def station_counters[] = {
    { "talkcast_frames_total", "frames on the timeline (constant frame rate)", ST(engine.frames), 0 },
    { "talkcast_frames_late_total", "ticks that started after their deadline", ST(engine.late), 0 },
    { "talkcast_frames_dropped_total", "pictures repeated instead of rendered fresh", ST(engine.dropped), 0 },
    { "talkcast_frames_replayed_total", "idle frames sent from the loop encoded at start-up", ST(engine.replayed), 0 },
    { "talkcast_encoder_suspends_total", "times x264 was closed on a long idle stretch (--idle-close)",
      ST(engine.encoder_suspends), 0 },
    { "talkcast_audio_samples_total", "audio samples on the timeline", ST(engine.samples), 0 },
    { "talkcast_caption_words_total", "words put into the CEA-608 captions (--captions)", ST(engine.caption_words), 0 },
    { "talkcast_caption_pairs_total", "CEA-608 byte pairs sent in the video (2 bytes each)", ST(engine.caption_pairs), 0 },
    { "talkcast_caption_clears_total", "times the captions were erased (after speech, or at once on interrupt)",
      ST(engine.caption_clears), 0 },
    { "talkcast_speech_samples_total", "audio samples of speech on the timeline", ST(engine.speech_samples), 0 },
    { "talkcast_pipeline_transitions_total", "state changes of the speech pipeline", ST(pipe.transitions), 1 },
    { "talkcast_pipeline_illegal_transitions_total", "state changes refused as illegal",
      ST(pipe.illegal_transitions), 1 },
    { "talkcast_controls_total", "control messages acted on", ST(pipe.controls), 1 },
    { "talkcast_broker_connects_total", "connections made to the broker", ST(amqp.connects), 1 },
    { "talkcast_broker_reconnects_total", "connections made after a loss", ST(amqp.reconnects), 1 },
    { "talkcast_broker_connect_failures_total", "failed attempts to connect", ST(amqp.connect_failures), 1 },
    { "talkcast_amqp_deliveries_total", "messages delivered by the broker", ST(amqp.deliveries), 1 },
    { "talkcast_amqp_acks_total", "messages acked", ST(amqp.acks), 1 },
    { "talkcast_amqp_requeues_total", "messages handed back to the broker", ST(amqp.requeues), 1 },
    { "talkcast_amqp_dead_lettered_total", "messages sent to the dead-letter queue", ST(amqp.dead_lettered), 1 },
    { "talkcast_events_published_total", "events published", ST(amqp.events_published), 1 },
    { "talkcast_events_confirmed_total", "events confirmed by the broker", ST(amqp.events_confirmed), 1 },
    { "talkcast_events_dropped_total", "events dropped (buffer full while disconnected)", ST(amqp.events_dropped),
      1 },
    { "talkcast_tts_messages_total", "messages synthesized", ST(tts.messages), 1 },
    { "talkcast_tts_sentences_total", "sentences synthesized", ST(tts.sentences), 1 },
    { "talkcast_tts_failures_total", "syntheses that failed", ST(tts.failures), 1 },
    { "talkcast_tts_fallbacks_total", "syntheses the fallback provider took over", ST(tts.fallbacks), 1 },
};

static const counter_def output_counters[] = {
    { "talkcast_output_bytes_total", "bytes written to the output", offsetof(tc_output_stats, bytes), 0 },
    { "talkcast_output_packets_total", "packets written to the output", offsetof(tc_output_stats, packets), 0 },
    { "talkcast_output_dropped_packets_total", "packets dropped (queue full, disconnected)",
      offsetof(tc_output_stats, dropped), 0 },
    { "talkcast_output_reconnects_total", "successful reconnections", offsetof(tc_output_stats, reconnects), 0 },
    { "talkcast_output_failures_total", "failed connects or writes", offsetof(tc_output_stats, failures), 0 },
};

/* int gauges of streams that take messages */
static const counter_def station_gauges[] = {
    { "talkcast_queue_depth", "messages received and not yet on air", ST(pipe.queue_depth), 1 },
    { "talkcast_paused", "1 while paused by a control message", ST(pipe.paused), 1 },
    { "talkcast_broker_connected", "1 while consuming from the broker", ST(amqp.connected), 1 },
    { "talkcast_events_pending", "events buffered, not yet confirmed", ST(amqp.events_pending), 1 },
};

static int64_t field(const void *base, size_t off) { return *(const int64_t *)((const char *)base + off); }

/* RSS, open fds and CPU time of this process, from /proc. */
static void process_metrics(tc_ops_buf *b, const tc_cli_health *h)
{
    long page = sysconf(_SC_PAGESIZE);
    long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &rss) != 2) rss = 0;
        fclose(f);
    }
    tc_ops_prom_family(b, "process_resident_memory_bytes", "gauge", "resident set size");
    tc_ops_prom_sample(b, "process_resident_memory_bytes", NULL, (double)rss * (double)page);
    tc_ops_prom_family(b, "process_virtual_memory_bytes", "gauge", "virtual memory size");
    tc_ops_prom_sample(b, "process_virtual_memory_bytes", NULL, (double)size * (double)page);

    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') fds++;
        closedir(d);
        fds--; /* the directory's own */
    }
    tc_ops_prom_family(b, "process_open_fds", "gauge", "open file descriptors");
    tc_ops_prom_sample(b, "process_open_fds", NULL, fds);

    unsigned long long ut = 0, stime = 0;
    if ((f = fopen("/proc/self/stat", "r"))) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
            ut = stime = 0;
    }
    tc_ops_prom_family(b, "process_cpu_seconds_total", "counter", "user and system CPU time");
    tc_ops_prom_sample(b, "process_cpu_seconds_total", NULL, (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK));
    tc_ops_prom_family(b, "process_start_time_seconds", "gauge", "start time, seconds since the epoch");
    tc_ops_prom_sample(b, "process_start_time_seconds", NULL, h->start_unix);
}

static void write_metrics(tc_cli_health *h, tc_ops_buf *b)
{
    int n = h->n;
    tc_station_stats *st = calloc((size_t)(n ? n : 1), sizeof *st);
    if (!st) {
        b->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) tc_station_get_stats(h->stations[i], &st[i]);
    int64_t now = tc_now_ns();

    const char *build[] = { "version", TC_VERSION, NULL };
    tc_ops_prom_family(b, "talkcast_build_info", "gauge", "talkcast's version (always 1)");
    tc_ops_prom_sample(b, "talkcast_build_info", build, 1);
    tc_ops_prom_family(b, "talkcast_streams", "gauge", "streams in this process");
    tc_ops_prom_sample(b, "talkcast_streams", NULL, n);
    process_metrics(b, h);

    for (size_t k = 0; k < sizeof station_counters / sizeof station_counters[0]; k++) {
        const counter_def *d = &station_counters[k];
        tc_ops_prom_family(b, d->name, "counter", d->help);
        for (int i = 0; i < n; i++) {
            if (d->needs_messaging && !st[i].messaging) continue;
            const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
            tc_ops_prom_sample(b, d->name, l, (double)field(&st[i], d->off));
        }
    }

    tc_ops_prom_family(b, "talkcast_engine_last_frame_age_seconds", "gauge",
                       "time since the clock last ticked (large: the stream is stuck)");
    for (int i = 0; i < n; i++) {
        const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
        double age = st[i].engine.last_tick_ns ? (double)(now - st[i].engine.last_tick_ns) / 1e9 : NAN;
        tc_ops_prom_sample(b, "talkcast_engine_last_frame_age_seconds", l, age);
    }
    tc_ops_prom_family(b, "talkcast_segments_total", "counter", "speech segments that left the air, by how");
    for (int i = 0; i < n; i++) {
        const char *name = tc_station_name(h->stations[i]);
        const char *done[] = { "stream", name, "outcome", "completed", NULL };
        const char *cut[] = { "stream", name, "outcome", "interrupted", NULL };
        tc_ops_prom_sample(b, "talkcast_segments_total", done,
                           (double)(st[i].engine.segments_done - st[i].engine.segments_interrupted));
        tc_ops_prom_sample(b, "talkcast_segments_total", cut, (double)st[i].engine.segments_interrupted);
    }

    /* outputs */
    tc_ops_prom_family(b, "talkcast_output_up", "gauge", "1 while the output is connected and written");
    for (int i = 0; i < n; i++)
        for (int o = 0; o < st[i].n_outputs; o++) {
            char out[16];
            snprintf(out, sizeof out, "out%d", o);
            const char *l[] = { "stream", tc_station_name(h->stations[i]), "output", out, NULL };
            tc_ops_prom_sample(b, "talkcast_output_up", l, st[i].outputs[o].state == TC_OUTPUT_CONNECTED);
        }
    tc_ops_prom_family(b, "talkcast_output_state", "gauge", "1 for the state the output is in");
    for (int i = 0; i < n; i++)
        for (int o = 0; o < st[i].n_outputs; o++) {
            char out[16];
            snprintf(out, sizeof out, "out%d", o);
            for (int s = TC_OUTPUT_CONNECTING; s <= TC_OUTPUT_CLOSED; s++) {
                const char *l[] = { "stream", tc_station_name(h->stations[i]), "output", out, "state",
                                    tc_output_state_name((tc_output_state)s), NULL };
                tc_ops_prom_sample(b, "talkcast_output_state", l, st[i].outputs[o].state == (tc_output_state)s);
            }
        }
    for (size_t k = 0; k < sizeof output_counters / sizeof output_counters[0]; k++) {
        const counter_def *d = &output_counters[k];
        tc_ops_prom_family(b, d->name, "counter", d->help);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < st[i].n_outputs; o++) {
                char out[16];
                snprintf(out, sizeof out, "out%d", o);
                const char *l[] = { "stream", tc_station_name(h->stations[i]), "output", out, NULL };
                tc_ops_prom_sample(b, d->name, l, (double)field(&st[i].outputs[o], d->off));
            }
    }

    /* messages */
    tc_ops_prom_family(b, "talkcast_messages_total", "counter", "text messages, by outcome");
    for (int i = 0; i < n; i++) {
        if (!st[i].messaging) continue;
        const tc_pipe_stats *p = &st[i].pipe;
        const struct { const char *o; int64_t v; } rows[] = {
            { "received", p->received }, { "spoken", p->spoken }, { "failed", p->failed },
            { "interrupted", p->interrupted }, { "cleared", p->cleared }, { "requeued", p->requeued },
            { "duplicate", p->duplicates },
        };
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            const char *l[] = { "stream", tc_station_name(h->stations[i]), "outcome", rows[r].o, NULL };
            tc_ops_prom_sample(b, "talkcast_messages_total", l, (double)rows[r].v);
        }
    }
    for (size_t k = 0; k < sizeof station_gauges / sizeof station_gauges[0]; k++) {
        const counter_def *d = &station_gauges[k];
        tc_ops_prom_family(b, d->name, "gauge", d->help);
        for (int i = 0; i < n; i++)
            if (st[i].messaging) {
                const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
                tc_ops_prom_sample(b, d->name, l, *(const int *)((const char *)&st[i] + d->off));
            }
    }
    tc_ops_prom_family(b, "talkcast_state", "gauge", "1 for the state the speech pipeline is in");
    for (int i = 0; i < n; i++)
        if (st[i].messaging)
            for (int s = 0; s < TC_PIPE_STATE_COUNT; s++) {
                const char *l[] = { "stream", tc_station_name(h->stations[i]), "state",
                                    tc_pipe_state_name((tc_pipe_state)s), NULL };
                tc_ops_prom_sample(b, "talkcast_state", l, st[i].pipe.state == (tc_pipe_state)s);
            }
    tc_ops_prom_family(b, "talkcast_speech_latency_seconds", "histogram",
                       "from a message's receipt to its first sample on air");
    for (int i = 0; i < n; i++) {
        if (!st[i].messaging) continue;
        double bounds[TC_PIPE_LAT_BUCKETS];
        for (int k = 0; k < TC_PIPE_LAT_BUCKETS; k++)
            bounds[k] = k == TC_PIPE_LAT_BUCKETS - 1 ? INFINITY : tc_pipe_lat_bounds_ms[k] / 1000.0;
        const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
        tc_ops_prom_histogram(b, "talkcast_speech_latency_seconds", l, bounds, st[i].pipe.lat_buckets,
                              TC_PIPE_LAT_BUCKETS, st[i].pipe.lat_sum_ms / 1000.0, st[i].pipe.lat_count);
    }
    tc_ops_prom_family(b, "talkcast_tts_up", "gauge", "1 while the speech provider answers (role: primary, fallback)");
    for (int i = 0; i < n; i++) {
        if (!st[i].messaging) continue;
        const tc_config *c = tc_station_config(h->stations[i]);
        const char *pl[] = { "stream", tc_station_name(h->stations[i]), "provider", c->tts, "role", "primary", NULL };
        tc_ops_prom_sample(b, "talkcast_tts_up", pl, st[i].tts_ok);
        if (c->tts_fallback[0] && strcmp(c->tts_fallback, "none")) {
            const char *fl[] = { "stream", tc_station_name(h->stations[i]), "provider", c->tts_fallback, "role",
                                 "fallback", NULL };
            tc_ops_prom_sample(b, "talkcast_tts_up", fl, st[i].tts_fallback_ok);
        }
    }
    face_metrics(h, st, b);
    free(st);
}

/* The face providers' state under /healthz's verdict: a provider that is
 * down does not make the stream unhealthy (the local face stands in), but
 * an operator should see it. */
static void face_health(tc_cli_health *h, tc_ops_buf *b)
{
    for (int i = 0; i < h->n; i++) {
        tc_station_stats st;
        tc_station_get_stats(h->stations[i], &st);
        if (!st.face_remote) continue;
        tc_ops_buf_printf(b,
                          "stream %s: face provider %s; %lld frames from it, %lld drawn locally, %lld fallbacks, "
                          "%lld failed requests%s%s\n",
                          tc_station_name(h->stations[i]), st.face.up ? "up" : "DOWN (local rendering)",
                          (long long)st.face.frames_remote, (long long)st.face.frames_late,
                          (long long)st.face.fallbacks, (long long)st.face.failures,
                          st.face.last_error[0] ? "; last error: " : "", st.face.last_error);
    }
}

static void face_metrics(tc_cli_health *h, const tc_station_stats *st, tc_ops_buf *b)
{
    int any = 0;
    for (int i = 0; i < h->n; i++) any |= st[i].face_remote;
    if (!any) return;
    tc_ops_prom_family(b, "talkcast_face_provider_up", "gauge", "1 while the remote face provider answers");
    for (int i = 0; i < h->n; i++)
        if (st[i].face_remote) {
            const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
            tc_ops_prom_sample(b, "talkcast_face_provider_up", l, st[i].face.up);
        }
    tc_ops_prom_family(b, "talkcast_face_frames_total", "counter",
                       "pictures of provider-rendered segments on air, by who drew them (provider, or local when late)");
    for (int i = 0; i < h->n; i++)
        if (st[i].face_remote) {
            const char *lp[] = { "stream", tc_station_name(h->stations[i]), "source", "provider", NULL };
            const char *ll[] = { "stream", tc_station_name(h->stations[i]), "source", "local", NULL };
            tc_ops_prom_sample(b, "talkcast_face_frames_total", lp, (double)st[i].face.frames_remote);
            tc_ops_prom_sample(b, "talkcast_face_frames_total", ll, (double)st[i].face.frames_late);
        }
    static const struct { const char *name, *help; size_t off; } c[] = {
        { "talkcast_face_requests_total", "segments asked of the face provider", offsetof(tc_face_remote_stats, requests) },
        { "talkcast_face_request_failures_total", "face requests that failed (before or during their frames)",
          offsetof(tc_face_remote_stats, failures) },
        { "talkcast_face_retries_total", "face requests retried", offsetof(tc_face_remote_stats, retries) },
        { "talkcast_face_fallbacks_total", "segments drawn locally because the face provider was down",
          offsetof(tc_face_remote_stats, fallbacks) },
        { "talkcast_face_bad_frames_total", "provider frames that did not decode or had no valid index",
          offsetof(tc_face_remote_stats, frames_bad) },
        { "talkcast_face_resized_frames_total", "provider frames of the wrong size, fitted",
          offsetof(tc_face_remote_stats, frames_resized) },
        { "talkcast_face_uploads_total", "avatars uploaded to the face provider", offsetof(tc_face_remote_stats, uploads) },
        { "talkcast_face_connections_total", "connections opened to the face provider (requests reuse them)",
          offsetof(tc_face_remote_stats, connects) },
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        tc_ops_prom_family(b, c[k].name, "counter", c[k].help);
        for (int i = 0; i < h->n; i++)
            if (st[i].face_remote) {
                const char *l[] = { "stream", tc_station_name(h->stations[i]), NULL };
                tc_ops_prom_sample(b, c[k].name, l, (double)*(const int64_t *)((const char *)&st[i].face + c[k].off));
            }
    }
}

/* ---- the handler ---------------------------------------------------------------- */

static int readyz(tc_cli_health *h, tc_ops_buf *b)
{
    int ready = 1;
    int64_t now = tc_now_ns();
    for (int i = 0; i < h->n; i++) {
        tc_station_stats st;
        tc_station_get_stats(h->stations[i], &st);
        char why[128];
        int live = station_live(&st, tc_station_config(h->stations[i]), now, why, sizeof why);
        int up = outputs_up(&st), broker = !st.messaging || st.amqp.connected;
        int ok = live && up > 0 && broker;
        ready &= ok;
        tc_ops_buf_printf(b, "stream %s: %s; clock %s; %d/%d outputs up; broker %s\n", tc_station_name(h->stations[i]),
                          ok ? "ready" : "NOT READY", why, up, st.n_outputs,
                          !st.messaging ? "not used" : st.amqp.connected ? "connected" : "DISCONNECTED");
    }
    return ready ? 200 : 503;
}

int tc_cli_health_handler(void *opaque, const char *path, tc_ops_buf *body, const char **content_type)
{
    tc_cli_health *h = opaque;
    if (!strcmp(path, "/metrics")) {
        write_metrics(h, body);
        *content_type = TC_OPS_PROM_CONTENT_TYPE;
        return 200;
    }
    if (!strcmp(path, "/healthz")) {
        char why[512];
        int ok = tc_cli_health_live(h, why, sizeof why);
        tc_ops_buf_printf(body, "%s\n", ok ? "ok" : why);
        face_health(h, body);
        return ok ? 200 : 503;
    }
    if (!strcmp(path, "/readyz")) return readyz(h, body);
    if (!strcmp(path, "/")) {
        tc_ops_buf_printf(body, "talkcast %s: /metrics /healthz /readyz\n", TC_VERSION);
        return 200;
    }
    tc_ops_buf_printf(body, "not found; try /metrics, /healthz or /readyz\n");
    return 404;
}
