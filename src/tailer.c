/*
 * tailer: see tailer.h.
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
 *
 * A file smaller than its read offset was truncated (copytruncate): reading
 * restarts at 0, and what had been seen but not read is counted as
 * suspected loss.
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
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "ctx.h"
#include "linebuf.h"
#include "log.h"
#include "offtrack.h"
#include "severity.h"
#include "tailer.h"
#include "xmalloc.h"

#define READ_CHUNK (256 * 1024)
/* Most bytes read from one file per pass before the others get a turn. */
#define PASS_BYTES (4 * 1024 * 1024)
/* Records pushed to the ingest queue with one lock. */
#define PUSH_BATCH 512
/* The fingerprint covers this many first bytes, once they exist. */
#define FP_BYTES 1024

/* A multiline entry being gathered. */
struct mline {
	struct ls_buf buf;
	int active;
	size_t dropped; /* bytes past max_line_bytes */
	uint64_t end_off;
	int64_t last_ms;
};

struct tfile {
	struct ls_tailer *t;
	const struct ls_conf_source *src;
	char *path; /* NULL once the name is not (known to be) this file's */
	int fd;
	dev_t dev;
	ino_t ino;
	uint32_t fp_len;
	uint64_t fp;
	uint64_t off; /* next byte to read */
	uint64_t size_seen; /* largest size seen, for loss estimates */
	struct ls_linebuf lb;
	struct ls_offtrack *track;
	uint64_t inflight; /* records made and not yet acknowledged */
	struct mline ml;
	int64_t last_data_ms;
	int64_t gone_ms; /* when its name stopped being its own */
	int deleted; /* no links left */
	int at_eof; /* the last read found no more bytes */
	int rerr; /* the errno of the last failed read, 0 after a good one */
	struct timespec ctim; /* st_ctim when last seen (open, or at its end) */
	int hashed; /* in the identity table */
	unsigned seen; /* scan generation that last found it */
	struct tfile *next;
	struct tfile *hnext;
	/* The list of open files (make_room looks only at those). */
	struct tfile *onext;
	struct tfile *oprev;
	struct tfile *pnext; /* in the path index, while it has a path */
	int dirty; /* inotify named it since it was last read */
};

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

/* A path a scan matched but could not open for lack of a descriptor. */
struct waiting {
	const struct ls_conf_source *src;
	char *path;
	int initial; /* found by the first scan (start_at applies) */
	struct waiting *next;
};

/* What a file of a source a reload removed keeps of it: its name, for the
 * checkpoint, and its labels (tailer.c: ls_tailer_reload). */
struct detached {
	struct ls_conf_source src;
	struct detached *next;
};

struct ls_tailer {
	struct ev_loop *loop;
	const struct ls_conf *conf;
	struct detached *detached;
	struct ls_queue *out;
	struct ls_metrics *m;
	struct ls_ckpt *ckpt;
	struct ls_budget budget;
	struct tfile *files;
	struct tfile *open_files; /* those with a descriptor */
	size_t nfiles; /* structs, open or not */
	size_t nopen; /* open descriptors */
	/* max_open_files was met, and no open file could be closed: the
	 * scan (or retry) under way opens nothing more, and queues the paths
	 * it could not open; read_all tries them again once the open files
	 * are read to their end. */
	int room_full;
	struct waiting *waiting;
	struct waiting **waiting_tail;
	struct tfile **htab;
	size_t hsize;
	/* The files by path: which one an inotify event names. */
	struct tfile **ptab;
	size_t psize, npaths;
	struct wdir *dirs;
	int ifd;
	int inotify_warned;
	int limit_warned;
	struct badpath **bad; /* hash table of unfollowable paths */
	size_t nbad;
	size_t badsize;
	int dirty; /* committed offsets changed since the last checkpoint */
	int *backlog_warned; /* per source: warned of its backlog's age */
	int64_t modify_scan_ms; /* last scan made for a closed file's change */
	int64_t scan_end_ms; /* when the last scan ended */
	int64_t scan_cost_ms; /* and how long it took */
	ev_io inotify_w;
	ev_timer scan_w;
	ev_timer poll_w;
	ev_timer ckpt_w;
	ev_timer rescan_w; /* a scan inotify asked for, held back */
	ev_idle more_w;
	ev_async resume_w;
	int started;
	int stopped;
	int paused;
	unsigned gen;
	char *rbuf;
	struct ls_buf scratch;
	int64_t now_wall_ms; /* read time of the records being made */
	int64_t now_ms; /* the same, monotonic (offtrack ages) */
	struct ls_record *pend[PUSH_BATCH];
	size_t npend;
	struct counts { /* lines of pend[], for the metrics */
		uint64_t lines, sev[LS_SEV_COUNT];
		size_t src, src_run; /* a run of lines of one source */
	} cnt;
	size_t src_hint; /* source_index()'s last answer */
};

static void read_all(struct ls_tailer *);
static void set_path(struct tfile *, const char *);
static void refresh_fingerprint(struct tfile *);
static size_t source_index(struct ls_tailer *, const struct ls_conf_source *);

/* Takes the read time of the records about to be made: once per read,
 * not once per line. */
static void
stamp(struct ls_tailer *t)
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

static struct tfile *
id_find(struct ls_tailer *t, dev_t dev, ino_t ino)
{
	struct tfile *f;

	for (f = t->htab[id_hash(t, dev, ino)]; f != NULL; f = f->hnext)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

static void
id_insert(struct ls_tailer *t, struct tfile *f)
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

static void
id_remove(struct ls_tailer *t, struct tfile *f)
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

static void
flush_pending(struct ls_tailer *t)
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
		flush_pending(t);
}

/* Emits the multiline entry being gathered, if any. */
static void
ml_flush(struct tfile *f)
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
		ml_flush(f);
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

static void
line_cb(
    const char *line, size_t len, uint64_t end_off, size_t dropped, void *arg)
{
	struct tfile *f = arg;

	if (f->src->multiline_re != NULL)
		ml_line(f, line, len, end_off, dropped);
	else
		emit(f, line, len, end_off, dropped);
}

/* Forgets what was read but not yet made into records (truncation). */
static void
restart_at(struct tfile *f, uint64_t off)
{
	f->off = off;
	f->size_seen = off;
	ls_linebuf_reset(&f->lb, off);
	f->ml.active = 0;
	f->ml.dropped = 0;
	ls_buf_reset(&f->ml.buf);
	ls_offtrack_reset(f->track, off);
}

static void
close_file(struct tfile *f)
{
	if (f->fd == -1)
		return;
	close(f->fd);
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
}

/*
 * copytruncate: logrotate copied the file, then truncated it. Whatever was
 * written after our last read and before the copy is in the copy: find it
 * beside the file (a file we do not follow whose first bytes are the ones
 * we fingerprinted; the newest if several) and read it from our offset to
 * its end, as the rest of this file. Usually we had read past the copy's
 * end already, and there is nothing to read. What was written between the
 * copy and the truncate, and not read by us in between, is in no file at
 * all: that window is copytruncate's own, and why the README advises
 * against it. Returns 1 if a copy was found.
 */
static int
read_copy(struct ls_tailer *t, struct tfile *f)
{
	struct dirent *de;
	struct stat st;
	char *copy, path[PATH_MAX], best[PATH_MAX];
	time_t best_mtime = 0;
	ssize_t n;
	off_t at, start;
	DIR *dir;
	int fd, found = 0;

	if (f->path == NULL || f->fp_len == 0)
		return 0;
	copy = xstrdup(f->path);
	dir = opendir(dirname(copy));
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", copy, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)
		    || id_find(t, st.st_dev, st.st_ino) != NULL
		    || (found && st.st_mtime < best_mtime))
			continue;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
			continue;
		if (ls_fingerprint_matches(fd, f->fp_len, f->fp) == 1) {
			snprintf(best, sizeof best, "%s", path);
			best_mtime = st.st_mtime;
			found = 1;
		}
		close(fd);
	}
	if (dir != NULL)
		closedir(dir);
	free(copy);
	if (!found || (fd = open(best, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	log_info("%s: truncated; its copy is %s", f->path, best);
	stamp(t);
	at = start = (off_t)f->off;
	while ((n = pread(fd, t->rbuf, READ_CHUNK, at)) > 0) {
		ls_linebuf_feed(&f->lb, t->rbuf, (size_t)n, line_cb, f);
		f->off += (uint64_t)n;
		at += n;
	}
	/* The copy ends where the truncation cut a line, if it did. */
	if (at > start)
		ls_linebuf_flush(&f->lb, line_cb, f);
	flush_pending(t);
	close(fd);
	return 1;
}

/* At the end of the bytes: was the file truncated under us? */
static int
check_truncated(struct ls_tailer *t, struct tfile *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == -1)
		return 0;
	f->ctim = st.st_ctim;
	if ((uint64_t)st.st_size >= f->off) {
		if ((uint64_t)st.st_size > f->size_seen)
			f->size_seen = (uint64_t)st.st_size;
		return 0;
	}
	LS_COUNT(t->m->truncations, 1);
	if (!read_copy(t, f)) {
		LS_COUNT(t->m->truncations_no_copy, 1);
		if (f->size_seen > f->off)
			LS_COUNT(
			    t->m->suspected_loss_bytes, f->size_seen - f->off);
	}
	log_notice("%s: truncated (size %lld < offset %llu); reading from "
		   "the start",
	    f->path ? f->path : "(rotated)", (long long)st.st_size,
	    (unsigned long long)f->off);
	if (lseek(f->fd, 0, SEEK_SET) == -1) {
		log_warn("%s: lseek", f->path ? f->path : "(rotated)");
		close_file(f);
		return 0;
	}
	restart_at(f, 0);
	/* New bytes at the start: fingerprint them anew. */
	f->fp_len = 0;
	refresh_fingerprint(f);
	t->dirty = 1;
	return 1;
}

/* Reads up to limit bytes. Returns 1 if more may be waiting, else 0. */
static int
read_file(struct ls_tailer *t, struct tfile *f, size_t limit)
{
	size_t total = 0;
	ssize_t n;

	if (f->fd == -1)
		return 0;
	stamp(t);
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
			if (check_truncated(t, f))
				continue;
			f->at_eof = 1;
			break;
		}
		f->at_eof = 0;
		LS_COUNT(t->m->bytes_read, (uint64_t)n);
		LS_COUNT(
		    t->m->source_bytes[source_index(t, f->src)], (uint64_t)n);
		ls_linebuf_feed(&f->lb, t->rbuf, (size_t)n, line_cb, f);
		f->off += (uint64_t)n;
		if (f->off > f->size_seen)
			f->size_seen = f->off;
		f->last_data_ms = ls_now_ms();
		total += (size_t)n;
	}
	/* A young file's fingerprint grows with it, up to FP_BYTES: a
	 * copytruncate copy is recognised by it (read_copy). */
	if (total > 0 && f->fp_len < FP_BYTES)
		refresh_fingerprint(f);
	flush_pending(t);
	return total >= limit;
}

static void
free_file(struct tfile *f)
{
	close_file(f);
	id_remove(f->t, f);
	ls_linebuf_cleanup(&f->lb);
	ls_buf_cleanup(&f->ml.buf);
	ls_offtrack_free(f->track);
	set_path(f, NULL);
	free(f);
}

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
	free_file(f);
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

static void
watch_parent(struct ls_tailer *t, const char *path)
{
	char *copy = xstrdup(path);

	watch_dir(t, dirname(copy));
	free(copy);
}

/* Is a the better file to close to make room: rotated before named, then
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
 * that was read to its end: a rotated one first, else the longest idle. A
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
	for (f = t->open_files; f != NULL; f = f->onext)
		if (f->at_eof && better_victim(f, victim))
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
	close_file(victim);
	return 0;
}

/* Takes or refreshes the fingerprint while it covers fewer than
 * FP_BYTES. */
static void
refresh_fingerprint(struct tfile *f)
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
start_offset(
    struct ls_tailer *t, struct tfile *f, const struct stat *st, int initial)
{
	const struct ls_ckpt_entry *e;

	e = t->ckpt ? ls_ckpt_find(t->ckpt, f->src->name, (uint64_t)st->st_dev,
		(uint64_t)st->st_ino)
		    : NULL;
	if (e != NULL) {
		if (e->fp_len > 0
		    && ls_fingerprint_matches(f->fd, e->fp_len, e->fp) != 1) {
			LS_COUNT(t->m->inode_reuse, 1);
			log_notice("%s: same inode, other contents (inode "
				   "reused): reading from the start",
			    f->path);
			return 0;
		}
		if (e->offset > (uint64_t)st->st_size) {
			LS_COUNT(t->m->truncations, 1);
			log_notice("%s: shorter than its checkpoint (truncated "
				   "while stopped): reading from the start",
			    f->path);
			return 0;
		}
		return e->offset;
	}
	if (initial && f->src->start_at == LS_START_END)
		return (uint64_t)st->st_size;
	return 0;
}

/* A path's bucket in a table of size (a power of two) buckets: FNV-1a,
 * for the bad-path table and the path index alike. */
static size_t
str_hash(const char *path, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*path != '\0')
		h = (h ^ (unsigned char)*path++) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 32)) & (size - 1);
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
static void
bad_path(struct ls_tailer *t, const char *path, int why, const char *what)
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
				h = str_hash(b->path, t->badsize);
				b->next = t->bad[h];
				t->bad[h] = b;
			}
		}
		free(old);
	}
	h = str_hash(path, t->badsize);
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

/* Opens f->path as f's descriptor. 0, or -1. */
static int
open_fd(struct ls_tailer *t, struct tfile *f, struct stat *st)
{
	int fd;

	if (make_room(t) != 0)
		return -1;
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		bad_path(t, f->path, errno, "open");
		return -1;
	}
	if (fstat(fd, st) == -1) {
		bad_path(t, f->path, errno, "fstat");
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		/* Replaced since the scan's stat. */
		bad_path(t, f->path, -(int)(st->st_mode & S_IFMT), NULL);
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->oprev = NULL;
	f->onext = t->open_files;
	if (t->open_files != NULL)
		t->open_files->oprev = f;
	t->open_files = f;
	t->nopen++;
	LS_COUNT(t->m->files_open, 1);
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->ctim = st->st_ctim;
	f->at_eof = 0;
	f->last_data_ms = ls_now_ms();
	return 0;
}

/* Opens a file seen for the first time and positions it where the
 * checkpoint (or start_at) says. 0, or -1. */
static int
open_new(struct ls_tailer *t, struct tfile *f, int initial)
{
	struct stat st;
	uint64_t off;

	if (open_fd(t, f, &st) != 0)
		return -1;
	refresh_fingerprint(f);
	off = start_offset(t, f, &st, initial);
	if (off > 0 && lseek(f->fd, (off_t)off, SEEK_SET) == -1) {
		log_warn("%s: lseek", f->path);
		off = 0;
	}
	f->track = ls_offtrack_new(off);
	restart_at(f, off);
	return 0;
}

/* Opens again a file closed to make room: everything it held (a partial
 * line, a multiline entry, records in flight) is still there, and reading
 * goes on from where it stopped. 0, or -1. */
static int
reopen(struct ls_tailer *t, struct tfile *f)
{
	struct stat st;

	if (open_fd(t, f, &st) != 0)
		return -1;
	if (lseek(f->fd, (off_t)f->off, SEEK_SET) == -1) {
		log_warn("%s: lseek", f->path);
		close_file(f);
		return -1;
	}
	refresh_fingerprint(f);
	return 0;
}

/* Gives f the name path (NULL: none), keeping the path index. */
static void
set_path(struct tfile *f, const char *path)
{
	struct ls_tailer *t = f->t;
	struct tfile **pp, **old, *g;
	size_t i, oldsize;

	if (f->path != NULL) {
		for (pp = &t->ptab[str_hash(f->path, t->psize)]; *pp != NULL;
		     pp = &(*pp)->pnext)
			if (*pp == f) {
				*pp = f->pnext;
				t->npaths--;
				break;
			}
		free(f->path);
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
				g->pnext = t->ptab[str_hash(g->path, t->psize)];
				t->ptab[str_hash(g->path, t->psize)] = g;
			}
		free(old);
	}
	f->path = xstrdup(path);
	i = str_hash(f->path, t->psize);
	f->pnext = t->ptab[i];
	t->ptab[i] = f;
	t->npaths++;
}

/* The file called dir/name, or NULL. */
static struct tfile *
by_path(struct ls_tailer *t, const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct tfile *f;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name)
	    >= sizeof path)
		return NULL;
	for (f = t->ptab[str_hash(path, t->psize)]; f != NULL; f = f->pnext)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static struct tfile *
new_file(
    struct ls_tailer *t, const struct ls_conf_source *src, const char *path)
{
	struct tfile *f;

	f = xcalloc(1, sizeof *f);
	f->t = t;
	f->src = src;
	set_path(f, path);
	f->fd = -1;
	ls_linebuf_init(&f->lb, src->max_line_bytes, 0);
	ls_buf_init(&f->ml.buf);
	return f;
}

static void
link_file(struct ls_tailer *t, struct tfile *f)
{
	f->next = t->files;
	t->files = f;
	t->nfiles++;
	id_insert(t, f);
	t->dirty = 1;
}

/* Queues path to be opened once a descriptor can be had. */
static void
wait_room(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial)
{
	struct waiting *w;

	w = xcalloc(1, sizeof *w);
	w->src = src;
	w->path = xstrdup(path);
	w->initial = initial;
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
    const char *path, int initial)
{
	struct tfile *f;

	/* No descriptor to be had now: not even the struct. */
	if (t->room_full) {
		wait_room(t, src, path, initial);
		return;
	}
	f = new_file(t, src, path);
	if (open_new(t, f, initial) != 0) {
		free_file(f);
		if (t->room_full)
			wait_room(t, src, path, initial);
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
		set_path(f, path);
	f->gone_ms = 0;
	f->seen = t->gen;
	/* Closed (idle, or to make room): open it again once it changed. */
	if (f->fd == -1 && (uint64_t)st->st_size != f->off && reopen(t, f) != 0
	    && t->room_full)
		wait_room(t, f->src, path, 0);
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
	int fd, same;

	if (f->fp_len == 0)
		return 1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;
	same = ls_fingerprint_matches(fd, f->fp_len, f->fp) == 1;
	close(fd);
	return same;
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
			bad_path(t, path, e, NULL);
		else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			bad_path(t, path, BAD_DANGLING, NULL);
		return;
	}
	/* Never opened, so never read: a FIFO would block, /dev/zero never
	 * ends. */
	if (!S_ISREG(st.st_mode)) {
		bad_path(t, path, -(int)(st.st_mode & S_IFMT), NULL);
		return;
	}
	watch_parent(t, path);
	if ((f = id_find(t, st.st_dev, st.st_ino)) != NULL) {
		if (f->seen == t->gen)
			return; /* another pattern's, or another name's */
		if (f->src->paths == NULL)
			f->src = src; /* its source is back (a reload) */
		if (f->fd != -1 || unchanged(f, &st)
		    || same_contents(f, path)) {
			found_again(t, f, path, &st);
			return;
		}
		/* Closed, and its inode now holds other bytes. */
		LS_COUNT(t->m->inode_reuse, 1);
		log_notice("%s: inode reused by a new file", path);
		id_remove(t, f);
	}
	add_file(t, src, path, initial);
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
		set_path(f, NULL);
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
 */
static void
resume_renamed(struct ls_tailer *t)
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
		if (id_find(t, (dev_t)e->dev, (ino_t)e->ino) != NULL)
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
			f = new_file(t, src, path);
			if (open_new(t, f, 0) != 0) {
				free_file(f);
				break;
			}
			log_info("%s: renamed while stopped (was %s); reading "
				 "the rest from offset %llu",
			    path, e->path, (unsigned long long)f->off);
			set_path(f, NULL);
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

	if (t->stopped || t->paused)
		return;
	for (f = t->open_files; f != NULL && !t->paused; f = next) {
		next = f->onext; /* read_file may close f */
		f->dirty = 0;
		more |= read_file(t, f, PASS_BYTES);
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
	for (f = t->open_files; f != NULL && !t->paused; f = next) {
		next = f->onext; /* read_file may close f */
		if (!f->dirty && !(unknown && f->path == NULL))
			continue;
		f->dirty = 0;
		more |= read_file(t, f, PASS_BYTES);
	}
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

	stamp(t);
	for (f = t->files; f != NULL; f = f->next) {
		if (ls_linebuf_pending(&f->lb) > 0
		    && now - f->last_data_ms >= f->src->partial_flush_ms)
			ls_linebuf_flush(&f->lb, line_cb, f);
		if (f->ml.active
		    && now - f->ml.last_ms >= f->src->multiline_flush_ms)
			ml_flush(f);
	}
	flush_pending(t);
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
			if (!f->deleted && fstat(f->fd, &st) == 0
			    && st.st_nlink == 0)
				f->deleted = 1;
			if (f->deleted && f->at_eof) {
				close_file(f);
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
				close_file(f);
			} else if (!f->deleted && f->at_eof
			    && now - f->last_data_ms
				>= t->conf->close_inactive_ms) {
				close_file(f);
			}
		}
		/* Gone for good, and no record in flight refers to it. */
		if (f->fd == -1 && f->path == NULL && f->inflight == 0
		    && (f->deleted
			|| now - f->gone_ms >= t->conf->close_inactive_ms))
			drop_file(t, f);
	}
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
			if (d != NULL && (f = by_path(t, d->path, ev->name)))
				f->dirty = 1;
			else
				unknown = 1;
		}
	}
	if (need_scan) {
		request_scan(t);
		read_all(t);
	} else
		read_named(t, unknown);
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
	struct ls_ckpt_entry e;
	struct tfile *f;

	if (t->ckpt == NULL || (!t->dirty && !force))
		return 0;
	ls_ckpt_clear(t->ckpt);
	for (f = t->files; f != NULL; f = f->next) {
		if (!f->hashed)
			continue;
		refresh_fingerprint(f);
		e.source = (char *)f->src->name;
		e.path = f->path;
		e.dev = (uint64_t)f->dev;
		e.ino = (uint64_t)f->ino;
		e.fp_len = f->fp_len;
		e.fp = f->fp;
		e.offset = ls_offtrack_committed(f->track);
		if (e.path == NULL)
			e.path = "";
		ls_ckpt_put(t->ckpt, &e);
	}
	if (ls_ckpt_write(t->ckpt) != 0) {
		LS_COUNT(t->m->checkpoint_errors, 1);
		return -1;
	}
	LS_COUNT(t->m->checkpoint_writes, 1);
	atomic_store_explicit(
	    &t->m->checkpoint_ms, ls_now_ms(), memory_order_relaxed);
	t->dirty = 0;
	return 0;
}

static void
ckpt_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ls_tailer_checkpoint(w->data, 0);
	backlog_ages(w->data);
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
	scan(t, 1);
	resume_renamed(t);
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

	stamp(t); /* for the entries a removed source's files still ship */
	/* Their sources are the old configuration's: the scan below finds
	 * them again. */
	free_waiting(t);
	for (f = t->files; f != NULL; f = f->next) {
		if ((src = source_named(conf, f->src->name)) != NULL) {
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
			ml_flush(f);
		f->off -= ls_linebuf_pending(&f->lb);
		ls_linebuf_cleanup(&f->lb);
		ls_linebuf_init(&f->lb, f->src->max_line_bytes, f->off);
		close_file(f);
		f->src = detach(t, f->src);
		removed++;
	}
	flush_pending(t);
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
		free_file(f);
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
