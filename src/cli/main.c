/* main.c — the talkcast command line: the only place that decides what a
 * user sees (messages, exit codes). Modules return tc_err and log.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <cairo.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "face/face.h"
#include "stream/avlog.h"
#include "stream/engine.h"
#include "tts/tts.h"
#include "tc_version.h"

extern char **environ;

static const tc_log_ctx log_ctx = { "main", NULL };

static void print_version(void)
{
    unsigned v = avcodec_version();
    printf("talkcast %s\n", TC_VERSION);
    printf("libavcodec %u.%u.%u, libavformat %u.%u.%u, libavutil %u.%u.%u, cairo %s\n",
           v >> 16, (v >> 8) & 0xff, v & 0xff, avformat_version() >> 16,
           (avformat_version() >> 8) & 0xff, avformat_version() & 0xff, avutil_version() >> 16,
           (avutil_version() >> 8) & 0xff, avutil_version() & 0xff, cairo_version_string());
    printf("encoders: video %s, audio %s\n",
           avcodec_find_encoder_by_name("libx264") ? "libx264" : "libx264 MISSING",
           avcodec_find_encoder(AV_CODEC_ID_AAC) ? "aac" : "aac MISSING");
}

static void print_usage(FILE *f)
{
    fprintf(f,
            "talkcast %s — a live avatar that speaks, lip-synced, on a never-breaking stream\n\n"
            "Usage: talkcast [--version] [--help] COMMAND [OPTIONS]\n\n"
            "Commands:\n"
            "  run            stream the avatar to every --out until stopped (or --duration)\n"
            "  config check   print the effective configuration (secrets masked) and check it\n"
            "  config example print a commented .env with every key at its default\n"
            "  say TEXT -o F  synthesize TEXT to a WAV file (--phonemes F.tsv: the timeline)\n"
            "  voices         list the voices of the configured TTS provider\n"
            "  help COMMAND   show the options of COMMAND\n\n"
            "Configuration comes from CLI flags, then TALKCAST_* environment variables, then a\n"
            "./.env file (or the file named by TALKCAST_ENV_FILE), then defaults.\n"
            "Run 'talkcast run --help' for every option.\n\n"
            "Examples:\n"
            "  talkcast run --out rtmp://127.0.0.1/live/avatar\n"
            "  talkcast run --avatar me.png --duration 10 -o clip.mp4\n",
            TC_VERSION);
}

static void print_run_help(void)
{
    printf("Usage: talkcast run [OPTIONS]\n\n"
           "Streams the avatar at a constant frame rate (audio sample clock as master) to every\n"
           "output at once. Network outputs reconnect on their own; files are finished on exit.\n"
           "SIGINT/SIGTERM stop gracefully (files get their trailer); a second signal aborts.\n\n");
    tc_config_print_help(stdout);
}

/* Load config from .env, environment and argv; 2 on a usage error. */
static int load_config(tc_config *cfg, int argc, char **argv, int *next)
{
    char err[512] = "";
    const char *envfile = getenv("TALKCAST_ENV_FILE");
    int r = tc_config_load(cfg, envfile ? envfile : ".env", environ, argc, argv, next, err, sizeof err);
    if (r == TC_OK) r = tc_config_validate(cfg, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast: %s\n", err[0] ? err : tc_strerror(r));
        return 2;
    }
    tc_log_level lvl;
    if (tc_log_level_parse(cfg->log_level, &lvl) == TC_OK) tc_log_set_level(lvl);
    return 0;
}

static void report(tc_engine *e)
{
    tc_engine_stats st;
    tc_engine_get_stats(e, &st);
    tc_log(&log_ctx, TC_LOG_INFO,
           "frames=%lld late=%lld dropped=%lld audio_samples=%lld segments=%lld interrupted=%lld",
           (long long)st.frames, (long long)st.late, (long long)st.dropped, (long long)st.samples,
           (long long)st.segments_done, (long long)st.segments_interrupted);
    for (int i = 0; i < tc_engine_output_count(e); i++) {
        tc_output_stats os;
        tc_engine_output_stats(e, i, &os);
        tc_log(&log_ctx, TC_LOG_INFO,
               "out%d state=%s bytes=%lld packets=%lld dropped=%lld reconnects=%lld failures=%lld", i,
               tc_output_state_name(os.state), (long long)os.bytes, (long long)os.packets,
               (long long)os.dropped, (long long)os.reconnects, (long long)os.failures);
    }
}

static int cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_run_help();
            return 0;
        }
    }
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    int next = 0, rc = load_config(&cfg, argc - 1, argv + 1, &next);
    if (rc) goto out;
    if (next < argc - 1) {
        fprintf(stderr, "talkcast run: unexpected argument '%s'\n", argv[next + 1]);
        rc = 2;
        goto out;
    }
    if (cfg.n_outputs == 0) {
        fprintf(stderr, "talkcast run: no output; give one with --out URL "
                        "(e.g. --out rtmp://127.0.0.1/live/avatar or -o out.mp4)\n");
        rc = 2;
        goto out;
    }

    enum AVPixelFormat pix = av_get_pix_fmt(cfg.pix_fmt);
    tc_face_config fc = {
        cfg.width, cfg.height, pix, cfg.fps_num, cfg.fps_den, (tc_face_fit)cfg.fit,
        strcmp(cfg.avatar, "vector") ? cfg.avatar : NULL, cfg.seed,
        (int64_t)cfg.video_cache_mb << 20,
    };
    if (!fc.seed) fc.seed = (uint32_t)getpid();
    tc_face *face = NULL;
    int r = tc_face_create_auto(&face, &fc);
    if (r < 0) {
        fprintf(stderr, "talkcast run: cannot use avatar '%s': %s\n", cfg.avatar, tc_strerror(r));
        rc = r == TC_ERR_NOTFOUND || r == TC_ERR_FORMAT ? 2 : 1;
        goto out;
    }

    tc_engine_config ec = {
        cfg.width, cfg.height, pix, cfg.fps_num, cfg.fps_den, cfg.sample_rate, cfg.channels,
        cfg.x264_preset, cfg.x264_tune, cfg.video_bitrate, cfg.video_maxrate, cfg.video_bufsize,
        cfg.audio_bitrate, cfg.keyint, cfg.pace == TC_PACE_LIVE,
        cfg.duration > 0 ? (int64_t)(cfg.duration * cfg.fps_num / cfg.fps_den + 0.5) : 0,
        (const char *const *)cfg.outputs, (int)cfg.n_outputs, cfg.out_queue,
        cfg.reconnect_min, cfg.reconnect_max,
    };

    /* Signals are taken synchronously by this thread only; every thread the
     * engine starts inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512] = "";
    tc_engine *eng = NULL;
    r = tc_engine_create(&eng, &ec, face, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast run: %s\n", err[0] ? err : tc_strerror(r));
        tc_face_destroy(face);
        rc = r == TC_ERR_INVAL || r == TC_ERR_UNSUPPORTED ? 2 : 1;
        goto out;
    }
    if ((r = tc_engine_start(eng)) < 0) {
        fprintf(stderr, "talkcast run: cannot start the engine: %s\n", tc_strerror(r));
        tc_engine_destroy(eng, 1);
        tc_face_destroy(face);
        rc = 1;
        goto out;
    }
    tc_log(&log_ctx, TC_LOG_INFO, "streaming %dx%d@%d/%d %s, %d Hz x%d, avatar=%s, %zu output(s)",
           cfg.width, cfg.height, cfg.fps_num, cfg.fps_den, cfg.pix_fmt, cfg.sample_rate,
           cfg.channels, tc_face_name(face), cfg.n_outputs);

    int abort = 0, stopping = 0;
    while (tc_engine_wait(eng, 0) != TC_OK) {
        struct timespec ts = { 0, 200 * 1000000L };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            if (stopping) {
                tc_log(&log_ctx, TC_LOG_WARN, "second signal: aborting");
                abort = 1;
                break;
            }
            stopping = 1;
            tc_log(&log_ctx, TC_LOG_INFO, "%s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
            tc_engine_stop(eng);
        }
    }
    tc_engine_close(eng, abort);
    report(eng);
    /* A file that could not be written is a failed run; a network output
     * that was still reconnecting at the end is not. */
    rc = 0;
    for (int i = 0; i < tc_engine_output_count(eng); i++) {
        tc_output_stats os;
        tc_engine_output_stats(eng, i, &os);
        if (os.state == TC_OUTPUT_FAILED) rc = 1;
    }
    tc_engine_destroy(eng, abort);
    tc_face_destroy(face);
out:
    tc_config_free(&cfg);
    return rc;
}

/* The TTS settings of a config, as the tts module takes them. */
static tc_tts_config tts_config(const tc_config *c)
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

/* Options and positional words in any order: `say "text" -o x.wav --voice de`. */
static int load_config_mixed(tc_config *cfg, int argc, char **argv, char **words, int *n_words)
{
    char err[512] = "";
    const char *envfile = getenv("TALKCAST_ENV_FILE");
    int r = tc_config_load(cfg, envfile ? envfile : ".env", environ, 0, NULL, NULL, err, sizeof err);
    /* outputs of a command like `say` come from its own -o only */
    if (r == TC_OK) r = tc_config_set(cfg, "out", "", err, sizeof err);
    *n_words = 0;
    for (int i = 0; r == TC_OK && i < argc;) {
        int next = 0;
        r = tc_config_parse_args_more(cfg, argc - i, argv + i, &next, err, sizeof err);
        i += next;
        if (r == TC_OK && i < argc) words[(*n_words)++] = argv[i++];
    }
    if (r == TC_OK) r = tc_config_validate(cfg, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast: %s\n", err[0] ? err : tc_strerror(r));
        return 2;
    }
    tc_log_level lvl;
    if (tc_log_level_parse(cfg->log_level, &lvl) == TC_OK) tc_log_set_level(lvl);
    return 0;
}

typedef struct say_out {
    float *pcm;
    int64_t n, cap;
    FILE *tsv;
    int rate;
    int64_t first_chunk_ns, t0;
} say_out;

static int say_sink(void *opaque, tc_tts_chunk *c)
{
    say_out *o = opaque;
    if (!o->first_chunk_ns) o->first_chunk_ns = tc_now_ns() - o->t0;
    if (o->tsv) {
        for (int i = 0; i < c->n_phonemes; i++)
            fprintf(o->tsv, "%.4f\t%.4f\t%s\t%d\n", (double)(o->n + c->phonemes[i].start) / o->rate,
                    (double)(o->n + c->phonemes[i].end) / o->rate, c->phonemes[i].name, c->sentence);
    }
    if (o->n + c->n_samples > o->cap) {
        int64_t nc = (o->n + c->n_samples) * 2;
        float *p = realloc(o->pcm, (size_t)nc * sizeof *p);
        if (!p) return TC_ERR_NOMEM;
        o->pcm = p;
        o->cap = nc;
    }
    memcpy(o->pcm + o->n, c->pcm, (size_t)c->n_samples * sizeof(float));
    o->n += c->n_samples;
    return 0;
}

/* 16-bit PCM mono WAV. */
static int write_wav(const char *path, const float *pcm, int64_t n, int rate)
{
    FILE *f = fopen(path, "wb");
    if (!f) return TC_ERR_IO;
    uint32_t data = (uint32_t)(n * 2), riff = 36 + data, fmt_len = 16, sr = (uint32_t)rate, br = sr * 2;
    uint16_t pcm_fmt = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f); fwrite(&riff, 4, 1, f); fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f); fwrite(&pcm_fmt, 2, 1, f); fwrite(&ch, 2, 1, f);
    fwrite(&sr, 4, 1, f); fwrite(&br, 4, 1, f); fwrite(&align, 2, 1, f); fwrite(&bits, 2, 1, f);
    fwrite("data", 1, 4, f); fwrite(&data, 4, 1, f);
    for (int64_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        fwrite(&s, 2, 1, f);
    }
    return fclose(f) == 0 ? TC_OK : TC_ERR_IO;
}

static int cmd_say(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: talkcast say TEXT -o OUT.wav [--phonemes OUT.tsv] [OPTIONS]\n\n"
                   "Synthesizes TEXT with the configured provider and writes the audio (16-bit mono\n"
                   "WAV at --sample-rate) and, with --phonemes, the phoneme timeline as TSV:\n"
                   "start_s, end_s, phoneme, sentence. Speech options (see 'talkcast run --help'):\n"
                   "--tts, --voice, --tts-rate, --tts-pitch, --tts-url, --tts-api-key, ...\n");
            return 0;
        }
    }
    /* --phonemes is say's own option: take it out before the table parses. */
    char *phon = NULL;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int n_args = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--phonemes") && i + 1 < argc) phon = argv[++i];
        else args[n_args++] = argv[i];
    }
    tc_config cfg;
    if (!args || tc_config_init(&cfg) < 0) { free(args); return 1; }
    char *words[64];
    int n_words = 0, rc = n_args > 128 ? 2 : load_config_mixed(&cfg, n_args, args, words, &n_words);
    if (rc) goto out;
    if (n_words != 1 || cfg.n_outputs != 1) {
        fprintf(stderr, "talkcast say: give one TEXT (quoted) and one -o OUT.wav\n");
        rc = 2;
        goto out;
    }
    const char *path = cfg.outputs[0];
    size_t pl = strlen(path);
    if (pl < 4 || strcasecmp(path + pl - 4, ".wav") != 0) {
        fprintf(stderr, "talkcast say: only .wav output so far (rendering video comes with lip-sync)\n");
        rc = 2;
        goto out;
    }
    tc_tts_config tc = tts_config(&cfg);
    tc_tts *tts = NULL;
    int r = tc_tts_create(&tts, cfg.tts, cfg.tts_fallback, &tc);
    if (r < 0) {
        fprintf(stderr, "talkcast say: cannot start TTS provider '%s': %s\n", cfg.tts, tc_strerror(r));
        rc = r == TC_ERR_NOTFOUND || r == TC_ERR_INVAL ? 2 : 1;
        goto out;
    }
    say_out o = { .rate = cfg.sample_rate, .t0 = tc_now_ns() };
    if (phon && !(o.tsv = fopen(phon, "w"))) {
        fprintf(stderr, "talkcast say: cannot write %s\n", phon);
        tc_tts_destroy(tts);
        rc = 1;
        goto out;
    }
    tc_tts_request req = { words[0], NULL, 0, -1 };
    r = tc_tts_speak(tts, &req, say_sink, &o);
    int64_t took = tc_now_ns() - o.t0;
    if (o.tsv) fclose(o.tsv);
    if (r == TC_OK) r = write_wav(path, o.pcm, o.n, cfg.sample_rate);
    if (r < 0) {
        fprintf(stderr, "talkcast say: %s\n", r == TC_ERR_INVAL ? "text is empty or too long, or the provider refused it (see log)" : tc_strerror(r));
        rc = r == TC_ERR_INVAL ? 2 : 1;
    } else {
        tc_log(&log_ctx, TC_LOG_INFO, "wrote %s: %.2f s of speech, first audio after %.1f ms, %.1fx realtime",
               path, (double)o.n / cfg.sample_rate, o.first_chunk_ns / 1e6,
               ((double)o.n / cfg.sample_rate) / (took / 1e9));
    }
    free(o.pcm);
    tc_tts_destroy(tts);
out:
    free(args);
    tc_config_free(&cfg);
    return rc;
}

static int cmd_voices(int argc, char **argv)
{
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    int next = 0, rc = load_config(&cfg, argc - 1, argv + 1, &next);
    if (rc) goto out;
    tc_tts_config tc = tts_config(&cfg);
    tc_tts *tts = NULL;
    int r = tc_tts_create(&tts, cfg.tts, NULL, &tc);
    tc_tts_voice *v = NULL;
    int n = 0;
    if (r == TC_OK) r = tc_tts_voices(tts, &v, &n);
    if (r < 0) {
        fprintf(stderr, "talkcast voices: %s\n", tc_strerror(r));
        rc = 1;
    } else {
        printf("%-28s %-12s %s\n", "VOICE", "LANGUAGE", "ID");
        for (int i = 0; i < n; i++) printf("%-28s %-12s %s\n", v[i].name, v[i].language, v[i].id);
    }
    free(v);
    tc_tts_destroy(tts);
out:
    tc_config_free(&cfg);
    return rc;
}

static int cmd_config(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "example")) {
        tc_config_print_example(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "Usage: talkcast config check [OPTIONS] | talkcast config example\n");
        return 2;
    }
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    int next = 0, rc = load_config(&cfg, argc - 2, argv + 2, &next);
    if (rc == 0 && next < argc - 2) {
        fprintf(stderr, "talkcast config check: unexpected argument '%s'\n", argv[next + 2]);
        rc = 2;
    }
    if (rc == 0) {
        tc_config_dump(&cfg, stdout);
        printf("# configuration OK\n");
    }
    tc_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    tc_avlog_install();
    const char *lvl = getenv("TALKCAST_LOG_LEVEL");
    tc_log_level l;
    if (lvl && tc_log_level_parse(lvl, &l) == TC_OK) tc_log_set_level(l);

    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        print_version();
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc > 2 && !strcmp(argv[2], "run")) print_run_help();
        else print_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "config")) return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "say")) return cmd_say(argc - 1, argv + 1);
    if (!strcmp(cmd, "voices")) return cmd_voices(argc - 1, argv + 1);
    fprintf(stderr, "talkcast: unknown command '%s' (try 'talkcast --help')\n", cmd);
    return 2;
}
