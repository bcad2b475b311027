/*
 * status: what logshipd is doing, rendered three ways from one input: the
 * Prometheus text exposition format (/metrics), a JSON document (/status),
 * and a compact table for people (SIGUSR1 and "logshipd status"), which is
 * rendered from the JSON document so that both show the same thing.
 *
 * The renderers are pure: everything they show is in struct ls_status_in,
 * which the caller fills on the main thread (status_monitor.c), and they touch
 * nothing else. So they are tested without a daemon, and they cannot reach
 * into live pipeline state from the wrong thread. The counters they read
 * are atomics that any thread may be adding to: a rendering is a snapshot
 * of them, not a consistent cut.
 *
 * Nothing secret is rendered: no API key, no URL (it may carry a key in its
 * query), no header.
 *
 * Tested in check_status.c.
 */
#ifndef LS_STATUS_H
#define LS_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "journal.h"
#include "status_metrics.h"
#include "tailer.h"

/* At most this many files of each source are listed in /status (the
 * count of all is there too): thousands are rendered every second. */
#define LS_STATUS_MAX_FILES 1000

/* What the pipeline knows of a destination, beyond its counters. */
struct ls_status_dest {
	uint64_t queued_records; /* waiting for the batcher */
	uint64_t queued_batches; /* waiting for a worker */
	int64_t backoff_ms; /* left to wait; 0: not backing off */
	/* ls_now_ms() since when it has held lines without a break (0: it
	 * holds none, or unknown): an idle destination that was just handed
	 * a line is not late with it. */
	int64_t busy_since_ms;
	double rate; /* lines sent a second since the last rendering; < 0:
			unknown yet */
};

struct ls_status_in {
	const struct ls_conf *conf;
	struct ls_metrics *m; /* read only */
	const struct ls_status_dest *dests; /* m->ndests of them */
	const struct ls_file_info *files;
	size_t nfiles;
	const struct ls_journal_info *journals; /* status_journal.c */
	size_t njournals;
	int paused; /* reading paused by the memory budget */
	uint64_t buffer_used; /* bytes of live records */
	int64_t now_ms; /* ls_now_ms() */
	int64_t wall_ms; /* the same instant, ms since the epoch */
};

/* Lines routed to a destination and not yet sent or dropped. */
uint64_t ls_status_pending(struct ls_dest_metrics *);
/* Is destination i healthy: holding nothing to send, or delivering within
 * its health_window: its last 2xx, or else the start, or the time it
 * began to hold lines, whichever is latest, is at most that old? When
 * not, and why is not NULL, appends the reason. */
int ls_status_dest_healthy(
    const struct ls_status_in *, size_t i, struct ls_buf *why);
/* The verdict for /healthz: 1 when every destination is healthy; else 0,
 * and why gets one line naming each that is not. */
int ls_status_health(const struct ls_status_in *, struct ls_buf *why);
/* Appends the Prometheus text exposition (format 0.0.4) to out: every
 * family with its HELP and TYPE lines, label values escaped. */
void ls_status_prometheus(const struct ls_status_in *, struct ls_buf *out);
/* The /status document (a new reference). */
json_t *ls_status_json(const struct ls_status_in *);
/* Appends the table rendering of a /status document to out: lines ending
 * in '\n'. Tolerates missing members (an older or newer daemon). */
void ls_status_table(const json_t *doc, struct ls_buf *out);
/* The journald sources' parts of the three (status_journal.c): their
 * /metrics families, a source's "type" and "journal" members in o, and
 * their table. */
void ls_status_prom_journals(const struct ls_status_in *, struct ls_buf *);
void ls_status_json_journal(
    const struct ls_status_in *, const char *source, json_t *o);
void ls_status_table_journals(const json_t *doc, struct ls_buf *out);

#endif
