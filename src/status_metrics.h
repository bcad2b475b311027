/*
 * status_metrics: counters of what logshipd did, written by any thread with
 * relaxed atomics and read by the main thread for the live summary, the
 * SIGUSR1 status and the final totals.
 *
 * A record's fate per destination is exactly one of: sent, dropped (with a
 * reason), or left unsent at shutdown (routed - sent - dropped). Tests and
 * operators rely on that identity.
 */
#ifndef LS_STATUS_METRICS_H
#define LS_STATUS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "severity.h"

/* Why a destination gave records up. */
enum ls_drop_reason {
	LS_DROP_REJECTED = 0, /* 400 to the entry alone, proven bad */
	LS_DROP_OVERSIZE, /* 413 even for a single, cut-down entry */
	LS_DROP_FULL, /* on_full: drop_newest, at its max_buffer_bytes */
	LS_DROP_RELOAD, /* removed by a reload before it could send them */
	LS_DROP_UNPROCESSABLE, /* 422 to the entry alone, proven bad */
	LS_DROP_CLIENT_ERROR, /* another 4xx, retried, to the entry alone */
	LS_DROP_COUNT
};

/*
 * HTTP answers in a small fixed table, for the requests_total{code=}
 * family: the codes the sender treats differently, then classes.
 */
enum ls_code {
	LS_CODE_2XX = 0,
	LS_CODE_400,
	LS_CODE_401,
	LS_CODE_403,
	LS_CODE_408,
	LS_CODE_413,
	LS_CODE_429,
	LS_CODE_5XX,
	LS_CODE_OTHER, /* 1xx, 3xx, the other 4xx */
	LS_CODE_NETWORK, /* no answer: connect, TLS, timeout, reset */
	LS_CODE_COUNT
};

/* Request latency buckets, upper bounds in seconds; +Inf follows. */
#define LS_LATENCY_NBUCKETS 12
extern const double ls_latency_bounds[LS_LATENCY_NBUCKETS];

/*
 * One destination's counters. Shared, through a reference count, by every
 * instance of the destination of that name: a reload that changes a
 * destination starts a new instance that keeps counting where the old one
 * left off, while the old one finishes.
 */
struct ls_dest_metrics {
	atomic_uint refs;
	atomic_uint_fast64_t routed;
	atomic_uint_fast64_t sent;
	atomic_uint_fast64_t sent_by_sev[LS_SEV_COUNT];
	atomic_uint_fast64_t dropped[LS_DROP_COUNT];
	atomic_uint_fast64_t batches; /* requests answered 2xx */
	atomic_uint_fast64_t wire_bytes; /* request bodies sent, as sent */
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t splits; /* 413 answers split in two */
	/* Refused batches (400, 422, another 4xx) split in two to find the
	 * refused entries; refused entries kept to be sent again. */
	atomic_uint_fast64_t bisections;
	atomic_uint_fast64_t deferred;
	/* Destinations that went from zstd to gzip (a 415 or 400 to zstd). */
	atomic_uint_fast64_t codec_fallbacks;
	/* Lines sent with the current time because their own was out of
	 * Datadog's window (timestamp.h). */
	atomic_uint_fast64_t restamped;
	/* Why the destination holds its lines instead of delivering or
	 * dropping them (a static string: the intake refuses entry after
	 * entry, or a configuration problem), and the answer; NULL: none. */
	_Atomic(const char *) problem;
	atomic_long problem_status;
	atomic_uint_fast64_t in_flight;
	/* Requests allowed in flight now: max_connections, or what adaptive
	 * concurrency allows. */
	atomic_uint_fast64_t concurrency_limit;
	/* Bytes of records routed here and not yet done here (the router
	 * adds; pl_settle in pipeline.c, the one place records leave a
	 * destination, subtracts): what on_full weighs. */
	atomic_uint_fast64_t held_bytes;
	/* Every request by its answer: requests, entries, body bytes. */
	atomic_uint_fast64_t req_by_code[LS_CODE_COUNT];
	atomic_uint_fast64_t entries_by_code[LS_CODE_COUNT];
	atomic_uint_fast64_t bytes_by_code[LS_CODE_COUNT];
	/* Request latency: per bucket (not cumulative; the last is +Inf),
	 * and the sum in microseconds. */
	atomic_uint_fast64_t latency[LS_LATENCY_NBUCKETS + 1];
	atomic_uint_fast64_t latency_sum_us;
	/* ls_now_ms() of the last 2xx; 0: none yet. */
	atomic_int_fast64_t last_ok_ms;
};

struct ls_metrics {
	atomic_uint_fast64_t lines_read;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t lines_truncated;
	atomic_uint_fast64_t unrouted; /* severities routed nowhere */
	atomic_uint_fast64_t read_by_sev[LS_SEV_COUNT];
	/* Files (the tailer: tailer.c, tail_*.c). */
	atomic_uint_fast64_t files_open;
	atomic_uint_fast64_t truncations; /* size < read offset */
	atomic_uint_fast64_t truncations_no_copy; /* and no copy to finish */
	atomic_uint_fast64_t suspected_loss_bytes; /* seen, then truncated */
	atomic_uint_fast64_t removed_unread_bytes; /* closed before its end */
	atomic_uint_fast64_t open_files_limited; /* max_open_files bit */
	atomic_uint_fast64_t inode_reuse; /* fingerprint mismatch */
	/* Paths a glob matched that are not read: a link not followed, a
	 * link out of the source's directories or to procfs/sysfs, or a
	 * file other than the one matched (tailer.c). */
	atomic_uint_fast64_t paths_refused;
	atomic_uint_fast64_t multiline_joined; /* lines joined to others */
	atomic_uint_fast64_t inotify_wakeups; /* inotify events handled */
	/* The checkpoint (tailer.c). */
	atomic_uint_fast64_t checkpoint_writes;
	atomic_uint_fast64_t checkpoint_errors;
	atomic_int_fast64_t checkpoint_ms; /* ls_now_ms() of the last write */
	/* Reading paused by the memory budget: the total of past pauses, and
	 * since when the pause under way (0: none). Main thread writes. */
	atomic_int_fast64_t paused_ms;
	atomic_int_fast64_t paused_since_ms;
	int64_t start_ms; /* ls_now_ms() at ls_metrics_new() */
	int64_t start_wall_ms; /* the same in wall-clock time */
	/* The destinations of the running config, in its order (a reload
	 * replaces the array; main thread only). */
	size_t ndests;
	struct ls_dest_metrics **dest;
	size_t nsources;
	/* Per source, the age of its oldest line not yet done everywhere
	 * (0: none), refreshed by the tailer. */
	atomic_int_fast64_t *backlog_ms;
	/* Per source, lines and bytes read (the tailer); nsources + 1. */
	atomic_uint_fast64_t *source_lines;
	atomic_uint_fast64_t *source_bytes;
};

struct ls_metrics *ls_metrics_new(size_t ndests, size_t nsources);
void ls_metrics_free(struct ls_metrics *);
/* The per-source counters follow a reload from old's sources to new's:
 * kept by name, zero for new sources. Main thread (their only writer). */
void ls_metrics_set_sources(
    struct ls_metrics *, const struct ls_conf *old, const struct ls_conf *new);
/* A destination's counters, all zero, with one reference. */
struct ls_dest_metrics *ls_dest_metrics_new(void);
struct ls_dest_metrics *ls_dest_metrics_ref(struct ls_dest_metrics *);
/* Drops a reference; the last frees. NULL is a no-op. */
void ls_dest_metrics_unref(struct ls_dest_metrics *);
/* Makes dest[0..n-1] (references taken) the running destinations'
 * counters, dropping the previous ones. Main thread. */
void ls_metrics_set_dests(
    struct ls_metrics *, struct ls_dest_metrics *const *dest, size_t n);

/* Adds n to a counter; relaxed, as nothing is ordered by a counter. */
#define LS_COUNT(c, n)                                                         \
	atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define LS_LOAD(c) atomic_load_explicit(&(c), memory_order_relaxed)

/* The row of the code table for an answer: status 0 is no answer. */
enum ls_code ls_metrics_code(long status);
/* The label of a row: "2xx", "400", ..., "5xx", "other", "network". */
const char *ls_metrics_code_name(enum ls_code);
/* Counts one request of n entries and bytes of body, answered status (0:
 * none), that took us microseconds; a 2xx also sets last_ok_ms. Any
 * thread. Tested in check_status.c. */
void ls_metrics_request(struct ls_dest_metrics *, long status, uint64_t n,
    uint64_t bytes, int64_t us);
/* Reading paused (1) or resumed (0), now; main thread. */
void ls_metrics_set_paused(struct ls_metrics *, int paused, int64_t now_ms);
/* Milliseconds spent paused so far, the pause under way included. */
int64_t ls_metrics_paused_ms(struct ls_metrics *, int64_t now_ms);
/* Records given up, all reasons together. */
uint64_t ls_metrics_dropped(struct ls_dest_metrics *);
/* One line: lines read, then per destination what was shipped, by
 * severity, with retries and drops. */
void ls_metrics_summary(
    struct ls_metrics *, const struct ls_conf *, struct ls_buf *out);

#endif
