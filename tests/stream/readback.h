/* readback.h — what a viewer gets from a file the engine wrote: frame
 * count and pts continuity of the video, the decoded audio's length and its
 * loudness per video frame. Shared by the stream and pipeline tests. */
#ifndef TC_TEST_READBACK_H
#define TC_TEST_READBACK_H
#include <stdint.h>

typedef struct readback {
    int64_t video_frames;
    int64_t first_pts, last_pts;  /* video, in frames */
    int pts_gaps;                 /* consecutive video pts differing by != 1 */
    int64_t audio_samples;        /* decoded, after priming is removed */
    double audio_end;             /* end of the last audio packet minus video start, s */
    float *rms;                   /* per video frame of audio, n = rms_frames */
    int64_t rms_frames;
    int width, height, sample_rate, channels;
} readback;

/* Demux `path`, count video packets and their pts, decode all audio (asserts on failure). */
void read_file(const char *path, int fps, readback *rb);
void readback_free(readback *rb);

#endif
