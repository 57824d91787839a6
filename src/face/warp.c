/* warp.c — landmarks loading and the mouth warp (see warp.h). The warp is
 * an inverse map evaluated per pixel of the landmarks' rectangle, sampled
 * bilinearly from the unchanged base picture on all three planes: the jaw
 * drops below the upper lip (fading past the chin and the cheeks), the lips
 * spread or round in a band around the mouth, and the gap shows a
 * feathered dark interior with teeth. */
#include "face/warp.h"
#include "core/err.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static const tc_log_ctx log_ctx = { "face", "landmarks" };

typedef struct pt { double x, y; } pt;

static double smooth(double e0, double e1, double x)
{
    double t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

static const char *const keys[TC_LM_COUNT] = { "mouth_left", "mouth_right", "upper_lip", "lower_lip", "chin" };

static int read_point(json_object *o, const char *key, pt *p, const char *path)
{
    json_object *a;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
        json_object_array_length(a) != 2) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: \"%s\" must be [x, y]", path, key);
        return TC_ERR_FORMAT;
    }
    double v[2];
    for (int i = 0; i < 2; i++) {
        json_object *c = json_object_array_get_idx(a, (size_t)i);
        /* json-c reads NaN and Infinity, and turns strings into numbers:
         * a NaN slips through every range check below */
        if (!json_object_is_type(c, json_type_int) && !json_object_is_type(c, json_type_double)) c = NULL;
        if (!c || !isfinite(v[i] = json_object_get_double(c))) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: \"%s\" must be [x, y], two finite numbers", path, key);
            return TC_ERR_FORMAT;
        }
    }
    p->x = v[0];
    p->y = v[1];
    return TC_OK;
}

char *tc_face_landmarks_path(const char *image)
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

/* Optional eye centres: both or neither, inside the picture, left of
 * right, above the mouth. */
static int read_eyes(json_object *o, const char *path, int src_w, int src_h, double s, double ox, double oy,
                     tc_face_landmarks *l)
{
    int has_l = json_object_object_get_ex(o, "eye_left", NULL), has_r = json_object_object_get_ex(o, "eye_right", NULL);
    if (!has_l && !has_r) return TC_OK;
    if (has_l != has_r) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: give both eye_left and eye_right, or neither", path);
        return TC_ERR_FORMAT;
    }
    pt e[2];
    int r;
    if ((r = read_point(o, "eye_left", &e[0], path)) < 0 || (r = read_point(o, "eye_right", &e[1], path)) < 0)
        return r;
    for (int i = 0; i < 2; i++)
        if (e[i].x < 0 || e[i].y < 0 || e[i].x >= src_w || e[i].y >= src_h) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: %s lies outside the %dx%d picture", path, i ? "eye_right" : "eye_left",
                   src_w, src_h);
            return TC_ERR_FORMAT;
        }
    double mouth_y = (l->y[TC_LM_UPPER_LIP] - oy) / s;
    if (!(e[0].x < e[1].x && e[0].y < mouth_y && e[1].y < mouth_y)) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: expected eye_left left of eye_right, both above the mouth", path);
        return TC_ERR_FORMAT;
    }
    for (int i = 0; i < 2; i++) {
        l->eye_x[i] = e[i].x * s + ox;
        l->eye_y[i] = e[i].y * s + oy;
    }
    l->has_eyes = 1;
    return TC_OK;
}

/* One set from object `o`, checked and mapped into output pixels. */
static int read_set(json_object *o, const char *path, int src_w, int src_h, double s, double ox, double oy,
                    tc_face_landmarks *l)
{
    pt src[TC_LM_COUNT];
    for (int i = 0; i < TC_LM_COUNT; i++) {
        int r = read_point(o, keys[i], &src[i], path);
        if (r < 0) return r;
        if (src[i].x < 0 || src[i].y < 0 || src[i].x >= src_w || src[i].y >= src_h) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: %s lies outside the %dx%d picture", path, keys[i], src_w, src_h);
            return TC_ERR_FORMAT;
        }
    }
    if (!(src[0].x < src[1].x && src[2].y < src[3].y && src[3].y < src[4].y)) {
        tc_log(&log_ctx, TC_LOG_ERROR,
               "%s: expected mouth_left < mouth_right (x) and upper_lip < lower_lip < chin (y)", path);
        return TC_ERR_FORMAT;
    }
    for (int i = 0; i < TC_LM_COUNT; i++) {
        l->x[i] = src[i].x * s + ox;
        l->y[i] = src[i].y * s + oy;
    }
    return read_eyes(o, path, src_w, src_h, s, ox, oy, l);
}

int tc_face_landmarks_load(const char *path, int src_w, int src_h, const tc_face_config *cfg,
                           tc_face_landmarks **out, int *n)
{
    *out = NULL;
    *n = 0;
    json_object *root = json_object_from_file(path);
    if (!root) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot read landmarks %s: %s", path, json_util_get_last_err());
        return TC_ERR_NOTFOUND;
    }
    double s, ox, oy;
    tc_face_fit_geometry(src_w, src_h, cfg, &s, &ox, &oy);
    json_object *frames;
    int r = TC_OK, count = 1;
    if (json_object_object_get_ex(root, "frames", &frames)) {
        if (!json_object_is_type(frames, json_type_array) || !(count = (int)json_object_array_length(frames))) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: \"frames\" must be a non-empty array", path);
            json_object_put(root);
            return TC_ERR_FORMAT;
        }
    } else {
        frames = NULL;
    }
    tc_face_landmarks *l = calloc((size_t)count, sizeof *l);
    if (!l) r = TC_ERR_NOMEM;
    for (int i = 0; r == TC_OK && i < count; i++)
        r = read_set(frames ? json_object_array_get_idx(frames, (size_t)i) : root, path, src_w, src_h, s, ox, oy, &l[i]);
    json_object_put(root);
    if (r < 0) {
        free(l);
        return r;
    }
    *out = l;
    *n = count;
    return TC_OK;
}

void tc_face_warp_rect(const tc_face_landmarks *l, int W, int H, int rect[4])
{
    double cx = (l->x[0] + l->x[1]) / 2, w0 = l->x[1] - l->x[0];
    double jaw_max = 0.45 * (l->y[4] - l->y[3]) + 0.25 * w0;
    int x0 = (int)(cx - 1.3 * w0), x1 = (int)(cx + 1.3 * w0) + 2;
    int y0 = (int)(l->y[2] - 0.5 * w0), y1 = (int)(l->y[4] + jaw_max + 0.8 * w0) + 2;
    x0 = x0 < 0 ? 0 : x0 & ~1;
    y0 = y0 < 0 ? 0 : y0 & ~1;
    x1 = x1 > W ? W & ~1 : (x1 + 1) & ~1;
    y1 = y1 > H ? H & ~1 : (y1 + 1) & ~1;
    rect[0] = x0;
    rect[1] = y0;
    rect[2] = x1 > x0 ? x1 - x0 : 0;
    rect[3] = y1 > y0 ? y1 - y0 : 0;
}

void tc_face_mouth_quantise(const tc_mouth *m, int q[5])
{
    float v[5] = { m->open, m->width, m->round, m->press, m->teeth };
    for (int i = 0; i < 5; i++) q[i] = v[i] > 0 ? (v[i] < 1 ? (int)lrintf(v[i] * 64) : 64) : 0; /* NaN → 0 */
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

void tc_face_warp_mouth(const AVFrame *base, AVFrame *dst, const tc_face_landmarks *l, const int rect[4],
                        const int q[5])
{
    pt c = { (l->x[0] + l->x[1]) / 2, (l->y[0] + l->y[1]) / 2 };
    double w0 = l->x[1] - l->x[0];
    double jaw_max = 0.45 * (l->y[4] - l->y[3]) + 0.25 * w0;
    double open = q[0] / 64.0 * (1 - q[3] / 64.0);
    /* The jaw hinges below the upper lip (and any upper teeth the photo
     * shows): 80 % of the way from the upper to the lower lip landmark.
     * The gap opens there, between the still upper lip and the dropped
     * lower one. */
    double split = l->y[2] + 0.8 * (l->y[3] - l->y[2]);
    warp w = { c, w0, open * jaw_max, 1 + 0.12 * q[1] / 64.0 - 0.22 * q[2] / 64.0, split, l->y[4],
               0, 0, 0, 0 };
    w.gap_top = split - 1;
    w.gap_bot = split + w.drop;
    w.half_w = 0.34 * w0 * w.spread * (1 - 0.35 * q[2] / 64.0);
    w.teeth_h = fmin((w.gap_bot - w.gap_top) * (0.15 + 0.2 * q[4] / 64.0), 0.08 * w0);

    const AVFrame *b = base;
    for (int plane = 0; plane < 3; plane++) {
        int sub = plane ? 1 : 0, W = b->width >> sub, H = b->height >> sub;
        int x0 = rect[0] >> sub, y0 = rect[1] >> sub, x1 = (rect[0] + rect[2]) >> sub, y1 = (rect[1] + rect[3]) >> sub;
        /* interior colours: a dark, slightly red mouth and off-white teeth */
        uint8_t dark = plane == 0 ? 40 : plane == 1 ? 122 : 150, tooth = plane == 0 ? 200 : plane == 1 ? 126 : 131;
        for (int y = y0; y < y1; y++) {
            uint8_t *row = dst->data[plane] + y * dst->linesize[plane];
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
}

/* ---- blinks -------------------------------------------------------------------

   Eye geometry from the distance d between the eye centres (faces vary
   little in these ratios): the eye opening is an ellipse 0.6 d wide and
   0.2 d high; the lid band above it (crease to lashes, below the brow) is
   0.15 d. */

#define EYE_HALF_W 0.30
#define EYE_HALF_H 0.10
#define LID_BAND   0.15

static void eye_geometry(const tc_face_landmarks *l, int e, double *cx, double *cy, double *a, double *b, double *m)
{
    double dx = l->eye_x[1] - l->eye_x[0], dy = l->eye_y[1] - l->eye_y[0];
    double d = sqrt(dx * dx + dy * dy);
    *cx = l->eye_x[e];
    *cy = l->eye_y[e];
    *a = EYE_HALF_W * d;
    *b = EYE_HALF_H * d;
    *m = LID_BAND * d;
}

void tc_face_eye_rect(const tc_face_landmarks *l, int e, int W, int H, int rect[4])
{
    rect[0] = rect[1] = rect[2] = rect[3] = 0;
    if (!l->has_eyes) return;
    double cx, cy, a, b, m;
    eye_geometry(l, e, &cx, &cy, &a, &b, &m);
    int x0 = ((int)floor(cx - a) - 2) & ~1, y0 = ((int)floor(cy - b - m) - 2) & ~1;
    int x1 = ((int)ceil(cx + a) + 3) & ~1, y1 = ((int)ceil(cy + b) + 3) & ~1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > W ? W & ~1 : x1;
    y1 = y1 > H ? H & ~1 : y1;
    if (x1 <= x0 || y1 <= y0) return;
    rect[0] = x0;
    rect[1] = y0;
    rect[2] = x1 - x0;
    rect[3] = y1 - y0;
}

/* One plane at scale 1/div: rows [y0, y1) of the column band get the lid
 * slid down by `closed`. */
static void blink_plane(const uint8_t *src, int sstride, uint8_t *dst, int dstride, int pw, int ph, const int rect[4],
                        int div, double cx, double cy, double a, double b, double m, double closed)
{
    int x0 = rect[0] / div, y0 = rect[1] / div, x1 = (rect[0] + rect[2]) / div, y1 = (rect[1] + rect[3]) / div;
    for (int y = y0; y < y1; y++) memcpy(dst + (size_t)y * dstride + x0, src + (size_t)y * sstride + x0, (size_t)(x1 - x0));
    cx /= div;
    cy /= div;
    a /= div;
    b /= div;
    m /= div;
    for (int x = x0; x < x1; x++) {
        double u = (x + 0.5 - cx) / a;
        if (u <= -1 || u >= 1) continue;
        double arc = sqrt(1 - u * u);
        double top = cy - b * arc, bottom = cy + b * arc * 0.6; /* the lid closes onto the lower lash line */
        double lid = top + closed * (bottom - top) * smooth(1.0, 0.85, fabs(u)); /* corners stay put */
        double band0 = top - m;
        if (lid - top < 0.02) continue;
        /* rows [band0, lid) show the band [band0, top) stretched */
        int ya = (int)floor(band0), yb = (int)ceil(lid);
        for (int y = ya < 0 ? 0 : ya; y < yb && y < ph; y++) {
            double py = y + 0.5;
            if (py < band0 || py >= lid) continue;
            double sy = band0 + (py - band0) * (top - band0) / (lid - band0) - 0.5;
            int s0 = (int)floor(sy);
            double f = sy - s0;
            int s1 = s0 + 1;
            s0 = s0 < 0 ? 0 : s0 >= ph ? ph - 1 : s0;
            s1 = s1 < 0 ? 0 : s1 >= ph ? ph - 1 : s1;
            double v = src[(size_t)s0 * sstride + x] * (1 - f) + src[(size_t)s1 * sstride + x] * f;
            dst[(size_t)y * dstride + x] = (uint8_t)(v + 0.5);
        }
    }
    (void)pw;
}

void tc_face_warp_eye(const AVFrame *base, AVFrame *dst, const tc_face_landmarks *l, int e, const int rect[4],
                      double closed)
{
    if (!l->has_eyes || rect[2] <= 0) return;
    double cx, cy, a, b, m;
    eye_geometry(l, e, &cx, &cy, &a, &b, &m);
    closed = closed < 0 ? 0 : closed > 1 ? 1 : closed;
    for (int p = 0; p < 3; p++) {
        int div = p ? 2 : 1;
        blink_plane(base->data[p], base->linesize[p], dst->data[p], dst->linesize[p], base->width / div,
                    base->height / div, rect, div, cx, cy, a, b, m, closed);
    }
}
