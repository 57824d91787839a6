/* file.c — see file.h. */
#include "core/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

int tc_file_replace(const char *path, const void *data, size_t n)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return TC_ERR_IO;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) return TC_ERR_IO;
    const char *p = data;
    size_t off = 0;
    int ok = fchmod(fd, 0644) == 0;
    while (ok && off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = 0;
        else off += (size_t)w;
    }
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (ok) return TC_OK;
    unlink(tmp);
    errno = e;
    return TC_ERR_IO;
}
