/* station.h — one stream on the air: its avatar, engine and outputs, and
 * (with an AMQP URL) its speech provider, pipeline and broker client.
 * `talkcast run` runs one station per stream; they share nothing but the
 * process, so one that fails does not take the others with it.
 *
 * Lifecycle: open (builds everything, the broker client already
 * connecting) → start (the clock runs) → [stop_consuming → drain] → stop →
 * close (finishes outputs, settles what is left) → destroy. Only src/cli/
 * prints; open prints its own errors, prefixed with the stream's name. */
#ifndef TC_STATION_H
#define TC_STATION_H

#include <stdint.h>

#include "amqp/amqp.h"
#include "core/config.h"
#include "face/remote.h"
#include "pipeline/pipeline.h"
#include "stream/engine.h"
#include "tts/tts.h"

typedef struct tc_station tc_station;

/* `cfg` is borrowed and must outlive the station. With tag_logs, every
 * line its threads log carries stream=NAME (for processes with several).
 * 0, or an exit code (2 for configuration errors, 1 for runtime ones) with
 * *out NULL. */
int tc_station_open(tc_station **out, const tc_config *cfg, int tag_logs);
/* 0 or exit code 1. */
int tc_station_start(tc_station *s);
/* 1 once the engine has ended (--duration reached, or it failed). */
int tc_station_ended(tc_station *s);
void tc_station_stop_consuming(tc_station *s);
/* TC_OK when the speech on air has ended as `mode` says, TC_ERR_TIMEOUT
 * after `ms`. */
int tc_station_drain(tc_station *s, tc_pipe_drain_mode mode, int ms);
void tc_station_stop(tc_station *s);
/* Finish outputs (abort: at once), log a report, requeue what is left and
 * flush acks/events. 1 when a file output could not be written, else 0. */
int tc_station_close(tc_station *s, int abort);
void tc_station_destroy(tc_station *s);

const char *tc_station_name(const tc_station *s);
const tc_config *tc_station_config(const tc_station *s);

/* What /metrics and /readyz read; any thread, valid between open and close. */
typedef struct tc_station_stats {
    tc_engine_stats engine;
    int n_outputs;
    tc_output_stats outputs[16];      /* the first 16 */
    int messaging;                    /* 1 with an AMQP URL */
    tc_pipe_stats pipe;
    tc_amqp_stats amqp;
    tc_tts_stats tts;
    int tts_ok, tts_fallback_ok;
    const char *tts_name;
    int face_remote;                  /* 1 with a face provider */
    tc_face_remote_stats face;
} tc_station_stats;
void tc_station_get_stats(tc_station *s, tc_station_stats *st);

#endif
