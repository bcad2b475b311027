/*
 * metrics: counters of what logshipd did, written by any thread with
 * relaxed atomics and read by the main thread for the live summary, the
 * SIGUSR1 status and the final totals.
 *
 * A record's fate per destination is exactly one of: sent, dropped (with a
 * reason), or left unsent at shutdown (routed - sent - dropped). Tests and
 * operators rely on that identity.
 */
#ifndef LS_METRICS_H
#define LS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "severity.h"

/* Why a destination gave records up. */
enum ls_drop_reason {
	LS_DROP_REJECTED = 0, /* the intake answered 400 (or another 4xx) */
	LS_DROP_OVERSIZE, /* 413 even for a single, cut-down entry */
	LS_DROP_FULL, /* on_full: drop_newest, at its max_buffer_bytes */
	LS_DROP_COUNT
};

struct ls_dest_metrics {
	atomic_uint_fast64_t routed;
	atomic_uint_fast64_t sent;
	atomic_uint_fast64_t sent_by_sev[LS_SEV_COUNT];
	atomic_uint_fast64_t dropped[LS_DROP_COUNT];
	atomic_uint_fast64_t batches; /* requests answered 2xx */
	atomic_uint_fast64_t wire_bytes; /* request bodies sent, as sent */
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t splits; /* 413 answers split in two */
	atomic_uint_fast64_t in_flight;
	/* Bytes of records routed here and not yet done here (the router
	 * adds, the sender subtracts): what on_full weighs. */
	atomic_uint_fast64_t held_bytes;
};

struct ls_metrics {
	atomic_uint_fast64_t lines_read;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t lines_truncated;
	atomic_uint_fast64_t unrouted; /* severities routed nowhere */
	atomic_uint_fast64_t read_by_sev[LS_SEV_COUNT];
	/* Files (tailer.c). */
	atomic_uint_fast64_t files_open;
	atomic_uint_fast64_t truncations; /* size < read offset */
	atomic_uint_fast64_t truncations_no_copy; /* and no copy to finish */
	atomic_uint_fast64_t suspected_loss_bytes; /* seen, then truncated */
	atomic_uint_fast64_t removed_unread_bytes; /* closed before its end */
	atomic_uint_fast64_t open_files_limited; /* max_open_files bit */
	atomic_uint_fast64_t inode_reuse; /* fingerprint mismatch */
	atomic_uint_fast64_t multiline_joined; /* lines joined to others */
	/* The checkpoint (tailer.c). */
	atomic_uint_fast64_t checkpoint_writes;
	atomic_uint_fast64_t checkpoint_errors;
	size_t ndests;
	struct ls_dest_metrics *dest; /* ndests of them */
	size_t nsources;
	/* Per source, the age of its oldest line not yet done everywhere
	 * (0: none), refreshed by the tailer. */
	atomic_int_fast64_t *backlog_ms;
};

struct ls_metrics *ls_metrics_new(size_t ndests, size_t nsources);
void ls_metrics_free(struct ls_metrics *);

/* Adds n to a counter; relaxed, as nothing is ordered by a counter. */
#define LS_COUNT(c, n)                                                         \
	atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define LS_LOAD(c) atomic_load_explicit(&(c), memory_order_relaxed)

/* Records given up, all reasons together. */
uint64_t ls_metrics_dropped(struct ls_dest_metrics *);
/* One line: lines read, then per destination what was shipped, by
 * severity, with retries and drops. */
void ls_metrics_summary(
    struct ls_metrics *, const struct ls_conf *, struct ls_buf *out);

#endif
