/* fit.c — scale any decoded picture into the engine's size and pixel
 * format once (not per output frame), padding or cropping to keep the
 * aspect ratio. Alpha is composited over black first. */
#include "face/face.h"
#include "core/err.h"

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <string.h>

int tc_face_to_rgba(const AVFrame *src, AVFrame **out)
{
    *out = NULL;
    AVFrame *f = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int r = TC_ERR_NOMEM;
    if (!f) goto done;
    f->format = AV_PIX_FMT_RGBA;
    f->width = src->width;
    f->height = src->height;
    if (av_frame_get_buffer(f, 0) < 0) goto done;
    sws = sws_getContext(src->width, src->height, src->format, src->width, src->height, AV_PIX_FMT_RGBA,
                         SWS_POINT, NULL, NULL, NULL);
    if (!sws) {
        r = TC_ERR_UNSUPPORTED;
        goto done;
    }
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->data, f->linesize);
    *out = f;
    f = NULL;
    r = TC_OK;
done:
    sws_freeContext(sws);
    av_frame_free(&f);
    return r;
}

/* Flatten an image with alpha onto black, into a new RGB24 frame. */
static int flatten_alpha(const AVFrame *src, AVFrame **dst)
{
    AVFrame *rgba = NULL, *rgb = av_frame_alloc();
    int r = rgb ? tc_face_to_rgba(src, &rgba) : TC_ERR_NOMEM;
    if (r < 0) goto out;
    r = TC_ERR_NOMEM;
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = src->width;
    rgb->height = src->height;
    if (av_frame_get_buffer(rgb, 0) < 0) goto out;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = rgba->data[0] + y * rgba->linesize[0];
        uint8_t *d = rgb->data[0] + y * rgb->linesize[0];
        for (int x = 0; x < src->width; x++, s += 4, d += 3) {
            d[0] = (uint8_t)(s[0] * s[3] / 255);
            d[1] = (uint8_t)(s[1] * s[3] / 255);
            d[2] = (uint8_t)(s[2] * s[3] / 255);
        }
    }
    *dst = rgb;
    rgb = NULL;
    r = TC_OK;
out:
    av_frame_free(&rgba);
    av_frame_free(&rgb);
    return r;
}

/* The rectangles of a fit: source (sx, sy, sw, sh) into destination
 * (dx, dy, dw, dh), even-aligned, aspect kept. */
static void fit_rects(int src_w, int src_h, const tc_face_config *cfg, int r[8])
{
    int W = cfg->width, H = cfg->height;
    int sx = 0, sy = 0, sw = src_w, sh = src_h, dx = 0, dy = 0, dw = W, dh = H;
    int64_t lhs = (int64_t)src_w * H, rhs = (int64_t)src_h * W;
    if (cfg->fit == TC_FACE_FIT_CROP) {
        if (lhs > rhs) { sw = (int)(rhs / H); sx = ((src_w - sw) / 2) & ~1; }
        else if (lhs < rhs) { sh = (int)(lhs / W); sy = ((src_h - sh) / 2) & ~1; }
    } else {
        if (lhs > rhs) { dh = (int)(((int64_t)src_h * W / src_w) & ~1); dy = ((H - dh) / 2) & ~1; }
        else if (lhs < rhs) { dw = (int)(((int64_t)src_w * H / src_h) & ~1); dx = ((W - dw) / 2) & ~1; }
    }
    if (dw < 2) dw = 2;
    if (dh < 2) dh = 2;
    int v[8] = { sx, sy, sw, sh, dx, dy, dw, dh };
    memcpy(r, v, sizeof v);
}

void tc_face_fit_geometry(int src_w, int src_h, const tc_face_config *cfg, double *scale, double *ox,
                          double *oy)
{
    int r[8];
    fit_rects(src_w, src_h, cfg, r);
    *scale = (double)r[6] / r[2];
    *ox = r[4] - r[0] * *scale;
    *oy = r[5] - r[1] * *scale;
}

int tc_face_fit_into(struct SwsContext **sws, const AVFrame *src, const tc_face_config *cfg,
                     AVFrame *dst)
{
    AVFrame *flat = NULL;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src->format);
    if (!d || src->width <= 0 || src->height <= 0) return TC_ERR_FORMAT;
    if (d->flags & AV_PIX_FMT_FLAG_ALPHA) {
        int r = flatten_alpha(src, &flat);
        if (r < 0) return r;
        src = flat;
    }

    int rc[8];
    fit_rects(src->width, src->height, cfg, rc);
    int sx = rc[0], sy = rc[1], sw = rc[2], sh = rc[3], dx = rc[4], dy = rc[5], dw = rc[6], dh = rc[7];

    *sws = sws_getCachedContext(*sws, sw, sh, src->format, dw, dh, cfg->pix_fmt,
                                SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!*sws) {
        av_frame_free(&flat);
        return TC_ERR_UNSUPPORTED;
    }
    /* The encoder tags BT.709 limited range, so that is what we write.
     * A YUV source's own matrix: its tag, else BT.709 for HD and BT.601
     * for SD (what players assume); its range from its tag or format. */
    const AVPixFmtDescriptor *in_d = av_pix_fmt_desc_get(src->format);
    int in_rgb = in_d && (in_d->flags & AV_PIX_FMT_FLAG_RGB);
    int in_cs = src->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709
              : src->colorspace == AVCOL_SPC_BT470BG || src->colorspace == AVCOL_SPC_SMPTE170M ? SWS_CS_ITU601
              : src->height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    int in_full = in_rgb || src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P ||
                  src->format == AV_PIX_FMT_YUVJ422P || src->format == AV_PIX_FMT_YUVJ444P;
    int out_full = cfg->pix_fmt == AV_PIX_FMT_YUVJ420P;
    sws_setColorspaceDetails(*sws, sws_getCoefficients(in_cs), in_full, sws_getCoefficients(SWS_CS_ITU709),
                             out_full, 0, 1 << 16, 1 << 16);
    /* Plane pointers offset to the rectangles; x offsets in bytes come from
     * av_image_get_linesize so packed and subsampled formats both work. */
    const AVPixFmtDescriptor *sd = av_pix_fmt_desc_get(src->format);
    const AVPixFmtDescriptor *od = av_pix_fmt_desc_get(cfg->pix_fmt);
    const uint8_t *sp[4] = { 0 };
    uint8_t *dp[4] = { 0 };
    for (int p = 0; p < 4 && src->data[p]; p++) {
        int cy = p == 1 || p == 2 ? sd->log2_chroma_h : 0;
        int xb = sx ? av_image_get_linesize(src->format, sx, p) : 0;
        sp[p] = src->data[p] + (sy >> cy) * src->linesize[p] + (xb > 0 ? xb : 0);
    }
    for (int p = 0; p < 4 && dst->data[p]; p++) {
        int cy = p == 1 || p == 2 ? od->log2_chroma_h : 0;
        int xb = dx ? av_image_get_linesize(cfg->pix_fmt, dx, p) : 0;
        dp[p] = dst->data[p] + (dy >> cy) * dst->linesize[p] + (xb > 0 ? xb : 0);
    }
    sws_scale(*sws, sp, src->linesize, 0, sh, dp, dst->linesize);
    av_frame_free(&flat);
    return TC_OK;
}

int tc_face_alloc_frame(const tc_face_config *cfg, AVFrame **dst)
{
    AVFrame *out = av_frame_alloc();
    if (!out) return TC_ERR_NOMEM;
    out->format = cfg->pix_fmt;
    out->width = cfg->width;
    out->height = cfg->height;
    out->color_range = AVCOL_RANGE_MPEG;
    if (av_frame_get_buffer(out, 0) < 0) {
        av_frame_free(&out);
        return TC_ERR_NOMEM;
    }
    ptrdiff_t ls[4] = { out->linesize[0], out->linesize[1], out->linesize[2], out->linesize[3] };
    if (av_image_fill_black(out->data, ls, cfg->pix_fmt, AVCOL_RANGE_MPEG, cfg->width, cfg->height) < 0) {
        av_frame_free(&out);
        return TC_ERR_UNSUPPORTED;
    }
    *dst = out;
    return TC_OK;
}

int tc_face_fit_frame(const AVFrame *src, const tc_face_config *cfg, AVFrame **dst)
{
    *dst = NULL;
    AVFrame *out;
    int r = tc_face_alloc_frame(cfg, &out);
    if (r < 0) return r;
    struct SwsContext *sws = NULL;
    r = tc_face_fit_into(&sws, src, cfg, out);
    sws_freeContext(sws);
    if (r < 0) {
        av_frame_free(&out);
        return r;
    }
    *dst = out;
    return TC_OK;
}
