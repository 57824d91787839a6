/* test_vector.c — the built-in "vector" face, driven through its vtable:
 * it renders at any size and format; the mouth visibly opens inside the
 * face rectangle while every byte outside it stays the base picture; an
 * unchanged face costs nothing (same buffer) and a held frame is never
 * overwritten; blinks come every 2–6 s as a pure function of seed, frame
 * and rate; bad input is clamped or refused. With TC_TEST_WRITE_PNG set it
 * also writes vector_closed.png and vector_open.png for a person to look
 * at (into that directory if it names one, else the working directory). */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cairo.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/err.h"
#include "face/face.h"
#include "face/vector_draw.h"

extern const tc_face_vtable tc_face_vector;

static void *open_fmt(int w, int h, enum AVPixelFormat fmt, int fps, uint32_t seed)
{
    tc_face_config c = { .width = w, .height = h, .pix_fmt = fmt, .fps_num = fps, .fps_den = 1,
                         .seed = seed };
    void *p = calloc(1, tc_face_vector.priv_size);
    assert_non_null(p);
    assert_int_equal(tc_face_vector.init(p, &c), TC_OK);
    return p;
}

static void *open_breathing(int w, int h, uint32_t seed)
{
    tc_face_config c = { .width = w, .height = h, .pix_fmt = AV_PIX_FMT_YUV420P, .fps_num = 30, .fps_den = 1,
                         .seed = seed, .breathing = 1 };
    void *p = calloc(1, tc_face_vector.priv_size);
    assert_non_null(p);
    assert_int_equal(tc_face_vector.init(p, &c), TC_OK);
    return p;
}

static void *open_vec(int w, int h, uint32_t seed)
{
    return open_fmt(w, h, AV_PIX_FMT_YUV420P, 30, seed);
}

static void close_vec(void *p)
{
    tc_face_vector.uninit(p);
    free(p);
}

/* A new frame holding the picture for frame n; the caller frees it. */
static AVFrame *render(void *p, int64_t n, const tc_mouth *m, int *changed)
{
    AVFrame *f = av_frame_alloc();
    int dummy;
    assert_non_null(f);
    assert_int_equal(tc_face_vector.render(p, n, m, f, changed ? changed : &dummy), TC_OK);
    return f;
}

static int px(const AVFrame *f, int plane, int x, int y)
{
    return f->data[plane][y * f->linesize[plane] + x];
}

/* Sum of |a - b| over the luma of a rectangle. */
static long diff_y(const AVFrame *a, const AVFrame *b, int x, int y, int w, int h)
{
    long d = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) d += labs((long)px(a, 0, i, j) - px(b, 0, i, j));
    return d;
}

/* 1 when every Y, U and V byte of two yuv420p frames outside the rectangle
 * (x, y, w, h) — even coordinates — is equal. */
static int same_outside(const AVFrame *a, const AVFrame *b, int x, int y, int w, int h)
{
    for (int p = 0; p < 3; p++) {
        int s = p ? 1 : 0, W = a->width >> s, H = a->height >> s;
        int x0 = x >> s, y0 = y >> s, x1 = (x + w) >> s, y1 = (y + h) >> s;
        for (int j = 0; j < H; j++)
            for (int i = 0; i < W; i++) {
                if (i >= x0 && i < x1 && j >= y0 && j < y1) continue;
                if (px(a, p, i, j) != px(b, p, i, j)) return 0;
            }
    }
    return 1;
}

static int same_frame(const AVFrame *a, const AVFrame *b) { return same_outside(a, b, 0, 0, 0, 0); }

/* Write f as a PNG named `name` when TC_TEST_WRITE_PNG asks for it. */
static void maybe_png(const AVFrame *f, const char *name)
{
    const char *dir = getenv("TC_TEST_WRITE_PNG");
    struct stat st;
    if (!dir || !*dir) return;
    char path[512];
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) dir = ".";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->width, f->height);
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                                            AV_PIX_FMT_RGB32, SWS_BILINEAR, NULL, NULL, NULL);
    assert_non_null(sws);
    int *inv, *tbl, src_range, dst_range, bri, con, sat;
    sws_getColorspaceDetails(sws, &inv, &src_range, &tbl, &dst_range, &bri, &con, &sat);
    sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_ITU709), src_range, tbl, dst_range,
                             bri, con, sat);
    uint8_t *dst[1] = { cairo_image_surface_get_data(s) };
    int stride[1] = { cairo_image_surface_get_stride(s) };
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    cairo_surface_mark_dirty(s);
    assert_int_equal(cairo_surface_write_to_png(s, path), CAIRO_STATUS_SUCCESS);
    print_message("wrote %s\n", path);
    cairo_surface_destroy(s);
    sws_freeContext(sws);
}

static void test_sizes(void **state)
{
    (void)state;
    const int sizes[][2] = { { 1280, 720 }, { 640, 360 },  { 720, 1280 },
                             { 1920, 1080 }, { 160, 120 }, { 16, 16 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1], changed = -1;
        void *p = open_vec(w, h, 1);
        AVFrame *f = render(p, 0, NULL, &changed);
        assert_int_equal(f->width, w);
        assert_int_equal(f->height, h);
        assert_int_equal(f->format, AV_PIX_FMT_YUV420P);
        assert_int_equal(changed, 1);
        /* a picture, not a flat fill: dark lashes and a light background */
        int lo = 255, hi = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = px(f, 0, x, y);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        if (w >= 160) assert_true(hi - lo > 100);
        av_frame_free(&f);
        close_vec(p);
    }
}

/* The face rectangle is small, and an open mouth changes only it. */
static void mouth_opens_inside_rect(int w, int h)
{
    tc_vector_geom g;
    tc_vector_layout(&g, w, h);
    assert_true(g.rx % 32 == 0 && g.ry % 16 == 0 && g.rw > 0 && g.rh > 0);
    assert_true(g.rx + g.rw <= w && g.ry + g.rh <= h);
    assert_true((long)g.rw * g.rh * 10 < (long)w * h); /* under a tenth of the picture */

    void *p = open_vec(w, h, 1);
    tc_mouth open = { 1, 0, 0, 0, 0 };
    int changed;
    AVFrame *closed = render(p, 0, NULL, &changed);
    AVFrame *opened = render(p, 0, &open, &changed);
    assert_int_equal(changed, 1);
    char size[32] = "", name[64];
    if (w != 1280 || h != 720) snprintf(size, sizeof size, "_%dx%d", w, h);
    snprintf(name, sizeof name, "vector_closed%s.png", size);
    maybe_png(closed, name);
    snprintf(name, sizeof name, "vector_open%s.png", size);
    maybe_png(opened, name);

    int mx = (int)g.cx, my = (int)lrint(g.mouth_y + 1.5 * g.u), u = (int)ceil(g.u);
    /* below the mouth line: skin when closed, the dark inside when open;
     * across the mouth the picture changes by 40+ levels on average */
    assert_true(px(closed, 0, mx, (int)(g.mouth_y + 2.5 * g.u)) > 100);
    assert_true(px(opened, 0, mx, my) < 70);
    assert_true(diff_y(closed, opened, mx - 5 * u, my - 3 * u, 10 * u, 6 * u) > 40L * 60 * u * u);
    assert_true(same_outside(closed, opened, g.rx, g.ry, g.rw, g.rh));
    av_frame_free(&closed);
    av_frame_free(&opened);
    close_vec(p);
}

static void test_mouth_opens_only_inside_face(void **state)
{
    (void)state;
    mouth_opens_inside_rect(1280, 720);
    mouth_opens_inside_rect(640, 360);
    mouth_opens_inside_rect(720, 1280);
}

/* 1 when the ARGB surfaces a and b differ nowhere outside the rectangle. */
static int surfaces_same_outside(cairo_surface_t *a, cairo_surface_t *b, int x, int y, int w, int h)
{
    cairo_surface_flush(a);
    cairo_surface_flush(b);
    const uint8_t *pa = cairo_image_surface_get_data(a), *pb = cairo_image_surface_get_data(b);
    int stride = cairo_image_surface_get_stride(a), width = cairo_image_surface_get_width(a);
    for (int j = 0; j < cairo_image_surface_get_height(a); j++) {
        const uint8_t *ra = pa + (size_t)j * stride, *rb = pb + (size_t)j * stride;
        if (j >= y && j < y + h) {
            if (memcmp(ra, rb, (size_t)x * 4) ||
                memcmp(ra + (x + w) * 4, rb + (x + w) * 4, (size_t)(width - x - w) * 4))
                return 0;
        } else if (memcmp(ra, rb, (size_t)width * 4)) {
            return 0;
        }
    }
    return 1;
}

/* The invariant that makes the band trick correct: drawn at their most
 * extreme, the eyes stay inside the eye band and the mouth inside the
 * mouth band of the face rectangle. */
static void test_face_layer_stays_in_bands(void **state)
{
    (void)state;
    const int sizes[][2] = { { 1280, 720 }, { 720, 1280 }, { 640, 360 }, { 1920, 1080 },
                             { 160, 90 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tc_vector_geom g;
        tc_vector_layout(&g, sizes[i][0], sizes[i][1]);
        assert_true(g.ry < g.split && g.split < g.ry + g.rh && g.split % 4 == 0);
        cairo_surface_t *base = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, g.width, g.height);
        cairo_surface_t *work = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, g.width, g.height);
        cairo_t *cr = cairo_create(base);
        tc_vector_draw_base(cr, &g, &tc_vector_palette_default);
        cairo_destroy(cr);
        cairo_surface_flush(base);
        size_t bytes = (size_t)cairo_image_surface_get_stride(base) * g.height;
        for (int bits = 0; bits < 32 * 3; bits++) {
            tc_vector_face f = { bits & 1, (bits >> 1) & 1, (bits >> 2) & 1, (bits >> 3) & 1,
                                 (bits >> 4) & 1, (bits >> 5) * 0.5 };
            for (int part = 0; part < 2; part++) {
                cairo_surface_flush(work);
                memcpy(cairo_image_surface_get_data(work), cairo_image_surface_get_data(base),
                       bytes);
                cairo_surface_mark_dirty(work);
                cr = cairo_create(work);
                if (part == 0) tc_vector_draw_eyes(cr, &g, &tc_vector_palette_default, &f);
                else tc_vector_draw_mouth(cr, &g, &tc_vector_palette_default, &f);
                cairo_destroy(cr);
                int y0 = part ? g.split : g.ry, y1 = part ? g.ry + g.rh : g.split;
                assert_true(surfaces_same_outside(base, work, g.rx, y0, g.rw, y1 - y0));
            }
        }
        cairo_surface_destroy(base);
        cairo_surface_destroy(work);
    }
}

/* Breathing moves the body only inside the body band, below the face
 * rectangle, and at both extremes it really moves. */
static void test_breathing_stays_in_body_band(void **state)
{
    (void)state;
    const int sizes[][2] = { { 1280, 720 }, { 720, 1280 }, { 640, 360 }, { 1920, 1080 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tc_vector_geom g;
        tc_vector_layout(&g, sizes[i][0], sizes[i][1]);
        assert_true(g.by >= g.ry + g.rh && g.by + g.bh <= g.height && g.bx % 32 == 0);
        cairo_surface_t *s[3];
        for (int k = 0; k < 3; k++) {
            s[k] = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, g.width, g.height);
            cairo_t *cr = cairo_create(s[k]);
            tc_vector_draw_base_lifted(cr, &g, &tc_vector_palette_default, (k - 1) * TC_VECTOR_BREATH_MAX);
            cairo_destroy(cr);
            cairo_surface_flush(s[k]);
        }
        for (int k = 0; k < 3; k += 2) {
            assert_true(surfaces_same_outside(s[1], s[k], g.bx, g.by, g.bw, g.bh));
            assert_false(surfaces_same_outside(s[1], s[k], 0, 0, 0, 0)); /* it moved */
        }
        for (int k = 0; k < 3; k++) cairo_surface_destroy(s[k]);
    }
}

/* Rendered with breathing: idle frames over a breath differ from the base
 * only in the body band (and the eye band, for blinks); the body goes up
 * and down, by at most TC_VECTOR_BREATH_MAX units; one seed, one rhythm. */
static void test_breathing_frames(void **state)
{
    (void)state;
    const int W = 1280, H = 720;
    tc_vector_geom g;
    tc_vector_layout(&g, W, H);
    void *a = open_breathing(W, H, 5), *b = open_breathing(W, H, 5), *still = open_vec(W, H, 5);
    AVFrame *base = render(still, 0, NULL, NULL);
    int moved = 0, changed_frames = 0;
    for (int64_t n = 0; n < 150; n += 3) {
        int changed;
        AVFrame *fa = render(a, n, NULL, &changed), *fb = render(b, n, NULL, NULL);
        changed_frames += changed;
        assert_true(same_frame(fa, fb)); /* deterministic */
        /* outside the body band and the face rectangle: the base, byte for byte */
        for (int p = 0; p < 3; p++) {
            int sh = p ? 1 : 0;
            for (int y = 0; y < (H >> sh); y++)
                for (int x = 0; x < (W >> sh); x++) {
                    int X = x << sh, Y = y << sh;
                    int in_face = X >= g.rx && X < g.rx + g.rw && Y >= g.ry && Y < g.ry + g.rh;
                    int in_body = X >= g.bx && X < g.bx + g.bw && Y >= g.by && Y < g.by + g.bh;
                    if (!in_face && !in_body && px(fa, p, x, y) != px(base, p, x, y))
                        fail_msg("frame %lld differs outside the bands at %d,%d", (long long)n, X, Y);
                }
        }
        if (diff_y(fa, base, g.bx, g.by, g.bw, g.bh) > 0) moved++;
        av_frame_free(&fa);
        av_frame_free(&fb);
    }
    assert_true(moved >= 30);         /* it breathes most of the time */
    assert_true(changed_frames >= 8); /* a breath has ~8 steps; blinks add some */
    /* the body's top edge (the shoulder line at the centre) moves by a few
     * pixels at most: find it in the luma column x = centre + 20 u */
    int col = (int)(g.cx + 20 * g.u), lo = H, hi = 0;
    for (int64_t n = 0; n < 130; n++) {
        AVFrame *f = render(a, n, NULL, NULL);
        int edge = -1;
        for (int y = g.by; y < H - 1 && edge < 0; y++)
            if (abs(px(f, 0, col, y + 1) - px(f, 0, col, y)) > 25) edge = y;
        assert_true(edge > 0);
        if (edge < lo) lo = edge;
        if (edge > hi) hi = edge;
        av_frame_free(&f);
    }
    assert_true(hi - lo >= 2);                                   /* visible */
    assert_true(hi - lo <= (int)ceil(2 * TC_VECTOR_BREATH_MAX * g.u) + 1); /* subtle */
    av_frame_free(&base);
    close_vec(a);
    close_vec(b);
    close_vec(still);
}

/* Frames updated band by band, in recycled and fresh pool frames, are
 * byte for byte what a new instance draws for the same state. */
/* The idle picture repeats exactly after the idle period (what lets the
 * engine replay a pre-encoded loop): a breathing face after its breath
 * (126 frames at 30 fps), a still one every frame; and it does not repeat
 * earlier for a breathing face. */
static void test_idle_period(void **state)
{
    (void)state;
    void *a = open_breathing(1280, 720, 3), *s = open_vec(1280, 720, 3);
    assert_int_equal(tc_face_vector.idle_period(a), 126);
    assert_int_equal(tc_face_vector.idle_period(s), 1);
    int differs_within = 0;
    for (int64_t n = 0; n < 126; n += 9) {
        if (tc_face_blink(3, n, 30, 1) != 0 || tc_face_blink(3, n + 126, 30, 1) != 0) continue;
        AVFrame *x = render(a, n, NULL, NULL), *y = render(a, n + 126, NULL, NULL), *z = render(a, n + 63, NULL, NULL);
        assert_true(same_frame(x, y));
        differs_within |= !same_frame(x, z);
        av_frame_free(&x);
        av_frame_free(&y);
        av_frame_free(&z);
    }
    assert_true(differs_within);
    close_vec(a);
    close_vec(s);
}

static void test_partial_updates_match_full_draws(void **state)
{
    (void)state;
    /* mouths one parameter apart, and frames with the eyes open and shutting */
    const tc_mouth mouths[] = { { 0 }, { .open = 0.5f }, { .width = 1 }, { .round = 1 },
                                { .press = 1 }, { .teeth = 1 }, { .open = 0.5f, .round = 1 } };
    int64_t frames[3] = { 0, -1, -1 };
    void *p = open_vec(320, 180, 5);
    int changed;
    AVFrame *ref = render(p, 0, NULL, &changed);
    for (int64_t n = 1; n < 30 * 6 && frames[2] < 0; n++) {
        AVFrame *f = render(p, n, NULL, &changed);
        if (changed && !same_frame(ref, f)) frames[frames[1] < 0 ? 1 : 2] = n;
        av_frame_free(&f);
    }
    assert_true(frames[2] > 0);
    av_frame_free(&ref);

    AVFrame *held[3] = { NULL };
    unsigned rnd = 1;
    for (int i = 0; i < 80; i++) {
        rnd = rnd * 1103515245u + 12345u;
        const tc_mouth *m = &mouths[(rnd >> 8) % 7];
        int64_t n = frames[(rnd >> 16) % 3];
        AVFrame *f = render(p, n, m, &changed);
        void *q = open_vec(320, 180, 5);
        AVFrame *want = render(q, n, m, &changed);
        assert_true(same_frame(f, want));
        av_frame_free(&want);
        close_vec(q);
        av_frame_free(&held[i % 3]); /* keep a few held, so frames rotate */
        held[i % 3] = f;
    }
    for (int i = 0; i < 3; i++) av_frame_free(&held[i]);
    close_vec(p);
}

static void test_unchanged_face_is_free(void **state)
{
    (void)state;
    void *p = open_vec(1280, 720, 7);
    tc_mouth m = { 0.5f, 0.2f, 0, 0, 0 }, zero = { 0 };
    int changed;
    AVFrame *a = render(p, 0, &m, &changed), *b;
    assert_int_equal(changed, 1);
    b = render(p, 1, &m, &changed);
    assert_int_equal(changed, 0);
    assert_ptr_equal(a->data[0], b->data[0]);
    av_frame_free(&b);
    /* a change within the quantum (1/64) is no change */
    tc_mouth near = { 0.5f + 0.002f, 0.2f, 0, 0, 0 };
    b = render(p, 2, &near, &changed);
    assert_int_equal(changed, 0);
    av_frame_free(&b);
    /* NULL and all-zero are the same closed mouth */
    av_frame_free(&a);
    a = render(p, 3, NULL, &changed);
    assert_int_equal(changed, 1);
    b = render(p, 4, &zero, &changed);
    assert_int_equal(changed, 0);
    assert_ptr_equal(a->data[0], b->data[0]);
    av_frame_free(&a);
    av_frame_free(&b);

    /* steady state: frames released at once -> the pool does not grow */
    uint8_t *seen[4] = { NULL };
    int n_seen = 0;
    for (int n = 0; n < 200; n++) {
        tc_mouth alt = { (float)(n % 7 + 1) / 8, 0, 0, 0, 0 };
        a = render(p, 5, &alt, &changed);
        assert_int_equal(changed, 1);
        int k = 0;
        while (k < n_seen && seen[k] != a->data[0]) k++;
        if (k == n_seen) {
            assert_true(n_seen < 4);
            seen[n_seen++] = a->data[0];
        }
        av_frame_free(&a);
    }
    assert_true(n_seen <= 2);
    close_vec(p);
}

static void test_held_frames_are_never_overwritten(void **state)
{
    (void)state;
    void *p = open_vec(640, 360, 3);
    AVFrame *held[64], *copy[64];
    int changed, n_held = 0, r = TC_OK;
    for (int i = 0; i < 64; i++) {
        tc_mouth m = { (i & 1) ? 1.0f : 0.0f, (float)i / 64, 0, 0, 0 };
        AVFrame *f = av_frame_alloc();
        r = tc_face_vector.render(p, 0, &m, f, &changed);
        if (r < 0) {
            av_frame_free(&f);
            break;
        }
        assert_int_equal(changed, 1);
        held[n_held] = f;
        copy[n_held] = av_frame_clone(f);
        assert_int_equal(av_frame_make_writable(copy[n_held]), 0); /* a deep copy */
        n_held++;
    }
    /* the pool is capped: with every frame held, render says "not now" */
    assert_int_equal(r, TC_ERR_AGAIN);
    assert_true(n_held >= 8 && n_held < 64);
    for (int i = 0; i < n_held; i++) assert_true(same_frame(held[i], copy[i]));
    for (int i = 0; i < n_held; i++) {
        av_frame_free(&held[i]);
        av_frame_free(&copy[i]);
    }
    /* released: it renders again, a new state into a recycled frame */
    tc_mouth m = { 0.3f, 0, 0, 0, 0 };
    AVFrame *f = render(p, 1, &m, &changed);
    assert_int_equal(changed, 1);
    av_frame_free(&f);
    close_vec(p);
}

/* Frames made while everything was held (the encoder fell behind) are freed
 * again once they have sat unused for a while: a stall leaves no lasting
 * memory. Seen in the allocator's count of bytes in use. */
#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* in the ASan runtime (gcc ships no header) */
static size_t in_use(void)
{
    return __sanitizer_get_current_allocated_bytes(); /* ASan's allocator replaces malloc's counts */
}
#else
static size_t in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
#endif

static void test_pool_shrinks_after_a_stall(void **state)
{
    (void)state;
    void *p = open_vec(1280, 720, 3);
    int changed;
    size_t before = in_use();
    AVFrame *held[10];
    for (int i = 0; i < 10; i++) {
        tc_mouth m = { (float)i / 10, 0, 0, 0, 0 };
        held[i] = render(p, 0, &m, &changed);
    }
    size_t grown = in_use();
    for (int i = 0; i < 10; i++) av_frame_free(&held[i]);
    size_t frame = 1280 * 720 * 3 / 2;
    /* 400 draws with one frame held at a time (the mouth changing each frame) */
    for (int i = 0; i < 400; i++) {
        tc_mouth m = { (float)(i % 7) / 7, 0, 0, 0, 0 };
        AVFrame *f = render(p, 0, &m, &changed);
        av_frame_free(&f);
    }
    size_t after = in_use();
    print_message("in use: %zu KiB at start, %zu KiB with 10 frames held, %zu KiB 400 draws later\n", before >> 10,
                  grown >> 10, after >> 10);
    assert_true(grown >= before + 7 * frame); /* the pool grew by about 8 frames */
    assert_true(after <= before + 2 * frame); /* and shrank back */
    close_vec(p);
}

/* Frames (of `frames`) at which the eyes start to close, and the count of
 * frames in which they are at least half shut. Checks on the way that a
 * blink changes nothing but the eyes. */
static int blinks(uint32_t seed, int fps, int frames, int *starts, int max_starts, int *n_starts)
{
    int w = 640, h = 360;
    tc_vector_geom g;
    tc_vector_layout(&g, w, h);
    void *p = open_fmt(w, h, AV_PIX_FMT_YUV420P, fps, seed);
    int changed, shut = 0, was = 0;
    AVFrame *ref = render(p, 0, NULL, &changed);
    int ex = (int)(g.cx - g.eye_dx - 4 * g.u), ey = (int)(g.eye_y - 3 * g.u);
    int ew = (int)(8 * g.u), eh = (int)(5 * g.u);
    int band0 = ((int)(g.eye_y - 4.5 * g.u)) & ~1, band1 = ((int)(g.eye_y + 3.5 * g.u) + 1) & ~1;
    *n_starts = 0;
    for (int n = 1; n < frames; n++) {
        AVFrame *f = render(p, n, NULL, &changed);
        int diff = !same_frame(ref, f);
        if (diff) { /* only the eye band moved */
            assert_true(same_outside(ref, f, 0, band0, w, band1 - band0));
            if (!was && *n_starts < max_starts) starts[(*n_starts)++] = n;
        }
        if (diff_y(ref, f, ex, ey, ew, eh) > (long)ew * eh * 25) shut++;
        was = diff;
        av_frame_free(&f);
    }
    av_frame_free(&ref);
    close_vec(p);
    return shut;
}

static void test_blinks_are_timely_and_deterministic(void **state)
{
    (void)state;
    int a[16], b[16], c[16], na, nb, nc;
    int shut_a = blinks(42, 30, 30 * 13, a, 16, &na);
    int shut_b = blinks(42, 30, 30 * 13, b, 16, &nb);
    int shut_c = blinks(43, 30, 30 * 13, c, 16, &nc);
    assert_true(na >= 1 && a[0] <= 6 * 30); /* a blink within the first 6 s */
    /* 13 s at one blink per 2–6 s */
    assert_true(na >= 2 && na <= 7);
    for (int i = 1; i < na; i++)
        assert_true(a[i] - a[i - 1] >= 2 * 30 - 1 && a[i] - a[i - 1] <= 6 * 30 + 1);
    assert_true(shut_a >= na); /* every blink shuts the eyes for a frame or more */
    assert_true(shut_a <= na * 10);
    /* same seed, same blinks; another seed, another rhythm */
    assert_int_equal(shut_a, shut_b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, sizeof a[0] * (size_t)na);
    assert_true(na != nc || memcmp(a, c, sizeof a[0] * (size_t)na) || shut_a != shut_c);
    /* the schedule is in seconds: at 60 fps the first blink is at twice the frame */
    int d[16], nd;
    blinks(42, 60, 60 * 6, d, 16, &nd);
    assert_true(nd >= 1);
    assert_true(abs(d[0] - 2 * a[0]) <= 2);
}

static uint64_t hash_frame(const AVFrame *f)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the luma */
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) h = (h ^ px(f, 0, x, y)) * 1099511628211ULL;
    return h;
}

/* A pure function of (seed, n, fps): another instance rendering the same
 * frames backwards, after a jump far ahead, shows the same eyes. */
static void test_blink_is_pure(void **state)
{
    (void)state;
    enum { N = 30 * 10 };
    static uint64_t fwd[N];
    void *p = open_vec(320, 180, 9), *q = open_vec(320, 180, 9);
    int changed;
    for (int n = 0; n < N; n++) {
        AVFrame *f = render(p, n, NULL, &changed);
        fwd[n] = hash_frame(f);
        av_frame_free(&f);
    }
    AVFrame *f = render(q, 30LL * 3600 * 24 * 365, NULL, &changed); /* a year in */
    av_frame_free(&f);
    int distinct = 0;
    for (int n = N - 1; n >= 0; n--) {
        f = render(q, n, NULL, &changed);
        assert_true(hash_frame(f) == fwd[n]);
        distinct += n > 0 && fwd[n] != fwd[n - 1];
        av_frame_free(&f);
    }
    assert_true(distinct > 0); /* there was a blink to compare */
    close_vec(p);
    close_vec(q);
}

static void test_out_of_range_mouth_is_clamped(void **state)
{
    (void)state;
    void *p = open_vec(640, 360, 1);
    tc_mouth big = { 5, -1, 7, -3, 100 }, one = { 1, 0, 1, 0, 1 };
    tc_mouth nan_m = { NAN, NAN, NAN, NAN, NAN }, inf_m = { INFINITY, -INFINITY, 0, 0, 0 };
    int changed;
    AVFrame *a = render(p, 0, &big, &changed), *b = render(p, 0, &one, &changed);
    assert_int_equal(changed, 0); /* the same state after clamping */
    assert_true(same_frame(a, b));
    av_frame_free(&a);
    av_frame_free(&b);
    a = render(p, 0, NULL, &changed);
    b = render(p, 0, &nan_m, &changed);
    assert_int_equal(changed, 0); /* NaN counts as 0 */
    av_frame_free(&a);
    av_frame_free(&b);
    a = render(p, 0, &inf_m, &changed);
    assert_int_equal(changed, 1);
    av_frame_free(&a);
    close_vec(p);
}

static void test_other_formats_and_bad_configs(void **state)
{
    (void)state;
    const enum AVPixelFormat ok[] = { AV_PIX_FMT_NV12, AV_PIX_FMT_YUV444P, AV_PIX_FMT_RGB24,
                                      AV_PIX_FMT_YUVJ420P };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        void *p = open_fmt(640, 360, ok[i], 25, 1);
        tc_mouth m = { 1, 0, 0, 0, 0 };
        int changed;
        AVFrame *a = render(p, 0, NULL, &changed), *b = render(p, 0, &m, &changed);
        assert_int_equal(a->format, ok[i]);
        assert_int_equal(changed, 1);
        assert_ptr_not_equal(a->data[0], b->data[0]);
        av_frame_free(&a);
        av_frame_free(&b);
        close_vec(p);
    }
    struct {
        int w, h, fps;
        enum AVPixelFormat fmt;
        int want;
    } bad[] = {
        { 641, 360, 30, AV_PIX_FMT_YUV420P, TC_ERR_INVAL },
        { 640, 8, 30, AV_PIX_FMT_YUV420P, TC_ERR_INVAL },
        { 640, 360, 0, AV_PIX_FMT_YUV420P, TC_ERR_INVAL },
        { 640, 360, 30, AV_PIX_FMT_NONE, TC_ERR_UNSUPPORTED },
        { 640, 360, 30, AV_PIX_FMT_VAAPI, TC_ERR_UNSUPPORTED },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_face_config c = { .width = bad[i].w, .height = bad[i].h, .pix_fmt = bad[i].fmt,
                             .fps_num = bad[i].fps, .fps_den = 1, .seed = 1 };
        void *p = calloc(1, tc_face_vector.priv_size);
        assert_int_equal(tc_face_vector.init(p, &c), bad[i].want);
        close_vec(p); /* uninit copes with a failed init */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_mouth_opens_only_inside_face),
        cmocka_unit_test(test_face_layer_stays_in_bands),
        cmocka_unit_test(test_breathing_stays_in_body_band),
        cmocka_unit_test(test_breathing_frames),
        cmocka_unit_test(test_idle_period),
        cmocka_unit_test(test_partial_updates_match_full_draws),
        cmocka_unit_test(test_unchanged_face_is_free),
        cmocka_unit_test(test_held_frames_are_never_overwritten),
        cmocka_unit_test(test_pool_shrinks_after_a_stall),
        cmocka_unit_test(test_blinks_are_timely_and_deterministic),
        cmocka_unit_test(test_blink_is_pure),
        cmocka_unit_test(test_out_of_range_mouth_is_clamped),
        cmocka_unit_test(test_other_formats_and_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
