/* output.h — one destination of the encoded stream, with its own thread.
 *
 * Each output owns a bounded packet queue and a thread that muxes into it.
 * The encoder thread hands packets over with tc_output_send(), which never
 * blocks: when the queue is full the packet is dropped (counted) and the
 * output skips ahead to the next video keyframe so viewers never see a
 * broken GOP. A network output that fails logs once, reconnects with
 * exponential back-off (min doubling to max, ±20 % jitter) and resumes at a
 * keyframe with continuing timestamps; a file output that fails stays failed.
 * Nothing an output does can stall the engine or another output. */
#ifndef TC_OUTPUT_H
#define TC_OUTPUT_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "stream/outfmt.h"

typedef enum tc_output_state {
    TC_OUTPUT_CONNECTING = 0,
    TC_OUTPUT_CONNECTED = 1,
    TC_OUTPUT_RECONNECTING = 2,
    TC_OUTPUT_FAILED = 3,  /* a file that could not be written; terminal */
    TC_OUTPUT_CLOSED = 4
} tc_output_state;

const char *tc_output_state_name(tc_output_state s);

typedef struct tc_output_stats {
    tc_output_state state;
    int64_t bytes;          /* bytes written to the muxer's I/O */
    int64_t packets;        /* packets written */
    int64_t dropped;        /* packets dropped (full queue, disconnected, resync) */
    int64_t reconnects;     /* successful connections after the first */
    int64_t failures;       /* failed connects or writes */
} tc_output_stats;

typedef struct tc_output_config {
    const char *spec;          /* "[f=fmt]url"; copied */
    const char *name;          /* short id for logs, e.g. "out0"; copied */
    int queue_packets;         /* bound of the packet queue */
    double reconnect_min, reconnect_max; /* seconds */
    int io_timeout_ms;         /* socket read/write time-out (default 5000) */
} tc_output_config;

typedef struct tc_output tc_output;

/* Parse the spec and start the thread. Video/audio parameters and time bases
 * come from the encoder's contexts (borrowed during the call). `want_key` is
 * called (from the output thread) when the output needs a keyframe soon. */
int tc_output_create(tc_output **out, const tc_output_config *cfg,
                     const AVCodecContext *video, const AVCodecContext *audio,
                     void (*want_key)(void *opaque), void *opaque,
                     char *err, int errlen);

/* Hand a packet over (a new reference is taken; `pkt` stays the caller's).
 * stream 0 = video, 1 = audio. Never blocks. */
void tc_output_send(tc_output *o, int stream, const AVPacket *pkt);

/* Finish: write what is queued, the trailer, close, join the thread. With
 * `abort` set, drop the queue and stop at once. Stats stay readable. */
void tc_output_close(tc_output *o, int abort);
/* Close (if not yet) and free. Accepts NULL. */
void tc_output_destroy(tc_output *o, int abort);

void tc_output_get_stats(tc_output *o, tc_output_stats *st);
const char *tc_output_display(const tc_output *o); /* URL with secrets masked */

#endif
