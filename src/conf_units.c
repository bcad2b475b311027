/*
 * conf_units: the units of the configuration's values, as pure functions
 * of a string (no YAML, no allocation but the listen host): durations
 * ("500ms", "1.5s"), sizes ("4MiB", "4.25MB") and listen addresses
 * ("127.0.0.1:9809", "[::1]:9809"). conf_yaml.c's getters report their
 * failures with the file's line and column.
 *
 * Tested in check_conf_units.c, fuzzed by tests/fuzz/fuzz_units.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "conf_impl.h"
#include "xmalloc.h"

/*
 * Reads a decimal "12" or "1.25" at *sp, advancing it: the whole part, and
 * the fraction in billionths (digits past the ninth are dropped). -1 when
 * there is no digit before and after a '.', or the whole part overflows.
 */
static int
parse_decimal(const char **sp, uint64_t *whole, uint64_t *frac9, int *hasfrac)
{
	const char *s = *sp;
	uint64_t w = 0, f = 0;
	int nd = 0, nf = 0;
	unsigned d;

	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		d = (unsigned)(*s - '0');
		if (w > (UINT64_MAX - d) / 10)
			return -1;
		w = w * 10 + d;
	}
	if (nd == 0)
		return -1;
	*hasfrac = *s == '.';
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (nf < 9) {
				f = f * 10 + (uint64_t)(*s - '0');
				nf++;
			}
		}
		if (s[-1] == '.')
			return -1;
		for (; nf < 9; nf++)
			f *= 10;
	}
	*whole = w;
	*frac9 = f;
	*sp = s;
	return 0;
}

/* whole.frac9 times unit, checked against max; 0 or -1. */
static int
scale(
    uint64_t whole, uint64_t frac9, uint64_t unit, uint64_t max, uint64_t *out)
{
	uint64_t v;

	/* frac9 < 1e9 and unit <= 2^30, so this product fits. */
	if (__builtin_mul_overflow(whole, unit, &v)
	    || __builtin_add_overflow(v, frac9 * unit / 1000000000u, &v)
	    || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ls_conf_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};
	uint64_t whole, frac, v;
	int hasfrac;
	size_t i;

	if (s == NULL || parse_decimal(&s, &whole, &frac, &hasfrac) == -1)
		return -1;
	/* A bare number is ambiguous, except zero, which is zero in any
	 * unit. */
	if (*s == '\0') {
		if (whole != 0 || frac != 0)
			return -1;
		*ms = 0;
		return 0;
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].name) != 0)
			continue;
		if (scale(whole, frac, units[i].ms, INT64_MAX, &v) == -1)
			return -1;
		*ms = (int64_t)v;
		return 0;
	}
	return -1;
}

int
ls_conf_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KB", 1000 },
		{ "MB", 1000 * 1000 },
		{ "GB", 1000 * 1000 * 1000 },
		{ "KiB", KiB },
		{ "MiB", MiB },
		{ "GiB", GiB },
	};
	uint64_t whole, frac;
	int hasfrac;
	size_t i;

	if (s == NULL || parse_decimal(&s, &whole, &frac, &hasfrac) == -1)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].name) != 0)
			continue;
		/* A fraction of a byte means nothing. */
		if (units[i].mult == 1 && hasfrac)
			return -1;
		return scale(whole, frac, units[i].mult, UINT64_MAX, bytes);
	}
	return -1;
}

int
ls_conf_parse_listen(const char *s, char **host, unsigned *port)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon, *p;
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned long n;
	size_t len;
	int v6;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		return -1;
	/* The port: 1 to 65535, digits only. */
	for (p = colon + 1, n = 0; *p >= '0' && *p <= '9' && n <= 65535; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == colon + 1 || *p != '\0' || n == 0 || n > 65535)
		return -1;
	v6 = *s == '[';
	if (v6 && (colon == s + 1 || colon[-1] != ']'))
		return -1;
	len = (size_t)(colon - s) - (v6 ? 2 : 0);
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s + (v6 ? 1 : 0), len);
	buf[len] = '\0';
	if (v6 ? inet_pton(AF_INET6, buf, &a6) != 1
	       : inet_pton(AF_INET, buf, &a4) != 1)
		return -1;
	*host = xstrdup(buf);
	*port = (unsigned)n;
	return 0;
}
