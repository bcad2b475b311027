/*
 * router: see router.h.
 *
 * Records are taken from the ingest queue up to ROUTER_BATCH at a time and
 * handed to each destination queue with one push_many, so the locks are
 * taken once per batch and per destination, not once per line; the
 * destination's shared counters (routed, held bytes) are added to once per
 * batch too, and a record goes to its first destination with the reference
 * the router was handed, so a record routed once costs no reference count
 * traffic here.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "record.h"
#include "router.h"
#include "thread.h"
#include "xmalloc.h"

#define ROUTER_BATCH 512

struct ls_router {
	struct ls_queue *in;
	struct ls_route_table *table; /* the router thread's own */
	_Atomic(struct ls_route_table *) next; /* parked until the barrier */
	atomic_uint gen; /* table->gen, for other threads */
	struct ls_metrics *m;
	struct ls_ctx *ctx;
	struct ls_router_cbs cbs;
	pthread_t thread;
	int running;
	uint64_t waited; /* the table's on_full: block destinations */
	/* Per destination, what this pass routes there (the thread's): the
	 * records, their bytes and how many were routed (shed ones too). */
	struct ls_record **out;
	size_t *nout;
	uint64_t *held;
	uint64_t *routed;
	/* This pass's records that wait for no destination, each with a
	 * reference of the router's (settled_cb). */
	struct ls_record *settled[ROUTER_BATCH];
	size_t nsettled;
};

struct ls_route_table *
ls_route_table_new(unsigned gen, size_t nouts)
{
	struct ls_route_table *t;

	t = xcalloc(1, sizeof *t);
	t->gen = gen;
	t->nouts = nouts;
	t->outs = xcalloc(nouts ? nouts : 1, sizeof *t->outs);
	t->m = xcalloc(nouts ? nouts : 1, sizeof *t->m);
	t->shed_limit = xcalloc(nouts ? nouts : 1, sizeof *t->shed_limit);
	return t;
}

void
ls_route_table_free(struct ls_route_table *t)
{
	if (t == NULL)
		return;
	free(t->outs);
	free(t->m);
	free(t->shed_limit);
	free(t->route_src);
	free(t);
}

/* Sizes the per-destination buffers for the table in use, and finds the
 * destinations the checkpoint waits for. */
static void
size_buffers(struct ls_router *r)
{
	size_t n = r->table->nouts ? r->table->nouts : 1, d;

	r->waited = 0;
	for (d = 0; d < r->table->nouts; d++)
		if (r->table->shed_limit[d] == 0)
			r->waited |= (uint64_t)1 << d;
	free(r->out);
	free(r->nout);
	free(r->held);
	free(r->routed);
	r->out = xcalloc(n * ROUTER_BATCH, sizeof *r->out);
	r->nout = xcalloc(n, sizeof *r->nout);
	r->held = xcalloc(n, sizeof *r->held);
	r->routed = xcalloc(n, sizeof *r->routed);
}

struct ls_router *
ls_router_new(struct ls_queue *in, struct ls_route_table *table,
    struct ls_metrics *m, struct ls_ctx *parent,
    const struct ls_router_cbs *cbs)
{
	struct ls_router *r;

	r = xcalloc(1, sizeof *r);
	r->in = in;
	r->table = table;
	atomic_init(&r->next, NULL);
	atomic_init(&r->gen, table->gen);
	r->m = m;
	r->ctx = ls_ctx_new(parent);
	r->cbs = *cbs;
	size_buffers(r);
	return r;
}

void
ls_router_set_table(struct ls_router *r, struct ls_route_table *t)
{
	struct ls_record *barrier;

	/* A table not adopted yet is replaced: its barrier adopts this. */
	ls_route_table_free(atomic_exchange(&r->next, t));
	barrier = ls_record_new(NULL, NULL, "", 0, LS_SEV_INFO, 0, 0);
	barrier->flags |= LS_REC_BARRIER;
	if (ls_queue_push(r->in, barrier, 0) != 0)
		ls_record_unref(barrier); /* closed: the drain is under way */
}

unsigned
ls_router_gen(struct ls_router *r)
{
	return atomic_load(&r->gen);
}

/* Pushes n records to one destination queue; a closed queue (cancelled
 * underneath) drops them. */
static void
deliver(struct ls_queue *q, struct ls_record **recs, size_t n)
{
	size_t i;

	if (n == 0 || ls_queue_push_many(q, (void *const *)recs, NULL, n) == 0)
		return;
	for (i = 0; i < n; i++)
		ls_record_unref(recs[i]);
}

static void
deliver_all(struct ls_router *r)
{
	struct ls_dest_metrics *dm;
	size_t d, i;

	/* First, while the destination queues' references keep them. */
	if (r->nsettled > 0 && r->cbs.settled_cb != NULL)
		r->cbs.settled_cb(r->settled, r->nsettled, r->cbs.arg);
	for (i = 0; i < r->nsettled; i++)
		ls_record_unref(r->settled[i]);
	r->nsettled = 0;
	for (d = 0; d < r->table->nouts; d++) {
		/* Held before the push: a worker may be done with them (and
		 * take their bytes off) as soon as they are in the queue. */
		dm = r->table->m[d];
		if (r->held[d] > 0)
			LS_COUNT(dm->held_bytes, r->held[d]);
		if (r->routed[d] > 0)
			LS_COUNT(dm->routed, r->routed[d]);
		r->held[d] = r->routed[d] = 0;
		deliver(
		    r->table->outs[d], &r->out[d * ROUTER_BATCH], r->nout[d]);
		r->nout[d] = 0;
	}
}

/* At a barrier: what is routed so far goes out by the old table, then the
 * parked one (if any: a later set_table may have taken its place, and its
 * own barrier finds nothing) takes over. */
static void
adopt(struct ls_router *r)
{
	struct ls_route_table *t;

	if ((t = atomic_exchange(&r->next, NULL)) == NULL)
		return;
	deliver_all(r);
	ls_route_table_free(r->table);
	r->table = t;
	size_buffers(r);
	atomic_store(&r->gen, t->gen);
	if (r->cbs.adopted_cb != NULL)
		r->cbs.adopted_cb(t->gen, r->cbs.arg);
}

/*
 * Counts rec as routed to every destination of mask, and takes out of the
 * mask those with on_full: drop_newest that hold their limit already: the
 * record is dropped for them alone (counted), so they shed their own load
 * while the others go on at full speed.
 */
static uint64_t
shed(struct ls_router *r, struct ls_record *rec, uint64_t mask)
{
	struct ls_route_table *t = r->table;
	struct ls_dest_metrics *dm;
	size_t d;

	for (d = 0; d < t->nouts; d++) {
		if ((mask & ((uint64_t)1 << d)) == 0)
			continue;
		dm = t->m[d];
		r->routed[d]++;
		if (t->shed_limit[d] == 0
		    || LS_LOAD(dm->held_bytes) + r->held[d]
			    + ls_record_size(rec)
			<= t->shed_limit[d])
			continue;
		LS_COUNT(dm->dropped[LS_DROP_FULL], 1);
		mask &= ~((uint64_t)1 << d);
	}
	return mask;
}

static void
route(struct ls_router *r, struct ls_record *rec)
{
	struct ls_route_table *t = r->table;
	uint64_t mask, wait;
	size_t d;
	int first = 1;

	if (t->route_src == NULL)
		mask = t->route[rec->severity];
	else
		mask = t->route_src[(rec->source < t->nsrc ? rec->source
							   : t->nsrc)
			* LS_SEV_COUNT
		    + rec->severity];
	if (mask == 0)
		LS_COUNT(r->m->unrouted, 1);
	mask = shed(r, rec, mask);
	/* Acknowledged when every on_full: block destination it goes to is
	 * done with it; at the end of this pass if there is none (routed
	 * nowhere, shed, or only to best-effort drop_newest destinations):
	 * the checkpoint does not wait for those. */
	wait = mask & r->waited;
	ls_record_set_pending(
	    rec, wait ? (unsigned)__builtin_popcountll(wait) : 1);
	if (wait == 0) {
		ls_record_ref(rec);
		r->settled[r->nsettled++] = rec;
	}
	for (d = 0; d < t->nouts; d++) {
		if ((mask & ((uint64_t)1 << d)) == 0)
			continue;
		/* The first destination takes the router's reference. */
		if (!first)
			ls_record_ref(rec);
		first = 0;
		r->out[d * ROUTER_BATCH + r->nout[d]++] = rec;
		r->held[d] += ls_record_size(rec);
	}
	if (first)
		ls_record_unref(rec); /* routed nowhere */
}

static void *
router_main(void *arg)
{
	struct ls_router *r = arg;
	struct ls_record *in[ROUTER_BATCH];
	size_t n, i, d;

	for (;;) {
		n = ls_queue_pop_many(
		    r->in, r->ctx, LS_FOREVER, (void **)in, NULL, ROUTER_BATCH);
		if (n == 0)
			break; /* EPIPE: drained; ECANCELED: stopped */
		for (i = 0; i < n; i++) {
			if (in[i]->flags & LS_REC_BARRIER) {
				ls_record_unref(in[i]);
				adopt(r);
			} else
				route(r, in[i]);
		}
		deliver_all(r);
	}
	if (errno == ECANCELED)
		log_debug("cancelled");
	for (d = 0; d < r->table->nouts; d++)
		ls_queue_close(r->table->outs[d]);
	if (r->cbs.exit_cb != NULL)
		r->cbs.exit_cb(r->cbs.arg);
	return NULL;
}

int
ls_router_start(struct ls_router *r)
{
	int error;

	if ((error = ls_thread_start(&r->thread, "router", router_main, r))
	    != 0) {
		errno = error;
		log_warn("router: cannot start its thread");
		return -1;
	}
	r->running = 1;
	return 0;
}

void
ls_router_join(struct ls_router *r)
{
	if (!r->running)
		return;
	pthread_join(r->thread, NULL);
	r->running = 0;
}

void
ls_router_free(struct ls_router *r)
{
	if (r == NULL)
		return;
	if (r->running) {
		ls_ctx_cancel(r->ctx);
		ls_router_join(r);
	}
	ls_ctx_free(r->ctx);
	ls_route_table_free(r->table);
	ls_route_table_free(atomic_exchange(&r->next, NULL));
	free(r->out);
	free(r->nout);
	free(r->held);
	free(r->routed);
	free(r);
}
