/* encoder.h — the one encoder of a stream: libx264 video + native AAC audio.
 *
 * Encoding happens once per stream; every output receives references to the
 * same packets. Timestamps come only from the engine's counters: a video
 * frame's pts is its frame index (time base fps_den/fps_num); audio pts is
 * the sample index (time base 1/sample_rate), re-chunked here into AAC's
 * 1024-sample frames.
 *
 * Threading: one thread (the engine's encoder thread) calls everything
 * except tc_encoder_request_keyframe, which any thread may call. */
#ifndef TC_ENCODER_H
#define TC_ENCODER_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

typedef struct tc_encoder_config {
    int width, height;
    enum AVPixelFormat pix_fmt;
    int fps_num, fps_den;
    int sample_rate, channels;
    const char *preset;   /* x264 preset, e.g. "veryfast" */
    const char *tune;     /* x264 tune or NULL/"" */
    int64_t video_bitrate, video_maxrate, video_bufsize, audio_bitrate;
    double keyint;        /* seconds */
    int threads;          /* x264 threads; 0 = x264's own choice (1.5 x cores) */
    const char *params;   /* x264 options "key=value:key=value" over the preset, or NULL/"" */
} tc_encoder_config;

/* Called for every encoded packet. `stream` is 0 for video, 1 for audio. The
 * packet is borrowed: take a reference (av_packet_ref) to keep it. */
typedef void (*tc_encoder_sink)(void *opaque, int stream, const AVPacket *pkt);

typedef struct tc_encoder tc_encoder;

/* Check x264 options "key=value:key=value" against x264 itself: TC_OK, or
 * TC_ERR_INVAL with the offending option in err. (libavcodec only logs a
 * warning for an option x264 refuses, and the stream would silently run
 * without it.) */
int tc_encoder_check_params(const char *params, char *err, size_t errlen);

int tc_encoder_create(tc_encoder **out, const tc_encoder_config *cfg,
                      tc_encoder_sink sink, void *opaque);
void tc_encoder_destroy(tc_encoder *e); /* accepts NULL */

/* Encode picture `frame` (borrowed) as video frame number `n`. */
int tc_encoder_video(tc_encoder *e, AVFrame *frame, int64_t n);
/* Queue `nb` planar float samples per channel (borrowed); full AAC frames
 * are encoded at once, the remainder waits for more. */
int tc_encoder_audio(tc_encoder *e, const float *const *planes, int nb);
/* Encode what is left (a short last audio frame) and drain both encoders. */
int tc_encoder_flush(tc_encoder *e);

/* Close x264 while no picture needs encoding (e.g. while a pre-encoded
 * idle loop is on air): its buffers, some 20 MB at 720p, go back to the
 * system. Whatever it still held is drained to the sink first. The next
 * tc_encoder_video opens it again (a few ms) with the same settings and
 * headers; its first frame is an IDR. */
int tc_encoder_suspend_video(tc_encoder *e);
int tc_encoder_video_suspended(const tc_encoder *e);

/* Make the next video frame an IDR frame (a new viewer or a reconnected
 * output can start decoding there); should x264 write it as a plain I
 * frame, the frames after it are asked for until an IDR is out.
 * Thread-safe. */
void tc_encoder_request_keyframe(tc_encoder *e);

/* Codec contexts, for outputs to copy parameters and time bases from. The
 * video one holds parameters only (it stays the same while x264 is
 * suspended); neither may be used to encode. */
const AVCodecContext *tc_encoder_video_ctx(const tc_encoder *e);
const AVCodecContext *tc_encoder_audio_ctx(const tc_encoder *e);

/* Map an AVERROR to tc_err. */
int tc_err_from_av(int averr);

#endif
