/* face.h — the renderer interface: what the stream engine draws each tick.
 *
 * A renderer turns (frame index, mouth parameters) into a picture of the
 * engine's size and pixel format. Implementations are small vtables picked by
 * name (like AVCodec): "vector" (drawn in code, no asset), "image" (a still
 * PNG/JPEG), "video" (a looping video file). Later issues add photo warp,
 * sprite packs and remote providers behind the same interface.
 *
 * Ownership: tc_face_render() fills `out` with a new *reference* (av_frame_ref
 * semantics) to a frame the renderer owns; the caller must av_frame_unref()
 * it. A renderer whose picture did not change returns a reference to the same
 * buffer as last time and sets *changed = 0, so idle costs nothing.
 *
 * Threading: one renderer instance is used by one thread at a time (the
 * engine thread). Create/destroy may happen on another thread. */
#ifndef TC_FACE_H
#define TC_FACE_H

#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

/* Continuous mouth parameters, each 0..1, evaluated per frame by lip-sync.
 * All zero = mouth closed and relaxed (the idle mouth). */
typedef struct tc_mouth {
    float open;  /* jaw opening */
    float width; /* lip spread (wide e/i) */
    float round; /* lip rounding (o/u) */
    float press; /* lips pressed together (p/b/m) */
    float teeth; /* upper teeth visible / on lower lip (f/v) */
} tc_mouth;

typedef enum tc_face_fit {
    TC_FACE_FIT_PAD = 0, /* keep aspect, letterbox/pillarbox with black */
    TC_FACE_FIT_CROP = 1 /* keep aspect, fill the frame, crop the overflow */
} tc_face_fit;

typedef struct tc_face_config {
    int width, height;           /* output size in pixels (even numbers) */
    enum AVPixelFormat pix_fmt;  /* output pixel format, e.g. AV_PIX_FMT_YUV420P */
    int fps_num, fps_den;        /* output frame rate, for time-based sources */
    tc_face_fit fit;             /* how a source of another aspect is fitted */
    const char *path;            /* asset path for "image"/"video"; borrowed */
    uint32_t seed;               /* for deterministic idle life (blinks) */
    /* Videos whose decoded frames fit in this many bytes are decoded once
     * into memory; longer ones are decoded on the fly. 0 = default (256 MiB). */
    int64_t video_cache_bytes;
    /* "photo": mouth landmarks JSON; NULL = next to the image, as
     * <image without extension>.landmarks.json. Borrowed. */
    const char *landmarks;
    /* Idle life beyond blinks: "vector" breathes (its body rises and falls
     * a few pixels). 0 = off: an idle face is one unchanging picture. */
    int breathing;
} tc_face_config;

typedef struct tc_face tc_face; /* opaque instance */

typedef struct tc_face_vtable {
    const char *name;
    size_t priv_size; /* bytes of private state allocated (zeroed) for an instance */
    int (*init)(void *priv, const tc_face_config *cfg);
    /* Fill `out` with a reference to the picture for frame `n`. */
    int (*render)(void *priv, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed);
    /* Release everything init acquired. Called exactly once, also after an
     * init that failed part-way, so it must cope with a half-built state. */
    void (*uninit)(void *priv);
    /* May be NULL (= 0): see tc_face_idle_period. */
    int (*idle_period)(void *priv);
} tc_face_vtable;

/* Create the renderer called `name` ("vector", "image", "video"). Returns 0 or
 * a negative tc_err; on failure *out is NULL. */
int tc_face_create(tc_face **out, const char *name, const tc_face_config *cfg);

/* Pick "image" or "video" from a file's content (probed with libavformat),
 * or "vector" when path is NULL/empty. */
int tc_face_create_auto(tc_face **out, const tc_face_config *cfg);

int tc_face_render(tc_face *f, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed);
const char *tc_face_name(const tc_face *f);
/* Frames after which the idle picture (mouth closed, eyes open) repeats
 * exactly: 1 for a still, the breath period for "vector"; 0 when it does
 * not repeat (a video loop). With a period the engine can play a
 * pre-encoded idle loop instead of rendering and encoding idle frames. */
int tc_face_idle_period(const tc_face *f);
/* tc_face_blink with this face's seed and frame rate. */
double tc_face_blink_at(const tc_face *f, int64_t n);

/* Accepts NULL. */
void tc_face_destroy(tc_face *f);

/* Shared helper: convert/scale `src` (any size/format) into a newly
 * allocated frame of cfg->width x cfg->height in cfg->pix_fmt, honouring
 * cfg->fit. *dst is allocated by this call and owned by the caller. */
int tc_face_fit_frame(const AVFrame *src, const tc_face_config *cfg, AVFrame **dst);

/* How shut the eyes are at frame n (0 open .. 1 closed), the same for every
 * renderer: blink k starts at 4k + 2 + 2h(seed, k) s (h a hash in [0,1)),
 * so blinks come 2-6 s apart, the first within 4 s; each closes in 100 ms,
 * holds 50 ms and opens in 150 ms. A pure function of its inputs. */
double tc_face_blink(uint32_t seed, int64_t n, int fps_num, int fps_den);

/* Where fitting puts a source pixel: dst = src * scale + (ox, oy). */
void tc_face_fit_geometry(int src_w, int src_h, const tc_face_config *cfg, double *scale, double *ox,
                          double *oy);

/* Convert any picture to a new RGBA frame of the same size (caller owns). */
int tc_face_to_rgba(const AVFrame *src, AVFrame **out);

/* Allocate a black frame of the configured size and format (owned by caller). */
int tc_face_alloc_frame(const tc_face_config *cfg, AVFrame **dst);
/* Fit `src` into the preallocated `dst` (from tc_face_alloc_frame), reusing
 * *sws across calls (free it with sws_freeContext). Borders stay as they
 * were, so a frame reused for sources of one size keeps its black bars. */
struct SwsContext;
int tc_face_fit_into(struct SwsContext **sws, const AVFrame *src, const tc_face_config *cfg, AVFrame *dst);

/* Shared helper: decode the first picture of an image or video file. *out is
 * allocated by this call and owned by the caller. */
int tc_face_decode_still(const char *path, AVFrame **out);

#endif
