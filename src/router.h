/*
 * router: the fan-out stage. One thread pops records from the ingest queue
 * and pushes each one, by reference, to the queue of every destination its
 * severity is routed to.
 *
 * Where records go is a routing table, which a reload replaces. The new
 * table takes effect at a barrier: ls_router_set_table() parks the table
 * and pushes a barrier record into the ingest queue; the router routes
 * everything before the barrier by the old table, adopts the new one when
 * it reaches the barrier, and says so (adopted_cb). Only then may the owner
 * close the queues the old table had and the new one has not: the router
 * will never push to them again. The stream itself orders the change, so
 * there is no lock on the hot path and no polling.
 *
 * The router acknowledges nothing itself: a record that no destination the
 * checkpoint waits for takes (routed nowhere, shed, or only to
 * best-effort destinations) is handed, with the others of its pass, to
 * settled_cb, whose owner acknowledges it (pipeline.c: the one place that
 * does).
 *
 * When the ingest queue is closed and drained the router closes every
 * destination queue of its table, so the end of the stream flows down the
 * pipeline; when its context is cancelled it stops at once and also closes
 * them.
 *
 * Threading: new/start/set_table/join/free from the owner (the pipeline);
 * the loop runs in the router's own thread.
 */
#ifndef LS_ROUTER_H
#define LS_ROUTER_H

#include <stdint.h>

#include "ctx.h"
#include "status_metrics.h"
#include "queue.h"
#include "severity.h"

struct ls_router;

/* Where records go: bit d of route[sev] set sends records of severity sev
 * to outs[d]. shed_limit[d], when not 0, is how many bytes outs[d] may
 * hold (on_full: drop_newest) before records are dropped for it. m[d] are
 * its counters. A record's acknowledgement waits for the outs with no
 * shed_limit (on_full: block) it goes to (its pending count); one that
 * goes to none of those is handed to settled_cb at once. */
struct ls_route_table {
	unsigned gen; /* the owner's number for it */
	size_t nouts;
	struct ls_queue **outs; /* borrowed */
	struct ls_dest_metrics **m; /* borrowed */
	uint64_t *shed_limit;
	uint64_t route[LS_SEV_COUNT];
	/* When routes name sources: the mask for a record of source s (its
	 * index; nsrc for one of no known source) and severity v is
	 * route_src[s * LS_SEV_COUNT + v], and route is not used. NULL: route
	 * alone. Owned. */
	uint64_t *route_src;
	size_t nsrc;
};

/* A table for nouts destinations, zeroed but for gen and nouts. */
struct ls_route_table *ls_route_table_new(unsigned gen, size_t nouts);
void ls_route_table_free(struct ls_route_table *);

/* What the router tells its owner, in the router's thread; none may
 * block, each may be NULL. */
struct ls_router_cbs {
	/* recs[0..n-1] wait for no destination (borrowed: the router holds
	 * them until it returns). */
	void (*settled_cb)(struct ls_record *const *recs, size_t n, void *arg);
	/* It routes by the table of gen from now on. */
	void (*adopted_cb)(unsigned gen, void *arg);
	/* Its last act. */
	void (*exit_cb)(void *arg);
	void *arg;
};

/* A router from in by table (which it takes). Borrows in, metrics and
 * cbs. */
struct ls_router *ls_router_new(struct ls_queue *in,
    struct ls_route_table *table, struct ls_metrics *, struct ls_ctx *parent,
    const struct ls_router_cbs *);
int ls_router_start(struct ls_router *) LS_WARN_UNUSED;
/* Routes by table (which it takes) from the next record pushed to the
 * ingest queue on: pushes the barrier. A table set before an earlier one
 * was adopted replaces it. */
void ls_router_set_table(struct ls_router *, struct ls_route_table *);
/* The gen of the table the router routes by now (any thread). */
unsigned ls_router_gen(struct ls_router *);
/* Waits for the thread to end (close the input first, or cancel). */
void ls_router_join(struct ls_router *);
/* Cancels and joins if needed, then frees. NULL is a no-op. */
void ls_router_free(struct ls_router *);

#endif
