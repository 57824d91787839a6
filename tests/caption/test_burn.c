/* test_burn.c — burned-in captions: only the bottom band changes, with
 * white text on a darkened strip; the text is redrawn only when it changes;
 * nothing is drawn after a clear or after the hold; formats it cannot draw
 * on are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caption/caption.h"
#include "core/err.h"

static AVFrame *gray(int w, int h, enum AVPixelFormat fmt)
{
    AVFrame *f = av_frame_alloc();
    assert_non_null(f);
    f->width = w;
    f->height = h;
    f->format = fmt;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    for (int y = 0; y < h; y++)
        memset(f->data[0] + y * f->linesize[0], 120, (size_t)w);
    int ch = fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_NV12 ? h / 2 : h;
    int cw = fmt == AV_PIX_FMT_YUV444P ? w : fmt == AV_PIX_FMT_NV12 ? w : w / 2;
    for (int p = 1; p <= (fmt == AV_PIX_FMT_NV12 ? 1 : 2); p++)
        for (int y = 0; y < ch; y++)
            memset(f->data[p] + y * f->linesize[p], 160, (size_t)cw);
    return f;
}

static void test_band_only_and_redraws(void **state)
{
    static const enum AVPixelFormat fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV444P,
                                              AV_PIX_FMT_NV12};
    for (size_t k = 0; k < 3; k++) {
        int w = 320, h = 180;
        tc_cap_burn *b;
        assert_int_equal(tc_cap_burn_create(&b, w, h, fmts[k], 2, 10), TC_OK);
        AVFrame *f = gray(w, h, fmts[k]);
        assert_int_equal(tc_cap_burn_draw(b, f), 0); /* nothing said */
        tc_cap_burn_word(b, "Hello", 5);
        tc_cap_burn_word(b, "señor!", 7);
        assert_int_equal(tc_cap_burn_tick(b, 1), 1);
        assert_int_equal(tc_cap_burn_draw(b, f), 1);
        int first = -1, last = -1, bright = 0;
        for (int y = 0; y < h; y++) {
            int changed = 0;
            for (int x = 0; x < w; x++) {
                uint8_t v = f->data[0][y * f->linesize[0] + x];
                changed |= v != 120;
                bright += v > 200;
            }
            if (changed && first < 0) first = y;
            if (changed) last = y;
        }
        assert_true(first >= h / 2 && last < h); /* only the lower part */
        assert_true(bright > 50);                /* white text */
        assert_int_equal(tc_cap_burn_redraws(b), 1);
        AVFrame *g = gray(w, h, fmts[k]);
        assert_int_equal(tc_cap_burn_draw(b, g), 1);
        assert_int_equal(tc_cap_burn_redraws(b), 1); /* same text: no redraw */
        tc_cap_burn_word(b, "again", 5);
        assert_int_equal(tc_cap_burn_draw(b, g), 1);
        assert_int_equal(tc_cap_burn_redraws(b), 2);
        /* the hold: 10 quiet frames, then nothing */
        for (int i = 0; i < 9; i++)
            assert_int_equal(tc_cap_burn_tick(b, 0), 1);
        assert_int_equal(tc_cap_burn_tick(b, 0), 0);
        AVFrame *clean = gray(w, h, fmts[k]);
        assert_int_equal(tc_cap_burn_draw(b, clean), 0);
        assert_int_equal(clean->data[0][(h - 10) * clean->linesize[0] + w / 2], 120);
        /* an interrupt clears at once */
        tc_cap_burn_word(b, "cut", 3);
        assert_int_equal(tc_cap_burn_tick(b, 1), 1);
        tc_cap_burn_clear(b);
        assert_int_equal(tc_cap_burn_tick(b, 1), 0);
        assert_int_equal(tc_cap_burn_draw(b, clean), 0);
        /* a frame of another size is refused, not overrun */
        tc_cap_burn_word(b, "x", 1);
        AVFrame *small = gray(160, 90, fmts[k]);
        assert_int_equal(tc_cap_burn_draw(b, small), TC_ERR_INVAL);
        av_frame_free(&small);
        av_frame_free(&f);
        av_frame_free(&g);
        av_frame_free(&clean);
        tc_cap_burn_destroy(b);
    }
    tc_cap_burn *b;
    assert_int_equal(tc_cap_burn_create(&b, 320, 180, AV_PIX_FMT_RGB24, 2, 10), TC_ERR_INVAL);
    assert_int_equal(tc_cap_burn_create(&b, 320, 180, AV_PIX_FMT_YUV420P, 4, 10), TC_ERR_INVAL);
}

static void test_rows_roll(void **state)
{
    tc_cap_burn *b;
    assert_int_equal(tc_cap_burn_create(&b, 640, 360, AV_PIX_FMT_YUV420P, 2, 10), TC_OK);
    /* many words, long ones: rolls without overflow */
    char word[200];
    memset(word, 'a', sizeof word - 1);
    word[sizeof word - 1] = 0;
    for (int i = 0; i < 50; i++)
        tc_cap_burn_word(b, word, (int)strlen(word) - i);
    for (int i = 0; i < 50; i++)
        tc_cap_burn_word(b, "word", 4);
    /* a long word of 2-byte characters is cut on a character boundary */
    char acc[301];
    for (int i = 0; i < 150; i++)
        acc[2 * i] = (char)0xC3, acc[2 * i + 1] = (char)0xA9;
    acc[300] = 0;
    tc_cap_burn_word(b, acc, 299); /* ends mid-character too */
    AVFrame *f = gray(640, 360, AV_PIX_FMT_YUV420P);
    assert_int_equal(tc_cap_burn_draw(b, f), 1);
    tc_cap_burn_word(b, "next", 4);
    assert_int_equal(tc_cap_burn_draw(b, f), 1);
    assert_int_equal(tc_cap_burn_redraws(b), 2);
    av_frame_free(&f);
    tc_cap_burn_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_only_and_redraws),
        cmocka_unit_test(test_rows_roll),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    tc_cap_release_fonts(); /* the font caches cairo and fontconfig keep for the process */
    return r;
}
