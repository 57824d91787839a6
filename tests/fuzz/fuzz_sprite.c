/* fuzz_sprite.c — a sprite pack's sprites.json, through the real renderer:
 * tc_face_create("sprite") on a pack of tiny PNGs (tests/fuzz/pack, copied
 * into a temp dir beside the fuzzed manifest), then frames with different
 * mouths, eyes open and shut. Packs are downloaded from strangers, so any
 * manifest must end in a clean refusal or in frames of the configured
 * size. */
#include "core/err.h"
#include "core/log.h"
#include "face/face.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

#define W 32
#define H 24

static char dir[4096], manifest[4200];
static int64_t blink_n = -1; /* a frame where the eyes are shut */

static void swallow(const char *line, void *opaque)
{
    (void)line;
    (void)opaque;
}

static void cleanup(void)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static void copy(const char *from, const char *to)
{
    static char buf[1 << 16];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(in >= 0 && out >= 0);
    for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
        CHECK(write(out, buf, (size_t)n) == n);
    close(in);
    close(out);
}

static void init(void)
{
    tc_log_set_hook(swallow, NULL);
    av_log_set_level(AV_LOG_QUIET);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tc-fuzz-sprite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir));
    atexit(cleanup);
    DIR *d = opendir(TC_FUZZ_DIR "/pack");
    CHECK(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char from[8192], to[8192];
        snprintf(from, sizeof from, "%s/pack/%s", TC_FUZZ_DIR, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        copy(from, to); /* not a link: links out of the pack are refused */
    }
    closedir(d);
    snprintf(manifest, sizeof manifest, "%s/sprites.json", dir);
    for (int64_t n = 0; blink_n < 0 && n < 30 * 60; n++)
        if (tc_face_blink(7, n, 30, 1) > 0.5) blink_n = n;
    CHECK(blink_n >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!manifest[0]) init();
    int fd = open(manifest, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t)size);
    close(fd);
    tc_face_config cfg = {.width = W,
                          .height = H,
                          .pix_fmt = AV_PIX_FMT_YUV420P,
                          .fps_num = 30,
                          .fps_den = 1,
                          .fit = size & 1 ? TC_FACE_FIT_CROP : TC_FACE_FIT_PAD,
                          .path = manifest,
                          .seed = 7};
    tc_face *f = NULL;
    int r = tc_face_create(&f, "sprite", &cfg);
    if (r < 0) {
        CHECK(!f);
        return 0;
    }
    static const tc_mouth mouths[] = {
        {0, 0, 0, 0, 0}, {0.9f, 0.3f, 0, 0, 0.3f}, {0.25f, 0, 1, 0, 0}};
    AVFrame *out = av_frame_alloc();
    CHECK(out);
    for (int i = 0; i < 4; i++) {
        int changed = -1;
        r = tc_face_render(f, i == 3 ? blink_n : i, &mouths[i % 3], out, &changed);
        if (r < 0) break;
        CHECK(out->width == W && out->height == H && out->format == AV_PIX_FMT_YUV420P);
        CHECK(changed == 0 || changed == 1);
        av_frame_unref(out);
    }
    av_frame_free(&out);
    tc_face_destroy(f);
    return 0;
}
