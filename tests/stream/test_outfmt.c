/* test_outfmt.c — URL → muxer guesses, overrides, errors, secret masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/err.h"
#include "stream/outfmt.h"

static void expect(const char *spec, const char *url, const char *fmt, int net)
{
    tc_outfmt f;
    char err[256];
    int r = tc_outfmt_parse(spec, &f, err, sizeof err);
    if (r != TC_OK) fail_msg("%s: %s", spec, err);
    assert_string_equal(f.url, url);
    assert_string_equal(f.format, fmt);
    assert_int_equal(f.is_network, net);
    tc_outfmt_free(&f);
}

static void test_guesses(void **state)
{
    (void)state;
    expect("rtmp://127.0.0.1:1935/live/key", "rtmp://127.0.0.1:1935/live/key", "flv", 1);
    expect("rtmps://a.example/app/k", "rtmps://a.example/app/k", "flv", 1);
    expect("srt://127.0.0.1:9000", "srt://127.0.0.1:9000", "mpegts", 1);
    expect("udp://127.0.0.1:1234", "udp://127.0.0.1:1234", "mpegts", 1);
    expect("out.mp4", "out.mp4", "mp4", 0);
    expect("/tmp/a b/out.mkv", "/tmp/a b/out.mkv", "matroska", 0);
    expect("x.ts", "x.ts", "mpegts", 0);
    expect("x.flv", "x.flv", "flv", 0);
    expect("file:///tmp/x.mp4", "file:///tmp/x.mp4", "mp4", 0);
}

static void test_override(void **state)
{
    (void)state;
    expect("[f=mpegts]out.bin", "out.bin", "mpegts", 0);
    expect("[f=flv]tcp://127.0.0.1:9", "tcp://127.0.0.1:9", "flv", 1);
    expect("[f=matroska]udp://127.0.0.1:5", "udp://127.0.0.1:5", "matroska", 1);
}

static void test_errors(void **state)
{
    (void)state;
    const char *bad[] = { "", "out.nosuchext", "[f=nosuchmuxer]x.mp4", "[f=flv]",
                          "[fmt=flv]x", "gopher://host/x", "[f=flv" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_outfmt f = { 0 };
        char err[256] = "";
        assert_true(tc_outfmt_parse(bad[i], &f, err, sizeof err) < 0);
        assert_true(err[0] != '\0');
        assert_null(f.url);
    }
}

static void test_masking(void **state)
{
    (void)state;
    const struct { const char *in, *out; } cases[] = {
        { "rtmp://live.example/app/sk_12345", "rtmp://live.example/app/***" },
        { "rtmp://u:pw@h:1935/live/key", "rtmp://u:***@h:1935/live/***" },
        { "srt://h:9000?passphrase=x", "srt://h:9000?passphrase=x" },
        { "udp://u:secret@h:1", "udp://u:***@h:1" },
        { "out.mp4", "out.mp4" },
        { "rtmp://h/app", "rtmp://h/app" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = tc_outfmt_mask_url(cases[i].in);
        assert_non_null(m);
        assert_string_equal(m, cases[i].out);
        free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guesses),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_masking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
