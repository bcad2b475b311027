/*
 * tailer: see tailer.h. This file is the tailer's life cycle: making it,
 * starting it (the first scan, the watchers, the timers), reloading it,
 * stopping and freeing it, and what status asks of it. The rest is a
 * family of small files sharing tailer_impl.h, one concept each:
 *
 *	tail_index.c	the indexes: files by identity and by path, bad paths
 *	tail_scan.c	discovery (globs, links, renamed while stopped) and
 *			the descriptor limit
 *	tail_glob.c	path patterns: "**", exclude_paths, compressed rotations
 *	tail_watch.c	inotify and the stat poll: when files are read
 *	tail_idle.c	idle files: partial lines shipped, unnamed files closed
 *	tail_file.c	one followed file: open, read, truncation
 *	tail_copy.c	copytruncate: the copy is a followed file of its own
 *	tail_record.c	lines into records: multiline, counts, the push
 *	tail_commit.c	acknowledgements into offsets into the checkpoint
 *
 * Main thread only (the budget's resume callback may come from any thread,
 * and only wakes the loop).
 */
#include "config.h"

#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "labels.h"
#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "offtrack.h"
#include "tailer.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* What a file of a source a reload removed keeps of it: its name, for the
 * checkpoint, and its labels (ls_tailer_reload). */
struct detached {
	struct ls_conf_source src;
	struct detached *next;
};

static void
resume_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ls_tailer *t = w->data;

	if (!t->paused)
		return;
	log_debug("buffer below the low watermark: reading again");
	t->paused = 0;
	ls_metrics_set_paused(t->m, 0, ls_now_ms());
	tail_check_all(t);
	tail_read_all(t);
}

/* The budget's callback: any thread, so only a wakeup. */
static void
budget_resume_cb(void *arg)
{
	struct ls_tailer *t = arg;

	ev_async_send(t->loop, &t->resume_w);
}

struct ls_tailer *
ls_tailer_new(struct ev_loop *loop, const struct ls_conf *conf,
    struct ls_queue *out, struct ls_budget *budget, struct ls_ckpt *ckpt,
    struct ls_metrics *m)
{
	struct ls_tailer *t;

	t = xcalloc(1, sizeof *t);
	t->loop = loop;
	t->conf = conf;
	t->out = out;
	t->ckpt = ckpt;
	t->m = m;
	t->waiting_tail = &t->waiting;
	t->backlog_warned = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->backlog_warned);
	t->ncompressed_noted = conf->nsources;
	t->compressed_noted = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->compressed_noted);
	tail_index_init(t);
	ls_ts_cache_init(&t->tscache);
	t->rbuf = xmalloc(READ_CHUNK);
	ls_buf_init(&t->scratch);
	t->budget = budget;
	tail_watch_init(t);
	tail_commit_init(t);
	ev_async_init(&t->resume_w, resume_async_cb);
	t->resume_w.data = t;
	ls_budget_watch(budget, budget_resume_cb, t);
	return t;
}

struct ls_budget *
ls_tailer_budget(struct ls_tailer *t)
{
	return t->budget;
}

int
ls_tailer_start(struct ls_tailer *t)
{
	tail_watch_open(t);
	tail_resume_renamed(t, 1);
	tail_scan(t, 1);
	tail_resume_renamed(t, 0);
	tail_watch_start(t);
	ev_timer_start(t->loop, &t->ckpt_w);
	ev_async_start(t->loop, &t->resume_w);
	t->started = 1;
	log_info("following %zu files", t->nfiles);
	return 0;
}

void
ls_tailer_stop(struct ls_tailer *t)
{
	if (!t->started || t->stopped)
		return;
	t->stopped = 1;
	tail_watch_stop(t);
	ev_async_stop(t->loop, &t->resume_w);
	/* The checkpoint timer keeps running through the drain. */
}

size_t
ls_tailer_nfiles(struct ls_tailer *t)
{
	return t->nopen;
}

int
ls_tailer_paused(struct ls_tailer *t)
{
	return t->paused;
}

/* The source called name in c, or NULL. */
static const struct ls_conf_source *
source_named(const struct ls_conf *c, const char *name)
{
	size_t s;

	for (s = 0; s < c->nsources; s++)
		if (strcmp(c->sources[s].name, name) == 0)
			return &c->sources[s];
	return NULL;
}

/* Whether source b reads every pattern that a reads (and maybe more). */
static int
reads_as_much(const struct ls_conf_source *a, const struct ls_conf_source *b)
{
	size_t i, k;

	for (i = 0; i < a->npaths; i++) {
		for (k = 0; k < b->npaths; k++)
			if (strcmp(a->paths[i], b->paths[k]) == 0)
				break;
		if (k == b->npaths)
			return 0;
	}
	return 1;
}

static const struct ls_conf_source *
detach(struct ls_tailer *t, const struct ls_conf_source *src)
{
	struct detached *d;

	for (d = t->detached; d != NULL; d = d->next)
		if (strcmp(d->src.name, src->name) == 0)
			return &d->src;
	d = xcalloc(1, sizeof *d);
	d->src.name = xstrdup(src->name);
	d->src.labels = src->labels;
	ls_labels_ref(d->src.labels);
	d->src.max_line_bytes = src->max_line_bytes;
	d->src.partial_flush_ms = src->partial_flush_ms;
	d->src.multiline_flush_ms = src->multiline_flush_ms;
	d->next = t->detached;
	t->detached = d;
	return &d->src;
}

void
ls_tailer_reload(struct ls_tailer *t, const struct ls_conf *conf)
{
	const struct ls_conf_source *src;
	struct tfile *f;
	size_t removed = 0, moved = 0;

	tail_stamp(t); /* for the entries a removed source's files still ship */
	/* Their sources are the old configuration's: the scan below finds
	 * them again. */
	tail_free_waiting(t);
	for (f = t->files; f != NULL; f = f->next) {
		/*
		 * A file stays with the source of its source's name, unless
		 * that name no longer reads every pattern it read: then it
		 * may be another source (a Datadog Agent entry's name is its
		 * place, nginx#2, which an entry put before it gives to that
		 * one), whose rules and labels are not the file's. Such a
		 * file is detached as a removed source's, and the scan below
		 * gives it to the source that reads it now, from where it
		 * stopped. A source that only gained patterns keeps its
		 * files, renamed ones included, which no scan would find
		 * again (tests/e2e/reload_paths.sh, agent_rename.sh).
		 */
		if ((src = source_named(conf, f->src->name)) != NULL
		    && (f->src->paths == NULL || reads_as_much(f->src, src))) {
			/* Gathered by a pattern the source no longer has: the
			 * lines read from now on are records at once, so the
			 * entry goes first (offsets only go forward). */
			if (f->ml.active && src->multiline_re == NULL
			    && !src->multiline_auto)
				tail_ml_flush(f);
			f->src = src;
			/* Its labels as the new configuration says; records
			 * in flight borrow the old ones, kept until the file
			 * is forgotten. */
			tail_retire_labels(f);
			f->labels = tail_file_labels(
			    src, f->path != NULL ? f->path : f->last_path);
			continue;
		}
		if (f->src->name == NULL || f->src->paths == NULL)
			continue; /* detached already */
		/* A removed source: ship the entry being gathered (whole
		 * lines), forget a partial last line (never committed, so
		 * never lost), and stop reading. The struct stays until its
		 * lines in flight are done and close_inactive passes, so the
		 * checkpoint keeps its offset, and a source added back in
		 * time resumes where it stopped. */
		if (f->ml.active)
			tail_ml_flush(f);
		f->off -= ls_linebuf_pending(&f->lb);
		ls_linebuf_cleanup(&f->lb);
		ls_linebuf_init(&f->lb, f->src->max_line_bytes, f->off);
		tail_close_file(f);
		f->src = detach(t, f->src);
		if (src != NULL)
			moved++;
		else
			removed++;
	}
	tail_flush_pending(t);
	t->conf = conf;
	t->src_hint = 0;
	free(t->backlog_warned);
	t->backlog_warned = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->backlog_warned);
	free(t->compressed_noted);
	t->ncompressed_noted = conf->nsources;
	t->compressed_noted = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->compressed_noted);
	tail_watch_reload(t);
	ev_timer_stop(t->loop, &t->ckpt_w);
	ev_timer_set(&t->ckpt_w, conf->checkpoint_interval_ms / 1000.0,
	    conf->checkpoint_interval_ms / 1000.0);
	if (t->started && !t->stopped)
		ev_timer_start(t->loop, &t->ckpt_w);
	if (removed > 0)
		log_notice(
		    "%zu files of removed sources: no longer read", removed);
	if (moved > 0)
		log_notice("%zu files of sources whose names now read other "
			   "patterns: read on by the source that matches "
			   "them, if any",
		    moved);
	/* New sources and new paths: look now, not at the next scan. */
	if (t->started && !t->stopped) {
		tail_scan(t, 0);
		tail_read_all(t);
	}
}

void
ls_tailer_free(struct ls_tailer *t)
{
	struct detached *d;
	struct tfile *f;

	if (t == NULL)
		return;
	ls_tailer_stop(t);
	/* Records may outlive it: their last release must not wake it. */
	ls_budget_watch(t->budget, NULL, t);
	ev_timer_stop(t->loop, &t->ckpt_w);
	while ((f = t->files) != NULL) {
		t->files = f->next;
		tail_free_file(f);
	}
	tail_watch_cleanup(t);
	tail_index_cleanup(t);
	tail_free_waiting(t);
	ls_buf_cleanup(&t->scratch);
	free(t->backlog_warned);
	free(t->compressed_noted);
	free(t->rbuf);
	while ((d = t->detached) != NULL) {
		t->detached = d->next;
		free(d->src.name);
		ls_labels_unref(d->src.labels);
		free(d);
	}
	free(t);
}

void
ls_tailer_foreach_file(struct ls_tailer *t,
    void (*cb)(const struct ls_file_info *, void *), void *arg)
{
	struct ls_file_info fi;
	struct stat st;
	struct tfile *f;

	for (f = t->files; f != NULL; f = f->next) {
		memset(&fi, 0, sizeof fi);
		fi.source = f->src->name;
		fi.path = f->path;
		fi.dev = (uint64_t)f->dev;
		fi.ino = (uint64_t)f->ino;
		fi.read = f->off;
		fi.committed = f->track != NULL
		    ? ls_offtrack_committed(f->track)
		    : f->off;
		fi.size = f->size_seen;
		fi.open = f->fd != -1;
		fi.deleted = f->deleted;
		if (fi.open && fstat(f->fd, &st) == 0)
			fi.size = (uint64_t)st.st_size;
		cb(&fi, arg);
	}
}
