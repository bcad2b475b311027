/*
 * pipeline: everything between the tailer and the network, assembled from
 * the building blocks and started and stopped as one.
 *
 *   ingest queue -> router thread -> per destination: queue -> batcher
 *   thread -> batch queue -> worker pool (senders) -> intake
 *
 * Stopping is the reverse of starting, stage by stage: ls_pipeline_drain()
 * closes the ingest queue; the router drains it and closes the destination
 * queues; each batcher flushes and closes its batch queue; the workers send
 * what is left, retries included, and exit. Cancelling the root context
 * (the drain deadline, or a second signal) cuts all of it short. done_cb
 * fires, from the last thread to exit, when every stage has ended, so the
 * main loop can wait for the drain without blocking.
 *
 * Delivery has one owner for each fact: the sender only sends and says
 * which prefix of a batch it took and why not the rest; the worker's batch
 * handler (pipeline.c) alone acknowledges, takes bytes off held_bytes
 * (which the router adds) and hands the rest on, through one helper that
 * the router's records routed nowhere and the reload's leftovers use too.
 *
 * A worker that cannot be made (no curl handle) fails ls_pipeline_new() or
 * the reload, which is then undone; one that meets an internal error
 * (compression) reports it through fail_cb and leaves its lines unsent,
 * unacknowledged: the owner drains and exits.
 *
 * ls_pipeline_reload() swaps in a new config's destinations and routes
 * without losing or doubling a line: reload.c tells how
 * (docs/internals/reload.md).
 *
 * Threading: new/start/reload/poll/drain/join/free from the main thread.
 */
#ifndef LS_PIPELINE_H
#define LS_PIPELINE_H

#include "acks.h"
#include "batcher.h"
#include "conf.h"
#include "ctx.h"
#include "status_metrics.h"
#include "queue.h"
#include "sender.h"

struct ls_pipeline;

/* How a destination's workers send: ls_http_send_ops (sender.h) but in
 * tests, which plug stubs in. */
struct ls_send_ops {
	/* A destination's shared state; NULL: it cannot be made. */
	void *(*dest_new)(const struct ls_conf_dest *, const char *hostname,
	    struct ls_dest_metrics *);
	void (*dest_free)(void *sd);
	/* Worker idx's state, made on the main thread; NULL: it cannot be
	 * made (logged). */
	void *(*worker_new)(void *sd, unsigned idx);
	void (*worker_free)(void *w);
	struct ls_send_outcome (*send)(
	    void *w, struct ls_batch *, struct ls_ctx *);
	int64_t (*backoff_ms)(void *sd); /* may be NULL */
};

extern const struct ls_send_ops ls_http_send_ops;

/* What the pipeline tells its owner: from any thread, without blocking;
 * each may be NULL. */
struct ls_pipeline_hooks {
	void (*done_cb)(void *arg); /* every thread has ended */
	void (*wake_cb)(void *arg); /* ls_pipeline_poll() has work */
	/* A destination met an internal error (logged): its lines stay
	 * unsent and unacknowledged. */
	void (*fail_cb)(void *arg);
	void *arg;
	const struct ls_send_ops *send; /* NULL: ls_http_send_ops */
};

/* A pipeline for conf (a reference is taken) counting into metrics, which
 * must have been made for conf. Borrows acks (may be NULL), metrics and
 * root, which must outlive it. NULL if a destination cannot be made
 * (logged). */
struct ls_pipeline *ls_pipeline_new(struct ls_conf *, struct ls_acks *,
    struct ls_metrics *, struct ls_ctx *root, const struct ls_pipeline_hooks *);
/* Starts every thread. 0, or -1 (what started is stopped again). */
int ls_pipeline_start(struct ls_pipeline *) LS_WARN_UNUSED;
/* The ingest queue: the tailer pushes records here. */
struct ls_queue *ls_pipeline_input(struct ls_pipeline *);
/* Runs conf's destinations and routes from now on (a reference is
 * taken): unchanged destinations keep running, changed and removed ones
 * retire. 0, or -1 (logged) with the old config still running. */
int ls_pipeline_reload(struct ls_pipeline *, struct ls_conf *);
/* Moves retiring destinations along; call on wake_cb and at least every
 * second while it returns non-zero (some are still retiring). */
int ls_pipeline_poll(struct ls_pipeline *);
/* Begins the drain: no more input. Does not wait. */
void ls_pipeline_drain(struct ls_pipeline *);
/* Waits for every thread (after the drain, or a cancel of root). */
void ls_pipeline_join(struct ls_pipeline *);
/* Destination i (in conf order): records waiting for its batcher and
 * batches waiting for a worker (for status; the bytes it holds are in its
 * metrics' held_bytes). */
void ls_pipeline_dest_queued(
    struct ls_pipeline *, size_t i, uint64_t *records, uint64_t *batches);
/* How long destination i still backs off, in ms; 0 when it does not. */
int64_t ls_pipeline_dest_backoff_ms(struct ls_pipeline *, size_t i);
/* Cancels and joins if needed, then frees. NULL is a no-op. */
void ls_pipeline_free(struct ls_pipeline *);

#endif
