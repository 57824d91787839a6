/* store_int.h — what the store's files share (not part of the API):
 * file-system helpers that keep the crash-safety invariants of avatar.h,
 * and refs held in memory. */
#ifndef TC_AVATAR_STORE_INT_H
#define TC_AVATAR_STORE_INT_H

#include <limits.h>
#include <stdarg.h>

#include "avatar/avatar.h"

struct tc_avatar_store {
    char root[PATH_MAX]; /* the avatar directory, resolved */
    char dir[PATH_MAX];  /* root/.store */
    int lock_fd;
    tc_avatar_lock lock;
};

/* err: printf into a caller's buffer; returns `code` for tail calls. */
int tc_avatar_fail(char *err, size_t elen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A tc_err for errno, with a message naming what failed. */
int tc_avatar_fail_errno(char *err, size_t elen, const char *what, const char *path);

int tc_avatar_mkdirs(const char *path);     /* mkdir -p */
int tc_avatar_rmtree(const char *path);     /* rm -rf, no symlink followed */
int64_t tc_avatar_du(const char *path);     /* bytes of regular files below */
int tc_avatar_fsync_path(const char *path); /* a file or a directory */
/* Write `data` to path via path.tmp + fsync + rename + fsync(dir). */
int tc_avatar_write_atomic(const char *path, const char *data, size_t n);
/* Copy a regular file (fsynced), hashing it; refuses anything else. */
int tc_avatar_copy_file(const char *from, const char *to, char sha[65], int64_t *size, char *err,
                        size_t elen);

/* refs (refs.c) */
int tc_avatar_ref_path(const tc_avatar_store *s, const char *name, char *path, size_t len);
/* TC_ERR_NOTFOUND when the name has no ref. */
int tc_avatar_ref_load(const char *path, const char *name, tc_avatar_entry *e, char *err,
                       size_t elen);
int tc_avatar_ref_save(const tc_avatar_store *s, const tc_avatar_entry *e, char *err, size_t elen);
void tc_avatar_entry_clear(tc_avatar_entry *e);
/* The index of the version `v` names (full sha or unique prefix of >= 6). */
int tc_avatar_find_version(const tc_avatar_entry *e, const char *v, char *err, size_t elen);
int tc_avatar_hex64(const char *s); /* 64 lowercase hex digits */

#endif
