/* sprite.c — a PNGtuber-style sprite pack as the avatar: a base picture
 * and one PNG layer per mouth shape (viseme), plus an optional closed-eyes
 * layer, composited with alpha. A directory holds sprites.json:
 *
 *   {"base": "base.png",
 *    "mouths": {"rest": "rest.png", "mbp": "m.png", "aa": "a.png", ...},
 *    "blink": "eyes_closed.png"}
 *
 * Layers are the base's size (or placed at "offset": [x, y]). Mouth names
 * are the viseme names of lipsync (rest mbp fv th cons sh ee aa oo uw); a
 * missing one falls back to the nearest given shape. Each mouth
 * parameter set picks the viseme whose shape is nearest. Every combination
 * is composited and fitted once, the first time it is needed; after that a
 * render is a reference to a cached frame. */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define N_SHAPES 10 /* the viseme set of src/lipsync */

static const char *const shape_names[N_SHAPES] = { "rest", "mbp", "fv", "th", "cons",
                                                   "sh", "ee", "aa", "oo", "uw" };
/* open, width, round, press, teeth — the same table as lipsync's visemes */
static const float shape_params[N_SHAPES][5] = {
    { 0, 0, 0, 0, 0 }, { 0, 0, 0, 1, 0 }, { 0.15f, 0.15f, 0, 0, 1 }, { 0.3f, 0.15f, 0, 0, 0.5f },
    { 0.25f, 0.25f, 0, 0, 0.5f }, { 0.25f, 0, 0.6f, 0, 0.6f }, { 0.4f, 0.8f, 0, 0, 0.5f },
    { 0.9f, 0.3f, 0, 0, 0.3f }, { 0.6f, 0, 0.8f, 0, 0.1f }, { 0.25f, 0, 1, 0, 0 },
};

static const tc_log_ctx log_ctx = { "face", "sprite" };

typedef struct layer {
    AVFrame *rgba; /* NULL when not given */
    int x, y;
} layer;

typedef struct sprite_priv {
    tc_face_config cfg;
    AVFrame *base;                 /* RGBA */
    layer mouth[N_SHAPES], blink;
    int use[N_SHAPES];             /* which given layer stands for each shape */
    AVFrame *cache[N_SHAPES][2];   /* fitted output per (shape, eyes shut) */
    AVFrame *last;
} sprite_priv;

static int to_rgba(const char *path, AVFrame **out)
{
    AVFrame *raw;
    int r = tc_face_decode_still(path, &raw);
    if (r < 0) return r;
    r = tc_face_to_rgba(raw, out);
    av_frame_free(&raw);
    return r;
}

/* dir/<name from the manifest>, refusing paths that leave the pack — by
 * name, or through a symlink (a missing file is left to the loader). */
static int pack_path(char *buf, size_t len, const char *dir, json_object *v, const char *what)
{
    const char *name = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!name || !*name || name[0] == '/' || strstr(name, "..")) {
        tc_log(&log_ctx, TC_LOG_ERROR, "sprites.json: %s must be a file name inside the pack", what);
        return TC_ERR_FORMAT;
    }
    snprintf(buf, len, "%s/%s", dir, name);
    char root[PATH_MAX], real[PATH_MAX];
    if (realpath(buf, real) && realpath(dir, root)) {
        size_t n = strlen(root);
        if (strncmp(real, root, n) || (real[n] != '/' && n > 1)) {
            tc_log(&log_ctx, TC_LOG_ERROR, "sprites.json: %s is a link that leads out of the pack", what);
            return TC_ERR_FORMAT;
        }
    }
    return TC_OK;
}

/* Past any frame size: a layer placed further is off the picture anyway,
 * and x + offset stays far from int overflow when compositing. */
#define MAX_OFFSET 16384

/* "offset": [x, y], two numbers within ±MAX_OFFSET pixels. */
static int read_offset(json_object *off, int *x, int *y)
{
    if (!json_object_is_type(off, json_type_array) || json_object_array_length(off) != 2) return TC_ERR_FORMAT;
    int v[2];
    for (int i = 0; i < 2; i++) {
        json_object *c = json_object_array_get_idx(off, (size_t)i);
        double d = json_object_get_double(c);
        if ((!json_object_is_type(c, json_type_int) && !json_object_is_type(c, json_type_double)) ||
            !(d >= -MAX_OFFSET && d <= MAX_OFFSET))
            return TC_ERR_FORMAT;
        v[i] = (int)lrint(d);
    }
    *x = v[0];
    *y = v[1];
    return TC_OK;
}

static int load_layer(layer *l, const char *dir, json_object *spec, const char *what)
{
    json_object *file = spec, *off;
    if (json_object_is_type(spec, json_type_object)) { /* {"file": "...", "offset": [x, y]} */
        json_object_object_get_ex(spec, "file", &file);
        if (json_object_object_get_ex(spec, "offset", &off) && read_offset(off, &l->x, &l->y) < 0) {
            tc_log(&log_ctx, TC_LOG_ERROR, "sprites.json: %s: \"offset\" must be [x, y] within ±%d pixels", what,
                   MAX_OFFSET);
            return TC_ERR_FORMAT;
        }
    }
    char path[4096];
    int r = pack_path(path, sizeof path, dir, file, what);
    if (r == TC_OK) r = to_rgba(path, &l->rgba);
    return r;
}

static int sprite_init(void *priv, const tc_face_config *cfg)
{
    sprite_priv *p = priv;
    p->cfg = *cfg;
    if (!cfg->path) return TC_ERR_INVAL;
    char dir[4096], manifest[4200];
    snprintf(dir, sizeof dir, "%s", cfg->path);
    size_t dl = strlen(dir);
    if (dl > 5 && !strcmp(dir + dl - 5, ".json")) {
        snprintf(manifest, sizeof manifest, "%s", dir);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
    } else {
        snprintf(manifest, sizeof manifest, "%s/sprites.json", dir);
    }
    p->cfg.path = NULL;
    json_object *root = json_object_from_file(manifest);
    if (!root) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot read %s: %s", manifest, json_util_get_last_err());
        return TC_ERR_NOTFOUND;
    }
    int r = TC_OK, given = 0;
    json_object *v, *mouths;
    char path[4096];
    if (!json_object_object_get_ex(root, "base", &v) || (r = pack_path(path, sizeof path, dir, v, "base")) < 0 ||
        (r = to_rgba(path, &p->base)) < 0) {
        if (r == TC_OK) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: no \"base\" picture", manifest);
            r = TC_ERR_FORMAT;
        }
        goto out;
    }
    if (!json_object_object_get_ex(root, "mouths", &mouths) || !json_object_is_type(mouths, json_type_object)) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: no \"mouths\" object", manifest);
        r = TC_ERR_FORMAT;
        goto out;
    }
    json_object_object_foreach(mouths, key, val) {
        int i;
        for (i = 0; i < N_SHAPES && strcmp(key, shape_names[i]); i++) {}
        if (i == N_SHAPES) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s: unknown mouth \"%s\" (rest mbp fv th cons sh ee aa oo uw)", manifest, key);
            r = TC_ERR_FORMAT;
            goto out;
        }
        if ((r = load_layer(&p->mouth[i], dir, val, key)) < 0) goto out;
        given++;
    }
    if (!given) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s: \"mouths\" is empty", manifest);
        r = TC_ERR_FORMAT;
        goto out;
    }
    if (json_object_object_get_ex(root, "blink", &v) && (r = load_layer(&p->blink, dir, v, "blink")) < 0) goto out;
    /* a missing shape uses the nearest given one */
    for (int i = 0; i < N_SHAPES; i++) {
        double best = 1e9;
        for (int j = 0; j < N_SHAPES; j++) {
            if (!p->mouth[j].rgba) continue;
            double d = 0;
            for (int k = 0; k < 5; k++) d += (shape_params[i][k] - shape_params[j][k]) * (shape_params[i][k] - shape_params[j][k]);
            if (d < best) { best = d; p->use[i] = j; }
        }
    }
out:
    json_object_put(root);
    return r;
}

/* Alpha-blend `l` over `dst` (both RGBA). */
static void over(AVFrame *dst, const layer *l)
{
    const AVFrame *s = l->rgba;
    for (int y = 0; y < s->height; y++) {
        int dy = y + l->y;
        if (dy < 0 || dy >= dst->height) continue;
        const uint8_t *sp = s->data[0] + y * s->linesize[0];
        uint8_t *dp = dst->data[0] + dy * dst->linesize[0];
        for (int x = 0; x < s->width; x++) {
            int dx = x + l->x;
            if (dx < 0 || dx >= dst->width) continue;
            unsigned a = sp[4 * x + 3];
            for (int c = 0; c < 3; c++)
                dp[4 * dx + c] = (uint8_t)((sp[4 * x + c] * a + dp[4 * dx + c] * (255 - a) + 127) / 255);
        }
    }
}

static int compose(sprite_priv *p, int shape, int shut, AVFrame **out)
{
    AVFrame *work = av_frame_clone(p->base);
    if (!work || av_frame_make_writable(work) < 0) {
        av_frame_free(&work);
        return TC_ERR_NOMEM;
    }
    over(work, &p->mouth[p->use[shape]]);
    if (shut && p->blink.rgba) over(work, &p->blink);
    int r = tc_face_fit_frame(work, &p->cfg, out);
    av_frame_free(&work);
    return r;
}

static int sprite_render(void *priv, int64_t n, const tc_mouth *m, AVFrame *out, int *changed)
{
    sprite_priv *p = priv;
    float v[5] = { m->open, m->width, m->round, m->press, m->teeth };
    int shape = 0;
    double best = 1e9;
    for (int i = 0; i < N_SHAPES; i++) {
        double d = 0;
        for (int k = 0; k < 5; k++) {
            double x = v[k] != v[k] ? 0 : v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k];
            d += (x - shape_params[i][k]) * (x - shape_params[i][k]);
        }
        if (d < best) { best = d; shape = i; }
    }
    shape = p->use[shape];
    int shut = p->blink.rgba && tc_face_blink(p->cfg.seed, n, p->cfg.fps_num, p->cfg.fps_den) > 0.5;
    AVFrame **slot = &p->cache[shape][shut];
    if (!*slot) {
        int r = compose(p, shape, shut, slot);
        if (r < 0) return r;
    }
    *changed = *slot != p->last;
    p->last = *slot;
    return av_frame_ref(out, *slot) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void sprite_uninit(void *priv)
{
    sprite_priv *p = priv;
    for (int i = 0; i < N_SHAPES; i++) {
        av_frame_free(&p->mouth[i].rgba);
        av_frame_free(&p->cache[i][0]);
        av_frame_free(&p->cache[i][1]);
    }
    av_frame_free(&p->blink.rgba);
    av_frame_free(&p->base);
}

/* idle, the same picture forever (but for blinks) */
static int still_period(void *priv)
{
    (void)priv;
    return 1;
}

const tc_face_vtable tc_face_sprite = { "sprite", sizeof(sprite_priv), sprite_init, sprite_render, sprite_uninit, still_period };
