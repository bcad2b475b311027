/*
 * record: one log line on its way through the pipeline, and the memory
 * budget that all live records share.
 *
 * A record is made once by the tailer and shared, never copied, by every
 * destination it is routed to, through an atomic reference count. Its bytes
 * are charged to a budget while it lives; the tailer pauses reading above
 * the budget's high watermark and is told (resume_cb, from whichever thread
 * frees the record that crosses it) when usage falls below the low one.
 * So the queues themselves stay unbounded and non-blocking, and the log
 * files are the buffer.
 *
 * Threading: records and the budget are used from every thread.
 */
#ifndef LS_RECORD_H
#define LS_RECORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "severity.h"

struct ls_budget {
	_Atomic uint64_t used; /* bytes of live records */
	uint64_t high; /* pause reading at or above this */
	uint64_t low; /* resume below this */
	atomic_int paused;
	void (*resume_cb)(void *arg); /* any thread; must not block */
	void *arg;
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
	void *owner; /* the tailer's file; touched on the main thread only */
	uint64_t seq; /* the record's number in its file (offtrack.c) */
	uint64_t offset; /* file offset just past the line (for acks) */
	int64_t time_ms; /* wall-clock read time, ms since the epoch */
	size_t len;
	char msg[]; /* len bytes, then a NUL */
};

/* Initialises a budget of high bytes (low = 3/4 of it). */
void ls_budget_init(
    struct ls_budget *, uint64_t high, void (*resume_cb)(void *), void *arg);
/* Non-zero when usage has reached the high watermark; marks the budget
 * paused so that falling below the low mark calls resume_cb. */
int ls_budget_should_pause(struct ls_budget *);

/* A new record holding a copy of msg, with one reference, charged to
 * budget (may be NULL), carrying src's labels (src may be NULL: none), or
 * labels (a reference of its own, dropped when it is freed). */
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
/* ls_record_unref() shaped as a queue free callback. */
void ls_record_unref_cb(void *rec, void *arg);

#endif
