/* image.c — a still picture as the avatar: decoded and fitted once at
 * init; every render is a reference to the same frame (zero cost idle). */
#include "face/face.h"
#include "core/err.h"
#include "core/log.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

static const tc_log_ctx log_ctx = { "face", "image" };

typedef struct image_priv {
    AVFrame *frame;  /* fitted picture, owned */
    int rendered;    /* the first render reports a change, later ones do not */
} image_priv;

int tc_face_decode_still(const char *path, AVFrame **out)
{
    *out = NULL;
    AVFormatContext *ic = NULL;
    AVCodecContext *dc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int r = avformat_open_input(&ic, path, NULL, NULL), got = 0;
    if (r < 0 || !pkt || !fr) goto done;
    if ((r = avformat_find_stream_info(ic, NULL)) < 0) goto done;
    int vi = r = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vi < 0) goto done;
    const AVCodec *codec = avcodec_find_decoder(ic->streams[vi]->codecpar->codec_id);
    if (!codec) { r = AVERROR_DECODER_NOT_FOUND; goto done; }
    if (!(dc = avcodec_alloc_context3(codec))) { r = AVERROR(ENOMEM); goto done; }
    avcodec_parameters_to_context(dc, ic->streams[vi]->codecpar);
    if ((r = avcodec_open2(dc, codec, NULL)) < 0) goto done;
    while (!got) {
        r = av_read_frame(ic, pkt);
        if (r == AVERROR_EOF) { avcodec_send_packet(dc, NULL); }
        else if (r < 0) goto done;
        else if (pkt->stream_index != vi) { av_packet_unref(pkt); continue; }
        else { avcodec_send_packet(dc, pkt); av_packet_unref(pkt); }
        int d = avcodec_receive_frame(dc, fr);
        if (d == 0) got = 1;
        else if (d != AVERROR(EAGAIN)) { r = d; goto done; }
        else if (r == AVERROR_EOF) { r = AVERROR_INVALIDDATA; goto done; }
    }
    *out = fr;
    fr = NULL;
    r = 0;
done:
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dc);
    avformat_close_input(&ic);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot decode %s: %s", path, av_err2str(r));
        return r == AVERROR(ENOENT) ? TC_ERR_NOTFOUND : r == AVERROR(ENOMEM) ? TC_ERR_NOMEM : TC_ERR_FORMAT;
    }
    return TC_OK;
}

static int image_init(void *priv, const tc_face_config *cfg)
{
    image_priv *p = priv;
    if (!cfg->path) return TC_ERR_INVAL;
    AVFrame *raw;
    int r = tc_face_decode_still(cfg->path, &raw);
    if (r < 0) return r;
    r = tc_face_fit_frame(raw, cfg, &p->frame);
    av_frame_free(&raw);
    return r;
}

static int image_render(void *priv, int64_t n, const tc_mouth *mouth, AVFrame *out, int *changed)
{
    image_priv *p = priv;
    *changed = !p->rendered;
    p->rendered = 1;
    return av_frame_ref(out, p->frame) < 0 ? TC_ERR_NOMEM : TC_OK;
}

static void image_uninit(void *priv)
{
    image_priv *p = priv;
    av_frame_free(&p->frame);
}

/* idle, the same picture forever (but for blinks) */
static int still_period(void *priv)
{
    (void)priv;
    return 1;
}

const tc_face_vtable tc_face_image = { "image", sizeof(image_priv), image_init, image_render, image_uninit, still_period };
