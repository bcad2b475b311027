/*
 * check_aimd: the adaptive concurrency controller, driven with made-up
 * times: it starts at 1, climbs by one per limit windows while the limit
 * is reached and the round trip holds, never past max, falls by a tenth
 * (at least 1) on push-back or a rising round trip, and holds when there
 * is no demand.
 */
#include "config.h"

#include <check.h>

#include "aimd.h"
#include "testutil.h"

/* One request 60 ms after the last (a window is at least 50 ms, so each
 * closes one); returns the limit after it. The first only opens the
 * first window. */
static unsigned
window(struct ls_aimd *a, int64_t *now, int64_t rtt, int pushed_back,
    int saturated)
{
	*now += 60;
	return ls_aimd_sample(a, *now, rtt, pushed_back, saturated);
}

START_TEST(climbs_to_max_and_stops)
{
	struct ls_aimd a;
	int64_t now = 1000;
	unsigned prev = 1, limit;
	int w;

	ls_aimd_init(&a, 8);
	ck_assert_uint_eq(ls_aimd_limit(&a), 1);
	/* 1 + 2 + ... + 7 windows to get from 1 to 8. */
	for (w = 0; w < 29; w++) {
		limit = window(&a, &now, 20, 0, 1);
		ck_assert_uint_le(limit, prev + 1);
		ck_assert_uint_ge(limit, prev);
		prev = limit;
	}
	ck_assert_uint_eq(prev, 8);
	ls_aimd_destroy(&a);
}
END_TEST

START_TEST(push_back_cuts)
{
	struct ls_aimd a;
	int64_t now = 1000;
	unsigned limit;
	int w;

	ls_aimd_init(&a, 20);
	for (w = 0; w < 400; w++)
		window(&a, &now, 20, 0, 1);
	ck_assert_uint_eq(ls_aimd_limit(&a), 20);
	limit = window(&a, &now, 20, 1, 1);
	ck_assert_uint_eq(limit, 18); /* a tenth */
	for (w = 0; w < 100; w++)
		limit = window(&a, &now, 20, 1, 1);
	ck_assert_uint_eq(limit, 1); /* never below 1 */
	ls_aimd_destroy(&a);
}
END_TEST

START_TEST(rising_rtt_cuts)
{
	struct ls_aimd a;
	int64_t now = 1000;
	unsigned before, after;
	int w;

	ls_aimd_init(&a, 20);
	for (w = 0; w < 10; w++)
		window(&a, &now, 20, 0, 1);
	before = ls_aimd_limit(&a);
	ck_assert_uint_eq(before, 4); /* 9 windows: 1, 2 2, 3 3 3, 4 4 4 */
	/* Twice the usual round trip: queueing somewhere. */
	after = window(&a, &now, 40, 0, 1);
	ck_assert_uint_eq(after, before - 1);
	ls_aimd_destroy(&a);
}
END_TEST

START_TEST(no_demand_holds)
{
	struct ls_aimd a;
	int64_t now = 1000;
	int w;

	ls_aimd_init(&a, 8);
	for (w = 0; w < 4; w++)
		window(&a, &now, 20, 0, 1);
	ck_assert_uint_eq(ls_aimd_limit(&a), 3);
	for (w = 0; w < 20; w++)
		window(&a, &now, 20, 0, 0);
	ck_assert_uint_eq(ls_aimd_limit(&a), 3);
	ls_aimd_destroy(&a);
}
END_TEST

static Suite *
aimd_suite(void)
{
	Suite *s = suite_create("aimd");
	TCase *tc = tcase_create("aimd");

	tcase_add_test(tc, climbs_to_max_and_stops);
	tcase_add_test(tc, push_back_cuts);
	tcase_add_test(tc, rising_rtt_cuts);
	tcase_add_test(tc, no_demand_holds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(aimd_suite());
}
