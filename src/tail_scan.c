/*
 * tail_scan: discovery. The sources' globs are expanded at start, on the
 * scan timer and when inotify says a directory changed; every path they
 * match is checked (a link is followed only where the source asks, only
 * regular files are read) and found again by identity or followed anew.
 * A file is known by its identity, (device, inode), not by its name: when
 * a scan finds a name now belonging to another inode (rotation by rename,
 * then create), the old file loses its name but keeps its descriptor, and
 * the new one is read from its start. Files rotated while logshipd was
 * stopped are found by inode from their checkpoint entries.
 *
 * The descriptor limit (max_open_files) is kept here too: a file is
 * closed to make room (a deleted one first, then the longest idle), and
 * paths that find no descriptor wait in order until one frees up.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "log.h"
#include "status_metrics.h"
#include "tailer_impl.h"
#include "xmalloc.h"

static void scan_path(
    struct ls_tailer *, const struct ls_conf_source *, const char *, int);

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

void
tail_free_waiting(struct ls_tailer *t)
{
	struct waiting *w;

	while ((w = t->waiting) != NULL) {
		t->waiting = w->next;
		free(w->path);
		free(w);
	}
	t->waiting_tail = &t->waiting;
}

/*
 * Opens the paths that waited for a descriptor, in the order they were
 * found, until max_open_files stops it again; each goes through
 * scan_path, so one removed, replaced or followed since is treated as a
 * scan would. Only the waiting paths: with 100,000 new files, a full scan
 * per round of max_open_files would cost 100,000 stat(2) calls each time.
 */
void
tail_retry_waiting(struct ls_tailer *t)
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

void
tail_link_file(struct ls_tailer *t, struct tfile *f)
{
	f->next = t->files;
	t->files = f;
	t->nfiles++;
	tail_id_insert(t, f);
	t->dirty = 1;
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
	/* The file matched: open_fd reads it only if it opens the same. */
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	if (tail_open_new(t, f, initial) != 0) {
		tail_free_file(f);
		if (t->room_full)
			wait_room(t, src, path, initial, st);
		return;
	}
	f->seen = t->gen;
	tail_link_file(t, f);
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
	f->copy = 0; /* a copy a glob matches is followed as any file */
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
	return f->fp_len == 0
	    || tail_path_matches(
		path, f->src->follow_symlinks, f->fp_len, f->fp);
}

/*
 * path, matched by one of src's patterns, is a symbolic link. The users
 * who write log directories are not trusted with what logshipd, reading
 * with more privilege, reads: a link is followed only where the source
 * asks (follow_symlinks), to a file under the directories of the source's
 * own patterns, and never into procfs, sysfs and the like. 0 with *st the
 * target's status; or -1, reported.
 */
static int
follow_link(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, struct stat *st)
{
	char real[PATH_MAX], rbase[PATH_MAX], *base;
	size_t i;
	int inside = 0;

	if (!src->follow_symlinks) {
		tail_bad_path(t, path, BAD_LINK, NULL);
		return -1;
	}
	if (realpath(path, real) == NULL || stat(real, st) == -1) {
		tail_bad_path(
		    t, path, errno == ENOENT ? BAD_DANGLING : errno, NULL);
		return -1;
	}
	for (i = 0; i < src->npaths && !inside; i++) {
		base = tail_pattern_base(src->paths[i]);
		inside = realpath(base, rbase) != NULL
		    && tail_is_under(real, rbase);
		free(base);
	}
	if (!inside) {
		tail_bad_path(t, path, BAD_LINK_OUT, NULL);
		return -1;
	}
	if (tail_pseudo_fs(real)) {
		tail_bad_path(t, path, BAD_PSEUDO, NULL);
		return -1;
	}
	return 0;
}

static void
scan_path(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial)
{
	struct tfile *f;
	struct stat st;
	int e;

	/* Gone since the glob (a rotation) is nothing to report. */
	if (lstat(path, &st) == -1) {
		if ((e = errno) != ENOENT)
			tail_bad_path(t, path, e, NULL);
		return;
	}
	if (S_ISLNK(st.st_mode) && follow_link(t, src, path, &st) != 0)
		return;
	/* Never opened, so never read: a FIFO would block, /dev/zero never
	 * ends. */
	if (!S_ISREG(st.st_mode)) {
		tail_bad_path(t, path, -(int)(st.st_mode & S_IFMT), NULL);
		return;
	}
	tail_watch_parent(t, path);
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
/* What one pattern of a scan matches. */
struct scan_arg {
	const struct ls_conf_source *src;
	const char *pattern;
	int initial;
};

static void
matched_cb(struct ls_tailer *t, const char *path, void *arg)
{
	const struct scan_arg *a = arg;

	if (!tail_glob_skip(t, a->src, a->pattern, path))
		scan_path(t, a->src, path, a->initial);
}

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

void
tail_scan(struct ls_tailer *t, int initial)
{
	struct scan_arg a;
	size_t s, p;
	int64_t t0;

	t0 = ls_now_ms();
	t->gen++;
	/* The scan finds again whatever still waits for a descriptor. */
	tail_free_waiting(t);
	t->room_full = 0;
	a.initial = initial;
	for (s = 0; s < t->conf->nsources; s++) {
		a.src = &t->conf->sources[s];
		for (p = 0; p < a.src->npaths; p++) {
			a.pattern = a.src->paths[p];
			tail_glob_each(t, a.pattern, matched_cb, &a);
		}
	}
	lost_names(t);
	tail_bad_sweep(t);
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
void
tail_resume_renamed(struct ls_tailer *t, int renamed)
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
		if ((lstat(e->path, &st) == 0 && st.st_dev == (dev_t)e->dev
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
			if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode)
			    || st.st_dev != (dev_t)e->dev
			    || st.st_ino != (ino_t)e->ino)
				continue;
			/* Its inode, other first bytes: not the file renamed
			 * but a new one that reused the inode (say a
			 * compressed copy); a scan follows it if a glob
			 * matches it. */
			if (!tail_path_matches(path, 0, e->fp_len, e->fp))
				break;
			f = tail_new_file(t, src, path);
			f->dev = st.st_dev;
			f->ino = st.st_ino;
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
			tail_link_file(t, f);
			break;
		}
		closedir(dir);
	}
}

/* Is a the better file to close to make room: deleted before named, then
 * the longest idle? */
static int
better_victim(const struct tfile *a, const struct tfile *b)
{
	if (b == NULL)
		return 1;
	if ((a->path == NULL) != (b->path == NULL))
		return a->path == NULL;
	return a->last_data_ms < b->last_data_ms;
}

/*
 * Makes room for one more descriptor under max_open_files, closing a file
 * that was read to its end: a deleted one first, else the longest idle. A
 * closed file that still has its name is opened again when a scan sees it
 * change. 0, or -1 if none can be closed: then nothing is read during the
 * scan, so the rest of it opens nothing either (100,000 new files would
 * otherwise cost 100,000 walks of the open files), and once the open files
 * are read to their end, read_all scans again.
 */
int
tail_make_room(struct ls_tailer *t)
{
	struct tfile *f, *victim = NULL;

	if (t->nopen < t->conf->max_open_files)
		return 0;
	if (t->room_full)
		return -1;
	/* Not one renamed away and still linked: nothing could open it
	 * again when it grows (no scan finds it under a name), and its
	 * writer may not have reopened its log yet. close_idle closes it
	 * once idle for close_inactive. */
	for (f = t->open_files; f != NULL; f = f->onext)
		if (f->at_eof && (f->path != NULL || f->deleted)
		    && better_victim(f, victim))
			victim = f;
	if (victim == NULL) {
		t->room_full = 1;
		LS_COUNT(t->m->open_files_limited, 1);
		if (!t->limit_warned++)
			log_warnx("max_open_files (%zu) reached: new files "
				  "wait until descriptors free up",
			    t->conf->max_open_files);
		return -1;
	}
	tail_close_file(victim);
	return 0;
}
