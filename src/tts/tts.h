/* tts.h — text to speech: providers behind one small vtable.
 *
 * A provider turns one sentence into PCM (mono float at the engine's sample
 * rate) and, where it knows it, a phoneme timeline. tc_tts_speak() splits a
 * message into sentences and hands each sentence's chunk to a sink as soon
 * as it exists, so a long message starts speaking quickly. A primary
 * provider that fails for good is replaced by the fallback for that message
 * (counted). Cancellation (tc_tts_cancel) stops synthesis within 50 ms.
 *
 * Threading: a tc_tts may be used by one thread at a time (the speech
 * worker); tc_tts_cancel and tc_tts_get_stats may be called from any
 * thread. espeak-ng's global state is guarded inside its provider. */
#ifndef TC_TTS_H
#define TC_TTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One phoneme on the chunk's timeline, in samples at the output rate. */
typedef struct tc_phoneme {
    char name[12];      /* provider mnemonic, e.g. espeak "p", "A:", "_:" (pause) */
    int64_t start, end; /* [start, end) relative to the chunk's first sample */
} tc_phoneme;

/* One word's start, for captions: where it begins in the text and in time. */
typedef struct tc_word {
    int64_t start;      /* sample, relative to the chunk */
    int text_pos;       /* byte offset in the sentence */
    int text_len;       /* bytes */
} tc_word;

typedef struct tc_tts_chunk {
    float *pcm;             /* mono, owned by the chunk */
    int64_t n_samples;
    int sample_rate;
    tc_phoneme *phonemes;   /* NULL when the provider gives no timing */
    int n_phonemes;
    tc_word *words;
    int n_words;
    int has_timing;         /* 1: phonemes are exact; 0: estimate from audio */
    int sentence;           /* index of the sentence in the message */
    int last;               /* the final chunk of the message */
    char *text;             /* the sentence, owned */
    const char *provider;   /* static name of who spoke it */
} tc_tts_chunk;

void tc_tts_chunk_free(tc_tts_chunk *c); /* frees the members; accepts NULL */

typedef struct tc_tts_request {
    const char *text;       /* UTF-8 */
    const char *voice;      /* NULL = the provider's configured voice */
    int rate;               /* words per minute, 0 = configured */
    int pitch;              /* 0..100, -1 = configured */
} tc_tts_request;

typedef struct tc_tts_config {
    int sample_rate;        /* output rate, e.g. 48000 */
    const char *voice;      /* default voice */
    int rate, pitch, volume;/* espeak-style: wpm, 0..100, 0..200 */
    int ssml;               /* interpret SSML/markup (off by default) */
    int max_chars;          /* reject longer messages (default 5000) */
    /* HTTP providers */
    const char *base_url;   /* e.g. https://api.openai.com */
    const char *api_key;    /* secret: never logged */
    const char *model;      /* e.g. tts-1 */
    const char *format;     /* wav|pcm|mp3|opus */
    int connect_timeout_ms, timeout_ms;
    int retries;            /* extra attempts after the first */
    double backoff_min, backoff_max; /* seconds */
} tc_tts_config;

typedef struct tc_tts_voice {
    char name[64];
    char language[32];
    char id[96];
} tc_tts_voice;

/* The sink takes ownership of the chunk's members (it may move them out and
 * zero them). Return < 0 to stop the message. */
typedef int (*tc_tts_sink)(void *opaque, tc_tts_chunk *chunk);

typedef struct tc_tts_vtable {
    const char *name;
    size_t priv_size;
    int (*init)(void *priv, const tc_tts_config *cfg);
    /* Synthesize one sentence into *out (filled by the provider). */
    int (*synth)(void *priv, const char *sentence, const tc_tts_request *req,
                 const atomic_int *cancel, tc_tts_chunk *out);
    /* *list is malloc'ed, owned by the caller. */
    int (*voices)(void *priv, tc_tts_voice **list, int *n);
    int (*health)(void *priv); /* TC_OK when usable */
    void (*uninit)(void *priv); /* called once, also after a failed init */
    /* May be NULL: one line saying why the last synth failed (e.g. "HTTP 500
     * after 3 attempts: …"), never a secret; owned by the provider. */
    const char *(*last_error)(void *priv);
} tc_tts_vtable;

typedef struct tc_tts tc_tts;

typedef struct tc_tts_stats {
    int64_t messages, sentences, failures, fallbacks, cancelled;
} tc_tts_stats;

/* Build provider `name` ("espeak", "openai", "elevenlabs"), optionally with a
 * fallback provider (NULL for none) sharing the same config. */
int tc_tts_create(tc_tts **out, const char *name, const char *fallback, const tc_tts_config *cfg);
void tc_tts_destroy(tc_tts *t); /* accepts NULL */

/* Speak one message: sanitize, split into sentences, synthesize each and
 * hand it to `sink` at once. TC_ERR_CLOSED when cancelled. */
int tc_tts_speak(tc_tts *t, const tc_tts_request *req, tc_tts_sink sink, void *opaque);
void tc_tts_cancel(tc_tts *t);     /* stop the current message (any thread) */
/* Why the last tc_tts_speak failed, in one line naming the provider (e.g.
 * "openai: HTTP 500 after 3 attempts: …"); "" after a success. Same thread
 * as tc_tts_speak. */
const char *tc_tts_last_error(const tc_tts *t);

int tc_tts_voices(tc_tts *t, tc_tts_voice **list, int *n);
int tc_tts_health(tc_tts *t, int *primary_ok, int *fallback_ok);
void tc_tts_get_stats(tc_tts *t, tc_tts_stats *st);
const char *tc_tts_name(const tc_tts *t);

/* ---- text helpers (text.c) ---- */

/* Clean `in` into a new string: invalid UTF-8 → U+FFFD, control characters
 * (C0 but \n and \t, DEL, C1) removed, runs of whitespace folded, trimmed.
 * TC_ERR_INVAL when the result is empty or longer than max_chars characters. */
int tc_tts_sanitize(const char *in, int max_chars, char **out);

/* Split cleaned text into sentences (new strings in *out, count in *n):
 * at . ! ? … and line breaks, not after common abbreviations or inside
 * numbers; very long sentences are cut at , ; : or spaces (max_len bytes). */
int tc_tts_split(const char *text, int max_len, char ***out, int *n);
void tc_tts_split_free(char **s, int n);

#endif
