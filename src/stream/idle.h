/* idle.h — the pre-encoded idle loop: an avatar that is not speaking is a
 * periodic picture, so the engine encodes a few seconds of it once (in
 * several variants, for blinks at different moments) and replays those
 * packets with continuing timestamps instead of rendering and encoding
 * every idle frame. Internal to src/stream/.
 *
 * A variant v is `length` frames of the face rendered with the mouth
 * closed at face frames offset[v] … offset[v] + length - 1, where offset[v]
 * is a multiple of the face's idle period and the eyes are open at both
 * ends, so any variant follows any other, and live rendering can take over
 * from (or hand back to) a variant at a matching face frame without a
 * visible step. The packets come from a private encoder with the live
 * encoder's settings; the build refuses when its stream headers differ
 * from the live encoder's (a decoder must not see the difference). Each
 * variant starts with an IDR frame. */
#ifndef TC_STREAM_IDLE_H
#define TC_STREAM_IDLE_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "stream/encoder.h"

#define TC_IDLE_VARIANTS 3
#define TC_IDLE_MIN_FRAMES 120 /* a variant lasts at least this many frames */
#define TC_IDLE_MAX_PERIOD 300 /* faces with a longer idle period are not replayed */

typedef struct tc_idle_loop {
    uint64_t gen;                     /* the face generation it was built for */
    int period;                       /* the face's idle period */
    int length;                       /* frames per variant, a multiple of period */
    int n_variants;
    int64_t offset[TC_IDLE_VARIANTS]; /* face frame of each variant's first frame */
    AVPacket **pkt[TC_IDLE_VARIANTS]; /* `length` packets each, pts = index */
    int64_t bytes;                    /* of all packets */
} tc_idle_loop;

/* Where the pictures come from: the engine's face, which may be swapped
 * while a build runs (render then fails with TC_ERR_CLOSED). */
typedef struct tc_idle_source {
    int period;                                   /* tc_face_idle_period */
    double (*blink)(void *opaque, int64_t n);     /* tc_face_blink_at */
    int (*render)(void *opaque, int64_t n, AVFrame *pic); /* mouth closed */
    void *opaque;
} tc_idle_source;

/* Render and encode the variants. TC_ERR_UNSUPPORTED: no usable idle
 * period, or the headers differ from `live`'s; TC_ERR_CLOSED: the source
 * went away. */
int tc_idle_build(tc_idle_loop **out, const tc_idle_source *src, const tc_encoder_config *ec,
                  const AVCodecContext *live);
void tc_idle_free(tc_idle_loop *l); /* accepts NULL */

#endif
