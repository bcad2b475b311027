/*
 * queue: an unbounded multi-producer, multi-consumer FIFO of pointers.
 *
 * "A channel is not a queue": pushing never blocks and never fails for
 * want of room, so a producer (the tailer on the event loop) can never be
 * stalled by a slow consumer. Memory is bounded elsewhere, by pausing the
 * readers above a byte watermark; the queue only counts items and bytes so
 * that the watermark can be computed.
 *
 * Closing is the close(ch) of Go: pushes fail from then on, consumers drain
 * what is left, then pops return NULL with errno EPIPE. Every pop waits
 * through a context, so a cancel ends it.
 *
 * Ownership: a successful push moves the item into the queue; a failed push
 * (queue closed) leaves it with the caller. A pop moves it out. Items left
 * at ls_queue_free() are released with the free callback.
 *
 * Threading: any thread. See docs/internals/queue.md.
 */
#ifndef LS_QUEUE_H
#define LS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

struct ls_queue;

/* A new empty queue. free_cb (may be NULL) releases leftover items. */
struct ls_queue *ls_queue_new(
    void (*free_cb)(void *item, void *arg), void *arg);
/* Frees the queue and, with the free callback, every item left in it. No
 * thread may be using it. NULL is a no-op. */
void ls_queue_free(struct ls_queue *);

/* Appends item (not NULL), counting bytes toward ls_queue_bytes(). 0, or
 * -1 with errno EPIPE if the queue is closed (the caller keeps item).
 * Never blocks beyond the queue's own short critical section. */
int ls_queue_push(struct ls_queue *, void *item, size_t bytes) LS_WARN_UNUSED;
/* Appends n items at once under one lock; bytes may be NULL (all 0). All
 * or nothing: 0, or -1 with errno EPIPE if closed. */
int ls_queue_push_many(struct ls_queue *, void *const *items,
    const size_t *bytes, size_t n) LS_WARN_UNUSED;

/*
 * Removes the oldest item, waiting while the queue is empty and open. On
 * success returns it and, if bytes is not NULL, stores its byte count.
 * Returns NULL with errno set to:
 *   EPIPE      closed and empty (the end of the stream),
 *   ETIMEDOUT  until (absolute ls_now_ms() time, or LS_FOREVER) passed,
 *   ECANCELED  ctx is done.
 */
void *ls_queue_pop(
    struct ls_queue *, struct ls_ctx *, int64_t until, size_t *bytes);
/* Like ls_queue_pop(), but takes up to max items at once once at least one
 * is there. Returns how many it stored in items (and bytes, if not NULL);
 * 0 with errno as for ls_queue_pop(). */
size_t ls_queue_pop_many(struct ls_queue *, struct ls_ctx *, int64_t until,
    void **items, size_t *bytes, size_t max);
/* Removes the oldest item without waiting; NULL with errno EAGAIN when
 * empty and open, EPIPE when empty and closed. */
void *ls_queue_trypop(struct ls_queue *, size_t *bytes);

/* Closes the queue and wakes every waiting consumer. Idempotent. */
void ls_queue_close(struct ls_queue *);
int ls_queue_closed(struct ls_queue *);
/* Items and bytes in the queue now (a snapshot). */
size_t ls_queue_len(struct ls_queue *);
uint64_t ls_queue_bytes(struct ls_queue *);

#endif
