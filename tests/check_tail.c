/*
 * check_tail: the tailer (ingest), through its public API only (tailer.h),
 * on the test's own libev loop, in a temporary directory: no HTTP, no
 * daemon. The test plays the pipeline: it pops the records the tailer
 * pushes to the ingest queue, checks their text and end offsets, and
 * "delivers" them (ls_origin_ack, then drops its reference, as acks.c and
 * the router do), or drops them undelivered (a crash or a kill).
 *
 * The loop is driven by pump(): EVRUN_ONCE turns, with a 5 ms tick so a
 * turn never blocks long, until a condition holds or a deadline (10 s
 * times LS_TIMEOUT_SCALE) passes; no fixed sleeps. The checkpoint is
 * forced (ls_tailer_checkpoint(t, 1)) and read back through a fresh
 * ls_ckpt on the same state directory.
 *
 * Cases: identity (lines, offsets, the checkpoint entry; an inode reused
 * by other bytes, faked in the checkpoint; a file shorter than its entry),
 * truncation without a copy, copytruncate with a copy (during an outage,
 * with a restart in the middle of it; with lines not read yet; while
 * stopped), a rename while stopped and while running, the memory budget's
 * pause and resume (with a copytruncate while paused), a reload, and
 * symbolic links.
 *
 * Lines are fixed-width, so line i of a file ends at offset (i + 1) * W.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>
#include <jansson.h>

#include "checkpoint.h"
#include "conf.h"
#include "ctx.h"
#include "encode.h"
#include "status_metrics.h"
#include "queue.h"
#include "record.h"
#include "tailer.h"
#include "testutil.h"

/* Bytes of every line written, its newline included. */
#define W 64

struct fx {
	char dir[256]; /* the test's temporary directory */
	char logs[512]; /* dir/logs: the source's directory */
	char state[512]; /* dir/state */
	char out[512]; /* dir/outside: not the source's */
	struct ev_loop *loop;
	ev_timer tick;
	struct ls_conf *conf;
	struct ls_queue *q;
	struct ls_ckpt *ckpt;
	struct ls_metrics *m;
	struct ls_budget *budget; /* main's, as in main.c */
	struct ls_tailer *t;
	/* Every record popped, in order; NULL once delivered or dropped. */
	struct ls_record **recs;
	/* Copies of what they were: text and end offset. */
	char **msg;
	uint64_t *off;
	size_t n, cap;
	const char *top; /* more top-level keys for the next conf, or "" */
	char *paths[64]; /* path_in()'s, freed at teardown */
	size_t npaths;
};

static struct fx x;

static int64_t
deadline_ms(void)
{
	const char *s = getenv("LS_TIMEOUT_SCALE");
	double k = s != NULL ? strtod(s, NULL) : 1.0;

	if (k < 1.0)
		k = 1.0;
	return ls_now_ms() + (int64_t)(10000 * k);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	memset(&x, 0, sizeof x);
	x.top = "";
	snprintf(x.dir, sizeof x.dir, "%s/check_tail.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(x.dir));
	snprintf(x.logs, sizeof x.logs, "%s/logs", x.dir);
	snprintf(x.state, sizeof x.state, "%s/state", x.dir);
	snprintf(x.out, sizeof x.out, "%s/outside", x.dir);
	ck_assert_int_eq(mkdir(x.logs, 0700), 0);
	ck_assert_int_eq(mkdir(x.state, 0700), 0);
	ck_assert_int_eq(mkdir(x.out, 0700), 0);
	ck_assert_ptr_nonnull(x.loop = ev_loop_new(EVFLAG_AUTO));
	ev_timer_init(&x.tick, tick_cb, 0.005, 0.005);
	ev_timer_start(x.loop, &x.tick);
	x.q = ls_queue_new(ls_record_unref_cb, NULL);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Drops every record still held, undelivered. */
static void
drop_held(void)
{
	size_t i;

	for (i = 0; i < x.n; i++) {
		if (x.recs[i] != NULL)
			ls_record_unref(x.recs[i]);
		x.recs[i] = NULL;
	}
}

/* Stops and frees the tailer as a crash would leave it: the records not
 * delivered are dropped (first: their memory is charged to the tailer's
 * budget), and no checkpoint is written but the ones the test forced. */
static void
tailer_down(void)
{
	struct ls_record *r;

	if (x.t == NULL)
		return;
	drop_held();
	while ((r = ls_queue_trypop(x.q, NULL)) != NULL)
		ls_record_unref(r);
	ls_tailer_stop(x.t);
	ls_tailer_free(x.t);
	x.t = NULL;
	ls_budget_free(x.budget);
	x.budget = NULL;
	ls_ckpt_free(x.ckpt);
	x.ckpt = NULL;
	ls_metrics_free(x.m);
	x.m = NULL;
}

static void
teardown(void)
{
	size_t i;

	tailer_down();
	ls_queue_free(x.q);
	ls_conf_free(x.conf);
	ev_timer_stop(x.loop, &x.tick);
	ev_loop_destroy(x.loop);
	for (i = 0; i < x.n; i++)
		free(x.msg[i]);
	free(x.recs);
	free(x.msg);
	free(x.off);
	nftw(x.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < x.npaths; i++)
		free(x.paths[i]);
}

/* dir/name, valid until the test's end. */
static const char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_uint_lt(x.npaths, sizeof x.paths / sizeof x.paths[0]);
	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	x.paths[x.npaths++] = p;
	return p;
}

/* Line i of tag: W - 1 bytes and a newline, into buf (W + 1 bytes). */
static void
mkline(char *buf, const char *tag, size_t i)
{
	int n;

	n = snprintf(buf, W + 1, "%s line %06zu ", tag, i);
	ck_assert_int_lt(n, W - 1);
	memset(buf + n, 'x', (size_t)(W - 1 - n));
	buf[W - 1] = '\n';
	buf[W] = '\0';
}

/* Appends lines first..first+count-1 of tag to path. */
static void
append_lines(const char *path, const char *tag, size_t first, size_t count)
{
	char line[W + 1], *buf;
	size_t i;
	int fd;

	buf = malloc(count * W + 1);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < count; i++) {
		mkline(line, tag, first + i);
		memcpy(buf + i * W, line, W);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, count * W), (ssize_t)(count * W));
	ck_assert_int_eq(close(fd), 0);
	free(buf);
}

/* Appends s (no newline added) to path. */
static void
append_raw(const char *path, const char *s)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	ck_assert_int_eq(close(fd), 0);
}

/* Copies from to to (a new file), as cp and logrotate's copytruncate. */
static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	ck_assert_int_ge(in = open(from, O_RDONLY), 0);
	ck_assert_int_ge(out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

static void
stat_of(const char *path, struct stat *st)
{
	ck_assert_msg(
	    stat(path, st) == 0, "stat %s: %s", path, strerror(errno));
}

/*
 * The configuration: one source "app" following logs/\*.log, timers short
 * enough for a test (the stat poll, which also runs close_idle, every
 * 20 ms; a rotated file closed 50 ms after its end), the periodic
 * checkpoint out of the way (the test forces its own), and a destination
 * that is never used. Loaded from a YAML file, as the daemon does.
 */
static const char conf_fmt[] = "%s"
			       "state_dir: %s\n"
			       "max_buffer_bytes: %s\n"
			       "scan_interval: 100ms\n"
			       "poll_interval: 20ms\n"
			       "read_coalesce: 0s\n"
			       "checkpoint_interval: 1h\n"
			       "close_inactive: 50ms\n"
			       "close_removed_after: 1h\n"
			       "sources:\n"
			       "  - name: %s\n"
			       "    paths: [%s]\n"
			       "    follow_symlinks: %s\n"
			       "destinations:\n"
			       "  - name: out\n"
			       "    type: http\n"
			       "    url: http://127.0.0.1:9/in\n";

/* The configuration with one source, name, on paths (a YAML flow list's
 * contents). */
static struct ls_conf *
load_conf(
    const char *max_buffer, int follow, const char *name, const char *paths)
{
	const char *path = path_in(x.dir, "logshipd.yaml");
	struct ls_conf *c;
	char *yaml;
	FILE *f;
	int n;

	n = asprintf(&yaml, conf_fmt, x.top, x.state, max_buffer, name, paths,
	    follow ? "true" : "false");
	ck_assert_int_ge(n, 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(yaml, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	c = ls_conf_load(path, stderr);
	ck_assert_msg(c != NULL, "the test's configuration:\n%s", yaml);
	free(yaml);
	return c;
}

/* The configuration of source app on logs/\*.log. */
static void
make_conf(const char *max_buffer, int follow)
{
	ls_conf_free(x.conf);
	x.conf = load_conf(max_buffer, follow, "app", path_in(x.logs, "*.log"));
}

/* A tailer on the state directory's checkpoint, started, as main.c does. */
static void
tailer_up(void)
{
	ck_assert_ptr_null(x.t);
	x.ckpt = ls_ckpt_new(x.conf->state_dir);
	ck_assert_int_eq(ls_ckpt_load(x.ckpt), 0);
	x.m = ls_metrics_new(x.conf->ndests, x.conf->nsources);
	x.budget = ls_budget_new(x.conf->max_buffer_bytes);
	x.t = ls_tailer_new(x.loop, x.conf, x.q, x.budget, x.ckpt, x.m);
	ck_assert_ptr_nonnull(x.t);
	ck_assert_int_eq(ls_tailer_start(x.t), 0);
}

/* Moves what the tailer pushed into x.recs. */
static void
drain(void)
{
	struct ls_record *r;

	while ((r = ls_queue_trypop(x.q, NULL)) != NULL) {
		if (x.n == x.cap) {
			x.cap = x.cap == 0 ? 1024 : x.cap * 2;
			x.recs = realloc(x.recs, x.cap * sizeof *x.recs);
			x.msg = realloc(x.msg, x.cap * sizeof *x.msg);
			x.off = realloc(x.off, x.cap * sizeof *x.off);
			ck_assert(
			    x.recs != NULL && x.msg != NULL && x.off != NULL);
		}
		x.recs[x.n] = r;
		x.msg[x.n] = strndup(r->msg, r->len);
		ck_assert_ptr_nonnull(x.msg[x.n]);
		x.off[x.n] = r->offset;
		x.n++;
	}
}

/* Turns the loop, draining the queue, until cond(arg) holds: 1, or 0 at
 * the deadline. */
static int
pump(int (*cond)(void *), void *arg)
{
	int64_t end = deadline_ms();

	for (;;) {
		drain();
		if (cond(arg))
			return 1;
		if (ls_now_ms() >= end)
			return 0;
		ev_run(x.loop, EVRUN_ONCE);
	}
}

static int
have_n(void *arg)
{
	return x.n >= *(size_t *)arg;
}

/* Waits for n records in all, and checks that there are not more. */
static void
wait_n(size_t n)
{
	ck_assert_msg(
	    pump(have_n, &n), "waited for %zu records, got %zu", n, x.n);
	ck_assert_uint_eq(x.n, n);
}

struct files {
	size_t n, open, unread, pathless;
};

static void
count_cb(const struct ls_file_info *fi, void *arg)
{
	struct files *fs = arg;

	fs->n++;
	fs->open += fi->open != 0;
	fs->unread += fi->read != fi->size;
	fs->pathless += fi->path == NULL;
}

static struct files
files(void)
{
	struct files fs = { 0, 0, 0, 0 };

	ls_tailer_foreach_file(x.t, count_cb, &fs);
	return fs;
}

/* Every file followed is read to its size, and what that made is in
 * x.recs (a pass pushes its records before it returns). */
static int
all_read(void *arg)
{
	struct files fs = files();

	return fs.n >= *(size_t *)arg && fs.unread == 0
	    && ls_queue_len(x.q) == 0;
}

/* Waits until nfiles files are followed and every one is read to its
 * end: no more records are coming. */
static void
wait_all_read(size_t nfiles)
{
	ck_assert_msg(pump(all_read, &nfiles), "files not read to their end");
	drain();
}

static int
nfiles_is(void *arg)
{
	return files().n == *(size_t *)arg;
}

/* The committed and read offsets of the file followed under path. */
struct finfo {
	const char *path;
	int found;
	struct ls_file_info fi;
};

static void
find_cb(const struct ls_file_info *fi, void *arg)
{
	struct finfo *q = arg;

	if (fi->path != NULL && strcmp(fi->path, q->path) == 0) {
		q->found++;
		q->fi = *fi;
	}
}

static struct ls_file_info
file_named(const char *path)
{
	struct finfo q;

	memset(&q, 0, sizeof q);
	q.path = path;
	ls_tailer_foreach_file(x.t, find_cb, &q);
	ck_assert_msg(q.found == 1, "%s followed %d times", path, q.found);
	return q.fi;
}

/* Delivers records [from, from + n): acknowledged, then let go. */
static void
deliver(size_t from, size_t n)
{
	size_t i;

	ck_assert_uint_le(from + n, x.n);
	for (i = from; i < from + n; i++) {
		ck_assert_ptr_nonnull(x.recs[i]);
		ls_origin_ack(x.recs[i]);
		ls_record_unref(x.recs[i]);
		x.recs[i] = NULL;
	}
}

/* Forgets the records of a tailer that is gone (all delivered or
 * dropped): the next one's start at x.n = 0. */
static void
forget_recs(void)
{
	size_t i;

	for (i = 0; i < x.n; i++) {
		ck_assert_ptr_null(x.recs[i]);
		free(x.msg[i]);
	}
	x.n = 0;
}

/* The one record whose text is msg: its end offset. */
static uint64_t
offset_of(const char *msg)
{
	size_t i, k = 0;
	uint64_t off = 0;

	for (i = 0; i < x.n; i++)
		if (strcmp(x.msg[i], msg) == 0) {
			off = x.off[i];
			k++;
		}
	ck_assert_msg(k == 1, "\"%s\": %zu records", msg, k);
	return off;
}

/* Checks that records [from, from + n) are lines first.. of tag, in
 * order, each with its end offset. */
static void
check_recs(size_t from, size_t n, const char *tag, size_t first)
{
	char line[W + 1];
	size_t i;

	ck_assert_uint_le(from + n, x.n);
	for (i = 0; i < n; i++) {
		mkline(line, tag, first + i);
		line[W - 1] = '\0';
		ck_assert_str_eq(x.msg[from + i], line);
		ck_assert_uint_eq(x.off[from + i], (first + i + 1) * W);
	}
}

/* Checks that the records whose text starts with tag are lines first..
 * first + n - 1, in order and each once, with their offsets; returns how
 * many records there are of that tag. */
static size_t
check_tag(const char *tag, size_t first, size_t n)
{
	char line[W + 1];
	size_t i, k = 0, len = strlen(tag);

	for (i = 0; i < x.n; i++) {
		if (strncmp(x.msg[i], tag, len) != 0 || x.msg[i][len] != ' ')
			continue;
		ck_assert_msg(k < n, "%s: more than %zu records", tag, n);
		mkline(line, tag, first + k);
		line[W - 1] = '\0';
		ck_assert_str_eq(x.msg[i], line);
		ck_assert_uint_eq(x.off[i], (first + k + 1) * W);
		k++;
	}
	ck_assert_uint_eq(k, n);
	return k;
}

/* Writes the checkpoint now, and loads it into a fresh ls_ckpt (to
 * free). */
static struct ls_ckpt *
checkpoint(void)
{
	struct ls_ckpt *c;

	ck_assert_int_eq(ls_tailer_checkpoint(x.t, 1), 0);
	c = ls_ckpt_new(x.state);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	return c;
}

/* The entry of the file at path (by its dev and inode now), which must be
 * there. */
static const struct ls_ckpt_entry *
entry_of(const struct ls_ckpt *c, const char *path)
{
	const struct ls_ckpt_entry *e;
	struct stat st;

	stat_of(path, &st);
	e = ls_ckpt_find(c, "app", (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	ck_assert_msg(e != NULL, "no checkpoint entry for %s", path);
	ck_assert_str_eq(e->path, path);
	return e;
}

/* The fingerprint of the file at path now. */
static void
fingerprint(const char *path, uint32_t *len, uint64_t *fp)
{
	int fd;

	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(ls_fingerprint(fd, len, fp), 0);
	close(fd);
}

/* Adds to the checkpoint on disk (written if missing) an entry for the
 * file at path (its dev and inode), with that fingerprint and offset. */
static void
fake_entry(const char *path, uint32_t fp_len, uint64_t fp, uint64_t off)
{
	struct ls_ckpt_entry e;
	struct ls_ckpt *c;
	struct stat st;

	stat_of(path, &st);
	e.source = "app";
	e.path = (char *)path;
	e.dev = (uint64_t)st.st_dev;
	e.ino = (uint64_t)st.st_ino;
	e.fp_len = fp_len;
	e.fp = fp;
	e.offset = off;
	c = ls_ckpt_new(x.state);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ls_ckpt_put(c, &e);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);
}

/*
 * Identity.
 */

/* A file is followed: its lines are records with their text and end
 * offsets, appends too; delivered, the checkpoint names it (dev, inode,
 * fingerprint of what it holds) at its end. */
START_TEST(test_follow)
{
	const char *app = path_in(x.logs, "app.log");
	const struct ls_ckpt_entry *e;
	struct ls_ckpt *c;
	uint64_t fp;
	uint32_t fp_len;

	append_lines(app, "app", 0, 3);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(3);
	check_recs(0, 3, "app", 0);
	append_lines(app, "app", 3, 2);
	wait_n(5);
	check_recs(3, 2, "app", 3);
	ck_assert_uint_eq(file_named(app).committed, 0);
	ck_assert_uint_eq(file_named(app).read, 5 * W);

	/* Delivered out of order: the committed offset waits for the
	 * first. */
	deliver(1, 4);
	ck_assert_uint_eq(file_named(app).committed, 0);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 0);
	ls_ckpt_free(c);
	deliver(0, 1);
	ck_assert_uint_eq(file_named(app).committed, 5 * W);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	e = entry_of(c, app);
	ck_assert_uint_eq(e->offset, 5 * W);
	fingerprint(app, &fp_len, &fp);
	ck_assert_uint_eq(e->fp_len, 5 * W);
	ck_assert_uint_eq(e->fp, fp);
	ls_ckpt_free(c);
	ck_assert_uint_eq(LS_LOAD(x.m->lines_read), 5);
	ck_assert_uint_eq(LS_LOAD(x.m->inode_reuse), 0);
}
END_TEST

/* A new file with the inode of one the checkpoint knows, but other first
 * bytes (faked: the entry names the new file's inode with another
 * fingerprint and an offset far past its end), is a new file: read from
 * 0, counted as an inode reuse, and checkpointed under its own
 * fingerprint. */
START_TEST(test_inode_reuse)
{
	const char *app = path_in(x.logs, "new.log");
	const struct ls_ckpt_entry *e;
	struct ls_ckpt *c;
	uint64_t fp;
	uint32_t fp_len;

	append_lines(app, "new", 0, 4);
	fingerprint(app, &fp_len, &fp);
	fake_entry(app, fp_len, fp ^ 0x5a5a, 1000000);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(4);
	check_recs(0, 4, "new", 0);
	wait_all_read(1);
	ck_assert_uint_eq(x.n, 4);
	ck_assert_uint_eq(LS_LOAD(x.m->inode_reuse), 1);
	deliver(0, 4);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	e = entry_of(c, app);
	ck_assert_uint_eq(e->offset, 4 * W);
	ck_assert_uint_eq(e->fp_len, fp_len);
	ck_assert_uint_eq(e->fp, fp);
	ls_ckpt_free(c);
}
END_TEST

/* The same first bytes, but shorter than the entry's offset: truncated
 * while stopped (no copy beside it), read from 0. With the same bytes
 * and an offset within it: resumed at the offset. */
START_TEST(test_shorter_than_entry)
{
	const char *a = path_in(x.logs, "a.log");
	const char *b = path_in(x.logs, "b.log");
	uint64_t fa, fb;
	uint32_t la, lb;

	append_lines(a, "aaa", 0, 3);
	append_lines(b, "bbb", 0, 5);
	fingerprint(a, &la, &fa);
	fingerprint(b, &lb, &fb);
	fake_entry(a, la, fa, 10 * W);
	fake_entry(b, lb, fb, 2 * W);
	make_conf("64MiB", 0);
	tailer_up();
	wait_all_read(2);
	ck_assert_uint_eq(x.n, 3 + 3);
	check_tag("aaa", 0, 3);
	check_tag("bbb", 2, 3);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations), 1);
	ck_assert_uint_eq(LS_LOAD(x.m->inode_reuse), 0);
}
END_TEST

/*
 * Truncation without a copy.
 */

/* Lines read, not delivered; the file truncated and written again: the
 * new lines come from offset 0. Delivering the old life's records moves
 * nothing of the new life's; the checkpoint holds one entry for the
 * file, the new life's, at 0 until its own lines are delivered. */
START_TEST(test_truncate_no_copy)
{
	const char *app = path_in(x.logs, "app.log");
	struct ls_ckpt *c;
	size_t one = 1;

	append_lines(app, "old", 0, 5);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(5);
	check_recs(0, 5, "old", 0);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "new", 0, 3);
	wait_n(8);
	check_recs(5, 3, "new", 0);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations), 1);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations_no_copy), 1);
	/* Two lives: the old one nameless, waiting for its records. */
	ck_assert_uint_eq(files().n, 2);
	ck_assert_uint_eq(files().pathless, 1);
	ck_assert_uint_eq(file_named(app).read, 3 * W);

	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 0);
	ls_ckpt_free(c);

	deliver(0, 5);
	ck_assert_uint_eq(file_named(app).committed, 0);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 0);
	ls_ckpt_free(c);
	/* Delivered, the old life is forgotten (close_idle). */
	ck_assert(pump(nfiles_is, &one));

	deliver(5, 3);
	ck_assert_uint_eq(file_named(app).committed, 3 * W);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 3 * W);
	ls_ckpt_free(c);
	ck_assert_uint_eq(x.n, 8);
}
END_TEST

/*
 * copytruncate with a copy, while the intake is down (nothing delivered).
 */

#define NOLD 1000
#define NNEW 10

/* NOLD lines read and held; app.log copied to app.log.1 and truncated;
 * NNEW lines appended. */
static void
outage_copytruncate(void)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");

	append_lines(app, "old", 0, NOLD);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(NOLD);
	check_recs(0, NOLD, "old", 0);
	copy_file(app, copy);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "new", 0, NNEW);
	wait_n(NOLD + NNEW);
	check_recs(NOLD, NNEW, "new", 0);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations), 1);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations_no_copy), 0);
}

/* The forced checkpoint names the copy, at 0 (nothing delivered), and
 * app.log at 0. Once everything is delivered, the copy (read to its end)
 * is forgotten and its entry goes; app.log's entry is at its end. */
START_TEST(test_copytruncate_outage)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	struct ls_ckpt *c;
	size_t one = 1;

	outage_copytruncate();
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 2);
	ck_assert_uint_eq(entry_of(c, copy)->offset, 0);
	ck_assert_uint_eq(entry_of(c, app)->offset, 0);
	ls_ckpt_free(c);
	ck_assert_uint_eq(files().n, 2);

	/* The intake is back. */
	deliver(0, NOLD + NNEW);
	ck_assert_msg(pump(nfiles_is, &one), "the copy is still followed");
	wait_all_read(1);
	ck_assert_uint_eq(x.n, NOLD + NNEW);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, NNEW * W);
	ls_ckpt_free(c);
}
END_TEST

/* The same, then a crash: a prefix of each file delivered and
 * checkpointed, the rest dropped undelivered, the tailer gone. A new one
 * on the same state reads the copy from its entry's offset and app.log
 * from its own: across both, every line is delivered exactly once. */
START_TEST(test_copytruncate_restart)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	const size_t kold = 250, knew = 4;
	struct ls_ckpt *c;

	outage_copytruncate();
	deliver(0, kold);
	deliver(NOLD, knew);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 2);
	ck_assert_uint_eq(entry_of(c, copy)->offset, kold * W);
	ck_assert_uint_eq(entry_of(c, app)->offset, knew * W);
	ls_ckpt_free(c);

	/* kill -9: what was not delivered is lost in flight. */
	tailer_down();
	forget_recs();

	tailer_up();
	wait_all_read(2);
	ck_assert_uint_eq(x.n, (NOLD - kold) + (NNEW - knew));
	check_tag("old", kold, NOLD - kold);
	check_tag("new", knew, NNEW - knew);
	deliver(0, x.n);
	c = checkpoint();
	ck_assert_uint_eq(entry_of(c, app)->offset, NNEW * W);
	ls_ckpt_free(c);
}
END_TEST

/* Lines written before the copy and not read yet, the last one cut by
 * the truncation: read from the copy (the cut line shipped as it is),
 * each once, with the copy's offsets; the new lines from 0. */
START_TEST(test_copytruncate_unread)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	const char *cut = "the line the truncation cut";
	struct ls_ckpt *c;
	size_t one = 1;

	append_lines(app, "old", 0, 100);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(100);
	/* The loop does not turn meanwhile: nothing of it is read. */
	append_lines(app, "old", 100, 5);
	append_raw(app, cut);
	copy_file(app, copy);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "new", 0, NNEW);
	wait_n(100 + 5 + 1 + NNEW);
	wait_all_read(2);
	ck_assert_uint_eq(x.n, 100 + 5 + 1 + NNEW);
	check_tag("old", 0, 105);
	check_tag("new", 0, NNEW);
	ck_assert_uint_eq(offset_of(cut), 105 * W + strlen(cut));
	ck_assert_uint_eq(LS_LOAD(x.m->truncations_no_copy), 0);
	deliver(0, x.n);
	ck_assert_msg(pump(nfiles_is, &one), "the copy is still followed");
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, NNEW * W);
	ls_ckpt_free(c);
}
END_TEST

/* copytruncate while stopped, with lines not yet read and lines read but
 * not delivered: the copy is read from the checkpoint's offset, the
 * truncated file from 0; every line once across both runs. */
START_TEST(test_copytruncate_stopped)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	const size_t k = 30;
	struct ls_ckpt *c;
	size_t one = 1;

	append_lines(app, "old", 0, 100);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(100);
	deliver(0, k);
	c = checkpoint();
	ck_assert_uint_eq(entry_of(c, app)->offset, k * W);
	ls_ckpt_free(c);
	tailer_down();
	forget_recs();

	append_lines(app, "old", 100, 5);
	copy_file(app, copy);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "new", 0, NNEW);
	tailer_up();
	wait_all_read(2);
	ck_assert_uint_eq(x.n, (105 - k) + NNEW);
	check_tag("old", k, 105 - k);
	check_tag("new", 0, NNEW);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 2);
	ck_assert_uint_eq(entry_of(c, copy)->offset, k * W);
	ck_assert_uint_eq(entry_of(c, app)->offset, 0);
	ls_ckpt_free(c);
	deliver(0, x.n);
	ck_assert_msg(pump(nfiles_is, &one), "the copy is still followed");
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, NNEW * W);
	ls_ckpt_free(c);
}
END_TEST

/* Two copytruncates during one outage (app.log.1 renamed to app.log.2
 * in between, as logrotate rotates), then a crash and a restart: each
 * life has its own entry (two of them once named app.log.1), each is
 * found again, by inode, where it is now, and every line is delivered
 * once across both runs. */
START_TEST(test_copytruncate_twice)
{
	const char *app = path_in(x.logs, "app.log");
	const char *c1 = path_in(x.logs, "app.log.1");
	const char *c2 = path_in(x.logs, "app.log.2");
	struct ls_ckpt *c;
	struct stat st1;

	append_lines(app, "one", 0, 100);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(100);
	copy_file(app, c1);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "two", 0, 20);
	wait_n(120);
	stat_of(c1, &st1);
	ck_assert_int_eq(rename(c1, c2), 0);
	copy_file(app, c1);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "tri", 0, 5);
	wait_n(125);
	check_tag("one", 0, 100);
	check_tag("two", 0, 20);
	check_tag("tri", 0, 5);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations), 2);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations_no_copy), 0);
	/* Some of each delivered: 10 of one, 3 of two, 1 of tri. */
	deliver(0, 10);
	deliver(100, 3);
	deliver(120, 1);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 3);
	ck_assert_uint_eq(entry_of(c, c1)->offset, 3 * W);
	ck_assert_uint_eq(entry_of(c, app)->offset, 1 * W);
	ck_assert_uint_eq(
	    ls_ckpt_find(c, "app", (uint64_t)st1.st_dev, (uint64_t)st1.st_ino)
		->offset,
	    10 * W);
	ls_ckpt_free(c);
	tailer_down();
	forget_recs();

	tailer_up();
	wait_all_read(3);
	ck_assert_uint_eq(x.n, 90 + 17 + 4);
	check_tag("one", 10, 90);
	check_tag("two", 3, 17);
	check_tag("tri", 1, 4);
	deliver(0, x.n);
}
END_TEST

/*
 * A rename while stopped.
 */

/* Checkpointed at offset K of app.log; stopped; app.log renamed to
 * app.log.1 and a new app.log made: app.log.1 is read from K (only the
 * rest), the new app.log from 0. */
START_TEST(test_rename_stopped)
{
	const char *app = path_in(x.logs, "app.log");
	const char *old = path_in(x.logs, "app.log.1");
	const size_t k = 4;
	struct ls_ckpt *c;

	append_lines(app, "one", 0, 10);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(10);
	deliver(0, k);
	c = checkpoint();
	ck_assert_uint_eq(entry_of(c, app)->offset, k * W);
	ls_ckpt_free(c);
	tailer_down();
	forget_recs();

	ck_assert_int_eq(rename(app, old), 0);
	append_lines(app, "two", 0, 3);
	tailer_up();
	wait_all_read(2);
	ck_assert_uint_eq(x.n, (10 - k) + 3);
	check_tag("one", k, 10 - k);
	check_tag("two", 0, 3);
	deliver(0, x.n);
	c = checkpoint();
	ck_assert_uint_eq(entry_of(c, app)->offset, 3 * W);
	ls_ckpt_free(c);
}
END_TEST

/* Renamed while running (logrotate's create), with lines not read yet:
 * the renamed file is read to its end, the new one from 0; delivered,
 * the renamed one is forgotten and the checkpoint names the new one. */
START_TEST(test_rename_running)
{
	const char *app = path_in(x.logs, "app.log");
	const char *old = path_in(x.logs, "app.log.1");
	struct ls_ckpt *c;
	size_t one = 1;

	append_lines(app, "one", 0, 10);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(10);
	append_lines(app, "one", 10, 5);
	ck_assert_int_eq(rename(app, old), 0);
	append_lines(app, "two", 0, 3);
	wait_all_read(2);
	ck_assert_uint_eq(x.n, 15 + 3);
	check_tag("one", 0, 15);
	check_tag("two", 0, 3);
	deliver(0, x.n);
	ck_assert_msg(pump(nfiles_is, &one), "the renamed file is followed");
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 3 * W);
	ls_ckpt_free(c);
}
END_TEST

/*
 * The memory budget.
 */

struct unref_job {
	struct ls_record **recs;
	size_t n;
};

/* Lets records go on another thread, as the senders do: the budget's
 * resume callback then runs there and wakes the loop (ev_async). */
static void *
unref_thread(void *arg)
{
	struct unref_job *j = arg;
	size_t i;

	for (i = 0; i < j->n; i++)
		ls_record_unref(j->recs[i]);
	return NULL;
}

/* Delivers every record held: acknowledged on the loop's thread, let go
 * on another. */
static void
deliver_held_async(void)
{
	struct unref_job j;
	pthread_t thr;
	size_t i;

	j.recs = malloc((x.n + 1) * sizeof *j.recs);
	ck_assert_ptr_nonnull(j.recs);
	j.n = 0;
	for (i = 0; i < x.n; i++) {
		if (x.recs[i] == NULL)
			continue;
		ls_origin_ack(x.recs[i]);
		j.recs[j.n++] = x.recs[i];
		x.recs[i] = NULL;
	}
	/* TODO(ls_thread_start) */
	ck_assert_int_eq(pthread_create(&thr, NULL, unref_thread, &j), 0);
	ck_assert_int_eq(pthread_join(thr, NULL), 0);
	free(j.recs);
}

static int
paused_or_n(void *arg)
{
	return ls_tailer_paused(x.t) || x.n >= *(size_t *)arg;
}

/* Reading went on: more records than n (a resume may pause again at
 * once, within one callback). */
static int
more_than(void *arg)
{
	return x.n > *(size_t *)arg;
}

/* max_buffer_bytes at its least (1 MiB), and records worth several times
 * that: reading pauses with the records held, nothing more comes while
 * they are; delivered, reading resumes (the budget's callback, from
 * another thread, into the loop) and the rest arrives: every line once,
 * in order. */
START_TEST(test_budget)
{
	const char *app = path_in(x.logs, "app.log");
	struct ls_budget *b;
	size_t nlines = 40000, pauses = 0, before, i;

	append_lines(app, "app", 0, nlines);
	make_conf("1MiB", 0);
	tailer_up();
	b = ls_tailer_budget(x.t);
	ck_assert_uint_eq(ls_budget_high(b), 1024 * 1024);
	while (x.n < nlines) {
		ck_assert_msg(pump(paused_or_n, &nlines),
		    "neither paused nor done at %zu records", x.n);
		if (!ls_tailer_paused(x.t))
			continue;
		pauses++;
		ck_assert_uint_ge(ls_budget_used(b), ls_budget_high(b));
		/* Held: nothing more is read, however long the loop
		 * turns. */
		before = x.n;
		for (i = 0; i < 20; i++)
			ev_run(x.loop, EVRUN_ONCE);
		drain();
		ck_assert_uint_eq(x.n, before);
		ck_assert(ls_tailer_paused(x.t));
		ck_assert_uint_lt(file_named(app).read, nlines * W);
		deliver_held_async();
		ck_assert_msg(pump(more_than, &before),
		    "not resumed: %llu bytes used, %zu records",
		    (unsigned long long)ls_budget_used(b), x.n);
	}
	wait_all_read(1);
	ck_assert_uint_eq(x.n, nlines);
	check_recs(0, nlines, "app", 0);
	/* 40,000 records of about 150 bytes: several budgets' worth. */
	ck_assert_uint_ge(pauses, 3);
	ck_assert_int_gt(ls_metrics_paused_ms(x.m, ls_now_ms()), 0);
	deliver_held_async();
	ck_assert_uint_eq(ls_budget_used(b), 0);
	ck_assert_uint_eq(file_named(app).committed, nlines * W);
}
END_TEST

/* A copytruncate while reading is paused, with most of the file not read
 * yet: the copy is read under the budget too (it pauses again, and the
 * memory held stays within the budget and a read's worth of records),
 * and every line arrives once, the copy's then the new ones. */
START_TEST(test_budget_copy)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	struct ls_budget *b;
	size_t nlines = 40000, pauses = 0, before;
	uint64_t used, most = 0;

	append_lines(app, "old", 0, nlines);
	make_conf("1MiB", 0);
	tailer_up();
	b = ls_tailer_budget(x.t);
	ck_assert(pump(paused_or_n, &nlines));
	ck_assert(ls_tailer_paused(x.t));
	ck_assert_uint_lt(x.n, nlines / 2);
	copy_file(app, copy);
	ck_assert_int_eq(truncate(app, 0), 0);
	append_lines(app, "new", 0, NNEW);
	nlines += NNEW;
	while (x.n < nlines) {
		ck_assert_msg(pump(paused_or_n, &nlines),
		    "neither paused nor done at %zu records", x.n);
		if (!ls_tailer_paused(x.t))
			continue;
		pauses++;
		used = ls_budget_used(b);
		if (used > most)
			most = used;
		before = x.n;
		deliver_held_async();
		ck_assert_msg(pump(more_than, &before),
		    "not resumed: %llu bytes used, %zu records",
		    (unsigned long long)ls_budget_used(b), x.n);
	}
	wait_all_read(1);
	ck_assert_uint_eq(x.n, nlines);
	check_tag("old", 0, nlines - NNEW);
	check_tag("new", 0, NNEW);
	ck_assert_uint_ge(pauses, 3);
	/* The high mark, and at most one read(2) of 256 KiB in records
	 * of 64 bytes beyond it. */
	ck_assert_uint_lt(
	    most, ls_budget_high(b) + 4096 * (sizeof(struct ls_record) + W));
	ck_assert_uint_eq(LS_LOAD(x.m->truncations_no_copy), 0);
	deliver_held_async();
	ck_assert_uint_eq(ls_budget_used(b), 0);
}
END_TEST

/*
 * A copytruncate while reading is paused (an intake outage), and the
 * application writes more than the read offset into the truncated file
 * before reading resumes: the copy's unread rest and the new file's first
 * bytes must still arrive, each line once.
 *
 * Found by this suite: the truncation was only looked for when a read
 * found nothing, and nothing is read while paused; at the resume the file
 * was longer than the offset, so the rest of the copy was never read and
 * the new file was read on from the old offset: 40,000 of 48,292 lines
 * lost, silently. The poll now looks at every open file, paused or not
 * (tail_check_rewritten: shorter, or other first bytes).
 */
START_TEST(test_budget_copy_grown)
{
	const char *app = path_in(x.logs, "app.log");
	const char *copy = path_in(x.logs, "app.log.1");
	size_t nold = 40000, nnew, total, before;
	uint64_t off;

	append_lines(app, "old", 0, nold);
	make_conf("1MiB", 0);
	tailer_up();
	ck_assert(pump(paused_or_n, &nold));
	ck_assert(ls_tailer_paused(x.t));
	off = file_named(app).read;
	ck_assert_uint_lt(off, nold * W);
	copy_file(app, copy);
	ck_assert_int_eq(truncate(app, 0), 0);
	nnew = off / W + 100;
	append_lines(app, "new", 0, nnew);
	total = nold + nnew;
	while (x.n < total) {
		ck_assert_msg(pump(paused_or_n, &total),
		    "neither paused nor done at %zu records", x.n);
		if (!ls_tailer_paused(x.t))
			continue;
		before = x.n;
		deliver_held_async();
		ck_assert_msg(pump(more_than, &before), "not resumed");
	}
	wait_all_read(1);
	ck_assert_uint_eq(LS_LOAD(x.m->truncations), 1);
	check_tag("old", 0, nold);
	check_tag("new", 0, nnew);
	ck_assert_uint_eq(x.n, total);
	deliver_held_async();
}
END_TEST

/*
 * Descriptors and restarts.
 */

/* More files than max_open_files, after a restart: those waiting for a
 * descriptor keep their checkpoint entries meanwhile, and every file is
 * read from its own committed offset: each line once across both runs. */
START_TEST(test_max_open_restart)
{
	enum { NF = 12, K = 2, N1 = 5, N2 = 3 };
	const char *path[NF];
	struct ls_ckpt *c;
	char name[32], tag[8];
	size_t i, r;

	for (i = 0; i < NF; i++) {
		snprintf(name, sizeof name, "f%02zu.log", i);
		path[i] = path_in(x.logs, name);
		snprintf(tag, sizeof tag, "f%02zu", i);
		append_lines(path[i], tag, 0, N1);
	}
	make_conf("64MiB", 0);
	tailer_up();
	wait_all_read(NF);
	ck_assert_uint_eq(x.n, NF * N1);
	/* The first K lines of each file delivered. */
	for (r = 0; r < x.n; r++)
		if (x.off[r] <= K * W)
			deliver(r, 1);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), NF);
	for (i = 0; i < NF; i++)
		ck_assert_uint_eq(entry_of(c, path[i])->offset, K * W);
	ls_ckpt_free(c);
	tailer_down();
	forget_recs();

	for (i = 0; i < NF; i++) {
		snprintf(tag, sizeof tag, "f%02zu", i);
		append_lines(path[i], tag, N1, N2);
	}
	x.top = "max_open_files: 8\n";
	make_conf("64MiB", 0);
	tailer_up();
	ck_assert_uint_le(ls_tailer_nfiles(x.t), 8);
	/* Before any read: the entries of the files waiting are kept. */
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), NF);
	for (i = 0; i < NF; i++)
		ck_assert_uint_eq(entry_of(c, path[i])->offset, K * W);
	ls_ckpt_free(c);
	wait_all_read(NF);
	ck_assert_uint_eq(x.n, NF * (N1 + N2 - K));
	for (i = 0; i < NF; i++) {
		snprintf(tag, sizeof tag, "f%02zu", i);
		check_tag(tag, K, N1 + N2 - K);
	}
	deliver(0, x.n);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), NF);
	for (i = 0; i < NF; i++)
		ck_assert_uint_eq(entry_of(c, path[i])->offset, (N1 + N2) * W);
	ls_ckpt_free(c);
}
END_TEST

/* A partial last line is not shipped at shutdown (it was never a line);
 * completed while stopped, it is read whole after the restart. */
START_TEST(test_partial_restart)
{
	const char *app = path_in(x.logs, "app.log");
	struct ls_ckpt *c;

	append_lines(app, "app", 0, 2);
	append_raw(app, "half a");
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(2);
	wait_all_read(1);
	ck_assert_uint_eq(x.n, 2);
	deliver(0, 2);
	c = checkpoint();
	ck_assert_uint_eq(entry_of(c, app)->offset, 2 * W);
	ls_ckpt_free(c);
	tailer_down();
	forget_recs();
	append_raw(app, " line\n");
	tailer_up();
	wait_all_read(1);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_str_eq(x.msg[0], "half a line");
	ck_assert_uint_eq(x.off[0], 2 * W + strlen("half a line\n"));
	deliver(0, 1);
}
END_TEST

/* The shutdown drain: once stopped, nothing more is read, but the
 * records in flight are still acknowledged and the final checkpoint has
 * their offsets. */
START_TEST(test_stop_drain)
{
	const char *app = path_in(x.logs, "app.log");
	struct ls_ckpt *c;

	append_lines(app, "app", 0, 6);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(6);
	ls_tailer_stop(x.t);
	append_lines(app, "app", 6, 2);
	deliver(0, 6);
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(entry_of(c, app)->offset, 6 * W);
	ls_ckpt_free(c);
	/* Every watcher of the tailer's is stopped but the checkpoint
	 * timer (1 h): a turn of the loop has only the test's tick. */
	ev_run(x.loop, EVRUN_ONCE);
	ev_run(x.loop, EVRUN_ONCE);
	drain();
	ck_assert_uint_eq(x.n, 6);
	ck_assert_uint_eq(file_named(app).read, 6 * W);
}
END_TEST

/*
 * Reload.
 */

/* A reload that adds a path scans it at once; one that removes the
 * source stops reading its files, and keeps their committed offsets in
 * the checkpoint while they are still followed. */
START_TEST(test_reload)
{
	const char *app = path_in(x.logs, "app.log");
	const char *logs2 = path_in(x.dir, "logs2");
	const char *b = path_in(logs2, "b.log");
	struct ls_conf *c2, *c3;
	struct ls_ckpt *c;
	char *paths;

	append_lines(app, "aaa", 0, 2);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(2);
	ck_assert_int_eq(mkdir(logs2, 0700), 0);
	append_lines(b, "bbb", 0, 3);
	ck_assert_int_ge(
	    asprintf(&paths, "%s/*.log, %s/*.log", x.logs, logs2), 0);
	c2 = load_conf("64MiB", 0, "app", paths);
	free(paths);
	ls_tailer_reload(x.t, c2);
	ls_conf_free(x.conf);
	x.conf = c2;
	wait_all_read(2);
	ck_assert_uint_eq(x.n, 5);
	check_tag("aaa", 0, 2);
	check_tag("bbb", 0, 3);
	deliver(0, 1);
	deliver(2, 3);

	/* The source is gone; another takes its place. */
	c3 = load_conf("64MiB", 0, "web", path_in(x.out, "*.log"));
	ls_tailer_reload(x.t, c3);
	ls_conf_free(x.conf);
	x.conf = c3;
	c = checkpoint();
	ck_assert_uint_eq(ls_ckpt_count(c), 2);
	ck_assert_uint_eq(entry_of(c, app)->offset, W);
	ck_assert_uint_eq(entry_of(c, b)->offset, 3 * W);
	ls_ckpt_free(c);
	ck_assert_uint_eq(files().open, 0);
	/* Written after, then a file of the new source: once its line is
	 * in, the pass that read it would have read the others' too. */
	append_lines(app, "aaa", 2, 2);
	append_lines(b, "bbb", 3, 2);
	append_lines(path_in(x.out, "web.log"), "web", 0, 1);
	wait_n(5 + 1);
	check_tag("web", 0, 1);
	ck_assert_uint_eq(file_named(path_in(x.out, "web.log")).read, W);
	drain();
	ck_assert_uint_eq(x.n, 5 + 1);
	deliver(1, 1);
	deliver(5, 1);
}
END_TEST

/*
 * Symbolic links.
 */

/* By default a link in the watched directory is not read, even to a
 * file of that directory; a link to a file outside it, never. */
START_TEST(test_symlink_default)
{
	const char *secret = path_in(x.out, "secret.log");

	append_lines(secret, "sec", 0, 2);
	append_lines(path_in(x.logs, "inside.txt"), "ins", 0, 2);
	ck_assert_int_eq(symlink(secret, path_in(x.logs, "out.log")), 0);
	ck_assert_int_eq(
	    symlink(path_in(x.logs, "inside.txt"), path_in(x.logs, "in.log")),
	    0);
	append_lines(path_in(x.logs, "app.log"), "app", 0, 1);
	make_conf("64MiB", 0);
	tailer_up();
	wait_all_read(1);
	ck_assert_uint_eq(files().n, 1);
	ck_assert_uint_eq(x.n, 1);
	check_recs(0, 1, "app", 0);
	ck_assert_uint_eq(LS_LOAD(x.m->paths_refused), 2);
}
END_TEST

/* follow_symlinks: a link to a file under the source's directory is
 * read; a link out of it still is not. */
START_TEST(test_symlink_follow)
{
	const char *secret = path_in(x.out, "secret.log");

	append_lines(secret, "sec", 0, 2);
	append_lines(path_in(x.logs, "inside.txt"), "ins", 0, 3);
	ck_assert_int_eq(symlink(secret, path_in(x.logs, "out.log")), 0);
	ck_assert_int_eq(
	    symlink(path_in(x.logs, "inside.txt"), path_in(x.logs, "in.log")),
	    0);
	make_conf("64MiB", 1);
	tailer_up();
	wait_all_read(1);
	ck_assert_uint_eq(files().n, 1);
	ck_assert_uint_eq(x.n, 3);
	check_recs(0, 3, "ins", 0);
	ck_assert_uint_eq(LS_LOAD(x.m->paths_refused), 1);
}
END_TEST

/* The record's message as ls_encode_batch sends it, max_msg bytes at
 * most (escaped), decoded. */
static char *
sent_as(struct ls_record *r, size_t max_msg)
{
	struct ls_buf b;
	json_t *j;
	char *m;

	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, NULL, &r, 1, max_msg, 0);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	m = strdup(json_string_value(json_object_get(j, "message")));
	ck_assert_ptr_nonnull(m);
	json_decref(j);
	ls_buf_cleanup(&b);
	return m;
}

/* One truncation marker, whichever cut made it: a line over
 * max_line_bytes, cut at reading with a character that the cut would
 * split left out whole, and lines over max_entry_bytes, cut at encoding
 * (one cut at reading first), all end in " [logshipd: truncated N
 * bytes]", N the bytes of the line left out; only the first cut is
 * counted as a truncated line (LS_REC_TRUNCATED, lines_truncated). */
START_TEST(test_truncation_marker)
{
	const char *app = path_in(x.logs, "app.log");
	size_t max = 256 * 1024, total = max + 1000, keep, n;
	char *text, want[64], *m;

	/* "LONG aaa...", a euro sign (3 bytes) at max - 1, "bbb...". */
	ck_assert_ptr_nonnull(text = malloc(total + 200));
	memset(text, 'a', max - 1);
	memcpy(text, "LONG ", 5);
	memcpy(text + max - 1, "\xe2\x82\xac", 3);
	memset(text + max + 2, 'b', total - max - 2);
	/* "SHORT " and 60 bytes: over 36 at encoding. */
	text[total] = '\n';
	memcpy(text + total + 1, "SHORT ", 6);
	memset(text + total + 7, 's', 60);
	memcpy(text + total + 67, "\n", 2);
	append_raw(app, text);
	make_conf("64MiB", 0);
	tailer_up();
	wait_n(2);

	/* At reading: max - 1 bytes, the euro sign left out whole. */
	keep = max - 1;
	snprintf(want, sizeof want, " [logshipd: truncated %zu bytes]",
	    total - keep);
	ck_assert_uint_eq(x.recs[0]->len, keep + strlen(want));
	ck_assert(memcmp(x.recs[0]->msg, text, keep) == 0);
	ck_assert_str_eq(x.msg[0] + keep, want);
	ck_assert(x.recs[0]->flags & LS_REC_TRUNCATED);
	ck_assert(!(x.recs[1]->flags & LS_REC_TRUNCATED));
	ck_assert_uint_eq(LS_LOAD(x.m->lines_truncated), 1);

	/* At encoding, after the cut at reading: one marker, counting the
	 * bytes both cuts left out. */
	m = sent_as(x.recs[0], 100);
	ck_assert_uint_le(strlen(m), 100);
	n = 0;
	keep = ls_trunc_mark_find(m, strlen(m), &n);
	ck_assert_uint_lt(keep, strlen(m));
	ck_assert(memcmp(m, text, keep) == 0);
	ck_assert_uint_eq(n, total - keep);
	snprintf(want, sizeof want, " [logshipd: truncated %zu bytes]", n);
	ck_assert_str_eq(m + keep, want);
	free(m);

	/* At encoding only: the same form. */
	m = sent_as(x.recs[1], 36);
	ck_assert_str_eq(m, "SHORT [logshipd: truncated 61 bytes]");
	free(m);
	free(text);
	deliver(0, 2);
}
END_TEST

static Suite *
tail_suite(void)
{
	Suite *s = suite_create("tail");
	TCase *tc;

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_follow);
	tcase_add_test(tc, test_inode_reuse);
	tcase_add_test(tc, test_shorter_than_entry);
	tcase_add_test(tc, test_truncation_marker);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_truncate_no_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("copytruncate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_copytruncate_outage);
	tcase_add_test(tc, test_copytruncate_restart);
	tcase_add_test(tc, test_copytruncate_unread);
	tcase_add_test(tc, test_copytruncate_stopped);
	tcase_add_test(tc, test_copytruncate_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("rename_stopped");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rename_stopped);
	tcase_add_test(tc, test_rename_running);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_budget_copy);
	tcase_add_test(tc, test_budget_copy_grown);
	suite_add_tcase(s, tc);

	tc = tcase_create("restart");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_max_open_restart);
	tcase_add_test(tc, test_partial_restart);
	tcase_add_test(tc, test_stop_drain);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("symlinks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_symlink_default);
	tcase_add_test(tc, test_symlink_follow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(tail_suite());
}
