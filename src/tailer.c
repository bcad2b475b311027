/*
 * tailer: see tailer.h.
 *
 * File identity is (device, inode). When a scan finds a path now naming
 * another inode (rotation by rename and create), the old descriptor is read
 * to its end before it is closed and the new file is read from its start.
 * A file smaller than the read offset was truncated: reading restarts at 0.
 * Deeper rotation handling (following a renamed file while it is still
 * written, fingerprints, checkpoints) belongs to the acknowledgement work
 * and builds on this structure.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "ctx.h"
#include "linebuf.h"
#include "log.h"
#include "severity.h"
#include "tailer.h"
#include "xmalloc.h"

#define READ_CHUNK (256 * 1024)
/* Most bytes read from one file per pass before the others get a turn. */
#define PASS_BYTES (4 * 1024 * 1024)
/* Records pushed to the ingest queue with one lock. */
#define PUSH_BATCH 512

struct tfile {
	struct ls_tailer *t;
	const struct ls_conf_source *src;
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t off; /* next byte to read */
	struct ls_linebuf lb;
	int64_t last_data_ms;
	unsigned seen; /* scan generation that last saw the path */
	struct tfile *next;
};

struct wdir {
	int wd;
	char *path;
	struct wdir *next;
};

struct ls_tailer {
	struct ev_loop *loop;
	const struct ls_conf *conf;
	struct ls_queue *out;
	struct ls_metrics *m;
	struct ls_budget budget;
	struct tfile *files;
	size_t nfiles;
	struct wdir *dirs;
	int ifd;
	int inotify_warned;
	ev_io inotify_w;
	ev_timer scan_w;
	ev_timer poll_w;
	ev_idle more_w;
	ev_async resume_w;
	int started;
	int stopped;
	int paused;
	unsigned gen;
	char *rbuf;
	struct ls_buf scratch;
	int64_t now_wall_ms; /* read time of the records being made */
	struct ls_record *pend[PUSH_BATCH];
	size_t npend;
};

static void read_all(struct ls_tailer *);

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
flush_pending(struct ls_tailer *t)
{
	size_t i;

	if (t->npend == 0)
		return;
	if (ls_queue_push_many(t->out, (void *const *)t->pend, NULL,
		t->npend) != 0) {
		/* Closed: we are stopping, and these were never queued. */
		for (i = 0; i < t->npend; i++)
			ls_record_unref(t->pend[i]);
	}
	t->npend = 0;
}

static void
line_cb(const char *line, size_t len, uint64_t end_off, size_t dropped,
    void *arg)
{
	struct tfile *f = arg;
	struct ls_tailer *t = f->t;
	struct ls_record *r;
	enum ls_severity sev;
	const char *msg = line;
	size_t msglen = len;

	sev = ls_severity_detect(line, len, f->src->default_severity);
	if (dropped > 0) {
		ls_buf_reset(&t->scratch);
		ls_buf_append(&t->scratch, line, len);
		ls_buf_printf(&t->scratch, " [logshipd: truncated %zu bytes]",
		    dropped);
		msg = t->scratch.data;
		msglen = t->scratch.len;
		LS_COUNT(t->m->lines_truncated, 1);
	}
	r = ls_record_new(f->src, &t->budget, msg, msglen, sev, end_off,
	    t->now_wall_ms);
	if (dropped > 0)
		r->flags |= LS_REC_TRUNCATED;
	LS_COUNT(t->m->lines_read, 1);
	LS_COUNT(t->m->read_by_sev[sev], 1);
	t->pend[t->npend++] = r;
	if (t->npend == PUSH_BATCH)
		flush_pending(t);
}

static void
close_file(struct tfile *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
}

/* Reads up to limit bytes. Returns 1 if more may be waiting, else 0. */
static int
read_file(struct ls_tailer *t, struct tfile *f, size_t limit)
{
	struct stat st;
	size_t total = 0;
	ssize_t n;

	if (f->fd == -1)
		return 0;
	t->now_wall_ms = wall_ms();
	while (total < limit) {
		if (ls_budget_should_pause(&t->budget)) {
			t->paused = 1;
			break;
		}
		n = read(f->fd, t->rbuf, READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: read", f->path);
			break;
		}
		if (n == 0) {
			/* At the end: was it truncated under us? */
			if (fstat(f->fd, &st) == 0 &&
			    (uint64_t)st.st_size < f->off) {
				log_notice("%s: truncated (size %lld < offset "
					   "%llu); reading from the start",
				    f->path, (long long)st.st_size,
				    (unsigned long long)f->off);
				if (lseek(f->fd, 0, SEEK_SET) == -1) {
					log_warn("%s: lseek", f->path);
					close_file(f);
				}
				f->off = 0;
				ls_linebuf_reset(&f->lb, 0);
				continue;
			}
			break;
		}
		LS_COUNT(t->m->bytes_read, (uint64_t)n);
		ls_linebuf_feed(&f->lb, t->rbuf, (size_t)n, line_cb, f);
		f->off += (uint64_t)n;
		f->last_data_ms = ls_now_ms();
		total += (size_t)n;
	}
	flush_pending(t);
	return total >= limit;
}

static void
free_file(struct tfile *f)
{
	close_file(f);
	ls_linebuf_cleanup(&f->lb);
	free(f->path);
	free(f);
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
	    IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
		IN_CLOSE_WRITE | IN_ATTRIB);
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

static struct tfile *
find_file(struct ls_tailer *t, const char *path)
{
	struct tfile *f;

	for (f = t->files; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* Opens path as a file to follow from offset 0, or from its end. */
static int
open_file(struct tfile *f, int at_end)
{
	struct stat st;
	int fd;

	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		log_warn("%s: open", f->path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file; skipped", f->path);
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->off = 0;
	if (at_end && st.st_size > 0 &&
	    lseek(fd, st.st_size, SEEK_SET) != -1)
		f->off = (uint64_t)st.st_size;
	ls_linebuf_reset(&f->lb, f->off);
	f->last_data_ms = ls_now_ms();
	return 0;
}

static void
add_file(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *path, int initial)
{
	struct tfile *f;

	f = xcalloc(1, sizeof *f);
	f->t = t;
	f->src = src;
	f->path = xstrdup(path);
	f->fd = -1;
	ls_linebuf_init(&f->lb, src->max_line_bytes, 0);
	if (open_file(f, initial && src->start_at == LS_START_END) != 0) {
		free_file(f);
		return;
	}
	f->seen = t->gen;
	f->next = t->files;
	t->files = f;
	t->nfiles++;
	log_info("%s: following (source %s, from offset %llu)", path,
	    src->name, (unsigned long long)f->off);
}

/* The path names another inode now: finish the old one, then follow the
 * new one from its start. */
static void
rotated(struct ls_tailer *t, struct tfile *f)
{
	while (read_file(t, f, PASS_BYTES) && !t->paused)
		;
	log_info("%s: rotated; following the new file", f->path);
	close_file(f);
	if (open_file(f, 0) != 0)
		f->seen = 0; /* dropped at the end of the scan */
}

static void
scan(struct ls_tailer *t, int initial)
{
	const struct ls_conf_source *src;
	struct tfile *f, **fp;
	struct stat st;
	glob_t g;
	size_t s, p, i;
	int rc;

	t->gen++;
	for (s = 0; s < t->conf->nsources; s++) {
		src = &t->conf->sources[s];
		for (p = 0; p < src->npaths; p++) {
			rc = glob(src->paths[p], GLOB_NOSORT, NULL, &g);
			/* Watch the pattern's directory, to see creations. */
			watch_parent(t, src->paths[p]);
			if (rc != 0) {
				if (rc != GLOB_NOMATCH)
					log_warnx("%s: glob failed",
					    src->paths[p]);
				globfree(&g);
				continue;
			}
			for (i = 0; i < g.gl_pathc; i++) {
				if (stat(g.gl_pathv[i], &st) == -1 ||
				    !S_ISREG(st.st_mode))
					continue;
				watch_parent(t, g.gl_pathv[i]);
				if ((f = find_file(t, g.gl_pathv[i])) == NULL) {
					add_file(t, src, g.gl_pathv[i],
					    initial);
					continue;
				}
				if (f->seen == t->gen)
					continue; /* another pattern's */
				f->seen = t->gen;
				if (f->fd == -1 || st.st_dev != f->dev ||
				    st.st_ino != f->ino)
					rotated(t, f);
			}
			globfree(&g);
		}
	}
	/* Paths gone (deleted, or renamed away): read what is left, close. */
	for (fp = &t->files; (f = *fp) != NULL;) {
		if (f->seen == t->gen) {
			fp = &f->next;
			continue;
		}
		while (read_file(t, f, PASS_BYTES) && !t->paused)
			;
		log_info("%s: gone; closed at offset %llu", f->path,
		    (unsigned long long)f->off);
		*fp = f->next;
		t->nfiles--;
		free_file(f);
	}
}

/* One pass over every file; comes back through the idle watcher while any
 * file has more than a pass's worth waiting. */
static void
read_all(struct ls_tailer *t)
{
	struct tfile *f;
	int more = 0;

	if (t->stopped || t->paused)
		return;
	for (f = t->files; f != NULL && !t->paused; f = f->next)
		more |= read_file(t, f, PASS_BYTES);
	if (more && !t->paused)
		ev_idle_start(t->loop, &t->more_w);
	else
		ev_idle_stop(t->loop, &t->more_w);
}

static void
more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	read_all(w->data);
}

static void
flush_idle_partials(struct ls_tailer *t)
{
	struct tfile *f;
	int64_t now = ls_now_ms();

	for (f = t->files; f != NULL; f = f->next) {
		if (ls_linebuf_pending(&f->lb) == 0 && f->lb.dropped == 0)
			continue;
		if (now - f->last_data_ms < f->src->partial_flush_ms)
			continue;
		t->now_wall_ms = wall_ms();
		ls_linebuf_flush(&f->lb, line_cb, f);
	}
	flush_pending(t);
}

static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	read_all(t);
	if (!t->paused)
		flush_idle_partials(t);
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
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int need_scan = 0;
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
			if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_DELETE | IN_Q_OVERFLOW |
					   IN_IGNORED))
				need_scan = 1;
		}
	}
	if (need_scan)
		scan(t, 0);
	read_all(t);
}

static void
resume_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ls_tailer *t = w->data;

	if (!t->paused)
		return;
	log_debug("buffer below the low watermark: reading again");
	t->paused = 0;
	read_all(t);
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
    struct ls_queue *out, struct ls_metrics *m)
{
	struct ls_tailer *t;

	t = xcalloc(1, sizeof *t);
	t->loop = loop;
	t->conf = conf;
	t->out = out;
	t->m = m;
	t->ifd = -1;
	t->rbuf = xmalloc(READ_CHUNK);
	ls_buf_init(&t->scratch);
	ls_budget_init(&t->budget, conf->max_buffer_bytes, budget_resume_cb, t);
	ev_io_init(&t->inotify_w, inotify_cb, -1, EV_READ);
	ev_timer_init(&t->scan_w, scan_cb, conf->scan_interval_ms / 1000.0,
	    conf->scan_interval_ms / 1000.0);
	ev_timer_init(&t->poll_w, poll_cb, conf->poll_interval_ms / 1000.0,
	    conf->poll_interval_ms / 1000.0);
	ev_idle_init(&t->more_w, more_cb);
	ev_async_init(&t->resume_w, resume_async_cb);
	t->inotify_w.data = t->scan_w.data = t->poll_w.data = t;
	t->more_w.data = t->resume_w.data = t;
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
	if (t->ifd != -1) {
		ev_io_set(&t->inotify_w, t->ifd, EV_READ);
		ev_io_start(t->loop, &t->inotify_w);
	}
	ev_timer_start(t->loop, &t->scan_w);
	ev_timer_start(t->loop, &t->poll_w);
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
	ev_idle_stop(t->loop, &t->more_w);
	ev_async_stop(t->loop, &t->resume_w);
}

size_t
ls_tailer_nfiles(struct ls_tailer *t)
{
	return t->nfiles;
}

int
ls_tailer_paused(struct ls_tailer *t)
{
	return t->paused;
}

void
ls_tailer_free(struct ls_tailer *t)
{
	struct tfile *f;
	struct wdir *w;

	if (t == NULL)
		return;
	ls_tailer_stop(t);
	while ((f = t->files) != NULL) {
		t->files = f->next;
		free_file(f);
	}
	while ((w = t->dirs) != NULL) {
		t->dirs = w->next;
		free(w->path);
		free(w);
	}
	if (t->ifd != -1)
		close(t->ifd);
	ls_buf_cleanup(&t->scratch);
	free(t->rbuf);
	free(t);
}
