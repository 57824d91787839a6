/* test_vector.c — the built-in face: renders at any size, the mouth visibly
 * opens inside the face rectangle while everything outside stays
 * byte-identical, an unchanged face costs nothing (same buffer), blinks come
 * every 2–6 s and are deterministic under a seed, bad input is clamped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/face.h"
#include "face_test.h"

static tc_face *make(int w, int h, uint32_t seed)
{
    tc_face_config c = { w, h, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, NULL, seed, 0, NULL };
    tc_face *f = NULL;
    assert_int_equal(tc_face_create(&f, "vector", &c), TC_OK);
    return f;
}

/* Sum of |a - b| over the luma of a rectangle. */
static long diff_rect(const AVFrame *a, const AVFrame *b, int x, int y, int w, int h)
{
    long d = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) d += labs((long)ft_y(a, i, j) - ft_y(b, i, j));
    return d;
}

static void test_sizes(void **state)
{
    (void)state;
    const int sizes[][2] = { { 1280, 720 }, { 640, 360 }, { 720, 1280 }, { 1920, 1080 }, { 160, 120 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tc_face *f = make(sizes[i][0], sizes[i][1], 1);
        AVFrame *fr = av_frame_alloc();
        int changed;
        assert_int_equal(tc_face_render(f, 0, NULL, fr, &changed), TC_OK);
        assert_int_equal(fr->width, sizes[i][0]);
        assert_int_equal(fr->height, sizes[i][1]);
        assert_int_equal(changed, 1);
        av_frame_free(&fr);
        tc_face_destroy(f);
    }
}

static void test_mouth_opens_only_inside_face(void **state)
{
    (void)state;
    tc_face *f = make(1280, 720, 1);
    AVFrame *closed = av_frame_alloc(), *open = av_frame_alloc();
    tc_mouth m = { 1.0f, 0, 0, 0, 0.3f };
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, closed, &changed), TC_OK);
    assert_int_equal(tc_face_render(f, 1, &m, open, &changed), TC_OK);
    assert_int_equal(changed, 1);
    /* the mouth sits at x 640±60, y ≈ 331+79 = 410 ± 40 (unit 7.2 px) */
    assert_true(diff_rect(closed, open, 580, 370, 120, 80) > 80 * 1000);
    /* the open mouth is dark inside */
    assert_true(ft_y(open, 640, 415) < 80);
    /* outside the face rectangle nothing moved: top band, bottom band, sides */
    assert_true(ft_same_rect(closed, open, 0, 0, 1280, 200));
    assert_true(ft_same_rect(closed, open, 0, 600, 1280, 120));
    assert_true(ft_same_rect(closed, open, 0, 0, 400, 720));
    assert_true(ft_same_rect(closed, open, 880, 0, 400, 720));
    av_frame_free(&closed);
    av_frame_free(&open);
    tc_face_destroy(f);
}

static void test_unchanged_face_is_free(void **state)
{
    (void)state;
    tc_face *f = make(1280, 720, 7);
    AVFrame *a = av_frame_alloc(), *b = av_frame_alloc();
    tc_mouth m = { 0.5f, 0.2f, 0, 0, 0 };
    int changed;
    assert_int_equal(tc_face_render(f, 0, &m, a, &changed), TC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(tc_face_render(f, 1, &m, b, &changed), TC_OK);
    assert_int_equal(changed, 0);
    assert_ptr_equal(a->data[0], b->data[0]);
    av_frame_unref(b);
    /* a held frame is never overwritten: a new state goes to another buffer */
    tc_mouth m2 = { 0.9f, 0, 0, 0, 0 };
    assert_int_equal(tc_face_render(f, 2, &m2, b, &changed), TC_OK);
    assert_int_equal(changed, 1);
    assert_ptr_not_equal(a->data[0], b->data[0]);
    av_frame_free(&a);
    av_frame_free(&b);
    tc_face_destroy(f);
}

/* Frames (of the first `frames`) in which the eyes are at least half shut. */
static int blink_frames(uint32_t seed, int frames, int *first)
{
    tc_face *f = make(640, 360, seed);
    AVFrame *ref = av_frame_alloc(), *fr = av_frame_alloc();
    int changed, n_closed = 0;
    *first = -1;
    assert_int_equal(tc_face_render(f, 0, NULL, ref, &changed), TC_OK);
    for (int n = 1; n < frames; n++) {
        assert_int_equal(tc_face_render(f, n, NULL, fr, &changed), TC_OK);
        /* left eye at x 320-28.8, y 165.6-18 (unit 3.6 px) */
        long d = diff_rect(ref, fr, 280, 140, 24, 14);
        if (d > 24 * 14 * 30) {
            n_closed++;
            if (*first < 0) *first = n;
        }
        av_frame_unref(fr);
    }
    av_frame_free(&ref);
    av_frame_free(&fr);
    tc_face_destroy(f);
    return n_closed;
}

static void test_blinks_are_timely_and_deterministic(void **state)
{
    (void)state;
    int first_a, first_b, first_c;
    int a = blink_frames(42, 30 * 13, &first_a);
    int b = blink_frames(42, 30 * 13, &first_b);
    int c = blink_frames(43, 30 * 13, &first_c);
    assert_true(first_a > 0 && first_a <= 6 * 30); /* first blink within 6 s */
    /* 13 s at one blink per 2–6 s: 2 to 6 blinks of ~3–6 closed frames */
    assert_true(a >= 2 * 2 && a <= 6 * 7);
    assert_int_equal(a, b);
    assert_int_equal(first_a, first_b);
    assert_true(first_a != first_c || a != c); /* another seed, another rhythm */
}

static void test_out_of_range_mouth_is_clamped(void **state)
{
    (void)state;
    tc_face *f = make(640, 360, 1);
    AVFrame *a = av_frame_alloc(), *b = av_frame_alloc();
    tc_mouth big = { 5, -1, 7, -3, 100 }, one = { 1, 0, 1, 0, 1 };
    int changed;
    assert_int_equal(tc_face_render(f, 0, &big, a, &changed), TC_OK);
    assert_int_equal(tc_face_render(f, 0, &one, b, &changed), TC_OK);
    assert_int_equal(changed, 0); /* same state after clamping */
    assert_true(ft_same_frame(a, b));
    av_frame_free(&a);
    av_frame_free(&b);
    tc_face_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_mouth_opens_only_inside_face),
        cmocka_unit_test(test_unchanged_face_is_free),
        cmocka_unit_test(test_blinks_are_timely_and_deterministic),
        cmocka_unit_test(test_out_of_range_mouth_is_clamped),
    };
    return cmocka_run_group_tests(tests, ft_setup, ft_teardown);
}
