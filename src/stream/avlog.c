/* avlog.c — av_log callback → tc_log. libav may emit one line in several
 * calls; pieces are collected in a thread-local buffer until the newline. */
#include "stream/avlog.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

static _Thread_local char pending[1024];
static _Thread_local size_t pending_len;

static void callback(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_INFO) return;
    tc_log_level lvl = level <= AV_LOG_ERROR ? TC_LOG_ERROR
                     : level <= AV_LOG_WARNING ? TC_LOG_WARN : TC_LOG_DEBUG;
    if (lvl > tc_log_get_level()) return;

    char piece[1024];
    vsnprintf(piece, sizeof piece, fmt, vl);
    size_t n = strlen(piece);
    if (pending_len + n >= sizeof pending) n = sizeof pending - pending_len - 1;
    memcpy(pending + pending_len, piece, n);
    pending_len += n;
    pending[pending_len] = '\0';
    if (pending_len == 0 || pending[pending_len - 1] != '\n') return;
    pending[--pending_len] = '\0';

    const AVClass *cls = avcl ? *(const AVClass **)avcl : NULL;
    const char *inst = cls && cls->item_name ? cls->item_name(avcl) : NULL;
    /* Connection failures of protocols are reported once by the output that
     * owns them (with back-off and a masked URL); libav's own lines about
     * them — one per attempt — only belong in the debug log. */
    static const char *const quiet[] = { "tcp", "rtmp", "rtmps", "tls", "udp", "srt", "rtmpt" };
    for (size_t i = 0; inst && i < sizeof quiet / sizeof quiet[0]; i++)
        if (!strcmp(inst, quiet[i])) lvl = TC_LOG_DEBUG;
    /* x264 may turn a requested IDR into a plain I frame; the encoder asks
     * again on the next frame until an IDR is out, so this is expected */
    if (!strncmp(pending, "forced frame type", 17)) lvl = TC_LOG_DEBUG;
    if (lvl > tc_log_get_level()) {
        pending_len = 0;
        return;
    }
    tc_log_ctx ctx = { "libav", inst };
    if (pending_len) tc_log(&ctx, lvl, "%s", pending);
    pending_len = 0;
}

void tc_avlog_install(void)
{
    av_log_set_level(AV_LOG_INFO);
    av_log_set_callback(callback);
}
