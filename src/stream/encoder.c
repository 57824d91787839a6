/* encoder.c — libx264 + AAC in-process. Audio is re-chunked through an
 * AVAudioFifo sized at create time; all frames are allocated once.
 *
 * x264 can be closed while nothing needs it (tc_encoder_suspend_video: the
 * engine does so while it replays its idle loop) and is opened again by the
 * next picture. Its stream headers are kept in a parameter-only codec
 * context made at create time, so outputs and the idle builder always see
 * the same headers, and a reopened x264 must write exactly those. */
#include "stream/encoder.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include <x264.h>

static const tc_log_ctx log_ctx = { "encoder", NULL };

struct tc_encoder {
    AVCodecContext *venc, *aenc;
    AVCodecContext *vpar;  /* never opened: the video stream's parameters and headers */
    tc_encoder_config cfg; /* to reopen x264 (strings owned: preset, tune, params) */
    AVFrame *aframe;       /* reused AAC input frame of frame_size samples */
    AVAudioFifo *fifo;
    AVPacket *pkt;         /* reused output packet */
    int64_t audio_pts;     /* next AAC frame's first sample */
    atomic_int want_key;
    int idr_pending;   /* an IDR was asked for and none has come out yet */
    tc_encoder_sink sink;
    void *opaque;
};

int tc_err_from_av(int averr)
{
    if (averr >= 0) return TC_OK;
    switch (averr) {
    case AVERROR(ENOMEM): return TC_ERR_NOMEM;
    case AVERROR(EINVAL): return TC_ERR_INVAL;
    case AVERROR(EAGAIN): return TC_ERR_AGAIN;
    case AVERROR_EOF: return TC_ERR_EOF;
    case AVERROR_EXIT: return TC_ERR_CLOSED;
    case AVERROR(ETIMEDOUT): return TC_ERR_TIMEOUT;
    case AVERROR(ENOENT): return TC_ERR_NOTFOUND;
    case AVERROR_INVALIDDATA: return TC_ERR_FORMAT;
    case AVERROR_ENCODER_NOT_FOUND: case AVERROR_DECODER_NOT_FOUND: return TC_ERR_CODEC;
    case AVERROR(EPIPE): case AVERROR(ECONNRESET): case AVERROR(ECONNREFUSED):
    case AVERROR(ENETUNREACH): case AVERROR(EHOSTUNREACH): return TC_ERR_NET;
    default: return TC_ERR_IO;
    }
}

int tc_encoder_check_params(const char *params, char *err, size_t errlen)
{
    if (!params || !*params) return TC_OK;
    AVDictionary *d = NULL;
    if (av_dict_parse_string(&d, params, "=", ":", 0) < 0) {
        av_dict_free(&d);
        snprintf(err, errlen, "x264-params '%s': not key=value:key=value", params);
        return TC_ERR_INVAL;
    }
    x264_param_t p;
    x264_param_default(&p);
    int r = TC_OK;
    for (const AVDictionaryEntry *t = NULL; r == TC_OK && (t = av_dict_get(d, "", t, AV_DICT_IGNORE_SUFFIX));) {
        int x = x264_param_parse(&p, t->key, t->value);
        if (x == X264_PARAM_BAD_NAME)
            snprintf(err, errlen, "x264-params: x264 has no option '%s'", t->key);
        else if (x == X264_PARAM_BAD_VALUE)
            snprintf(err, errlen, "x264-params: '%s' is not a valid value for %s", t->value, t->key);
        if (x != 0) r = TC_ERR_INVAL;
    }
    x264_param_cleanup(&p);
    av_dict_free(&d);
    return r;
}

static int open_video(tc_encoder *e, const tc_encoder_config *cfg)
{
    char perr[256];
    e->venc = NULL;
    if (tc_encoder_check_params(cfg->params, perr, sizeof perr) < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "%s", perr);
        return TC_ERR_INVAL;
    }
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) {
        tc_log(&log_ctx, TC_LOG_ERROR, "libx264 encoder not available in this libavcodec");
        return TC_ERR_CODEC;
    }
    AVCodecContext *c = e->venc = avcodec_alloc_context3(codec);
    if (!c) return TC_ERR_NOMEM;
    c->width = cfg->width;
    c->height = cfg->height;
    c->pix_fmt = cfg->pix_fmt;
    c->time_base = (AVRational){ cfg->fps_den, cfg->fps_num };
    c->framerate = (AVRational){ cfg->fps_num, cfg->fps_den };
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    int gop = (int)(cfg->keyint * cfg->fps_num / cfg->fps_den + 0.5);
    c->gop_size = gop < 1 ? 1 : gop;
    c->max_b_frames = 0; /* live: no reordering, pts == dts */
    /* every requested IDR is honoured (x264 would demote one within
     * keyint_min frames of the last keyframe to a plain I frame) */
    c->keyint_min = 1;
    c->bit_rate = cfg->video_bitrate;
    c->rc_max_rate = cfg->video_maxrate ? cfg->video_maxrate : cfg->video_bitrate;
    c->rc_buffer_size = (int)(cfg->video_bufsize ? cfg->video_bufsize : 2 * c->rc_max_rate);
    /* Headers go in extradata so FLV/MP4 get avcC; MPEG-TS muxing re-inserts
     * them before each keyframe itself. */
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;

    AVDictionary *opts = NULL;
    av_dict_set(&opts, "preset", cfg->preset && *cfg->preset ? cfg->preset : "veryfast", 0);
    if (cfg->tune && *cfg->tune) av_dict_set(&opts, "tune", cfg->tune, 0);
    if (cfg->params && *cfg->params) av_dict_set(&opts, "x264-params", cfg->params, 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    /* A/53 captions from AV_FRAME_DATA_A53_CC side data become SEI in the
     * stream (caption.h); the wrapper's default, stated so it stays on */
    av_dict_set(&opts, "a53cc", "1", 0);
    if (cfg->threads > 0) c->thread_count = cfg->threads;
    int r = avcodec_open2(c, codec, &opts);
    AVDictionaryEntry *left = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (left) tc_log(&log_ctx, TC_LOG_WARN, "x264 ignored option %s=%s", left->key, left->value);
    av_dict_free(&opts);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot open libx264 (%dx%d %s, preset %s): %s",
               cfg->width, cfg->height, av_get_pix_fmt_name(cfg->pix_fmt),
               cfg->preset, av_err2str(r));
        return tc_err_from_av(r);
    }
    return TC_OK;
}

static int open_audio(tc_encoder *e, const tc_encoder_config *cfg)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!codec) return TC_ERR_CODEC;
    AVCodecContext *c = e->aenc = avcodec_alloc_context3(codec);
    if (!c) return TC_ERR_NOMEM;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = cfg->sample_rate;
    av_channel_layout_default(&c->ch_layout, cfg->channels);
    c->bit_rate = cfg->audio_bitrate;
    c->time_base = (AVRational){ 1, cfg->sample_rate };
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* FFmpeg's default two-loop search spent a quarter of `say`'s CPU on
     * speech at 128 kb/s; the fast coder is transparent enough for a voice */
    AVDictionary *opts = NULL;
    if (!strcmp(codec->name, "aac")) av_dict_set(&opts, "aac_coder", "fast", 0);
    int r = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot open AAC encoder: %s", av_err2str(r));
        return tc_err_from_av(r);
    }

    e->aframe = av_frame_alloc();
    if (!e->aframe) return TC_ERR_NOMEM;
    e->aframe->format = c->sample_fmt;
    e->aframe->sample_rate = c->sample_rate;
    e->aframe->nb_samples = c->frame_size;
    if (av_channel_layout_copy(&e->aframe->ch_layout, &c->ch_layout) < 0 ||
        av_frame_get_buffer(e->aframe, 0) < 0)
        return TC_ERR_NOMEM;
    /* Room for a few video frames of audio at any frame rate we accept. */
    e->fifo = av_audio_fifo_alloc(c->sample_fmt, cfg->channels, cfg->sample_rate);
    return e->fifo ? TC_OK : TC_ERR_NOMEM;
}

/* The parameter-only twin of the open x264 context (headers included). */
static int keep_params(tc_encoder *e)
{
    AVCodecParameters *par = avcodec_parameters_alloc();
    if (!par || !(e->vpar = avcodec_alloc_context3(e->venc->codec))) {
        avcodec_parameters_free(&par);
        return TC_ERR_NOMEM;
    }
    int r = avcodec_parameters_from_context(par, e->venc);
    if (r >= 0) r = avcodec_parameters_to_context(e->vpar, par);
    avcodec_parameters_free(&par);
    if (r < 0) return tc_err_from_av(r);
    e->vpar->time_base = e->venc->time_base;
    e->vpar->framerate = e->venc->framerate;
    e->vpar->flags = e->venc->flags;
    return TC_OK;
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

int tc_encoder_create(tc_encoder **out, const tc_encoder_config *cfg,
                      tc_encoder_sink sink, void *opaque)
{
    *out = NULL;
    tc_encoder *e = calloc(1, sizeof *e);
    if (!e) return TC_ERR_NOMEM;
    e->sink = sink;
    e->opaque = opaque;
    e->cfg = *cfg;
    e->cfg.preset = dup_opt(cfg->preset);
    e->cfg.tune = dup_opt(cfg->tune);
    e->cfg.params = dup_opt(cfg->params);
    int r = TC_ERR_NOMEM;
    if ((cfg->preset && !e->cfg.preset) || (cfg->tune && !e->cfg.tune) || (cfg->params && !e->cfg.params)) goto fail;
    if (!(e->pkt = av_packet_alloc())) goto fail;
    if ((r = open_video(e, &e->cfg)) < 0) goto fail;
    if ((r = keep_params(e)) < 0) goto fail;
    if ((r = open_audio(e, cfg)) < 0) goto fail;
    *out = e;
    return TC_OK;
fail:
    tc_encoder_destroy(e);
    return r;
}

void tc_encoder_destroy(tc_encoder *e)
{
    if (!e) return;
    avcodec_free_context(&e->venc);
    avcodec_free_context(&e->vpar);
    free((char *)e->cfg.preset);
    free((char *)e->cfg.tune);
    free((char *)e->cfg.params);
    avcodec_free_context(&e->aenc);
    av_frame_free(&e->aframe);
    if (e->fifo) av_audio_fifo_free(e->fifo);
    av_packet_free(&e->pkt);
    free(e);
}

/* Pull every ready packet from `c` and hand it to the sink. */
static int drain(tc_encoder *e, AVCodecContext *c, int stream)
{
    for (;;) {
        int r = avcodec_receive_packet(c, e->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return TC_OK;
        if (r < 0) {
            tc_log(&log_ctx, TC_LOG_ERROR, "%s encoder failed: %s",
                   stream ? "audio" : "video", av_err2str(r));
            return tc_err_from_av(r);
        }
        if (stream == 0 && (e->pkt->flags & AV_PKT_FLAG_KEY)) e->idr_pending = 0;
        e->sink(e->opaque, stream, e->pkt);
        av_packet_unref(e->pkt);
    }
}

int tc_encoder_suspend_video(tc_encoder *e)
{
    if (!e->venc) return TC_OK;
    /* zero-latency x264 holds no frames back; drain anyway, so that
     * nothing it has encoded is lost */
    int r = avcodec_send_frame(e->venc, NULL);
    if (r >= 0) r = drain(e, e->venc, 0);
    else r = tc_err_from_av(r);
    avcodec_free_context(&e->venc);
    e->idr_pending = 0; /* the reopened x264 starts with an IDR */
    return r;
}

int tc_encoder_video_suspended(const tc_encoder *e)
{
    return e->venc == NULL;
}

static int reopen_video(tc_encoder *e)
{
    int r = open_video(e, &e->cfg);
    if (r < 0) return r;
    if (e->venc->extradata_size != e->vpar->extradata_size ||
        memcmp(e->venc->extradata, e->vpar->extradata, (size_t)e->vpar->extradata_size)) {
        tc_log(&log_ctx, TC_LOG_ERROR, "x264 reopened with other stream headers; the stream cannot go on");
        avcodec_free_context(&e->venc);
        return TC_ERR_FORMAT;
    }
    atomic_store(&e->want_key, 0); /* its first frame is an IDR */
    return TC_OK;
}

int tc_encoder_video(tc_encoder *e, AVFrame *frame, int64_t n)
{
    if (!e->venc) {
        int r = reopen_video(e);
        if (r < 0) return r;
    }
    frame->pts = n;
    frame->pict_type = AV_PICTURE_TYPE_NONE;
    /* x264 may write a requested IDR as a plain I frame (too close to its
     * last keyframe): asked for again on every frame until one is out */
    if (atomic_exchange(&e->want_key, 0)) e->idr_pending = 1;
    if (e->idr_pending) frame->pict_type = AV_PICTURE_TYPE_I;
    int r = avcodec_send_frame(e->venc, frame);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "video frame %lld refused: %s", (long long)n, av_err2str(r));
        return tc_err_from_av(r);
    }
    return drain(e, e->venc, 0);
}

/* Encode one AAC frame of `nb` samples taken from the fifo. */
static int encode_audio_frame(tc_encoder *e, int nb)
{
    if (av_frame_make_writable(e->aframe) < 0) return TC_ERR_NOMEM;
    e->aframe->nb_samples = nb;
    if (av_audio_fifo_read(e->fifo, (void **)e->aframe->data, nb) != nb) return TC_ERR_IO;
    e->aframe->pts = e->audio_pts;
    e->audio_pts += nb;
    int r = avcodec_send_frame(e->aenc, e->aframe);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "audio frame refused: %s", av_err2str(r));
        return tc_err_from_av(r);
    }
    return drain(e, e->aenc, 1);
}

int tc_encoder_audio(tc_encoder *e, const float *const *planes, int nb)
{
    void *p[AV_NUM_DATA_POINTERS];
    int ch = e->aenc->ch_layout.nb_channels;
    for (int i = 0; i < ch && i < AV_NUM_DATA_POINTERS; i++) p[i] = (void *)planes[i];
    if (av_audio_fifo_write(e->fifo, p, nb) != nb) return TC_ERR_NOMEM;
    int fs = e->aenc->frame_size;
    while (av_audio_fifo_size(e->fifo) >= fs) {
        int r = encode_audio_frame(e, fs);
        if (r < 0) return r;
    }
    return TC_OK;
}

int tc_encoder_flush(tc_encoder *e)
{
    int r, left = av_audio_fifo_size(e->fifo);
    if (left > 0 && (r = encode_audio_frame(e, left)) < 0) return r;
    avcodec_send_frame(e->aenc, NULL);
    if ((r = drain(e, e->aenc, 1)) < 0) return r;
    if (!e->venc) return TC_OK; /* suspended: nothing held back */
    avcodec_send_frame(e->venc, NULL);
    return drain(e, e->venc, 0);
}

void tc_encoder_request_keyframe(tc_encoder *e) { atomic_store(&e->want_key, 1); }

const AVCodecContext *tc_encoder_video_ctx(const tc_encoder *e) { return e->vpar; }
const AVCodecContext *tc_encoder_audio_ctx(const tc_encoder *e) { return e->aenc; }
