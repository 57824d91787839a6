/* store.c — opening the avatar store (layout, lock, crash leftovers),
 * adding an avatar and finding a name's current version. The steps of an
 * add and why each is safe to be killed after are listed at tc_avatar_add. */
#include "avatar/store_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "face/face.h"

static const tc_log_ctx log_ctx = {"avatar", NULL};

int tc_avatar_default_dir(char *buf, size_t len)
{
    const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(buf, len, "%s/talkcast/avatars", x);
    else if (h && h[0])
        n = snprintf(buf, len, "%s/.local/share/talkcast/avatars", h);
    else
        return TC_ERR_NOTFOUND;
    return n < (int)len ? TC_OK : TC_ERR_INVAL;
}

int tc_avatar_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > TC_AVATAR_NAME_MAX || name[0] == '.' || name[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i])) return 0;
    return 1;
}

int tc_avatar_store_open(tc_avatar_store **out, const char *root, tc_avatar_lock lock, char *err,
                         size_t elen)
{
    *out = NULL;
    if (tc_avatar_mkdirs(root) < 0)
        return tc_avatar_fail_errno(err, elen, "cannot create the avatar directory", root);
    tc_avatar_store *s = calloc(1, sizeof *s);
    if (!s) return tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
    s->lock_fd = -1;
    s->lock = lock;
    int rc;
    char p[PATH_MAX + 32];
    if (!realpath(root, s->root)) {
        rc = tc_avatar_fail_errno(err, elen, "cannot open the avatar directory", root);
        goto fail;
    }
    snprintf(s->dir, sizeof s->dir, "%.*s/.store", PATH_MAX - 8, s->root);
    static const char *const sub[] = {"objects", "refs", "partial", "tmp"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", s->dir, sub[i]);
        if (tc_avatar_mkdirs(p) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot create", p);
            goto fail;
        }
    }
    snprintf(p, sizeof p, "%s/lock", s->dir);
    if ((s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        rc = tc_avatar_fail_errno(err, elen, "cannot open", p);
        goto fail;
    }
    /* readers take no lock: refs are replaced atomically, so they see the
     * old or the new state, and a long download does not hold up a list */
    if (lock == TC_AVATAR_WRITE && flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        tc_log(&log_ctx, TC_LOG_INFO, "waiting for another talkcast that is changing %s", s->root);
        while (flock(s->lock_fd, LOCK_EX) < 0) {
            if (errno == EINTR) continue;
            rc = tc_avatar_fail_errno(err, elen, "cannot lock", p);
            goto fail;
        }
    }
    if (lock == TC_AVATAR_WRITE) { /* a crashed writer's staging is garbage: nothing names it */
        snprintf(p, sizeof p, "%s/tmp", s->dir);
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char q[PATH_MAX + 300];
            snprintf(q, sizeof q, "%s/%s", p, de->d_name);
            tc_log(&log_ctx, TC_LOG_INFO, "removing %s, left by an interrupted add", q);
            tc_avatar_rmtree(q);
        }
        if (d) closedir(d);
    }
    *out = s;
    return TC_OK;
fail:
    tc_avatar_store_close(s);
    return rc;
}

void tc_avatar_store_close(tc_avatar_store *s)
{
    if (!s) return;
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    free(s);
}

/* ---- add ------------------------------------------------------------------ */

static const char *const media_ext[] = {".png",  ".jpg", ".jpeg", ".webp", ".mp4",
                                        ".webm", ".mkv", ".mov",  NULL};

static int is_url(const char *s)
{
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

/* The last path component of `src` (a URL's path without query), and its
 * extension if it is a known media one. */
static void split_source(const char *src, char *base, size_t blen, char *ext, size_t xlen)
{
    char tmp[PATH_MAX];
    const char *p = src;
    if (is_url(src)) {
        p = strstr(src, "://") + 3;
        p += strcspn(p, "/");
    }
    snprintf(tmp, sizeof tmp, "%s", p);
    tmp[strcspn(tmp, "?#")] = '\0';
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = '\0';
    const char *b = strrchr(tmp, '/');
    b = b ? b + 1 : tmp;
    snprintf(base, blen, "%s", b);
    ext[0] = '\0';
    char *dot = strrchr(base, '.');
    if (!dot) return;
    for (int i = 0; media_ext[i]; i++)
        if (!strcasecmp(dot, media_ext[i])) {
            snprintf(ext, xlen, "%s", media_ext[i]);
            *dot = '\0';
            return;
        }
}

/* A source without credentials, for the ref (and `avatar list`). */
static char *clean_source(const char *src)
{
    char *c = strdup(src);
    if (!c || !is_url(c)) return c;
    char *host = strstr(c, "://") + 3, *at = strchr(host, '@'), *sl = strchr(host, '/');
    if (at && (!sl || at < sl)) memmove(host, at + 1, strlen(at + 1) + 1);
    return c;
}

/* A legacy avatar (a file of the directory itself) that answers to name. */
static int legacy_taken(const tc_avatar_store *s, const char *name)
{
    static const char *const ext[] = {"",     ".png",  ".jpg", ".jpeg", ".webp",
                                      ".mp4", ".webm", ".mkv", ".mov"};
    char p[PATH_MAX + 100];
    struct stat st;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(p, sizeof p, "%s/%s%s", s->root, name, ext[i]);
        if (lstat(p, &st) == 0) return 1;
    }
    return 0;
}

typedef struct manifest {
    char (*rel)[256];
    char (*sha)[65];
    int n, cap;
    int64_t bytes;
} manifest;

static int man_add(manifest *m, const char *rel, const char *sha, int64_t size)
{
    if (m->n == m->cap) {
        int nc = m->cap ? m->cap * 2 : 16;
        if (nc > 10000) return TC_ERR_INVAL;
        void *a = realloc(m->rel, (size_t)nc * sizeof *m->rel),
             *b = a ? realloc(m->sha, (size_t)nc * sizeof *m->sha) : NULL;
        if (a) m->rel = a;
        if (b) m->sha = b;
        if (!a || !b) return TC_ERR_NOMEM;
        m->cap = nc;
    }
    snprintf(m->rel[m->n], sizeof m->rel[0], "%s", rel);
    memcpy(m->sha[m->n], sha, 65);
    m->n++;
    m->bytes += size;
    return TC_OK;
}

/* The content address of several files: SHA-256 of the manifest sorted by
 * relative path, so the same pack gives the same sha wherever it came from. */
static void man_hash(manifest *m, char out[65])
{
    for (int i = 1; i < m->n; i++) /* insertion sort: packs are small */
        for (int j = i; j > 0 && strcmp(m->rel[j - 1], m->rel[j]) > 0; j--) {
            char r[256], h[65];
            memcpy(r, m->rel[j], sizeof r), memcpy(h, m->sha[j], sizeof h);
            memcpy(m->rel[j], m->rel[j - 1], sizeof r), memcpy(m->sha[j], m->sha[j - 1], sizeof h);
            memcpy(m->rel[j - 1], r, sizeof r), memcpy(m->sha[j - 1], h, sizeof h);
        }
    tc_avatar_sha256 h;
    tc_avatar_sha256_init(&h);
    for (int i = 0; i < m->n; i++) {
        tc_avatar_sha256_update(&h, m->rel[i], strlen(m->rel[i]) + 1);
        tc_avatar_sha256_update(&h, m->sha[i], 64);
        tc_avatar_sha256_update(&h, "\n", 1);
    }
    tc_avatar_sha256_final(&h, out);
}

/* Copy a pack directory (regular files and subdirectories; dot files are
 * left out; a symlink is refused: a pack must hold its own pictures). */
static int copy_pack(const char *from, const char *to, const char *rel, int depth, manifest *m,
                     char *err, size_t elen)
{
    if (depth > 8)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL,
                              "%s: directories nest too deep for a sprite pack", from);
    DIR *d = opendir(from);
    if (!d) return tc_avatar_fail_errno(err, elen, "cannot read", from);
    if (rel[0] && mkdir(to, 0755) < 0) {
        closedir(d);
        return tc_avatar_fail_errno(err, elen, "cannot create", to);
    }
    struct dirent *de;
    int rc = TC_OK;
    while (rc == TC_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char a[PATH_MAX], b[PATH_MAX], r[256];
        struct stat st;
        if (snprintf(a, sizeof a, "%s/%s", from, de->d_name) >= (int)sizeof a ||
            snprintf(b, sizeof b, "%s/%s", to, de->d_name) >= (int)sizeof b ||
            snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= (int)sizeof r) {
            rc = tc_avatar_fail(err, elen, TC_ERR_INVAL, "%s/%s: path too long", from, de->d_name);
        } else if (lstat(a, &st) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot read", a);
        } else if (S_ISLNK(st.st_mode)) {
            rc = tc_avatar_fail(err, elen, TC_ERR_INVAL,
                                "%s is a symlink: a pack must contain its files", a);
        } else if (S_ISDIR(st.st_mode)) {
            rc = copy_pack(a, b, r, depth + 1, m, err, elen);
        } else if (S_ISREG(st.st_mode)) {
            char sha[65];
            int64_t size = 0;
            if ((rc = tc_avatar_copy_file(a, b, sha, &size, err, elen)) == TC_OK &&
                (rc = man_add(m, r, sha, size)) < 0)
                tc_avatar_fail(err, elen, rc, "%s: too many files for a sprite pack", from);
        }
    }
    closedir(d);
    if (rc == TC_OK && rel[0] && tc_avatar_fsync_path(to) < 0)
        rc = tc_avatar_fail_errno(err, elen, "cannot write", to);
    return rc;
}

/* A photo's (or video's) mouth landmarks beside it on the server, as beside
 * a local file: URL/NAME.EXT -> URL/NAME.landmarks.json, fetched to `to`
 * (*has = 1). A 4xx answer means there are none; a network failure fails
 * the add (it would install a photo that cannot talk). */
static int fetch_landmarks(const char *url, const char *pdir, const char *to,
                           const tc_avatar_add_opts *o, int *has, char *err, size_t elen)
{
    *has = 0;
    size_t end = strcspn(url, "?#"), slash = 0, dot = 0;
    for (size_t i = 0; i < end; i++) {
        if (url[i] == '/') slash = i;
        if (url[i] == '.') dot = i;
    }
    if (dot <= slash) return TC_OK; /* no extension: nothing to put beside */
    char lurl[4096];
    if (snprintf(lurl, sizeof lurl, "%.*s.landmarks.json%s", (int)dot, url, url + end) >=
        (int)sizeof lurl)
        return TC_OK;
    tc_avatar_add_opts lo = *o;
    lo.sha256 = NULL;
    lo.max_bytes = 1 << 20;
    tc_avatar_fetch_result fr;
    char why[1024];
    int rc = tc_avatar_fetch(lurl, pdir, to, &lo, &fr, why, sizeof why);
    if (rc < 0 && fr.http_status >= 400 && fr.http_status < 500) {
        tc_log(&log_ctx, TC_LOG_DEBUG, "no landmarks beside it (HTTP %ld)", fr.http_status);
        return TC_OK;
    }
    if (rc < 0) return tc_avatar_fail(err, elen, rc, "its landmarks: %s", why);
    tc_log(&log_ctx, TC_LOG_INFO, "with its mouth landmarks (%lld bytes)", (long long)fr.size);
    *has = 1;
    return TC_OK;
}

/* Download `url` (and its landmarks) into partial/<key>.got[.lm] without
 * holding the store's lock, so that a long download does not hold up a
 * remove, a gc or a local add; downloads take partial/.lock among
 * themselves (and gc leaves partial/ alone while one runs). The store's lock
 * is held again on return, whatever happened. */
static int download(tc_avatar_store *s, const char *url, const tc_avatar_add_opts *o, char *got,
                    char *lm, size_t plen, int *has_lm, tc_avatar_fetch_result *fr, char *err,
                    size_t elen)
{
    char pdir[PATH_MAX + 16], lockp[PATH_MAX + 32], key[65];
    snprintf(pdir, sizeof pdir, "%s/partial", s->dir);
    snprintf(lockp, sizeof lockp, "%s/.lock", pdir);
    tc_avatar_sha256 h;
    tc_avatar_sha256_init(&h);
    tc_avatar_sha256_update(&h, url, strlen(url));
    tc_avatar_sha256_final(&h, key);
    snprintf(got, plen, "%s/%.32s.got", pdir, key);
    snprintf(lm, plen, "%s/%.32s.got.lm", pdir, key);
    int dl = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (dl < 0) return tc_avatar_fail_errno(err, elen, "cannot open", lockp);
    flock(s->lock_fd, LOCK_UN);
    if (flock(dl, LOCK_EX | LOCK_NB) < 0) {
        tc_log(&log_ctx, TC_LOG_INFO, "waiting for another download into %s", s->root);
        while (flock(dl, LOCK_EX) < 0 && errno == EINTR) {
        }
    }
    int rc = tc_avatar_fetch(url, pdir, got, o, fr, err, elen);
    if (rc == TC_OK) rc = fetch_landmarks(url, pdir, lm, o, has_lm, err, elen);
    while (flock(s->lock_fd, LOCK_EX) < 0 && errno == EINTR) {
    }
    close(dl); /* after the store's lock: gc cannot slip in between */
    return rc;
}

/* Decode the staged avatar as run would (a small size): what does not load
 * is never installed. */
static int probe(const char *path, const tc_avatar_add_opts *o, char *kind, size_t klen, char *err,
                 size_t elen)
{
    tc_face_config fc = {
        .width = o->width > 0 ? o->width : 64,
        .height = o->height > 0 ? o->height : 64,
        .pix_fmt = AV_PIX_FMT_YUV420P,
        .fps_num = 30,
        .fps_den = 1,
        .path = path,
        .seed = 1,
        .video_cache_bytes = 1, /* decoded on the fly: the probe needs one frame */
    };
    tc_face *f = NULL;
    int rc = tc_face_create_auto(&f, &fc);
    if (rc < 0)
        return tc_avatar_fail(
            err, elen, TC_ERR_FORMAT,
            "not an avatar (%s): it does not load as an image, photo, video or sprite pack",
            tc_strerror(rc));
    AVFrame *fr = av_frame_alloc();
    int changed = 0;
    tc_mouth m = {0};
    rc = fr ? tc_face_render(f, 0, &m, fr, &changed) : TC_ERR_NOMEM;
    av_frame_free(&fr);
    snprintf(kind, klen, "%s", tc_face_name(f));
    tc_face_destroy(f);
    if (rc < 0)
        return tc_avatar_fail(err, elen, TC_ERR_FORMAT,
                              "not an avatar: its first frame does not render (%s)",
                              tc_strerror(rc));
    return TC_OK;
}

static void step(const tc_avatar_add_opts *o, const char *what)
{
    tc_log(&log_ctx, TC_LOG_DEBUG, "add: %s", what);
    if (o->on_step) o->on_step(o->opaque, what);
}

/* Steps (a kill after any one leaves the store valid):
 *   1. stage into tmp/add-XXXXXX (fetch or copy, hashing) — garbage in tmp/
 *   2. verify: the sha asked for, then the content decodes — still in tmp/
 *   3. fsync, rename tmp/add-X → objects/<sha> — an object no ref names yet
 *      (gc removes it; a retried add finds it and skips to 4)
 *   4. the ref rewritten atomically with the new current version. */
int tc_avatar_add(tc_avatar_store *s, const char *src, const tc_avatar_add_opts *o,
                  tc_avatar_info *info, char *err, size_t elen)
{
    memset(info, 0, sizeof *info);
    if (s->lock != TC_AVATAR_WRITE)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "the store is open read-only");
    char base[256], ext[16], name[TC_AVATAR_NAME_MAX + 1];
    split_source(src, base, sizeof base, ext, sizeof ext);
    const char *nm = o->name ? o->name : base;
    if (!tc_avatar_name_ok(nm))
        return tc_avatar_fail(
            err, elen, TC_ERR_INVAL,
            "'%s' cannot be an avatar name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -)%s",
            nm, o->name ? "" : "; give one with --name");
    memcpy(name, nm, strlen(nm) + 1); /* name_ok: at most TC_AVATAR_NAME_MAX */
    if (o->sha256 && !tc_avatar_hex64(o->sha256))
        return tc_avatar_fail(err, elen, TC_ERR_INVAL,
                              "--sha256 wants 64 lowercase hex digits, not '%s'", o->sha256);
    if (legacy_taken(s, name))
        return tc_avatar_fail(err, elen, TC_ERR_INVAL,
                              "'%s' is taken by a file in %s that set_avatar already finds by that "
                              "name; choose another --name",
                              name, s->root);

    char stage[PATH_MAX + 32], file[64], entry[PATH_MAX + 128], sha[65], fsha[65];
    char got[PATH_MAX + 64], lmgot[PATH_MAX + 64];
    tc_avatar_fetch_result fr;
    int has_lm = 0, rc;
    if (is_url(src) &&
        (rc = download(s, src, o, got, lmgot, sizeof got, &has_lm, &fr, err, elen)) < 0)
        return rc;
    snprintf(stage, sizeof stage, "%s/tmp/add-XXXXXX", s->dir);
    if (!mkdtemp(stage))
        return tc_avatar_fail_errno(err, elen, "cannot create a staging directory in", s->dir);
    manifest m = {0};
    int single = 0;
    struct stat st;
    if (is_url(src)) {
        snprintf(file, sizeof file, "avatar%s", ext);
        snprintf(entry, sizeof entry, "%s/%s", stage, file);
        if (rename(got, entry) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot stage the download", got);
            goto out;
        }
        info->resumed_from = fr.resumed_from;
        memcpy(fsha, fr.sha, sizeof fsha);
        if ((rc = man_add(&m, file, fsha, fr.size)) < 0) goto nomem;
        single = 1;
        if (o->sha256 && strcmp(o->sha256, fsha)) { /* fetch checked it; a bug if not */
            rc = tc_avatar_fail(err, elen, TC_ERR_FORMAT, "%s: sha256 mismatch", src);
            goto out;
        }
        if (has_lm) {
            char lsha[65], to[PATH_MAX + 64];
            int64_t lsize;
            snprintf(to, sizeof to, "%s/avatar.landmarks.json", stage);
            if (rename(lmgot, to) < 0 || tc_avatar_sha256_file(to, lsha, &lsize) < 0) {
                rc = tc_avatar_fail_errno(err, elen, "cannot stage the download", lmgot);
                goto out;
            }
            if ((rc = man_add(&m, "avatar.landmarks.json", lsha, lsize)) < 0) goto nomem;
        }
        step(o, "fetched");
    } else if (stat(src, &st) < 0) {
        rc = tc_avatar_fail_errno(err, elen, "cannot add", src);
        goto out;
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(file, sizeof file, ".");
        snprintf(entry, sizeof entry, "%s", stage);
        if ((rc = copy_pack(src, stage, "", 0, &m, err, elen)) < 0) goto out;
        if (m.n == 0) {
            rc = tc_avatar_fail(err, elen, TC_ERR_FORMAT,
                                "%s is an empty directory, not a sprite pack", src);
            goto out;
        }
    } else {
        int64_t size;
        snprintf(file, sizeof file, "avatar%s", ext);
        snprintf(entry, sizeof entry, "%s/%s", stage, file);
        if ((rc = tc_avatar_copy_file(src, entry, fsha, &size, err, elen)) < 0) goto out;
        if ((rc = man_add(&m, file, fsha, size)) < 0) goto nomem;
        single = 1;
    }
    if (single && o->sha256 && strcmp(o->sha256, fsha)) {
        rc = tc_avatar_fail(err, elen, TC_ERR_FORMAT,
                            "%s has sha256 %s, not the %s asked for: not installed", src, fsha,
                            o->sha256);
        goto out;
    }
    if (single && !is_url(src)) { /* a photo's mouth landmarks travel with it */
        char *dot = strrchr(src, '.'), *sl = strrchr(src, '/');
        int n = dot && (!sl || dot > sl) ? (int)(dot - src) : (int)strlen(src);
        char lm[PATH_MAX + 32], to[PATH_MAX + 64], lsha[65];
        int64_t lsize;
        snprintf(lm, sizeof lm, "%.*s.landmarks.json", n, src);
        if (stat(lm, &st) == 0) {
            snprintf(to, sizeof to, "%s/avatar.landmarks.json", stage);
            if ((rc = tc_avatar_copy_file(lm, to, lsha, &lsize, err, elen)) < 0) goto out;
            if ((rc = man_add(&m, "avatar.landmarks.json", lsha, lsize)) < 0) goto nomem;
        }
    }
    if (m.n == 1 && single)
        memcpy(sha, fsha, sizeof sha);
    else
        man_hash(&m, sha);
    step(o, "staged");

    if ((rc = probe(entry, o, info->kind, sizeof info->kind, err, elen)) < 0) goto out;
    step(o, "verified");

    char obj[PATH_MAX + 80];
    snprintf(obj, sizeof obj, "%s/objects/%s", s->dir, sha);
    if (stat(obj, &st) == 0) {
        info->existed = 1;
        tc_avatar_rmtree(stage);
    } else {
        char objs[PATH_MAX + 16];
        snprintf(objs, sizeof objs, "%s/objects", s->dir);
        if (tc_avatar_fsync_path(stage) < 0 || rename(stage, obj) < 0 ||
            tc_avatar_fsync_path(objs) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot install", obj);
            goto out;
        }
    }
    stage[0] = '\0';
    step(o, "installed");

    /* 4: the name's versions, the new one current */
    char refp[PATH_MAX];
    tc_avatar_entry e;
    tc_avatar_ref_path(s, name, refp, sizeof refp);
    rc = tc_avatar_ref_load(refp, name, &e, err, elen);
    if (rc == TC_ERR_NOTFOUND) {
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "%s", name);
    } else if (rc < 0) {
        goto out;
    }
    int at = -1;
    for (int i = 0; i < e.n_versions; i++)
        if (!strcmp(e.versions[i].sha, sha)) at = i;
    if (at < 0) {
        tc_avatar_version *nv = realloc(e.versions, (size_t)(e.n_versions + 1) * sizeof *nv);
        char absrc[PATH_MAX];
        char *cs = clean_source(is_url(src) || !realpath(src, absrc) ? src : absrc);
        if (!nv || !cs) {
            if (nv) e.versions = nv;
            free(cs);
            tc_avatar_entry_clear(&e);
            goto nomem;
        }
        e.versions = nv;
        at = e.n_versions++;
        tc_avatar_version *v = &e.versions[at];
        memset(v, 0, sizeof *v);
        memcpy(v->sha, sha, sizeof v->sha);
        snprintf(v->kind, sizeof v->kind, "%s", info->kind);
        snprintf(v->file, sizeof v->file, "%s", file);
        v->source = cs;
        v->size = tc_avatar_du(obj);
        v->added = (int64_t)time(NULL);
    }
    e.current = at;
    rc = tc_avatar_ref_save(s, &e, err, elen);
    snprintf(info->name, sizeof info->name, "%s", name);
    memcpy(info->sha, sha, sizeof info->sha);
    info->size = e.versions[at].size;
    tc_avatar_entry_clear(&e);
    if (rc == TC_OK) step(o, "ref-written");
    goto out;
nomem:
    rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
out:
    if (stage[0]) tc_avatar_rmtree(stage);
    free(m.rel);
    free(m.sha);
    return rc;
}

/* ---- resolve ---------------------------------------------------------------- */

int tc_avatar_resolve(const char *root, const char *name, char *path, size_t len, char *kind,
                      size_t klen)
{
    if (!tc_avatar_name_ok(name)) return TC_ERR_NOTFOUND;
    char ref[PATH_MAX];
    if (snprintf(ref, sizeof ref, "%s/.store/refs/%s.json", root, name) >= (int)sizeof ref)
        return TC_ERR_NOTFOUND;
    tc_avatar_entry e;
    int rc = tc_avatar_ref_load(ref, name, &e, NULL, 0);
    if (rc < 0) return rc;
    const tc_avatar_version *v = &e.versions[e.current];
    int n = strcmp(v->file, ".")
                ? snprintf(path, len, "%s/.store/objects/%s/%s", root, v->sha, v->file)
                : snprintf(path, len, "%s/.store/objects/%s", root, v->sha);
    if (kind && klen) snprintf(kind, klen, "%s", v->kind);
    tc_avatar_entry_clear(&e);
    struct stat st;
    if (n >= (int)len || stat(path, &st) < 0) return TC_ERR_NOTFOUND;
    return TC_OK;
}
