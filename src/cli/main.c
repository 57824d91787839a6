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

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "face/face.h"
#include "ops/ops.h"
#include "stream/avlog.h"
#include "tts/tts.h"
#include "cli/cli.h"
#include "tc_version.h"

extern char **environ;


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
            "  say TEXT -o F  speak TEXT offline: F.wav (audio) or F.mp4/.mkv/… (the avatar\n"
            "                 saying it, lip-synced); --phonemes F.tsv writes the timeline\n"
            "  voices         list the voices of the configured TTS provider\n"
            "  avatar …       add (file or URL), list, remove, use, gc stored avatars\n"
            "                 ('talkcast avatar help'); set_avatar finds them by name\n"
            "  face-serve     serve the face provider contract with the local renderers\n"
            "                 (docs/face-provider.md; --listen HOST:PORT)\n"
            "  help COMMAND   show the options of COMMAND\n\n"
            "Configuration comes from CLI flags, then TALKCAST_* environment variables, then a\n"
            "./.env file (or the file named by TALKCAST_ENV_FILE), then defaults.\n"
            "Run 'talkcast run --help' for every option.\n\n"
            "Examples:\n"
            "  talkcast run --out rtmp://127.0.0.1/live/avatar\n"
            "  talkcast run --avatar me.png --duration 10 -o clip.mp4\n",
            TC_VERSION);
}

static int cmd_voices(int argc, char **argv)
{
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    int next = 0, rc = tc_cli_load_config(&cfg, argc - 1, argv + 1, &next);
    if (rc) goto out;
    tc_tts_config tc = tc_cli_tts_config(&cfg);
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
    int next = 0, rc = tc_cli_load_config(&cfg, argc - 2, argv + 2, &next);
    if (rc == 0 && next < argc - 2) {
        fprintf(stderr, "talkcast config check: unexpected argument '%s'\n", argv[next + 2]);
        rc = 2;
    }
    tc_cli_streams streams = { 0 };
    if (rc == 0 && cfg.streams[0]) rc = tc_cli_load_streams(&cfg, argc - 2, argv + 2, &streams);
    if (rc == 0 && cfg.metrics_listen[0]) {
        struct sockaddr_storage sa;
        char err[256];
        if (tc_ops_listen_parse(cfg.metrics_listen, &sa, err, sizeof err) < 0) {
            fprintf(stderr, "talkcast: metrics-listen: %s\n", err);
            rc = 2;
        }
    }
    if (rc == 0) {
        int problems = streams.n ? 0 : tc_cli_check_config(&cfg, NULL);
        for (int i = 0; i < streams.n; i++) problems += tc_cli_check_config(&streams.cfgs[i], streams.cfgs[i].stream_name);
        if (problems) {
            fprintf(stderr, "talkcast config check: %d problem(s)\n", problems);
            rc = 2;
        }
    }
    if (rc == 0) {
        tc_config_dump(&cfg, stdout);
        for (int i = 0; i < streams.n; i++) {
            printf("\n# ---- stream '%s' (%s) ----\n", streams.cfgs[i].stream_name, streams.paths[i]);
            tc_config_dump(&streams.cfgs[i], stdout);
        }
        if (streams.n) printf("# configuration OK: %d streams\n", streams.n);
        else printf("# configuration OK\n");
    }
    tc_cli_free_streams(&streams);
    tc_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    tc_avlog_install();
    const char *lvl = getenv("TALKCAST_LOG_LEVEL");
    tc_log_level l;
    if (lvl && tc_log_level_parse(lvl, &l) == TC_OK) tc_log_set_level(l);
    const char *fmt = getenv("TALKCAST_LOG_FORMAT");
    if (fmt && !strcmp(fmt, "json")) tc_log_set_format(TC_LOG_JSON);

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
        if (argc > 2 && !strcmp(argv[2], "run")) tc_cli_run_help();
        else print_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) return tc_cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "config")) return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "say")) return tc_cli_say(argc - 1, argv + 1);
    if (!strcmp(cmd, "voices")) return cmd_voices(argc - 1, argv + 1);
    if (!strcmp(cmd, "avatar")) return tc_cli_avatar(argc - 1, argv + 1);
    if (!strcmp(cmd, "face-serve")) return tc_cli_face_serve(argc - 1, argv + 1);
    fprintf(stderr, "talkcast: unknown command '%s' (try 'talkcast --help')\n", cmd);
    return 2;
}
