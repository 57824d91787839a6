/* event.c — the JSON of every event, one shape for all:
 *   {"event": "started", "stream": "main", "message_id": "m1",
 *    "ts": "2026-11-25T10:00:00.123Z", "detail": {…}, "metadata": {…}}
 * metadata is the message's own, echoed back; message_id is null for
 * events about no message (state). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipe_int.h"

static void iso_now(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit(tc_pipe *p, const char *event, const char *id, const char *metadata, json_object *detail)
{
    if (!p->cfg.hooks.event) {
        json_object_put(detail);
        return;
    }
    json_object *o = json_object_new_object();
    char ts[40];
    iso_now(ts, sizeof ts);
    json_object_object_add(o, "event", json_object_new_string(event));
    json_object_object_add(o, "stream", json_object_new_string(p->cfg.stream ? p->cfg.stream : ""));
    json_object_object_add(o, "message_id", id && id[0] ? json_object_new_string(id) : NULL);
    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "detail", detail ? detail : json_object_new_object());
    if (metadata) {
        json_object *md = json_tokener_parse(metadata);
        if (md) json_object_object_add(o, "metadata", md);
    }
    p->cfg.hooks.event(p->cfg.opaque, event, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

void tc_pipe_emit(tc_pipe *p, const char *event, const tc_msg *m, json_object *detail)
{
    emit(p, event, m ? m->id : NULL, m ? m->metadata : NULL, detail);
}

void tc_pipe_emit_id(tc_pipe *p, const char *event, const char *id, json_object *detail)
{
    emit(p, event, id, NULL, detail);
}
