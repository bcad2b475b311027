/*
 * Tests of conf_units.c, the configuration's unit parsers, as pure
 * functions: every unit at every scale, the edges of each range, and
 * fractions (check_conf.c holds the row tables of single values, and
 * checks the messages a file's bad value gets). Fuzzed by fuzz_units.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "testutil.h"

static const struct {
	const char *name;
	int64_t ms;
} dunits[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };

/* n<unit> is n times the unit for every unit, 0 to 100,000. */
START_TEST(duration_every_unit)
{
	char buf[64];
	int64_t ms;
	size_t u;
	int n;

	for (u = 0; u < sizeof dunits / sizeof dunits[0]; u++)
		for (n = 0; n <= 100000; n++) {
			snprintf(buf, sizeof buf, "%d%s", n, dunits[u].name);
			ck_assert_int_eq(ls_conf_parse_duration(buf, &ms), 0);
			ck_assert_int_eq(ms, (int64_t)n * dunits[u].ms);
		}
}
END_TEST

/* n.d<unit> is truncated to whole milliseconds, never rounded up. */
START_TEST(duration_fractions)
{
	char buf[64];
	int64_t ms;
	size_t u;
	int n, d;

	for (u = 0; u < sizeof dunits / sizeof dunits[0]; u++)
		for (n = 0; n < 100; n++)
			for (d = 0; d < 1000; d++) {
				snprintf(buf, sizeof buf, "%d.%03d%s", n, d,
				    dunits[u].name);
				ck_assert_int_eq(
				    ls_conf_parse_duration(buf, &ms), 0);
				ck_assert_int_eq(ms,
				    (int64_t)n * dunits[u].ms
					+ (int64_t)d * dunits[u].ms / 1000);
			}
}
END_TEST

/* The largest count of each unit that fits in int64_t ms, and one more. */
START_TEST(duration_edges)
{
	char buf[64];
	int64_t ms, top;
	size_t u;

	for (u = 0; u < sizeof dunits / sizeof dunits[0]; u++) {
		top = INT64_MAX / dunits[u].ms;
		snprintf(buf, sizeof buf, "%" PRId64 "%s", top, dunits[u].name);
		ck_assert_int_eq(ls_conf_parse_duration(buf, &ms), 0);
		ck_assert_int_eq(ms, top * dunits[u].ms);
		/* Unsigned: one past INT64_MAX ms itself. */
		snprintf(buf, sizeof buf, "%" PRIu64 "%s", (uint64_t)top + 1,
		    dunits[u].name);
		ms = -7;
		ck_assert_int_eq(ls_conf_parse_duration(buf, &ms), -1);
		ck_assert_int_eq(ms, -7);
	}
	ck_assert_int_eq(ls_conf_parse_duration(NULL, &ms), -1);
}
END_TEST

static const struct {
	const char *name;
	uint64_t mult;
} sunits[] = { { "", 1 }, { "B", 1 }, { "KB", 1000 }, { "MB", 1000000 },
	{ "GB", 1000000000 }, { "KiB", 1024 }, { "MiB", 1048576 },
	{ "GiB", 1073741824 } };

/* n<unit> for every unit; the largest count that fits, and one more; a
 * fraction of a byte refused, of a larger unit truncated. */
START_TEST(size_every_unit)
{
	char buf[64];
	uint64_t b, top;
	size_t u;
	int n;

	for (u = 0; u < sizeof sunits / sizeof sunits[0]; u++) {
		for (n = 0; n <= 20000; n++) {
			snprintf(buf, sizeof buf, "%d%s", n, sunits[u].name);
			ck_assert_int_eq(ls_conf_parse_size(buf, &b), 0);
			ck_assert_uint_eq(b, (uint64_t)n * sunits[u].mult);
		}
		top = UINT64_MAX / sunits[u].mult;
		snprintf(buf, sizeof buf, "%" PRIu64 "%s", top, sunits[u].name);
		ck_assert_int_eq(ls_conf_parse_size(buf, &b), 0);
		ck_assert_uint_eq(b, top * sunits[u].mult);
		if (top < UINT64_MAX) {
			snprintf(buf, sizeof buf, "%" PRIu64 "%s", top + 1,
			    sunits[u].name);
			b = 7;
			ck_assert_int_eq(ls_conf_parse_size(buf, &b), -1);
			ck_assert_uint_eq(b, 7);
		}
		snprintf(buf, sizeof buf, "1.5%s", sunits[u].name);
		b = 7;
		if (sunits[u].mult == 1) {
			ck_assert_int_eq(ls_conf_parse_size(buf, &b), -1);
			ck_assert_uint_eq(b, 7);
		} else {
			ck_assert_int_eq(ls_conf_parse_size(buf, &b), 0);
			ck_assert_uint_eq(b, sunits[u].mult * 3 / 2);
		}
	}
	ck_assert_int_eq(ls_conf_parse_size(NULL, &b), -1);
}
END_TEST

/* Every port from 1 to 65535, on IPv4 and IPv6; 0 and 65536 refused. */
START_TEST(listen_every_port)
{
	char buf[64], *host;
	unsigned port, p;

	for (p = 0; p <= 65536; p++) {
		snprintf(
		    buf, sizeof buf, p % 2 ? "127.0.0.1:%u" : "[::1]:%u", p);
		host = NULL;
		port = 7;
		if (p == 0 || p == 65536) {
			ck_assert_int_eq(
			    ls_conf_parse_listen(buf, &host, &port), -1);
			ck_assert_ptr_null(host);
			ck_assert_uint_eq(port, 7);
			continue;
		}
		ck_assert_int_eq(ls_conf_parse_listen(buf, &host, &port), 0);
		ck_assert_str_eq(host, p % 2 ? "127.0.0.1" : "::1");
		ck_assert_uint_eq(port, p);
		free(host);
	}
}
END_TEST

/* Only numeric addresses: no names, no zones, no leading zeros in a port
 * that would pass 65535, nothing after the port. */
START_TEST(listen_shapes)
{
	static const char *const bad[]
	    = { "[fe80::1%eth0]:80", "[fe80::1%25eth0]:80", "localhost:80",
		      "127.1:80", "127.0.0.1:000000000000000000080x",
		      "127.0.0.1:80/", "[::1]:", "[::1]:80:80", "1.2.3.4.5:80",
		      "[[::1]]:80", NULL, "x" };
	char *host = NULL;
	unsigned port = 7;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(ls_conf_parse_listen(bad[i], &host, &port) == -1,
		    "\"%s\" accepted", bad[i] != NULL ? bad[i] : "(null)");
		ck_assert_ptr_null(host);
	}
	ck_assert_int_eq(
	    ls_conf_parse_listen("127.0.0.1:080", &host, &port), 0);
	ck_assert_uint_eq(port, 80);
	free(host);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("conf_units");
	tc = tcase_create("durations");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, duration_every_unit);
	tcase_add_test(tc, duration_fractions);
	tcase_add_test(tc, duration_edges);
	suite_add_tcase(s, tc);
	tc = tcase_create("sizes");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, size_every_unit);
	suite_add_tcase(s, tc);
	tc = tcase_create("listen");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, listen_every_port);
	tcase_add_test(tc, listen_shapes);
	suite_add_tcase(s, tc);
	return ls_test_run(s);
}
