/* remote.h — talking faces rendered by a remote provider over HTTP
 * (docs/face-provider.md is the contract), with the local renderer as the
 * net under every frame.
 *
 * A tc_face_remote is one provider connection of one stream. For each
 * speech segment, tc_face_remote_attach() starts a request at once (on a
 * thread of its own, so it has the head start of the segments queued before
 * it) and hangs a tc_frame_source on the segment: the engine then asks for
 * frame i of the segment at its tick, and gets the provider's picture if it
 * has arrived, else the local renderer's (counted late). The stream never
 * waits for the provider (live); offline (`say`) may wait up to
 * frame_deadline for each frame. Segments crossfade from and to the local
 * picture over `crossfade` frames, except between consecutive segments of
 * one group (the sentences of a message) that the provider drew both.
 *
 * A health thread asks GET /v1/health every health_interval; while the
 * provider is down (or a request failed) segments are rendered locally at
 * once (counted fallbacks) until it answers again.
 *
 * Frames of another size than the stream's are fitted (scaled, as the
 * avatar is; counted and logged once); frames that do not decode are
 * dropped (counted) and the local picture stands in.
 *
 * Threads owned here: "face-health" (one per tc_face_remote) and one
 * detached "face-req" per segment in flight; tc_face_remote_destroy waits
 * for all of them. */
#ifndef TC_FACE_REMOTE_H
#define TC_FACE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "face/face.h"
#include "stream/engine.h"

/* ---- multipart/x-mixed-replace parser (multipart.c) ---- */

/* One part: its headers as far as the contract uses them, and its body
 * (valid during the callback). */
typedef struct tc_face_mp_part {
    char content_type[64];
    int64_t index; /* X-Frame-Index, -1 when absent */
    const uint8_t *data;
    size_t len;
} tc_face_mp_part;

typedef int (*tc_face_mp_cb)(void *opaque, const tc_face_mp_part *part);

/* A streaming parser: bytes go in as they arrive, in chunks of any size;
 * each complete part comes out through the callback. Parts are delimited
 * by CRLF--boundary (the first may come without the CRLF); a part's
 * Content-Length, when given, is trusted and checked. */
typedef struct tc_face_mp {
    char delim[80]; /* "\r\n--" boundary */
    size_t delim_len;
    size_t max_part; /* a longer part (or header block) is an error */
    uint8_t *buf;    /* unparsed bytes (owned) */
    size_t len, cap;
    size_t scan; /* where the search for the next delimiter resumes */
    int state;   /* see multipart.c */
    tc_face_mp_part part;
    int64_t body_len; /* Content-Length of the part being read, -1 unknown */
    int64_t parts;    /* parts delivered */
} tc_face_mp;

/* boundary: the Content-Type parameter (1..70 chars). 0 or TC_ERR_INVAL. */
int tc_face_mp_init(tc_face_mp *p, const char *boundary, size_t max_part);
/* 0; TC_ERR_FORMAT on malformed input (the parser is then dead); the
 * callback's negative value (the parser stops too); TC_ERR_NOMEM. */
int tc_face_mp_feed(tc_face_mp *p, const void *data, size_t len, tc_face_mp_cb cb, void *opaque);
/* 1 once the closing delimiter (--boundary--) was read. */
int tc_face_mp_done(const tc_face_mp *p);
void tc_face_mp_free(tc_face_mp *p);

/* The boundary parameter of a Content-Type header value (quotes allowed),
 * copied to out. 0 or TC_ERR_FORMAT. */
int tc_face_mp_boundary(const char *content_type, char *out, size_t outlen);

/* ---- the client (remote.c) ---- */

typedef struct tc_face_remote_config {
    const char *url;         /* provider base URL, e.g. http://127.0.0.1:8700 (borrowed) */
    const char *api_key;     /* NULL/"" = none; never logged (borrowed) */
    const char *auth_header; /* NULL/"": "Authorization: Bearer KEY"; else "NAME: KEY" */
    double connect_timeout;  /* seconds */
    double timeout;          /* seconds a whole generate request may take */
    int retries;             /* retries of a request that failed before its first frame */
    double frame_deadline;   /* seconds a picture may wait for its frame; 0 = never wait (live) */
    int crossfade;           /* frames from/to the local picture; 0 = cut */
    double health_interval;  /* seconds between health probes */
    int width, height, fps_num, fps_den, sample_rate;
    enum AVPixelFormat pix_fmt;
    tc_face_fit fit;
    const char *name; /* for logs (the stream's name), may be NULL */
} tc_face_remote_config;

typedef struct tc_face_remote_stats {
    int up;           /* 1 while the provider answers health and requests */
    int64_t requests; /* generate requests started (retries not counted) */
    int64_t retries;
    int64_t failures;       /* requests that ended in an error (before or mid-stream) */
    int64_t fallbacks;      /* segments rendered locally from the start: provider down or failed */
    int64_t uploads;        /* avatars uploaded */
    int64_t frames_remote;  /* pictures on air from the provider (blended ones included) */
    int64_t frames_late;    /* pictures of a requested segment the local face drew (late/missing) */
    int64_t frames_bad;     /* parts that did not decode, or with no/bad index */
    int64_t frames_resized; /* frames of another size, fitted */
    int64_t health_checks, health_failures;
    int64_t connects;       /* connections opened for requests and uploads (the rest reused one) */
    char last_error[160]; /* the latest problem, "" if none */
} tc_face_remote_stats;

typedef struct tc_face_remote tc_face_remote;

/* Starts the health thread (after one probe, so a provider that is up is
 * known up at once). A provider that is down is not an error. 0 or
 * TC_ERR_INVAL / TC_ERR_NOMEM / TC_ERR_IO. */
int tc_face_remote_create(tc_face_remote **out, const tc_face_remote_config *cfg);

/* The avatar the provider animates from now on: `path` (an image or a
 * video, sent as is on first use), or with path NULL the face's idle
 * picture (sent as PNG). Its mouth landmarks (`landmarks`, or when that is
 * NULL/"" the sidecar beside `path`, if any) go along, for providers that
 * take them (docs/face-provider.md). `face` is only read during the call. */
int tc_face_remote_set_avatar(tc_face_remote *r, const char *path, const char *landmarks, tc_face *face);

/* An avatar's id in the contract: the SHA-256 of its bytes as 64 lower-case
 * hex digits (hex gets the NUL too). TC_ERR_NOMEM or TC_OK. */
int tc_face_remote_avatar_id(const uint8_t *data, size_t n, char hex[65]);

/* Hang a frame source on `seg` (pcm and n_samples set, whole frames) and
 * start its request; start_frame is the avatar frame (of a video loop) the
 * segment is expected to start at. When the provider is down the segment
 * is left to the local face (counted) and TC_OK is returned all the same;
 * an error means nothing was attached. */
int tc_face_remote_attach(tc_face_remote *r, tc_segment *seg, int64_t start_frame);

void tc_face_remote_get_stats(tc_face_remote *r, tc_face_remote_stats *st);

/* Waits for the request threads (cancelled). Accepts NULL. */
void tc_face_remote_destroy(tc_face_remote *r);

/* WAV (RIFF, 16-bit PCM mono) of `pcm`, for request bodies: *out malloc'ed. */
int tc_face_wav_encode(const float *pcm, int64_t n, int rate, uint8_t **out, size_t *len);
/* The reverse for 16-bit PCM WAV (mono, or the first channel). *pcm malloc'ed. */
int tc_face_wav_decode(const uint8_t *data, size_t len, float **pcm, int64_t *n, int *rate);

/* dst = a * (1 - w) + b * w, plane by plane (w in 0..1); all three of the
 * same size and planar 8-bit format. */
void tc_face_blend(const AVFrame *a, const AVFrame *b, float w, AVFrame *dst);

#endif
