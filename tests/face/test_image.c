/* test_image.c — still avatars: decoded once, fitted by pad or crop with the
 * right colours and black bars, rendered by reference at no cost; clear
 * errors for missing and non-image files; the factory picks the renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/face.h"
#include "face_test.h"

static tc_face_config cfg_for(const char *path, int fit)
{
    tc_face_config c = { 1280, 720, AV_PIX_FMT_YUV420P, 30, 1, (tc_face_fit)fit, path, 1, 0, NULL, 0 };
    return c;
}

static void test_pad_keeps_aspect_with_black_bars(void **state)
{
    (void)state;
    /* 400x400 red square → centred 720x720, black pillars either side. */
    const char *png = ft_make("red.png", "-f lavfi -i color=c=red:s=400x400 -frames:v 1");
    assert_non_null(png);
    tc_face_config c = cfg_for(png, TC_FACE_FIT_PAD);
    tc_face *f;
    assert_int_equal(tc_face_create(&f, "image", &c), TC_OK);
    AVFrame *a = av_frame_alloc(), *b = av_frame_alloc();
    int changed = -1;
    assert_int_equal(tc_face_render(f, 0, NULL, a, &changed), TC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(a->width, 1280);
    assert_int_equal(a->height, 720);
    /* red in BT.709 limited range (what the encoder tags): Y≈63, U≈102, V≈240 */
    assert_true(abs(ft_y(a, 640, 360) - 63) <= 3);
    assert_true(abs(ft_u(a, 640, 360) - 102) <= 3);
    assert_true(abs(ft_v(a, 640, 360) - 240) <= 3);
    /* bars: x < 280 and x >= 1000 are black (Y=16, U=V=128) */
    assert_int_equal(ft_y(a, 10, 360), 16);
    assert_int_equal(ft_u(a, 10, 360), 128);
    assert_int_equal(ft_y(a, 1270, 700), 16);
    assert_true(ft_y(a, 300, 10) > 60);
    /* every later render is the same buffer, unchanged */
    assert_int_equal(tc_face_render(f, 1, NULL, b, &changed), TC_OK);
    assert_int_equal(changed, 0);
    assert_ptr_equal(a->data[0], b->data[0]);
    av_frame_free(&a);
    av_frame_free(&b);
    tc_face_destroy(f);
}

static void test_crop_fills_the_frame(void **state)
{
    (void)state;
    /* Tall image: blue top half, green bottom half; crop keeps the middle. */
    const char *png = ft_make("tall.png", "-f lavfi -i color=c=blue:s=200x400 -f lavfi -i color=c=green:s=200x400 "
                                          "-filter_complex [0][1]vstack,crop=200:800,scale=200:400 -frames:v 1");
    assert_non_null(png);
    tc_face_config c = cfg_for(png, TC_FACE_FIT_CROP);
    tc_face *f;
    assert_int_equal(tc_face_create(&f, "image", &c), TC_OK);
    AVFrame *a = av_frame_alloc();
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, a, &changed), TC_OK);
    /* no black anywhere on the edges */
    for (int x = 0; x < 1280; x += 64) {
        assert_true(ft_y(a, x, 0) > 20 || ft_u(a, x, 0) != 128);
        assert_true(ft_y(a, x, 719) > 20 || ft_u(a, x, 719) != 128);
    }
    /* top is blue (U high), bottom is green (U low, V low) */
    assert_true(ft_u(a, 640, 20) > 200);
    assert_true(ft_u(a, 640, 700) < 100 && ft_v(a, 640, 700) < 100);
    av_frame_free(&a);
    tc_face_destroy(f);
}

static void test_alpha_png_over_black(void **state)
{
    (void)state;
    const char *png = ft_make("alpha.png", "-f lavfi -i color=c=white@0.0:s=64x64,format=rgba -frames:v 1");
    assert_non_null(png);
    tc_face_config c = cfg_for(png, TC_FACE_FIT_PAD);
    tc_face *f;
    assert_int_equal(tc_face_create(&f, "image", &c), TC_OK);
    AVFrame *a = av_frame_alloc();
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, a, &changed), TC_OK);
    assert_true(ft_y(a, 640, 360) <= 18); /* transparent white shows black */
    av_frame_free(&a);
    tc_face_destroy(f);
}

static void test_shared_astronaut(void **state)
{
    (void)state;
    const char *dir = getenv("TC_SHARED_DIR");
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/avatars/astronaut.png", dir);
    tc_face_config c = cfg_for(path, TC_FACE_FIT_PAD);
    tc_face *f;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "image");
    tc_face_destroy(f);
}

static void test_errors_and_factory(void **state)
{
    (void)state;
    tc_face *f = (tc_face *)1;
    tc_face_config c = cfg_for("/nonexistent/face.png", TC_FACE_FIT_PAD);
    assert_int_equal(tc_face_create_auto(&f, &c), TC_ERR_NOTFOUND);
    assert_null(f);
    assert_int_equal(tc_face_create(&f, "image", &c), TC_ERR_NOTFOUND);

    char txt[256];
    snprintf(txt, sizeof txt, "%s/notes.png", ft_dir);
    FILE *t = fopen(txt, "w");
    fputs("this is not a picture\n", t);
    fclose(t);
    c.path = txt;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_ERR_FORMAT);
    assert_int_equal(tc_face_create(&f, "image", &c), TC_ERR_FORMAT);

    assert_int_equal(tc_face_create(&f, "nosuchrenderer", &c), TC_ERR_NOTFOUND);
    c.path = NULL;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "vector");
    tc_face_destroy(f);
    c.width = 641;
    assert_int_equal(tc_face_create(&f, "vector", &c), TC_ERR_INVAL);

    const char *mp4 = ft_make("clip.mp4", "-f lavfi -i testsrc2=s=160x120:r=25 -frames:v 10 -pix_fmt yuv420p");
    assert_non_null(mp4);
    c = cfg_for(mp4, TC_FACE_FIT_PAD);
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "video");
    tc_face_destroy(f);
    const char *jpg = ft_make("p.jpg", "-f lavfi -i testsrc2=s=160x120 -frames:v 1");
    c.path = jpg;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "image");
    tc_face_destroy(f);
    tc_face_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad_keeps_aspect_with_black_bars),
        cmocka_unit_test(test_crop_fills_the_frame),
        cmocka_unit_test(test_alpha_png_over_black),
        cmocka_unit_test(test_shared_astronaut),
        cmocka_unit_test(test_errors_and_factory),
    };
    return cmocka_run_group_tests(tests, ft_setup, ft_teardown);
}
