/*
 * tail_copy: copytruncate, for the tailer (see tailer_impl.h).
 *
 * logrotate's copytruncate copies a log file (app.log to app.log.1), then
 * truncates it in place: the inode the tailer follows is suddenly shorter
 * than its read offset, and whatever had been written after the tailer's
 * last read and before the copy is only in the copy.
 *
 * A copy is a followed file like any other. At a truncation the file's
 * struct, with its offset tracker and the records in flight that point to
 * it, goes on as its previous life, now reading the copy: its identity
 * becomes the copy's (device, inode; its fingerprint, of the same first
 * bytes, stays), so its checkpoint entry names the copy, and after a
 * restart the copy is found again like any renamed file. It reads on from
 * the offset it had reached, in slices under the memory budget like every
 * file (read_all), and once read to its end and delivered it is forgotten
 * (close_idle). A new struct takes the truncated file's descriptor, name
 * and identity, and reads it from 0 with a tracker of its own.
 *
 *	before:  f  { app.log, inode X, offset N, tracker with records }
 *	after:   f  { (app.log.1), inode Y, offset N, the same tracker }
 *	         g  { app.log, inode X, offset 0, a new tracker }
 *
 * So nothing read but not yet delivered is forgotten: an intake outage,
 * a copytruncate and a restart lose no line. Without a copy (the file was
 * truncated by hand, or the copy is not beside it) the previous life has
 * nothing more to read: what it held is shipped, it leaves the identity
 * table (the new life is inode X now) and is freed once delivered.
 *
 * The same at start: a file whose checkpoint entry no longer matches it
 * (shorter than the offset, or other first bytes) was truncated while
 * logshipd was stopped, and its copy is followed from the entry's offset.
 *
 * The copy is looked for beside the file: a regular file (links are not
 * followed), not followed already, without a checkpoint entry of its own,
 * whose first bytes are the ones fingerprinted; the newest if several.
 * What was written between the copy and the truncate, and not read in
 * between, is in no file at all: that window is copytruncate's own, and
 * why the README advises against it.
 *
 * Main thread only, like the rest of the tailer.
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "labels.h"
#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "offtrack.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/*
 * The copy of the file called name whose first fp_len bytes hash to fp,
 * into best: 1, or 0 if there is none. f (the file itself) is never its
 * own copy.
 */
static int
find_copy(struct ls_tailer *t, const struct tfile *f, const char *name,
    uint64_t fp, uint32_t fp_len, char *best, size_t bestsize)
{
	struct dirent *de;
	struct stat st;
	char *dir, path[PATH_MAX];
	time_t best_mtime = 0;
	DIR *d;
	int found = 0;

	if (fp_len == 0)
		return 0;
	dir = xstrdup(name);
	if ((d = opendir(dirname(dir))) == NULL) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name)
		    >= (int)sizeof path)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)
			== -1
		    || !S_ISREG(st.st_mode)
		    || (st.st_dev == f->dev && st.st_ino == f->ino)
		    || tail_id_find(t, st.st_dev, st.st_ino) != NULL
		    || (t->ckpt != NULL
			&& ls_ckpt_find(t->ckpt, f->src->name,
			       (uint64_t)st.st_dev, (uint64_t)st.st_ino)
			    != NULL)
		    || (found && st.st_mtime < best_mtime))
			continue;
		if (tail_path_matches(path, 0, fp_len, fp)) {
			snprintf(best, bestsize, "%s", path);
			best_mtime = st.st_mtime;
			found = 1;
		}
	}
	closedir(d);
	free(dir);
	return found;
}

/* Opens the copy at path: its descriptor (st: its status), or -1. */
static int
open_copy(const char *path, struct stat *st)
{
	int fd;

	if ((fd = tail_open_log(path, 0)) == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)
	    || tail_pseudo_fd(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* f, its descriptor already let go of, reads the copy at path (fd, st)
 * from its offset on. */
static void
follow_copy(struct ls_tailer *t, struct tfile *f, int fd, const struct stat *st,
    const char *path)
{
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->ctim = st->st_ctim;
	f->copy = 1;
	f->deleted = 0;
	f->at_eof = 0;
	f->rerr = 0;
	f->gone_ms = ls_now_ms();
	f->last_data_ms = f->gone_ms;
	free(f->last_path);
	f->last_path = xstrdup(path);
	if (lseek(fd, (off_t)f->off, SEEK_SET) == -1)
		log_warn("%s: lseek", path);
	tail_attach_fd(t, f, fd);
	t->dirty = 1;
}

/* A new struct for f's file's new life after a truncation (st: its
 * status): f's name, descriptor and identity, read from 0. */
static struct tfile *
new_life(struct ls_tailer *t, struct tfile *f, const struct stat *st)
{
	struct tfile *g;
	int fd;

	g = tail_new_file(t, f->src, f->path);
	if (f->path != NULL)
		tail_set_path(f, NULL); /* f->last_path is that name now */
	else if (f->last_path != NULL) {
		g->last_path = xstrdup(f->last_path);
		g->gone_ms = f->gone_ms;
	}
	fd = tail_detach_fd(f);
	g->dev = f->dev;
	g->ino = f->ino;
	g->ctim = st->st_ctim;
	g->deleted = f->deleted;
	g->seen = f->seen;
	g->last_data_ms = ls_now_ms();
	g->track = ls_offtrack_new(0);
	tail_id_remove(t, f);
	tail_link_file(t, g);
	if (lseek(fd, 0, SEEK_SET) == -1) {
		log_warn("%s: lseek", g->path != NULL ? g->path : "(rotated)");
		close(fd);
		return g;
	}
	tail_attach_fd(t, g, fd);
	tail_refresh_fingerprint(g);
	return g;
}

void
tail_truncated(struct ls_tailer *t, struct tfile *f, const struct stat *st)
{
	const char *name = f->path != NULL ? f->path : f->last_path;
	char copy[PATH_MAX];
	struct stat cst;
	int fd = -1;

	LS_COUNT(t->m->truncations, 1);
	log_notice("%s: truncated (size %lld, offset %llu%s); reading from "
		   "the start",
	    name != NULL ? name : "(rotated)", (long long)st->st_size,
	    (unsigned long long)f->off,
	    (uint64_t)st->st_size >= f->off ? ", other first bytes" : "");
	if (name != NULL
	    && find_copy(t, f, name, f->fp, f->fp_len, copy, sizeof copy))
		fd = open_copy(copy, &cst);
	if (fd != -1)
		log_info("%s: truncated; its copy is %s", name, copy);
	new_life(t, f, st);
	if (fd != -1) {
		follow_copy(t, f, fd, &cst, copy);
		tail_id_insert(t, f);
		return;
	}
	LS_COUNT(t->m->truncations_no_copy, 1);
	if (f->size_seen > f->off)
		LS_COUNT(t->m->suspected_loss_bytes, f->size_seen - f->off);
	/* Nothing holds the rest of its previous life: what it had read is
	 * shipped (a partial last line too), and once delivered it is
	 * forgotten (close_idle). Seen as deleted, it is never found
	 * again: its inode is the new life's. */
	tail_stamp(t);
	ls_linebuf_flush(&f->lb, tail_line_cb, f);
	tail_ml_flush(f);
	f->deleted = 1;
	t->dirty = 1;
}

void
tail_copy_at_start(
    struct ls_tailer *t, struct tfile *f, const struct ls_ckpt_entry *before)
{
	struct tfile *c;
	struct stat st;
	char copy[PATH_MAX];
	int fd;

	if (f->path == NULL
	    || !find_copy(
		t, f, f->path, before->fp, before->fp_len, copy, sizeof copy)
	    || (fd = open_copy(copy, &st)) == -1)
		return;
	log_info("%s: truncated; its copy is %s", f->path, copy);
	c = tail_new_file(t, f->src, NULL);
	/* The lines of the file's previous life: its name's labels. */
	ls_labels_unref(c->labels);
	c->labels = f->labels;
	ls_labels_ref(c->labels);
	c->fp = before->fp;
	c->fp_len = before->fp_len;
	c->off = c->size_seen = before->offset;
	ls_linebuf_reset(&c->lb, before->offset);
	c->track = ls_offtrack_new(before->offset);
	c->seen = t->gen;
	follow_copy(t, c, fd, &st, copy);
	tail_link_file(t, c);
}

void
tail_copy_done(struct ls_tailer *t, struct tfile *f)
{
	/* The copy ends where the truncation cut a line, if it did: the
	 * partial line held is that line. */
	tail_stamp(t);
	ls_linebuf_flush(&f->lb, tail_line_cb, f);
	tail_ml_flush(f);
	tail_close_file(f);
	log_info("%s: copy read to its end (offset %llu)",
	    f->last_path != NULL ? f->last_path : "(copy)",
	    (unsigned long long)f->off);
}
