/* test_resample.c — N input samples become exactly round(N·out/in): no
 * drift, whatever the block sizes; the signal survives (a tone keeps its
 * level and frequency). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/err.h"
#include "tts/resample.h"

static void test_exact_lengths(void **state)
{
    (void)state;
    const int rates[][2] = { { 22050, 48000 }, { 24000, 48000 }, { 22050, 44100 }, { 44100, 48000 },
                             { 48000, 48000 }, { 16000, 44100 } };
    const int64_t lens[] = { 1, 7, 441, 22050, 22051, 99991, 220500 };
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            int64_t n = lens[l];
            int16_t *in = calloc((size_t)n, sizeof *in);
            tc_resampler *rs;
            assert_int_equal(tc_resampler_create(&rs, AV_SAMPLE_FMT_S16, 1, rates[r][0], rates[r][1]), TC_OK);
            /* feed in uneven blocks */
            for (int64_t off = 0; off < n;) {
                int blk = (int)((off * 7 + 333) % 5000) + 1;
                if (blk > n - off) blk = (int)(n - off);
                const uint8_t *p[1] = { (const uint8_t *)(in + off) };
                assert_int_equal(tc_resampler_push(rs, p, blk), TC_OK);
                off += blk;
            }
            assert_int_equal(tc_resampler_finish(rs), TC_OK);
            int64_t want = (n * rates[r][1] * 2 + rates[r][0]) / (2 * rates[r][0]);
            if (tc_resampler_count(rs) != want)
                fail_msg("%lld @ %d → %d: got %lld, want %lld", (long long)n, rates[r][0], rates[r][1],
                         (long long)tc_resampler_count(rs), (long long)want);
            int64_t got;
            free(tc_resampler_take(rs, &got));
            assert_int_equal(got, want);
            tc_resampler_destroy(rs);
            free(in);
        }
    }
}

static void test_tone_survives(void **state)
{
    (void)state;
    const int in_rate = 22050, out_rate = 48000, n = 22050;
    int16_t *in = malloc(n * sizeof *in);
    for (int i = 0; i < n; i++) in[i] = (int16_t)(16000 * sin(2 * M_PI * 1000.0 * i / in_rate));
    tc_resampler *rs;
    assert_int_equal(tc_resampler_create(&rs, AV_SAMPLE_FMT_S16, 1, in_rate, out_rate), TC_OK);
    const uint8_t *p[1] = { (const uint8_t *)in };
    assert_int_equal(tc_resampler_push(rs, p, n), TC_OK);
    assert_int_equal(tc_resampler_finish(rs), TC_OK);
    int64_t m;
    float *out = tc_resampler_take(rs, &m);
    assert_int_equal(m, 48000);
    /* RMS of the middle ≈ 16000/32768/√2, and 1000 zero crossings per second */
    double acc = 0;
    int zc = 0;
    for (int i = 1000; i < 47000; i++) {
        acc += (double)out[i] * out[i];
        if ((out[i - 1] < 0) != (out[i] < 0)) zc++;
    }
    double rms = sqrt(acc / 46000);
    assert_true(fabs(rms - 16000.0 / 32768 / M_SQRT2) < 0.01);
    assert_true(abs(zc - 2 * 1000 * 46000 / 48000) <= 4);
    assert_int_equal(tc_resampler_map(rs, 22050), 48000);
    assert_int_equal(tc_resampler_map(rs, 1), 2);
    free(out);
    free(in);
    tc_resampler_destroy(rs);
    assert_int_equal(tc_resampler_create(&rs, AV_SAMPLE_FMT_S16, 1, 0, 48000), TC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_lengths),
        cmocka_unit_test(test_tone_survives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
