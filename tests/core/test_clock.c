/* test_clock.c — the timeline arithmetic is exact and never drifts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/clock.h"

static void test_integer_rates(void **state)
{
    (void)state;
    const struct { int num, den, sr, spf; } cases[] = {
        { 30, 1, 48000, 1600 }, { 30, 1, 44100, 1470 },
        { 25, 1, 48000, 1920 }, { 25, 1, 44100, 1764 }, { 60, 1, 48000, 800 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_clock c = { cases[i].num, cases[i].den, cases[i].sr };
        for (int64_t n = 0; n < 1000; n++)
            assert_int_equal(tc_clock_frame_samples(&c, n), cases[i].spf);
        assert_int_equal(tc_clock_frame_start(&c, 300), 300LL * cases[i].spf);
    }
}

static void test_ntsc_rate_never_drifts(void **state)
{
    (void)state;
    tc_clock c = { 30000, 1001, 48000 };
    int64_t sum = 0;
    /* 30000 frames of 29.97 fps = 1001 s exactly = 48 048 000 samples. */
    for (int64_t n = 0; n < 30000; n++) {
        int s = tc_clock_frame_samples(&c, n);
        assert_true(s == 1601 || s == 1602);
        sum += s;
    }
    assert_int_equal(sum, 48048000LL);
    assert_int_equal(tc_clock_frame_start(&c, 30000), 48048000LL);
}

static void test_frame_of_sample_inverts_start(void **state)
{
    (void)state;
    tc_clock c = { 30000, 1001, 44100 };
    for (int64_t n = 0; n < 5000; n += 7) {
        int64_t k = tc_clock_frame_start(&c, n);
        assert_int_equal(tc_clock_frame_of_sample(&c, k), n);
        assert_int_equal(tc_clock_frame_of_sample(&c, k + tc_clock_frame_samples(&c, n) - 1), n);
    }
}

static void test_large_frame_numbers(void **state)
{
    (void)state;
    /* Ten years at 60 fps: no overflow, still exact. */
    tc_clock c = { 60, 1, 48000 };
    int64_t n = 60LL * 86400 * 3653;
    assert_int_equal(tc_clock_frame_start(&c, n), n * 800);
    assert_int_equal(tc_clock_frame_ns(&c, n), 86400LL * 3653 * 1000000000LL);
}

static void test_sleep_until_is_absolute(void **state)
{
    (void)state;
    int64_t t0 = tc_now_ns();
    tc_sleep_until_ns(t0 + 20000000);
    int64_t t1 = tc_now_ns();
    assert_true(t1 - t0 >= 20000000);
    tc_sleep_until_ns(t0); /* in the past: returns at once */
    assert_true(tc_now_ns() - t1 < 5000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_rates),
        cmocka_unit_test(test_ntsc_rate_never_drifts),
        cmocka_unit_test(test_frame_of_sample_inverts_start),
        cmocka_unit_test(test_large_frame_numbers),
        cmocka_unit_test(test_sleep_until_is_absolute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
