/* engine.c — the tick loop (engine thread) and the encode/fan-out loop
 * (encoder thread). See engine.h for the timing and drop policy. */
#include "stream/engine.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/queue.h"
#include "stream/encoder.h"
#include "stream/idle.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CHANNELS 2
#define MAX_PICS_IN_FLIGHT 8   /* pictures waiting for the encoder before we drop */
#define SEGQ_CAP 256           /* queued speech segments */
#define CANCEL_CAP 64          /* groups cancelled between two ticks */
#define CATCHUP_FRAMES 2       /* this many frames behind: skip rendering */
#define CAPTION_MIN_HOLD_S 0.3 /* or this long, when the idle loop can start then (see engine_thread) */
#define CAPTION_HOLD_S 0.6     /* captions stay this long after the last segment ends (its own trailing
                                * silence and the pause after a message come first: ~1 s after the voice) */

static const tc_log_ctx log_ctx = { "engine", NULL };

typedef struct tick_item {
    int64_t n;
    AVFrame *pic;               /* a reference, or empty = repeat the last */
    AVPacket *replay;           /* a pre-encoded idle packet to send instead, or empty */
    int force_key;              /* the first live frame after a replay: an IDR */
    int nb;                     /* audio samples in this tick */
    float *audio[MAX_CHANNELS]; /* preallocated planes of max_samples */
    AVFrame *burn;              /* the picture with captions drawn in (caption_burn) */
    int n_cc;                   /* 608 caption triplets for this frame */
    uint8_t cc[3 * TC_CAP608_MAX_PAIRS];
} tick_item;

struct tc_engine {
    tc_engine_config cfg;
    tc_clock clk;
    int max_samples;            /* most samples any frame can have */

    tc_encoder *enc;
    tc_output **outs;
    int n_outs;

    pthread_mutex_t face_lock;  /* guards `face` against tc_engine_set_face */
    tc_face *face;

    pthread_mutex_t seg_lock;   /* guards segq, seg_head, seg_count */
    tc_segment segq[SEGQ_CAP];
    int seg_head, seg_count;
    atomic_int interrupt_req;
    uint64_t cancel_groups[CANCEL_CAP]; /* guarded by seg_lock */
    int cancel_keep[CANCEL_CAP];        /* keep the group's playing segment */
    int n_cancel;
    atomic_int cancel_req;

    /* Engine-thread state of the segment being played. */
    tc_segment cur;
    int has_cur;
    int64_t cur_pos;
    tc_segment_result cur_res;
    /* the frame source of this tick's segment and its frame index; owned
     * (released after the picture) when the segment ended in this tick */
    tc_frame_source tick_src;
    int64_t tick_idx;
    int tick_src_owned;
    int cur_word;               /* next caption word of `cur` */

    /* Caption track (engine thread; NULL when off). While it is busy the
     * stream stays on live encoding: replayed idle packets carry no
     * captions, and the erase must reach the viewers. */
    tc_cap608 *cap;
    tc_cap_burn *burn;
    int burn_failed;
    int64_t quiet, cap_min_hold; /* frames without speech; the least hold before an early erase */
    atomic_llong cap_words, cap_pairs, cap_clears;

    tick_item *items;
    int n_items;
    tc_queue *work, *free;
    atomic_int pics_in_flight;
    AVFrame *last_pic;          /* encoder thread only */

    pthread_t engine_th, encoder_th;
    int engine_started, encoder_started;
    atomic_int stop;

    pthread_mutex_t done_lock;  /* guards `finished` */
    pthread_cond_t done_cond;
    int finished;

    /* Pre-encoded idle (idle.h): the idle thread builds a loop for the
     * face generation asked for; the engine thread takes it over and plays
     * it while nothing is said. */
    tc_encoder_config enc_cfg;
    atomic_ullong face_gen;     /* +1 per tc_engine_set_face */
    pthread_t idle_th;
    int idle_started;
    pthread_mutex_t idle_lock;  /* guards idle_want, idle_ready */
    pthread_cond_t idle_cond;
    uint64_t idle_want;
    tc_idle_loop *idle_ready;
    atomic_int idle_quit;
    atomic_llong idle_bytes;
    atomic_int key_wanted;      /* an output (re)connected: leave the loop for a fresh IDR */
    /* engine thread */
    tc_idle_loop *loop;
    int replaying, var, prev_idle;
    int64_t var_start, face_delta;
    uint32_t rng;

    /* encoder thread: replayed frames in a row; x264 is closed after
     * suspend_after of them (and opened again by the next live frame) */
    int64_t replay_run, suspend_after;
    atomic_llong x264_suspends;

    atomic_llong frames, late, dropped, samples, speech_samples, seg_done, seg_interrupted, replayed;
    atomic_llong last_tick_ns;  /* tc_now_ns() when the last tick completed; 0 before */
    atomic_int queued_segments;
};

/* ---- segments (engine thread) ---------------------------------------- */

static void segment_free(tc_segment *s)
{
    if (s->frames.release) s->frames.release(s->frames.opaque);
    free(s->pcm);
    free(s->mouth);
    free(s->cap_text);
    free(s->cap_words);
    memset(s, 0, sizeof *s);
}

static void segment_finish(tc_engine *e, tc_segment *s, tc_segment_result *r, int interrupted)
{
    r->interrupted = interrupted;
    atomic_fetch_add(interrupted ? &e->seg_interrupted : &e->seg_done, 1);
    if (s->on_done) s->on_done(s->opaque, r);
    segment_free(s);
}

static int pop_segment(tc_engine *e, tc_segment *out)
{
    pthread_mutex_lock(&e->seg_lock);
    int ok = e->seg_count > 0;
    if (ok) {
        *out = e->segq[e->seg_head];
        e->seg_head = (e->seg_head + 1) % SEGQ_CAP;
        e->seg_count--;
        atomic_store(&e->queued_segments, e->seg_count);
    }
    pthread_mutex_unlock(&e->seg_lock);
    return ok;
}

static void drop_all_segments(tc_engine *e, int64_t n)
{
    if (e->has_cur) {
        e->cur_res.end_frame = n;
        segment_finish(e, &e->cur, &e->cur_res, 1);
        e->has_cur = 0;
    }
    tc_segment s;
    while (pop_segment(e, &s)) {
        tc_segment_result r = { -1, -1, -1, 0, 1 };
        segment_finish(e, &s, &r, 1);
    }
}

/* Carry out tc_engine_cancel requests made since the last tick. */
static void cancel_groups(tc_engine *e, int64_t n)
{
    uint64_t groups[CANCEL_CAP];
    int keep[CANCEL_CAP];
    tc_segment dropped[SEGQ_CAP];
    int ng, nd = 0;
    pthread_mutex_lock(&e->seg_lock);
    ng = e->n_cancel;
    memcpy(groups, e->cancel_groups, (size_t)ng * sizeof *groups);
    memcpy(keep, e->cancel_keep, (size_t)ng * sizeof *keep);
    e->n_cancel = 0;
    /* compact the ring, keeping the order of what stays */
    int kept = 0;
    for (int i = 0; i < e->seg_count; i++) {
        tc_segment *s = &e->segq[(e->seg_head + i) % SEGQ_CAP];
        int hit = 0;
        for (int g = 0; g < ng && !hit; g++) hit = s->group == groups[g];
        if (hit) dropped[nd++] = *s;
        else e->segq[(e->seg_head + kept++) % SEGQ_CAP] = *s;
    }
    e->seg_count = kept;
    atomic_store(&e->queued_segments, kept);
    pthread_mutex_unlock(&e->seg_lock);

    if (e->has_cur) {
        int hit = 0;
        for (int g = 0; g < ng && !hit; g++) hit = e->cur.group == groups[g] && !keep[g];
        if (hit) {
            e->cur_res.end_frame = n;
            segment_finish(e, &e->cur, &e->cur_res, 1);
            e->has_cur = 0;
            if (e->cap) tc_cap608_clear(e->cap, 1);
            if (e->burn) tc_cap_burn_clear(e->burn);
        }
    }
    for (int i = 0; i < nd; i++) {
        tc_segment_result r = { -1, -1, -1, 0, 1 };
        segment_finish(e, &dropped[i], &r, 1);
    }
}

/* Fill the tick's audio from segments and return the mouth for frame n. */
static void mix_tick(tc_engine *e, tick_item *it, int64_t n, tc_mouth *mouth)
{
    int nb = it->nb, pos = 0;
    memset(mouth, 0, sizeof *mouth);
    if (!e->has_cur && pop_segment(e, &e->cur)) {
        e->has_cur = 1;
        e->cur_pos = 0;
        e->cur_word = 0;
        e->cur_res = (tc_segment_result){ n, n, tc_clock_frame_start(&e->clk, n), 0, 0 };
        if (e->cur.on_start) e->cur.on_start(e->cur.opaque, &e->cur_res);
    }
    if (e->has_cur) {
        int64_t idx = n - e->cur_res.start_frame;
        e->tick_src = e->cur.frames;
        e->tick_idx = idx;
        if (e->cur.mouth && idx >= 0 && idx < e->cur.n_mouth) *mouth = e->cur.mouth[idx];
        /* words whose first sample is at or before this frame's: never
         * ahead of the speech */
        while ((e->cap || e->burn) && e->cur_word < e->cur.n_cap_words &&
               e->cur.cap_words[e->cur_word].start <= e->cur_pos) {
            const tc_cap_word *w = &e->cur.cap_words[e->cur_word++];
            if (e->cap) tc_cap608_word(e->cap, e->cur.cap_text + w->pos, w->len);
            if (e->burn) tc_cap_burn_word(e->burn, e->cur.cap_text + w->pos, w->len);
        }
        int64_t left = e->cur.n_samples - e->cur_pos;
        int take = left < nb ? (int)left : nb;
        memcpy(it->audio[0], e->cur.pcm + e->cur_pos, (size_t)take * sizeof(float));
        e->cur_pos += take;
        pos = take;
        atomic_fetch_add(&e->speech_samples, take);
        if (e->cur_pos >= e->cur.n_samples) {
            /* The next segment starts on the next frame boundary. */
            e->cur_res.end_frame = n + 1;
            e->cur_res.samples_played = e->cur_pos;
            /* its last picture is still to come: release the source after it */
            e->tick_src_owned = e->cur.frames.release != NULL;
            e->cur.frames.release = NULL;
            segment_finish(e, &e->cur, &e->cur_res, 0);
            e->has_cur = 0;
        } else {
            e->cur_res.samples_played = e->cur_pos;
        }
    }
    if (pos < nb) memset(it->audio[0] + pos, 0, (size_t)(nb - pos) * sizeof(float));
    for (int c = 1; c < e->cfg.channels; c++)
        memcpy(it->audio[c], it->audio[0], (size_t)nb * sizeof(float));
}

/* ---- pre-encoded idle ---------------------------------------------------- */

typedef struct idle_src {
    tc_engine *e;
    uint64_t gen;
} idle_src;

static double idle_blink(void *opaque, int64_t n)
{
    idle_src *s = opaque;
    pthread_mutex_lock(&s->e->face_lock);
    double b = tc_face_blink_at(s->e->face, n);
    pthread_mutex_unlock(&s->e->face_lock);
    return b;
}

static int idle_render(void *opaque, int64_t n, AVFrame *pic)
{
    idle_src *s = opaque;
    static const tc_mouth closed = { 0 };
    int changed, r = TC_ERR_CLOSED;
    pthread_mutex_lock(&s->e->face_lock);
    if (!atomic_load(&s->e->idle_quit) && atomic_load(&s->e->face_gen) == s->gen)
        r = tc_face_render(s->e->face, n, &closed, pic, &changed);
    pthread_mutex_unlock(&s->e->face_lock);
    return r;
}

/* Builds a loop for every face generation asked for, one at a time. */
static void *idle_thread(void *arg)
{
    tc_engine *e = arg;
    uint64_t built = UINT64_MAX;
    pthread_mutex_lock(&e->idle_lock);
    while (!atomic_load(&e->idle_quit)) {
        if (e->idle_want == built) {
            pthread_cond_wait(&e->idle_cond, &e->idle_lock);
            continue;
        }
        idle_src s = { e, e->idle_want };
        pthread_mutex_unlock(&e->idle_lock);
        pthread_mutex_lock(&e->face_lock);
        tc_idle_source src = { tc_face_idle_period(e->face), idle_blink, idle_render, &s };
        pthread_mutex_unlock(&e->face_lock);
        int64_t t0 = tc_now_ns();
        tc_idle_loop *l = NULL;
        int r = tc_idle_build(&l, &src, &e->enc_cfg, tc_encoder_video_ctx(e->enc));
        malloc_trim(0); /* the second encoder's buffers go back to the system, not only to malloc */
        if (r == TC_OK)
            tc_log(&log_ctx, TC_LOG_DEBUG, "idle loop ready: %d variants of %d frames, %lld KiB, built in %.0f ms",
                   l->n_variants, l->length, (long long)(l->bytes >> 10), (double)(tc_now_ns() - t0) / 1e6);
        else if (r != TC_ERR_CLOSED)
            tc_log(&log_ctx, TC_LOG_INFO, "idle frames are rendered live (%s)",
                   r == TC_ERR_UNSUPPORTED ? "this avatar's idle picture does not repeat" : tc_strerror(r));
        pthread_mutex_lock(&e->idle_lock);
        built = s.gen;
        if (l && s.gen == e->idle_want && !atomic_load(&e->idle_quit)) {
            l->gen = s.gen;
            tc_idle_free(e->idle_ready);
            e->idle_ready = l;
            atomic_store(&e->idle_bytes, l->bytes);
        } else {
            tc_idle_free(l);
        }
    }
    pthread_mutex_unlock(&e->idle_lock);
    return NULL;
}

/* Engine thread, each tick: take a newly built loop; drop one that belongs
 * to a face no longer on air. */
static void idle_update(tc_engine *e, tick_item *it)
{
    if (!e->idle_started) return;
    if (!e->replaying && pthread_mutex_trylock(&e->idle_lock) == 0) {
        if (e->idle_ready) {
            tc_idle_free(e->loop);
            e->loop = e->idle_ready;
            e->idle_ready = NULL;
        }
        pthread_mutex_unlock(&e->idle_lock);
    }
    if (e->loop && e->loop->gen != atomic_load(&e->face_gen)) {
        if (e->replaying) it->force_key = 1;
        e->replaying = 0;
        e->face_delta = 0;
        tc_idle_free(e->loop);
        e->loop = NULL;
    }
}

static int next_variant(tc_engine *e)
{
    e->rng = e->rng * 1664525u + 1013904223u;
    return (int)((e->rng >> 16) % (uint32_t)e->loop->n_variants);
}

/* Engine thread: decide whether tick n replays the loop. `idle`: nothing
 * was said and the mouth is shut at n. Returns 1 when it->replay is set;
 * sets it->force_key when live encoding resumes at n. */
static int idle_replay_tick(tc_engine *e, tick_item *it, int64_t n, int idle)
{
    tc_idle_loop *l = e->loop;
    /* speech, or a viewer waiting for a keyframe (the loop's next one may
     * be two seconds away): live encoding, at once */
    if (e->replaying && (!idle || atomic_exchange(&e->key_wanted, 0))) {
        /* live again, from the face frame the variant had reached */
        e->face_delta = l->offset[e->var] + (n - e->var_start) - n;
        e->replaying = 0;
        it->force_key = 1;
        return 0;
    }
    if (!e->replaying) {
        int64_t fn = n + e->face_delta;
        if (!l || !idle || !e->prev_idle || fn % l->period) return 0;
        pthread_mutex_lock(&e->face_lock);
        int open = tc_face_blink_at(e->face, fn - 1) == 0;
        pthread_mutex_unlock(&e->face_lock);
        if (!open) return 0;
        e->replaying = 1;
        atomic_store(&e->key_wanted, 0);
        e->var = next_variant(e);
        e->var_start = n;
    } else if (n - e->var_start >= l->length) {
        e->var = next_variant(e);
        e->var_start = n;
    }
    if (av_packet_ref(it->replay, l->pkt[e->var][n - e->var_start]) < 0) {
        e->replaying = 0; /* out of memory: render this one */
        it->force_key = 1;
        return 0;
    }
    atomic_fetch_add(&e->replayed, 1);
    return 1;
}

/* ---- engine thread ----------------------------------------------------- */

/* Draw the captions into a copy of the rendered picture (the face's frames
 * are shared) and send the copy instead. Its buffer is reused unless the
 * encoder still holds it. */
static void burn_in(tc_engine *e, tick_item *it)
{
    int r = av_frame_make_writable(it->burn);
    if (r >= 0) r = av_frame_copy(it->burn, it->pic);
    if (r >= 0 && tc_cap_burn_draw(e->burn, it->burn) == 1) {
        av_frame_unref(it->pic);
        r = av_frame_ref(it->pic, it->burn);
    }
    if (r < 0 && !e->burn_failed++)
        tc_log(&log_ctx, TC_LOG_WARN, "burned-in captions skipped: %s", tc_strerror(tc_err_from_av(r)));
}

static void mark_finished(tc_engine *e)
{
    pthread_mutex_lock(&e->done_lock);
    e->finished = 1;
    pthread_cond_broadcast(&e->done_cond);
    pthread_mutex_unlock(&e->done_lock);
}

static void *engine_thread(void *arg)
{
    tc_engine *e = arg;
    const int64_t frame_ns = tc_clock_frame_ns(&e->clk, 1);
    int64_t t0 = tc_now_ns();

    for (int64_t n = 0; !atomic_load(&e->stop); n++) {
        if (e->cfg.max_frames > 0 && n >= e->cfg.max_frames) break;

        int skip_render = 0;
        if (e->cfg.live) {
            int64_t deadline = t0 + tc_clock_frame_ns(&e->clk, n);
            int64_t now = tc_now_ns();
            if (now < deadline) {
                tc_sleep_until_ns(deadline);
            } else if (now - deadline > frame_ns / 2) {
                atomic_fetch_add(&e->late, 1);
                skip_render = now - deadline > CATCHUP_FRAMES * frame_ns;
            }
        }
        if (atomic_exchange(&e->interrupt_req, 0)) {
            drop_all_segments(e, n);
            if (e->cap) tc_cap608_clear(e->cap, 1); /* off the screen at once */
            if (e->burn) tc_cap_burn_clear(e->burn);
        }
        if (atomic_exchange(&e->cancel_req, 0)) cancel_groups(e, n);

        void *slot;
        if (tc_queue_get(e->free, &slot, -1) != TC_OK) break;
        tick_item *it = slot;
        it->n = n;
        it->nb = tc_clock_frame_samples(&e->clk, n);
        it->force_key = 0;
        idle_update(e, it);
        tc_mouth mouth;
        static const tc_mouth shut = { 0 };
        int64_t said = atomic_load(&e->speech_samples);
        e->tick_src.picture = NULL;
        mix_tick(e, it, n, &mouth);
        int spoke = atomic_load(&e->speech_samples) != said;
        e->quiet = spoke ? 0 : e->quiet + 1;
        /* Captions up after speech hold the stream on live encoding; rather
         * than miss the idle loop's next entry point (up to a loop period,
         * a breath, later), erase them in time for it once they have been
         * up CAPTION_MIN_HOLD_S after the speech. */
        if ((e->cap || e->burn) && e->loop && !e->replaying && !e->has_cur && e->quiet >= e->cap_min_hold &&
            (n + 2 + e->face_delta) % e->loop->period == 0) {
            if (e->cap) tc_cap608_clear(e->cap, 0);
            if (e->burn) tc_cap_burn_clear(e->burn);
        }
        it->n_cc = 0;
        if (e->cap) {
            tc_cap608_stats cs;
            it->n_cc = tc_cap608_tick(e->cap, n, spoke, it->cc);
            tc_cap608_get_stats(e->cap, &cs);
            atomic_store(&e->cap_words, cs.words);
            atomic_store(&e->cap_pairs, cs.pairs);
            atomic_store(&e->cap_clears, cs.clears);
        }
        int burning = e->burn && tc_cap_burn_tick(e->burn, spoke);
        int idle = !e->has_cur && !spoke && !memcmp(&mouth, &shut, sizeof mouth) && !(e->cap && tc_cap608_busy(e->cap)) &&
                   !burning;

        if (idle_replay_tick(e, it, n, idle)) {
            /* the pre-encoded packet stands for this frame */
        } else if (!it->force_key && n > 0 && e->cfg.live &&
                   (skip_render || atomic_load(&e->pics_in_flight) >= MAX_PICS_IN_FLIGHT)) {
            atomic_fetch_add(&e->dropped, 1);
        } else {
            int changed = 0;
            pthread_mutex_lock(&e->face_lock);
            int r = e->tick_src.picture
                        ? e->tick_src.picture(e->tick_src.opaque, e->tick_idx, e->face, n + e->face_delta, &mouth,
                                              it->pic, &changed)
                        : tc_face_render(e->face, n + e->face_delta, &mouth, it->pic, &changed);
            pthread_mutex_unlock(&e->face_lock);
            if (r < 0) {
                /* Keep the timeline: the encoder repeats the last picture. */
                av_frame_unref(it->pic);
                atomic_fetch_add(&e->dropped, 1);
                if (n == 0) {
                    tc_log(&log_ctx, TC_LOG_ERROR, "first frame could not be rendered: %s", tc_strerror(r));
                    tc_queue_try_put(e->free, it);
                    break;
                }
            } else {
                if (burning) burn_in(e, it);
                atomic_fetch_add(&e->pics_in_flight, 1);
            }
        }
        if (e->tick_src_owned) {
            e->tick_src.release(e->tick_src.opaque);
            e->tick_src_owned = 0;
        }
        e->prev_idle = idle;
        if (tc_queue_put(e->work, it, -1) != TC_OK) break;
        atomic_fetch_add(&e->frames, 1);
        atomic_store(&e->last_tick_ns, (long long)tc_now_ns());
        atomic_fetch_add(&e->samples, it->nb);
    }
    if (e->tick_src_owned) e->tick_src.release(e->tick_src.opaque);
    e->tick_src_owned = 0;
    drop_all_segments(e, atomic_load(&e->frames));
    tc_queue_close(e->work);
    return NULL;
}

/* ---- encoder thread ---------------------------------------------------- */

static void fan_out(void *opaque, int stream, const AVPacket *pkt)
{
    tc_engine *e = opaque;
    for (int i = 0; i < e->n_outs; i++) tc_output_send(e->outs[i], stream, pkt);
}

static void want_key(void *opaque)
{
    tc_engine *e = opaque;
    tc_encoder_request_keyframe(e->enc);
    atomic_store(&e->key_wanted, 1);
}

/* A long idle stretch on the loop: x264's buffers (about 20 MB at 720p)
 * go back to the system until speech needs it again. */
static void suspend_x264(tc_engine *e)
{
    if (tc_encoder_suspend_video(e->enc) < 0) return; /* the next live frame reports it */
    malloc_trim(0);
    atomic_fetch_add(&e->x264_suspends, 1);
    tc_log(&log_ctx, TC_LOG_DEBUG, "x264 closed after %lld replayed frames", (long long)e->replay_run);
}

static void *encoder_thread(void *arg)
{
    tc_engine *e = arg;
    void *slot;
    int failed = 0;
    while (tc_queue_get(e->work, &slot, -1) == TC_OK) {
        tick_item *it = slot;
        if (!failed) {
            if (it->pic->buf[0]) {
                av_frame_unref(e->last_pic);
                av_frame_move_ref(e->last_pic, it->pic);
                atomic_fetch_sub(&e->pics_in_flight, 1);
            }
            int r = TC_OK;
            if (it->replay->data) {
                it->replay->pts = it->replay->dts = it->n;
                fan_out(e, 0, it->replay);
                if (++e->replay_run == e->suspend_after) suspend_x264(e);
            } else {
                e->replay_run = 0;
                if (it->force_key) tc_encoder_request_keyframe(e->enc); /* after replayed packets */
                int64_t t0 = tc_encoder_video_suspended(e->enc) ? tc_now_ns() : 0;
                /* captions ride on the frame as A/53 side data (x264 writes
                 * an SEI); the picture may be repeated, so they come off again */
                AVFrameSideData *sd = NULL;
                if (it->n_cc && e->last_pic->buf[0] &&
                    (sd = av_frame_new_side_data(e->last_pic, AV_FRAME_DATA_A53_CC, (size_t)it->n_cc * 3)))
                    memcpy(sd->data, it->cc, (size_t)it->n_cc * 3);
                else if (it->n_cc)
                    tc_log(&log_ctx, TC_LOG_WARN, "captions of frame %lld lost: out of memory", (long long)it->n);
                r = tc_encoder_video(e->enc, e->last_pic, it->n);
                if (sd) av_frame_remove_side_data(e->last_pic, AV_FRAME_DATA_A53_CC);
                if (t0 && r >= 0)
                    tc_log(&log_ctx, TC_LOG_DEBUG, "x264 opened again for frame %lld in %.1f ms", (long long)it->n,
                           (double)(tc_now_ns() - t0) / 1e6);
            }
            if (r >= 0) r = tc_encoder_audio(e->enc, (const float *const *)it->audio, it->nb);
            if (r < 0) {
                tc_log(&log_ctx, TC_LOG_ERROR, "encoding failed at frame %lld: %s; stopping",
                       (long long)it->n, tc_strerror(r));
                failed = 1;
                tc_engine_stop(e);
            }
        } else if (it->pic->buf[0]) {
            av_frame_unref(it->pic);
            atomic_fetch_sub(&e->pics_in_flight, 1);
        }
        av_packet_unref(it->replay);
        tc_queue_try_put(e->free, it);
    }
    if (!failed) tc_encoder_flush(e->enc);
    av_frame_unref(e->last_pic);
    mark_finished(e);
    return NULL;
}

/* ---- public API -------------------------------------------------------- */

int tc_engine_create(tc_engine **out, const tc_engine_config *cfg, tc_face *face,
                     char *err, int errlen)
{
    *out = NULL;
    if (cfg->channels < 1 || cfg->channels > MAX_CHANNELS || cfg->n_outputs < 1 ||
        cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->sample_rate <= 0 || !face) {
        snprintf(err, (size_t)errlen, "invalid engine configuration (channels, fps, outputs or face)");
        return TC_ERR_INVAL;
    }
    tc_engine *e = calloc(1, sizeof *e);
    if (!e) return TC_ERR_NOMEM;
    int r = TC_ERR_NOMEM;
    e->cfg = *cfg;
    e->cfg.outputs = NULL;
    e->face = face;
    e->clk = (tc_clock){ cfg->fps_num, cfg->fps_den, cfg->sample_rate };
    e->max_samples = tc_clock_frame_samples(&e->clk, 0) + 1;
    pthread_mutex_init(&e->face_lock, NULL);
    pthread_mutex_init(&e->seg_lock, NULL);
    pthread_mutex_init(&e->done_lock, NULL);
    pthread_cond_init(&e->done_cond, NULL);
    pthread_mutex_init(&e->idle_lock, NULL);
    pthread_cond_init(&e->idle_cond, NULL);
    e->rng = 0x9e3779b9u;
    e->suspend_after = cfg->idle_close > 0 ? (int64_t)(cfg->idle_close * cfg->fps_num / cfg->fps_den + 0.5) : -1;
    if (e->suspend_after == 0) e->suspend_after = 1;

    tc_encoder_config ec = {
        cfg->width, cfg->height, cfg->pix_fmt, cfg->fps_num, cfg->fps_den,
        cfg->sample_rate, cfg->channels, cfg->x264_preset, cfg->x264_tune,
        cfg->video_bitrate, cfg->video_maxrate, cfg->video_bufsize, cfg->audio_bitrate,
        cfg->keyint, cfg->encoder_threads, cfg->x264_params,
    };
    e->enc_cfg = ec;
    if (cfg->captions &&
        (r = tc_cap608_create(&e->cap, cfg->caption_rows ? cfg->caption_rows : 2, cfg->fps_num, cfg->fps_den,
                              (int)(CAPTION_HOLD_S * cfg->fps_num / cfg->fps_den + 0.5))) < 0) {
        snprintf(err, (size_t)errlen, "cannot set up captions: %s (rows must be 2 or 3)", tc_strerror(r));
        goto fail;
    }
    e->cap_min_hold = (int64_t)(CAPTION_MIN_HOLD_S * cfg->fps_num / cfg->fps_den + 0.5);
    if (cfg->caption_burn &&
        (r = tc_cap_burn_create(&e->burn, cfg->width, cfg->height, cfg->pix_fmt, cfg->caption_rows ? cfg->caption_rows : 2,
                                (int)(CAPTION_HOLD_S * cfg->fps_num / cfg->fps_den + 0.5))) < 0) {
        snprintf(err, (size_t)errlen, "cannot burn in captions: %s (pixel formats: yuv420p, yuvj420p, yuv422p, "
                 "yuv444p, nv12; at least 64x64)", tc_strerror(r));
        goto fail;
    }
    if ((r = tc_encoder_create(&e->enc, &ec, fan_out, e)) < 0) {
        snprintf(err, (size_t)errlen, "cannot open the encoders: %s (see log)", tc_strerror(r));
        goto fail;
    }
    r = TC_ERR_NOMEM;
    if (!(e->last_pic = av_frame_alloc())) goto fail;

    /* Live: two seconds of ticks in flight before the engine waits for the
     * encoder (pictures beyond MAX_PICS_IN_FLIGHT are dropped meanwhile).
     * Offline: the engine simply waits, so no picture is ever dropped. */
    e->n_items = cfg->live ? 2 * (cfg->fps_num + cfg->fps_den - 1) / cfg->fps_den + MAX_PICS_IN_FLIGHT
                           : MAX_PICS_IN_FLIGHT;
    if (!(e->items = calloc((size_t)e->n_items, sizeof *e->items))) goto fail;
    if (tc_queue_create(&e->work, (size_t)e->n_items) < 0 ||
        tc_queue_create(&e->free, (size_t)e->n_items) < 0)
        goto fail;
    for (int i = 0; i < e->n_items; i++) {
        tick_item *it = &e->items[i];
        if (!(it->pic = av_frame_alloc()) || !(it->replay = av_packet_alloc())) goto fail;
        if (cfg->caption_burn) {
            if (!(it->burn = av_frame_alloc())) goto fail;
            it->burn->width = cfg->width;
            it->burn->height = cfg->height;
            it->burn->format = cfg->pix_fmt;
            if (av_frame_get_buffer(it->burn, 0) < 0) goto fail;
        }
        for (int c = 0; c < cfg->channels; c++)
            if (!(it->audio[c] = calloc((size_t)e->max_samples, sizeof(float)))) goto fail;
        tc_queue_try_put(e->free, it);
    }

    if (!(e->outs = calloc((size_t)cfg->n_outputs, sizeof *e->outs))) goto fail;
    for (; e->n_outs < cfg->n_outputs; e->n_outs++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", e->n_outs);
        tc_output_config oc = { cfg->outputs[e->n_outs], name, cfg->out_queue,
                                cfg->reconnect_min, cfg->reconnect_max, 0 };
        r = tc_output_create(&e->outs[e->n_outs], &oc, tc_encoder_video_ctx(e->enc),
                             tc_encoder_audio_ctx(e->enc), want_key, e, err, errlen);
        if (r < 0) goto fail;
    }

    *out = e;
    return TC_OK;
fail:
    tc_engine_destroy(e, 1);
    return r;
}

int tc_engine_start(tc_engine *e)
{
    if (e->encoder_started || e->engine_started) return TC_ERR_INVAL;
    if (tc_log_thread_create(&e->encoder_th, encoder_thread, e) != 0) return TC_ERR_IO;
    e->encoder_started = 1;
    if (tc_log_thread_create(&e->engine_th, engine_thread, e) != 0) {
        tc_queue_close(e->work); /* lets the encoder thread finish */
        return TC_ERR_IO;
    }
    e->engine_started = 1;
    /* without it, idle frames are simply rendered and encoded live */
    if (e->cfg.idle_replay && tc_log_thread_create(&e->idle_th, idle_thread, e) == 0) e->idle_started = 1;
    return TC_OK;
}

int tc_engine_enqueue(tc_engine *e, tc_segment *seg)
{
    if (!seg || (seg->n_samples > 0 && !seg->pcm) || seg->n_samples < 0) return TC_ERR_INVAL;
    pthread_mutex_lock(&e->seg_lock);
    int r = TC_ERR_AGAIN;
    if (e->seg_count < SEGQ_CAP) {
        e->segq[(e->seg_head + e->seg_count) % SEGQ_CAP] = *seg;
        e->seg_count++;
        atomic_store(&e->queued_segments, e->seg_count);
        r = TC_OK;
    }
    pthread_mutex_unlock(&e->seg_lock);
    return r;
}

void tc_engine_interrupt(tc_engine *e) { atomic_store(&e->interrupt_req, 1); }

void tc_engine_cancel(tc_engine *e, uint64_t group, int keep_current)
{
    pthread_mutex_lock(&e->seg_lock);
    int i = 0;
    while (i < e->n_cancel && e->cancel_groups[i] != group) i++;
    if (i < e->n_cancel) {
        e->cancel_keep[i] = e->cancel_keep[i] && keep_current; /* the stronger request wins */
    } else if (e->n_cancel < CANCEL_CAP) {
        e->cancel_groups[i] = group;
        e->cancel_keep[i] = keep_current;
        e->n_cancel++;
    }
    /* a full list is not expected (64 cancels within one frame); the
     * request is then retried by the caller's next cancel */
    pthread_mutex_unlock(&e->seg_lock);
    atomic_store(&e->cancel_req, 1);
}

int64_t tc_engine_position(tc_engine *e) { return atomic_load(&e->frames); }

tc_face *tc_engine_set_face(tc_engine *e, tc_face *face)
{
    pthread_mutex_lock(&e->face_lock);
    tc_face *old = e->face;
    e->face = face;
    uint64_t gen = atomic_fetch_add(&e->face_gen, 1) + 1;
    pthread_mutex_unlock(&e->face_lock);
    /* the loop of the old face is dropped at the next tick; build anew */
    pthread_mutex_lock(&e->idle_lock);
    e->idle_want = gen;
    pthread_cond_signal(&e->idle_cond);
    pthread_mutex_unlock(&e->idle_lock);
    return old;
}

int tc_engine_wait(tc_engine *e, int timeout_ms)
{
    pthread_mutex_lock(&e->done_lock);
    if (timeout_ms < 0) {
        while (!e->finished) pthread_cond_wait(&e->done_cond, &e->done_lock);
    } else if (!e->finished) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&e->done_cond, &e->done_lock, &ts);
    }
    int done = e->finished;
    pthread_mutex_unlock(&e->done_lock);
    return done ? TC_OK : TC_ERR_TIMEOUT;
}

void tc_engine_stop(tc_engine *e) { atomic_store(&e->stop, 1); }

void tc_engine_close(tc_engine *e, int abort)
{
    tc_engine_stop(e);
    if (e->engine_started) pthread_join(e->engine_th, NULL);
    else if (e->work) tc_queue_close(e->work);
    if (!e->engine_started && !e->encoder_started) mark_finished(e);
    e->engine_started = 0;
    if (e->idle_started) {
        pthread_mutex_lock(&e->idle_lock);
        atomic_store(&e->idle_quit, 1);
        pthread_cond_signal(&e->idle_cond);
        pthread_mutex_unlock(&e->idle_lock);
        pthread_join(e->idle_th, NULL);
        e->idle_started = 0;
    }
    if (e->encoder_started) pthread_join(e->encoder_th, NULL);
    e->encoder_started = 0;
    for (int i = 0; i < e->n_outs; i++) tc_output_close(e->outs[i], abort);
}

void tc_engine_destroy(tc_engine *e, int abort)
{
    if (!e) return;
    tc_engine_close(e, abort);
    for (int i = 0; i < e->n_outs; i++) tc_output_destroy(e->outs[i], abort);
    free(e->outs);
    tc_encoder_destroy(e->enc);
    tc_cap608_destroy(e->cap);
    tc_cap_burn_destroy(e->burn);
    if (e->has_cur) segment_free(&e->cur);
    tc_segment s;
    while (pop_segment(e, &s)) segment_free(&s);
    for (int i = 0; e->items && i < e->n_items; i++) {
        av_frame_free(&e->items[i].pic);
        av_frame_free(&e->items[i].burn);
        av_packet_free(&e->items[i].replay);
        for (int c = 0; c < MAX_CHANNELS; c++) free(e->items[i].audio[c]);
    }
    free(e->items);
    av_frame_free(&e->last_pic);
    tc_queue_destroy(e->work);
    tc_queue_destroy(e->free);
    tc_idle_free(e->loop);
    tc_idle_free(e->idle_ready);
    pthread_cond_destroy(&e->idle_cond);
    pthread_mutex_destroy(&e->idle_lock);
    pthread_cond_destroy(&e->done_cond);
    pthread_mutex_destroy(&e->done_lock);
    pthread_mutex_destroy(&e->seg_lock);
    pthread_mutex_destroy(&e->face_lock);
    free(e);
}

void tc_engine_get_stats(tc_engine *e, tc_engine_stats *st)
{
    st->frames = atomic_load(&e->frames);
    st->last_tick_ns = atomic_load(&e->last_tick_ns);
    st->replayed = atomic_load(&e->replayed);
    st->encoder_suspends = atomic_load(&e->x264_suspends);
    st->idle_loop_bytes = atomic_load(&e->idle_bytes);
    st->late = atomic_load(&e->late);
    st->dropped = atomic_load(&e->dropped);
    st->samples = atomic_load(&e->samples);
    st->speech_samples = atomic_load(&e->speech_samples);
    st->segments_done = atomic_load(&e->seg_done);
    st->segments_interrupted = atomic_load(&e->seg_interrupted);
    st->queued_segments = atomic_load(&e->queued_segments);
    st->caption_words = atomic_load(&e->cap_words);
    st->caption_pairs = atomic_load(&e->cap_pairs);
    st->caption_clears = atomic_load(&e->cap_clears);
}

int tc_engine_output_count(const tc_engine *e) { return e->n_outs; }

void tc_engine_output_stats(tc_engine *e, int i, tc_output_stats *st)
{
    tc_output_get_stats(e->outs[i], st);
}
