/*
 * fuzz_units: the configuration's unit parsers (conf_units.c) on arbitrary
 * strings. The first byte picks the parser (duration, size or listen
 * address); the rest, cut at its first NUL, is the value. Whatever the
 * input, a parser either refuses it and leaves its outputs alone, or
 * accepts it and its result, written back in its plainest form ("<ms>ms",
 * "<bytes>", "host:port" or "[host]:port"), parses again to the same
 * value. ASan checks the listen host is neither overrun nor leaked.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

static void
check_duration(const char *s)
{
	int64_t ms = -7, again = -7;
	char buf[32];

	if (ls_conf_parse_duration(s, &ms) == -1) {
		fuzz_assert(ms == -7);
		return;
	}
	fuzz_assert(ms >= 0);
	snprintf(buf, sizeof buf, "%" PRId64 "ms", ms);
	fuzz_assert(ls_conf_parse_duration(buf, &again) == 0);
	fuzz_assert(again == ms);
}

static void
check_size(const char *s)
{
	uint64_t n = 7, again = 7;
	char buf[32];

	if (ls_conf_parse_size(s, &n) == -1) {
		fuzz_assert(n == 7);
		return;
	}
	snprintf(buf, sizeof buf, "%" PRIu64, n);
	fuzz_assert(ls_conf_parse_size(buf, &again) == 0);
	fuzz_assert(again == n);
}

static void
check_listen(const char *s)
{
	char *host = NULL, *again = NULL, buf[128];
	unsigned port = 0, aport = 0;

	if (ls_conf_parse_listen(s, &host, &port) == -1) {
		fuzz_assert(host == NULL && port == 0);
		return;
	}
	fuzz_assert(host != NULL && port >= 1 && port <= 65535);
	fuzz_assert(strlen(host) < sizeof buf - 10);
	snprintf(buf, sizeof buf,
	    strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
	fuzz_assert(ls_conf_parse_listen(buf, &again, &aport) == 0);
	fuzz_assert(strcmp(again, host) == 0 && aport == port);
	free(again);
	free(host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	s = malloc(size);
	if (s == NULL)
		fuzz_fail("out of memory");
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		check_duration(s);
		break;
	case 1:
		check_size(s);
		break;
	default:
		check_listen(s);
		break;
	}
	free(s);
	return 0;
}
