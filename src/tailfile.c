/*
 * tailfile: one followed file, for tailer.c (see tailer.h, and
 * tailer_impl.h for the structs): its identity in the table of (device,
 * inode), its name in the path index, opening it (at the offset the
 * checkpoint or start_at says, within max_open_files) and its fingerprint,
 * reading it in slices, making records of its lines (multiline entries
 * joined) and pushing them to the ingest queue in batches, and closing and
 * freeing it. Which files there are, and when each is read, is tailer.c's.
 * Main thread only, like the rest of the tailer.
 *
 * A file smaller than its read offset was truncated (copytruncate): the
 * struct goes on as the copy's follower and a new one reads the file from
 * 0 (tailcopy.c).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "checkpoint.h"
#include "ctx.h"
#include "linebuf.h"
#include "log.h"
#include "offtrack.h"
#include "severity.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* The fingerprint covers this many first bytes, once they exist. */
#define FP_BYTES 1024

/* Takes the read time of the records about to be made: once per read,
 * not once per line. */
void
tail_stamp(struct ls_tailer *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->now_wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	t->now_ms = ls_now_ms();
}

/* The identity table: (device, inode) to file, chained. */
static size_t
id_hash(const struct ls_tailer *t, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (t->hsize - 1);
}

struct tfile *
tail_id_find(struct ls_tailer *t, dev_t dev, ino_t ino)
{
	struct tfile *f;

	for (f = t->htab[id_hash(t, dev, ino)]; f != NULL; f = f->hnext)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

void
tail_id_insert(struct ls_tailer *t, struct tfile *f)
{
	struct tfile **old, *g;
	size_t i, oldsize, h;

	if (t->nfiles >= t->hsize) {
		old = t->htab;
		oldsize = t->hsize;
		t->hsize *= 2;
		t->htab = xcalloc(t->hsize, sizeof *t->htab);
		for (i = 0; i < oldsize; i++) {
			while ((g = old[i]) != NULL) {
				old[i] = g->hnext;
				h = id_hash(t, g->dev, g->ino);
				g->hnext = t->htab[h];
				t->htab[h] = g;
			}
		}
		free(old);
	}
	h = id_hash(t, f->dev, f->ino);
	f->hnext = t->htab[h];
	t->htab[h] = f;
	f->hashed = 1;
}

void
tail_id_remove(struct ls_tailer *t, struct tfile *f)
{
	struct tfile **fp;

	if (!f->hashed)
		return;
	for (fp = &t->htab[id_hash(t, f->dev, f->ino)]; *fp != NULL;
	     fp = &(*fp)->hnext) {
		if (*fp == f) {
			*fp = f->hnext;
			break;
		}
	}
	f->hashed = 0;
}

/*
 * The index of src in the configuration, for the per-source counters:
 * consecutive lines mostly come from one source, so the last answer is
 * tried first. One past the sources (a slot no source owns) if it is none
 * of them, which cannot happen while the tailer and the metrics follow
 * the same configuration.
 */
static size_t
source_index(struct ls_tailer *t, const struct ls_conf_source *src)
{
	size_t i, n = t->conf->nsources;

	if (n > t->m->nsources)
		n = t->m->nsources;
	if (t->src_hint < n && &t->conf->sources[t->src_hint] == src)
		return t->src_hint;
	for (i = 0; i < n; i++)
		if (&t->conf->sources[i] == src)
			return t->src_hint = i;
	return t->m->nsources;
}

/* Publishes the lines counted since the last push: a few shared counters
 * per push, not three per line. */
static void
publish_counts(struct ls_tailer *t)
{
	struct counts *c = &t->cnt;
	size_t i;

	if (c->src_run > 0)
		LS_COUNT(t->m->source_lines[c->src], c->src_run);
	for (i = 0; i < LS_SEV_COUNT; i++)
		if (c->sev[i] > 0)
			LS_COUNT(t->m->read_by_sev[i], c->sev[i]);
	LS_COUNT(t->m->lines_read, c->lines);
	memset(c, 0, sizeof *c);
}

/* Counts one line read from a file of src. */
static void
count_line(
    struct ls_tailer *t, const struct ls_conf_source *src, enum ls_severity sev)
{
	struct counts *c = &t->cnt;
	size_t i = source_index(t, src);

	if (c->src_run > 0 && c->src != i) {
		LS_COUNT(t->m->source_lines[c->src], c->src_run);
		c->src_run = 0;
	}
	c->src = i;
	c->src_run++;
	c->sev[sev]++;
	c->lines++;
}

void
tail_flush_pending(struct ls_tailer *t)
{
	size_t i;

	if (t->npend == 0)
		return;
	publish_counts(t);
	if (ls_queue_push_many(t->out, (void *const *)t->pend, NULL, t->npend)
	    != 0) {
		/* Closed: we are stopping, and these were never queued. */
		for (i = 0; i < t->npend; i++)
			ls_record_unref(t->pend[i]);
	}
	t->npend = 0;
}

/* Makes one record of an entry (a line, or a multiline entry). */
static void
emit(struct tfile *f, const char *msg, size_t len, uint64_t end_off,
    size_t dropped)
{
	struct ls_tailer *t = f->t;
	struct ls_record *r;
	enum ls_severity sev;

	sev = ls_severity_detect(msg, len, f->src->default_severity);
	if (dropped > 0) {
		if (msg != t->scratch.data) {
			ls_buf_reset(&t->scratch);
			ls_buf_append(&t->scratch, msg, len);
		}
		ls_buf_printf(
		    &t->scratch, " [logshipd: truncated %zu bytes]", dropped);
		msg = t->scratch.data;
		len = t->scratch.len;
		LS_COUNT(t->m->lines_truncated, 1);
	}
	r = ls_record_new(
	    f->src, &t->budget, msg, len, sev, end_off, t->now_wall_ms);
	if (dropped > 0)
		r->flags |= LS_REC_TRUNCATED;
	r->owner = f;
	r->seq = ls_offtrack_add_at(f->track, end_off, t->now_ms);
	f->inflight++;
	count_line(t, f->src, sev);
	t->pend[t->npend++] = r;
	if (t->npend == PUSH_BATCH)
		tail_flush_pending(t);
}

/* Emits the multiline entry being gathered, if any. */
void
tail_ml_flush(struct tfile *f)
{
	struct mline *ml = &f->ml;
	struct ls_tailer *t = f->t;

	if (!ml->active)
		return;
	ls_buf_reset(&t->scratch);
	ls_buf_append(&t->scratch, ml->buf.data, ml->buf.len);
	emit(f, t->scratch.data, t->scratch.len, ml->end_off, ml->dropped);
	ml->active = 0;
	ml->dropped = 0;
	ls_buf_reset(&ml->buf);
}

/* Adds a line to the multiline entry: a line matching the start pattern
 * begins a new entry; any other line continues the current one. */
static void
ml_line(struct tfile *f, const char *line, size_t len, uint64_t end_off,
    size_t dropped)
{
	struct mline *ml = &f->ml;
	struct ls_tailer *t = f->t;
	size_t room, max = f->src->max_line_bytes;
	int start;

	/* regexec wants a C string: the line is not one. */
	ls_buf_reset(&t->scratch);
	ls_buf_append(&t->scratch, line, len);
	start = regexec(f->src->multiline_re, t->scratch.data, 0, NULL, 0) == 0;
	if (start || !ml->active) {
		tail_ml_flush(f);
		ls_buf_append(&ml->buf, line, len);
		ml->active = 1;
		ml->dropped = dropped;
	} else {
		room = ml->buf.len < max ? max - ml->buf.len : 0;
		if (room > 0) {
			ls_buf_putc(&ml->buf, '\n');
			room--;
		}
		ls_buf_append(&ml->buf, line, len < room ? len : room);
		ml->dropped += dropped + (len > room ? len - room : 0);
		LS_COUNT(t->m->multiline_joined, 1);
	}
	ml->end_off = end_off;
	ml->last_ms = ls_now_ms();
}

void
tail_line_cb(
    const char *line, size_t len, uint64_t end_off, size_t dropped, void *arg)
{
	struct tfile *f = arg;

	if (f->src->multiline_re != NULL)
		ml_line(f, line, len, end_off, dropped);
	else
		emit(f, line, len, end_off, dropped);
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
 * the truncated file is read from 0 by a new struct (tailcopy.c). A copy
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
		if (ls_budget_should_pause(&t->budget)) {
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
		LS_COUNT(
		    t->m->source_bytes[source_index(t, f->src)], (uint64_t)n);
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
static int
make_room(struct ls_tailer *t)
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

	if (make_room(t) != 0)
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

/* FNV-1a of a path: the bad-path table and the path index hash with it. */
uint64_t
tail_str_hash64(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*path != '\0')
		h = (h ^ (unsigned char)*path++) * 0x100000001b3ull;
	return h ^ (h >> 32);
}

/* A path's bucket in a table of size (a power of two) buckets. */
size_t
tail_str_hash(const char *path, size_t size)
{
	return (size_t)tail_str_hash64(path) & (size - 1);
}

/* Gives f the name path (NULL: none), keeping the path index. */
void
tail_set_path(struct tfile *f, const char *path)
{
	struct ls_tailer *t = f->t;
	struct tfile **pp, **old, *g;
	size_t i, oldsize;

	if (f->path != NULL) {
		for (pp = &t->ptab[f->phash & (t->psize - 1)]; *pp != NULL;
		     pp = &(*pp)->pnext)
			if (*pp == f) {
				*pp = f->pnext;
				t->npaths--;
				break;
			}
		free(f->last_path);
		f->last_path = f->path;
		f->path = NULL;
	}
	if (path == NULL)
		return;
	if (t->npaths >= t->psize) {
		old = t->ptab;
		oldsize = t->psize;
		t->psize *= 2;
		t->ptab = xcalloc(t->psize, sizeof *t->ptab);
		for (i = 0; i < oldsize; i++)
			while ((g = old[i]) != NULL) {
				old[i] = g->pnext;
				g->pnext = t->ptab[g->phash & (t->psize - 1)];
				t->ptab[g->phash & (t->psize - 1)] = g;
			}
		free(old);
	}
	f->path = xstrdup(path);
	f->phash = tail_str_hash64(path);
	i = f->phash & (t->psize - 1);
	f->pnext = t->ptab[i];
	t->ptab[i] = f;
	t->npaths++;
}

/* The file called dir/name, or NULL. Called for every inotify event that
 * names a file: the full hash is compared before the paths, which share
 * their directory's prefix. */
struct tfile *
tail_by_path(struct ls_tailer *t, const char *dir, const char *name)
{
	char path[PATH_MAX];
	size_t dlen = strlen(dir), nlen = strlen(name);
	struct tfile *f;
	uint64_t h;

	if (dlen + 1 + nlen >= sizeof path)
		return NULL;
	memcpy(path, dir, dlen);
	path[dlen] = '/';
	memcpy(path + dlen + 1, name, nlen + 1);
	h = tail_str_hash64(path);
	for (f = t->ptab[h & (t->psize - 1)]; f != NULL; f = f->pnext)
		if (f->phash == h && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

struct tfile *
tail_new_file(
    struct ls_tailer *t, const struct ls_conf_source *src, const char *path)
{
	struct tfile *f;

	f = xcalloc(1, sizeof *f);
	f->t = t;
	f->src = src;
	tail_set_path(f, path);
	f->fd = -1;
	ls_linebuf_init(&f->lb, src->max_line_bytes, 0);
	ls_buf_init(&f->ml.buf);
	return f;
}

void
tail_free_file(struct tfile *f)
{
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
	tail_set_path(f, NULL);
	free(f->last_path);
	free(f);
}
