/*
 * pool: N joinable worker threads over one queue: the worker pool plus
 * sync.WaitGroup of Go.
 *
 * Each worker pops items from the queue and runs process_cb on them, with a
 * per-worker state made by init_cb in the worker thread itself (a curl easy
 * handle, say) and released by fini_cb. Workers end when the queue is closed
 * and drained (the drain) or when the pool's context is done (the stop).
 * The pool owns its threads and joins them; none is detached.
 *
 * Ownership: the pool borrows the queue, which must outlive it. process_cb
 * owns the item it is given.
 *
 * Threading: new/start/stop/join/free from one owner thread; process_cb
 * runs in the workers. See docs/internals/pool.md.
 */
#ifndef LS_POOL_H
#define LS_POOL_H

#include <stdint.h>

#include "ctx.h"
#include "queue.h"

struct ls_pool;

struct ls_pool_ops {
	/* Runs in worker idx before its first item; returns its state (may
	 * be NULL). May be NULL. */
	void *(*init_cb)(unsigned idx, void *arg);
	/* Handles one item, which it owns. ctx is the pool's context: pass it
	 * to every blocking call so that a stop reaches them. */
	void (*process_cb)(
	    void *item, void *wstate, struct ls_ctx *ctx, void *arg);
	/* Runs in the worker as it exits. May be NULL. */
	void (*fini_cb)(void *wstate, void *arg);
	/* Runs in the worker as its very last act, after fini_cb (so the
	 * owner may learn, without blocking, that it is ending). May be
	 * NULL. */
	void (*exit_cb)(unsigned idx, void *arg);
};

struct ls_pool_stats {
	uint64_t items; /* items processed */
	uint64_t busy_ms; /* time spent in process_cb */
};

/* A pool of n (>= 1) workers over q, whose threads are named
 * "name/0".."name/n-1" (thread.h: the kernel's name and the log's). Its
 * context is a child of parent. Nothing starts until ls_pool_start. */
struct ls_pool *ls_pool_new(const char *name, unsigned n, struct ls_queue *q,
    const struct ls_pool_ops *ops, void *arg, struct ls_ctx *parent);
/* Starts the workers. 0, or -1 with errno if a thread could not be created
 * (those already started are stopped and joined). */
int ls_pool_start(struct ls_pool *) LS_WARN_UNUSED;
/* Asks the workers to end now: cancels the pool's context. Items still in
 * the queue stay there. Does not wait; see ls_pool_join(). */
void ls_pool_stop(struct ls_pool *);
/* Waits for every worker to end. To drain, close the queue first. */
void ls_pool_join(struct ls_pool *);
/* Stops, joins and frees. NULL is a no-op. */
void ls_pool_free(struct ls_pool *);
unsigned ls_pool_size(struct ls_pool *);
/* Worker idx's stats (a snapshot). */
void ls_pool_stats(struct ls_pool *, unsigned idx, struct ls_pool_stats *);

#endif
