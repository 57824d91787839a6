/* words.c — when each word of a TTS chunk is spoken.
 *
 * The words are the sentence's own space-separated tokens, so captions show
 * every word with its punctuation, whatever the provider reports. Their
 * times come from the provider's word events where it has them (espeak-ng:
 * an event's text position falls inside a token; the earliest such event
 * is the token's start). Tokens without an event — all of them for HTTP
 * providers, and e.g. quoted words espeak skips — are spread over the gap
 * between their timed neighbours (or the voiced stretch of the audio: first
 * to last sample above a threshold) in proportion to their length in
 * characters plus one for the gap. Speech rate is close to even within a
 * sentence, so captions follow its pace rather than jumping ahead. A word
 * ends where the next begins; the last where the voice stops. */
#include "caption/caption.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* [first, last) samples louder than a small fraction of the peak */
static void voiced(const float *pcm, int64_t n, int64_t *first, int64_t *last)
{
    float peak = 0;
    for (int64_t i = 0; i < n; i++)
        peak = fmaxf(peak, fabsf(pcm[i]));
    float thr = fmaxf(0.005f, peak * 0.05f);
    int64_t a = 0, b = n;
    while (a < n && fabsf(pcm[a]) < thr)
        a++;
    while (b > a && fabsf(pcm[b - 1]) < thr)
        b--;
    if (a >= b) a = 0, b = n;
    *first = a;
    *last = b;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int tc_cap_utf8_chars(const char *s, int len)
{
    int n = 0;
    for (int i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int weight(const char *s, int len) { return 1 + tc_cap_utf8_chars(s, len); }

/* The next space-separated token of t[*at..tlen): its start (and *len),
 * or -1 when none is left; *at moves past it. */
static int next_word(const char *t, int tlen, int *at, int *len)
{
    int i = *at;
    while (i < tlen && is_space(t[i]))
        i++;
    int s = i;
    while (i < tlen && !is_space(t[i]))
        i++;
    *at = i;
    *len = i - s;
    return i > s ? s : -1;
}

int tc_cap_words(const tc_tts_chunk *c, tc_cap_word **out, int *n)
{
    *out = NULL;
    *n = 0;
    const char *t = c->text ? c->text : "";
    int tlen = (int)strlen(t);
    int count = 0, at = 0, len;
    while (next_word(t, tlen, &at, &len) >= 0)
        count++;
    if (count == 0) return TC_OK;
    tc_cap_word *w = calloc((size_t)count, sizeof *w);
    if (!w) return TC_ERR_NOMEM;
    int k = 0;
    at = 0;
    for (int s; (s = next_word(t, tlen, &at, &len)) >= 0;)
        w[k++] = (tc_cap_word){-1, 0, s, len};
    int64_t v0 = 0, v1 = c->n_samples > 0 ? c->n_samples : 1;
    if (c->pcm && c->n_samples > 0) voiced(c->pcm, c->n_samples, &v0, &v1);

    /* timed tokens: the earliest event inside each */
    for (int e = 0; c->words && e < c->n_words; e++) {
        int p = c->words[e].text_pos;
        int64_t st = c->words[e].start;
        if (st < 0 || st >= v1) continue;
        for (int i = 0; i < k; i++)
            if (p >= w[i].pos && p < w[i].pos + w[i].len && (w[i].start < 0 || st < w[i].start))
                w[i].start = st;
    }
    /* keep the timed ones in order: a start before an earlier token's is dropped */
    int64_t last = -1;
    for (int i = 0; i < k; i++) {
        if (w[i].start < 0) continue;
        if (w[i].start < last)
            w[i].start = -1;
        else
            last = w[i].start;
    }
    /* spread the untimed ones over the gap between timed neighbours */
    for (int i = 0; i < k;) {
        if (w[i].start >= 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < k && w[j].start < 0)
            j++;
        int64_t a = i > 0 ? w[i - 1].start : v0, b = j < k ? w[j].start : v1;
        if (i > 0 && j == k && a >= b) b = c->n_samples > a ? c->n_samples : a + 1;
        int total = 0, acc = 0;
        for (int m = i - (i > 0); m < j; m++)
            total += weight(t + w[m].pos, w[m].len);
        if (i > 0)
            acc = weight(t + w[i - 1].pos, w[i - 1].len); /* the timed one before takes its share */
        for (int m = i; m < j; m++) {
            w[m].start = a + (int64_t)((double)(b - a) * acc / total);
            acc += weight(t + w[m].pos, w[m].len);
        }
        i = j;
    }
    for (int i = 0; i < k; i++) {
        int64_t e = i + 1 < k ? w[i + 1].start : v1 > w[i].start ? v1 : c->n_samples;
        w[i].end = e > w[i].start ? e : w[i].start + 1;
    }
    *out = w;
    *n = k;
    return TC_OK;
}
