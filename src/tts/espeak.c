/* espeak.c — espeak-ng in-process: the offline default, with the exact
 * sample position of every phoneme and word.
 *
 * espeak-ng keeps global state and is not thread-safe: every call into it
 * happens under `espeak_lock`, and the library is initialised once per
 * process and never terminated: espeak_Terminate() followed by a new
 * espeak_Initialize() deadlocks in espeak-ng 1.51 (seen here: the second
 * Terminate waits forever on its event thread), so the library stays up
 * until exit, like any process-lifetime singleton. Synthesis is synchronous; the
 * callback gets 20 ms buffers, so a cancel flag is seen within 20 ms of
 * audio (well under a millisecond of wall time). */
#include "tts/tts.h"
#include "core/err.h"
#include "core/log.h"
#include "tts/resample.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <espeak-ng/speak_lib.h>

static const tc_log_ctx log_ctx = { "tts", "espeak" };

static pthread_mutex_t espeak_lock = PTHREAD_MUTEX_INITIALIZER; /* guards all espeak calls and below */
static int espeak_rate; /* native sample rate (22050); 0 = not initialised */
static struct synth_job *current_job; /* the synthesis in progress (callback's target) */

typedef struct espeak_priv {
    tc_tts_config cfg;
    char voice[96];
    int registered;
} espeak_priv;

/* State of one synthesis, reached from the callback via current_job. */
typedef struct synth_job {
    int16_t *pcm;
    int64_t n, cap;
    tc_phoneme *ph;
    int n_ph, cap_ph;
    tc_word *words;
    int n_words, cap_words;
    const atomic_int *cancel;
    int failed;
} synth_job;

static int grow(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap) return 0;
    int64_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * size);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static int synth_cb(short *wav, int n, espeak_EVENT *ev)
{
    synth_job *job = current_job; /* espeak_lock is held by espeak_synth */
    if (!job) return 0;
    if (job->cancel && atomic_load(job->cancel)) return 1; /* abort synthesis */
    if (n > 0) {
        if (grow((void **)&job->pcm, &job->cap, job->n + n, sizeof(int16_t)) < 0) { job->failed = 1; return 1; }
        memcpy(job->pcm + job->n, wav, (size_t)n * sizeof(int16_t));
        job->n += n;
    }
    for (; ev->type != espeakEVENT_LIST_TERMINATED; ev++) {
        if (ev->type == espeakEVENT_PHONEME) {
            int64_t c = job->cap_ph;
            if (grow((void **)&job->ph, &c, job->n_ph + 1, sizeof(tc_phoneme)) < 0) { job->failed = 1; return 1; }
            job->cap_ph = (int)c;
            tc_phoneme *p = &job->ph[job->n_ph++];
            memset(p, 0, sizeof *p);
            memcpy(p->name, ev->id.string, 8);
            p->name[8] = '\0';
            p->start = ev->sample;
        } else if (ev->type == espeakEVENT_WORD) {
            int64_t c = job->cap_words;
            if (grow((void **)&job->words, &c, job->n_words + 1, sizeof(tc_word)) < 0) { job->failed = 1; return 1; }
            job->cap_words = (int)c;
            job->words[job->n_words++] = (tc_word){ ev->sample, ev->text_position - 1, ev->length };
        }
    }
    return 0;
}

/* A voice by name ("English (Great Britain)", "en-gb-scotland", "de") or,
 * failing that, by the language column of `talkcast voices` ("en-gb"). The
 * caller holds espeak_lock. */
static int language_listed(const char *lang)
{
    const espeak_VOICE **v = espeak_ListVoices(NULL);
    for (; v && *v; v++) /* languages: (priority byte, name, NUL)..., NUL */
        for (const char *l = (*v)->languages; l && *l; l += strlen(l + 1) + 2)
            if (!strcmp(l + 1, lang)) return 1;
    return 0;
}

static int set_voice(const char *voice)
{
    if (espeak_SetVoiceByName(voice) == EE_OK) return 1;
    /* by properties espeak picks *some* voice for any string: only for a
     * language a voice really lists */
    if (!language_listed(voice)) return 0;
    espeak_VOICE want = { .languages = voice };
    return espeak_SetVoiceByProperties(&want) == EE_OK;
}

static int espeak_init(void *priv, const tc_tts_config *cfg)
{
    espeak_priv *p = priv;
    p->cfg = *cfg;
    snprintf(p->voice, sizeof p->voice, "%s", cfg->voice && *cfg->voice ? cfg->voice : "en-us");
    pthread_mutex_lock(&espeak_lock);
    int r = TC_OK;
    if (espeak_rate <= 0) {
        espeak_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 20, NULL,
                                        espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
        if (espeak_rate <= 0) {
            tc_log(&log_ctx, TC_LOG_ERROR, "espeak-ng failed to initialise (is espeak-ng-data installed?)");
            r = TC_ERR_UNSUPPORTED;
        } else {
            espeak_SetSynthCallback(synth_cb);
        }
    }
    if (r == TC_OK) {
        p->registered = 1;
        if (!set_voice(p->voice)) {
            tc_log(&log_ctx, TC_LOG_ERROR, "espeak-ng has no voice '%s' (see 'talkcast voices')", p->voice);
            r = TC_ERR_NOTFOUND;
        }
    }
    pthread_mutex_unlock(&espeak_lock);
    return r;
}

static void espeak_uninit(void *priv)
{
    espeak_priv *p = priv;
    p->registered = 0; /* the library itself stays initialised (see top) */
}

static int espeak_synth(void *priv, const char *sentence, const tc_tts_request *req,
                        const atomic_int *cancel, tc_tts_chunk *out)
{
    espeak_priv *p = priv;
    synth_job job = { .cancel = cancel };
    const char *voice = req->voice && *req->voice ? req->voice : p->voice;
    int rate = req->rate > 0 ? req->rate : p->cfg.rate;
    int pitch = req->pitch >= 0 ? req->pitch : p->cfg.pitch;

    pthread_mutex_lock(&espeak_lock);
    int r = TC_OK;
    if (!set_voice(voice)) {
        tc_log(&log_ctx, TC_LOG_WARN, "no voice '%s'", voice);
        r = TC_ERR_NOTFOUND;
    } else {
        if (rate > 0) espeak_SetParameter(espeakRATE, rate < 80 ? 80 : rate > 450 ? 450 : rate, 0);
        if (pitch >= 0) espeak_SetParameter(espeakPITCH, pitch > 100 ? 100 : pitch, 0);
        if (p->cfg.volume > 0) espeak_SetParameter(espeakVOLUME, p->cfg.volume > 200 ? 200 : p->cfg.volume, 0);
        unsigned flags = espeakCHARS_UTF8 | (p->cfg.ssml ? espeakSSML : 0);
        current_job = &job;
        espeak_ERROR e = espeak_Synth(sentence, strlen(sentence) + 1, 0, POS_CHARACTER, 0, flags, NULL, NULL);
        current_job = NULL;
        if (e != EE_OK) r = TC_ERR_IO;
    }
    int native = espeak_rate;
    pthread_mutex_unlock(&espeak_lock);

    if (r == TC_OK && cancel && atomic_load(cancel)) r = TC_ERR_CLOSED;
    if (r == TC_OK && job.failed) r = TC_ERR_NOMEM;
    if (r == TC_OK && job.n == 0) r = TC_ERR_FORMAT;

    tc_resampler *rs = NULL;
    if (r == TC_OK) r = tc_resampler_create(&rs, AV_SAMPLE_FMT_S16, 1, native, p->cfg.sample_rate);
    if (r == TC_OK) {
        const uint8_t *planes[1] = { (const uint8_t *)job.pcm };
        r = tc_resampler_push(rs, planes, (int)job.n);
    }
    if (r == TC_OK) r = tc_resampler_finish(rs);
    if (r == TC_OK) {
        out->pcm = tc_resampler_take(rs, &out->n_samples);
        out->sample_rate = p->cfg.sample_rate;
        /* Phonemes: start at their event, end where the next one starts. */
        for (int i = 0; i < job.n_ph; i++) {
            int64_t s = job.ph[i].start, e = i + 1 < job.n_ph ? job.ph[i + 1].start : job.n;
            job.ph[i].start = tc_resampler_map(rs, s);
            job.ph[i].end = tc_resampler_map(rs, e < s ? s : e);
        }
        for (int i = 0; i < job.n_words; i++) {
            job.words[i].start = tc_resampler_map(rs, job.words[i].start);
            /* espeak counts characters; captions want byte offsets */
            int chars = job.words[i].text_pos, b = 0;
            for (int c = 0; sentence[b] && c < chars; c++)
                do b++; while (((unsigned char)sentence[b] & 0xC0) == 0x80);
            int e = b;
            for (int c = 0; sentence[e] && c < job.words[i].text_len; c++)
                do e++; while (((unsigned char)sentence[e] & 0xC0) == 0x80);
            job.words[i].text_pos = b;
            job.words[i].text_len = e - b;
        }
        out->phonemes = job.ph;
        out->n_phonemes = job.n_ph;
        out->words = job.words;
        out->n_words = job.n_words;
        out->has_timing = 1;
        job.ph = NULL;
        job.words = NULL;
    }
    tc_resampler_destroy(rs);
    free(job.pcm);
    free(job.ph);
    free(job.words);
    return r;
}

static int espeak_voices(void *priv, tc_tts_voice **list, int *n)
{
    (void)priv;
    *list = NULL;
    *n = 0;
    pthread_mutex_lock(&espeak_lock);
    const espeak_VOICE **v = espeak_ListVoices(NULL);
    int count = 0;
    while (v && v[count]) count++;
    tc_tts_voice *l = calloc((size_t)count + 1, sizeof *l);
    for (int i = 0; l && i < count; i++) {
        snprintf(l[i].name, sizeof l[i].name, "%s", v[i]->name ? v[i]->name : "");
        /* languages: priority byte, then a NUL-terminated name */
        snprintf(l[i].language, sizeof l[i].language, "%s", v[i]->languages ? v[i]->languages + 1 : "");
        snprintf(l[i].id, sizeof l[i].id, "%s", v[i]->identifier ? v[i]->identifier : "");
    }
    pthread_mutex_unlock(&espeak_lock);
    if (!l) return TC_ERR_NOMEM;
    *list = l;
    *n = count;
    return TC_OK;
}

static int espeak_health(void *priv)
{
    espeak_priv *p = priv;
    return p->registered && espeak_rate > 0 ? TC_OK : TC_ERR_UNSUPPORTED;
}

const tc_tts_vtable tc_tts_espeak = { "espeak", sizeof(espeak_priv), espeak_init, espeak_synth,
                                      espeak_voices, espeak_health, espeak_uninit, NULL };
