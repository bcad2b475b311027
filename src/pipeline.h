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
 * ls_pipeline_reload() swaps in a new config's destinations and routes
 * without losing or doubling a line: pipeline.c tells how.
 *
 * Threading: new/start/reload/poll/drain/join/free from the main thread.
 */
#ifndef LS_PIPELINE_H
#define LS_PIPELINE_H

#include "acks.h"
#include "conf.h"
#include "ctx.h"
#include "metrics.h"
#include "queue.h"

struct ls_pipeline;

/* A pipeline for conf (a reference is taken) counting into metrics, which
 * must have been made for conf. Borrows acks (may be NULL), metrics and
 * root, which must outlive it. done_cb: every thread has ended (the drain
 * is over). wake_cb: ls_pipeline_poll() has work. Both come from any
 * thread and must not block. */
struct ls_pipeline *ls_pipeline_new(struct ls_conf *, struct ls_acks *,
    struct ls_metrics *, struct ls_ctx *root, void (*done_cb)(void *),
    void (*wake_cb)(void *), void *arg);
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
/* Bytes waiting in the pipeline's queues (for the status line). */
uint64_t ls_pipeline_queued_bytes(struct ls_pipeline *);
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
