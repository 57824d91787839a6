/* remote_req.c — one segment's request to the face provider, on its own
 * detached thread: upload the avatar if the provider lacks it, POST the
 * audio, parse the multipart answer as it streams in, decode each frame
 * and fit it into the segment's ring (see remote.c for the ring's rules),
 * retry with back-off what failed before its first frame. */
#include "face/remote_int.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- a request ------------------------------------------------------------------ */

void tc_face_req_unref(req *q)
{
    if (atomic_fetch_sub(&q->refs, 1) != 1) return;
    tc_face_remote *r = q->r;
    for (int i = 0; i < RING; i++)
        av_frame_free(&q->slot[i]);
    free(q->wav);
    av_buffer_unref(&q->avatar);
    av_buffer_unref(&q->landmarks);
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
    int which = !strcasecmp(part->content_type, "image/jpeg")  ? 0
                : !strcasecmp(part->content_type, "image/png") ? 1
                                                               : -1;
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
    if (part->len > MAX_FRAME_BYTES || av_new_packet(q->pkt, (int)part->len) < 0)
        return TC_ERR_NOMEM;
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
            tc_log(&r->log, TC_LOG_WARN,
                   "provider sends %dx%d frames for a %dx%d stream: they are fitted (logged once)",
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
    if (!av_frame_is_writable(q->slot[s]) && av_frame_make_writable(q->slot[s]) < 0)
        return TC_ERR_NOMEM;
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
        if (e == TC_ERR_FORMAT)
            snprintf(q->errbody, ERR_BODY, "malformed multipart stream after %lld parts",
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
static int upload_file(req *q);
static void upload_landmarks(req *q);

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
    int have = !strcmp(r->uploaded_id, q->avatar_id), have_lm = !q->landmarks || !strcmp(r->uploaded_lm, q->avatar_id);
    pthread_mutex_unlock(&r->lock);
    if (have && have_lm) return TC_OK;
    if (!have) {
        int e = upload_file(q);
        if (e < 0) return e;
    }
    if (!have_lm) upload_landmarks(q);
    pthread_mutex_lock(&r->lock);
    snprintf(r->uploaded_id, sizeof r->uploaded_id, "%s", q->avatar_id);
    if (q->landmarks) snprintf(r->uploaded_lm, sizeof r->uploaded_lm, "%s", q->avatar_id);
    pthread_mutex_unlock(&r->lock);
    return TC_OK;
}

/* The landmarks extension: PUT /v1/avatars/{id}/landmarks. Optional for a
 * provider (404/405/501: it animates without them); never fails a request. */
static void upload_landmarks(req *q)
{
    tc_face_remote *r = q->r;
    char path[160], url[1200];
    snprintf(path, sizeof path, "/v1/avatars/%s/landmarks", q->avatar_id);
    CURL *c = tc_face_rq_easy(r, path, url, sizeof url);
    if (!c) return;
    struct curl_slist *h = tc_face_rq_auth(r, NULL);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->landmarks->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->landmarks->size);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tc_face_rq_discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->cfg.timeout * 1000));
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    tc_face_rq_count_connects(r, c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (cc == CURLE_OK && (code == 200 || code == 201 || code == 204))
        tc_log(&r->log, TC_LOG_INFO, "landmarks of avatar %.12s… sent to the provider", q->avatar_id);
    else if (cc == CURLE_OK && (code == 404 || code == 405 || code == 501))
        tc_log(&r->log, TC_LOG_INFO, "the provider takes no landmarks (HTTP %ld): it animates the avatar without them",
               code);
    else
        tc_log(&r->log, TC_LOG_WARN, "landmarks of avatar %.12s… not taken: %s%ld", q->avatar_id,
               cc != CURLE_OK ? curl_easy_strerror(cc) : "HTTP ", cc != CURLE_OK ? 0L : code);
}

/* The avatar file itself: HEAD, and PUT when the provider lacks it. */
static int upload_file(req *q)
{
    tc_face_remote *r = q->r;
    char path[128], url[1200];
    snprintf(path, sizeof path, "/v1/avatars/%s", q->avatar_id);
    long code = 0;
    for (int put = 0; put < 2; put++) {
        CURL *c = tc_face_rq_easy(r, path, url, sizeof url);
        if (!c) return TC_ERR_NOMEM;
        struct curl_slist *h = tc_face_rq_auth(r, NULL);
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
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tc_face_rq_discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->cfg.timeout * 1000));
        CURLcode cc = curl_easy_perform(c);
        code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        tc_face_rq_count_connects(r, c);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        if (cc != CURLE_OK) {
            tc_face_rq_error(r, "avatar upload: %s", curl_easy_strerror(cc));
            return TC_ERR_NET;
        }
        if (!put && code == 200) break;
        if (!put && code == 404) continue;
        if (put && (code == 200 || code == 201 || code == 204)) {
            atomic_fetch_add(&r->uploads, 1);
            tc_log(&r->log, TC_LOG_INFO, "avatar %.12s… uploaded to the provider (%zu bytes)",
                   q->avatar_id, q->avatar->size);
            break;
        }
        tc_face_rq_error(r, "avatar %s: HTTP %ld", put ? "upload" : "check", code);
        return code == 401 || code == 403 ? TC_ERR_INVAL : TC_ERR_NET;
    }
    return TC_OK;
}

/* One attempt. TC_OK: the stream ended well; TC_ERR_AGAIN: worth a retry. */
static int generate(req *q)
{
    tc_face_remote *r = q->r;
    char path[400], url[1400];
    snprintf(path, sizeof path,
             "/v1/generate?avatar=%s&mode=%s&start=%lld&fps=%d/%d&width=%d&height=%d&frames=%lld",
             q->avatar_id, q->video ? "video" : "audio", (long long)q->start_frame, r->cfg.fps_num,
             r->cfg.fps_den, r->cfg.width, r->cfg.height, (long long)q->n_frames);
    CURL *c = tc_face_rq_easy(r, path, url, sizeof url);
    if (!c) return TC_ERR_NOMEM;
    q->curl = c;
    q->code = 0;
    q->ctype[0] = '\0';
    q->errbody[0] = '\0';
    q->errlen = 0;
    q->stalled = 0;
    q->mp_ok = 0;
    q->last_data_ns = tc_now_ns();
    struct curl_slist *h = tc_face_rq_auth(r, NULL);
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
    tc_face_rq_count_connects(r, c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    q->curl = NULL;
    int done = q->mp_ok && tc_face_mp_done(&q->mp);
    tc_face_mp_free(&q->mp);
    if (atomic_load(&q->cancel)) return TC_ERR_CLOSED;
    if (cc == CURLE_OK && q->code == 200 && done) return TC_OK;
    int again = 0, down = 0;
    if (q->code == 200 || cc == CURLE_WRITE_ERROR || cc == CURLE_ABORTED_BY_CALLBACK) {
        if (q->stalled)
            tc_face_rq_error(r, "provider sent nothing for %.1f s (after %lld frames)",
                             r->cfg.timeout, (long long)q->got);
        else if (q->errbody[0])
            tc_face_rq_error(r, "%s", q->errbody);
        else
            tc_face_rq_error(r, "stream ended after %lld of %lld frames: %s", (long long)q->got,
                             (long long)q->n_frames,
                             cc == CURLE_OK ? "no closing boundary" : curl_easy_strerror(cc));
        again = q->got == 0;
        down = q->stalled || cc != CURLE_OK;
    } else if (cc != CURLE_OK) {
        tc_face_rq_error(r, "%s", curl_easy_strerror(cc));
        again = down = 1;
    } else {
        tc_face_rq_error(r, "generate: HTTP %ld %.100s", q->code, q->errbody);
        again =
            q->code == 429 || q->code >= 500 || q->code == 404; /* 404: avatar lost, upload again */
        down = q->code >= 500 || q->code == 401 || q->code == 403;
        if (q->code == 404) {
            pthread_mutex_lock(&r->lock);
            r->uploaded_id[0] = r->uploaded_lm[0] = '\0';
            pthread_mutex_unlock(&r->lock);
        }
    }
    if (down) {
        char why[160];
        pthread_mutex_lock(&r->lock);
        snprintf(why, sizeof why, "%s", r->last_error);
        pthread_mutex_unlock(&r->lock);
        tc_face_rq_down(r, why);
    }
    if (q->code == 404) return TC_ERR_NOTFOUND; /* the avatar is gone: upload it again at once */
    return again ? TC_ERR_AGAIN : TC_ERR_NET;
}

void *tc_face_req_thread(void *arg)
{
    req *q = arg;
    tc_face_remote *r = q->r;
    tc_backoff bo;
    tc_backoff_init(&bo, 0.2, 2.0, (uint64_t)(uintptr_t)q ^ (uint64_t)tc_now_ns());
    q->fc = (tc_face_config){.width = r->cfg.width,
                             .height = r->cfg.height,
                             .pix_fmt = r->cfg.pix_fmt,
                             .fps_num = r->cfg.fps_num,
                             .fps_den = r->cfg.fps_den,
                             .fit = r->cfg.fit};
    int e = TC_ERR_NET;
    int reuploaded = 0;
    for (int attempt = 0; !atomic_load(&q->cancel); attempt++) {
        e = upload_avatar(q);
        if (e == TC_OK)
            e = generate(q);
        else if (e == TC_ERR_NET) {
            e = TC_ERR_AGAIN;
            tc_face_rq_down(r, "avatar upload failed");
        }
        if (e == TC_ERR_NOTFOUND && !reuploaded++ && !q->got) { /* a provider restarted: no back-off */
            atomic_fetch_add(&r->retries, 1);
            attempt--;
            continue;
        }
        if (e == TC_ERR_NOTFOUND) e = TC_ERR_NET;
        if (e != TC_ERR_AGAIN || attempt >= r->cfg.retries || q->got) break;
        atomic_fetch_add(&r->retries, 1);
        int64_t until = tc_now_ns() + (int64_t)(tc_backoff_next(&bo) * 1e9);
        while (!atomic_load(&q->cancel) && tc_now_ns() < until)
            usleep(20000);
    }
    if (e == TC_OK) {
        if (q->got < q->n_frames)
            tc_log(&r->log, TC_LOG_DEBUG, "segment: %lld of %lld frames from the provider",
                   (long long)q->got, (long long)q->n_frames);
    } else if (e != TC_ERR_CLOSED && !atomic_load(&q->cancel)) {
        atomic_fetch_add(&r->failures, 1);
        char why[160];
        pthread_mutex_lock(&r->lock);
        snprintf(why, sizeof why, "%s", r->last_error);
        pthread_mutex_unlock(&r->lock);
        tc_log(&r->log, TC_LOG_WARN,
               "face request failed after %lld frames: %s; the local face fills in",
               (long long)q->got, why);
    }
    req_set_state(q, e == TC_OK ? RQ_ENDED : RQ_FAILED);
    for (int i = 0; i < 2; i++)
        avcodec_free_context(&q->dec[i]);
    av_packet_free(&q->pkt);
    av_frame_free(&q->frame);
    sws_freeContext(q->sws);
    tc_face_req_unref(q);
    return NULL;
}
