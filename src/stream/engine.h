/* engine.h — the stream engine: owns the timeline and never lets it break.
 *
 * Each tick n it takes frame_samples(n) samples of audio from the current
 * speech segment (or silence), evaluates the segment's mouth track, renders
 * the face for frame n and hands both to the encoder thread. Timestamps come
 * only from the frame and sample counters (see core/clock.h).
 *
 * Live mode paces ticks with absolute sleeps; offline mode runs the same loop
 * unpaced. When a live engine falls behind it keeps every frame of the
 * timeline but skips rendering (repeating the previous picture, counted as
 * dropped) until it is back on time; it never leaves a gap in pts.
 *
 * Threads (both owned here): "engine" (ticks, renders) and "encoder" (encodes,
 * fans packets out to the outputs). They talk through a bounded queue of
 * preallocated tick items. Drop policy: pictures are dropped when more than a
 * few are waiting for the encoder (the encoder repeats the last one), audio
 * never; if the encoder falls two seconds behind the engine waits for it
 * (frames counted late). */
#ifndef TC_ENGINE_H
#define TC_ENGINE_H

#include <stdint.h>

#include "caption/caption.h"
#include "face/face.h"
#include "stream/output.h"

typedef struct tc_engine_config {
    int width, height;
    enum AVPixelFormat pix_fmt;
    int fps_num, fps_den;
    int sample_rate, channels;
    const char *x264_preset, *x264_tune;
    int64_t video_bitrate, video_maxrate, video_bufsize, audio_bitrate;
    double keyint;
    int live;                 /* 1: paced by the clock; 0: as fast as possible */
    int64_t max_frames;       /* stop after this many frames; 0 = never */
    const char *const *outputs; /* output specs; at least one */
    int n_outputs;
    int out_queue;
    double reconnect_min, reconnect_max;
    int encoder_threads;      /* x264 threads; 0 = auto */
    int idle_replay;          /* 1: replay a pre-encoded idle loop while nothing is said (idle.h) */
    const char *x264_params;  /* x264 options over the preset ("key=value:…"), or NULL/"" */
    double idle_close;        /* close x264 after this many seconds on the idle loop; 0 = never */
    int captions;             /* 1: CEA-608 captions of the segments' words in the video (A/53) */
    int caption_rows;         /* roll-up rows, 2 or 3 */
    int caption_burn;         /* 1: also draw the captions into the picture */
} tc_engine_config;

/* What happened to a segment, reported once from the engine thread. */
typedef struct tc_segment_result {
    int64_t start_frame;      /* first frame it played in (-1: never started) */
    int64_t end_frame;        /* first frame after it */
    int64_t start_sample;     /* timeline sample of its first sample */
    int64_t samples_played;
    int interrupted;          /* cut short by tc_engine_interrupt / destroy */
} tc_segment_result;

/* Pictures for a segment from somewhere else than the face (e.g. a remote
 * talking-face provider, face/remote.h), so the engine needs no network
 * code. Engine thread. `picture` fills `out` for frame i of the segment
 * (0 = its first) like tc_face_render; `face` is the renderer on air (held
 * by the engine for the call) and renders timeline frame n with `mouth`
 * whenever the source has nothing in time or blends. It must not block
 * longer than its owner configured (live: not at all). `release` runs once
 * when the segment is done or dropped (after its last picture). */
typedef struct tc_frame_source {
    int (*picture)(void *opaque, int64_t i, tc_face *face, int64_t n, const tc_mouth *mouth, AVFrame *out,
                   int *changed);
    void (*release)(void *opaque);
    void *opaque;
} tc_frame_source;

/* A piece of speech: mono float PCM at the engine's sample rate and a mouth
 * track with one entry per frame from the segment's first frame (missing
 * entries = mouth closed). Segments start on a frame boundary and play back
 * to back. */
typedef struct tc_segment {
    float *pcm;               /* owned by the segment after enqueue */
    int64_t n_samples;
    tc_mouth *mouth;          /* owned; may be NULL */
    int64_t n_mouth;
    uint64_t group;           /* caller's tag (e.g. a message), for tc_engine_cancel */
    /* Engine thread, may be NULL: on_start when its first frame is on the
     * timeline (start_frame, start_sample set), on_done exactly once. */
    void (*on_start)(void *opaque, const tc_segment_result *r);
    void (*on_done)(void *opaque, const tc_segment_result *r);
    void *opaque;
    tc_frame_source frames;   /* optional (all NULL = the face renders) */
    /* Captions, may be NULL: the words (samples from the segment's start,
     * bytes in cap_text), shown as they are spoken. Owned after enqueue. */
    char *cap_text;
    tc_cap_word *cap_words;
    int n_cap_words;
} tc_segment;

typedef struct tc_engine_stats {
    int64_t frames;           /* ticks completed (= frames on the timeline) */
    int64_t late;             /* ticks that started after their deadline */
    int64_t dropped;          /* pictures not rendered/encoded fresh (repeated) */
    int64_t samples;          /* audio samples on the timeline */
    int64_t speech_samples;   /* of which speech */
    int64_t segments_done, segments_interrupted;
    int queued_segments;
    int64_t last_tick_ns;     /* tc_now_ns() of the last completed tick; 0 before the first */
    int64_t replayed;         /* frames sent from the pre-encoded idle loop (not rendered or encoded) */
    int64_t idle_loop_bytes;  /* size of that loop's packets; 0 = none (yet) */
    int64_t encoder_suspends; /* times x264 was closed on a long idle stretch (idle_close) */
    int64_t caption_words;    /* words put into the 608 captions */
    int64_t caption_pairs;    /* 608 byte pairs sent */
    int64_t caption_clears;   /* captions erased (after speech, or at once on interrupt) */
} tc_engine_stats;

typedef struct tc_engine tc_engine;

/* Build encoder and outputs (their threads start connecting at once).
 * `face` is borrowed and must outlive the engine (tc_engine_set_face swaps
 * it). The timeline starts with tc_engine_start, so segments can be queued
 * for frame 0. */
int tc_engine_create(tc_engine **out, const tc_engine_config *cfg, tc_face *face,
                     char *err, int errlen);
/* Start the engine and encoder threads: frame 0 is now. Once only. */
int tc_engine_start(tc_engine *e);

/* Queue a segment; it plays from the next free tick. Takes ownership of the
 * segment's buffers on success (the struct itself is copied). */
int tc_engine_enqueue(tc_engine *e, tc_segment *seg);

/* Stop the current segment at the next tick and drop the queued ones; their
 * on_done reports interrupted = 1. */
void tc_engine_interrupt(tc_engine *e);

/* Drop the queued segments of `group` at the next tick and, unless
 * keep_current, stop its segment playing; other groups play on. Their
 * on_done reports interrupted = 1 (end_frame = the first silent frame). */
void tc_engine_cancel(tc_engine *e, uint64_t group, int keep_current);

/* The timeline position: the next frame the engine will produce. */
int64_t tc_engine_position(tc_engine *e);

/* Replace the renderer from the next tick; returns the previous one, which
 * the caller may destroy once this call has returned. */
tc_face *tc_engine_set_face(tc_engine *e, tc_face *face);

/* Wait up to timeout_ms (-1 = forever) for the engine to finish (max_frames
 * produced, tc_engine_stop, or a fatal encoder error). TC_OK when it has,
 * TC_ERR_TIMEOUT when not yet. */
int tc_engine_wait(tc_engine *e, int timeout_ms);

/* Ask the engine to stop at the next tick (thread- and signal-safe). */
void tc_engine_stop(tc_engine *e);

/* Stop, flush the encoder and finish every output (trailers). With `abort`,
 * outputs are closed without waiting for their queues. Stats stay readable. */
void tc_engine_close(tc_engine *e, int abort);
/* Close (if not yet) and free. Accepts NULL. */
void tc_engine_destroy(tc_engine *e, int abort);

void tc_engine_get_stats(tc_engine *e, tc_engine_stats *st);
int tc_engine_output_count(const tc_engine *e);
void tc_engine_output_stats(tc_engine *e, int i, tc_output_stats *st);

#endif
