/* lipsync.h — from what is said to how the mouth moves.
 *
 * Phonemes map to a small set of visemes (mouth shapes, Rhubarb-like), and
 * visemes to continuous mouth parameters (face/face.h: tc_mouth) so that
 * renderers blend instead of popping. tc_lips_track() turns a phoneme
 * timeline into one tc_mouth per video frame with coarticulation: the
 * mouth moves slightly before the sound (≤ 2 frames), every shape holds at
 * least 2 frames, bilabials (p b m) are fully closed in their frames, and
 * pauses of 300 ms or more relax to the closed rest shape.
 * tc_lips_estimate() does the same from audio alone, for providers that
 * give no phonemes. */
#ifndef TC_LIPSYNC_H
#define TC_LIPSYNC_H

#include <stdint.h>

#include "face/face.h"
#include "tts/tts.h"

typedef enum tc_viseme {
    TC_VIS_REST = 0, /* closed, relaxed (silence) */
    TC_VIS_MBP,      /* lips pressed: p b m */
    TC_VIS_FV,       /* upper teeth on lower lip: f v */
    TC_VIS_TH,       /* tongue between teeth: th, l */
    TC_VIS_CONS,     /* slightly open, teeth: t d n s z k g r j h … */
    TC_VIS_SH,       /* rounded, teeth: sh ch j zh */
    TC_VIS_EE,       /* wide, half open: i e */
    TC_VIS_AA,       /* open: a ɑ ʌ ə */
    TC_VIS_OO,       /* rounded open: o ɔ */
    TC_VIS_UW,       /* pucker: u w */
    TC_VIS_COUNT
} tc_viseme;

const char *tc_viseme_name(tc_viseme v);
/* The mouth parameters of a viseme at full strength. */
tc_mouth tc_viseme_mouth(tc_viseme v);
/* Classify an espeak-ng phoneme mnemonic (or an IPA symbol) as a viseme. */
tc_viseme tc_lips_viseme_of(const char *phoneme);

typedef struct tc_lips_config {
    int fps_num, fps_den;
    int sample_rate;
    double lead_s;      /* how far the mouth moves ahead of the sound (default 0.03) */
    double pause_s;     /* pauses at least this long relax to rest (default 0.3) */
} tc_lips_config;

/* One mouth per frame for audio of n_samples with the given phonemes
 * (sample positions relative to the audio start). With `pcm` (may be
 * NULL), the jaw also follows the loudness of each frame, so stressed
 * syllables open wider than unstressed ones. *out is malloc'ed with
 * *n_out = ceil(n_samples / samples per frame) entries. */
int tc_lips_track(const tc_lips_config *cfg, const tc_phoneme *ph, int n_ph, const float *pcm,
                  int64_t n_samples, tc_mouth **out, int64_t *n_out);

/* The same from audio alone (energy and zero-crossing rate per frame). */
int tc_lips_estimate(const tc_lips_config *cfg, const float *pcm, int64_t n_samples,
                     tc_mouth **out, int64_t *n_out);

/* Visemes per frame before smoothing (for tests and debugging). */
int tc_lips_visemes(const tc_lips_config *cfg, const tc_phoneme *ph, int n_ph, int64_t n_samples,
                    tc_viseme **out, int64_t *n_out);

#endif
