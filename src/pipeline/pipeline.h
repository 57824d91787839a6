/* pipeline.h — from parsed messages to speech on the stream.
 *
 *   submit ──> job queue ──> speech worker ──────────> engine segments
 *              (priority,     TTS sentence by           (one group per
 *               then order)   sentence + mouth track)    message)
 *
 * Every submitted message is settled exactly once through hooks.settle
 * (spoken, interrupted, cleared, failed, requeued, duplicate) — that is
 * where the caller acks, dead-letters or requeues it. Events (received,
 * started, finished, interrupted, cleared, failed, state, pong) go out as
 * JSON through hooks.event.
 *
 * Ordering: messages not yet started run by priority (9 first), then in
 * arrival order; a text message with "interrupt": true cuts in before all
 * of them. The worker synthesizes up to `synth_ahead` messages beyond the
 * one on air, so the next starts without a gap; a message synthesized ahead
 * but not started is still "queued" for clear and cut-ins (it goes back to
 * the queue and is synthesized again when its turn comes).
 *
 * Idempotency: the ids of the last `dedupe` messages spoken (or settled
 * otherwise for good) are remembered; a message with such an id is settled
 * as a duplicate without being spoken. A message whose id is queued or on
 * air already takes the place of the earlier copy (the caller's earlier
 * handle is settled as a duplicate; it belonged to a lost connection).
 *
 * States: IDLE → PROCESSING (synthesizing) → TALKING (first sample on air)
 * → TRANSITIONING (the mouth easing shut after a message) → IDLE, or on to
 * PROCESSING / TALKING when the next message is ready; PROCESSING → IDLE
 * when a message fails or is dropped before it is heard; any → ERROR →
 * IDLE. Other transitions are refused and logged.
 *
 * Threads: one "speech" thread owned here. Hooks run on the speech thread,
 * the engine thread or the caller's thread, and must not block. */
#ifndef TC_PIPELINE_H
#define TC_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "msg/msg.h"
#include "stream/engine.h"
#include "tts/tts.h"

typedef enum tc_pipe_state {
    TC_PIPE_IDLE = 0,
    TC_PIPE_PROCESSING,
    TC_PIPE_TALKING,
    TC_PIPE_TRANSITIONING,
    TC_PIPE_ERROR,
    TC_PIPE_STATE_COUNT
} tc_pipe_state;

const char *tc_pipe_state_name(tc_pipe_state s);
/* 1 when from → to is a legal transition. */
int tc_pipe_transition_legal(tc_pipe_state from, tc_pipe_state to);

typedef enum tc_pipe_outcome {
    TC_PIPE_SPOKEN = 0,     /* said to the end: ack */
    TC_PIPE_INTERRUPTED,    /* cut by interrupt: ack */
    TC_PIPE_CLEARED,        /* dropped by clear: ack */
    TC_PIPE_FAILED,         /* can never succeed: dead-letter with the reason */
    TC_PIPE_REQUEUED,       /* not done, give it back (shutdown): requeue */
    TC_PIPE_DUPLICATE,      /* already spoken or superseded: ack */
    TC_PIPE_DONE            /* a control message carried out: ack */
} tc_pipe_outcome;

const char *tc_pipe_outcome_name(tc_pipe_outcome o);

typedef struct tc_pipe_hooks {
    /* The message's fate; `handle` as given to submit. Exactly once. */
    void (*settle)(void *opaque, void *handle, tc_pipe_outcome o, const char *reason);
    /* An event: its name and the JSON to publish (valid during the call). */
    void (*event)(void *opaque, const char *name, const char *json);
    /* set_avatar: switch the face; TC_OK, or an error with a reason. */
    int (*set_avatar)(void *opaque, const char *avatar, char *reason, size_t reason_len);
    /* May be NULL. A speech segment about to be queued (speech thread): it
     * may hang a frame source on it (engine.h), e.g. a remote face. */
    void (*segment)(void *opaque, tc_segment *seg);
} tc_pipe_hooks;

typedef struct tc_pipe_config {
    tc_tts *tts;            /* borrowed: used by the speech thread only */
    tc_engine *engine;      /* borrowed */
    int fps_num, fps_den, sample_rate;
    const char *stream;     /* this stream's name, in every event */
    const char *const *voices; /* valid set_voice values (NULL = any) */
    int n_voices;
    int synth_ahead;        /* messages synthesized beyond the one on air (≥ 0; 1) */
    int max_queue;          /* messages waiting; more are failed (e.g. 1000) */
    double tail_s;          /* mouth easing shut after a message (0.2 s) */
    int dedupe;             /* message ids remembered (4096) */
    const char *captions_file; /* a rolling .vtt/.srt of what was said, or NULL/"" */
    tc_pipe_hooks hooks;
    void *opaque;
} tc_pipe_config;

/* Latency from receipt to the first sample on air, in a histogram. */
#define TC_PIPE_LAT_BUCKETS 12
extern const double tc_pipe_lat_bounds_ms[TC_PIPE_LAT_BUCKETS]; /* upper bounds; last = +inf */

typedef struct tc_pipe_stats {
    int64_t received, spoken, failed, interrupted, cleared, requeued, duplicates, controls;
    int queue_depth;        /* waiting, not yet on air */
    int paused;
    tc_pipe_state state;
    int64_t transitions, illegal_transitions;
    int64_t lat_count;
    double lat_sum_ms;
    int64_t lat_buckets[TC_PIPE_LAT_BUCKETS]; /* cumulative counts per upper bound */
} tc_pipe_stats;

typedef struct tc_pipe tc_pipe;

int tc_pipe_create(tc_pipe **out, const tc_pipe_config *cfg);
/* Start the speech thread. */
int tc_pipe_start(tc_pipe *p);

/* Take a valid message: its contents are moved out of *m (left empty).
 * Text is queued (or cuts in); control is carried out at once. */
void tc_pipe_submit(tc_pipe *p, tc_msg *m, void *handle, int64_t received_ns);

/* A message that could not be parsed: `failed` event, settled FAILED.
 * `id` may be NULL. */
void tc_pipe_reject(tc_pipe *p, const char *id, void *handle, const char *reason);

typedef enum tc_pipe_drain_mode {
    TC_PIPE_DRAIN_SENTENCE = 0, /* finish the sentence on air; the rest of it is requeued */
    TC_PIPE_DRAIN_MESSAGE,      /* finish the message on air */
    TC_PIPE_DRAIN_NOW           /* stop speaking at once; requeue */
} tc_pipe_drain_mode;

/* Shutdown: stop starting messages, give every message not on air back
 * (REQUEUED), let the one on air end as `mode` says. Waits up to
 * timeout_ms for it; TC_OK when nothing is left on air. */
int tc_pipe_drain(tc_pipe *p, tc_pipe_drain_mode mode, int timeout_ms);

/* Stop the speech thread; every message not settled yet is settled
 * REQUEUED. Call it after tc_engine_close (which reports every segment
 * back) and before tc_engine_destroy. Accepts NULL. */
void tc_pipe_destroy(tc_pipe *p);

void tc_pipe_get_stats(tc_pipe *p, tc_pipe_stats *st);

#endif
