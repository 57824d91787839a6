/* backoff.h — exponential back-off with jitter, the one retry schedule of
 * talkcast (outputs reconnecting, HTTP TTS retrying): delays start at
 * `min`, double up to `max`, and each is spread ±20 % so that many clients
 * failing together do not retry in lock-step. Per-instance state; no
 * shared random generator. */
#ifndef TC_BACKOFF_H
#define TC_BACKOFF_H

#include <stdint.h>

typedef struct tc_backoff {
    double min, max;  /* seconds */
    double step;      /* the next un-jittered delay */
    uint64_t rng;     /* xorshift64* state, never 0 */
} tc_backoff;

/* min > 0, max >= min (corrected if not); `seed` varies the jitter. */
void tc_backoff_init(tc_backoff *b, double min, double max, uint64_t seed);
/* The next delay in seconds (jittered), then double the step. */
double tc_backoff_next(tc_backoff *b);
/* A success: start again from min. */
void tc_backoff_reset(tc_backoff *b);
/* `s` spread by ±20 % (for delays that come from elsewhere, e.g. Retry-After). */
double tc_backoff_jitter(tc_backoff *b, double s);

#endif
