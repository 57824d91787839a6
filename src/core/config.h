/* config.h — talkcast's settings, declared once.
 *
 * One table (name, env var, type, default, range, help, secret?) drives CLI
 * parsing, environment and `.env` loading, `--help`, `config check` and the
 * completeness check of `.env.example` — like FFmpeg's AVOption tables.
 * Precedence: CLI > environment (TALKCAST_*) > .env file > defaults.
 *
 * Ownership: tc_config owns every string and list in it; tc_config_free()
 * releases them. Setters copy their input. */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum tc_pace { TC_PACE_LIVE = 0, TC_PACE_OFFLINE = 1 } tc_pace;

typedef struct tc_config {
    char *log_level;          /* error|warn|info|debug */
    int log_format;           /* tc_log_format: 0 logfmt, 1 json */
    /* operations */
    char *metrics_listen;     /* "127.0.0.1:9464"; "" = no HTTP server */
    char *streams;            /* directory of per-stream *.env files; "" = one stream */
    /* video */
    int width, height;        /* even, 16..7680 x 16..4320 */
    int fps_num, fps_den;     /* "30" or "30000/1001" */
    char *pix_fmt;            /* libav name, default "yuv420p" */
    /* audio */
    int sample_rate;          /* 44100 or 48000 */
    int channels;             /* 1 or 2 */
    /* avatar / idle source */
    char *avatar;             /* "vector" (default), or a path to an image or video */
    int fit;                  /* tc_face_fit: 0 pad, 1 crop */
    int video_cache_mb;       /* decode loops up to this size into memory */
    char *landmarks;          /* mouth landmarks JSON for a photo avatar; "" = next to the image */
    uint32_t seed;            /* idle-life randomness (0 = from time) */
    int breathing;            /* bool: the vector avatar breathes */
    /* encoder */
    char *x264_preset;        /* default "veryfast" */
    char *x264_tune;          /* default "zerolatency"; "" for none */
    char *x264_params;        /* x264 options over the preset, "key=value:…"; default "subme=0"; "" for none */
    int64_t video_bitrate;    /* bits/s, accepts k/M suffixes */
    int64_t video_maxrate;    /* 0 = same as bitrate */
    int64_t video_bufsize;    /* 0 = 2 x maxrate */
    double keyint;            /* seconds between keyframes */
    int encoder_threads;      /* x264 threads per stream; 0 = auto */
    int idle_replay;          /* bool: replay a pre-encoded idle loop */
    double idle_close;        /* seconds on the idle loop before x264 is closed; 0 = never */
    int huge_pages;           /* bool: let x264 back its frames with transparent huge pages */
    int captions;             /* bool: CEA-608 captions in the video (A/53 in H.264) */
    int captions_rows;        /* roll-up rows: 2 or 3 */
    int captions_burn;        /* bool: also draw the captions into the picture */
    char *captions_file;      /* rolling .vtt/.srt of what was said; "{stream}" = stream name; "" = none */
    int64_t audio_bitrate;    /* bits/s */
    /* outputs */
    char **outputs;           /* URLs, optionally "[f=fmt]url"; NULL-terminated */
    size_t n_outputs;
    int out_queue;            /* packets buffered per output before dropping */
    double reconnect_min;     /* first back-off, seconds (0.5) */
    double reconnect_max;     /* back-off cap, seconds (30) */
    /* speech */
    char *tts;                /* espeak | openai | elevenlabs */
    char *tts_fallback;       /* "" or a provider name */
    char *voice;              /* provider voice; "" = provider default */
    int tts_rate;             /* words per minute (80..450), 0 = voice default */
    int tts_pitch;            /* 0..100, -1 = voice default */
    int tts_volume;           /* 0..200 */
    int tts_ssml;             /* bool: interpret SSML */
    int tts_max_chars;        /* longest message accepted */
    char *tts_url;            /* HTTP provider base URL; "" = the provider's */
    char *tts_api_key;        /* secret */
    char *tts_model;          /* HTTP provider model; "" = the provider's default */
    char *tts_format;         /* wav|pcm|mp3|opus */
    double tts_timeout;       /* seconds for a whole request */
    double tts_connect_timeout;
    int tts_retries;
    /* messages */
    char *amqp_url;           /* secret */
    char *queue;
    int prefetch, heartbeat, amqp_passive;
    char *amqp_ca, *amqp_cert, *amqp_key;
    int amqp_verify;
    char *events_exchange, *stream_name;
    int synth_ahead;
    double pause_after;
    int on_stop;              /* tc_pipe_drain_mode: 0 sentence, 1 message, 2 now */
    double stop_timeout;
    char *avatar_dir;
    /* remote face provider (face/remote.h) */
    char *face_provider;      /* base URL; "" = local rendering only */
    char *face_api_key;       /* secret */
    char *face_auth_header;   /* "" = Authorization: Bearer */
    double face_connect_timeout, face_timeout, face_frame_deadline, face_health_interval;
    int face_retries, face_crossfade;
    /* run */
    double duration;          /* seconds; 0 = run until stopped */
    int pace;                 /* tc_pace */
} tc_config;

typedef enum tc_opt_type {
    TC_OPT_INT, TC_OPT_DOUBLE, TC_OPT_STRING, TC_OPT_BOOL, TC_OPT_ENUM,
    TC_OPT_RATIONAL, /* two ints: num at offset, den at offset2 */
    TC_OPT_BITRATE,  /* int64 with k/M suffixes */
    TC_OPT_UINT32,
    TC_OPT_LIST      /* repeatable string list: char** at offset, size_t count at offset2 */
} tc_opt_type;

typedef struct tc_option {
    const char *name;      /* CLI long name without dashes, e.g. "width" */
    char short_name;       /* e.g. 'o' for outputs, 0 if none */
    const char *env;       /* e.g. "TALKCAST_WIDTH" */
    tc_opt_type type;
    size_t offset, offset2;
    const char *def;       /* default as text, as it would be written in .env */
    double min, max;       /* range for numbers (ignored when min == max) */
    const char *const *choices; /* TC_OPT_ENUM: NULL-terminated names, index stored as int */
    const char *help;
    int secret;            /* never printed in clear */
} tc_option;

/* The table (static storage). */
const tc_option *tc_config_options(size_t *count);

/* Fill with defaults. Returns 0 or TC_ERR_NOMEM. */
int tc_config_init(tc_config *c);
void tc_config_free(tc_config *c); /* accepts a zeroed or freed config */

/* Set one option by table name from text; errors describe the problem in
 * `err` (e.g. "width: 13 is odd; must be even"). */
int tc_config_set(tc_config *c, const char *name, const char *value, char *err, size_t errlen);

/* Load `KEY=value` lines (comments, blank lines, optional quotes, `export `
 * prefix). Unknown TALKCAST_* keys are errors; other keys are ignored.
 * A missing file is not an error when `optional` is set. */
int tc_config_load_dotenv(tc_config *c, const char *path, int optional, char *err, size_t errlen);
/* The same from `text` (len bytes, not NUL-terminated, a NUL byte is an
 * error); `name` stands for the file in error messages. */
int tc_config_parse_dotenv(tc_config *c, const char *text, size_t len, const char *name, char *err, size_t errlen);

/* Apply TALKCAST_* variables from `envp` (NULL-terminated, like environ). */
int tc_config_load_env(tc_config *c, char *const *envp, char *err, size_t errlen);

/* Parse `--name value`, `--name=value`, `-o value`, `--flag`/`--no-flag` for
 * bools. Stops at the first non-option argument; *next gets its index.
 * A repeated list option appends; the first CLI use replaces earlier sources. */
int tc_config_parse_args(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen);

/* Like tc_config_parse_args, but a list option keeps appending to what
 * earlier calls gave (for commands that mix options and words). */
int tc_config_parse_args_more(tc_config *c, int argc, char *const *argv, int *next, char *err, size_t errlen);

/* Defaults, then .env (dotenv_path, optional), then envp, then argv. */
int tc_config_load(tc_config *c, const char *dotenv_path, char *const *envp,
                   int argc, char *const *argv, int *next, char *err, size_t errlen);

/* Cross-field checks (e.g. bufsize >= maxrate, reconnect_min <= max). */
int tc_config_validate(const tc_config *c, char *err, size_t errlen);

/* `--help` text of every option, grouped, with env var and default. */
void tc_config_print_help(FILE *f);
/* A commented .env with every key at its default (what .env.example holds). */
void tc_config_print_example(FILE *f);
/* The effective config as KEY=value lines, secrets masked as "***". */
void tc_config_dump(const tc_config *c, FILE *f);

#endif
