/* clock.h — timeline arithmetic and the monotonic clock.
 *
 * The stream's timeline is two counters: video frame n (time base fps_den /
 * fps_num) and audio sample k (time base 1 / sample_rate). Frame n covers the
 * samples [tc_clock_frame_start(n), tc_clock_frame_start(n + 1)), so the
 * number of samples per frame may vary by one for rates like 30000/1001, but
 * the sum never drifts: both counters describe the same instant exactly. */
#ifndef TC_CLOCK_H
#define TC_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef struct tc_clock {
    int fps_num, fps_den; /* frames per second as a fraction */
    int sample_rate;      /* audio samples per second */
} tc_clock;

/* First audio sample of frame n: floor(n * sample_rate * fps_den / fps_num). */
int64_t tc_clock_frame_start(const tc_clock *c, int64_t n);
/* Samples in frame n (constant when sample_rate*fps_den divides by fps_num). */
int tc_clock_frame_samples(const tc_clock *c, int64_t n);
/* The frame that contains audio sample k. */
int64_t tc_clock_frame_of_sample(const tc_clock *c, int64_t k);
/* Nanoseconds from frame 0 to the start of frame n. */
int64_t tc_clock_frame_ns(const tc_clock *c, int64_t n);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tc_now_ns(void);
/* Sleep until the absolute CLOCK_MONOTONIC time `deadline_ns` (restarts on
 * EINTR). Returns at once when the deadline has passed. */
void tc_sleep_until_ns(int64_t deadline_ns);

#endif
