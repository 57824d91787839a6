/* fetch.c — downloading an avatar over HTTP(S) with libcurl, resumably.
 *
 * A transfer writes partial/<key>.part (key: the URL's sha256) and, once
 * the first byte arrived, partial/<key>.json with the URL, the validator
 * (ETag, else Last-Modified) and the expected size. The next attempt — a
 * retry after a dropped connection, or a later `avatar add` after a kill —
 * asks for the rest with Range + If-Range: a 206 from the same offset and
 * the same validator appends; a 200 (Range ignored, or the file changed)
 * starts over; anything inconsistent discards the partial. Only a complete
 * file of the expected size and sha is handed to the caller, by rename. */
#include "avatar/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "core/backoff.h"
#include "core/err.h"
#include "core/log.h"

static const tc_log_ctx log_ctx = {"avatar", NULL};

typedef struct xfer {
    int fd;
    int64_t offset;  /* bytes in the part file when this attempt began */
    int64_t written; /* bytes this attempt appended */
    int64_t max_bytes;
    int64_t total; /* expected whole size, -1 unknown */
    const char *url, *meta;
    char want_etag[256]; /* the validator the partial was fetched with */
    long status;
    char etag[256], lastmod[128];
    int64_t cr_start, cr_total; /* Content-Range of a 206 */
    int64_t clen;
    int started;  /* the first body byte was seen */
    int restart;  /* the server sent all from 0: the part was truncated */
    int mismatch; /* a 206 for another offset or validator */
    int too_big, io_errno;
} xfer;

static void trim_copy(char *dst, size_t n, const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= n) len = n - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *opaque)
{
    xfer *x = opaque;
    size_t len = size * nmemb;
    char v[256];
    if (len > 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (redirects, 100-continue) */
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->etag[0] = x->lastmod[0] = '\0';
        x->cr_start = x->cr_total = x->clen = -1;
    } else if (len > 5 && !strncasecmp(p, "ETag:", 5)) {
        trim_copy(x->etag, sizeof x->etag, p + 5, len - 5);
    } else if (len > 14 && !strncasecmp(p, "Last-Modified:", 14)) {
        trim_copy(x->lastmod, sizeof x->lastmod, p + 14, len - 14);
    } else if (len > 15 && !strncasecmp(p, "Content-Length:", 15)) {
        trim_copy(v, sizeof v, p + 15, len - 15);
        x->clen = strtoll(v, NULL, 10);
    } else if (len > 14 && !strncasecmp(p, "Content-Range:", 14)) {
        trim_copy(v, sizeof v, p + 14, len - 14);
        long long a, b, t;
        if (sscanf(v, "bytes %lld-%lld/%lld", &a, &b, &t) == 3) x->cr_start = a, x->cr_total = t;
    }
    return len;
}

static int save_meta(const xfer *x)
{
    json_object *o = json_object_new_object();
    if (!o) return -1;
    json_object_object_add(o, "url", json_object_new_string(x->url));
    json_object_object_add(o, "etag", json_object_new_string(x->etag));
    json_object_object_add(o, "last_modified", json_object_new_string(x->lastmod));
    json_object_object_add(o, "size", json_object_new_int64(x->total));
    const char *t = json_object_to_json_string(o);
    int r = t ? tc_avatar_write_atomic(x->meta, t, strlen(t)) : -1;
    json_object_put(o);
    return r;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *opaque)
{
    xfer *x = opaque;
    size_t len = size * nmemb;
    if (x->status < 200 || x->status >= 300) return len; /* an error page: not the avatar */
    if (!x->started) {
        x->started = 1;
        if (x->status == 206) {
            const char *val = x->etag[0] ? x->etag : x->lastmod;
            if (x->cr_start != x->offset || (x->want_etag[0] && strcmp(val, x->want_etag))) {
                x->mismatch = 1;
                return 0;
            }
            x->total = x->cr_total;
        } else {
            if (x->offset > 0) { /* the whole file again: start over */
                if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0) {
                    x->io_errno = errno;
                    return 0;
                }
                x->offset = 0;
                x->restart = 1;
            }
            x->total = x->clen;
        }
        if (save_meta(x) < 0) {
            x->io_errno = errno ? errno : EIO;
            return 0;
        }
    }
    if (x->offset + x->written + (int64_t)len > x->max_bytes) {
        x->too_big = 1;
        return 0;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(x->fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            x->io_errno = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    x->written += (int64_t)len;
    return len;
}

/* The validator and size a partial was fetched with; 0 when it matches url. */
static int load_meta(const char *meta, const char *url, char *val, size_t vlen)
{
    json_object *o = json_object_from_file(meta), *v;
    int ok = 0;
    if (o && json_object_object_get_ex(o, "url", &v) && !strcmp(json_object_get_string(v), url)) {
        const char *e = "", *lm = "";
        if (json_object_object_get_ex(o, "etag", &v)) e = json_object_get_string(v);
        if (json_object_object_get_ex(o, "last_modified", &v)) lm = json_object_get_string(v);
        snprintf(val, vlen, "%s", e && e[0] ? e : lm ? lm : "");
        ok = val[0] != '\0';
    }
    json_object_put(o);
    return ok ? 0 : -1;
}

static void discard(const char *part, const char *meta)
{
    unlink(part);
    unlink(meta);
}

/* A clean URL for messages: no user:password. */
static void shown_url(const char *url, char *out, size_t n)
{
    snprintf(out, n, "%s", url);
    char *h = strstr(out, "://");
    if (!h) return;
    h += 3;
    char *at = strchr(h, '@'), *sl = strchr(h, '/');
    if (at && (!sl || at < sl)) memmove(h, at + 1, strlen(at + 1) + 1);
}

int tc_avatar_fetch(const char *url, const char *partial_dir, const char *dest,
                    const tc_avatar_add_opts *o, tc_avatar_fetch_result *res, char *err,
                    size_t elen)
{
    memset(res, 0, sizeof *res);
    char shown[1024], key[65], part[PATH_MAX], meta[PATH_MAX];
    shown_url(url, shown, sizeof shown);
    tc_avatar_sha256 h;
    tc_avatar_sha256_init(&h);
    tc_avatar_sha256_update(&h, url, strlen(url));
    tc_avatar_sha256_final(&h, key);
    if (snprintf(part, sizeof part, "%s/%.32s.part", partial_dir, key) >= (int)sizeof part ||
        snprintf(meta, sizeof meta, "%s/%.32s.json", partial_dir, key) >= (int)sizeof meta)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "%s: path too long", partial_dir);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tc_avatar_fail(err, elen, TC_ERR_IO, "libcurl did not initialise");
    CURL *c = curl_easy_init();
    if (!c) return tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
    tc_backoff bo;
    tc_backoff_init(&bo, 0.2, 5, (uint64_t)time(NULL) ^ (uint64_t)getpid());
    int attempts = 1 + (o->retries > 0 ? o->retries : 0), rc = TC_ERR_NET;
    int fresh_starts = 0;
    for (int a = 0; a < attempts; a++) {
        if (a > 0) {
            double d = tc_backoff_next(&bo);
            struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
            nanosleep(&ts, NULL);
        }
        xfer x = {.fd = -1,
                  .url = url,
                  .meta = meta,
                  .max_bytes = o->max_bytes > 0 ? o->max_bytes : ((int64_t)4 << 30),
                  .total = -1,
                  .cr_start = -1,
                  .cr_total = -1,
                  .clen = -1};
        struct stat st;
        if (stat(part, &st) == 0 && st.st_size > 0 &&
            load_meta(meta, url, x.want_etag, sizeof x.want_etag) == 0) {
            x.offset = st.st_size;
        } else {
            discard(part, meta); /* nothing we can resume safely */
        }
        if ((x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot write", part);
            break;
        }
        char range[64];
        struct curl_slist *hdrs = NULL, *h2 = NULL;
        if (x.offset > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)x.offset);
            char ifr[300];
            snprintf(ifr, sizeof ifr, "If-Range: %s", x.want_etag);
            if ((h2 = curl_slist_append(NULL, ifr))) hdrs = h2;
            tc_log(&log_ctx, TC_LOG_INFO, "resuming %s at byte %lld", shown, (long long)x.offset);
        }
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)((o->connect_timeout > 0 ? o->connect_timeout : 10) * 1000));
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                         (long)(o->stall_timeout > 0 ? o->stall_timeout : 30));
        curl_easy_setopt(c, CURLOPT_USERAGENT, "talkcast-avatar/1");
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        if (x.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range);
        if (hdrs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cc = curl_easy_perform(c);
        curl_slist_free_all(hdrs);
        int fsync_failed = cc == CURLE_OK && fsync(x.fd) < 0;
        int fsync_errno = errno;
        close(x.fd);
        if (x.offset + x.written == 0)
            discard(part, meta); /* nothing to resume: no empty file left */
        res->http_status = x.status;
        if (x.restart)
            tc_log(&log_ctx, TC_LOG_INFO,
                   "%s: the server sent the whole file again (Range not honoured, or the file "
                   "changed); starting over",
                   shown);
        if (x.io_errno || fsync_failed) {
            errno = x.io_errno ? x.io_errno : fsync_errno;
            rc = tc_avatar_fail_errno(err, elen, "cannot write the download to", part);
            discard(part, meta);
            break;
        }
        if (x.too_big) {
            rc = tc_avatar_fail(err, elen, TC_ERR_INVAL,
                                "%s is larger than %lld bytes: not downloaded", shown,
                                (long long)x.max_bytes);
            discard(part, meta);
            break;
        }
        if (x.mismatch) {
            tc_log(
                &log_ctx, TC_LOG_WARN,
                "%s: the server resumed another version or offset; discarding the partial download",
                shown);
            discard(part, meta);
            rc = tc_avatar_fail(err, elen, TC_ERR_NET, "%s changed while it was downloaded", shown);
            if (fresh_starts++ == 0) a--; /* one fresh start is not a failed attempt */
            continue;
        }
        if (cc == CURLE_OK && x.status == 416) { /* our offset is past the file: it changed */
            discard(part, meta);
            rc = tc_avatar_fail(err, elen, TC_ERR_NET,
                                "%s: the server refused the resume range (416)", shown);
            continue;
        }
        if (cc == CURLE_OK && x.status >= 400) {
            discard(part, meta);
            rc = tc_avatar_fail(err, elen,
                                x.status == 404 || x.status == 410 ? TC_ERR_NOTFOUND : TC_ERR_NET,
                                "%s: HTTP %ld%s", shown, x.status,
                                x.status == 404   ? " (not found)"
                                : x.status == 403 ? " (forbidden)"
                                : x.status == 401 ? " (authorisation required)"
                                                  : "");
            if (x.status >= 500 || x.status == 429) continue; /* the server may recover */
            break;
        }
        if (cc == CURLE_OK && (x.status < 200 || x.status >= 300)) {
            discard(part, meta);
            rc = tc_avatar_fail(err, elen, TC_ERR_NET, "%s: unexpected HTTP status %ld", shown,
                                x.status);
            break;
        }
        if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
            cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT ||
            cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR) {
            rc = tc_avatar_fail(
                err, elen,
                cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? TC_ERR_INVAL
                                                                              : TC_ERR_NET,
                "%s: %s", shown,
                cc == CURLE_COULDNT_CONNECT ? "connection refused or host unreachable"
                                            : curl_easy_strerror(cc));
            break;
        }
        int64_t have = x.offset + x.written;
        if (cc != CURLE_OK ||
            (x.total >= 0 && have < x.total)) { /* dropped: the partial stays to resume */
            rc = tc_avatar_fail(
                err, elen, cc == CURLE_OPERATION_TIMEDOUT ? TC_ERR_TIMEOUT : TC_ERR_NET,
                "%s: the transfer stopped after %lld bytes (%s); run the same add again to resume",
                shown, (long long)have, cc != CURLE_OK ? curl_easy_strerror(cc) : "short body");
            tc_log(&log_ctx, TC_LOG_WARN, "%s", err);
            continue;
        }
        if (x.total >= 0 && have != x.total) {
            discard(part, meta);
            rc = tc_avatar_fail(err, elen, TC_ERR_NET, "%s: got %lld bytes, expected %lld", shown,
                                (long long)have, (long long)x.total);
            continue;
        }
        /* complete: check the content, then hand it over */
        int r = tc_avatar_sha256_file(part, res->sha, &res->size);
        if (r < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot read", part);
            break;
        }
        if (o->sha256 && strcmp(o->sha256, res->sha)) {
            discard(part, meta);
            rc = tc_avatar_fail(err, elen, TC_ERR_FORMAT,
                                "%s has sha256 %s, not the %s asked for: discarded", shown,
                                res->sha, o->sha256);
            break;
        }
        if (rename(part, dest) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot move the download to", dest);
            break;
        }
        unlink(meta);
        res->resumed_from = x.offset; /* 0 unless this attempt appended to a partial */
        tc_log(&log_ctx, TC_LOG_INFO, "downloaded %s: %lld bytes%s", shown, (long long)res->size,
               res->resumed_from ? " (resumed)" : "");
        rc = TC_OK;
        break;
    }
    curl_easy_cleanup(c);
    return rc;
}
