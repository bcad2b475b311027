/*
 * queue: see queue.h and docs/internals/queue.md.
 *
 * A ring buffer of {item, bytes} slots under one mutex, with one condition
 * variable meaning "an item was pushed, or the queue was closed". A ring
 * rather than a linked list: a push allocates nothing in the common case,
 * and the slots of a busy queue stay in a few cache lines. The ring doubles
 * when full and halves when a quarter full, so a burst does not pin its
 * peak memory forever, and the copying costs O(1) per item amortised.
 *
 * Wake-ups: a push signals one consumer, a push_many or a close wakes them
 * all. A consumer that was signalled but leaves without an item (its context
 * is done) passes the signal on, or another consumer could sleep while an
 * item waits for it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "log.h"
#include "queue.h"
#include "xmalloc.h"

/* The ring's first size; a power of two, as every size is. */
#define QUEUE_MINCAP 16
/* It shrinks (at a quarter full, by half) only down to this: a queue that
 * moves batches of hundreds of items would otherwise grow and shrink again
 * with every batch (16 KiB of slots). */
#define QUEUE_KEEPCAP 1024

struct queue_slot {
	void *item;
	size_t bytes;
};

struct ls_queue {
	pthread_mutex_t mtx;
	pthread_cond_t nonempty;

	struct queue_slot *ring;
	size_t cap;
	size_t head;
	size_t len;
	uint64_t bytes;
	int closed;

	void (*free_cb)(void *, void *);
	void *arg;
};

/* Moves the items to a new ring of cap slots, oldest first. */
static void
queue_resize(struct ls_queue *q, size_t cap)
{
	struct queue_slot *ring;
	size_t first;

	ring = xreallocarray(NULL, cap, sizeof *ring);
	first = q->cap - q->head;
	if (first > q->len)
		first = q->len;
	memcpy(ring, q->ring + q->head, first * sizeof *ring);
	memcpy(ring + first, q->ring, (q->len - first) * sizeof *ring);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
}

static void
queue_reserve(struct ls_queue *q, size_t n)
{
	size_t cap = q->cap;

	if (n > SIZE_MAX / 2 - q->len)
		fatalx("%s: queue too long", __func__);
	while (cap < q->len + n)
		cap *= 2;
	if (cap != q->cap)
		queue_resize(q, cap);
}

static void
queue_put(struct ls_queue *q, void *item, size_t bytes)
{
	struct queue_slot *s;

	s = &q->ring[(q->head + q->len) & (q->cap - 1)];
	s->item = item;
	s->bytes = bytes;
	q->len++;
	q->bytes += bytes;
}

static void *
queue_take(struct ls_queue *q, size_t *bytes)
{
	struct queue_slot *s = &q->ring[q->head];
	void *item = s->item;

	if (bytes != NULL)
		*bytes = s->bytes;
	q->bytes -= s->bytes;
	q->head = (q->head + 1) & (q->cap - 1);
	q->len--;
	if (q->cap > QUEUE_KEEPCAP && q->len <= q->cap / 4)
		queue_resize(q, q->cap / 2);
	return item;
}

/*
 * Waits, with the lock held, until there is an item to take (0) or a
 * reason to give up (an errno value). The context is checked first, so a
 * done context stops a consumer even while items are left: that is what
 * lets ls_pool_stop() end the workers without draining the queue. "until" is
 * checked last, so an item that came with the timeout is still taken.
 */
static int
queue_wait(struct ls_queue *q, struct ls_ctx *ctx, int64_t until)
{
	int timedout = 0;

	for (;;) {
		if (ls_ctx_done(ctx))
			return ECANCELED;
		if (q->len > 0)
			return 0;
		if (q->closed)
			return EPIPE;
		if (timedout)
			return ETIMEDOUT;
		if (ls_ctx_wait(ctx, &q->mtx, &q->nonempty, until) == ETIMEDOUT)
			timedout = 1;
	}
}

/* Leaves a failed pop: see "Wake-ups" above. Called with the lock held. */
static void
queue_fail(struct ls_queue *q, int error)
{
	if (q->len > 0)
		pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->mtx);
	errno = error;
}

struct ls_queue *
ls_queue_new(void (*free_cb)(void *item, void *arg), void *arg)
{
	struct ls_queue *q;
	int r;

	q = xcalloc(1, sizeof *q);
	if ((r = pthread_mutex_init(&q->mtx, NULL)) != 0) {
		free(q);
		errno = r;
		return NULL;
	}
	ls_cond_init(&q->nonempty);
	q->cap = QUEUE_MINCAP;
	q->ring = xreallocarray(NULL, q->cap, sizeof *q->ring);
	q->free_cb = free_cb;
	q->arg = arg;
	return q;
}

/* Tested in check_queue.c: free_releases_leftovers. */
void
ls_queue_free(struct ls_queue *q)
{
	if (q == NULL)
		return;
	/* No other thread may be using the queue, so no lock is needed, and
	 * the callback may do as it likes. */
	while (q->len > 0) {
		void *item = queue_take(q, NULL);

		if (q->free_cb != NULL)
			q->free_cb(item, q->arg);
	}
	free(q->ring);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}

int
ls_queue_push(struct ls_queue *q, void *item, size_t bytes)
{
	if (item == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&q->mtx);
	if (q->closed) {
		pthread_mutex_unlock(&q->mtx);
		errno = EPIPE;
		return -1;
	}
	queue_reserve(q, 1);
	queue_put(q, item, bytes);
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->mtx);
	return 0;
}

/* Tested in check_queue.c: push_many_*, stress_*. */
int
ls_queue_push_many(
    struct ls_queue *q, void *const *items, const size_t *bytes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i] == NULL) {
			errno = EINVAL;
			return -1;
		}
	}
	pthread_mutex_lock(&q->mtx);
	if (q->closed) {
		pthread_mutex_unlock(&q->mtx);
		errno = EPIPE;
		return -1;
	}
	queue_reserve(q, n);
	for (i = 0; i < n; i++)
		queue_put(q, items[i], bytes != NULL ? bytes[i] : 0);
	/* Several items may feed several consumers. */
	if (n == 1)
		pthread_cond_signal(&q->nonempty);
	else if (n > 1)
		pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->mtx);
	return 0;
}

/* Tested in check_queue.c: pop_*, close_wakes_waiters, cancel_*. */
void *
ls_queue_pop(
    struct ls_queue *q, struct ls_ctx *ctx, int64_t until, size_t *bytes)
{
	void *item;
	int r;

	pthread_mutex_lock(&q->mtx);
	if ((r = queue_wait(q, ctx, until)) != 0) {
		queue_fail(q, r);
		return NULL;
	}
	item = queue_take(q, bytes);
	pthread_mutex_unlock(&q->mtx);
	return item;
}

size_t
ls_queue_pop_many(struct ls_queue *q, struct ls_ctx *ctx, int64_t until,
    void **items, size_t *bytes, size_t max)
{
	size_t i;
	int r;

	if (max == 0) {
		errno = EINVAL;
		return 0;
	}
	pthread_mutex_lock(&q->mtx);
	if ((r = queue_wait(q, ctx, until)) != 0) {
		queue_fail(q, r);
		return 0;
	}
	for (i = 0; i < max && q->len > 0; i++)
		items[i] = queue_take(q, bytes != NULL ? &bytes[i] : NULL);
	pthread_mutex_unlock(&q->mtx);
	return i;
}

void *
ls_queue_trypop(struct ls_queue *q, size_t *bytes)
{
	void *item;

	pthread_mutex_lock(&q->mtx);
	if (q->len == 0) {
		errno = q->closed ? EPIPE : EAGAIN;
		pthread_mutex_unlock(&q->mtx);
		return NULL;
	}
	item = queue_take(q, bytes);
	pthread_mutex_unlock(&q->mtx);
	return item;
}

/* Tested in check_queue.c: close_wakes_waiters. */
void
ls_queue_close(struct ls_queue *q)
{
	pthread_mutex_lock(&q->mtx);
	q->closed = 1;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->mtx);
}

int
ls_queue_closed(struct ls_queue *q)
{
	int closed;

	pthread_mutex_lock(&q->mtx);
	closed = q->closed;
	pthread_mutex_unlock(&q->mtx);
	return closed;
}

size_t
ls_queue_len(struct ls_queue *q)
{
	size_t len;

	pthread_mutex_lock(&q->mtx);
	len = q->len;
	pthread_mutex_unlock(&q->mtx);
	return len;
}

uint64_t
ls_queue_bytes(struct ls_queue *q)
{
	uint64_t bytes;

	pthread_mutex_lock(&q->mtx);
	bytes = q->bytes;
	pthread_mutex_unlock(&q->mtx);
	return bytes;
}
