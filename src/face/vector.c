/* vector.c — the zero-asset default avatar, drawn in code with cairo.
 *
 * The body, head, hair and background never change: they are drawn once
 * into `base` (ARGB) and converted once into `base_yuv`. Only the face
 * rectangle (eyes and mouth) is redrawn, and only when the face state
 * (mouth parameters quantised to 1/64, blink amount) differs from the last
 * frame; otherwise the previous picture is returned again (zero-cost idle).
 * Output frames come from a small pool whose pixels outside the face
 * rectangle are always the base picture, so only the rectangle is rewritten.
 * Steady state allocates nothing. */
#include "face/face.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define POOL_MAX 12

typedef struct rgb { double r, g, b; } rgb;

/* The palette; one struct so configuration can override it later. */
typedef struct vector_palette {
    rgb bg_top, bg_bottom, skin, skin_shade, hair, shirt, lips, mouth, tongue, teeth, iris, brow;
} vector_palette;

static const vector_palette default_palette = {
    { 0.36, 0.55, 0.78 }, { 0.16, 0.27, 0.45 }, { 0.96, 0.80, 0.68 }, { 0.88, 0.68, 0.56 },
    { 0.29, 0.19, 0.13 }, { 0.20, 0.62, 0.56 }, { 0.80, 0.38, 0.40 }, { 0.25, 0.07, 0.09 },
    { 0.85, 0.40, 0.45 }, { 0.98, 0.98, 0.96 }, { 0.30, 0.52, 0.36 }, { 0.25, 0.16, 0.11 },
};

typedef struct face_state { int open, width, round, press, teeth, blink; } face_state;

typedef struct vector_priv {
    tc_face_config cfg;
    vector_palette pal;
    double u;                      /* unit: output height / 100 */
    double cx, cy;                 /* head centre */
    int rx, ry, rw, rh;            /* face rectangle (even-aligned) */
    cairo_surface_t *base;         /* full picture without eyes/mouth */
    cairo_surface_t *rect;         /* scratch for the face rectangle */
    AVFrame *base_yuv;
    AVFrame *pool[POOL_MAX];
    int n_pool;
    AVFrame *last;                 /* the frame returned last time (a pool member) */
    face_state last_state;
    int have_last;
    struct SwsContext *sws;
    /* blink schedule cache: blink k starts at frame blink_at */
    uint32_t blink_k;
    int64_t blink_at, blink_prev;
} vector_priv;

static void set_rgb(cairo_t *cr, rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* ---- the static picture ------------------------------------------------- */

static void draw_base(vector_priv *p, cairo_t *cr)
{
    const vector_palette *c = &p->pal;
    double u = p->u, W = p->cfg.width, H = p->cfg.height, cx = p->cx, cy = p->cy;

    cairo_pattern_t *bg = cairo_pattern_create_linear(0, 0, 0, H);
    cairo_pattern_add_color_stop_rgb(bg, 0, c->bg_top.r, c->bg_top.g, c->bg_top.b);
    cairo_pattern_add_color_stop_rgb(bg, 1, c->bg_bottom.r, c->bg_bottom.g, c->bg_bottom.b);
    cairo_set_source(cr, bg);
    cairo_paint(cr);
    cairo_pattern_destroy(bg);

    /* shoulders and shirt */
    cairo_new_path(cr);
    cairo_move_to(cr, cx - 40 * u, H + 2);
    cairo_curve_to(cr, cx - 38 * u, 88 * u, cx - 26 * u, 80 * u, cx - 9 * u, 79 * u);
    cairo_line_to(cr, cx + 9 * u, 79 * u);
    cairo_curve_to(cr, cx + 26 * u, 80 * u, cx + 38 * u, 88 * u, cx + 40 * u, H + 2);
    cairo_close_path(cr);
    set_rgb(cr, c->shirt);
    cairo_fill(cr);
    /* neck */
    set_rgb(cr, c->skin_shade);
    cairo_rectangle(cr, cx - 7 * u, cy + 18 * u, 14 * u, 16 * u);
    cairo_fill(cr);
    cairo_arc(cr, cx, 79 * u, 9 * u, 0, M_PI);
    cairo_fill(cr);
    /* hair behind the head */
    set_rgb(cr, c->hair);
    cairo_save(cr);
    cairo_translate(cr, cx, cy - 3 * u);
    cairo_scale(cr, 23 * u, 27 * u);
    cairo_arc(cr, 0, 0, 1, M_PI * 0.85, M_PI * 2.15);
    cairo_restore(cr);
    cairo_fill(cr);
    /* ears */
    set_rgb(cr, c->skin_shade);
    for (int s = -1; s <= 1; s += 2) {
        cairo_save(cr);
        cairo_translate(cr, cx + s * 19.5 * u, cy + 1 * u);
        cairo_scale(cr, 3.2 * u, 5 * u);
        cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
        cairo_restore(cr);
        cairo_fill(cr);
    }
    /* head with soft shading */
    cairo_pattern_t *sk = cairo_pattern_create_radial(cx - 5 * u, cy - 8 * u, 2 * u, cx, cy, 26 * u);
    cairo_pattern_add_color_stop_rgb(sk, 0, c->skin.r, c->skin.g, c->skin.b);
    cairo_pattern_add_color_stop_rgb(sk, 0.75, c->skin.r, c->skin.g, c->skin.b);
    cairo_pattern_add_color_stop_rgb(sk, 1, c->skin_shade.r, c->skin_shade.g, c->skin_shade.b);
    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    cairo_scale(cr, 19 * u, 24 * u);
    cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
    cairo_restore(cr);
    cairo_set_source(cr, sk);
    cairo_fill(cr);
    cairo_pattern_destroy(sk);
    /* hair over the top of the head: everything above a swept hairline */
    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    cairo_scale(cr, 19.2 * u, 24.2 * u);
    cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
    cairo_restore(cr);
    cairo_clip(cr);
    set_rgb(cr, c->hair);
    cairo_new_path(cr);
    cairo_move_to(cr, cx - 21 * u, cy - 30 * u);
    cairo_line_to(cr, cx + 21 * u, cy - 30 * u);
    cairo_line_to(cr, cx + 21 * u, cy - 2 * u);
    cairo_curve_to(cr, cx + 15 * u, cy - 14 * u, cx + 2 * u, cy - 17 * u, cx - 6 * u, cy - 14 * u);
    cairo_curve_to(cr, cx - 12 * u, cy - 12 * u, cx - 17 * u, cy - 8 * u, cx - 21 * u, cy + 1 * u);
    cairo_close_path(cr);
    cairo_fill(cr);
    cairo_reset_clip(cr);
    /* brows */
    set_rgb(cr, c->brow);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_width(cr, 1.4 * u);
    for (int s = -1; s <= 1; s += 2) {
        cairo_move_to(cr, cx + s * 4 * u, cy - 9.5 * u);
        cairo_curve_to(cr, cx + s * 6.5 * u, cy - 11.5 * u, cx + s * 10 * u, cy - 11.5 * u, cx + s * 12 * u,
                       cy - 9.8 * u);
        cairo_stroke(cr);
    }
    /* nose */
    set_rgb(cr, c->skin_shade);
    cairo_set_line_width(cr, 0.9 * u);
    cairo_move_to(cr, cx - 0.5 * u, cy - 2 * u);
    cairo_curve_to(cr, cx - 2.5 * u, cy + 4 * u, cx - 2.8 * u, cy + 5.5 * u, cx + 0.5 * u, cy + 5.8 * u);
    cairo_stroke(cr);
    /* cheeks */
    for (int s = -1; s <= 1; s += 2) {
        cairo_pattern_t *ch = cairo_pattern_create_radial(cx + s * 11 * u, cy + 6 * u, 0, cx + s * 11 * u,
                                                          cy + 6 * u, 4 * u);
        cairo_pattern_add_color_stop_rgba(ch, 0, 0.95, 0.55, 0.55, 0.35);
        cairo_pattern_add_color_stop_rgba(ch, 1, 0.95, 0.55, 0.55, 0);
        cairo_set_source(cr, ch);
        cairo_arc(cr, cx + s * 11 * u, cy + 6 * u, 4 * u, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_pattern_destroy(ch);
    }
    (void)W;
}

/* ---- the face rectangle ------------------------------------------------- */

static void draw_eyes(vector_priv *p, cairo_t *cr, double blink)
{
    const vector_palette *c = &p->pal;
    double u = p->u, cx = p->cx, ey = p->cy - 5 * u;
    for (int s = -1; s <= 1; s += 2) {
        double ex = cx + s * 8 * u, rw = 3.6 * u, rh = 2.6 * u;
        cairo_save(cr);
        cairo_translate(cr, ex, ey);
        cairo_scale(cr, rw, rh);
        cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
        cairo_restore(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill_preserve(cr);
        cairo_save(cr);
        cairo_clip(cr);
        set_rgb(cr, c->iris);
        cairo_arc(cr, ex, ey + 0.2 * u, 2.1 * u, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.05, 0.05, 0.07);
        cairo_arc(cr, ex, ey + 0.2 * u, 1.0 * u, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_arc(cr, ex + 0.7 * u, ey - 0.6 * u, 0.5 * u, 0, 2 * M_PI);
        cairo_fill(cr);
        /* eyelid: skin closing down from the top */
        if (blink > 0.01) {
            set_rgb(cr, c->skin);
            cairo_rectangle(cr, ex - rw - 1, ey - rh - 1, 2 * rw + 2, (2 * rh + 2) * blink);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 0.2, 0.12, 0.1);
            cairo_set_line_width(cr, 0.5 * u);
            cairo_move_to(cr, ex - rw, ey - rh + (2 * rh) * blink);
            cairo_line_to(cr, ex + rw, ey - rh + (2 * rh) * blink);
            cairo_stroke(cr);
        }
        cairo_restore(cr);
        /* upper lash line */
        cairo_set_source_rgb(cr, 0.15, 0.09, 0.07);
        cairo_set_line_width(cr, 0.7 * u);
        cairo_save(cr);
        cairo_translate(cr, ex, ey);
        cairo_scale(cr, rw, rh);
        cairo_arc(cr, 0, 0, 1, M_PI * 1.05, M_PI * 1.95);
        cairo_restore(cr);
        cairo_stroke(cr);
    }
}

static void draw_mouth(vector_priv *p, cairo_t *cr, const face_state *st)
{
    const vector_palette *c = &p->pal;
    double u = p->u, mx = p->cx, my = p->cy + 11 * u;
    double open = st->open / 64.0, wide = st->width / 64.0, round = st->round / 64.0;
    double press = st->press / 64.0, teeth = st->teeth / 64.0;
    double hw = u * (5.2 + 1.8 * wide - 2.2 * round) * (1 - 0.1 * press); /* half width */
    double gap = u * 7.5 * open * (1 - press) + u * 2.2 * round * open;    /* lip opening */
    if (gap < u * 2.4 * teeth * (1 - press)) gap = u * 2.4 * teeth * (1 - press); /* f/v: teeth on lip */
    double lip = u * (1.3 - 0.7 * press);                                  /* lip thickness */
    double smile = u * (1.0 - 0.8 * round - 0.5 * open);

    if (gap < 0.5) { /* closed: two lips meeting in a gentle smile */
        set_rgb(cr, c->lips);
        cairo_move_to(cr, mx - hw, my - smile * 0.4);
        cairo_curve_to(cr, mx - hw * 0.4, my - lip * 0.9, mx + hw * 0.4, my - lip * 0.9, mx + hw, my - smile * 0.4);
        cairo_curve_to(cr, mx + hw * 0.5, my + lip * 1.3 + smile * 0.3, mx - hw * 0.5, my + lip * 1.3 + smile * 0.3,
                       mx - hw, my - smile * 0.4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.45, 0.16, 0.18);
        cairo_set_line_width(cr, 0.45 * u);
        cairo_move_to(cr, mx - hw, my - smile * 0.4);
        cairo_curve_to(cr, mx - hw * 0.4, my + smile * 0.25, mx + hw * 0.4, my + smile * 0.25, mx + hw, my - smile * 0.4);
        cairo_stroke(cr);
        return;
    }
    double top = my - gap * 0.35, bot = my + gap * 0.65;
    /* interior */
    cairo_new_path(cr);
    cairo_move_to(cr, mx - hw, my);
    cairo_curve_to(cr, mx - hw * 0.6, top - lip * 0.2, mx + hw * 0.6, top - lip * 0.2, mx + hw, my);
    cairo_curve_to(cr, mx + hw * 0.6, bot + lip * 0.2, mx - hw * 0.6, bot + lip * 0.2, mx - hw, my);
    cairo_close_path(cr);
    set_rgb(cr, c->mouth);
    cairo_fill_preserve(cr);
    cairo_save(cr);
    cairo_clip(cr);
    /* tongue */
    set_rgb(cr, c->tongue);
    cairo_save(cr);
    cairo_translate(cr, mx, bot + gap * 0.1);
    cairo_scale(cr, hw * 0.7, gap * 0.45 + u * 0.3);
    cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
    cairo_restore(cr);
    cairo_fill(cr);
    /* upper teeth, more of them when teeth > 0 (f/v) */
    set_rgb(cr, c->teeth);
    double th = u * (1.7 + 1.3 * teeth);
    cairo_rectangle(cr, mx - hw * 0.75, top - lip, hw * 1.5, th + lip * 0.6);
    cairo_fill(cr);
    if (open > 0.45) { /* lower teeth show when wide open */
        cairo_rectangle(cr, mx - hw * 0.6, bot - u * 0.9, hw * 1.2, u * 1.5);
        cairo_fill(cr);
    }
    cairo_restore(cr);
    /* lips */
    set_rgb(cr, c->lips);
    cairo_set_line_width(cr, lip * 1.5);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_new_path(cr);
    cairo_move_to(cr, mx - hw, my);
    cairo_curve_to(cr, mx - hw * 0.6, top - lip * 0.2, mx + hw * 0.6, top - lip * 0.2, mx + hw, my);
    cairo_curve_to(cr, mx + hw * 0.6, bot + lip * 0.2, mx - hw * 0.6, bot + lip * 0.2, mx - hw, my);
    cairo_close_path(cr);
    cairo_stroke(cr);
}

/* ---- blink schedule ------------------------------------------------------- */

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Frames from one blink start to the next: 2–6 s, a pure function of seed and k. */
static int64_t blink_gap(const vector_priv *p, uint32_t k)
{
    double s = 2.0 + 4.0 * (hash32(p->cfg.seed * 2654435761U + k) / 4294967296.0);
    return (int64_t)(s * p->cfg.fps_num / p->cfg.fps_den);
}

/* 0 = eyes open, 64 = closed: close 100 ms, hold 50 ms, open 150 ms. */
static int blink_amount(vector_priv *p, int64_t n)
{
    if (n < p->blink_prev) { /* time went backwards: restart the schedule */
        p->blink_k = 0;
        p->blink_at = blink_gap(p, 0);
    }
    p->blink_prev = n;
    while (n >= p->blink_at + blink_gap(p, p->blink_k + 1)) {
        p->blink_at += blink_gap(p, p->blink_k + 1);
        p->blink_k++;
    }
    double t = (double)(n - p->blink_at) * p->cfg.fps_den / p->cfg.fps_num;
    if (t < 0) return 0;
    double a = t < 0.10 ? t / 0.10 : t < 0.15 ? 1.0 : t < 0.30 ? 1.0 - (t - 0.15) / 0.15 : 0.0;
    return (int)lrint(clamp01(a) * 64);
}

/* ---- renderer ------------------------------------------------------------- */

static int to_yuv(vector_priv *p, cairo_surface_t *s, int sw, int sh, AVFrame *dst, int dx, int dy)
{
    cairo_surface_flush(s);
    const uint8_t *src[1] = { cairo_image_surface_get_data(s) };
    int sls[1] = { cairo_image_surface_get_stride(s) };
    p->sws = sws_getCachedContext(p->sws, sw, sh, AV_PIX_FMT_BGRA, sw, sh, dst->format,
                                  SWS_POINT | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!p->sws) return TC_ERR_UNSUPPORTED;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dst->format);
    uint8_t *dp[4] = { 0 };
    for (int i = 0; i < 4 && dst->data[i]; i++) {
        int cy = (i == 1 || i == 2) ? d->log2_chroma_h : 0;
        int xb = dx ? av_image_get_linesize(dst->format, dx, i) : 0;
        dp[i] = dst->data[i] + (dy >> cy) * dst->linesize[i] + (xb > 0 ? xb : 0);
    }
    sws_scale(p->sws, src, sls, 0, sh, dp, dst->linesize);
    return TC_OK;
}

static int vector_init(void *priv, const tc_face_config *cfg)
{
    vector_priv *p = priv;
    p->cfg = *cfg;
    p->cfg.path = NULL;
    p->pal = default_palette;
    int W = cfg->width, H = cfg->height;
    p->u = (W < H ? W * 1.0 : H * 1.0) / 100.0;
    p->cx = W / 2.0;
    p->cy = H * 0.46;
    if (W < H) p->cy = H * 0.5 - 4 * p->u;
    /* eyes from cy-9u to mouth at cy+19u, 13u either side; 16-pixel aligned */
    p->rx = ((int)(p->cx - 14 * p->u)) & ~15;
    p->ry = ((int)(p->cy - 10 * p->u)) & ~15;
    int x1 = ((int)(p->cx + 14 * p->u) + 15) & ~15, y1 = ((int)(p->cy + 20 * p->u) + 15) & ~15;
    if (p->rx < 0) p->rx = 0;
    if (p->ry < 0) p->ry = 0;
    if (x1 > W) x1 = W & ~1;
    if (y1 > H) y1 = H & ~1;
    p->rw = x1 - p->rx;
    p->rh = y1 - p->ry;
    p->blink_at = blink_gap(p, 0);

    int r = TC_ERR_NOMEM;
    p->base = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    p->rect = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, p->rw, p->rh);
    if (cairo_surface_status(p->base) || cairo_surface_status(p->rect)) goto fail;
    cairo_t *cr = cairo_create(p->base);
    draw_base(p, cr);
    cairo_destroy(cr);

    if (!(p->base_yuv = av_frame_alloc())) goto fail;
    p->base_yuv->format = cfg->pix_fmt;
    p->base_yuv->width = W;
    p->base_yuv->height = H;
    if (av_frame_get_buffer(p->base_yuv, 0) < 0) goto fail;
    if ((r = to_yuv(p, p->base, W, H, p->base_yuv, 0, 0)) < 0) goto fail;
    return TC_OK;
fail:
    return r;
}

/* A pool frame nobody else references, holding the base picture outside
 * the face rectangle. Allocates only while the pool grows. */
static AVFrame *pool_get(vector_priv *p)
{
    for (int i = 0; i < p->n_pool; i++)
        if (p->pool[i] != p->last && av_frame_is_writable(p->pool[i])) return p->pool[i];
    if (p->n_pool == POOL_MAX) return NULL;
    AVFrame *f = av_frame_alloc();
    if (!f) return NULL;
    f->format = p->base_yuv->format;
    f->width = p->base_yuv->width;
    f->height = p->base_yuv->height;
    if (av_frame_get_buffer(f, 0) < 0 || av_frame_copy(f, p->base_yuv) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    p->pool[p->n_pool++] = f;
    return f;
}

static int q64(float v) { return (int)lrint(clamp01(v) * 64); }

static int vector_render(void *priv, int64_t n, const tc_mouth *m, AVFrame *out, int *changed)
{
    vector_priv *p = priv;
    face_state st = { q64(m->open), q64(m->width), q64(m->round), q64(m->press), q64(m->teeth),
                      blink_amount(p, n) };
    if (p->have_last && !memcmp(&st, &p->last_state, sizeof st)) {
        *changed = 0;
        return av_frame_ref(out, p->last) < 0 ? TC_ERR_NOMEM : TC_OK;
    }
    AVFrame *f = pool_get(p);
    if (!f) return TC_ERR_NOMEM;

    /* Redraw the rectangle: base pixels, then eyes and mouth on top. */
    cairo_t *cr = cairo_create(p->rect);
    cairo_set_source_surface(cr, p->base, -p->rx, -p->ry);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    cairo_translate(cr, -p->rx, -p->ry);
    draw_eyes(p, cr, st.blink / 64.0);
    draw_mouth(p, cr, &st);
    cairo_destroy(cr);
    int r = to_yuv(p, p->rect, p->rw, p->rh, f, p->rx, p->ry);
    if (r < 0) return r;

    p->last = f;
    p->last_state = st;
    p->have_last = 1;
    *changed = 1;
    return av_frame_ref(out, f) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void vector_uninit(void *priv)
{
    vector_priv *p = priv;
    for (int i = 0; i < p->n_pool; i++) av_frame_free(&p->pool[i]);
    av_frame_free(&p->base_yuv);
    if (p->base) cairo_surface_destroy(p->base);
    if (p->rect) cairo_surface_destroy(p->rect);
    sws_freeContext(p->sws);
}

const tc_face_vtable tc_face_vector = { "vector", sizeof(vector_priv), vector_init, vector_render,
                                        vector_uninit };
