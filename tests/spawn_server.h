/* spawn_server.h — start a test's local HTTP server (a Python script under
 * tests/) and learn its address. The script binds 127.0.0.1 port 0 and
 * prints "PORT=N" on a line of its own to stdout once it listens. */
#ifndef TC_TEST_SPAWN_SERVER_H
#define TC_TEST_SPAWN_SERVER_H

#include <stddef.h>
#include <sys/types.h>

/* Run `python3 $TC_SOURCE_DIR/SCRIPT ARGS…` (argv NULL-terminated, at most
 * 6) and wait for its PORT line; base gets "http://127.0.0.1:N". Returns 0
 * with *pid set, or -1 with a line on stderr (no script, it died). */
int tc_test_spawn_server(const char *script, const char *const *args, pid_t *pid, char *base, size_t len);

#endif
