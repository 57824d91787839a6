/* remote.c — the client of a remote talking-face provider (remote.h,
 * docs/face-provider.md).
 *
 * One request per segment, on a detached "face-req" thread that holds a
 * reference to it; the engine holds the other (dropped by release). Frames
 * land in a ring of RING preallocated pictures keyed by frame index: the
 * request thread waits while the ring is RING frames ahead of the engine,
 * and skips frames the engine has passed already. The engine only takes a
 * reference to a slot under the request's lock; a slot still referenced
 * downstream is never written (it gets a fresh buffer instead). */
#include "face/remote.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/sha.h>
#include <libswscale/swscale.h>

#define RING 16                 /* frames buffered ahead of the engine, per segment */
#define BLEND_POOL 12           /* crossfade pictures (more than the engine keeps in flight) */
#define MAX_FRAME_BYTES (32 << 20)
#define MAX_AVATAR_BYTES (256 << 20)
#define ERR_BODY 512
#define FOLLOW 64               /* requests whose successor is remembered */

enum { RQ_RUNNING, RQ_ENDED, RQ_FAILED };

struct tc_face_remote {
    tc_face_remote_config cfg;
    char *url, *api_key, *auth_header, *name;
    tc_log_ctx log;

    pthread_mutex_t lock;       /* guards the avatar fields, inflight, last_error, uploaded_id */
    pthread_mutex_t upload_lock; /* one avatar upload at a time (segments asked together share it) */
    pthread_cond_t cond;        /* inflight dropped; quit */
    AVBufferRef *avatar;        /* the avatar file's bytes (or a PNG of the face) */
    char avatar_id[65], avatar_type[48], uploaded_id[65];
    int avatar_video;
    int inflight;
    char last_error[160];

    pthread_t health_th;
    int health_started;
    atomic_int up, quit, logged_resize, logged_down;
    atomic_llong requests, retries, failures, fallbacks, uploads, frames_remote, frames_late, frames_bad,
        frames_resized, health_checks, health_failures;

    /* the request attached last (under lock), and which requests were
     * followed by one of their own group: followed[seq % FOLLOW] == seq */
    uint64_t last_group;
    int64_t last_seq, seq;
    atomic_llong followed[FOLLOW];

    /* engine thread only */
    int64_t last_n;             /* the timeline frame of the last picture a request gave */
    int last_remote;            /* and whether the provider drew it */
    AVFrame *tmp;
    AVFrame *blend[BLEND_POOL];
};

typedef struct req {
    tc_face_remote *r;
    atomic_int refs;
    atomic_int cancel;
    pthread_mutex_t lock;       /* guards slot, idx, wanted, state */
    pthread_cond_t cond;        /* a frame arrived / state changed / the engine moved on */
    AVFrame *slot[RING];
    int64_t idx[RING];
    int64_t wanted;             /* the frame the engine asked for last */
    int64_t seen;               /* the highest index the provider sent (parts come in order) */
    int state;
    int64_t n_frames, start_frame;
    uint8_t *wav;
    size_t wav_len;
    AVBufferRef *avatar;
    char avatar_id[65], avatar_type[48];
    int video;
    int64_t run;                /* engine thread: provider frames shown in a row */
    uint64_t group;             /* the segment's group (a message): its sentences follow each other */
    int preceded;               /* the request before it was of the same group */
    int64_t seq;                /* its place among the requests attached */

    /* request thread only */
    CURL *curl;
    tc_face_mp mp;
    int mp_ok;
    long code;
    char ctype[160];
    char errbody[ERR_BODY];
    size_t errlen;
    int64_t got;                /* frames stored */
    int64_t last_data_ns, stalled;
    AVCodecContext *dec[2];     /* mjpeg, png */
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    tc_face_config fc;
} req;

/* ---- small helpers ------------------------------------------------------------ */

static void set_error(tc_face_remote *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(tc_face_remote *r, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&r->lock);
    snprintf(r->last_error, sizeof r->last_error, "%s", msg);
    pthread_mutex_unlock(&r->lock);
}

static void mark_down(tc_face_remote *r, const char *why)
{
    if (atomic_exchange(&r->up, 0))
        tc_log(&r->log, TC_LOG_WARN, "face provider is down (%s): speech is rendered locally until it answers", why);
}

static void mark_up(tc_face_remote *r)
{
    if (!atomic_exchange(&r->up, 1)) tc_log(&r->log, TC_LOG_INFO, "face provider %s is up", r->url);
}

static struct curl_slist *auth_headers(tc_face_remote *r, struct curl_slist *h)
{
    if (r->api_key && r->api_key[0]) {
        size_t n = strlen(r->api_key) + (r->auth_header ? strlen(r->auth_header) : 0) + 32;
        char *line = malloc(n);
        if (!line) return h;
        if (r->auth_header && r->auth_header[0]) snprintf(line, n, "%s: %s", r->auth_header, r->api_key);
        else snprintf(line, n, "Authorization: Bearer %s", r->api_key);
        struct curl_slist *nh = curl_slist_append(h, line);
        free(line);
        if (nh) h = nh;
    }
    return h;
}

static CURL *easy(tc_face_remote *r, const char *path, char *url, size_t urlen)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    snprintf(url, urlen, "%s%s", r->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->cfg.connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "talkcast");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    return c;
}

static size_t discard(char *p, size_t s, size_t n, void *o) { return s * n; }

/* ---- WAV and blending ---------------------------------------------------------- */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }
static unsigned get16(const uint8_t *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

int tc_face_wav_encode(const float *pcm, int64_t n, int rate, uint8_t **out, size_t *len)
{
    if (n < 0 || n > (INT32_MAX - 64) / 2 || rate <= 0) return TC_ERR_INVAL;
    size_t sz = 44 + (size_t)n * 2;
    uint8_t *w = malloc(sz);
    if (!w) return TC_ERR_NOMEM;
    memcpy(w, "RIFF", 4);
    put32(w + 4, (uint32_t)(sz - 8));
    memcpy(w + 8, "WAVEfmt ", 8);
    put32(w + 16, 16);
    put16(w + 20, 1);
    put16(w + 22, 1);
    put32(w + 24, (uint32_t)rate);
    put32(w + 28, (uint32_t)rate * 2);
    put16(w + 32, 2);
    put16(w + 34, 16);
    memcpy(w + 36, "data", 4);
    put32(w + 40, (uint32_t)n * 2);
    for (int64_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        int s = v > 32767 ? 32767 : v < -32768 ? -32768 : (int)v;
        put16(w + 44 + i * 2, (unsigned)(s & 0xffff));
    }
    *out = w;
    *len = sz;
    return TC_OK;
}

int tc_face_wav_decode(const uint8_t *d, size_t len, float **pcm, int64_t *n, int *rate)
{
    if (len < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WAVE", 4)) return TC_ERR_FORMAT;
    int ch = 0, bits = 0;
    uint32_t sr = 0;
    for (size_t p = 12; p + 8 <= len;) {
        uint32_t cl = get32(d + p + 4);
        const uint8_t *c = d + p + 8;
        size_t avail = len - p - 8;
        if (!memcmp(d + p, "fmt ", 4)) {
            if (cl < 16 || avail < 16) return TC_ERR_FORMAT;
            if (get16(c) != 1) return TC_ERR_UNSUPPORTED;
            ch = (int)get16(c + 2);
            sr = get32(c + 4);
            bits = (int)get16(c + 14);
        } else if (!memcmp(d + p, "data", 4)) {
            if (!ch || bits != 16 || sr < 8000 || sr > 192000) return TC_ERR_UNSUPPORTED;
            size_t bytes = cl < avail ? cl : avail;
            int64_t frames = (int64_t)(bytes / (size_t)(2 * ch));
            float *f = malloc((size_t)(frames ? frames : 1) * sizeof *f);
            if (!f) return TC_ERR_NOMEM;
            for (int64_t i = 0; i < frames; i++) f[i] = (int16_t)get16(c + i * 2 * ch) / 32768.0f;
            *pcm = f;
            *n = frames;
            *rate = (int)sr;
            return TC_OK;
        }
        if (cl > avail) break;
        p += 8 + cl + (cl & 1);
    }
    return TC_ERR_FORMAT;
}

void tc_face_blend(const AVFrame *a, const AVFrame *b, float w, AVFrame *dst)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dst->format);
    int wi = (int)(w * 256 + 0.5f);
    if (wi < 0) wi = 0;
    if (wi > 256) wi = 256;
    int planes = av_pix_fmt_count_planes(dst->format);
    for (int p = 0; p < planes; p++) {
        int bytes = av_image_get_linesize(dst->format, dst->width, p);
        int h = p == 1 || p == 2 ? AV_CEIL_RSHIFT(dst->height, d->log2_chroma_h) : dst->height;
        for (int y = 0; y < h; y++) {
            const uint8_t *pa = a->data[p] + (ptrdiff_t)y * a->linesize[p];
            const uint8_t *pb = b->data[p] + (ptrdiff_t)y * b->linesize[p];
            uint8_t *o = dst->data[p] + (ptrdiff_t)y * dst->linesize[p];
            for (int x = 0; x < bytes; x++) o[x] = (uint8_t)((pa[x] * (256 - wi) + pb[x] * wi + 128) >> 8);
        }
    }
}

/* ---- a request ------------------------------------------------------------------ */

static void req_unref(req *q)
{
    if (atomic_fetch_sub(&q->refs, 1) != 1) return;
    tc_face_remote *r = q->r;
    for (int i = 0; i < RING; i++) av_frame_free(&q->slot[i]);
    free(q->wav);
    av_buffer_unref(&q->avatar);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
    pthread_mutex_lock(&r->lock);
    r->inflight--;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void req_set_state(req *q, int st)
{
    pthread_mutex_lock(&q->lock);
    q->state = st;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

static int decode_part(req *q, const tc_face_mp_part *part)
{
    tc_face_remote *r = q->r;
    int which = !strcasecmp(part->content_type, "image/jpeg") ? 0 : !strcasecmp(part->content_type, "image/png") ? 1 : -1;
    if (which < 0) return TC_ERR_UNSUPPORTED;
    /* not even the signature: refused here, not by the decoder (which logs each one) */
    if (which == 0 ? part->len < 4 || part->data[0] != 0xff || part->data[1] != 0xd8
                   : part->len < 8 || memcmp(part->data, "\x89PNG\r\n\x1a\n", 8))
        return TC_ERR_FORMAT;
    if (!q->dec[which]) {
        const AVCodec *codec = avcodec_find_decoder(which ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
        if (!codec || !(q->dec[which] = avcodec_alloc_context3(codec))) return TC_ERR_CODEC;
        q->dec[which]->thread_count = 1;
        if (avcodec_open2(q->dec[which], codec, NULL) < 0) return TC_ERR_CODEC;
    }
    if ((!q->pkt && !(q->pkt = av_packet_alloc())) || (!q->frame && !(q->frame = av_frame_alloc())))
        return TC_ERR_NOMEM;
    if (part->len > MAX_FRAME_BYTES || av_new_packet(q->pkt, (int)part->len) < 0) return TC_ERR_NOMEM;
    memcpy(q->pkt->data, part->data, part->len);
    int e = avcodec_send_packet(q->dec[which], q->pkt);
    av_packet_unref(q->pkt);
    if (e < 0) return TC_ERR_FORMAT;
    av_frame_unref(q->frame);
    if (avcodec_receive_frame(q->dec[which], q->frame) < 0) return TC_ERR_FORMAT;
    if (q->frame->format == AV_PIX_FMT_YUVJ420P) { /* the same planes, said the modern way */
        q->frame->format = AV_PIX_FMT_YUV420P;
        q->frame->color_range = AVCOL_RANGE_JPEG;
    }
    if (q->frame->width != r->cfg.width || q->frame->height != r->cfg.height) {
        atomic_fetch_add(&r->frames_resized, 1);
        if (!atomic_exchange(&r->logged_resize, 1))
            tc_log(&r->log, TC_LOG_WARN, "provider sends %dx%d frames for a %dx%d stream: they are fitted (logged once)",
                   q->frame->width, q->frame->height, r->cfg.width, r->cfg.height);
    }
    return TC_OK;
}

/* One part of the answer: a frame to decode into its ring slot. */
static int on_part(void *opaque, const tc_face_mp_part *part)
{
    req *q = opaque;
    tc_face_remote *r = q->r;
    int64_t i = part->index;
    if (i < 0 || i >= q->n_frames) {
        atomic_fetch_add(&r->frames_bad, 1);
        return TC_OK;
    }
    /* wait for room: the engine must have asked for frame i - RING + 1 */
    pthread_mutex_lock(&q->lock);
    while (!atomic_load(&q->cancel) && i >= q->wanted + RING) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&q->cond, &q->lock, &ts);
    }
    int passed = i < q->wanted;
    int s = (int)(i % RING);
    /* parts come in order: every frame before i is settled, the engine
     * waits for none of them any longer */
    if (i - 1 > q->seen) q->seen = i - 1;
    pthread_cond_broadcast(&q->cond);
    if (!passed) q->idx[s] = -1; /* the engine will not take it while it is written */
    pthread_mutex_unlock(&q->lock);
    q->last_data_ns = tc_now_ns(); /* waiting for the engine is no stall */
    if (atomic_load(&q->cancel)) return TC_ERR_CLOSED;
    if (passed) return TC_OK; /* too late for air: not worth decoding */
    int e = decode_part(q, part);
    if (e == TC_ERR_NOMEM) return e;
    if (e < 0) {
        atomic_fetch_add(&r->frames_bad, 1);
        pthread_mutex_lock(&q->lock);
        if (i > q->seen) q->seen = i;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
        return TC_OK;
    }
    if (!q->slot[s] && tc_face_alloc_frame(&q->fc, &q->slot[s]) < 0) return TC_ERR_NOMEM;
    if (!av_frame_is_writable(q->slot[s]) && av_frame_make_writable(q->slot[s]) < 0) return TC_ERR_NOMEM;
    if (tc_face_fit_into(&q->sws, q->frame, &q->fc, q->slot[s]) < 0) {
        atomic_fetch_add(&r->frames_bad, 1);
        pthread_mutex_lock(&q->lock);
        if (i > q->seen) q->seen = i;
        pthread_mutex_unlock(&q->lock);
        return TC_OK;
    }
    pthread_mutex_lock(&q->lock);
    q->idx[s] = i;
    if (i > q->seen) q->seen = i;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    q->got++;
    return TC_OK;
}

static size_t on_header(char *b, size_t s, size_t n, void *opaque)
{
    req *q = opaque;
    size_t len = s * n;
    if (len > 13 && !strncasecmp(b, "Content-Type:", 13)) {
        size_t k = len - 13;
        if (k >= sizeof q->ctype) k = sizeof q->ctype - 1;
        memcpy(q->ctype, b + 13, k);
        q->ctype[k] = '\0';
        q->ctype[strcspn(q->ctype, "\r\n")] = '\0';
    }
    return len;
}

static size_t on_body(char *b, size_t s, size_t n, void *opaque)
{
    req *q = opaque;
    size_t len = s * n;
    q->last_data_ns = tc_now_ns();
    if (!q->code) curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &q->code);
    if (q->code != 200) { /* keep the start of an error body for the log */
        size_t k = len < ERR_BODY - 1 - q->errlen ? len : ERR_BODY - 1 - q->errlen;
        memcpy(q->errbody + q->errlen, b, k);
        q->errlen += k;
        q->errbody[q->errlen] = '\0';
        return len;
    }
    if (!q->mp_ok) {
        char boundary[80];
        if (strncasecmp(q->ctype + strspn(q->ctype, " "), "multipart/", 10) ||
            tc_face_mp_boundary(q->ctype, boundary, sizeof boundary) < 0 ||
            tc_face_mp_init(&q->mp, boundary, MAX_FRAME_BYTES) < 0) {
            snprintf(q->errbody, ERR_BODY, "answer is not multipart (Content-Type: %s)", q->ctype);
            return 0;
        }
        q->mp_ok = 1;
    }
    int e = tc_face_mp_feed(&q->mp, b, len, on_part, q);
    if (e < 0) {
        if (e == TC_ERR_FORMAT) snprintf(q->errbody, ERR_BODY, "malformed multipart stream after %lld parts",
                                         (long long)q->mp.parts);
        return 0;
    }
    return len;
}

static int on_progress(void *opaque, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    req *q = opaque;
    if (atomic_load(&q->cancel)) return 1;
    if (tc_now_ns() - q->last_data_ns > (int64_t)(q->r->cfg.timeout * 1e9)) {
        q->stalled = 1;
        return 1;
    }
    return 0;
}

/* HEAD, then PUT the avatar unless the provider has it. */
static int upload_avatar_locked(req *q);
static int upload_avatar(req *q)
{
    pthread_mutex_lock(&q->r->upload_lock);
    int e = upload_avatar_locked(q);
    pthread_mutex_unlock(&q->r->upload_lock);
    return e;
}

static int upload_avatar_locked(req *q)
{
    tc_face_remote *r = q->r;
    pthread_mutex_lock(&r->lock);
    int have = !strcmp(r->uploaded_id, q->avatar_id);
    pthread_mutex_unlock(&r->lock);
    if (have) return TC_OK;
    char path[128], url[1200];
    snprintf(path, sizeof path, "/v1/avatars/%s", q->avatar_id);
    long code = 0;
    for (int put = 0; put < 2; put++) {
        CURL *c = easy(r, path, url, sizeof url);
        if (!c) return TC_ERR_NOMEM;
        struct curl_slist *h = auth_headers(r, NULL);
        char ct[80];
        snprintf(ct, sizeof ct, "Content-Type: %s", q->avatar_type);
        if (put) {
            h = curl_slist_append(h, ct);
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->avatar->data);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->avatar->size);
        } else {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->cfg.timeout * 1000));
        CURLcode cc = curl_easy_perform(c);
        code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        if (cc != CURLE_OK) {
            set_error(r, "avatar upload: %s", curl_easy_strerror(cc));
            return TC_ERR_NET;
        }
        if (!put && code == 200) break;
        if (!put && code == 404) continue;
        if (put && (code == 200 || code == 201 || code == 204)) {
            atomic_fetch_add(&r->uploads, 1);
            tc_log(&r->log, TC_LOG_INFO, "avatar %.12s… uploaded to the provider (%zu bytes)", q->avatar_id,
                   q->avatar->size);
            break;
        }
        set_error(r, "avatar %s: HTTP %ld", put ? "upload" : "check", code);
        return code == 401 || code == 403 ? TC_ERR_INVAL : TC_ERR_NET;
    }
    pthread_mutex_lock(&r->lock);
    snprintf(r->uploaded_id, sizeof r->uploaded_id, "%s", q->avatar_id);
    pthread_mutex_unlock(&r->lock);
    return TC_OK;
}

/* One attempt. TC_OK: the stream ended well; TC_ERR_AGAIN: worth a retry. */
static int generate(req *q)
{
    tc_face_remote *r = q->r;
    char path[400], url[1400];
    snprintf(path, sizeof path, "/v1/generate?avatar=%s&mode=%s&start=%lld&fps=%d/%d&width=%d&height=%d&frames=%lld",
             q->avatar_id, q->video ? "video" : "audio", (long long)q->start_frame, r->cfg.fps_num, r->cfg.fps_den,
             r->cfg.width, r->cfg.height, (long long)q->n_frames);
    CURL *c = easy(r, path, url, sizeof url);
    if (!c) return TC_ERR_NOMEM;
    q->curl = c;
    q->code = 0;
    q->ctype[0] = '\0';
    q->errbody[0] = '\0';
    q->errlen = 0;
    q->stalled = 0;
    q->mp_ok = 0;
    q->last_data_ns = tc_now_ns();
    struct curl_slist *h = auth_headers(r, NULL);
    h = curl_slist_append(h, "Content-Type: audio/wav");
    h = curl_slist_append(h, "Accept: multipart/x-mixed-replace");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->wav);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->wav_len);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
    CURLcode cc = curl_easy_perform(c);
    if (!q->code) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    q->curl = NULL;
    int done = q->mp_ok && tc_face_mp_done(&q->mp);
    tc_face_mp_free(&q->mp);
    if (atomic_load(&q->cancel)) return TC_ERR_CLOSED;
    if (cc == CURLE_OK && q->code == 200 && done) return TC_OK;
    int again = 0, down = 0;
    if (q->code == 200 || cc == CURLE_WRITE_ERROR || cc == CURLE_ABORTED_BY_CALLBACK) {
        if (q->stalled) set_error(r, "provider sent nothing for %.1f s (after %lld frames)", r->cfg.timeout, (long long)q->got);
        else if (q->errbody[0]) set_error(r, "%s", q->errbody);
        else set_error(r, "stream ended after %lld of %lld frames: %s", (long long)q->got, (long long)q->n_frames,
                       cc == CURLE_OK ? "no closing boundary" : curl_easy_strerror(cc));
        again = q->got == 0;
        down = q->stalled || cc != CURLE_OK;
    } else if (cc != CURLE_OK) {
        set_error(r, "%s", curl_easy_strerror(cc));
        again = down = 1;
    } else {
        set_error(r, "generate: HTTP %ld %.100s", q->code, q->errbody);
        again = q->code == 429 || q->code >= 500 || q->code == 404; /* 404: avatar lost, upload again */
        down = q->code >= 500 || q->code == 401 || q->code == 403;
        if (q->code == 404) {
            pthread_mutex_lock(&r->lock);
            r->uploaded_id[0] = '\0';
            pthread_mutex_unlock(&r->lock);
        }
    }
    if (down) {
        char why[160];
        pthread_mutex_lock(&r->lock);
        snprintf(why, sizeof why, "%s", r->last_error);
        pthread_mutex_unlock(&r->lock);
        mark_down(r, why);
    }
    return again ? TC_ERR_AGAIN : TC_ERR_NET;
}

static void *req_thread(void *arg)
{
    req *q = arg;
    tc_face_remote *r = q->r;
    tc_backoff bo;
    tc_backoff_init(&bo, 0.2, 2.0, (uint64_t)(uintptr_t)q ^ (uint64_t)tc_now_ns());
    q->fc = (tc_face_config){ .width = r->cfg.width, .height = r->cfg.height, .pix_fmt = r->cfg.pix_fmt,
                              .fps_num = r->cfg.fps_num, .fps_den = r->cfg.fps_den, .fit = r->cfg.fit };
    int e = TC_ERR_NET;
    for (int attempt = 0; !atomic_load(&q->cancel); attempt++) {
        e = upload_avatar(q);
        if (e == TC_OK) e = generate(q);
        else if (e == TC_ERR_NET) { e = TC_ERR_AGAIN; mark_down(r, "avatar upload failed"); }
        if (e != TC_ERR_AGAIN || attempt >= r->cfg.retries || q->got) break;
        atomic_fetch_add(&r->retries, 1);
        int64_t until = tc_now_ns() + (int64_t)(tc_backoff_next(&bo) * 1e9);
        while (!atomic_load(&q->cancel) && tc_now_ns() < until) usleep(20000);
    }
    if (e == TC_OK) {
        if (q->got < q->n_frames)
            tc_log(&r->log, TC_LOG_DEBUG, "segment: %lld of %lld frames from the provider", (long long)q->got,
                   (long long)q->n_frames);
    } else if (e != TC_ERR_CLOSED && !atomic_load(&q->cancel)) {
        atomic_fetch_add(&r->failures, 1);
        char why[160];
        pthread_mutex_lock(&r->lock);
        snprintf(why, sizeof why, "%s", r->last_error);
        pthread_mutex_unlock(&r->lock);
        tc_log(&r->log, TC_LOG_WARN, "face request failed after %lld frames: %s; the local face fills in",
               (long long)q->got, why);
    }
    req_set_state(q, e == TC_OK ? RQ_ENDED : RQ_FAILED);
    for (int i = 0; i < 2; i++) avcodec_free_context(&q->dec[i]);
    av_packet_free(&q->pkt);
    av_frame_free(&q->frame);
    sws_freeContext(q->sws);
    req_unref(q);
    return NULL;
}

/* ---- the engine side ------------------------------------------------------------- */

static AVFrame *free_blend(tc_face_remote *r)
{
    for (int i = 0; i < BLEND_POOL; i++)
        if (r->blend[i] && av_frame_is_writable(r->blend[i])) return r->blend[i];
    return NULL;
}

static int req_picture(void *opaque, int64_t i, tc_face *face, int64_t n, const tc_mouth *mouth, AVFrame *out,
                       int *changed)
{
    req *q = opaque;
    tc_face_remote *r = q->r;
    int s = (int)(i % RING), have = 0;
    pthread_mutex_lock(&q->lock);
    if (i > q->wanted) {
        q->wanted = i;
        pthread_cond_broadcast(&q->cond);
    }
    if (q->idx[s] != i && q->state == RQ_RUNNING && q->seen < i && r->cfg.frame_deadline > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)(r->cfg.frame_deadline * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        while (q->idx[s] != i && q->state == RQ_RUNNING && q->seen < i)
            if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) != 0) break;
    }
    if (q->idx[s] == i) have = av_frame_ref(r->tmp, q->slot[s]) == 0;
    pthread_mutex_unlock(&q->lock);
    if (!have) {
        atomic_fetch_add(&r->frames_late, 1);
        q->run = 0;
        r->last_n = n;
        r->last_remote = 0;
        return tc_face_render(face, n, mouth, out, changed);
    }
    atomic_fetch_add(&r->frames_remote, 1);
    int N = r->cfg.crossfade;
    /* no fade between two sentences of one message that the provider drew
     * back to back: only from and to the local picture */
    if (i == 0 && q->preceded && r->last_remote && r->last_n == n - 1) q->run = N;
    r->last_n = n;
    r->last_remote = 1;
    double w_in = (double)(q->run + 1) / (N + 1);
    double w_out = atomic_load(&r->followed[q->seq % FOLLOW]) == q->seq ? 1.0 : (double)(q->n_frames - i) / (N + 1);
    double w = w_in < w_out ? w_in : w_out;
    q->run++;
    *changed = 1;
    AVFrame *b = w < 1 ? free_blend(r) : NULL;
    if (b) {
        int ch;
        if (tc_face_render(face, n, mouth, out, &ch) == 0) {
            tc_face_blend(out, r->tmp, (float)w, b);
            av_frame_unref(out);
            av_frame_unref(r->tmp);
            return av_frame_ref(out, b) < 0 ? TC_ERR_NOMEM : TC_OK;
        }
    }
    av_frame_unref(out);
    av_frame_move_ref(out, r->tmp);
    return TC_OK;
}

static void req_release(void *opaque)
{
    req *q = opaque;
    atomic_store(&q->cancel, 1);
    pthread_mutex_lock(&q->lock);
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    req_unref(q);
}

static void forget_last(tc_face_remote *r)
{
    pthread_mutex_lock(&r->lock);
    r->last_seq = -1;
    pthread_mutex_unlock(&r->lock);
}

int tc_face_remote_attach(tc_face_remote *r, tc_segment *seg, int64_t start_frame)
{
    int spf_num = r->cfg.sample_rate * r->cfg.fps_den;
    int64_t n_frames = (seg->n_samples * r->cfg.fps_num + spf_num - 1) / spf_num;
    if (n_frames <= 0) return TC_OK;
    pthread_mutex_lock(&r->lock);
    int have_avatar = r->avatar != NULL;
    pthread_mutex_unlock(&r->lock);
    if (!atomic_load(&r->up) || !have_avatar) {
        atomic_fetch_add(&r->fallbacks, 1);
        forget_last(r);
        return TC_OK;
    }
    req *q = calloc(1, sizeof *q);
    if (!q) return TC_ERR_NOMEM;
    q->r = r;
    q->n_frames = n_frames;
    q->start_frame = start_frame;
    for (int i = 0; i < RING; i++) q->idx[i] = -1;
    q->seen = -1;
    int e = tc_face_wav_encode(seg->pcm, seg->n_samples, r->cfg.sample_rate, &q->wav, &q->wav_len);
    if (e < 0) {
        free(q);
        return e;
    }
    pthread_mutex_lock(&r->lock);
    q->avatar = av_buffer_ref(r->avatar);
    memcpy(q->avatar_id, r->avatar_id, sizeof q->avatar_id);
    memcpy(q->avatar_type, r->avatar_type, sizeof q->avatar_type);
    q->video = r->avatar_video;
    r->inflight++;
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    atomic_store(&q->refs, 2);
    pthread_t th;
    q->group = seg->group;
    pthread_mutex_lock(&r->lock);
    q->seq = r->seq++;
    pthread_mutex_unlock(&r->lock);
    if (!q->avatar || tc_log_thread_create(&th, req_thread, q) != 0) {
        atomic_store(&q->refs, 1);
        req_unref(q);
        atomic_fetch_add(&r->fallbacks, 1);
        forget_last(r);
        return TC_OK;
    }
    pthread_detach(th);
    /* chained to the request before it (see req_picture's fades) */
    pthread_mutex_lock(&r->lock);
    if (r->last_seq >= 0 && r->last_group == q->group && r->last_seq == q->seq - 1) {
        q->preceded = 1;
        atomic_store(&r->followed[r->last_seq % FOLLOW], r->last_seq);
    }
    r->last_seq = q->seq;
    r->last_group = q->group;
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_add(&r->requests, 1);
    seg->frames = (tc_frame_source){ req_picture, req_release, q };
    return TC_OK;
}

/* ---- health ---------------------------------------------------------------------- */

static int probe(tc_face_remote *r)
{
    char url[1200];
    CURL *c = easy(r, "/v1/health", url, sizeof url);
    if (!c) return TC_ERR_NOMEM;
    struct curl_slist *h = auth_headers(r, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->cfg.connect_timeout * 1000) + 2000);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    atomic_fetch_add(&r->health_checks, 1);
    if (cc == CURLE_OK && code == 200) {
        mark_up(r);
        return TC_OK;
    }
    atomic_fetch_add(&r->health_failures, 1);
    char why[160];
    if (cc != CURLE_OK) snprintf(why, sizeof why, "health: %s", curl_easy_strerror(cc));
    else snprintf(why, sizeof why, "health: HTTP %ld%s", code, code == 401 || code == 403 ? " (check the API key)" : "");
    set_error(r, "%s", why);
    if (atomic_load(&r->up)) mark_down(r, why);
    else if (!atomic_exchange(&r->logged_down, 1))
        tc_log(&r->log, TC_LOG_WARN, "face provider %s does not answer (%s): speech is rendered locally", r->url, why);
    return TC_ERR_NET;
}

static void *health_thread(void *arg)
{
    tc_face_remote *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->quit)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)(r->cfg.health_interval * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        if (atomic_load(&r->quit)) break;
        pthread_mutex_unlock(&r->lock);
        probe(r);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- the handle ------------------------------------------------------------------- */

int tc_face_remote_create(tc_face_remote **out, const tc_face_remote_config *cfg)
{
    *out = NULL;
    if (!cfg->url || strncmp(cfg->url, "http", 4) || cfg->width <= 0 || cfg->height <= 0 || cfg->fps_num <= 0 ||
        cfg->fps_den <= 0 || cfg->sample_rate <= 0)
        return TC_ERR_INVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return TC_ERR_IO;
    tc_face_remote *r = calloc(1, sizeof *r);
    if (!r) return TC_ERR_NOMEM;
    r->cfg = *cfg;
    if (r->cfg.connect_timeout <= 0) r->cfg.connect_timeout = 2;
    if (r->cfg.timeout <= 0) r->cfg.timeout = 10;
    if (r->cfg.health_interval <= 0) r->cfg.health_interval = 2;
    if (r->cfg.crossfade < 0) r->cfg.crossfade = 0;
    if (r->cfg.retries < 0) r->cfg.retries = 0;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->upload_lock, NULL);
    r->last_seq = -1;
    for (int i = 0; i < FOLLOW; i++) atomic_store(&r->followed[i], -1);
    pthread_cond_init(&r->cond, NULL);
    int e = TC_ERR_NOMEM;
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/') ul--;
    if (!(r->url = strndup(cfg->url, ul)) || !(r->api_key = strdup(cfg->api_key ? cfg->api_key : "")) ||
        !(r->auth_header = strdup(cfg->auth_header ? cfg->auth_header : "")) ||
        !(r->name = strdup(cfg->name ? cfg->name : "face")))
        goto fail;
    r->log = (tc_log_ctx){ "face-remote", r->name };
    if (!(r->tmp = av_frame_alloc())) goto fail;
    tc_face_config fc = { .width = cfg->width, .height = cfg->height, .pix_fmt = cfg->pix_fmt };
    for (int i = 0; i < BLEND_POOL && cfg->crossfade > 0; i++)
        if ((e = tc_face_alloc_frame(&fc, &r->blend[i])) < 0) goto fail;
    probe(r);
    if (tc_log_thread_create(&r->health_th, health_thread, r) != 0) {
        e = TC_ERR_IO;
        goto fail;
    }
    r->health_started = 1;
    *out = r;
    return TC_OK;
fail:
    tc_face_remote_destroy(r);
    return e;
}

void tc_face_remote_destroy(tc_face_remote *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->quit, 1);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (r->health_started) pthread_join(r->health_th, NULL);
    /* the request threads see their segments released (cancel) and end */
    pthread_mutex_lock(&r->lock);
    while (r->inflight > 0) pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    av_buffer_unref(&r->avatar);
    av_frame_free(&r->tmp);
    for (int i = 0; i < BLEND_POOL; i++) av_frame_free(&r->blend[i]);
    free(r->url);
    free(r->api_key);
    free(r->auth_header);
    free(r->name);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->upload_lock);
    free(r);
}

void tc_face_remote_get_stats(tc_face_remote *r, tc_face_remote_stats *st)
{
    memset(st, 0, sizeof *st);
    st->up = atomic_load(&r->up);
    st->requests = atomic_load(&r->requests);
    st->retries = atomic_load(&r->retries);
    st->failures = atomic_load(&r->failures);
    st->fallbacks = atomic_load(&r->fallbacks);
    st->uploads = atomic_load(&r->uploads);
    st->frames_remote = atomic_load(&r->frames_remote);
    st->frames_late = atomic_load(&r->frames_late);
    st->frames_bad = atomic_load(&r->frames_bad);
    st->frames_resized = atomic_load(&r->frames_resized);
    st->health_checks = atomic_load(&r->health_checks);
    st->health_failures = atomic_load(&r->health_failures);
    pthread_mutex_lock(&r->lock);
    snprintf(st->last_error, sizeof st->last_error, "%s", r->last_error);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the avatar ------------------------------------------------------------------- */

static int png_of(tc_face *face, const tc_face_remote_config *cfg, AVBufferRef **out)
{
    AVFrame *pic = av_frame_alloc(), *rgb = NULL;
    AVCodecContext *enc = NULL;
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    int e = TC_ERR_NOMEM, changed;
    static const tc_mouth shut = { 0 };
    if (!pic || !pkt) goto done;
    if ((e = tc_face_render(face, 0, &shut, pic, &changed)) < 0) goto done;
    e = TC_ERR_NOMEM;
    if (!(rgb = av_frame_alloc())) goto done;
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = pic->width;
    rgb->height = pic->height;
    if (av_frame_get_buffer(rgb, 0) < 0) goto done;
    e = TC_ERR_CODEC;
    if (!(sws = sws_getContext(pic->width, pic->height, pic->format, rgb->width, rgb->height, AV_PIX_FMT_RGB24,
                               SWS_BICUBIC, NULL, NULL, NULL)))
        goto done;
    sws_scale(sws, (const uint8_t *const *)pic->data, pic->linesize, 0, pic->height, rgb->data, rgb->linesize);
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!c || !(enc = avcodec_alloc_context3(c))) goto done;
    enc->width = rgb->width;
    enc->height = rgb->height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){ cfg->fps_den, cfg->fps_num };
    if (avcodec_open2(enc, c, NULL) < 0 || avcodec_send_frame(enc, rgb) < 0 ||
        avcodec_receive_packet(enc, pkt) < 0)
        goto done;
    e = TC_ERR_NOMEM;
    if (!(*out = av_buffer_alloc((size_t)pkt->size))) goto done;
    memcpy((*out)->data, pkt->data, (size_t)pkt->size);
    e = TC_OK;
done:
    sws_freeContext(sws);
    avcodec_free_context(&enc);
    av_packet_free(&pkt);
    av_frame_free(&rgb);
    av_frame_free(&pic);
    return e;
}

static int read_file(const char *path, AVBufferRef **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return TC_ERR_NOTFOUND;
    int e = TC_ERR_IO;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || sz > MAX_AVATAR_BYTES || fseek(f, 0, SEEK_SET) != 0) goto done;
    e = TC_ERR_NOMEM;
    if (!(*out = av_buffer_alloc((size_t)(sz ? sz : 1)))) goto done;
    (*out)->size = (size_t)sz;
    e = fread((*out)->data, 1, (size_t)sz, f) == (size_t)sz ? TC_OK : TC_ERR_IO;
    if (e < 0) av_buffer_unref(out);
done:
    fclose(f);
    return e;
}

int tc_face_remote_set_avatar(tc_face_remote *r, const char *path, tc_face *face)
{
    AVBufferRef *b = NULL;
    int e = path && path[0] ? read_file(path, &b) : face ? png_of(face, &r->cfg, &b) : TC_ERR_INVAL;
    if (e < 0) {
        tc_log(&r->log, TC_LOG_ERROR, "cannot prepare the avatar for the provider: %s", tc_strerror(e));
        return e;
    }
    const uint8_t *d = b->data;
    int png = b->size >= 8 && !memcmp(d, "\x89PNG", 4), jpeg = b->size >= 3 && d[0] == 0xff && d[1] == 0xd8;
    struct AVSHA *sha = av_sha_alloc();
    if (!sha) {
        av_buffer_unref(&b);
        return TC_ERR_NOMEM;
    }
    uint8_t dig[32];
    av_sha_init(sha, 256);
    av_sha_update(sha, b->data, b->size);
    av_sha_final(sha, dig);
    av_free(sha);
    pthread_mutex_lock(&r->lock);
    av_buffer_unref(&r->avatar);
    r->avatar = b;
    for (int i = 0; i < 32; i++) snprintf(r->avatar_id + 2 * i, 3, "%02x", dig[i]);
    snprintf(r->avatar_type, sizeof r->avatar_type, "%s",
             png ? "image/png" : jpeg ? "image/jpeg" : "application/octet-stream");
    r->avatar_video = !png && !jpeg;
    pthread_mutex_unlock(&r->lock);
    tc_log(&r->log, TC_LOG_DEBUG, "avatar for the provider: %s, %zu bytes, id %.12s…",
           png ? "PNG" : jpeg ? "JPEG" : "video", b->size, r->avatar_id);
    return TC_OK;
}
