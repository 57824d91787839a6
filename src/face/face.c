/* face.c — the renderer factory: a table of vtables picked by name, and
 * a content probe that picks "image" or "video" for a file. */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

extern const tc_face_vtable tc_face_vector, tc_face_image, tc_face_video, tc_face_photo, tc_face_sprite;

static const tc_face_vtable *const renderers[] = { &tc_face_vector, &tc_face_image, &tc_face_video,
                                                   &tc_face_photo, &tc_face_sprite };

static const tc_log_ctx log_ctx = { "face", NULL };

struct tc_face {
    const tc_face_vtable *vt;
    void *priv;
    uint32_t seed;
    int fps_num, fps_den;
};

int tc_face_idle_period(const tc_face *f) { return f->vt->idle_period ? f->vt->idle_period(f->priv) : 0; }

double tc_face_blink_at(const tc_face *f, int64_t n) { return tc_face_blink(f->seed, n, f->fps_num, f->fps_den); }

int tc_face_create(tc_face **out, const char *name, const tc_face_config *cfg)
{
    *out = NULL;
    const tc_face_vtable *vt = NULL;
    for (size_t i = 0; i < sizeof renderers / sizeof renderers[0]; i++)
        if (!strcmp(renderers[i]->name, name)) vt = renderers[i];
    if (!vt) {
        tc_log(&log_ctx, TC_LOG_ERROR, "no renderer called '%s'", name);
        return TC_ERR_NOTFOUND;
    }
    if (cfg->width < 16 || cfg->height < 16 || (cfg->width & 1) || (cfg->height & 1) ||
        cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->pix_fmt == AV_PIX_FMT_NONE)
        return TC_ERR_INVAL;
    tc_face *f = calloc(1, sizeof *f);
    if (!f) return TC_ERR_NOMEM;
    f->vt = vt;
    f->seed = cfg->seed;
    f->fps_num = cfg->fps_num;
    f->fps_den = cfg->fps_den;
    if (!(f->priv = calloc(1, vt->priv_size ? vt->priv_size : 1))) {
        free(f);
        return TC_ERR_NOMEM;
    }
    int r = vt->init(f->priv, cfg);
    if (r < 0) {
        vt->uninit(f->priv);
        free(f->priv);
        free(f);
        return r;
    }
    *out = f;
    return TC_OK;
}

/* "image" for a single still picture, "video" for anything with motion. */
static int probe_kind(const char *path, const char **kind)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "avatar file %s does not exist", path);
        return TC_ERR_NOTFOUND;
    }
    AVFormatContext *ic = NULL;
    int r = avformat_open_input(&ic, path, NULL, NULL);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "avatar %s is not an image or video: %s", path, av_err2str(r));
        return TC_ERR_FORMAT;
    }
    r = avformat_find_stream_info(ic, NULL);
    int vi = r >= 0 ? av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0) : -1;
    if (vi < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "avatar %s has no picture in it", path);
        avformat_close_input(&ic);
        return TC_ERR_FORMAT;
    }
    const AVStream *s = ic->streams[vi];
    const AVCodecDescriptor *d = avcodec_descriptor_get(s->codecpar->codec_id);
    int still = (ic->iformat->flags & AVFMT_NOTIMESTAMPS) || strstr(ic->iformat->name, "_pipe") ||
                !strcmp(ic->iformat->name, "image2") || s->nb_frames == 1 ||
                (d && (d->props & AV_CODEC_PROP_INTRA_ONLY) && ic->duration <= 0 && s->nb_frames <= 1);
    *kind = still ? "image" : "video";
    avformat_close_input(&ic);
    return TC_OK;
}

int tc_face_create_auto(tc_face **out, const tc_face_config *cfg)
{
    *out = NULL;
    if (!cfg->path || !cfg->path[0] || !strcmp(cfg->path, "vector"))
        return tc_face_create(out, "vector", cfg);
    /* a directory (or a .json manifest) is a sprite pack */
    struct stat sb;
    size_t pl = strlen(cfg->path);
    if ((stat(cfg->path, &sb) == 0 && S_ISDIR(sb.st_mode)) || (pl > 5 && !strcmp(cfg->path + pl - 5, ".json")))
        return tc_face_create(out, "sprite", cfg);
    const char *kind;
    int r = probe_kind(cfg->path, &kind);
    if (r < 0) return r;
    /* a still with mouth landmarks can talk: the photo renderer */
    if (!strcmp(kind, "image")) {
        struct stat st;
        char lm[4096];
        const char *dot = strrchr(cfg->path, '.'), *slash = strrchr(cfg->path, '/');
        int n = dot && (!slash || dot > slash) ? (int)(dot - cfg->path) : (int)strlen(cfg->path);
        snprintf(lm, sizeof lm, "%.*s.landmarks.json", n, cfg->path);
        if (cfg->landmarks ? cfg->landmarks[0] != '\0' : stat(lm, &st) == 0) kind = "photo";
    }
    return tc_face_create(out, kind, cfg);
}

#define BLINK_PERIOD 4.0
#define BLINK_CLOSE  0.10 /* seconds to shut */
#define BLINK_HOLD   0.05
#define BLINK_OPEN   0.15

static double unit_hash(uint32_t seed, int64_t k)
{
    uint64_t x = ((uint64_t)seed << 32) ^ (uint64_t)k; /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (double)(x >> 11) / 9007199254740992.0;
}

static double smooth(double t) { return t * t * (3 - 2 * t); }

double tc_face_blink(uint32_t seed, int64_t n, int fps_num, int fps_den)
{
    double t = (double)n * fps_den / fps_num;
    if (t < 2) return 0;
    int64_t k = (int64_t)floor((t - 2) / BLINK_PERIOD);
    /* blink k-1 ended before 4k + 0.3 <= t, blink k+1 starts after t */
    double d = t - (BLINK_PERIOD * (double)k + 2 + 2 * unit_hash(seed, k));
    if (d < 0) return 0;
    if (d < BLINK_CLOSE) return smooth(d / BLINK_CLOSE);
    if (d < BLINK_CLOSE + BLINK_HOLD) return 1;
    if (d < BLINK_CLOSE + BLINK_HOLD + BLINK_OPEN) return 1 - smooth((d - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN);
    return 0;
}

int tc_face_render(tc_face *f, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed)
{
    static const tc_mouth closed = { 0 };
    int dummy;
    return f->vt->render(f->priv, n, mouth ? mouth : &closed, out, changed ? changed : &dummy);
}

const char *tc_face_name(const tc_face *f) { return f->vt->name; }

void tc_face_destroy(tc_face *f)
{
    if (!f) return;
    f->vt->uninit(f->priv);
    free(f->priv);
    free(f);
}
