/* face_test.h — helpers shared by the face tests: temp dirs, fixtures made
 * with the ffmpeg CLI, and pixel probes on yuv420p frames. */
#ifndef TC_FACE_TEST_H
#define TC_FACE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>

static char ft_dir[64];

static inline int ft_setup(void **state)
{
    (void)state;
    snprintf(ft_dir, sizeof ft_dir, "/tmp/tc-face-XXXXXX");
    return mkdtemp(ft_dir) ? 0 : -1;
}

static inline int ft_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ft_dir);
    return system(cmd);
}

/* Run ffmpeg to make a fixture at ft_dir/name; returns the path (static). */
static inline const char *ft_make(const char *name, const char *args)
{
    static char path[256];
    char cmd[4096];
    snprintf(path, sizeof path, "%s/%s", ft_dir, name);
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y %s '%s'", args, path);
    if (system(cmd) != 0) return NULL;
    return path;
}

static inline int ft_y(const AVFrame *f, int x, int y) { return f->data[0][y * f->linesize[0] + x]; }
static inline int ft_u(const AVFrame *f, int x, int y) { return f->data[1][(y / 2) * f->linesize[1] + x / 2]; }
static inline int ft_v(const AVFrame *f, int x, int y) { return f->data[2][(y / 2) * f->linesize[2] + x / 2]; }

/* 1 when the luma of rectangle (x,y,w,h) is identical in a and b. */
static inline int ft_same_rect(const AVFrame *a, const AVFrame *b, int x, int y, int w, int h)
{
    for (int j = y; j < y + h; j++)
        if (memcmp(a->data[0] + j * a->linesize[0] + x, b->data[0] + j * b->linesize[0] + x, (size_t)w))
            return 0;
    return 1;
}

static inline int ft_same_frame(const AVFrame *a, const AVFrame *b)
{
    for (int p = 0; p < 3; p++) {
        int h = p ? a->height / 2 : a->height, w = p ? a->width / 2 : a->width;
        for (int j = 0; j < h; j++)
            if (memcmp(a->data[p] + j * a->linesize[p], b->data[p] + j * b->linesize[p], (size_t)w)) return 0;
    }
    return 1;
}

#endif
