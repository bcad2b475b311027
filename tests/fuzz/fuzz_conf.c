/*
 * fuzz_conf: the YAML configuration loader on arbitrary bytes.
 *
 * The input is written to one in-memory file (memfd) made once per
 * process and loaded through ls_conf_load(), the daemon's own entry point,
 * so NUL bytes and the reader's byte-offset errors are covered too. Every
 * input must either load, with nothing written to the error stream, or
 * fail with one or more lines that each read "file:line:col: message",
 * with line and column inside the input when the file is the input (an
 * include: may name others). ASan checks that neither path leaks.
 */
#include "config.h"

#include <sys/mman.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

static int conf_fd = -1;
static char conf_path[64];

/* 1 if line[i..len) is "N:N: message" with 1 <= N <= limit for both
 * numbers. */
static int
good_place(const char *line, size_t i, size_t len, unsigned long long limit)
{
	unsigned long long v;
	size_t k;

	for (k = 0; k < 2; k++) {
		v = 0;
		if (i >= len || line[i] < '0' || line[i] > '9')
			return 0;
		while (i < len && line[i] >= '0' && line[i] <= '9') {
			v = v * 10 + (unsigned)(line[i] - '0');
			if (v > limit)
				return 0;
			i++;
		}
		if (v < 1 || i >= len || line[i] != ':')
			return 0;
		i++;
	}
	/* A space, then a message that is not empty. */
	return i + 1 < len && line[i] == ' ';
}

/*
 * 1 if line (len bytes, no newline) is "<conf_path>:N:N: message" with
 * 1 <= N <= limit for both numbers; or, since the input may include
 * other files (include:, relative to /proc/self/fd/), "<file>:N:N:
 * message" naming another file, whose text the input does not bound.
 */
static int
good_error(const char *line, size_t len, size_t limit)
{
	size_t plen = strlen(conf_path), i;

	if (len > plen && memcmp(line, conf_path, plen) == 0
	    && line[plen] == ':' && good_place(line, plen + 1, len, limit))
		return 1;
	for (i = 1; i < len; i++)
		if (line[i - 1] == ':' && good_place(line, i, len, ULLONG_MAX))
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_conf *c;
	char *errs = NULL, *p, *nl;
	size_t errlen = 0, nerr = 0;
	FILE *errf;

	if (conf_fd == -1) {
		if ((conf_fd = memfd_create("fuzz_conf.yaml", 0)) == -1)
			fuzz_fail("memfd_create failed");
		snprintf(
		    conf_path, sizeof conf_path, "/proc/self/fd/%d", conf_fd);
	}
	if (ftruncate(conf_fd, 0) == -1
	    || (size > 0 && pwrite(conf_fd, data, size, 0) != (ssize_t)size))
		fuzz_fail("cannot write the input");

	if ((errf = open_memstream(&errs, &errlen)) == NULL)
		fuzz_fail("open_memstream failed");
	c = ls_conf_load(conf_path, errf);
	if (fclose(errf) != 0)
		fuzz_fail("fclose failed");

	if (c != NULL) {
		if (errlen != 0)
			fuzz_fail("loaded, yet wrote errors:\n%s", errs);
		ls_conf_free(c);
	} else {
		if (errlen == 0)
			fuzz_fail("refused without a message");
		for (p = errs; p < errs + errlen; p = nl + 1) {
			if ((nl = memchr(p, '\n', errlen - (size_t)(p - errs)))
			    == NULL)
				fuzz_fail("an error line without a newline");
			/* Lines and columns count from 1 and cannot pass
			 * the input's length (plus one, for an error at its
			 * very end). */
			if (!good_error(p, (size_t)(nl - p), size + 1))
				fuzz_fail("not \"file:line:col: message\": "
					  "%.*s",
				    (int)(nl - p), p);
			nerr++;
		}
		fuzz_assert(nerr > 0);
	}
	free(errs);
	return 0;
}
