/* spawn_server.c — see spawn_server.h. */
#include "spawn_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tc_test_spawn_server(const char *script, const char *const *args, pid_t *pid, char *base, size_t len)
{
    const char *src = getenv("TC_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "TC_SOURCE_DIR is not set (run the tests with meson test)\n");
        return -1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/tests/%s", src, script);
    const char *argv[9] = { "python3", path };
    int argc = 2;
    for (; args && args[argc - 2] && argc < 8; argc++) argv[argc] = args[argc - 2];
    argv[argc] = NULL;
    int pfd[2];
    if (pipe(pfd)) return -1;
    *pid = fork();
    if (*pid < 0) return -1;
    if (*pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    /* read until the "PORT=N" line (the server may take a moment) */
    char buf[256] = "";
    size_t have = 0;
    char *p = NULL;
    while (!(p = strstr(buf, "PORT=")) || !strchr(p, '\n')) {
        ssize_t n = read(pfd[0], buf + have, sizeof buf - 1 - have);
        if (n <= 0) {
            fprintf(stderr, "%s did not start (read '%s')\n", script, buf);
            close(pfd[0]);
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
    }
    close(pfd[0]);
    snprintf(base, len, "http://127.0.0.1:%d", atoi(p + 5));
    return 0;
}
