/* video.c — a looping video as the avatar.
 *
 * Output frame n shows the source frame whose display interval covers
 * t = n / fps modulo the loop's duration, so any source rate maps onto the
 * output rate (25 → 30 fps repeats frames, 60 → 30 skips them) and the loop
 * wraps with no gap. Short loops (fitted frames within video_cache_bytes)
 * are decoded once into memory and each render is a reference. Longer ones
 * are decoded on the fly: the decoder runs ahead of the clock and seeks back
 * to the start at the end, into a pool of reused fitted frames. */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"
#include "face/warp.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#define DEFAULT_CACHE_BYTES (256LL << 20)
#define POOL_MAX 6

static const tc_log_ctx log_ctx = { "face", "video" };

typedef struct video_priv {
    tc_face_config cfg;
    char *path;
    /* timeline of the loop, from a demux pass: start time of every frame */
    double *t;               /* seconds from the loop start, ascending */
    int n_frames;
    double duration;         /* of one loop */
    /* cached mode */
    AVFrame **frames;        /* n_frames fitted frames, or NULL when streaming */
    /* streaming mode */
    AVFormatContext *ic;
    AVCodecContext *dc;
    int vi;
    AVPacket *pkt;
    AVFrame *raw;
    struct SwsContext *sws;
    AVFrame *pool[POOL_MAX];
    int n_pool;
    AVFrame *cur;            /* fitted frame for index cur_idx */
    int cur_idx;             /* index into t[] of `cur`, -1 none */
    int64_t cur_cycle;       /* loop iteration the decoder is in */
    int dec_idx;             /* index of the next frame the decoder will return */
    int last_shown;          /* index returned by the previous render, -1 none */
    /* lip-sync: landmarks per source frame (or one set for all), and a
     * pool of frames the mouth warp writes into */
    tc_face_landmarks *lm;
    int n_lm;
    AVFrame *wpool[POOL_MAX];
    int n_wpool;
    AVFrame *wlast;          /* last warped frame returned, NULL none */
    int wlast_idx, wlast_q[5];
} video_priv;

static int av2tc(int r)
{
    return r == AVERROR(ENOENT) ? TC_ERR_NOTFOUND : r == AVERROR(ENOMEM) ? TC_ERR_NOMEM : TC_ERR_FORMAT;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int open_decoder(video_priv *p)
{
    int r = avformat_open_input(&p->ic, p->path, NULL, NULL);
    if (r < 0) goto fail;
    if ((r = avformat_find_stream_info(p->ic, NULL)) < 0) goto fail;
    if ((r = p->vi = av_find_best_stream(p->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) goto fail;
    for (unsigned i = 0; i < p->ic->nb_streams; i++)
        if ((int)i != p->vi) p->ic->streams[i]->discard = AVDISCARD_ALL;
    const AVCodec *codec = avcodec_find_decoder(p->ic->streams[p->vi]->codecpar->codec_id);
    if (!codec) { r = AVERROR_DECODER_NOT_FOUND; goto fail; }
    if (!(p->dc = avcodec_alloc_context3(codec))) { r = AVERROR(ENOMEM); goto fail; }
    avcodec_parameters_to_context(p->dc, p->ic->streams[p->vi]->codecpar);
    p->dc->pkt_timebase = p->ic->streams[p->vi]->time_base;
    if ((r = avcodec_open2(p->dc, codec, NULL)) < 0) goto fail;
    return TC_OK;
fail:
    tc_log(&log_ctx, TC_LOG_ERROR, "cannot open video avatar %s: %s", p->path, av_err2str(r));
    return av2tc(r);
}

static void close_decoder(video_priv *p)
{
    avcodec_free_context(&p->dc);
    avformat_close_input(&p->ic);
}

/* Demux once (no decoding) to learn every frame's display time. */
static int scan_timeline(video_priv *p)
{
    AVStream *st = p->ic->streams[p->vi];
    int cap = 1024, n = 0;
    double *t = malloc((size_t)cap * sizeof *t);
    if (!t) return TC_ERR_NOMEM;
    AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    double fdur = fr.num ? av_q2d(av_inv_q(fr)) : 1.0 / 25;
    int r;
    while ((r = av_read_frame(p->ic, p->pkt)) >= 0) {
        if (p->pkt->stream_index == p->vi) {
            int64_t ts = p->pkt->pts != AV_NOPTS_VALUE ? p->pkt->pts : p->pkt->dts;
            double sec = ts != AV_NOPTS_VALUE ? ts * av_q2d(st->time_base) : n * fdur;
            if (n == cap) {
                double *nt = realloc(t, (size_t)(cap *= 2) * sizeof *t);
                if (!nt) { free(t); av_packet_unref(p->pkt); return TC_ERR_NOMEM; }
                t = nt;
            }
            t[n++] = sec;
        }
        av_packet_unref(p->pkt);
    }
    if (n == 0) {
        free(t);
        tc_log(&log_ctx, TC_LOG_ERROR, "video avatar %s has no frames", p->path);
        return TC_ERR_FORMAT;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double); /* decode order → display order */
    double t0 = t[0];
    for (int i = 0; i < n; i++) t[i] -= t0;
    p->t = t;
    p->n_frames = n;
    p->duration = t[n - 1] + (n > 1 ? (t[n - 1] - t[0]) / (n - 1) : fdur);
    if (p->duration <= 0) p->duration = fdur;
    return TC_OK;
}

static int rewind_decoder(video_priv *p)
{
    int r = av_seek_frame(p->ic, p->vi, p->ic->streams[p->vi]->start_time != AV_NOPTS_VALUE
                                            ? p->ic->streams[p->vi]->start_time : 0,
                          AVSEEK_FLAG_BACKWARD);
    if (r < 0) r = avformat_seek_file(p->ic, -1, INT64_MIN, 0, 0, 0);
    avcodec_flush_buffers(p->dc);
    p->dec_idx = 0;
    return r < 0 ? TC_ERR_IO : TC_OK;
}

/* Decode the next frame in display order into p->raw. TC_ERR_EOF at the end. */
static int decode_next(video_priv *p)
{
    for (;;) {
        int r = avcodec_receive_frame(p->dc, p->raw);
        if (r == 0) return TC_OK;
        if (r == AVERROR_EOF) return TC_ERR_EOF;
        if (r != AVERROR(EAGAIN)) return TC_ERR_FORMAT;
        r = av_read_frame(p->ic, p->pkt);
        if (r == AVERROR_EOF) {
            avcodec_send_packet(p->dc, NULL);
            continue;
        }
        if (r < 0) return TC_ERR_IO;
        if (p->pkt->stream_index == p->vi) avcodec_send_packet(p->dc, p->pkt);
        av_packet_unref(p->pkt);
    }
}

static AVFrame *pool_get(video_priv *p)
{
    for (int i = 0; i < p->n_pool; i++)
        if (p->pool[i] != p->cur && av_frame_is_writable(p->pool[i])) return p->pool[i];
    if (p->n_pool == POOL_MAX) return NULL;
    AVFrame *f;
    if (tc_face_alloc_frame(&p->cfg, &f) < 0) return NULL;
    return p->pool[p->n_pool++] = f;
}

static int decode_all(video_priv *p, int64_t budget)
{
    AVFrame *probe;
    if (tc_face_alloc_frame(&p->cfg, &probe) < 0) return TC_ERR_NOMEM;
    int64_t per = 0;
    for (int i = 0; i < 4 && probe->buf[i]; i++) per += (int64_t)probe->buf[i]->size;
    av_frame_free(&probe);
    if (per * p->n_frames > budget) return TC_ERR_AGAIN; /* too long: stream it */

    if (!(p->frames = calloc((size_t)p->n_frames, sizeof *p->frames))) return TC_ERR_NOMEM;
    int i = 0, r;
    while (i < p->n_frames && (r = decode_next(p)) == TC_OK) {
        if ((r = tc_face_alloc_frame(&p->cfg, &p->frames[i])) < 0) return r;
        if ((r = tc_face_fit_into(&p->sws, p->raw, &p->cfg, p->frames[i])) < 0) return r;
        av_frame_unref(p->raw);
        i++;
    }
    /* Fewer decodable frames than packets: stretch the last one. */
    for (; i < p->n_frames; i++) {
        if (i == 0) return TC_ERR_FORMAT;
        if (!(p->frames[i] = av_frame_clone(p->frames[i - 1]))) return TC_ERR_NOMEM;
    }
    return TC_OK;
}

static int video_init(void *priv, const tc_face_config *cfg)
{
    video_priv *p = priv;
    p->cfg = *cfg;
    p->cur_idx = p->last_shown = -1;
    if (!cfg->path || !(p->path = strdup(cfg->path))) return cfg->path ? TC_ERR_NOMEM : TC_ERR_INVAL;
    p->cfg.path = p->path;
    if (!(p->pkt = av_packet_alloc()) || !(p->raw = av_frame_alloc())) return TC_ERR_NOMEM;
    int r = open_decoder(p);
    if (r < 0) return r;
    if ((r = scan_timeline(p)) < 0) return r;
    /* landmarks make the loop talk: --landmarks, or <video>.landmarks.json */
    char *lm = cfg->landmarks ? strdup(cfg->landmarks) : tc_face_landmarks_path(cfg->path);
    if (!lm) return TC_ERR_NOMEM;
    if (cfg->landmarks || access(lm, R_OK) == 0) {
        const AVCodecParameters *par = p->ic->streams[p->vi]->codecpar;
        r = tc_face_landmarks_load(lm, par->width, par->height, &p->cfg, &p->lm, &p->n_lm);
        if (r == TC_OK && p->n_lm != 1 && p->n_lm != p->n_frames) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s has %d landmark sets for a loop of %d frames (give 1 or %d)", lm,
                   p->n_lm, p->n_frames, p->n_frames);
            r = TC_ERR_FORMAT;
        }
        if (r == TC_OK && p->cfg.pix_fmt != AV_PIX_FMT_YUV420P && p->cfg.pix_fmt != AV_PIX_FMT_YUVJ420P) {
            tc_log(&log_ctx, TC_LOG_ERROR, "lip-sync on video loops draws in yuv420p only");
            r = TC_ERR_UNSUPPORTED;
        }
    }
    free(lm);
    if (r < 0) return r;
    if ((r = rewind_decoder(p)) < 0) {
        /* Some inputs cannot seek: reopen instead. */
        close_decoder(p);
        if ((r = open_decoder(p)) < 0) return r;
    }
    int64_t budget = cfg->video_cache_bytes > 0 ? cfg->video_cache_bytes : DEFAULT_CACHE_BYTES;
    r = decode_all(p, budget);
    if (r == TC_OK) {
        close_decoder(p); /* everything is in memory */
        tc_log(&log_ctx, TC_LOG_INFO, "loop of %d frames (%.2f s) decoded into memory", p->n_frames,
               p->duration);
        return TC_OK;
    }
    if (r != TC_ERR_AGAIN) return r;
    tc_log(&log_ctx, TC_LOG_INFO, "loop of %d frames (%.2f s) is decoded on the fly", p->n_frames,
           p->duration);
    return rewind_decoder(p);
}

/* Index of the frame shown at loop time `t` (largest i with t[i] <= t). */
static int frame_at(const video_priv *p, double t)
{
    int lo = 0, hi = p->n_frames - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (p->t[mid] <= t + 1e-9) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int stream_to(video_priv *p, int idx, int64_t cycle)
{
    if (cycle != p->cur_cycle || idx < p->cur_idx) {
        int r = rewind_decoder(p);
        if (r < 0) return r;
        p->cur_cycle = cycle;
        p->cur_idx = -1;
    }
    while (p->cur_idx < idx) {
        int r = decode_next(p);
        if (r == TC_ERR_EOF) { /* fewer frames than the scan said: hold the last */
            if (p->cur) break;
            return TC_ERR_FORMAT;
        }
        if (r < 0) return r;
        p->dec_idx++;
        if (p->dec_idx - 1 == idx || !p->cur) { /* fit only frames that will be shown */
            AVFrame *f = pool_get(p);
            if (!f) { av_frame_unref(p->raw); return TC_ERR_NOMEM; }
            r = tc_face_fit_into(&p->sws, p->raw, &p->cfg, f);
            if (r < 0) { av_frame_unref(p->raw); return r; }
            p->cur = f;
        }
        av_frame_unref(p->raw);
        p->cur_idx = p->dec_idx - 1;
    }
    return TC_OK;
}

static int video_render(void *priv, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed)
{
    video_priv *p = priv;
    double t = (double)n * p->cfg.fps_den / p->cfg.fps_num;
    int64_t cycle = (int64_t)(t / p->duration);
    double tl = t - (double)cycle * p->duration;
    if (tl < 0) tl = 0;
    int idx = frame_at(p, tl);
    AVFrame *f;
    if (p->frames) {
        f = p->frames[idx];
    } else {
        int r = stream_to(p, idx, cycle);
        if (r < 0) return r;
        f = p->cur;
    }
    int q[5];
    tc_face_mouth_quantise(mouth, q);
    if (p->lm && (q[0] || q[2] || q[3] || q[4])) {
        /* a talking frame: this loop frame with its mouth warped */
        if (p->wlast && p->wlast_idx == idx && !memcmp(q, p->wlast_q, sizeof q)) {
            *changed = 0;
            return av_frame_ref(out, p->wlast) < 0 ? TC_ERR_NOMEM : TC_OK;
        }
        AVFrame *w = NULL;
        for (int i = 0; i < p->n_wpool && !w; i++)
            if (p->wpool[i] != p->wlast && av_frame_is_writable(p->wpool[i])) w = p->wpool[i];
        if (!w && p->n_wpool < POOL_MAX && tc_face_alloc_frame(&p->cfg, &w) == TC_OK) p->wpool[p->n_wpool++] = w;
        if (!w) return TC_ERR_NOMEM;
        if (av_frame_copy(w, f) < 0) return TC_ERR_NOMEM;
        const tc_face_landmarks *l = &p->lm[p->n_lm == 1 ? 0 : idx % p->n_lm];
        int rect[4];
        tc_face_warp_rect(l, p->cfg.width, p->cfg.height, rect);
        tc_face_warp_mouth(f, w, l, rect, q);
        p->wlast = w;
        p->wlast_idx = idx;
        memcpy(p->wlast_q, q, sizeof q);
        p->last_shown = -1;
        *changed = 1;
        return av_frame_ref(out, w) < 0 ? TC_ERR_NOMEM : TC_OK;
    }
    *changed = idx != p->last_shown || p->wlast; /* same index = same picture, in any cycle */
    p->last_shown = idx;
    p->wlast = NULL;
    return av_frame_ref(out, f) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void video_uninit(void *priv)
{
    video_priv *p = priv;
    for (int i = 0; i < p->n_wpool; i++) av_frame_free(&p->wpool[i]);
    free(p->lm);
    if (p->frames)
        for (int i = 0; i < p->n_frames; i++) av_frame_free(&p->frames[i]);
    free(p->frames);
    for (int i = 0; i < p->n_pool; i++) av_frame_free(&p->pool[i]);
    close_decoder(p);
    av_packet_free(&p->pkt);
    av_frame_free(&p->raw);
    sws_freeContext(p->sws);
    free(p->t);
    free(p->path);
}

/* idle_period NULL: the loop's own motion does not repeat within a short,
 * pre-encodable window (and its length need not fit one). */
const tc_face_vtable tc_face_video = { "video", sizeof(video_priv), video_init, video_render, video_uninit, NULL };
