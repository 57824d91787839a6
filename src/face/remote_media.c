/* remote_media.c — the small media helpers the face provider client and
 * face-serve share: 16-bit PCM WAV in and out, and a crossfade of two
 * planar 8-bit pictures. */
#include "face/remote.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}
static unsigned get16(const uint8_t *p)
{
    return p[0] | (unsigned)p[1] << 8;
}
static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

int tc_face_wav_encode(const float *pcm, int64_t n, int rate, uint8_t **out, size_t *len)
{
    if (n < 0 || n > (INT32_MAX - 64) / 2 || rate <= 0) return TC_ERR_INVAL;
    size_t sz = 44 + (size_t)n * 2;
    uint8_t *w = malloc(sz);
    if (!w) return TC_ERR_NOMEM;
    memcpy(w, "RIFF", 4);
    put32(w + 4, (uint32_t)(sz - 8));
    memcpy(w + 8, "WAVEfmt ", 8);
    put32(w + 16, 16);
    put16(w + 20, 1);
    put16(w + 22, 1);
    put32(w + 24, (uint32_t)rate);
    put32(w + 28, (uint32_t)rate * 2);
    put16(w + 32, 2);
    put16(w + 34, 16);
    memcpy(w + 36, "data", 4);
    put32(w + 40, (uint32_t)n * 2);
    for (int64_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        int s = v > 32767 ? 32767 : v < -32768 ? -32768 : (int)v;
        put16(w + 44 + i * 2, (unsigned)(s & 0xffff));
    }
    *out = w;
    *len = sz;
    return TC_OK;
}

int tc_face_wav_decode(const uint8_t *d, size_t len, float **pcm, int64_t *n, int *rate)
{
    if (len < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WAVE", 4)) return TC_ERR_FORMAT;
    int ch = 0, bits = 0;
    uint32_t sr = 0;
    for (size_t p = 12; p + 8 <= len;) {
        uint32_t cl = get32(d + p + 4);
        const uint8_t *c = d + p + 8;
        size_t avail = len - p - 8;
        if (!memcmp(d + p, "fmt ", 4)) {
            if (cl < 16 || avail < 16) return TC_ERR_FORMAT;
            if (get16(c) != 1) return TC_ERR_UNSUPPORTED;
            ch = (int)get16(c + 2);
            sr = get32(c + 4);
            bits = (int)get16(c + 14);
        } else if (!memcmp(d + p, "data", 4)) {
            if (!ch || bits != 16 || sr < 8000 || sr > 192000) return TC_ERR_UNSUPPORTED;
            size_t bytes = cl < avail ? cl : avail;
            int64_t frames = (int64_t)(bytes / (size_t)(2 * ch));
            float *f = malloc((size_t)(frames ? frames : 1) * sizeof *f);
            if (!f) return TC_ERR_NOMEM;
            for (int64_t i = 0; i < frames; i++)
                f[i] = (int16_t)get16(c + i * 2 * ch) / 32768.0f;
            *pcm = f;
            *n = frames;
            *rate = (int)sr;
            return TC_OK;
        }
        if (cl > avail) break;
        p += 8 + cl + (cl & 1);
    }
    return TC_ERR_FORMAT;
}

void tc_face_blend(const AVFrame *a, const AVFrame *b, float w, AVFrame *dst)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dst->format);
    int wi = (int)(w * 256 + 0.5f);
    if (wi < 0) wi = 0;
    if (wi > 256) wi = 256;
    int planes = av_pix_fmt_count_planes(dst->format);
    for (int p = 0; p < planes; p++) {
        int bytes = av_image_get_linesize(dst->format, dst->width, p);
        int h = p == 1 || p == 2 ? AV_CEIL_RSHIFT(dst->height, d->log2_chroma_h) : dst->height;
        for (int y = 0; y < h; y++) {
            const uint8_t *pa = a->data[p] + (ptrdiff_t)y * a->linesize[p];
            const uint8_t *pb = b->data[p] + (ptrdiff_t)y * b->linesize[p];
            uint8_t *o = dst->data[p] + (ptrdiff_t)y * dst->linesize[p];
            for (int x = 0; x < bytes; x++)
                o[x] = (uint8_t)((pa[x] * (256 - wi) + pb[x] * wi + 128) >> 8);
        }
    }
}
