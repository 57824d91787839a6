/* resample.h — provider audio (any rate, s16 or float, mono or more) to
 * mono float at the engine's rate, with an exact length: N input samples
 * always become round(N * out_rate / in_rate) output samples, so phoneme
 * positions scale without drift. Stateful, so audio can arrive in pieces.
 *
 * Ownership: the output buffer belongs to the resampler until taken with
 * tc_resampler_take(). */
#ifndef TC_RESAMPLE_H
#define TC_RESAMPLE_H

#include <stdint.h>

#include <libavutil/samplefmt.h>

typedef struct tc_resampler tc_resampler;

int tc_resampler_create(tc_resampler **out, enum AVSampleFormat in_fmt, int in_channels,
                        int in_rate, int out_rate);
void tc_resampler_destroy(tc_resampler *r); /* accepts NULL */

/* Feed `n` input samples per channel (interleaved or planar per in_fmt). */
int tc_resampler_push(tc_resampler *r, const uint8_t *const *data, int n);
/* Flush the filter and make the total length exact. */
int tc_resampler_finish(tc_resampler *r);
/* Output so far (mono float). */
int64_t tc_resampler_count(const tc_resampler *r);
/* Take the buffer (malloc'ed, caller frees) and its length. One resampler
 * serves one block of audio: create another for the next. */
float *tc_resampler_take(tc_resampler *r, int64_t *n);

/* Map an input sample position to the output timeline (rounded). */
int64_t tc_resampler_map(const tc_resampler *r, int64_t in_pos);

#endif
