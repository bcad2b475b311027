/*
 * check_checkpoint: the persisted state and the fingerprint.
 *
 * A round trip of 10,000 entries (with numbers above INT64_MAX and a path
 * that is not UTF-8) through write and load, each found again by identity.
 * Loading: nothing on disk is a first run; a damaged checkpoint.json (one
 * test per kind of damage) falls back to .prev with its entries intact;
 * both damaged fails. Writing: failures (a read-only directory, a state
 * directory under a regular file, a directory where the temporary file
 * goes, a file size limit hit mid-write) return -1 with errno and leave
 * the generations on disk as they were, with the temporary file gone, and
 * are logged once per errno. Root ignores directory modes, so the
 * read-only case checks only when not root; the others hold for root too.
 *
 * The writer thread (tcase "writer"): a text handed over while a failed
 * one waits for its retry replaces it (the latest wins), and flush writes
 * it at once and waits; a failure reaches flush's result and the
 * counters; a thousand hand-overs racing the thread (for TSan) end with
 * the last one on disk; ls_ckpt_due, by cost and by lines delivered.
 *
 * State security (tcase "security"): a link planted as the temporary file
 * is replaced, its target untouched (a dangling one creates nothing); a
 * checkpoint.json that is a link to /dev/zero, a FIFO, or over the size
 * cap is refused at once and .prev used; a state_dir that group or others
 * may write, or that is a link, is refused unless allowed; files are 0600.
 *
 * Each test works in its own mkdtemp directory under /tmp.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkpoint.h"
#include "status_metrics.h"
#include "testutil.h"

#define NENT 10000

static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_ckpt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	/* Give back any mode a test took away, then remove everything. */
	chmod(tmpdir, 0700);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path under the test's directory, in a static buffer per slot. */
static const char *
in_tmp(int slot, const char *name)
{
	static char buf[4][256];

	snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
	return buf[slot];
}

/* Entry i of generation gen; strings in static buffers. */
static struct ls_ckpt_entry
make_entry(size_t i, unsigned gen)
{
	static char src[32], path[64];
	struct ls_ckpt_entry e;

	snprintf(src, sizeof src, "source%zu", i % 7);
	snprintf(path, sizeof path, "/var/log/app/%zu.log", i);
	e.source = src;
	e.path = path;
	e.dev = 2049 + i % 3;
	e.ino = 1000 + i * 13;
	e.fp_len = (uint32_t)(i % (LS_FP_MAX + 1));
	e.fp = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	e.offset = (uint64_t)i * 4096 + 7 + gen;
	if (i == 1) {
		/* Beyond what a JSON integer holds, and not UTF-8. */
		e.dev = UINT64_MAX;
		e.ino = (uint64_t)INT64_MAX + 1;
		snprintf(path, sizeof path, "/var/log/\xff\xfe-%u.log", gen);
	}
	if (i == 2)
		e.path = "";
	return e;
}

static void
fill(struct ls_ckpt *c, size_t n, unsigned gen)
{
	struct ls_ckpt_entry e;
	size_t i;

	ls_ckpt_clear(c);
	for (i = 0; i < n; i++) {
		e = make_entry(i, gen);
		ls_ckpt_put(c, &e);
	}
	ck_assert_uint_eq(ls_ckpt_count(c), n);
}

/* Checks that c holds exactly generation gen of n entries, in order. */
static void
expect(struct ls_ckpt *c, size_t n, unsigned gen)
{
	const struct ls_ckpt_entry *f, *g;
	struct ls_ckpt_entry e;
	size_t i;

	ck_assert_uint_eq(ls_ckpt_count(c), n);
	/* No ck_assert per field: each passing one costs Check a write(2). */
	for (i = 0; i < n; i++) {
		e = make_entry(i, gen);
		f = ls_ckpt_find(c, e.source, e.dev, e.ino);
		g = ls_ckpt_get(c, i);
		if (f == NULL || f != g)
			ck_abort_msg("entry %zu: found %p, get %p", i,
			    (const void *)f, (const void *)g);
		if (strcmp(f->source, e.source) != 0
		    || strcmp(f->path, e.path) != 0 || f->dev != e.dev
		    || f->ino != e.ino || f->fp_len != e.fp_len || f->fp != e.fp
		    || f->offset != e.offset)
			ck_abort_msg(
			    "entry %zu (%s %s) differs", i, e.source, e.path);
	}
	ck_assert_ptr_null(ls_ckpt_get(c, n));
}

static char *
slurp(const char *path)
{
	FILE *fp;
	char *s;
	long n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void
spew(const char *path, const char *s, size_t len)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(s, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Writes generation gen (n entries) through a fresh checkpoint. */
static void
write_gen(size_t n, unsigned gen)
{
	struct ls_ckpt *c;

	c = ls_ckpt_new(tmpdir);
	fill(c, n, gen);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);
}

START_TEST(round_trip)
{
	struct ls_ckpt *c;
	struct stat st;

	write_gen(NENT, 0);
	ck_assert_int_eq(stat(in_tmp(0, "checkpoint.json"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(access(in_tmp(0, "checkpoint.json.tmp"), F_OK), -1);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, NENT, 0);
	ck_assert_ptr_null(ls_ckpt_find(c, "source0", 2049, 999));
	ck_assert_ptr_null(ls_ckpt_find(c, "nosuch", 2049, 1000));
	/* Loading again replaces, not appends. */
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, NENT, 0);
	ls_ckpt_free(c);
}
END_TEST

START_TEST(generations)
{
	struct ls_ckpt *c;
	char *cur, *prev;

	write_gen(10, 1);
	write_gen(10, 2);
	cur = slurp(in_tmp(0, "checkpoint.json"));
	write_gen(10, 3);
	prev = slurp(in_tmp(0, "checkpoint.json.prev"));
	ck_assert_ptr_nonnull(cur);
	ck_assert_ptr_nonnull(prev);
	ck_assert_str_eq(prev, cur);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 10, 3);
	ls_ckpt_free(c);
	free(cur);
	free(prev);
}
END_TEST

/* Same identity replaces; the same inode in another source is another
 * entry, as sources never share state. */
START_TEST(put_replaces)
{
	struct ls_ckpt_entry e = { "a", "/x", 1, 2, 0, 0, 10 };
	const struct ls_ckpt_entry *f;
	struct ls_ckpt *c;

	c = ls_ckpt_new(tmpdir);
	ck_assert_ptr_null(ls_ckpt_find(c, "a", 1, 2));
	ls_ckpt_put(c, &e);
	e.offset = 20;
	e.path = NULL;
	ls_ckpt_put(c, &e);
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	f = ls_ckpt_find(c, "a", 1, 2);
	ck_assert_uint_eq(f->offset, 20);
	ck_assert_str_eq(f->path, "");
	e.source = "b";
	ls_ckpt_put(c, &e);
	ck_assert_uint_eq(ls_ckpt_count(c), 2);
	ck_assert_ptr_nonnull(ls_ckpt_find(c, "b", 1, 2));
	ls_ckpt_clear(c);
	ck_assert_uint_eq(ls_ckpt_count(c), 0);
	ck_assert_ptr_null(ls_ckpt_find(c, "a", 1, 2));
	ls_ckpt_put(c, &e);
	ck_assert_ptr_nonnull(ls_ckpt_find(c, "b", 1, 2));
	ls_ckpt_free(c);
	ls_ckpt_free(NULL);
}
END_TEST

START_TEST(missing_is_first_run)
{
	struct ls_ckpt *c;

	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ck_assert_uint_eq(ls_ckpt_count(c), 0);
	ls_ckpt_free(c);
	/* Nor does the state directory have to exist yet. */
	c = ls_ckpt_new(in_tmp(0, "not/yet"));
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ck_assert_uint_eq(ls_ckpt_count(c), 0);
	ls_ckpt_free(c);
}
END_TEST

/* Bytes with a NUL inside, not text. */
static const char garbage[] = "\x7f"
			      "ELF\x02\x01\x00\x00{\"version\":1}\xff";

/* Ways checkpoint.json can be damaged; "TRUNC" means cut in half and
 * "GARBAGE" is the above. */
static const char *const damage[] = {
	"TRUNC",
	"",
	"GARBAGE",
	"[1,2,3]",
	"{\"version\":2,\"written\":0,\"files\":[]}",
	"{\"version\":\"1\",\"files\":[]}",
	"{\"written\":0,\"files\":[]}",
	"{\"version\":1,\"files\":{}}",
	"{\"version\":1}",
	"{\"version\":1,\"version\":1,\"files\":[]}",
	"{\"version\":1,\"files\":[1]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":0,\"fp\":\"0\",\"offset\":-1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/"
	"x\",\"dev\":-1,"
	"\"ino\":2,\"fp_len\":0,\"fp\":\"0\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1025,\"fp\":\"0\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1,\"fp\":\"xyz\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":\"12a\",\"fp_len\":1,\"fp\":\"1\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1,\"fp\":\"1\",\"offset\":1.5}]}",
	"{\"version\":1,\"files\":[{\"source\":7,\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1,\"fp\":\"1\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1,\"fp\":\"1\",\"offset\":1}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path\":\"/x\",\"dev\":1,"
	"\"ino\":2,\"fp_len\":1,\"fp\":\"1\",\"offset\":1},{}]}",
	"{\"version\":1,\"files\":[{\"source\":\"a\",\"path_hex\":\"2f0078\","
	"\"dev\":1,\"ino\":2,\"fp_len\":1,\"fp\":\"1\",\"offset\":1}]}",
};
#define NDAMAGE (int)(sizeof damage / sizeof damage[0])

/* Writes damage[i] over the current generation. */
static void
spoil(const char *path, int i)
{
	char *s;

	if (strcmp(damage[i], "TRUNC") == 0) {
		ck_assert_ptr_nonnull(s = slurp(path));
		spew(path, s, strlen(s) / 2);
		free(s);
	} else if (strcmp(damage[i], "GARBAGE") == 0)
		spew(path, garbage, sizeof garbage - 1);
	else
		spew(path, damage[i], strlen(damage[i]));
}

START_TEST(damaged_falls_back)
{
	struct ls_ckpt *c;

	write_gen(1000, 1);
	write_gen(1000, 2);
	spoil(in_tmp(0, "checkpoint.json"), _i);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 1000, 1);
	ls_ckpt_free(c);
}
END_TEST

/* After a fallback, the first write must not make the damaged current the
 * previous generation: a second damage still finds a good one. */
START_TEST(fallback_keeps_good_prev)
{
	struct ls_ckpt *c;

	write_gen(100, 1);
	write_gen(100, 2);
	spoil(in_tmp(0, "checkpoint.json"), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 100, 1);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);
	spoil(in_tmp(0, "checkpoint.json"), 2);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 100, 1);
	ls_ckpt_free(c);
}
END_TEST

START_TEST(both_damaged_fail)
{
	struct ls_ckpt *c;

	write_gen(100, 1);
	write_gen(100, 2);
	spoil(in_tmp(0, "checkpoint.json"), _i);
	spoil(in_tmp(0, "checkpoint.json.prev"), (_i + 1) % NDAMAGE);
	c = ls_ckpt_new(tmpdir);
	errno = 0;
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(ls_ckpt_count(c), 0);
	ls_ckpt_free(c);
}
END_TEST

/* Damaged, with no older generation to fall back on: refuse. */
START_TEST(damaged_without_prev_fails)
{
	struct ls_ckpt *c;

	write_gen(100, 1);
	spoil(in_tmp(0, "checkpoint.json"), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_int_eq(errno, EINVAL);
	ls_ckpt_free(c);
}
END_TEST

/* The gap a rename (where links are refused) leaves between generations. */
START_TEST(missing_with_prev_falls_back)
{
	struct ls_ckpt *c;

	write_gen(100, 1);
	write_gen(100, 2);
	ck_assert_int_eq(unlink(in_tmp(0, "checkpoint.json")), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 100, 1);
	/* ... but not a damaged .prev. */
	spoil(in_tmp(0, "checkpoint.json.prev"), 3);
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_int_eq(errno, EINVAL);
	ls_ckpt_free(c);
}
END_TEST

START_TEST(creates_state_dir)
{
	struct ls_ckpt *c;
	struct stat st;

	c = ls_ckpt_new(in_tmp(0, "state"));
	fill(c, 5, 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(stat(in_tmp(0, "state"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, 5, 0);
	ls_ckpt_free(c);
}
END_TEST

/* Both generations as they were, and no temporary file. */
static void
expect_untouched(const char *cur, const char *prev)
{
	char *s;

	ck_assert_ptr_nonnull(s = slurp(in_tmp(0, "checkpoint.json")));
	ck_assert_str_eq(s, cur);
	free(s);
	ck_assert_ptr_nonnull(s = slurp(in_tmp(0, "checkpoint.json.prev")));
	ck_assert_str_eq(s, prev);
	free(s);
}

START_TEST(write_readonly_dir)
{
	struct ls_ckpt *c;
	char *cur, *prev;
	int rc;

	write_gen(10, 1);
	write_gen(10, 2);
	cur = slurp(in_tmp(0, "checkpoint.json"));
	prev = slurp(in_tmp(0, "checkpoint.json.prev"));
	ck_assert_int_eq(chmod(tmpdir, 0500), 0);
	c = ls_ckpt_new(tmpdir);
	fill(c, 10, 3);
	errno = 0;
	rc = ls_ckpt_write(c);
	if (geteuid() != 0) {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(errno, EACCES);
		expect_untouched(cur, prev);
	}
	ls_ckpt_free(c);
	free(cur);
	free(prev);
}
END_TEST

START_TEST(write_enotdir)
{
	struct ls_ckpt *c;

	spew(in_tmp(0, "file"), "x", 1);
	c = ls_ckpt_new(in_tmp(0, "file/state"));
	fill(c, 10, 0);
	errno = 0;
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	/* Unreadable is not a first run. */
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ls_ckpt_free(c);
}
END_TEST

/* A failure after the old generations exist, that root cannot bypass. */
START_TEST(write_tmp_blocked)
{
	struct ls_ckpt *c;
	char *cur, *prev;

	write_gen(10, 1);
	write_gen(10, 2);
	cur = slurp(in_tmp(0, "checkpoint.json"));
	prev = slurp(in_tmp(0, "checkpoint.json.prev"));
	ck_assert_int_eq(mkdir(in_tmp(0, "checkpoint.json.tmp"), 0700), 0);
	c = ls_ckpt_new(tmpdir);
	fill(c, 10, 3);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(errno, EISDIR);
	expect_untouched(cur, prev);
	ls_ckpt_free(c);
	free(cur);
	free(prev);
}
END_TEST

/* Fails partway through writing the temporary file (like ENOSPC). */
START_TEST(write_fails_midway)
{
	struct rlimit old, rl;
	struct ls_ckpt *c;
	char *cur, *prev;

	write_gen(10, 1);
	write_gen(10, 2);
	cur = slurp(in_tmp(0, "checkpoint.json"));
	prev = slurp(in_tmp(0, "checkpoint.json.prev"));
	c = ls_ckpt_new(tmpdir);
	fill(c, NENT, 3);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 8192;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	errno = 0;
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(access(in_tmp(0, "checkpoint.json.tmp"), F_OK), -1);
	expect_untouched(cur, prev);
	/* And the next write succeeds. */
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	expect(c, NENT, 3);
	ls_ckpt_free(c);
	free(cur);
	free(prev);
}
END_TEST

static size_t
count_lines(const char *path, const char *needle)
{
	char *s, *p;
	size_t n = 0;

	ck_assert_ptr_nonnull(s = slurp(path));
	for (p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(s);
	return n;
}

/* Called every second: one warning per errno, one line on recovery. */
START_TEST(warns_once)
{
	struct ls_ckpt *c;
	int fd, saved;
	const char *log = in_tmp(1, "stderr.log");

	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(
	    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), -1);
	dup2(fd, STDERR_FILENO);
	close(fd);

	c = ls_ckpt_new(in_tmp(0, "state"));
	fill(c, 10, 0);
	ck_assert_int_eq(mkdir(in_tmp(0, "state"), 0700), 0);
	ck_assert_int_eq(
	    mkdir(in_tmp(0, "state/checkpoint.json.tmp"), 0700), 0);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(rmdir(in_tmp(0, "state/checkpoint.json.tmp")), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(
	    mkdir(in_tmp(0, "state/checkpoint.json.tmp"), 0700), 0);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(rmdir(in_tmp(0, "state/checkpoint.json.tmp")), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);

	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_uint_eq(count_lines(log, "Is a directory"), 2);
	ck_assert_uint_eq(count_lines(log, "written again"), 2);
	ck_assert_uint_eq(count_lines(log, "\n"), 4);
}
END_TEST

/* Several errnos in a row each get their line. */
START_TEST(warns_per_errno)
{
	struct ls_ckpt *c;
	struct rlimit old, rl;
	int fd, saved;
	const char *log = in_tmp(1, "stderr.log");

	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(
	    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), -1);
	dup2(fd, STDERR_FILENO);
	close(fd);

	c = ls_ckpt_new(in_tmp(0, "state"));
	fill(c, NENT, 0);
	ck_assert_int_eq(mkdir(in_tmp(0, "state"), 0700), 0);
	ck_assert_int_eq(
	    mkdir(in_tmp(0, "state/checkpoint.json.tmp"), 0700), 0);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(rmdir(in_tmp(0, "state/checkpoint.json.tmp")), 0);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 8192;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(ls_ckpt_write(c), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);

	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_uint_eq(count_lines(log, "Is a directory"), 1);
	ck_assert_uint_eq(count_lines(log, "File too large"), 1);
	ck_assert_uint_eq(count_lines(log, "written again"), 1);
	ck_assert_uint_eq(count_lines(log, "\n"), 3);
}
END_TEST

static int
make_file(const char *name, const unsigned char *data, size_t len)
{
	int fd;

	fd = open(in_tmp(0, name), O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* The CRC-64/XZ check value pins the algorithm, which is on disk. */
START_TEST(fingerprint_short)
{
	uint32_t len;
	uint64_t fp;
	int fd;

	fd = make_file("short", (const unsigned char *)"123456789", 9);
	ck_assert_int_eq(ls_fingerprint(fd, &len, &fp), 0);
	ck_assert_uint_eq(len, 9);
	ck_assert_uint_eq(fp, 0x995dc9bbdf1939faULL);
	/* pread: the file offset has not moved. */
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 9);
	ck_assert_int_eq(ls_fingerprint_matches(fd, 9, fp), 1);
	ck_assert_int_eq(ls_fingerprint_matches(fd, 9, fp ^ 1), 0);
	ck_assert_int_eq(ls_fingerprint_matches(fd, 10, fp), 0);
	ck_assert_int_eq(ls_fingerprint_matches(fd, 0, 12345), 1);
	errno = 0;
	ck_assert_int_eq(ls_fingerprint_matches(fd, LS_FP_MAX + 1, fp), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(fd);

	fd = make_file("empty", NULL, 0);
	ck_assert_int_eq(ls_fingerprint(fd, &len, &fp), 0);
	ck_assert_uint_eq(len, 0);
	close(fd);
	ck_assert_int_eq(ls_fingerprint(-1, &len, &fp), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(fingerprint_long_and_prefix)
{
	unsigned char data[5000], other[5000];
	uint32_t len, len2, slen;
	uint64_t fp, fp2, sfp;
	size_t i;
	int fd, fd2;

	for (i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	memcpy(other, data, sizeof other);
	other[1023] ^= 1; /* differs only in the last byte covered */

	/* A growing file: first 100 bytes, then all of them. */
	fd = make_file("grow", data, 100);
	ck_assert_int_eq(lseek(fd, 3, SEEK_SET), 3);
	ck_assert_int_eq(ls_fingerprint(fd, &slen, &sfp), 0);
	ck_assert_uint_eq(slen, 100);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 3);
	ck_assert_int_eq(pwrite(fd, data + 100, 4900, 100), 4900);
	ck_assert_int_eq(ls_fingerprint(fd, &len, &fp), 0);
	ck_assert_uint_eq(len, LS_FP_MAX);
	ck_assert_uint_ne(fp, sfp);
	/* The short fingerprint still matches over its own length. */
	ck_assert_int_eq(ls_fingerprint_matches(fd, slen, sfp), 1);
	ck_assert_int_eq(ls_fingerprint_matches(fd, len, fp), 1);

	/* The same first 1024 bytes alone give the same fingerprint. */
	fd2 = make_file("head", data, LS_FP_MAX);
	ck_assert_int_eq(ls_fingerprint(fd2, &len2, &fp2), 0);
	ck_assert_uint_eq(len2, LS_FP_MAX);
	ck_assert_uint_eq(fp2, fp);
	close(fd2);

	/* Another file sharing the first 1023 bytes. */
	fd2 = make_file("other", other, sizeof other);
	ck_assert_int_eq(ls_fingerprint_matches(fd2, slen, sfp), 1);
	ck_assert_int_eq(ls_fingerprint_matches(fd2, len, fp), 0);
	close(fd2);

	/* Truncated below what was fingerprinted: not the same file. */
	ck_assert_int_eq(ftruncate(fd, 50), 0);
	ck_assert_int_eq(ls_fingerprint_matches(fd, slen, sfp), 0);
	close(fd);
}
END_TEST

/* -- the writer thread ---------------------------------------------------- */

static uint64_t
writes(struct ls_metrics *m)
{
	return LS_LOAD(m->checkpoint_writes);
}

/* Waits (ten seconds at most) for m to count n failed writes: 1 if it
 * did. */
static int
errors_reach(struct ls_metrics *m, uint64_t n)
{
	int i;

	for (i = 0; i < 1000 && LS_LOAD(m->checkpoint_errors) < n; i++)
		usleep(10 * 1000); /* ok-sleep: bounded poll */
	return LS_LOAD(m->checkpoint_errors) >= n;
}

/* A text handed over while a failed one waits (an hour) for its retry
 * replaces it; flush writes the newest at once, reports a failure, and
 * counts. */
START_TEST(writer_latest_wins)
{
	struct ls_metrics *m;
	struct ls_ckpt *c, *r;
	uint64_t errs;

	m = ls_metrics_new(0, 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_start(c, m, 3600 * 1000, 3600 * 1000), 0);
	/* A directory where the temporary file goes: writes fail. */
	ck_assert_int_eq(mkdir(in_tmp(0, "checkpoint.json.tmp"), 0700), 0);
	fill(c, 10, 1);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	fill(c, 10, 2);
	ck_assert_int_eq(ls_ckpt_flush(c), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_uint_eq(writes(m), 0);
	ck_assert_uint_ge(LS_LOAD(m->checkpoint_errors), 1);
	ck_assert_int_eq(LS_LOAD(m->checkpoint_ms), 0);
	/* Generation 2 fails too and waits for its retry, an hour away; 3
	 * replaces it in the slot and fails in turn. Once writes work,
	 * flush writes 3, and only 3: 2 is never retried. */
	errs = LS_LOAD(m->checkpoint_errors);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	ck_assert(errors_reach(m, errs + 1));
	fill(c, 10, 3);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	ck_assert(errors_reach(m, errs + 2));
	ck_assert_int_eq(rmdir(in_tmp(0, "checkpoint.json.tmp")), 0);
	ck_assert_int_eq(ls_ckpt_flush(c), 0);
	ck_assert_uint_eq(writes(m), 1);
	ck_assert_int_gt(LS_LOAD(m->checkpoint_ms), 0);
	r = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(r), 0);
	expect(r, 10, 3);
	ls_ckpt_free(r);
	ls_ckpt_stop(c);
	ls_ckpt_free(c);
	ls_metrics_free(m);
}
END_TEST

/* commit(sync) returns once written; without sync it returns at once, and
 * the file appears soon after; stop after a commit writes it. */
START_TEST(writer_flush_waits)
{
	struct ls_metrics *m;
	struct ls_ckpt *c, *r;
	struct stat st;
	int i;

	m = ls_metrics_new(0, 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_start(c, m, 100, 3600 * 1000), 0);
	fill(c, 100, 1);
	ck_assert_int_eq(ls_ckpt_commit(c, 1), 0);
	ck_assert_uint_eq(writes(m), 1);
	r = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(r), 0);
	expect(r, 100, 1);
	/* Not durable yet (the fsync interval is an hour): flush makes it. */
	fill(c, 100, 2);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	for (i = 0; i < 1000 && writes(m) < 2; i++)
		usleep(10 * 1000); /* ok-sleep: bounded poll */
	ck_assert_uint_eq(writes(m), 2);
	ck_assert_int_eq(ls_ckpt_flush(c), 0);
	ck_assert_int_eq(ls_ckpt_load(r), 0);
	expect(r, 100, 2);
	/* .prev is generation 1, the durable one, not a link to 2. */
	ck_assert_int_eq(stat(in_tmp(0, "checkpoint.json.prev"), &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	fill(c, 100, 3);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	ls_ckpt_stop(c);
	ck_assert_int_eq(ls_ckpt_load(r), 0);
	expect(r, 100, 3);
	ls_ckpt_free(r);
	ls_ckpt_free(c);
	ls_metrics_free(m);
}
END_TEST

/* Hand-overs racing the writer: run under TSan. The last one is on disk. */
START_TEST(writer_concurrent)
{
	struct ls_metrics *m;
	struct ls_ckpt *c, *r;
	size_t i, n = scaled(1000);

	m = ls_metrics_new(0, 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_start(c, m, 10, 5), 0);
	for (i = 0; i < n; i++) {
		fill(c, 20, (unsigned)i);
		ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
		if (i % 100 == 0)
			ls_ckpt_set_fsync_interval(c, i % 200 == 0 ? 0 : 5);
	}
	ck_assert_int_eq(ls_ckpt_flush(c), 0);
	ck_assert_uint_ge(writes(m), 1);
	ck_assert_uint_le(writes(m), n);
	ls_ckpt_stop(c);
	r = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_load(r), 0);
	expect(r, 20, (unsigned)(n - 1));
	ls_ckpt_free(r);
	ls_ckpt_free(c);
	ls_metrics_free(m);
}
END_TEST

/* Spaced by the loop's cost: after one that took ~20 ms between due and
 * commit, the next is not due for ~400 ms. */
START_TEST(due_spaces_by_cost)
{
	struct ls_ckpt *c;

	ck_assert_int_eq(ls_ckpt_due(NULL), 1);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_start(c, NULL, 100, 1000), 0);
	ck_assert_int_eq(ls_ckpt_due(c), 1);
	fill(c, 10, 1);
	usleep(20 * 1000); /* ok-sleep: the cost being measured */
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	ck_assert_int_eq(ls_ckpt_due(c), 0);
	ls_ckpt_free(c);
}
END_TEST

/* With metrics: due after LS_CKPT_LINES lines delivered, or after
 * LS_CKPT_IDLE_MS, not at every interval. */
START_TEST(due_by_lines)
{
	struct ls_metrics *m;
	struct ls_ckpt *c;

	m = ls_metrics_new(2, 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_start(c, m, 100, 1000), 0);
	ck_assert_int_eq(ls_ckpt_due(c), 1); /* the first */
	fill(c, 10, 1);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	/* Past the cost gate (that commit cost microseconds). */
	usleep(100 * 1000); /* ok-sleep: a time to pass */
	ck_assert_int_eq(ls_ckpt_due(c), 0);
	LS_COUNT(m->dest[0]->sent, LS_CKPT_LINES - 1);
	ck_assert_int_eq(ls_ckpt_due(c), 0);
	LS_COUNT(m->dest[1]->sent, 1);
	ck_assert_int_eq(ls_ckpt_due(c), 1);
	ck_assert_int_eq(ls_ckpt_commit(c, 0), 0);
	ck_assert_int_eq(ls_ckpt_due(c), 0);
	usleep((LS_CKPT_IDLE_MS + 50) * 1000); /* ok-sleep: the idle time */
	ck_assert_int_eq(ls_ckpt_due(c), 1);
	ls_ckpt_free(c);
	ls_metrics_free(m);
}
END_TEST

/* -- state security ------------------------------------------------------- */

/* A link planted as the temporary file is removed, not written through. */
START_TEST(tmp_link_not_followed)
{
	struct ls_ckpt *c;
	struct stat st;
	char *s;

	spew(in_tmp(0, "victim"), "precious\n", 9);
	ck_assert_int_eq(
	    symlink(in_tmp(0, "victim"), in_tmp(1, "checkpoint.json.tmp")), 0);
	c = ls_ckpt_new(tmpdir);
	fill(c, 10, 1);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_ptr_nonnull(s = slurp(in_tmp(0, "victim")));
	ck_assert_str_eq(s, "precious\n");
	free(s);
	ck_assert_int_eq(lstat(in_tmp(0, "checkpoint.json"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* A dangling link creates nothing where it points. */
	ck_assert_int_eq(
	    symlink(in_tmp(0, "made"), in_tmp(1, "checkpoint.json.tmp")), 0);
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ck_assert_int_eq(lstat(in_tmp(0, "made"), &st), -1);
	ck_assert_int_eq(lstat(in_tmp(0, "checkpoint.json.tmp"), &st), -1);
	ls_ckpt_free(c);
}
END_TEST

static int64_t
ms_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Loads with a good .prev and checkpoint.json made by plant(): .prev is
 * used, within a second. */
static void
load_refuses(void (*plant)(const char *))
{
	struct ls_ckpt *c;
	int64_t t0;

	write_gen(10, 1);
	write_gen(10, 2);
	ck_assert_int_eq(unlink(in_tmp(0, "checkpoint.json")), 0);
	plant(in_tmp(0, "checkpoint.json"));
	c = ls_ckpt_new(tmpdir);
	t0 = ms_now();
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ck_assert_int_lt(ms_now() - t0, 1000);
	expect(c, 10, 1);
	ls_ckpt_free(c);
}

static void
plant_zero(const char *path)
{
	ck_assert_int_eq(symlink("/dev/zero", path), 0);
}

static void
plant_fifo(const char *path)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
}

static void
plant_big(const char *path)
{
	int fd;

	/* Sparse: LS_CKPT_MAX_BYTES + 1 bytes that take no room. */
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)LS_CKPT_MAX_BYTES + 1), 0);
	close(fd);
}

START_TEST(load_devzero_refused)
{
	/* A link: not followed (it was read until out of memory). */
	load_refuses(plant_zero);
}
END_TEST

START_TEST(load_fifo_refused)
{
	/* Not waited on in open(2), which blocked the start for good. */
	load_refuses(plant_fifo);
}
END_TEST

START_TEST(load_oversize_refused)
{
	/* Refused from its size, before a byte is read. */
	load_refuses(plant_big);
}
END_TEST

/* Writable by group or others, or a link: refused unless allowed. */
START_TEST(insecure_dir_refused)
{
	struct ls_ckpt *c;

	ck_assert_int_eq(chmod(tmpdir, 0770), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_open(c, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_int_eq(ls_ckpt_open(c, 1), 0);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ls_ckpt_free(c);
	ck_assert_int_eq(chmod(tmpdir, 0702), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_open(c, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ls_ckpt_free(c);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	c = ls_ckpt_new(tmpdir);
	ck_assert_int_eq(ls_ckpt_open(c, 0), 0);
	ls_ckpt_free(c);
	ck_assert_int_eq(mkdir(in_tmp(0, "real"), 0700), 0);
	ck_assert_int_eq(symlink(in_tmp(0, "real"), in_tmp(1, "link")), 0);
	c = ls_ckpt_new(in_tmp(1, "link"));
	ck_assert_int_eq(ls_ckpt_open(c, 1), -1);
	/* Linux says ENOTDIR for a link opened O_DIRECTORY|O_NOFOLLOW. */
	ck_assert(errno == ELOOP || errno == ENOTDIR);
	ls_ckpt_free(c);
}
END_TEST

static Suite *
checkpoint_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("checkpoint");

	tc = tcase_create("entries");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, generations);
	tcase_add_test(tc, put_replaces);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_is_first_run);
	tcase_add_loop_test(tc, damaged_falls_back, 0, NDAMAGE);
	tcase_add_loop_test(tc, both_damaged_fail, 0, NDAMAGE);
	tcase_add_test(tc, damaged_without_prev_fails);
	tcase_add_test(tc, missing_with_prev_falls_back);
	tcase_add_test(tc, fallback_keeps_good_prev);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, creates_state_dir);
	tcase_add_test(tc, write_readonly_dir);
	tcase_add_test(tc, write_enotdir);
	tcase_add_test(tc, write_tmp_blocked);
	tcase_add_test(tc, write_fails_midway);
	tcase_add_test(tc, warns_once);
	tcase_add_test(tc, warns_per_errno);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, writer_latest_wins);
	tcase_add_test(tc, writer_flush_waits);
	tcase_add_test(tc, writer_concurrent);
	tcase_add_test(tc, due_spaces_by_cost);
	tcase_add_test(tc, due_by_lines);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("security");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tmp_link_not_followed);
	tcase_add_test(tc, load_devzero_refused);
	tcase_add_test(tc, load_fifo_refused);
	tcase_add_test(tc, load_oversize_refused);
	tcase_add_test(tc, insecure_dir_refused);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("fingerprint");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fingerprint_short);
	tcase_add_test(tc, fingerprint_long_and_prefix);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(checkpoint_suite());
}
