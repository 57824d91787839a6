/* vector_draw.h — the drawing half of the "vector" avatar (internal to
 * src/face; vector.c is the renderer around it).
 *
 * Everything is measured in units of `u` (1/100 of the output height, less
 * for narrow portrait frames) around the head centre, so any output size
 * gives the same picture. The picture has two layers: the base (background,
 * body, head, hair, brows, nose) that never changes, and the face (eyes and
 * mouth) drawn over it. Invariant: the eyes never paint outside the eye
 * band of geom.rect (rows ry .. split-1), the mouth never outside the mouth
 * band (rows split .. ry+rh-1), so only a band needs redrawing when its
 * part of the face moves. */
#ifndef TC_FACE_VECTOR_DRAW_H
#define TC_FACE_VECTOR_DRAW_H

#include <cairo.h>

typedef struct tc_vector_rgb {
    double r, g, b;
} tc_vector_rgb;

/* The colours a user may one day choose; every other shade is derived. */
typedef struct tc_vector_palette {
    tc_vector_rgb background, skin, hair, shirt, lips, iris;
} tc_vector_palette;

extern const tc_vector_palette tc_vector_palette_default;

typedef struct tc_vector_geom {
    int width, height;
    double u;              /* length unit in pixels */
    double cx, cy;         /* head centre */
    double eye_y, mouth_y; /* centre lines of the eyes and of the mouth */
    double eye_dx;         /* horizontal distance of each eye from cx */
    /* The face rectangle: x and width multiples of 32 (16-aligned chroma
     * rows in 4:2:0), y and height multiples of 16, clamped to the frame. */
    int rx, ry, rw, rh;
    int split; /* first row of the mouth band; a multiple of 4 */
    /* The body band (shoulders, neck, collar), below the face rectangle:
     * breathing moves only what is drawn there. x, width multiples of 32. */
    int bx, by, bw, bh;
} tc_vector_geom;

/* How far breathing lifts the body at most, in units of u. */
#define TC_VECTOR_BREATH_MAX 0.3

/* The face's state, each 0..1 (already clamped by the caller). */
typedef struct tc_vector_face {
    double open, width, round, press, teeth; /* as tc_mouth */
    double blink;                            /* 0 eyes open, 1 shut */
} tc_vector_face;

/* Lay the avatar out in a width x height frame (both > 0). */
void tc_vector_layout(tc_vector_geom *g, int width, int height);

/* Paint the whole base layer; `cr` maps frame pixels 1:1. */
void tc_vector_draw_base(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal);
/* The same with the body lifted by `lift` units (|lift| <= TC_VECTOR_BREATH_MAX):
 * differs from the unlifted base only inside the body band. */
void tc_vector_draw_base_lifted(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                                double lift);

/* Paint the eyes (f->blink) over the base; touches only the eye band. */
void tc_vector_draw_eyes(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                         const tc_vector_face *f);
/* Paint the mouth (the tc_mouth part of f); touches only the mouth band. */
void tc_vector_draw_mouth(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                          const tc_vector_face *f);
/* Both of the above. */
void tc_vector_draw_face(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                         const tc_vector_face *f);

#endif
