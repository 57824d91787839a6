/* avatar.c — `talkcast avatar add|list|remove|use|gc`: the avatar store
 * (src/avatar/) seen from the command line. The store lives in
 * --avatar-dir (where `run` looks set_avatar names up), else in
 * $XDG_DATA_HOME/talkcast/avatars.
 *
 * Exit codes: 0 done, 1 failure (network, disk, store), 2 usage or a bad
 * argument, 3 content refused (sha256 mismatch, not an avatar), 4 not
 * found (HTTP 404, or no such stored name or version). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "avatar/avatar.h"
#include "cli/cli.h"
#include "core/err.h"

/* The store's default cap: room for many photos and a few video loops. */
#define DEFAULT_MAX_MB 2048

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: talkcast avatar COMMAND [OPTIONS]\n\n"
        "  add PATH|URL [--name N] [--sha256 HEX] [--retries N] [--max-size MB]\n"
        "                 store an image (with NAME.landmarks.json beside it), a video loop, a "
        "sprite\n"
        "                 pack directory, or an http(s) URL of one file, as N's current version\n"
        "  list [--json]  every stored name: kind, size, sha, versions\n"
        "  remove NAME [--version SHA | --all]\n"
        "                 remove a name (all its versions), or one old version\n"
        "  use NAME --version SHA   make a stored version current again (roll back)\n"
        "  gc [--max-size MB]       remove what nothing names, then old versions over the cap\n\n"
        "--max-size MB caps the store (default %d; 'none' for no cap): 'add' and 'gc' then remove\n"
        "old non-current versions, oldest first; a name's current version is never removed.\n"
        "The store is in --avatar-dir (TALKCAST_AVATAR_DIR), where 'run' finds set_avatar names;\n"
        "default $XDG_DATA_HOME/talkcast/avatars.\n"
        "Exit codes: 0 done, 1 failure, 2 usage, 3 content refused (sha256, not an avatar), 4 not "
        "found.\n",
        DEFAULT_MAX_MB);
}

static int exit_code(int rc)
{
    switch (rc) {
    case TC_OK: return 0;
    case TC_ERR_INVAL: return 2;
    case TC_ERR_FORMAT: return 3;
    case TC_ERR_NOTFOUND: return 4;
    default: return 1;
    }
}

static void human(int64_t b, char *out, size_t n)
{
    if (b >= 10 << 20)
        snprintf(out, n, "%.0f MB", (double)b / (1 << 20));
    else if (b >= 1 << 20)
        snprintf(out, n, "%.1f MB", (double)b / (1 << 20));
    else if (b >= 1 << 10)
        snprintf(out, n, "%.0f KB", (double)b / (1 << 10));
    else
        snprintf(out, n, "%lld B", (long long)b);
}

static int list_cmd(tc_avatar_store *st, int json)
{
    tc_avatar_entry *e;
    int n;
    char err[1024] = "";
    int rc = tc_avatar_list(st, &e, &n, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "talkcast avatar list: %s\n", err);
        return exit_code(rc);
    }
    if (json) {
        json_object *arr = json_object_new_array();
        for (int i = 0; i < n; i++) {
            json_object *o = json_object_new_object(), *vs = json_object_new_array();
            json_object_object_add(o, "name", json_object_new_string(e[i].name));
            json_object_object_add(o, "current",
                                   json_object_new_string(e[i].versions[e[i].current].sha));
            json_object_object_add(o, "kind",
                                   json_object_new_string(e[i].versions[e[i].current].kind));
            json_object_object_add(o, "size",
                                   json_object_new_int64(e[i].versions[e[i].current].size));
            for (int j = 0; j < e[i].n_versions; j++) {
                const tc_avatar_version *v = &e[i].versions[j];
                json_object *vo = json_object_new_object();
                json_object_object_add(vo, "sha", json_object_new_string(v->sha));
                json_object_object_add(vo, "kind", json_object_new_string(v->kind));
                json_object_object_add(vo, "size", json_object_new_int64(v->size));
                json_object_object_add(vo, "added", json_object_new_int64(v->added));
                json_object_object_add(vo, "source", json_object_new_string(v->source));
                json_object_object_add(vo, "current", json_object_new_boolean(j == e[i].current));
                json_object_array_add(vs, vo);
            }
            json_object_object_add(o, "versions", vs);
            json_object_array_add(arr, o);
        }
        puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(arr);
    } else {
        printf("%-24s %-7s %9s %-12s %8s  %s\n", "NAME", "KIND", "SIZE", "SHA", "VERSIONS",
               "ADDED (current)");
        for (int i = 0; i < n; i++) {
            const tc_avatar_version *v = &e[i].versions[e[i].current];
            char sz[32], when[32];
            human(v->size, sz, sizeof sz);
            time_t t = (time_t)v->added;
            struct tm tm;
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
            printf("%-24s %-7s %9s %-12.12s %8d  %s\n", e[i].name, v->kind, sz, v->sha,
                   e[i].n_versions, when);
        }
    }
    tc_avatar_list_free(e, n);
    return 0;
}

int tc_cli_avatar(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    const char *name = NULL, *sha = NULL, *version = NULL;
    int all = 0, json = 0, retries = 3;
    double max_mb = DEFAULT_MAX_MB; /* < 0: no cap */
    /* the command's own flags out; what is left is configuration and words */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return 1;
    int nrest = 0, rc = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--name")      ? &name
                            : !strcmp(a, "--sha256")  ? &sha
                            : !strcmp(a, "--version") ? &version
                                                      : NULL;
        if (slot || !strcmp(a, "--max-size") || !strcmp(a, "--retries")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "talkcast avatar %s: %s needs a value\n", sub, a);
                free(rest);
                return 2;
            }
            const char *v = argv[++i];
            char *end;
            if (slot)
                *slot = v;
            else if (!strcmp(a, "--max-size")) {
                max_mb = strcmp(v, "none") ? strtod(v, &end) : -1;
                if (strcmp(v, "none") && (*end || max_mb < 0 || !v[0])) rc = 2;
            } else {
                retries = (int)strtol(v, &end, 10);
                if (*end || retries < 0 || retries > 100) rc = 2;
            }
            if (rc) {
                fprintf(stderr, "talkcast avatar %s: %s %s: not a valid number\n", sub, a, v);
                free(rest);
                return 2;
            }
        } else if (!strcmp(a, "--all"))
            all = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else
            rest[nrest++] = argv[i];
    }
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) {
        free(rest);
        return 1;
    }
    char *words[4];
    int nw = 0;
    rc = tc_cli_load_config_mixed(&cfg, nrest, rest, words, 4, &nw);
    free(rest);
    if (rc) goto out;
    char root[PATH_MAX];
    if (cfg.avatar_dir[0])
        snprintf(root, sizeof root, "%s", cfg.avatar_dir);
    else if (tc_avatar_default_dir(root, sizeof root) < 0) {
        fprintf(
            stderr,
            "talkcast avatar: set --avatar-dir (no HOME or XDG_DATA_HOME to put the store in)\n");
        rc = 2;
        goto out;
    }
    int want = !strcmp(sub, "add") || !strcmp(sub, "remove") || !strcmp(sub, "use") ? 1
               : !strcmp(sub, "list") || !strcmp(sub, "gc")                         ? 0
                                                                                    : -1;
    if (want < 0) {
        fprintf(stderr, "talkcast avatar: unknown command '%s'\n", sub);
        usage(stderr);
        rc = 2;
        goto out;
    }
    if (nw != want || (strcmp(sub, "add") && sha) || (strcmp(sub, "add") && name) ||
        (max_mb != DEFAULT_MAX_MB && strcmp(sub, "add") && strcmp(sub, "gc")) ||
        (!strcmp(sub, "use") && !version) || (all && version)) {
        fprintf(stderr, "talkcast avatar %s: wrong arguments\n", sub);
        usage(stderr);
        rc = 2;
        goto out;
    }
    tc_avatar_store *st = NULL;
    char err[2048] = "";
    int r = tc_avatar_store_open(&st, root, strcmp(sub, "list") ? TC_AVATAR_WRITE : TC_AVATAR_READ,
                                 err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast avatar %s: %s\n", sub, err);
        rc = exit_code(r) == 2 ? 1 : exit_code(r);
        goto out;
    }
    if (!strcmp(sub, "list")) {
        rc = list_cmd(st, json);
    } else if (!strcmp(sub, "add")) {
        tc_avatar_add_opts o = {.name = name, .sha256 = sha, .retries = retries};
        tc_avatar_info info;
        r = tc_avatar_add(st, words[0], &o, &info, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "talkcast avatar add: %s\n", err);
            rc = exit_code(r);
        } else {
            char sz[32];
            human(info.size, sz, sizeof sz);
            printf("added %s: %s, %s, sha256 %.12s%s%s\n", info.name, info.kind, sz, info.sha,
                   info.existed ? " (content already stored)" : "",
                   info.resumed_from ? " (download resumed)" : "");
            int64_t freed = 0, total = 0;
            if (max_mb >= 0 && tc_avatar_gc(st, (int64_t)(max_mb * 1048576.0), &freed, &total, err,
                                            sizeof err) < 0)
                fprintf(stderr, "talkcast avatar add: the size cap was not applied: %s\n", err);
            else if (freed) {
                human(freed, sz, sizeof sz);
                printf("removed %s of old versions to stay under %g MB (--max-size)\n", sz, max_mb);
            }
        }
    } else if (!strcmp(sub, "remove")) {
        r = tc_avatar_remove(st, words[0], version, err, sizeof err);
        if (r < 0)
            fprintf(stderr, "talkcast avatar remove: %s\n", err);
        else
            printf("removed %s%s%s\n", words[0], version ? " version " : "",
                   version ? version : "");
        rc = exit_code(r);
    } else if (!strcmp(sub, "use")) {
        r = tc_avatar_use(st, words[0], version, err, sizeof err);
        if (r < 0)
            fprintf(stderr, "talkcast avatar use: %s\n", err);
        else
            printf("%s is now version %s\n", words[0], version);
        rc = exit_code(r);
    } else { /* gc */
        int64_t freed = 0, total = 0, cap = max_mb >= 0 ? (int64_t)(max_mb * 1048576.0) : -1;
        r = tc_avatar_gc(st, cap, &freed, &total, err, sizeof err);
        if (r < 0)
            fprintf(stderr, "talkcast avatar gc: %s\n", err);
        else {
            char a[32], b[32];
            human(freed, a, sizeof a), human(total, b, sizeof b);
            printf("freed %s, the store holds %s\n", a, b);
        }
        rc = exit_code(r);
    }
    tc_avatar_store_close(st);
out:
    tc_config_free(&cfg);
    return rc;
}
