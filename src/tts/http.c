/* http.c — HTTP TTS APIs over libcurl: OpenAI-compatible
 * (POST {base}/v1/audio/speech, Bearer auth) and ElevenLabs-style
 * (POST {base}/v1/text-to-speech/{voice}, xi-api-key), sharing everything
 * but the request: time-outs, retries on time-outs, 429 and 5xx with
 * exponential back-off and jitter honouring Retry-After, no retry on other
 * 4xx, decoding whatever audio comes back (WAV, raw PCM, MP3, Opus) with
 * libavformat/libavcodec, and resampling to the engine's rate.
 *
 * The transfer runs on curl's multi interface polled every 10 ms, so a
 * cancel is honoured within that. The API key goes only into the request
 * header: it is never logged, and scrubbed from any error text. */
#include "tts/tts.h"
#include "tts/http_int.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "tts/resample.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>

typedef enum api_kind { API_OPENAI, API_ELEVENLABS } api_kind;

typedef struct http_priv {
    api_kind kind;
    tc_tts_config cfg;
    char *base, *key, *model, *format, *voice;
    tc_log_ctx log;
    CURL *easy;
    atomic_int healthy;
    uint64_t seed; /* per-instance jitter */
    char err[300]; /* why the last synth failed (tc_tts_vtable.last_error) */
} http_priv;

typedef struct body {
    unsigned char *data;
    size_t len, cap, limit;
    char content_type[128];
    double retry_after; /* seconds, -1 none */
} body;

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
    body *b = opaque;
    size_t len = size * n;
    if (b->len + len > b->limit) return 0; /* too large: abort */
    if (b->len + len > b->cap) {
        size_t nc = b->cap ? b->cap : 65536;
        while (nc < b->len + len) nc *= 2;
        unsigned char *d = realloc(b->data, nc);
        if (!d) return 0;
        b->data = d;
        b->cap = nc;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *opaque)
{
    body *b = opaque;
    size_t len = size * n;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        double s = strtod(p + 12, NULL);
        if (s >= 0) b->retry_after = s;
    } else if (len > 13 && !strncasecmp(p, "Content-Type:", 13)) {
        const char *v = p + 13;
        while (*v == ' ') v++;
        size_t l = strcspn(v, "\r\n;");
        if (l >= sizeof b->content_type) l = sizeof b->content_type - 1;
        memcpy(b->content_type, v, l);
        b->content_type[l] = '\0';
    }
    return len;
}

/* Append `s` to buf as a JSON string body (quotes included). */
static size_t json_str(char *buf, size_t pos, size_t cap, const char *s)
{
    if (pos < cap) buf[pos++] = '"';
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { buf[pos++] = '\\'; buf[pos++] = (char)c; }
        else if (c < 0x20) pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        else buf[pos++] = (char)c;
    }
    if (pos < cap) buf[pos++] = '"';
    return pos;
}

static char *dupz(const char *s, const char *def)
{
    return strdup(s && *s ? s : def);
}

static int http_init_kind(http_priv *p, const tc_tts_config *cfg, api_kind kind)
{
    p->kind = kind;
    p->cfg = *cfg;
    p->log = (tc_log_ctx){ "tts", kind == API_OPENAI ? "openai" : "elevenlabs" };
    p->base = dupz(cfg->base_url, kind == API_OPENAI ? "https://api.openai.com" : "https://api.elevenlabs.io");
    p->key = dupz(cfg->api_key, "");
    p->model = dupz(cfg->model, kind == API_OPENAI ? "tts-1" : "eleven_multilingual_v2");
    p->format = dupz(cfg->format, kind == API_OPENAI ? "wav" : "mp3");
    p->voice = dupz(cfg->voice, kind == API_OPENAI ? "alloy" : "21m00Tcm4TlvDq8ikWAM");
    if (!p->base || !p->key || !p->model || !p->format || !p->voice) return TC_ERR_NOMEM;
    size_t bl = strlen(p->base);
    while (bl && p->base[bl - 1] == '/') p->base[--bl] = '\0';
    if (strncmp(p->base, "http://", 7) && strncmp(p->base, "https://", 8)) {
        tc_log(&p->log, TC_LOG_ERROR, "base URL must start with http:// or https://");
        return TC_ERR_INVAL;
    }
    static const char *const fmts[] = { "wav", "pcm", "mp3", "opus" };
    int ok = 0;
    for (int i = 0; i < 4; i++) ok |= !strcmp(p->format, fmts[i]);
    if (!ok) {
        tc_log(&p->log, TC_LOG_ERROR, "response format '%s' not supported (wav, pcm, mp3, opus)", p->format);
        return TC_ERR_INVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return TC_ERR_IO;
    if (!(p->easy = curl_easy_init())) return TC_ERR_NOMEM;
    if (p->cfg.connect_timeout_ms <= 0) p->cfg.connect_timeout_ms = 5000;
    if (p->cfg.timeout_ms <= 0) p->cfg.timeout_ms = 30000;
    if (p->cfg.retries < 0) p->cfg.retries = 0;
    if (p->cfg.backoff_min <= 0) p->cfg.backoff_min = 0.5;
    if (p->cfg.backoff_max < p->cfg.backoff_min) p->cfg.backoff_max = 8;
    p->seed = (uint64_t)tc_now_ns() | 1;
    atomic_store(&p->healthy, 1);
    return TC_OK;
}

static int openai_init(void *priv, const tc_tts_config *cfg) { return http_init_kind(priv, cfg, API_OPENAI); }
static int eleven_init(void *priv, const tc_tts_config *cfg) { return http_init_kind(priv, cfg, API_ELEVENLABS); }

static void http_uninit(void *priv)
{
    http_priv *p = priv;
    if (p->easy) curl_easy_cleanup(p->easy);
    if (p->key) memset(p->key, 0, strlen(p->key));
    free(p->base);
    free(p->key);
    free(p->model);
    free(p->format);
    free(p->voice);
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct mem_reader { const unsigned char *d; size_t len, pos; } mem_reader;

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    mem_reader *m = opaque;
    size_t left = m->len - m->pos;
    if (!left) return AVERROR_EOF;
    size_t n = left < (size_t)size ? left : (size_t)size;
    memcpy(buf, m->d + m->pos, n);
    m->pos += n;
    return (int)n;
}

/* Speech comes at 8-48 kHz. A header claiming a rate far below is broken
 * or hostile: at 1 Hz a 2 KB WAV resampled to 48 million samples. Nor may
 * one body decode to more than the 64 MiB body limit holds as 24 kHz PCM
 * (about 23 minutes) — compressed audio could otherwise claim far more. */
#define MIN_IN_RATE 4000
#define MAX_IN_RATE 768000
#define MAX_SECONDS 1800

static uint32_t rd32(const unsigned char *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* A WAV whose chunks before "data" claim more bytes than the body holds.
 * libavformat allocates and zeroes a LIST/INFO entry by its claimed size
 * before reading it (87 bytes claiming 1.6 GB took 1.6 GB); with every
 * chunk inside the body, no entry can be larger than the body. The walk
 * stops at "data", as the demuxer does on a stream it cannot seek: a
 * streamed WAV may claim any length there. */
static int wav_overclaims(const unsigned char *d, size_t len)
{
    if (len < 12 || memcmp(d + 8, "WAVE", 4) != 0) return 0;
    if (memcmp(d, "RIFF", 4) && memcmp(d, "RIFX", 4) && memcmp(d, "RF64", 4) && memcmp(d, "BW64", 4)) return 0;
    int be = !memcmp(d, "RIFX", 4);
    for (size_t pos = 12; pos + 8 <= len;) {
        uint32_t size = rd32(d + pos + 4, be);
        if (!memcmp(d + pos, "data", 4)) return 0;
        if (size > len - pos - 8) return 1;
        pos += 8 + (size_t)size + (size & 1);
    }
    return 0;
}

/* Decode an audio file held in memory into mono float at `rate`. */
static int decode_audio(const unsigned char *data, size_t len, int rate, float **pcm, int64_t *n)
{
    if (wav_overclaims(data, len)) return TC_ERR_FORMAT;
    mem_reader m = { data, len, 0 };
    AVFormatContext *ic = avformat_alloc_context();
    unsigned char *iobuf = av_malloc(16384);
    AVIOContext *io = iobuf ? avio_alloc_context(iobuf, 16384, 0, &m, mem_read, NULL, NULL) : NULL;
    AVCodecContext *dc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    tc_resampler *rs = NULL;
    int r = TC_ERR_NOMEM, e;
    if (!ic || !io || !pkt || !fr) { if (!io) av_free(iobuf); goto out; }
    ic->pb = io;
    r = TC_ERR_FORMAT;
    /* Only what speech APIs send (OpenAI: mp3, opus in Ogg, aac, flac, wav;
     * ElevenLabs: mp3): libav's other demuxers need not parse untrusted
     * bytes, and some allocate whatever size a file claims. */
    AVDictionary *fo = NULL;
    av_dict_set(&fo, "format_whitelist", "wav,mp3,ogg,aac,flac", 0);
    e = avformat_open_input(&ic, NULL, NULL, &fo);
    av_dict_free(&fo);
    if (e < 0) { ic = NULL; goto out; }
    if (avformat_find_stream_info(ic, NULL) < 0) goto out;
    int ai = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (ai < 0) goto out;
    const AVCodec *codec = avcodec_find_decoder(ic->streams[ai]->codecpar->codec_id);
    if (!codec || !(dc = avcodec_alloc_context3(codec))) goto out;
    avcodec_parameters_to_context(dc, ic->streams[ai]->codecpar);
    if (avcodec_open2(dc, codec, NULL) < 0 || dc->sample_rate <= 0) goto out;
    /* the resampler is built for the stream's first shape; the decoder
     * rewrites dc's fields frame by frame (an MP3 may switch between mono
     * and stereo, and a mono frame has no second plane), so keep them */
    const int in_rate = dc->sample_rate, in_fmt = dc->sample_fmt, in_channels = dc->ch_layout.nb_channels;
    if (in_rate < MIN_IN_RATE || in_rate > MAX_IN_RATE) goto out;
    if (tc_resampler_create(&rs, in_fmt, in_channels, in_rate, rate) < 0) goto out;
    int eof = 0;
    while (!eof) {
        e = av_read_frame(ic, pkt);
        if (e < 0) { eof = 1; avcodec_send_packet(dc, NULL); }
        else if (pkt->stream_index == ai) avcodec_send_packet(dc, pkt);
        av_packet_unref(pkt);
        while (avcodec_receive_frame(dc, fr) == 0) {
            if (fr->sample_rate != in_rate || fr->format != in_fmt || fr->ch_layout.nb_channels != in_channels) {
                av_frame_unref(fr);
                goto out;
            }
            if (tc_resampler_push(rs, (const uint8_t *const *)fr->extended_data, fr->nb_samples) < 0 ||
                tc_resampler_count(rs) > (int64_t)rate * MAX_SECONDS) {
                av_frame_unref(fr);
                goto out;
            }
            av_frame_unref(fr);
        }
    }
    if (tc_resampler_finish(rs) < 0 || tc_resampler_count(rs) == 0) goto out;
    *pcm = tc_resampler_take(rs, n);
    r = TC_OK;
out:
    tc_resampler_destroy(rs);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dc);
    if (ic) avformat_close_input(&ic);
    if (io) { av_freep(&io->buffer); avio_context_free(&io); }
    return r;
}

/* Raw little-endian s16 mono (OpenAI "pcm" is 24 kHz). */
static int decode_pcm(const unsigned char *data, size_t len, int in_rate, int rate, float **pcm, int64_t *n)
{
    if (len < 2) return TC_ERR_FORMAT;
    tc_resampler *rs;
    int r = tc_resampler_create(&rs, AV_SAMPLE_FMT_S16, 1, in_rate, rate);
    if (r < 0) return r;
    const uint8_t *planes[1] = { data };
    r = tc_resampler_push(rs, planes, (int)(len / 2));
    if (r == TC_OK) r = tc_resampler_finish(rs);
    if (r == TC_OK) *pcm = tc_resampler_take(rs, n);
    tc_resampler_destroy(rs);
    return r;
}

int tc_tts_http_decode(const unsigned char *data, size_t len, const char *content_type, const char *format, int rate,
                       float **pcm, int64_t *n)
{
    /* "pcm" was asked for, but a server may send a WAV (or MP3) anyway */
    int is_pcm = !strcmp(format, "pcm") && (len < 4 || memcmp(data, "RIFF", 4) != 0) &&
                 !strstr(content_type, "wav") && !strstr(content_type, "mpeg") && !strstr(content_type, "ogg");
    return is_pcm ? decode_pcm(data, len, 24000, rate, pcm, n) : decode_audio(data, len, rate, pcm, n);
}

/* ---- the request ------------------------------------------------------------ */

/* Sleep up to `s` seconds; TC_ERR_CLOSED if cancelled meanwhile. */
static int nap(double s, const atomic_int *cancel)
{
    int64_t end = tc_now_ns() + (int64_t)(s * 1e9);
    while (tc_now_ns() < end) {
        if (cancel && atomic_load(cancel)) return TC_ERR_CLOSED;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return TC_OK;
}

/* Copy at most 200 bytes of the body for an error message, printable only,
 * with the API key scrubbed should a server echo it. */
static void excerpt(const http_priv *p, const body *b, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 1 < cap && n < 200; i++)
        out[n++] = isprint(b->data[i]) ? (char)b->data[i] : ' ';
    out[n] = '\0';
    size_t kl = strlen(p->key);
    for (char *k; kl >= 4 && (k = strstr(out, p->key));) memset(k, '*', kl);
}

/* One attempt: 0 with *status set, or a curl error. */
static CURLcode perform(http_priv *p, const char *url, const char *json, body *b, long *status,
                        const atomic_int *cancel, int *cancelled)
{
    CURL *c = p->easy;
    curl_easy_reset(c);
    char auth[600];
    struct curl_slist *h = NULL;
    if (p->kind == API_OPENAI) snprintf(auth, sizeof auth, "Authorization: Bearer %s", p->key);
    else snprintf(auth, sizeof auth, "xi-api-key: %s", p->key);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (p->key[0]) h = curl_slist_append(h, auth);
    memset(auth, 0, sizeof auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "talkcast");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

    CURLM *m = curl_multi_init();
    CURLcode res = CURLE_OUT_OF_MEMORY;
    if (m && curl_multi_add_handle(m, c) == CURLM_OK) {
        int running = 1;
        while (running) {
            if (curl_multi_perform(m, &running) != CURLM_OK) break;
            if (cancel && atomic_load(cancel)) { *cancelled = 1; break; }
            if (running) curl_multi_poll(m, NULL, 0, 10, NULL);
        }
        CURLMsg *msg;
        int left;
        res = CURLE_ABORTED_BY_CALLBACK;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE) res = msg->data.result;
        curl_multi_remove_handle(m, c);
    }
    if (m) curl_multi_cleanup(m);
    curl_slist_free_all(h);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return res;
}

static int http_synth(void *priv, const char *sentence, const tc_tts_request *req,
                      const atomic_int *cancel, tc_tts_chunk *out)
{
    http_priv *p = priv;
    const char *voice = req->voice && *req->voice ? req->voice : p->voice;
    char url[1024];
    size_t cap = strlen(sentence) * 6 + 512, pos = 0;
    char *json = malloc(cap);
    if (!json) return TC_ERR_NOMEM;
    if (p->kind == API_OPENAI) {
        snprintf(url, sizeof url, "%s/v1/audio/speech", p->base);
        pos += (size_t)snprintf(json + pos, cap - pos, "{\"model\":");
        pos = json_str(json, pos, cap, p->model);
        pos += (size_t)snprintf(json + pos, cap - pos, ",\"voice\":");
        pos = json_str(json, pos, cap, voice);
        pos += (size_t)snprintf(json + pos, cap - pos, ",\"response_format\":");
        pos = json_str(json, pos, cap, p->format);
        int rate = req->rate > 0 ? req->rate : p->cfg.rate;
        if (rate > 0) pos += (size_t)snprintf(json + pos, cap - pos, ",\"speed\":%.2f", rate / 175.0);
        pos += (size_t)snprintf(json + pos, cap - pos, ",\"input\":");
    } else {
        const char *of = !strcmp(p->format, "pcm") ? "pcm_24000" : "mp3_44100_128";
        snprintf(url, sizeof url, "%s/v1/text-to-speech/%s?output_format=%s", p->base, voice, of);
        pos += (size_t)snprintf(json + pos, cap - pos, "{\"model_id\":");
        pos = json_str(json, pos, cap, p->model);
        pos += (size_t)snprintf(json + pos, cap - pos, ",\"text\":");
    }
    pos = json_str(json, pos, cap, sentence);
    snprintf(json + pos, cap - pos, "}");

    int r = TC_ERR_NET;
    p->err[0] = '\0';
    tc_backoff bo;
    tc_backoff_init(&bo, p->cfg.backoff_min, p->cfg.backoff_max, p->seed++);
    for (int attempt = 0; attempt <= p->cfg.retries; attempt++) {
        body b = { .limit = 64u << 20, .retry_after = -1 };
        long status = 0;
        int cancelled = 0;
        CURLcode cr = perform(p, url, json, &b, &status, cancel, &cancelled);
        double wait = -1;
        char ex[256];
        if (cancelled) {
            r = TC_ERR_CLOSED;
        } else if (cr != CURLE_OK) {
            int timeout = cr == CURLE_OPERATION_TIMEDOUT;
            tc_log(&p->log, TC_LOG_WARN, "attempt %d/%d: %s", attempt + 1, p->cfg.retries + 1,
                   curl_easy_strerror(cr));
            snprintf(p->err, sizeof p->err, "%s after %d attempt%s", curl_easy_strerror(cr), attempt + 1,
                     attempt ? "s" : "");
            r = timeout ? TC_ERR_TIMEOUT : TC_ERR_NET;
            wait = tc_backoff_next(&bo);
        } else if (status == 429 || status >= 500) {
            excerpt(p, &b, ex, sizeof ex);
            tc_log(&p->log, TC_LOG_WARN, "attempt %d/%d: HTTP %ld: %s", attempt + 1, p->cfg.retries + 1, status, ex);
            snprintf(p->err, sizeof p->err, "HTTP %ld after %d attempt%s: %.80s", status, attempt + 1,
                     attempt ? "s" : "", ex);
            r = TC_ERR_NET;
            /* the server's Retry-After wins over our schedule (capped) */
            wait = b.retry_after >= 0 ? tc_backoff_jitter(&bo, b.retry_after) : tc_backoff_next(&bo);
            if (wait > p->cfg.backoff_max) wait = p->cfg.backoff_max;
        } else if (status < 200 || status >= 300) {
            excerpt(p, &b, ex, sizeof ex);
            tc_log(&p->log, TC_LOG_ERROR, "HTTP %ld (not retried): %s", status, ex);
            snprintf(p->err, sizeof p->err, "HTTP %ld (not retried): %.80s", status, ex);
            r = status == 401 || status == 403 ? TC_ERR_INVAL : status == 404 ? TC_ERR_NOTFOUND : TC_ERR_INVAL;
        } else {
            r = tc_tts_http_decode(b.data, b.len, b.content_type, p->format, p->cfg.sample_rate, &out->pcm,
                                   &out->n_samples);
            if (r < 0) {
                excerpt(p, &b, ex, sizeof ex);
                tc_log(&p->log, TC_LOG_ERROR, "HTTP %ld with %zu bytes of %s that are not audio: %.60s", status,
                       b.len, b.content_type[0] ? b.content_type : "unknown type", ex);
                snprintf(p->err, sizeof p->err, "HTTP %ld with %zu bytes of %s that are not audio", status, b.len,
                         b.content_type[0] ? b.content_type : "unknown type");
                r = TC_ERR_FORMAT;
            }
        }
        free(b.data);
        if (r == TC_OK || wait < 0) break;
        if (attempt == p->cfg.retries) break;
        if (nap(wait, cancel) < 0) { r = TC_ERR_CLOSED; break; }
    }
    free(json);
    if (r == TC_OK) {
        out->sample_rate = p->cfg.sample_rate;
        out->has_timing = 0; /* no phonemes: lip-sync estimates from the audio */
    }
    if (r != TC_ERR_CLOSED) atomic_store(&p->healthy, r == TC_OK);
    return r;
}

static int http_voices(void *priv, tc_tts_voice **list, int *n)
{
    http_priv *p = priv;
    static const char *const openai[] = { "alloy", "echo", "fable", "onyx", "nova", "shimmer" };
    int count = p->kind == API_OPENAI ? 6 : 1;
    tc_tts_voice *l = calloc((size_t)count, sizeof *l);
    if (!l) return TC_ERR_NOMEM;
    for (int i = 0; i < count; i++) {
        const char *v = p->kind == API_OPENAI ? openai[i] : p->voice;
        snprintf(l[i].name, sizeof l[i].name, "%s", v);
        snprintf(l[i].id, sizeof l[i].id, "%s", v);
    }
    *list = l;
    *n = count;
    return TC_OK;
}

static const char *http_last_error(void *priv) { return ((http_priv *)priv)->err; }

static int http_health(void *priv)
{
    http_priv *p = priv;
    return atomic_load(&p->healthy) ? TC_OK : TC_ERR_NET;
}

const tc_tts_vtable tc_tts_openai = { "openai", sizeof(http_priv), openai_init, http_synth, http_voices,
                                      http_health, http_uninit, http_last_error };
const tc_tts_vtable tc_tts_elevenlabs = { "elevenlabs", sizeof(http_priv), eleven_init, http_synth,
                                          http_voices, http_health, http_uninit, http_last_error };
