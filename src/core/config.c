/* config.c — the settings table and everything it drives: CLI parsing,
 * environment and .env loading, validation, --help and the masked dump.
 * Adding a setting is one line in `options` (plus its field and the
 * .env.example entry, which a unit test checks). */
#include "core/config.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavutil/pixdesc.h>

#define OFF(f) offsetof(tc_config, f)

static const char *const pace_names[] = { "live", "offline", NULL };
static const char *const fit_names[] = { "pad", "crop", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const pix_fmts[] = { "yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", NULL };

/* Groups, in --help order; each option names its group by index. */
static const char *const groups[] = { "Video", "Audio", "Avatar", "Speech", "Encoder", "Outputs", "Messages", "Run", "Operations", "Logging" };
enum { G_VIDEO, G_AUDIO, G_AVATAR, G_TTS, G_ENC, G_OUT, G_MSG, G_RUN, G_OPS, G_LOG };
static const char *const log_formats[] = { "logfmt", "json", NULL };
static const char *const on_stop_names[] = { "sentence", "message", "now", NULL };
static const char *const tts_names[] = { "espeak", "openai", "elevenlabs", NULL };
static const char *const tts_fallbacks[] = { "", "none", "espeak", "openai", "elevenlabs", NULL };
static const char *const tts_formats[] = { "wav", "pcm", "mp3", "opus", NULL };

typedef struct opt_ext { tc_option o; int group; } opt_ext;

#define O(name, sn, env, type, off, off2, def, mn, mx, ch, grp, help) \
    { { name, sn, env, type, off, off2, def, mn, mx, ch, help, 0 }, grp }
#define SECRET(name, env, off, grp, help) \
    { { name, 0, env, TC_OPT_STRING, off, 0, "", 0, 0, NULL, help, 1 }, grp }

static const opt_ext options[] = {
    O("width", 0, "TALKCAST_WIDTH", TC_OPT_INT, OFF(width), 0, "1280", 16, 7680, NULL, G_VIDEO,
      "output width in pixels (even)"),
    O("height", 0, "TALKCAST_HEIGHT", TC_OPT_INT, OFF(height), 0, "720", 16, 4320, NULL, G_VIDEO,
      "output height in pixels (even)"),
    O("fps", 0, "TALKCAST_FPS", TC_OPT_RATIONAL, OFF(fps_num), OFF(fps_den), "30", 1, 120, NULL, G_VIDEO,
      "frame rate: 30, 25, 29.97 or 30000/1001"),
    O("pix-fmt", 0, "TALKCAST_PIX_FMT", TC_OPT_ENUM, OFF(pix_fmt), 0, "yuv420p", 0, 0, pix_fmts, G_VIDEO,
      "pixel format of the encoded video"),
    O("sample-rate", 0, "TALKCAST_SAMPLE_RATE", TC_OPT_INT, OFF(sample_rate), 0, "48000", 44100, 48000,
      NULL, G_AUDIO, "audio sample rate: 48000 or 44100"),
    O("channels", 0, "TALKCAST_CHANNELS", TC_OPT_INT, OFF(channels), 0, "2", 1, 2, NULL, G_AUDIO,
      "audio channels: 1 or 2"),
    O("avatar", 0, "TALKCAST_AVATAR", TC_OPT_STRING, OFF(avatar), 0, "vector", 0, 0, NULL, G_AVATAR,
      "'vector' (drawn in code), or a path to an image or a looping video"),
    O("fit", 0, "TALKCAST_FIT", TC_OPT_ENUM, OFF(fit), 0, "pad", 0, 0, fit_names, G_AVATAR,
      "fit an avatar of another aspect: pad (letterbox) or crop (fill)"),
    O("landmarks", 0, "TALKCAST_LANDMARKS", TC_OPT_STRING, OFF(landmarks), 0, "", 0, 0, NULL, G_AVATAR,
      "mouth landmarks JSON that makes a photo talk; empty = <image>.landmarks.json if present"),
    O("video-cache-mb", 0, "TALKCAST_VIDEO_CACHE_MB", TC_OPT_INT, OFF(video_cache_mb), 0, "256", 0,
      65536, NULL, G_AVATAR, "video loops up to this size (decoded) are kept in memory"),
    O("seed", 0, "TALKCAST_SEED", TC_OPT_UINT32, OFF(seed), 0, "0", 0, 4294967295.0, NULL, G_AVATAR,
      "seed for idle life (blinks); 0 = random"),
    O("tts", 0, "TALKCAST_TTS", TC_OPT_ENUM, OFF(tts), 0, "espeak", 0, 0, tts_names, G_TTS,
      "speech provider: espeak (offline), openai (OpenAI-compatible API), elevenlabs"),
    O("tts-fallback", 0, "TALKCAST_TTS_FALLBACK", TC_OPT_ENUM, OFF(tts_fallback), 0, "", 0, 0, tts_fallbacks,
      G_TTS, "provider that speaks when the primary fails for good; empty for none"),
    O("voice", 0, "TALKCAST_VOICE", TC_OPT_STRING, OFF(voice), 0, "", 0, 0, NULL, G_TTS,
      "voice (espeak: en-us, de, …; openai: alloy, nova, …); empty = provider default"),
    O("tts-rate", 0, "TALKCAST_TTS_RATE", TC_OPT_INT, OFF(tts_rate), 0, "0", 0, 450, NULL, G_TTS,
      "speaking rate in words per minute (80-450); 0 = the voice's own"),
    O("tts-pitch", 0, "TALKCAST_TTS_PITCH", TC_OPT_INT, OFF(tts_pitch), 0, "-1", -1, 100, NULL, G_TTS,
      "pitch 0-100; -1 = the voice's own"),
    O("tts-volume", 0, "TALKCAST_TTS_VOLUME", TC_OPT_INT, OFF(tts_volume), 0, "100", 0, 200, NULL, G_TTS,
      "espeak volume 0-200"),
    O("tts-ssml", 0, "TALKCAST_TTS_SSML", TC_OPT_BOOL, OFF(tts_ssml), 0, "0", 0, 0, NULL, G_TTS,
      "interpret SSML markup in messages (off: text is plain text)"),
    O("tts-max-chars", 0, "TALKCAST_TTS_MAX_CHARS", TC_OPT_INT, OFF(tts_max_chars), 0, "5000", 1, 100000,
      NULL, G_TTS, "longest message, in characters, after cleaning"),
    O("tts-url", 0, "TALKCAST_TTS_URL", TC_OPT_STRING, OFF(tts_url), 0, "", 0, 0, NULL, G_TTS,
      "HTTP provider base URL (e.g. http://127.0.0.1:8000); empty = the provider's public API"),
    SECRET("tts-api-key", "TALKCAST_TTS_API_KEY", OFF(tts_api_key), G_TTS,
           "HTTP provider API key (secret: never printed or logged)"),
    O("tts-model", 0, "TALKCAST_TTS_MODEL", TC_OPT_STRING, OFF(tts_model), 0, "", 0, 0, NULL, G_TTS,
      "HTTP provider model; empty = provider default (tts-1, eleven_multilingual_v2)"),
    O("tts-format", 0, "TALKCAST_TTS_FORMAT", TC_OPT_ENUM, OFF(tts_format), 0, "wav", 0, 0, tts_formats,
      G_TTS, "audio format asked of HTTP providers"),
    O("tts-timeout", 0, "TALKCAST_TTS_TIMEOUT", TC_OPT_DOUBLE, OFF(tts_timeout), 0, "30", 0.1, 600, NULL,
      G_TTS, "seconds a whole HTTP request may take"),
    O("tts-connect-timeout", 0, "TALKCAST_TTS_CONNECT_TIMEOUT", TC_OPT_DOUBLE, OFF(tts_connect_timeout), 0,
      "5", 0.1, 120, NULL, G_TTS, "seconds to connect to an HTTP provider"),
    O("tts-retries", 0, "TALKCAST_TTS_RETRIES", TC_OPT_INT, OFF(tts_retries), 0, "3", 0, 20, NULL, G_TTS,
      "retries on time-outs, 429 and 5xx (exponential back-off, honours Retry-After)"),
    O("x264-preset", 0, "TALKCAST_X264_PRESET", TC_OPT_STRING, OFF(x264_preset), 0, "superfast", 0, 0,
      NULL, G_ENC, "libx264 preset (ultrafast … veryslow)"),
    O("x264-tune", 0, "TALKCAST_X264_TUNE", TC_OPT_STRING, OFF(x264_tune), 0, "zerolatency", 0, 0,
      NULL, G_ENC, "libx264 tune; empty for none"),
    O("x264-params", 0, "TALKCAST_X264_PARAMS", TC_OPT_STRING, OFF(x264_params), 0, "subme=0", 0, 0, NULL, G_ENC,
      "libx264 options over the preset, key=value:key=value (as x264's --x264-params); the default full-pel "
      "motion search suits a talking head: same PSNR, 12% less CPU, 6 MB less memory at 720p; \"\" = the preset's own"),
    O("video-bitrate", 0, "TALKCAST_VIDEO_BITRATE", TC_OPT_BITRATE, OFF(video_bitrate), 0, "2500k",
      10000, 200e6, NULL, G_ENC, "video bitrate (bits/s; k and M suffixes)"),
    O("video-maxrate", 0, "TALKCAST_VIDEO_MAXRATE", TC_OPT_BITRATE, OFF(video_maxrate), 0, "0", 0,
      200e6, NULL, G_ENC, "VBV max rate; 0 = the bitrate"),
    O("video-bufsize", 0, "TALKCAST_VIDEO_BUFSIZE", TC_OPT_BITRATE, OFF(video_bufsize), 0, "0", 0,
      400e6, NULL, G_ENC, "VBV buffer size in bits; 0 = 2 x max rate"),
    O("keyint", 0, "TALKCAST_KEYINT", TC_OPT_DOUBLE, OFF(keyint), 0, "2", 0.1, 60, NULL, G_ENC,
      "seconds between keyframes"),
    O("encoder-threads", 0, "TALKCAST_ENCODER_THREADS", TC_OPT_INT, OFF(encoder_threads), 0, "0", 0, 64, NULL,
      G_ENC, "x264 threads per stream; 0 = auto (one stream: 1 up to 720p30, else x264's choice; several: cores / streams)"),
    O("idle-replay", 0, "TALKCAST_IDLE_REPLAY", TC_OPT_BOOL, OFF(idle_replay), 0, "true", 0, 0, NULL, G_ENC,
      "while nothing is said, send a loop of idle frames encoded once at start-up (near-zero CPU)"),
    O("idle-close", 0, "TALKCAST_IDLE_CLOSE", TC_OPT_DOUBLE, OFF(idle_close), 0, "10", 0, 86400, NULL, G_ENC,
      "seconds on the idle loop after which x264 is closed and its memory (~20 MB at 720p) returned; "
      "speech opens it again in a few ms; 0 = keep it open"),
    O("captions", 0, "TALKCAST_CAPTIONS", TC_OPT_BOOL, OFF(captions), 0, "true", 0, 0, NULL, G_ENC,
      "closed captions of what is said, in the video itself (CEA-608 roll-up as A/53 data in H.264), "
      "shown by players and platforms that read captions from the stream; invisible until a viewer turns CC on"),
    O("captions-rows", 0, "TALKCAST_CAPTIONS_ROWS", TC_OPT_INT, OFF(captions_rows), 0, "2", 2, 3, NULL, G_ENC,
      "rows of roll-up captions on screen (2 or 3)"),
    O("captions-burn", 0, "TALKCAST_CAPTIONS_BURN", TC_OPT_BOOL, OFF(captions_burn), 0, "false", 0, 0, NULL, G_ENC,
      "also draw the captions into the picture (a band at the bottom), for outputs and players without 608; "
      "every viewer sees them and they cost CPU while shown"),
    O("captions-file", 0, "TALKCAST_CAPTIONS_FILE", TC_OPT_STRING, OFF(captions_file), 0, "", 0, 0, NULL, G_ENC,
      "a rolling WebVTT (.vtt) or SRT (.srt) file of the last 200 captions, on the stream's timeline, "
      "rewritten (atomically) as each sentence starts; {stream} becomes the stream name; empty = none"),
    O("huge-pages", 0, "TALKCAST_HUGE_PAGES", TC_OPT_BOOL, OFF(huge_pages), 0, "false", 0, 0, NULL, G_ENC,
      "let x264 back its frames with transparent huge pages: about 9 MB more RSS a stream at 720p "
      "for a little less CPU at large sizes"),
    O("audio-bitrate", 0, "TALKCAST_AUDIO_BITRATE", TC_OPT_BITRATE, OFF(audio_bitrate), 0, "128k",
      16000, 512000, NULL, G_ENC, "AAC bitrate (bits/s)"),
    O("out", 'o', "TALKCAST_OUTPUTS", TC_OPT_LIST, OFF(outputs), OFF(n_outputs), "", 0, 0, NULL, G_OUT,
      "output URL or file, repeatable ([f=FORMAT]URL overrides the format); "
      "env: space-separated"),
    O("out-queue", 0, "TALKCAST_OUT_QUEUE", TC_OPT_INT, OFF(out_queue), 0, "256", 8, 100000, NULL, G_OUT,
      "packets queued per output before it drops"),
    O("reconnect-min", 0, "TALKCAST_RECONNECT_MIN", TC_OPT_DOUBLE, OFF(reconnect_min), 0, "0.5", 0.05,
      60, NULL, G_OUT, "first reconnect back-off, seconds"),
    O("reconnect-max", 0, "TALKCAST_RECONNECT_MAX", TC_OPT_DOUBLE, OFF(reconnect_max), 0, "30", 0.05,
      3600, NULL, G_OUT, "back-off cap, seconds"),
    SECRET("amqp-url", "TALKCAST_AMQP_URL", OFF(amqp_url), G_MSG,
           "RabbitMQ URL, amqp://user:pass@host:5672/vhost or amqps://…; \"\" = stream without messages"),
    O("queue", 0, "TALKCAST_QUEUE", TC_OPT_STRING, OFF(queue), 0, "talkcast", 0, 0, NULL, G_MSG,
      "queue of messages to speak (also names QUEUE.control, QUEUE.dlx, QUEUE.dlq)"),
    O("prefetch", 0, "TALKCAST_PREFETCH", TC_OPT_INT, OFF(prefetch), 0, "8", 1, 1000, NULL, G_MSG,
      "messages held unacked at once (the next ones are synthesized ahead)"),
    O("heartbeat", 0, "TALKCAST_HEARTBEAT", TC_OPT_INT, OFF(heartbeat), 0, "30", 0, 3600, NULL, G_MSG,
      "AMQP heartbeat, seconds; 0 = off"),
    O("amqp-passive", 0, "TALKCAST_AMQP_PASSIVE", TC_OPT_BOOL, OFF(amqp_passive), 0, "false", 0, 0, NULL,
      G_MSG, "the queues and exchanges exist already: check them, declare nothing"),
    O("amqp-ca", 0, "TALKCAST_AMQP_CA", TC_OPT_STRING, OFF(amqp_ca), 0, "", 0, 0, NULL, G_MSG,
      "amqps: CA bundle to verify the broker; \"\" = the system's"),
    O("amqp-cert", 0, "TALKCAST_AMQP_CERT", TC_OPT_STRING, OFF(amqp_cert), 0, "", 0, 0, NULL, G_MSG,
      "amqps: client certificate (PEM), optional"),
    O("amqp-key", 0, "TALKCAST_AMQP_KEY", TC_OPT_STRING, OFF(amqp_key), 0, "", 0, 0, NULL, G_MSG,
      "amqps: client key (PEM), optional"),
    O("amqp-verify", 0, "TALKCAST_AMQP_VERIFY", TC_OPT_BOOL, OFF(amqp_verify), 0, "true", 0, 0, NULL, G_MSG,
      "amqps: verify the broker's certificate and host name"),
    O("events-exchange", 0, "TALKCAST_EVENTS_EXCHANGE", TC_OPT_STRING, OFF(events_exchange), 0,
      "talkcast.events", 0, 0, NULL, G_MSG, "topic exchange for events (key STREAM.EVENT); \"\" = none"),
    O("stream-name", 0, "TALKCAST_STREAM_NAME", TC_OPT_STRING, OFF(stream_name), 0, "talkcast", 0, 0, NULL,
      G_MSG, "this stream's name in events and their routing keys"),
    O("synth-ahead", 0, "TALKCAST_SYNTH_AHEAD", TC_OPT_INT, OFF(synth_ahead), 0, "1", 0, 16, NULL, G_MSG,
      "messages synthesized ahead of the one on air"),
    O("pause-after", 0, "TALKCAST_PAUSE_AFTER", TC_OPT_DOUBLE, OFF(pause_after), 0, "0.25", 0, 10, NULL,
      G_MSG, "seconds of silence after each message (the mouth settles)"),
    O("on-stop", 0, "TALKCAST_ON_STOP", TC_OPT_ENUM, OFF(on_stop), 0, "sentence", 0, 0, on_stop_names,
      G_MSG, "SIGTERM during speech: finish the sentence (rest requeued), the message, or stop now"),
    O("stop-timeout", 0, "TALKCAST_STOP_TIMEOUT", TC_OPT_DOUBLE, OFF(stop_timeout), 0, "30", 0, 3600, NULL,
      G_MSG, "seconds a graceful stop waits for speech to end"),
    O("breathing", 0, "TALKCAST_BREATHING", TC_OPT_BOOL, OFF(breathing), 0, "true", 0, 0, NULL, G_AVATAR,
      "the vector avatar breathes between and during messages (--no-breathing: a still body)"),
    O("avatar-dir", 0, "TALKCAST_AVATAR_DIR", TC_OPT_STRING, OFF(avatar_dir), 0, "", 0, 0, NULL, G_AVATAR,
      "where set_avatar looks up names: those stored by 'talkcast avatar add' (kept in DIR/.store), "
      "then NAME, NAME.png/.jpg/.mp4, NAME/ sprite pack"),
    O("face-provider", 0, "TALKCAST_FACE_PROVIDER", TC_OPT_STRING, OFF(face_provider), 0, "", 0, 0, NULL, G_AVATAR,
      "remote talking-face provider base URL (docs/face-provider.md), e.g. http://127.0.0.1:8700; "
      "\"\" = the avatar is rendered locally"),
    SECRET("face-api-key", "TALKCAST_FACE_API_KEY", OFF(face_api_key), G_AVATAR,
           "face provider API key (secret: never printed or logged)"),
    O("face-auth-header", 0, "TALKCAST_FACE_AUTH_HEADER", TC_OPT_STRING, OFF(face_auth_header), 0, "", 0, 0, NULL,
      G_AVATAR, "header that carries the face API key as \"NAME: KEY\"; \"\" = Authorization: Bearer KEY"),
    O("face-connect-timeout", 0, "TALKCAST_FACE_CONNECT_TIMEOUT", TC_OPT_DOUBLE, OFF(face_connect_timeout), 0, "2",
      0.05, 120, NULL, G_AVATAR, "seconds to connect to the face provider"),
    O("face-timeout", 0, "TALKCAST_FACE_TIMEOUT", TC_OPT_DOUBLE, OFF(face_timeout), 0, "10", 0.1, 600, NULL,
      G_AVATAR, "seconds the face provider may send nothing before a request is abandoned (the local face fills in)"),
    O("face-retries", 0, "TALKCAST_FACE_RETRIES", TC_OPT_INT, OFF(face_retries), 0, "2", 0, 20, NULL, G_AVATAR,
      "retries of a face request that failed before its first frame (back-off 0.2-2 s)"),
    O("face-frame-deadline", 0, "TALKCAST_FACE_FRAME_DEADLINE", TC_OPT_DOUBLE, OFF(face_frame_deadline), 0, "5", 0,
      600, NULL, G_AVATAR, "say: seconds to wait for each provider frame before the local face draws it; "
      "a live stream never waits (a frame not there at its tick is drawn locally)"),
    O("face-crossfade", 0, "TALKCAST_FACE_CROSSFADE", TC_OPT_INT, OFF(face_crossfade), 0, "6", 0, 120, NULL,
      G_AVATAR, "frames over which provider frames fade in from and out to the local face; 0 = cut"),
    O("face-health-interval", 0, "TALKCAST_FACE_HEALTH_INTERVAL", TC_OPT_DOUBLE, OFF(face_health_interval), 0, "2",
      0.1, 3600, NULL, G_AVATAR, "seconds between face provider health checks (a provider found down is used again "
      "once it answers)"),
    O("duration", 0, "TALKCAST_DURATION", TC_OPT_DOUBLE, OFF(duration), 0, "0", 0, 1e9, NULL, G_RUN,
      "stop after this many seconds of stream; 0 = run until stopped"),
    O("pace", 0, "TALKCAST_PACE", TC_OPT_ENUM, OFF(pace), 0, "live", 0, 0, pace_names, G_RUN,
      "live (real time) or offline (as fast as possible)"),
    O("streams", 0, "TALKCAST_STREAMS", TC_OPT_STRING, OFF(streams), 0, "", 0, 0, NULL, G_OPS,
      "directory of NAME.env files, one stream each (its own queue, avatar, voice, outputs); "
      "\"\" = one stream"),
    O("metrics-listen", 0, "TALKCAST_METRICS_LISTEN", TC_OPT_STRING, OFF(metrics_listen), 0,
      "127.0.0.1:9464", 0, 0, NULL, G_OPS, "address of /metrics, /healthz and /readyz; \"\" = off"),
    O("log-level", 0, "TALKCAST_LOG_LEVEL", TC_OPT_ENUM, OFF(log_level), 0, "info", 0, 0, level_names,
      G_LOG, "error, warn, info or debug"),
    O("log-format", 0, "TALKCAST_LOG_FORMAT", TC_OPT_ENUM, OFF(log_format), 0, "logfmt", 0, 0, log_formats,
      G_LOG, "logfmt (key=value lines) or json (one object per line), on stderr"),
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* pix-fmt and log-level are enums whose value is kept as a string. */
static int enum_as_string(const tc_option *o)
{
    return o->offset == OFF(pix_fmt) || o->offset == OFF(log_level) || o->offset == OFF(tts) ||
           o->offset == OFF(tts_fallback) || o->offset == OFF(tts_format);
}

const tc_option *tc_config_options(size_t *count)
{
    static tc_option table[N_OPTIONS];
    if (!table[0].name)
        for (size_t i = 0; i < N_OPTIONS; i++) table[i] = options[i].o;
    *count = N_OPTIONS;
    return table;
}

static const opt_ext *find_option(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(options[i].o.name, name)) return &options[i];
    return NULL;
}

/* ---- suggestions ------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la >= 63 || lb >= 63) return 99;
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* The closest option name (by_env: env var) within distance 3, or NULL. */
static const char *suggest(const char *word, int by_env)
{
    const char *best = NULL;
    size_t bd = 4;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *cand = by_env ? options[i].o.env : options[i].o.name;
        size_t d = edit_distance(word, cand);
        if (d < bd) { bd = d; best = cand; }
    }
    return best;
}

/* ---- values ----------------------------------------------------------- */

static int set_string(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s) return TC_ERR_NOMEM;
    free(*dst);
    *dst = s;
    return TC_OK;
}

static void list_clear(tc_config *c)
{
    for (size_t i = 0; i < c->n_outputs; i++) free(c->outputs[i]);
    free(c->outputs);
    c->outputs = NULL;
    c->n_outputs = 0;
}

static int list_append(tc_config *c, const char *v)
{
    char **n = realloc(c->outputs, (c->n_outputs + 2) * sizeof *n);
    if (!n) return TC_ERR_NOMEM;
    c->outputs = n;
    if (!(n[c->n_outputs] = strdup(v))) return TC_ERR_NOMEM;
    n[++c->n_outputs] = NULL;
    return TC_OK;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d)) return TC_ERR_INVAL;
    *out = d;
    return TC_OK;
}

static int parse_bitrate(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || errno || !isfinite(d)) return TC_ERR_INVAL;
    if (*end == 'k' || *end == 'K') { d *= 1e3; end++; }
    else if (*end == 'M' || *end == 'm') { d *= 1e6; end++; }
    if (*end) return TC_ERR_INVAL;
    *out = d;
    return TC_OK;
}

static int parse_rational(const char *v, int *num, int *den)
{
    const char *slash = strchr(v, '/');
    if (slash) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end != slash) return TC_ERR_INVAL;
        long d = strtol(slash + 1, &end, 10);
        if (*end || n <= 0 || d <= 0 || n > 1000000 || d > 1000000) return TC_ERR_INVAL;
        *num = (int)n;
        *den = (int)d;
        return TC_OK;
    }
    double d;
    /* the same bound as num/den above, before any conversion to int */
    if (parse_double(v, &d) < 0 || d <= 0 || d > 1000000) return TC_ERR_INVAL;
    if (fabs(d - 29.97) < 0.005) { *num = 30000; *den = 1001; }
    else if (fabs(d - 59.94) < 0.005) { *num = 60000; *den = 1001; }
    else if (fabs(d - 23.976) < 0.0005) { *num = 24000; *den = 1001; }
    else if (fabs(d - round(d)) < 1e-9) { *num = (int)round(d); *den = 1; }
    else { *num = (int)round(d * 1000); *den = 1000; }
    return TC_OK;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) { *out = 1; return TC_OK; }
        if (!strcasecmp(v, no[i])) { *out = 0; return TC_OK; }
    }
    return TC_ERR_INVAL;
}

static void choices_text(const char *const *ch, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; ch[i] && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", ch[i]);
}

static int range_check(const tc_option *o, double d, const char *v, char *err, size_t errlen)
{
    if (o->min != o->max && (d < o->min || d > o->max)) {
        snprintf(err, errlen, "%s: %s is out of range; must be %g to %g", o->name, v, o->min, o->max);
        return TC_ERR_INVAL;
    }
    return TC_OK;
}

static int set_value(tc_config *c, const tc_option *o, const char *v, char *err, size_t errlen)
{
    char *base = (char *)c;
    double d;
    switch (o->type) {
    case TC_OPT_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (end == v || *end || errno) {
            snprintf(err, errlen, "%s: '%s' is not a whole number", o->name, v);
            return TC_ERR_INVAL;
        }
        if ((o->offset == OFF(width) || o->offset == OFF(height)) && (n & 1)) {
            snprintf(err, errlen, "%s: %ld is odd; must be even", o->name, n);
            return TC_ERR_INVAL;
        }
        if (o->offset == OFF(sample_rate) && n != 44100 && n != 48000) {
            snprintf(err, errlen, "sample-rate: %ld not supported; use 44100 or 48000", n);
            return TC_ERR_INVAL;
        }
        if (range_check(o, (double)n, v, err, errlen) < 0) return TC_ERR_INVAL;
        *(int *)(base + o->offset) = (int)n;
        return TC_OK;
    }
    case TC_OPT_UINT32: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (end == v || *end || errno || n > 4294967295ULL || v[0] == '-') {
            snprintf(err, errlen, "%s: '%s' is not a number from 0 to 4294967295", o->name, v);
            return TC_ERR_INVAL;
        }
        *(uint32_t *)(base + o->offset) = (uint32_t)n;
        return TC_OK;
    }
    case TC_OPT_DOUBLE:
        if (parse_double(v, &d) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a number", o->name, v);
            return TC_ERR_INVAL;
        }
        if (range_check(o, d, v, err, errlen) < 0) return TC_ERR_INVAL;
        *(double *)(base + o->offset) = d;
        return TC_OK;
    case TC_OPT_BITRATE:
        if (parse_bitrate(v, &d) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a bitrate (e.g. 2500000, 2500k, 2.5M)", o->name, v);
            return TC_ERR_INVAL;
        }
        if (d != 0 && range_check(o, d, v, err, errlen) < 0) return TC_ERR_INVAL;
        *(int64_t *)(base + o->offset) = (int64_t)llround(d);
        return TC_OK;
    case TC_OPT_RATIONAL: {
        int num, den;
        if (parse_rational(v, &num, &den) < 0 || (double)num / den < o->min || (double)num / den > o->max) {
            snprintf(err, errlen, "%s: '%s' is not a frame rate from %g to %g (e.g. 30, 29.97, 30000/1001)",
                     o->name, v, o->min, o->max);
            return TC_ERR_INVAL;
        }
        *(int *)(base + o->offset) = num;
        *(int *)(base + o->offset2) = den;
        return TC_OK;
    }
    case TC_OPT_BOOL: {
        int b;
        if (parse_bool(v, &b) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a boolean (1/0, true/false, yes/no, on/off)", o->name, v);
            return TC_ERR_INVAL;
        }
        *(int *)(base + o->offset) = b;
        return TC_OK;
    }
    case TC_OPT_ENUM:
        for (int i = 0; o->choices[i]; i++) {
            if (!strcasecmp(v, o->choices[i])) {
                if (enum_as_string(o)) return set_string((char **)(base + o->offset), o->choices[i]);
                *(int *)(base + o->offset) = i;
                return TC_OK;
            }
        }
        {
            char ch[256];
            choices_text(o->choices, ch, sizeof ch);
            snprintf(err, errlen, "%s: '%s' is not one of: %s", o->name, v, ch);
        }
        return TC_ERR_INVAL;
    case TC_OPT_STRING:
        return set_string((char **)(base + o->offset), v);
    case TC_OPT_LIST: { /* whitespace-separated (env/.env); a CLI value is one item */
        list_clear(c);
        const char *p = v;
        while (*p) {
            while (isspace((unsigned char)*p)) p++;
            const char *s = p;
            while (*p && !isspace((unsigned char)*p)) p++;
            if (p > s) {
                char item[4096];
                size_t n = (size_t)(p - s) < sizeof item ? (size_t)(p - s) : sizeof item - 1;
                memcpy(item, s, n);
                item[n] = '\0';
                if (list_append(c, item) < 0) return TC_ERR_NOMEM;
            }
        }
        return TC_OK;
    }
    }
    return TC_ERR_INVAL;
}

int tc_config_set(tc_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const opt_ext *o = find_option(name);
    if (!o) {
        const char *s = suggest(name, 0);
        snprintf(err, errlen, "unknown option '%s'%s%s%s", name, s ? " (did you mean --" : "",
                 s ? s : "", s ? "?)" : "");
        return TC_ERR_INVAL;
    }
    return set_value(c, &o->o, value, err, errlen);
}

/* ---- lifecycle ---------------------------------------------------------- */

int tc_config_init(tc_config *c)
{
    memset(c, 0, sizeof *c);
    char err[256];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const tc_option *o = &options[i].o;
        int r = set_value(c, o, o->def, err, sizeof err);
        if (r < 0) {
            tc_config_free(c);
            return r;
        }
    }
    return TC_OK;
}

void tc_config_free(tc_config *c)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const tc_option *o = &options[i].o;
        if (o->type == TC_OPT_STRING || (o->type == TC_OPT_ENUM && enum_as_string(o))) {
            char **p = (char **)((char *)c + o->offset);
            free(*p);
            *p = NULL;
        }
    }
    list_clear(c);
}

/* ---- sources ------------------------------------------------------------ */

static const opt_ext *find_env(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(options[i].o.env, key)) return &options[i];
    return NULL;
}

static int set_from_env_key(tc_config *c, const char *key, const char *val, const char *where,
                            char *err, size_t errlen)
{
    const opt_ext *o = find_env(key);
    if (!o) {
        if (strncmp(key, "TALKCAST_", 9) != 0) return TC_OK;
        /* Keys the binary reads itself, outside the table. */
        if (!strcmp(key, "TALKCAST_ENV_FILE") || !strcmp(key, "TALKCAST_BIN")) return TC_OK;
        const char *s = suggest(key, 1);
        snprintf(err, errlen, "%sunknown key %s%s%s%s", where, key, s ? " (did you mean " : "",
                 s ? s : "", s ? "?)" : "");
        return TC_ERR_INVAL;
    }
    char inner[384];
    int r = set_value(c, &o->o, val, inner, sizeof inner);
    if (r < 0) snprintf(err, errlen, "%s%s (%s)", where, inner, key);
    return r;
}

int tc_config_load_env(tc_config *c, char *const *envp, char *err, size_t errlen)
{
    for (; envp && *envp; envp++) {
        const char *eq = strchr(*envp, '=');
        if (!eq || strncmp(*envp, "TALKCAST_", 9) != 0) continue;
        char key[128];
        size_t n = (size_t)(eq - *envp);
        if (n >= sizeof key) continue;
        memcpy(key, *envp, n);
        key[n] = '\0';
        int r = set_from_env_key(c, key, eq + 1, "environment: ", err, errlen);
        if (r < 0) return r;
    }
    return TC_OK;
}

/* Parse one .env value in place: quotes, escapes, trailing comments. */
static int dotenv_value(char *v, char **out)
{
    while (isspace((unsigned char)*v)) v++;
    if (*v == '"' || *v == '\'') {
        char q = *v++, *w = v, *r = v;
        for (; *r && *r != q; r++) {
            if (q == '"' && *r == '\\' && r[1]) {
                r++;
                *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
            } else {
                *w++ = *r;
            }
        }
        if (*r != q) return TC_ERR_FORMAT;
        *w = '\0';
        for (r++; isspace((unsigned char)*r); r++) {}
        if (*r && *r != '#') return TC_ERR_FORMAT;
        *out = v;
        return TC_OK;
    }
    char *hash = v;
    while ((hash = strchr(hash, '#')) && hash > v && !isspace((unsigned char)hash[-1])) hash++;
    if (hash) *hash = '\0';
    size_t n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1])) v[--n] = '\0';
    *out = v;
    return TC_OK;
}

int tc_config_parse_dotenv(tc_config *c, const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int at = 1;
        for (const char *q = text; q < nul; q++) at += *q == '\n';
        snprintf(err, errlen, "%s: line %d: contains a NUL byte", name, at);
        return TC_ERR_FORMAT;
    }
    /* one NUL-terminated copy, cut into lines in place */
    char *buf = malloc(len + 1);
    if (!buf) return TC_ERR_NOMEM;
    memcpy(buf, text, len);
    buf[len] = '\0';
    int lineno = 0, r = TC_OK;
    for (char *line = buf, *next; r == TC_OK && line < buf + len; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : buf + len;
        if (nl) *nl = '\0';
        lineno++;
        char *p = line;
        size_t n = strlen(p);
        while (n && p[n - 1] == '\r') p[--n] = '\0';
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (!strncmp(p, "export", 6) && isspace((unsigned char)p[6])) p += 7;
        while (isspace((unsigned char)*p)) p++;
        char *eq = strchr(p, '=');
        char where[512];
        snprintf(where, sizeof where, "%s: line %d: ", name, lineno);
        if (!eq) {
            snprintf(err, errlen, "%sexpected KEY=value", where);
            r = TC_ERR_FORMAT;
            break;
        }
        char *k_end = eq;
        while (k_end > p && isspace((unsigned char)k_end[-1])) k_end--;
        *k_end = '\0';
        char *val;
        if (dotenv_value(eq + 1, &val) < 0) {
            snprintf(err, errlen, "%sunterminated or malformed quoted value for %s", where, p);
            r = TC_ERR_FORMAT;
            break;
        }
        r = set_from_env_key(c, p, val, where, err, errlen);
    }
    free(buf);
    return r;
}

/* A .env is a few KiB; anything past this is not one (or is /dev/zero). */
#define DOTENV_MAX (1 << 20)

int tc_config_load_dotenv(tc_config *c, const char *path, int optional, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (optional && errno == ENOENT) return TC_OK;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return errno == ENOENT ? TC_ERR_NOTFOUND : TC_ERR_IO;
    }
    char *text = malloc(DOTENV_MAX + 1);
    size_t len = text ? fread(text, 1, DOTENV_MAX + 1, f) : 0;
    int r = !text ? TC_ERR_NOMEM : ferror(f) ? TC_ERR_IO : TC_OK;
    if (r == TC_ERR_IO) snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    if (r == TC_OK && len > DOTENV_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes; not a .env file", path, DOTENV_MAX);
        r = TC_ERR_FORMAT;
    }
    fclose(f);
    if (r == TC_OK) r = tc_config_parse_dotenv(c, text, len, path, err, errlen);
    free(text);
    return r;
}

static int parse_args(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen,
                      int list_from_cli);

int tc_config_parse_args(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen)
{
    return parse_args(c, argc, argv, next, err, errlen, 0);
}

int tc_config_parse_args_more(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen)
{
    return parse_args(c, argc, argv, next, err, errlen, 1);
}

static int parse_args(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen,
                      int list_from_cli)
{
    int i;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !a[1]) break;
        const opt_ext *o = NULL;
        const char *val = NULL;
        char name[128];
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, a + 2, n);
            name[n] = '\0';
            if (eq) val = eq + 1;
            o = find_option(name);
            if (!o && !strncmp(name, "no-", 3) && (o = find_option(name + 3)) && o->o.type == TC_OPT_BOOL) {
                *(int *)((char *)c + o->o.offset) = 0;
                continue;
            }
            if (o && o->o.type == TC_OPT_BOOL && !val) {
                *(int *)((char *)c + o->o.offset) = 1;
                continue;
            }
        } else {
            for (size_t k = 0; k < N_OPTIONS; k++)
                if (options[k].o.short_name && options[k].o.short_name == a[1] && !a[2]) o = &options[k];
            snprintf(name, sizeof name, "%s", a + 1);
        }
        if (!o) {
            const char *s = suggest(name, 0);
            snprintf(err, errlen, "unknown option '%s'%s%s%s", a, s ? " (did you mean --" : "", s ? s : "",
                     s ? "?)" : "");
            return TC_ERR_INVAL;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '%s' needs a value", a);
                return TC_ERR_INVAL;
            }
            val = argv[++i];
        }
        int r;
        if (o->o.type == TC_OPT_LIST) {
            if (!list_from_cli) list_clear(c);
            list_from_cli = 1;
            r = list_append(c, val);
        } else {
            r = set_value(c, &o->o, val, err, errlen);
        }
        if (r < 0) return r;
    }
    if (next) *next = i;
    return TC_OK;
}

int tc_config_load(tc_config *c, const char *dotenv_path, char *const *envp, int argc,
                   char *const *argv, int *next, char *err, size_t errlen)
{
    int r = TC_OK;
    if (dotenv_path) r = tc_config_load_dotenv(c, dotenv_path, 1, err, errlen);
    if (r == TC_OK) r = tc_config_load_env(c, envp, err, errlen);
    if (r == TC_OK) r = tc_config_parse_args(c, argc, argv, next, err, errlen);
    return r;
}

int tc_config_validate(const tc_config *c, char *err, size_t errlen)
{
    if (c->reconnect_min > c->reconnect_max) {
        snprintf(err, errlen, "reconnect-min (%g) is larger than reconnect-max (%g)", c->reconnect_min,
                 c->reconnect_max);
        return TC_ERR_INVAL;
    }
    int64_t maxrate = c->video_maxrate ? c->video_maxrate : c->video_bitrate;
    if (c->video_maxrate && c->video_maxrate < c->video_bitrate) {
        snprintf(err, errlen, "video-maxrate (%lld) is below video-bitrate (%lld)",
                 (long long)c->video_maxrate, (long long)c->video_bitrate);
        return TC_ERR_INVAL;
    }
    if (c->video_bufsize && c->video_bufsize < maxrate * c->fps_den / c->fps_num) {
        snprintf(err, errlen, "video-bufsize (%lld bits) holds less than one frame at the max rate",
                 (long long)c->video_bufsize);
        return TC_ERR_INVAL;
    }
    if (c->keyint * c->fps_num / c->fps_den < 1) {
        snprintf(err, errlen, "keyint (%g s) is shorter than one frame", c->keyint);
        return TC_ERR_INVAL;
    }
    if (!c->avatar || !c->avatar[0]) {
        snprintf(err, errlen, "avatar: empty; use 'vector' or a file path");
        return TC_ERR_INVAL;
    }
    return TC_OK;
}

/* ---- help and dump -------------------------------------------------------- */

void tc_config_print_help(FILE *f)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        fprintf(f, "%s:\n", groups[g]);
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const tc_option *o = &options[i].o;
            if (options[i].group != (int)g) continue;
            char flag[64];
            snprintf(flag, sizeof flag, "%s%c%s--%s %s", o->short_name ? "-" : "",
                     o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                     o->type == TC_OPT_BOOL ? "" : "VALUE");
            fprintf(f, "  %-28s %s\n", o->short_name ? flag : flag + 1, o->help);
            fprintf(f, "  %-28s (env %s, default %s)\n", "", o->env, o->def[0] ? o->def : "none");
        }
        fprintf(f, "\n");
    }
}

void tc_config_print_example(FILE *f)
{
    fprintf(f, "# talkcast configuration: every key with its default.\n"
               "# Copy to .env and change what you need. Precedence: CLI > environment > .env.\n"
               "# Generated by 'talkcast config example'.\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        fprintf(f, "\n# ---- %s ----\n", groups[g]);
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const tc_option *o = &options[i].o;
            if (options[i].group != (int)g) continue;
            fprintf(f, "# %s (--%s)\n%s=%s\n", o->help, o->name, o->env, o->def);
        }
    }
}

/* Besides the secret options, URLs can carry secrets (a password in
 * userinfo, an RTMP stream key): outputs and any other URL-valued string
 * (the TTS server's) are masked like in the logs. */
char *tc_outfmt_mask_url(const char *url);

void tc_config_dump(const tc_config *c, FILE *f)
{
    const char *base = (const char *)c;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const tc_option *o = &options[i].o;
        fprintf(f, "%s=", o->env);
        if (o->secret) { /* say whether it is set, never what it is */
            const char *v = *(char *const *)(base + o->offset);
            fprintf(f, "%s\n", v && *v ? "***" : "");
            continue;
        }
        switch (o->type) {
        case TC_OPT_INT: fprintf(f, "%d", *(const int *)(base + o->offset)); break;
        case TC_OPT_UINT32: fprintf(f, "%u", *(const uint32_t *)(base + o->offset)); break;
        case TC_OPT_DOUBLE: fprintf(f, "%g", *(const double *)(base + o->offset)); break;
        case TC_OPT_BITRATE: fprintf(f, "%lld", (long long)*(const int64_t *)(base + o->offset)); break;
        case TC_OPT_BOOL: fprintf(f, "%d", *(const int *)(base + o->offset)); break;
        case TC_OPT_RATIONAL: {
            int num = *(const int *)(base + o->offset), den = *(const int *)(base + o->offset2);
            if (den == 1) fprintf(f, "%d", num);
            else fprintf(f, "%d/%d", num, den);
            break;
        }
        case TC_OPT_ENUM:
            if (enum_as_string(o)) fprintf(f, "%s", *(char *const *)(base + o->offset));
            else fprintf(f, "%s", o->choices[*(const int *)(base + o->offset)]);
            break;
        case TC_OPT_STRING: {
            const char *v = *(char *const *)(base + o->offset);
            char *m = strstr(v, "://") ? tc_outfmt_mask_url(v) : NULL;
            fprintf(f, "%s", m ? m : strstr(v, "://") ? "***" : v);
            free(m);
            break;
        }
        case TC_OPT_LIST:
            for (size_t k = 0; k < c->n_outputs; k++) {
                char *m = tc_outfmt_mask_url(c->outputs[k]);
                fprintf(f, "%s%s", k ? " " : "", m ? m : "***");
                free(m);
            }
            break;
        }
        fprintf(f, "\n");
    }
}
