/* idle.c — building the pre-encoded idle loop (see idle.h). */
#include "stream/idle.h"
#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static const tc_log_ctx log_ctx = { "engine", "idle" };

typedef struct capture {
    tc_idle_loop *l;
    int failed;
} capture;

/* Video packets arrive with pts = v * length + k. */
static void on_packet(void *opaque, int stream, const AVPacket *pkt)
{
    capture *c = opaque;
    if (stream != 0) return;
    tc_idle_loop *l = c->l;
    int64_t v = pkt->pts / l->length, k = pkt->pts % l->length;
    if (pkt->pts < 0 || v >= l->n_variants) {
        c->failed = 1;
        return;
    }
    AVPacket *p = av_packet_clone(pkt);
    if (!p) {
        c->failed = 1;
        return;
    }
    p->pts = p->dts = k;
    av_packet_free(&l->pkt[v][k]);
    l->pkt[v][k] = p;
    l->bytes += p->size;
}

void tc_idle_free(tc_idle_loop *l)
{
    if (!l) return;
    for (int v = 0; v < TC_IDLE_VARIANTS; v++) {
        for (int k = 0; l->pkt[v] && k < l->length; k++) av_packet_free(&l->pkt[v][k]);
        free(l->pkt[v]);
    }
    free(l);
}

/* Variant offsets: multiples of the length whose first and last frames
 * have the eyes open, the first one at 0 if it qualifies. */
static void pick_offsets(tc_idle_loop *l, const tc_idle_source *src)
{
    l->n_variants = 0;
    for (int64_t j = 0; j < 400 && l->n_variants < TC_IDLE_VARIANTS; j++) {
        int64_t off = j * l->length;
        if (src->blink(src->opaque, off) == 0 && src->blink(src->opaque, off + l->length - 1) == 0)
            l->offset[l->n_variants++] = off;
    }
}

static int same_headers(const AVCodecContext *a, const AVCodecContext *b)
{
    return a->extradata_size == b->extradata_size &&
           (!a->extradata_size || !memcmp(a->extradata, b->extradata, (size_t)a->extradata_size));
}

int tc_idle_build(tc_idle_loop **out, const tc_idle_source *src, const tc_encoder_config *ec,
                  const AVCodecContext *live)
{
    *out = NULL;
    int period = src->period;
    if (period <= 0 || period > TC_IDLE_MAX_PERIOD) return TC_ERR_UNSUPPORTED;
    tc_idle_loop *l = calloc(1, sizeof *l);
    if (!l) return TC_ERR_NOMEM;
    l->period = period;
    l->length = (TC_IDLE_MIN_FRAMES + period - 1) / period * period;
    pick_offsets(l, src);
    if (!l->n_variants) {
        tc_idle_free(l);
        return TC_ERR_UNSUPPORTED;
    }
    for (int v = 0; v < l->n_variants; v++)
        if (!(l->pkt[v] = calloc((size_t)l->length, sizeof *l->pkt[v]))) {
            tc_idle_free(l);
            return TC_ERR_NOMEM;
        }

    /* One x264 thread: the loop is built in the background beside the live
     * encoder, and every slice thread costs its own frame buffers at the
     * moment the process is at its largest. The slice count is not in the
     * stream headers, so the packets still follow the live ones. */
    tc_encoder_config one = *ec;
    one.threads = 1;
    capture cap = { l, 0 };
    tc_encoder *enc = NULL;
    int r = tc_encoder_create(&enc, &one, on_packet, &cap);
    AVFrame *pic = av_frame_alloc();
    if (r == TC_OK && !pic) r = TC_ERR_NOMEM;
    if (r == TC_OK && !same_headers(tc_encoder_video_ctx(enc), live)) {
        tc_log(&log_ctx, TC_LOG_WARN, "a second encoder writes other stream headers: idle frames stay live");
        r = TC_ERR_UNSUPPORTED;
    }
    for (int v = 0; r == TC_OK && v < l->n_variants; v++) {
        tc_encoder_request_keyframe(enc);
        for (int k = 0; r == TC_OK && k < l->length; k++) {
            r = src->render(src->opaque, l->offset[v] + k, pic);
            if (r == TC_OK) r = tc_encoder_video(enc, pic, (int64_t)v * l->length + k);
            av_frame_unref(pic);
        }
    }
    if (r == TC_OK) r = tc_encoder_flush(enc);
    for (int v = 0; r == TC_OK && v < l->n_variants; v++)
        for (int k = 0; k < l->length; k++)
            if (!l->pkt[v][k]) cap.failed = 1;
    if (r == TC_OK && (cap.failed || !(l->pkt[0][0]->flags & AV_PKT_FLAG_KEY))) r = TC_ERR_FORMAT;
    av_frame_free(&pic);
    tc_encoder_destroy(enc);
    if (r < 0) {
        tc_idle_free(l);
        return r;
    }
    *out = l;
    return TC_OK;
}
