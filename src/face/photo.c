/* photo.c — any portrait as the avatar: its mouth is made to talk by the
 * shared mouth warp (warp.c) around landmarks from a small JSON next to
 * the image (or --landmarks). Only the landmarks' rectangle is rewritten,
 * only when the mouth changed; frames come from a small pool of copies of
 * the base picture, as in the vector face. With eye landmarks the photo
 * blinks too (the lids slide down, warp.c), on the same seeded rhythm as
 * every avatar. */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"
#include "face/warp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 12
#define POOL_IDLE 300 /* draws a frame beyond the second may sit unused before it is freed */

static const tc_log_ctx log_ctx = { "face", "photo" };

typedef struct photo_priv {
    tc_face_config cfg;
    AVFrame *base;
    tc_face_landmarks *lm;
    int n_lm;
    int rect[4];               /* rewritten rectangle of the mouth */
    int eye_rect[2][4];        /* and of each eye (w = 0: no eye landmarks) */
    AVFrame *pool[POOL_MAX];
    int64_t used[POOL_MAX]; /* the draw that last took each */
    int64_t draws;
    int n_pool;
    AVFrame *last;
    int last_q[6], have_last;  /* mouth (5) and blink (1/16 steps) of `last` */
} photo_priv;

static int photo_init(void *priv, const tc_face_config *cfg)
{
    photo_priv *p = priv;
    p->cfg = *cfg;
    if (!cfg->path) return TC_ERR_INVAL;
    if (cfg->pix_fmt != AV_PIX_FMT_YUV420P && cfg->pix_fmt != AV_PIX_FMT_YUVJ420P) {
        tc_log(&log_ctx, TC_LOG_ERROR, "the photo avatar draws in yuv420p only");
        return TC_ERR_UNSUPPORTED;
    }
    AVFrame *raw;
    int r = tc_face_decode_still(cfg->path, &raw);
    if (r < 0) return r;
    char *lm = cfg->landmarks ? strdup(cfg->landmarks) : tc_face_landmarks_path(cfg->path);
    r = lm ? tc_face_landmarks_load(lm, raw->width, raw->height, cfg, &p->lm, &p->n_lm) : TC_ERR_NOMEM;
    free(lm);
    if (r == TC_OK) r = tc_face_fit_frame(raw, cfg, &p->base);
    av_frame_free(&raw);
    if (r < 0) return r;
    tc_face_warp_rect(&p->lm[0], cfg->width, cfg->height, p->rect);
    for (int e = 0; e < 2; e++) tc_face_eye_rect(&p->lm[0], e, cfg->width, cfg->height, p->eye_rect[e]);
    if (p->lm[0].has_eyes) tc_log(&log_ctx, TC_LOG_DEBUG, "eye landmarks: the photo blinks");
    return p->rect[2] >= 4 && p->rect[3] >= 4 ? TC_OK : TC_ERR_FORMAT;
}

static AVFrame *pool_get(photo_priv *p)
{
    /* frames made while the encoder fell behind go again once the newest
     * has sat unused for POOL_IDLE draws (the oldest free one is taken) */
    int64_t now = ++p->draws;
    int top = p->n_pool - 1;
    if (top >= 2 && p->pool[top] != p->last && now - p->used[top] > POOL_IDLE && av_frame_is_writable(p->pool[top])) {
        av_frame_free(&p->pool[top]);
        p->n_pool--;
    }
    for (int i = 0; i < p->n_pool; i++)
        if (p->pool[i] != p->last && av_frame_is_writable(p->pool[i])) {
            p->used[i] = now;
            return p->pool[i];
        }
    if (p->n_pool == POOL_MAX) return NULL;
    AVFrame *f = av_frame_clone(p->base);
    if (!f || av_frame_make_writable(f) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    p->used[p->n_pool] = now;
    return p->pool[p->n_pool++] = f;
}

static int photo_render(void *priv, int64_t n, const tc_mouth *m, AVFrame *out, int *changed)
{
    photo_priv *p = priv;
    int q[6];
    tc_face_mouth_quantise(m, q);
    q[5] = p->lm[0].has_eyes
               ? (int)lrint(16 * tc_face_blink(p->cfg.seed, n, p->cfg.fps_num, p->cfg.fps_den))
               : 0;
    if (p->have_last && !memcmp(q, p->last_q, sizeof q)) {
        *changed = 0;
        return av_frame_ref(out, p->last) < 0 ? TC_ERR_NOMEM : TC_OK;
    }
    AVFrame *f = pool_get(p);
    if (!f) return TC_ERR_NOMEM;
    for (int e = 0; e < 2; e++) tc_face_warp_eye(p->base, f, &p->lm[0], e, p->eye_rect[e], q[5] / 16.0);
    tc_face_warp_mouth(p->base, f, &p->lm[0], p->rect, q);
    memcpy(p->last_q, q, sizeof q);
    p->have_last = 1;
    p->last = f;
    *changed = 1;
    return av_frame_ref(out, f) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void photo_uninit(void *priv)
{
    photo_priv *p = priv;
    for (int i = 0; i < p->n_pool; i++) av_frame_free(&p->pool[i]);
    av_frame_free(&p->base);
    free(p->lm);
}

/* idle, the same picture forever (but for blinks) */
static int still_period(void *priv)
{
    (void)priv;
    return 1;
}

const tc_face_vtable tc_face_photo = { "photo", sizeof(photo_priv), photo_init, photo_render, photo_uninit, still_period };
