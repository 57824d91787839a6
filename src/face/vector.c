/* vector.c — the zero-asset default avatar ("vector"): a friendly face drawn
 * in code (vector_draw.c), so `talkcast run` works with no configuration.
 *
 * Cost model: the background, body and head never change, so they are
 * drawn once at init (ARGB `base`) and converted once into the output
 * format (`base_frame`). Each render quantises the face state (mouth
 * parameters and blink, in steps of 1/64); an unchanged state returns
 * another reference to the previous frame (*changed = 0, no work at all).
 * A new state is written into a pool frame nobody else references, and
 * only where that frame is out of date: the face rectangle is two bands,
 * eyes and mouth, and each pool frame remembers which eyes and which mouth
 * it shows, so speech redraws and converts just the mouth band.
 * Breathing (cfg->breathing) lifts the body by up to a few pixels in
 * whole-pixel steps: a third band below the face rectangle, drawn at init
 * for every step, so a breath costs a copy when its step changes.
 *
 * Invariant: every pool frame equals base_frame outside the face rectangle
 * and the body band
 * (copied once when the frame is made; afterwards only the bands are
 * written), and inside each band it shows exactly what its slot records.
 * The pool grows only while every frame is held downstream, up to
 * POOL_MAX; past that render reports TC_ERR_AGAIN and the engine drops the
 * tick. Steady state allocates no frames, surfaces or contexts (cairo
 * itself makes a few small transient allocations per fill). */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"
#include "face/vector_draw.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define POOL_INIT 2  /* frames made at init: one held downstream, one drawn */
#define POOL_MAX  16 /* the engine holds at most 8 in flight; leave headroom */
#define POOL_IDLE 300 /* draws a slot beyond POOL_INIT may sit unused before it is freed */
#define QUANT     64 /* face parameters are compared in steps of 1/QUANT */

static const tc_log_ctx log_ctx = { "face", "vector" };

/* Everything that decides the face rectangle's pixels, quantised. The
 * eyes depend on `blink` only, the mouth on the other five. */
typedef struct face_state {
    int blink, open, width, round, press, teeth;
    int breath; /* body lift in whole pixels */
} face_state;

enum { EYES, MOUTH, BODY, N_BANDS };

/* One band of the picture that can change, and its drawing tools. */
typedef struct band {
    int x, y, w, h;         /* in the frame */
    cairo_surface_t *s;     /* ARGB32 scratch, rect width x h */
    cairo_t *cr;            /* draws on s, kept for the instance's life */
    struct SwsContext *sws; /* s -> output format */
    uint8_t *bg;            /* the base picture under the band (ARGB32, w * 4 a row), or NULL */
} band;

typedef struct slot {
    AVFrame *f;
    face_state st;  /* what f shows, valid where drawn[] says so */
    int drawn[N_BANDS];
    int64_t used;   /* the draw that last took it */
} slot;

struct priv {
    uint32_t seed; /* config kept for blinks and breathing */
    AVFrame **lifts;  /* the body band at each lift, -max_lift..max_lift, in the output format */
    int max_lift;     /* pixels */
    int fps_num, fps_den;
    int breath_frames; /* frames per breath */
    tc_vector_palette pal;
    tc_vector_geom geom;
    cairo_surface_t *base; /* the base layer, full frame, ARGB32; only during init (bands keep their part) */
    AVFrame *base_frame;   /* the base layer in the output format */
    band bands[N_BANDS];
    slot pool[POOL_MAX];
    int n_pool;
    int64_t draws; /* pool_get calls */
    slot *last; /* returned last time; NULL before the first render */
    int warned_full;
};

static int quant(float v)
{
    if (!(v > 0)) return 0; /* also NaN */
    return v < 1 ? (int)lrintf(v * QUANT) : QUANT;
}

/* How shut the eyes are at frame n, 0..QUANT (face.c has the schedule). */
static int blink_level(uint32_t seed, int64_t n, int fps_num, int fps_den)
{
    return (int)lrint(tc_face_blink(seed, n, fps_num, fps_den) * QUANT);
}

/* Breathing: the body rises and falls by up to TC_VECTOR_BREATH_MAX units
 * about every 4.2 s (14 breaths a minute; a whole number of frames, so the
 * idle picture repeats exactly), with a phase from the seed, in whole-pixel
 * steps (finer steps cost the encoder more than they show). */
static int breath_level(const struct priv *p, int64_t n)
{
    if (!p->max_lift) return 0;
    double phase = (double)(p->seed % 1000) / 1000.0;
    int l = (int)lrint(p->max_lift * sin(2 * M_PI * ((double)(n % p->breath_frames) / p->breath_frames + phase)));
    return l < -p->max_lift ? -p->max_lift : l > p->max_lift ? p->max_lift : l;
}

static int same_band(const face_state *a, const face_state *b, int which)
{
    if (which == EYES) return a->blink == b->blink;
    if (which == BODY) return a->breath == b->breath;
    return a->open == b->open && a->width == b->width && a->round == b->round &&
           a->press == b->press && a->teeth == b->teeth;
}

static struct SwsContext *make_sws(int w, int h, enum AVPixelFormat dst)
{
    struct SwsContext *s = sws_getContext(w, h, AV_PIX_FMT_RGB32, w, h, dst,
                                          SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dst);
    if (s && !(d->flags & AV_PIX_FMT_FLAG_RGB)) {
        /* the encoder tags its stream BT.709; keep the range sws picked */
        int *inv, *tbl, src_range, dst_range, bri, con, sat;
        sws_getColorspaceDetails(s, &inv, &src_range, &tbl, &dst_range, &bri, &con, &sat);
        sws_setColorspaceDetails(s, inv, 1, sws_getCoefficients(SWS_CS_ITU709), dst_range, bri, con,
                                 sat);
    }
    return s;
}

/* Convert the ARGB32 surface `s` into `f` at the pixel offset (x, y). */
static void convert(struct SwsContext *sws, cairo_surface_t *s, AVFrame *f, int x, int y)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    const uint8_t *src[1] = { cairo_image_surface_get_data(s) };
    const int src_stride[1] = { cairo_image_surface_get_stride(s) };
    uint8_t *dst[4] = { NULL };
    for (int i = 0; i < 4 && f->data[i]; i++) {
        int sub = (i == 1 || i == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB) ? d->log2_chroma_h : 0;
        int xb = av_image_get_linesize(f->format, x, i);
        dst[i] = f->data[i] + (ptrdiff_t)(y >> sub) * f->linesize[i] + (xb > 0 ? xb : 0);
    }
    sws_scale(sws, src, src_stride, 0, cairo_image_surface_get_height(s), dst, f->linesize);
}

/* Copy the band picture `src` (in the output format) into f at (x, y). */
static void copy_band(const AVFrame *src, AVFrame *f, int x, int y)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    for (int i = 0; i < 4 && f->data[i]; i++) {
        int chroma = (i == 1 || i == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int sub = chroma ? d->log2_chroma_h : 0;
        int xb = av_image_get_linesize(f->format, x, i), row = av_image_get_linesize(f->format, src->width, i);
        uint8_t *dst = f->data[i] + (ptrdiff_t)(y >> sub) * f->linesize[i] + (xb > 0 ? xb : 0);
        int rows = -((-src->height) >> sub);
        for (int r = 0; r < rows; r++)
            memcpy(dst + (ptrdiff_t)r * f->linesize[i], src->data[i] + (ptrdiff_t)r * src->linesize[i], (size_t)row);
    }
}

/* Breathing: the body band drawn once for every lift, so that a breath
 * costs a copy, not a drawing. */
static int lifts_init(struct priv *p, enum AVPixelFormat fmt)
{
    const tc_vector_geom *g = &p->geom;
    band *b = &p->bands[BODY];
    p->max_lift = (int)floor(TC_VECTOR_BREATH_MAX * g->u);
    if (!b->s || p->max_lift < 1) {
        p->max_lift = 0;
        return TC_OK;
    }
    if (!(p->lifts = calloc((size_t)(2 * p->max_lift + 1), sizeof *p->lifts))) return TC_ERR_NOMEM;
    for (int k = -p->max_lift; k <= p->max_lift; k++) {
        AVFrame *f = p->lifts[k + p->max_lift] = av_frame_alloc();
        if (!f) return TC_ERR_NOMEM;
        f->format = fmt;
        f->width = b->w;
        f->height = b->h;
        if (av_frame_get_buffer(f, 0) < 0) return TC_ERR_NOMEM;
        cairo_save(b->cr);
        cairo_translate(b->cr, -b->x, -b->y);
        tc_vector_draw_base_lifted(b->cr, g, &p->pal, k / g->u);
        cairo_restore(b->cr);
        cairo_surface_flush(b->s);
        convert(b->sws, b->s, f, 0, 0);
    }
    return TC_OK;
}

/* A new pool slot whose frame holds the base picture and no face. */
static int pool_add(struct priv *p, slot **out)
{
    if (p->n_pool == POOL_MAX) return TC_ERR_AGAIN;
    AVFrame *f = av_frame_alloc();
    if (!f) return TC_ERR_NOMEM;
    f->format = p->base_frame->format;
    f->width = p->base_frame->width;
    f->height = p->base_frame->height;
    if (av_frame_get_buffer(f, 0) < 0 || av_frame_copy(f, p->base_frame) < 0 ||
        av_frame_copy_props(f, p->base_frame) < 0) {
        av_frame_free(&f);
        return TC_ERR_NOMEM;
    }
    slot *s = &p->pool[p->n_pool++];
    memset(s, 0, sizeof *s);
    s->f = f;
    *out = s;
    return TC_OK;
}

/* The slot to draw `st` into: of those only the pool references (maybe
 * `last`, if the caller already let go of it), the one that needs the least
 * redrawing (the eyes cost more than the mouth); a new one if all are held. */
static int pool_get(struct priv *p, const face_state *st, slot **out)
{
    /* Slots made while the encoder fell behind are let go again once the
     * newest has sat unused for POOL_IDLE draws: a stall leaves no lasting
     * memory behind (the scores below prefer the older slots on a tie). */
    p->draws++;
    if (p->n_pool > POOL_INIT) {
        slot *top = &p->pool[p->n_pool - 1];
        if (top != p->last && p->draws - top->used > POOL_IDLE && av_frame_is_writable(top->f)) {
            av_frame_free(&top->f);
            p->n_pool--;
        }
    }
    int best = -1, best_score = -1;
    for (int i = 0; i < p->n_pool; i++) {
        const slot *s = &p->pool[i];
        if (!av_frame_is_writable(s->f)) continue;
        int score = 4 * (s->drawn[BODY] && same_band(&s->st, st, BODY)) +
                    2 * (s->drawn[EYES] && same_band(&s->st, st, EYES)) +
                    (s->drawn[MOUTH] && same_band(&s->st, st, MOUTH));
        if (score > best_score) {
            best = i;
            best_score = score;
        }
    }
    if (best < 0) {
        int r = pool_add(p, out);
        if (r == TC_OK) (*out)->used = p->draws;
        return r;
    }
    *out = &p->pool[best];
    (*out)->used = p->draws;
    return TC_OK;
}

static int band_init(struct priv *p, int which, int x, int y, int w, int h, enum AVPixelFormat fmt)
{
    band *b = &p->bands[which];
    b->x = x;
    b->y = y;
    b->w = w;
    b->h = h;
    if (w <= 0 || h <= 0) return TC_OK; /* nothing there (a frame too small for a body) */
    b->s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    b->cr = cairo_create(b->s);
    if (cairo_status(b->cr)) return TC_ERR_NOMEM;
    return (b->sws = make_sws(w, h, fmt)) ? TC_OK : TC_ERR_UNSUPPORTED;
}

static int keep_background(struct priv *p, band *b)
{
    if (!(b->bg = malloc((size_t)b->w * (size_t)b->h * 4))) return TC_ERR_NOMEM;
    const uint8_t *src = cairo_image_surface_get_data(p->base);
    int ss = cairo_image_surface_get_stride(p->base);
    src += (ptrdiff_t)b->y * ss + (ptrdiff_t)b->x * 4;
    for (int y = 0; y < b->h; y++) memcpy(b->bg + (ptrdiff_t)y * b->w * 4, src + (ptrdiff_t)y * ss, (size_t)b->w * 4);
    return TC_OK;
}

static int vector_init(void *priv, const tc_face_config *cfg)
{
    struct priv *p = priv;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(cfg->pix_fmt);
    int W = cfg->width, H = cfg->height, r;
    if (W < 16 || H < 16 || (W & 1) || (H & 1) || cfg->fps_num <= 0 || cfg->fps_den <= 0)
        return TC_ERR_INVAL;
    const int unusable = AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL;
    if (!d || (d->flags & unusable) || !sws_isSupportedOutput(cfg->pix_fmt)) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot draw into pixel format %s", d ? d->name : "(none)");
        return TC_ERR_UNSUPPORTED;
    }
    p->seed = cfg->seed;
    p->fps_num = cfg->fps_num;
    p->breath_frames = (int)lrint(4.2 * cfg->fps_num / cfg->fps_den);
    if (p->breath_frames < 1) p->breath_frames = 1;
    p->fps_den = cfg->fps_den;
    p->pal = tc_vector_palette_default;
    tc_vector_layout(&p->geom, W, H);
    const tc_vector_geom *g = &p->geom;
    assert(g->rx >= 0 && g->rw > 0 && g->rx + g->rw <= W);
    assert(g->ry >= 0 && g->ry < g->split && g->split < g->ry + g->rh && g->ry + g->rh <= H);

    p->base = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(p->base);
    tc_vector_draw_base(cr, g, &p->pal);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs) return TC_ERR_NOMEM;
    cairo_surface_flush(p->base);

    if (!(p->base_frame = av_frame_alloc())) return TC_ERR_NOMEM;
    p->base_frame->format = cfg->pix_fmt;
    p->base_frame->width = W;
    p->base_frame->height = H;
    if (av_frame_get_buffer(p->base_frame, 0) < 0) return TC_ERR_NOMEM;
    struct SwsContext *whole = make_sws(W, H, cfg->pix_fmt);
    if (!whole) return TC_ERR_UNSUPPORTED;
    convert(whole, p->base, p->base_frame, 0, 0);
    int full = 0, *inv, *tbl, src_range, bri, con, sat;
    if (!(d->flags & AV_PIX_FMT_FLAG_RGB))
        sws_getColorspaceDetails(whole, &inv, &src_range, &tbl, &full, &bri, &con, &sat);
    sws_freeContext(whole);
    p->base_frame->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    if (!(d->flags & AV_PIX_FMT_FLAG_RGB)) p->base_frame->colorspace = AVCOL_SPC_BT709;

    if ((r = band_init(p, EYES, g->rx, g->ry, g->rw, g->split - g->ry, cfg->pix_fmt)) < 0 ||
        (r = band_init(p, MOUTH, g->rx, g->split, g->rw, g->ry + g->rh - g->split, cfg->pix_fmt)) < 0 ||
        (r = band_init(p, BODY, g->bx, g->by, g->bw, g->bh, cfg->pix_fmt)) < 0 ||
        (cfg->breathing && (r = lifts_init(p, cfg->pix_fmt)) < 0))
        return r;
    /* Only the eyes and mouth bands are ever redrawn: they keep the base
     * under them, and the whole-frame drawing (3.7 MB at 720p) goes. */
    for (int i = EYES; i <= MOUTH; i++)
        if (p->bands[i].s && (r = keep_background(p, &p->bands[i])) < 0) return r;
    cairo_surface_destroy(p->base);
    p->base = NULL;
    for (int i = 0; i < POOL_INIT; i++) {
        slot *s;
        if ((r = pool_add(p, &s)) < 0) return r;
    }
    tc_log(&log_ctx, TC_LOG_DEBUG, "%dx%d %s, face rectangle %dx%d at %d,%d, mouth from row %d",
           W, H, d->name, g->rw, g->rh, g->rx, g->ry, g->split);
    return TC_OK;
}

/* Redraw band `which` for `st` over the base and convert it into f. */
static void draw_band(struct priv *p, int which, const face_state *st, AVFrame *f)
{
    const tc_vector_geom *g = &p->geom;
    band *b = &p->bands[which];
    if (!b->s) return;
    if (which == BODY) {
        copy_band(p->lifts[st->breath + p->max_lift], f, b->x, b->y);
        return;
    }
    cairo_surface_flush(b->s);
    uint8_t *dst = cairo_image_surface_get_data(b->s);
    int ds = cairo_image_surface_get_stride(b->s);
    for (int y = 0; y < b->h; y++)
        memcpy(dst + (ptrdiff_t)y * ds, b->bg + (ptrdiff_t)y * b->w * 4, (size_t)b->w * 4);
    cairo_surface_mark_dirty(b->s);

    tc_vector_face face = { (double)st->open / QUANT,  (double)st->width / QUANT,
                            (double)st->round / QUANT, (double)st->press / QUANT,
                            (double)st->teeth / QUANT, (double)st->blink / QUANT };
    cairo_save(b->cr);
    cairo_translate(b->cr, -b->x, -b->y);
    if (which == EYES) tc_vector_draw_eyes(b->cr, g, &p->pal, &face);
    else tc_vector_draw_mouth(b->cr, g, &p->pal, &face);
    cairo_restore(b->cr);
    cairo_surface_flush(b->s);
    convert(b->sws, b->s, f, b->x, b->y);
}

static int vector_render(void *priv, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed)
{
    static const tc_mouth closed = { 0 };
    struct priv *p = priv;
    int dummy;
    if (!mouth) mouth = &closed;
    if (!changed) changed = &dummy;
    *changed = 0;
    face_state st = { blink_level(p->seed, n, p->fps_num, p->fps_den),
                      quant(mouth->open),  quant(mouth->width), quant(mouth->round),
                      quant(mouth->press), quant(mouth->teeth), breath_level(p, n) };
    if (p->last && !memcmp(&st, &p->last->st, sizeof st))
        return av_frame_ref(out, p->last->f) < 0 ? TC_ERR_NOMEM : TC_OK;

    slot *s;
    int r = pool_get(p, &st, &s);
    if (r < 0) {
        if (r == TC_ERR_AGAIN && !p->warned_full) {
            p->warned_full = 1;
            tc_log(&log_ctx, TC_LOG_WARN, "all %d frames are still held downstream; dropping",
                   POOL_MAX);
        }
        return r;
    }
    for (int b = 0; b < N_BANDS; b++)
        if (b == BODY && !s->drawn[b] && st.breath == 0) {
            s->drawn[b] = 1; /* a new slot holds the base: the body at rest */
        } else if (!s->drawn[b] || !same_band(&s->st, &st, b)) {
            draw_band(p, b, &st, s->f);
            s->drawn[b] = 1;
        }
    s->st = st;
    p->last = s;
    *changed = 1;
    return av_frame_ref(out, s->f) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void vector_uninit(void *priv)
{
    struct priv *p = priv;
    for (int i = 0; i < p->n_pool; i++) av_frame_free(&p->pool[i].f); /* held refs stay valid */
    for (int k = 0; p->lifts && k <= 2 * p->max_lift; k++) av_frame_free(&p->lifts[k]);
    free(p->lifts);
    for (int b = 0; b < N_BANDS; b++) {
        sws_freeContext(p->bands[b].sws);
        if (p->bands[b].cr) cairo_destroy(p->bands[b].cr);
        if (p->bands[b].s) cairo_surface_destroy(p->bands[b].s);
        free(p->bands[b].bg);
    }
    av_frame_free(&p->base_frame);
    if (p->base) cairo_surface_destroy(p->base);
    memset(p, 0, sizeof *p);
}

static int vector_idle_period(void *priv)
{
    const struct priv *p = priv;
    return p->max_lift ? p->breath_frames : 1;
}

const tc_face_vtable tc_face_vector = { "vector", sizeof(struct priv), vector_init, vector_render,
                                        vector_uninit, vector_idle_period };
