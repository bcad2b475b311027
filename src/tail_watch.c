/*
 * tail_watch: when files are read. One inotify descriptor watches the
 * files' directories (one watch per directory, not per file): an event
 * naming a followed file reads that file; one that creates, moves or
 * deletes asks for a scan. A stat poll on a timer reads every open file
 * as the safety net, ships partial lines and multiline entries left idle,
 * and closes files no name leads to once read to their end; the scan
 * timer finds new files. Reads are taken in slices (PASS_BYTES a file a
 * pass), with an idle watcher to come back, so one busy file cannot starve
 * the loop or the other files; at the budget's high watermark reading
 * stops until the budget calls back.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* A watched directory. */
/* A watched directory, found by path (a scan) and by watch (an event). */
struct wdir {
	struct ls_hnode bypath, bywd;
	int wd;
	char *path;
};

static struct wdir *
dir_by_path(struct ls_tailer *t, const char *dir)
{
	struct ls_hnode *n;
	struct wdir *w;

	for (n = ls_htab_first(&t->dirs, ls_hash_str(dir)); n != NULL;
	     n = ls_htab_next(n)) {
		w = LS_CONTAINER_OF(n, struct wdir, bypath);
		if (strcmp(w->path, dir) == 0)
			return w;
	}
	return NULL;
}

static struct wdir *
dir_by_wd(struct ls_tailer *t, int wd)
{
	struct ls_hnode *n;
	struct wdir *w;

	for (n = ls_htab_first(&t->wds, (uint64_t)wd); n != NULL;
	     n = ls_htab_next(n)) {
		w = LS_CONTAINER_OF(n, struct wdir, bywd);
		if (w->wd == wd)
			return w;
	}
	return NULL;
}

/* Watches dir for new, moved and modified files, once; at most
 * max_watched_dirs directories (then the poll and the scans alone see the
 * others' changes, and a warning says so once). 0, or -1 if it is not
 * watched. */
int
tail_watch_dir(struct ls_tailer *t, const char *dir)
{
	struct wdir *w;
	int wd;

	if (t->ifd == -1)
		return -1;
	if (dir_by_path(t, dir) != NULL)
		return 0;
	if (t->dirs.n >= t->conf->max_watched_dirs) {
		if (!t->dirs_warned++)
			log_warnx("%s: max_watched_dirs (%zu) reached: this "
				  "directory and any more are not watched "
				  "(their changes are seen by the poll and the "
				  "scans alone)",
			    dir, t->conf->max_watched_dirs);
		return -1;
	}
	wd = inotify_add_watch(t->ifd, dir,
	    IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
		| IN_CLOSE_WRITE | IN_ATTRIB);
	if (wd == -1) {
		if (errno == ENOENT)
			return -1;
		if (!t->inotify_warned++)
			log_warn("inotify_add_watch %s (polling every %lld ms "
				 "instead; if the limit was reached, raise "
				 "fs.inotify.max_user_watches)",
			    dir, (long long)t->conf->poll_interval_ms);
		return -1;
	}
	/* A directory renamed keeps its watch: the same wd, now under
	 * another path. One path per watch. */
	if ((w = dir_by_wd(t, wd)) != NULL) {
		ls_htab_remove(&t->dirs, &w->bypath);
		free(w->path);
	} else {
		w = xcalloc(1, sizeof *w);
		w->wd = wd;
		ls_htab_insert(&t->wds, &w->bywd, (uint64_t)wd);
	}
	w->path = xstrdup(dir);
	ls_htab_insert(&t->dirs, &w->bypath, ls_hash_str(dir));
	return 0;
}

/* The kernel dropped watch wd (IN_IGNORED: its directory was deleted, or
 * its file system unmounted): forget it, so that the scan that finds the
 * directory again watches it again. Kept, it would stand for a watch that
 * no longer reports anything, and appends to files in a directory made
 * anew would be seen only by the poll. */
static void
forget_watch(struct ls_tailer *t, int wd)
{
	struct wdir *w;

	if ((w = dir_by_wd(t, wd)) == NULL)
		return;
	log_info("%s: no longer watched (removed); a scan that finds it "
		 "again watches it again",
	    w->path);
	ls_htab_remove(&t->wds, &w->bywd);
	ls_htab_remove(&t->dirs, &w->bypath);
	free(w->path);
	free(w);
}

void
tail_watch_parent(struct ls_tailer *t, const char *path)
{
	char *copy = xstrdup(path);

	(void)tail_watch_dir(t, dirname(copy));
	free(copy);
}

/* One pass over every file; comes back through the idle watcher while any
 * file has more than a pass's worth waiting. */
/* Every open file: truncated, or truncated and rewritten, since last
 * looked at? (tail_check_rewritten). The poll's, and the resume's before
 * it reads: a file rewritten past its offset while reading was paused
 * must not be read on as if it had grown. */
void
tail_check_all(struct ls_tailer *t)
{
	struct tfile *f, *next;

	for (f = t->open_files; f != NULL; f = next) {
		next = f->onext; /* a truncation adds structs at the head */
		tail_check_rewritten(t, f);
	}
}

void
tail_read_all(struct ls_tailer *t)
{
	struct tfile *f, *next;
	size_t idle = 0;
	int more = 0;

	if (t->stopped || t->paused) {
		/* Reading waits for the resume (read_all again) or the stop:
		 * an idle watcher left on would call this at every turn of
		 * the loop meanwhile, a busy loop (a pause can begin in
		 * read_named while it is on). */
		ev_idle_stop(t->loop, &t->more_w);
		return;
	}
	/* Every open file is read: what inotify named is read too. */
	while ((f = t->named) != NULL) {
		t->named = f->dnext;
		f->dirty = 0;
	}
	for (f = t->open_files; f != NULL && !t->paused; f = next) {
		next = f->onext; /* tail_read_file may close f */
		more |= tail_read_file(t, f, PASS_BYTES);
		if (f->fd != -1 && f->at_eof)
			idle++;
	}
	/* Files wait for descriptors, and the open ones are read to their
	 * end: open the next ones now, rather than at the next scan. Each
	 * round closes idle files and opens waiting ones, so this ends. */
	if (t->waiting != NULL && !more && idle > 0 && !t->paused) {
		tail_retry_waiting(t);
		more = 1; /* read what it opened, through the idle watcher */
	}
	tail_flush_pending(t);
	if (more && !t->paused)
		ev_idle_start(t->loop, &t->more_w);
	else
		ev_idle_stop(t->loop, &t->more_w);
}

/*
 * Reads the files inotify named since they were last read, and the ones
 * that have no name (rotated away: an event for them names their new
 * name, which no path index knows), not every open file: with 1,000
 * files growing slowly, each wakeup would otherwise cost 1,000 reads that
 * find nothing.
 */
static void
read_named(struct ls_tailer *t, int unknown)
{
	struct tfile *f, *next;
	int more = 0;

	if (t->stopped || t->paused)
		return;
	/* tail_read_file closes no file's struct, only its descriptor. */
	while ((f = t->named) != NULL && !t->paused) {
		t->named = f->dnext;
		f->dirty = 0;
		more |= tail_read_file(t, f, PASS_BYTES);
	}
	for (f = t->open_files; unknown && f != NULL && !t->paused; f = next) {
		next = f->onext; /* tail_read_file may close f */
		if (f->path == NULL)
			more |= tail_read_file(t, f, PASS_BYTES);
	}
	/* One push for the pass, not one per file: with 1,000 files written
	 * slowly, a wakeup reads a line from each of a hundred, and a push
	 * per file woke the router a hundred times. */
	tail_flush_pending(t);
	if (more && !t->paused)
		ev_idle_start(t->loop, &t->more_w);
}

static void
more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	tail_read_all(w->data);
}

static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	tail_check_all(t);
	tail_read_all(t);
	if (!t->paused)
		tail_flush_idle(t);
	tail_close_idle(t);
}

static void
rescan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	tail_scan(t, 0);
	tail_read_all(t);
}

/*
 * A scan that inotify asks for: now, unless the last one ended less than
 * twice its own duration ago, then once that gap is over (events
 * meanwhile ride along). A scan costs a stat(2) per matching file: while
 * 100,000 files are being created, a scan per batch of events would take
 * the loop over (and slow the writer); so scans take at most a third of
 * the loop. A scan of a few files costs no gap worth the name.
 */
static void
request_scan(struct ls_tailer *t)
{
	int64_t now = ls_now_ms(), due;

	due = t->scan_end_ms + 2 * t->scan_cost_ms;
	if (now >= due) {
		ev_timer_stop(t->loop, &t->rescan_w);
		tail_scan(t, 0);
	} else if (!ev_is_active(&t->rescan_w)) {
		ev_timer_set(&t->rescan_w, (double)(due - now) / 1000.0, 0.);
		ev_timer_start(t->loop, &t->rescan_w);
	}
}

static void
scan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	tail_scan(t, 0);
	tail_read_all(t);
}

/*
 * Under a steady stream of writes, lets them gather: after the events it
 * has handled, the inotify watcher rests for read_coalesce, and what was
 * written meanwhile is read in one go when it wakes (the kernel merges a
 * file's repeated IN_MODIFY events). A writer that writes a line a
 * millisecond would otherwise wake this thread, the router, the batcher
 * and their locks a thousand times a second. The first write after a quiet
 * spell is read at once; a backlog is read by more_w, which does not rest.
 */
static void
coalesce(struct ls_tailer *t)
{
	if (t->conf->read_coalesce_ms <= 0 || t->stopped)
		return;
	ev_io_stop(t->loop, &t->inotify_w);
	ev_timer_set(&t->coalesce_w, t->conf->read_coalesce_ms / 1000.0, 0.);
	ev_timer_start(t->loop, &t->coalesce_w);
}

static void
coalesce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	if (!t->stopped)
		ev_io_start(t->loop, &t->inotify_w);
}

static void
inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ls_tailer *t = w->data;
	char buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	const struct wdir *d;
	struct tfile *f;
	int need_scan = 0, unknown = 0;
	ssize_t n;
	char *p;

	LS_COUNT(t->m->inotify_wakeups, 1);
	for (;;) {
		n = read(t->ifd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask
			    & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM
				| IN_DELETE | IN_Q_OVERFLOW | IN_IGNORED))
				need_scan = 1;
			if (ev->mask & IN_IGNORED)
				forget_watch(t, ev->wd);
			/* A file closed to make room may have grown, or one
			 * that could not be followed may be now (a chmod):
			 * only a scan opens it (at most once a second). */
			if ((((ev->mask & IN_MODIFY) && t->nopen < t->nfiles)
				|| ((ev->mask & IN_ATTRIB) && t->bad.n > 0))
			    && ls_now_ms() - t->modify_scan_ms >= 1000) {
				t->modify_scan_ms = ls_now_ms();
				need_scan = 1;
			}
			if (!(ev->mask & IN_MODIFY) || ev->len == 0)
				continue;
			d = dir_by_wd(t, ev->wd);
			if (d != NULL
			    && (f = tail_by_path(t, d->path, ev->name))) {
				if (!f->dirty) {
					f->dirty = 1;
					f->dnext = t->named;
					t->named = f;
				}
			} else
				unknown = 1;
		}
	}
	if (need_scan) {
		request_scan(t);
		tail_read_all(t);
	} else
		read_named(t, unknown);
	coalesce(t);
}

void
tail_watch_init(struct ls_tailer *t)
{
	const struct ls_conf *c = t->conf;

	t->ifd = -1;
	ls_htab_init(&t->dirs, 64);
	ls_htab_init(&t->wds, 64);
	ev_io_init(&t->inotify_w, inotify_cb, -1, EV_READ);
	ev_timer_init(&t->scan_w, scan_cb, c->scan_interval_ms / 1000.0,
	    c->scan_interval_ms / 1000.0);
	ev_timer_init(&t->poll_w, poll_cb, c->poll_interval_ms / 1000.0,
	    c->poll_interval_ms / 1000.0);
	ev_idle_init(&t->more_w, more_cb);
	ev_init(&t->rescan_w, rescan_cb);
	ev_init(&t->coalesce_w, coalesce_cb);
	t->inotify_w.data = t->scan_w.data = t->poll_w.data = t;
	t->more_w.data = t->rescan_w.data = t->coalesce_w.data = t;
}

/* Before the first scan: it adds the watches. */
void
tail_watch_open(struct ls_tailer *t)
{
	if ((t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("inotify_init1 (polling every %lld ms instead; if "
			 "the limit was reached, raise "
			 "fs.inotify.max_user_instances)",
		    (long long)t->conf->poll_interval_ms);
}

void
tail_watch_start(struct ls_tailer *t)
{
	if (t->ifd != -1) {
		ev_io_set(&t->inotify_w, t->ifd, EV_READ);
		ev_io_start(t->loop, &t->inotify_w);
	}
	ev_timer_start(t->loop, &t->scan_w);
	ev_timer_start(t->loop, &t->poll_w);
	/* The first reads happen in the loop, not before start returns. */
	ev_idle_start(t->loop, &t->more_w);
}

void
tail_watch_stop(struct ls_tailer *t)
{
	ev_io_stop(t->loop, &t->inotify_w);
	ev_timer_stop(t->loop, &t->scan_w);
	ev_timer_stop(t->loop, &t->poll_w);
	ev_timer_stop(t->loop, &t->rescan_w);
	ev_timer_stop(t->loop, &t->coalesce_w);
	ev_idle_stop(t->loop, &t->more_w);
}

static int
free_dir_cb(struct ls_hnode *n, void *arg)
{
	struct wdir *w = LS_CONTAINER_OF(n, struct wdir, bypath);

	(void)arg;
	free(w->path);
	free(w);
	return 1;
}

void
tail_watch_cleanup(struct ls_tailer *t)
{
	ls_htab_cleanup(&t->wds); /* the same entries as dirs */
	ls_htab_sweep(&t->dirs, free_dir_cb, NULL);
	ls_htab_cleanup(&t->dirs);
	if (t->ifd != -1)
		close(t->ifd);
	t->ifd = -1;
}

static void
restart_timer(struct ls_tailer *t, ev_timer *w, int64_t ms)
{
	ev_timer_stop(t->loop, w);
	ev_timer_set(w, ms / 1000.0, ms / 1000.0);
	if (t->started && !t->stopped)
		ev_timer_start(t->loop, w);
}

void
tail_watch_reload(struct ls_tailer *t)
{
	restart_timer(t, &t->scan_w, t->conf->scan_interval_ms);
	restart_timer(t, &t->poll_w, t->conf->poll_interval_ms);
}
