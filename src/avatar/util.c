/* util.c — file-system steps of the avatar store, each done so that a
 * crash leaves the old or the new state: data is fsynced before the rename
 * that publishes it, and the directory after. */
#include "avatar/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

int tc_avatar_fail(char *err, size_t elen, int code, const char *fmt, ...)
{
    if (err && elen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, elen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int tc_avatar_fail_errno(char *err, size_t elen, const char *what, const char *path)
{
    int e = errno;
    const char *hint = e == ENOSPC   ? " (the disk is full)"
                       : e == EDQUOT ? " (over the disk quota)"
                                     : "";
    return tc_avatar_fail(err, elen, tc_err_from_errno(-e), "%s %s: %s%s", what, path, strerror(e),
                          hint);
}

int tc_avatar_mkdirs(const char *path)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
        *c = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int tc_avatar_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Bytes of regular files below dir fd `fd` (which it closes); symlinks
 * are not followed, depth is bounded. */
static int64_t du_fd(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISREG(st.st_mode))
            total += st.st_size;
        else if (S_ISDIR(st.st_mode) && depth < 16) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) total += du_fd(sub, depth + 1);
        }
    }
    closedir(d);
    return total;
}

int64_t tc_avatar_du(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return 0;
    if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) ? st.st_size : 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? 0 : du_fd(fd, 0);
}

int tc_avatar_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static int parent_sync(const char *path)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *sl = strrchr(d, '/');
    if (!sl) return 0;
    *sl = '\0';
    return tc_avatar_fsync_path(d[0] ? d : "/");
}

int tc_avatar_write_atomic(const char *path, const char *data, size_t n)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        fd = -1;
        goto fail;
    }
    return parent_sync(path);
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

int tc_avatar_copy_file(const char *from, const char *to, char sha[65], int64_t *size, char *err,
                        size_t elen)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return tc_avatar_fail_errno(err, elen, "cannot read", from);
    struct stat st;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "%s is not a regular file", from);
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int r = tc_avatar_fail_errno(err, elen, "cannot create", to);
        close(in);
        return r;
    }
    tc_avatar_sha256 h;
    tc_avatar_sha256_init(&h);
    char *buf = malloc(1 << 16);
    int rc = buf ? TC_OK : tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
    while (rc == TC_OK) {
        ssize_t n = read(in, buf, 1 << 16);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot read", from);
            break;
        }
        if (n == 0) break;
        tc_avatar_sha256_update(&h, buf, (size_t)n);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                rc = tc_avatar_fail_errno(err, elen, "cannot write", to);
                break;
            }
            off += w;
        }
        if (rc) break;
    }
    free(buf);
    if (rc == TC_OK && fsync(out) < 0) rc = tc_avatar_fail_errno(err, elen, "cannot write", to);
    if (close(out) < 0 && rc == TC_OK) rc = tc_avatar_fail_errno(err, elen, "cannot write", to);
    close(in);
    if (rc) {
        unlink(to);
        return rc;
    }
    if (size) *size = (int64_t)h.len;
    tc_avatar_sha256_final(&h, sha);
    return TC_OK;
}
