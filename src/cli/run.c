/* run.c — `talkcast run`: the daemon. Streams each avatar to its outputs
 * and, with an AMQP URL, speaks every message of its queue; one station
 * (station.c) per stream, one stream unless --streams names a directory of
 * them (streams.c). /metrics, /healthz and /readyz are served on
 * --metrics-listen (health.c); under systemd it notifies READY, STOPPING
 * and pings the watchdog only while every stream's clock ticks.
 *
 * Stopping: the first SIGINT/SIGTERM stops consuming, lets the speech on
 * air end as --on-stop says (the rest is requeued), flushes acks and
 * events, finishes every output and exits 0. A second signal exits at once;
 * the broker requeues whatever was not acked. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/station.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "ops/ops.h"

static const tc_log_ctx log_ctx = { "run", NULL };

static void print_run_help(void)
{
    printf("Usage: talkcast run [OPTIONS]\n\n"
           "Streams the avatar at a constant frame rate (audio sample clock as master) to every\n"
           "output at once. Network outputs reconnect on their own; files are finished on exit.\n"
           "With --amqp-url, every text message on --queue is spoken, lip-synced, in order;\n"
           "control messages (interrupt, clear, pause, resume, set_avatar, set_voice, ping) act\n"
           "at once; events go to --events-exchange.\n"
           "With --streams DIR, every DIR/NAME.env is one more stream in this process (its own\n"
           "queue, avatar, voice and outputs; \"{stream}\" in an output URL becomes NAME).\n"
           "/metrics, /healthz and /readyz are served on --metrics-listen.\n"
           "SIGINT/SIGTERM stop gracefully (--on-stop; files get their trailer); a second\n"
           "signal exits at once, leaving unacked messages to the broker.\n\n");
    tc_config_print_help(stdout);
}

void tc_cli_run_help(void) { print_run_help(); }

/* Wait for a signal up to ms; the signal number or 0. */
static int wait_signal(const sigset_t *sigs, int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    int sig = sigtimedwait(sigs, NULL, &ts);
    return sig == SIGINT || sig == SIGTERM ? sig : 0;
}

typedef struct daemon_state {
    tc_station **st;
    int n;
    tc_ops_http *http;
    tc_cli_health health;
    sigset_t sigs;
} daemon_state;

static int start_http(daemon_state *d, const char *listen)
{
    if (!listen[0]) return 0;
    char err[256] = "";
    int e = tc_ops_http_start(&d->http, listen, tc_cli_health_handler, &d->health, err, sizeof err);
    if (e < 0) {
        fprintf(stderr, "talkcast run: --metrics-listen %s: %s (another address with --metrics-listen, "
                        "or \"\" to turn it off)\n", listen, err[0] ? err : tc_strerror(e));
        return e == TC_ERR_INVAL ? 2 : 1;
    }
    const char *colon = strrchr(listen, ':');
    tc_log(&log_ctx, TC_LOG_INFO, "metrics on http://%.*s:%d/metrics (also /healthz, /readyz)",
           colon ? (int)(colon - listen) : 0, listen, tc_ops_http_port(d->http));
    return 0;
}

/* The streams' clocks run until a signal, or until every one has ended.
 * Returns the signal (0 when they ended by themselves). */
static int supervise(daemon_state *d)
{
    int64_t wd_usec = tc_ops_watchdog_usec(), next_ping = 0;
    int *ended = calloc((size_t)(d->n > 0 ? d->n : 1), sizeof *ended), n_ended = 0, stuck = 0, sig = 0;
    while (n_ended < d->n && !(sig = wait_signal(&d->sigs, 200))) {
        for (int i = 0; i < d->n; i++)
            if (ended && !ended[i] && tc_station_ended(d->st[i])) {
                ended[i] = 1;
                n_ended++;
                if (n_ended < d->n)
                    tc_log(&log_ctx, TC_LOG_WARN, "stream '%s' has ended; the others go on", tc_station_name(d->st[i]));
            }
        if (!ended) break;
        /* systemd's watchdog is fed only while every clock ticks */
        if (wd_usec > 0 && tc_now_ns() >= next_ping) {
            char why[512];
            if (tc_cli_health_live(&d->health, why, sizeof why)) {
                tc_ops_notify_watchdog();
                if (stuck) tc_log(&log_ctx, TC_LOG_INFO, "every stream ticks again");
                stuck = 0;
            } else if (!stuck) {
                stuck = 1;
                tc_log(&log_ctx, TC_LOG_ERROR, "not feeding the watchdog: %s", why);
            }
            next_ping = tc_now_ns() + wd_usec * 1000 / 2;
        }
    }
    free(ended);
    return sig;
}

/* Speech on air ends as --on-stop says, for every stream at once; 1 when a
 * second signal cut it short. */
static int drain_all(daemon_state *d)
{
    for (int i = 0; i < d->n; i++) tc_station_stop_consuming(d->st[i]);
    int *done = calloc((size_t)(d->n > 0 ? d->n : 1), sizeof *done), left = d->n, abort = 0;
    double timeout = 0;
    for (int i = 0; i < d->n; i++)
        if (tc_station_config(d->st[i])->stop_timeout > timeout) timeout = tc_station_config(d->st[i])->stop_timeout;
    int64_t deadline = tc_now_ns() + (int64_t)(timeout * 1e9);
    while (done && left > 0) {
        for (int i = 0; i < d->n; i++) {
            if (done[i]) continue;
            const tc_config *c = tc_station_config(d->st[i]);
            if (tc_station_drain(d->st[i], (tc_pipe_drain_mode)c->on_stop, d->n > 1 ? 20 : 100) != TC_ERR_TIMEOUT) {
                done[i] = 1;
                left--;
            }
        }
        if (left && wait_signal(&d->sigs, 0)) {
            abort = 1;
            break;
        }
        if (left && tc_now_ns() > deadline) {
            tc_log(&log_ctx, TC_LOG_WARN, "speech did not end within %.0f s: stopping it", timeout);
            break;
        }
    }
    free(done);
    return abort;
}

int tc_cli_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_run_help();
            return 0;
        }
    }
    tc_config cfg;
    if (tc_config_init(&cfg) < 0) return 1;
    tc_cli_streams streams = { 0 };
    daemon_state d = { 0 };
    int next = 0, rc = tc_cli_load_config(&cfg, argc - 1, argv + 1, &next);
    if (rc) goto out;
    if (next < argc - 1) {
        fprintf(stderr, "talkcast run: unexpected argument '%s'\n", argv[next + 1]);
        rc = 2;
        goto out;
    }
    tc_cli_memory_policy(&cfg);
    tc_config *cfgs = &cfg;
    int n = 1;
    if (cfg.streams[0]) {
        if ((rc = tc_cli_load_streams(&cfg, argc - 1, argv + 1, &streams)) != 0) goto out;
        cfgs = streams.cfgs;
        n = streams.n;
    }
    /* x264 threads unless told: several streams share the cores, each
     * encoding on cores/streams threads (at least one). One stream of up
     * to 720p30 gets one thread: superfast encodes such a frame in a few
     * ms, far inside the frame time, and each further slice thread costs
     * about 5 MB of x264 buffers; larger or faster streams take x264's own
     * choice. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < n; i++) {
        tc_config *c = &cfgs[i];
        if (c->encoder_threads != 0) continue;
        if (n > 1) c->encoder_threads = cores > n ? (int)(cores / n) : 1;
        else if ((double)c->width * c->height * c->fps_num / c->fps_den <= 1280.0 * 720 * 30 + 1)
            c->encoder_threads = 1;
    }
    for (int i = 0; i < n; i++)
        if (cfgs[i].n_outputs == 0) {
            if (n > 1) fprintf(stderr, "talkcast run: stream '%s' (%s) has no output; set TALKCAST_OUTPUTS in it\n",
                               cfgs[i].stream_name, streams.paths[i]);
            else fprintf(stderr, "talkcast run: no output; give one with --out URL "
                                 "(e.g. --out rtmp://127.0.0.1/live/avatar or -o out.mp4)\n");
            rc = 2;
            goto out;
        }

    /* Signals are taken synchronously by this thread only; every thread
     * started from here on inherits the blocked mask. */
    sigemptyset(&d.sigs);
    sigaddset(&d.sigs, SIGINT);
    sigaddset(&d.sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &d.sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    d.st = calloc((size_t)n, sizeof *d.st);
    if (!d.st) {
        rc = 1;
        goto out;
    }
    d.health = (tc_cli_health){ d.st, 0, (double)now.tv_sec + now.tv_nsec / 1e9 };
    for (; d.n < n; d.n++)
        if ((rc = tc_station_open(&d.st[d.n], &cfgs[d.n], n > 1)) != 0) goto out_stations;
    d.health.n = d.n;
    if ((rc = start_http(&d, cfg.metrics_listen)) != 0) goto out_stations;
    for (int i = 0; i < d.n; i++)
        if ((rc = tc_station_start(d.st[i])) != 0) goto out_stations;
    if (n > 1) tc_log(&log_ctx, TC_LOG_INFO, "%d streams from %s", n, cfg.streams);
    tc_ops_notify_ready(n > 1 ? "streaming several streams" : "streaming");

    int sig = supervise(&d), abort = 0;
    if (sig) {
        tc_log(&log_ctx, TC_LOG_INFO, "%s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
        tc_ops_notify_stopping();
        abort = drain_all(&d);
        for (int i = 0; i < d.n; i++) tc_station_stop(d.st[i]);
    }
    if (abort) tc_log(&log_ctx, TC_LOG_WARN, "second signal: exiting at once");
    for (int i = 0; i < d.n; i++)
        if (tc_station_close(d.st[i], abort)) rc = 1;

out_stations:
    tc_ops_http_stop(d.http);
    for (int i = 0; i < d.n; i++) tc_station_destroy(d.st[i]);
    free(d.st);
out:
    tc_cli_free_streams(&streams);
    tc_config_free(&cfg);
    tc_cap_release_fonts(); /* every station (and its cairo objects) is gone */
    return rc;
}
