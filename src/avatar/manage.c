/* manage.c — listing, removing, rolling back and collecting garbage in
 * the avatar store. Order of deletions keeps the invariant of avatar.h: a
 * ref stops naming an object (atomic rewrite or unlink) before the object
 * goes, so a kill in between leaves at worst an unnamed object for gc. */
#include "avatar/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

static const tc_log_ctx log_ctx = {"avatar", NULL};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const tc_avatar_entry *)a)->name, ((const tc_avatar_entry *)b)->name);
}

void tc_avatar_list_free(tc_avatar_entry *e, int n)
{
    for (int i = 0; i < n; i++)
        tc_avatar_entry_clear(&e[i]);
    free(e);
}

int tc_avatar_list(tc_avatar_store *s, tc_avatar_entry **out, int *n, char *err, size_t elen)
{
    *out = NULL;
    *n = 0;
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/refs", s->dir);
    DIR *d = opendir(dir);
    if (!d) return tc_avatar_fail_errno(err, elen, "cannot read", dir);
    tc_avatar_entry *v = NULL;
    int cnt = 0, cap = 0, rc = TC_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".json") || l - 5 > TC_AVATAR_NAME_MAX) continue;
        char name[TC_AVATAR_NAME_MAX + 1], path[PATH_MAX + 300];
        snprintf(name, sizeof name, "%.*s", (int)(l - 5), de->d_name);
        if (!tc_avatar_name_ok(name)) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            tc_avatar_entry *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char why[512];
        int r = tc_avatar_ref_load(path, name, &v[cnt], why, sizeof why);
        if (r == TC_OK)
            cnt++;
        else if (r == TC_ERR_NOMEM) {
            rc = tc_avatar_fail(err, elen, r, "out of memory");
            break;
        } else if (r != TC_ERR_NOTFOUND) { /* one damaged ref does not hide the others */
            tc_log(&log_ctx, TC_LOG_WARN, "%s", why);
        }
    }
    closedir(d);
    if (rc < 0) {
        tc_avatar_list_free(v, cnt);
        return rc;
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, cmp_entry);
    *out = v;
    *n = cnt;
    return TC_OK;
}

/* 1 when a version of any entry but `skip` (or of skip except version
 * `skip_v`) names sha. */
static int sha_used(const tc_avatar_entry *e, int n, const char *sha, int skip, int skip_v)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < e[i].n_versions; j++)
            if (!(i == skip && (skip_v < 0 || j == skip_v)) && !strcmp(e[i].versions[j].sha, sha))
                return 1;
    return 0;
}

static int64_t drop_object(tc_avatar_store *s, const char *sha)
{
    char p[PATH_MAX + 80];
    snprintf(p, sizeof p, "%s/objects/%s", s->dir, sha);
    int64_t b = tc_avatar_du(p);
    if (tc_avatar_rmtree(p) < 0) {
        tc_log(&log_ctx, TC_LOG_WARN, "cannot remove %s: %s", p, strerror(errno));
        return 0;
    }
    return b;
}

static int find_name(const tc_avatar_entry *e, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, name)) return i;
    return -1;
}

static int need_write(const tc_avatar_store *s, char *err, size_t elen)
{
    return s->lock == TC_AVATAR_WRITE
               ? TC_OK
               : tc_avatar_fail(err, elen, TC_ERR_INVAL, "the store is open read-only");
}

int tc_avatar_remove(tc_avatar_store *s, const char *name, const char *version, char *err,
                     size_t elen)
{
    int rc = need_write(s, err, elen);
    if (rc < 0) return rc;
    if (!tc_avatar_name_ok(name))
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "'%s' is not an avatar name", name);
    tc_avatar_entry *all;
    int n;
    if ((rc = tc_avatar_list(s, &all, &n, err, elen)) < 0) return rc;
    int i = find_name(all, n, name);
    if (i < 0) {
        rc = tc_avatar_fail(err, elen, TC_ERR_NOTFOUND, "no stored avatar '%s'", name);
        goto out;
    }
    tc_avatar_entry *e = &all[i];
    if (!version) {
        char ref[PATH_MAX], dir[PATH_MAX + 8];
        tc_avatar_ref_path(s, name, ref, sizeof ref);
        snprintf(dir, sizeof dir, "%s/refs", s->dir);
        if (unlink(ref) < 0 || tc_avatar_fsync_path(dir) < 0) {
            rc = tc_avatar_fail_errno(err, elen, "cannot remove", ref);
            goto out;
        }
        for (int j = 0; j < e->n_versions; j++)
            if (!sha_used(all, n, e->versions[j].sha, i, -1)) drop_object(s, e->versions[j].sha);
        goto out;
    }
    int v = tc_avatar_find_version(e, version, err, elen);
    if (v < 0) {
        rc = v;
        goto out;
    }
    if (v == e->current) {
        rc = tc_avatar_fail(err, elen, TC_ERR_INVAL,
                            "%.12s is the current version of '%s': make another current first "
                            "('talkcast avatar use %s --version SHA') or remove '%s' whole",
                            e->versions[v].sha, name, name, name);
        goto out;
    }
    char sha[65];
    memcpy(sha, e->versions[v].sha, sizeof sha);
    int used = sha_used(all, n, sha, i, v);
    free(e->versions[v].source);
    memmove(&e->versions[v], &e->versions[v + 1],
            (size_t)(e->n_versions - v - 1) * sizeof *e->versions);
    e->n_versions--;
    if (e->current > v) e->current--;
    if ((rc = tc_avatar_ref_save(s, e, err, elen)) == TC_OK && !used) drop_object(s, sha);
out:
    tc_avatar_list_free(all, n);
    return rc;
}

int tc_avatar_use(tc_avatar_store *s, const char *name, const char *version, char *err, size_t elen)
{
    int rc = need_write(s, err, elen);
    if (rc < 0) return rc;
    char ref[PATH_MAX];
    if (tc_avatar_ref_path(s, name, ref, sizeof ref) < 0)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "'%s' is not an avatar name", name);
    tc_avatar_entry e;
    if ((rc = tc_avatar_ref_load(ref, name, &e, err, elen)) < 0) return rc;
    int v = tc_avatar_find_version(&e, version, err, elen);
    if (v >= 0) {
        e.current = v;
        rc = tc_avatar_ref_save(s, &e, err, elen);
    } else {
        rc = v;
    }
    tc_avatar_entry_clear(&e);
    return rc;
}

typedef struct cand {
    int entry, version;
    int64_t added;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->added < y->added ? -1 : x->added > y->added;
}

int tc_avatar_gc(tc_avatar_store *s, int64_t max_bytes, int64_t *freed, int64_t *total, char *err,
                 size_t elen)
{
    int64_t fr = 0, tot = 0;
    int rc = need_write(s, err, elen);
    if (rc < 0) return rc;
    tc_avatar_entry *all;
    int n;
    if ((rc = tc_avatar_list(s, &all, &n, err, elen)) < 0) return rc;
    /* objects nobody names: crash leftovers (an add killed before its ref) */
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/objects", s->dir);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (tc_avatar_hex64(de->d_name) && sha_used(all, n, de->d_name, -1, -1)) {
            char p[PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            tot += tc_avatar_du(p);
            continue;
        }
        tc_log(&log_ctx, TC_LOG_INFO, "gc: removing object %.12s that no avatar names", de->d_name);
        fr += drop_object(s, de->d_name);
    }
    if (d) closedir(d);
    /* unfinished downloads count against the cap, and go first — unless a
     * download is running (it holds partial/.lock, not the store's lock) */
    snprintf(dir, sizeof dir, "%s/partial", s->dir);
    int64_t partial = tc_avatar_du(dir);
    tot += partial;
    char lockp[PATH_MAX + 32];
    snprintf(lockp, sizeof lockp, "%s/.lock", dir);
    int dl = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int idle = dl >= 0 && flock(dl, LOCK_EX | LOCK_NB) == 0;
    if (!idle) tc_log(&log_ctx, TC_LOG_INFO, "gc: a download is running; its files stay");
    if (idle && max_bytes >= 0 && tot > max_bytes && partial > 0) {
        if ((d = opendir(dir))) {
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.') continue;
                char p[PATH_MAX + 300];
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                unlink(p);
            }
            closedir(d);
        }
        tc_log(&log_ctx, TC_LOG_INFO, "gc: discarded %lld bytes of unfinished downloads",
               (long long)partial);
        tot -= partial;
        fr += partial;
    }
    if (dl >= 0) close(dl);
    /* then old versions, oldest added first; never a current one */
    cand *c = NULL;
    int nc = 0, total_v = 0;
    for (int i = 0; i < n; i++)
        total_v += all[i].n_versions;
    if (max_bytes >= 0 && tot > max_bytes && total_v && !(c = calloc((size_t)total_v, sizeof *c))) {
        rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (c) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < all[i].n_versions; j++)
                if (j != all[i].current) c[nc++] = (cand){i, j, all[i].versions[j].added};
        qsort(c, (size_t)nc, sizeof *c, cmp_cand);
    }
    for (int k = 0; k < nc && tot > max_bytes; k++) {
        tc_avatar_entry *e = &all[c[k].entry];
        /* indices move as versions go: find it again by sha and time */
        int v = c[k].version;
        char sha[65];
        memcpy(sha, e->versions[v].sha, sizeof sha);
        tc_log(&log_ctx, TC_LOG_INFO, "gc: removing version %.12s of '%s' (not current)", sha,
               e->name);
        free(e->versions[v].source);
        memmove(&e->versions[v], &e->versions[v + 1],
                (size_t)(e->n_versions - v - 1) * sizeof *e->versions);
        e->n_versions--;
        if (e->current > v) e->current--;
        for (int m = k + 1; m < nc; m++)
            if (c[m].entry == c[k].entry && c[m].version > v) c[m].version--;
        if ((rc = tc_avatar_ref_save(s, e, err, elen)) < 0) goto out;
        if (!sha_used(all, n, sha, -1, -1)) {
            int64_t b = drop_object(s, sha);
            fr += b;
            tot -= b;
        }
    }
    if (max_bytes >= 0 && tot > max_bytes)
        tc_log(&log_ctx, TC_LOG_WARN,
               "the avatar store holds %lld bytes, over its cap of %lld, in current versions only",
               (long long)tot, (long long)max_bytes);
out:
    free(c);
    tc_avatar_list_free(all, n);
    if (freed) *freed = fr;
    if (total) *total = tot;
    return rc;
}
