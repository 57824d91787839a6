/* resample.c — libswresample behind an exact-length contract. */
#include "tts/resample.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libswresample/swresample.h>

struct tc_resampler {
    SwrContext *swr;
    int in_rate, out_rate;
    int64_t in_total;     /* input samples pushed */
    float *buf;           /* output */
    int64_t n, cap;
};

int tc_resampler_create(tc_resampler **out, enum AVSampleFormat in_fmt, int in_channels,
                        int in_rate, int out_rate)
{
    *out = NULL;
    if (in_rate <= 0 || out_rate <= 0 || in_channels < 1 || in_channels > 8) return TC_ERR_INVAL;
    tc_resampler *r = calloc(1, sizeof *r);
    if (!r) return TC_ERR_NOMEM;
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    AVChannelLayout in_l, out_l = AV_CHANNEL_LAYOUT_MONO;
    av_channel_layout_default(&in_l, in_channels);
    int e = swr_alloc_set_opts2(&r->swr, &out_l, AV_SAMPLE_FMT_FLT, out_rate, &in_l, in_fmt, in_rate, 0, NULL);
    if (e < 0 || swr_init(r->swr) < 0) {
        tc_resampler_destroy(r);
        return TC_ERR_INVAL;
    }
    *out = r;
    return TC_OK;
}

void tc_resampler_destroy(tc_resampler *r)
{
    if (!r) return;
    swr_free(&r->swr);
    free(r->buf);
    free(r);
}

static int reserve(tc_resampler *r, int64_t more)
{
    if (r->n + more <= r->cap) return TC_OK;
    int64_t nc = r->cap ? r->cap : 4096;
    while (nc < r->n + more) nc *= 2;
    float *b = realloc(r->buf, (size_t)nc * sizeof *b);
    if (!b) return TC_ERR_NOMEM;
    r->buf = b;
    r->cap = nc;
    return TC_OK;
}

static int convert(tc_resampler *r, const uint8_t *const *data, int n)
{
    int room = swr_get_out_samples(r->swr, n);
    if (room < 0) return TC_ERR_INVAL;
    if (reserve(r, room + 16) < 0) return TC_ERR_NOMEM;
    uint8_t *o = (uint8_t *)(r->buf + r->n);
    int got = swr_convert(r->swr, &o, room + 16, (const uint8_t **)data, n);
    if (got < 0) return TC_ERR_INVAL;
    r->n += got;
    return TC_OK;
}

int tc_resampler_push(tc_resampler *r, const uint8_t *const *data, int n)
{
    if (n <= 0) return TC_OK;
    r->in_total += n;
    return convert(r, data, n);
}

int64_t tc_resampler_map(const tc_resampler *r, int64_t in_pos)
{
    return av_rescale_rnd(in_pos, r->out_rate, r->in_rate, AV_ROUND_NEAR_INF);
}

int tc_resampler_finish(tc_resampler *r)
{
    int e = convert(r, NULL, 0);
    if (e < 0) return e;
    /* The filter's delay makes the raw count drift by a few samples either
     * way; the contract is the exact count, so pad with silence or trim. */
    int64_t want = tc_resampler_map(r, r->in_total);
    if (r->n < want) {
        if (reserve(r, want - r->n) < 0) return TC_ERR_NOMEM;
        memset(r->buf + r->n, 0, (size_t)(want - r->n) * sizeof(float));
    }
    r->n = want;
    return TC_OK;
}

int64_t tc_resampler_count(const tc_resampler *r) { return r->n; }

float *tc_resampler_take(tc_resampler *r, int64_t *n)
{
    float *b = r->buf;
    *n = r->n;
    r->buf = NULL;
    r->n = r->cap = 0;
    return b;
}
