/* queue.h — a bounded, blocking, thread-safe FIFO of pointers.
 *
 * Threads in talkcast talk only through these. The capacity is fixed at
 * create time and nothing is allocated afterwards. A producer that must
 * never block (the engine) uses tc_queue_try_put and applies its own drop
 * policy on TC_ERR_AGAIN; consumers block in tc_queue_get with a timeout.
 * After tc_queue_close, puts fail with TC_ERR_CLOSED and gets drain what is
 * left, then return TC_ERR_CLOSED.
 *
 * Ownership: the queue never owns the items. Whoever destroys a queue that
 * still holds items must drain them first (tc_queue_try_get) and free them. */
#ifndef TC_QUEUE_H
#define TC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_queue tc_queue;

/* capacity >= 1 (rounded up to a power of two internally is NOT done: the
 * queue holds exactly `capacity` items). */
int tc_queue_create(tc_queue **out, size_t capacity);
void tc_queue_destroy(tc_queue *q); /* accepts NULL; items are not freed */

/* TC_OK, TC_ERR_AGAIN when full, TC_ERR_CLOSED after close. */
int tc_queue_try_put(tc_queue *q, void *item);
/* Block up to timeout_ms (-1 = forever) for room. TC_ERR_TIMEOUT on time-out. */
int tc_queue_put(tc_queue *q, void *item, int timeout_ms);

/* TC_OK with *item set, TC_ERR_AGAIN when empty, TC_ERR_CLOSED when closed and empty. */
int tc_queue_try_get(tc_queue *q, void **item);
/* Block up to timeout_ms (-1 = forever). TC_ERR_TIMEOUT when nothing came. */
int tc_queue_get(tc_queue *q, void **item, int timeout_ms);

/* Wake every waiter; further puts fail. Idempotent. */
void tc_queue_close(tc_queue *q);

size_t tc_queue_count(tc_queue *q);
size_t tc_queue_capacity(const tc_queue *q);

#endif
