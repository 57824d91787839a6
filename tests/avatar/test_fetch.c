/* test_fetch.c — downloads against a local server that misbehaves like
 * real ones (tests/avatar/avatar_http_server.py on 127.0.0.1): a plain
 * download, a connection dropped mid-body (resumed with Range/If-Range and
 * 206, within one add and across two), a server that ignores Range (starts
 * over), a file whose ETag changed between attempts (starts over), a broken
 * server that resumes another version (noticed, discarded), no
 * Content-Length, 404, a wrong sha256, connection refused — each with the
 * exact bytes or a clear error, and never a partial left where it would
 * be wrong. Then `add` from a URL: downloaded, verified, installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "avatar/avatar.h"
#include "core/clock.h"
#include "core/err.h"
#include "avatar_test.h"
#include "../spawn_server.h"

static char base[64], logpath[300], partial[300], want_sha[65], err[2048];
static pid_t server;
static int64_t want_size;

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("TC_SOURCE_DIR");
    if (!src || at_setup_dir() < 0) return -1;
    snprintf(logpath, sizeof logpath, "%s/requests.log", at_dir);
    snprintf(partial, sizeof partial, "%s/partial", at_dir);
    if (mkdir(partial, 0755) < 0) return -1;
    /* 300 KB of incompressible data: several writes, a real middle */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir '%s/www' && head -c 300000 /dev/urandom > '%s/www/blob.bin'",
             at_dir, at_dir);
    if (system(cmd) != 0) return -1;
    snprintf(cmd, sizeof cmd, "%s/www/blob.bin", at_dir);
    if (tc_avatar_sha256_file(cmd, want_sha, &want_size) < 0) return -1;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=orange:s=96x64 -frames:v 1 "
             "'%s/www/face.png'",
             at_dir);
    if (system(cmd) != 0) return -1;
    snprintf(
        cmd, sizeof cmd,
        "ffmpeg -nostdin -v error -y -f lavfi -i 'nullsrc=s=960x540,geq=random(1)*255:128:128' "
        "-frames:v 1 '%s/www/noise.png'",
        at_dir);
    if (system(cmd) != 0) return -1;
    const char *sh = getenv("TC_SHARED_DIR");
    if (!sh) return -1;
    snprintf(cmd, sizeof cmd,
             "cp '%s/avatars/astronaut.png' '%s/www/astro.png' && cp "
             "'%s/assets/avatars/astronaut.landmarks.json' '%s/www/astro.landmarks.json'",
             sh, at_dir, src, at_dir);
    if (system(cmd) != 0) return -1;
    char www[300];
    snprintf(www, sizeof www, "%s/www", at_dir);
    const char *args[] = { www, logpath, NULL };
    if (tc_test_spawn_server("avatar/avatar_http_server.py", args, &server, base, sizeof base) < 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    at_rm_dir();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/* '%s'/dest* && : > '%s'", partial, at_dir, logpath);
    return system(cmd);
}

static int fetch(const char *path, const char *sha, int retries, tc_avatar_fetch_result *r)
{
    char url[256], dest[300];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(dest, sizeof dest, "%s/dest", at_dir);
    tc_avatar_add_opts o = {
        .sha256 = sha, .retries = retries, .connect_timeout = 2, .stall_timeout = 5};
    return tc_avatar_fetch(url, partial, dest, &o, r, err, sizeof err);
}

/* Requests the server logged containing all of `a` and `b` (NULL = any). */
static int logged(const char *a, const char *b)
{
    FILE *f = fopen(logpath, "r");
    if (!f) return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if ((!a || strstr(line, a)) && (!b || strstr(line, b))) n++;
    fclose(f);
    return n;
}

static void dest_is_blob(void)
{
    char p[300], sha[65];
    int64_t size;
    snprintf(p, sizeof p, "%s/dest", at_dir);
    assert_int_equal(tc_avatar_sha256_file(p, sha, &size), TC_OK);
    assert_int_equal(size, want_size);
    assert_string_equal(sha, want_sha);
    assert_int_equal(at_count(partial), 0); /* nothing left behind */
}

static void test_plain(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/ok/blob.bin", want_sha, 0, &r), TC_OK);
    assert_int_equal(r.resumed_from, 0);
    assert_string_equal(r.sha, want_sha);
    dest_is_blob();
    assert_int_equal(logged("\"range\": null", NULL), 1);
}

static void test_drop_resumes_with_range(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/drop/blob.bin", want_sha, 2, &r), TC_OK);
    dest_is_blob();
    assert_int_equal(r.resumed_from, want_size / 2);
    assert_int_equal(logged("\"dropped\": true", NULL), 1);
    char rng[64];
    snprintf(rng, sizeof rng, "\"range\": \"bytes=%lld-\"", (long long)(want_size / 2));
    assert_int_equal(logged(rng, "\"status\": 206"), 1);
    assert_int_equal(logged("\"if_range\": \"\\\"v1\\\"\"", NULL), 1);
}

static void test_drop_then_later_add_resumes(void **state)
{
    (void)state;
    /* no retries: the first fetch fails and keeps its partial ... */
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/drop/blob.bin?later", want_sha, 0, &r), TC_ERR_NET);
    assert_non_null(strstr(err, "again to resume"));
    assert_int_equal(at_count(partial), 2); /* .part + .json */
    char dest[300];
    snprintf(dest, sizeof dest, "%s/dest", at_dir);
    assert_false(at_exists(dest));
    /* ... that the next one, a new process as far as it knows, resumes */
    assert_int_equal(fetch("/drop/blob.bin?later", want_sha, 0, &r), TC_OK);
    dest_is_blob();
    assert_int_equal(r.resumed_from, want_size / 2);
    assert_int_equal(logged("\"status\": 206", NULL), 1);
}

static void test_server_ignores_range(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/drop-norange/blob.bin", want_sha, 2, &r), TC_OK);
    dest_is_blob(); /* the whole file again, not appended to the half */
    assert_int_equal(r.resumed_from, 0);
    assert_int_equal(logged("\"range\": \"bytes=", "\"status\": 200"), 1);
}

static void test_etag_changed(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/etag-change/blob.bin", want_sha, 2, &r), TC_OK);
    dest_is_blob();
    assert_int_equal(r.resumed_from, 0);
    /* asked to resume version "a"; the server had "b" and sent all of it */
    assert_int_equal(logged("\"if_range\": \"\\\"a\\\"\"", "\"status\": 200"), 1);
}

static void test_broken_server_resumes_other_version(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/bad-ifrange/blob.bin", want_sha, 1, &r), TC_OK);
    dest_is_blob();
    assert_int_equal(r.resumed_from, 0);
    assert_int_equal(logged("\"status\": 206", NULL), 1);       /* the wrong 206, refused */
    assert_int_equal(logged("\"range\": null", "\"n\": 2"), 1); /* then from scratch */
}

static void test_no_length(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    assert_int_equal(fetch("/nolength/blob.bin", NULL, 0, &r), TC_OK);
    dest_is_blob();
}

static void test_failures(void **state)
{
    (void)state;
    tc_avatar_fetch_result r;
    char dest[300];
    snprintf(dest, sizeof dest, "%s/dest", at_dir);
    assert_int_equal(fetch("/404/blob.bin", NULL, 3, &r), TC_ERR_NOTFOUND);
    assert_non_null(strstr(err, "404"));
    assert_int_equal(logged(NULL, NULL), 1); /* a 404 is not retried */
    assert_int_equal(fetch("/ok/missing.bin", NULL, 0, &r), TC_ERR_NOTFOUND);
    char bad[65];
    memcpy(bad, want_sha, sizeof bad);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    assert_int_equal(fetch("/ok/blob.bin", bad, 0, &r), TC_ERR_FORMAT);
    assert_non_null(strstr(err, "sha256"));
    assert_false(at_exists(dest));
    assert_int_equal(at_count(partial), 0); /* a wrong file is not kept to resume */
    /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok/blob.bin", ntohs(a.sin_port));
    tc_avatar_add_opts o = {.retries = 2, .connect_timeout = 2};
    assert_int_equal(tc_avatar_fetch(url, partial, dest, &o, &r, err, sizeof err), TC_ERR_NET);
    assert_non_null(strstr(err, "refused"));
    assert_int_equal(tc_avatar_fetch("ftp://127.0.0.1/x", partial, dest, &o, &r, err, sizeof err),
                     TC_ERR_INVAL);
}

static void test_add_url(void **state)
{
    (void)state;
    char root[300], url[256], path[512];
    snprintf(root, sizeof root, "%s/store", at_dir);
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    tc_avatar_info info;
    tc_avatar_add_opts o = {.retries = 2};
    snprintf(url, sizeof url, "%s/drop/face.png", base);
    assert_int_equal(tc_avatar_add(s, url, &o, &info, err, sizeof err), TC_OK);
    assert_string_equal(info.name, "face");
    assert_string_equal(info.kind, "image");
    assert_true(info.resumed_from > 0);
    /* a download that is not an avatar is not installed */
    snprintf(url, sizeof url, "%s/ok/blob.bin", base);
    o.name = "blob";
    assert_int_equal(tc_avatar_add(s, url, &o, &info, err, sizeof err), TC_ERR_FORMAT);
    tc_avatar_entry *e;
    int n;
    assert_int_equal(tc_avatar_list(s, &e, &n, err, sizeof err), TC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].versions[0].file, "avatar.png");
    assert_non_null(strstr(e[0].versions[0].source, "/drop/face.png"));
    tc_avatar_list_free(e, n);
    tc_avatar_store_close(s);
    assert_int_equal(tc_avatar_resolve(root, "face", path, sizeof path, NULL, 0), TC_OK);
    char sha[65], orig[300], osha[65];
    snprintf(orig, sizeof orig, "%s/www/face.png", at_dir);
    assert_int_equal(tc_avatar_sha256_file(path, sha, NULL), TC_OK);
    assert_int_equal(tc_avatar_sha256_file(orig, osha, NULL), TC_OK);
    assert_string_equal(sha, osha);
    /* no landmarks beside face.png on the server (404): a still image.
     * astro.png has them: a photo, with them in the object */
    assert_int_equal(logged("/drop/face.landmarks.json", "\"status\": 404"), 1);
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    snprintf(url, sizeof url, "%s/ok/astro.png?token=1", base);
    o.name = NULL;
    assert_int_equal(tc_avatar_add(s, url, &o, &info, err, sizeof err), TC_OK);
    tc_avatar_store_close(s);
    assert_string_equal(info.name, "astro");
    assert_string_equal(info.kind, "photo");
    assert_int_equal(logged("/ok/astro.landmarks.json?token=1", "\"status\": 200"), 1);
    assert_int_equal(tc_avatar_resolve(root, "astro", path, sizeof path, NULL, 0), TC_OK);
    char lm[600];
    snprintf(lm, sizeof lm, "%.*s/avatar.landmarks.json", (int)(strrchr(path, '/') - path), path);
    assert_true(at_exists(lm));
}

/* A download lets go of the store's lock: a remove and a gc run while it
 * trickles in, and gc leaves the download's files alone. */
static void test_download_does_not_hold_the_store(void **state)
{
    (void)state;
    char root[300], pdir[400], url[256];
    snprintf(root, sizeof root, "%s/store2", at_dir);
    snprintf(pdir, sizeof pdir, "%s/.store/partial", root);
    snprintf(url, sizeof url, "%s/slow/noise.png", base);
    tc_avatar_store *s;
    tc_avatar_info info;
    tc_avatar_add_opts o = {.retries = 0};
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    char face[300];
    snprintf(face, sizeof face, "%s/www/face.png", at_dir);
    o.name = "local";
    assert_int_equal(tc_avatar_add(s, face, &o, &info, err, sizeof err), TC_OK);
    tc_avatar_store_close(s);
    pid_t pid = fork();
    if (pid == 0) {
        tc_avatar_store *c;
        tc_avatar_add_opts co = {.name = "noise"};
        if (tc_avatar_store_open(&c, root, TC_AVATAR_WRITE, err, sizeof err) < 0) _exit(1);
        int r = tc_avatar_add(c, url, &co, &info, err, sizeof err);
        tc_avatar_store_close(c);
        _exit(r == TC_OK ? 0 : 2);
    }
    /* wait for the download to be under way */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.part' -size +32k | grep -q .", pdir);
    int started = 0;
    for (int i = 0; i < 200 && !started; i++) {
        started = system(cmd) == 0;
        if (!started) usleep(20000);
    }
    assert_true(started);
    int64_t t0 = tc_now_ns();
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    assert_int_equal(tc_avatar_remove(s, "local", NULL, err, sizeof err), TC_OK);
    int64_t freed = -1;
    assert_int_equal(tc_avatar_gc(s, 0, &freed, NULL, err, sizeof err), TC_OK);
    tc_avatar_store_close(s);
    double took = (double)(tc_now_ns() - t0) / 1e9;
    int st;
    assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still downloading */
    if (took > 0.5) fail_msg("a remove and a gc waited %.2f s for a download", took);
    assert_int_equal(freed, 0); /* the running download's partial stayed */
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char path[512];
    assert_int_equal(tc_avatar_resolve(root, "noise", path, sizeof path, NULL, 0), TC_OK);
    assert_int_equal(tc_avatar_resolve(root, "local", path, sizeof path, NULL, 0), TC_ERR_NOTFOUND);
    snprintf(cmd, sizeof cmd, "find '%s' -type f ! -name .lock | grep -q .", pdir);
    assert_int_not_equal(system(cmd), 0); /* nothing left in partial/ */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_plain, reset),
        cmocka_unit_test_setup(test_drop_resumes_with_range, reset),
        cmocka_unit_test_setup(test_drop_then_later_add_resumes, reset),
        cmocka_unit_test_setup(test_server_ignores_range, reset),
        cmocka_unit_test_setup(test_etag_changed, reset),
        cmocka_unit_test_setup(test_broken_server_resumes_other_version, reset),
        cmocka_unit_test_setup(test_no_length, reset),
        cmocka_unit_test_setup(test_failures, reset),
        cmocka_unit_test_setup(test_add_url, reset),
        cmocka_unit_test_setup(test_download_does_not_hold_the_store, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
