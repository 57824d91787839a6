/* face_serve.c — `talkcast face-serve`: the face provider contract
 * (docs/face-provider.md) served by talkcast's own renderers, so the
 * contract is tested end to end here and a GPU server (MuseTalk & co.) can
 * take its place later without a change on the client side.
 *
 * The lips move by tc_lips_estimate (audio alone: that is all a provider
 * gets), the face is tc_face_create_auto on the uploaded avatar file, and
 * each frame goes out as a JPEG (or PNG) part of a multipart/x-mixed-replace
 * answer as soon as it is drawn. --stamp marks every served frame with a
 * white square in the top-left corner, so a test can tell them apart from
 * the local renderer's.
 *
 * Threads: libmicrohttpd's, one per connection (a generation renders on
 * the connection's own thread, inside the response callback). */
#include "cli/cli.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "face/remote.h"
#include "lipsync/lipsync.h"
#include "ops/ops.h"
#include "tc_version.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <microhttpd.h>

#define BOUNDARY   "tcframe"
#define MAX_WAV    (64 << 20)
#define MAX_AVATAR (256 << 20)
#define MAX_LANDMARKS (64 << 10)
#define MAX_SIDE   4096
#define MAX_FRAMES (30 * 60 * 60)

static const tc_log_ctx log_ctx = {"face-serve", NULL};

typedef struct server {
    const char *dir, *key, *header;
    int stamp, png, quality;
    int vector; /* --renderer vector: the built-in face, whatever the avatar */
    atomic_llong generated, frames;
} server;

typedef struct conn {
    uint8_t *body;
    size_t len, cap;
    int too_big;
} conn;

/* ---- one generation: frames rendered and encoded as MHD asks for bytes ---- */

typedef struct gen {
    server *srv;
    tc_face *face;
    tc_mouth *mouth;
    int64_t n_mouth, n_frames, start, next;
    AVCodecContext *enc;
    AVFrame *conv, *copy;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint8_t *out; /* bytes not yet handed to MHD */
    size_t out_len, out_pos, out_cap;
    int ended;
} gen;

static void gen_free(void *cls)
{
    gen *g = cls;
    if (!g) return;
    tc_face_destroy(g->face);
    free(g->mouth);
    avcodec_free_context(&g->enc);
    av_frame_free(&g->conv);
    av_frame_free(&g->copy);
    av_packet_free(&g->pkt);
    sws_freeContext(g->sws);
    free(g->out);
    free(g);
}

static int out_put(gen *g, const void *d, size_t n)
{
    if (g->out_len + n > g->out_cap) {
        size_t nc = (g->out_len + n) * 2;
        uint8_t *b = realloc(g->out, nc);
        if (!b) return TC_ERR_NOMEM;
        g->out = b;
        g->out_cap = nc;
    }
    memcpy(g->out + g->out_len, d, n);
    g->out_len += n;
    return TC_OK;
}

/* BT.601/709 limited range (Y 16-235, C 16-240) to the full range JPEG
 * uses, plane by plane; the same 4:2:0 layout. */
static void to_full_range(const AVFrame *src, AVFrame *dst)
{
    for (int p = 0; p < 3; p++) {
        int w = p ? (src->width + 1) / 2 : src->width, h = p ? (src->height + 1) / 2 : src->height;
        for (int y = 0; y < h; y++) {
            const uint8_t *i = src->data[p] + (ptrdiff_t)y * src->linesize[p];
            uint8_t *o = dst->data[p] + (ptrdiff_t)y * dst->linesize[p];
            for (int x = 0; x < w; x++) {
                int v =
                    p ? ((i[x] - 128) * 255 + 112) / 224 + 128 : ((i[x] - 16) * 255 + 109) / 219;
                o[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
}

/* Render, stamp, encode frame g->next and queue it as a part. */
static int gen_frame(gen *g)
{
    static const tc_mouth shut = {0};
    int64_t i = g->next;
    const tc_mouth *m = i < g->n_mouth ? &g->mouth[i] : &shut;
    AVFrame *pic = av_frame_alloc();
    if (!pic) return TC_ERR_NOMEM;
    int changed, e = tc_face_render(g->face, g->start + i, m, pic, &changed);
    if (e < 0) {
        av_frame_free(&pic);
        return e;
    }
    const AVFrame *src = pic;
    if (g->srv->stamp) {
        if (av_frame_copy(g->copy, pic) < 0) {
            av_frame_free(&pic);
            return TC_ERR_FORMAT;
        }
        int side = g->copy->width / 10;
        for (int y = 0; y < side; y++)
            memset(g->copy->data[0] + (ptrdiff_t)y * g->copy->linesize[0], 235, (size_t)side);
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < side / 2; y++)
                memset(g->copy->data[p] + (ptrdiff_t)y * g->copy->linesize[p], 128,
                       (size_t)side / 2);
        src = g->copy;
    }
    if (g->sws)
        sws_scale(g->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                  g->conv->data, g->conv->linesize);
    else
        to_full_range(src, g->conv);
    av_frame_free(&pic);
    g->conv->pts = i;
    if (avcodec_send_frame(g->enc, g->conv) < 0 || avcodec_receive_packet(g->enc, g->pkt) < 0)
        return TC_ERR_CODEC;
    char h[160];
    int hl = snprintf(h, sizeof h,
                      "\r\nContent-Type: %s\r\nX-Frame-Index: %lld\r\nContent-Length: %d\r\n\r\n",
                      g->srv->png ? "image/png" : "image/jpeg", (long long)i, g->pkt->size);
    e = out_put(g, h, (size_t)hl);
    if (e == TC_OK) e = out_put(g, g->pkt->data, (size_t)g->pkt->size);
    if (e == TC_OK) e = out_put(g, "\r\n--" BOUNDARY, 4 + strlen(BOUNDARY));
    av_packet_unref(g->pkt);
    g->next++;
    atomic_fetch_add(&g->srv->frames, 1);
    return e;
}

static ssize_t gen_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    gen *g = cls;
    if (g->out_pos == g->out_len) {
        g->out_pos = g->out_len = 0;
        if (g->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        if (g->next < g->n_frames) {
            int e = gen_frame(g);
            if (e < 0) {
                tc_log(&log_ctx, TC_LOG_ERROR, "frame %lld: %s; the answer is cut short",
                       (long long)g->next, tc_strerror(e));
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        }
        if (g->next >= g->n_frames) {
            if (out_put(g, "--\r\n", 4) < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
            g->ended = 1;
        }
    }
    size_t n = g->out_len - g->out_pos < max ? g->out_len - g->out_pos : max;
    memcpy(buf, g->out + g->out_pos, n);
    g->out_pos += n;
    return (ssize_t)n;
}

/* ---- answers ---------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned code, const char *err,
                             const char *msg)
{
    char j[400];
    snprintf(j, sizeof j, "{\"error\":\"%s\",\"message\":\"%s\"}\n", err, msg);
    return reply(c, code, j);
}

static int valid_id(const char *id)
{
    if (strlen(id) != 64) return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

static void avatar_path(server *s, const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->dir, id);
}

static enum MHD_Result put_avatar(server *s, struct MHD_Connection *c, const char *id, conn *k)
{
    char hex[65], path[4200];
    if (tc_face_remote_avatar_id(k->body, k->len, hex) < 0) return error(c, 500, "internal", "out of memory");
    if (strcmp(hex, id))
        return error(c, 400, "bad_request", "the id is not the SHA-256 of the body");
    avatar_path(s, id, path, sizeof path);
    if (tc_file_replace(path, k->body ? k->body : (const uint8_t *)"", k->len) < 0) {
        tc_log(&log_ctx, TC_LOG_ERROR, "cannot store avatar %s: %s", path, strerror(errno));
        return error(c, 500, "storage", "cannot store the avatar");
    }
    tc_log(&log_ctx, TC_LOG_INFO, "avatar %.12s… stored (%zu bytes)", id, k->len);
    return reply(c, 201, "{\"stored\":true}\n");
}

/* The landmarks extension: PUT /v1/avatars/{id}/landmarks stores the
 * avatar's mouth landmarks (talkcast's JSON) beside it, where the photo
 * renderer finds them, once they are shown to fit the avatar. */
static enum MHD_Result landmarks(server *s, struct MHD_Connection *c, const char *id, const char *method, conn *k)
{
    char path[4200], lm[4300], tmp[4400];
    avatar_path(s, id, path, sizeof path);
    snprintf(lm, sizeof lm, "%s.landmarks.json", path);
    if (access(path, R_OK) != 0) return error(c, 404, "unknown_avatar", "upload the avatar first");
    if (!strcmp(method, "HEAD") || !strcmp(method, "GET"))
        return access(lm, R_OK) == 0 ? reply(c, 200, "{\"stored\":true}\n")
                                     : error(c, 404, "no_landmarks", "no landmarks for this avatar");
    if (strcmp(method, "PUT")) return error(c, 405, "method", "HEAD, GET or PUT");
    if (k->len > MAX_LANDMARKS) return error(c, 413, "too_large", "landmarks are at most 64 KiB");
    snprintf(tmp, sizeof tmp, "%s.part.%ld", lm, (long)gettid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(k->body ? k->body : (const uint8_t *)"", 1, k->len, f) == k->len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        unlink(tmp);
        return error(c, 500, "storage", "cannot store the landmarks");
    }
    /* they must fit this avatar: the photo (or video) renderer takes them */
    tc_face_config fc = {.width = 320, .height = 240, .pix_fmt = AV_PIX_FMT_YUV420P, .fps_num = 30,
                         .fps_den = 1, .fit = TC_FACE_FIT_PAD, .path = path, .seed = 1, .landmarks = tmp};
    tc_face *face = NULL;
    int e = tc_face_create_auto(&face, &fc);
    const char *kind = face ? tc_face_name(face) : "";
    int fits = e == TC_OK && (!strcmp(kind, "photo") || !strcmp(kind, "video"));
    tc_face_destroy(face);
    if (!fits) {
        unlink(tmp);
        return error(c, 422, "bad_landmarks", "the landmarks do not fit this avatar (see the server log)");
    }
    if (rename(tmp, lm) != 0) {
        unlink(tmp);
        return error(c, 500, "storage", "cannot store the landmarks");
    }
    tc_log(&log_ctx, TC_LOG_INFO, "landmarks of avatar %.12s… stored: it talks with the %s renderer", id, kind);
    return reply(c, 201, "{\"stored\":true}\n");
}

static long qnum(struct MHD_Connection *c, const char *name, long def, long min, long max, int *bad)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v) return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < min || x > max) *bad = 1;
    return x;
}

static enum MHD_Result generate(server *s, struct MHD_Connection *c, conn *k)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "avatar");
    const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode");
    const char *fps = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fps");
    int bad = 0, fn = 30, fd = 1;
    long w = qnum(c, "width", 0, 16, MAX_SIDE, &bad), h = qnum(c, "height", 0, 16, MAX_SIDE, &bad);
    long start = qnum(c, "start", 0, 0, INT32_MAX, &bad),
         frames = qnum(c, "frames", 0, 0, MAX_FRAMES, &bad);
    if (fps && (sscanf(fps, "%d/%d", &fn, &fd) < 1 || fn < 1 || fn > 120 || fd < 1 || fd > 1001))
        bad = 1;
    if (fps && !strchr(fps, '/')) fd = 1;
    if (!id || !valid_id(id))
        return error(c, 400, "bad_request", "avatar must be a 64-hex-digit id");
    if (mode && strcmp(mode, "audio") && strcmp(mode, "video"))
        return error(c, 400, "bad_request", "mode must be audio or video");
    if (bad || !w || !h || (w & 1) || (h & 1))
        return error(c, 400, "bad_request",
                     "width and height (even, 16-4096), fps N or N/D, start and frames");
    char path[4200];
    avatar_path(s, id, path, sizeof path);
    if (access(path, R_OK) != 0)
        return error(c, 404, "unknown_avatar", "upload it first: PUT /v1/avatars/{id}");
    float *pcm = NULL;
    int64_t n = 0;
    int rate = 0,
        e = tc_face_wav_decode(k->body ? k->body : (const uint8_t *)"", k->len, &pcm, &n, &rate);
    if (e < 0) return error(c, 400, "bad_audio", "the body must be a 16-bit PCM WAV");
    gen *g = calloc(1, sizeof *g);
    if (!g) {
        free(pcm);
        return error(c, 500, "internal", "out of memory");
    }
    g->srv = s;
    g->start = start;
    int64_t need = (n * fn + (int64_t)rate * fd - 1) / ((int64_t)rate * fd);
    g->n_frames = frames ? frames : need;
    tc_lips_config lc = {fn, fd, rate, 0.03, 0.3};
    e = tc_lips_estimate(&lc, pcm, n, &g->mouth, &g->n_mouth);
    free(pcm);
    tc_face_config fc = {.width = (int)w,
                         .height = (int)h,
                         .pix_fmt = AV_PIX_FMT_YUV420P,
                         .fps_num = fn,
                         .fps_den = fd,
                         .fit = TC_FACE_FIT_PAD,
                         .path = path,
                         .seed = 1};
    if (e == TC_OK) e = s->vector ? tc_face_create(&g->face, "vector", &fc) : tc_face_create_auto(&g->face, &fc);
    if (e < 0) {
        gen_free(g);
        return error(c, 422, "cannot_render", "the avatar cannot be rendered (see the server log)");
    }
    e = TC_ERR_NOMEM;
    const AVCodec *codec = avcodec_find_encoder(s->png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    enum AVPixelFormat pf = s->png ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUVJ420P;
    if (codec && (g->enc = avcodec_alloc_context3(codec)) && (g->conv = av_frame_alloc()) &&
        (g->copy = av_frame_alloc()) && (g->pkt = av_packet_alloc())) {
        g->enc->width = (int)w;
        g->enc->height = (int)h;
        g->enc->pix_fmt = pf;
        g->enc->time_base = (AVRational){fd, fn};
        g->enc->flags |= AV_CODEC_FLAG_QSCALE;
        g->enc->global_quality = FF_QP2LAMBDA * s->quality;
        g->conv->format = pf;
        g->conv->width = g->copy->width = (int)w;
        g->conv->height = g->copy->height = (int)h;
        g->copy->format = AV_PIX_FMT_YUV420P;
        /* PNG: RGB by swscale; JPEG: full range, expanded by hand (see
         * to_full_range) rather than through swscale's deprecated yuvj
         * formats, which warn on every use */
        if (s->png)
            g->sws = sws_getContext((int)w, (int)h, AV_PIX_FMT_YUV420P, (int)w, (int)h, pf,
                                    SWS_BICUBIC, NULL, NULL, NULL);
        if ((g->sws || !s->png) && avcodec_open2(g->enc, codec, NULL) == 0 &&
            av_frame_get_buffer(g->conv, 0) == 0 && av_frame_get_buffer(g->copy, 0) == 0)
            e = TC_OK;
    }
    if (e < 0 || out_put(g, "--" BOUNDARY, 2 + strlen(BOUNDARY)) < 0) {
        gen_free(g);
        return error(c, 500, "internal", "cannot set up the encoder");
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, gen_read, g, gen_free);
    if (!r) {
        gen_free(g);
        return MHD_NO;
    }
    char nf[32];
    snprintf(nf, sizeof nf, "%lld", (long long)g->n_frames);
    MHD_add_response_header(r, "Content-Type", "multipart/x-mixed-replace; boundary=" BOUNDARY);
    MHD_add_response_header(r, "X-Frame-Count", nf);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    atomic_fetch_add(&s->generated, 1);
    tc_log(&log_ctx, TC_LOG_DEBUG, "generate: %lld frames %ldx%ld at %d/%d fps from frame %ld (%s)",
           (long long)g->n_frames, w, h, fn, fd, start, mode ? mode : "audio");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static int authorized(server *s, struct MHD_Connection *c)
{
    if (!s->key || !s->key[0]) return 1;
    const char *v =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, s->header[0] ? s->header : "Authorization");
    if (!v) return 0;
    if (!s->header[0]) {
        if (strncasecmp(v, "Bearer ", 7)) return 0;
        v += 7;
    }
    /* compare in constant time over the key's length */
    size_t kl = strlen(s->key), vl = strlen(v);
    unsigned diff = kl != vl;
    for (size_t i = 0; i < kl; i++)
        diff |= (unsigned)(s->key[i] ^ (i < vl ? v[i] : 0));
    return diff == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    server *s = cls;
    conn *k = *con_cls;
    if (!k) {
        if (!(k = calloc(1, sizeof *k))) return MHD_NO;
        *con_cls = k;
        return MHD_YES;
    }
    if (*upload_size) { /* collect the body */
        size_t limit = strcmp(method, "PUT") ? MAX_WAV : MAX_AVATAR;
        if (k->len + *upload_size > limit) k->too_big = 1;
        if (!k->too_big) {
            if (k->len + *upload_size > k->cap) {
                size_t nc = (k->len + *upload_size) * 2;
                uint8_t *b = realloc(k->body, nc);
                if (!b) return MHD_NO;
                k->body = b;
                k->cap = nc;
            }
            memcpy(k->body + k->len, upload, *upload_size);
            k->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!authorized(s, c)) return error(c, 401, "unauthorized", "missing or wrong API key");
    if (k->too_big) return error(c, 413, "too_large", "the body is too large");
    if (!strcmp(url, "/v1/health")) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD")) return error(c, 405, "method", "GET");
        char j[200];
        snprintf(j, sizeof j,
                 "{\"status\":\"ok\",\"server\":\"talkcast face-serve "
                 "%s\",\"modes\":[\"audio\",\"video\"],"
                 "\"formats\":[\"%s\"]}\n",
                 TC_VERSION, s->png ? "image/png" : "image/jpeg");
        return reply(c, 200, j);
    }
    size_t ul = strlen(url);
    if (ul == 12 + 64 + 10 && !strncmp(url, "/v1/avatars/", 12) && !memcmp(url + 12 + 64, "/landmarks", 10)) {
        char id[65];
        memcpy(id, url + 12, 64);
        id[64] = '\0';
        if (!valid_id(id))
            return error(c, 400, "bad_request", "the id must be 64 lower-case hex digits (SHA-256)");
        return landmarks(s, c, id, method, k);
    }
    if (!strncmp(url, "/v1/avatars/", 12)) {
        const char *id = url + 12;
        if (!valid_id(id))
            return error(c, 400, "bad_request",
                         "the id must be 64 lower-case hex digits (SHA-256)");
        char path[4200];
        avatar_path(s, id, path, sizeof path);
        if (!strcmp(method, "HEAD") || !strcmp(method, "GET"))
            return access(path, R_OK) == 0 ? reply(c, 200, "{\"stored\":true}\n")
                                           : error(c, 404, "unknown_avatar", "no such avatar");
        if (!strcmp(method, "PUT")) return put_avatar(s, c, id, k);
        return error(c, 405, "method", "HEAD, GET or PUT");
    }
    if (!strcmp(url, "/v1/generate")) {
        if (strcmp(method, "POST")) return error(c, 405, "method", "POST");
        return generate(s, c, k);
    }
    return error(c, 404, "not_found", "try /v1/health, /v1/avatars/{id}, /v1/generate");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode t)
{
    conn *k = *con_cls;
    if (k) free(k->body);
    free(k);
    *con_cls = NULL;
}

/* ---- the command ---------------------------------------------------------------------- */

static volatile sig_atomic_t quit;
static void on_signal(int sig)
{
    quit = sig;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: talkcast face-serve --listen HOST:PORT [--avatar-dir DIR] [--api-key KEY]\n"
        "                           [--auth-header NAME] [--renderer auto|vector] [--png]\n"
        "                           [--quality 2-31] [--stamp]\n\n"
        "Serves the face provider contract (docs/face-provider.md) with talkcast's own renderers:\n"
        "avatars uploaded with PUT /v1/avatars/{sha256} are kept in DIR (default: a new\n"
        "temporary directory), POST /v1/generate answers with the frames as a\n"
        "multipart/x-mixed-replace stream of JPEG (or --png) pictures. With --api-key (or\n"
        "TALKCAST_FACE_API_KEY) every request needs 'Authorization: Bearer KEY' (or\n"
        "'NAME: KEY' with --auth-header). --stamp marks each frame with a white square in\n"
        "its top-left corner (tests use it to tell provider frames from local ones).\n"
        "--renderer auto (default) animates the uploaded avatar as talkcast would (a video\n"
        "loop plays on; a still image talks when its landmarks were sent along with\n"
        "PUT /v1/avatars/{id}/landmarks, and stays still without); --renderer vector draws\n"
        "the built-in face, lip-synced to the audio, whatever was uploaded.\n");
}

int tc_cli_face_serve(int argc, char **argv)
{
    server s = {.key = getenv("TALKCAST_FACE_API_KEY"), .header = "", .quality = 4};
    const char *listen = NULL;
    char tmpdir[] = "/tmp/talkcast-face-XXXXXX";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--stamp")) {
            s.stamp = 1;
        } else if (v && !strcmp(a, "--renderer")) {
            if (strcmp(v, "auto") && strcmp(v, "vector")) {
                fprintf(stderr, "talkcast face-serve: --renderer is auto or vector\n");
                return 2;
            }
            s.vector = !strcmp(v, "vector"), i++;
        } else if (!strcmp(a, "--png")) {
            s.png = 1;
        } else if (v && !strcmp(a, "--listen")) {
            listen = v, i++;
        } else if (v && !strcmp(a, "--avatar-dir")) {
            s.dir = v, i++;
        } else if (v && !strcmp(a, "--api-key")) {
            s.key = v, i++;
        } else if (v && !strcmp(a, "--auth-header")) {
            s.header = v, i++;
        } else if (v && !strcmp(a, "--quality")) {
            s.quality = atoi(v), i++;
            if (s.quality < 2 || s.quality > 31) {
                fprintf(stderr, "talkcast face-serve: --quality must be 2 (best) to 31\n");
                return 2;
            }
        } else {
            fprintf(stderr, "talkcast face-serve: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!listen) {
        fprintf(stderr, "talkcast face-serve: --listen HOST:PORT is required\n");
        return 2;
    }
    struct sockaddr_storage sa;
    char err[256];
    if (tc_ops_listen_parse(listen, &sa, err, sizeof err) < 0) {
        fprintf(stderr, "talkcast face-serve: --listen: %s\n", err);
        return 2;
    }
    if (!s.dir) {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "talkcast face-serve: cannot create a temporary directory: %s\n",
                    strerror(errno));
            return 1;
        }
        s.dir = tmpdir;
    } else if (mkdir(s.dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "talkcast face-serve: --avatar-dir %s: %s\n", s.dir, strerror(errno));
        return 1;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "talkcast face-serve: cannot listen on %s\n", listen);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    tc_log(&log_ctx, TC_LOG_INFO,
           "serving the face provider contract on %s (port %u), avatars in %s%s%s", listen,
           info ? info->port : 0, s.dir, s.key && s.key[0] ? ", API key required" : "",
           s.stamp ? ", stamped" : "");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    while (!quit)
        usleep(100000);
    MHD_stop_daemon(d);
    tc_log(&log_ctx, TC_LOG_INFO, "stopped: %lld generations, %lld frames served",
           (long long)atomic_load(&s.generated), (long long)atomic_load(&s.frames));
    if (s.dir == tmpdir) { /* what was uploaded to our own temporary directory goes with it */
        DIR *dd = opendir(tmpdir);
        struct dirent *de;
        char p[sizeof tmpdir + 300];
        while (dd && (de = readdir(dd)))
            if (de->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
                unlink(p);
            }
        if (dd) closedir(dd);
        rmdir(tmpdir);
    }
    return 0;
}
