/*
 * router: see router.h.
 *
 * Records are taken from the ingest queue up to ROUTER_BATCH at a time and
 * handed to each destination queue with one push_many, so the locks are
 * taken once per batch and per destination, not once per line.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "record.h"
#include "router.h"
#include "xmalloc.h"

#define ROUTER_BATCH 512

struct ls_router {
	struct ls_queue *in;
	struct ls_queue **outs;
	size_t nouts;
	const uint64_t *route;
	const uint64_t *shed_limit;
	uint64_t waited; /* the destinations the checkpoint waits for */
	struct ls_acks *acks;
	struct ls_metrics *m;
	struct ls_ctx *ctx;
	void (*exit_cb)(void *);
	void *arg;
	pthread_t thread;
	int running;
};

struct ls_router *
ls_router_new(struct ls_queue *in, struct ls_queue **outs, size_t nouts,
    const uint64_t *route, const uint64_t *shed_limit, struct ls_acks *acks,
    struct ls_metrics *m, struct ls_ctx *parent, void (*exit_cb)(void *),
    void *arg)
{
	struct ls_router *r;
	size_t d;

	r = xcalloc(1, sizeof *r);
	/* on_full: block destinations hold the checkpoint back until they
	 * are done with a line; drop_newest ones are best effort and do
	 * not. */
	for (d = 0; d < nouts; d++)
		if (shed_limit[d] == 0)
			r->waited |= (uint64_t)1 << d;
	r->in = in;
	r->outs = outs;
	r->nouts = nouts;
	r->route = route;
	r->shed_limit = shed_limit;
	r->acks = acks;
	r->m = m;
	r->ctx = ls_ctx_new(parent);
	r->exit_cb = exit_cb;
	r->arg = arg;
	return r;
}

/* Pushes n records to one destination queue; a closed queue (cancelled
 * pipeline) gives them back, and they are released. */
static void
deliver(struct ls_queue *q, struct ls_record **recs, size_t n)
{
	size_t i;

	if (n == 0 || ls_queue_push_many(q, (void *const *)recs, NULL, n) == 0)
		return;
	for (i = 0; i < n; i++)
		ls_record_unref(recs[i]);
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
	struct ls_dest_metrics *dm;
	size_t d;

	for (d = 0; d < r->nouts; d++) {
		if ((mask & ((uint64_t)1 << d)) == 0)
			continue;
		dm = &r->m->dest[d];
		LS_COUNT(dm->routed, 1);
		if (r->shed_limit[d] == 0
		    || LS_LOAD(dm->held_bytes) + ls_record_size(rec)
			<= r->shed_limit[d])
			continue;
		LS_COUNT(dm->dropped[LS_DROP_FULL], 1);
		mask &= ~((uint64_t)1 << d);
	}
	return mask;
}

static void *
router_main(void *arg)
{
	struct ls_router *r = arg;
	struct ls_record *in[ROUTER_BATCH], **out;
	size_t *nout, n, i, d;
	uint64_t mask, wait;

	log_setname("router");
	out = xcalloc(r->nouts * ROUTER_BATCH, sizeof *out);
	nout = xcalloc(r->nouts, sizeof *nout);
	for (;;) {
		n = ls_queue_pop_many(
		    r->in, r->ctx, LS_FOREVER, (void **)in, NULL, ROUTER_BATCH);
		if (n == 0)
			break; /* EPIPE: drained; ECANCELED: stopped */
		for (i = 0; i < n; i++) {
			mask = r->route[in[i]->severity];
			if (mask == 0)
				LS_COUNT(r->m->unrouted, 1);
			mask = shed(r, in[i], mask);
			/* Acknowledged when every on_full: block destination
			 * it goes to is done with it; at once if there is
			 * none (routed nowhere, shed, or only to best-effort
			 * drop_newest destinations): the checkpoint does not
			 * wait for those. */
			wait = mask & r->waited;
			ls_record_set_pending(in[i],
			    wait ? (unsigned)__builtin_popcountll(wait) : 1);
			if (wait == 0 && r->acks != NULL)
				ls_acks_done(r->acks, &in[i], 1);
			for (d = 0; d < r->nouts; d++) {
				if ((mask & ((uint64_t)1 << d)) == 0)
					continue;
				ls_record_ref(in[i]);
				out[d * ROUTER_BATCH + nout[d]++] = in[i];
				LS_COUNT(r->m->dest[d].held_bytes,
				    ls_record_size(in[i]));
			}
			/* The destinations hold their own references now. */
			ls_record_unref(in[i]);
		}
		for (d = 0; d < r->nouts; d++) {
			deliver(r->outs[d], &out[d * ROUTER_BATCH], nout[d]);
			nout[d] = 0;
		}
	}
	if (errno == ECANCELED)
		log_debug("cancelled");
	for (d = 0; d < r->nouts; d++)
		ls_queue_close(r->outs[d]);
	free(out);
	free(nout);
	if (r->exit_cb != NULL)
		r->exit_cb(r->arg);
	return NULL;
}

int
ls_router_start(struct ls_router *r)
{
	int error;

	if ((error = pthread_create(&r->thread, NULL, router_main, r)) != 0) {
		errno = error;
		log_warn("router: pthread_create");
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
	free(r);
}
