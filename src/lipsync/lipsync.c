/* lipsync.c — viseme table, phoneme classification, the per-frame mouth
 * track with coarticulation, and the audio-only estimator. */
#include "lipsync/lipsync.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The viseme table: name and mouth at full strength (open, width, round,
 * press, teeth). Rhubarb's shapes A–H/X map to: X=REST, A=MBP, G=FV,
 * B=CONS/EE, C=EE, D=AA, E=OO, F=UW, H=TH. */
static const struct { const char *name; tc_mouth m; } visemes[TC_VIS_COUNT] = {
    [TC_VIS_REST] = { "rest", { 0.00f, 0.00f, 0.00f, 0.00f, 0.00f } },
    [TC_VIS_MBP] = { "mbp", { 0.00f, 0.00f, 0.00f, 1.00f, 0.00f } },
    [TC_VIS_FV] = { "fv", { 0.15f, 0.15f, 0.00f, 0.00f, 1.00f } },
    [TC_VIS_TH] = { "th", { 0.30f, 0.15f, 0.00f, 0.00f, 0.50f } },
    [TC_VIS_CONS] = { "cons", { 0.25f, 0.25f, 0.00f, 0.00f, 0.50f } },
    [TC_VIS_SH] = { "sh", { 0.25f, 0.00f, 0.60f, 0.00f, 0.60f } },
    [TC_VIS_EE] = { "ee", { 0.40f, 0.80f, 0.00f, 0.00f, 0.50f } },
    [TC_VIS_AA] = { "aa", { 0.90f, 0.30f, 0.00f, 0.00f, 0.30f } },
    [TC_VIS_OO] = { "oo", { 0.60f, 0.00f, 0.80f, 0.00f, 0.10f } },
    [TC_VIS_UW] = { "uw", { 0.25f, 0.00f, 1.00f, 0.00f, 0.00f } },
};

const char *tc_viseme_name(tc_viseme v) { return v < TC_VIS_COUNT ? visemes[v].name : "?"; }
tc_mouth tc_viseme_mouth(tc_viseme v) { return visemes[v < TC_VIS_COUNT ? v : TC_VIS_REST].m; }

/* espeak-ng mnemonics (English and the other languages share most) and
 * IPA: classified by their leading symbol. */
tc_viseme tc_lips_viseme_of(const char *p)
{
    if (!p || !*p || p[0] == '_' || p[0] == ' ') return TC_VIS_REST;
    if (!strncmp(p, "tS", 2) || !strncmp(p, "dZ", 2)) return TC_VIS_SH;
    /* IPA in UTF-8 */
    static const struct { const char *ipa; tc_viseme v; } ipa[] = {
        { "\xCA\x83", TC_VIS_SH }, { "\xCA\x92", TC_VIS_SH },   /* ʃ ʒ */
        { "\xCE\xB8", TC_VIS_TH }, { "\xC3\xB0", TC_VIS_TH },   /* θ ð */
        { "\xC9\x99", TC_VIS_AA }, { "\xC9\x91", TC_VIS_AA }, { "\xCA\x8C", TC_VIS_AA }, /* ə ɑ ʌ */
        { "\xC3\xA6", TC_VIS_AA }, { "\xC9\x9C", TC_VIS_AA }, { "\xC9\x90", TC_VIS_AA }, /* æ ɜ ɐ */
        { "\xC9\x94", TC_VIS_OO }, { "\xC9\x92", TC_VIS_OO }, { "\xC3\xB8", TC_VIS_OO }, /* ɔ ɒ ø */
        { "\xC5\x93", TC_VIS_OO }, { "\xCA\x8A", TC_VIS_UW }, { "\xC9\xAF", TC_VIS_UW }, /* œ ʊ ɯ */
        { "\xC9\x9B", TC_VIS_EE }, { "\xC9\xAA", TC_VIS_EE }, { "\xCA\x8F", TC_VIS_EE }, /* ɛ ɪ ʏ */
        { "\xC5\x8B", TC_VIS_CONS }, { "\xC9\xB9", TC_VIS_CONS }, { "\xC9\xBE", TC_VIS_CONS }, /* ŋ ɹ ɾ */
        { "\xC9\xB1", TC_VIS_MBP }, /* ɱ */
    };
    for (size_t i = 0; i < sizeof ipa / sizeof ipa[0]; i++)
        if (!strncmp(p, ipa[i].ipa, strlen(ipa[i].ipa))) return ipa[i].v;
    switch (p[0]) {
    case 'p': case 'b': case 'm': return TC_VIS_MBP;
    case 'f': case 'v': return TC_VIS_FV;
    case 'T': case 'D': case 'l': case 'L': return TC_VIS_TH;
    case 'S': case 'Z': case 'C': case 'c': return TC_VIS_SH;
    case 'w': case 'W': case 'u': case 'U': return TC_VIS_UW;
    case 'o': case 'O': case '0': case 'Q': return TC_VIS_OO;
    case 'i': case 'I': case 'e': case 'E': case 'y': case 'Y': return TC_VIS_EE;
    case 'a': case 'A': case '@': case 'V': case '3': case '&': case '6': return TC_VIS_AA;
    default: return TC_VIS_CONS; /* t d n s z k g r j h x … */
    }
}

static double spf(const tc_lips_config *c) { return (double)c->sample_rate * c->fps_den / c->fps_num; }

int tc_lips_visemes(const tc_lips_config *cfg, const tc_phoneme *ph, int n_ph, int64_t n_samples,
                    tc_viseme **out, int64_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!cfg || cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->sample_rate <= 0 || n_samples < 0)
        return TC_ERR_INVAL;
    double fs = spf(cfg);
    int64_t nf = (int64_t)ceil((double)n_samples / fs);
    tc_viseme *v = calloc((size_t)(nf ? nf : 1), sizeof *v);
    if (!v) return TC_ERR_NOMEM;
    double lead = (cfg->lead_s > 0 ? cfg->lead_s : 0.03) * cfg->sample_rate;
    double max_lead = 2 * fs; /* never more than ~2 frames ahead */
    if (lead > max_lead) lead = max_lead;
    double pause = (cfg->pause_s > 0 ? cfg->pause_s : 0.3) * cfg->sample_rate;

    /* 1. the phoneme under each frame's centre, looked up `lead` ahead */
    int j = 0;
    for (int64_t k = 0; k < nf; k++) {
        double t = (k + 0.5) * fs + lead;
        while (j + 1 < n_ph && ph[j].end <= t) j++;
        tc_viseme vis = TC_VIS_REST;
        if (n_ph && t >= ph[j].start && t < ph[j].end) {
            vis = tc_lips_viseme_of(ph[j].name);
            /* short pauses keep the mouth where it was; long ones rest */
            if (vis == TC_VIS_REST && ph[j].end - ph[j].start < pause && k > 0) vis = v[k - 1];
        }
        v[k] = vis;
    }
    /* 2. every bilabial shows as closed in at least one frame */
    for (int i = 0; i < n_ph; i++) {
        if (tc_lips_viseme_of(ph[i].name) != TC_VIS_MBP) continue;
        double mid = (ph[i].start + ph[i].end) / 2.0 - lead;
        int64_t k = (int64_t)(mid / fs);
        if (k >= 0 && k < nf) v[k] = TC_VIS_MBP;
    }
    /* 3. hold every shape at least 2 frames: a lone frame takes its
     *    predecessor's shape — unless it is a bilabial closure */
    for (int64_t k = 1; k + 1 < nf; k++)
        if (v[k] != v[k - 1] && v[k] != v[k + 1] && v[k] != TC_VIS_MBP) v[k] = v[k - 1];
    *out = v;
    *n_out = nf;
    return TC_OK;
}

static float lerp(float a, float b, float t) { return a + (b - a) * t; }

#define ESTIMATE_RANGE_DB 24.0f /* loudness range mapped onto the jaw */

/* Per-frame loudness mapped to 0..1: the 90th-percentile frame is 1,
 * ESTIMATE_RANGE_DB below it is 0. Also returns each frame's zero-crossing
 * rate when zcr is not NULL. *loud (and *zcr) are malloc'ed, nf entries. */
static int loudness(const tc_lips_config *cfg, const float *pcm, int64_t n_samples, int64_t nf,
                    float **loud, float **zcr);

int tc_lips_track(const tc_lips_config *cfg, const tc_phoneme *ph, int n_ph, const float *pcm,
                  int64_t n_samples, tc_mouth **out, int64_t *n_out)
{
    tc_viseme *v;
    int64_t nf;
    int r = tc_lips_visemes(cfg, ph, n_ph, n_samples, &v, &nf);
    if (r < 0) return r;
    tc_mouth *m = calloc((size_t)(nf ? nf : 1), sizeof *m);
    if (!m) {
        free(v);
        return TC_ERR_NOMEM;
    }
    /* Blend each frame half-way toward its neighbours' mean ([¼ ½ ¼]) so
     * shapes flow; closures stay exact, and the last frame eases shut. */
    for (int64_t k = 0; k < nf; k++) {
        tc_mouth c = tc_viseme_mouth(v[k]);
        tc_mouth a = tc_viseme_mouth(v[k > 0 ? k - 1 : k]), b = tc_viseme_mouth(v[k + 1 < nf ? k + 1 : k]);
        if (k + 1 == nf) b = tc_viseme_mouth(TC_VIS_REST);
        if (v[k] == TC_VIS_MBP) {
            m[k] = c;
            continue;
        }
        m[k].open = 0.5f * c.open + 0.25f * (a.open + b.open);
        m[k].width = 0.5f * c.width + 0.25f * (a.width + b.width);
        m[k].round = 0.5f * c.round + 0.25f * (a.round + b.round);
        m[k].teeth = 0.5f * c.teeth + 0.25f * (a.teeth + b.teeth);
        m[k].press = 0;
    }
    if (pcm && nf) {
        float *loud;
        if (loudness(cfg, pcm, n_samples, nf, &loud, NULL) == TC_OK) {
            for (int64_t k = 0; k < nf; k++)
                if (v[k] != TC_VIS_MBP) m[k].open *= 0.4f + 0.6f * loud[k];
            free(loud);
        }
    }
    if (nf >= 2) m[nf - 1].open = lerp(m[nf - 2].open, 0, 0.6f);
    free(v);
    *out = m;
    *n_out = nf;
    return TC_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int loudness(const tc_lips_config *cfg, const float *pcm, int64_t n_samples, int64_t nf,
                    float **loud, float **zcr)
{
    double fs = spf(cfg), lead = (cfg->lead_s > 0 ? cfg->lead_s : 0.03) * cfg->sample_rate;
    float *db = malloc((size_t)nf * sizeof *db), *sorted = malloc((size_t)nf * sizeof *sorted);
    float *z = zcr ? malloc((size_t)nf * sizeof *z) : NULL;
    if (!db || !sorted || (zcr && !z)) {
        free(db);
        free(sorted);
        free(z);
        return TC_ERR_NOMEM;
    }
    for (int64_t k = 0; k < nf; k++) {
        int64_t a = (int64_t)(k * fs + lead), b = (int64_t)((k + 1) * fs + lead);
        if (a > n_samples) a = n_samples;
        if (b > n_samples) b = n_samples;
        double e = 0;
        int zc = 0;
        for (int64_t i = a; i < b; i++) {
            e += (double)pcm[i] * pcm[i];
            if (i > a && (pcm[i] < 0) != (pcm[i - 1] < 0)) zc++;
        }
        db[k] = (float)(20 * log10((b > a ? sqrt(e / (double)(b - a)) : 0) + 1e-6));
        if (z) z[k] = b > a ? (float)zc / (float)(b - a) : 0;
    }
    memcpy(sorted, db, (size_t)nf * sizeof *sorted);
    qsort(sorted, (size_t)nf, sizeof *sorted, cmp_float);
    float top = sorted[(nf * 9) / 10];
    free(sorted);
    for (int64_t k = 0; k < nf; k++) {
        float o = (db[k] - (top - ESTIMATE_RANGE_DB)) / ESTIMATE_RANGE_DB;
        db[k] = o < 0 ? 0 : o > 1 ? 1 : o;
    }
    *loud = db;
    if (zcr) *zcr = z;
    return TC_OK;
}

int tc_lips_estimate(const tc_lips_config *cfg, const float *pcm, int64_t n_samples, tc_mouth **out,
                     int64_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!cfg || cfg->fps_num <= 0 || cfg->fps_den <= 0 || cfg->sample_rate <= 0 || (n_samples && !pcm))
        return TC_ERR_INVAL;
    int64_t nf = (int64_t)ceil((double)n_samples / spf(cfg));
    tc_mouth *m = calloc((size_t)(nf ? nf : 1), sizeof *m);
    if (!m) return TC_ERR_NOMEM;
    if (!nf) {
        *out = m;
        return TC_OK;
    }
    /* Calibrated against espeak-ng speech with known phonemes
     * (tests/lipsync): loudness drives the jaw; a high zero-crossing rate
     * (fricatives) shows teeth and narrows the opening. */
    float *loud, *zcr;
    int r = loudness(cfg, pcm, n_samples, nf, &loud, &zcr);
    if (r < 0) {
        free(m);
        return r;
    }
    for (int64_t k = 0; k < nf; k++) {
        float fric = zcr[k] > 0.15f ? (zcr[k] - 0.15f) * 5 : 0;
        fric = fric > 1 ? 1 : fric;
        m[k].open = loud[k] * (1 - 0.5f * fric) * 0.9f;
        m[k].teeth = 0.3f * loud[k] + 0.6f * fric;
        m[k].width = 0.3f * loud[k];
    }
    /* smooth like the phoneme track ([¼ ½ ¼] of the unsmoothed values),
     * and ease shut at the end */
    float prev = m[0].open;
    for (int64_t k = 1; k + 1 < nf; k++) {
        float cur = m[k].open;
        m[k].open = 0.5f * cur + 0.25f * (prev + m[k + 1].open);
        prev = cur;
    }
    m[nf - 1].open *= 0.4f;
    free(loud);
    free(zcr);
    *out = m;
    *n_out = nf;
    return TC_OK;
}
