/* test_photo.c — the talking photo: landmarks are required and checked
 * (missing, malformed, outside the image), the mouth opens dark inside the
 * landmarks' region while the rest of the picture stays byte-identical,
 * (NaN and strings too), an unchanged mouth costs nothing, the photo blinks when its landmarks
 * name the eyes, and auto-detection picks "photo" when landmarks sit next
 * to the image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/face.h"
#include "face_test.h"

static char astro[512], lms[512];

static int setup(void **state)
{
    const char *sh = getenv("TC_SHARED_DIR"), *src = getenv("TC_SOURCE_DIR");
    if (!sh || !src) return -1;
    snprintf(astro, sizeof astro, "%s/avatars/astronaut.png", sh);
    snprintf(lms, sizeof lms, "%s/assets/avatars/astronaut.landmarks.json", src);
    return ft_setup(state);
}

static tc_face_config cfg(const char *img, const char *lm)
{
    tc_face_config c = { 1280, 720, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, img, 1, 0, lm, 0 };
    return c;
}

static void test_mouth_opens_in_place(void **state)
{
    (void)state;
    tc_face_config c = cfg(astro, lms);
    tc_face *f;
    assert_int_equal(tc_face_create(&f, "photo", &c), TC_OK);
    AVFrame *closed = av_frame_alloc(), *open = av_frame_alloc(), *again = av_frame_alloc();
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, closed, &changed), TC_OK);
    tc_mouth m = { 1, 0, 0, 0, 0 };
    assert_int_equal(tc_face_render(f, 1, &m, open, &changed), TC_OK);
    assert_int_equal(changed, 1);
    /* the mouth (223,141) in the source lands near (594, 198); opened, it
     * is dark a few pixels below the upper lip */
    int dark = 0;
    for (int y = 200; y < 222; y++)
        for (int x = 585; x < 605; x++) dark += ft_y(open, x, y) < 70;
    assert_true(dark > 100);
    assert_true(ft_y(closed, 594, 210) > 90);
    /* outside the warped region the picture is the fitted photo, untouched */
    assert_true(ft_same_rect(closed, open, 0, 0, 1280, 150));
    assert_true(ft_same_rect(closed, open, 0, 330, 1280, 390));
    assert_true(ft_same_rect(closed, open, 0, 0, 500, 720));
    assert_true(ft_same_rect(closed, open, 700, 0, 580, 720));
    /* same mouth again: same buffer, no work */
    assert_int_equal(tc_face_render(f, 2, &m, again, &changed), TC_OK);
    assert_int_equal(changed, 0);
    assert_ptr_equal(again->data[0], open->data[0]);
    av_frame_free(&closed);
    av_frame_free(&open);
    av_frame_free(&again);
    tc_face_destroy(f);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_bad_landmarks(void **state)
{
    (void)state;
    tc_face *f = NULL;
    char p[300];
    tc_face_config c = cfg(astro, "/nonexistent.json");
    assert_int_equal(tc_face_create(&f, "photo", &c), TC_ERR_NOTFOUND);
    snprintf(p, sizeof p, "%s/bad.json", ft_dir);
    const char *bad[] = {
        "{not json",
        "{\"mouth_left\": [1, 2]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,900]}",
        "{\"mouth_left\":[244,141],\"mouth_right\":[202,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176]}",
        "{\"mouth_left\":\"x\",\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176]}",
        /* one eye only; eyes swapped; an eye below the mouth */
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176],"
        "\"eye_left\":[203,101]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176],"
        "\"eye_left\":[247,101],\"eye_right\":[203,101]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176],"
        "\"eye_left\":[203,101],\"eye_right\":[247,160]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(p, bad[i]);
        c = cfg(astro, p);
        int r = tc_face_create(&f, "photo", &c);
        if (r >= 0) fail_msg("landmarks '%s' accepted", bad[i]);
        assert_null(f);
    }
}

/* Found by tests/fuzz/fuzz_landmarks: json-c reads NaN and Infinity, and a
 * NaN coordinate passed every range check (comparisons with NaN are
 * false), reaching the warp; strings were read as numbers. */
static void test_landmarks_not_numbers(void **state)
{
    (void)state;
    tc_face *f = NULL;
    char p[300];
    snprintf(p, sizeof p, "%s/nan.json", ft_dir);
    const char *bad[] = {
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,NaN],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[NaN,138],\"lower_lip\":[223,152],\"chin\":[224,176]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176],"
        "\"eye_left\":[203,101],\"eye_right\":[Infinity,102]}",
        "{\"mouth_left\":[202,141],\"mouth_right\":[\"244\",141],\"upper_lip\":[223,138],\"lower_lip\":[223,152],\"chin\":[224,176]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(p, bad[i]);
        tc_face_config c = cfg(astro, p);
        int r = tc_face_create(&f, "photo", &c);
        if (r >= 0) fail_msg("landmarks '%s' accepted", bad[i]);
        assert_int_equal(r, TC_ERR_FORMAT);
        assert_null(f);
    }
}

/* Mean luma of a w x h box centred on (x, y). */
static double box_y(const AVFrame *f, int x, int y, int w, int h)
{
    double s = 0;
    for (int j = y - h / 2; j < y - h / 2 + h; j++)
        for (int i = x - w / 2; i < x - w / 2 + w; i++) s += ft_y(f, i, j);
    return s / (w * h);
}

/* With eye landmarks the photo blinks on the seeded rhythm: shut, the dark
 * iris is covered by lid skin (brighter), only the eyes' rectangles
 * change, and once open again the picture is the open one to the byte.
 * Without eye landmarks nothing blinks. */
static void test_photo_blinks(void **state)
{
    (void)state;
    tc_face_config c = cfg(astro, lms);
    int64_t shut = -1, open_n = -1;
    for (int64_t n = 0; n < 30 * 12 && shut < 0; n++)
        if (tc_face_blink(c.seed, n, 30, 1) >= 0.999) shut = n;
    assert_true(shut > 0);
    for (int64_t n = shut; n < shut + 60 && open_n < 0; n++)
        if (tc_face_blink(c.seed, n, 30, 1) == 0) open_n = n;
    assert_true(open_n > shut);

    tc_face *f;
    assert_int_equal(tc_face_create(&f, "photo", &c), TC_OK);
    AVFrame *before = av_frame_alloc(), *closed = av_frame_alloc(), *after = av_frame_alloc();
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, before, &changed), TC_OK);
    assert_true(tc_face_blink(c.seed, 0, 30, 1) == 0);
    assert_int_equal(tc_face_render(f, shut, NULL, closed, &changed), TC_OK);
    assert_int_equal(changed, 1);
    /* eyes at source (203,101) and (247,102.5) land at (565,142) and (627,144) */
    const int ex[2] = { 565, 627 }, ey[2] = { 142, 144 };
    for (int e = 0; e < 2; e++) {
        double o = box_y(before, ex[e], ey[e], 12, 6), s = box_y(closed, ex[e], ey[e], 12, 6);
        if (s < o + 20) fail_msg("eye %d: luma %.0f open, %.0f shut: not covered", e, o, s);
    }
    /* only the eyes' neighbourhood changed */
    assert_true(ft_same_rect(before, closed, 0, 0, 1280, 100));
    assert_true(ft_same_rect(before, closed, 0, 170, 1280, 550));
    assert_true(ft_same_rect(before, closed, 0, 0, 530, 720));
    assert_true(ft_same_rect(before, closed, 670, 0, 610, 720));
    assert_false(ft_same_frame(before, closed));
    assert_int_equal(tc_face_render(f, open_n, NULL, after, &changed), TC_OK);
    assert_true(ft_same_frame(before, after));
    av_frame_unref(closed);
    tc_face_destroy(f);

    /* the same photo without eye landmarks never blinks */
    char p[300];
    snprintf(p, sizeof p, "%s/noeyes.json", ft_dir);
    write_file(p, "{\"mouth_left\":[202,141],\"mouth_right\":[244,141],\"upper_lip\":[223,138],"
                  "\"lower_lip\":[223,152],\"chin\":[224,176]}");
    c = cfg(astro, p);
    assert_int_equal(tc_face_create(&f, "photo", &c), TC_OK);
    av_frame_unref(before);
    assert_int_equal(tc_face_render(f, 0, NULL, before, &changed), TC_OK);
    assert_int_equal(tc_face_render(f, shut, NULL, closed, &changed), TC_OK);
    assert_true(ft_same_frame(before, closed));
    tc_face_destroy(f);
    av_frame_free(&before);
    av_frame_free(&closed);
    av_frame_free(&after);
}

static void test_auto_picks_photo(void **state)
{
    (void)state;
    char img[300], lm[300], cmd[2048];
    snprintf(img, sizeof img, "%s/me.png", ft_dir);
    snprintf(lm, sizeof lm, "%s/me.landmarks.json", ft_dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s'", astro, img, lms, lm);
    assert_int_equal(system(cmd), 0);
    tc_face_config c = cfg(img, NULL);
    tc_face *f;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "photo");
    tc_face_destroy(f);
    c = cfg(astro, NULL); /* no landmarks beside it: a still image */
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "image");
    tc_face_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mouth_opens_in_place),
        cmocka_unit_test(test_bad_landmarks),
        cmocka_unit_test(test_landmarks_not_numbers),
        cmocka_unit_test(test_photo_blinks),
        cmocka_unit_test(test_auto_picks_photo),
    };
    return cmocka_run_group_tests(tests, setup, ft_teardown);
}
