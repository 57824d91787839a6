/* text.c — what text is fit to speak: valid UTF-8 without control
 * characters, bounded in length, cut into sentences so the first one can
 * be spoken while the rest is synthesized. */
#include "tts/tts.h"
#include "core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decode one UTF-8 sequence at s (len bytes left); returns its length and
 * the code point, or 0 for an invalid sequence (overlong, surrogate, > U+10FFFF). */
static int utf8_next(const unsigned char *s, size_t len, unsigned *cp)
{
    if (s[0] < 0x80) { *cp = s[0]; return 1; }
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || (size_t)n > len) return 0;
    unsigned c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

int tc_tts_sanitize(const char *in, int max_chars, char **out)
{
    *out = NULL;
    if (!in) return TC_ERR_INVAL;
    size_t len = strlen(in);
    char *o = malloc(len * 3 + 1); /* each invalid byte may become 3 bytes of U+FFFD */
    if (!o) return TC_ERR_NOMEM;
    size_t w = 0;
    int chars = 0, pending_space = 0;
    const unsigned char *s = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        int n = utf8_next(s + i, len - i, &cp);
        if (!n) { cp = 0xFFFD; n = 1; }
        int space = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0 || cp == 0x2028 ||
                    cp == 0x2029 || cp == 0x3000;
        int control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xFEFF;
        if (space) {
            /* keep one line break as a sentence boundary, fold the rest */
            if (cp == '\n' || cp == 0x2028 || cp == 0x2029) pending_space = 2;
            else if (!pending_space) pending_space = 1;
        } else if (!control) {
            if (pending_space && w) {
                o[w++] = pending_space == 2 ? '\n' : ' ';
                chars++;
            }
            pending_space = 0;
            if (cp == 0xFFFD && (s[i] & 0x80) && n == 1) {
                memcpy(o + w, "\xEF\xBF\xBD", 3);
                w += 3;
            } else {
                memcpy(o + w, s + i, (size_t)n);
                w += (size_t)n;
            }
            chars++;
        }
        i += (size_t)n;
    }
    o[w] = '\0';
    if (w == 0 || (max_chars > 0 && chars > max_chars)) {
        free(o);
        return TC_ERR_INVAL;
    }
    *out = o;
    return TC_OK;
}

static const char *const abbrevs[] = { "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e",
                                        "jr", "sr", "no", "fig", "approx", "inc", "ltd", "mt" };

/* Does the word ending just before text[i] (a '.') look like an abbreviation? */
static int is_abbrev(const char *text, size_t i)
{
    size_t b = i;
    while (b > 0 && (isalpha((unsigned char)text[b - 1]) || text[b - 1] == '.')) b--;
    size_t n = i - b;
    if (n == 1 && isupper((unsigned char)text[b])) return 1; /* initials: "J. Smith" */
    for (size_t k = 0; k < sizeof abbrevs / sizeof abbrevs[0]; k++)
        if (strlen(abbrevs[k]) == n && !strncasecmp(text + b, abbrevs[k], n)) return 1;
    return 0;
}

static int push(char ***out, int *n, int *cap, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) { s++; len--; }
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (!len) return TC_OK;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        char **p = realloc(*out, (size_t)nc * sizeof *p);
        if (!p) return TC_ERR_NOMEM;
        *out = p;
        *cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return TC_ERR_NOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    (*out)[(*n)++] = c;
    return TC_OK;
}

/* Cut a too-long sentence at the last , ; : or space before max_len,
 * never inside a UTF-8 sequence. */
static size_t cut_point(const char *s, size_t len, size_t max_len)
{
    if (len <= max_len) return len;
    for (size_t i = max_len; i > max_len / 2; i--)
        if (s[i] == ',' || s[i] == ';' || s[i] == ':') return i + 1;
    for (size_t i = max_len; i > max_len / 4; i--)
        if (s[i] == ' ') return i;
    size_t i = max_len;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i ? i : len;
}

int tc_tts_split(const char *text, int max_len, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    int cap = 0, r = TC_OK;
    size_t len = strlen(text), start = 0, ml = max_len > 16 ? (size_t)max_len : 300;
    for (size_t i = 0; i <= len && r == TC_OK; i++) {
        int end = 0;
        size_t stop = i;
        if (i == len || text[i] == '\n') {
            end = 1;
        } else if (text[i] == '!' || text[i] == '?' || text[i] == '.' ||
                   !strncmp(text + i, "\xE2\x80\xA6", 3) /* … */ || !strncmp(text + i, "\xE3\x80\x82", 3)) {
            size_t j = i + ((unsigned char)text[i] >= 0x80 ? 3 : 1);
            while (j < len && strchr(".!?\"')]", text[j])) j++; /* "?!", "...", closing quotes */
            int at_space = j >= len || isspace((unsigned char)text[j]) || (unsigned char)text[i] >= 0x80;
            int number = text[i] == '.' && i > 0 && isdigit((unsigned char)text[i - 1]) && j < len &&
                         isdigit((unsigned char)text[j]);
            if (at_space && !number && !(text[i] == '.' && j == i + 1 && is_abbrev(text, i))) {
                end = 1;
                stop = j;
                i = j - 1;
            }
        }
        if (!end) continue;
        /* emit [start, stop), cut into pieces of at most ml bytes */
        while (r == TC_OK && stop > start) {
            size_t piece = cut_point(text + start, stop - start, ml);
            r = push(out, n, &cap, text + start, piece);
            start += piece;
        }
        start = stop; /* the boundary's own whitespace is trimmed by push() */
    }
    if (r != TC_OK) {
        tc_tts_split_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return r;
}

void tc_tts_split_free(char **s, int n)
{
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}
