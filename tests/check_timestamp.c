/*
 * check_timestamp: the time a line carries (timestamp.h), parsed on its
 * own (RFC 3339 with every zone form, fractions, epoch numbers of every
 * magnitude, local time through the hourly offset cache) and through the
 * severity scanner's pass over JSON lines and plain lines; lines without
 * one leave the time as it was. And the restamp of encode.c: out of
 * Datadog's window, sent now with original_timestamp.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "encode.h"
#include "record.h"
#include "severity.h"
#include "testutil.h"
#include "timestamp.h"

/* 2026-11-23T10:00:00Z */
#define T0 1795428000000LL

static int64_t
value(const char *v)
{
	struct ls_ts_cache c;
	int64_t ms = -1;

	ls_ts_cache_init(&c);
	if (ls_ts_parse_value(&c, v, strlen(v), &ms) != 0) {
		/* Nothing found: the time is left as it was. */
		ck_assert_msg(
		    ms == -1, "%s: changed to %lld", v, (long long)ms);
		return -1;
	}
	return ms;
}

static int64_t
prefix(const char *line)
{
	struct ls_ts_cache c;
	int64_t ms = -1;

	ls_ts_cache_init(&c);
	if (ls_ts_parse_prefix(&c, line, strlen(line), &ms) != 0)
		return -1;
	return ms;
}

START_TEST(rfc3339)
{
	ck_assert_int_eq(value("\"2026-11-23T10:00:00Z\""), T0);
	ck_assert_int_eq(value("\"2026-11-23T10:00:00.123Z\""), T0 + 123);
	ck_assert_int_eq(value("\"2026-11-23t10:00:00.1z\""), T0 + 100);
	ck_assert_int_eq(value("\"2026-11-23T10:00:00.123456789Z\""), T0 + 123);
	ck_assert_int_eq(value("\"2026-11-23T11:30:00+01:30\""), T0);
	ck_assert_int_eq(value("\"2026-11-23T08:00:00-0200\""), T0);
	ck_assert_int_eq(value("\"2026-11-23 10:00:00Z\""), T0);
	ck_assert_int_eq(value("\"1970-01-01T00:00:00Z\""), 0);
	ck_assert_int_eq(value("\"2000-02-29T00:00:00Z\""), 951782400000LL);
	/* Not times. */
	ck_assert_int_eq(value("\"2026-13-23T10:00:00Z\""), -1);
	ck_assert_int_eq(value("\"2026-11-23T25:00:00Z\""), -1);
	ck_assert_int_eq(value("\"2026-11-23T10:00Z\""), -1);
	ck_assert_int_eq(value("\"2026-11-23T10:00:00Z trailing\""), -1);
	ck_assert_int_eq(value("\"yesterday\""), -1);
	ck_assert_int_eq(value("\"\""), -1);
}
END_TEST

START_TEST(epoch_numbers)
{
	ck_assert_int_eq(value("1795428000"), T0);
	ck_assert_int_eq(value("1795428000.25"), T0 + 250);
	ck_assert_int_eq(value("1795428000123"), T0 + 123);
	ck_assert_int_eq(value("1795428000123456"), T0 + 123);
	ck_assert_int_eq(value("1795428000123456789"), T0 + 123);
	ck_assert_int_eq(value("-1795428000"), -1);
	ck_assert_int_eq(value("0"), -1);
	ck_assert_int_eq(value("3"), -1);
	ck_assert_int_eq(value("946684799"), -1);
	ck_assert_int_eq(value("946684800"), 946684800000LL);
	ck_assert_int_eq(value("1e9"), -1);
	ck_assert_int_eq(value("true"), -1);
	ck_assert_int_eq(value("99999999999999999999999"), -1);
}
END_TEST

START_TEST(plain_prefix)
{
	ck_assert_int_eq(prefix("2026-11-23T10:00:00.5Z INFO up"), T0 + 500);
	ck_assert_int_eq(prefix("  [2026-11-23T10:00:00Z] up"), T0);
	ck_assert_int_eq(prefix("INFO 2026-11-23T10:00:00Z"), -1);
	ck_assert_int_eq(prefix("2026-11-23"), -1);
	ck_assert_int_eq(prefix(""), -1);
}
END_TEST

/* Without a zone, the host's local time: with TZ set to a fixed offset
 * and to a zone with summer time, on both sides of a change. */
START_TEST(local_time)
{
	struct ls_ts_cache c;
	int64_t ms;

	setenv("TZ", "UTC+3", 1); /* POSIX: three hours behind UTC */
	tzset();
	ls_ts_cache_init(&c);
	ck_assert_int_eq(
	    ls_ts_parse_prefix(&c, "2026-11-23 07:00:00 x", 21, &ms), 0);
	ck_assert_int_eq(ms, T0);
	/* The cache is per hour: the next minute reuses it. */
	ck_assert_int_eq(
	    ls_ts_parse_prefix(&c, "2026-11-23 07:01:00,250 x", 25, &ms), 0);
	ck_assert_int_eq(ms, T0 + 60250);
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ls_ts_cache_init(&c);
	/* Winter: UTC+1; summer: UTC+2. */
	ck_assert_int_eq(
	    ls_ts_parse_prefix(&c, "2026-11-23 11:00:00", 19, &ms), 0);
	ck_assert_int_eq(ms, T0);
	ck_assert_int_eq(
	    ls_ts_parse_prefix(&c, "2026-07-01 12:00:00", 19, &ms), 0);
	ck_assert_int_eq(ms, 1782900000000LL);
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(through_severity)
{
	struct ls_ts_cache c;
	int64_t ms;
	enum ls_severity sev;
	static const struct {
		const char *line;
		int64_t want; /* -1: left as it was */
		enum ls_severity sev;
	} cases[] = {
		{ "{\"level\":\"error\",\"timestamp\":\"2026-11-23T10:00:"
		  "00Z\"}",
		    T0, LS_SEV_ERROR },
		{ "{\"@timestamp\":\"2026-11-23T10:00:00.5Z\",\"msg\":\"x\"}",
		    T0 + 500, LS_SEV_INFO },
		{ "{\"time\":1795428000,\"lvl\":\"warn\"}", T0,
		    LS_SEV_WARNING },
		{ "{\"ts\":1795428000123}", T0 + 123, LS_SEV_INFO },
		/* The first key of the list that holds a time wins. */
		{ "{\"ts\":1,\"timestamp\":\"2026-11-23T10:00:00Z\"}", T0,
		    LS_SEV_INFO },
		/* Nested: not a top-level key. */
		{ "{\"a\":{\"timestamp\":1795428000}}", -1, LS_SEV_INFO },
		{ "2026-11-23T10:00:00Z ERROR boom", T0, LS_SEV_ERROR },
		{ "ERROR no time here", -1, LS_SEV_ERROR },
		{ "{\"timestamp\":\"nope\",\"level\":\"debug\"}", -1,
		    LS_SEV_DEBUG },
	};
	size_t i;

	ls_ts_cache_init(&c);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ms = -1;
		sev = ls_severity_detect_time(
		    cases[i].line, strlen(cases[i].line), LS_SEV_INFO, &c, &ms);
		ck_assert_msg(ms == cases[i].want, "%s: %lld", cases[i].line,
		    (long long)ms);
		ck_assert_msg(
		    sev == cases[i].sev, "%s: severity %d", cases[i].line, sev);
	}
	/* No cache: no time looked for. */
	ms = -1;
	ls_severity_detect_time(
	    cases[0].line, strlen(cases[0].line), LS_SEV_INFO, NULL, &ms);
	ck_assert_int_eq(ms, -1);
}
END_TEST

/* The encoded timestamp and original_timestamp of a record of time t,
 * sent at now. */
static void
encoded(int64_t t, int64_t now, int64_t *ts, int64_t *orig, size_t *n)
{
	struct ls_record *r;
	struct ls_buf b;
	json_t *j, *o;

	r = ls_record_new(NULL, NULL, "m", 1, LS_SEV_INFO, 1, t);
	ls_buf_init(&b);
	*n = ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, 0, now);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	*ts = json_integer_value(json_object_get(j, "timestamp"));
	o = json_object_get(j, "original_timestamp");
	*orig = o != NULL ? json_integer_value(o) : -1;
	json_decref(j);
	ls_buf_cleanup(&b);
	ls_record_unref(r);
}

START_TEST(restamp_window)
{
	int64_t ts, orig, hour = 3600 * 1000LL;
	size_t n;

	/* Within the window: as it is. */
	encoded(T0 - 16 * hour, T0, &ts, &orig, &n);
	ck_assert_int_eq(ts, T0 - 16 * hour);
	ck_assert_int_eq(orig, -1);
	ck_assert_uint_eq(n, 0);
	/* 20 hours old: now, and its own beside. */
	encoded(T0 - 20 * hour, T0, &ts, &orig, &n);
	ck_assert_int_eq(ts, T0);
	ck_assert_int_eq(orig, T0 - 20 * hour);
	ck_assert_uint_eq(n, 1);
	/* Two hours ahead: the same. */
	encoded(T0 + 2 * hour, T0, &ts, &orig, &n);
	ck_assert_int_eq(ts, T0);
	ck_assert_uint_eq(n, 1);
	/* now 0: never (http destinations). */
	encoded(T0 - 20 * hour, 0, &ts, &orig, &n);
	ck_assert_int_eq(ts, T0 - 20 * hour);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *
timestamp_suite(void)
{
	Suite *s = suite_create("timestamp");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, rfc3339);
	tcase_add_test(tc, epoch_numbers);
	tcase_add_test(tc, plain_prefix);
	tcase_add_test(tc, local_time);
	tcase_add_test(tc, through_severity);
	suite_add_tcase(s, tc);
	tc = tcase_create("restamp");
	tcase_add_test(tc, restamp_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(timestamp_suite());
}
