/*
 * pipeline: see pipeline.h.
 *
 * The table in main.c shows the stages on one screen; this file builds
 * them. Each destination is independent: its own queue, batcher, pool and
 * connection semaphore, so a slow intake stalls nobody else's network work.
 * The reload handover (retire, heir, hand-on, finish) is in reload.c.
 *
 * A record's life after the router, and who does what:
 *   the router adds its bytes to the destination's held_bytes and sets
 *     its pending count (the destinations the checkpoint waits for);
 *   the sender sends a batch and says which prefix it took (sent, or
 *     dropped by a counted policy) and why not the rest;
 *   worker_process_cb, here, settles the prefix (pl_settle: bytes off
 *     held_bytes, acknowledged if waited for) and hands the rest on:
 *     deferred entries back to the destination's queue, lines a stop cut
 *     short to the leftovers (reload.c hands those to a successor).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "log.h"
#include "pipeline_impl.h"
#include "xmalloc.h"

/* The HTTP sender (sender.h) as send ops. */
static void *
http_dest_new(const struct ls_conf_dest *c, const char *hostname,
    struct ls_dest_metrics *m)
{
	return ls_sender_dest_new(c, hostname, m);
}

static void
http_dest_free(void *sd)
{
	ls_sender_dest_free(sd);
}

static void *
http_worker_new(void *sd, unsigned idx)
{
	return ls_sender_new(sd, idx);
}

static void
http_worker_free(void *w)
{
	ls_sender_free(w);
}

static struct ls_send_outcome
http_send(void *w, struct ls_batch *b, struct ls_ctx *ctx)
{
	return ls_sender_send(w, b, ctx);
}

static int64_t
http_backoff_ms(void *sd)
{
	return ls_sender_dest_backoff_ms(sd);
}

const struct ls_send_ops ls_http_send_ops = {
	.dest_new = http_dest_new,
	.dest_free = http_dest_free,
	.worker_new = http_worker_new,
	.worker_free = http_worker_free,
	.send = http_send,
	.backoff_ms = http_backoff_ms,
};

/* Every stage thread calls this as its last act. */
static void
thread_exit(struct ls_pipeline *p, struct dest *d)
{
	/* A retiring instance's end is news for ls_pipeline_poll(), which
	 * may free d as soon as live is 0: d is not touched after that. */
	if (d != NULL && atomic_fetch_sub(&d->live, 1) == 1
	    && p->hooks.wake_cb != NULL)
		p->hooks.wake_cb(p->hooks.arg);
	if (atomic_fetch_sub(&p->live, 1) == 1 && p->hooks.done_cb != NULL)
		p->hooks.done_cb(p->hooks.arg);
}

static void
router_exit_cb(void *arg)
{
	thread_exit(arg, NULL);
}

static void
batcher_exit_cb(void *arg)
{
	struct dest *d = arg;

	thread_exit(d->p, d);
}

static void
worker_exit_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;

	thread_exit(d->p, d);
}

static void
adopted_cb(unsigned gen, void *arg)
{
	struct ls_pipeline *p = arg;

	if (p->hooks.wake_cb != NULL)
		p->hooks.wake_cb(p->hooks.arg);
}

/* Records that wait for no destination (router.h). */
static void
settled_cb(struct ls_record *const *recs, size_t n, void *arg)
{
	pl_settle(arg, NULL, recs, n, 1);
}

/* The senders are made on the main thread (pl_dest_new), so that one
 * that cannot be made fails the start or undoes the reload. */
static void *
worker_init_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;

	return d->workers[idx];
}

void
pl_settle(struct ls_pipeline *p, struct dest *d, struct ls_record *const *recs,
    size_t n, int taken)
{
	uint64_t bytes = 0;
	size_t i;

	if (n == 0)
		return;
	if (d != NULL) {
		for (i = 0; i < n; i++)
			bytes += ls_record_size(recs[i]);
		atomic_fetch_sub_explicit(
		    &d->m->held_bytes, bytes, memory_order_relaxed);
	}
	/* The checkpoint waits for on_full: block destinations only. */
	if (taken && (d == NULL || d->shed_limit == 0) && p->acks != NULL)
		ls_acks_done(p->acks, recs, n);
}

/* A worker met an internal error: said once per instance. */
static void
report_failure(struct dest *d, const char *why)
{
	if (atomic_exchange(&d->failed, 1))
		return;
	log_warnx("%s: %s; the destination cannot send: its lines stay "
		  "unsent, not committed",
	    d->conf->name, why != NULL ? why : "internal error");
	if (d->p->hooks.fail_cb != NULL)
		d->p->hooks.fail_cb(d->p->hooks.arg);
}

/*
 * The worker's batch handler: the one place a batch's outcome is acted
 * on. The taken prefix is settled. What the sender deferred (entries the
 * intake refused, not proven bad: sender.h) goes back to the
 * destination's queue, to be batched again after what is there; once that
 * queue is closed (a drain), to the leftovers, like what a cancel or a
 * failure cut short: kept for a successor (reload.c).
 */
static void
worker_process_cb(void *item, void *wstate, struct ls_ctx *ctx, void *arg)
{
	struct dest *d = arg;
	struct ls_batch *b = item;
	struct ls_send_outcome o;
	size_t i;

	o = d->p->send->send(wstate, b, ctx);
	pl_settle(d->p, d, b->recs, o.taken, 1);
	for (i = o.taken; i < b->n; i++) {
		ls_record_ref(b->recs[i]);
		if (o.verdict == LS_SEND_DEFERRED
		    && ls_queue_push(d->in, b->recs[i], 0) == 0)
			continue;
		if (ls_queue_push(d->leftover, b->recs[i], 0) != 0)
			ls_record_unref(b->recs[i]);
	}
	if (o.verdict == LS_SEND_FAILED)
		report_failure(d, o.why);
	ls_batch_free(b);
}

static const struct ls_pool_ops worker_ops = {
	.init_cb = worker_init_cb,
	.process_cb = worker_process_cb,
	.exit_cb = worker_exit_cb,
};

static size_t
estimate_cb(const struct ls_record *r, void *arg)
{
	const struct dest *d = arg;

	return ls_encode_estimate(r, d->host_len);
}

void
pl_dest_free(struct dest *d)
{
	unsigned i;

	if (d == NULL)
		return;
	ls_ctx_cancel(d->ctx);
	ls_batcher_free(d->batcher);
	ls_pool_free(d->pool);
	for (i = 0; d->workers != NULL && i < d->conf->workers; i++)
		if (d->workers[i] != NULL)
			d->p->send->worker_free(d->workers[i]);
	free(d->workers);
	if (d->sd != NULL)
		d->p->send->dest_free(d->sd);
	ls_queue_free(d->batches);
	ls_queue_free(d->in);
	ls_queue_free(d->leftover);
	ls_ctx_free(d->ctx);
	ls_dest_metrics_unref(d->m);
	ls_conf_free(d->confref);
	free(d);
}

struct dest *
pl_dest_new(struct ls_pipeline *p, struct ls_conf *conf, size_t i,
    struct ls_dest_metrics *m)
{
	struct ls_batcher_limits lim;
	struct dest *d;
	char name[96];
	unsigned k;

	d = xcalloc(1, sizeof *d);
	d->p = p;
	d->confref = ls_conf_ref(conf);
	d->host_len = ls_encode_host_len(conf->hostname);
	d->conf = &conf->dests[i];
	d->m = ls_dest_metrics_ref(m);
	d->ctx = ls_ctx_new(p->ctx);
	d->in = ls_queue_new(ls_record_unref_cb, NULL);
	d->batches = ls_queue_new(ls_batch_free_cb, NULL);
	d->leftover = ls_queue_new(ls_record_unref_cb, NULL);
	if (d->conf->on_full == LS_ON_FULL_DROP_NEWEST)
		d->shed_limit = d->conf->max_buffer_bytes
		    ? d->conf->max_buffer_bytes
		    : conf->max_buffer_bytes;
	lim.max_entries = d->conf->batch_max_entries;
	lim.max_bytes = d->conf->batch_max_bytes;
	lim.max_wait_ms = d->conf->batch_max_wait_ms;
	d->batcher = ls_batcher_new(d->conf->name, d->in, d->batches, &lim,
	    estimate_cb, d, d->ctx, batcher_exit_cb, d);
	if ((d->sd = p->send->dest_new(d->conf, conf->hostname, d->m)) == NULL)
		goto fail;
	d->workers = xcalloc(d->conf->workers, sizeof *d->workers);
	for (k = 0; k < d->conf->workers; k++)
		if ((d->workers[k] = p->send->worker_new(d->sd, k)) == NULL) {
			log_warnx(
			    "%s: worker %u cannot start", d->conf->name, k);
			goto fail;
		}
	snprintf(name, sizeof name, "send/%s", d->conf->name);
	if ((d->pool = ls_pool_new(
		 name, d->conf->workers, d->batches, &worker_ops, d, d->ctx))
	    == NULL)
		goto fail;
	return d;
fail:
	pl_dest_free(d);
	return NULL;
}

/* Consumers first. */
int
pl_dest_start(struct dest *d)
{
	unsigned n = 1 + ls_pool_size(d->pool), never;

	atomic_init(&d->live, n);
	atomic_fetch_add(&d->p->live, n);
	d->started = 1;
	if (ls_pool_start(d->pool) != 0) {
		/* The workers that did start have ended and counted
		 * themselves out (all or nothing); the others and the batcher
		 * never will: count them out here, or the pipeline's end
		 * would never come (a reload that could not make threads,
		 * then SIGTERM, would hang). */
		ls_ctx_cancel(d->ctx);
		for (never = atomic_load(&d->live); never > 0; never--)
			thread_exit(d->p, d);
		return -1;
	}
	if (ls_batcher_start(d->batcher) != 0) {
		ls_ctx_cancel(d->ctx); /* the workers end and count out */
		thread_exit(d->p, d); /* the batcher that never ran */
		return -1;
	}
	return 0;
}

struct ls_route_table *
pl_make_table(struct ls_pipeline *p)
{
	struct ls_route_table *t;
	size_t i;

	t = ls_route_table_new(p->gen, p->ncur);
	for (i = 0; i < p->ncur; i++) {
		t->outs[i] = p->cur[i]->in;
		t->m[i] = p->cur[i]->m;
		t->shed_limit[i] = p->cur[i]->shed_limit;
	}
	memcpy(t->route, p->conf->route, sizeof t->route);
	if (p->conf->route_src != NULL) {
		t->nsrc = p->conf->nsources;
		t->route_src = xreallocarray(
		    NULL, (t->nsrc + 1) * LS_SEV_COUNT, sizeof *t->route_src);
		memcpy(t->route_src, p->conf->route_src,
		    (t->nsrc + 1) * LS_SEV_COUNT * sizeof *t->route_src);
	}
	return t;
}

void
pl_publish_metrics(struct ls_pipeline *p)
{
	struct ls_dest_metrics **m;
	size_t i;

	m = xcalloc(p->ncur ? p->ncur : 1, sizeof *m);
	for (i = 0; i < p->ncur; i++)
		m[i] = p->cur[i]->m;
	ls_metrics_set_dests(p->m, m, p->ncur);
	free(m);
}

struct ls_pipeline *
ls_pipeline_new(struct ls_conf *conf, struct ls_acks *acks,
    struct ls_metrics *m, struct ls_ctx *root,
    const struct ls_pipeline_hooks *hooks)
{
	struct ls_router_cbs cbs = { 0 };
	struct ls_pipeline *p;
	size_t i;

	p = xcalloc(1, sizeof *p);
	p->conf = ls_conf_ref(conf);
	p->acks = acks;
	p->m = m;
	p->hooks = *hooks;
	p->send = hooks->send != NULL ? hooks->send : &ls_http_send_ops;
	p->ctx = ls_ctx_new(root);
	p->ingest = ls_queue_new(ls_record_unref_cb, NULL);
	p->ncur = conf->ndests;
	p->cur = xcalloc(p->ncur ? p->ncur : 1, sizeof *p->cur);
	/* m was made for conf: its destinations are conf's, in order. */
	for (i = 0; i < p->ncur; i++)
		if ((p->cur[i] = pl_dest_new(p, conf, i, m->dest[i])) == NULL)
			goto fail;
	pl_publish_metrics(p);
	cbs.settled_cb = settled_cb;
	cbs.adopted_cb = adopted_cb;
	cbs.exit_cb = router_exit_cb;
	cbs.arg = p;
	p->router = ls_router_new(p->ingest, pl_make_table(p), m, p->ctx, &cbs);
	return p;
fail:
	ls_pipeline_free(p);
	return NULL;
}

int
ls_pipeline_start(struct ls_pipeline *p)
{
	size_t i;

	/* One for the router, so that no instance's end looks like the
	 * whole pipeline's. */
	atomic_init(&p->live, 1);
	p->started = 1;
	/* Back to front, so every consumer waits before its producer runs.
	 * On failure the caller frees the pipeline, which cancels and joins
	 * what did start. */
	for (i = 0; i < p->ncur; i++)
		if (pl_dest_start(p->cur[i]) != 0)
			goto fail;
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
	p->draining = 1;
	/* Retiring instances go on draining: ls_pipeline_poll() closes
	 * their input once the router, which reaches their barrier before
	 * the end of the stream, has left them. */
	ls_queue_close(p->ingest);
}

void
ls_pipeline_join(struct ls_pipeline *p)
{
	struct dest *d;
	size_t i;

	ls_router_join(p->router);
	for (i = 0; i < p->ncur; i++) {
		ls_batcher_join(p->cur[i]->batcher);
		ls_pool_join(p->cur[i]->pool);
	}
	for (d = p->retiring; d != NULL; d = d->next) {
		ls_batcher_join(d->batcher);
		ls_pool_join(d->pool);
	}
}

void
ls_pipeline_dest_queued(
    struct ls_pipeline *p, size_t i, uint64_t *records, uint64_t *batches)
{
	*records = ls_queue_len(p->cur[i]->in);
	*batches = ls_queue_len(p->cur[i]->batches);
}

int64_t
ls_pipeline_dest_backoff_ms(struct ls_pipeline *p, size_t i)
{
	if (p->send->backoff_ms == NULL)
		return 0;
	return p->send->backoff_ms(p->cur[i]->sd);
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
	for (i = 0; i < p->ncur; i++)
		pl_dest_free(p->cur[i]);
	while ((d = p->retiring) != NULL) {
		p->retiring = d->next;
		pl_dest_free(d);
	}
	ls_queue_free(p->ingest);
	free(p->cur);
	ls_ctx_free(p->ctx);
	ls_conf_free(p->conf);
	free(p);
}
