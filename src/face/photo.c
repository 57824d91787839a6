/* photo.c — any portrait as the avatar: the lower face is mesh-warped
 * (jaw drop, lip spread and rounding) around mouth landmarks, and the
 * opened mouth shows a synthesized interior with upper teeth, feathered
 * into the picture so no seam shows.
 *
 * Landmarks come from a small JSON next to the image (mouth corners,
 * upper and lower lip, chin; in source pixels), mapped through the fit.
 * The warp is an inverse map evaluated per pixel of a fixed rectangle
 * around the mouth, sampled bilinearly from the unchanged base picture,
 * on the Y plane and the subsampled chroma planes alike. Only that
 * rectangle is rewritten, only when the mouth changed; frames come from a
 * small pool of copies of the base, as in the vector face. */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libavutil/pixdesc.h>

#define POOL_MAX 12

static const tc_log_ctx log_ctx = { "face", "photo" };

typedef struct pt { double x, y; } pt;

typedef struct photo_priv {
    tc_face_config cfg;
    AVFrame *base;
    pt ml, mr, ul, ll, ch;      /* landmarks in output pixels */
    pt c;                       /* mouth centre */
    double w0;                  /* mouth width */
    double jaw_max;             /* jaw drop at open = 1, pixels */
    int rx, ry, rw, rh;         /* rewritten rectangle, even-aligned */
    AVFrame *pool[POOL_MAX];
    int n_pool;
    AVFrame *last;
    int last_q[5], have_last;
} photo_priv;

static double smooth(double e0, double e1, double x)
{
    double t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

static int read_point(json_object *o, const char *key, pt *p, const char *path)
{
    json_object *a;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
        json_object_array_length(a) != 2) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: \"%s\" must be [x, y]", path, key);
        return TC_ERR_FORMAT;
    }
    p->x = json_object_get_double(json_object_array_get_idx(a, 0));
    p->y = json_object_get_double(json_object_array_get_idx(a, 1));
    return TC_OK;
}

/* <image without extension>.landmarks.json */
static char *default_landmarks(const char *image)
{
    size_t n = strlen(image);
    const char *dot = strrchr(image, '.'), *slash = strrchr(image, '/');
    if (dot && (!slash || dot > slash)) n = (size_t)(dot - image);
    char *p = malloc(n + 17);
    if (p) {
        memcpy(p, image, n);
        strcpy(p + n, ".landmarks.json");
    }
    return p;
}

static int load_landmarks(photo_priv *p, const char *path, int src_w, int src_h)
{
    json_object *root = json_object_from_file(path);
    if (!root) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot read landmarks %s: %s", path, json_util_get_last_err());
        return TC_ERR_NOTFOUND;
    }
    pt src[5];
    static const char *const keys[5] = { "mouth_left", "mouth_right", "upper_lip", "lower_lip", "chin" };
    int r = TC_OK;
    for (int i = 0; i < 5 && r == TC_OK; i++) r = read_point(root, keys[i], &src[i], path);
    json_object_put(root);
    if (r < 0) return r;
    for (int i = 0; i < 5; i++) {
        if (src[i].x < 0 || src[i].y < 0 || src[i].x >= src_w || src[i].y >= src_h) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: %s lies outside the %dx%d image", path, keys[i], src_w, src_h);
            return TC_ERR_FORMAT;
        }
    }
    if (!(src[0].x < src[1].x && src[2].y < src[3].y && src[3].y < src[4].y)) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: expected mouth_left < mouth_right (x) and upper_lip < lower_lip < chin (y)", path);
        return TC_ERR_FORMAT;
    }
    double s, ox, oy;
    tc_face_fit_geometry(src_w, src_h, &p->cfg, &s, &ox, &oy);
    pt *dst[5] = { &p->ml, &p->mr, &p->ul, &p->ll, &p->ch };
    for (int i = 0; i < 5; i++) *dst[i] = (pt){ src[i].x * s + ox, src[i].y * s + oy };
    return TC_OK;
}

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
    char *lm = cfg->landmarks ? strdup(cfg->landmarks) : default_landmarks(cfg->path);
    r = lm ? load_landmarks(p, lm, raw->width, raw->height) : TC_ERR_NOMEM;
    free(lm);
    if (r == TC_OK) r = tc_face_fit_frame(raw, cfg, &p->base);
    av_frame_free(&raw);
    if (r < 0) return r;

    p->c = (pt){ (p->ml.x + p->mr.x) / 2, (p->ml.y + p->mr.y) / 2 };
    p->w0 = p->mr.x - p->ml.x;
    p->jaw_max = 0.45 * (p->ch.y - p->ll.y) + 0.25 * p->w0;
    /* everything the warp can touch, for open = 1 and the widest spread */
    int x0 = (int)(p->c.x - 1.3 * p->w0), x1 = (int)(p->c.x + 1.3 * p->w0) + 2;
    int y0 = (int)(p->ul.y - 0.5 * p->w0), y1 = (int)(p->ch.y + p->jaw_max + 0.8 * p->w0) + 2;
    x0 = x0 < 0 ? 0 : x0 & ~1;
    y0 = y0 < 0 ? 0 : y0 & ~1;
    x1 = x1 > cfg->width ? cfg->width : (x1 + 1) & ~1;
    y1 = y1 > cfg->height ? cfg->height : (y1 + 1) & ~1;
    if (x1 - x0 < 4 || y1 - y0 < 4) return TC_ERR_FORMAT;
    p->rx = x0;
    p->ry = y0;
    p->rw = x1 - x0;
    p->rh = y1 - y0;
    return TC_OK;
}

static AVFrame *pool_get(photo_priv *p)
{
    for (int i = 0; i < p->n_pool; i++)
        if (p->pool[i] != p->last && av_frame_is_writable(p->pool[i])) return p->pool[i];
    if (p->n_pool == POOL_MAX) return NULL;
    AVFrame *f = av_frame_clone(p->base);
    if (!f || av_frame_make_writable(f) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    return p->pool[p->n_pool++] = f;
}

static uint8_t sample(const uint8_t *plane, int ls, int w, int h, double x, double y)
{
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > w - 1.001) x = w - 1.001;
    if (y > h - 1.001) y = h - 1.001;
    int xi = (int)x, yi = (int)y;
    double fx = x - xi, fy = y - yi;
    const uint8_t *a = plane + yi * ls + xi, *b = a + ls;
    double v = (a[0] * (1 - fx) + a[1] * fx) * (1 - fy) + (b[0] * (1 - fx) + b[1] * fx) * fy;
    return (uint8_t)(v + 0.5);
}

typedef struct warp {
    pt c;
    double w0, drop, spread, lip_y, chin_y, gap_top, gap_bot, half_w;
    double teeth_h;
} warp;

/* Where output pixel (x, y) (full-res coordinates) takes its colour from. */
static pt inverse(const warp *w, double x, double y)
{
    double dx = x - w->c.x;
    double lateral = 1 - smooth(0.25 * w->w0, 1.1 * w->w0, fabs(dx));
    /* jaw: below the lip line everything slides down, fading past the chin */
    double below = smooth(w->lip_y - 0.1 * w->w0, w->lip_y + 0.25 * w->w0, y);
    double fade = 1 - smooth(w->chin_y + w->drop, w->chin_y + w->drop + 0.8 * w->w0, y);
    double sy = y - w->drop * below * fade * lateral;
    /* lips: spread or round horizontally in a band around the mouth */
    double band = 1 - smooth(0.25 * w->w0, 0.7 * w->w0 + w->drop, fabs(y - (w->lip_y + w->drop / 2)));
    double k = 1 + (w->spread - 1) * band * lateral;
    double sx = w->c.x + dx / k;
    return (pt){ sx, sy };
}

/* 0..1: how much of the synthesized mouth interior covers (x, y). */
static double interior(const warp *w, double x, double y, double *teeth)
{
    *teeth = 0;
    if (w->gap_bot - w->gap_top < 1) return 0;
    double cy = (w->gap_top + w->gap_bot) / 2, ry = (w->gap_bot - w->gap_top) / 2;
    double nx = (x - w->c.x) / w->half_w, ny = (y - cy) / ry;
    double d = sqrt(nx * nx + ny * ny); /* 1 on the edge */
    double a = 1 - smooth(0.8, 1.0, d);   /* feathered edge */
    *teeth = -0.35 * smooth(0.3, 1.0, d); /* negative: lighter toward the edge (shading) */
    if (a > 0 && y < w->gap_top + w->teeth_h)
        *teeth = 1 - smooth(w->gap_top + w->teeth_h - 1.5, w->gap_top + w->teeth_h, y);
    return a;
}

static int photo_render(void *priv, int64_t n, const tc_mouth *m, AVFrame *out, int *changed)
{
    photo_priv *p = priv;
    float v[5] = { m->open, m->width, m->round, m->press, m->teeth };
    int q[5];
    for (int i = 0; i < 5; i++) q[i] = (int)lrintf((v[i] < 0 ? 0 : v[i] > 1 ? 1 : v[i]) * 64);
    if (p->have_last && !memcmp(q, p->last_q, sizeof q)) {
        *changed = 0;
        return av_frame_ref(out, p->last) < 0 ? TC_ERR_NOMEM : TC_OK;
    }
    AVFrame *f = pool_get(p);
    if (!f) return TC_ERR_NOMEM;

    double open = q[0] / 64.0 * (1 - q[3] / 64.0);
    /* The jaw hinges below the upper lip (and any upper teeth the photo
     * shows): 80 % of the way from the upper to the lower lip landmark.
     * The gap opens there, between the still upper lip and the dropped
     * lower one. */
    double split = p->ul.y + 0.8 * (p->ll.y - p->ul.y);
    warp w = { p->c, p->w0, open * p->jaw_max, 1 + 0.12 * q[1] / 64.0 - 0.22 * q[2] / 64.0, split, p->ch.y,
               0, 0, 0, 0 };
    w.gap_top = split - 1;
    w.gap_bot = split + w.drop;
    w.half_w = 0.34 * p->w0 * w.spread * (1 - 0.35 * q[2] / 64.0);
    w.teeth_h = fmin((w.gap_bot - w.gap_top) * (0.15 + 0.2 * q[4] / 64.0), 0.08 * p->w0);

    const AVFrame *b = p->base;
    for (int plane = 0; plane < 3; plane++) {
        int sub = plane ? 1 : 0, W = b->width >> sub, H = b->height >> sub;
        int x0 = p->rx >> sub, y0 = p->ry >> sub, x1 = (p->rx + p->rw) >> sub, y1 = (p->ry + p->rh) >> sub;
        /* interior colours: a dark, slightly red mouth and off-white teeth */
        uint8_t dark = plane == 0 ? 40 : plane == 1 ? 122 : 150, tooth = plane == 0 ? 200 : plane == 1 ? 126 : 131;
        for (int y = y0; y < y1; y++) {
            uint8_t *row = f->data[plane] + y * f->linesize[plane];
            for (int x = x0; x < x1; x++) {
                double fx = (x + 0.5) * (1 << sub) - 0.5, fy = (y + 0.5) * (1 << sub) - 0.5;
                pt s = inverse(&w, fx, fy);
                double val = sample(b->data[plane], b->linesize[plane], W, H, (s.x + 0.5) / (1 << sub) - 0.5,
                                    (s.y + 0.5) / (1 << sub) - 0.5);
                double t, a = interior(&w, fx, fy, &t);
                if (a > 0) {
                    /* t > 0: teeth; t < 0: the interior lightens toward the lips */
                    double in = t >= 0 ? dark + (tooth - dark) * t : dark - (plane ? 0 : 25 * t);
                    val = val * (1 - a) + in * a;
                }
                row[x] = (uint8_t)(val + 0.5);
            }
        }
    }
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
}

const tc_face_vtable tc_face_photo = { "photo", sizeof(photo_priv), photo_init, photo_render, photo_uninit };
