/* test_video.c — looping video avatars: source frames map onto the output
 * clock (25 → 30 fps repeats, 60 → 30 skips), the loop wraps seamlessly,
 * and on-the-fly decoding shows exactly what the in-memory cache shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/face.h"
#include "face_test.h"

/* Fixture: frame i of the source has luma 16 + 4*i, so the source frame
 * index can be read back from the centre pixel. */
static const char *make_ramp(const char *name, int rate, int frames)
{
    char args[512];
    snprintf(args, sizeof args,
             "-f lavfi -i color=c=black:s=64x48:r=%d,format=yuv444p,geq=lum='16+4*N':cb=128:cr=128 -frames:v %d "
             "-c:v libx264 -qp 0 -preset ultrafast -pix_fmt yuv444p", rate, frames);
    return ft_make(name, args);
}

static int src_index(const AVFrame *f)
{
    int y = ft_y(f, f->width / 2, f->height / 2);
    return (y - 16 + 2) / 4;
}

static tc_face *open_video(const char *path, int64_t cache_bytes)
{
    tc_face_config c = { 320, 240, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, path, 1, cache_bytes, NULL, 0 };
    tc_face *f = NULL;
    assert_int_equal(tc_face_create(&f, "video", &c), TC_OK);
    return f;
}

/* Expected source index for output frame n: the frame covering n/30 s. */
static int expect_index(int64_t n, int rate, int frames)
{
    int64_t i = n * rate / 30; /* floor(t * rate) */
    return (int)(i % frames);
}

static void check_mapping(const char *path, int rate, int frames, int64_t cache, int out_frames)
{
    tc_face *f = open_video(path, cache);
    AVFrame *fr = av_frame_alloc();
    int prev = -1;
    for (int64_t n = 0; n < out_frames; n++) {
        int changed;
        assert_int_equal(tc_face_render(f, n, NULL, fr, &changed), TC_OK);
        int got = src_index(fr), want = expect_index(n, rate, frames);
        if (got != want) fail_msg("%s: output frame %lld shows source %d, want %d", path, (long long)n, got, want);
        assert_int_equal(changed, got != prev);
        prev = got;
        av_frame_unref(fr);
    }
    av_frame_free(&fr);
    tc_face_destroy(f);
}

static void test_25fps_loop_cached_and_streamed(void **state)
{
    (void)state;
    const char *p = make_ramp("r25.mp4", 25, 50);
    assert_non_null(p);
    check_mapping(p, 25, 50, 0, 200); /* 200 frames at 30 fps = 3.3 loops of 2 s */
    check_mapping(p, 25, 50, 1, 200); /* 1 byte of cache: decoded on the fly */
}

static void test_24_and_60fps(void **state)
{
    (void)state;
    const char *p24 = make_ramp("r24.mp4", 24, 36);
    assert_non_null(p24);
    check_mapping(p24, 24, 36, 0, 120);
    const char *p60 = make_ramp("r60.mp4", 60, 50);
    assert_non_null(p60);
    check_mapping(p60, 60, 50, 1, 120);
}

static void test_streamed_equals_cached(void **state)
{
    (void)state;
    const char *p = ft_make("t.mp4", "-f lavfi -i testsrc2=s=160x120:r=25 -frames:v 40 -pix_fmt yuv420p");
    assert_non_null(p);
    tc_face *a = open_video(p, 0), *b = open_video(p, 1);
    AVFrame *fa = av_frame_alloc(), *fb = av_frame_alloc();
    for (int64_t n = 0; n < 150; n++) { /* 3 loops of 1.6 s */
        int ca, cb;
        assert_int_equal(tc_face_render(a, n, NULL, fa, &ca), TC_OK);
        assert_int_equal(tc_face_render(b, n, NULL, fb, &cb), TC_OK);
        assert_int_equal(ca, cb);
        if (!ft_same_frame(fa, fb)) fail_msg("frame %lld differs between cached and streamed", (long long)n);
        av_frame_unref(fa);
        av_frame_unref(fb);
    }
    av_frame_free(&fa);
    av_frame_free(&fb);
    tc_face_destroy(a);
    tc_face_destroy(b);
}

static void test_audio_track_ignored_and_errors(void **state)
{
    (void)state;
    const char *p = ft_make("av.mkv", "-f lavfi -i testsrc2=s=96x64:r=10 -f lavfi -i sine -t 1 -pix_fmt yuv420p");
    assert_non_null(p);
    tc_face *f = open_video(p, 0);
    AVFrame *fr = av_frame_alloc();
    int changed;
    assert_int_equal(tc_face_render(f, 0, NULL, fr, &changed), TC_OK);
    assert_int_equal(fr->width, 320);
    av_frame_free(&fr);
    tc_face_destroy(f);

    tc_face_config c = { 320, 240, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, "/nonexistent.mp4", 1, 0, NULL, 0 };
    assert_int_equal(tc_face_create(&f, "video", &c), TC_ERR_NOTFOUND);
    const char *wav = ft_make("a.wav", "-f lavfi -i sine -t 0.2");
    c.path = wav;
    assert_int_equal(tc_face_create(&f, "video", &c), TC_ERR_FORMAT);
    assert_int_equal(tc_face_create_auto(&f, &c), TC_ERR_FORMAT);
}

/* Per-frame landmarks: a loop that pans across the portrait 4 px a frame,
 * with each frame's mouth given; the opened mouth follows the pan. */
static void test_per_frame_landmarks(void **state)
{
    (void)state;
    const char *sh = getenv("TC_SHARED_DIR");
    assert_non_null(sh);
    char args[1024];
    snprintf(args, sizeof args, "-loop 1 -framerate 10 -i %s/avatars/astronaut.png -vf crop=400:400:'4*n':40 "
             "-frames:v 10 -c:v libx264 -qp 5 -pix_fmt yuv420p", sh);
    const char *loop = ft_make("pan.mp4", args);
    assert_non_null(loop);
    char lm[300];
    snprintf(lm, sizeof lm, "%s/pan.landmarks.json", ft_dir);
    FILE *j = fopen(lm, "w");
    assert_non_null(j);
    fputs("{\"frames\": [", j);
    for (int k = 0; k < 10; k++) /* astronaut landmarks shifted by the crop (4k, 40) */
        fprintf(j, "%s{\"mouth_left\":[%d,101],\"mouth_right\":[%d,101],\"upper_lip\":[%d,98],"
                   "\"lower_lip\":[%d,112],\"chin\":[%d,136]}", k ? "," : "", 202 - 4 * k, 244 - 4 * k,
                223 - 4 * k, 223 - 4 * k, 224 - 4 * k);
    fputs("]}", j);
    fclose(j);
    tc_face_config c = { 400, 400, AV_PIX_FMT_YUV420P, 10, 1, TC_FACE_FIT_PAD, loop, 1, 0, NULL, 0 };
    tc_face *f;
    assert_int_equal(tc_face_create(&f, "video", &c), TC_OK);
    AVFrame *fr = av_frame_alloc();
    tc_mouth open = { 1, 0, 0, 0, 0 };
    double prev = 1e9;
    for (int k = 0; k < 10; k += 3) {
        int changed;
        assert_int_equal(tc_face_render(f, k, &open, fr, &changed), TC_OK);
        /* centre of the dark interior, a few rows below the lip line */
        double sx = 0, want = 223 - 4 * k;
        int cnt = 0;
        for (int y = 108; y < 125; y++)
            for (int x = (int)want - 40; x < (int)want + 40; x++)
                if (ft_y(fr, x, y) < 60) { sx += x; cnt++; }
        if (cnt < 50) fail_msg("frame %d: no open mouth near x %.0f (%d dark pixels)", k, want, cnt);
        double cx = sx / cnt;
        if (cx < want - 6 || cx > want + 6) fail_msg("frame %d: mouth at x %.1f, want %.0f", k, cx, want);
        assert_true(cx < prev);
        prev = cx;
        av_frame_unref(fr);
    }
    /* closed mouth: the loop's own frame, untouched */
    tc_mouth closed = { 0 };
    int changed;
    assert_int_equal(tc_face_render(f, 10, &closed, fr, &changed), TC_OK);
    assert_true(ft_y(fr, 223, 118) > 60);
    av_frame_free(&fr);
    tc_face_destroy(f);
    /* a set count that fits neither 1 nor the loop is refused */
    j = fopen(lm, "w");
    fputs("{\"frames\": [{\"mouth_left\":[202,101],\"mouth_right\":[244,101],\"upper_lip\":[223,98],"
          "\"lower_lip\":[223,112],\"chin\":[224,136]},{\"mouth_left\":[202,101],\"mouth_right\":[244,101],"
          "\"upper_lip\":[223,98],\"lower_lip\":[223,112],\"chin\":[224,136]}]}", j);
    fclose(j);
    f = NULL;
    assert_int_equal(tc_face_create(&f, "video", &c), TC_ERR_FORMAT);
    assert_null(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_25fps_loop_cached_and_streamed),
        cmocka_unit_test(test_24_and_60fps),
        cmocka_unit_test(test_streamed_equals_cached),
        cmocka_unit_test(test_audio_track_ignored_and_errors),
        cmocka_unit_test(test_per_frame_landmarks),
    };
    return cmocka_run_group_tests(tests, ft_setup, ft_teardown);
}
