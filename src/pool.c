/*
 * pool: see pool.h and docs/internals/pool.md.
 *
 * There is no pool lock. The owner thread alone changes the pool's state
 * (started, joined); the workers only read what was set before
 * pthread_create(), which orders it for them, and write their own stats,
 * which are atomics so that the owner may read them at any time. Ending the
 * workers needs nothing of our own either: a close of the queue (drain) or a
 * cancel of the pool's context (stop) makes their pop return NULL.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctx.h"
#include "log.h"
#include "pool.h"
#include "queue.h"
#include "thread.h"
#include "xmalloc.h"

struct pool_worker {
	struct ls_pool *pool;
	unsigned idx;
	pthread_t thread;
	int started;
	/* Written by the worker only; relaxed, as they order nothing. */
	atomic_uint_least64_t items;
	atomic_uint_least64_t busy_ns;
};

struct ls_pool {
	char *name;
	unsigned n;
	struct ls_queue *q;
	struct ls_pool_ops ops;
	void *arg;
	struct ls_ctx *ctx;
	struct pool_worker *workers;
	int started;
	int joined;
};

static void *
pool_worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct ls_pool *p = w->pool;
	void *state = NULL, *item;
	uint64_t t0;

	if (p->ops.init_cb != NULL)
		state = p->ops.init_cb(w->idx, p->arg);

	for (;;) {
		item = ls_queue_pop(p->q, p->ctx, LS_FOREVER, NULL);
		if (item == NULL)
			break;
		t0 = (uint64_t)ls_now_ns();
		p->ops.process_cb(item, state, p->ctx, p->arg);
		atomic_fetch_add_explicit(&w->busy_ns,
		    (uint64_t)ls_now_ns() - t0, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->items, 1, memory_order_relaxed);
	}
	if (errno == EPIPE)
		log_debug("queue drained, worker ending");
	else
		log_debug("stopped, worker ending");

	if (p->ops.fini_cb != NULL)
		p->ops.fini_cb(state, p->arg);
	if (p->ops.exit_cb != NULL)
		p->ops.exit_cb(w->idx, p->arg);
	return NULL;
}

struct ls_pool *
ls_pool_new(const char *name, unsigned n, struct ls_queue *q,
    const struct ls_pool_ops *ops, void *arg, struct ls_ctx *parent)
{
	struct ls_pool *p;
	unsigned i;

	if (n == 0 || q == NULL || ops == NULL || ops->process_cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	p->n = n;
	p->q = q;
	p->ops = *ops;
	p->arg = arg;
	p->workers = xcalloc(n, sizeof *p->workers);
	for (i = 0; i < n; i++) {
		p->workers[i].pool = p;
		p->workers[i].idx = i;
		atomic_init(&p->workers[i].items, 0);
		atomic_init(&p->workers[i].busy_ns, 0);
	}
	if ((p->ctx = ls_ctx_new(parent)) == NULL)
		goto fail;
	return p;

fail:
	ls_pool_free(p);
	return NULL;
}

/* Tested in check_pool.c: drain_*, stop_*, callbacks_once_per_worker. */
int
ls_pool_start(struct ls_pool *p)
{
	char name[64];
	unsigned i;
	int r;

	if (p->started) {
		errno = EALREADY;
		return -1;
	}
	p->started = 1;
	for (i = 0; i < p->n; i++) {
		snprintf(name, sizeof name, "%s/%u", p->name, i);
		r = ls_thread_start(&p->workers[i].thread, name,
		    pool_worker_main, &p->workers[i]);
		if (r != 0) {
			/* All or nothing: end the ones already running. */
			errno = r;
			log_warn("%s: cannot start worker %u", p->name, i);
			ls_pool_stop(p);
			ls_pool_join(p);
			errno = r;
			return -1;
		}
		p->workers[i].started = 1;
	}
	return 0;
}

void
ls_pool_stop(struct ls_pool *p)
{
	ls_ctx_cancel(p->ctx);
}

void
ls_pool_join(struct ls_pool *p)
{
	unsigned i;
	int r;

	if (!p->started || p->joined)
		return;
	for (i = 0; i < p->n; i++) {
		if (!p->workers[i].started)
			continue;
		if ((r = pthread_join(p->workers[i].thread, NULL)) != 0) {
			errno = r;
			fatal("%s: pthread_join", p->name);
		}
	}
	p->joined = 1;
}

void
ls_pool_free(struct ls_pool *p)
{
	if (p == NULL)
		return;
	if (p->ctx != NULL) {
		ls_pool_stop(p);
		ls_pool_join(p);
		ls_ctx_free(p->ctx);
	}
	free(p->workers);
	free(p->name);
	free(p);
}

unsigned
ls_pool_size(struct ls_pool *p)
{
	return p->n;
}

void
ls_pool_stats(struct ls_pool *p, unsigned idx, struct ls_pool_stats *st)
{
	struct pool_worker *w;

	if (idx >= p->n)
		fatalx("%s: no worker %u", p->name, idx);
	w = &p->workers[idx];
	st->items = atomic_load_explicit(&w->items, memory_order_relaxed);
	st->busy_ms
	    = atomic_load_explicit(&w->busy_ns, memory_order_relaxed) / 1000000;
}
