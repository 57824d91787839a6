/* control.c — what comes in: text messages into the queue, control
 * commands carried out at once, refusals, and the drain at shutdown.
 *
 * "The message on air" is the first job of the active list: it is either
 * playing or the next to play. Interrupt stops it; a cut-in also sends
 * every message synthesized ahead back to the queue so the cut-in plays
 * next; clear drops everything not yet started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "pipeline/pipe_int.h"

static const tc_log_ctx log_ctx = { "pipeline", NULL };

/* A job for a message not (yet) queued: settle and free it at once. */
static tc_pipe_job *job_new(tc_pipe *p, tc_msg *m, void *handle, int64_t received_ns)
{
    tc_pipe_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->msg = *m;
    memset(m, 0, sizeof *m);
    j->handle = handle;
    j->received_ns = received_ns;
    j->seq = p->next_seq++;
    j->start_frame = j->end_frame = -1;
    return j;
}

static tc_pipe_job *find_id(tc_pipe_job *list, const char *id)
{
    for (tc_pipe_job *j = list; j; j = j->next)
        if (id[0] && !strcmp(j->msg.id, id)) return j;
    return NULL;
}

static void fail_now(tc_pipe *p, tc_pipe_job *j, const char *reason)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "reason", json_object_new_string(reason));
    tc_pipe_emit(p, "failed", &j->msg, d);
    tc_pipe_settle(p, j, TC_PIPE_FAILED, reason);
}

/* Stop the message on air (interrupt); with cut_in, also send the ones
 * synthesized ahead back to the queue. 1 when something was stopped. */
static int interrupt(tc_pipe *p, const char *by, int cut_in)
{
    tc_pipe_job *head = NULL;
    for (tc_pipe_job *j = p->active; j; j = j->next) {
        if (j->stop != STOP_NONE) continue;
        if (!head) {
            head = j;
            tc_pipe_stop_job(p, j, STOP_INTERRUPT, 0, by);
        } else if (cut_in && !j->started) {
            tc_pipe_stop_job(p, j, STOP_RESTART, 0, by);
        }
    }
    return head != NULL;
}

/* Drop every message not yet started; the number dropped. */
static int clear(tc_pipe *p, const char *by)
{
    int n = 0;
    while (p->queue) {
        tc_pipe_job *j = p->queue;
        p->queue = j->next;
        p->n_queue--;
        json_object *d = json_object_new_object();
        json_object_object_add(d, "by", json_object_new_string(by));
        tc_pipe_emit(p, "cleared", &j->msg, d);
        tc_pipe_settle(p, j, TC_PIPE_CLEARED, NULL);
        n++;
    }
    for (tc_pipe_job *j = p->active; j; j = j->next)
        if (!j->started && (j->stop == STOP_NONE || j->stop == STOP_RESTART)) {
            tc_pipe_stop_job(p, j, STOP_CLEAR, 0, by);
            n++;
        }
    return n;
}

static int voice_ok(const tc_pipe *p, const char *v)
{
    if (!p->cfg.voices || p->cfg.n_voices == 0) return 1;
    for (int i = 0; i < p->cfg.n_voices; i++)
        if (!strcmp(p->cfg.voices[i], v)) return 1;
    return 0;
}

static void control(tc_pipe *p, tc_pipe_job *c)
{
    const char *id = c->msg.id;
    char reason[256] = "";
    json_object *d = json_object_new_object();
    json_object_object_add(d, "command", json_object_new_string(tc_msg_command_name(c->msg.command)));
    switch (c->msg.command) {
    case TC_CMD_INTERRUPT:
        json_object_object_add(d, "stopped", json_object_new_boolean(interrupt(p, id, 0)));
        break;
    case TC_CMD_CLEAR:
        json_object_object_add(d, "cleared", json_object_new_int(clear(p, id)));
        break;
    case TC_CMD_PAUSE:
    case TC_CMD_RESUME:
        p->paused = c->msg.command == TC_CMD_PAUSE;
        pthread_cond_broadcast(&p->wake);
        tc_log(&log_ctx, TC_LOG_INFO, "%s", p->paused ? "paused: queued messages wait" : "resumed");
        break;
    case TC_CMD_SET_VOICE:
        if (!voice_ok(p, c->msg.arg)) {
            snprintf(reason, sizeof reason, "set_voice: unknown voice '%s' (see 'talkcast voices')", c->msg.arg);
            break;
        }
        snprintf(p->voice, sizeof p->voice, "%s", c->msg.arg);
        json_object_object_add(d, "voice", json_object_new_string(p->voice));
        break;
    case TC_CMD_SET_AVATAR:
        if (!p->cfg.hooks.set_avatar) {
            snprintf(reason, sizeof reason, "set_avatar: not supported here");
        } else if (p->cfg.hooks.set_avatar(p->cfg.opaque, c->msg.arg, reason, sizeof reason) == TC_OK) {
            json_object_object_add(d, "avatar", json_object_new_string(c->msg.arg));
            reason[0] = 0;
        } else if (!reason[0]) {
            snprintf(reason, sizeof reason, "set_avatar: cannot use '%s'", c->msg.arg);
        }
        break;
    case TC_CMD_PING:
        break;
    case TC_CMD_NONE:
        snprintf(reason, sizeof reason, "control message without a command");
        break;
    }
    p->st.controls++;
    if (reason[0]) {
        json_object_put(d);
        fail_now(p, c, reason);
        return;
    }
    json_object_object_add(d, "state", json_object_new_string(tc_pipe_state_name(p->state)));
    json_object_object_add(d, "queue_depth", json_object_new_int(p->n_queue));
    json_object_object_add(d, "paused", json_object_new_boolean(p->paused));
    tc_pipe_emit(p, c->msg.command == TC_CMD_PING ? "pong" : "control", &c->msg, d);
    tc_pipe_settle(p, c, TC_PIPE_DONE, NULL);
    tc_pipe_update_state(p, "control");
}

void tc_pipe_submit(tc_pipe *p, tc_msg *m, void *handle, int64_t received_ns)
{
    pthread_mutex_lock(&p->lock);
    p->st.received++;
    tc_pipe_job *j = job_new(p, m, handle, received_ns);
    if (!j) {
        /* cannot even hold it: give it back to the broker for later */
        pthread_mutex_unlock(&p->lock);
        if (p->cfg.hooks.settle) p->cfg.hooks.settle(p->cfg.opaque, handle, TC_PIPE_REQUEUED, "out of memory");
        tc_msg_free(m);
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "type", json_object_new_string(tc_msg_type_name(j->msg.type)));
    if (j->msg.type == TC_MSG_CONTROL) {
        json_object_object_add(d, "command", json_object_new_string(tc_msg_command_name(j->msg.command)));
        tc_pipe_emit(p, "received", &j->msg, d);
        control(p, j);
        pthread_mutex_unlock(&p->lock);
        return;
    }

    tc_pipe_job *same = NULL;
    if (p->draining) {
        json_object_put(d);
        tc_pipe_settle(p, j, TC_PIPE_REQUEUED, "shutting down");
    } else if ((same = find_id(p->queue, j->msg.id)) || (same = find_id(p->active, j->msg.id))) {
        /* a redelivery of one we hold (its first delivery belonged to a
         * connection that is gone): keep the job, take the new handle. The
         * stale copy is settled without marking the id as done: the
         * message is not said yet, and a later redelivery (another broker
         * restart) must find it held, not "already spoken". */
        json_object_put(d);
        void *old = same->handle;
        same->handle = j->handle;
        j->handle = old;
        j->stale = 1;
        tc_log(&log_ctx, TC_LOG_INFO, "message id=%s redelivered while held: keeping one copy", j->msg.id);
        tc_pipe_settle(p, j, TC_PIPE_DUPLICATE, "redelivered while held");
    } else if (tc_pipe_seen(p, j->msg.id)) {
        json_object_put(d);
        tc_log(&log_ctx, TC_LOG_INFO, "message id=%s was settled before: not spoken again", j->msg.id);
        tc_pipe_settle(p, j, TC_PIPE_DUPLICATE, "already spoken");
    } else if (p->n_queue >= p->cfg.max_queue) {
        json_object_put(d);
        char reason[96];
        snprintf(reason, sizeof reason, "queue full (%d messages waiting)", p->n_queue);
        fail_now(p, j, reason);
    } else {
        j->cut_in = j->msg.interrupt;
        json_object_object_add(d, "priority", json_object_new_int(j->msg.priority));
        json_object_object_add(d, "queue_depth", json_object_new_int(p->n_queue + 1));
        json_object_object_add(d, "interrupt", json_object_new_boolean(j->cut_in));
        tc_pipe_emit(p, "received", &j->msg, d);
        if (j->cut_in) interrupt(p, j->msg.id, 1);
        tc_pipe_queue_insert(p, j);
        tc_pipe_update_state(p, "queued");
    }
    pthread_mutex_unlock(&p->lock);
}

void tc_pipe_reject(tc_pipe *p, const char *id, void *handle, const char *reason)
{
    pthread_mutex_lock(&p->lock);
    p->st.received++;
    tc_msg m = { 0 };
    if (id) snprintf(m.id, sizeof m.id, "%s", id);
    tc_pipe_job *j = job_new(p, &m, handle, tc_now_ns());
    if (j) {
        fail_now(p, j, reason);
    } else {
        p->st.failed++;
        if (p->cfg.hooks.settle) p->cfg.hooks.settle(p->cfg.opaque, handle, TC_PIPE_FAILED, reason);
    }
    pthread_mutex_unlock(&p->lock);
}

int tc_pipe_drain(tc_pipe *p, tc_pipe_drain_mode mode, int timeout_ms)
{
    pthread_mutex_lock(&p->lock);
    p->draining = 1;
    while (p->queue) {
        tc_pipe_job *j = p->queue;
        p->queue = j->next;
        p->n_queue--;
        tc_pipe_settle(p, j, TC_PIPE_REQUEUED, "shutting down");
    }
    for (tc_pipe_job *j = p->active; j; j = j->next) {
        int on_air = j == p->active && j->started;
        if (on_air && mode == TC_PIPE_DRAIN_MESSAGE) continue;
        tc_pipe_stop_job(p, j, STOP_SHUTDOWN, on_air && mode == TC_PIPE_DRAIN_SENTENCE, NULL);
    }
    tc_log(&log_ctx, TC_LOG_INFO, "draining: %d message(s) on air (%s)", p->n_active,
           mode == TC_PIPE_DRAIN_MESSAGE ? "finishing the message" : mode == TC_PIPE_DRAIN_SENTENCE ? "finishing the sentence" : "stopping now");
    int64_t deadline = tc_now_ns() + (int64_t)timeout_ms * 1000000;
    int r = TC_OK;
    while (p->active) {
        int64_t left = deadline - tc_now_ns();
        if (timeout_ms >= 0 && left <= 0) {
            r = TC_ERR_TIMEOUT;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t step = timeout_ms >= 0 && left < 100000000 ? left : 100000000;
        ts.tv_nsec += step;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&p->settled, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void tc_pipe_get_stats(tc_pipe *p, tc_pipe_stats *st)
{
    pthread_mutex_lock(&p->lock);
    *st = p->st;
    st->queue_depth = p->n_queue;
    for (tc_pipe_job *j = p->active; j; j = j->next)
        if (!j->started) st->queue_depth++;
    st->paused = p->paused;
    st->state = p->state;
    pthread_mutex_unlock(&p->lock);
}
