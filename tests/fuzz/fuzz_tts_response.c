/* fuzz_tts_response.c — what an HTTP TTS server sends back, through the
 * decoder the openai/elevenlabs providers run (tc_tts_http_decode): raw
 * PCM, WAV, MP3, Ogg/Opus, JSON error bodies, anything. The first byte
 * picks the requested format, the Content-Type and the output rate; the
 * rest is the body. Accepted audio must be samples the mixer can take:
 * some but not a flood, all finite, and for raw PCM exactly the resampled
 * count. */
#include "core/err.h"
#include "tts/http_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>
#include <libavutil/mathematics.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static const char *const formats[] = {"wav", "pcm", "mp3", "opus"};
static const char *const types[] = {"",
                                    "audio/wav",
                                    "audio/mpeg",
                                    "audio/ogg",
                                    "application/json",
                                    "audio/pcm",
                                    "text/html",
                                    "application/octet-stream"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet++) av_log_set_level(AV_LOG_QUIET);
    if (size < 1) return 0;
    const char *format = formats[data[0] & 3], *type = types[(data[0] >> 2) & 7];
    int rate = data[0] & 0x20 ? 44100 : 48000;
    data++;
    size--;
    /* the body as curl hands it over: its own allocation, no slack */
    unsigned char *body = size ? malloc(size) : NULL;
    if (size) {
        CHECK(body);
        memcpy(body, data, size);
    }
    float *pcm = NULL;
    int64_t n = -1;
    int r = tc_tts_http_decode(body, size, type, format, rate, &pcm, &n);
    if (r < 0) {
        CHECK(!pcm);
    } else {
        CHECK(r == TC_OK && pcm && n > 0);
        CHECK(n <= (int64_t)rate * 1800); /* http_int.h: at most 30 minutes */
        for (int64_t i = 0; i < n; i++)
            CHECK(isfinite(pcm[i]));
        int raw = !strcmp(format, "pcm") && (size < 4 || memcmp(body, "RIFF", 4) != 0) &&
                  !strstr(type, "wav") && !strstr(type, "mpeg") && !strstr(type, "ogg");
        if (raw) CHECK(n == av_rescale_rnd((int64_t)(size / 2), rate, 24000, AV_ROUND_NEAR_INF));
        free(pcm);
    }
    free(body);
    return 0;
}
