/* test_engine.c — the engine's timeline, read back from real files.
 *
 * Every check decodes what the engine wrote (libavformat/libavcodec as the
 * viewer): frame counts, continuous pts, exact audio length, where speech
 * sits on the timeline, interrupts, and catch-up after a stall. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/clock.h"
#include "core/err.h"
#include "face/face.h"
#include "stream/engine.h"

static char tmpdir[64];

#include "readback.h"

static tc_engine_config base_cfg(const char **outs, int n_outs, int64_t frames, int live)
{
    tc_engine_config c = {
        .width = 320, .height = 240, .pix_fmt = AV_PIX_FMT_YUV420P,
        .fps_num = 30, .fps_den = 1, .sample_rate = 48000, .channels = 2,
        .x264_preset = "ultrafast", .x264_tune = "zerolatency",
        .video_bitrate = 500000, .audio_bitrate = 96000, .keyint = 1.0,
        .live = live, .max_frames = frames, .outputs = outs, .n_outputs = n_outs,
        .out_queue = 256, .reconnect_min = 0.5, .reconnect_max = 30,
    };
    return c;
}

static tc_face *make_face(const tc_engine_config *c)
{
    tc_face_config fc = { c->width, c->height, c->pix_fmt, c->fps_num, c->fps_den,
                          TC_FACE_FIT_PAD, NULL, 1, 0, NULL, 0 };
    tc_face *f = NULL;
    assert_int_equal(tc_face_create(&f, "vector", &fc), TC_OK);
    return f;
}

static void run_engine(tc_engine_config *c, tc_segment *segs, int n_segs)
{
    tc_face *face = make_face(c);
    tc_engine *e = NULL;
    char err[256] = "";
    int r = tc_engine_create(&e, c, face, err, sizeof err);
    if (r) fail_msg("engine: %s", err);
    for (int i = 0; i < n_segs; i++) assert_int_equal(tc_engine_enqueue(e, &segs[i]), TC_OK);
    assert_int_equal(tc_engine_start(e), TC_OK);
    assert_int_equal(tc_engine_wait(e, 60000), TC_OK);
    tc_engine_stats st;
    tc_engine_get_stats(e, &st);
    assert_int_equal(st.frames, c->max_frames);
    /* offline, every picture is rendered and encoded: none dropped (a
     * fixed bug: the engine used to drop when it ran ahead of x264) */
    if (!c->live) assert_int_equal(st.dropped, 0);
    tc_engine_destroy(e, 0);
    tc_face_destroy(face);
}

static tc_segment tone(double seconds, int sr, double hz, void (*done)(void *, const tc_segment_result *),
                       tc_segment_result *res)
{
    tc_segment s = { 0 };
    s.n_samples = (int64_t)(seconds * sr);
    s.pcm = malloc((size_t)s.n_samples * sizeof(float));
    for (int64_t i = 0; i < s.n_samples; i++) s.pcm[i] = 0.5f * (float)sin(2 * M_PI * hz * (double)i / sr);
    s.on_done = done;
    s.opaque = res;
    return s;
}

static void record_done(void *opaque, const tc_segment_result *r)
{
    *(tc_segment_result *)opaque = *r;
}

static void test_file_timeline_exact(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/a.mp4", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 150, 0);
    run_engine(&c, NULL, 0);
    readback rb;
    read_file(path, 30, &rb);
    assert_int_equal(rb.video_frames, 150);
    assert_int_equal(rb.first_pts, 0);
    assert_int_equal(rb.last_pts, 149);
    assert_int_equal(rb.pts_gaps, 0);
    /* Exactly 5.000 s of audio: the mp4 edit list hides the AAC priming and
     * the last packet is as short as the audio it carries. */
    assert_int_equal((int64_t)(rb.audio_end * 48000 + 0.5), 150 * 1600);
    assert_int_equal(rb.width, 320);
    assert_int_equal(rb.sample_rate, 48000);
    assert_int_equal(rb.channels, 2);
    readback_free(&rb);
}

static void test_44k1_and_formats(void **state)
{
    (void)state;
    const char *ext[] = { "mkv", "ts" };
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/b.%s", tmpdir, ext[i]);
        const char *outs[] = { path };
        tc_engine_config c = base_cfg(outs, 1, 60, 0);
        c.sample_rate = 44100;
        run_engine(&c, NULL, 0);
        readback rb;
        read_file(path, 30, &rb);
        assert_int_equal(rb.video_frames, 60);
        assert_int_equal(rb.pts_gaps, 0);
        assert_int_equal(rb.sample_rate, 44100);
        /* mkv/ts keep no end-trim for AAC: the last frame counts whole
         * (up to 1024 samples = 23.2 ms at 44.1 kHz) — but never short. */
        assert_true(rb.audio_end > 2.0 - 0.002 && rb.audio_end < 2.0 + 0.0235);
        readback_free(&rb);
    }
}

static void test_segment_plays_at_frame_zero(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/tone.mp4", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 90, 0);
    tc_segment_result r1 = { 0 }, r2 = { 0 };
    /* 1.01 s: ends mid-frame 30, so the second starts on frame 31. */
    tc_segment segs[2] = { tone(1.01, 48000, 440, record_done, &r1),
                           tone(0.5, 48000, 660, record_done, &r2) };
    run_engine(&c, segs, 2);
    assert_int_equal(r1.start_frame, 0);
    assert_int_equal(r1.end_frame, 31);
    assert_int_equal(r1.samples_played, 48480);
    assert_int_equal(r1.interrupted, 0);
    assert_int_equal(r2.start_frame, 31);
    assert_int_equal(r2.start_sample, 31 * 1600);
    assert_int_equal(r2.end_frame, 31 + 15);

    readback rb;
    read_file(path, 30, &rb);
    assert_int_equal((int64_t)(rb.audio_end * 48000 + 0.5), 90 * 1600);
    for (int f = 1; f < 30; f++) assert_true(rb.rms[f] > 0.2f);   /* tone 1 */
    for (int f = 32; f < 45; f++) assert_true(rb.rms[f] > 0.2f);  /* tone 2 */
    for (int f = 47; f < 90; f++) assert_true(rb.rms[f] < 0.01f); /* silence */
    readback_free(&rb);
}

static void test_interrupt_live(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/int.mkv", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 45, 1);
    tc_face *face = make_face(&c);
    tc_engine *e = NULL;
    char err[256];
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    tc_segment_result r1 = { 0 }, r2 = { 0 };
    tc_segment s1 = tone(3.0, 48000, 440, record_done, &r1), s2 = tone(1.0, 48000, 440, record_done, &r2);
    assert_int_equal(tc_engine_enqueue(e, &s1), TC_OK);
    assert_int_equal(tc_engine_enqueue(e, &s2), TC_OK);
    assert_int_equal(tc_engine_start(e), TC_OK);
    usleep(500000);
    tc_engine_interrupt(e);
    assert_int_equal(tc_engine_wait(e, 10000), TC_OK);
    tc_engine_destroy(e, 0);
    tc_face_destroy(face);

    assert_int_equal(r1.interrupted, 1);
    assert_true(r1.end_frame >= 13 && r1.end_frame <= 20);
    assert_int_equal(r2.interrupted, 1);
    assert_int_equal(r2.start_frame, -1);
    readback rb;
    read_file(path, 30, &rb);
    assert_int_equal(rb.video_frames, 45);
    for (int64_t f = r1.end_frame + 1; f < 40; f++) assert_true(rb.rms[f] < 0.01f);
    readback_free(&rb);
}

static void record_start(void *opaque, const tc_segment_result *r)
{
    tc_segment_result *rec = opaque;
    rec[1] = *r; /* [0] is on_done's, [1] on_start's */
}

/* Cancelling one group stops its playing segment and drops its queued ones;
 * another group's queued segment plays on right after, and on_start reports
 * where each started. */
static void test_cancel_group(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/cancel.mkv", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 60, 1);
    tc_face *face = make_face(&c);
    tc_engine *e = NULL;
    char err[256];
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    tc_segment_result r[3][2];
    memset(r, 0, sizeof r);
    tc_segment s[3] = { tone(3.0, 48000, 440, record_done, r[0]), tone(1.0, 48000, 440, record_done, r[1]),
                        tone(0.5, 48000, 660, record_done, r[2]) };
    s[0].group = s[1].group = 7;
    s[2].group = 8;
    for (int i = 0; i < 3; i++) {
        s[i].on_start = record_start;
        r[i][1].start_frame = -2; /* not called */
    }
    for (int i = 0; i < 3; i++) assert_int_equal(tc_engine_enqueue(e, &s[i]), TC_OK);
    assert_int_equal(tc_engine_start(e), TC_OK);
    usleep(300000);
    tc_engine_cancel(e, 7, 1); /* keep the one on air, drop the queued one */
    usleep(300000);
    assert_int_equal(r[1][0].interrupted, 1);
    int64_t at = tc_engine_position(e);
    assert_true(at >= 15 && at <= 22);
    tc_engine_cancel(e, 7, 0);
    assert_int_equal(tc_engine_wait(e, 10000), TC_OK);
    tc_engine_destroy(e, 0);
    tc_face_destroy(face);

    assert_int_equal(r[0][1].start_frame, 0); /* on_start of the first */
    assert_int_equal(r[0][0].interrupted, 1);
    assert_true(r[0][0].end_frame >= at && r[0][0].end_frame <= at + 2);
    assert_int_equal(r[1][0].interrupted, 1);   /* dropped, never started */
    assert_int_equal(r[1][0].start_frame, -1);
    assert_int_equal(r[1][1].start_frame, -2);  /* and no on_start */
    assert_int_equal(r[2][0].interrupted, 0);   /* the other group played */
    assert_int_equal(r[2][1].start_frame, r[0][0].end_frame);
    assert_int_equal(r[2][0].end_frame, r[0][0].end_frame + 15);
    readback rb;
    read_file(path, 30, &rb);
    for (int64_t f = r[2][0].end_frame + 1; f < 58; f++) assert_true(rb.rms[f] < 0.01f);
    for (int64_t f = r[2][1].start_frame + 1; f < r[2][0].end_frame - 1; f++) assert_true(rb.rms[f] > 0.2f);
    readback_free(&rb);
}

static void stall_done(void *opaque, const tc_segment_result *r)
{
    (void)r;
    usleep((useconds_t)(intptr_t)opaque);
}

static void test_live_catch_up_keeps_timeline(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/late.mp4", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 60, 1);
    /* A one-sample segment whose callback stalls the engine thread 400 ms. */
    tc_segment s = { 0 };
    s.n_samples = 1;
    s.pcm = calloc(1, sizeof(float));
    s.on_done = stall_done;
    s.opaque = (void *)(intptr_t)400000;
    tc_face *face = make_face(&c);
    tc_engine *e = NULL;
    char err[256];
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    assert_int_equal(tc_engine_enqueue(e, &s), TC_OK);
    int64_t t0 = tc_now_ns();
    assert_int_equal(tc_engine_start(e), TC_OK);
    assert_int_equal(tc_engine_wait(e, 10000), TC_OK);
    int64_t took = tc_now_ns() - t0;
    tc_engine_stats st;
    tc_engine_get_stats(e, &st);
    tc_engine_destroy(e, 0);
    tc_face_destroy(face);

    assert_int_equal(st.frames, 60);
    assert_true(st.late >= 5);     /* ~12 frames were behind */
    assert_true(st.dropped >= 3);  /* and some were not rendered fresh */
    assert_true(took < 2300000000LL); /* caught up: still ~2 s in all */
    readback rb;
    read_file(path, 30, &rb);
    assert_int_equal(rb.video_frames, 60);
    assert_int_equal(rb.pts_gaps, 0);
    assert_int_equal((int64_t)(rb.audio_end * 48000 + 0.5), 60 * 1600);
    readback_free(&rb);
}

static void test_switch_face_mid_stream(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/switch.mkv", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 45, 1);
    tc_face *face = make_face(&c), *other = make_face(&c);
    tc_engine *e = NULL;
    char err[256];
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    assert_int_equal(tc_engine_start(e), TC_OK);
    usleep(500000);
    tc_face *old = tc_engine_set_face(e, other);
    assert_ptr_equal(old, face);
    tc_face_destroy(old); /* safe at once: the engine no longer uses it */
    assert_int_equal(tc_engine_wait(e, 10000), TC_OK);
    tc_engine_destroy(e, 0);
    tc_face_destroy(other);
    readback rb;
    read_file(path, 30, &rb);
    assert_int_equal(rb.video_frames, 45);
    assert_int_equal(rb.pts_gaps, 0);
    readback_free(&rb);
}

static void test_bad_config_is_refused(void **state)
{
    (void)state;
    const char *outs[] = { "x.nosuchext" };
    tc_engine_config c = base_cfg(outs, 1, 10, 0);
    tc_face *face = make_face(&c);
    tc_engine *e = (tc_engine *)1;
    char err[256] = "";
    assert_true(tc_engine_create(&e, &c, face, err, sizeof err) < 0);
    assert_null(e);
    assert_non_null(strstr(err, "nosuchext"));
    c.n_outputs = 0;
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_ERR_INVAL);
    tc_face_destroy(face);
}

static int setup(void **state)
{
    (void)state;
    av_log_set_level(AV_LOG_ERROR);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tc-engine-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* ---- frame sources (a segment's pictures from elsewhere) ------------------ */

typedef struct src_rec {
    int64_t asked[64];
    int n_asked, released, asked_at_release;
    AVFrame *solid;
} src_rec;

static int src_picture(void *opaque, int64_t i, tc_face *face, int64_t n, const tc_mouth *mouth, AVFrame *out,
                       int *changed)
{
    src_rec *r = opaque;
    assert_false(r->released);
    assert_true(r->n_asked < 64);
    r->asked[r->n_asked++] = i;
    if (i % 2) return tc_face_render(face, n, mouth, out, changed); /* "late": the local face */
    *changed = 1;
    return av_frame_ref(out, r->solid);
}

static void src_release(void *opaque)
{
    src_rec *r = opaque;
    r->released++;
    r->asked_at_release = r->n_asked;
}

/* The engine asks a segment's source for each of its frames, in order, and
 * releases it exactly once after its last picture; a segment dropped
 * before it played is released without a picture. */
static void test_frame_source(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/src.mkv", tmpdir);
    const char *outs[] = { path };
    tc_engine_config c = base_cfg(outs, 1, 60, 0);
    src_rec rec = { 0 }, rec2 = { 0 };
    tc_face_config fc = { 320, 240, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, NULL, 1, 0, NULL, 0 };
    assert_int_equal(tc_face_alloc_frame(&fc, &rec.solid), TC_OK);
    tc_segment_result r1 = { 0 };
    tc_segment segs[1] = { tone(1.0, 48000, 440, record_done, &r1) };
    segs[0].frames = (tc_frame_source){ src_picture, src_release, &rec };
    run_engine(&c, segs, 1);
    assert_int_equal(rec.released, 1);
    assert_int_equal(rec.n_asked, 30);
    assert_int_equal(rec.asked_at_release, 30); /* released after its last picture, not before */
    for (int i = 0; i < 30; i++) assert_int_equal(rec.asked[i], i);
    av_frame_free(&rec.solid);

    /* live: the playing segment is interrupted, the queued one never plays */
    c = base_cfg(outs, 1, 45, 1);
    tc_face *face = make_face(&c);
    tc_engine *e = NULL;
    char err[256];
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    memset(&rec, 0, sizeof rec);
    assert_int_equal(tc_face_alloc_frame(&fc, &rec.solid), TC_OK);
    rec2.solid = rec.solid;
    tc_segment_result q1 = { 0 }, q2 = { 0 };
    tc_segment s1 = tone(3.0, 48000, 440, record_done, &q1), s2 = tone(1.0, 48000, 440, record_done, &q2);
    s1.frames = (tc_frame_source){ src_picture, src_release, &rec };
    s2.frames = (tc_frame_source){ src_picture, src_release, &rec2 };
    assert_int_equal(tc_engine_enqueue(e, &s1), TC_OK);
    assert_int_equal(tc_engine_enqueue(e, &s2), TC_OK);
    assert_int_equal(tc_engine_start(e), TC_OK);
    usleep(400000);
    tc_engine_interrupt(e);
    assert_int_equal(tc_engine_wait(e, 10000), TC_OK);
    tc_engine_destroy(e, 0);
    tc_face_destroy(face);
    assert_int_equal(rec.released, 1);
    assert_true(rec.n_asked >= 1 && rec.n_asked < 90);
    assert_int_equal(rec2.released, 1);
    assert_int_equal(rec2.n_asked, 0);
    av_frame_free(&rec.solid);

    /* destroyed with segments still queued: released all the same */
    c = base_cfg(outs, 1, 10, 0);
    face = make_face(&c);
    assert_int_equal(tc_engine_create(&e, &c, face, err, sizeof err), TC_OK);
    memset(&rec, 0, sizeof rec);
    s1 = tone(1.0, 48000, 440, NULL, NULL);
    s1.frames = (tc_frame_source){ src_picture, src_release, &rec };
    assert_int_equal(tc_engine_enqueue(e, &s1), TC_OK);
    tc_engine_destroy(e, 1);
    tc_face_destroy(face);
    assert_int_equal(rec.released, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_timeline_exact),
        cmocka_unit_test(test_44k1_and_formats),
        cmocka_unit_test(test_segment_plays_at_frame_zero),
        cmocka_unit_test(test_interrupt_live),
        cmocka_unit_test(test_cancel_group),
        cmocka_unit_test(test_live_catch_up_keeps_timeline),
        cmocka_unit_test(test_switch_face_mid_stream),
        cmocka_unit_test(test_bad_config_is_refused),
        cmocka_unit_test(test_frame_source),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
