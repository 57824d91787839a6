/* remote_int.h — what the face provider client's files share (remote.c:
 * the handle, health, the engine side, the avatar; remote_req.c: one
 * request's thread; remote_media.c: WAV and blending). Not for other
 * modules: remote.h is the interface. */
#ifndef TC_FACE_REMOTE_INT_H
#define TC_FACE_REMOTE_INT_H

#include "face/remote.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>
#include <libavutil/buffer.h>
#include <libswscale/swscale.h>
#include <libavcodec/avcodec.h>

#define RING             16 /* frames buffered ahead of the engine, per segment */
#define BLEND_POOL       12 /* crossfade pictures (more than the engine keeps in flight) */
#define MAX_FRAME_BYTES  (32 << 20)
#define MAX_AVATAR_BYTES (256 << 20)
#define ERR_BODY         512
#define FOLLOW           64 /* requests whose successor is remembered */

enum { RQ_RUNNING, RQ_ENDED, RQ_FAILED };

struct tc_face_remote {
    tc_face_remote_config cfg;
    char *url, *api_key, *auth_header, *name;
    tc_log_ctx log;

    pthread_mutex_t lock; /* guards the avatar fields, inflight, last_error, uploaded_id */
    pthread_mutex_t
        upload_lock;     /* one avatar upload at a time (segments asked together share it) */
    pthread_cond_t cond; /* inflight dropped; quit */
    AVBufferRef *avatar; /* the avatar file's bytes (or a PNG of the face) */
    char avatar_id[65], avatar_type[48], uploaded_id[65];
    AVBufferRef *landmarks; /* its mouth landmarks JSON, or NULL */
    char uploaded_lm[65];   /* the avatar id whose landmarks the provider has (or refused) */
    int avatar_video;
    int inflight;
    char last_error[160];

    /* libcurl's connection cache (and DNS, TLS sessions) shared by the
     * request threads: a sentence reuses the last one's connection instead
     * of a new TCP (and TLS) handshake. NULL if it could not be made. */
    CURLSH *share;
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST]; /* one per kind: libcurl nests them */
    atomic_llong connects; /* connections opened (CURLINFO_NUM_CONNECTS) */

    pthread_t health_th;
    int health_started;
    atomic_int up, quit, logged_resize, logged_down;
    atomic_llong requests, retries, failures, fallbacks, uploads, frames_remote, frames_late,
        frames_bad, frames_resized, health_checks, health_failures;

    /* the request attached last (under lock), and which requests were
     * followed by one of their own group: followed[seq % FOLLOW] == seq */
    uint64_t last_group;
    int64_t last_seq, seq;
    atomic_llong followed[FOLLOW];

    /* engine thread only */
    int64_t last_n;  /* the timeline frame of the last picture a request gave */
    int last_remote; /* and whether the provider drew it */
    AVFrame *tmp;
    AVFrame *blend[BLEND_POOL];
};

typedef struct req {
    tc_face_remote *r;
    atomic_int refs;
    atomic_int cancel;
    pthread_mutex_t lock; /* guards slot, idx, wanted, state */
    pthread_cond_t cond;  /* a frame arrived / state changed / the engine moved on */
    AVFrame *slot[RING];
    int64_t idx[RING];
    int64_t wanted; /* the frame the engine asked for last */
    int64_t seen;   /* the highest index the provider sent (parts come in order) */
    int state;
    int64_t n_frames, start_frame;
    uint8_t *wav;
    size_t wav_len;
    AVBufferRef *avatar, *landmarks;
    char avatar_id[65], avatar_type[48];
    int video;
    int64_t run;    /* engine thread: provider frames shown in a row */
    uint64_t group; /* the segment's group (a message): its sentences follow each other */
    int preceded;   /* the request before it was of the same group */
    int64_t seq;    /* its place among the requests attached */

    /* request thread only */
    CURL *curl;
    tc_face_mp mp;
    int mp_ok;
    long code;
    char ctype[160];
    char errbody[ERR_BODY];
    size_t errlen;
    int64_t got; /* frames stored */
    int64_t last_data_ns, stalled;
    AVCodecContext *dec[2]; /* mjpeg, png */
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    tc_face_config fc;
} req;

/* remote.c */
void tc_face_rq_error(tc_face_remote *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tc_face_rq_down(tc_face_remote *r, const char *why);
void tc_face_rq_up(tc_face_remote *r);
/* appends the auth header (if a key is set) to h */
struct curl_slist *tc_face_rq_auth(tc_face_remote *r, struct curl_slist *h);
/* a curl handle for base URL + path, with the common options; url is its buffer */
CURL *tc_face_rq_easy(tc_face_remote *r, const char *path, char *url, size_t urlen);
/* After a transfer of a request thread: add the connections it opened to r->connects. */
void tc_face_rq_count_connects(tc_face_remote *r, CURL *c);
size_t tc_face_rq_discard(char *p, size_t s, size_t n, void *o);

/* remote_req.c: drop a reference (the last frees it and tells the handle) */
void tc_face_req_unref(req *q);
/* the request's thread (detached; holds one reference) */
void *tc_face_req_thread(void *arg);

#endif
