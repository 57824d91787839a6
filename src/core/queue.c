/* queue.c — ring of void* guarded by one mutex (`lock` guards head, count,
 * closed and the slots); two condition variables for "not empty" and "not
 * full". Free-running head/count arithmetic modulo capacity. */
#include "core/queue.h"
#include "core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct tc_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    size_t capacity, head, count;
    int closed;
    void *slots[];
};

int tc_queue_create(tc_queue **out, size_t capacity)
{
    *out = NULL;
    if (capacity == 0 || capacity > (SIZE_MAX / sizeof(void *)) - sizeof(tc_queue))
        return TC_ERR_INVAL;
    tc_queue *q = calloc(1, sizeof *q + capacity * sizeof(void *));
    if (!q) return TC_ERR_NOMEM;
    q->capacity = capacity;

    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca)) goto fail_free;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&q->lock, NULL)) goto fail_attr;
    if (pthread_cond_init(&q->not_empty, &ca)) goto fail_mutex;
    if (pthread_cond_init(&q->not_full, &ca)) goto fail_cond;
    pthread_condattr_destroy(&ca);
    *out = q;
    return TC_OK;

fail_cond:
    pthread_cond_destroy(&q->not_empty);
fail_mutex:
    pthread_mutex_destroy(&q->lock);
fail_attr:
    pthread_condattr_destroy(&ca);
fail_free:
    free(q);
    return TC_ERR_NOMEM;
}

void tc_queue_destroy(tc_queue *q)
{
    if (!q) return;
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Wait on `cond` until `ready` or closed or the deadline. Lock held. */
static int wait_for(tc_queue *q, pthread_cond_t *cond, int (*ready)(const tc_queue *),
                    int timeout_ms)
{
    struct timespec dl;
    if (timeout_ms >= 0) dl = deadline_after(timeout_ms);
    while (!ready(q) && !q->closed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(cond, &q->lock);
        } else if (pthread_cond_timedwait(cond, &q->lock, &dl) == ETIMEDOUT) {
            return ready(q) ? TC_OK : TC_ERR_TIMEOUT;
        }
    }
    return TC_OK;
}

static int has_room(const tc_queue *q) { return q->count < q->capacity; }
static int has_item(const tc_queue *q) { return q->count > 0; }

static int put_locked(tc_queue *q, void *item)
{
    if (q->closed) return TC_ERR_CLOSED;
    if (!has_room(q)) return TC_ERR_AGAIN;
    q->slots[(q->head + q->count) % q->capacity] = item;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    return TC_OK;
}

static int get_locked(tc_queue *q, void **item)
{
    if (!has_item(q)) return q->closed ? TC_ERR_CLOSED : TC_ERR_AGAIN;
    *item = q->slots[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
    return TC_OK;
}

int tc_queue_try_put(tc_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    int r = put_locked(q, item);
    pthread_mutex_unlock(&q->lock);
    return r;
}

int tc_queue_put(tc_queue *q, void *item, int timeout_ms)
{
    pthread_mutex_lock(&q->lock);
    int r = wait_for(q, &q->not_full, has_room, timeout_ms);
    if (r == TC_OK) r = put_locked(q, item);
    pthread_mutex_unlock(&q->lock);
    return r;
}

int tc_queue_try_get(tc_queue *q, void **item)
{
    pthread_mutex_lock(&q->lock);
    int r = get_locked(q, item);
    pthread_mutex_unlock(&q->lock);
    return r;
}

int tc_queue_get(tc_queue *q, void **item, int timeout_ms)
{
    pthread_mutex_lock(&q->lock);
    int r = wait_for(q, &q->not_empty, has_item, timeout_ms);
    if (r == TC_OK) r = get_locked(q, item);
    pthread_mutex_unlock(&q->lock);
    return r;
}

void tc_queue_close(tc_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

size_t tc_queue_count(tc_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t tc_queue_capacity(const tc_queue *q) { return q->capacity; }
