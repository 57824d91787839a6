/* test_http.c — the HTTP providers against a local server that behaves
 * like a paid TTS API, failures included (tests/tts/fake_tts_server.py on
 * 127.0.0.1): every audio format decodes, auth headers are sent, retries
 * and back-off follow the rules (Retry-After honoured, no retry on 4xx),
 * time-outs, truncation and garbage give clear errors, the fallback
 * speaks, cancellation is prompt, and the API key never reaches the log. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "tts/tts.h"
#include "../spawn_server.h"

#define KEY "sk-test-SECRET-4242"

static char base[64], logpath[64];
static pid_t server;
static char *logs; /* every log line of the run */
static size_t logs_len;

static void hook(const char *line, void *opaque)
{
    (void)opaque;
    size_t n = strlen(line);
    char *p = realloc(logs, logs_len + n + 2);
    if (!p) return;
    logs = p;
    memcpy(logs + logs_len, line, n);
    logs_len += n;
    logs[logs_len++] = '\n';
    logs[logs_len] = '\0';
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("TC_SOURCE_DIR");
    if (!src) return -1;
    snprintf(logpath, sizeof logpath, "/tmp/tc-fake-tts-XXXXXX");
    int fd = mkstemp(logpath);
    if (fd < 0) return -1;
    close(fd);
    const char *args[] = { logpath, NULL };
    if (tc_test_spawn_server("tts/fake_tts_server.py", args, &server, base, sizeof base) < 0) return -1;
    tc_log_set_hook(hook, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_log_set_hook(NULL, NULL);
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    unlink(logpath);
    /* the key was used in every request; it must never have been logged */
    int leaked = logs && strstr(logs, KEY) != NULL;
    free(logs);
    if (leaked) fprintf(stderr, "API key found in the log!\n");
    return leaked ? -1 : 0;
}

/* Requests the server saw for `model` since the log was last truncated. */
static int requests(const char *model, double *t, int max, char *auth, size_t auth_len)
{
    FILE *f = fopen(logpath, "r");
    if (!f) return 0;
    char line[4096], want[128];
    snprintf(want, sizeof want, "\"model\": \"%s\"", model);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, want)) continue;
        if (n < max && t) t[n] = strtod(strstr(line, "\"t\": ") + 5, NULL);
        if (auth && auth_len) snprintf(auth, auth_len, "%s", line);
        n++;
    }
    fclose(f);
    return n;
}

static tc_tts_config cfg(const char *model, const char *format)
{
    tc_tts_config c = { .sample_rate = 48000, .pitch = -1, .base_url = base, .api_key = KEY,
                        .model = model, .format = format, .connect_timeout_ms = 1000, .timeout_ms = 3000,
                        .retries = 2, .backoff_min = 0.2, .backoff_max = 2, .voice = NULL };
    return c;
}

typedef struct got {
    int64_t samples;
    int chunks, has_timing;
    char provider[16];
} got;

static int sink(void *opaque, tc_tts_chunk *c)
{
    got *g = opaque;
    g->samples += c->n_samples;
    g->chunks++;
    g->has_timing = c->has_timing;
    snprintf(g->provider, sizeof g->provider, "%s", c->provider);
    return 0;
}

static int speak(const char *provider, const char *fallback, tc_tts_config *c, got *g)
{
    tc_tts *t;
    int r = tc_tts_create(&t, provider, fallback, c);
    if (r < 0) return r;
    memset(g, 0, sizeof *g);
    tc_tts_request req = { "Hello there.", NULL, 0, -1 };
    r = tc_tts_speak(t, &req, sink, g);
    tc_tts_destroy(t);
    return r;
}

static void test_formats_decode(void **state)
{
    (void)state;
    const char *models[][2] = { { "ok-wav", "wav" }, { "ok-pcm", "pcm" }, { "ok-mp3", "mp3" },
                                { "ok-opus", "opus" }, { "wrong-ctype", "wav" } };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        tc_tts_config c = cfg(models[i][0], models[i][1]);
        got g;
        int r = speak("openai", NULL, &c, &g);
        if (r) fail_msg("%s: %s", models[i][0], tc_strerror(r));
        /* 1 s of audio at 24 kHz → 48000 samples (mp3/opus add codec padding) */
        if (g.samples < 47000 || g.samples > 52000) fail_msg("%s: %lld samples", models[i][0], (long long)g.samples);
        assert_int_equal(g.has_timing, 0);
    }
    char line[4096] = "";
    requests("ok-wav", NULL, 0, line, sizeof line);
    assert_non_null(strstr(line, "\"auth\": \"Bearer " KEY "\""));
    assert_non_null(strstr(line, "\"path\": \"/v1/audio/speech\""));
    assert_non_null(strstr(line, "\"text\": \"Hello there.\""));
}

static void test_elevenlabs_shape(void **state)
{
    (void)state;
    tc_tts_config c = cfg("ok-mp3", "mp3");
    c.voice = "voice123";
    got g;
    assert_int_equal(speak("elevenlabs", NULL, &c, &g), TC_OK);
    assert_true(g.samples > 47000);
    char line[4096] = "";
    requests("ok-mp3", NULL, 0, line, sizeof line);
    assert_non_null(strstr(line, "\"path\": \"/v1/text-to-speech/voice123?output_format=mp3_44100_128\""));
    assert_non_null(strstr(line, "\"xi\": \"" KEY "\""));
    assert_non_null(strstr(line, "\"auth\": null"));
}

static void test_retries_and_backoff(void **state)
{
    (void)state;
    double t[8];
    got g;
    tc_tts_config c = cfg("status-500", "wav");
    assert_int_equal(speak("openai", NULL, &c, &g), TC_ERR_NET);
    assert_int_equal(requests("status-500", t, 8, NULL, 0), 3); /* 1 + 2 retries */
    /* back-off 0.2 s then 0.4 s, ±20 % jitter */
    assert_true(t[1] - t[0] >= 0.15 && t[1] - t[0] < 0.6);
    assert_true(t[2] - t[1] >= 0.3 && t[2] - t[1] < 0.8);

    c = cfg("fail-twice", "wav");
    assert_int_equal(speak("openai", NULL, &c, &g), TC_OK);
    assert_int_equal(requests("fail-twice", NULL, 0, NULL, 0), 3);

    c = cfg("429-once", "wav");
    assert_int_equal(speak("openai", NULL, &c, &g), TC_OK);
    assert_int_equal(requests("429-once", t, 8, NULL, 0), 2);
    assert_true(t[1] - t[0] >= 0.75); /* Retry-After: 1 (±20 %), not the 0.2 s back-off */

    c = cfg("status-400", "wav");
    logs_len = 0;
    assert_int_equal(speak("openai", NULL, &c, &g), TC_ERR_INVAL);
    assert_int_equal(requests("status-400", NULL, 0, NULL, 0), 1); /* no retry on 4xx */
    assert_non_null(strstr(logs, "HTTP 400"));
    assert_non_null(strstr(logs, "voice not found")); /* body excerpt */
}

static void test_timeouts_truncation_garbage(void **state)
{
    (void)state;
    got g;
    tc_tts_config c = cfg("hang", "wav");
    c.timeout_ms = 300;
    c.retries = 1;
    int64_t t0 = tc_now_ns();
    assert_int_equal(speak("openai", NULL, &c, &g), TC_ERR_TIMEOUT);
    int64_t took = tc_now_ns() - t0;
    assert_int_equal(requests("hang", NULL, 0, NULL, 0), 2);
    assert_true(took > 500000000LL && took < 2000000000LL);

    c = cfg("truncated", "wav");
    c.retries = 1;
    assert_true(speak("openai", NULL, &c, &g) < 0);
    assert_int_equal(requests("truncated", NULL, 0, NULL, 0), 2);

    c = cfg("garbage", "wav");
    logs_len = 0;
    assert_int_equal(speak("openai", NULL, &c, &g), TC_ERR_FORMAT);
    assert_int_equal(requests("garbage", NULL, 0, NULL, 0), 1);
    assert_non_null(strstr(logs, "not audio"));

    c = cfg("ok-wav", "wav");
    c.base_url = "http://127.0.0.1:1"; /* nothing listens */
    c.retries = 1;
    assert_int_equal(speak("openai", NULL, &c, &g), TC_ERR_NET);
}

static void test_fallback_speaks(void **state)
{
    (void)state;
    got g;
    tc_tts_config c = cfg("status-500", "wav");
    c.retries = 0;
    tc_tts *t;
    assert_int_equal(tc_tts_create(&t, "openai", "espeak", &c), TC_OK);
    tc_tts_request req = { "First sentence. Second sentence.", NULL, 0, -1 };
    memset(&g, 0, sizeof g);
    assert_int_equal(tc_tts_speak(t, &req, sink, &g), TC_OK);
    assert_int_equal(g.chunks, 2);
    assert_string_equal(g.provider, "espeak");
    assert_int_equal(g.has_timing, 1);
    tc_tts_stats st;
    tc_tts_get_stats(t, &st);
    assert_int_equal(st.fallbacks, 1);
    int ok_main, ok_fb;
    tc_tts_health(t, &ok_main, &ok_fb);
    assert_int_equal(ok_main, 0);
    assert_int_equal(ok_fb, 1);
    tc_tts_destroy(t);
}

typedef struct cancel_job { tc_tts *t; int r; int64_t done; } cancel_job;

static void *run_hang(void *arg)
{
    cancel_job *j = arg;
    got g;
    tc_tts_request req = { "Hello.", NULL, 0, -1 };
    j->r = tc_tts_speak(j->t, &req, sink, &g);
    j->done = tc_now_ns();
    return NULL;
}

static void test_cancel_during_request(void **state)
{
    (void)state;
    tc_tts_config c = cfg("hang", "wav");
    tc_tts *t;
    assert_int_equal(tc_tts_create(&t, "openai", NULL, &c), TC_OK);
    cancel_job j = { t, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, run_hang, &j);
    usleep(200000);
    int64_t t0 = tc_now_ns();
    tc_tts_cancel(t);
    pthread_join(th, NULL);
    assert_int_equal(j.r, TC_ERR_CLOSED);
    if (j.done - t0 > 50000000LL) fail_msg("cancel took %.1f ms", (j.done - t0) / 1e6);
    tc_tts_destroy(t);
}

static void test_key_never_logged(void **state)
{
    (void)state;
    got g;
    tc_tts_config c = cfg("echo-key", "wav");
    c.retries = 0;
    logs_len = 0;
    assert_true(speak("openai", NULL, &c, &g) < 0);
    assert_non_null(strstr(logs, "you sent Bearer ***")); /* the echo is scrubbed */
    assert_null(strstr(logs, KEY));
    tc_tts_config bad = cfg("ok-wav", "flac");
    tc_tts *t;
    assert_int_equal(tc_tts_create(&t, "openai", NULL, &bad), TC_ERR_INVAL);
    bad = cfg("ok-wav", "wav");
    bad.base_url = "ftp://x";
    assert_int_equal(tc_tts_create(&t, "openai", NULL, &bad), TC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_decode),
        cmocka_unit_test(test_elevenlabs_shape),
        cmocka_unit_test(test_retries_and_backoff),
        cmocka_unit_test(test_timeouts_truncation_garbage),
        cmocka_unit_test(test_fallback_speaks),
        cmocka_unit_test(test_cancel_during_request),
        cmocka_unit_test(test_key_never_logged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
