/* test_multipart.c — the provider answer's multipart parser, fed the same
 * stream cut at every possible place, plus malformed streams that must be
 * refused without crashing or growing; and the WAV and blend helpers the
 * client and face-serve share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "core/err.h"
#include "face/remote.h"

typedef struct got {
    int n;
    int64_t index[16];
    char type[16][64];
    char body[16][64];
    size_t len[16];
    int fail_at; /* the callback fails at this part (-1: never) */
} got;

static int collect(void *opaque, const tc_face_mp_part *p)
{
    got *g = opaque;
    if (g->n == g->fail_at) return TC_ERR_CLOSED;
    assert_true(g->n < 16);
    g->index[g->n] = p->index;
    snprintf(g->type[g->n], 64, "%s", p->content_type);
    assert_true(p->len < 64);
    memcpy(g->body[g->n], p->data, p->len);
    g->body[g->n][p->len] = '\0';
    g->len[g->n] = p->len;
    g->n++;
    return TC_OK;
}

/* A preamble, a part with Content-Length (whose body contains a near
 * delimiter), one without, one with no headers, then the close and an
 * epilogue. */
static const char stream[] =
    "ignored preamble\r\n"
    "--xyz\r\nContent-Type: image/jpeg\r\nX-Frame-Index: 0\r\nContent-Length: "
    "12\r\n\r\nAB\r\n--xy\r\n12\r\n--xyz\r\n"
    "content-type: image/png; q=1\r\nx-frame-index:  7 \r\n\r\nsecond body\r\n--xyz  \r\n"
    "\r\nthird\r\n--xyz--\r\nepilogue";

static void check_three(const got *g)
{
    assert_int_equal(g->n, 3);
    assert_int_equal(g->index[0], 0);
    assert_string_equal(g->type[0], "image/jpeg");
    assert_int_equal(g->len[0], 12);
    assert_memory_equal(g->body[0], "AB\r\n--xy\r\n12", 12);
    assert_int_equal(g->index[1], 7);
    assert_string_equal(g->type[1], "image/png");
    assert_string_equal(g->body[1], "second body");
    assert_int_equal(g->index[2], -1);
    assert_string_equal(g->type[2], "");
    assert_string_equal(g->body[2], "third");
}

static void test_every_split(void **state)
{
    size_t n = sizeof stream - 1;
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b += 7) { /* three chunks: [0,a) [a,b) [b,n) */
            tc_face_mp p;
            got g = {.fail_at = -1};
            assert_int_equal(tc_face_mp_init(&p, "xyz", 1024), TC_OK);
            assert_int_equal(tc_face_mp_feed(&p, stream, a, collect, &g), TC_OK);
            assert_int_equal(tc_face_mp_feed(&p, stream + a, b - a, collect, &g), TC_OK);
            assert_int_equal(tc_face_mp_feed(&p, stream + b, n - b, collect, &g), TC_OK);
            check_three(&g);
            assert_true(tc_face_mp_done(&p));
            tc_face_mp_free(&p);
        }
    }
}

static void test_byte_by_byte(void **state)
{
    tc_face_mp p;
    got g = {.fail_at = -1};
    assert_int_equal(tc_face_mp_init(&p, "xyz", 1024), TC_OK);
    for (size_t i = 0; i < sizeof stream - 1; i++)
        assert_int_equal(tc_face_mp_feed(&p, stream + i, 1, collect, &g), TC_OK);
    check_three(&g);
    assert_int_equal(p.parts, 3);
    tc_face_mp_free(&p);
}

static void test_first_delimiter_at_start(void **state)
{
    const char *s = "--b\r\nX-Frame-Index: 3\r\n\r\nhi\r\n--b--";
    tc_face_mp p;
    got g = {.fail_at = -1};
    assert_int_equal(tc_face_mp_init(&p, "b", 64), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, s, strlen(s), collect, &g), TC_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.index[0], 3);
    assert_string_equal(g.body[0], "hi");
    assert_true(tc_face_mp_done(&p));
    tc_face_mp_free(&p);
}

/* With a Content-Length the part is handed on once its body is in, before
 * the next delimiter (which a provider may send only with the next frame). */
static void test_whole_part_without_next_delimiter(void **state)
{
    const char *s = "--b\r\nContent-Length: 3\r\nX-Frame-Index: 0\r\n\r\nabc";
    tc_face_mp p;
    got g = {.fail_at = -1};
    assert_int_equal(tc_face_mp_init(&p, "b", 64), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, s, strlen(s), collect, &g), TC_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.body[0], "abc");
    assert_int_equal(tc_face_mp_feed(&p, "\r\n-", 3, collect, &g), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, "-b--\r\n", 6, collect, &g), TC_OK);
    assert_true(tc_face_mp_done(&p));
    tc_face_mp_free(&p);
}

static void expect_format_n(const char *boundary, size_t max, const char *s, size_t len)
{
    tc_face_mp p;
    got g = {.fail_at = -1};
    assert_int_equal(tc_face_mp_init(&p, boundary, max), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, s, len, collect, &g), TC_ERR_FORMAT);
    /* a dead parser stays dead */
    assert_int_equal(tc_face_mp_feed(&p, "\r\n--b--", 7, collect, &g), TC_ERR_FORMAT);
    assert_false(tc_face_mp_done(&p));
    tc_face_mp_free(&p);
}

static void expect_format(const char *boundary, size_t max, const char *s)
{
    expect_format_n(boundary, max, s, strlen(s));
}

static void test_malformed(void **state)
{
    /* Content-Length that lies (too short, too long) */
    expect_format("b", 64, "--b\r\nContent-Length: 2\r\n\r\nhello\r\n--b--");
    expect_format("b", 64, "--b\r\nContent-Length: 9\r\n\r\nhello\r\n--b\r\n\r\nxxxxxxxxxx");
    /* Content-Length beyond the limit, or not a number */
    expect_format("b", 64, "--b\r\nContent-Length: 65\r\n\r\n");
    expect_format("b", 64, "--b\r\nContent-Length: -1\r\n\r\n");
    expect_format("b", 64, "--b\r\nContent-Length: 99999999999999999999\r\n\r\n");
    /* an index that is not a number */
    expect_format("b", 64, "--b\r\nX-Frame-Index: 12a\r\n\r\nx\r\n--b--");
    expect_format("b", 64, "--b\r\nX-Frame-Index:\r\n\r\nx\r\n--b--");
    /* a header line without a colon */
    expect_format("b", 64, "--b\r\nbogus header\r\n\r\nx\r\n--b--");
    /* garbage after a delimiter */
    expect_format("b", 64, "--bX\r\n\r\nx\r\n--b--");
    /* a NUL in the headers */
    expect_format_n("b", 64, "--b\r\nA: \0\r\n\r\n", 13);
}

static void test_bounded(void **state)
{
    /* a part that never ends: refused once it passes the limit, and the
     * buffer never grew beyond it */
    tc_face_mp p;
    got g = {.fail_at = -1};
    assert_int_equal(tc_face_mp_init(&p, "b", 1000), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, "--b\r\n\r\n", 7, collect, &g), TC_OK);
    char junk[256];
    memset(junk, 'x', sizeof junk);
    int r = TC_OK, i;
    for (i = 0; i < 100 && r == TC_OK; i++)
        r = tc_face_mp_feed(&p, junk, sizeof junk, collect, &g);
    assert_int_equal(r, TC_ERR_FORMAT);
    assert_true(i <= 6);
    assert_true(p.cap <= 1000 + 8192 + 64);
    tc_face_mp_free(&p);
    /* headers that never end */
    assert_int_equal(tc_face_mp_init(&p, "b", 1000), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, "--b\r\nA: b", 9, collect, &g), TC_OK);
    for (i = 0; i < 100 && r != TC_OK; i++)
        r = tc_face_mp_feed(&p, junk, sizeof junk, collect, &g);
    r = TC_OK;
    for (i = 0; i < 100 && r == TC_OK; i++)
        r = tc_face_mp_feed(&p, junk, sizeof junk, collect, &g);
    assert_int_equal(r, TC_ERR_FORMAT);
    tc_face_mp_free(&p);
    /* an endless preamble costs nothing */
    assert_int_equal(tc_face_mp_init(&p, "b", 100), TC_OK);
    for (i = 0; i < 1000; i++)
        assert_int_equal(tc_face_mp_feed(&p, junk, sizeof junk, collect, &g), TC_OK);
    assert_true(p.cap <= 4096);
    assert_int_equal(tc_face_mp_feed(&p, "\r\n--b\r\n\r\nok\r\n--b--", 18, collect, &g), TC_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.body[0], "ok");
    tc_face_mp_free(&p);
}

static void test_callback_error_stops(void **state)
{
    tc_face_mp p;
    got g = {.fail_at = 1};
    assert_int_equal(tc_face_mp_init(&p, "xyz", 1024), TC_OK);
    assert_int_equal(tc_face_mp_feed(&p, stream, sizeof stream - 1, collect, &g), TC_ERR_CLOSED);
    assert_int_equal(g.n, 1);
    tc_face_mp_free(&p);
}

static void test_boundary_param(void **state)
{
    char b[80];
    assert_int_equal(
        tc_face_mp_boundary("multipart/x-mixed-replace; boundary=tcframe", b, sizeof b), TC_OK);
    assert_string_equal(b, "tcframe");
    assert_int_equal(
        tc_face_mp_boundary("multipart/x-mixed-replace;Boundary=\"a b\"; x=1", b, sizeof b), TC_OK);
    assert_string_equal(b, "a b");
    assert_int_equal(tc_face_mp_boundary("multipart/x-mixed-replace", b, sizeof b), TC_ERR_FORMAT);
    assert_int_equal(tc_face_mp_boundary("multipart/x-mixed-replace; boundary=", b, sizeof b),
                     TC_ERR_FORMAT);
    assert_int_equal(tc_face_mp_boundary("multipart/x; boundary=\"open", b, sizeof b),
                     TC_ERR_FORMAT);
    char longb[120] = "multipart/x; boundary=";
    memset(longb + strlen(longb), 'a', 71);
    assert_int_equal(tc_face_mp_boundary(longb, b, sizeof b), TC_ERR_FORMAT);
    tc_face_mp p;
    assert_int_equal(tc_face_mp_init(&p, "", 10), TC_ERR_INVAL);
    assert_int_equal(tc_face_mp_init(&p, NULL, 10), TC_ERR_INVAL);
    assert_int_equal(tc_face_mp_init(&p, "b", 0), TC_ERR_INVAL);
}

static void test_wav_roundtrip(void **state)
{
    float pcm[100];
    for (int i = 0; i < 100; i++)
        pcm[i] = (float)(i - 50) / 60.0f;
    pcm[0] = 3.0f; /* clipped */
    uint8_t *w;
    size_t len;
    assert_int_equal(tc_face_wav_encode(pcm, 100, 48000, &w, &len), TC_OK);
    assert_int_equal(len, 44 + 200);
    float *back;
    int64_t n;
    int rate;
    assert_int_equal(tc_face_wav_decode(w, len, &back, &n, &rate), TC_OK);
    assert_int_equal(n, 100);
    assert_int_equal(rate, 48000);
    assert_true(back[0] > 0.99f);
    for (int i = 1; i < 100; i++)
        assert_true(fabsf(back[i] - pcm[i]) < 1e-4f);
    free(back);
    /* every truncation is refused or decodes fewer samples, never overreads */
    for (size_t cut = 0; cut < len; cut++) {
        float *p = NULL;
        int r = tc_face_wav_decode(w, cut, &p, &n, &rate);
        if (r == TC_OK) {
            assert_true(n <= 100);
            free(p);
        }
    }
    w[20] = 3; /* float format: not supported */
    assert_int_equal(tc_face_wav_decode(w, len, &back, &n, &rate), TC_ERR_UNSUPPORTED);
    assert_int_equal(tc_face_wav_decode((const uint8_t *)"RIFF....WAVEjunk", 16, &back, &n, &rate),
                     TC_ERR_FORMAT);
    free(w);
}

static void test_blend(void **state)
{
    AVFrame *f[3];
    for (int i = 0; i < 3; i++) {
        f[i] = av_frame_alloc();
        f[i]->format = AV_PIX_FMT_YUV420P;
        f[i]->width = 34;
        f[i]->height = 18;
        assert_int_equal(av_frame_get_buffer(f[i], 0), 0);
    }
    for (int p = 0; p < 3; p++) {
        memset(f[0]->data[p], 200, (size_t)f[0]->linesize[p] * (p ? 9 : 18));
        memset(f[1]->data[p], 100, (size_t)f[1]->linesize[p] * (p ? 9 : 18));
    }
    tc_face_blend(f[0], f[1], 0.0f, f[2]);
    assert_int_equal(f[2]->data[0][0], 200);
    tc_face_blend(f[0], f[1], 1.0f, f[2]);
    assert_int_equal(f[2]->data[0][33 + 17 * f[2]->linesize[0]], 100);
    assert_int_equal(f[2]->data[2][16 + 8 * f[2]->linesize[2]], 100);
    tc_face_blend(f[0], f[1], 0.25f, f[2]);
    assert_int_equal(f[2]->data[1][5], 175);
    for (int i = 0; i < 3; i++)
        av_frame_free(&f[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_first_delimiter_at_start),
        cmocka_unit_test(test_whole_part_without_next_delimiter),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_boundary_param),
        cmocka_unit_test(test_wav_roundtrip),
        cmocka_unit_test(test_blend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
