/*
 * tail_file: one followed file: opening it (at the offset the checkpoint
 * or start_at says; only a regular file, the one that was matched, never
 * through a link the source does not follow), its fingerprint, reading it
 * in slices under the memory budget, noticing that it was truncated (then
 * tail_copy.c takes over), and closing and freeing it.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "ctx.h"
#include "labels.h"
#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "offtrack.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* Takes the read time of the records about to be made: once per read,
 * not once per line. */
void
tail_stamp(struct ls_tailer *t)
{
	t->now_wall_ms = ls_wall_ms();
	t->now_ms = ls_now_ms();
}

/* Positions a new struct's reading at off. */
static void
start_at(struct tfile *f, uint64_t off)
{
	f->off = off;
	f->size_seen = off;
	ls_linebuf_reset(&f->lb, off);
}

/* Takes f's descriptor off the list of open files, leaving it open. */
int
tail_detach_fd(struct tfile *f)
{
	int fd = f->fd;

	if (fd == -1)
		return -1;
	f->fd = -1;
	if (f->oprev != NULL)
		f->oprev->onext = f->onext;
	else
		f->t->open_files = f->onext;
	if (f->onext != NULL)
		f->onext->oprev = f->oprev;
	f->onext = f->oprev = NULL;
	f->t->nopen--;
	atomic_fetch_sub_explicit(
	    &f->t->m->files_open, 1, memory_order_relaxed);
	return fd;
}

void
tail_attach_fd(struct ls_tailer *t, struct tfile *f, int fd)
{
	f->fd = fd;
	f->oprev = NULL;
	f->onext = t->open_files;
	if (t->open_files != NULL)
		t->open_files->oprev = f;
	t->open_files = f;
	t->nopen++;
	LS_COUNT(t->m->files_open, 1);
}

void
tail_close_file(struct tfile *f)
{
	int fd;

	if ((fd = tail_detach_fd(f)) != -1)
		close(fd);
}

/*
 * At the end of the bytes: was the file truncated under us? Then its
 * previous life goes on reading the copy, if copytruncate left one, and
 * the truncated file is read from 0 by a new struct (tail_copy.c). A copy
 * is never truncated: nothing writes it, and it is shorter than the
 * offset when the lines read last were written after it was made.
 */
static int
check_truncated(struct ls_tailer *t, struct tfile *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == -1)
		return 0;
	f->ctim = st.st_ctim;
	if ((uint64_t)st.st_size >= f->off || f->copy) {
		if ((uint64_t)st.st_size > f->size_seen)
			f->size_seen = (uint64_t)st.st_size;
		return 0;
	}
	tail_truncated(t, f, &st);
	return 1;
}

/*
 * The poll's look at an open file, paused or not: a truncation is seen by
 * a read that finds nothing, which neither happens while reading is
 * paused nor after the file was written again past the offset before the
 * next read. So: shorter than the offset is a truncation; and a file that
 * changed since the last look (its status change time) whose first bytes
 * are no longer the fingerprinted ones was truncated and rewritten. Either
 * way its previous life goes on with the copy, and the file is read anew
 * from 0 (tail_truncated): lines read wrongly as a continuation, if any,
 * come again (duplicates), none is lost.
 */
void
tail_check_rewritten(struct ls_tailer *t, struct tfile *f)
{
	struct stat st;

	if (f->fd == -1 || f->copy || fstat(f->fd, &st) == -1)
		return;
	if ((uint64_t)st.st_size < f->off) {
		tail_truncated(t, f, &st);
		return;
	}
	if (st.st_ctim.tv_sec == f->fp_ctim.tv_sec
	    && st.st_ctim.tv_nsec == f->fp_ctim.tv_nsec)
		return;
	f->fp_ctim = st.st_ctim;
	if (f->fp_len > 0 && f->off > 0
	    && ls_fingerprint_matches(f->fd, f->fp_len, f->fp) == 0)
		tail_truncated(t, f, &st);
}

/* Reads up to limit bytes. Returns 1 if more may be waiting, else 0. */
int
tail_read_file(struct ls_tailer *t, struct tfile *f, size_t limit)
{
	size_t total = 0;
	ssize_t n;
	int more = 0;

	if (f->fd == -1)
		return 0;
	tail_stamp(t);
	while (total < limit) {
		if (ls_budget_should_pause(t->budget)) {
			t->paused = 1;
			ls_metrics_set_paused(t->m, 1, ls_now_ms());
			break;
		}
		n = read(f->fd, t->rbuf, READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* Once per error, not at every pass over the file. */
			if (errno != f->rerr)
				log_warn("%s: read",
				    f->path ? f->path : "(rotated)");
			f->rerr = errno;
			break;
		}
		f->rerr = 0;
		if (n == 0) {
			/* f reads the copy now, if there is one; the
			 * truncated file is another struct's. */
			if (check_truncated(t, f)) {
				more = 1;
				if (f->fd != -1)
					continue;
			} else
				f->at_eof = 1;
			break;
		}
		f->at_eof = 0;
		LS_COUNT(t->m->bytes_read, (uint64_t)n);
		LS_COUNT(t->m->source_bytes[tail_source_index(t, f->src)],
		    (uint64_t)n);
		ls_linebuf_feed(&f->lb, t->rbuf, (size_t)n, tail_line_cb, f);
		f->off += (uint64_t)n;
		if (f->off > f->size_seen)
			f->size_seen = f->off;
		f->last_data_ms = ls_now_ms();
		total += (size_t)n;
		/* A short read of a regular file is its end for now. More
		 * writes bring another event (or the poll finds them), so
		 * reading on to be told 0 would cost a read and an fstat per
		 * file and wakeup: half the syscalls of a slowly growing
		 * file. A truncation is seen at the next read that finds
		 * nothing. */
		if ((size_t)n < READ_CHUNK) {
			f->at_eof = 1;
			break;
		}
	}
	/* A young file's fingerprint grows with it, up to FP_BYTES: a
	 * copytruncate copy is recognised by it (read_copy). */
	if (total > 0 && f->fp_len < FP_BYTES)
		tail_refresh_fingerprint(f);
	if (f->copy && f->at_eof && f->path == NULL)
		tail_copy_done(t, f);
	/* The records stay pending: the caller pushes them once for every
	 * file it read in this pass (tail_flush_pending). A truncation made
	 * a struct that this pass has not read (more). */
	return more || total >= limit;
}

/* Takes or refreshes the fingerprint while it covers fewer than
 * FP_BYTES. */
void
tail_refresh_fingerprint(struct tfile *f)
{
	if (f->fd == -1 || f->fp_len >= FP_BYTES)
		return;
	if (ls_fingerprint(f->fd, &f->fp_len, &f->fp) == -1)
		f->fp_len = 0;
}

/*
 * Where to start reading a file just opened: its committed offset from the
 * checkpoint if the checkpoint knows it (and its first bytes are the ones
 * fingerprinted then), else 0, or its end for start_at: end at startup.
 */
static uint64_t
start_offset(struct ls_tailer *t, struct tfile *f, const struct stat *st,
    int initial, const struct ls_ckpt_entry **before)
{
	const struct ls_ckpt_entry *e;

	*before = NULL;
	e = t->ckpt ? ls_ckpt_find(t->ckpt, f->src->name, (uint64_t)st->st_dev,
		(uint64_t)st->st_ino)
		    : NULL;
	if (e != NULL) {
		if (e->fp_len > 0
		    && ls_fingerprint_matches(f->fd, e->fp_len, e->fp) != 1) {
			LS_COUNT(t->m->inode_reuse, 1);
			log_notice("%s: same inode, other contents (inode "
				   "reused, or copytruncate while stopped): "
				   "reading from the start",
			    f->path);
			*before = e;
			return 0;
		}
		if (e->offset > (uint64_t)st->st_size) {
			LS_COUNT(t->m->truncations, 1);
			log_notice("%s: shorter than its checkpoint (truncated "
				   "while stopped): reading from the start",
			    f->path);
			*before = e;
			return 0;
		}
		return e->offset;
	}
	if (initial && f->src->start_at == LS_START_END)
		return (uint64_t)st->st_size;
	return 0;
}

/*
 * Opens a log file to read. O_NOATIME where the kernel allows it (the
 * file is ours, or we have CAP_FOWNER, as root has): a file being written
 * has its mtime ahead of its atime, so with relatime every read(2) would
 * otherwise write the inode's atime, a journalled update that was a
 * seventh of the daemon's CPU with 1,000 files written slowly. Reading
 * logs should not change them, atime included.
 *
 * O_NOFOLLOW unless the source follows links: the users who write the log
 * directories could otherwise swap a link in between the scan's lstat and
 * the open. O_NONBLOCK: a FIFO swapped in does not block the open.
 */
int
tail_open_log(const char *path, int follow)
{
	int fd, flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;

	if (!follow)
		flags |= O_NOFOLLOW;
	fd = open(path, flags | O_NOATIME);
	if (fd == -1 && errno == EPERM)
		fd = open(path, flags);
	return fd;
}

int
tail_path_matches(const char *path, int follow, uint32_t fp_len, uint64_t fp)
{
	int fd, same;

	if ((fd = tail_open_log(path, follow)) == -1)
		return 0;
	same = ls_fingerprint_matches(fd, fp_len, fp) == 1;
	close(fd);
	return same;
}

static int
is_pseudo(const struct statfs *sf)
{
	switch ((unsigned long)sf->f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
		return 1;
	default:
		return 0;
	}
}

int
tail_pseudo_fs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && is_pseudo(&sf);
}

int
tail_pseudo_fd(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && is_pseudo(&sf);
}

/*
 * Opens f->path as f's descriptor. 0, or -1. When f's identity is known
 * (what the scan matched, or the file it was), the file opened must be
 * that one: a link or another file swapped in since is not read.
 */
static int
open_fd(struct ls_tailer *t, struct tfile *f, struct stat *st)
{
	int fd;

	if (tail_make_room(t) != 0)
		return -1;
	if ((fd = tail_open_log(f->path, f->src->follow_symlinks)) == -1) {
		tail_bad_path(t, f->path, errno == ELOOP ? BAD_LINK : errno,
		    errno == ELOOP ? NULL : "open");
		return -1;
	}
	if (fstat(fd, st) == -1) {
		tail_bad_path(t, f->path, errno, "fstat");
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		/* Replaced since the scan's stat. */
		tail_bad_path(t, f->path, -(int)(st->st_mode & S_IFMT), NULL);
		close(fd);
		return -1;
	}
	if (tail_pseudo_fd(fd)) {
		tail_bad_path(t, f->path, BAD_PSEUDO, NULL);
		close(fd);
		return -1;
	}
	if (f->ino != 0 && (st->st_dev != f->dev || st->st_ino != f->ino)) {
		/* Another file since it was matched (a rotation, or a swap):
		 * the next scan looks again. */
		log_debug("%s: another file since it was matched", f->path);
		close(fd);
		return -1;
	}
	tail_attach_fd(t, f, fd);
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->ctim = st->st_ctim;
	f->at_eof = 0;
	f->last_data_ms = ls_now_ms();
	return 0;
}

/* Opens a file seen for the first time and positions it where the
 * checkpoint (or start_at) says. 0, or -1. */
int
tail_open_new(struct ls_tailer *t, struct tfile *f, int initial)
{
	const struct ls_ckpt_entry *before;
	struct stat st;
	uint64_t off;

	if (open_fd(t, f, &st) != 0)
		return -1;
	tail_refresh_fingerprint(f);
	off = start_offset(t, f, &st, initial, &before);
	if (off > 0 && lseek(f->fd, (off_t)off, SEEK_SET) == -1) {
		log_warn("%s: lseek", f->path);
		off = 0;
	}
	/* Truncated or rewritten while we were stopped: logrotate's
	 * copytruncate leaves what we had not read in a copy beside it,
	 * followed from the checkpoint's offset as the rest of the file's
	 * previous life. */
	if (before != NULL)
		tail_copy_at_start(t, f, before);
	f->track = ls_offtrack_new(off);
	start_at(f, off);
	return 0;
}

/* Opens again a file closed to make room: everything it held (a partial
 * line, a multiline entry, records in flight) is still there, and reading
 * goes on from where it stopped. 0, or -1. */
int
tail_reopen(struct ls_tailer *t, struct tfile *f)
{
	struct stat st;

	if (open_fd(t, f, &st) != 0)
		return -1;
	if (lseek(f->fd, (off_t)f->off, SEEK_SET) == -1) {
		log_warn("%s: lseek", f->path);
		tail_close_file(f);
		return -1;
	}
	tail_refresh_fingerprint(f);
	return 0;
}

struct tfile *
tail_new_file(
    struct ls_tailer *t, const struct ls_conf_source *src, const char *path)
{
	struct tfile *f;

	f = xcalloc(1, sizeof *f);
	f->origin.ops = &tail_origin_ops;
	f->t = t;
	f->src = src;
	f->labels = tail_file_labels(src, path);
	tail_set_path(f, path);
	f->fd = -1;
	ls_linebuf_init(&f->lb, src->max_line_bytes, 0);
	ls_buf_init(&f->ml.buf);
	return f;
}

/* Keeps f's labels, which its records in flight borrow, until f is
 * freed; f->labels is then the caller's to set. */
void
tail_retire_labels(struct tfile *f)
{
	f->old_labels = xreallocarray(
	    f->old_labels, f->nold_labels + 1, sizeof *f->old_labels);
	f->old_labels[f->nold_labels++] = f->labels;
	f->labels = NULL;
}

void
tail_free_file(struct tfile *f)
{
	size_t i;
	struct tfile **pp;

	if (f->dirty) /* named while reading was paused */
		for (pp = &f->t->named; *pp != NULL; pp = &(*pp)->dnext)
			if (*pp == f) {
				*pp = f->dnext;
				break;
			}
	tail_close_file(f);
	tail_id_remove(f->t, f);
	ls_linebuf_cleanup(&f->lb);
	ls_buf_cleanup(&f->ml.buf);
	ls_offtrack_free(f->track);
	ls_labels_unref(f->labels);
	for (i = 0; i < f->nold_labels; i++)
		ls_labels_unref(f->old_labels[i]);
	free(f->old_labels);
	tail_set_path(f, NULL);
	free(f->last_path);
	free(f);
}
