/* bench_face.c AVATAR [LANDMARKS] — render cost of one avatar at 720p:
 * mean time of a talking frame (the mouth changes every frame, as in
 * speech) beside an idle frame (nothing changed), over 600 frames each,
 * with three frames held downstream as the encoder would. Prints JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "face/face.h"

int main(int argc, char **argv)
{
    const char *avatar = argc > 1 && strcmp(argv[1], "vector") ? argv[1] : NULL;
    tc_face_config c = { 1280, 720, AV_PIX_FMT_YUV420P, 30, 1, TC_FACE_FIT_PAD, avatar, 1, 0,
                         argc > 2 ? argv[2] : NULL, 1 };
    tc_face *f;
    if (tc_face_create_auto(&f, &c) < 0) return 1;
    AVFrame *held[3] = { av_frame_alloc(), av_frame_alloc(), av_frame_alloc() };
    const int N = 600;
    int changed;
    int64_t t0 = tc_now_ns();
    for (int n = 0; n < N; n++) {
        /* a different mouth every frame, never repeating two in a row */
        tc_mouth m = { (float)((n * 37) % 64) / 64, (float)((n * 11) % 64) / 64, (float)((n * 5) % 3) / 3, 0,
                       (float)(n % 2) };
        av_frame_unref(held[n % 3]);
        if (tc_face_render(f, n, &m, held[n % 3], &changed) < 0) return 1;
    }
    int64_t talk = tc_now_ns() - t0;
    tc_mouth closed = { 0 };
    t0 = tc_now_ns();
    for (int n = 0; n < N; n++) {
        av_frame_unref(held[n % 3]);
        if (tc_face_render(f, 0, &closed, held[n % 3], &changed) < 0) return 1;
    }
    int64_t idle = tc_now_ns() - t0;
    printf("{\"renderer\": \"%s\", \"talking_frame_ms\": %.4f, \"idle_frame_ms\": %.5f}\n", tc_face_name(f),
           talk / 1e6 / N, idle / 1e6 / N);
    for (int i = 0; i < 3; i++) av_frame_free(&held[i]);
    tc_face_destroy(f);
    return 0;
}
