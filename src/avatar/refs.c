/* refs.c — a name's versions, as ROOT/.store/refs/<name>.json:
 *   {"name": N, "current": SHA, "versions": [{"sha", "kind", "file",
 *    "source", "size", "added"}, …]}
 * Read whole, checked field by field (a damaged ref is an error naming the
 * file, never a crash), written whole by tc_avatar_write_atomic. */
#include "avatar/store_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "core/err.h"

int tc_avatar_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return 0;
    return s[64] == '\0';
}

int tc_avatar_ref_path(const tc_avatar_store *s, const char *name, char *path, size_t len)
{
    if (!tc_avatar_name_ok(name)) return TC_ERR_INVAL;
    return snprintf(path, len, "%s/refs/%s.json", s->dir, name) < (int)len ? TC_OK : TC_ERR_INVAL;
}

void tc_avatar_entry_clear(tc_avatar_entry *e)
{
    for (int i = 0; i < e->n_versions; i++)
        free(e->versions[i].source);
    free(e->versions);
    memset(e, 0, sizeof *e);
}

static int plain_file(const char *f)
{
    return !strcmp(f, ".") || (f[0] && f[0] != '.' && !strchr(f, '/'));
}

static int str_field(json_object *o, const char *key, char *dst, size_t n)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return 0;
    const char *s = json_object_get_string(v);
    if (strlen(s) >= n) return 0;
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

int tc_avatar_ref_load(const char *path, const char *name, tc_avatar_entry *e, char *err,
                       size_t elen)
{
    memset(e, 0, sizeof *e);
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return tc_avatar_fail(err, elen, TC_ERR_NOTFOUND, "no stored avatar '%s'", name);
        return tc_avatar_fail_errno(err, elen, "cannot read", path);
    }
    if (st.st_size > (1 << 20))
        return tc_avatar_fail(err, elen, TC_ERR_FORMAT, "%s is too large for a ref", path);
    json_object *root = json_object_from_file(path);
    json_object *vs, *v;
    char cur[65] = "";
    int rc = TC_ERR_FORMAT;
    if (!root || !json_object_is_type(root, json_type_object) ||
        !str_field(root, "current", cur, sizeof cur) ||
        !json_object_object_get_ex(root, "versions", &vs) ||
        !json_object_is_type(vs, json_type_array))
        goto bad;
    size_t n = json_object_array_length(vs);
    if (n == 0 || n > 10000) goto bad;
    if (!(e->versions = calloc(n, sizeof *e->versions))) {
        rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(e->name, sizeof e->name, "%s", name);
    e->current = -1;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(vs, i);
        tc_avatar_version *ver = &e->versions[e->n_versions];
        char src[4096] = "";
        if (!o || !str_field(o, "sha", ver->sha, sizeof ver->sha) || !tc_avatar_hex64(ver->sha) ||
            !str_field(o, "file", ver->file, sizeof ver->file) || !plain_file(ver->file))
            goto bad;
        str_field(o, "kind", ver->kind, sizeof ver->kind);
        str_field(o, "source", src, sizeof src);
        if (json_object_object_get_ex(o, "size", &v)) ver->size = json_object_get_int64(v);
        if (json_object_object_get_ex(o, "added", &v)) ver->added = json_object_get_int64(v);
        if (!(ver->source = strdup(src))) {
            rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
            goto out;
        }
        e->n_versions++;
        if (!strcmp(ver->sha, cur)) e->current = (int)i;
    }
    if (e->current < 0) goto bad;
    json_object_put(root);
    return TC_OK;
bad:
    rc = tc_avatar_fail(err, elen, TC_ERR_FORMAT, "%s is damaged (not a valid avatar ref)", path);
out:
    json_object_put(root);
    tc_avatar_entry_clear(e);
    return rc;
}

int tc_avatar_ref_save(const tc_avatar_store *s, const tc_avatar_entry *e, char *err, size_t elen)
{
    char path[PATH_MAX];
    if (tc_avatar_ref_path(s, e->name, path, sizeof path) < 0)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL, "'%s' is not a valid avatar name", e->name);
    json_object *root = json_object_new_object(), *vs = json_object_new_array();
    if (!root || !vs) {
        json_object_put(root);
        json_object_put(vs);
        return tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
    }
    json_object_object_add(root, "name", json_object_new_string(e->name));
    json_object_object_add(root, "current", json_object_new_string(e->versions[e->current].sha));
    for (int i = 0; i < e->n_versions; i++) {
        const tc_avatar_version *v = &e->versions[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sha", json_object_new_string(v->sha));
        json_object_object_add(o, "kind", json_object_new_string(v->kind));
        json_object_object_add(o, "file", json_object_new_string(v->file));
        json_object_object_add(o, "source", json_object_new_string(v->source ? v->source : ""));
        json_object_object_add(o, "size", json_object_new_int64(v->size));
        json_object_object_add(o, "added", json_object_new_int64(v->added));
        json_object_array_add(vs, o);
    }
    json_object_object_add(root, "versions", vs);
    const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = TC_OK;
    if (!txt)
        rc = tc_avatar_fail(err, elen, TC_ERR_NOMEM, "out of memory");
    else if (tc_avatar_write_atomic(path, txt, strlen(txt)) < 0)
        rc = tc_avatar_fail_errno(err, elen, "cannot write", path);
    json_object_put(root);
    return rc;
}

int tc_avatar_find_version(const tc_avatar_entry *e, const char *v, char *err, size_t elen)
{
    size_t n = strlen(v);
    if (n < 6 || n > 64)
        return tc_avatar_fail(err, elen, TC_ERR_INVAL,
                              "version '%s': give the sha or at least its first 6 hex digits", v);
    int found = -1;
    for (int i = 0; i < e->n_versions; i++) {
        if (strncasecmp(e->versions[i].sha, v, n)) continue;
        if (found >= 0)
            return tc_avatar_fail(err, elen, TC_ERR_INVAL, "version '%s' of '%s' is ambiguous", v,
                                  e->name);
        found = i;
    }
    if (found < 0)
        return tc_avatar_fail(err, elen, TC_ERR_NOTFOUND, "'%s' has no version %s", e->name, v);
    return found;
}
