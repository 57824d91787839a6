/* test_cues.c — WebVTT/SRT cues: line and cue limits, start at the first
 * word, end at the last word plus the hold but never past the next cue,
 * escaping in VTT, the atomic save; and word timing from a TTS chunk,
 * with and without the provider's word events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "caption/caption.h"
#include "core/err.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void add_text(tc_cap_cues *c, const char *text, double t0, double per_word, int brk)
{
    const char *s = text;
    double t = t0;
    int first = 1;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (e > s) {
            assert_int_equal(
                tc_cap_cues_add(c, t, t + per_word * 0.9, s, (int)(e - s), brk && first), TC_OK);
            first = 0;
            t += per_word;
        }
        s = e;
    }
}

static void test_cue_limits_and_times(void **state)
{
    tc_cap_cues *c;
    assert_int_equal(tc_cap_cues_create(&c, 32, 2), TC_OK);
    add_text(c, "one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
             1.0, 0.3, 1);
    add_text(c, "Next sentence <b> & done.", 6.0, 0.3, 1);
    tc_cap_cues_finish(c, 0.5);
    int n = tc_cap_cues_count(c);
    assert_true(n >= 3);
    double prev_end = 0;
    for (int i = 0; i < n; i++) {
        double s, e;
        const char *t = tc_cap_cues_text(c, i, &s, &e);
        int lines = 1, len = 0;
        for (const char *p = t; *p; p++) {
            if (*p == '\n')
                lines++, len = 0;
            else
                assert_true(++len <= 32);
        }
        assert_true(lines <= 2);
        assert_true(s >= prev_end - 1e-9); /* never overlapping */
        assert_true(e > s);
        prev_end = e;
    }
    double s0, e0;
    tc_cap_cues_text(c, 0, &s0, &e0);
    assert_true(s0 == 1.0);
    double sl, el;
    const char *last = tc_cap_cues_text(c, n - 1, &sl, &el);
    assert_string_equal(last, "Next sentence <b> & done.");
    assert_true(sl == 6.0);
    assert_true(el > 6.0 + 4 * 0.3 + 0.27 + 0.49 &&
                el < 6.0 + 4 * 0.3 + 0.27 + 0.51); /* last word end + hold */
    /* a cue cut short by the next one ends where it starts */
    double s1;
    tc_cap_cues_text(c, 1, &s1, NULL);
    assert_true(e0 <= s1);

    char vtt[] = "/tmp/tc-cues-XXXXXX.vtt", srt[] = "/tmp/tc-cues-XXXXXX.srt";
    close(mkstemps(vtt, 4));
    close(mkstemps(srt, 4));
    tc_cap_format f;
    assert_int_equal(tc_cap_format_from_path(vtt, &f), TC_OK);
    assert_int_equal(f, TC_CAP_VTT);
    assert_int_equal(tc_cap_cues_save(c, vtt, f), TC_OK);
    assert_int_equal(tc_cap_format_from_path(srt, &f), TC_OK);
    assert_int_equal(f, TC_CAP_SRT);
    assert_int_equal(tc_cap_cues_save(c, srt, f), TC_OK);
    assert_int_equal(tc_cap_format_from_path("x.txt", &f), TC_ERR_INVAL);
    const char *v = slurp(vtt);
    assert_memory_equal(v, "WEBVTT\n\n00:00:01.000 --> ", 25);
    assert_non_null(strstr(v, "Next sentence &lt;b&gt; &amp; done.\n"));
    const char *r = slurp(srt);
    assert_memory_equal(r, "1\n00:00:01,000 --> ", 19);
    assert_non_null(strstr(r, "Next sentence <b> & done.\n"));
    unlink(vtt);
    unlink(srt);
    assert_int_equal(tc_cap_cues_save(c, "/nonexistent-dir/x.vtt", TC_CAP_VTT), TC_ERR_IO);
    tc_cap_cues_destroy(c);
}

static void test_pause_starts_a_cue(void **state)
{
    tc_cap_cues *c;
    assert_int_equal(tc_cap_cues_create(&c, 42, 2), TC_OK);
    assert_int_equal(tc_cap_cues_add(c, 0.0, 0.4, "hello", 5, 1), TC_OK);
    assert_int_equal(tc_cap_cues_add(c, 3.0, 3.4, "again", 5, 0), TC_OK);
    tc_cap_cues_finish(c, 0.5);
    assert_int_equal(tc_cap_cues_count(c), 2);
    double e;
    tc_cap_cues_text(c, 0, NULL, &e);
    assert_true(e > 0.89 && e < 0.91);
    tc_cap_cues_destroy(c);
}

static void test_cut_and_roll(void **state)
{
    tc_cap_cues *c;
    assert_int_equal(tc_cap_cues_create(&c, 42, 2), TC_OK);
    add_text(c, "First sentence here.", 0.0, 0.3, 1);
    add_text(c, "Second one is cut short by an interrupt.", 2.0, 0.3, 1);
    add_text(c, "Third.", 10.0, 0.3, 1);
    tc_cap_cues_cut(c, 2.5); /* the third was planned but never said */
    tc_cap_cues_finish(c, 0.5);
    assert_int_equal(tc_cap_cues_count(c), 2);
    double s, e;
    tc_cap_cues_text(c, 1, &s, &e);
    assert_true(s == 2.0 && e == 2.5);
    tc_cap_cues_text(c, 0, &s, &e);
    assert_true(e > 1.36 && e < 1.38); /* untouched: last word end + hold */
    add_text(c, "Fourth.", 4.0, 0.3, 1);
    tc_cap_cues_keep_last(c, 2);
    tc_cap_cues_finish(c, 0.5);
    assert_int_equal(tc_cap_cues_count(c), 2);
    assert_string_equal(tc_cap_cues_text(c, 0, &s, &e), "Second one is cut short by an interrupt.");
    assert_true(e == 2.5);
    assert_string_equal(tc_cap_cues_text(c, 1, NULL, NULL), "Fourth.");
    tc_cap_cues_destroy(c);
}

static void test_words_from_chunk(void **state)
{
    /* 1 s at 1000 Hz: silence, voice from 0.2 to 0.8 s, silence */
    float pcm[1000] = {0};
    for (int i = 200; i < 800; i++)
        pcm[i] = (i % 2) ? 0.5f : -0.5f;
    char text[] = "aaa bbbbbbb c";
    tc_tts_chunk ch = {0};
    ch.pcm = pcm;
    ch.n_samples = 1000;
    ch.sample_rate = 1000;
    ch.text = text;
    tc_cap_word *w;
    int n;
    assert_int_equal(tc_cap_words(&ch, &w, &n), TC_OK);
    assert_int_equal(n, 3);
    /* weights 4, 8, 2 over [200, 800) */
    assert_int_equal(w[0].start, 200);
    assert_int_equal(w[1].start, 200 + 600 * 4 / 14);
    assert_int_equal(w[2].start, 200 + 600 * 12 / 14);
    assert_int_equal(w[2].end, 800);
    assert_int_equal(w[1].pos, 4);
    assert_int_equal(w[1].len, 7);
    free(w);

    /* with word events: starts as given, ends at the next start / voice end */
    tc_word ev[3] = {{210, 0, 3}, {400, 4, 7}, {700, 12, 1}};
    ch.words = ev;
    ch.n_words = 3;
    assert_int_equal(tc_cap_words(&ch, &w, &n), TC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(w[0].start, 210);
    assert_int_equal(w[0].end, 400);
    assert_int_equal(w[1].end, 700);
    assert_int_equal(w[2].end, 800);
    free(w);

    /* punctuation espeak leaves out of its words is taken back */
    char punct[] = "\xc2\xbfQu\xc3\xa9? Hello, there.";
    tc_word ev2[3] = {{100, 2, 4}, {300, 8, 5}, {600, 15, 5}};
    ch.text = punct;
    ch.words = ev2;
    assert_int_equal(tc_cap_words(&ch, &w, &n), TC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(w[0].pos, 0);
    assert_int_equal(w[0].len, 7); /* "¿Qué?" */
    assert_int_equal(w[1].len, 6); /* "Hello," */
    assert_int_equal(w[2].len, 6); /* "there." */
    free(w);

    /* nothing but spaces: no words */
    char blank[] = "   ";
    ch.words = NULL;
    ch.n_words = 0;
    ch.text = blank;
    assert_int_equal(tc_cap_words(&ch, &w, &n), TC_OK);
    assert_int_equal(n, 0);
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cue_limits_and_times),
        cmocka_unit_test(test_pause_starts_a_cue),
        cmocka_unit_test(test_cut_and_roll),
        cmocka_unit_test(test_words_from_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
