/* avatar.h — the avatar store: avatars added once (from a path or a URL),
 * kept by content, in versions, and looked up by name at run time.
 *
 * Layout under the avatar directory ROOT (the --avatar-dir that set_avatar
 * uses; a dot directory, so no set_avatar name can reach into it directly):
 *   ROOT/.store/lock                 flock: one writer at a time
 *   ROOT/.store/objects/<sha256>/    installed content, never modified:
 *                                    avatar.<ext> [+ avatar.landmarks.json]
 *                                    or a sprite pack (sprites.json + images)
 *   ROOT/.store/refs/<name>.json     versions of a name and the current one
 *   ROOT/.store/partial/<key>.part   a download in progress (+ <key>.json:
 *                                    URL, validator, expected size) to resume;
 *                                    <key>.got a finished one not yet staged;
 *                                    .lock: one download at a time
 *   ROOT/.store/tmp/                 staging; whatever is here after a crash
 *                                    is removed by the next writer
 *
 * Invariants: an object directory appears by one rename(2) of a staged and
 * verified (decodes as an avatar) directory, so it is complete or absent; a
 * ref is replaced by one rename of a fsynced file, so it names the old or the
 * new versions, never a mix; a ref only names objects that exist (objects
 * are installed before the ref that names them and removed after). The sha
 * of a single file without sidecar is the file's SHA-256; with a landmarks
 * sidecar, or a pack, it is the SHA-256 of the sorted manifest
 * "relpath\0filesha\n" of its files.
 *
 * Errors: functions return 0 or a negative tc_err and describe the problem
 * for a user in `err` (never printed here; src/cli/ decides). */
#ifndef TC_AVATAR_H
#define TC_AVATAR_H

#include <stddef.h>
#include <stdint.h>

/* ---- SHA-256 (sha256.c) ------------------------------------------------- */
typedef struct tc_avatar_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} tc_avatar_sha256;
void tc_avatar_sha256_init(tc_avatar_sha256 *s);
void tc_avatar_sha256_update(tc_avatar_sha256 *s, const void *data, size_t n);
void tc_avatar_sha256_final(tc_avatar_sha256 *s, char hex[65]); /* lowercase hex + NUL */
/* Hash a whole file; *size (may be NULL) gets its length. */
int tc_avatar_sha256_file(const char *path, char hex[65], int64_t *size);

/* ---- the store (store.c) ------------------------------------------------ */
#define TC_AVATAR_NAME_MAX 64

typedef struct tc_avatar_store tc_avatar_store;

/* The default ROOT when --avatar-dir is unset:
 * $XDG_DATA_HOME/talkcast/avatars, else ~/.local/share/talkcast/avatars. */
int tc_avatar_default_dir(char *buf, size_t len);

/* 1 when `name` may name a stored avatar: 1-64 of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
int tc_avatar_name_ok(const char *name);

typedef enum tc_avatar_lock { TC_AVATAR_READ = 0, TC_AVATAR_WRITE = 1 } tc_avatar_lock;

/* Open (creating the layout) the store under `root`. A writer takes the
 * store's lock (waiting for another writer; an add lets go of it while it
 * downloads) and clears tmp/ of what a crashed writer left; a reader takes
 * no lock (refs are replaced atomically; an object may vanish under it). */
int tc_avatar_store_open(tc_avatar_store **out, const char *root, tc_avatar_lock lock, char *err,
                         size_t elen);
void tc_avatar_store_close(tc_avatar_store *s); /* releases the lock; accepts NULL */

/* Called between the steps of an add (for progress, and for tests that
 * kill the process there): "fetched", "staged", "verified", "installed",
 * "ref-written". */
typedef void (*tc_avatar_step_fn)(void *opaque, const char *step);

typedef struct tc_avatar_add_opts {
    const char *name;       /* NULL = the source's base name without extension */
    const char *sha256;     /* expected SHA-256 (hex) of the file fetched/read, or NULL */
    double connect_timeout; /* s, for URLs; 0 = 10 */
    double stall_timeout;   /* s without a byte before a transfer is given up; 0 = 30 */
    int retries;            /* extra attempts after a dropped transfer (resuming) */
    int64_t max_bytes;      /* largest download accepted; 0 = 4 GiB */
    int width, height;      /* probe size; 0 = 64x64 */
    tc_avatar_step_fn on_step;
    void *opaque;
} tc_avatar_add_opts;

typedef struct tc_avatar_info {
    char name[TC_AVATAR_NAME_MAX + 1];
    char sha[65];
    char kind[16];        /* the renderer that loaded it: image, photo, video, sprite */
    int64_t size;         /* bytes of the object */
    int existed;          /* the object was in the store already */
    int64_t resumed_from; /* a download resumed at this byte (0 = from the start) */
} tc_avatar_info;

/* Add PATH (a file, with its landmarks sidecar if any, or a pack
 * directory) or an http(s) URL (one file, and NAME.landmarks.json beside
 * it on the server if there is one) under a name, as that name's current
 * version. A name that a file of the legacy directory already answers to is
 * refused (TC_ERR_INVAL). Needs the WRITE lock. */
int tc_avatar_add(tc_avatar_store *s, const char *src, const tc_avatar_add_opts *o,
                  tc_avatar_info *info, char *err, size_t elen);

typedef struct tc_avatar_version {
    char sha[65];
    char kind[16];
    char file[64]; /* the entry inside the object: "avatar.png", or "." for a pack */
    char *source;  /* where it came from (owned by the list) */
    int64_t size;
    int64_t added; /* unix seconds */
} tc_avatar_version;

typedef struct tc_avatar_entry {
    char name[TC_AVATAR_NAME_MAX + 1];
    int current; /* index into versions */
    int n_versions;
    tc_avatar_version *versions;
} tc_avatar_entry;

/* Every name, sorted. Free with tc_avatar_list_free. */
int tc_avatar_list(tc_avatar_store *s, tc_avatar_entry **out, int *n, char *err, size_t elen);
void tc_avatar_list_free(tc_avatar_entry *e, int n);

/* Remove a name (every version), or one non-current version (`version` a
 * sha or a unique prefix of 6+ hex digits). Objects no name uses any more
 * are deleted. Needs the WRITE lock. */
int tc_avatar_remove(tc_avatar_store *s, const char *name, const char *version, char *err,
                     size_t elen);

/* Make a stored version current again (roll back). Needs the WRITE lock. */
int tc_avatar_use(tc_avatar_store *s, const char *name, const char *version, char *err,
                  size_t elen);

/* Collect garbage: leftovers of crashed writers, objects no name uses, and
 * then, while the store is over `max_bytes` (< 0 = no cap), non-current
 * versions, oldest added first. A name's current version is never removed.
 * *freed / *total (may be NULL) get the bytes removed and left. */
int tc_avatar_gc(tc_avatar_store *s, int64_t max_bytes, int64_t *freed, int64_t *total, char *err,
                 size_t elen);

/* Where the current version of stored `name` lives under `root`: fills
 * `path` (ROOT/.store/objects/<sha>/<file>) and returns 0, or
 * TC_ERR_NOTFOUND when no such name is stored. Reads one ref file (replaced
 * atomically by writers), so it needs no lock; the path is built from
 * checked parts only (a plain name, 64 hex digits, a plain file name). */
int tc_avatar_resolve(const char *root, const char *name, char *path, size_t len, char *kind,
                      size_t klen);

/* ---- downloads (fetch.c) ------------------------------------------------ */
typedef struct tc_avatar_fetch_result {
    int64_t size;
    int64_t resumed_from;
    char sha[65];
    long http_status;
} tc_avatar_fetch_result;

/* Download `url` into `dest` (a new file), through `partial_dir`: a
 * transfer that dropped resumes with Range when the server answers 206 for
 * the same validator (ETag or Last-Modified), else starts over. A given
 * sha256 that does not match discards the download (TC_ERR_FORMAT). */
int tc_avatar_fetch(const char *url, const char *partial_dir, const char *dest,
                    const tc_avatar_add_opts *o, tc_avatar_fetch_result *res, char *err,
                    size_t elen);

#endif
