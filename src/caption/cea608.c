/* cea608.c — CEA-608 roll-up captions on CC1 (field 1), paced per frame.
 *
 * Words become byte pairs in a preallocated ring at the moment they are
 * queued; each frame takes as many pairs as line 21 carries (30 a second).
 * Control codes (RU2/RU3, PAC, CR, EDM) and special/extended characters are
 * sent twice, as the standard asks, so a decoder that misses one still
 * acts; decoders ignore an identical repeat. Basic characters go two per
 * pair. Nothing here allocates after create. */
#include "caption/caption.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define RING       2048 /* pairs: over a minute of text at 30/s */
#define WORD_CELLS 96

#define CTL      0x14 /* misc control codes, data channel 1 (CC1) */
#define RU2      0x25
#define RU3      0x26
#define EDM      0x2C /* erase displayed memory */
#define CR       0x2D /* carriage return: roll up */
#define PAC15_HI 0x14 /* preamble address code, row 15, col 0, white */
#define PAC15_LO 0x60

struct tc_cap608 {
    int rows, hold;
    int per_frame_1;            /* exactly one pair per frame (29.97/30 fps) */
    int64_t rate_num, rate_den; /* otherwise pairs per frame = 30 * den / num */
    uint8_t ring[RING][2];
    int head, count;
    int shown; /* roll-up started: something is (or will be) on screen */
    int col;   /* cursor column on the base row */
    int quiet; /* frames since speech was last on air */
    tc_cap608_stats st;
};

static uint8_t odd(uint8_t b)
{
    b &= 0x7F;
    int ones = __builtin_popcount(b);
    return (uint8_t)(ones % 2 ? b : b | 0x80);
}

static int push(tc_cap608 *c, uint8_t b1, uint8_t b2)
{
    if (c->count == RING) return TC_ERR_AGAIN;
    uint8_t *p = c->ring[(c->head + c->count) % RING];
    p[0] = b1;
    p[1] = b2;
    c->count++;
    return TC_OK;
}

static void push2(tc_cap608 *c, uint8_t b1, uint8_t b2)
{
    push(c, b1, b2);
    push(c, b1, b2);
}

int tc_cap608_create(tc_cap608 **out, int rows, int fps_num, int fps_den, int hold_frames)
{
    *out = NULL;
    if ((rows != 2 && rows != 3) || fps_num <= 0 || fps_den <= 0 || hold_frames < 1)
        return TC_ERR_INVAL;
    tc_cap608 *c = calloc(1, sizeof *c);
    if (!c) return TC_ERR_NOMEM;
    c->rows = rows;
    c->hold = hold_frames;
    double fps = (double)fps_num / fps_den;
    c->per_frame_1 = fps > 29.9 && fps < 30.01;
    c->rate_num = 30 * (int64_t)fps_den;
    c->rate_den = fps_num;
    *out = c;
    return TC_OK;
}

void tc_cap608_destroy(tc_cap608 *c)
{
    free(c);
}

/* ---- character mapping ---------------------------------------------------- */

/* Latin-1 letters U+00C0..U+00FF and Latin Extended-A U+0100..U+017F
 * reduced to a base letter, for those 608 lacks. */
static const char latin1_base[] = "AAAAAAACEEEEIIII"
                                  "DNOOOOOxOUUUUYTs"
                                  "aaaaaaaceeeeiiii"
                                  "dnooooo/ouuuuyty";
static const char latin_ext_a_base[] = "AaAaAaCcCcCcCcDd"
                                       "DdEeEeEeEeEeGgGg"
                                       "GgGgHhHhIiIiIiIi"
                                       "IiJjJjKkkLlLlLlL"
                                       "lLlNnNnNnnNnOoOo"
                                       "OoOoRrRrRrSsSsSs"
                                       "SsTtTtTtUuUuUuUu"
                                       "UuUuWwYyYZzZzZzs";

typedef struct map_ent {
    uint32_t cp;
    uint8_t b, hi, lo;
} map_ent;

/* Characters 608 has outside ASCII, and ASCII ones whose code 608 reuses. */
static const map_ent table[] = {
    /* basic set: the codes 608 gives other meanings */
    {0xE1, 0x2A, 0, 0},
    {0xE9, 0x5C, 0, 0},
    {0xED, 0x5E, 0, 0},
    {0xF3, 0x5F, 0, 0},
    {0xFA, 0x60, 0, 0},
    {0xE7, 0x7B, 0, 0},
    {0xF7, 0x7C, 0, 0},
    {0xD1, 0x7D, 0, 0},
    {0xF1, 0x7E, 0, 0},
    {0x2588, 0x7F, 0, 0},
    {0x2019, 0x27, 0, 0},
    /* special set (0x11 0x30-0x3F) */
    {0xAE, 0, 0x11, 0x30},
    {0xB0, 0, 0x11, 0x31},
    {0xBD, 0, 0x11, 0x32},
    {0xBF, 0, 0x11, 0x33},
    {0x2122, 0, 0x11, 0x34},
    {0xA2, 0, 0x11, 0x35},
    {0xA3, 0, 0x11, 0x36},
    {0x266A, 0, 0x11, 0x37},
    {0xE0, 0, 0x11, 0x38},
    {0xA0, 0, 0x11, 0x39},
    {0xE8, 0, 0x11, 0x3A},
    {0xE2, 0, 0x11, 0x3B},
    {0xEA, 0, 0x11, 0x3C},
    {0xEE, 0, 0x11, 0x3D},
    {0xF4, 0, 0x11, 0x3E},
    {0xFB, 0, 0x11, 0x3F},
    /* extended Spanish/French/misc (0x12 0x20-0x3F), after a basic fallback */
    {0xC1, 'A', 0x12, 0x20},
    {0xC9, 'E', 0x12, 0x21},
    {0xD3, 'O', 0x12, 0x22},
    {0xDA, 'U', 0x12, 0x23},
    {0xDC, 'U', 0x12, 0x24},
    {0xFC, 'u', 0x12, 0x25},
    {0x2018, 0x27, 0x12, 0x26},
    {0xA1, '!', 0x12, 0x27},
    {'*', '.', 0x12, 0x28},
    {0x2014, '-', 0x12, 0x2A},
    {0xA9, 'c', 0x12, 0x2B},
    {0x2120, 's', 0x12, 0x2C},
    {0x2022, '.', 0x12, 0x2D},
    {0x201C, '"', 0x12, 0x2E},
    {0x201D, '"', 0x12, 0x2F},
    {0xC0, 'A', 0x12, 0x30},
    {0xC2, 'A', 0x12, 0x31},
    {0xC7, 'C', 0x12, 0x32},
    {0xC8, 'E', 0x12, 0x33},
    {0xCA, 'E', 0x12, 0x34},
    {0xCB, 'E', 0x12, 0x35},
    {0xEB, 'e', 0x12, 0x36},
    {0xCE, 'I', 0x12, 0x37},
    {0xCF, 'I', 0x12, 0x38},
    {0xEF, 'i', 0x12, 0x39},
    {0xD4, 'O', 0x12, 0x3A},
    {0xD9, 'U', 0x12, 0x3B},
    {0xF9, 'u', 0x12, 0x3C},
    {0xDB, 'U', 0x12, 0x3D},
    {0xAB, '"', 0x12, 0x3E},
    {0xBB, '"', 0x12, 0x3F},
    /* extended Portuguese/German/Danish (0x13 0x20-0x3F) */
    {0xC3, 'A', 0x13, 0x20},
    {0xE3, 'a', 0x13, 0x21},
    {0xCD, 'I', 0x13, 0x22},
    {0xCC, 'I', 0x13, 0x23},
    {0xEC, 'i', 0x13, 0x24},
    {0xD2, 'O', 0x13, 0x25},
    {0xF2, 'o', 0x13, 0x26},
    {0xD5, 'O', 0x13, 0x27},
    {0xF5, 'o', 0x13, 0x28},
    {'{', '(', 0x13, 0x29},
    {'}', ')', 0x13, 0x2A},
    {'\\', '/', 0x13, 0x2B},
    {'^', 0x27, 0x13, 0x2C},
    {'_', '-', 0x13, 0x2D},
    {'|', '!', 0x13, 0x2E},
    {'~', '-', 0x13, 0x2F},
    {0xC4, 'A', 0x13, 0x30},
    {0xE4, 'a', 0x13, 0x31},
    {0xD6, 'O', 0x13, 0x32},
    {0xF6, 'o', 0x13, 0x33},
    {0xDF, 's', 0x13, 0x34},
    {0xA5, 'Y', 0x13, 0x35},
    {0xA4, 'o', 0x13, 0x36},
    {0xA6, '!', 0x13, 0x37},
    {0xC5, 'A', 0x13, 0x38},
    {0xE5, 'a', 0x13, 0x39},
    {0xD8, 'O', 0x13, 0x3A},
    {0xF8, 'o', 0x13, 0x3B},
};

/* Transliterations into several basic characters. */
static const struct {
    uint32_t cp;
    const char *s;
} translit[] = {
    {0x20AC, "EUR"}, {0x152, "OE"}, {0x153, "oe"}, {0xC6, "AE"}, {0xE6, "ae"},  {0x2026, "..."},
    {0x2013, "-"},   {0x2212, "-"}, {0xD7, "x"},   {0x60, "'"},  {0x201A, ","}, {0x201E, "\""},
    {0x2039, "<"},   {0x203A, ">"}, {0xB1, "+-"},  {0xB2, "2"},  {0xB3, "3"},   {0xB9, "1"},
    {0xBC, "1/4"},   {0xBE, "3/4"}, {0xA7, "S"},   {0xB5, "u"},  {0xB7, "."},   {0x20BD, "RUB"},
};

int tc_cap608_map(uint32_t cp, tc_cap608_cell out[3])
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (table[i].cp == cp) {
            out[0] = (tc_cap608_cell){table[i].b, table[i].hi, table[i].lo};
            return 1;
        }
    if (cp >= 0x20 && cp < 0x7F) { /* ASCII the basic set shares */
        out[0] = (tc_cap608_cell){(uint8_t)cp, 0, 0};
        return 1;
    }
    for (size_t i = 0; i < sizeof translit / sizeof *translit; i++)
        if (translit[i].cp == cp) {
            int n = 0;
            for (const char *s = translit[i].s; *s && n < 3; s++)
                n += tc_cap608_map((uint8_t)*s, out + n);
            return n;
        }
    char base = 0;
    if (cp >= 0xC0 && cp <= 0xFF)
        base = latin1_base[cp - 0xC0];
    else if (cp >= 0x100 && cp <= 0x17F)
        base = latin_ext_a_base[cp - 0x100];
    if (base) return tc_cap608_map((uint8_t)base, out);
    return 0; /* 608 cannot carry it: dropped */
}

/* Decode one UTF-8 character at s (n bytes left); invalid bytes give
 * U+FFFD (dropped later). Returns its length. */
static int utf8_next(const unsigned char *s, int n, uint32_t *cp)
{
    int len = s[0] < 0x80             ? 1
              : (s[0] & 0xE0) == 0xC0 ? 2
              : (s[0] & 0xF0) == 0xE0 ? 3
              : (s[0] & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = len == 1 ? s[0] : len == 2 ? s[0] & 0x1Fu : len == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

/* ---- encoder ---------------------------------------------------------------- */

/* Send cells [0, n): basic bytes two to a pair, special/extended codes
 * in pairs of their own (doubled). */
static void send_cells(tc_cap608 *c, const tc_cap608_cell *cells, int n)
{
    uint8_t half = 0;
    for (int i = 0; i < n; i++) {
        if (cells[i].b) {
            if (half) {
                push(c, half, cells[i].b);
                half = 0;
            } else {
                half = cells[i].b;
            }
        }
        if (cells[i].hi) {
            if (half) push(c, half, 0);
            half = 0;
            push2(c, cells[i].hi, cells[i].lo);
        }
    }
    if (half) push(c, half, 0);
}

void tc_cap608_word(tc_cap608 *c, const char *utf8, int len)
{
    tc_cap608_cell cells[WORD_CELLS];
    int n = 0;
    const unsigned char *s = (const unsigned char *)utf8;
    for (int i = 0; i < len && n + 3 <= WORD_CELLS;) {
        uint32_t cp;
        i += utf8_next(s + i, len - i, &cp);
        if (cp == ' ' || cp == '\t' || cp == '\n') continue;
        n += tc_cap608_map(cp, cells + n);
    }
    if (n == 0) return;
    /* worst case: roll-up start (6 pairs), a CR per row (2), two pairs a cell */
    if (RING - c->count < 8 + 2 * (n / TC_CAP608_COLS + 1) + 2 * n) {
        c->st.dropped++;
        return;
    }
    if (!c->shown) {
        push2(c, CTL, c->rows == 3 ? RU3 : RU2);
        push2(c, PAC15_HI, PAC15_LO);
        c->shown = 1;
        c->col = 0;
    }
    for (int at = 0; at < n;) {
        int take = n - at;
        if (take > TC_CAP608_COLS) take = TC_CAP608_COLS;
        int space = c->col > 0;
        if (c->col + space + take > TC_CAP608_COLS) {
            push2(c, CTL, CR);
            c->col = 0;
            space = 0;
        }
        if (space) {
            tc_cap608_cell sp[WORD_CELLS + 1];
            sp[0] = (tc_cap608_cell){' ', 0, 0};
            memcpy(sp + 1, cells + at, (size_t)take * sizeof *sp);
            send_cells(c, sp, take + 1);
        } else {
            send_cells(c, cells + at, take);
        }
        c->col += space + take;
        at += take;
    }
    c->st.words++;
}

void tc_cap608_clear(tc_cap608 *c, int now)
{
    if (now) c->count = 0;
    if (!c->shown) return;
    push2(c, CTL, EDM);
    c->shown = 0;
    c->col = 0;
    c->st.clears++;
}

int tc_cap608_tick(tc_cap608 *c, int64_t n, int speaking, uint8_t *cc)
{
    c->quiet = speaking ? 0 : c->quiet + 1;
    if (c->shown && c->quiet >= c->hold) tc_cap608_clear(c, 0);
    int pairs = 1;
    if (!c->per_frame_1) /* pairs due by frame n+1 minus those due by frame n */
        pairs = (int)((n + 1) * c->rate_num / c->rate_den - n * c->rate_num / c->rate_den);
    if (pairs > TC_CAP608_MAX_PAIRS) pairs = TC_CAP608_MAX_PAIRS;
    int k = 0;
    for (; k < pairs && c->count > 0; k++) {
        const uint8_t *p = c->ring[c->head];
        cc[3 * k] = 0xFC; /* marker bits, cc_valid, cc_type 0: NTSC field 1 */
        cc[3 * k + 1] = odd(p[0]);
        cc[3 * k + 2] = odd(p[1]);
        c->head = (c->head + 1) % RING;
        c->count--;
    }
    c->st.pairs += k;
    if (k == 0 && c->shown) {
        /* null padding while captions are up, as line 21 always carries
         * something: decoders that refresh on a timer (FFmpeg's real-time
         * mode) see the last characters without waiting for more text */
        cc[0] = 0xFC;
        cc[1] = cc[2] = 0x80;
        return 1;
    }
    return k;
}

int tc_cap608_busy(const tc_cap608 *c)
{
    return c->shown || c->count > 0;
}

void tc_cap608_get_stats(const tc_cap608 *c, tc_cap608_stats *st)
{
    *st = c->st;
}
