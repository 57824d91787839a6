/* clock.c — exact frame/sample arithmetic in 64-bit integers (no floats,
 * so frame 10^9 is as exact as frame 1) and absolute sleeps. */
#include "core/clock.h"

#include <errno.h>

/* floor(a * b / c) for non-negative a and positive b, c without overflow for
 * any frame count a stream can reach (a < 2^40, b * c < 2^40). */
static int64_t muldiv_floor(int64_t a, int64_t b, int64_t c)
{
    int64_t q = a / c, r = a % c;
    return q * b + (r * b) / c;
}

int64_t tc_clock_frame_start(const tc_clock *c, int64_t n)
{
    return muldiv_floor(n, (int64_t)c->sample_rate * c->fps_den, c->fps_num);
}

int tc_clock_frame_samples(const tc_clock *c, int64_t n)
{
    return (int)(tc_clock_frame_start(c, n + 1) - tc_clock_frame_start(c, n));
}

int64_t tc_clock_frame_of_sample(const tc_clock *c, int64_t k)
{
    /* The largest n with frame_start(n) <= k. */
    int64_t n = muldiv_floor(k, c->fps_num, (int64_t)c->sample_rate * c->fps_den);
    while (tc_clock_frame_start(c, n + 1) <= k) n++;
    while (n > 0 && tc_clock_frame_start(c, n) > k) n--;
    return n;
}

int64_t tc_clock_frame_ns(const tc_clock *c, int64_t n)
{
    return muldiv_floor(n, 1000000000LL * c->fps_den, c->fps_num);
}

int64_t tc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void tc_sleep_until_ns(int64_t deadline_ns)
{
    struct timespec ts = { .tv_sec = deadline_ns / 1000000000LL,
                           .tv_nsec = deadline_ns % 1000000000LL };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
