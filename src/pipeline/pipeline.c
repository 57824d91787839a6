/* pipeline.c — the speech thread, the life of a job and the states.
 *
 * A job is in exactly one of: the queue (waiting), the active list
 * (synthesizing, or its segments are in the engine), or settled (freed).
 * It leaves the active list only when the speech thread is done with it
 * and the engine has reported every one of its segments, so a job is never
 * freed while something still points at it. All of this is under p->lock;
 * the engine's callbacks take it too (they never call back into the
 * engine, which keeps the lock order engine → pipeline). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "pipeline/pipe_int.h"

static const tc_log_ctx log_ctx = { "pipeline", NULL };

const double tc_pipe_lat_bounds_ms[TC_PIPE_LAT_BUCKETS] = { 10,  25,  50,   100,  150,  200,
                                                            300, 500, 1000, 2500, 5000, 1e300 };

/* A segment's link back to its job. */
typedef struct seg_ctx {
    tc_pipe *p;
    tc_pipe_job *job;         /* NULL: a pause between messages */
    int last;                 /* the message's final sentence */
    int64_t samples;          /* speech samples in it (without padding) */
    const char *text;         /* the sentence (the segment's cap_text, borrowed), or NULL */
    const tc_cap_word *words; /* its words (the segment's, borrowed) */
    int n_words;
    int sentence;
} seg_ctx;

/* ---- ids already settled (idempotency) ------------------------------- */

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)id; *s; s++) h = (h ^ *s) * 1099511628211ULL;
    return h ? h : 1;
}

int tc_pipe_seen(tc_pipe *p, const char *id)
{
    if (!id || !id[0]) return 0;
    uint64_t h = id_hash(id);
    for (int i = 0; i < p->n_ids; i++)
        if (p->ids[i] == h) return 1;
    return 0;
}

void tc_pipe_remember(tc_pipe *p, const char *id)
{
    if (!id || !id[0] || p->cfg.dedupe <= 0 || tc_pipe_seen(p, id)) return;
    p->ids[p->ids_head] = id_hash(id);
    p->ids_head = (p->ids_head + 1) % p->cfg.dedupe;
    if (p->n_ids < p->cfg.dedupe) p->n_ids++;
}

/* ---- the queue -------------------------------------------------------- */

/* Cut-ins first, then priority, then arrival. */
static int goes_before(const tc_pipe_job *a, const tc_pipe_job *b)
{
    if (a->cut_in != b->cut_in) return a->cut_in > b->cut_in;
    if (a->msg.priority != b->msg.priority) return a->msg.priority > b->msg.priority;
    return a->seq < b->seq;
}

void tc_pipe_queue_insert(tc_pipe *p, tc_pipe_job *j)
{
    tc_pipe_job **at = &p->queue;
    while (*at && !goes_before(j, *at)) at = &(*at)->next;
    j->next = *at;
    *at = j;
    p->n_queue++;
    pthread_cond_broadcast(&p->wake);
}

static void active_remove(tc_pipe *p, tc_pipe_job *j)
{
    tc_pipe_job **at = &p->active, *prev = NULL;
    while (*at && *at != j) prev = *at, at = &(*at)->next;
    if (!*at) return;
    *at = j->next;
    if (p->active_tail == j) p->active_tail = prev;
    j->next = NULL;
    p->n_active--;
}

/* ---- states ------------------------------------------------------------ */

void tc_pipe_set_state(tc_pipe *p, tc_pipe_state to, const char *why)
{
    tc_pipe_state from = p->state;
    if (from == to) return;
    if (!tc_pipe_transition_legal(from, to)) {
        p->st.illegal_transitions++;
        tc_log(&log_ctx, TC_LOG_WARN, "refused illegal state change %s -> %s (%s)", tc_pipe_state_name(from),
               tc_pipe_state_name(to), why);
        return;
    }
    p->state = to;
    p->st.transitions++;
    tc_log(&log_ctx, TC_LOG_DEBUG, "state %s -> %s (%s)", tc_pipe_state_name(from), tc_pipe_state_name(to), why);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "from", json_object_new_string(tc_pipe_state_name(from)));
    json_object_object_add(d, "to", json_object_new_string(tc_pipe_state_name(to)));
    json_object_object_add(d, "reason", json_object_new_string(why));
    tc_pipe_emit_id(p, "state", NULL, d);
}

/* The state the facts call for, reached by legal steps. */
void tc_pipe_update_state(tc_pipe *p, const char *why)
{
    int on_air = 0, busy = p->synth != NULL;
    for (tc_pipe_job *j = p->active; j; j = j->next) {
        if (j->started && !j->speech_done && j->stop == STOP_NONE) on_air = 1;
        else if (!j->started) busy = 1;
    }
    if (p->n_queue > 0 && !p->paused && !p->draining) busy = 1;
    tc_pipe_state want = on_air ? TC_PIPE_TALKING
                       : p->tails > 0 ? TC_PIPE_TRANSITIONING
                       : busy ? TC_PIPE_PROCESSING
                       : TC_PIPE_IDLE;
    if (want == p->state) return;
    if (p->state == TC_PIPE_ERROR) tc_pipe_set_state(p, TC_PIPE_IDLE, "recovered");
    if (p->state == TC_PIPE_TALKING) tc_pipe_set_state(p, TC_PIPE_TRANSITIONING, why);
    if (p->state == TC_PIPE_PROCESSING && want == TC_PIPE_TRANSITIONING) return; /* a pause after nothing heard */
    tc_pipe_set_state(p, want, why);
}

/* ---- settling ------------------------------------------------------------ */

void tc_pipe_settle(tc_pipe *p, tc_pipe_job *j, tc_pipe_outcome o, const char *reason)
{
    if (o != TC_PIPE_REQUEUED && !j->stale) tc_pipe_remember(p, j->msg.id);
    switch (o) {
    case TC_PIPE_SPOKEN: p->st.spoken++; break;
    case TC_PIPE_INTERRUPTED: p->st.interrupted++; break;
    case TC_PIPE_CLEARED: p->st.cleared++; break;
    case TC_PIPE_FAILED: p->st.failed++; break;
    case TC_PIPE_REQUEUED: p->st.requeued++; break;
    case TC_PIPE_DUPLICATE: p->st.duplicates++; break;
    case TC_PIPE_DONE: break;
    }
    tc_log(&log_ctx, o == TC_PIPE_FAILED ? TC_LOG_WARN : TC_LOG_INFO, "message id=%s %s%s%s", j->msg.id,
           tc_pipe_outcome_name(o), reason ? ": " : "", reason ? reason : "");
    if (p->cfg.hooks.settle) p->cfg.hooks.settle(p->cfg.opaque, j->handle, o, reason);
    tc_msg_free(&j->msg);
    free(j);
}

static double frames_ms(const tc_pipe *p, int64_t frames)
{
    return (double)frames * 1000.0 * p->cfg.fps_den / p->cfg.fps_num;
}

/* The speech thread is done with it and the engine gave every segment
 * back: decide its fate. */
static void job_complete(tc_pipe *p, tc_pipe_job *j)
{
    active_remove(p, j);
    json_object *d = json_object_new_object();
    if (j->stop == STOP_RESTART && !j->started) {
        /* a cut-in went first; it waits for its turn again */
        j->segs_enqueued = j->segs_done = j->synth_done = j->sentences = 0;
        j->samples = 0;
        j->stop = STOP_NONE;
        json_object_put(d);
        tc_pipe_queue_insert(p, j);
        tc_log(&log_ctx, TC_LOG_DEBUG, "message id=%s back in the queue behind a cut-in", j->msg.id);
    } else if (j->stop == STOP_NONE || (j->stop == STOP_SHUTDOWN && j->speech_done)) {
        json_object_object_add(d, "duration_ms", json_object_new_double((double)j->samples * 1000.0 / p->cfg.sample_rate));
        json_object_object_add(d, "sentences", json_object_new_int(j->sentences));
        json_object_object_add(d, "start_frame", json_object_new_int64(j->start_frame));
        json_object_object_add(d, "end_frame", json_object_new_int64(j->end_frame));
        if (j->msg.text) json_object_object_add(d, "text", json_object_new_string(j->msg.text)); /* what the captions said */
        tc_pipe_emit(p, "finished", &j->msg, d);
        tc_pipe_settle(p, j, TC_PIPE_SPOKEN, NULL);
    } else if (j->stop == STOP_INTERRUPT || j->stop == STOP_RESTART) {
        json_object_object_add(d, "started", json_object_new_boolean(j->started));
        json_object_object_add(d, "requested_frame", json_object_new_int64(j->stop_frame));
        if (j->started) {
            json_object_object_add(d, "cut_frame", json_object_new_int64(j->end_frame));
            json_object_object_add(d, "delay_ms", json_object_new_double(frames_ms(p, j->end_frame - j->stop_frame)));
        }
        if (j->by[0]) json_object_object_add(d, "by", json_object_new_string(j->by));
        tc_pipe_emit(p, "interrupted", &j->msg, d);
        tc_pipe_settle(p, j, TC_PIPE_INTERRUPTED, NULL);
    } else if (j->stop == STOP_CLEAR) {
        if (j->by[0]) json_object_object_add(d, "by", json_object_new_string(j->by));
        tc_pipe_emit(p, "cleared", &j->msg, d);
        tc_pipe_settle(p, j, TC_PIPE_CLEARED, NULL);
    } else if (j->stop == STOP_FAIL) {
        char reason[sizeof j->reason];
        memcpy(reason, j->reason, sizeof reason);
        json_object_object_add(d, "reason", json_object_new_string(reason));
        tc_pipe_emit(p, "failed", &j->msg, d);
        tc_pipe_settle(p, j, TC_PIPE_FAILED, reason);
    } else { /* shutdown before the end: someone says it later */
        json_object_put(d);
        tc_pipe_settle(p, j, TC_PIPE_REQUEUED, "shutting down");
    }
    pthread_cond_broadcast(&p->wake);
    pthread_cond_broadcast(&p->settled);
}

static void maybe_complete(tc_pipe *p, tc_pipe_job *j)
{
    if (j->synth_done && j->segs_done == j->segs_enqueued && p->synth != j) job_complete(p, j);
}

void tc_pipe_stop_job(tc_pipe *p, tc_pipe_job *j, job_stop why, int keep_current, const char *by)
{
    if (j->stop != STOP_NONE && j->stop != STOP_RESTART) return; /* first reason wins */
    j->stop = why;
    j->stop_frame = tc_engine_position(p->cfg.engine);
    snprintf(j->by, sizeof j->by, "%s", by ? by : "");
    tc_engine_cancel(p->cfg.engine, j->seq, keep_current);
    if (p->synth == j) tc_tts_cancel(p->cfg.tts);
}

/* ---- engine callbacks (engine thread) ------------------------------------ */

#define CUES_KEPT 200 /* the rolling captions file: the last this many cues */

/* The rolling captions file changed (engine thread, lock held): the
 * writer thread writes it again, so no file I/O happens on the tick. */
static void save_cues(tc_pipe *p)
{
    tc_cap_cues_keep_last(p->cues, CUES_KEPT);
    tc_cap_cues_finish(p->cues, 0.5);
    p->cues_dirty = 1;
    pthread_cond_signal(&p->cues_cond);
}

/* The captions file's writer: the cues are rendered to memory under the
 * lock, the file written outside it. Flushes a last time when told to quit. */
static void *cues_thread(void *arg)
{
    tc_pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->cues_dirty && !p->cues_quit) pthread_cond_wait(&p->cues_cond, &p->lock);
        if (!p->cues_dirty) break;
        p->cues_dirty = 0;
        char *data;
        size_t n;
        int r = tc_cap_cues_render(p->cues, p->cues_fmt, &data, &n);
        pthread_mutex_unlock(&p->lock);
        if (r == TC_OK) r = tc_file_replace(p->cfg.captions_file, data, n);
        free(data);
        if (r < 0 && !p->cues_failed)
            tc_log(&log_ctx, TC_LOG_WARN, "cannot write the captions file %s: %s", p->cfg.captions_file, tc_strerror(r));
        else if (r == TC_OK && p->cues_failed)
            tc_log(&log_ctx, TC_LOG_INFO, "captions file %s written again", p->cfg.captions_file);
        pthread_mutex_lock(&p->lock);
        p->cues_failed = r < 0;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void seg_started(void *opaque, const tc_segment_result *r)
{
    seg_ctx *c = opaque;
    tc_pipe *p = c->p;
    pthread_mutex_lock(&p->lock);
    tc_pipe_job *j = c->job;
    if (j && !j->started) {
        j->started = 1;
        j->start_frame = r->start_frame;
        double ms = (double)(tc_now_ns() - j->received_ns) / 1e6;
        p->st.lat_count++;
        p->st.lat_sum_ms += ms;
        for (int b = 0; b < TC_PIPE_LAT_BUCKETS; b++)
            if (ms <= tc_pipe_lat_bounds_ms[b]) p->st.lat_buckets[b]++;
        json_object *d = json_object_new_object();
        json_object_object_add(d, "latency_ms", json_object_new_double(ms));
        json_object_object_add(d, "start_frame", json_object_new_int64(r->start_frame));
        json_object_object_add(d, "start_ms", json_object_new_double(frames_ms(p, r->start_frame)));
        tc_pipe_emit(p, "started", &j->msg, d);
        tc_pipe_update_state(p, "speech on air");
    }
    if (j && c->text && p->cues) { /* the rolling file: this sentence's cues, on the stream's timeline */
        for (int i = 0; i < c->n_words; i++)
            tc_cap_cues_add(p->cues, (double)(r->start_sample + c->words[i].start) / p->cfg.sample_rate,
                            (double)(r->start_sample + c->words[i].end) / p->cfg.sample_rate,
                            c->text + c->words[i].pos, c->words[i].len, i == 0);
        save_cues(p);
    }
    if (j && c->text) { /* the sentence's words, as the captions show them */
        json_object *d = json_object_new_object();
        json_object_object_add(d, "text", json_object_new_string(c->text));
        json_object_object_add(d, "sentence", json_object_new_int(c->sentence));
        json_object_object_add(d, "start_ms", json_object_new_double(frames_ms(p, r->start_frame)));
        json_object_object_add(d, "duration_ms", json_object_new_double(1000.0 * (double)c->samples / p->cfg.sample_rate));
        tc_pipe_emit(p, "caption", &j->msg, d);
    }
    pthread_mutex_unlock(&p->lock);
}

static void seg_done(void *opaque, const tc_segment_result *r)
{
    seg_ctx *c = opaque;
    tc_pipe *p = c->p;
    pthread_mutex_lock(&p->lock);
    tc_pipe_job *j = c->job;
    if (!j) {
        p->tails--;
        tc_pipe_update_state(p, "pause over");
    } else {
        j->segs_done++;
        if (r->start_frame >= 0) j->end_frame = r->end_frame;
        if (p->cues && r->interrupted && r->start_frame >= 0 && c->text) { /* said up to here */
            tc_cap_cues_cut(p->cues, (double)(r->start_sample + r->samples_played) / p->cfg.sample_rate);
            save_cues(p);
        }
        if (r->interrupted && j->stop == STOP_NONE) j->stop = STOP_SHUTDOWN; /* the engine is closing */
        if (c->last && !r->interrupted) j->speech_done = 1;
        if (j->started && (j->speech_done || j->stop != STOP_NONE)) tc_pipe_update_state(p, "speech over");
        maybe_complete(p, j);
        tc_pipe_update_state(p, "segment done");
    }
    pthread_mutex_unlock(&p->lock);
    free(c);
}

/* Hand a segment to the engine, waiting while its queue is full. */
static int enqueue(tc_pipe *p, tc_segment *s)
{
    for (;;) {
        int r = tc_engine_enqueue(p->cfg.engine, s);
        if (r != TC_ERR_AGAIN) return r;
        pthread_mutex_lock(&p->lock);
        int stop = p->stopping || (s->opaque && ((seg_ctx *)s->opaque)->job &&
                                   ((seg_ctx *)s->opaque)->job->stop != STOP_NONE);
        pthread_mutex_unlock(&p->lock);
        if (stop) return TC_ERR_CLOSED;
        usleep(10000);
    }
}

/* ---- the speech thread --------------------------------------------------- */

/* tc_tts_speak's sink: one sentence → one segment of the job's group. */
static int sink(void *opaque, tc_tts_chunk *ch)
{
    seg_ctx *c = opaque, *sc = NULL;
    tc_pipe *p = c->p;
    tc_pipe_job *j = c->job;
    int spf = tc_clock_frame_samples(&p->clk, 0);
    tc_segment seg = { 0 };
    seg.n_samples = (ch->n_samples + spf - 1) / spf * spf; /* whole frames: the next starts on time */
    seg.group = j->seq;
    int r = TC_ERR_NOMEM;
    if (!(seg.pcm = calloc((size_t)seg.n_samples + 1, sizeof(float))) || !(sc = malloc(sizeof *sc))) goto fail;
    memcpy(seg.pcm, ch->pcm, (size_t)ch->n_samples * sizeof(float));
    r = ch->has_timing ? tc_lips_track(&p->lips, ch->phonemes, ch->n_phonemes, ch->pcm, ch->n_samples, &seg.mouth, &seg.n_mouth)
                       : tc_lips_estimate(&p->lips, ch->pcm, ch->n_samples, &seg.mouth, &seg.n_mouth);
    if (r < 0) goto fail;
    if (ch->text && (r = tc_cap_words(ch, &seg.cap_words, &seg.n_cap_words)) < 0) goto fail;
    if (seg.n_cap_words > 0) { /* the segment starts with the chunk: the same offsets */
        seg.cap_text = ch->text;
        ch->text = NULL;
    }
    *sc = (seg_ctx){ p, j, ch->last, ch->n_samples, seg.cap_text, seg.cap_words, seg.n_cap_words, ch->sentence };
    seg.on_start = seg_started;
    seg.on_done = seg_done;
    seg.opaque = sc;

    pthread_mutex_lock(&p->lock);
    if (j->stop != STOP_NONE || p->stopping) {
        pthread_mutex_unlock(&p->lock);
        r = TC_ERR_CLOSED;
        goto fail;
    }
    j->segs_enqueued++;
    j->sentences++;
    j->samples += ch->n_samples;
    pthread_mutex_unlock(&p->lock);
    if (p->cfg.hooks.segment) p->cfg.hooks.segment(p->cfg.opaque, &seg);
    if ((r = enqueue(p, &seg)) < 0) {
        pthread_mutex_lock(&p->lock);
        j->segs_enqueued--;
        pthread_mutex_unlock(&p->lock);
        goto fail;
    }
    return TC_OK;
fail:
    if (seg.frames.release) seg.frames.release(seg.frames.opaque);
    free(seg.pcm);
    free(seg.mouth);
    free(seg.cap_text);
    free(seg.cap_words);
    free(sc);
    return r;
}

/* A short silence after a message: the mouth settles and TRANSITIONING
 * has a length on the timeline. Its own group: a cut-in keeps it. */
static void enqueue_pause(tc_pipe *p)
{
    int spf = tc_clock_frame_samples(&p->clk, 0);
    int64_t frames = (int64_t)(p->cfg.tail_s * p->cfg.fps_num / p->cfg.fps_den + 0.5);
    if (frames <= 0) return;
    seg_ctx *sc = malloc(sizeof *sc);
    tc_segment seg = { 0 };
    seg.n_samples = frames * spf;
    seg.pcm = calloc((size_t)seg.n_samples, sizeof(float));
    if (!sc || !seg.pcm) {
        free(sc);
        free(seg.pcm);
        return; /* no pause then; nothing else depends on it */
    }
    *sc = (seg_ctx){ p, NULL, 0, 0, NULL, NULL, 0, 0 };
    seg.on_done = seg_done;
    seg.opaque = sc;
    pthread_mutex_lock(&p->lock);
    p->tails++;
    pthread_mutex_unlock(&p->lock);
    if (enqueue(p, &seg) < 0) {
        pthread_mutex_lock(&p->lock);
        p->tails--;
        pthread_mutex_unlock(&p->lock);
        free(seg.pcm);
        free(sc);
    }
}

static void speak(tc_pipe *p, tc_pipe_job *j)
{
    char voice[sizeof p->voice];
    pthread_mutex_lock(&p->lock);
    memcpy(voice, p->voice, sizeof voice);
    pthread_mutex_unlock(&p->lock);
    tc_tts_request req = { j->msg.text, j->msg.voice ? j->msg.voice : voice[0] ? voice : NULL, j->msg.rate,
                           j->msg.pitch };
    seg_ctx c = { p, j, 0, 0, NULL, NULL, 0, 0 };
    int r = tc_tts_speak(p->cfg.tts, &req, sink, &c);

    pthread_mutex_lock(&p->lock);
    p->synth = NULL;
    j->synth_done = 1;
    if (r < 0 && j->stop == STOP_NONE) {
        /* the provider (and its fallback) failed for good: this message
         * fails, the next goes on */
        j->stop = STOP_FAIL;
        const char *why = tc_tts_last_error(p->cfg.tts);
        snprintf(j->reason, sizeof j->reason, "speech synthesis failed: %s", why[0] ? why : tc_strerror(r));
        tc_engine_cancel(p->cfg.engine, j->seq, 0);
        tc_pipe_set_state(p, TC_PIPE_ERROR, j->reason);
    }
    int pause = r == TC_OK && j->stop == STOP_NONE && j->segs_enqueued > 0;
    maybe_complete(p, j);
    tc_pipe_update_state(p, "synthesized");
    pthread_mutex_unlock(&p->lock);
    if (pause) enqueue_pause(p);
}

static void *speech_thread(void *arg)
{
    tc_pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && (p->paused || p->draining || !p->queue || p->n_active > p->cfg.synth_ahead))
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping) break;
        tc_pipe_job *j = p->queue;
        p->queue = j->next;
        p->n_queue--;
        j->next = NULL;
        if (p->active_tail) p->active_tail->next = j;
        else p->active = j;
        p->active_tail = j;
        p->n_active++;
        p->synth = j;
        tc_pipe_update_state(p, "synthesizing");
        pthread_mutex_unlock(&p->lock);
        speak(p, j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

int tc_pipe_create(tc_pipe **out, const tc_pipe_config *cfg)
{
    *out = NULL;
    if (!cfg->tts || !cfg->engine || cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->sample_rate <= 0 ||
        cfg->synth_ahead < 0)
        return TC_ERR_INVAL;
    tc_pipe *p = calloc(1, sizeof *p);
    if (!p) return TC_ERR_NOMEM;
    p->cfg = *cfg;
    if (p->cfg.max_queue <= 0) p->cfg.max_queue = 1000;
    if (p->cfg.dedupe <= 0) p->cfg.dedupe = 4096;
    if (p->cfg.dedupe > DEDUPE_MAX) p->cfg.dedupe = DEDUPE_MAX;
    if (p->cfg.tail_s < 0) p->cfg.tail_s = 0;
    if (!(p->ids = calloc((size_t)p->cfg.dedupe, sizeof *p->ids))) {
        free(p);
        return TC_ERR_NOMEM;
    }
    if (cfg->captions_file && cfg->captions_file[0]) {
        int r = tc_cap_format_from_path(cfg->captions_file, &p->cues_fmt);
        if (r == TC_OK) r = tc_cap_cues_create(&p->cues, 42, 2);
        if (r < 0) {
            free(p->ids);
            free(p);
            return r;
        }
    }
    p->clk = (tc_clock){ cfg->fps_num, cfg->fps_den, cfg->sample_rate };
    p->lips = (tc_lips_config){ cfg->fps_num, cfg->fps_den, cfg->sample_rate, 0.03, 0.3 };
    p->next_seq = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->settled, NULL);
    pthread_cond_init(&p->cues_cond, NULL);
    *out = p;
    return TC_OK;
}

int tc_pipe_start(tc_pipe *p)
{
    if (p->started) return TC_ERR_INVAL;
    if (p->cues) {
        if (tc_log_thread_create(&p->cues_th, cues_thread, p) != 0) return TC_ERR_IO;
        p->cues_started = 1;
    }
    if (tc_log_thread_create(&p->th, speech_thread, p) != 0) return TC_ERR_IO;
    p->started = 1;
    return TC_OK;
}

void tc_pipe_destroy(tc_pipe *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    if (p->synth) tc_tts_cancel(p->cfg.tts);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (p->started) pthread_join(p->th, NULL);
    /* what is left was never said to the end: give it back */
    while (p->queue) {
        tc_pipe_job *j = p->queue;
        p->queue = j->next;
        tc_pipe_settle(p, j, TC_PIPE_REQUEUED, "shutting down");
    }
    while (p->active) {
        tc_pipe_job *j = p->active;
        p->active = j->next;
        tc_pipe_settle(p, j, j->speech_done ? TC_PIPE_SPOKEN : TC_PIPE_REQUEUED, "shutting down");
    }
    if (p->cues_started) { /* what was said is in the file before we go */
        pthread_mutex_lock(&p->lock);
        p->cues_quit = 1;
        pthread_cond_signal(&p->cues_cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->cues_th, NULL);
    }
    pthread_cond_destroy(&p->cues_cond);
    pthread_cond_destroy(&p->settled);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    tc_cap_cues_destroy(p->cues);
    free(p->ids);
    free(p);
}
