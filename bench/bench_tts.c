/* bench_tts.c — espeak-ng through talkcast's TTS module: time from a
 * message to its first audio chunk (p50/p99 over N one-sentence messages)
 * and synthesis speed in × realtime on a long text. Prints one JSON object.
 * bench/tts.sh runs it beside the espeak-ng command line as a baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "tts/tts.h"

typedef struct probe {
    int64_t t0, first;
    int64_t samples;
} probe;

static int sink(void *opaque, tc_tts_chunk *c)
{
    probe *p = opaque;
    if (!p->first) p->first = tc_now_ns() - p->t0;
    p->samples += c->n_samples;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    if (n < 1 || n > 10000) n = 50;
    tc_tts_config cfg = { .sample_rate = 48000, .voice = "en-us", .pitch = -1, .max_chars = 100000 };
    tc_tts *t;
    if (tc_tts_create(&t, "espeak", NULL, &cfg) < 0) return 1;
    static const char *const sentences[] = {
        "Hello there, welcome to the stream.", "The weather today is sunny with a light breeze.",
        "Thanks for the follow!", "Let me read the next message for you.",
        "Papa made a map of the mountain path.",
    };
    int64_t *lat = malloc((size_t)n * sizeof *lat);
    for (int i = 0; i < n; i++) {
        probe p = { tc_now_ns(), 0, 0 };
        tc_tts_request req = { sentences[i % 5], NULL, 0, -1 };
        if (tc_tts_speak(t, &req, sink, &p) < 0) return 1;
        lat[i] = p.first;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp);

    static char text[20000];
    for (int i = 0; i < 60; i++) strcat(text, "This is a longer message that goes on for a while, to measure speed. ");
    probe p = { tc_now_ns(), 0, 0 };
    tc_tts_request req = { text, NULL, 0, -1 };
    if (tc_tts_speak(t, &req, sink, &p) < 0) return 1;
    int64_t took = tc_now_ns() - p.t0;
    double audio_s = (double)p.samples / 48000;
    printf("{\"first_chunk_ms_p50\": %.2f, \"first_chunk_ms_p99\": %.2f, \"messages\": %d, "
           "\"long_text_audio_s\": %.1f, \"long_text_synth_s\": %.3f, \"x_realtime\": %.0f, "
           "\"long_text_first_chunk_ms\": %.2f}\n",
           lat[n / 2] / 1e6, lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6, n, audio_s, took / 1e9,
           audio_s / (took / 1e9), p.first / 1e6);
    free(lat);
    tc_tts_destroy(t);
    return 0;
}
