/* station.c — one stream: avatar, engine, outputs, speech and messages.
 *
 * Wiring (no thread of its own):
 *   amqp-in thread ──on_delivery──> parse ──> pipeline (queue, speech thread)
 *   pipeline ──settle──> ack / dead-letter / requeue (amqp-in carries them out)
 *   pipeline ──event───> events exchange (amqp-out, confirmed)
 *
 * Every thread a station starts carries its stream name in the log lines
 * (tc_log_set_tag on the opening thread, inherited by tc_log_thread_create). */
#include "cli/station.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "avatar/avatar.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "face/warp.h"
#include "msg/msg.h"

static const tc_log_ctx log_ctx = { "run", NULL };

struct tc_station {
    const tc_config *cfg;
    tc_engine *eng;
    tc_face *face;             /* the face on air; swapped by set_avatar */
    tc_face_remote *remote;    /* the face provider, or NULL */
    int64_t face_next;         /* speech thread: where the next segment asked of it should start */
    pthread_mutex_t face_lock; /* guards face */
    tc_tts *tts;
    tc_pipe *pipe;             /* NULL once closing */
    pthread_mutex_t pipe_lock; /* guards pipe against deliveries and stats racing teardown */
    tc_amqp *amqp;
    tc_tts_voice *voices;
    const char **voice_names;
    char *captions_file;        /* the rolling captions file, "{stream}" expanded */
    int n_voices;
    int started, closed, abort;
    const char *tag;           /* stream name on log lines, or NULL */
};

/* ---- hooks ----------------------------------------------------------------- */

static void deliver(tc_station *s, tc_amqp_delivery *d)
{
    tc_msg m;
    char reason[256];
    if (tc_msg_parse(d->body, d->len, d->message_id, &m, reason, sizeof reason) < 0) {
        tc_pipe_reject(s->pipe, d->message_id, d, reason);
        return;
    }
    if (d->control && m.type != TC_MSG_CONTROL) {
        char id[TC_MSG_MAX_ID + 1];
        snprintf(id, sizeof id, "%s", m.id);
        tc_msg_free(&m);
        tc_pipe_reject(s->pipe, id, d, "a text message on the control queue (only control messages go there)");
        return;
    }
    tc_pipe_submit(s->pipe, &m, d, d->received_ns);
}

static void on_delivery(void *opaque, tc_amqp_delivery *d)
{
    tc_station *s = opaque;
    pthread_mutex_lock(&s->pipe_lock);
    if (!s->pipe) { /* shutting down: the broker keeps it for later */
        tc_amqp_requeue(s->amqp, d);
        tc_amqp_delivery_free(d);
    } else {
        deliver(s, d);
    }
    pthread_mutex_unlock(&s->pipe_lock);
}

static void on_amqp_state(void *opaque, int connected, const char *reason)
{
    (void)opaque;
    if (connected) tc_log(&log_ctx, TC_LOG_INFO, "consuming messages");
    else tc_log(&log_ctx, TC_LOG_DEBUG, "not consuming: %s", reason ? reason : "disconnected");
}

static void on_settle(void *opaque, void *handle, tc_pipe_outcome o, const char *reason)
{
    tc_station *s = opaque;
    tc_amqp_delivery *d = handle;
    if (!d) return;
    switch (o) {
    case TC_PIPE_FAILED: tc_amqp_dead_letter(s->amqp, d, reason ? reason : "failed"); break;
    case TC_PIPE_REQUEUED: tc_amqp_requeue(s->amqp, d); break;
    default: tc_amqp_ack(s->amqp, d); break;
    }
    tc_amqp_delivery_free(d);
}

static void on_event(void *opaque, const char *name, const char *json)
{
    tc_station *s = opaque;
    tc_log(&log_ctx, TC_LOG_DEBUG, "event %s %s", name, json);
    tc_amqp_publish_event(s->amqp, name, json);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* 1 when `path`, every symlink resolved (into `real`, PATH_MAX bytes), lies
 * inside the resolved directory `root`. */
static int inside(const char *root, const char *path, char *real)
{
    size_t n = strlen(root);
    return realpath(path, real) && !strncmp(real, root, n) && (real[n] == '/' || (n == 1 && real[1]));
}

/* The files a face loads beside `real` — a pack's manifest, an image's or a
 * video's landmarks — must not lead out of `root` either. */
static int beside_inside(const char *root, const char *real)
{
    struct stat st;
    char *extra = NULL, buf[PATH_MAX];
    if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((extra = malloc(strlen(real) + sizeof "/sprites.json"))) sprintf(extra, "%s/sprites.json", real);
    } else {
        extra = tc_face_landmarks_path(real);
    }
    int ok = extra && (!is_file(extra) || inside(root, extra, buf));
    free(extra);
    return ok;
}

/* A name from a message becomes a path only inside --avatar-dir (no
 * slashes, no dot files, no symlink that leads out of it): a name stored
 * with `talkcast avatar add` (its current version), else a file of the
 * directory itself. A message
 * cannot make us open any other file. The face is loaded from the
 * resolved path, so what was checked is what is opened. */
static int resolve_avatar(const tc_station *s, const char *name, char *path, size_t len, char *reason,
                          size_t rlen)
{
    if (!strcmp(name, "vector") || !strcmp(name, s->cfg->avatar)) {
        snprintf(path, len, "%s", name);
        return TC_OK;
    }
    if (!s->cfg->avatar_dir[0]) {
        snprintf(reason, rlen,
                 "set_avatar: '%s' is not known (set --avatar-dir to allow names; 'talkcast avatar add' "
                 "stores avatars in --avatar-dir, or in $XDG_DATA_HOME/talkcast/avatars when it is unset)",
                 name);
        return TC_ERR_NOTFOUND;
    }
    if (strchr(name, '/') || name[0] == '.') {
        snprintf(reason, rlen, "set_avatar: '%s' is not a plain name", name);
        return TC_ERR_INVAL;
    }
    char root[PATH_MAX], real[PATH_MAX];
    if (!realpath(s->cfg->avatar_dir, root)) {
        snprintf(reason, rlen, "set_avatar: avatar directory %s: %s", s->cfg->avatar_dir, strerror(errno));
        return TC_ERR_NOTFOUND;
    }
    /* a stored avatar (talkcast avatar add) first: its current version */
    char kind[16];
    if (tc_avatar_resolve(root, name, path, len, kind, sizeof kind) == TC_OK) {
        if (!inside(root, path, real) || !beside_inside(root, real)) {
            snprintf(reason, rlen, "set_avatar: stored '%s' is a link that leads out of %s", name, s->cfg->avatar_dir);
            return TC_ERR_INVAL;
        }
        size_t n = strlen(real);
        if (n >= len) return TC_ERR_INVAL;
        memcpy(path, real, n + 1);
        tc_log(&log_ctx, TC_LOG_DEBUG, "set_avatar: '%s' is the stored %s %s", name, kind, path);
        return TC_OK;
    }
    static const char *const ext[] = { "", ".png", ".jpg", ".jpeg", ".webp", ".mp4", ".webm", ".mkv", ".mov" };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        if (snprintf(path, len, "%s/%s%s", root, name, ext[i]) >= (int)len || !is_file(path)) continue;
        if (!inside(root, path, real) || !beside_inside(root, real)) {
            snprintf(reason, rlen, "set_avatar: '%s' is a link that leads out of %s", name, s->cfg->avatar_dir);
            return TC_ERR_INVAL;
        }
        size_t n = strlen(real);
        if (n >= len) break;
        memcpy(path, real, n + 1);
        return TC_OK;
    }
    snprintf(reason, rlen, "set_avatar: no avatar '%s' in %s", name, s->cfg->avatar_dir);
    return TC_ERR_NOTFOUND;
}

static int on_set_avatar(void *opaque, const char *name, char *reason, size_t rlen)
{
    tc_station *s = opaque;
    char path[PATH_MAX];
    int rc = resolve_avatar(s, name, path, sizeof path, reason, rlen);
    if (rc < 0) return rc;
    tc_face_config fc = tc_cli_face_config(s->cfg);
    fc.path = strcmp(path, "vector") ? path : NULL;
    fc.landmarks = NULL; /* next to the new image */
    tc_face *face = NULL;
    int64_t t0 = tc_now_ns();
    if ((rc = tc_face_create_auto(&face, &fc)) < 0) {
        snprintf(reason, rlen, "set_avatar: cannot use '%s': %s", name, tc_strerror(rc));
        return rc;
    }
    /* the provider animates the new avatar from the next segment on */
    if (s->remote && (rc = tc_face_remote_set_avatar(s->remote, fc.path, fc.landmarks, face)) < 0)
        tc_log(&log_ctx, TC_LOG_WARN, "the face provider keeps the previous avatar: %s", tc_strerror(rc));
    pthread_mutex_lock(&s->face_lock);
    tc_face *old = tc_engine_set_face(s->eng, face);
    s->face = face;
    pthread_mutex_unlock(&s->face_lock);
    tc_face_destroy(old);
    tc_log(&log_ctx, TC_LOG_INFO, "avatar is now %s (%s, loaded in %.0f ms)", name, tc_face_name(face),
           (double)(tc_now_ns() - t0) / 1e6);
    return TC_OK;
}

static void on_segment(void *opaque, tc_segment *seg)
{
    tc_station *s = opaque;
    if (!s->remote) return;
    /* where a video avatar will be when it starts: after the segments
     * asked for before it, or now; a guess (the pauses between messages are
     * not counted), and the crossfade covers the difference */
    const tc_config *c = s->cfg;
    int64_t now = tc_engine_position(s->eng), per = (int64_t)c->sample_rate * c->fps_den;
    if (s->face_next < now) s->face_next = now;
    int r = tc_face_remote_attach(s->remote, seg, s->face_next);
    s->face_next += (seg->n_samples * c->fps_num + per - 1) / per;
    if (r < 0) tc_log(&log_ctx, TC_LOG_WARN, "face provider not asked for a segment: %s", tc_strerror(r));
}

/* ---- setup ------------------------------------------------------------------ */

#define FAIL(code, ...)                                                                     \
    do {                                                                                    \
        fprintf(stderr, "talkcast run: ");                                                  \
        if (s->tag) fprintf(stderr, "stream '%s': ", s->tag);                               \
        fprintf(stderr, __VA_ARGS__);                                                       \
        fputc('\n', stderr);                                                                \
        return (code);                                                                      \
    } while (0)

/* Speech, pipeline and broker; 0 or an exit code. */
static int start_messages(tc_station *s)
{
    const tc_config *c = s->cfg;
    tc_tts_config tc = tc_cli_tts_config(c);
    const char *fb = c->tts_fallback[0] && strcmp(c->tts_fallback, "none") ? c->tts_fallback : NULL;
    int rc = tc_tts_create(&s->tts, c->tts, fb, &tc);
    if (rc < 0)
        FAIL(rc == TC_ERR_INVAL ? 2 : 1, "cannot start speech provider '%s': %s", c->tts, tc_strerror(rc));
    /* set_voice is checked against the voices the provider lists (espeak
     * lists them offline; a provider that cannot list takes any name) */
    if (!strcmp(c->tts, "espeak") && tc_tts_voices(s->tts, &s->voices, &s->n_voices) == TC_OK &&
        s->n_voices > 0 && (s->voice_names = calloc((size_t)s->n_voices * 3, sizeof *s->voice_names))) {
        for (int i = 0; i < s->n_voices; i++) {
            s->voice_names[3 * i] = s->voices[i].name;
            s->voice_names[3 * i + 1] = s->voices[i].language;
            s->voice_names[3 * i + 2] = s->voices[i].id;
        }
    }
    if (c->captions_file && c->captions_file[0]) {
        const char *at = strstr(c->captions_file, "{stream}"), *name = c->stream_name ? c->stream_name : "talkcast";
        size_t len = strlen(c->captions_file) + strlen(name) + 1;
        if (!(s->captions_file = malloc(len))) FAIL(1, "out of memory");
        if (at) snprintf(s->captions_file, len, "%.*s%s%s", (int)(at - c->captions_file), c->captions_file, name, at + 8);
        else snprintf(s->captions_file, len, "%s", c->captions_file);
    }
    tc_pipe_config pc = {
        .tts = s->tts, .engine = s->eng, .fps_num = c->fps_num, .fps_den = c->fps_den,
        .sample_rate = c->sample_rate, .stream = c->stream_name, .voices = s->voice_names,
        .n_voices = s->voice_names ? s->n_voices * 3 : 0, .synth_ahead = c->synth_ahead, .max_queue = 10000,
        .tail_s = c->pause_after, .dedupe = 4096, .captions_file = s->captions_file,
        .hooks = { on_settle, on_event, on_set_avatar, on_segment }, .opaque = s,
    };
    if ((rc = tc_pipe_create(&s->pipe, &pc)) < 0 || (rc = tc_pipe_start(s->pipe)) < 0)
        FAIL(1, "cannot start the speech pipeline: %s%s", tc_strerror(rc),
             s->captions_file ? " (--captions-file must end in .vtt or .srt)" : "");
    tc_amqp_config ac = tc_cli_amqp_config(c);
    char err[512] = "";
    if ((rc = tc_amqp_create(&s->amqp, &ac, on_delivery, on_amqp_state, s, err, sizeof err)) < 0)
        FAIL(rc == TC_ERR_INVAL ? 2 : 1, "%s", err[0] ? err : tc_strerror(rc));
    if ((rc = tc_amqp_start(s->amqp)) < 0) FAIL(1, "cannot start the AMQP client: %s", tc_strerror(rc));
    tc_log(&log_ctx, TC_LOG_INFO, "speaking messages from queue '%s' (tts=%s, prefetch=%d)", c->queue,
           tc_tts_name(s->tts), c->prefetch);
    return 0;
}

static int open_station(tc_station *s)
{
    const tc_config *c = s->cfg;
    tc_face_config fc = tc_cli_face_config(c);
    int e = tc_face_create_auto(&s->face, &fc);
    if (e < 0)
        FAIL(e == TC_ERR_NOTFOUND || e == TC_ERR_FORMAT ? 2 : 1, "cannot use avatar '%s': %s", c->avatar,
             tc_strerror(e));
    tc_engine_config ec = tc_cli_engine_config(
        c, c->pace == TC_PACE_LIVE, c->duration > 0 ? (int64_t)(c->duration * c->fps_num / c->fps_den + 0.5) : 0);
    char err[512] = "";
    if ((e = tc_engine_create(&s->eng, &ec, s->face, err, sizeof err)) < 0)
        FAIL(e == TC_ERR_INVAL || e == TC_ERR_UNSUPPORTED ? 2 : 1, "%s", err[0] ? err : tc_strerror(e));
    if (c->face_provider[0]) {
        tc_face_remote_config rc = tc_cli_face_remote_config(c, c->pace == TC_PACE_LIVE);
        if ((e = tc_face_remote_create(&s->remote, &rc)) < 0)
            FAIL(e == TC_ERR_INVAL ? 2 : 1, "face provider '%s': %s", c->face_provider, tc_strerror(e));
        if ((e = tc_face_remote_set_avatar(s->remote, fc.path, fc.landmarks, s->face)) < 0)
            FAIL(1, "cannot prepare avatar '%s' for the face provider: %s", c->avatar, tc_strerror(e));
    }
    return c->amqp_url[0] ? start_messages(s) : 0;
}

int tc_station_open(tc_station **out, const tc_config *cfg, int tag_logs)
{
    *out = NULL;
    tc_station *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, "talkcast run: out of memory\n");
        return 1;
    }
    s->cfg = cfg;
    s->abort = 1;
    s->tag = tag_logs ? cfg->stream_name : NULL;
    pthread_mutex_init(&s->face_lock, NULL);
    pthread_mutex_init(&s->pipe_lock, NULL);
    const char *prev = tc_log_get_tag();
    tc_log_set_tag(s->tag);
    int rc = open_station(s);
    tc_log_set_tag(prev);
    if (rc) {
        tc_station_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tc_station_start(tc_station *s)
{
    const tc_config *c = s->cfg;
    const char *prev = tc_log_get_tag();
    tc_log_set_tag(s->tag);
    int e = tc_engine_start(s->eng);
    tc_log_set_tag(prev);
    if (e < 0) FAIL(1, "cannot start the engine: %s", tc_strerror(e));
    s->started = 1;
    tc_log_set_tag(s->tag);
    tc_log(&log_ctx, TC_LOG_INFO, "streaming %dx%d@%d/%d %s, %d Hz x%d, avatar=%s, %zu output(s)", c->width, c->height, c->fps_num, c->fps_den, c->pix_fmt, c->sample_rate, c->channels,
           tc_face_name(s->face), c->n_outputs);
    tc_log_set_tag(prev);
    return 0;
}

/* ---- running and stopping ----------------------------------------------------- */

int tc_station_ended(tc_station *s) { return tc_engine_wait(s->eng, 0) == TC_OK; }

void tc_station_stop_consuming(tc_station *s)
{
    if (s->amqp) tc_amqp_set_consuming(s->amqp, 0);
}

int tc_station_drain(tc_station *s, tc_pipe_drain_mode mode, int ms)
{
    return s->pipe ? tc_pipe_drain(s->pipe, mode, ms) : TC_OK;
}

void tc_station_stop(tc_station *s) { tc_engine_stop(s->eng); }

static void report(tc_station *s)
{
    tc_station_stats st;
    tc_station_get_stats(s, &st);
    tc_log(&log_ctx, TC_LOG_INFO,
           "frames=%lld late=%lld dropped=%lld audio_samples=%lld segments=%lld interrupted=%lld replayed=%lld",
           (long long)st.engine.frames, (long long)st.engine.late, (long long)st.engine.dropped,
           (long long)st.engine.samples, (long long)st.engine.segments_done,
           (long long)st.engine.segments_interrupted, (long long)st.engine.replayed);
    for (int i = 0; i < st.n_outputs; i++) {
        const tc_output_stats *os = &st.outputs[i];
        tc_log(&log_ctx, TC_LOG_INFO,
               "out%d state=%s bytes=%lld packets=%lld dropped=%lld reconnects=%lld failures=%lld", i, tc_output_state_name(os->state), (long long)os->bytes, (long long)os->packets,
               (long long)os->dropped, (long long)os->reconnects, (long long)os->failures);
    }
    if (st.face_remote)
        tc_log(&log_ctx, TC_LOG_INFO,
               "face provider up=%d frames_remote=%lld frames_local=%lld requests=%lld failures=%lld fallbacks=%lld "
               "retries=%lld bad=%lld resized=%lld uploads=%lld",
               st.face.up, (long long)st.face.frames_remote, (long long)st.face.frames_late, (long long)st.face.requests,
               (long long)st.face.failures, (long long)st.face.fallbacks, (long long)st.face.retries,
               (long long)st.face.frames_bad, (long long)st.face.frames_resized, (long long)st.face.uploads);
    if (st.messaging)
        tc_log(&log_ctx, TC_LOG_INFO,
               "messages received=%lld spoken=%lld failed=%lld interrupted=%lld cleared=%lld requeued=%lld "
               "duplicates=%lld",
               (long long)st.pipe.received, (long long)st.pipe.spoken, (long long)st.pipe.failed,
               (long long)st.pipe.interrupted, (long long)st.pipe.cleared, (long long)st.pipe.requeued,
               (long long)st.pipe.duplicates);
}

int tc_station_close(tc_station *s, int abort)
{
    if (!s->started || s->closed) return 0;
    s->closed = 1;
    s->abort = abort;
    tc_engine_close(s->eng, abort); /* reports every segment back to the pipeline */
    const char *prev = tc_log_get_tag();
    tc_log_set_tag(s->tag);
    report(s);
    /* A file that could not be written is a failed run; a network output
     * that was still reconnecting at the end is not. */
    int rc = 0;
    for (int i = 0; i < tc_engine_output_count(s->eng); i++) {
        tc_output_stats os;
        tc_engine_output_stats(s->eng, i, &os);
        if (os.state == TC_OUTPUT_FAILED) rc = 1;
    }
    pthread_mutex_lock(&s->pipe_lock);
    tc_pipe *pipe = s->pipe;
    s->pipe = NULL;
    pthread_mutex_unlock(&s->pipe_lock);
    tc_pipe_destroy(pipe); /* settles what is left: requeued */
    if (s->amqp && !abort && tc_amqp_flush(s->amqp, 5000) != TC_OK)
        tc_log(&log_ctx, TC_LOG_WARN, "some acks or events were not confirmed before exit");
    tc_log_set_tag(prev);
    return rc;
}

void tc_station_destroy(tc_station *s)
{
    if (!s) return;
    if (s->eng) tc_engine_destroy(s->eng, s->abort);
    tc_face_remote_destroy(s->remote); /* after the engine: its segments released their requests */
    tc_amqp_destroy(s->amqp); /* no more deliveries after this */
    tc_pipe_destroy(s->pipe);
    tc_tts_destroy(s->tts);
    free(s->voices);
    free(s->voice_names);
    free(s->captions_file);
    tc_face_destroy(s->face);
    pthread_mutex_destroy(&s->pipe_lock);
    pthread_mutex_destroy(&s->face_lock);
    free(s);
}

const char *tc_station_name(const tc_station *s) { return s->cfg->stream_name; }
const tc_config *tc_station_config(const tc_station *s) { return s->cfg; }

void tc_station_get_stats(tc_station *s, tc_station_stats *st)
{
    memset(st, 0, sizeof *st);
    tc_engine_get_stats(s->eng, &st->engine);
    st->n_outputs = tc_engine_output_count(s->eng);
    if (st->n_outputs > 16) st->n_outputs = 16;
    for (int i = 0; i < st->n_outputs; i++) tc_engine_output_stats(s->eng, i, &st->outputs[i]);
    if (s->remote) {
        st->face_remote = 1;
        tc_face_remote_get_stats(s->remote, &st->face);
    }
    if (!s->amqp) return;
    st->messaging = 1;
    tc_amqp_get_stats(s->amqp, &st->amqp);
    pthread_mutex_lock(&s->pipe_lock);
    if (s->pipe) tc_pipe_get_stats(s->pipe, &st->pipe);
    pthread_mutex_unlock(&s->pipe_lock);
    tc_tts_get_stats(s->tts, &st->tts);
    tc_tts_health(s->tts, &st->tts_ok, &st->tts_fallback_ok);
    st->tts_name = tc_tts_name(s->tts);
}
