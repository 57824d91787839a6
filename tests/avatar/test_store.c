/* test_store.c — the avatar store on disk: content addresses (a file's
 * sha, a pack's manifest sha, the same pack from two places is one
 * object), versions and roll-back, removal that keeps shared objects, gc
 * order (unnamed objects, then the oldest non-current versions, never a
 * current one), refusals that leave the store untouched (not an avatar,
 * wrong sha, bad or taken names), damaged refs that never become paths,
 * video loops, the writer lock (a second writer waits;
 * concurrent adds lose nothing), and crash safety: a process killed after
 * each step of an add leaves the old or the new version, never half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "avatar/avatar.h"
#include "avatar/store_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "avatar_test.h"

static char root[128], err[2048];

static int setup(void **state)
{
    (void)state;
    if (at_setup_dir() < 0) return -1;
    snprintf(root, sizeof root, "%s/avatars", at_dir);
    return at_png("green.png", "green") || at_png("red.png", "red") || at_png("blue.png", "blue") ||
           at_write("junk.png", "this is not a picture\n");
}

static int teardown(void **state)
{
    (void)state;
    at_rm_dir();
    return 0;
}

/* a fresh store for each test */
static int fresh(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd);
}

static const char *src(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", at_dir, name);
    return p[k];
}

static int add(const char *from, const char *name, const char *sha, tc_avatar_info *info)
{
    tc_avatar_store *s;
    int rc = tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err);
    if (rc < 0) return rc;
    tc_avatar_add_opts o = {.name = name, .sha256 = sha};
    tc_avatar_info tmp;
    rc = tc_avatar_add(s, from, &o, info ? info : &tmp, err, sizeof err);
    tc_avatar_store_close(s);
    return rc;
}

static int objects(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/.store/objects", root);
    return at_count(p);
}

static int tmp_entries(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/.store/tmp", root);
    return at_count(p);
}

static void test_add_file_and_resolve(void **state)
{
    (void)state;
    tc_avatar_info info;
    assert_int_equal(add(src("green.png"), NULL, NULL, &info), TC_OK);
    char want[65];
    assert_int_equal(tc_avatar_sha256_file(src("green.png"), want, NULL), TC_OK);
    assert_string_equal(info.name, "green"); /* the file's base name */
    assert_string_equal(info.sha, want);     /* a lone file: its own sha */
    assert_string_equal(info.kind, "image");
    assert_false(info.existed);
    char path[512], kind[16], expect[PATH_MAX + 128];
    assert_int_equal(tc_avatar_resolve(root, "green", path, sizeof path, kind, sizeof kind), TC_OK);
    char real[PATH_MAX];
    assert_non_null(realpath(root, real));
    snprintf(expect, sizeof expect, "%s/.store/objects/%s/avatar.png", real, want);
    assert_string_equal(path, expect);
    assert_string_equal(kind, "image");
    char copy[65];
    assert_int_equal(tc_avatar_sha256_file(path, copy, NULL), TC_OK);
    assert_string_equal(copy, want);
    assert_int_equal(tc_avatar_resolve(root, "nosuch", path, sizeof path, NULL, 0),
                     TC_ERR_NOTFOUND);
    assert_int_equal(tc_avatar_resolve(root, "../green", path, sizeof path, NULL, 0),
                     TC_ERR_NOTFOUND);
    assert_int_equal(tc_avatar_resolve(root, ".store", path, sizeof path, NULL, 0),
                     TC_ERR_NOTFOUND);
    assert_int_equal(tmp_entries(), 0);
}

static void test_versions_and_rollback(void **state)
{
    (void)state;
    tc_avatar_info a, b, c;
    assert_int_equal(add(src("green.png"), "me", NULL, &a), TC_OK);
    assert_int_equal(add(src("red.png"), "me", NULL, &b), TC_OK);
    assert_string_not_equal(a.sha, b.sha);
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    tc_avatar_entry *e;
    int n;
    assert_int_equal(tc_avatar_list(s, &e, &n, err, sizeof err), TC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].n_versions, 2);
    assert_string_equal(e[0].versions[e[0].current].sha, b.sha);
    tc_avatar_list_free(e, n);
    /* roll back by a prefix; a too-short or unknown one is refused */
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", a.sha);
    assert_int_equal(tc_avatar_use(s, "me", "abc", err, sizeof err), TC_ERR_INVAL);
    assert_int_equal(tc_avatar_use(s, "me", "ffffffffff", err, sizeof err), TC_ERR_NOTFOUND);
    assert_int_equal(tc_avatar_use(s, "me", prefix, err, sizeof err), TC_OK);
    tc_avatar_store_close(s);
    char path[512];
    assert_int_equal(tc_avatar_resolve(root, "me", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, a.sha));
    /* the same content again: no new version, it becomes current */
    assert_int_equal(add(src("red.png"), "me", NULL, &c), TC_OK);
    assert_true(c.existed);
    assert_string_equal(c.sha, b.sha);
    assert_int_equal(tc_avatar_resolve(root, "me", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, b.sha));
    assert_int_equal(objects(), 2);
}

static void test_pack_and_photo(void **state)
{
    (void)state;
    /* a sprite pack, added from two places: one object */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p p1/mouths && cp green.png p1/base.png && cp red.png "
             "p1/mouths/rest.png && "
             "cp blue.png p1/mouths/open.png && echo '{\"base\": \"base.png\", \"mouths\": "
             "{\"rest\": \"mouths/rest.png\", "
             "\"aa\": \"mouths/open.png\"}}' > p1/sprites.json && touch p1/.hidden && cp -r p1 p2",
             at_dir);
    assert_int_equal(system(cmd), 0);
    tc_avatar_info a, b;
    assert_int_equal(add(src("p1"), "pack", NULL, &a), TC_OK);
    assert_string_equal(a.kind, "sprite");
    assert_int_equal(add(src("p2/"), "pack2", NULL, &b), TC_OK);
    assert_true(b.existed);
    assert_string_equal(a.sha, b.sha);
    char path[512], p[600];
    assert_int_equal(tc_avatar_resolve(root, "pack", path, sizeof path, NULL, 0), TC_OK);
    snprintf(p, sizeof p, "%s/mouths/open.png", path);
    assert_true(at_exists(p));
    snprintf(p, sizeof p, "%s/.hidden", path);
    assert_false(at_exists(p)); /* dot files are not part of a pack */
    /* a changed pack is another version */
    snprintf(cmd, sizeof cmd, "cd '%s' && cp blue.png p2/mouths/rest.png", at_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(add(src("p2"), "pack2", NULL, &b), TC_OK);
    assert_string_not_equal(a.sha, b.sha);
    /* a pack with a symlink is refused */
    snprintf(cmd, sizeof cmd, "cd '%s' && cp -r p1 p3 && ln -sf /etc/passwd p3/base.png", at_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(add(src("p3"), "pack3", NULL, NULL), TC_ERR_INVAL);
    assert_non_null(strstr(err, "symlink"));

    /* a photo carries its landmarks */
    const char *sh = getenv("TC_SHARED_DIR"), *sd = getenv("TC_SOURCE_DIR");
    assert_non_null(sh);
    assert_non_null(sd);
    snprintf(cmd, sizeof cmd,
             "cp '%s/avatars/astronaut.png' '%s/astro.png' && cp "
             "'%s/assets/avatars/astronaut.landmarks.json' '%s/astro.landmarks.json'",
             sh, at_dir, sd, at_dir);
    assert_int_equal(system(cmd), 0);
    tc_avatar_info ph;
    assert_int_equal(add(src("astro.png"), NULL, NULL, &ph), TC_OK);
    assert_string_equal(ph.kind, "photo");
    char fsha[65];
    assert_int_equal(tc_avatar_sha256_file(src("astro.png"), fsha, NULL), TC_OK);
    assert_string_not_equal(ph.sha, fsha); /* image + sidecar: the manifest's sha */
    assert_int_equal(tc_avatar_resolve(root, "astro", path, sizeof path, NULL, 0), TC_OK);
    char *sl = strrchr(path, '/');
    snprintf(p, sizeof p, "%.*s/avatar.landmarks.json", (int)(sl - path), path);
    assert_true(at_exists(p));
}

static void test_refusals_leave_no_trace(void **state)
{
    (void)state;
    assert_int_equal(add(src("junk.png"), "junk", NULL, NULL), TC_ERR_FORMAT);
    assert_non_null(strstr(err, "not an avatar"));
    char sha[65];
    assert_int_equal(tc_avatar_sha256_file(src("red.png"), sha, NULL), TC_OK);
    sha[0] = sha[0] == '0' ? '1' : '0';
    assert_int_equal(add(src("green.png"), "g", sha, NULL), TC_ERR_FORMAT);
    assert_non_null(strstr(err, "sha256"));
    assert_int_equal(add(src("green.png"), "g", "ABC", NULL), TC_ERR_INVAL);
    assert_int_equal(add(src("nosuch.png"), "g", NULL, NULL), TC_ERR_NOTFOUND);
    static const char *const bad[] = {
        "",    ".hidden",
        "-x",  "a/b",
        "..",  "sp ace",
        "x\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (add(src("green.png"), bad[i], NULL, NULL) != TC_ERR_INVAL)
            fail_msg("name '%s' accepted", bad[i]);
    /* a legacy file of the directory answers to the name already */
    assert_int_equal(tc_avatar_mkdirs(root), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s/red.png' '%s/legacy.png'", at_dir, root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(add(src("green.png"), "legacy", NULL, NULL), TC_ERR_INVAL);
    assert_non_null(strstr(err, "taken"));
    assert_int_equal(objects(), 0);
    assert_int_equal(tmp_entries(), 0);
    char refs[256];
    snprintf(refs, sizeof refs, "%s/.store/refs", root);
    assert_int_equal(at_count(refs), 0);
    /* the right sha is accepted */
    assert_int_equal(tc_avatar_sha256_file(src("green.png"), sha, NULL), TC_OK);
    assert_int_equal(add(src("green.png"), "g", sha, NULL), TC_OK);
}

static void test_remove(void **state)
{
    (void)state;
    tc_avatar_info g, r, b;
    assert_int_equal(add(src("green.png"), "one", NULL, &g), TC_OK);
    assert_int_equal(add(src("red.png"), "one", NULL, &r), TC_OK);
    assert_int_equal(add(src("green.png"), "two", NULL, NULL), TC_OK); /* shares green */
    assert_int_equal(add(src("blue.png"), "one", NULL, &b), TC_OK);
    assert_int_equal(objects(), 3);
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    assert_int_equal(tc_avatar_remove(s, "one", b.sha, err, sizeof err),
                     TC_ERR_INVAL); /* current */
    assert_non_null(strstr(err, "current"));
    assert_int_equal(tc_avatar_remove(s, "one", r.sha, err, sizeof err), TC_OK);
    assert_int_equal(objects(), 2); /* red went */
    assert_int_equal(tc_avatar_remove(s, "one", NULL, err, sizeof err), TC_OK);
    assert_int_equal(objects(), 1); /* blue went; green stays: "two" uses it */
    char path[512];
    assert_int_equal(tc_avatar_resolve(root, "two", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, g.sha));
    assert_int_equal(tc_avatar_resolve(root, "one", path, sizeof path, NULL, 0), TC_ERR_NOTFOUND);
    assert_int_equal(tc_avatar_remove(s, "one", NULL, err, sizeof err), TC_ERR_NOTFOUND);
    tc_avatar_store_close(s);
    /* a reader may not write */
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_READ, err, sizeof err), TC_OK);
    assert_int_equal(tc_avatar_remove(s, "two", NULL, err, sizeof err), TC_ERR_INVAL);
    tc_avatar_store_close(s);
}

/* Back-date a version, so the order of gc does not hang on the clock. */
static void set_added(tc_avatar_store *s, const char *name, const char *sha, int64_t t)
{
    char p[PATH_MAX];
    tc_avatar_entry e;
    assert_int_equal(tc_avatar_ref_path(s, name, p, sizeof p), TC_OK);
    assert_int_equal(tc_avatar_ref_load(p, name, &e, err, sizeof err), TC_OK);
    for (int i = 0; i < e.n_versions; i++)
        if (!strcmp(e.versions[i].sha, sha)) e.versions[i].added = t;
    assert_int_equal(tc_avatar_ref_save(s, &e, err, sizeof err), TC_OK);
    tc_avatar_entry_clear(&e);
}

static int64_t obj_size(const char *sha)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.store/objects/%s", root, sha);
    return at_exists(p) ? tc_avatar_du(p) : -1;
}

static void test_gc_order(void **state)
{
    (void)state;
    tc_avatar_info a1, a2, a3, b1, b2;
    assert_int_equal(add(src("green.png"), "a", NULL, &a1), TC_OK);
    assert_int_equal(add(src("red.png"), "a", NULL, &a2), TC_OK);
    assert_int_equal(add(src("blue.png"), "a", NULL, &a3), TC_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && ffmpeg -nostdin -v error -y -f lavfi -i color=c=white:s=64x64 -frames:v 1 "
             "w.png && "
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=yellow:s=80x48 -frames:v 1 y.png",
             at_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(add(src("w.png"), "b", NULL, &b1), TC_OK);
    assert_int_equal(add(src("y.png"), "b", NULL, &b2), TC_OK);
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    set_added(s, "a", a1.sha, 100); /* oldest */
    set_added(s, "b", b1.sha, 200);
    set_added(s, "a", a2.sha, 300);
    /* an object nothing names (an add killed before its ref) */
    char orphan[512];
    snprintf(orphan, sizeof orphan, "%s/.store/objects/%064d", root, 7);
    assert_int_equal(tc_avatar_mkdirs(orphan), 0);
    strcat(orphan, "/avatar.png");
    snprintf(cmd, sizeof cmd, "head -c 5000 /dev/zero > '%s'", orphan);
    assert_int_equal(system(cmd), 0);

    int64_t s_a1 = obj_size(a1.sha), s_a2 = obj_size(a2.sha), s_a3 = obj_size(a3.sha),
            s_b1 = obj_size(b1.sha), s_b2 = obj_size(b2.sha), freed = 0, total = 0;
    assert_true(s_a1 > 0 && s_a2 > 0 && s_a3 > 0 && s_b1 > 0 && s_b2 > 0);
    /* no cap: only the orphan goes */
    assert_int_equal(tc_avatar_gc(s, -1, &freed, &total, err, sizeof err), TC_OK);
    assert_int_equal(freed, 5000);
    assert_int_equal(total, s_a1 + s_a2 + s_a3 + s_b1 + s_b2);
    assert_int_equal(objects(), 5);
    /* a cap that two versions must go for: the two oldest, a1 then b1 */
    int64_t cap = total - s_a1 - s_b1;
    assert_int_equal(tc_avatar_gc(s, cap, &freed, &total, err, sizeof err), TC_OK);
    assert_int_equal(freed, s_a1 + s_b1);
    assert_int_equal(total, cap);
    assert_int_equal(obj_size(a1.sha), -1);
    assert_int_equal(obj_size(b1.sha), -1);
    assert_true(obj_size(a2.sha) > 0);
    /* a cap of 0: every old version goes, the current ones stay */
    assert_int_equal(tc_avatar_gc(s, 0, &freed, &total, err, sizeof err), TC_OK);
    assert_int_equal(total, s_a3 + s_b2);
    assert_int_equal(objects(), 2);
    tc_avatar_store_close(s);
    char path[512];
    assert_int_equal(tc_avatar_resolve(root, "a", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, a3.sha));
    assert_int_equal(tc_avatar_resolve(root, "b", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, b2.sha));
}

static void test_lock(void **state)
{
    (void)state;
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    tc_avatar_store_close(s);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) { /* a writer that holds the lock for 0.8 s */
        tc_avatar_store *c;
        if (tc_avatar_store_open(&c, root, TC_AVATAR_WRITE, err, sizeof err) < 0) _exit(1);
        if (write(pfd[1], "x", 1) != 1) _exit(1);
        usleep(800000);
        tc_avatar_store_close(c);
        _exit(0);
    }
    char x;
    assert_int_equal(read(pfd[0], &x, 1), 1);
    int64_t t0 = tc_now_ns();
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
    double waited = (double)(tc_now_ns() - t0) / 1e9;
    tc_avatar_store_close(s);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (waited < 0.5)
        fail_msg("a second writer got the lock after %.3f s, while the first held it", waited);
    close(pfd[0]);
    close(pfd[1]);

    /* two processes adding at once: every add lands, every ref is whole */
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        if ((kids[k] = fork()) == 0) {
            static const char *const files[] = {"green.png", "red.png", "blue.png"};
            for (int i = 0; i < 6; i++) {
                char name[32];
                snprintf(name, sizeof name, "k%d-%d", k, i);
                if (add(src(files[(i + k) % 3]), name, NULL, NULL) < 0) _exit(10 + i);
                if (add(src(files[(i + k + 1) % 3]), "shared", NULL, NULL) < 0) _exit(20 + i);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        waitpid(kids[k], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            fail_msg("adder %d failed (status %d)", k, WEXITSTATUS(st));
    }
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_READ, err, sizeof err), TC_OK);
    tc_avatar_entry *e;
    int n;
    assert_int_equal(tc_avatar_list(s, &e, &n, err, sizeof err), TC_OK);
    assert_int_equal(n, 13);
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, "shared")) assert_int_equal(e[i].n_versions, 3);
    tc_avatar_list_free(e, n);
    tc_avatar_store_close(s);
    assert_int_equal(objects(), 3);
}

static const char *kill_at;
static void die_at(void *opaque, const char *step)
{
    (void)opaque;
    if (!strcmp(step, kill_at)) raise(SIGKILL); /* as a crash would: no cleanup at all */
}

static void test_crash_between_steps(void **state)
{
    (void)state;
    static const char *const steps[] = {"staged", "verified", "installed", "ref-written"};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        fresh(NULL);
        tc_avatar_info old;
        assert_int_equal(add(src("green.png"), "c", NULL, &old), TC_OK);
        char new_sha[65];
        assert_int_equal(tc_avatar_sha256_file(src("red.png"), new_sha, NULL), TC_OK);
        kill_at = steps[k];
        pid_t pid = fork();
        if (pid == 0) {
            tc_avatar_store *s;
            if (tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err) < 0) _exit(1);
            tc_avatar_add_opts o = {.name = "c", .on_step = die_at};
            tc_avatar_info info;
            tc_avatar_add(s, src("red.png"), &o, &info, err, sizeof err);
            _exit(2); /* the kill did not happen */
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFSIGNALED(st)) fail_msg("the add was not killed at '%s'", steps[k]);
        /* a reader sees the old or the new version, whole */
        char path[512], sha[65];
        assert_int_equal(tc_avatar_resolve(root, "c", path, sizeof path, NULL, 0), TC_OK);
        assert_int_equal(tc_avatar_sha256_file(path, sha, NULL), TC_OK);
        const char *want = k == 3 ? new_sha : old.sha;
        if (strcmp(sha, want))
            fail_msg("killed at '%s': the current version is %.12s, not %.12s", steps[k], sha,
                     want);
        assert_non_null(strstr(path, sha)); /* the object is what its name says */
        /* the next writer clears the staging; gc the unnamed object */
        tc_avatar_store *s;
        assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_WRITE, err, sizeof err), TC_OK);
        assert_int_equal(tmp_entries(), 0);
        int64_t freed = 0;
        assert_int_equal(tc_avatar_gc(s, -1, &freed, NULL, err, sizeof err), TC_OK);
        tc_avatar_store_close(s);
        /* killed after "installed": an object no ref names yet, which gc takes */
        assert_int_equal(objects(), k == 3 ? 2 : 1);
        if (k == 2)
            assert_true(freed > 0);
        else
            assert_int_equal(freed, 0);
        /* and the add, retried, completes */
        tc_avatar_info again;
        assert_int_equal(add(src("red.png"), "c", NULL, &again), TC_OK);
        assert_string_equal(again.sha, new_sha);
        assert_int_equal(tc_avatar_resolve(root, "c", path, sizeof path, NULL, 0), TC_OK);
        assert_non_null(strstr(path, new_sha));
    }
}

static void test_damaged_refs_and_video(void **state)
{
    (void)state;
    tc_avatar_info v;
    char cmd[512], p[512], path[512];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=96x64:r=10:d=1 -pix_fmt yuv420p "
             "'%s/loop.mp4'",
             at_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(add(src("loop.mp4"), NULL, NULL, &v), TC_OK);
    assert_string_equal(v.kind, "video");
    assert_int_equal(tc_avatar_resolve(root, "loop", path, sizeof path, NULL, 0), TC_OK);
    assert_non_null(strstr(path, "/avatar.mp4"));
    /* refs that were tampered with never become paths */
    static const char *const bad[] = {
        "not json",
        "{\"current\": \"x\", \"versions\": []}",
        "{\"current\": \"%s\", \"versions\": [{\"sha\": \"%s\", \"file\": "
        "\"../../../etc/passwd\"}]}",
        "{\"current\": \"%s\", \"versions\": [{\"sha\": \"%s\", \"file\": \".hidden\"}]}",
        "{\"current\": \"../../x\", \"versions\": [{\"sha\": \"../../x\", \"file\": "
        "\"avatar.png\"}]}",
        "{\"current\": \"%s\", \"versions\": [{\"sha\": \"%s\"}]}",
    };
    snprintf(p, sizeof p, "%s/.store/refs/loop.json", root);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fprintf(f, bad[i], v.sha, v.sha);
        fclose(f);
        if (tc_avatar_resolve(root, "loop", path, sizeof path, NULL, 0) != TC_ERR_FORMAT)
            fail_msg("damaged ref %zu resolved to %s", i, path);
    }
    /* list goes on past a damaged ref */
    assert_int_equal(add(src("green.png"), "fine", NULL, NULL), TC_OK);
    tc_avatar_store *s;
    assert_int_equal(tc_avatar_store_open(&s, root, TC_AVATAR_READ, err, sizeof err), TC_OK);
    tc_avatar_entry *e;
    int n;
    assert_int_equal(tc_avatar_list(s, &e, &n, err, sizeof err), TC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].name, "fine");
    tc_avatar_list_free(e, n);
    tc_avatar_store_close(s);
}

static void test_names_and_default_dir(void **state)
{
    (void)state;
    assert_true(tc_avatar_name_ok("a"));
    assert_true(tc_avatar_name_ok("My_face-2.v1"));
    assert_false(tc_avatar_name_ok("a b"));
    assert_false(tc_avatar_name_ok("caf\xc3\xa9"));
    char d[256];
    setenv("XDG_DATA_HOME", "/x/data", 1);
    assert_int_equal(tc_avatar_default_dir(d, sizeof d), TC_OK);
    assert_string_equal(d, "/x/data/talkcast/avatars");
    setenv("XDG_DATA_HOME", "relative", 1); /* not absolute: ignored, as the spec says */
    setenv("HOME", "/home/u", 1);
    assert_int_equal(tc_avatar_default_dir(d, sizeof d), TC_OK);
    assert_string_equal(d, "/home/u/.local/share/talkcast/avatars");
    unsetenv("XDG_DATA_HOME");
    unsetenv("HOME");
    assert_int_equal(tc_avatar_default_dir(d, sizeof d), TC_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_file_and_resolve, fresh),
        cmocka_unit_test_setup(test_versions_and_rollback, fresh),
        cmocka_unit_test_setup(test_pack_and_photo, fresh),
        cmocka_unit_test_setup(test_refusals_leave_no_trace, fresh),
        cmocka_unit_test_setup(test_remove, fresh),
        cmocka_unit_test_setup(test_gc_order, fresh),
        cmocka_unit_test_setup(test_lock, fresh),
        cmocka_unit_test_setup(test_crash_between_steps, fresh),
        cmocka_unit_test_setup(test_damaged_refs_and_video, fresh),
        cmocka_unit_test(test_names_and_default_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
