/* vector_draw.c — the "vector" avatar's picture, drawn with cairo.
 *
 * All shapes are written in head units: the cairo matrix is translated to
 * the head centre and scaled by geom.u, so x = ±19 is the side of the head
 * and y = 24 the chin at any output size. Only the colours of the palette
 * are inputs; shadows, teeth, mouth interior and so on are derived. How
 * far the eyes and the mouth reach at their largest is what
 * tc_vector_layout() reserves as the face rectangle and its two bands (the
 * RECT_* and BAND_SPLIT numbers); keep them in step — the unit test
 * test_face_layer_stays_in_bands fails when a shape pokes out. */
#include "face/vector_draw.h"

#include <math.h>

const tc_vector_palette tc_vector_palette_default = {
    .background = { 0.66, 0.78, 0.88 },
    .skin = { 0.97, 0.81, 0.69 },
    .hair = { 0.36, 0.23, 0.15 },
    .shirt = { 0.19, 0.52, 0.60 },
    .lips = { 0.84, 0.46, 0.46 },
    .iris = { 0.30, 0.50, 0.68 },
};

/* Face layout in head units (relative to the head centre). */
#define EYE_Y   (-2.0)
#define EYE_DX  7.6
#define EYE_W   4.1 /* half width of an eye */
#define EYE_UP  3.0 /* upper lid above the eye line, eye open */
#define EYE_LO  1.9 /* lower lid below it */
#define MOUTH_Y 12.5
/* Face rectangle around them, generous by ~0.4 unit for antialiasing. */
#define RECT_HALF_W 13.2
#define RECT_TOP    (EYE_Y - 4.2)
#define RECT_BOTTOM (MOUTH_Y + 7.6)
#define BAND_SPLIT  4.0 /* between the lower lids (~0.3) and the top lip (~8.4) */
#define BODY_HALF_W 46.0 /* the shirt at the frame's bottom edge */

static const tc_vector_rgb white = { 1, 1, 1 }, black = { 0, 0, 0 };

static tc_vector_rgb mix(tc_vector_rgb a, tc_vector_rgb b, double t)
{
    return (tc_vector_rgb){ a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t };
}

static tc_vector_rgb dim(tc_vector_rgb a, double k)
{
    return (tc_vector_rgb){ a.r * k, a.g * k, a.b * k };
}

static void set_rgb(cairo_t *cr, tc_vector_rgb c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

static void stop(cairo_pattern_t *p, double at, tc_vector_rgb c, double alpha)
{
    cairo_pattern_add_color_stop_rgba(p, at, c.r, c.g, c.b, alpha);
}

/* Fill the current path with `p`, then release it. */
static void fill_with(cairo_t *cr, cairo_pattern_t *p)
{
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);
}

static void ellipse(cairo_t *cr, double x, double y, double rx, double ry)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, rx, ry);
    cairo_new_sub_path(cr);
    cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
    cairo_restore(cr);
}

/* A soft round spot of colour c fading out from `alpha` at the centre. */
static void glow(cairo_t *cr, double x, double y, double rx, double ry, tc_vector_rgb c,
                 double alpha)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, rx, ry);
    cairo_pattern_t *p = cairo_pattern_create_radial(0, 0, 0, 0, 0, 1);
    stop(p, 0, c, alpha); /* eased out, so no ring shows at the rim */
    stop(p, 0.6, c, alpha * 0.35);
    stop(p, 0.85, c, alpha * 0.08);
    stop(p, 1, c, 0);
    cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
    fill_with(cr, p);
    cairo_restore(cr);
}

/* A symmetric cubic from (x0,y) to (x1,y) whose middle passes through y = peak. */
static void arch(cairo_t *cr, double x0, double x1, double y, double peak, double spread)
{
    double c = (peak - 0.25 * y) / 0.75, m = (x0 + x1) / 2;
    cairo_curve_to(cr, m + (x0 - m) * spread, c, m + (x1 - m) * spread, c, x1, y);
}

void tc_vector_layout(tc_vector_geom *g, int width, int height)
{
    g->width = width;
    g->height = height;
    /* 1/100 of the height; narrow portrait frames shrink it to fit the head. */
    g->u = fmin(height / 100.0, width / 75.0);
    g->cx = width / 2.0;
    g->cy = height / 2.0 - 5 * g->u;
    g->eye_y = g->cy + EYE_Y * g->u;
    g->mouth_y = g->cy + MOUTH_Y * g->u;
    g->eye_dx = EYE_DX * g->u;

    int x0 = (int)floor(g->cx - RECT_HALF_W * g->u) & ~31;
    int y0 = (int)floor(g->cy + RECT_TOP * g->u) & ~15;
    int x1 = ((int)ceil(g->cx + RECT_HALF_W * g->u) + 31) & ~31;
    int y1 = ((int)ceil(g->cy + RECT_BOTTOM * g->u) + 15) & ~15;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > width) x1 = width & ~1;
    if (y1 > height) y1 = height & ~1;
    g->rx = x0;
    g->ry = y0;
    g->rw = x1 > x0 ? x1 - x0 : 0;
    g->rh = y1 > y0 ? y1 - y0 : 0;
    int split = (int)lrint((g->cy + BAND_SPLIT * g->u) / 4) * 4;
    if (split > y1 - 4) split = (y1 - 4) & ~3;
    if (split < y0 + 4) split = y0 + 4;
    g->split = split;
    /* the body band: below the face rectangle, the body's width (its
     * half-width is 46 units at the frame's bottom) */
    int bx0 = (int)floor(g->cx - (BODY_HALF_W + 1) * g->u) & ~31;
    int bx1 = ((int)ceil(g->cx + (BODY_HALF_W + 1) * g->u) + 31) & ~31;
    if (bx0 < 0) bx0 = 0;
    if (bx1 > width) bx1 = width & ~1;
    g->bx = bx0;
    g->bw = bx1 > bx0 ? bx1 - bx0 : 0;
    g->by = y1;
    g->bh = height - y1 > 0 ? (height - y1) & ~1 : 0;
}

/* ---- base layer ----------------------------------------------------------- */

static void head_path(cairo_t *cr)
{
    cairo_move_to(cr, 0, -25);
    cairo_curve_to(cr, 11, -25, 19, -18, 19, -4);
    cairo_curve_to(cr, 19, 8, 12.5, 23.5, 0, 24);
    cairo_curve_to(cr, -12.5, 23.5, -19, 8, -19, -4);
    cairo_curve_to(cr, -19, -18, -11, -25, 0, -25);
    cairo_close_path(cr);
}

static void draw_body(cairo_t *cr, const tc_vector_palette *c, double bottom)
{
    /* shirt: shoulders sloping down to the frame's bottom edge */
    cairo_move_to(cr, -8.5, 27.5);
    cairo_curve_to(cr, -15, 28.5, -26, 28, -32, 33);
    cairo_curve_to(cr, -38, 37, -41, 45, -42, 57);
    cairo_line_to(cr, -BODY_HALF_W, bottom);
    cairo_line_to(cr, BODY_HALF_W, bottom);
    cairo_line_to(cr, 42, 57);
    cairo_curve_to(cr, 41, 45, 38, 37, 32, 33);
    cairo_curve_to(cr, 26, 28, 15, 28.5, 8.5, 27.5);
    cairo_close_path(cr);
    cairo_pattern_t *p = cairo_pattern_create_linear(-30, 27, 30, 57);
    stop(p, 0, mix(c->shirt, white, 0.12), 1);
    stop(p, 1, dim(c->shirt, 0.85), 1);
    fill_with(cr, p);
    /* neck, shadowed under the chin */
    cairo_rectangle(cr, -6.8, 12, 13.6, 18);
    ellipse(cr, 0, 30, 6.8, 2.5);
    p = cairo_pattern_create_linear(0, 18, 0, 27);
    stop(p, 0, dim(c->skin, 0.72), 1);
    stop(p, 1, dim(c->skin, 0.9), 1);
    fill_with(cr, p);
    /* crew-neck collar */
    cairo_move_to(cr, -8.6, 27.6);
    cairo_curve_to(cr, -6, 34.2, 6, 34.2, 8.6, 27.6);
    set_rgb(cr, dim(c->shirt, 0.72), 1);
    cairo_set_line_width(cr, 1.8);
    cairo_stroke(cr);
}

/* From the left sideburn (-19.6, -3), where the path must already be, up
 * to a side parting, a fringe swept down to the right, the right temple. */
static void hairline(cairo_t *cr)
{
    cairo_curve_to(cr, -18.5, -10, -13, -17, -6, -18);
    cairo_curve_to(cr, 0, -17.5, 6, -13.5, 10, -11);
    cairo_curve_to(cr, 12, -12.5, 13.5, -14, 15.5, -14);
    cairo_curve_to(cr, 18, -12, 19.2, -8, 19.6, -3);
}

static void draw_head(cairo_t *cr, const tc_vector_palette *c)
{
    tc_vector_rgb skin_dark = mix(c->skin, (tc_vector_rgb){ 0.62, 0.36, 0.30 }, 0.35);
    /* hair behind the head, down to the ears */
    cairo_save(cr);
    cairo_rectangle(cr, -30, -40, 60, 45);
    cairo_clip(cr);
    ellipse(cr, 0, -5, 20.8, 23.5);
    set_rgb(cr, c->hair, 1);
    cairo_fill(cr);
    cairo_restore(cr);
    /* ears */
    for (int s = -1; s <= 1; s += 2) {
        ellipse(cr, s * 18.6, 1, 3.2, 5);
        set_rgb(cr, mix(c->skin, skin_dark, 0.4), 1);
        cairo_fill(cr);
        ellipse(cr, s * 19.0, 1.3, 1.5, 3);
        set_rgb(cr, skin_dark, 0.5);
        cairo_fill(cr);
    }
    /* face, lit from the upper left */
    head_path(cr);
    cairo_pattern_t *p = cairo_pattern_create_radial(-4, -7, 2, 0, 0, 27);
    stop(p, 0, mix(c->skin, white, 0.1), 1);
    stop(p, 0.6, c->skin, 1);
    stop(p, 1, mix(c->skin, skin_dark, 0.45), 1);
    fill_with(cr, p);

    /* front hair: the crown's outline down to a hairline swept to the right */
    cairo_save(cr);
    head_path(cr);
    cairo_clip(cr);
    cairo_move_to(cr, -19.6, -3);
    hairline(cr);
    set_rgb(cr, black, 0.10); /* its soft shadow on the forehead */
    cairo_set_line_width(cr, 2.4);
    cairo_stroke(cr);
    cairo_restore(cr);
    cairo_move_to(cr, 19.6, -3);
    cairo_curve_to(cr, 21.3, -12, 20.5, -22, 10, -28);
    cairo_curve_to(cr, 3, -30.8, -6, -30.3, -12, -27.5);
    cairo_curve_to(cr, -18.5, -24.5, -21, -15, -19.6, -3);
    hairline(cr);
    cairo_close_path(cr);
    set_rgb(cr, c->hair, 1);
    cairo_fill_preserve(cr);
    /* a sheen, inside the hair */
    cairo_save(cr);
    cairo_clip(cr);
    cairo_save(cr);
    cairo_translate(cr, 0, -6);
    cairo_scale(cr, 16.5, 20.5);
    cairo_arc(cr, 0, 0, 1, M_PI * 1.18, M_PI * 1.42);
    cairo_restore(cr);
    set_rgb(cr, white, 0.09);
    cairo_set_line_width(cr, 2.2);
    cairo_stroke(cr);
    cairo_restore(cr);

    /* brows, crease above each eye, cheeks */
    for (int s = -1; s <= 1; s += 2) {
        cairo_move_to(cr, s * 4.2, EYE_Y - 5.3);
        cairo_curve_to(cr, s * 6.2, EYE_Y - 6.6, s * 9.2, EYE_Y - 6.8, s * 11.2, EYE_Y - 5.4);
        set_rgb(cr, dim(c->hair, 0.85), 1);
        cairo_set_line_width(cr, 1.25);
        cairo_stroke(cr);
        double ex = s * EYE_DX;
        cairo_move_to(cr, ex - EYE_W * 0.75, EYE_Y - 2.6);
        cairo_curve_to(cr, ex - 1.6, EYE_Y - 4.3, ex + 1.6, EYE_Y - 4.3, ex + EYE_W * 0.8,
                       EYE_Y - 2.8);
        set_rgb(cr, skin_dark, 0.35);
        cairo_set_line_width(cr, 0.35);
        cairo_stroke(cr);
        glow(cr, s * 10.5, 6.5, 4.2, 3.6, (tc_vector_rgb){ 0.96, 0.50, 0.50 }, 0.22);
    }
    /* nose: a shadow line on one side, the nostril curve, a lit tip */
    glow(cr, 0, 7.4, 3, 1.1, skin_dark, 0.25);
    cairo_move_to(cr, -1.2, 1.0);
    cairo_curve_to(cr, -1.6, 2.6, -2.4, 3.7, -2.3, 5);
    set_rgb(cr, skin_dark, 0.25);
    cairo_set_line_width(cr, 0.45);
    cairo_stroke(cr);
    cairo_move_to(cr, -2.2, 5.5);
    cairo_curve_to(cr, -1.6, 7, 1.6, 7, 2.2, 5.5);
    set_rgb(cr, skin_dark, 0.6);
    cairo_set_line_width(cr, 0.5);
    cairo_stroke(cr);
    glow(cr, 0.3, 4.3, 1.3, 1.0, white, 0.22);
}

void tc_vector_draw_base(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal)
{
    tc_vector_draw_base_lifted(cr, g, pal, 0);
}

void tc_vector_draw_base_lifted(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                                double lift)
{
    cairo_save(cr);
    cairo_pattern_t *p = cairo_pattern_create_linear(0, 0, 0, g->height);
    stop(p, 0, mix(pal->background, white, 0.28), 1);
    stop(p, 1, dim(pal->background, 0.86), 1);
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);

    cairo_translate(cr, g->cx, g->cy);
    cairo_scale(cr, g->u, g->u);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    glow(cr, 0, 0, 55, 55, white, 0.22); /* soft light behind the head */
    cairo_save(cr);
    cairo_translate(cr, 0, -lift); /* the head, drawn after, hides the neck's top */
    draw_body(cr, pal, (g->height - g->cy) / g->u + 1 + TC_VECTOR_BREATH_MAX);
    cairo_restore(cr);
    draw_head(cr, pal);
    cairo_restore(cr);
}

/* ---- face layer ----------------------------------------------------------- */

/* The eye opening: upper lid `up` above the eye line, lower lid `lo` below. */
static void eye_path(cairo_t *cr, double ex, double up, double lo)
{
    cairo_move_to(cr, ex - EYE_W, EYE_Y);
    arch(cr, ex - EYE_W, ex + EYE_W, EYE_Y, EYE_Y - up, 0.5);
    arch(cr, ex + EYE_W, ex - EYE_W, EYE_Y, EYE_Y + lo, 0.5);
    cairo_close_path(cr);
}

static void draw_eye(cairo_t *cr, const tc_vector_palette *c, int s, double blink)
{
    double ex = s * EYE_DX;
    double up = EYE_UP + (-EYE_LO * 0.9 - EYE_UP) * blink;
    tc_vector_rgb lash = { 0.17, 0.10, 0.08 };
    if (up > -EYE_LO * 0.85) {
        eye_path(cr, ex, up, EYE_LO);
        set_rgb(cr, (tc_vector_rgb){ 0.98, 0.97, 0.95 }, 1);
        cairo_fill_preserve(cr);
        cairo_save(cr);
        cairo_clip(cr);
        double iy = EYE_Y + 0.15;
        cairo_pattern_t *p = cairo_pattern_create_radial(ex, iy, 0, ex, iy, 2.3);
        stop(p, 0.3, dim(c->iris, 0.7), 1);
        stop(p, 0.75, mix(c->iris, white, 0.15), 1);
        stop(p, 1, dim(c->iris, 0.55), 1);
        cairo_arc(cr, ex, iy, 2.3, 0, 2 * M_PI);
        fill_with(cr, p);
        set_rgb(cr, (tc_vector_rgb){ 0.06, 0.05, 0.06 }, 1);
        cairo_arc(cr, ex, iy, 1.05, 0, 2 * M_PI);
        cairo_fill(cr);
        set_rgb(cr, white, 0.95);
        cairo_arc(cr, ex + 0.75, iy - 0.8, 0.55, 0, 2 * M_PI);
        cairo_fill(cr);
        set_rgb(cr, white, 0.6);
        cairo_arc(cr, ex - 0.6, iy + 0.75, 0.28, 0, 2 * M_PI);
        cairo_fill(cr);
        /* the upper lid's shadow on the eyeball */
        cairo_move_to(cr, ex - EYE_W, EYE_Y);
        arch(cr, ex - EYE_W, ex + EYE_W, EYE_Y, EYE_Y - up, 0.5);
        set_rgb(cr, black, 0.16);
        cairo_set_line_width(cr, 1.3);
        cairo_stroke(cr);
        cairo_restore(cr);
        /* lower lid */
        cairo_move_to(cr, ex + EYE_W * 0.8, EYE_Y + 0.5);
        cairo_curve_to(cr, ex + 1.2, EYE_Y + EYE_LO * 1.25, ex - 1.2, EYE_Y + EYE_LO * 1.25,
                       ex - EYE_W * 0.8, EYE_Y + 0.5);
        set_rgb(cr, lash, 0.22);
        cairo_set_line_width(cr, 0.3);
        cairo_stroke(cr);
    }
    /* lash line along the upper lid, flicked out at the outer corner */
    cairo_move_to(cr, ex - EYE_W, EYE_Y);
    arch(cr, ex - EYE_W, ex + EYE_W, EYE_Y, EYE_Y - up, 0.5);
    set_rgb(cr, lash, 1);
    cairo_set_line_width(cr, 0.6);
    cairo_stroke(cr);
    cairo_move_to(cr, ex + s * EYE_W * 0.92, EYE_Y - 0.15);
    cairo_line_to(cr, ex + s * (EYE_W + 0.8), EYE_Y - 0.75);
    cairo_set_line_width(cr, 0.55);
    cairo_stroke(cr);
}

/* The mouth at MOUTH_Y, shaped by the five tc_mouth parameters. */
static void draw_mouth(cairo_t *cr, const tc_vector_palette *c, const tc_vector_face *f)
{
    double open = f->open * (1 - f->press), shut = 1 - f->press;
    double hw = (4.6 + 1.7 * f->width - 1.8 * f->round - 0.5 * open) * (1 + 0.06 * f->press);
    double gap = 5.8 * open + 1.2 * f->round * open;
    gap = fmax(gap, 1.9 * f->teeth * shut);   /* f/v: teeth on the lower lip */
    gap = fmax(gap, 1.2 * f->round * shut);   /* a pucker leaves a small hole */
    double smile = 1.4 * (1 - 0.8 * f->round) * (1 - 0.6 * open);
    double ut = (1.2 + 0.5 * f->round) * (1 - 0.55 * f->press);                 /* upper lip */
    double lt = (1.35 + 0.5 * f->round - 0.4 * f->teeth) * (1 - 0.5 * f->press); /* lower lip */
    double spread = 0.55 + 0.35 * f->round;
    double yc = MOUTH_Y - smile + gap * 0.15; /* corners */
    double yt = MOUTH_Y - gap * 0.32, yb = MOUTH_Y + gap * 0.68;
    double ow = hw + 0.5, ytop = yt - ut, ybot = yb + lt;
    tc_vector_rgb lip_dark = dim(c->lips, 0.55);
    tc_vector_rgb teeth = { 0.98, 0.97, 0.94 };

    /* lips: one shape with a cupid's bow; the upper lip shaded darker */
    cairo_move_to(cr, -ow, yc);
    cairo_curve_to(cr, -hw * 0.7, yc + (ytop - yc) * 0.7, -2.6, ytop - 0.15, -1.2, ytop - 0.15);
    cairo_curve_to(cr, -0.7, ytop - 0.15, -0.35, ytop + 0.35, 0, ytop + 0.35);
    cairo_curve_to(cr, 0.35, ytop + 0.35, 0.7, ytop - 0.15, 1.2, ytop - 0.15);
    cairo_curve_to(cr, 2.6, ytop - 0.15, hw * 0.7, yc + (ytop - yc) * 0.7, ow, yc);
    arch(cr, ow, -ow, yc, ybot, 0.75);
    cairo_close_path(cr);
    set_rgb(cr, c->lips, 1);
    cairo_fill(cr);
    cairo_save(cr);
    cairo_rectangle(cr, -ow - 1, ytop - 1, 2 * ow + 2, MOUTH_Y - ytop + 1);
    cairo_clip(cr);
    cairo_move_to(cr, -ow, yc);
    cairo_curve_to(cr, -hw * 0.7, yc + (ytop - yc) * 0.7, -2.6, ytop - 0.15, -1.2, ytop - 0.15);
    cairo_curve_to(cr, -0.7, ytop - 0.15, -0.35, ytop + 0.35, 0, ytop + 0.35);
    cairo_curve_to(cr, 0.35, ytop + 0.35, 0.7, ytop - 0.15, 1.2, ytop - 0.15);
    cairo_curve_to(cr, 2.6, ytop - 0.15, hw * 0.7, yc + (ytop - yc) * 0.7, ow, yc);
    arch(cr, ow, -ow, yc, yt, spread);
    cairo_close_path(cr);
    set_rgb(cr, dim(c->lips, 0.88), 1);
    cairo_fill(cr);
    cairo_restore(cr);
    glow(cr, 0.4, yb + lt * 0.45, hw * 0.38, lt * 0.28, white, 0.3); /* lower lip sheen */

    /* the opening: dark inside, upper teeth, tongue, lower teeth */
    cairo_move_to(cr, -hw, yc);
    arch(cr, -hw, hw, yc, yt, spread);
    arch(cr, hw, -hw, yc, yb, spread);
    cairo_close_path(cr);
    if (gap > 0.05) {
        cairo_save(cr);
        cairo_pattern_t *p = cairo_pattern_create_linear(0, yt, 0, yb);
        stop(p, 0, (tc_vector_rgb){ 0.16, 0.03, 0.05 }, 1);
        stop(p, 1, (tc_vector_rgb){ 0.38, 0.09, 0.11 }, 1);
        cairo_set_source(cr, p);
        cairo_fill_preserve(cr);
        cairo_pattern_destroy(p);
        cairo_clip(cr);
        ellipse(cr, 0, yb + 0.1 * gap, hw * 0.7, fmin(gap * 0.42, 2.8));
        set_rgb(cr, (tc_vector_rgb){ 0.87, 0.43, 0.46 }, 1);
        cairo_fill(cr);
        double th = fmin(1.2, gap * 0.55) + 1.0 * f->teeth;
        cairo_rectangle(cr, -hw * 0.78, yt - 1, hw * 1.56, yb - yt + 2);
        cairo_clip(cr);
        cairo_move_to(cr, -hw, yt - 2);
        cairo_line_to(cr, hw, yt - 2);
        cairo_line_to(cr, hw, yt + th - 0.5);
        arch(cr, hw, -hw, yt + th - 0.5, yt + th, 0.6);
        cairo_close_path(cr);
        set_rgb(cr, teeth, 1);
        cairo_fill(cr);
        double lth = fmin(0.75, fmax(0, gap - 3) * 0.3);
        if (lth > 0) {
            cairo_move_to(cr, -hw, yb + 2);
            cairo_line_to(cr, hw, yb + 2);
            cairo_line_to(cr, hw, yb - lth + 0.4);
            arch(cr, hw, -hw, yb - lth + 0.4, yb - lth, 0.6);
            cairo_close_path(cr);
            set_rgb(cr, dim(teeth, 0.93), 1);
            cairo_fill(cr);
        }
        cairo_restore(cr);
    }
    set_rgb(cr, lip_dark, 1); /* the line where the lips meet */
    cairo_set_line_width(cr, gap > 0.05 ? 0.3 : 0.45);
    cairo_stroke(cr);
    /* dimples at the corners of a smile */
    for (int s = -1; s <= 1; s += 2) {
        cairo_move_to(cr, s * (ow + 0.05), yc + 0.35);
        cairo_curve_to(cr, s * (ow + 0.45), yc + 0.1, s * (ow + 0.5), yc - 0.2, s * (ow + 0.35),
                       yc - 0.5);
        set_rgb(cr, lip_dark, 0.2 * smile * (1 - open));
        cairo_set_line_width(cr, 0.3);
        cairo_stroke(cr);
    }
}

/* Head units, round caps and joins. */
static void face_space(cairo_t *cr, const tc_vector_geom *g)
{
    cairo_translate(cr, g->cx, g->cy);
    cairo_scale(cr, g->u, g->u);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
}

void tc_vector_draw_eyes(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                         const tc_vector_face *f)
{
    cairo_save(cr);
    face_space(cr, g);
    draw_eye(cr, pal, -1, f->blink);
    draw_eye(cr, pal, 1, f->blink);
    cairo_restore(cr);
}

void tc_vector_draw_mouth(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                          const tc_vector_face *f)
{
    cairo_save(cr);
    face_space(cr, g);
    draw_mouth(cr, pal, f);
    cairo_restore(cr);
}

void tc_vector_draw_face(cairo_t *cr, const tc_vector_geom *g, const tc_vector_palette *pal,
                         const tc_vector_face *f)
{
    tc_vector_draw_eyes(cr, g, pal, f);
    tc_vector_draw_mouth(cr, g, pal, f);
}
