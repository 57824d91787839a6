/* common.c — configuration loading and conversion shared by the commands. */
#include "cli/cli.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caption/caption.h"
#include "stream/encoder.h"
#include "stream/outfmt.h"

#include <libavutil/pixdesc.h>

extern char **environ;

void tc_cli_memory_policy(const tc_config *cfg)
{
    static const tc_log_ctx log_ctx = { "memory", NULL };
    /* Blocks of 128 KiB and more (frames, x264's buffers) are mapped on
     * their own and unmapped when freed. glibc would otherwise raise this
     * threshold after the first such free and keep later frames in its
     * heaps, so memory let go after a stall or an idle x264 close would
     * stay in the process. Nothing per frame is that large. */
    if (!mallopt(M_MMAP_THRESHOLD, 128 * 1024)) /* e.g. under ASan, whose allocator has no such knob */
        tc_log(&log_ctx, TC_LOG_DEBUG, "this malloc does not take M_MMAP_THRESHOLD");
    if (!cfg->huge_pages && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        tc_log(&log_ctx, TC_LOG_WARN, "cannot turn off transparent huge pages: %s", strerror(errno));
}

static int finish(tc_config *cfg, int r, const char *err)
{
    if (r == TC_OK) {
        char verr[512] = "";
        r = tc_config_validate(cfg, verr, sizeof verr);
        if (r < 0) err = verr;
        if (r < 0) {
            fprintf(stderr, "talkcast: %s\n", err);
            return 2;
        }
    }
    if (r < 0) {
        fprintf(stderr, "talkcast: %s\n", err && err[0] ? err : tc_strerror(r));
        return 2;
    }
    tc_log_level lvl;
    if (tc_log_level_parse(cfg->log_level, &lvl) == TC_OK) tc_log_set_level(lvl);
    tc_log_set_format((tc_log_format)cfg->log_format);
    return 0;
}

/* ./.env may be absent; a file named by TALKCAST_ENV_FILE must be there. */
static int env_file_missing(const char *envfile)
{
    if (!envfile || access(envfile, R_OK) == 0) return 0;
    fprintf(stderr, "talkcast: TALKCAST_ENV_FILE=%s: cannot read: %s\n", envfile, strerror(errno));
    return 2;
}

int tc_cli_load_config(tc_config *cfg, int argc, char **argv, int *next)
{
    char err[512] = "";
    const char *envfile = getenv("TALKCAST_ENV_FILE");
    if (env_file_missing(envfile)) return 2;
    int r = tc_config_load(cfg, envfile ? envfile : ".env", environ, argc, argv, next, err, sizeof err);
    return finish(cfg, r, err);
}

int tc_cli_load_config_mixed(tc_config *cfg, int argc, char **argv, char **words, int max, int *n_words)
{
    char err[512] = "";
    const char *envfile = getenv("TALKCAST_ENV_FILE");
    if (env_file_missing(envfile)) return 2;
    int r = tc_config_load(cfg, envfile ? envfile : ".env", environ, 0, NULL, NULL, err, sizeof err);
    /* outputs of a command like `say` come from its own -o only */
    if (r == TC_OK) r = tc_config_set(cfg, "out", "", err, sizeof err);
    *n_words = 0;
    for (int i = 0; r == TC_OK && i < argc;) {
        int next = 0;
        r = tc_config_parse_args_more(cfg, argc - i, argv + i, &next, err, sizeof err);
        i += next;
        if (r == TC_OK && i < argc) {
            if (*n_words < max) words[*n_words] = argv[i];
            (*n_words)++;
            i++;
        }
    }
    return finish(cfg, r, err);
}

tc_tts_config tc_cli_tts_config(const tc_config *c)
{
    tc_tts_config t = {
        .sample_rate = c->sample_rate, .voice = c->voice, .rate = c->tts_rate, .pitch = c->tts_pitch,
        .volume = c->tts_volume, .ssml = c->tts_ssml, .max_chars = c->tts_max_chars,
        .base_url = c->tts_url, .api_key = c->tts_api_key, .model = c->tts_model, .format = c->tts_format,
        .connect_timeout_ms = (int)(c->tts_connect_timeout * 1000), .timeout_ms = (int)(c->tts_timeout * 1000),
        .retries = c->tts_retries, .backoff_min = 0.5, .backoff_max = 8,
    };
    return t;
}

tc_amqp_config tc_cli_amqp_config(const tc_config *c)
{
    tc_amqp_config a = {
        .url = c->amqp_url, .queue = c->queue, .events_exchange = c->events_exchange,
        .stream = c->stream_name, .prefetch = c->prefetch, .heartbeat = c->heartbeat,
        .passive = c->amqp_passive, .ca_file = c->amqp_ca[0] ? c->amqp_ca : NULL,
        .cert_file = c->amqp_cert[0] ? c->amqp_cert : NULL, .key_file = c->amqp_key[0] ? c->amqp_key : NULL,
        .tls_verify = c->amqp_verify, .reconnect_min = c->reconnect_min, .reconnect_max = c->reconnect_max,
        .max_events = 10000,
    };
    return a;
}

tc_face_config tc_cli_face_config(const tc_config *c)
{
    tc_face_config fc = {
        c->width, c->height, av_get_pix_fmt(c->pix_fmt), c->fps_num, c->fps_den, (tc_face_fit)c->fit,
        strcmp(c->avatar, "vector") ? c->avatar : NULL, c->seed, (int64_t)c->video_cache_mb << 20,
        c->landmarks[0] ? c->landmarks : NULL, c->breathing,
    };
    if (!fc.seed) fc.seed = (uint32_t)getpid(); /* 0 = a new rhythm every run */
    return fc;
}

tc_face_remote_config tc_cli_face_remote_config(const tc_config *c, int live)
{
    tc_face_remote_config rc = {
        .url = c->face_provider, .api_key = c->face_api_key, .auth_header = c->face_auth_header,
        .connect_timeout = c->face_connect_timeout, .timeout = c->face_timeout, .retries = c->face_retries,
        .frame_deadline = live ? 0 : c->face_frame_deadline, .crossfade = c->face_crossfade,
        .health_interval = c->face_health_interval, .width = c->width, .height = c->height,
        .fps_num = c->fps_num, .fps_den = c->fps_den, .sample_rate = c->sample_rate,
        .pix_fmt = av_get_pix_fmt(c->pix_fmt), .fit = (tc_face_fit)c->fit, .name = c->stream_name,
    };
    return rc;
}

tc_engine_config tc_cli_engine_config(const tc_config *c, int live, int64_t max_frames)
{
    tc_engine_config ec = {
        c->width, c->height, av_get_pix_fmt(c->pix_fmt), c->fps_num, c->fps_den, c->sample_rate,
        c->channels, c->x264_preset, c->x264_tune, c->video_bitrate, c->video_maxrate, c->video_bufsize,
        c->audio_bitrate, c->keyint, live, max_frames, (const char *const *)c->outputs, (int)c->n_outputs,
        c->out_queue, c->reconnect_min, c->reconnect_max, c->encoder_threads, c->idle_replay,
        c->x264_params, c->idle_close, c->captions, c->captions_rows, c->captions_burn,
    };
    return ec;
}

/* ---- config check: every problem a run would meet, all at once ---------- */

static void problem(int *n, const char *stream, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(int *n, const char *stream, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "talkcast: %s%s%s", stream ? "stream '" : "", stream ? stream : "", stream ? "': " : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    (*n)++;
}

static void check_file(int *n, const char *stream, const char *what, const char *path, int want_dir)
{
    struct stat st;
    if (!path || !path[0]) return;
    if (stat(path, &st) < 0) problem(n, stream, "%s %s: %s", what, path, strerror(errno));
    else if (want_dir && !S_ISDIR(st.st_mode)) problem(n, stream, "%s %s: not a directory", what, path);
    else if (access(path, R_OK) < 0) problem(n, stream, "%s %s: cannot read: %s", what, path, strerror(errno));
}

static void on_nothing(void *opaque, tc_amqp_delivery *d) { (void)opaque; (void)d; }

int tc_cli_check_config(const tc_config *c, const char *stream)
{
    int n = 0;
    char err[512];
    if (strcmp(c->avatar, "vector")) check_file(&n, stream, "avatar", c->avatar, 0);
    check_file(&n, stream, "landmarks", c->landmarks, 0);
    check_file(&n, stream, "avatar-dir", c->avatar_dir, 1);
    check_file(&n, stream, "amqp-ca", c->amqp_ca, 0);
    check_file(&n, stream, "amqp-cert", c->amqp_cert, 0);
    check_file(&n, stream, "amqp-key", c->amqp_key, 0);
    if (tc_encoder_check_params(c->x264_params, err, sizeof err) < 0) problem(&n, stream, "%s", err);
    if (c->face_provider[0] && strncmp(c->face_provider, "http://", 7) && strncmp(c->face_provider, "https://", 8))
        problem(&n, stream, "face-provider: '%s' is not an http:// or https:// URL", c->face_provider);
    for (size_t i = 0; i < c->n_outputs; i++) {
        tc_outfmt f = { 0 };
        if (tc_outfmt_parse(c->outputs[i], &f, err, sizeof err) < 0) {
            problem(&n, stream, "output %zu: %s", i + 1, err);
        } else if (f.is_network) {
            const char *h = strstr(f.url, "://");
            if (!h || !h[3] || h[3] == '/' || h[3] == ':')
                problem(&n, stream, "output %zu (%s): no host in the URL", i + 1, f.display);
        }
        tc_outfmt_free(&f);
    }
    tc_cap_format capf;
    if (c->captions_file[0] && tc_cap_format_from_path(c->captions_file, &capf) < 0)
        problem(&n, stream, "captions-file '%s': must end in .vtt or .srt", c->captions_file);
    if (c->tts_url[0] && strncmp(c->tts_url, "http://", 7) && strncmp(c->tts_url, "https://", 8))
        problem(&n, stream, "tts-url '%s': must start with http:// or https://", c->tts_url);
    if (c->amqp_url[0]) { /* the client checks URL and names without connecting */
        tc_amqp_config ac = tc_cli_amqp_config(c);
        tc_amqp *a = NULL;
        err[0] = '\0';
        if (tc_amqp_create(&a, &ac, on_nothing, NULL, NULL, err, sizeof err) < 0)
            problem(&n, stream, "%s", err[0] ? err : "amqp-url: invalid");
        tc_amqp_destroy(a);
    }
    return n;
}
