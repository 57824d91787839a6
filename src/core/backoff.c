/* backoff.c — doubling delays with ±20 % jitter from a per-instance
 * xorshift64* generator. */
#include "core/backoff.h"

void tc_backoff_init(tc_backoff *b, double min, double max, uint64_t seed)
{
    b->min = min > 0 ? min : 0.5;
    b->max = max >= b->min ? max : b->min;
    b->step = b->min;
    b->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

double tc_backoff_jitter(tc_backoff *b, double s)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    double u = (double)((b->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0; /* [0, 1) */
    return s * (0.8 + 0.4 * u);
}

double tc_backoff_next(tc_backoff *b)
{
    double d = tc_backoff_jitter(b, b->step);
    b->step = b->step * 2 > b->max ? b->max : b->step * 2;
    return d;
}

void tc_backoff_reset(tc_backoff *b) { b->step = b->min; }
