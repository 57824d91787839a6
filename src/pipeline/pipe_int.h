/* pipe_int.h — what the pipeline's files share: the job, the pipeline
 * struct and the helpers one file gives the others. Not a public header. */
#ifndef TC_PIPE_INT_H
#define TC_PIPE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/clock.h"
#include "lipsync/lipsync.h"
#include "pipeline/pipeline.h"

/* Why a job is being stopped before its end. */
typedef enum job_stop {
    STOP_NONE = 0,
    STOP_INTERRUPT, /* interrupt / cut-in: settled INTERRUPTED */
    STOP_CLEAR,     /* clear: CLEARED */
    STOP_RESTART,   /* a cut-in went ahead of it before it started: back to the queue */
    STOP_FAIL,      /* TTS failed: FAILED */
    STOP_SHUTDOWN   /* drain/exit: REQUEUED unless it was said to the end */
} job_stop;

typedef struct tc_pipe_job {
    uint64_t seq;              /* arrival order; the engine group of its segments */
    tc_msg msg;
    void *handle;              /* the caller's; settled exactly once */
    int stale;                 /* a redelivery's old copy: settling it does not mark the id done */
    int64_t received_ns;
    int cut_in;                /* goes before every queued message */
    struct tc_pipe_job *next;  /* in the queue or the active list */
    /* speech (guarded by the pipeline lock) */
    int segs_enqueued, segs_done;
    int synth_done, started, speech_done;
    int64_t start_frame, end_frame, samples;
    int sentences;
    job_stop stop;
    int64_t stop_frame;        /* timeline position when the stop was asked */
    char by[TC_MSG_MAX_ID + 1]; /* id of the message that stopped it */
    char reason[256];
} tc_pipe_job;

#define DEDUPE_MAX 65536

struct tc_pipe {
    tc_pipe_config cfg;
    tc_lips_config lips;
    tc_clock clk;

    pthread_mutex_t lock;      /* guards everything below */
    tc_cap_cues *cues;         /* the rolling captions file's cues, or NULL */
    tc_cap_format cues_fmt;
    int cues_failed;           /* its last write failed (logged once) */
    int cues_dirty, cues_quit; /* the writer thread: write again / flush and end */
    pthread_cond_t cues_cond;  /* wakes the writer thread */
    pthread_t cues_th;
    int cues_started;
    pthread_cond_t wake;       /* the speech thread: work, resume or stop */
    pthread_cond_t settled;    /* drain: the active list changed */
    tc_pipe_job *queue;        /* waiting, in the order they will be spoken */
    int n_queue;
    tc_pipe_job *active, *active_tail; /* synthesizing or in the engine, in play order */
    int n_active;
    tc_pipe_job *synth;        /* the one the speech thread is synthesizing */
    int tails;                 /* pause segments queued or playing */
    int paused, draining, stopping;
    uint64_t next_seq;
    char voice[64];            /* set_voice; "" = the provider's */
    tc_pipe_state state;
    uint64_t *ids;             /* hashes of settled ids (ring) */
    int ids_head, n_ids;
    tc_pipe_stats st;

    pthread_t th;
    int started;
};

/* pipeline.c */
void tc_pipe_update_state(tc_pipe *p, const char *why);
void tc_pipe_set_state(tc_pipe *p, tc_pipe_state to, const char *why);
void tc_pipe_stop_job(tc_pipe *p, tc_pipe_job *j, job_stop why, int keep_current, const char *by);
void tc_pipe_settle(tc_pipe *p, tc_pipe_job *j, tc_pipe_outcome o, const char *reason);
void tc_pipe_queue_insert(tc_pipe *p, tc_pipe_job *j);
int tc_pipe_seen(tc_pipe *p, const char *id);
void tc_pipe_remember(tc_pipe *p, const char *id);

/* event.c: build and send an event (detail is consumed; may be NULL). */
void tc_pipe_emit(tc_pipe *p, const char *event, const tc_msg *m, json_object *detail);
void tc_pipe_emit_id(tc_pipe *p, const char *event, const char *id, json_object *detail);

#endif
