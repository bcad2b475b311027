/*
 * tailer: finds the files of every source, follows them as they grow, and
 * turns their lines into records on the ingest queue.
 *
 * It lives on the main thread's libev loop and never blocks it: globs are
 * expanded at start and on a timer; appends are seen through one inotify
 * descriptor watching the files' directories (one watch per directory, not
 * per file), with a stat poll as the fallback and the safety net; reads are
 * taken in slices, with an idle watcher to come back, so one busy file
 * cannot starve the loop or the other files.
 *
 * Backpressure: before each read the tailer asks the budget; at the high
 * watermark it stops reading (the files keep the backlog) until the budget
 * calls back from whichever thread freed enough records.
 *
 * Threading: main thread only, except that the budget's resume callback
 * may come from any thread (it only does ev_async_send).
 */
#ifndef LS_TAILER_H
#define LS_TAILER_H

#include <ev.h>

#include "checkpoint.h"
#include "conf.h"
#include "status_metrics.h"
#include "queue.h"
#include "record.h"

struct ls_tailer;

/* A tailer for conf's sources pushing to out, its records charged to
 * budget, which it watches until it is freed. Borrows everything. */
struct ls_tailer *ls_tailer_new(struct ev_loop *, const struct ls_conf *,
    struct ls_queue *out, struct ls_budget *, struct ls_ckpt *,
    struct ls_metrics *);
/* The budget the tailer's records are charged to (for status). */
struct ls_budget *ls_tailer_budget(struct ls_tailer *);
/* Scans and starts watching; the first reads happen in the loop. 0, or -1
 * if nothing can be watched at all. */
int ls_tailer_start(struct ls_tailer *) LS_WARN_UNUSED;
/* Follows conf's sources from now on (borrowed: the caller keeps it
 * alive and may free the previous one on return). Files of a source that
 * is gone stop being read; new sources and paths are scanned at once.
 * max_buffer_bytes and state_dir keep their values until a restart. */
void ls_tailer_reload(struct ls_tailer *, const struct ls_conf *);
/* Stops reading for good (shutdown). A partial last line is not shipped:
 * it was never a complete line. */
void ls_tailer_stop(struct ls_tailer *);
/* Writes the checkpoint if a committed offset changed since the last one
 * (or always, with force). 0, or -1 (logged, counted). Main thread. */
int ls_tailer_checkpoint(struct ls_tailer *, int force);
/* Files open now, and whether reading is paused by the budget. */
size_t ls_tailer_nfiles(struct ls_tailer *);
int ls_tailer_paused(struct ls_tailer *);
/* Stops and frees. NULL is a no-op. */
void ls_tailer_free(struct ls_tailer *);

/* One followed file, as status shows it. The strings are borrowed for the
 * callback's duration. */
struct ls_file_info {
	const char *source;
	const char *path; /* NULL: renamed away or deleted */
	uint64_t dev;
	uint64_t ino;
	uint64_t committed; /* every line before it is delivered */
	uint64_t read; /* the next byte to read */
	uint64_t size; /* now (fstat) when open, else the largest seen */
	int open;
	int deleted;
};
/* Calls cb for every file followed, open or not. Main thread. */
void ls_tailer_foreach_file(struct ls_tailer *,
    void (*cb)(const struct ls_file_info *, void *), void *arg);

#endif
