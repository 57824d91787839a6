/* test_lipsync.c — phonemes to mouth shapes: the table, known words in
 * order ("mama": closed-open-closed-open; "pop": closed at both ends),
 * bilabials closed in ≥ 90 % of their frames, shapes held ≥ 2 frames,
 * the lead at most 2 frames, long pauses at rest; and the audio-only
 * estimator against espeak-ng's own timeline (calibration figure printed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "lipsync/lipsync.h"
#include "tts/tts.h"

static const tc_lips_config LC = { 30, 1, 48000, 0, 0 };

typedef struct said {
    tc_tts_chunk c;
} said;

static int keep(void *opaque, tc_tts_chunk *c)
{
    said *s = opaque;
    if (s->c.pcm) return 0; /* first sentence only */
    s->c = *c;
    memset(c, 0, sizeof *c);
    return 0;
}

static said speak(const char *text)
{
    tc_tts_config cfg = { .sample_rate = 48000, .voice = "en-us", .pitch = -1 };
    tc_tts *t;
    assert_int_equal(tc_tts_create(&t, "espeak", NULL, &cfg), TC_OK);
    said s = { 0 };
    tc_tts_request req = { text, NULL, 0, -1 };
    assert_int_equal(tc_tts_speak(t, &req, keep, &s), TC_OK);
    tc_tts_destroy(t);
    return s;
}

/* The sequence of distinct visemes, as a string like "rest mbp aa mbp aa rest". */
static void sequence(const tc_viseme *v, int64_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (int64_t k = 0; k < n; k++) {
        if (k && v[k] == v[k - 1]) continue;
        if (out[0]) strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, tc_viseme_name(v[k]), cap - strlen(out) - 1);
    }
}

static void test_table_and_classes(void **state)
{
    (void)state;
    const struct { const char *ph; tc_viseme v; } cases[] = {
        { "p", TC_VIS_MBP }, { "b", TC_VIS_MBP }, { "m", TC_VIS_MBP }, { "f", TC_VIS_FV },
        { "v", TC_VIS_FV }, { "A:", TC_VIS_AA }, { "@", TC_VIS_AA }, { "i:", TC_VIS_EE },
        { "eI", TC_VIS_EE }, { "oU", TC_VIS_OO }, { "O:", TC_VIS_OO }, { "u:", TC_VIS_UW },
        { "w", TC_VIS_UW }, { "S", TC_VIS_SH }, { "tS", TC_VIS_SH }, { "T", TC_VIS_TH },
        { "t", TC_VIS_CONS }, { "s", TC_VIS_CONS }, { "_:", TC_VIS_REST }, { "", TC_VIS_REST },
        { "\xCA\x83", TC_VIS_SH }, { "\xC9\x99", TC_VIS_AA }, { "\xC9\x94", TC_VIS_OO }, /* IPA ʃ ə ɔ */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (tc_lips_viseme_of(cases[i].ph) != cases[i].v)
            fail_msg("%s → %s, want %s", cases[i].ph, tc_viseme_name(tc_lips_viseme_of(cases[i].ph)),
                     tc_viseme_name(cases[i].v));
    assert_true(tc_viseme_mouth(TC_VIS_MBP).press == 1.0f && tc_viseme_mouth(TC_VIS_MBP).open == 0.0f);
    assert_true(tc_viseme_mouth(TC_VIS_AA).open > tc_viseme_mouth(TC_VIS_EE).open);
    assert_true(tc_viseme_mouth(TC_VIS_UW).round > 0.9f);
    tc_mouth r = tc_viseme_mouth(TC_VIS_REST);
    assert_true(r.open == 0 && r.press == 0 && r.width == 0);
}

static void check_word(const char *text, const char *want)
{
    said s = speak(text);
    tc_viseme *v;
    int64_t n;
    assert_int_equal(tc_lips_visemes(&LC, s.c.phonemes, s.c.n_phonemes, s.c.n_samples, &v, &n), TC_OK);
    char seq[512];
    sequence(v, n, seq, sizeof seq);
    if (!strstr(seq, want)) fail_msg("'%s' gives '%s'; want it to contain '%s'", text, seq, want);
    free(v);
    tc_tts_chunk_free(&s.c);
}

static void test_known_words(void **state)
{
    (void)state;
    check_word("mama", "mbp aa mbp aa");        /* closed-open-closed-open */
    check_word("pop", "mbp oo mbp");            /* closed at both ends */
    check_word("bob", "mbp oo mbp");
    check_word("five", "fv aa");
}

static void test_coarticulation_rules(void **state)
{
    (void)state;
    said s = speak("Papa made a map, Bob. Maybe by the mop, mum.");
    tc_viseme *v;
    tc_mouth *m;
    int64_t n, nm;
    assert_int_equal(tc_lips_visemes(&LC, s.c.phonemes, s.c.n_phonemes, s.c.n_samples, &v, &n), TC_OK);
    assert_int_equal(tc_lips_track(&LC, s.c.phonemes, s.c.n_phonemes, s.c.pcm, s.c.n_samples, &m, &nm), TC_OK);
    assert_int_equal(n, nm);
    assert_int_equal(n, (s.c.n_samples + 1599) / 1600);
    /* bilabials: of the frames whose centre (+ lead) lies in a p/b/m, ≥ 90 % closed */
    int bil = 0, closed = 0;
    for (int64_t k = 0; k < n; k++) {
        double t = (k + 0.5) * 1600 + 0.03 * 48000;
        for (int i = 0; i < s.c.n_phonemes; i++) {
            const tc_phoneme *p = &s.c.phonemes[i];
            if (t >= p->start && t < p->end && tc_lips_viseme_of(p->name) == TC_VIS_MBP) {
                bil++;
                closed += m[k].press == 1.0f && m[k].open == 0.0f;
            }
        }
    }
    assert_true(bil >= 10);
    if (closed * 10 < bil * 9) fail_msg("bilabials closed in %d of %d frames", closed, bil);
    /* every bilabial phoneme is visible as a closed frame */
    for (int i = 0; i < s.c.n_phonemes; i++) {
        const tc_phoneme *p = &s.c.phonemes[i];
        if (tc_lips_viseme_of(p->name) != TC_VIS_MBP) continue;
        int64_t k0 = (int64_t)((p->start - 0.03 * 48000) / 1600) - 1, k1 = (int64_t)(p->end / 1600) + 1;
        int seen = 0;
        for (int64_t k = k0 < 0 ? 0 : k0; k <= k1 && k < n; k++) seen |= v[k] == TC_VIS_MBP;
        if (!seen) fail_msg("/%s/ at %lld has no closed frame", p->name, (long long)p->start);
    }
    /* shapes hold ≥ 2 frames, except bilabial closures */
    for (int64_t k = 1; k + 1 < n; k++)
        if (v[k] != v[k - 1] && v[k] != v[k + 1] && v[k] != TC_VIS_MBP)
            fail_msg("frame %lld holds %s for one frame", (long long)k, tc_viseme_name(v[k]));
    /* all parameters in range, ends closed */
    for (int64_t k = 0; k < n; k++) {
        assert_true(m[k].open >= 0 && m[k].open <= 1 && m[k].round >= 0 && m[k].round <= 1);
        assert_true(m[k].width >= 0 && m[k].width <= 1 && m[k].teeth >= 0 && m[k].teeth <= 1);
    }
    assert_true(m[n - 1].open < 0.2f);
    free(v);
    free(m);
    tc_tts_chunk_free(&s.c);
}

static void test_lead_and_pause(void **state)
{
    (void)state;
    /* synthetic timeline: 0.5 s pause, "a" 0.5-0.8 s, 0.4 s pause, "a" */
    tc_phoneme ph[4] = { { "_", 0, 24000 }, { "a", 24000, 38400 }, { "_", 38400, 57600 }, { "a", 57600, 72000 } };
    tc_viseme *v;
    int64_t n;
    tc_lips_config lc = LC;
    lc.lead_s = 0.5; /* asks for far too much: capped at 2 frames */
    assert_int_equal(tc_lips_visemes(&lc, ph, 4, 72000, &v, &n), TC_OK);
    /* the vowel starts at frame 15; the mouth may open from frame 13, not before */
    for (int64_t k = 0; k < 13; k++) assert_int_equal(v[k], TC_VIS_REST);
    assert_int_equal(v[14], TC_VIS_AA);
    free(v);
    assert_int_equal(tc_lips_visemes(&LC, ph, 4, 72000, &v, &n), TC_OK);
    /* the 0.4 s pause (frames 24-35) relaxes to rest */
    for (int64_t k = 25; k < 34; k++) assert_int_equal(v[k], TC_VIS_REST);
    free(v);
    /* a short pause (0.2 s) keeps the shape */
    tc_phoneme ph2[3] = { { "a", 0, 14400 }, { "_", 14400, 24000 }, { "a", 24000, 38400 } };
    assert_int_equal(tc_lips_visemes(&LC, ph2, 3, 38400, &v, &n), TC_OK);
    for (int64_t k = 0; k < n - 1; k++) assert_int_equal(v[k], TC_VIS_AA);
    free(v);
    assert_int_equal(tc_lips_visemes(NULL, ph, 4, 1, &v, &n), TC_ERR_INVAL);
}

static double pearson(const float *a, const float *b, int64_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
    ma /= (double)n;
    mb /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb + 1e-12);
}

static void test_audio_estimator_calibration(void **state)
{
    (void)state;
    said s = speak("The quick brown fox jumps over the lazy dog, and then it rests for a while before "
                   "running far away into the dark green forest.");
    tc_mouth *ref, *est;
    int64_t n1, n2;
    assert_int_equal(tc_lips_track(&LC, s.c.phonemes, s.c.n_phonemes, NULL, s.c.n_samples, &ref, &n1), TC_OK);
    assert_int_equal(tc_lips_estimate(&LC, s.c.pcm, s.c.n_samples, &est, &n2), TC_OK);
    assert_int_equal(n1, n2);
    float *a = malloc((size_t)n1 * sizeof *a), *b = malloc((size_t)n1 * sizeof *b);
    int agree = 0;
    for (int64_t k = 0; k < n1; k++) {
        a[k] = ref[k].open;
        b[k] = est[k].open;
        agree += (ref[k].open > 0.15f) == (est[k].open > 0.15f);
    }
    double r = pearson(a, b, n1);
    print_message("audio-only estimator vs espeak-ng phonemes: jaw r = %.2f, open/closed agree in %.0f %% of %lld frames\n",
                  r, 100.0 * agree / (double)n1, (long long)n1);
    /* Measured when written: r = 0.44, agreement 89 %. Energy follows the
     * jaw but cannot tell a wide "ee" from an open "aa"; the floor below
     * catches a broken estimator (r ≈ 0), not a lesser one. */
    assert_true(r >= 0.35);
    assert_true(agree * 10 >= n1 * 8);
    free(a);
    free(b);
    free(ref);
    free(est);
    tc_tts_chunk_free(&s.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_and_classes),
        cmocka_unit_test(test_known_words),
        cmocka_unit_test(test_coarticulation_rules),
        cmocka_unit_test(test_lead_and_pause),
        cmocka_unit_test(test_audio_estimator_calibration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
