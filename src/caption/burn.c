/* burn.c — captions drawn into the picture, for outputs that cannot carry
 * CEA-608 (or players that ignore it).
 *
 * The same words the 608 track gets, with their own UTF-8 (no 608 limits),
 * wrapped into 2-3 rows of a bottom band: a darkened strip with white text,
 * readable on any avatar. The text is drawn with cairo into a preallocated
 * A8-like ARGB surface only when it changes; each frame the band is blended
 * into the Y and chroma planes of a copy of the picture (the face's frames
 * are shared references, never drawn on). Nothing allocates per frame
 * except libav's own frame buffers. */
#include "caption/caption.h"
#include "core/err.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <libavutil/pixdesc.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS  3
#define ROW_BYTES 256

struct tc_cap_burn {
    int w, h, rows, cols;
    enum AVPixelFormat fmt;
    int cw, ch, nv12; /* chroma subsampling shifts; interleaved UV */
    int band_y, band_h, line_h;
    char text[MAX_ROWS][ROW_BYTES]; /* rows, the last is the one being filled */
    int row_chars[MAX_ROWS];
    int shown, dirty, quiet, hold;
    cairo_surface_t *surf;
    cairo_t *cr;
    unsigned char *alpha; /* band_h x w text coverage, 0-255 */
    int64_t redraws;
};

int tc_cap_burn_create(tc_cap_burn **out, int width, int height, enum AVPixelFormat fmt, int rows,
                       int hold_frames)
{
    *out = NULL;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    if (!d || rows < 2 || rows > MAX_ROWS || width < 64 || height < 64 || hold_frames < 1 ||
        (fmt != AV_PIX_FMT_YUV420P && fmt != AV_PIX_FMT_YUVJ420P && fmt != AV_PIX_FMT_YUV422P &&
         fmt != AV_PIX_FMT_YUV444P && fmt != AV_PIX_FMT_NV12))
        return TC_ERR_INVAL;
    tc_cap_burn *b = calloc(1, sizeof *b);
    if (!b) return TC_ERR_NOMEM;
    b->w = width;
    b->h = height;
    b->fmt = fmt;
    b->rows = rows;
    b->hold = hold_frames;
    b->cw = d->log2_chroma_w;
    b->ch = d->log2_chroma_h;
    b->nv12 = fmt == AV_PIX_FMT_NV12;
    b->line_h = height / 14 & ~1;
    b->band_h = (b->line_h * rows + b->line_h / 2) & ~1;
    b->band_y = (height - b->band_h - height / 30) & ~1;
    b->cols = 42; /* a readable line; the font is sized to fit it */
    b->surf = cairo_image_surface_create(CAIRO_FORMAT_A8, width, b->band_h);
    b->alpha = calloc((size_t)width * (size_t)b->band_h, 1);
    if (cairo_surface_status(b->surf) != CAIRO_STATUS_SUCCESS || !b->alpha) goto fail;
    b->cr = cairo_create(b->surf);
    if (cairo_status(b->cr) != CAIRO_STATUS_SUCCESS) goto fail;
    cairo_select_font_face(b->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    double size = b->line_h * 0.72;
    if (size * 0.55 * b->cols > width * 0.94) size = width * 0.94 / (0.55 * b->cols);
    cairo_set_font_size(b->cr, size);
    *out = b;
    return TC_OK;
fail:
    tc_cap_burn_destroy(b);
    return TC_ERR_NOMEM;
}

void tc_cap_burn_destroy(tc_cap_burn *b)
{
    if (!b) return;
    if (b->cr) cairo_destroy(b->cr);
    if (b->surf) cairo_surface_destroy(b->surf);
    free(b->alpha);
    free(b);
}

void tc_cap_burn_word(tc_cap_burn *b, const char *utf8, int len)
{
    if (len <= 0) return;
    if (len > ROW_BYTES / 2) { /* cut on a character boundary: cairo refuses broken UTF-8 */
        len = ROW_BYTES / 2;
        while (len > 0 && ((unsigned char)utf8[len] & 0xC0) == 0x80)
            len--;
    }
    int last = b->rows - 1, wc = tc_cap_utf8_chars(utf8, len);
    int used = (int)strlen(b->text[last]);
    if (!b->shown) {
        memset(b->text, 0, sizeof b->text);
        memset(b->row_chars, 0, sizeof b->row_chars);
        used = 0;
    } else if (used > 0 && (b->row_chars[last] + 1 + wc > b->cols || used + 1 + len >= ROW_BYTES)) {
        memmove(b->text[0], b->text[1], sizeof b->text[0] * (size_t)last); /* roll up */
        memmove(b->row_chars, b->row_chars + 1, sizeof b->row_chars[0] * (size_t)last);
        b->text[last][0] = 0;
        b->row_chars[last] = 0;
        used = 0;
    }
    if (used > 0) {
        b->text[last][used++] = ' ';
        b->row_chars[last]++;
    }
    memcpy(b->text[last] + used, utf8, (size_t)len);
    b->text[last][used + len] = 0;
    b->row_chars[last] += wc;
    b->shown = 1;
    b->dirty = 1;
}

void tc_cap_burn_clear(tc_cap_burn *b)
{
    if (b->shown) b->dirty = 1;
    b->shown = 0;
}

int tc_cap_burn_tick(tc_cap_burn *b, int speaking)
{
    b->quiet = speaking ? 0 : b->quiet + 1;
    if (b->shown && b->quiet >= b->hold) tc_cap_burn_clear(b);
    return b->shown;
}

/* Draw the rows into the coverage map (only when the text changed). */
static void redraw(tc_cap_burn *b)
{
    cairo_t *cr = b->cr;
    cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    cairo_set_source_rgba(cr, 1, 1, 1, 1);
    for (int r = 0; r < b->rows; r++) {
        if (!b->text[r][0]) continue;
        cairo_text_extents_t ex;
        cairo_text_extents(cr, b->text[r], &ex);
        double x = (b->w - ex.x_advance) / 2;
        cairo_move_to(cr, x > 4 ? x : 4, b->line_h / 4.0 + b->line_h * (r + 0.78));
        cairo_show_text(cr, b->text[r]);
    }
    cairo_surface_flush(b->surf);
    const unsigned char *src = cairo_image_surface_get_data(b->surf);
    int stride = cairo_image_surface_get_stride(b->surf);
    for (int y = 0; y < b->band_h; y++)
        memcpy(b->alpha + (size_t)y * (size_t)b->w, src + (size_t)y * (size_t)stride, (size_t)b->w);
    b->dirty = 0;
    b->redraws++;
}

int tc_cap_burn_draw(tc_cap_burn *b, AVFrame *f)
{
    if (!b->shown) return 0;
    if (f->width != b->w || f->height != b->h || f->format != b->fmt) return TC_ERR_INVAL;
    if (b->dirty) redraw(b);
    for (int y = 0; y < b->band_h; y++) {
        uint8_t *Y = f->data[0] + (size_t)(b->band_y + y) * (size_t)f->linesize[0];
        const unsigned char *a = b->alpha + (size_t)y * (size_t)b->w;
        for (int x = 0; x < b->w; x++) {
            int v = 16 + (Y[x] - 16) * 2 / 5;             /* the band: 40 % of the picture */
            Y[x] = (uint8_t)(v + (235 - v) * a[x] / 255); /* the text: white */
        }
    }
    int cy0 = b->band_y >> b->ch, cy1 = (b->band_y + b->band_h) >> b->ch, cwid = b->w >> b->cw;
    for (int y = cy0; y < cy1; y++) {
        if (b->nv12) {
            uint8_t *uv = f->data[1] + (size_t)y * (size_t)f->linesize[1];
            for (int x = 0; x < 2 * cwid; x++)
                uv[x] = (uint8_t)(128 + (uv[x] - 128) * 2 / 5);
        } else {
            for (int p = 1; p <= 2; p++) {
                uint8_t *c = f->data[p] + (size_t)y * (size_t)f->linesize[p];
                for (int x = 0; x < cwid; x++)
                    c[x] = (uint8_t)(128 + (c[x] - 128) * 2 / 5);
            }
        }
    }
    return 1;
}

int tc_cap_burn_busy(const tc_cap_burn *b)
{
    return b->shown || b->dirty;
}

int64_t tc_cap_burn_redraws(const tc_cap_burn *b)
{
    return b->redraws;
}

void tc_cap_release_fonts(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
