/* test_config.c — the settings table: every type's parsing and errors,
 * precedence CLI > env > .env > defaults, .env syntax, suggestions, the
 * masked dump, and that .env.example lists every key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/err.h"

static char err[512];

static void test_defaults(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    assert_int_equal(c.width, 1280);
    assert_int_equal(c.height, 720);
    assert_int_equal(c.fps_num, 30);
    assert_int_equal(c.fps_den, 1);
    assert_string_equal(c.pix_fmt, "yuv420p");
    assert_int_equal(c.sample_rate, 48000);
    assert_int_equal(c.channels, 2);
    assert_string_equal(c.avatar, "vector");
    assert_int_equal(c.video_bitrate, 2500000);
    assert_int_equal(c.audio_bitrate, 128000);
    assert_true(c.keyint == 2.0);
    assert_true(c.reconnect_min == 0.5 && c.reconnect_max == 30.0);
    assert_int_equal(c.n_outputs, 0);
    assert_int_equal(c.pace, TC_PACE_LIVE);
    assert_string_equal(c.log_level, "info");
    assert_int_equal(tc_config_validate(&c, err, sizeof err), TC_OK);
    tc_config_free(&c);
    tc_config_free(&c); /* idempotent */
}

static void expect_error(const char *name, const char *value, const char *needle)
{
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    err[0] = '\0';
    assert_int_equal(tc_config_set(&c, name, value, err, sizeof err), TC_ERR_INVAL);
    if (!strstr(err, needle)) fail_msg("%s=%s: error '%s' lacks '%s'", name, value, err, needle);
    tc_config_free(&c);
}

static void test_value_errors(void **state)
{
    (void)state;
    expect_error("width", "641", "odd");
    expect_error("width", "abc", "not a whole number");
    expect_error("width", "8", "out of range");
    expect_error("sample-rate", "22050", "44100 or 48000");
    expect_error("fps", "0", "frame rate");
    expect_error("fps", "30/0", "frame rate");
    expect_error("fps", "500", "frame rate");
    expect_error("video-bitrate", "fast", "bitrate");
    expect_error("pace", "slow", "live, offline");
    expect_error("pix-fmt", "rgb24", "yuv420p");
    expect_error("keyint", "x", "not a number");
    expect_error("seed", "-1", "0 to 4294967295");
    expect_error("widht", "640", "did you mean --width");
}

static void test_value_forms(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    const struct { const char *v; int num, den; } fps[] = {
        { "25", 25, 1 }, { "29.97", 30000, 1001 }, { "30000/1001", 30000, 1001 }, { "60/1", 60, 1 },
        { "59.94", 60000, 1001 }, { "12.5", 12500, 1000 },
    };
    for (size_t i = 0; i < sizeof fps / sizeof fps[0]; i++) {
        assert_int_equal(tc_config_set(&c, "fps", fps[i].v, err, sizeof err), TC_OK);
        assert_int_equal(c.fps_num, fps[i].num);
        assert_int_equal(c.fps_den, fps[i].den);
    }
    assert_int_equal(tc_config_set(&c, "video-bitrate", "2.5M", err, sizeof err), TC_OK);
    assert_int_equal(c.video_bitrate, 2500000);
    assert_int_equal(tc_config_set(&c, "video-bitrate", "800k", err, sizeof err), TC_OK);
    assert_int_equal(c.video_bitrate, 800000);
    assert_int_equal(tc_config_set(&c, "video-bitrate", "1500000", err, sizeof err), TC_OK);
    assert_int_equal(c.video_bitrate, 1500000);
    assert_int_equal(tc_config_set(&c, "pace", "OFFLINE", err, sizeof err), TC_OK);
    assert_int_equal(c.pace, TC_PACE_OFFLINE);
    assert_int_equal(tc_config_set(&c, "fit", "crop", err, sizeof err), TC_OK);
    assert_int_equal(c.fit, 1);
    assert_int_equal(tc_config_set(&c, "seed", "4294967295", err, sizeof err), TC_OK);
    assert_int_equal(c.seed, 4294967295U);
    assert_int_equal(tc_config_set(&c, "out", "a.mp4  rtmp://h/live/k", err, sizeof err), TC_OK);
    assert_int_equal(c.n_outputs, 2);
    assert_string_equal(c.outputs[1], "rtmp://h/live/k");
    assert_null(c.outputs[2]);
    tc_config_free(&c);
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/tc-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_precedence(void **state)
{
    (void)state;
    char *path = write_tmp("TALKCAST_WIDTH=640\nTALKCAST_HEIGHT=360\nTALKCAST_FPS=25\n"
                           "TALKCAST_OUTPUTS=a.mp4 b.mkv\n");
    char *envp[] = { "TALKCAST_HEIGHT=480", "TALKCAST_FPS=24", "HOME=/root", NULL };
    char *argv[] = { "--fps", "50", "-o", "c.ts", "--out=d.flv", "extra", NULL };
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    int next = -1;
    assert_int_equal(tc_config_load(&c, path, envp, 6, argv, &next, err, sizeof err), TC_OK);
    assert_int_equal(c.width, 640);   /* .env */
    assert_int_equal(c.height, 480);  /* env beats .env */
    assert_int_equal(c.fps_num, 50);  /* CLI beats env */
    assert_int_equal(c.n_outputs, 2); /* CLI list replaces .env's, repeats append */
    assert_string_equal(c.outputs[0], "c.ts");
    assert_string_equal(c.outputs[1], "d.flv");
    assert_int_equal(next, 5);
    tc_config_free(&c);
    unlink(path);
}

static void test_dotenv_syntax(void **state)
{
    (void)state;
    char *path = write_tmp("# comment\r\n\r\nexport TALKCAST_AVATAR = \"my face.png\" # trailing\r\n"
                           "TALKCAST_X264_TUNE=''\nTALKCAST_X264_PRESET=fast # why not\n"
                           "OTHER_KEY=ignored\nTALKCAST_LOG_LEVEL=\"de\\\"bug\"\n");
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    /* de"bug is no level: the error names the file, the line and the key. */
    assert_int_equal(tc_config_load_dotenv(&c, path, 0, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "line 7"));
    assert_non_null(strstr(err, "TALKCAST_LOG_LEVEL"));
    assert_string_equal(c.avatar, "my face.png");
    assert_string_equal(c.x264_tune, "");
    assert_string_equal(c.x264_preset, "fast");
    tc_config_free(&c);
    unlink(path);

    path = write_tmp("TALKCAST_WIDHT=640\n");
    assert_int_equal(tc_config_init(&c), TC_OK);
    assert_int_equal(tc_config_load_dotenv(&c, path, 0, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "line 1: unknown key TALKCAST_WIDHT (did you mean TALKCAST_WIDTH?)"));
    unlink(path);
    path = write_tmp("TALKCAST_AVATAR=\"unterminated\n");
    assert_int_equal(tc_config_load_dotenv(&c, path, 0, err, sizeof err), TC_ERR_FORMAT);
    unlink(path);
    path = write_tmp("just words\n");
    assert_int_equal(tc_config_load_dotenv(&c, path, 0, err, sizeof err), TC_ERR_FORMAT);
    assert_non_null(strstr(err, "KEY=value"));
    unlink(path);
    assert_int_equal(tc_config_load_dotenv(&c, "/nonexistent/.env", 1, err, sizeof err), TC_OK);
    assert_int_equal(tc_config_load_dotenv(&c, "/nonexistent/.env", 0, err, sizeof err), TC_ERR_NOTFOUND);
    tc_config_free(&c);
}

/* Found by tests/fuzz/fuzz_env: a frame rate past INT_MAX went through
 * (int)round(d), undefined behaviour (UBSan: "outside the range of
 * representable values"); now the 1000000 bound of num/den applies first.
 * Without a float-cast sanitizer the old code refused it by luck. */
static void test_fps_beyond_int(void **state)
{
    (void)state;
    expect_error("fps", "3000094967295", "frame rate");
    expect_error("fps", "2147483.6499", "frame rate");
    expect_error("fps", "1e300", "frame rate");
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    assert_int_equal(tc_config_set(&c, "fps", "1000000", err, sizeof err), TC_ERR_INVAL); /* > max 240 */
    tc_config_free(&c);
}

/* tc_config_parse_dotenv is what the file loader runs: lines of any
 * length (the old fgets loop cut lines at 8 KiB into two, the second
 * "expected KEY=value"), a NUL byte refused with its line, no newline at
 * the end needed, and the text need not be NUL-terminated. */
static void test_dotenv_buffer(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    static char text[10000];
    int n = snprintf(text, sizeof text, "TALKCAST_AVATAR=");
    memset(text + n, 'a', 9000);
    memcpy(text + n + 9000, "\nTALKCAST_WIDTH=640", 19);
    assert_int_equal(tc_config_parse_dotenv(&c, text, (size_t)n + 9000 + 19, "t.env", err, sizeof err), TC_OK);
    assert_int_equal(strlen(c.avatar), 9000);
    assert_int_equal(c.width, 640);
    static const char nul[] = "TALKCAST_WIDTH=320\n# ok\nTALKCAST_HEIGHT=2\0""40\n";
    assert_int_equal(tc_config_parse_dotenv(&c, nul, sizeof nul - 1, "t.env", err, sizeof err), TC_ERR_FORMAT);
    assert_string_equal(err, "t.env: line 3: contains a NUL byte");
    /* "TALKCAST_HEIGHT=360" cut after "36": the parser must stop at len */
    assert_int_equal(tc_config_parse_dotenv(&c, "TALKCAST_HEIGHT=360", 18, "t.env", err, sizeof err), TC_OK);
    assert_int_equal(c.height, 36);
    assert_int_equal(tc_config_parse_dotenv(&c, "", 0, "t.env", err, sizeof err), TC_OK);
    tc_config_free(&c);
}

static void test_args(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    int next;
    char *a1[] = { "--width", NULL };
    assert_int_equal(tc_config_parse_args(&c, 1, a1, &next, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "needs a value"));
    char *a2[] = { "--duraton", "5", NULL };
    assert_int_equal(tc_config_parse_args(&c, 2, a2, &next, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "did you mean --duration"));
    char *a3[] = { "--duration", "5", "--", "--width", NULL };
    assert_int_equal(tc_config_parse_args(&c, 4, a3, &next, err, sizeof err), TC_OK);
    assert_int_equal(next, 3);
    assert_true(c.duration == 5.0);
    char *a4[] = { "-x", "1", NULL };
    assert_int_equal(tc_config_parse_args(&c, 2, a4, &next, err, sizeof err), TC_ERR_INVAL);
    tc_config_free(&c);
}

static void test_env_errors(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    char *e1[] = { "TALKCAST_FPS=abc", NULL };
    assert_int_equal(tc_config_load_env(&c, e1, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "TALKCAST_FPS"));
    char *e2[] = { "TALKCAST_NOPE=1", NULL };
    assert_int_equal(tc_config_load_env(&c, e2, err, sizeof err), TC_ERR_INVAL);
    char *e3[] = { "TALKCAST_ENV_FILE=x", "PATH=/bin", NULL };
    assert_int_equal(tc_config_load_env(&c, e3, err, sizeof err), TC_OK);
    tc_config_free(&c);
}

static void test_validate(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    c.reconnect_min = 10;
    c.reconnect_max = 5;
    assert_int_equal(tc_config_validate(&c, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "reconnect-min"));
    c.reconnect_min = 0.5;
    c.video_maxrate = 1000;
    assert_int_equal(tc_config_validate(&c, err, sizeof err), TC_ERR_INVAL);
    c.video_maxrate = 0;
    c.video_bufsize = 1000;
    assert_int_equal(tc_config_validate(&c, err, sizeof err), TC_ERR_INVAL);
    assert_non_null(strstr(err, "one frame"));
    tc_config_free(&c);
}

static void test_dump_masks_secrets(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    assert_int_equal(tc_config_set(&c, "out", "rtmp://u:hunter2@h/live/sk_live_123 x.mp4", err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tc_config_dump(&c, f);
    fclose(f);
    assert_null(strstr(buf, "hunter2"));
    assert_null(strstr(buf, "sk_live_123"));
    assert_non_null(strstr(buf, "TALKCAST_OUTPUTS=rtmp://u:***@h/live/*** x.mp4\n"));
    assert_non_null(strstr(buf, "TALKCAST_WIDTH=1280\n"));
    assert_non_null(strstr(buf, "TALKCAST_FPS=30\n"));
    free(buf);
    tc_config_free(&c);
}

static void test_env_example_complete(void **state)
{
    (void)state;
    const char *src = getenv("TC_SOURCE_DIR");
    assert_non_null(src);
    char path[512];
    snprintf(path, sizeof path, "%s/.env.example", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    size_t count;
    const tc_option *o = tc_config_options(&count);
    for (size_t i = 0; i < count; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s=%s\n", o[i].env, o[i].def);
        if (!strstr(text, key)) fail_msg(".env.example lacks '%s=%s' with its default", o[i].env, o[i].def);
    }
    /* the README's configuration table names every key too */
    snprintf(path, sizeof path, "%s/README.md", src);
    static char readme[1 << 17];
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(readme, 1, sizeof readme - 1, f);
    readme[n] = '\0';
    fclose(f);
    for (size_t i = 0; i < count; i++) {
        char key[96];
        snprintf(key, sizeof key, "| `%s` | `--%s` |", o[i].env, o[i].name);
        if (!strstr(readme, key)) fail_msg("README.md's configuration table lacks %s", o[i].env);
    }
    snprintf(path, sizeof path, "%s/.env.example", src);
    /* and the example itself loads cleanly */
    tc_config c;
    assert_int_equal(tc_config_init(&c), TC_OK);
    assert_int_equal(tc_config_load_dotenv(&c, path, 0, err, sizeof err), TC_OK);
    tc_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_value_forms),    cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_dotenv_syntax),  cmocka_unit_test(test_args),
        cmocka_unit_test(test_fps_beyond_int), cmocka_unit_test(test_dotenv_buffer),
        cmocka_unit_test(test_env_errors),     cmocka_unit_test(test_validate),
        cmocka_unit_test(test_dump_masks_secrets), cmocka_unit_test(test_env_example_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
