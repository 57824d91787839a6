/* test_http_decode.c — the HTTP providers' response decoder on its own
 * (tc_tts_http_decode, no server): raw PCM has the exact resampled length,
 * a WAV sent for "pcm" is still read as a WAV, non-audio bodies are
 * refused, and inputs the fuzzer (tests/fuzz/fuzz_tts_response) found
 * crashing stay refused. Bodies come from the fuzz seed corpus, whose first
 * byte is the harness's selector, skipped here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "core/err.h"
#include "tts/http_int.h"

/* tests/fuzz/corpus/tts_response/NAME without its selector byte. */
static unsigned char *corpus(const char *name, size_t *len)
{
    const char *src = getenv("TC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/tts_response/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n >= 1);
    unsigned char *body = malloc(n - 1 + 1);
    assert_non_null(body);
    memcpy(body, buf + 1, n - 1);
    *len = n - 1;
    return body;
}

static void test_raw_pcm_length(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = corpus("pcm-raw", &len); /* 960 samples at 24 kHz */
    float *pcm = NULL;
    int64_t n = 0;
    assert_int_equal(tc_tts_http_decode(b, len, "", "pcm", 48000, &pcm, &n), TC_OK);
    assert_int_equal(n, (int64_t)(len / 2) * 2);
    free(pcm);
    free(b);
}

static void test_wav_for_pcm(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = corpus("pcm-but-wav", &len);
    float *pcm = NULL;
    int64_t n = 0;
    assert_int_equal(tc_tts_http_decode(b, len, "", "pcm", 48000, &pcm, &n), TC_OK);
    assert_int_equal(n, 1920); /* 40 ms: the header was not played as noise */
    free(pcm);
    free(b);
}

static void test_not_audio(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = corpus("json-error", &len);
    float *pcm = NULL;
    int64_t n = 0;
    assert_int_equal(tc_tts_http_decode(b, len, "application/json", "wav", 48000, &pcm, &n),
                     TC_ERR_FORMAT);
    assert_null(pcm);
    assert_int_equal(tc_tts_http_decode(NULL, 0, "", "wav", 48000, &pcm, &n), TC_ERR_FORMAT);
    assert_int_equal(tc_tts_http_decode(NULL, 0, "", "pcm", 48000, &pcm, &n), TC_ERR_FORMAT);
    assert_null(pcm);
    free(b);
}

/* Found by the fuzzer: an MP3 whose frames switch from stereo to mono.
 * The resampler was built for the first frame's two channels, the decoder
 * rewrote the codec context's layout frame by frame (so the check against
 * it never fired), and a mono frame's missing second plane was read:
 * SEGV. A change of shape mid-body is refused now. */
static void test_mp3_channels_change(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = corpus("regress-mp3-mono-stereo", &len);
    float *pcm = NULL;
    int64_t n = 0;
    assert_int_equal(tc_tts_http_decode(b, len, "audio/mpeg", "mp3", 48000, &pcm, &n),
                     TC_ERR_FORMAT);
    assert_null(pcm);
    free(b);
}

/* A mono s16 WAV of n samples at `hz`, malloc'ed. */
static unsigned char *wav(int hz, int n, size_t *len)
{
    *len = 44 + (size_t)n * 2;
    unsigned char *b = calloc(1, *len);
    assert_non_null(b);
    uint32_t v[] = {(uint32_t)*len - 8, 16, (uint32_t)hz, (uint32_t)hz * 2, (uint32_t)n * 2};
    memcpy(b, "RIFF", 4);
    memcpy(b + 4, &v[0], 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    memcpy(b + 16, &v[1], 4);
    memcpy(b + 20, "\x01\x00\x01\x00", 4); /* PCM, mono */
    memcpy(b + 24, &v[2], 4);
    memcpy(b + 28, &v[3], 4);
    memcpy(b + 32, "\x02\x00\x10\x00", 4); /* 2-byte frames, 16 bits */
    memcpy(b + 36, "data", 4);
    memcpy(b + 40, &v[4], 4);
    for (int i = 0; i < n; i++)
        b[44 + 2 * i + 1] = (unsigned char)(i & 0x3f);
    return b;
}

/* Found by the fuzzer (its executions slowed to a crawl): a WAV header
 * claiming 1 Hz made 1000 samples into 48 million (192 MB, seconds of
 * work) — a small response could exhaust memory. Rates under 4 kHz are
 * refused; 8 kHz telephone audio still decodes. */
static void test_absurd_rate(void **state)
{
    (void)state;
    size_t len;
    float *pcm = NULL;
    int64_t n = 0;
    unsigned char *b = wav(1, 1000, &len);
    assert_int_equal(tc_tts_http_decode(b, len, "audio/wav", "wav", 48000, &pcm, &n),
                     TC_ERR_FORMAT);
    assert_null(pcm);
    free(b);
    b = corpus("regress-wav-1hz", &len);
    assert_int_equal(tc_tts_http_decode(b, len, "", "wav", 48000, &pcm, &n), TC_ERR_FORMAT);
    free(b);
    b = wav(8000, 800, &len);
    assert_int_equal(tc_tts_http_decode(b, len, "audio/wav", "wav", 48000, &pcm, &n), TC_OK);
    assert_int_equal(n, 4800);
    free(pcm);
    free(b);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Found by the fuzzer (out of memory): 87 bytes of WAV whose LIST/INFO
 * chunk claimed 1.6 GB. libavformat allocates and zeroes an INFO entry by
 * its claimed size before reading it, so the decoder took 1.6 GB of real
 * memory for a tiny response. A WAV whose chunks before "data" claim more
 * than the body holds is refused before libavformat sees it; a streamed
 * WAV claiming any length for "data" still decodes. */
static void test_wav_overclaim(void **state)
{
    (void)state;
    size_t len;
    float *pcm = NULL;
    int64_t n = 0;
    long before = max_rss_kb();
    unsigned char *b = corpus("regress-wav-info-overclaim", &len);
    assert_int_equal(tc_tts_http_decode(b, len, "audio/wav", "wav", 48000, &pcm, &n),
                     TC_ERR_FORMAT);
    assert_null(pcm);
    free(b);
    if (max_rss_kb() - before > 100 * 1024)
        fail_msg("decoding 87 bytes took %ld MB", (max_rss_kb() - before) / 1024);
    b = wav(24000, 480, &len);
    memset(b + 40, 0xff, 4); /* "data" of unknown length, as streamed */
    assert_int_equal(tc_tts_http_decode(b, len, "audio/wav", "wav", 48000, &pcm, &n), TC_OK);
    assert_int_equal(n, 960);
    free(pcm);
    free(b);
}

/* Only the containers speech APIs send are parsed: a well-formed Sun AU
 * file (which libavformat would read) is refused, a WAV of the same
 * samples is not. */
static void test_only_speech_formats(void **state)
{
    (void)state;
    enum { N = 480 };
    unsigned char au[24 + 2 * N] = { '.', 's', 'n', 'd' };
    const uint32_t hdr[] = { 24, 2 * N, 3 /* 16-bit linear */, 24000, 1 };
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++) au[4 + 4 * i + k] = (unsigned char)(hdr[i] >> (24 - 8 * k));
    for (int i = 0; i < N; i++) au[24 + 2 * i] = (unsigned char)(i * 7); /* big-endian samples */
    float *pcm = NULL;
    int64_t n = 0;
    assert_int_equal(tc_tts_http_decode(au, sizeof au, "audio/basic", "mp3", 48000, &pcm, &n), TC_ERR_FORMAT);
    assert_null(pcm);
    size_t len;
    unsigned char *b = wav(24000, N, &len);
    assert_int_equal(tc_tts_http_decode(b, len, "audio/wav", "mp3", 48000, &pcm, &n), TC_OK);
    assert_int_equal(n, 2 * N);
    free(pcm);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_pcm_length), cmocka_unit_test(test_wav_for_pcm),
        cmocka_unit_test(test_not_audio),      cmocka_unit_test(test_mp3_channels_change),
        cmocka_unit_test(test_absurd_rate),    cmocka_unit_test(test_wav_overclaim),
        cmocka_unit_test(test_only_speech_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
