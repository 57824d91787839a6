/* warp.h — making a picture's mouth talk: landmarks and the mouth warp
 * shared by the photo avatar and the looping-video avatar.
 *
 * Landmarks are five points (mouth corners, upper and lower lip, chin) in
 * output pixels. A landmarks JSON holds one set in source pixels
 * ({"mouth_left": [x, y], "mouth_right": …, "upper_lip": …, "lower_lip": …,
 * "chin": …}) or, for a video loop, one set per frame
 * ({"frames": [{…}, {…}, …]}); loading maps them through the fit.
 * Optionally "eye_left" and "eye_right" (the centres of the eyes, both or
 * neither) let a still photo blink. */
#ifndef TC_FACE_WARP_H
#define TC_FACE_WARP_H

#include "face/face.h"

enum { TC_LM_MOUTH_LEFT, TC_LM_MOUTH_RIGHT, TC_LM_UPPER_LIP, TC_LM_LOWER_LIP, TC_LM_CHIN, TC_LM_COUNT };

typedef struct tc_face_landmarks {
    double x[TC_LM_COUNT], y[TC_LM_COUNT];
    int has_eyes;
    double eye_x[2], eye_y[2]; /* centres of the left and right eye */
} tc_face_landmarks;

/* Load `path` for a src_w x src_h source fitted by cfg. *out is malloc'ed
 * with *n sets (1 for a still). Errors are logged with the reason. */
int tc_face_landmarks_load(const char *path, int src_w, int src_h, const tc_face_config *cfg,
                           tc_face_landmarks **out, int *n);
/* "<image without extension>.landmarks.json", malloc'ed. */
char *tc_face_landmarks_path(const char *image);

/* The rectangle a warp of `l` can touch at most, even-aligned and inside
 * a W x H picture: rect = {x, y, w, h}. */
void tc_face_warp_rect(const tc_face_landmarks *l, int W, int H, int rect[4]);

/* Write into `dst`'s rectangle the `base` picture (yuv420p) with its mouth
 * moved as `m` says (values quantised to 1/64 in q[5]: open, width,
 * round, press, teeth). Outside the rectangle dst is left as it is. */
void tc_face_warp_mouth(const AVFrame *base, AVFrame *dst, const tc_face_landmarks *l, const int rect[4],
                        const int q[5]);

/* The rectangle a blink of eye `e` (0, 1) touches: the eye and the lid
 * above it, even-aligned, inside W x H; w = 0 without eye landmarks. */
void tc_face_eye_rect(const tc_face_landmarks *l, int e, int W, int H, int rect[4]);

/* Write into dst's eye rectangle the base picture with the eye closed by
 * `closed` (0 open … 1 shut): the upper lid — the skin between the crease
 * and the lashes — slides down over the eye, lashes leading, fading out
 * at the corners. closed <= 0 copies the base. */
void tc_face_warp_eye(const AVFrame *base, AVFrame *dst, const tc_face_landmarks *l, int e, const int rect[4],
                      double closed);

/* Quantise a mouth to 1/64 steps (NaN and out-of-range values clamped). */
void tc_face_mouth_quantise(const tc_mouth *m, int q[5]);

#endif
