/*
 * Tests of the sender's decisions: how each answer is classified, how
 * Retry-After is read, and the bounds of the backoff. The HTTP exchange
 * itself is tested end to end against the fake intake (tests/e2e).
 */
#include "config.h"

#include <stdlib.h>

#include <check.h>
#include <curl/curl.h>

#include "sender.h"
#include "testutil.h"

START_TEST(classify_table)
{
	static const struct {
		int rc;
		long status;
		enum ls_send_result want;
	} t[] = {
		{ CURLE_OK, 200, LS_SEND_OK },
		{ CURLE_OK, 202, LS_SEND_OK },
		{ CURLE_OK, 204, LS_SEND_OK },
		{ CURLE_OK, 400, LS_SEND_REJECT },
		{ CURLE_OK, 422, LS_SEND_REJECT },
		{ CURLE_OK, 404, LS_SEND_RETRY }, /* a wrong url */
		{ CURLE_OK, 405, LS_SEND_RETRY },
		{ CURLE_OK, 410, LS_SEND_RETRY },
		{ CURLE_OK, 415, LS_SEND_RETRY }, /* compression not taken */
		{ CURLE_OK, 409, LS_SEND_RETRY_FEW },
		{ CURLE_OK, 418, LS_SEND_RETRY_FEW },
		{ CURLE_OK, 499, LS_SEND_RETRY_FEW },
		{ CURLE_OK, 301, LS_SEND_RETRY }, /* never followed */
		{ CURLE_OK, 302, LS_SEND_RETRY },
		{ CURLE_OK, 308, LS_SEND_RETRY },
		{ CURLE_OK, 401, LS_SEND_RETRY },
		{ CURLE_OK, 403, LS_SEND_RETRY },
		{ CURLE_OK, 408, LS_SEND_RETRY },
		{ CURLE_OK, 413, LS_SEND_SPLIT },
		{ CURLE_OK, 429, LS_SEND_RETRY },
		{ CURLE_OK, 500, LS_SEND_RETRY },
		{ CURLE_OK, 503, LS_SEND_RETRY },
		{ CURLE_OK, 0, LS_SEND_RETRY },
		{ CURLE_COULDNT_CONNECT, 0, LS_SEND_RETRY },
		{ CURLE_OPERATION_TIMEDOUT, 0, LS_SEND_RETRY },
		{ CURLE_RECV_ERROR, 0, LS_SEND_RETRY },
		{ CURLE_PEER_FAILED_VERIFICATION, 0, LS_SEND_RETRY },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(
		    ls_sender_classify(t[i].rc, t[i].status) == t[i].want,
		    "rc %d status %ld", t[i].rc, t[i].status);
}
END_TEST

START_TEST(retry_after_values)
{
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

	ck_assert_int_eq(ls_retry_after_ms("3", now), 3000);
	ck_assert_int_eq(ls_retry_after_ms(" 120\r\n", now), 120000);
	ck_assert_int_eq(ls_retry_after_ms("0", now), 0);
	ck_assert_int_eq(
	    ls_retry_after_ms("Tue, 14 Nov 2023 22:13:30 GMT", now), 10000);
	ck_assert_int_eq(
	    ls_retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
	ck_assert_int_eq(ls_retry_after_ms("soon", now), -1);
	ck_assert_int_eq(ls_retry_after_ms("3x", now), -1);
	ck_assert_int_eq(ls_retry_after_ms("-5", now), -1);
	ck_assert_int_eq(ls_retry_after_ms("99999999999999999999", now), -1);
}
END_TEST

/* Found by fuzz_http (tests/fuzz/corpus/fuzz_http/date_far): a date was
 * taken however far ahead, where delta-seconds stop at a year. */
START_TEST(retry_after_far_date)
{
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

	ck_assert_int_eq(
	    ls_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT\r\n", now), -1);
	/* 365 days ahead is still a delay; a second more is not. */
	ck_assert_int_eq(
	    ls_retry_after_ms("Wed, 13 Nov 2024 22:13:20 GMT", now),
	    365LL * 86400 * 1000);
	ck_assert_int_eq(
	    ls_retry_after_ms("Wed, 13 Nov 2024 22:13:21 GMT", now), -1);
}
END_TEST

START_TEST(backoff_bounds)
{
	unsigned attempt;
	uint32_t rnd;
	int64_t cap, d;

	for (attempt = 0; attempt < 40; attempt++) {
		cap = 500;
		for (unsigned k = 0; k < attempt && cap < 30000; k++)
			cap *= 2;
		if (cap > 30000)
			cap = 30000;
		for (rnd = 0; rnd < 100000; rnd += 997) {
			d = ls_backoff_ms(
			    500, 30000, attempt, rnd * 2654435761u);
			ck_assert_int_ge(d, 500);
			ck_assert_int_le(d, cap);
		}
	}
	/* The first retry waits exactly the initial delay. */
	ck_assert_int_eq(ls_backoff_ms(500, 30000, 0, 12345), 500);
	/* The cap holds however long the outage. */
	ck_assert_int_le(ls_backoff_ms(500, 30000, 1000, 0xffffffff), 30000);
}
END_TEST

/* Found by fuzz_http (tests/fuzz/corpus/fuzz_http/backoff_huge): with
 * durations near INT64_MAX ms, which the config accepts, the doubling
 * overflowed. */
START_TEST(backoff_no_overflow)
{
	int64_t big = (int64_t)1 << 62, d;

	d = ls_backoff_ms(big, INT64_MAX, 1, 0xffffffff);
	ck_assert_int_ge(d, big);
	d = ls_backoff_ms(big + 1, INT64_MAX, 70, 12345);
	ck_assert_int_ge(d, big + 1);
	ck_assert_int_eq(ls_backoff_ms(1, INT64_MAX, 100, 0), 1);
	ck_assert_int_eq(ls_backoff_ms(INT64_MAX, INT64_MAX, 3, 7), INT64_MAX);
}
END_TEST

static Suite *
sender_suite(void)
{
	Suite *s = suite_create("sender");
	TCase *tc = tcase_create("decisions");

	tcase_add_test(tc, classify_table);
	tcase_add_test(tc, retry_after_values);
	tcase_add_test(tc, retry_after_far_date);
	tcase_add_test(tc, backoff_bounds);
	tcase_add_test(tc, backoff_no_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(sender_suite());
}
