/* cues.c — WebVTT and SRT sidecar subtitles built from timed words.
 *
 * A cue holds up to `lines` lines of up to `line_chars` characters (UTF-8
 * characters, words never split unless longer than a line). It starts
 * when its first word is spoken and ends at its last word's end plus a
 * short hold, never past the next cue's start. Files are written to a
 * temporary name and renamed, so a reader sees the old file or the new
 * one, never half of one. */
#include "caption/caption.h"
#include "core/err.h"
#include "core/file.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cue {
    double start, end, last_end;
    double limit; /* cut here (an interrupt); 0 = none */
    char *text;
    int len, cap;
    int lines, line_chars;
} cue;

struct tc_cap_cues {
    int line_chars, max_lines;
    cue *cues;
    int n, cap;
};

int tc_cap_cues_create(tc_cap_cues **out, int line_chars, int lines)
{
    *out = NULL;
    if (line_chars < 8 || lines < 1) return TC_ERR_INVAL;
    tc_cap_cues *c = calloc(1, sizeof *c);
    if (!c) return TC_ERR_NOMEM;
    c->line_chars = line_chars;
    c->max_lines = lines;
    *out = c;
    return TC_OK;
}

void tc_cap_cues_destroy(tc_cap_cues *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++)
        free(c->cues[i].text);
    free(c->cues);
    free(c);
}

static int cue_append(cue *q, const char *s, int len)
{
    if (q->len + len + 1 > q->cap) {
        int nc = (q->len + len + 1) * 2;
        char *t = realloc(q->text, (size_t)nc);
        if (!t) return TC_ERR_NOMEM;
        q->text = t;
        q->cap = nc;
    }
    memcpy(q->text + q->len, s, (size_t)len);
    q->len += len;
    q->text[q->len] = 0;
    return TC_OK;
}

int tc_cap_cues_add(tc_cap_cues *c, double start, double end, const char *word, int len, int brk)
{
    if (len <= 0) return TC_OK;
    int wc = tc_cap_utf8_chars(word, len);
    cue *q = c->n ? &c->cues[c->n - 1] : NULL;
    int fits_line = q && q->line_chars + 1 + wc <= c->line_chars;
    int new_line = q && !fits_line && q->lines < c->max_lines;
    if (!q || brk || start - q->last_end > 1.0 || (!fits_line && !new_line)) {
        if (c->n == c->cap) {
            int nc = c->cap * 2 + 16;
            cue *t = realloc(c->cues, (size_t)nc * sizeof *t);
            if (!t) return TC_ERR_NOMEM;
            c->cues = t;
            c->cap = nc;
        }
        q = &c->cues[c->n++];
        memset(q, 0, sizeof *q);
        q->start = start;
        q->lines = 1;
    } else if (new_line) {
        if (cue_append(q, "\n", 1) < 0) return TC_ERR_NOMEM;
        q->lines++;
        q->line_chars = 0;
    } else if (cue_append(q, " ", 1) < 0) {
        return TC_ERR_NOMEM;
    } else {
        q->line_chars++;
    }
    if (cue_append(q, word, len) < 0) return TC_ERR_NOMEM;
    q->line_chars += wc;
    q->last_end = end > start ? end : start;
    q->end = q->last_end;
    return TC_OK;
}

void tc_cap_cues_finish(tc_cap_cues *c, double hold)
{
    for (int i = 0; i < c->n; i++) {
        cue *q = &c->cues[i];
        q->end = q->last_end + hold;
        if (q->limit > 0 && q->end > q->limit) q->end = q->limit;
        if (i + 1 < c->n && q->end > c->cues[i + 1].start) q->end = c->cues[i + 1].start;
        if (q->end <= q->start) q->end = q->start + 0.001;
    }
}

int tc_cap_cues_count(const tc_cap_cues *c)
{
    return c->n;
}

void tc_cap_cues_cut(tc_cap_cues *c, double t)
{
    while (c->n > 0 && c->cues[c->n - 1].start >= t)
        free(c->cues[--c->n].text);
    for (int i = 0; i < c->n; i++)
        if (c->cues[i].limit == 0 || c->cues[i].limit > t) c->cues[i].limit = t;
}

void tc_cap_cues_keep_last(tc_cap_cues *c, int n)
{
    if (n < 0 || c->n <= n) return;
    int drop = c->n - n;
    for (int i = 0; i < drop; i++)
        free(c->cues[i].text);
    memmove(c->cues, c->cues + drop, (size_t)n * sizeof *c->cues);
    c->n = n;
}

const char *tc_cap_cues_text(const tc_cap_cues *c, int i, double *start, double *end)
{
    if (i < 0 || i >= c->n) return NULL;
    if (start) *start = c->cues[i].start;
    if (end) *end = c->cues[i].end;
    return c->cues[i].text ? c->cues[i].text : "";
}

static void put_time(FILE *f, double t, char frac_sep)
{
    long long ms = (long long)(t * 1000 + 0.5);
    if (ms < 0) ms = 0;
    fprintf(f, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
            frac_sep, ms % 1000);
}

int tc_cap_cues_write(const tc_cap_cues *c, FILE *f, tc_cap_format fmt)
{
    if (fmt == TC_CAP_VTT) fputs("WEBVTT\n\n", f);
    for (int i = 0; i < c->n; i++) {
        const cue *q = &c->cues[i];
        if (fmt == TC_CAP_SRT) fprintf(f, "%d\n", i + 1);
        put_time(f, q->start, fmt == TC_CAP_VTT ? '.' : ',');
        fputs(" --> ", f);
        put_time(f, q->end, fmt == TC_CAP_VTT ? '.' : ',');
        fputc('\n', f);
        for (const char *s = q->text ? q->text : ""; *s; s++) {
            /* VTT cue text is markup: & < > must be escaped; SRT is taken
             * as plain text by most players */
            if (fmt == TC_CAP_VTT && *s == '&')
                fputs("&amp;", f);
            else if (fmt == TC_CAP_VTT && *s == '<')
                fputs("&lt;", f);
            else if (fmt == TC_CAP_VTT && *s == '>')
                fputs("&gt;", f);
            else
                fputc(*s, f);
        }
        fputs("\n\n", f);
    }
    return ferror(f) ? TC_ERR_IO : TC_OK;
}

int tc_cap_cues_render(const tc_cap_cues *c, tc_cap_format fmt, char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    FILE *m = open_memstream(data, n);
    int r = m ? tc_cap_cues_write(c, m, fmt) : TC_ERR_NOMEM;
    if (m && fclose(m) != 0 && r == TC_OK) r = TC_ERR_NOMEM;
    if (r < 0) {
        free(*data);
        *data = NULL;
    }
    return r;
}

int tc_cap_cues_save(const tc_cap_cues *c, const char *path, tc_cap_format fmt)
{
    char *data;
    size_t n;
    int r = tc_cap_cues_render(c, fmt, &data, &n);
    if (r == TC_OK) r = tc_file_replace(path, data, n);
    free(data);
    return r;
}

int tc_cap_format_from_path(const char *path, tc_cap_format *fmt)
{
    size_t pl = strlen(path);
    if (pl > 4 && !strcasecmp(path + pl - 4, ".vtt"))
        *fmt = TC_CAP_VTT;
    else if (pl > 4 && !strcasecmp(path + pl - 4, ".srt"))
        *fmt = TC_CAP_SRT;
    else
        return TC_ERR_INVAL;
    return TC_OK;
}
