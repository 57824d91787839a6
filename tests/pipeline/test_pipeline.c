/* test_pipeline.c — messages through real espeak-ng speech and a real live
 * engine writing a file, read back as a viewer would: order of speech,
 * interrupt and cut-in, clear, pause/resume, duplicates, failures, drain,
 * control commands, and that the states only ever change legally. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/err.h"
#include "msg/msg.h"
#include "pipeline/pipeline.h"
#include "../stream/readback.h"

#define MAXREC 64

typedef struct rec {
    pthread_mutex_t lock;
    int n_settled;
    int handle[MAXREC];
    tc_pipe_outcome outcome[MAXREC];
    char reason[MAXREC][160];
    int n_events;
    char *events[256];
    int avatar_calls;
} rec;

typedef struct fixture {
    char path[160];
    tc_engine *eng;
    tc_face *face;
    tc_tts *tts;
    tc_pipe *pipe;
    rec r;
} fixture;

static char tmpdir[64];
static const char *captions_file; /* start(): the rolling captions file, or NULL */
static int next_handle = 1;

static void on_settle(void *opaque, void *handle, tc_pipe_outcome o, const char *reason)
{
    rec *r = opaque;
    pthread_mutex_lock(&r->lock);
    if (r->n_settled < MAXREC) {
        r->handle[r->n_settled] = (int)(intptr_t)handle;
        r->outcome[r->n_settled] = o;
        snprintf(r->reason[r->n_settled], sizeof r->reason[0], "%s", reason ? reason : "");
        r->n_settled++;
    }
    pthread_mutex_unlock(&r->lock);
}

static void on_event(void *opaque, const char *name, const char *json)
{
    rec *r = opaque;
    pthread_mutex_lock(&r->lock);
    if (r->n_events < 256) r->events[r->n_events++] = strdup(json);
    pthread_mutex_unlock(&r->lock);
    (void)name;
}

static int on_avatar(void *opaque, const char *avatar, char *reason, size_t len)
{
    rec *r = opaque;
    r->avatar_calls++;
    if (!strcmp(avatar, "vector")) return TC_OK;
    snprintf(reason, len, "set_avatar: no avatar '%s'", avatar);
    return TC_ERR_NOTFOUND;
}

static void start(fixture *f, const char *name, int64_t frames, const char *tts_url)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->r.lock, NULL);
    snprintf(f->path, sizeof f->path, "%s/%s.mkv", tmpdir, name);
    const char *outs[] = { f->path };
    tc_engine_config ec = {
        .width = 320, .height = 240, .pix_fmt = AV_PIX_FMT_YUV420P, .fps_num = 30, .fps_den = 1,
        .sample_rate = 48000, .channels = 1, .x264_preset = "ultrafast", .x264_tune = "zerolatency",
        .video_bitrate = 300000, .audio_bitrate = 64000, .keyint = 1.0, .live = 1, .max_frames = frames,
        .outputs = outs, .n_outputs = 1, .out_queue = 256, .reconnect_min = 0.5, .reconnect_max = 30,
    };
    tc_face_config fc = { 320, 240, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, NULL, 1, 0, NULL, 0 };
    assert_int_equal(tc_face_create(&f->face, "vector", &fc), TC_OK);
    char err[256];
    assert_int_equal(tc_engine_create(&f->eng, &ec, f->face, err, sizeof err), TC_OK);
    tc_tts_config tc = { .sample_rate = 48000, .voice = "en-us", .rate = 175, .pitch = 50, .volume = 100,
                         .max_chars = 5000, .base_url = tts_url, .api_key = "k", .model = "tts-1",
                         .format = "wav", .connect_timeout_ms = 300, .timeout_ms = 1000, .retries = 0,
                         .backoff_min = 0.05, .backoff_max = 0.1 };
    assert_int_equal(tc_tts_create(&f->tts, tts_url ? "openai" : "espeak", NULL, &tc), TC_OK);
    static const char *const voices[] = { "en-us", "en-gb", "de" };
    tc_pipe_config pc = { .tts = f->tts, .engine = f->eng, .fps_num = 30, .fps_den = 1, .sample_rate = 48000,
                          .stream = "test", .voices = voices, .n_voices = 3, .synth_ahead = 1,
                          .max_queue = 100, .tail_s = 0.2, .dedupe = 64, .captions_file = captions_file,
                          .hooks = { on_settle, on_event, on_avatar }, .opaque = &f->r };
    assert_int_equal(tc_pipe_create(&f->pipe, &pc), TC_OK);
    assert_int_equal(tc_pipe_start(f->pipe), TC_OK);
    assert_int_equal(tc_engine_start(f->eng), TC_OK);
}

/* Wait for the engine's last frame, then take everything down in the
 * documented order. */
static void finish(fixture *f, tc_pipe_stats *st)
{
    assert_int_equal(tc_engine_wait(f->eng, 60000), TC_OK);
    tc_engine_close(f->eng, 0);
    tc_pipe_get_stats(f->pipe, st);
    tc_pipe_destroy(f->pipe);
    tc_engine_destroy(f->eng, 0);
    tc_face_destroy(f->face);
    tc_tts_destroy(f->tts);
}

static void free_rec(fixture *f)
{
    for (int i = 0; i < f->r.n_events; i++) free(f->r.events[i]);
    pthread_mutex_destroy(&f->r.lock);
}

static int text(fixture *f, const char *id, const char *t, int priority, int cut_in)
{
    tc_msg m = { 0 };
    m.v = 1;
    m.type = TC_MSG_TEXT;
    snprintf(m.id, sizeof m.id, "%s", id);
    m.text = strdup(t);
    m.pitch = -1;
    m.priority = priority;
    m.interrupt = cut_in;
    m.metadata = strdup("{\"k\":\"v\"}");
    int h = next_handle++;
    tc_pipe_submit(f->pipe, &m, (void *)(intptr_t)h, tc_now_ns());
    return h;
}

static int command(fixture *f, const char *id, tc_msg_command c, const char *arg)
{
    tc_msg m = { 0 };
    m.v = 1;
    m.type = TC_MSG_CONTROL;
    snprintf(m.id, sizeof m.id, "%s", id);
    m.command = c;
    m.arg = arg ? strdup(arg) : NULL;
    int h = next_handle++;
    tc_pipe_submit(f->pipe, &m, (void *)(intptr_t)h, tc_now_ns());
    return h;
}

/* The outcome recorded for handle h, or -1. */
static int outcome_of(fixture *f, int h)
{
    int o = -1;
    pthread_mutex_lock(&f->r.lock);
    for (int i = 0; i < f->r.n_settled; i++)
        if (f->r.handle[i] == h) o = (int)f->r.outcome[i];
    pthread_mutex_unlock(&f->r.lock);
    return o;
}

static int settled_count(fixture *f, int h)
{
    int n = 0;
    for (int i = 0; i < f->r.n_settled; i++) n += f->r.handle[i] == h;
    return n;
}

static int wait_settled(fixture *f, int h, int ms)
{
    for (int i = 0; i < ms / 10 && outcome_of(f, h) < 0; i++) usleep(10000);
    return outcome_of(f, h);
}

/* Index of the first event containing both needles after `from`, or -1. */
static int find_event(fixture *f, int from, const char *a, const char *b)
{
    for (int i = from < 0 ? 0 : from; i < f->r.n_events; i++)
        if (strstr(f->r.events[i], a) && (!b || strstr(f->r.events[i], b))) return i;
    return -1;
}

/* An int64 field of the first matching event. */
static int64_t event_num(fixture *f, const char *a, const char *b, const char *field)
{
    int i = find_event(f, 0, a, b);
    assert_true(i >= 0);
    const char *s = strstr(f->r.events[i], field);
    assert_non_null(s);
    return (int64_t)strtod(s + strlen(field) + 1, NULL);
}

static void test_state_table(void **state)
{
    (void)state;
    assert_true(tc_pipe_transition_legal(TC_PIPE_IDLE, TC_PIPE_PROCESSING));
    assert_true(tc_pipe_transition_legal(TC_PIPE_PROCESSING, TC_PIPE_TALKING));
    assert_true(tc_pipe_transition_legal(TC_PIPE_TALKING, TC_PIPE_TRANSITIONING));
    assert_true(tc_pipe_transition_legal(TC_PIPE_TRANSITIONING, TC_PIPE_IDLE));
    assert_true(tc_pipe_transition_legal(TC_PIPE_TALKING, TC_PIPE_ERROR));
    assert_true(tc_pipe_transition_legal(TC_PIPE_ERROR, TC_PIPE_IDLE));
    assert_false(tc_pipe_transition_legal(TC_PIPE_IDLE, TC_PIPE_TALKING));
    assert_false(tc_pipe_transition_legal(TC_PIPE_TALKING, TC_PIPE_IDLE));
    assert_false(tc_pipe_transition_legal(TC_PIPE_ERROR, TC_PIPE_TALKING));
    assert_false(tc_pipe_transition_legal(TC_PIPE_IDLE, TC_PIPE_STATE_COUNT));
    assert_string_equal(tc_pipe_state_name(TC_PIPE_TRANSITIONING), "TRANSITIONING");
}

/* Five messages: spoken in order, each acked once, five speech stretches
 * on the recorded audio with silence between them. */
static void test_five_in_order(void **state)
{
    (void)state;
    fixture f;
    start(&f, "five", 300, NULL);
    const char *words[] = { "One.", "Two.", "Three.", "Four.", "Five." };
    int h[5];
    char id[8];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "m%d", i + 1);
        h[i] = text(&f, id, words[i], 0, 0);
    }
    assert_int_equal(wait_settled(&f, h[4], 8000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f.r.handle[i], h[i]); /* settled in order */
        assert_int_equal(f.r.outcome[i], TC_PIPE_SPOKEN);
    }
    assert_int_equal(st.spoken, 5);
    assert_int_equal(st.illegal_transitions, 0);
    assert_int_equal(st.lat_count, 5);
    assert_int_equal(st.state, TC_PIPE_IDLE);
    /* events: started and finished in order, metadata echoed */
    int at = 0;
    int64_t start_frame[5], end_frame[5];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "\"m%d\"", i + 1);
        int s = find_event(&f, at, "\"event\":\"started\"", id);
        int e = find_event(&f, s, "\"event\":\"finished\"", id);
        assert_true(s >= at && e > s);
        assert_non_null(strstr(f.r.events[e], "\"metadata\":{\"k\":\"v\"}"));
        /* the caption event carries the sentence, between started and finished; finished the text */
        char want[64];
        snprintf(want, sizeof want, "\"text\":\"%s\"", words[i]);
        int c = find_event(&f, s, "\"event\":\"caption\"", id);
        assert_true(c > s && c < e);
        assert_non_null(strstr(f.r.events[c], want));
        assert_non_null(strstr(f.r.events[e], want));
        at = e;
        start_frame[i] = event_num(&f, "\"event\":\"started\"", id, "\"start_frame\"");
        end_frame[i] = event_num(&f, "\"event\":\"finished\"", id, "\"end_frame\"");
    }
    assert_true(find_event(&f, 0, "\"to\":\"TALKING\"", NULL) >= 0);
    assert_true(find_event(&f, 0, "\"to\":\"TRANSITIONING\"", NULL) >= 0);
    readback rb;
    read_file(f.path, 30, &rb);
    for (int i = 0; i < 5; i++) {
        /* speech where the events say, silence in the pause after it */
        float peak = 0;
        for (int64_t k = start_frame[i]; k < end_frame[i]; k++) peak = fmaxf(peak, rb.rms[k]);
        assert_true(peak > 0.02f);
        assert_true(rb.rms[end_frame[i] + 1] < 0.002f);
        if (i < 4) assert_true(start_frame[i + 1] >= end_frame[i] + 5); /* the 0.2 s pause */
    }
    readback_free(&rb);
    free_rec(&f);
}

/* Interrupt: silence from the cut on, within 150 ms on the timeline; the
 * message after it is spoken. */
static void test_interrupt(void **state)
{
    (void)state;
    fixture f;
    start(&f, "interrupt", 150, NULL);
    int a = text(&f, "long", "This is a rather long sentence that keeps going on and on for a while.", 0, 0);
    usleep(700000);
    int c = command(&f, "stop1", TC_CMD_INTERRUPT, NULL);
    assert_int_equal(outcome_of(&f, c), TC_PIPE_DONE);
    assert_int_equal(wait_settled(&f, a, 2000), TC_PIPE_INTERRUPTED);
    int b = text(&f, "after", "Next.", 0, 0);
    assert_int_equal(wait_settled(&f, b, 3000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    int64_t req = event_num(&f, "\"event\":\"interrupted\"", "\"long\"", "\"requested_frame\"");
    int64_t cut = event_num(&f, "\"event\":\"interrupted\"", "\"long\"", "\"cut_frame\"");
    assert_true(cut >= req && (cut - req) * 1000 / 30 <= 150);
    assert_true(find_event(&f, 0, "\"by\":\"stop1\"", NULL) >= 0);
    int64_t next = event_num(&f, "\"event\":\"started\"", "\"after\"", "\"start_frame\"");
    readback rb;
    read_file(f.path, 30, &rb);
    assert_true(rb.rms[cut - 2] > 0.01f); /* it was talking */
    for (int64_t k = cut + 1; k < next; k++) assert_true(rb.rms[k] < 0.002f);
    readback_free(&rb);
    assert_int_equal(st.interrupted, 1);
    assert_int_equal(st.illegal_transitions, 0);
    free_rec(&f);
}

/* A cut-in goes before a message already synthesized ahead; that one is
 * spoken after it, not lost. Priorities order the rest. */
static void test_cut_in_and_priority(void **state)
{
    (void)state;
    fixture f;
    start(&f, "cutin", 330, NULL);
    int a = text(&f, "a", "First message, long enough to still be talking when the others come.", 0, 0);
    usleep(300000);
    int b = text(&f, "b", "Second.", 0, 0);
    int lo = text(&f, "lo", "Low.", 0, 0);
    int hi = text(&f, "hi", "High.", 5, 0);
    usleep(200000);
    int c = text(&f, "c", "Cutting in.", 0, 1);
    assert_int_equal(wait_settled(&f, lo, 9000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, a), TC_PIPE_INTERRUPTED);
    assert_int_equal(outcome_of(&f, b), TC_PIPE_SPOKEN);
    assert_int_equal(outcome_of(&f, hi), TC_PIPE_SPOKEN);
    assert_int_equal(outcome_of(&f, c), TC_PIPE_SPOKEN);
    /* on air: a, then c (cut in), then hi (priority 5), then b, then lo */
    int sa = find_event(&f, 0, "\"event\":\"started\"", "\"a\"");
    int sc = find_event(&f, 0, "\"event\":\"started\"", "\"c\"");
    int sh = find_event(&f, 0, "\"event\":\"started\"", "\"hi\"");
    int sb = find_event(&f, 0, "\"event\":\"started\"", "\"b\"");
    int sl = find_event(&f, 0, "\"event\":\"started\"", "\"lo\"");
    assert_true(sa >= 0 && sa < sc && sc < sh && sh < sb && sb < sl);
    assert_int_equal(st.illegal_transitions, 0);
    free_rec(&f);
}

/* Clear drops what has not started, the message on air goes on. */
static void test_clear(void **state)
{
    (void)state;
    fixture f;
    start(&f, "clear", 210, NULL);
    int a = text(&f, "a", "This one is on the air and will be finished properly.", 0, 0);
    usleep(300000);
    int b = text(&f, "b", "Dropped one.", 0, 0);
    int c = text(&f, "c", "Dropped two.", 0, 0);
    int k = command(&f, "clr", TC_CMD_CLEAR, NULL);
    assert_int_equal(wait_settled(&f, a, 6000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, b), TC_PIPE_CLEARED);
    assert_int_equal(outcome_of(&f, c), TC_PIPE_CLEARED);
    assert_int_equal(outcome_of(&f, k), TC_PIPE_DONE);
    assert_true(find_event(&f, 0, "\"event\":\"cleared\"", "\"b\"") >= 0);
    assert_true(find_event(&f, 0, "\"cleared\":2", NULL) >= 0);
    assert_int_equal(find_event(&f, 0, "\"event\":\"started\"", "\"b\""), -1);
    assert_int_equal(st.cleared, 2);
    free_rec(&f);
}

/* Pause holds messages (the stream idles), resume lets them go. */
static void test_pause_resume(void **state)
{
    (void)state;
    fixture f;
    start(&f, "pause", 120, NULL);
    command(&f, "p", TC_CMD_PAUSE, NULL);
    int a = text(&f, "a", "Held.", 0, 0);
    usleep(800000);
    assert_int_equal(outcome_of(&f, a), -1);
    tc_pipe_stats st;
    tc_pipe_get_stats(f.pipe, &st);
    assert_int_equal(st.paused, 1);
    assert_int_equal(st.queue_depth, 1);
    assert_int_equal(st.state, TC_PIPE_IDLE);
    command(&f, "r", TC_CMD_RESUME, NULL);
    assert_int_equal(wait_settled(&f, a, 3000), TC_PIPE_SPOKEN);
    finish(&f, &st);
    free_rec(&f);
}

/* The same id twice: spoken once. A redelivery while held keeps one copy. */
static void test_duplicates(void **state)
{
    (void)state;
    fixture f;
    start(&f, "dup", 150, NULL);
    int a1 = text(&f, "same", "Only once.", 0, 0);
    int a2 = text(&f, "same", "Only once.", 0, 0); /* redelivered while held */
    assert_int_equal(wait_settled(&f, a2, 3000), TC_PIPE_SPOKEN);
    int a3 = text(&f, "same", "Only once.", 0, 0); /* after it was spoken */
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, a1), TC_PIPE_DUPLICATE);
    assert_int_equal(outcome_of(&f, a3), TC_PIPE_DUPLICATE);
    assert_int_equal(settled_count(&f, a1) + settled_count(&f, a2) + settled_count(&f, a3), 3);
    assert_int_equal(st.spoken, 1);
    assert_int_equal(st.duplicates, 2);
    int first = find_event(&f, 0, "\"event\":\"started\"", NULL);
    assert_true(first >= 0);
    assert_int_equal(find_event(&f, first + 1, "\"event\":\"started\"", NULL), -1);
    free_rec(&f);
}

/* Two broker restarts while a message waits its turn: each redelivery
 * takes over the held job's handle, and the message is still spoken, once,
 * and settled on the newest handle. (A fixed bug: the first stale copy's
 * settle marked the id as done, so the second redelivery was acked as
 * "already spoken" while the message still waited — lost if talkcast then
 * stopped before it was said.) */
static void test_redelivered_twice_while_held(void **state)
{
    (void)state;
    fixture f;
    start(&f, "dup2", 150, NULL);
    int a = text(&f, "busy", "A first message that keeps the speech thread busy for a while.", 0, 0);
    int b1 = text(&f, "held", "Said once.", 0, 0);
    int b2 = text(&f, "held", "Said once.", 0, 0); /* the broker came back */
    int b3 = text(&f, "held", "Said once.", 0, 0); /* and once more */
    assert_int_equal(wait_settled(&f, b3, 5000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, a), TC_PIPE_SPOKEN);
    assert_int_equal(outcome_of(&f, b1), TC_PIPE_DUPLICATE);
    assert_int_equal(outcome_of(&f, b2), TC_PIPE_DUPLICATE);
    assert_int_equal(st.spoken, 2);
    free_rec(&f);
}

/* A provider that cannot be reached: the message fails with a reason,
 * through ERROR back to IDLE, and the next message is still taken. */
static void test_tts_failure(void **state)
{
    (void)state;
    fixture f;
    start(&f, "fail", 90, "http://127.0.0.1:9");
    int a = text(&f, "f1", "Nobody will say this.", 0, 0);
    int b = text(&f, "f2", "Nor this.", 0, 0);
    assert_int_equal(wait_settled(&f, b, 10000), TC_PIPE_FAILED);
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, a), TC_PIPE_FAILED);
    assert_non_null(strstr(f.r.reason[0], "speech synthesis failed"));
    /* the reason says what went wrong, not only "network error" */
    assert_non_null(strstr(f.r.reason[0], "openai: Couldn't connect to server after"));
    assert_true(find_event(&f, 0, "\"event\":\"failed\"", "\"f1\"") >= 0);
    assert_true(find_event(&f, 0, "\"to\":\"ERROR\"", NULL) >= 0);
    assert_int_equal(st.state, TC_PIPE_IDLE);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.illegal_transitions, 0);
    free_rec(&f);
}

/* Controls: set_voice checks the name, set_avatar goes through the hook,
 * ping is answered. */
static void test_controls(void **state)
{
    (void)state;
    fixture f;
    start(&f, "ctl", 30, NULL);
    int v1 = command(&f, "v1", TC_CMD_SET_VOICE, "en-gb");
    int v2 = command(&f, "v2", TC_CMD_SET_VOICE, "klingon");
    int a1 = command(&f, "a1", TC_CMD_SET_AVATAR, "vector");
    int a2 = command(&f, "a2", TC_CMD_SET_AVATAR, "nobody");
    int pg = command(&f, "pg", TC_CMD_PING, NULL);
    tc_pipe_stats st;
    finish(&f, &st);
    assert_int_equal(outcome_of(&f, v1), TC_PIPE_DONE);
    assert_int_equal(outcome_of(&f, v2), TC_PIPE_FAILED);
    assert_non_null(strstr(f.r.reason[1], "unknown voice 'klingon'"));
    assert_int_equal(outcome_of(&f, a1), TC_PIPE_DONE);
    assert_int_equal(outcome_of(&f, a2), TC_PIPE_FAILED);
    assert_int_equal(f.r.avatar_calls, 2);
    assert_int_equal(outcome_of(&f, pg), TC_PIPE_DONE);
    assert_true(find_event(&f, 0, "\"event\":\"pong\"", "\"pg\"") >= 0);
    assert_int_equal(st.controls, 5);
    free_rec(&f);
}

/* Drain: finishing the sentence on air requeues the rest of the message
 * and everything queued; finishing the message acks it. */
static void test_drain(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        fixture f;
        start(&f, mode ? "drain-msg" : "drain-sentence", 0, NULL);
        int a = text(&f, "a", "First sentence here. Second sentence follows. And a third one.", 0, 0);
        int b = text(&f, "b", "Waiting.", 0, 0);
        usleep(500000);
        int r = tc_pipe_drain(f.pipe, mode ? TC_PIPE_DRAIN_MESSAGE : TC_PIPE_DRAIN_SENTENCE, 10000);
        assert_int_equal(r, TC_OK);
        assert_int_equal(outcome_of(&f, a), mode ? TC_PIPE_SPOKEN : TC_PIPE_REQUEUED);
        assert_int_equal(outcome_of(&f, b), TC_PIPE_REQUEUED);
        /* a message arriving now is given back at once */
        int c = text(&f, "c", "Too late.", 0, 0);
        assert_int_equal(outcome_of(&f, c), TC_PIPE_REQUEUED);
        tc_engine_stop(f.eng);
        tc_pipe_stats st;
        finish(&f, &st);
        assert_int_equal(st.illegal_transitions, 0);
        free_rec(&f);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tc-pipe-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The rolling captions file is written while the stream runs (by the
 * pipeline's writer thread, not on the tick), whole each time, and holds
 * each sentence from the moment it goes on air. */
static void test_captions_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/roll.vtt", tmpdir);
    captions_file = path;
    fixture f;
    start(&f, "roll", 150, NULL);
    captions_file = NULL;
    int a = text(&f, "c1", "First words here.", 0, 0);
    int found = 0;
    for (int i = 0; i < 300 && !found; i++) { /* 3 s, long before the engine's 5 s end */
        FILE *fp = fopen(path, "r");
        char buf[4096] = "";
        if (fp) {
            buf[fread(buf, 1, sizeof buf - 1, fp)] = '\0';
            fclose(fp);
        }
        found = !strncmp(buf, "WEBVTT", 6) && strstr(buf, "First words here.") != NULL;
        if (!found) usleep(10000);
    }
    assert_true(found);
    assert_true(tc_engine_position(f.eng) < 150); /* seen while still on air */
    assert_int_equal(wait_settled(&f, a, 10000), TC_PIPE_SPOKEN);
    tc_pipe_stats st;
    finish(&f, &st);
    free_rec(&f);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_five_in_order),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_cut_in_and_priority),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_redelivered_twice_while_held),
        cmocka_unit_test(test_tts_failure),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_captions_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
