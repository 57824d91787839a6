/* test_text.c — text cleaning (UTF-8, controls, length) and sentence
 * splitting (abbreviations, numbers, long sentences, line breaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "tts/tts.h"

static void clean_is(const char *in, const char *want)
{
    char *o = NULL;
    assert_int_equal(tc_tts_sanitize(in, 0, &o), TC_OK);
    if (strcmp(o, want)) fail_msg("sanitize(%s) = '%s', want '%s'", in, o, want);
    free(o);
}

static void test_sanitize(void **state)
{
    (void)state;
    clean_is("  Hello   world  ", "Hello world");
    clean_is("a\x01\x02" "b\x7f" "c", "abc");
    clean_is("tab\there", "tab here");
    clean_is("line one\r\n\r\nline two", "line one\nline two");
    clean_is("caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80");
    clean_is("bad \xff byte", "bad \xef\xbf\xbd byte");
    clean_is("over\xc0\xaflong", "over\xef\xbf\xbd\xef\xbf\xbdlong");
    clean_is("c1\xc2\x85" "control", "c1control");
    char *o = (char *)1;
    assert_int_equal(tc_tts_sanitize("   \t\n ", 0, &o), TC_ERR_INVAL);
    assert_null(o);
    assert_int_equal(tc_tts_sanitize("\x01\x02", 0, &o), TC_ERR_INVAL);
    assert_int_equal(tc_tts_sanitize("abcdef", 5, &o), TC_ERR_INVAL);
    assert_int_equal(tc_tts_sanitize("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, &o), TC_OK); /* 5 chars, 10 bytes */
    free(o);
    assert_int_equal(tc_tts_sanitize(NULL, 0, &o), TC_ERR_INVAL);
}

static void split_is(const char *in, int max_len, const char *const *want, int n_want)
{
    char **s;
    int n;
    assert_int_equal(tc_tts_split(in, max_len, &s, &n), TC_OK);
    if (n != n_want) {
        for (int i = 0; i < n; i++) print_message("  [%d] '%s'\n", i, s[i]);
        fail_msg("split(%s): %d sentences, want %d", in, n, n_want);
    }
    for (int i = 0; i < n; i++)
        if (strcmp(s[i], want[i])) fail_msg("split(%s)[%d] = '%s', want '%s'", in, i, s[i], want[i]);
    tc_tts_split_free(s, n);
}

static void test_split(void **state)
{
    (void)state;
    const char *a[] = { "Hello there.", "How are you?", "Fine!" };
    split_is("Hello there. How are you? Fine!", 300, a, 3);
    const char *b[] = { "Dr. Smith paid $3.50 for it, i.e. cheap.", "Really?!", "Yes..." };
    split_is("Dr. Smith paid $3.50 for it, i.e. cheap. Really?! Yes...", 300, b, 3);
    const char *c[] = { "First line", "second line." };
    split_is("First line\nsecond line.", 300, c, 2);
    const char *d[] = { "He said \"stop.\"", "Then left." };
    split_is("He said \"stop.\" Then left.", 300, d, 2);
    const char *e[] = { "No end punctuation" };
    split_is("No end punctuation", 300, e, 1);
    const char *f[] = { "J. R. R. Tolkien wrote it." };
    split_is("J. R. R. Tolkien wrote it.", 300, f, 1);
    const char *g[] = { "Wait\xe2\x80\xa6", "ok." };
    split_is("Wait\xe2\x80\xa6 ok.", 300, g, 2);
}

static void test_long_sentence_is_cut(void **state)
{
    (void)state;
    char text[2000] = "";
    for (int i = 0; i < 40; i++) strcat(text, "word word word, ");
    strcat(text, "end.");
    char **s;
    int n;
    assert_int_equal(tc_tts_split(text, 100, &s, &n), TC_OK);
    assert_true(n >= 6);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        assert_true(strlen(s[i]) <= 100);
        total += strlen(s[i]);
    }
    assert_true(total >= strlen(text) - (size_t)n * 2); /* nothing lost but spaces */
    tc_tts_split_free(s, n);
    /* no cut inside a UTF-8 sequence, even without spaces */
    char u[800] = "";
    for (int i = 0; i < 200; i++) strcat(u, "\xc3\xa9");
    assert_int_equal(tc_tts_split(u, 101, &s, &n), TC_OK);
    for (int i = 0; i < n; i++) {
        char *o;
        assert_int_equal(tc_tts_sanitize(s[i], 0, &o), TC_OK);
        assert_string_equal(o, s[i]); /* still valid UTF-8 */
        free(o);
    }
    tc_tts_split_free(s, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_long_sentence_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
