/*
 * record: one log line on its way through the pipeline, where it came
 * from, and the memory budget that all live records share.
 *
 * A record is made once by a source (the tailer) and shared, never
 * copied, by every destination it is routed to, through an atomic
 * reference count. Its bytes are charged to a budget while it lives; the
 * source pauses reading above the budget's high watermark and is told
 * (the watch callback, from whichever thread frees the record that
 * crosses it) when usage falls below the low one. So the queues themselves
 * stay unbounded and non-blocking, and the log files are the buffer.
 *
 * The budget is an object of its own, which main makes first and frees
 * last: it outlives both ends, the source that charges it and the threads
 * that free records.
 *
 * A record names its origin with a typed handle (struct ls_origin, which
 * the source embeds in its own object, a followed file): when every
 * destination is done with the record, the main thread hands it back to
 * its origin (ls_origin_ack), which commits it. A second kind of source (a
 * journal reader, say) brings its own ops.
 *
 * Threading: records and the budget are used from every thread; an
 * origin's ops run on the main thread only.
 */
#ifndef LS_RECORD_H
#define LS_RECORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "severity.h"

struct ls_budget;
struct ls_record;

/* Where a record came from: embedded in the source's object. */
struct ls_origin {
	const struct ls_origin_ops *ops;
};

struct ls_origin_ops {
	/* Every destination is done with r (main thread): commit it. */
	void (*ack)(struct ls_origin *, struct ls_record *r);
};

#define LS_REC_NO_SOURCE UINT16_MAX

#define LS_REC_TRUNCATED 0x01
/* Not a line: a mark in the stream where a new routing table takes
 * effect (router.h). */
#define LS_REC_BARRIER 0x02

struct ls_record {
	atomic_uint refs;
	atomic_uint pending; /* destinations not done with it (acks.c) */
	uint8_t severity; /* enum ls_severity */
	uint8_t flags; /* LS_REC_* */
	/* The index of its source in the configuration it was read under,
	 * for routes by source (LS_REC_NO_SOURCE: none known). */
	uint16_t source;
	const struct ls_labels *labels; /* interned: outlive any config */
	struct ls_budget *budget;
	struct ls_origin *origin; /* NULL: none; used on the main thread */
	uint64_t seq; /* the record's number in its file (offtrack.c) */
	uint64_t offset; /* file offset just past the line (for acks) */
	int64_t time_ms; /* wall-clock read time, ms since the epoch */
	size_t len;
	char msg[]; /* len bytes, then a NUL */
};

/* A budget of high bytes (low = 3/4 of it), watched by nobody yet. */
struct ls_budget *ls_budget_new(uint64_t high);
/* Frees it; every record charged to it must be gone. NULL is a no-op. */
void ls_budget_free(struct ls_budget *);
/* resume_cb(arg) runs, from any thread and without blocking, when usage
 * falls below the low mark after a pause. Each reader watches with its
 * own arg (up to LS_BUDGET_WATCHERS: the tailer, the journal), and every
 * watcher is called on a resume (any of them may have paused); a NULL
 * resume_cb stops arg's; once this returns no call of the old one is
 * under way. */
#define LS_BUDGET_WATCHERS 4
void ls_budget_watch(
    struct ls_budget *, void (*resume_cb)(void *arg), void *arg);
/* Non-zero when usage has reached the high watermark; marks the budget
 * paused so that falling below the low mark calls the watcher. */
int ls_budget_should_pause(struct ls_budget *);
/*
 * Tests only (check_budget.c), never called by the daemon: hook(arg) runs
 * inside ls_budget_should_pause, in the caller's thread, after its first
 * look found usage at or above the high mark and before it marks the
 * budget paused. That is the window in which the last records can be
 * freed with nobody left to see the pause; the hook holds it open, so a
 * test can free them there and check that the caller is not left paused
 * without a resume. NULL removes it. Set it from the thread that calls
 * should_pause, before it does.
 */
void ls_budget_set_test_hook(
    struct ls_budget *, void (*hook)(void *arg), void *arg);
/* Bytes of live records charged to it (any thread), and its high mark. */
uint64_t ls_budget_used(struct ls_budget *);
uint64_t ls_budget_high(const struct ls_budget *);

/* A new record holding a copy of msg, with one reference, charged to
 * budget (may be NULL), carrying src's labels (src may be NULL: none), or
 * labels. The labels are borrowed, not referenced (a reference per line
 * cost 4% of the CPU, its cache line shared by every thread that frees
 * records): the maker keeps them alive until the record is freed. The
 * tailer does: a file holds its labels, and those it had before a reload,
 * until it is forgotten, which waits for its records (tail_file.c). */
struct ls_record *ls_record_new(const struct ls_conf_source *src,
    struct ls_budget *budget, const char *msg, size_t len, enum ls_severity sev,
    uint64_t offset, int64_t time_ms);
struct ls_record *ls_record_new_labels(const struct ls_labels *labels,
    struct ls_budget *budget, const char *msg, size_t len, enum ls_severity sev,
    uint64_t offset, int64_t time_ms);
/* The bytes a record counts for in queues and the budget. */
size_t ls_record_size(const struct ls_record *);
void ls_record_ref(struct ls_record *);
/* Drops a reference; the last one frees it and releases its budget. */
void ls_record_unref(struct ls_record *);
/* Sets how many destinations must be done with it before it is
 * acknowledged (the router, before it hands the record on). */
void ls_record_set_pending(struct ls_record *, unsigned n);
/* Hands r back to its origin (main thread): every destination is done
 * with it. A record of no origin is ignored. */
void ls_origin_ack(struct ls_record *r);
/* ls_record_unref() shaped as a queue free callback. */
void ls_record_unref_cb(void *rec, void *arg);

#endif
