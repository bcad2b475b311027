/*
 * pipeline_impl.h: what pipeline.c (the stages, the worker's batch
 * handler) and reload.c (the reload handover) share. Not an API.
 *
 * Threading: the main thread, but for what each field says.
 */
#ifndef LS_PIPELINE_IMPL_H
#define LS_PIPELINE_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include "batcher.h"
#include "pipeline.h"
#include "pool.h"
#include "record.h"
#include "router.h"

enum dest_state {
	D_ACTIVE, /* in the router's table */
	D_UNROUTED, /* retiring: until the router adopts a table without it */
	D_DRAINING, /* retiring: input closed, sending what it has */
};

/* One instance of a destination. */
struct dest {
	struct ls_pipeline *p;
	struct ls_conf *confref; /* the config it was made from */
	const struct ls_conf_dest *conf; /* in confref */
	size_t host_len; /* ls_encode_host_len(confref->hostname) */
	struct ls_dest_metrics *m; /* shared with its other instances */
	struct ls_ctx *ctx; /* child of the pipeline's */
	struct ls_queue *in; /* records routed here */
	struct ls_queue *batches; /* batcher -> workers */
	struct ls_queue *leftover; /* records a cancelled worker had */
	struct ls_batcher *batcher;
	void *sd; /* the send ops' shared state */
	void **workers; /* the send ops' per worker, made on the main thread */
	struct ls_pool *pool;
	uint64_t shed_limit; /* 0: on_full block */
	atomic_uint live; /* its threads still running */
	atomic_int failed; /* a worker reported an internal error */
	int started;
	enum dest_state state;
	unsigned retire_gen; /* the table that no longer has it */
	int64_t deadline_ms; /* draining: cancelled then */
	struct dest *successor; /* the instance that takes over; NULL */
	struct dest *next; /* in the retiring list */
};

struct ls_pipeline {
	struct ls_conf *conf; /* the running one */
	struct ls_acks *acks;
	struct ls_metrics *m;
	struct ls_ctx *ctx;
	struct ls_queue *ingest;
	struct ls_router *router;
	struct dest **cur; /* the running config's, in its order */
	size_t ncur;
	struct dest *retiring;
	unsigned gen; /* of the newest routing table */
	atomic_uint live; /* threads still running, all instances */
	int started;
	int draining;
	struct ls_pipeline_hooks hooks;
	const struct ls_send_ops *send;
};

/*
 * pipeline.c
 */

/* An instance of conf's destination i, counting into m (a reference is
 * taken), its workers' senders made. NULL if it cannot be made (logged). */
struct dest *pl_dest_new(struct ls_pipeline *, struct ls_conf *, size_t i,
    struct ls_dest_metrics *m);
/* Starts an instance's threads. 0 or -1 (cancelled). */
int pl_dest_start(struct dest *);
void pl_dest_free(struct dest *);
/* The routing table for the running instances. */
struct ls_route_table *pl_make_table(struct ls_pipeline *);
/* The running instances' counters, to the metrics. */
void pl_publish_metrics(struct ls_pipeline *);

/*
 * The one place where records leave a destination instance (any thread):
 * their bytes leave its held_bytes and, taken (sent, or dropped by a
 * counted policy) by an instance the checkpoint waits for, they are
 * acknowledged; abandoned ones (a stop cut them short) are not. d NULL:
 * records that wait for no destination at all (the router's), only
 * acknowledged.
 */
void pl_settle(struct ls_pipeline *, struct dest *d,
    struct ls_record *const *recs, size_t n, int taken);

#endif
