/*
 * status_monitor: the main thread's side of the status endpoint. Every second
 * (and once at start) it gathers what there is to show from the live
 * objects, renders it with status.h (status_prom.c, status_json.c), and
 * publishes the result as an immutable snapshot (status_snapshot.h) that
 * the HTTP server thread (status_httpd.c) serves; on SIGUSR1 it logs the
 * same thing as a table (status_table.c).
 *
 * It holds no pointer to the configuration, the metrics, the pipeline or
 * the tailer: it asks src_cb for the current ones each time, so a reload
 * that replaces any of them needs to tell it nothing.
 *
 * Threading: main thread only. The server it starts has a thread of its
 * own, which sees only snapshots.
 */
#ifndef LS_STATUS_MONITOR_H
#define LS_STATUS_MONITOR_H

#include <ev.h>

#include "conf.h"
#include "log.h"
#include "status_metrics.h"
#include "pipeline.h"
#include "journal.h"
#include "tailer.h"

/* The live objects to render, as src_cb fills them in. */
struct ls_monitor_src {
	const struct ls_conf *conf;
	struct ls_metrics *m;
	struct ls_pipeline *pipeline;
	struct ls_tailer *tailer;
	struct ls_journal *journal; /* may be NULL */
};

struct ls_monitor;

/* A monitor on loop; src_cb(src, arg) gives it the live objects. */
struct ls_monitor *ls_monitor_new(struct ev_loop *,
    void (*src_cb)(struct ls_monitor_src *, void *), void *arg);
/* Publishes a first snapshot, starts the server on conf's metrics.listen
 * (none when it is off) and the one-second timer. 0, or -1 when the
 * address cannot be listened on (logged, naming it). */
int ls_monitor_start(struct ls_monitor *) LS_WARN_UNUSED;
/* Logs the status table, one line at a time (SIGUSR1). */
void ls_monitor_log(struct ls_monitor *);
/* Stops the timer and the server (joining its thread), frees. NULL is a
 * no-op. */
void ls_monitor_free(struct ls_monitor *);

#endif
