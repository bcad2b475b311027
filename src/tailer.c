/*
 * tailer: see tailer.h. This file finds the files and keeps the tailer
 * going: the scans of the globs and the paths they match (the bad-path
 * table, the paths waiting for a descriptor), the inotify watches on their
 * directories, the timers (poll, scan, rescan, checkpoint) and what they
 * run (reading every file in turn, closing idle ones), the checkpoint, the
 * acknowledgements, reload, and the ls_tailer_* functions. What concerns
 * one file (its identity, reading it, making records of its lines,
 * opening it) is in tailfile.c; the two share tailer_impl.h.
 *
 * A file is known by its identity, (device, inode), not by its name. The
 * name is only where the scan found it: when a scan finds a name now
 * belonging to another inode (rotation by rename, then create), the old
 * file loses its name but keeps its descriptor, and is followed until it
 * has been idle for close_inactive, because an application that has not
 * reopened its log yet keeps appending to it; the new file is read from its
 * start. A file whose last link is gone is read to its end, then closed
 * (or closed after close_removed_after, counting what it still held).
 *
 * Offsets follow delivery, not reading: each record gets a sequence number
 * in its file's offset tracker; when every destination is done with it the
 * acknowledgement comes back to this thread (acks.c), and the file's
 * committed offset moves over the done prefix. The checkpoint holds the
 * committed offsets, never the read ones, so a crash resends at most what
 * was in flight. A file's struct outlives its descriptor while records of
 * it are outstanding.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "ctx.h"
#include "linebuf.h"
#include "log.h"
#include "offtrack.h"
#include "tailer.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* Most bytes read from one file per pass before the others get a turn. */
#define PASS_BYTES (4 * 1024 * 1024)

struct wdir {
	int wd;
	char *path;
	struct wdir *next;
};

/*
 * A path a glob matched that cannot be followed, and why: reported once
 * per reason rather than at every scan, and forgotten by the first scan
 * that no longer finds it so (fixed, or gone), so that a fault that comes
 * back is reported again. Tested in tests/e2e/fault_files.sh.
 */
struct badpath {
	char *path;
	int why; /* an errno, or BAD_DANGLING, or -(its S_IFMT type) */
	unsigned seen; /* the scan generation that last found it so */
	struct badpath *next;
};
#define BAD_DANGLING (-1)

/* A path a scan matched but could not open for lack of a descriptor. Its
 * identity keeps its checkpoint entry in the checkpoints written while it
 * waits (ls_tailer_checkpoint). */
struct waiting {
	const struct ls_conf_source *src;
	char *path;
	int initial; /* found by the first scan (start_at applies) */
	dev_t dev;
	ino_t ino;
	struct waiting *next;
};

/* What a file of a source a reload removed keeps of it: its name, for the
 * checkpoint, and its labels (tailer.c: ls_tailer_reload). */
struct detached {
	struct ls_conf_source src;
	struct detached *next;
};

static void read_all(struct ls_tailer *);

/* Unlinks f from the list and frees it. */
static void
drop_file(struct ls_tailer *t, struct tfile *f)
{
	struct tfile **fp;

	for (fp = &t->files; *fp != NULL; fp = &(*fp)->next) {
		if (*fp == f) {
			*fp = f->next;
			break;
		}
	}
	t->nfiles--;
	t->dirty = 1;
	tail_free_file(f);
}

/* Watches dir for new, moved and modified files, once. */
static void
watch_dir(struct ls_tailer *t, const char *dir)
{
	struct wdir *w;
	int wd;

	if (t->ifd == -1)
		return;
	for (w = t->dirs; w != NULL; w = w->next)
		if (strcmp(w->path, dir) == 0)
			return;
	wd = inotify_add_watch(t->ifd, dir,
	    IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
		| IN_CLOSE_WRITE | IN_ATTRIB);
	if (wd == -1) {
		if (errno == ENOENT)
			return;
		if (!t->inotify_warned++)
			log_warn("inotify_add_watch %s (polling every %lld ms "
				 "instead; if the limit was reached, raise "
				 "fs.inotify.max_user_watches)",
			    dir, (long long)t->conf->poll_interval_ms);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->wd = wd;
	w->path = xstrdup(dir);
	w->next = t->dirs;
	t->dirs = w;
}

/* The kernel dropped watch wd (IN_IGNORED: its directory was deleted, or
 * its file system unmounted): forget it, so that the scan that finds the
 * directory again watches it again. Kept, it would stand for a watch that
 * no longer reports anything, and appends to files in a directory made
 * anew would be seen only by the poll. */
static void
forget_watch(struct ls_tailer *t, int wd)
{
	struct wdir **wp, *w;

	for (wp = &t->dirs; (w = *wp) != NULL; wp = &w->next)
		if (w->wd == wd) {
			*wp = w->next;
			log_info("%s: no longer watched (removed); a scan that "
				 "finds it again watches it again",
			    w->path);
			free(w->path);
			free(w);
			return;
		}
}

static void
watch_parent(struct ls_tailer *t, const char *path)
{
	char *copy = xstrdup(path);

	watch_dir(t, dirname(copy));
	free(copy);
}

static const char *
file_kind(int why)
{
	switch (-why) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "not a file";
	}
}

/*
 * path, matched by a glob, cannot be followed: why is an errno (from what,
 * "open", or from stat when NULL), BAD_DANGLING, or -(its S_IFMT type).
 * Logged when the path or its reason is new; the scans that find it so
 * again say nothing. A directory is a notice (a glob such as "dir/x*" may
 * match one in passing), the rest are warnings.
 */
void
tail_bad_path(struct ls_tailer *t, const char *path, int why, const char *what)
{
	struct badpath *b, **old;
	size_t i, h, oldsize;

	if (t->badsize == 0 || t->nbad >= t->badsize) {
		old = t->bad;
		oldsize = t->badsize;
		t->badsize = oldsize == 0 ? 16 : oldsize * 2;
		t->bad = xcalloc(t->badsize, sizeof *t->bad);
		for (i = 0; i < oldsize; i++) {
			while ((b = old[i]) != NULL) {
				old[i] = b->next;
				h = tail_str_hash(b->path, t->badsize);
				b->next = t->bad[h];
				t->bad[h] = b;
			}
		}
		free(old);
	}
	h = tail_str_hash(path, t->badsize);
	for (b = t->bad[h]; b != NULL; b = b->next)
		if (strcmp(b->path, path) == 0)
			break;
	if (b == NULL) {
		b = xcalloc(1, sizeof *b);
		b->path = xstrdup(path);
		b->next = t->bad[h];
		t->bad[h] = b;
		t->nbad++;
	} else if (b->why == why) {
		b->seen = t->gen;
		return;
	}
	b->why = why;
	b->seen = t->gen;
	if (why > 0)
		log_warnx("%s: %s%s%s; skipped", path, what ? what : "",
		    what ? ": " : "", strerror(why));
	else if (why == BAD_DANGLING)
		log_warnx("%s: a symbolic link to nothing; skipped", path);
	else if (-why == S_IFDIR)
		log_notice("%s: not a regular file (%s); skipped", path,
		    file_kind(why));
	else
		log_warnx("%s: not a regular file (%s); skipped", path,
		    file_kind(why));
}

/* Forgets the unfollowable paths the scan just made did not find so. */
static void
bad_sweep(struct ls_tailer *t)
{
	struct badpath *b, **bp;
	size_t i;

	for (i = 0; t->nbad > 0 && i < t->badsize; i++) {
		for (bp = &t->bad[i]; (b = *bp) != NULL;) {
			if (b->seen == t->gen) {
				bp = &b->next;
				continue;
			}
			*bp = b->next;
			free(b->path);
			free(b);
			t->nbad--;
		}
	}
}

static void
link_file(struct ls_tailer *t, struct tfile *f)
{
	f->next = t->files;
	t->files = f;
	t->nfiles++;
	tail_id_insert(t, f);
	t->dirty = 1;
}

/* Queues path to be opened once a descriptor can be had. */
static void
wait_room(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial, const struct stat *st)
{
	struct waiting *w;

	w = xcalloc(1, sizeof *w);
	w->src = src;
	w->path = xstrdup(path);
	w->initial = initial;
	w->dev = st->st_dev;
	w->ino = st->st_ino;
	*t->waiting_tail = w;
	t->waiting_tail = &w->next;
}

static void
free_waiting(struct ls_tailer *t)
{
	struct waiting *w;

	while ((w = t->waiting) != NULL) {
		t->waiting = w->next;
		free(w->path);
		free(w);
	}
	t->waiting_tail = &t->waiting;
}

static void
add_file(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial, const struct stat *st)
{
	struct tfile *f;

	/* No descriptor to be had now: not even the struct. */
	if (t->room_full) {
		wait_room(t, src, path, initial, st);
		return;
	}
	f = tail_new_file(t, src, path);
	if (tail_open_new(t, f, initial) != 0) {
		tail_free_file(f);
		if (t->room_full)
			wait_room(t, src, path, initial, st);
		return;
	}
	f->seen = t->gen;
	link_file(t, f);
	log_info("%s: following (source %s, from offset %llu)", path, src->name,
	    (unsigned long long)f->off);
}

/* Found again under a name: the same inode, maybe renamed. */
static void
found_again(struct ls_tailer *t, struct tfile *f, const char *path,
    const struct stat *st)
{
	if (f->path == NULL || strcmp(f->path, path) != 0)
		tail_set_path(f, path);
	f->gone_ms = 0;
	f->seen = t->gen;
	/* Closed (idle, or to make room): open it again once it changed. */
	if (f->fd == -1 && (uint64_t)st->st_size != f->off
	    && tail_reopen(t, f) != 0 && t->room_full)
		wait_room(t, f->src, path, 0, st);
}

/* A closed file whose inode turns up unchanged since it was read to its
 * end (its status change time and its size): the same file, known without
 * opening it. With 100,000 files each scan would otherwise open and
 * fingerprint every closed one. */
static int
unchanged(const struct tfile *f, const struct stat *st)
{
	return st->st_ctim.tv_sec == f->ctim.tv_sec
	    && st->st_ctim.tv_nsec == f->ctim.tv_nsec
	    && (uint64_t)st->st_size == f->off;
}

/* A closed file whose inode turns up again may be another file by now. */
static int
same_contents(struct tfile *f, const char *path)
{
	return f->fp_len == 0 || tail_path_matches(path, f->fp_len, f->fp);
}

static void
scan_path(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial)
{
	struct tfile *f;
	struct stat st;
	int e;

	if (stat(path, &st) == -1) {
		/* Gone since the glob (a rotation) is nothing to report; a
		 * symbolic link to nothing is. */
		if ((e = errno) != ENOENT)
			tail_bad_path(t, path, e, NULL);
		else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			tail_bad_path(t, path, BAD_DANGLING, NULL);
		return;
	}
	/* Never opened, so never read: a FIFO would block, /dev/zero never
	 * ends. */
	if (!S_ISREG(st.st_mode)) {
		tail_bad_path(t, path, -(int)(st.st_mode & S_IFMT), NULL);
		return;
	}
	watch_parent(t, path);
	if ((f = tail_id_find(t, st.st_dev, st.st_ino)) != NULL) {
		if (f->seen == t->gen)
			return; /* another pattern's, or another name's */
		if (f->src->paths == NULL)
			f->src = src; /* its source is back (a reload) */
		/* A file seen deleted (no link left) never comes back: its
		 * inode, once closed, is another file's, whatever its first
		 * bytes. */
		if (f->fd != -1
		    || (!f->deleted
			&& (unchanged(f, &st) || same_contents(f, path)))) {
			found_again(t, f, path, &st);
			return;
		}
		/* Closed, and its inode now holds other bytes. */
		LS_COUNT(t->m->inode_reuse, 1);
		log_notice("%s: inode reused by a new file", path);
		tail_id_remove(t, f);
	}
	add_file(t, src, path, initial, &st);
}

/* Files whose name was not found this scan: renamed away, or deleted. */
static void
lost_names(struct ls_tailer *t)
{
	struct tfile *f;
	struct stat st;
	int64_t now = ls_now_ms();

	for (f = t->files; f != NULL; f = f->next) {
		if (f->seen == t->gen || f->path == NULL)
			continue;
		log_info("%s: no longer under that name; following it to "
			 "its end",
		    f->path);
		tail_set_path(f, NULL);
		f->gone_ms = now;
		if (f->fd != -1 && fstat(f->fd, &st) == 0 && st.st_nlink == 0)
			f->deleted = 1;
	}
}

static void
scan(struct ls_tailer *t, int initial)
{
	const struct ls_conf_source *src;
	glob_t g;
	size_t s, p, i;
	int64_t t0;
	int rc;

	t0 = ls_now_ms();
	t->gen++;
	/* The scan finds again whatever still waits for a descriptor. */
	free_waiting(t);
	t->room_full = 0;
	for (s = 0; s < t->conf->nsources; s++) {
		src = &t->conf->sources[s];
		for (p = 0; p < src->npaths; p++) {
			rc = glob(src->paths[p], GLOB_NOSORT, NULL, &g);
			/* Watch the pattern's directory, to see creations. */
			watch_parent(t, src->paths[p]);
			if (rc != 0) {
				if (rc != GLOB_NOMATCH)
					log_warnx(
					    "%s: glob failed", src->paths[p]);
				globfree(&g);
				continue;
			}
			for (i = 0; i < g.gl_pathc; i++)
				scan_path(t, src, g.gl_pathv[i], initial);
			globfree(&g);
		}
	}
	lost_names(t);
	bad_sweep(t);
	t->scan_cost_ms = ls_now_ms() - t0;
	t->scan_end_ms = ls_now_ms();
}

/*
 * Files rotated or deleted while logshipd was stopped: the checkpoint
 * knows them, the globs no longer find them. Look for the inode in the
 * directory it was in (a rename keeps it there, e.g. app.log -> app.log.1)
 * and read what is left of it.
 *
 * Called before the first scan with renamed set, for the files whose
 * last name is now another file's (or none): they get their descriptors
 * before the named files may take every one (max_open_files), as nothing
 * would open them later. Then after it, for those still under their name
 * that the globs no longer match.
 */
static void
resume_renamed(struct ls_tailer *t, int renamed)
{
	const struct ls_ckpt_entry *e;
	const struct ls_conf_source *src;
	struct dirent *de;
	struct tfile *f;
	struct stat st;
	char *copy, path[PATH_MAX];
	DIR *dir;
	size_t i, s;

	for (i = 0; t->ckpt != NULL && i < ls_ckpt_count(t->ckpt); i++) {
		e = ls_ckpt_get(t->ckpt, i);
		if (tail_id_find(t, (dev_t)e->dev, (ino_t)e->ino) != NULL)
			continue;
		/* Each pass takes its own entries: still under its name,
		 * the file is the scan's, and left for the second. */
		if ((stat(e->path, &st) == 0 && st.st_dev == (dev_t)e->dev
			&& st.st_ino == (ino_t)e->ino)
		    == renamed)
			continue;
		for (src = NULL, s = 0; s < t->conf->nsources; s++)
			if (strcmp(t->conf->sources[s].name, e->source) == 0)
				src = &t->conf->sources[s];
		if (src == NULL)
			continue; /* the source is no longer configured */
		copy = xstrdup(e->path);
		dir = opendir(dirname(copy));
		free(copy);
		if (dir == NULL)
			continue;
		while ((de = readdir(dir)) != NULL) {
			copy = xstrdup(e->path);
			snprintf(path, sizeof path, "%s/%s", dirname(copy),
			    de->d_name);
			free(copy);
			if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)
			    || st.st_dev != (dev_t)e->dev
			    || st.st_ino != (ino_t)e->ino)
				continue;
			/* Its inode, other first bytes: not the file renamed
			 * but a new one that reused the inode (say a
			 * compressed copy); a scan follows it if a glob
			 * matches it. */
			if (!tail_path_matches(path, e->fp_len, e->fp))
				break;
			f = tail_new_file(t, src, path);
			if (tail_open_new(t, f, 0) != 0) {
				tail_free_file(f);
				break;
			}
			log_info("%s: renamed while stopped (was %s); reading "
				 "the rest from offset %llu",
			    path, e->path, (unsigned long long)f->off);
			tail_set_path(f, NULL);
			f->gone_ms = ls_now_ms();
			f->seen = t->gen;
			link_file(t, f);
			break;
		}
		closedir(dir);
	}
}

/*
 * Opens the paths that waited for a descriptor, in the order they were
 * found, until max_open_files stops it again; each goes through
 * scan_path, so one removed, replaced or followed since is treated as a
 * scan would. Only the waiting paths: with 100,000 new files, a full scan
 * per round of max_open_files would cost 100,000 stat(2) calls each time.
 */
static void
retry_waiting(struct ls_tailer *t)
{
	struct waiting *w;

	t->room_full = 0;
	while ((w = t->waiting) != NULL && !t->room_full) {
		if ((t->waiting = w->next) == NULL)
			t->waiting_tail = &t->waiting;
		scan_path(t, w->src, w->path, w->initial);
		free(w->path);
		free(w);
	}
}

/* One pass over every file; comes back through the idle watcher while any
 * file has more than a pass's worth waiting. */
static void
read_all(struct ls_tailer *t)
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
		retry_waiting(t);
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
	read_all(w->data);
}

/* Ships partial last lines and multiline entries that have been idle. */
static void
flush_idle(struct ls_tailer *t)
{
	struct tfile *f;
	int64_t now = ls_now_ms();

	tail_stamp(t);
	for (f = t->files; f != NULL; f = f->next) {
		if (ls_linebuf_pending(&f->lb) > 0
		    && now - f->last_data_ms >= f->src->partial_flush_ms)
			ls_linebuf_flush(&f->lb, tail_line_cb, f);
		if (f->ml.active
		    && now - f->ml.last_ms >= f->src->multiline_flush_ms)
			tail_ml_flush(f);
	}
	tail_flush_pending(t);
}

/* Closes the descriptors of files that no name leads to any more, once
 * they are read to the end and idle; frees what nothing refers to. */
static void
close_idle(struct ls_tailer *t)
{
	struct tfile *f, *next;
	struct stat st;
	int64_t now = ls_now_ms();

	for (f = t->files; f != NULL; f = next) {
		next = f->next;
		if (f->fd != -1 && f->path == NULL) {
			if (fstat(f->fd, &st) == 0) {
				if (st.st_nlink == 0)
					f->deleted = 1;
				/* at_eof is what the last read found: bytes
				 * written since (unread while reading is
				 * paused) mean it is not at its end. */
				if ((uint64_t)st.st_size > f->off)
					f->at_eof = 0;
			}
			if (f->deleted && f->at_eof) {
				tail_close_file(f);
			} else if (f->deleted
			    && now - f->gone_ms
				>= t->conf->close_removed_after_ms) {
				if (f->size_seen > f->off)
					LS_COUNT(t->m->removed_unread_bytes,
					    f->size_seen - f->off);
				log_warnx("(deleted file, was inode %llu): "
					  "closed after close_removed_after "
					  "with %llu bytes unread",
				    (unsigned long long)f->ino,
				    (unsigned long long)(f->size_seen
					- f->off));
				tail_close_file(f);
			} else if (!f->deleted && f->at_eof
			    && now - f->last_data_ms
				>= t->conf->close_inactive_ms) {
				tail_close_file(f);
			}
		}
		/* Closed, and no name leads to it: nothing more can end its
		 * partial last line or the multiline entry being gathered,
		 * so they are shipped now (the struct then waits for them
		 * like for any record in flight). */
		if (f->fd == -1 && f->path == NULL
		    && (ls_linebuf_pending(&f->lb) > 0 || f->ml.active)) {
			tail_stamp(t);
			ls_linebuf_flush(&f->lb, tail_line_cb, f);
			tail_ml_flush(f);
		}
		/* Gone for good, and no record in flight refers to it. */
		if (f->fd == -1 && f->path == NULL && f->inflight == 0
		    && (f->deleted
			|| now - f->gone_ms >= t->conf->close_inactive_ms))
			drop_file(t, f);
	}
	tail_flush_pending(t);
}

/*
 * Each source's backlog age: how long its oldest line not yet done by
 * every destination has waited. Datadog drops logs older than 18 h, so
 * an outage that long loses data at the intake whatever the shipper does:
 * warn past backlog_warn, once each way.
 */
static void
backlog_ages(struct ls_tailer *t)
{
	const struct ls_conf *c = t->conf;
	struct tfile *f;
	int64_t now = ls_now_ms(), at, age;
	size_t s;

	for (s = 0; s < c->nsources; s++) {
		age = 0;
		for (f = t->files; f != NULL; f = f->next) {
			if (f->src != &c->sources[s]
			    || (at = ls_offtrack_oldest(f->track)) < 0)
				continue;
			if (now - at > age)
				age = now - at;
		}
		atomic_store_explicit(
		    &t->m->backlog_ms[s], age, memory_order_relaxed);
		if (age >= c->backlog_warn_ms && !t->backlog_warned[s]) {
			t->backlog_warned[s] = 1;
			log_warnx(
			    "source %s: the oldest line not yet delivered "
			    "was read %lld s ago (Datadog drops logs "
			    "older than 18 h)",
			    c->sources[s].name, (long long)(age / 1000));
		} else if (age < c->backlog_warn_ms && t->backlog_warned[s]) {
			t->backlog_warned[s] = 0;
			log_notice(
			    "source %s: backlog caught up", c->sources[s].name);
		}
	}
}

static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	read_all(t);
	if (!t->paused)
		flush_idle(t);
	close_idle(t);
}

static void
rescan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	scan(t, 0);
	read_all(t);
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
		scan(t, 0);
	} else if (!ev_is_active(&t->rescan_w)) {
		ev_timer_set(&t->rescan_w, (double)(due - now) / 1000.0, 0.);
		ev_timer_start(t->loop, &t->rescan_w);
	}
}

static void
scan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	scan(t, 0);
	read_all(t);
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
				|| ((ev->mask & IN_ATTRIB) && t->nbad > 0))
			    && ls_now_ms() - t->modify_scan_ms >= 1000) {
				t->modify_scan_ms = ls_now_ms();
				need_scan = 1;
			}
			if (!(ev->mask & IN_MODIFY) || ev->len == 0)
				continue;
			for (d = t->dirs; d != NULL && d->wd != ev->wd;
			     d = d->next)
				;
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
		read_all(t);
	} else
		read_named(t, unknown);
	coalesce(t);
}

static void
resume_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ls_tailer *t = w->data;

	if (!t->paused)
		return;
	log_debug("buffer below the low watermark: reading again");
	t->paused = 0;
	ls_metrics_set_paused(t->m, 0, ls_now_ms());
	read_all(t);
}

/* The budget's callback: any thread, so only a wakeup. */
static void
budget_resume_cb(void *arg)
{
	struct ls_tailer *t = arg;

	ev_async_send(t->loop, &t->resume_w);
}

int
ls_tailer_checkpoint(struct ls_tailer *t, int force)
{
	const struct ls_ckpt_entry *old;
	struct ls_ckpt_entry e, *keep = NULL;
	struct waiting *w;
	struct tfile *f;
	size_t i, nkeep = 0, kcap = 0;

	if (t->ckpt == NULL || (!t->dirty && !force))
		return 0;
	/* The files waiting for a descriptor are not followed yet: their
	 * entries are kept as they were, or they would be read again from
	 * 0 (or from their end, with start_at: end) once opened. */
	for (w = t->waiting; w != NULL; w = w->next) {
		if ((old = ls_ckpt_find(t->ckpt, w->src->name, (uint64_t)w->dev,
			 (uint64_t)w->ino))
		    == NULL)
			continue;
		if (nkeep == kcap) {
			kcap = kcap == 0 ? 16 : kcap * 2;
			keep = xreallocarray(keep, kcap, sizeof *keep);
		}
		keep[nkeep] = *old;
		keep[nkeep].source = xstrdup(old->source);
		keep[nkeep].path = xstrdup(old->path);
		nkeep++;
	}
	ls_ckpt_clear(t->ckpt);
	/* Before the files: a followed file's own entry replaces one. */
	for (i = 0; i < nkeep; i++) {
		ls_ckpt_put(t->ckpt, &keep[i]);
		free(keep[i].source);
		free(keep[i].path);
	}
	free(keep);
	for (f = t->files; f != NULL; f = f->next) {
		if (!f->hashed)
			continue;
		tail_refresh_fingerprint(f);
		e.source = (char *)f->src->name;
		/* A renamed file's last name: resume_renamed looks for its
		 * inode in that directory after a restart. */
		e.path = f->path != NULL ? f->path : f->last_path;
		e.dev = (uint64_t)f->dev;
		e.ino = (uint64_t)f->ino;
		e.fp_len = f->fp_len;
		e.fp = f->fp;
		e.offset = ls_offtrack_committed(f->track);
		if (e.path == NULL)
			e.path = "";
		ls_ckpt_put(t->ckpt, &e);
	}
	/* Handed to the writer thread, which counts it; force waits for it
	 * to be written and fsynced (the final one). */
	ls_ckpt_set_fsync_interval(
	    t->ckpt, t->conf->checkpoint_fsync_interval_ms);
	if (ls_ckpt_commit(t->ckpt, force) != 0)
		return -1;
	t->dirty = 0;
	return 0;
}

static void
ckpt_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	/* Spaced further when a checkpoint costs the loop much (checkpoint.h:
	 * ls_ckpt_due). */
	if (ls_ckpt_due(t->ckpt))
		ls_tailer_checkpoint(t, 0);
	backlog_ages(t);
}

void
ls_tailer_ack(struct ls_tailer *t, struct ls_record *r)
{
	struct tfile *f = r->owner;

	if (f == NULL)
		return;
	/* After a truncation the tracker ignores the seqs it forgot. */
	(void)ls_offtrack_done(f->track, r->seq);
	f->inflight--;
	t->dirty = 1;
}

struct ls_tailer *
ls_tailer_new(struct ev_loop *loop, const struct ls_conf *conf,
    struct ls_queue *out, struct ls_ckpt *ckpt, struct ls_metrics *m)
{
	struct ls_tailer *t;
	double ck;

	t = xcalloc(1, sizeof *t);
	t->loop = loop;
	t->conf = conf;
	t->out = out;
	t->ckpt = ckpt;
	t->m = m;
	t->ifd = -1;
	t->waiting_tail = &t->waiting;
	t->hsize = 256;
	t->backlog_warned = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->backlog_warned);
	t->htab = xcalloc(t->hsize, sizeof *t->htab);
	t->psize = 256;
	t->ptab = xcalloc(t->psize, sizeof *t->ptab);
	t->rbuf = xmalloc(READ_CHUNK);
	ls_buf_init(&t->scratch);
	ls_budget_init(&t->budget, conf->max_buffer_bytes, budget_resume_cb, t);
	ev_io_init(&t->inotify_w, inotify_cb, -1, EV_READ);
	ev_timer_init(&t->scan_w, scan_cb, conf->scan_interval_ms / 1000.0,
	    conf->scan_interval_ms / 1000.0);
	ev_timer_init(&t->poll_w, poll_cb, conf->poll_interval_ms / 1000.0,
	    conf->poll_interval_ms / 1000.0);
	ck = conf->checkpoint_interval_ms / 1000.0;
	ev_timer_init(&t->ckpt_w, ckpt_cb, ck, ck);
	ev_idle_init(&t->more_w, more_cb);
	ev_init(&t->rescan_w, rescan_cb);
	t->rescan_w.data = t;
	ev_async_init(&t->resume_w, resume_async_cb);
	ev_init(&t->coalesce_w, coalesce_cb);
	t->coalesce_w.data = t;
	t->inotify_w.data = t->scan_w.data = t->poll_w.data = t;
	t->ckpt_w.data = t->more_w.data = t->resume_w.data = t;
	return t;
}

struct ls_budget *
ls_tailer_budget(struct ls_tailer *t)
{
	return &t->budget;
}

int
ls_tailer_start(struct ls_tailer *t)
{
	if ((t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("inotify_init1 (polling every %lld ms instead; if "
			 "the limit was reached, raise "
			 "fs.inotify.max_user_instances)",
		    (long long)t->conf->poll_interval_ms);
	resume_renamed(t, 1);
	scan(t, 1);
	resume_renamed(t, 0);
	if (t->ifd != -1) {
		ev_io_set(&t->inotify_w, t->ifd, EV_READ);
		ev_io_start(t->loop, &t->inotify_w);
	}
	ev_timer_start(t->loop, &t->scan_w);
	ev_timer_start(t->loop, &t->poll_w);
	ev_timer_start(t->loop, &t->ckpt_w);
	ev_async_start(t->loop, &t->resume_w);
	/* The first reads happen in the loop, not before start returns. */
	ev_idle_start(t->loop, &t->more_w);
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
	ev_io_stop(t->loop, &t->inotify_w);
	ev_timer_stop(t->loop, &t->scan_w);
	ev_timer_stop(t->loop, &t->poll_w);
	ev_timer_stop(t->loop, &t->rescan_w);
	ev_timer_stop(t->loop, &t->coalesce_w);
	ev_idle_stop(t->loop, &t->more_w);
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
	d->src.max_line_bytes = src->max_line_bytes;
	d->src.partial_flush_ms = src->partial_flush_ms;
	d->src.multiline_flush_ms = src->multiline_flush_ms;
	d->next = t->detached;
	t->detached = d;
	return &d->src;
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
ls_tailer_reload(struct ls_tailer *t, const struct ls_conf *conf)
{
	const struct ls_conf_source *src;
	struct tfile *f;
	size_t removed = 0;

	tail_stamp(t); /* for the entries a removed source's files still ship */
	/* Their sources are the old configuration's: the scan below finds
	 * them again. */
	free_waiting(t);
	for (f = t->files; f != NULL; f = f->next) {
		if ((src = source_named(conf, f->src->name)) != NULL) {
			/* Gathered by a pattern the source no longer has: the
			 * lines read from now on are records at once, so the
			 * entry goes first (offsets only go forward). */
			if (f->ml.active && src->multiline_re == NULL)
				tail_ml_flush(f);
			f->src = src;
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
		removed++;
	}
	tail_flush_pending(t);
	t->conf = conf;
	t->src_hint = 0;
	free(t->backlog_warned);
	t->backlog_warned = xcalloc(
	    conf->nsources ? conf->nsources : 1, sizeof *t->backlog_warned);
	restart_timer(t, &t->scan_w, conf->scan_interval_ms);
	restart_timer(t, &t->poll_w, conf->poll_interval_ms);
	restart_timer(t, &t->ckpt_w, conf->checkpoint_interval_ms);
	if (removed > 0)
		log_notice(
		    "%zu files of removed sources: no longer read", removed);
	/* New sources and new paths: look now, not at the next scan. */
	if (t->started && !t->stopped) {
		scan(t, 0);
		read_all(t);
	}
}

void
ls_tailer_free(struct ls_tailer *t)
{
	struct detached *d;
	struct tfile *f;
	struct wdir *w;

	if (t == NULL)
		return;
	ls_tailer_stop(t);
	ev_timer_stop(t->loop, &t->ckpt_w);
	while ((f = t->files) != NULL) {
		t->files = f->next;
		tail_free_file(f);
	}
	while ((w = t->dirs) != NULL) {
		t->dirs = w->next;
		free(w->path);
		free(w);
	}
	t->gen++; /* every bad path is now unseen */
	bad_sweep(t);
	free(t->bad);
	free_waiting(t);
	if (t->ifd != -1)
		close(t->ifd);
	ls_buf_cleanup(&t->scratch);
	free(t->htab);
	free(t->ptab);
	free(t->backlog_warned);
	free(t->rbuf);
	while ((d = t->detached) != NULL) {
		t->detached = d->next;
		free(d->src.name);
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
