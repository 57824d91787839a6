/* test_sprite.c — sprite packs: the mouth layer follows the mouth
 * parameters (nearest shape, missing shapes fall back), blinks show the
 * eyes layer, a repeated state costs nothing, and bad manifests (no base,
 * unknown shape, paths leaving the pack, no mouths, malformed offsets)
 * are refused clearly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/face.h"
#include "face_test.h"

static char pack[300];

/* An RGBA layer with one opaque box. */
static void layer(const char *name, int x, int y, int w, int h, int r, int g, int b)
{
    char args[600], file[64];
    snprintf(args, sizeof args,
             "-f lavfi -i nullsrc=s=320x240,format=rgba,geq=r=%d:g=%d:b=%d:a='if(between(X\\,%d\\,%d)*between(Y\\,%d\\,%d)\\,255\\,0)' -frames:v 1",
             r, g, b, x, x + w, y, y + h);
    snprintf(file, sizeof file, "pack/%s.png", name);
    assert_non_null(ft_make(file, args));
}

static void manifest(const char *json)
{
    char p[400];
    snprintf(p, sizeof p, "%s/sprites.json", pack);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
}

static int setup(void **state)
{
    if (ft_setup(state)) return -1;
    snprintf(pack, sizeof pack, "%s/pack", ft_dir);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", pack);
    if (system(cmd)) return -1;
    if (!ft_make("pack/base.png", "-f lavfi -i color=c=gray:s=320x240 -frames:v 1")) return -1;
    layer("rest", 140, 178, 40, 4, 200, 40, 40);
    layer("aa", 135, 165, 50, 40, 20, 0, 0);
    layer("eyes", 110, 90, 100, 10, 210, 180, 140);
    return 0;
}

static tc_face_config cfg(void)
{
    tc_face_config c = { 320, 240, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, pack, 7, 0, NULL, 0 };
    return c;
}

static void test_mouths_and_blink(void **state)
{
    (void)state;
    manifest("{\"base\":\"base.png\",\"mouths\":{\"rest\":\"rest.png\",\"aa\":\"aa.png\"},\"blink\":\"eyes.png\"}");
    tc_face_config c = cfg();
    tc_face *f;
    assert_int_equal(tc_face_create_auto(&f, &c), TC_OK);
    assert_string_equal(tc_face_name(f), "sprite");
    AVFrame *a = av_frame_alloc(), *b = av_frame_alloc(), *d = av_frame_alloc();
    int changed;
    tc_mouth closed = { 0 }, open = { 0.9f, 0.3f, 0, 0, 0.3f }, round = { 0.6f, 0, 0.8f, 0, 0 };
    assert_int_equal(tc_face_render(f, 0, &closed, a, &changed), TC_OK);
    assert_int_equal(tc_face_render(f, 1, &open, b, &changed), TC_OK);
    assert_int_equal(changed, 1);
    assert_true(ft_y(b, 160, 190) < 40);   /* the dark open mouth */
    assert_true(ft_y(a, 160, 190) > 100);  /* gray base under a closed one */
    assert_true(ft_same_rect(a, b, 0, 0, 320, 150)); /* nothing else moved */
    /* "oo" is not in the pack: the nearest given shape (aa) stands in */
    assert_int_equal(tc_face_render(f, 2, &round, d, &changed), TC_OK);
    assert_ptr_equal(d->data[0], b->data[0]);
    assert_int_equal(changed, 0);
    av_frame_unref(d);
    /* somewhere in the first 6 s the eyes layer shows */
    int blinked = 0;
    for (int n = 3; n < 180 && !blinked; n++) {
        assert_int_equal(tc_face_render(f, n, &closed, d, &changed), TC_OK);
        blinked = ft_y(d, 160, 95) > 150;
        av_frame_unref(d);
    }
    assert_true(blinked);
    av_frame_free(&a);
    av_frame_free(&b);
    av_frame_free(&d);
    tc_face_destroy(f);
}

static void test_bad_manifests(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"mouths\":{\"rest\":\"rest.png\"}}",
        "{\"base\":\"base.png\",\"mouths\":{\"grin\":\"rest.png\"}}",
        "{\"base\":\"../pack/base.png\",\"mouths\":{\"rest\":\"rest.png\"}}",
        "{\"base\":\"/etc/passwd\",\"mouths\":{\"rest\":\"rest.png\"}}",
        "{\"base\":\"base.png\",\"mouths\":{}}",
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":\"nope.png\"}}",
        "[not an object",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        manifest(bad[i]);
        tc_face_config c = cfg();
        tc_face *f = NULL;
        if (tc_face_create(&f, "sprite", &c) >= 0) fail_msg("manifest '%s' accepted", bad[i]);
        assert_null(f);
    }
}

/* Found by tests/fuzz/fuzz_sprite: an "offset" that was not an array hit
 * json-c's assert (abort), and a huge one overflowed x + offset when
 * compositing. Both are refused now, like any malformed offset. */
static void test_bad_offsets(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":{\"file\":\"rest.png\",\"offset\":\"aa.png\"}}}",
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":{\"file\":\"rest.png\",\"offset\":[2147483647,0]}}}",
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":\"rest.png\"},\"blink\":{\"file\":\"eyes.png\",\"offset\":[0,-1e300]}}",
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":{\"file\":\"rest.png\",\"offset\":[1,\"x\"]}}}",
        "{\"base\":\"base.png\",\"mouths\":{\"rest\":{\"file\":\"rest.png\",\"offset\":[1]}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        manifest(bad[i]);
        tc_face_config c = cfg();
        tc_face *f = NULL;
        if (tc_face_create(&f, "sprite", &c) >= 0) fail_msg("manifest '%s' accepted", bad[i]);
        assert_null(f);
    }
    /* an offset within the limits still works, also far off the picture */
    manifest("{\"base\":\"base.png\",\"mouths\":{\"rest\":{\"file\":\"rest.png\",\"offset\":[-16384,16384]}}}");
    tc_face_config c = cfg();
    tc_face *f = NULL;
    assert_int_equal(tc_face_create(&f, "sprite", &c), TC_OK);
    AVFrame *out = av_frame_alloc();
    int changed;
    tc_mouth m = { 0 };
    assert_int_equal(tc_face_render(f, 0, &m, out, &changed), TC_OK);
    av_frame_free(&out);
    tc_face_destroy(f);
}

/* A layer that is a symlink out of the pack is refused like "../x.png";
 * a link that stays inside the pack is fine. */
static void test_symlink_escape(void **state)
{
    (void)state;
    assert_non_null(ft_make("outside.png", "-f lavfi -i color=c=gray:s=320x240 -frames:v 1"));
    char link[400], target[400];
    snprintf(link, sizeof link, "%s/escape.png", pack);
    snprintf(target, sizeof target, "%s/outside.png", ft_dir);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    snprintf(link, sizeof link, "%s/alias.png", pack);
    unlink(link);
    assert_int_equal(symlink("base.png", link), 0);
    manifest("{\"base\":\"escape.png\",\"mouths\":{\"rest\":\"rest.png\"}}");
    tc_face_config c = cfg();
    tc_face *f = NULL;
    assert_int_equal(tc_face_create(&f, "sprite", &c), TC_ERR_FORMAT);
    assert_null(f);
    manifest("{\"base\":\"alias.png\",\"mouths\":{\"rest\":\"rest.png\"}}");
    assert_int_equal(tc_face_create(&f, "sprite", &c), TC_OK);
    tc_face_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mouths_and_blink),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_bad_offsets),
        cmocka_unit_test(test_symlink_escape),
    };
    return cmocka_run_group_tests(tests, setup, ft_teardown);
}
