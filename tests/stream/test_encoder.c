/* test_encoder.c — the encoder's settings reach x264: --x264-params is
 * checked against x264 itself (libavcodec would only warn and drop a bad
 * option), and a good option changes what comes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "stream/encoder.h"

static void test_check_params(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(tc_encoder_check_params(NULL, err, sizeof err), TC_OK);
    assert_int_equal(tc_encoder_check_params("", err, sizeof err), TC_OK);
    assert_int_equal(tc_encoder_check_params("ref=2:aq-mode=0:scenecut=0", err, sizeof err), TC_OK);
    assert_int_equal(tc_encoder_check_params("ref=2:nosuch=1", err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "'nosuch'"));
    assert_int_equal(tc_encoder_check_params("ref=lots", err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "'lots'"));
    assert_non_null(strstr(err, "ref"));
}

typedef struct {
    int packets, keys;
} count;

static void on_packet(void *opaque, int stream, const AVPacket *pkt)
{
    count *c = opaque;
    if (stream != 0) return;
    c->packets++;
    if (pkt->flags & AV_PKT_FLAG_KEY) c->keys++;
}

/* 40 grey frames at 10 fps with the given options: how many keyframes */
static int keyframes(const char *params, int *rc)
{
    tc_encoder_config cfg = { 160, 96, AV_PIX_FMT_YUV420P, 10, 1, 48000, 1, "ultrafast", "zerolatency",
                              200000, 0, 0, 64000, 2.0, 1, params };
    tc_encoder *e = NULL;
    count c = { 0, 0 };
    *rc = tc_encoder_create(&e, &cfg, on_packet, &c);
    if (*rc != TC_OK) return -1;
    AVFrame *f = av_frame_alloc();
    assert_non_null(f);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 160;
    f->height = 96;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(av_frame_make_writable(f), 0);
        for (int p = 0; p < 3; p++)
            memset(f->data[p], p ? 128 : 16 + i, (size_t)f->linesize[p] * (size_t)(p ? 48 : 96));
        assert_int_equal(tc_encoder_video(e, f, i), TC_OK);
    }
    assert_int_equal(tc_encoder_flush(e), TC_OK);
    av_frame_free(&f);
    tc_encoder_destroy(e);
    assert_int_equal(c.packets, 40);
    return c.keys;
}

static void test_params_reach_x264(void **state)
{
    (void)state;
    int rc;
    int plain = keyframes(NULL, &rc); /* keyint 2 s = 20 frames */
    assert_int_equal(rc, TC_OK);
    int dense = keyframes("keyint=5", &rc);
    assert_int_equal(rc, TC_OK);
    assert_int_equal(plain, 2);
    assert_int_equal(dense, 8);
    assert_int_equal(keyframes("keyint=5:nosuch=1", &rc), -1);
    assert_int_equal(rc, TC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_params),
        cmocka_unit_test(test_params_reach_x264),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
