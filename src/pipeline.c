/*
 * pipeline: see pipeline.h.
 *
 * The table in main.c shows the stages on one screen; this file builds
 * them. Each destination is independent: its own queue, batcher, pool and
 * connection semaphore, so a slow intake stalls nobody else's network work.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "batcher.h"
#include "encode.h"
#include "log.h"
#include "pipeline.h"
#include "pool.h"
#include "record.h"
#include "router.h"
#include "sender.h"
#include "xmalloc.h"

struct dest {
	struct ls_pipeline *p;
	const struct ls_conf_dest *conf;
	struct ls_queue *in; /* records routed here */
	struct ls_queue *batches; /* batcher -> workers */
	struct ls_batcher *batcher;
	struct ls_sender_dest *sd;
	struct ls_pool *pool;
};

struct ls_pipeline {
	const struct ls_conf *conf;
	struct ls_metrics *m;
	struct ls_ctx *ctx;
	struct ls_queue *ingest;
	struct ls_queue **dest_in; /* the router's outputs */
	uint64_t *shed_limit; /* per destination, 0: on_full block */
	struct ls_router *router;
	struct dest *dests;
	size_t ndests;
	atomic_uint live; /* threads still running */
	int started;
	void (*done_cb)(void *);
	void *arg;
};

/* Every stage thread calls this as its last act. */
static void
thread_exit_cb(void *arg)
{
	struct ls_pipeline *p = arg;

	if (atomic_fetch_sub(&p->live, 1) == 1 && p->done_cb != NULL)
		p->done_cb(p->arg);
}

static void
worker_exit_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;

	thread_exit_cb(d->p);
}

static void *
worker_init_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;
	struct ls_sender *s;

	if ((s = ls_sender_new(d->sd, idx)) == NULL)
		fatalx("%s: worker %u cannot start", d->conf->name, idx);
	return s;
}

static void
worker_process_cb(void *item, void *wstate, struct ls_ctx *ctx, void *arg)
{
	ls_sender_send(wstate, item, ctx);
}

static void
worker_fini_cb(void *wstate, void *arg)
{
	ls_sender_free(wstate);
}

static const struct ls_pool_ops worker_ops = {
	.init_cb = worker_init_cb,
	.process_cb = worker_process_cb,
	.fini_cb = worker_fini_cb,
	.exit_cb = worker_exit_cb,
};

static size_t
estimate_cb(const struct ls_record *r, void *arg)
{
	const struct ls_pipeline *p = arg;

	return ls_encode_estimate(r, p->conf->hostname);
}

struct ls_pipeline *
ls_pipeline_new(const struct ls_conf *conf, struct ls_acks *acks,
    struct ls_metrics *m, struct ls_ctx *root, void (*done_cb)(void *),
    void *arg)
{
	struct ls_pipeline *p;
	struct ls_batcher_limits lim;
	struct dest *d;
	char name[96];
	size_t i;

	p = xcalloc(1, sizeof *p);
	p->conf = conf;
	p->m = m;
	p->done_cb = done_cb;
	p->arg = arg;
	p->ctx = ls_ctx_new(root);
	p->ingest = ls_queue_new(ls_record_unref_cb, NULL);
	p->ndests = conf->ndests;
	p->dests = xcalloc(p->ndests, sizeof *p->dests);
	p->dest_in = xcalloc(p->ndests, sizeof *p->dest_in);
	p->shed_limit = xcalloc(p->ndests, sizeof *p->shed_limit);
	for (i = 0; i < p->ndests; i++) {
		d = &p->dests[i];
		d->p = p;
		d->conf = &conf->dests[i];
		d->in = p->dest_in[i] = ls_queue_new(ls_record_unref_cb, NULL);
		d->batches = ls_queue_new(ls_batch_free_cb, NULL);
		if (d->conf->on_full == LS_ON_FULL_DROP_NEWEST)
			p->shed_limit[i] = d->conf->max_buffer_bytes
			    ? d->conf->max_buffer_bytes
			    : conf->max_buffer_bytes;
		lim.max_entries = d->conf->batch_max_entries;
		lim.max_bytes = d->conf->batch_max_bytes;
		lim.max_wait_ms = d->conf->batch_max_wait_ms;
		d->batcher = ls_batcher_new(d->conf->name, d->in, d->batches,
		    &lim, estimate_cb, p, p->ctx, thread_exit_cb, p);
		if ((d->sd = ls_sender_dest_new(
			 d->conf, conf->hostname,
			 /* the checkpoint waits for block ones only */
			 p->shed_limit[i] == 0 ? acks : NULL, &m->dest[i]))
		    == NULL)
			goto fail;
		snprintf(name, sizeof name, "worker/%s", d->conf->name);
		if ((d->pool = ls_pool_new(name, d->conf->workers, d->batches,
			 &worker_ops, d, p->ctx))
		    == NULL)
			goto fail;
	}
	p->router = ls_router_new(p->ingest, p->dest_in, p->ndests, conf->route,
	    p->shed_limit, acks, m, p->ctx, thread_exit_cb, p);
	return p;
fail:
	ls_pipeline_free(p);
	return NULL;
}

int
ls_pipeline_start(struct ls_pipeline *p)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i < p->ndests; i++)
		n += 1 + ls_pool_size(p->dests[i].pool);
	atomic_init(&p->live, n);
	p->started = 1;
	/* Back to front, so every consumer waits before its producer runs.
	 * On failure the caller frees the pipeline, which cancels and joins
	 * what did start. */
	for (i = 0; i < p->ndests; i++) {
		if (ls_pool_start(p->dests[i].pool) != 0)
			goto fail;
		if (ls_batcher_start(p->dests[i].batcher) != 0)
			goto fail;
	}
	if (ls_router_start(p->router) != 0)
		goto fail;
	return 0;
fail:
	ls_ctx_cancel(p->ctx);
	return -1;
}

struct ls_queue *
ls_pipeline_input(struct ls_pipeline *p)
{
	return p->ingest;
}

void
ls_pipeline_drain(struct ls_pipeline *p)
{
	ls_queue_close(p->ingest);
}

void
ls_pipeline_join(struct ls_pipeline *p)
{
	size_t i;

	ls_router_join(p->router);
	for (i = 0; i < p->ndests; i++) {
		ls_batcher_join(p->dests[i].batcher);
		ls_pool_join(p->dests[i].pool);
	}
}

uint64_t
ls_pipeline_queued_bytes(struct ls_pipeline *p)
{
	uint64_t n = ls_queue_bytes(p->ingest);
	size_t i;

	for (i = 0; i < p->ndests; i++)
		n += ls_queue_bytes(p->dests[i].in)
		    + ls_queue_bytes(p->dests[i].batches);
	return n;
}

void
ls_pipeline_dest_queued(
    struct ls_pipeline *p, size_t i, uint64_t *records, uint64_t *batches)
{
	*records = ls_queue_len(p->dests[i].in);
	*batches = ls_queue_len(p->dests[i].batches);
}

int64_t
ls_pipeline_dest_backoff_ms(struct ls_pipeline *p, size_t i)
{
	return ls_sender_dest_backoff_ms(p->dests[i].sd);
}

void
ls_pipeline_free(struct ls_pipeline *p)
{
	struct dest *d;
	size_t i;

	if (p == NULL)
		return;
	ls_ctx_cancel(p->ctx);
	ls_router_free(p->router);
	for (i = 0; i < p->ndests; i++) {
		d = &p->dests[i];
		ls_batcher_free(d->batcher);
		ls_pool_free(d->pool);
		ls_sender_dest_free(d->sd);
		ls_queue_free(d->batches);
		ls_queue_free(d->in);
	}
	ls_queue_free(p->ingest);
	free(p->dests);
	free(p->dest_in);
	free(p->shed_limit);
	ls_ctx_free(p->ctx);
	free(p);
}
