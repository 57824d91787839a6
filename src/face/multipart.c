/* multipart.c — a streaming parser of multipart/x-mixed-replace (RFC 2046
 * framing), the body of a provider's generate answer: frames arrive in
 * chunks cut anywhere, and each part is handed on as soon as it is whole.
 *
 * Invariants: buf[0..len) holds the bytes not consumed yet; nothing is kept
 * longer than max_part plus one header block, so a peer that never sends a
 * delimiter costs bounded memory and ends in TC_ERR_FORMAT. */
#include "face/remote.h"
#include "core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ST_START, ST_PREAMBLE, ST_AFTER_DELIM, ST_HEADERS, ST_BODY, ST_DONE, ST_DEAD, ST_DELIM };

#define MAX_HEADERS 8192

int tc_face_mp_init(tc_face_mp *p, const char *boundary, size_t max_part)
{
    memset(p, 0, sizeof *p);
    size_t bl = boundary ? strlen(boundary) : 0;
    if (bl < 1 || bl > 70 || max_part < 1) return TC_ERR_INVAL;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary, bl);
    p->delim_len = bl + 4;
    p->max_part = max_part;
    p->body_len = -1;
    p->state = ST_START;
    return TC_OK;
}

void tc_face_mp_free(tc_face_mp *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

int tc_face_mp_done(const tc_face_mp *p)
{
    return p->state == ST_DONE;
}

static const uint8_t *find(const uint8_t *h, size_t hl, const char *n, size_t nl)
{
    if (hl < nl) return NULL;
    return memmem(h, hl, n, nl);
}

/* digits only, at most 15 of them */
static int parse_count(const char *v, int64_t *out)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int64_t x = 0;
    int nd = 0;
    for (; isdigit((unsigned char)*v); v++, nd++) {
        if (nd >= 15) return TC_ERR_FORMAT;
        x = x * 10 + (*v - '0');
    }
    while (*v == ' ' || *v == '\t')
        v++;
    if (!nd || *v) return TC_ERR_FORMAT;
    *out = x;
    return TC_OK;
}

/* The header block (without its final CRLFCRLF), one "Name: value" a line. */
static int parse_headers(tc_face_mp *p, char *h)
{
    p->part.content_type[0] = '\0';
    p->part.index = -1;
    p->body_len = -1;
    for (char *line = h; line && *line;) {
        char *eol = strstr(line, "\r\n");
        if (eol) *eol = '\0';
        char *colon = strchr(line, ':');
        if (!colon) return TC_ERR_FORMAT;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "Content-Type")) {
            size_t n = strcspn(v, "; \t");
            if (n >= sizeof p->part.content_type) n = sizeof p->part.content_type - 1;
            memcpy(p->part.content_type, v, n);
            p->part.content_type[n] = '\0';
        } else if (!strcasecmp(line, "Content-Length")) {
            if (parse_count(v, &p->body_len) < 0 || (uint64_t)p->body_len > p->max_part)
                return TC_ERR_FORMAT;
        } else if (!strcasecmp(line, "X-Frame-Index")) {
            if (parse_count(v, &p->part.index) < 0) return TC_ERR_FORMAT;
        }
        line = eol ? eol + 2 : NULL;
    }
    return TC_OK;
}

/* Parse what is buffered; stops when more bytes are needed. */
static int process(tc_face_mp *p, tc_face_mp_cb cb, void *opaque)
{
    size_t pos = 0, dl = p->delim_len;
    int r = TC_OK;
    for (;;) {
        const uint8_t *b = p->buf + pos;
        size_t avail = p->len - pos;
        if (p->state == ST_START) {
            /* the first delimiter may open the body without its CRLF */
            if (avail < dl - 2) break;
            if (!memcmp(b, p->delim + 2, dl - 2)) {
                pos += dl - 2;
                p->state = ST_AFTER_DELIM;
            } else {
                p->state = ST_PREAMBLE;
            }
        } else if (p->state == ST_PREAMBLE) {
            const uint8_t *d = find(b, avail, p->delim, dl);
            if (!d) {
                if (avail > dl) pos += avail - dl; /* a preamble is ignored */
                break;
            }
            pos += (size_t)(d - b) + dl;
            p->state = ST_AFTER_DELIM;
        } else if (p->state == ST_AFTER_DELIM) {
            while (avail && (*b == ' ' || *b == '\t'))
                b++, avail--, pos++; /* transport padding */
            if (avail < 2) break;
            if (b[0] == '-' && b[1] == '-') {
                pos = p->len; /* the epilogue is ignored */
                p->state = ST_DONE;
            } else if (b[0] == '\r' && b[1] == '\n') {
                pos += 2;
                p->state = ST_HEADERS;
            } else {
                r = TC_ERR_FORMAT;
                break;
            }
        } else if (p->state == ST_HEADERS) {
            if (avail >= 2 && b[0] == '\r' && b[1] == '\n') { /* no headers at all */
                parse_headers(p, (char[]){0});
                pos += 2;
                p->state = ST_BODY;
                p->scan = pos;
                continue;
            }
            const uint8_t *e = find(b, avail, "\r\n\r\n", 4);
            if (!e) {
                if (avail > MAX_HEADERS) r = TC_ERR_FORMAT;
                break;
            }
            size_t hl = (size_t)(e - b);
            if (hl > MAX_HEADERS) {
                r = TC_ERR_FORMAT;
                break;
            }
            char h[MAX_HEADERS + 1];
            memcpy(h, b, hl);
            h[hl] = '\0';
            if (memchr(h, '\0', hl)) {
                r = TC_ERR_FORMAT;
                break;
            }
            if ((r = parse_headers(p, h)) < 0) break;
            pos += hl + 4;
            p->state = ST_BODY;
            p->scan = pos;
        } else if (p->state == ST_BODY) {
            size_t blen;
            if (p->body_len >= 0) {
                /* handed on as soon as it is whole, not when the next part
                 * begins (a provider may send that delimiter much later) */
                blen = (size_t)p->body_len;
                if (avail < blen) break;
                p->part.data = b;
                p->part.len = blen;
                p->parts++;
                if ((r = cb(opaque, &p->part)) < 0) break;
                pos += blen;
                p->state = ST_DELIM;
                continue;
            } else {
                size_t from = p->scan > pos ? p->scan - pos : 0;
                const uint8_t *d = find(b + from, avail - from, p->delim, dl);
                if (!d) {
                    if (avail > p->max_part + dl) {
                        r = TC_ERR_FORMAT;
                        break;
                    }
                    p->scan = avail >= dl ? pos + avail - dl + 1 : pos;
                    break;
                }
                blen = (size_t)(d - b);
                if (blen > p->max_part) {
                    r = TC_ERR_FORMAT;
                    break;
                }
            }
            p->part.data = b;
            p->part.len = blen;
            p->parts++;
            if ((r = cb(opaque, &p->part)) < 0) break;
            pos += blen + dl;
            p->state = ST_AFTER_DELIM;
        } else if (p->state == ST_DELIM) {
            if (avail < dl) break;
            if (memcmp(b, p->delim, dl)) {
                r = TC_ERR_FORMAT;
                break;
            } /* the length lied */
            pos += dl;
            p->state = ST_AFTER_DELIM;
        } else {
            if (p->state == ST_DONE) pos = p->len;
            break;
        }
    }
    if (pos) {
        memmove(p->buf, p->buf + pos, p->len - pos);
        p->len -= pos;
        p->scan = p->scan > pos ? p->scan - pos : 0;
    }
    return r;
}

int tc_face_mp_feed(tc_face_mp *p, const void *data, size_t len, tc_face_mp_cb cb, void *opaque)
{
    if (p->state == ST_DEAD) return TC_ERR_FORMAT;
    const uint8_t *d = data;
    size_t limit = p->max_part + p->delim_len + MAX_HEADERS + 8;
    while (len && p->state != ST_DONE) {
        if (p->len == limit) {
            p->state = ST_DEAD;
            return TC_ERR_FORMAT;
        }
        size_t take = len < limit - p->len ? len : limit - p->len;
        if (p->len + take > p->cap) {
            size_t nc = p->cap ? p->cap : 4096;
            while (nc < p->len + take)
                nc *= 2;
            if (nc > limit) nc = limit;
            uint8_t *nb = realloc(p->buf, nc);
            if (!nb) return TC_ERR_NOMEM;
            p->buf = nb;
            p->cap = nc;
        }
        memcpy(p->buf + p->len, d, take);
        p->len += take;
        d += take;
        len -= take;
        int r = process(p, cb, opaque);
        if (r < 0) {
            if (r == TC_ERR_FORMAT) p->state = ST_DEAD;
            return r;
        }
    }
    return TC_OK;
}

int tc_face_mp_boundary(const char *ct, char *out, size_t outlen)
{
    const char *b = ct ? strcasestr(ct, "boundary=") : NULL;
    if (!b) return TC_ERR_FORMAT;
    b += 9;
    size_t n;
    if (*b == '"') {
        b++;
        const char *q = strchr(b, '"');
        if (!q) return TC_ERR_FORMAT;
        n = (size_t)(q - b);
    } else {
        n = strcspn(b, "; \t\r\n");
    }
    if (n < 1 || n > 70 || n >= outlen) return TC_ERR_FORMAT;
    memcpy(out, b, n);
    out[n] = '\0';
    return TC_OK;
}
