/* test_cea608.c — the 608 byte stream read back by a small decoder written
 * here from the standard's tables (not from the encoder's): parity and
 * markers, doubled control codes, roll-up rows and line breaks at 32
 * columns on word boundaries, the character sets with transliteration and
 * dropping, pacing per frame rate, words never early, the hold and the
 * immediate clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caption/caption.h"
#include "core/err.h"

/* ---- the independent decoder ---------------------------------------------- */

static const uint32_t basic_over[0x60] = {
    [0x2A - 0x20] = 0xE1, [0x5C - 0x20] = 0xE9,   [0x5E - 0x20] = 0xED, [0x5F - 0x20] = 0xF3,
    [0x60 - 0x20] = 0xFA, [0x7B - 0x20] = 0xE7,   [0x7C - 0x20] = 0xF7, [0x7D - 0x20] = 0xD1,
    [0x7E - 0x20] = 0xF1, [0x7F - 0x20] = 0x2588,
};
static const uint32_t special[16] = {0xAE, 0xB0, 0xBD, 0xBF, 0x2122, 0xA2, 0xA3, 0x266A,
                                     0xE0, 0xA0, 0xE8, 0xE2, 0xEA,   0xEE, 0xF4, 0xFB};
static const uint32_t ext12[32] = {0xC1, 0xC9, 0xD3,   0xDA, 0xDC,   0xFC,   0x2018, 0xA1,
                                   '*',  0x27, 0x2014, 0xA9, 0x2120, 0x2022, 0x201C, 0x201D,
                                   0xC0, 0xC2, 0xC7,   0xC8, 0xCA,   0xCB,   0xEB,   0xCE,
                                   0xCF, 0xEF, 0xD4,   0xD9, 0xF9,   0xDB,   0xAB,   0xBB};
static const uint32_t ext13[32] = {0xC3, 0xE3, 0xCD, 0xCC, 0xEC,   0xD2,   0xF2,   0xD5,
                                   0xF5, '{',  '}',  '\\', '^',    '_',    '|',    '~',
                                   0xC4, 0xE4, 0xD6, 0xF6, 0xDF,   0xA5,   0xA4,   0xA6,
                                   0xC5, 0xE5, 0xD8, 0xF8, 0x250C, 0x2510, 0x2514, 0x2518};

typedef struct dec {
    uint32_t scr[15][32];
    int used[15];
    int row, col, rollup;
    uint8_t prev[2];
    int edm, cr, ru, pac, bad_parity, bad_marker, nulls;
} dec;

static void dec_init(dec *d)
{
    memset(d, 0, sizeof *d);
    d->row = 14;
}

static void put(dec *d, uint32_t ch)
{
    if (d->col < 32) {
        d->scr[d->row][d->col++] = ch;
        d->used[d->row] = 1;
    }
}

static int parity_ok(uint8_t b)
{
    return __builtin_popcount(b) % 2 == 1;
}

static void dec_pair(dec *d, const uint8_t *t)
{
    if (t[0] != 0xFC) d->bad_marker++;
    if (!parity_ok(t[1]) || !parity_ok(t[2])) d->bad_parity++;
    uint8_t hi = t[1] & 0x7F, lo = t[2] & 0x7F;
    if (hi >= 0x10 && hi < 0x20) {
        if (hi == d->prev[0] && lo == d->prev[1]) { /* the doubled copy */
            d->prev[0] = d->prev[1] = 0;
            return;
        }
        d->prev[0] = hi;
        d->prev[1] = lo;
    } else {
        d->prev[0] = d->prev[1] = 0;
    }
    if (hi == 0x14 && (lo == 0x25 || lo == 0x26)) {
        d->rollup = lo - 0x23;
        d->ru++;
    } else if (hi == 0x14 && lo == 0x2C) {
        memset(d->scr, 0, sizeof d->scr);
        memset(d->used, 0, sizeof d->used);
        d->edm++;
    } else if (hi == 0x14 && lo == 0x2D) {
        /* roll up: rows base-rollup+1..base move up one, base row empty */
        for (int r = 0; r < 15; r++)
            if (r <= d->row - d->rollup) {
                memset(d->scr[r], 0, sizeof d->scr[r]);
                d->used[r] = 0;
            }
        for (int r = d->row - d->rollup + 1; r < d->row; r++) {
            memcpy(d->scr[r], d->scr[r + 1], sizeof d->scr[r]);
            d->used[r] = d->used[r + 1];
        }
        memset(d->scr[d->row], 0, sizeof d->scr[d->row]);
        d->used[d->row] = 0;
        d->col = 0;
        d->cr++;
    } else if (hi == 0x14 && lo >= 0x60) {
        d->row = 14;
        d->col = 0;
        d->pac++;
    } else if (hi == 0x11 && lo >= 0x30 && lo <= 0x3F) {
        put(d, special[lo - 0x30]);
    } else if ((hi == 0x12 || hi == 0x13) && lo >= 0x20 && lo <= 0x3F) {
        if (d->col > 0) d->col--; /* backspace over the fallback */
        /* (two subscripts: GCC 12's object-size check misjudges a subscript of a
         * conditional between two arrays) */
        put(d, hi == 0x12 ? ext12[lo - 0x20] : ext13[lo - 0x20]);
    } else if (hi >= 0x20) {
        put(d, basic_over[hi - 0x20] ? basic_over[hi - 0x20] : hi);
        if (lo >= 0x20) put(d, basic_over[lo - 0x20] ? basic_over[lo - 0x20] : lo);
    }
}

/* Row r of the screen as UTF-8 (trailing empty cells cut). */
static void row_text(const dec *d, int r, char *out, size_t cap)
{
    size_t k = 0;
    for (int c = 0; c < 32 && d->scr[r][c]; c++) {
        uint32_t cp = d->scr[r][c];
        char b[4];
        int n = cp < 0x80 ? (b[0] = (char)cp, 1)
                : cp < 0x800
                    ? (b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), 2)
                    : (b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
                       b[2] = (char)(0x80 | (cp & 0x3F)), 3);
        for (int i = 0; i < n && k + 1 < cap; i++)
            out[k++] = b[i];
    }
    out[k] = 0;
}

/* Run frames [from, to), decoding; returns pairs seen. */
static int run(tc_cap608 *c, dec *d, int64_t from, int64_t to, int speaking, int *max_per_frame)
{
    int total = 0;
    for (int64_t n = from; n < to; n++) {
        uint8_t cc[3 * TC_CAP608_MAX_PAIRS];
        int k = tc_cap608_tick(c, n, speaking, cc);
        if (max_per_frame && k > *max_per_frame) *max_per_frame = k;
        for (int i = 0; i < k; i++) {
            if (cc[3 * i + 1] == 0x80 && cc[3 * i + 2] == 0x80) { /* null padding */
                d->nulls++;
                continue;
            }
            dec_pair(d, cc + 3 * i);
            total++;
        }
    }
    return total;
}

static void say_words(tc_cap608 *c, const char *text)
{
    const char *s = text;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (e > s) tc_cap608_word(c, s, (int)(e - s));
        s = e;
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_hello_parity_one_pair_per_frame(void **state)
{
    tc_cap608 *c;
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, 30), TC_OK);
    dec d;
    dec_init(&d);
    uint8_t cc[3 * TC_CAP608_MAX_PAIRS];
    assert_int_equal(tc_cap608_tick(c, 0, 0, cc), 0); /* nothing said: nothing sent */
    assert_false(tc_cap608_busy(c));
    say_words(c, "Hello world");
    assert_true(tc_cap608_busy(c));
    int maxk = 0, pairs = run(c, &d, 1, 40, 1, &maxk);
    assert_int_equal(maxk, 1);
    /* RU2 x2, PAC x2, "He" "ll" "o_" + " w" "or" "ld" */
    assert_int_equal(pairs, 4 + 3 + 3);
    assert_int_equal(d.bad_parity, 0);
    assert_int_equal(d.bad_marker, 0);
    assert_int_equal(d.nulls, 39 - 10); /* padding on the frames without text while it is up */
    assert_int_equal(d.rollup, 2);
    assert_int_equal(d.ru, 1);
    assert_int_equal(d.pac, 1);
    char row[200];
    row_text(&d, 14, row, sizeof row);
    assert_string_equal(row, "Hello world");
    tc_cap608_destroy(c);
}

static void test_line_breaks_roll_up(void **state)
{
    for (int rows = 2; rows <= 3; rows++) {
        tc_cap608 *c;
        assert_int_equal(tc_cap608_create(&c, rows, 30, 1, 30), TC_OK);
        dec d;
        dec_init(&d);
        const char *text = "the quick brown fox jumps over the lazy dog and keeps running far away "
                           "supercalifragilisticexpialidociousness!! ends";
        say_words(c, text);
        run(c, &d, 0, 400, 1, NULL);
        /* every displayed row within 32 columns, words whole, the last rows shown */
        char r[3][200];
        for (int i = 0; i < 3; i++)
            row_text(&d, 12 + i, r[i], sizeof r[i]);
        int shown = 0;
        for (int i = 0; i < 15; i++)
            shown += d.used[i];
        assert_int_equal(shown, rows);
        /* a 40-character word is cut at 32 columns; the next word follows it */
        assert_string_equal(r[2], "usness!! ends");
        assert_string_equal(r[1], "supercalifragilisticexpialidocio");
        if (rows == 3) assert_string_equal(r[0], "far away");
        assert_true(d.cr >= 4);
        tc_cap608_destroy(c);
    }
    /* rows of words: the break happens at a word boundary */
    tc_cap608 *c;
    assert_int_equal(tc_cap608_create(&c, 3, 30, 1, 30), TC_OK);
    dec d;
    dec_init(&d);
    say_words(c, "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii");
    run(c, &d, 0, 200, 1, NULL);
    char r0[200], r1[200];
    row_text(&d, 13, r0, sizeof r0);
    row_text(&d, 14, r1, sizeof r1);
    assert_string_equal(r0, "aaaa bbbb cccc dddd eeee ffff"); /* 29 columns; +" gggg" = 34 */
    assert_string_equal(r1, "gggg hhhh iiii");
    tc_cap608_destroy(c);
}

static void test_character_sets(void **state)
{
    tc_cap608 *c;
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, 30), TC_OK);
    dec d;
    dec_init(&d);
    say_words(c, "Ça coûte 5 €, señor! ¿Qué? Größe Ærø");
    run(c, &d, 0, 200, 1, NULL);
    char r0[200], r1[200];
    row_text(&d, 13, r0, sizeof r0);
    row_text(&d, 14, r1, sizeof r1);
    char all[400];
    snprintf(all, sizeof all, "%s|%s", r0, r1);
    assert_string_equal(all, "Ça coûte 5 EUR, señor! ¿Qué?|Größe AErø");
    assert_int_equal(d.bad_parity, 0);
    tc_cap608_destroy(c);

    /* ASCII characters whose codes 608 reuses come back as themselves */
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, 30), TC_OK);
    dec_init(&d);
    say_words(c, "a*b {x} \\ ^_| ~");
    run(c, &d, 0, 200, 1, NULL);
    row_text(&d, 14, r1, sizeof r1);
    assert_string_equal(r1, "a*b {x} \\ ^_| ~");
    tc_cap608_destroy(c);

    /* nothing 608 can carry: the word is dropped, the rest shown */
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, 30), TC_OK);
    dec_init(&d);
    say_words(c, "日本語 😀 ok \xff\xfe");
    run(c, &d, 0, 100, 1, NULL);
    row_text(&d, 14, r1, sizeof r1);
    assert_string_equal(r1, "ok");
    tc_cap608_stats st;
    tc_cap608_get_stats(c, &st);
    assert_int_equal(st.words, 1);
    tc_cap608_destroy(c);

    tc_cap608_cell cells[3];
    assert_int_equal(tc_cap608_map(0x4E2D, cells), 0);
    assert_int_equal(tc_cap608_map(0x20AC, cells), 3);
    assert_int_equal(tc_cap608_map(0x0142, cells), 1); /* ł → l */
    assert_int_equal(cells[0].b, 'l');
}

static void test_timing_hold_and_clear(void **state)
{
    tc_cap608 *c;
    int hold = 30;
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, hold), TC_OK);
    dec d;
    dec_init(&d);
    /* silence before: nothing on the wire, however long */
    assert_int_equal(run(c, &d, 0, 100, 0, NULL), 0);
    say_words(c, "hi");
    run(c, &d, 100, 110, 1, NULL);
    assert_int_equal(d.edm, 0);
    /* speech stops at 110: the display stays for `hold` frames, then EDM */
    int64_t n = 110;
    while (d.edm == 0 && n < 200)
        run(c, &d, n, n + 1, 0, NULL), n++;
    assert_int_equal(d.edm, 1);
    assert_in_range(n - 110, hold, hold + 2);
    assert_int_equal(run(c, &d, n, n + 1, 0, NULL), 1); /* EDM's second copy */
    n++;
    assert_false(tc_cap608_busy(c));
    assert_int_equal(run(c, &d, n, n + 100, 0, NULL), 0);

    /* interrupt: queued text is dropped, the erase goes out at once */
    say_words(c, "a long sentence that is still being typed out when the interrupt comes");
    run(c, &d, 300, 305, 1, NULL);
    tc_cap608_clear(c, 1);
    int before = d.edm;
    run(c, &d, 305, 306, 1, NULL);
    assert_int_equal(d.edm, before + 1);
    assert_int_equal(d.used[14], 0);
    assert_int_equal(run(c, &d, 306, 400, 0, NULL), 1); /* the doubled EDM, then nothing */
    assert_false(tc_cap608_busy(c));
    tc_cap608_destroy(c);
}

static void test_pacing_other_rates(void **state)
{
    static const int rates[][3] = {
        {25, 1, 30}, {60, 1, 30}, {30000, 1001, 30}, {24, 1, 30}, {15, 1, 30}};
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        tc_cap608 *c;
        assert_int_equal(tc_cap608_create(&c, 2, rates[i][0], rates[i][1], 1000), TC_OK);
        dec d;
        dec_init(&d);
        for (int w = 0; w < 60; w++)
            say_words(c, "abcdefgh");
        /* one second of frames carries 30 pairs (line 21's rate) */
        int frames = (int)((rates[i][0] + rates[i][1] - 1) / rates[i][1]);
        int maxk = 0, pairs = run(c, &d, 0, frames, 1, &maxk);
        print_message("fps %d/%d: %d pairs in %d frames, at most %d a frame\n", rates[i][0],
                      rates[i][1], pairs, frames, maxk);
        assert_in_range(pairs, 29, 31);
        tc_cap608_destroy(c);
    }
    tc_cap608 *c;
    assert_int_equal(tc_cap608_create(&c, 4, 30, 1, 10), TC_ERR_INVAL);
    assert_int_equal(tc_cap608_create(&c, 2, 0, 1, 10), TC_ERR_INVAL);
}

static void test_full_queue_drops_words(void **state)
{
    tc_cap608 *c;
    assert_int_equal(tc_cap608_create(&c, 2, 30, 1, 30), TC_OK);
    for (int i = 0; i < 2000; i++)
        tc_cap608_word(c, "word", 4);
    tc_cap608_stats st;
    tc_cap608_get_stats(c, &st);
    assert_true(st.dropped > 0);
    assert_int_equal(st.words + st.dropped, 2000);
    dec d;
    dec_init(&d);
    run(c, &d, 0, 5000, 1, NULL);
    assert_int_equal(d.bad_parity, 0);
    tc_cap608_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_parity_one_pair_per_frame),
        cmocka_unit_test(test_line_breaks_roll_up),
        cmocka_unit_test(test_character_sets),
        cmocka_unit_test(test_timing_hold_and_clear),
        cmocka_unit_test(test_pacing_other_rates),
        cmocka_unit_test(test_full_queue_drops_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
