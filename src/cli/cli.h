/* cli.h — what the talkcast commands share: loading the configuration
 * (with usage errors printed and turned into exit code 2) and turning it
 * into each module's settings. Only src/cli/ prints to the user. */
#ifndef TC_CLI_H
#define TC_CLI_H

#include "amqp/amqp.h"
#include "core/config.h"
#include "face/face.h"
#include "face/remote.h"
#include "stream/engine.h"
#include "tts/tts.h"

/* .env, environment, then argv (options only); 0 or exit code 2. */
int tc_cli_load_config(tc_config *cfg, int argc, char **argv, int *next);
/* Same, but options and words may mix; words are collected (≤ max). */
int tc_cli_load_config_mixed(tc_config *cfg, int argc, char **argv, char **words, int max, int *n_words);

/* Process-wide memory settings: large blocks always mapped on their own
 * (so that what is freed leaves the process), and, unless huge-pages is
 * set, transparent huge pages off (x264 asks for them for its frame
 * buffers, and each one then occupies whole 2 MiB pages: about 9 MB of RSS
 * a 720p stream for no gain at our CPU). */
void tc_cli_memory_policy(const tc_config *cfg);

/* --streams DIR: one configuration per NAME.env file (see streams.c), on
 * top of the process's sources given as for tc_cli_load_config. 0 or an
 * exit code, errors printed. */
typedef struct tc_cli_streams {
    tc_config *cfgs;
    char **paths;
    int n;
} tc_cli_streams;
int tc_cli_load_streams(const tc_config *base, int argc, char **argv, tc_cli_streams *out);
void tc_cli_free_streams(tc_cli_streams *s);

/* What a run would trip over, found without starting anything: unreadable
 * files (avatar, landmarks, certificates), bad output/TTS/AMQP URLs. Each
 * problem is printed (prefixed with the stream's name if given); returns
 * how many. */
int tc_cli_check_config(const tc_config *c, const char *stream);

tc_tts_config tc_cli_tts_config(const tc_config *c);
tc_face_config tc_cli_face_config(const tc_config *c);
tc_amqp_config tc_cli_amqp_config(const tc_config *c);
/* The face provider's settings (frame deadline only offline). */
tc_face_remote_config tc_cli_face_remote_config(const tc_config *c, int live);
/* Engine settings; outputs and frame limit as given. */
tc_engine_config tc_cli_engine_config(const tc_config *c, int live, int64_t max_frames);

/* /metrics, /healthz and /readyz of the stations (health.c). */
struct tc_station;
typedef struct tc_cli_health {
    struct tc_station **stations;
    int n;
    double start_unix; /* process start, seconds since the epoch */
} tc_cli_health;
/* An ops.h handler; opaque is a tc_cli_health. */
struct tc_ops_buf;
int tc_cli_health_handler(void *opaque, const char *path, struct tc_ops_buf *body, const char **content_type);
/* 1 while every stream's clock ticks; else 0 and why names the stuck ones. */
int tc_cli_health_live(tc_cli_health *h, char *why, size_t len);

int tc_cli_say(int argc, char **argv);
/* talkcast face-serve (face_serve.c) */
int tc_cli_face_serve(int argc, char **argv);
int tc_cli_run(int argc, char **argv);
/* talkcast avatar add|list|remove|use|gc (avatar.c) */
int tc_cli_avatar(int argc, char **argv);
void tc_cli_run_help(void);

#endif
