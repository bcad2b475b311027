/*
 * fuzz_checkpoint: the checkpoint loader on arbitrary bytes.
 *
 * Input: a flags byte, then the bytes of checkpoint.json. With flag 0x01
 * the bytes are split (at a point the next two bytes choose) between
 * checkpoint.json and checkpoint.json.prev; with 0x02 as well,
 * checkpoint.json is left out, so that only .prev is there. The files go
 * in a temporary directory made once per process and removed at exit.
 *
 * ls_ckpt_load() must either load or refuse with no entries left; never
 * crash or leak. What it loads must be consistent (every entry found by
 * its identity, fp_len in range), and must come back the same through
 * ls_ckpt_write() and a second load: the hex forms of non-UTF-8 names and
 * the decimal strings of big numbers included.
 *
 * The loader's warnings go to stderr, which is /dev/null during a load;
 * sanitizer reports are sent to the real stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "checkpoint.h"
#include "fuzz.h"
#include "xmalloc.h"

static char *dir, *cur, *prev, *tmp;
static int devnull = -1, realerr = -1;

static void
cleanup(void)
{
	unlink(cur);
	unlink(prev);
	unlink(tmp);
	rmdir(dir);
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	xasprintf(&dir, "%s/fuzz_checkpoint.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp %s: %s", dir, strerror(errno));
	xasprintf(&cur, "%s/checkpoint.json", dir);
	xasprintf(&prev, "%s/checkpoint.json.prev", dir);
	xasprintf(&tmp, "%s/checkpoint.json.tmp", dir);
	atexit(cleanup);
	if ((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1
	    || (realerr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) == -1)
		fuzz_fail("cannot set up stderr");
	__sanitizer_set_report_fd((void *)(intptr_t)realerr);
}

static void
put_file(const char *path, const uint8_t *p, size_t n)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600))
	    == -1)
		fuzz_fail("open %s: %s", path, strerror(errno));
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		fuzz_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

/* Loads the directory with the loader's warnings silenced. */
static int
load(struct ls_ckpt *c)
{
	int rc;

	dup2(devnull, STDERR_FILENO);
	rc = ls_ckpt_load(c);
	dup2(realerr, STDERR_FILENO);
	return rc;
}

static void
check_consistent(const struct ls_ckpt *c)
{
	const struct ls_ckpt_entry *e;
	size_t i;

	for (i = 0; i < ls_ckpt_count(c); i++) {
		if ((e = ls_ckpt_get(c, i)) == NULL)
			fuzz_fail(
			    "entry %zu of %zu missing", i, ls_ckpt_count(c));
		if (e->source == NULL || e->path == NULL)
			fuzz_fail("entry %zu: a NULL string", i);
		if (e->fp_len > LS_FP_MAX)
			fuzz_fail("entry %zu: fp_len %u", i, e->fp_len);
		if (ls_ckpt_find(c, e->source, e->dev, e->ino) != e)
			fuzz_fail("entry %zu: not found by its identity", i);
	}
	fuzz_assert(ls_ckpt_get(c, ls_ckpt_count(c)) == NULL);
}

static void
check_same(const struct ls_ckpt *a, const struct ls_ckpt *b)
{
	const struct ls_ckpt_entry *x, *y;
	size_t i;

	if (ls_ckpt_count(a) != ls_ckpt_count(b))
		fuzz_fail("%zu entries written, %zu read back",
		    ls_ckpt_count(a), ls_ckpt_count(b));
	for (i = 0; i < ls_ckpt_count(a); i++) {
		x = ls_ckpt_get(a, i);
		y = ls_ckpt_get(b, i);
		if (strcmp(x->source, y->source) != 0
		    || strcmp(x->path, y->path) != 0 || x->dev != y->dev
		    || x->ino != y->ino || x->fp_len != y->fp_len
		    || x->fp != y->fp || x->offset != y->offset)
			fuzz_fail("entry %zu changed through a write", i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ls_ckpt *c, *again;
	unsigned flags;
	size_t split;
	int rc;

	if (dir == NULL)
		setup();
	flags = (unsigned)fuzz_take(&in, 1);
	unlink(cur);
	unlink(prev);
	if (flags & 0x01) {
		split = (size_t)fuzz_take(&in, 2);
		if (split > in.left)
			split = in.left;
		if (!(flags & 0x02))
			put_file(cur, in.p, split);
		put_file(prev, in.p + split, in.left - split);
	} else
		put_file(cur, in.p, in.left);

	c = ls_ckpt_new(dir);
	rc = load(c);
	if (rc != 0 && rc != -1)
		fuzz_fail("load returned %d", rc);
	if (rc == -1 && ls_ckpt_count(c) != 0)
		fuzz_fail("refused, yet %zu entries left", ls_ckpt_count(c));
	check_consistent(c);
	if (rc == 0) {
		if (ls_ckpt_write(c) != 0)
			fuzz_fail("cannot write back: %s", strerror(errno));
		again = ls_ckpt_new(dir);
		if (load(again) != 0)
			fuzz_fail("what was written does not load");
		check_same(c, again);
		ls_ckpt_free(again);
	}
	ls_ckpt_free(c);
	return 0;
}
