/* test_ops.c — the Prometheus text: the buffer grows and fails cleanly
 * (every realloc failed in turn, through -Wl,--wrap=realloc), numbers read
 * back as Prometheus reads them, label values and help are escaped, bad
 * names write nothing, histograms have the right lines, and promtool — a
 * real parser and linter — accepts a whole exposition without one remark. */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "ops/ops.h"

/* ---- allocation failure injection (this binary links with --wrap=realloc) ---- */

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static int realloc_countdown = -1; /* fail when it reaches 0; -1 = never */
static int realloc_calls;

void *__wrap_realloc(void *p, size_t n)
{
    realloc_calls++;
    if (realloc_countdown >= 0 && realloc_countdown-- == 0) return NULL;
    return __real_realloc(p, n);
}

/* ---- captured log lines ---- */

static char logs[8192];

static void hook(const char *line, void *opaque)
{
    (void)opaque;
    size_t have = strlen(logs);
    snprintf(logs + have, sizeof logs - have, "%s\n", line);
}

static int setup(void **state)
{
    (void)state;
    logs[0] = '\0';
    tc_log_set_hook(hook, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_log_set_hook(NULL, NULL);
    return 0;
}

static void assert_text(const tc_ops_buf *b, const char *want)
{
    assert_false(b->failed);
    if (!want[0] && b->len == 0) return;
    assert_non_null(b->data);
    if (strcmp(b->data, want) != 0) fail_msg("got:\n%s\nwant:\n%s", b->data, want);
    assert_int_equal(b->len, strlen(want));
}

/* ---- buffer ---- */

static void test_buf_grows(void **state)
{
    (void)state;
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    tc_ops_buf_printf(&b, "%s", "");
    assert_non_null(b.data); /* NUL-terminated as soon as it exists */
    assert_string_equal(b.data, "");

    char want[20000];
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        tc_ops_buf_printf(&b, "%d,", i);
        n += (size_t)snprintf(want + n, sizeof want - n, "%d,", i);
    }
    tc_ops_buf_append(&b, "tail", 4);
    memcpy(want + n, "tail", 5);
    assert_text(&b, want);
    assert_true(b.cap > b.len);

    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tc_ops_buf_printf(&b, "%s", big); /* one write larger than the doubling step */
    assert_int_equal(b.len, strlen(want) + sizeof big - 1);
    assert_int_equal(strlen(b.data), b.len);

    tc_ops_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len + b.cap + (size_t)b.failed, 0);
    tc_ops_buf_free(&b); /* twice is harmless */
}

/* A whole exposition as the daemon would write it. */
static void write_all(tc_ops_buf *b)
{
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, INFINITY};
    static const int64_t cum[] = {0, 2, 9, 30, 51, 60, 61, 61, 62, 62};
    tc_ops_prom_family(b, "talkcast_messages_total", "counter", "Messages taken off the queue.");
    const char *const ok[] = {"result", "spoken", NULL};
    const char *const bad[] = {"result", "refused", NULL};
    tc_ops_prom_sample(b, "talkcast_messages_total", ok, 1234);
    tc_ops_prom_sample(b, "talkcast_messages_total", bad, 7);
    tc_ops_prom_family(b, "talkcast_queue_depth", "gauge", "Jobs waiting.\nNot yet started.");
    tc_ops_prom_sample(b, "talkcast_queue_depth", NULL, 3);
    tc_ops_prom_family(b, "talkcast_audio_level_ratio", "gauge", "Last level, \\ or NaN.");
    const char *const odd[] = {"stream", "a\\b\"c\nd é ✓", "voice", "en-us", NULL};
    tc_ops_prom_sample(b, "talkcast_audio_level_ratio", odd, NAN);
    const char *const inf[] = {"stream", "inf", NULL};
    tc_ops_prom_sample(b, "talkcast_audio_level_ratio", inf, INFINITY);
    const char *const ninf[] = {"stream", "ninf", NULL};
    tc_ops_prom_sample(b, "talkcast_audio_level_ratio", ninf, -INFINITY);
    const char *const frac[] = {"stream", "frac", NULL};
    tc_ops_prom_sample(b, "talkcast_audio_level_ratio", frac, 0.1);
    tc_ops_prom_family(b, "talkcast_speech_latency_seconds", "histogram",
                       "From the message to the first audio on air.");
    const char *const st[] = {"stage", "tts", NULL};
    tc_ops_prom_histogram(b, "talkcast_speech_latency_seconds", st, bounds, cum, 10, 3.875, 62);
    tc_ops_prom_family(b, "talkcast_up", "gauge", "1 while the daemon runs.");
    tc_ops_prom_sample(b, "talkcast_up", NULL, 1);
}

static void test_buf_every_realloc_fails(void **state)
{
    (void)state;
    tc_ops_buf ref;
    tc_ops_buf_init(&ref);
    realloc_calls = 0;
    write_all(&ref);
    assert_false(ref.failed);
    int needed = realloc_calls;
    assert_true(needed >= 2); /* the exposition outgrows the first block */

    int failures = 0;
    for (int k = 0; k <= needed; k++) {
        tc_ops_buf b;
        tc_ops_buf_init(&b);
        realloc_countdown = k;
        write_all(&b);
        realloc_countdown = -1;
        if (k < needed) {
            failures++;
            assert_true(b.failed);
            /* what is there is a prefix of the real thing, and stays put */
            assert_true(b.len < ref.len);
            if (b.data) assert_memory_equal(b.data, ref.data, b.len);
            size_t len = b.len;
            tc_ops_buf_printf(&b, "more %d", k);
            tc_ops_buf_append(&b, "more", 4);
            tc_ops_prom_sample(&b, "x", NULL, 1);
            assert_int_equal(b.len, len);
        } else {
            assert_text(&b, ref.data);
        }
        tc_ops_buf_free(&b); /* LeakSanitizer checks nothing is left */
    }
    assert_int_equal(failures, needed);
    tc_ops_buf_free(&ref);
}

/* ---- numbers ---- */

static void check_number(double v, const char *want)
{
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    tc_ops_prom_sample(&b, "x", NULL, v);
    char line[64];
    snprintf(line, sizeof line, "x %s\n", want);
    assert_text(&b, line);
    tc_ops_buf_free(&b);
}

static void test_numbers(void **state)
{
    (void)state;
    check_number(0, "0");
    check_number(-0.0, "0");
    check_number(42, "42");
    check_number(-7, "-7");
    check_number(1e15, "1000000000000000");
    check_number(9007199254740992.0, "9007199254740992"); /* 2^53 */
    check_number(-9007199254740991.0, "-9007199254740991");
    check_number(1e20, "1e+20"); /* past 2^53: the exponent form reads back exactly */
    check_number(0.1, "0.1");
    check_number(2.5, "2.5");
    check_number(-0.25, "-0.25");
    check_number(123.456, "123.456");
    check_number(1.0 / 3, "0.3333333333333333");
    check_number(0.1 + 0.2, "0.30000000000000004");
    check_number(1e-9, "1e-09");
    check_number(DBL_MAX, "1.7976931348623157e+308");
    check_number(5e-324, "4.94065645841247e-324"); /* 15 digits suffice */
    check_number(NAN, "NaN");
    check_number(INFINITY, "+Inf");
    check_number(-INFINITY, "-Inf");
    /* shortest form always reads back to the same double */
    for (double v = 1e-7; v < 1e7; v *= 1.7311) {
        tc_ops_buf b;
        tc_ops_buf_init(&b);
        tc_ops_prom_sample(&b, "x", NULL, v);
        assert_true(strtod(b.data + 2, NULL) == v);
        tc_ops_buf_free(&b);
    }
}

/* A comma locale must not leak into the numbers (if one is installed). */
static void test_numbers_ignore_locale(void **state)
{
    (void)state;
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8",
                                        NULL};
    const char *got = NULL;
    for (int i = 0; names[i] && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got) {
        print_message("no comma locale installed: only the C locale was checked\n");
        return;
    }
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 2.5);
    assert_string_equal(probe, "2,5"); /* the locale really is in force */
    check_number(2.5, "2.5");
    check_number(1e-9, "1e-09");
    setlocale(LC_NUMERIC, "C");
}

/* ---- escaping, names ---- */

static void test_escaping(void **state)
{
    (void)state;
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    const char *const l1[] = {"path", "a\\b\"c\nd", "empty", "", NULL};
    tc_ops_prom_sample(&b, "m", l1, 1);
    const char *const l2[] = {"text", "é ✓ 😀 plain", NULL};
    tc_ops_prom_sample(&b, "m", l2, 2);
    /* not UTF-8: a stray continuation, an overlong '/', a surrogate, a cut
     * sequence at the end — each bad byte becomes U+FFFD */
    const char *const l3[] = {"raw",
                              "a\x80"
                              "b\xC0\xAF"
                              "c\xED\xA0\x80"
                              "d\xE2\x9C",
                              NULL};
    tc_ops_prom_sample(&b, "m", l3, 3);
    tc_ops_prom_family(&b, "m", "gauge", "back\\slash, \"quotes\" stay,\nnew line");
    tc_ops_prom_family(&b, "n_total", "counter", NULL); /* no help: no HELP line */
    assert_text(&b, "m{path=\"a\\\\b\\\"c\\nd\",empty=\"\"} 1\n"
                    "m{text=\"é ✓ 😀 plain\"} 2\n"
                    "m{raw=\"a\xEF\xBF\xBD"
                    "b\xEF\xBF\xBD\xEF\xBF\xBD"
                    "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                    "d\xEF\xBF\xBD\xEF\xBF\xBD\"} 3\n"
                    "# HELP m back\\\\slash, \"quotes\" stay,\\nnew line\n"
                    "# TYPE m gauge\n"
                    "# TYPE n_total counter\n");
    tc_ops_buf_free(&b);
}

static void test_bad_names_write_nothing(void **state)
{
    (void)state;
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    static const char *const bad_metrics[] = {"", "1abc", "a-b", "a b", "é", "a{", NULL};
    for (int i = 0; bad_metrics[i]; i++) {
        tc_ops_prom_sample(&b, bad_metrics[i], NULL, 1);
        tc_ops_prom_family(&b, bad_metrics[i], "gauge", "h");
    }
    tc_ops_prom_sample(&b, NULL, NULL, 1);
    tc_ops_prom_family(&b, "ok_name", "gaugee", "h");
    tc_ops_prom_family(&b, "ok_name", NULL, "h");
    const char *const l_reserved[] = {"__name__", "x", NULL};
    const char *const l_space[] = {"a b", "x", NULL};
    const char *const l_digit[] = {"1a", "x", NULL};
    const char *const l_colon[] = {"a:b", "x", NULL};
    const char *const l_dup[] = {"a", "x", "b", "y", "a", "z", NULL};
    const char *const l_novalue[] = {"a", NULL};
    const char *const *bad_labels[] = {l_reserved, l_space, l_digit, l_colon, l_dup, l_novalue};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        tc_ops_prom_sample(&b, "ok_name", bad_labels[i], 1);

    static const double bounds[] = {1, 2, INFINITY};
    static const double no_inf[] = {1, 2, 3};
    static const double down[] = {2, 1, INFINITY};
    static const double with_nan[] = {1, NAN, INFINITY};
    static const int64_t cum[] = {1, 2, 3};
    const char *const l_le[] = {"le", "1", NULL};
    tc_ops_prom_histogram(&b, "h", l_le, bounds, cum, 3, 1, 3);
    tc_ops_prom_histogram(&b, "h", NULL, no_inf, cum, 3, 1, 3);
    tc_ops_prom_histogram(&b, "h", NULL, down, cum, 3, 1, 3);
    tc_ops_prom_histogram(&b, "h", NULL, with_nan, cum, 3, 1, 3);
    tc_ops_prom_histogram(&b, "h", NULL, bounds, cum, 0, 1, 3);
    tc_ops_prom_histogram(&b, "h-1", NULL, bounds, cum, 3, 1, 3);
    assert_int_equal(b.len, 0);
    assert_false(b.failed);

    /* every refusal said why */
    int lines = 0;
    for (const char *p = logs; (p = strstr(p, "module=ops inst=prom")); p++)
        lines++;
    assert_int_equal(lines, 2 * 6 + 1 + 2 + 6 + 6);
    assert_non_null(strstr(logs, "label name \\\"__name__\\\" is not valid"));
    assert_non_null(strstr(logs, "label a given twice"));
    assert_non_null(strstr(logs, "bounds must increase and end with +Inf"));

    /* good names on the edge of the rules pass */
    const char *const l_ok[] = {"_a1", "x", "A_b", "y", NULL};
    tc_ops_prom_sample(&b, "a:b_c:9", l_ok, 1);
    tc_ops_prom_sample(&b, "_x", NULL, 2);
    tc_ops_prom_sample(&b, ":x", NULL, 3);
    assert_text(&b, "a:b_c:9{_a1=\"x\",A_b=\"y\"} 1\n_x 2\n:x 3\n");
    tc_ops_buf_free(&b);
}

/* ---- histograms ---- */

static void test_histogram_lines(void **state)
{
    (void)state;
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    static const double bounds[] = {0.005, 0.5, 1, 10, INFINITY};
    static const int64_t cum[] = {1, 3, 4, 4, 5};
    const char *const l[] = {"stage", "tts", "voice", "en\"us", NULL};
    tc_ops_prom_histogram(&b, "lat_seconds", l, bounds, cum, 5, 12.75, 5);
    static const double one[] = {INFINITY};
    static const int64_t big[] = {INT64_C(9007199254740993)}; /* 2^53 + 1: not a double */
    tc_ops_prom_histogram(&b, "n", NULL, one, big, 1, 0.5, INT64_C(9007199254740993));
    assert_text(&b, "lat_seconds_bucket{stage=\"tts\",voice=\"en\\\"us\",le=\"0.005\"} 1\n"
                    "lat_seconds_bucket{stage=\"tts\",voice=\"en\\\"us\",le=\"0.5\"} 3\n"
                    "lat_seconds_bucket{stage=\"tts\",voice=\"en\\\"us\",le=\"1\"} 4\n"
                    "lat_seconds_bucket{stage=\"tts\",voice=\"en\\\"us\",le=\"10\"} 4\n"
                    "lat_seconds_bucket{stage=\"tts\",voice=\"en\\\"us\",le=\"+Inf\"} 5\n"
                    "lat_seconds_sum{stage=\"tts\",voice=\"en\\\"us\"} 12.75\n"
                    "lat_seconds_count{stage=\"tts\",voice=\"en\\\"us\"} 5\n"
                    "n_bucket{le=\"+Inf\"} 9007199254740993\n"
                    "n_sum 0.5\n"
                    "n_count 9007199254740993\n");
    tc_ops_buf_free(&b);
}

/* ---- promtool ---- */

/* promtool is a declared dependency (scripts/deps.sh): missing is a failure. */
static void find_promtool(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/promtool", *d ? d : ".");
        if (access(out, X_OK) == 0) return;
    }
    fail_msg("promtool not found in PATH (%s): install it with scripts/deps.sh (package "
             "prometheus)",
             path ? path : "unset");
}

/* Run `promtool check metrics` on text; its exit status, output in out. */
static int promtool_check(const char *text, size_t len, char *out, size_t cap)
{
    char tool[1024];
    find_promtool(tool, sizeof tool);
    char file[] = "/tmp/tc-ops-metrics-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s' 2>&1", tool, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(file);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_promtool_accepts(void **state)
{
    (void)state;
    tc_ops_buf b;
    tc_ops_buf_init(&b);
    write_all(&b);
    assert_false(b.failed);
    char out[4096];
    int rc = promtool_check(b.data, b.len, out, sizeof out);
    if (rc != 0 || out[0]) fail_msg("promtool exit %d:\n%s\non:\n%s", rc, out, b.data);
    tc_ops_buf_free(&b);

    /* and the check can fail: a lint problem and a parse error are reported */
    tc_ops_buf_init(&b);
    tc_ops_prom_family(&b, "talkcast_things", "counter", "No _total suffix.");
    tc_ops_prom_sample(&b, "talkcast_things", NULL, 1);
    rc = promtool_check(b.data, b.len, out, sizeof out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "_total"));
    const char *broken = "talkcast_x{a=b} 1\n";
    rc = promtool_check(broken, strlen(broken), out, sizeof out);
    assert_int_not_equal(rc, 0);
    tc_ops_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_buf_every_realloc_fails),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_numbers_ignore_locale),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test_setup_teardown(test_bad_names_write_nothing, setup, teardown),
        cmocka_unit_test(test_histogram_lines),
        cmocka_unit_test(test_promtool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
