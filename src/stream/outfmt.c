/* outfmt.c — output spec parsing and format guessing. */
#include "stream/outfmt.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavformat/avformat.h>

static const struct { const char *scheme; const char *format; } net_schemes[] = {
    { "rtmp", "flv" },   { "rtmps", "flv" },  { "rtmpt", "flv" },
    { "rtmpe", "flv" },  { "srt", "mpegts" }, { "udp", "mpegts" },
    { "rtp", "rtp_mpegts" }, { "tcp", "mpegts" },
};

/* The scheme of `url` ("rtmp" for rtmp://…) copied into buf, or "" when the
 * URL has no "scheme://" prefix (a plain file path). */
static void url_scheme(const char *url, char *buf, size_t len)
{
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p - url) : 0;
    for (size_t i = 0; i < n; i++) {
        char c = url[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.')) {
            n = 0;
            break;
        }
    }
    if (n >= len) n = 0;
    memcpy(buf, url, n);
    buf[n] = '\0';
}

char *tc_outfmt_mask_url(const char *url)
{
    char scheme[16];
    url_scheme(url, scheme, sizeof scheme);
    if (!scheme[0]) return strdup(url);

    const char *host = url + strlen(scheme) + 3;
    const char *path = strchr(host, '/');
    const char *at = memchr(host, '@', path ? (size_t)(path - host) : strlen(host));
    size_t cap = strlen(url) + 16;
    char *out = malloc(cap);
    if (!out) return NULL;

    size_t pos = (size_t)(host - url);
    memcpy(out, url, pos);
    if (at) { /* user:pass@ → user:***@ */
        const char *colon = memchr(host, ':', (size_t)(at - host));
        size_t keep = colon ? (size_t)(colon - host) : (size_t)(at - host);
        memcpy(out + pos, host, keep);
        pos += keep;
        pos += (size_t)snprintf(out + pos, cap - pos, colon ? ":***@" : "@");
        host = at + 1;
    }
    const char *rest = host;
    int is_rtmp = strncasecmp(scheme, "rtmp", 4) == 0;
    if (is_rtmp && path) {
        /* rtmp://host/app/KEY: the key is the secret that lets anyone publish. */
        const char *key = strchr(path + 1, '/');
        if (key && key[1]) {
            size_t keep = (size_t)(key + 1 - rest);
            memcpy(out + pos, rest, keep);
            pos += keep;
            snprintf(out + pos, cap - pos, "***");
            return out;
        }
    }
    snprintf(out + pos, cap - pos, "%s", rest);
    return out;
}

int tc_outfmt_parse(const char *spec, tc_outfmt *out, char *err, int errlen)
{
    char fmt[64] = "";
    const char *url = spec;
    if (!spec || !*spec) {
        snprintf(err, (size_t)errlen, "empty output URL");
        return TC_ERR_INVAL;
    }
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || strncmp(spec, "[f=", 3) != 0 || end - spec - 3 <= 0 ||
            end - spec - 3 >= (long)sizeof fmt) {
            snprintf(err, (size_t)errlen, "bad output option prefix in '%s' (use [f=FORMAT]URL)", spec);
            return TC_ERR_INVAL;
        }
        memcpy(fmt, spec + 3, (size_t)(end - spec - 3));
        fmt[end - spec - 3] = '\0';
        url = end + 1;
        if (!*url) {
            snprintf(err, (size_t)errlen, "output '%s' has a format but no URL", spec);
            return TC_ERR_INVAL;
        }
    }

    char scheme[16];
    url_scheme(url, scheme, sizeof scheme);
    int is_network = 0;
    if (scheme[0] && strcasecmp(scheme, "file") != 0) {
        size_t i;
        for (i = 0; i < sizeof net_schemes / sizeof net_schemes[0]; i++)
            if (strcasecmp(scheme, net_schemes[i].scheme) == 0) break;
        if (i == sizeof net_schemes / sizeof net_schemes[0] && !fmt[0]) {
            snprintf(err, (size_t)errlen,
                     "output scheme '%s://' is not known; give the format as [f=FORMAT]URL", scheme);
            return TC_ERR_INVAL;
        }
        is_network = 1;
        if (!fmt[0] && i < sizeof net_schemes / sizeof net_schemes[0])
            snprintf(fmt, sizeof fmt, "%s", net_schemes[i].format);
    }
    if (!fmt[0]) {
        const AVOutputFormat *of = av_guess_format(NULL, url, NULL);
        if (!of) {
            snprintf(err, (size_t)errlen,
                     "cannot guess the format of output '%s' from its name; use [f=FORMAT]URL", url);
            return TC_ERR_INVAL;
        }
        snprintf(fmt, sizeof fmt, "%s", of->name);
    }
    if (!av_guess_format(fmt, NULL, NULL)) {
        snprintf(err, (size_t)errlen, "output format '%s' is not available in this libavformat", fmt);
        return TC_ERR_UNSUPPORTED;
    }

    tc_outfmt f = { strdup(url), strdup(fmt), is_network, tc_outfmt_mask_url(url) };
    if (!f.url || !f.format || !f.display) {
        tc_outfmt_free(&f);
        snprintf(err, (size_t)errlen, "out of memory");
        return TC_ERR_NOMEM;
    }
    *out = f;
    return TC_OK;
}

void tc_outfmt_free(tc_outfmt *f)
{
    if (!f) return;
    free(f->url);
    free(f->format);
    free(f->display);
    f->url = f->format = f->display = NULL;
}
