/*
 * Tests of refuse.c, the state machine that decides what an entry the
 * intake refuses alone means: proven bad (dropped), not yet known
 * (deferred), or part of a stream refused whole (the destination holds).
 */
#include "config.h"

#include <stdlib.h>

#include <check.h>

#include "refuse.h"
#include "testutil.h"

/* A poison entry: its batch refused, the half without it accepted, then
 * it refused alone: proven bad. */
START_TEST(poison_is_dropped)
{
	struct ls_refuse r;
	uint64_t ok, batch_refused, half, leaf;
	int held;

	ls_refuse_init(&r, 10);
	ls_refuse_tick(&r, &ok);
	batch_refused = ls_refuse_tick(&r, NULL);
	half = ls_refuse_tick(&r, NULL);
	ls_refuse_accepted(&r, half);
	leaf = ls_refuse_tick(&r, &ok);
	ck_assert_uint_gt(leaf, half);
	ck_assert_int_eq(ls_refuse_single(&r, batch_refused, ok, 400, &held),
	    LS_REFUSE_DROP);
	ck_assert_int_eq(held, 0);
	ck_assert_int_eq(ls_refuse_held(&r, NULL, NULL), 0);
	ls_refuse_cleanup(&r);
}
END_TEST

/* The first entry of a batch is refused alone before anything else was
 * accepted: not proven, deferred. */
START_TEST(no_proof_defers)
{
	struct ls_refuse r;
	uint64_t ok, refused;
	int held;

	ls_refuse_init(&r, 10);
	/* Something was accepted long ago, before the refusal. */
	ls_refuse_accepted(&r, ls_refuse_tick(&r, NULL));
	refused = ls_refuse_tick(&r, NULL);
	ls_refuse_tick(&r, &ok);
	ck_assert_int_eq(
	    ls_refuse_single(&r, refused, ok, 400, &held), LS_REFUSE_DEFER);
	ck_assert_int_eq(held, 0);
	ls_refuse_cleanup(&r);
}
END_TEST

/* An acceptance registered after a request was sent is no proof for
 * that request's refusal (it may have been answered before the intake
 * healed). */
START_TEST(late_acceptance_is_no_proof)
{
	struct ls_refuse r;
	uint64_t ok, refused, other;
	int held;

	ls_refuse_init(&r, 10);
	refused = ls_refuse_tick(&r, NULL);
	ls_refuse_tick(&r, &ok); /* the single entry is sent */
	other = ls_refuse_tick(&r, NULL); /* another worker sends */
	ls_refuse_accepted(&r, other);
	ck_assert_int_eq(
	    ls_refuse_single(&r, refused, ok, 400, &held), LS_REFUSE_DEFER);
	ls_refuse_cleanup(&r);
}
END_TEST

/* A storm: every entry refused alone, nothing accepted. The limit-th
 * holds the destination; nothing before it was dropped; an acceptance
 * ends the hold and the streak. */
START_TEST(storm_holds_then_heals)
{
	struct ls_refuse r;
	uint64_t ok, refused;
	unsigned i, streak;
	long status;
	int held;

	ls_refuse_init(&r, 5);
	for (i = 1; i <= 7; i++) {
		refused = ls_refuse_tick(&r, NULL);
		ls_refuse_tick(&r, &ok);
		ck_assert_int_eq(ls_refuse_single(&r, refused, ok, 400, &held),
		    i < 5 ? LS_REFUSE_DEFER : LS_REFUSE_HOLD);
		ck_assert_int_eq(held, i == 5);
	}
	ck_assert_int_eq(ls_refuse_held(&r, &status, &streak), 1);
	ck_assert_int_eq(status, 400);
	ck_assert_uint_eq(streak, 7);
	ck_assert_int_eq(ls_refuse_accepted(&r, ls_refuse_tick(&r, NULL)), 1);
	ck_assert_int_eq(ls_refuse_held(&r, NULL, &streak), 0);
	ck_assert_uint_eq(streak, 0);
	ck_assert_int_eq(ls_refuse_accepted(&r, ls_refuse_tick(&r, NULL)), 0);
	ls_refuse_cleanup(&r);
}
END_TEST

/* Poison entries one after another, each proven: dropped until the
 * limit, then held (not dropped) even with proof. */
START_TEST(proven_run_holds_at_limit)
{
	struct ls_refuse r;
	uint64_t ok, refused;
	unsigned i;
	int held;

	ls_refuse_init(&r, 3);
	refused = ls_refuse_tick(&r, NULL);
	ls_refuse_accepted(&r, ls_refuse_tick(&r, NULL));
	for (i = 1; i <= 4; i++) {
		ls_refuse_tick(&r, &ok);
		ck_assert_int_eq(ls_refuse_single(&r, refused, ok, 422, &held),
		    i < 3 ? LS_REFUSE_DROP : LS_REFUSE_HOLD);
	}
	ls_refuse_cleanup(&r);
}
END_TEST

/* reject_limit 1: the first entry refused alone holds; 0 is taken as 1. */
START_TEST(limit_one)
{
	struct ls_refuse r;
	uint64_t ok, refused;
	int held;

	ls_refuse_init(&r, 0);
	refused = ls_refuse_tick(&r, NULL);
	ls_refuse_accepted(&r, ls_refuse_tick(&r, NULL));
	ls_refuse_tick(&r, &ok);
	ck_assert_int_eq(
	    ls_refuse_single(&r, refused, ok, 400, &held), LS_REFUSE_HOLD);
	ck_assert_int_eq(held, 1);
	ls_refuse_cleanup(&r);
}
END_TEST

static Suite *
refuse_suite(void)
{
	Suite *s = suite_create("refuse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, poison_is_dropped);
	tcase_add_test(tc, no_proof_defers);
	tcase_add_test(tc, late_acceptance_is_no_proof);
	tcase_add_test(tc, storm_holds_then_heals);
	tcase_add_test(tc, proven_run_holds_at_limit);
	tcase_add_test(tc, limit_one);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(refuse_suite());
}
