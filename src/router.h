/*
 * router: the fan-out stage. One thread pops records from the ingest queue
 * and pushes each one, by reference, to the queue of every destination its
 * severity is routed to.
 *
 * When the ingest queue is closed and drained the router closes every
 * destination queue, so the end of the stream flows down the pipeline; when
 * its context is cancelled it stops at once and also closes them.
 *
 * Threading: new/start/join/free from the owner (the pipeline); the loop
 * runs in the router's own thread.
 */
#ifndef LS_ROUTER_H
#define LS_ROUTER_H

#include <stdint.h>

#include "acks.h"
#include "ctx.h"
#include "metrics.h"
#include "queue.h"
#include "severity.h"

struct ls_router;

/*
 * A router from in to outs[0..nouts-1] by route (bit d of route[sev] set:
 * records of severity sev go to outs[d]). shed_limit[d], when not 0, is
 * how many bytes outs[d] may hold (on_full: drop_newest) before records
 * are dropped for it. A record's acknowledgement on acks (may be NULL)
 * waits for the outs with no shed_limit (on_full: block) it goes to; one
 * that goes to none of those is acknowledged at once. Borrows the queues, route, shed_limit, acks and
 * metrics. exit_cb (may be NULL) runs in the thread as its last act.
 */
struct ls_router *ls_router_new(struct ls_queue *in, struct ls_queue **outs,
    size_t nouts, const uint64_t *route, const uint64_t *shed_limit,
    struct ls_acks *, struct ls_metrics *, struct ls_ctx *parent,
    void (*exit_cb)(void *arg), void *arg);
int ls_router_start(struct ls_router *) LS_WARN_UNUSED;
/* Waits for the thread to end (close the input first, or cancel). */
void ls_router_join(struct ls_router *);
/* Joins if needed, then frees. NULL is a no-op. */
void ls_router_free(struct ls_router *);

#endif
