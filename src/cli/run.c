/* run.c — `talkcast run`: the daemon. Streams the avatar to every output
 * and, with an AMQP URL, speaks every message of the queue on it.
 *
 * Wiring (this file owns no thread of its own beyond main):
 *   amqp-in thread ──on_delivery──> parse ──> pipeline (queue, speech thread)
 *   pipeline ──settle──> ack / dead-letter / requeue (amqp-in carries them out)
 *   pipeline ──event───> events exchange (amqp-out, confirmed)
 *
 * Stopping: the first SIGINT/SIGTERM stops consuming, lets the speech on
 * air end as --on-stop says (the rest is requeued), flushes acks and
 * events, finishes every output and exits 0. A second signal exits at once;
 * the broker requeues whatever was not acked. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amqp/amqp.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "msg/msg.h"
#include "pipeline/pipeline.h"

static const tc_log_ctx log_ctx = { "run", NULL };

typedef struct runner {
    const tc_config *cfg;
    tc_engine *eng;
    tc_face *face;            /* the face on air; swapped by set_avatar */
    pthread_mutex_t face_lock; /* guards face */
    tc_tts *tts;
    tc_pipe *pipe;            /* NULL once closing */
    pthread_mutex_t pipe_lock; /* guards pipe against deliveries racing teardown */
    tc_amqp *amqp;
    tc_tts_voice *voices;
    const char **voice_names;
    int n_voices;
} runner;

static void print_run_help(void)
{
    printf("Usage: talkcast run [OPTIONS]\n\n"
           "Streams the avatar at a constant frame rate (audio sample clock as master) to every\n"
           "output at once. Network outputs reconnect on their own; files are finished on exit.\n"
           "With --amqp-url, every text message on --queue is spoken, lip-synced, in order;\n"
           "control messages (interrupt, clear, pause, resume, set_avatar, set_voice, ping) act\n"
           "at once; events go to --events-exchange.\n"
           "SIGINT/SIGTERM stop gracefully (--on-stop; files get their trailer); a second\n"
           "signal exits at once, leaving unacked messages to the broker.\n\n");
    tc_config_print_help(stdout);
}

void tc_cli_run_help(void) { print_run_help(); }

/* ---- hooks ----------------------------------------------------------------- */

static void deliver(runner *r, tc_amqp_delivery *d);

static void on_delivery(void *opaque, tc_amqp_delivery *d)
{
    runner *r = opaque;
    pthread_mutex_lock(&r->pipe_lock);
    if (!r->pipe) { /* shutting down: the broker keeps it for later */
        tc_amqp_requeue(r->amqp, d);
        tc_amqp_delivery_free(d);
    } else {
        deliver(r, d);
    }
    pthread_mutex_unlock(&r->pipe_lock);
}

static void deliver(runner *r, tc_amqp_delivery *d)
{
    tc_msg m;
    char reason[256];
    if (tc_msg_parse(d->body, d->len, d->message_id, &m, reason, sizeof reason) < 0) {
        tc_pipe_reject(r->pipe, d->message_id, d, reason);
        return;
    }
    if (d->control && m.type != TC_MSG_CONTROL) {
        char id[TC_MSG_MAX_ID + 1];
        snprintf(id, sizeof id, "%s", m.id);
        tc_msg_free(&m);
        snprintf(reason, sizeof reason, "a %s message on the control queue (only control messages go there)",
                 "text");
        tc_pipe_reject(r->pipe, id, d, reason);
        return;
    }
    tc_pipe_submit(r->pipe, &m, d, d->received_ns);
}

static void on_amqp_state(void *opaque, int connected, const char *reason)
{
    (void)opaque;
    if (connected) tc_log(&log_ctx, TC_LOG_INFO, "consuming messages");
    else tc_log(&log_ctx, TC_LOG_DEBUG, "not consuming: %s", reason ? reason : "disconnected");
}

static void on_settle(void *opaque, void *handle, tc_pipe_outcome o, const char *reason)
{
    runner *r = opaque;
    tc_amqp_delivery *d = handle;
    if (!d) return;
    switch (o) {
    case TC_PIPE_FAILED: tc_amqp_dead_letter(r->amqp, d, reason ? reason : "failed"); break;
    case TC_PIPE_REQUEUED: tc_amqp_requeue(r->amqp, d); break;
    default: tc_amqp_ack(r->amqp, d); break;
    }
    tc_amqp_delivery_free(d);
}

static void on_event(void *opaque, const char *name, const char *json)
{
    runner *r = opaque;
    tc_log(&log_ctx, TC_LOG_DEBUG, "event %s %s", name, json);
    tc_amqp_publish_event(r->amqp, name, json);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A name from a message becomes a path only inside --avatar-dir (no
 * slashes, no dot files): a message cannot make us open any file. */
static int resolve_avatar(const runner *r, const char *name, char *path, size_t len, char *reason, size_t rlen)
{
    if (!strcmp(name, "vector") || !strcmp(name, r->cfg->avatar)) {
        snprintf(path, len, "%s", name);
        return TC_OK;
    }
    if (!r->cfg->avatar_dir[0]) {
        snprintf(reason, rlen, "set_avatar: '%s' is not known (set --avatar-dir to allow names)", name);
        return TC_ERR_NOTFOUND;
    }
    if (strchr(name, '/') || name[0] == '.') {
        snprintf(reason, rlen, "set_avatar: '%s' is not a plain name", name);
        return TC_ERR_INVAL;
    }
    static const char *const ext[] = { "", ".png", ".jpg", ".jpeg", ".webp", ".mp4", ".webm", ".mkv", ".mov" };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(path, len, "%s/%s%s", r->cfg->avatar_dir, name, ext[i]);
        if (is_file(path)) return TC_OK;
    }
    snprintf(reason, rlen, "set_avatar: no avatar '%s' in %s", name, r->cfg->avatar_dir);
    return TC_ERR_NOTFOUND;
}

static int on_set_avatar(void *opaque, const char *name, char *reason, size_t rlen)
{
    runner *r = opaque;
    char path[4096];
    int rc = resolve_avatar(r, name, path, sizeof path, reason, rlen);
    if (rc < 0) return rc;
    tc_face_config fc = tc_cli_face_config(r->cfg);
    fc.path = strcmp(path, "vector") ? path : NULL;
    fc.landmarks = NULL; /* next to the new image */
    tc_face *face = NULL;
    int64_t t0 = tc_now_ns();
    if ((rc = tc_face_create_auto(&face, &fc)) < 0) {
        snprintf(reason, rlen, "set_avatar: cannot use '%s': %s", name, tc_strerror(rc));
        return rc;
    }
    pthread_mutex_lock(&r->face_lock);
    tc_face *old = tc_engine_set_face(r->eng, face);
    r->face = face;
    pthread_mutex_unlock(&r->face_lock);
    tc_face_destroy(old);
    tc_log(&log_ctx, TC_LOG_INFO, "avatar is now %s (%s, loaded in %.0f ms)", name, tc_face_name(face),
           (double)(tc_now_ns() - t0) / 1e6);
    return TC_OK;
}

/* ---- setup and teardown ----------------------------------------------------- */

/* Speech, pipeline and broker; 0 or an exit code. */
static int start_messages(runner *r)
{
    const tc_config *c = r->cfg;
    tc_tts_config tc = tc_cli_tts_config(c);
    const char *fb = c->tts_fallback[0] && strcmp(c->tts_fallback, "none") ? c->tts_fallback : NULL;
    int rc = tc_tts_create(&r->tts, c->tts, fb, &tc);
    if (rc < 0) {
        fprintf(stderr, "talkcast run: cannot start speech provider '%s': %s\n", c->tts, tc_strerror(rc));
        return rc == TC_ERR_INVAL ? 2 : 1;
    }
    /* set_voice is checked against the voices the provider lists (espeak
     * lists them offline; a provider that cannot list takes any name) */
    if (!strcmp(c->tts, "espeak") && tc_tts_voices(r->tts, &r->voices, &r->n_voices) == TC_OK && r->n_voices > 0 &&
        (r->voice_names = calloc((size_t)r->n_voices * 3, sizeof *r->voice_names))) {
        for (int i = 0; i < r->n_voices; i++) {
            r->voice_names[3 * i] = r->voices[i].name;
            r->voice_names[3 * i + 1] = r->voices[i].language;
            r->voice_names[3 * i + 2] = r->voices[i].id;
        }
    }
    tc_pipe_config pc = {
        .tts = r->tts, .engine = r->eng, .fps_num = c->fps_num, .fps_den = c->fps_den,
        .sample_rate = c->sample_rate, .stream = c->stream_name, .voices = r->voice_names,
        .n_voices = r->voice_names ? r->n_voices * 3 : 0, .synth_ahead = c->synth_ahead, .max_queue = 10000,
        .tail_s = c->pause_after, .dedupe = 4096,
        .hooks = { on_settle, on_event, on_set_avatar }, .opaque = r,
    };
    if ((rc = tc_pipe_create(&r->pipe, &pc)) < 0 || (rc = tc_pipe_start(r->pipe)) < 0) {
        fprintf(stderr, "talkcast run: cannot start the speech pipeline: %s\n", tc_strerror(rc));
        return 1;
    }
    tc_amqp_config ac = {
        .url = c->amqp_url, .queue = c->queue, .events_exchange = c->events_exchange,
        .stream = c->stream_name, .prefetch = c->prefetch, .heartbeat = c->heartbeat,
        .passive = c->amqp_passive, .ca_file = c->amqp_ca[0] ? c->amqp_ca : NULL,
        .cert_file = c->amqp_cert[0] ? c->amqp_cert : NULL, .key_file = c->amqp_key[0] ? c->amqp_key : NULL,
        .tls_verify = c->amqp_verify, .reconnect_min = c->reconnect_min, .reconnect_max = c->reconnect_max,
        .max_events = 10000,
    };
    char err[512] = "";
    if ((rc = tc_amqp_create(&r->amqp, &ac, on_delivery, on_amqp_state, r, err, sizeof err)) < 0) {
        fprintf(stderr, "talkcast run: %s\n", err[0] ? err : tc_strerror(rc));
        return rc == TC_ERR_INVAL ? 2 : 1;
    }
    if ((rc = tc_amqp_start(r->amqp)) < 0) {
        fprintf(stderr, "talkcast run: cannot start the AMQP client: %s\n", tc_strerror(rc));
        return 1;
    }
    tc_log(&log_ctx, TC_LOG_INFO, "speaking messages from queue '%s' (tts=%s, prefetch=%d)", c->queue,
           tc_tts_name(r->tts), c->prefetch);
    return 0;
}

static void report(runner *r)
{
    tc_engine_stats st;
    tc_engine_get_stats(r->eng, &st);
    tc_log(&log_ctx, TC_LOG_INFO,
           "frames=%lld late=%lld dropped=%lld audio_samples=%lld segments=%lld interrupted=%lld",
           (long long)st.frames, (long long)st.late, (long long)st.dropped, (long long)st.samples,
           (long long)st.segments_done, (long long)st.segments_interrupted);
    for (int i = 0; i < tc_engine_output_count(r->eng); i++) {
        tc_output_stats os;
        tc_engine_output_stats(r->eng, i, &os);
        tc_log(&log_ctx, TC_LOG_INFO,
               "out%d state=%s bytes=%lld packets=%lld dropped=%lld reconnects=%lld failures=%lld", i,
               tc_output_state_name(os.state), (long long)os.bytes, (long long)os.packets,
               (long long)os.dropped, (long long)os.reconnects, (long long)os.failures);
    }
    if (r->pipe) {
        tc_pipe_stats ps;
        tc_pipe_get_stats(r->pipe, &ps);
        tc_log(&log_ctx, TC_LOG_INFO,
               "messages received=%lld spoken=%lld failed=%lld interrupted=%lld cleared=%lld requeued=%lld "
               "duplicates=%lld",
               (long long)ps.received, (long long)ps.spoken, (long long)ps.failed, (long long)ps.interrupted,
               (long long)ps.cleared, (long long)ps.requeued, (long long)ps.duplicates);
    }
}

/* Wait for a signal up to ms; the signal number or 0. */
static int wait_signal(const sigset_t *sigs, int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    int sig = sigtimedwait(sigs, NULL, &ts);
    return sig == SIGINT || sig == SIGTERM ? sig : 0;
}

int tc_cli_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_run_help();
            return 0;
        }
    }
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    int next = 0, rc = tc_cli_load_config(&cfg, argc - 1, argv + 1, &next);
    if (rc) goto out;
    if (next < argc - 1) {
        fprintf(stderr, "talkcast run: unexpected argument '%s'\n", argv[next + 1]);
        rc = 2;
        goto out;
    }
    if (cfg.n_outputs == 0) {
        fprintf(stderr, "talkcast run: no output; give one with --out URL "
                        "(e.g. --out rtmp://127.0.0.1/live/avatar or -o out.mp4)\n");
        rc = 2;
        goto out;
    }

    runner r = { .cfg = &cfg };
    pthread_mutex_init(&r.face_lock, NULL);
    pthread_mutex_init(&r.pipe_lock, NULL);
    tc_face_config fc = tc_cli_face_config(&cfg);
    int e = tc_face_create_auto(&r.face, &fc);
    if (e < 0) {
        fprintf(stderr, "talkcast run: cannot use avatar '%s': %s\n", cfg.avatar, tc_strerror(e));
        rc = e == TC_ERR_NOTFOUND || e == TC_ERR_FORMAT ? 2 : 1;
        goto out_mutex;
    }

    tc_engine_config ec = tc_cli_engine_config(
        &cfg, cfg.pace == TC_PACE_LIVE,
        cfg.duration > 0 ? (int64_t)(cfg.duration * cfg.fps_num / cfg.fps_den + 0.5) : 0);

    /* Signals are taken synchronously by this thread only; every thread
     * started from here on inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512] = "";
    e = tc_engine_create(&r.eng, &ec, r.face, err, sizeof err);
    if (e < 0) {
        fprintf(stderr, "talkcast run: %s\n", err[0] ? err : tc_strerror(e));
        rc = e == TC_ERR_INVAL || e == TC_ERR_UNSUPPORTED ? 2 : 1;
        goto out_face;
    }
    if (cfg.amqp_url[0] && (rc = start_messages(&r)) != 0) {
        tc_engine_destroy(r.eng, 1);
        goto out_msgs;
    }
    if ((e = tc_engine_start(r.eng)) < 0) {
        fprintf(stderr, "talkcast run: cannot start the engine: %s\n", tc_strerror(e));
        rc = 1;
        tc_engine_destroy(r.eng, 1);
        goto out_msgs;
    }
    tc_log(&log_ctx, TC_LOG_INFO, "streaming %dx%d@%d/%d %s, %d Hz x%d, avatar=%s, %zu output(s)", cfg.width,
           cfg.height, cfg.fps_num, cfg.fps_den, cfg.pix_fmt, cfg.sample_rate, cfg.channels, tc_face_name(r.face),
           cfg.n_outputs);

    int abort = 0, sig = 0;
    while (tc_engine_wait(r.eng, 0) != TC_OK && !(sig = wait_signal(&sigs, 200))) {}
    if (sig) {
        tc_log(&log_ctx, TC_LOG_INFO, "%s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
        if (r.amqp) tc_amqp_set_consuming(r.amqp, 0);
        if (r.pipe) {
            /* the speech on air ends as --on-stop says; a second signal cuts it short */
            int64_t deadline = tc_now_ns() + (int64_t)(cfg.stop_timeout * 1e9);
            while (tc_pipe_drain(r.pipe, (tc_pipe_drain_mode)cfg.on_stop, 100) == TC_ERR_TIMEOUT) {
                if (wait_signal(&sigs, 0)) {
                    abort = 1;
                    break;
                }
                if (tc_now_ns() > deadline) {
                    tc_log(&log_ctx, TC_LOG_WARN, "speech did not end within %.0f s: stopping it", cfg.stop_timeout);
                    break;
                }
            }
        }
        tc_engine_stop(r.eng);
    }
    if (abort) tc_log(&log_ctx, TC_LOG_WARN, "second signal: exiting at once");
    tc_engine_close(r.eng, abort); /* reports every segment back to the pipeline */
    report(&r);
    /* A file that could not be written is a failed run; a network output
     * that was still reconnecting at the end is not. */
    rc = 0;
    for (int i = 0; i < tc_engine_output_count(r.eng); i++) {
        tc_output_stats os;
        tc_engine_output_stats(r.eng, i, &os);
        if (os.state == TC_OUTPUT_FAILED) rc = 1;
    }
    pthread_mutex_lock(&r.pipe_lock);
    tc_pipe *pipe = r.pipe;
    r.pipe = NULL;
    pthread_mutex_unlock(&r.pipe_lock);
    tc_pipe_destroy(pipe); /* settles what is left: requeued */
    if (r.amqp && !abort && tc_amqp_flush(r.amqp, 5000) != TC_OK)
        tc_log(&log_ctx, TC_LOG_WARN, "some acks or events were not confirmed before exit");
    tc_engine_destroy(r.eng, abort);
out_msgs:
    tc_amqp_destroy(r.amqp); /* no more deliveries after this */
    tc_pipe_destroy(r.pipe);
    tc_tts_destroy(r.tts);
    free(r.voices);
    free(r.voice_names);
out_face:
    tc_face_destroy(r.face);
out_mutex:
    pthread_mutex_destroy(&r.pipe_lock);
    pthread_mutex_destroy(&r.face_lock);
out:
    tc_config_free(&cfg);
    return rc;
}
