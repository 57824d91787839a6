/* avlog.h — route libav* log messages into talkcast's logfmt log, so a
 * muxer's or encoder's complaint carries the same timestamp and format as
 * everything else (module=libav inst=<component>). */
#ifndef TC_AVLOG_H
#define TC_AVLOG_H

/* Install the bridge (process-wide; call once at start-up). libav's "info"
 * is mapped to debug: it is chatty (encoder statistics on close). */
void tc_avlog_install(void);

#endif
