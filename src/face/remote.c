/* remote.c — the client of a remote talking-face provider (remote.h,
 * docs/face-provider.md).
 *
 * One request per segment, on a detached "face-req" thread that holds a
 * reference to it; the engine holds the other (dropped by release). Frames
 * land in a ring of RING preallocated pictures keyed by frame index: the
 * request thread waits while the ring is RING frames ahead of the engine,
 * and skips frames the engine has passed already. The engine only takes a
 * reference to a slot under the request's lock; a slot still referenced
 * downstream is never written (it gets a fresh buffer instead).
 *
 * This file: the handle, health, the engine side and the avatar;
 * remote_req.c runs the requests, remote_media.c has WAV and blending. */
#include "face/remote_int.h"
#include "face/warp.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/sha.h>

/* ---- small helpers ------------------------------------------------------------ */

void tc_face_rq_error(tc_face_remote *r, const char *fmt, ...)
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

void tc_face_rq_down(tc_face_remote *r, const char *why)
{
    if (atomic_exchange(&r->up, 0))
        tc_log(&r->log, TC_LOG_WARN,
               "face provider is down (%s): speech is rendered locally until it answers", why);
}

void tc_face_rq_up(tc_face_remote *r)
{
    if (!atomic_exchange(&r->up, 1)) tc_log(&r->log, TC_LOG_INFO, "face provider %s is up", r->url);
}

struct curl_slist *tc_face_rq_auth(tc_face_remote *r, struct curl_slist *h)
{
    if (r->api_key && r->api_key[0]) {
        size_t n = strlen(r->api_key) + (r->auth_header ? strlen(r->auth_header) : 0) + 32;
        char *line = malloc(n);
        if (!line) return h;
        if (r->auth_header && r->auth_header[0])
            snprintf(line, n, "%s: %s", r->auth_header, r->api_key);
        else
            snprintf(line, n, "Authorization: Bearer %s", r->api_key);
        struct curl_slist *nh = curl_slist_append(h, line);
        free(line);
        if (nh) h = nh;
    }
    return h;
}

CURL *tc_face_rq_easy(tc_face_remote *r, const char *path, char *url, size_t urlen)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    snprintf(url, urlen, "%s%s", r->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->cfg.connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "talkcast");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->share) curl_easy_setopt(c, CURLOPT_SHARE, r->share);
    return c;
}

void tc_face_rq_count_connects(tc_face_remote *r, CURL *c)
{
    long n = 0;
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0) atomic_fetch_add(&r->connects, n);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *opaque)
{
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_lock(&((tc_face_remote *)opaque)->share_lock[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *opaque)
{
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_unlock(&((tc_face_remote *)opaque)->share_lock[data]);
}

/* One cache for every request thread, a lock per kind of shared data
 * (libcurl holds one while it takes another). Without it each sentence
 * connects anew. */
static void share_init(tc_face_remote *r)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&r->share_lock[i], NULL);
    CURLSH *sh = curl_share_init();
    if (!sh) return;
    if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_USERDATA, r) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        tc_log(&r->log, TC_LOG_WARN, "libcurl cannot share connections here: each request connects anew");
        curl_share_cleanup(sh);
        return;
    }
    r->share = sh;
}

size_t tc_face_rq_discard(char *p, size_t s, size_t n, void *o)
{
    return s * n;
}

/* ---- the engine side ------------------------------------------------------------- */

static AVFrame *free_blend(tc_face_remote *r)
{
    for (int i = 0; i < BLEND_POOL; i++)
        if (r->blend[i] && av_frame_is_writable(r->blend[i])) return r->blend[i];
    return NULL;
}

static int req_picture(void *opaque, int64_t i, tc_face *face, int64_t n, const tc_mouth *mouth,
                       AVFrame *out, int *changed)
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
    double w_out = atomic_load(&r->followed[q->seq % FOLLOW]) == q->seq
                       ? 1.0
                       : (double)(q->n_frames - i) / (N + 1);
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
    tc_face_req_unref(q);
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
    for (int i = 0; i < RING; i++)
        q->idx[i] = -1;
    q->seen = -1;
    int e = tc_face_wav_encode(seg->pcm, seg->n_samples, r->cfg.sample_rate, &q->wav, &q->wav_len);
    if (e < 0) {
        free(q);
        return e;
    }
    pthread_mutex_lock(&r->lock);
    q->avatar = av_buffer_ref(r->avatar);
    q->landmarks = r->landmarks ? av_buffer_ref(r->landmarks) : NULL;
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
    if (!q->avatar || tc_log_thread_create(&th, tc_face_req_thread, q) != 0) {
        atomic_store(&q->refs, 1);
        tc_face_req_unref(q);
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
    seg->frames = (tc_frame_source){req_picture, req_release, q};
    return TC_OK;
}

/* ---- health ---------------------------------------------------------------------- */

static int probe(tc_face_remote *r)
{
    char url[1200];
    CURL *c = tc_face_rq_easy(r, "/v1/health", url, sizeof url);
    if (!c) return TC_ERR_NOMEM;
    struct curl_slist *h = tc_face_rq_auth(r, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tc_face_rq_discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->cfg.connect_timeout * 1000) + 2000);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    atomic_fetch_add(&r->health_checks, 1);
    if (cc == CURLE_OK && code == 200) {
        tc_face_rq_up(r);
        return TC_OK;
    }
    atomic_fetch_add(&r->health_failures, 1);
    char why[160];
    if (cc != CURLE_OK)
        snprintf(why, sizeof why, "health: %s", curl_easy_strerror(cc));
    else
        snprintf(why, sizeof why, "health: HTTP %ld%s", code,
                 code == 401 || code == 403 ? " (check the API key)" : "");
    tc_face_rq_error(r, "%s", why);
    if (atomic_load(&r->up))
        tc_face_rq_down(r, why);
    else if (!atomic_exchange(&r->logged_down, 1))
        tc_log(&r->log, TC_LOG_WARN,
               "face provider %s does not answer (%s): speech is rendered locally", r->url, why);
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
    if (!cfg->url || strncmp(cfg->url, "http", 4) || cfg->width <= 0 || cfg->height <= 0 ||
        cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->sample_rate <= 0)
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
    for (int i = 0; i < FOLLOW; i++)
        atomic_store(&r->followed[i], -1);
    pthread_cond_init(&r->cond, NULL);
    share_init(r);
    int e = TC_ERR_NOMEM;
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/')
        ul--;
    if (!(r->url = strndup(cfg->url, ul)) ||
        !(r->api_key = strdup(cfg->api_key ? cfg->api_key : "")) ||
        !(r->auth_header = strdup(cfg->auth_header ? cfg->auth_header : "")) ||
        !(r->name = strdup(cfg->name ? cfg->name : "face")))
        goto fail;
    r->log = (tc_log_ctx){"face-remote", r->name};
    if (!(r->tmp = av_frame_alloc())) goto fail;
    tc_face_config fc = {.width = cfg->width, .height = cfg->height, .pix_fmt = cfg->pix_fmt};
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
    while (r->inflight > 0)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    if (r->share) curl_share_cleanup(r->share); /* every easy handle is gone by now */
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&r->share_lock[i]);
    av_buffer_unref(&r->avatar);
    av_buffer_unref(&r->landmarks);
    av_frame_free(&r->tmp);
    for (int i = 0; i < BLEND_POOL; i++)
        av_frame_free(&r->blend[i]);
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
    st->connects = atomic_load(&r->connects);
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
    static const tc_mouth shut = {0};
    if (!pic || !pkt) goto done;
    if ((e = tc_face_render(face, 0, &shut, pic, &changed)) < 0) goto done;
    e = TC_ERR_NOMEM;
    if (!(rgb = av_frame_alloc())) goto done;
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = pic->width;
    rgb->height = pic->height;
    if (av_frame_get_buffer(rgb, 0) < 0) goto done;
    e = TC_ERR_CODEC;
    if (!(sws = sws_getContext(pic->width, pic->height, pic->format, rgb->width, rgb->height,
                               AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL)))
        goto done;
    sws_scale(sws, (const uint8_t *const *)pic->data, pic->linesize, 0, pic->height, rgb->data,
              rgb->linesize);
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!c || !(enc = avcodec_alloc_context3(c))) goto done;
    enc->width = rgb->width;
    enc->height = rgb->height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){cfg->fps_den, cfg->fps_num};
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

/* The landmarks that go with the avatar file `path`: `given`, else the
 * sidecar beside it; NULL when there are none (or they cannot be read:
 * logged, the provider then animates without them). */
static AVBufferRef *landmarks_of(tc_face_remote *r, const char *path, const char *given)
{
    if (!path || !path[0]) return NULL;
    char *side = given && given[0] ? NULL : tc_face_landmarks_path(path);
    const char *lp = given && given[0] ? given : side;
    AVBufferRef *lm = NULL;
    if (lp && access(lp, R_OK) == 0) {
        int e = read_file(lp, &lm);
        if (e < 0) tc_log(&r->log, TC_LOG_WARN, "landmarks %s not sent to the provider: %s", lp, tc_strerror(e));
    }
    free(side);
    return lm;
}

int tc_face_remote_avatar_id(const uint8_t *data, size_t n, char hex[65])
{
    struct AVSHA *sha = av_sha_alloc();
    if (!sha) return TC_ERR_NOMEM;
    uint8_t dig[32];
    av_sha_init(sha, 256);
    av_sha_update(sha, n ? data : (const uint8_t *)"", n);
    av_sha_final(sha, dig);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return TC_OK;
}

int tc_face_remote_set_avatar(tc_face_remote *r, const char *path, const char *landmarks, tc_face *face)
{
    AVBufferRef *b = NULL;
    int e = path && path[0] ? read_file(path, &b) : face ? png_of(face, &r->cfg, &b) : TC_ERR_INVAL;
    if (e < 0) {
        tc_log(&r->log, TC_LOG_ERROR, "cannot prepare the avatar for the provider: %s",
               tc_strerror(e));
        return e;
    }
    const uint8_t *d = b->data;
    int png = b->size >= 8 && !memcmp(d, "\x89PNG", 4),
        jpeg = b->size >= 3 && d[0] == 0xff && d[1] == 0xd8;
    char id[65];
    if (tc_face_remote_avatar_id(b->data, b->size, id) < 0) {
        av_buffer_unref(&b);
        return TC_ERR_NOMEM;
    }
    AVBufferRef *lm = landmarks_of(r, path, landmarks);
    pthread_mutex_lock(&r->lock);
    av_buffer_unref(&r->avatar);
    av_buffer_unref(&r->landmarks);
    r->avatar = b;
    r->landmarks = lm;
    r->uploaded_lm[0] = '\0'; /* new landmarks (or none) are sent again */
    memcpy(r->avatar_id, id, sizeof r->avatar_id);
    snprintf(r->avatar_type, sizeof r->avatar_type, "%s",
             png    ? "image/png"
             : jpeg ? "image/jpeg"
                    : "application/octet-stream");
    r->avatar_video = !png && !jpeg;
    pthread_mutex_unlock(&r->lock);
    tc_log(&r->log, TC_LOG_DEBUG, "avatar for the provider: %s, %zu bytes, id %.12s…%s",
           png    ? "PNG"
           : jpeg ? "JPEG"
                  : "video",
           b->size, r->avatar_id, lm ? ", with landmarks" : "");
    return TC_OK;
}
