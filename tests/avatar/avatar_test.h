/* avatar_test.h — what the avatar tests share: a private temp dir, files
 * made with the ffmpeg CLI, and reading files back. */
#ifndef TC_AVATAR_TEST_H
#define TC_AVATAR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char at_dir[64];

static inline int at_setup_dir(void)
{
    snprintf(at_dir, sizeof at_dir, "/tmp/tc-avatar-XXXXXX");
    return mkdtemp(at_dir) ? 0 : -1;
}

static inline void at_rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", at_dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", at_dir);
}

/* A still of one colour at at_dir/name (a relative path); returns 0. */
static inline int at_png(const char *name, const char *color)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=%s:s=96x64 -frames:v 1 '%s/%s'",
             color, at_dir, name);
    return system(cmd);
}

static inline int at_write(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", at_dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* Entries in a directory (no . and ..), or -1. */
static inline int at_count(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static inline int at_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

#endif
