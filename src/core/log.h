/* log.h — logging with a context, FFmpeg-style, as logfmt (or JSON) lines
 * on stderr.
 *
 * Every line names the component that spoke ("engine", "output") and the
 * instance ("rtmp://host/app/key" is NOT an instance name: pass a short,
 * secret-free id such as "out0"). Messages must never contain secrets. */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <pthread.h>
#include <stdarg.h>

typedef enum tc_log_level {
    TC_LOG_ERROR = 0,
    TC_LOG_WARN = 1,
    TC_LOG_INFO = 2,
    TC_LOG_DEBUG = 3
} tc_log_level;

/* Who is speaking. Borrowed: the strings must outlive the log call. */
typedef struct tc_log_ctx {
    const char *module;   /* e.g. "engine" */
    const char *instance; /* e.g. "main" or "out1"; may be NULL */
} tc_log_ctx;

typedef enum tc_log_format {
    TC_LOG_LOGFMT = 0,  /* ts=… level=… module=… inst=… msg="…" */
    TC_LOG_JSON = 1     /* {"ts":"…","level":"…","module":"…","inst":"…","msg":"…"} */
} tc_log_format;

/* Process-wide; set once at start-up, before threads log. */
void tc_log_set_format(tc_log_format f);

/* Lines above this level are discarded (default TC_LOG_INFO). Thread-safe. */
void tc_log_set_level(tc_log_level level);
tc_log_level tc_log_get_level(void);
/* Parse "error|warn|info|debug"; returns TC_ERR_INVAL for anything else. */
int tc_log_level_parse(const char *s, tc_log_level *out);

/* Emit one line: ts=… level=… module=… [inst=…] msg="…" (or the same as a
 * JSON object). `ctx` may be NULL. Lines are written with one write(2) so threads never interleave. */
void tc_log(const tc_log_ctx *ctx, tc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tc_vlog(const tc_log_ctx *ctx, tc_log_level level, const char *fmt, va_list ap);

/* A process that runs several streams tags each line with the stream it
 * belongs to (stream=NAME). The tag is per thread: set it on the thread
 * that creates a stream's modules, and threads they start through
 * tc_log_thread_create carry it on. `tag` is borrowed and must outlive
 * every thread that uses it; NULL clears it. */
void tc_log_set_tag(const char *tag);
const char *tc_log_get_tag(void);
/* pthread_create that hands the caller's tag to the new thread. */
int tc_log_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);

/* Tests may capture lines: the hook receives each formatted line (without
 * newline). NULL restores stderr. Not for production use. */
typedef void (*tc_log_hook)(const char *line, void *opaque);
void tc_log_set_hook(tc_log_hook hook, void *opaque);

#endif
