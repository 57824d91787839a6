/* words.c — when each word of a TTS chunk is spoken.
 *
 * espeak-ng reports where each word starts; a word ends where the next one
 * starts, the last one where the voice stops (the last sample above a
 * threshold). HTTP providers report nothing: their words are spread over
 * the voiced stretch of the audio (first to last sample above the
 * threshold) in proportion to their length in characters plus one for the
 * gap — rough, but speech rate is close to even within a sentence and the
 * captions then follow the sentence's pace rather than jumping ahead. */
#include "caption/caption.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>

/* [first, last) samples louder than a small fraction of the peak */
static void voiced(const float *pcm, int64_t n, int64_t *first, int64_t *last)
{
    float peak = 0;
    for (int64_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(pcm[i]));
    float thr = fmaxf(0.005f, peak * 0.05f);
    int64_t a = 0, b = n;
    while (a < n && fabsf(pcm[a]) < thr) a++;
    while (b > a && fabsf(pcm[b - 1]) < thr) b--;
    if (a >= b) a = 0, b = n;
    *first = a;
    *last = b;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static int utf8_chars(const char *s, int len)
{
    int n = 0;
    for (int i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int tc_cap_words(const tc_tts_chunk *c, tc_cap_word **out, int *n)
{
    *out = NULL;
    *n = 0;
    const char *t = c->text ? c->text : "";
    int tlen = 0;
    while (t[tlen]) tlen++;
    int64_t v0 = 0, v1 = c->n_samples;
    if (c->pcm && c->n_samples > 0) voiced(c->pcm, c->n_samples, &v0, &v1);

    if (c->words && c->n_words > 0) {
        tc_cap_word *w = calloc((size_t)c->n_words, sizeof *w);
        if (!w) return TC_ERR_NOMEM;
        int k = 0;
        for (int i = 0; i < c->n_words; i++) {
            int pos = c->words[i].text_pos, len = c->words[i].text_len;
            if (pos < 0 || pos >= tlen || len <= 0) continue;
            if (pos + len > tlen) len = tlen - pos;
            while (len > 0 && is_space(t[pos])) pos++, len--;
            while (len > 0 && is_space(t[pos + len - 1])) len--;
            if (len <= 0) continue;
            int64_t s = c->words[i].start < 0 ? 0 : c->words[i].start;
            if (k > 0 && s < w[k - 1].start) s = w[k - 1].start; /* keep them in order */
            w[k++] = (tc_cap_word){ s, 0, pos, len };
        }
        for (int i = 0; i < k; i++) {
            int64_t e = i + 1 < k ? w[i + 1].start : v1 > w[i].start ? v1 : c->n_samples;
            w[i].end = e > w[i].start ? e : w[i].start + 1;
        }
        if (k == 0) free(w), w = NULL;
        *out = w;
        *n = k;
        return TC_OK;
    }

    /* no word events: split on spaces and spread over the voiced stretch */
    int count = 0, weight = 0;
    for (int i = 0; i < tlen;) {
        while (i < tlen && is_space(t[i])) i++;
        int s = i;
        while (i < tlen && !is_space(t[i])) i++;
        if (i > s) count++, weight += utf8_chars(t + s, i - s) + 1;
    }
    if (count == 0) return TC_OK;
    tc_cap_word *w = calloc((size_t)count, sizeof *w);
    if (!w) return TC_ERR_NOMEM;
    int k = 0, acc = 0;
    double span = (double)(v1 - v0);
    for (int i = 0; i < tlen;) {
        while (i < tlen && is_space(t[i])) i++;
        int s = i;
        while (i < tlen && !is_space(t[i])) i++;
        if (i == s) continue;
        int wt = utf8_chars(t + s, i - s) + 1;
        w[k].start = v0 + (int64_t)(span * acc / weight);
        acc += wt;
        w[k].end = v0 + (int64_t)(span * acc / weight);
        if (w[k].end <= w[k].start) w[k].end = w[k].start + 1;
        w[k].pos = s;
        w[k].len = i - s;
        k++;
    }
    *out = w;
    *n = k;
    return TC_OK;
}
