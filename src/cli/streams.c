/* streams.c — several streams in one process: --streams DIR holds one
 * NAME.env file per stream. Each stream's configuration is the process's
 * (defaults < .env < environment < CLI) with its file on top; in a stream
 * file TALKCAST_STREAM_NAME defaults to NAME, TALKCAST_QUEUE to the stream
 * name, and "{stream}" in an output URL becomes the stream name. Keys that
 * belong to the process (metrics address, logging, --streams) are refused
 * in stream files. Streams must differ in name, queue and outputs. */
#include "cli/cli.h"
#include "core/err.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define MAX_STREAMS 64

static int env_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_'))
            return 0;
    return 1;
}

/* "{stream}" in each output becomes the stream's name. */
static int expand_outputs(tc_config *c)
{
    for (size_t k = 0; k < c->n_outputs; k++) {
        const char *at = strstr(c->outputs[k], "{stream}");
        if (!at) continue;
        size_t pre = (size_t)(at - c->outputs[k]);
        size_t len = strlen(c->outputs[k]) + strlen(c->stream_name);
        char *v = malloc(len + 1);
        if (!v) return TC_ERR_NOMEM;
        snprintf(v, len + 1, "%.*s%s%s", (int)pre, c->outputs[k], c->stream_name, at + 8);
        free(c->outputs[k]);
        c->outputs[k] = v;
        k--; /* another {stream} in the same URL */
    }
    return TC_OK;
}

static int differs(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

/* One stream: the process's sources, then its file. */
static int load_one(tc_config *c, const tc_config *base, const char *path, const char *name, int argc,
                    char **argv, char *err, size_t errlen)
{
    const char *envfile = getenv("TALKCAST_ENV_FILE");
    int next = 0;
    int r = tc_config_load(c, envfile ? envfile : ".env", environ, argc, argv, &next, err, errlen);
    if (r == TC_OK) r = tc_config_set(c, "stream-name", name, err, errlen);
    if (r == TC_OK) r = tc_config_set(c, "queue", name, err, errlen);
    if (r == TC_OK) r = tc_config_load_dotenv(c, path, 0, err, errlen);
    /* the queue follows a stream name set in the file, unless set too */
    if (r == TC_OK && !strcmp(c->queue, name) && strcmp(c->stream_name, name))
        r = tc_config_set(c, "queue", c->stream_name, err, errlen);
    if (r < 0) return r;
    static const char *const process_wide[] = { "TALKCAST_METRICS_LISTEN", "TALKCAST_LOG_LEVEL",
                                                "TALKCAST_LOG_FORMAT", "TALKCAST_STREAMS",
                                                "TALKCAST_HUGE_PAGES" };
    const char *bad = differs(c->metrics_listen, base->metrics_listen) ? process_wide[0]
                      : differs(c->log_level, base->log_level)         ? process_wide[1]
                      : c->log_format != base->log_format              ? process_wide[2]
                      : differs(c->streams, base->streams)             ? process_wide[3]
                      : c->huge_pages != base->huge_pages              ? process_wide[4]
                                                                       : NULL;
    if (bad) {
        snprintf(err, errlen, "%s: %s belongs to the whole process; set it in the main configuration", path, bad);
        return TC_ERR_INVAL;
    }
    if (!valid_name(c->stream_name)) {
        snprintf(err, errlen, "%s: stream name '%s' must be 1-64 letters, digits, '-' or '_'", path,
                 c->stream_name);
        return TC_ERR_INVAL;
    }
    if ((r = expand_outputs(c)) < 0) return r;
    char verr[400] = "";
    if ((r = tc_config_validate(c, verr, sizeof verr)) < 0) snprintf(err, errlen, "%s: %s", path, verr);
    return r;
}

/* Two streams must not compete for one queue or write one output. */
static int check_distinct(tc_config *cfgs, char **paths, int n, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            const tc_config *a = &cfgs[j], *b = &cfgs[i];
            if (!strcmp(a->stream_name, b->stream_name)) {
                snprintf(err, errlen, "%s and %s both name their stream '%s'", paths[j], paths[i], a->stream_name);
                return TC_ERR_INVAL;
            }
            if (a->amqp_url[0] && !strcmp(a->amqp_url, b->amqp_url) && !strcmp(a->queue, b->queue)) {
                snprintf(err, errlen, "streams '%s' and '%s' both consume queue '%s'; give each its own TALKCAST_QUEUE",
                         a->stream_name, b->stream_name, a->queue);
                return TC_ERR_INVAL;
            }
            for (size_t x = 0; x < a->n_outputs; x++)
                for (size_t y = 0; y < b->n_outputs; y++)
                    if (!strcmp(a->outputs[x], b->outputs[y])) {
                        snprintf(err, errlen,
                                 "streams '%s' and '%s' both write output %zu of '%s'; give each its own "
                                 "TALKCAST_OUTPUTS (\"{stream}\" in a URL becomes the stream's name)",
                                 a->stream_name, b->stream_name, x + 1, a->stream_name);
                        return TC_ERR_INVAL;
                    }
            /* names differ, so a path with {stream} differs too */
            if (a->captions_file[0] && !strstr(a->captions_file, "{stream}") &&
                !strcmp(a->captions_file, b->captions_file)) {
                snprintf(err, errlen, "streams '%s' and '%s' both write captions file %s; put \"{stream}\" in "
                         "TALKCAST_CAPTIONS_FILE", a->stream_name, b->stream_name, a->captions_file);
                return TC_ERR_INVAL;
            }
        }
    }
    return TC_OK;
}

static void free_paths(char **paths, int n)
{
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

int tc_cli_load_streams(const tc_config *base, int argc, char **argv, tc_cli_streams *out)
{
    memset(out, 0, sizeof *out);
    const char *dir = base->streams;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "talkcast: --streams %s: cannot read the directory: %m\n", dir);
        return 2;
    }
    char **paths = NULL;
    int n = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".env")) continue;
        if (n == MAX_STREAMS) {
            fprintf(stderr, "talkcast: --streams %s: more than %d streams; run more processes\n", dir, MAX_STREAMS);
            rc = 2;
            break;
        }
        char **np = realloc(paths, (size_t)(n + 1) * sizeof *paths);
        size_t plen = strlen(dir) + len + 2;
        if (!np || !(np[n] = malloc(plen))) {
            paths = np ? np : paths;
            rc = 1;
            break;
        }
        paths = np;
        snprintf(paths[n++], plen, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "talkcast: --streams %s: no NAME.env files in it\n", dir);
        rc = 2;
    }
    if (rc) {
        free_paths(paths, n);
        return rc;
    }
    qsort(paths, (size_t)n, sizeof *paths, env_name_cmp);
    tc_config *cfgs = calloc((size_t)n, sizeof *cfgs);
    if (!cfgs) {
        free_paths(paths, n);
        return 1;
    }
    char err[640] = "";
    int loaded = 0, r = TC_OK;
    for (; r == TC_OK && loaded < n; loaded++) {
        if ((r = tc_config_init(&cfgs[loaded])) < 0) break;
        const char *file = strrchr(paths[loaded], '/') + 1;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
        r = load_one(&cfgs[loaded], base, paths[loaded], name, argc, argv, err, sizeof err);
    }
    if (r == TC_OK) r = check_distinct(cfgs, paths, n, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast: %s\n", err[0] ? err : tc_strerror(r));
        for (int i = 0; i < loaded; i++) tc_config_free(&cfgs[i]);
        free(cfgs);
        free_paths(paths, n);
        return 2;
    }
    out->cfgs = cfgs;
    out->paths = paths;
    out->n = n;
    return 0;
}

void tc_cli_free_streams(tc_cli_streams *s)
{
    for (int i = 0; i < s->n; i++) tc_config_free(&s->cfgs[i]);
    free(s->cfgs);
    free_paths(s->paths, s->n);
    memset(s, 0, sizeof *s);
}
