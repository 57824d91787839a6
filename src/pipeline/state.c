/* state.c — the pipeline's states and which changes between them are legal.
 *
 * The table is the whole truth: a change not in it is refused (and counted
 * by the caller), so a bug shows up as a logged refusal instead of an
 * avatar that claims to talk while silent. */
#include "pipeline/pipeline.h"

static const char *const names[TC_PIPE_STATE_COUNT] = {
    [TC_PIPE_IDLE] = "IDLE",
    [TC_PIPE_PROCESSING] = "PROCESSING",
    [TC_PIPE_TALKING] = "TALKING",
    [TC_PIPE_TRANSITIONING] = "TRANSITIONING",
    [TC_PIPE_ERROR] = "ERROR",
};

/* legal[from][to] */
static const unsigned char legal[TC_PIPE_STATE_COUNT][TC_PIPE_STATE_COUNT] = {
    [TC_PIPE_IDLE] = { [TC_PIPE_PROCESSING] = 1, [TC_PIPE_ERROR] = 1 },
    [TC_PIPE_PROCESSING] = { [TC_PIPE_TALKING] = 1, [TC_PIPE_IDLE] = 1, [TC_PIPE_ERROR] = 1 },
    [TC_PIPE_TALKING] = { [TC_PIPE_TRANSITIONING] = 1, [TC_PIPE_ERROR] = 1 },
    [TC_PIPE_TRANSITIONING] = { [TC_PIPE_IDLE] = 1, [TC_PIPE_PROCESSING] = 1, [TC_PIPE_TALKING] = 1,
                                [TC_PIPE_ERROR] = 1 },
    [TC_PIPE_ERROR] = { [TC_PIPE_IDLE] = 1 },
};

const char *tc_pipe_state_name(tc_pipe_state s)
{
    return (unsigned)s < TC_PIPE_STATE_COUNT ? names[s] : "?";
}

int tc_pipe_transition_legal(tc_pipe_state from, tc_pipe_state to)
{
    if ((unsigned)from >= TC_PIPE_STATE_COUNT || (unsigned)to >= TC_PIPE_STATE_COUNT) return 0;
    return legal[from][to];
}

const char *tc_pipe_outcome_name(tc_pipe_outcome o)
{
    switch (o) {
    case TC_PIPE_SPOKEN: return "spoken";
    case TC_PIPE_INTERRUPTED: return "interrupted";
    case TC_PIPE_CLEARED: return "cleared";
    case TC_PIPE_FAILED: return "failed";
    case TC_PIPE_REQUEUED: return "requeued";
    case TC_PIPE_DUPLICATE: return "duplicate";
    case TC_PIPE_DONE: return "done";
    }
    return "?";
}
