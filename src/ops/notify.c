/* notify.c — systemd's notify protocol through libsystemd: READY, STATUS,
 * STOPPING and watchdog pings. Outside systemd (no NOTIFY_SOCKET) every
 * call is a no-op, so the daemon needs no mode switch. */
#include "ops/ops.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

static const tc_log_ctx log_ctx = { "ops", "systemd" };

static void notify(const char *state)
{
    int r = sd_notify(0, state);
    if (r < 0) tc_log(&log_ctx, TC_LOG_WARN, "cannot notify systemd (%s): error %d", state, -r);
}

void tc_ops_notify_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status ? status : "running");
    notify(msg);
}

void tc_ops_notify_status(const char *fmt, ...)
{
    char msg[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
    va_end(ap);
    notify(msg);
}

void tc_ops_notify_stopping(void) { notify("STOPPING=1"); }

void tc_ops_notify_watchdog(void) { notify("WATCHDOG=1"); }

int64_t tc_ops_watchdog_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)usec : 0;
}
