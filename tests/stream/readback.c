/* readback.c — see readback.h. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "readback.h"


void readback_free(readback *rb) { free(rb->rms); }

/* Demux `path`, count video packets and their pts, decode all audio. */
void read_file(const char *path, int fps, readback *rb)
{
    memset(rb, 0, sizeof *rb);
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    int vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int ai = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    assert_true(vi >= 0 && ai >= 0);
    AVStream *vs = ic->streams[vi], *as = ic->streams[ai];
    rb->width = vs->codecpar->width;
    rb->height = vs->codecpar->height;
    rb->sample_rate = as->codecpar->sample_rate;
    rb->channels = as->codecpar->ch_layout.nb_channels;

    const AVCodec *dec = avcodec_find_decoder(as->codecpar->codec_id);
    AVCodecContext *ac = avcodec_alloc_context3(dec);
    avcodec_parameters_to_context(ac, as->codecpar);
    ac->pkt_timebase = as->time_base;
    assert_int_equal(avcodec_open2(ac, dec, NULL), 0);

    size_t cap = 1 << 16;
    rb->rms = calloc(cap, sizeof(float));
    double *acc = calloc(cap, sizeof(double));
    int64_t *cnt = calloc(cap, sizeof(int64_t));
    int spf = rb->sample_rate / fps;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int64_t prev = -1, aend = AV_NOPTS_VALUE, vstart = AV_NOPTS_VALUE;
    rb->first_pts = -1;
    for (int eof = 0; !eof;) {
        int r = av_read_frame(ic, pkt);
        if (r < 0) { eof = 1; avcodec_send_packet(ac, NULL); }
        else if (pkt->stream_index == vi) {
            int64_t p = av_rescale_q(pkt->pts, vs->time_base, (AVRational){ 1, fps });
            if (rb->first_pts < 0) { rb->first_pts = p; vstart = pkt->pts; }
            if (prev >= 0 && p != prev + 1) rb->pts_gaps++;
            prev = p;
            rb->last_pts = p;
            rb->video_frames++;
            av_packet_unref(pkt);
            continue;
        } else if (pkt->stream_index == ai) {
            aend = pkt->pts + pkt->duration;
            avcodec_send_packet(ac, pkt);
        }
        av_packet_unref(pkt);
        while (avcodec_receive_frame(ac, fr) == 0) {
            const float *s = (const float *)fr->extended_data[0];
            for (int i = 0; i < fr->nb_samples; i++) {
                size_t f = (size_t)((rb->audio_samples + i) / spf);
                if (f < cap) { acc[f] += (double)s[i] * s[i]; cnt[f]++; }
            }
            rb->audio_samples += fr->nb_samples;
        }
    }
    rb->audio_end = aend * av_q2d(as->time_base) - vstart * av_q2d(vs->time_base);
    rb->rms_frames = rb->audio_samples / spf;
    for (int64_t f = 0; f < rb->rms_frames && f < (int64_t)cap; f++)
        rb->rms[f] = cnt[f] ? (float)sqrt(acc[f] / (double)cnt[f]) : 0.0f;
    free(acc);
    free(cnt);
    if (rb->rms_frames > (int64_t)cap) rb->rms_frames = (int64_t)cap;
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&ac);
    avformat_close_input(&ic);
}

