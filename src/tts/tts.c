/* tts.c — the provider factory and the message loop: sanitize, split into
 * sentences, synthesize each and hand it on at once; on a primary failure
 * that retries could not fix, the fallback provider speaks the message. */
#include "tts/tts.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const tc_tts_vtable tc_tts_espeak, tc_tts_openai, tc_tts_elevenlabs;

static const tc_tts_vtable *const providers[] = { &tc_tts_espeak, &tc_tts_openai, &tc_tts_elevenlabs };

static const tc_log_ctx log_ctx = { "tts", NULL };

typedef struct provider {
    const tc_tts_vtable *vt;
    void *priv;
} provider;

struct tc_tts {
    provider main, fallback;
    int max_chars;
    atomic_int cancel;
    atomic_llong messages, sentences, failures, fallbacks, cancelled;
    char err[320];                     /* why the last message failed */
};

void tc_tts_chunk_free(tc_tts_chunk *c)
{
    if (!c) return;
    free(c->pcm);
    free(c->phonemes);
    free(c->words);
    free(c->text);
    memset(c, 0, sizeof *c);
}

static int provider_open(provider *p, const char *name, const tc_tts_config *cfg)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (!strcmp(providers[i]->name, name)) p->vt = providers[i];
    if (!p->vt) {
        tc_log(&log_ctx, TC_LOG_ERROR, "no TTS provider called '%s' (espeak, openai, elevenlabs)", name);
        return TC_ERR_NOTFOUND;
    }
    if (!(p->priv = calloc(1, p->vt->priv_size))) return TC_ERR_NOMEM;
    int r = p->vt->init(p->priv, cfg);
    if (r < 0) {
        p->vt->uninit(p->priv);
        free(p->priv);
        p->priv = NULL;
        p->vt = NULL;
    }
    return r;
}

static void provider_close(provider *p)
{
    if (!p->vt) return;
    p->vt->uninit(p->priv);
    free(p->priv);
    p->vt = NULL;
    p->priv = NULL;
}

int tc_tts_create(tc_tts **out, const char *name, const char *fallback, const tc_tts_config *cfg)
{
    *out = NULL;
    if (!cfg || cfg->sample_rate <= 0) return TC_ERR_INVAL;
    tc_tts *t = calloc(1, sizeof *t);
    if (!t) return TC_ERR_NOMEM;
    t->max_chars = cfg->max_chars > 0 ? cfg->max_chars : 5000;
    int r = provider_open(&t->main, name, cfg);
    if (r == TC_OK && fallback && *fallback && strcmp(fallback, "none") != 0)
        r = provider_open(&t->fallback, fallback, cfg);
    if (r < 0) {
        tc_tts_destroy(t);
        return r;
    }
    *out = t;
    return TC_OK;
}

void tc_tts_destroy(tc_tts *t)
{
    if (!t) return;
    provider_close(&t->main);
    provider_close(&t->fallback);
    free(t);
}

void tc_tts_cancel(tc_tts *t) { atomic_store(&t->cancel, 1); }

const char *tc_tts_name(const tc_tts *t) { return t->main.vt->name; }

int tc_tts_speak(tc_tts *t, const tc_tts_request *req, tc_tts_sink sink, void *opaque)
{
    atomic_store(&t->cancel, 0);
    atomic_fetch_add(&t->messages, 1);
    t->err[0] = '\0';
    char *clean = NULL;
    int r = tc_tts_sanitize(req->text, t->max_chars, &clean);
    if (r < 0) {
        tc_log(&log_ctx, TC_LOG_WARN, "text refused: empty after cleaning or longer than %d characters",
               t->max_chars);
        snprintf(t->err, sizeof t->err, "text is empty after cleaning or longer than %d characters", t->max_chars);
        atomic_fetch_add(&t->failures, 1);
        return r;
    }
    char **sent = NULL;
    int n = 0;
    r = tc_tts_split(clean, 300, &sent, &n);
    free(clean);
    if (r < 0) return r;

    provider *p = &t->main;
    for (int i = 0; i < n && r == TC_OK; i++) {
        tc_tts_chunk c = { 0 };
        r = p->vt->synth(p->priv, sent[i], req, &t->cancel, &c);
        if (r < 0 && r != TC_ERR_CLOSED && p == &t->main && t->fallback.vt) {
            /* The primary gave up (after its own retries): the fallback
             * speaks this sentence and the rest of the message. */
            tc_log(&log_ctx, TC_LOG_WARN, "%s failed (%s); falling back to %s", p->vt->name,
                   tc_strerror(r), t->fallback.vt->name);
            atomic_fetch_add(&t->fallbacks, 1);
            p = &t->fallback;
            tc_tts_chunk_free(&c);
            r = p->vt->synth(p->priv, sent[i], req, &t->cancel, &c);
        }
        if (r == TC_OK && atomic_load(&t->cancel)) r = TC_ERR_CLOSED;
        if (r == TC_OK) {
            c.sentence = i;
            c.last = i == n - 1;
            c.provider = p->vt->name;
            if (!(c.text = strdup(sent[i]))) r = TC_ERR_NOMEM;
        }
        if (r == TC_OK) {
            atomic_fetch_add(&t->sentences, 1);
            if (sink(opaque, &c) < 0) r = TC_ERR_CLOSED;
        }
        tc_tts_chunk_free(&c);
    }
    tc_tts_split_free(sent, n);
    if (r == TC_ERR_CLOSED) atomic_fetch_add(&t->cancelled, 1);
    else if (r < 0) {
        atomic_fetch_add(&t->failures, 1);
        const char *why = p->vt->last_error ? p->vt->last_error(p->priv) : NULL;
        snprintf(t->err, sizeof t->err, "%s: %s", p->vt->name, why && *why ? why : tc_strerror(r));
    }
    return r;
}

const char *tc_tts_last_error(const tc_tts *t) { return t->err; }

int tc_tts_voices(tc_tts *t, tc_tts_voice **list, int *n)
{
    return t->main.vt->voices(t->main.priv, list, n);
}

int tc_tts_health(tc_tts *t, int *primary_ok, int *fallback_ok)
{
    int a = t->main.vt->health(t->main.priv);
    if (primary_ok) *primary_ok = a == TC_OK;
    if (fallback_ok) *fallback_ok = t->fallback.vt ? t->fallback.vt->health(t->fallback.priv) == TC_OK : 0;
    return a;
}

void tc_tts_get_stats(tc_tts *t, tc_tts_stats *st)
{
    st->messages = atomic_load(&t->messages);
    st->sentences = atomic_load(&t->sentences);
    st->failures = atomic_load(&t->failures);
    st->fallbacks = atomic_load(&t->fallbacks);
    st->cancelled = atomic_load(&t->cancelled);
}
