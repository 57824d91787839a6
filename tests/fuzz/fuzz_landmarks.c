/* fuzz_landmarks.c — a photo's or video loop's landmarks JSON, through
 * tc_face_landmarks_load (the file is a memfd, so json-c's own file
 * reading runs too) and then what the photo avatar does with an accepted
 * set: the warp and eye rectangles and one warped frame. Landmarks come
 * with downloaded avatars; whatever they say, accepted points must lie in
 * the output picture and the warp must stay inside its frame. */
#include "core/err.h"
#include "core/log.h"
#include "face/warp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavutil/log.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

/* the astronaut portrait's size, fitted into a small 16:9 frame */
#define SRC_W 512
#define SRC_H 512
#define W     128
#define H     72

static char path[64];
static int fd = -1;
static AVFrame *base, *dst;

static AVFrame *frame(void)
{
    AVFrame *f = av_frame_alloc();
    CHECK(f);
    f->width = W;
    f->height = H;
    f->format = AV_PIX_FMT_YUV420P;
    CHECK(av_frame_get_buffer(f, 0) == 0);
    for (int p = 0; p < 3; p++)
        memset(f->data[p], 0x80, (size_t)f->linesize[p] * (p ? H / 2 : H));
    return f;
}

/* Refusals are logged with the input's words in them: format every line
 * (that code runs on fuzzed text too), print none. */
static void swallow(const char *line, void *opaque)
{
    (void)line;
    (void)opaque;
}

static void init(void)
{
    tc_log_set_hook(swallow, NULL);
    av_log_set_level(AV_LOG_QUIET);
    CHECK((fd = memfd_create("fuzz.landmarks.json", 0)) >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    base = frame();
    dst = frame();
}

static void check_rect(const int r[4])
{
    CHECK(r[0] >= 0 && r[1] >= 0 && r[2] >= 0 && r[3] >= 0);
    CHECK(r[0] + r[2] <= W && r[1] + r[3] <= H);
    CHECK(r[0] % 2 == 0 && r[1] % 2 == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) init();
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    tc_face_config cfg = {.width = W,
                          .height = H,
                          .pix_fmt = AV_PIX_FMT_YUV420P,
                          .fps_num = 30,
                          .fps_den = 1,
                          .fit = size & 1 ? TC_FACE_FIT_CROP : TC_FACE_FIT_PAD};
    tc_face_landmarks *lm = NULL;
    int n = -1;
    int r = tc_face_landmarks_load(path, SRC_W, SRC_H, &cfg, &lm, &n);
    if (r < 0) {
        CHECK(!lm && n == 0);
        return 0;
    }
    CHECK(lm && n >= 1);
    /* accepted points lie on the fitted picture (cropping may cut some off
     * the frame; the rectangles below are clipped) */
    double s, ox, oy;
    tc_face_fit_geometry(SRC_W, SRC_H, &cfg, &s, &ox, &oy);
#define ON_PICTURE(x, y)                                                                           \
    (isfinite(x) && isfinite(y) && (x) >= ox && (x) <= ox + SRC_W * s && (y) >= oy &&              \
     (y) <= oy + SRC_H * s)
    for (int i = 0; i < n; i++) {
        const tc_face_landmarks *l = &lm[i];
        for (int k = 0; k < TC_LM_COUNT; k++)
            CHECK(ON_PICTURE(l->x[k], l->y[k]));
        for (int e = 0; l->has_eyes && e < 2; e++)
            CHECK(ON_PICTURE(l->eye_x[e], l->eye_y[e]));
    }
    /* what photo_init and photo_render do with the first set */
    int rect[4], eye[2][4];
    tc_face_warp_rect(&lm[0], W, H, rect);
    check_rect(rect);
    for (int e = 0; e < 2; e++) {
        tc_face_eye_rect(&lm[0], e, W, H, eye[e]);
        check_rect(eye[e]);
    }
    if (rect[2] >= 4 && rect[3] >= 4) {
        tc_mouth m = {.open = 1, .width = 0.5f, .round = 0.5f, .press = 0, .teeth = 1};
        int q[5];
        tc_face_mouth_quantise(&m, q);
        for (int e = 0; e < 2; e++)
            tc_face_warp_eye(base, dst, &lm[0], e, eye[e], 0.75);
        tc_face_warp_mouth(base, dst, &lm[0], rect, q);
    }
    free(lm);
    return 0;
}
