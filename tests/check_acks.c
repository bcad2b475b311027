/*
 * check_acks: the fan-in of acknowledgements. A record routed to k
 * destinations is applied once, on the loop's thread, after the last of
 * the k is done with it, whichever threads report and in whatever order;
 * the ev_async wakes the loop; unapplied acknowledgements are dropped
 * (not leaked) when the fan-in is freed.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <check.h>
#include <ev.h>

#include "acks.h"
#include "ctx.h"
#include "record.h"
#include "testutil.h"

#define K 3 /* destinations, one thread each */

static pthread_t loop_thread;
static atomic_int *applied;
static atomic_int wrong_thread;

static void
apply_cb(struct ls_record *r, void *arg)
{
	(void)arg;
	if (!pthread_equal(pthread_self(), loop_thread))
		atomic_store(&wrong_thread, 1);
	atomic_fetch_add(&applied[atoi(r->msg)], 1);
}

struct worker {
	struct ls_acks *a;
	struct ls_record **recs;
	size_t n;
	unsigned seed;
};

/* One destination: reports the records in batches of varying size, in
 * its own order. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	size_t i = 0, k;

	while (i < w->n) {
		k = 1 + (size_t)rand_r(&w->seed) % 300;
		if (k > w->n - i)
			k = w->n - i;
		ls_acks_done(w->a, w->recs + i, k);
		i += k;
	}
	return NULL;
}

static struct ls_record **
make(size_t n, unsigned pending)
{
	struct ls_record **recs = calloc(n, sizeof *recs);
	char msg[16];
	size_t i;
	int len;

	for (i = 0; i < n; i++) {
		len = snprintf(msg, sizeof msg, "%zu", i);
		recs[i] = ls_record_new(
		    NULL, NULL, msg, (size_t)len, LS_SEV_INFO, 0, 0);
		ls_record_set_pending(recs[i], pending);
	}
	return recs;
}

START_TEST(test_fan_in)
{
	size_t n = scaled(50000), i, got = 0;
	struct worker w[K];
	pthread_t thr[K];
	struct ev_loop *loop = ev_loop_new(0);
	struct ls_record **recs = make(n, K);
	struct ls_acks *a;
	int64_t end;
	int j;

	loop_thread = pthread_self();
	applied = calloc(n, sizeof *applied);
	a = ls_acks_new(loop, apply_cb, NULL);
	ls_acks_start(a);
	for (j = 0; j < K; j++) {
		w[j].a = a;
		w[j].recs = recs;
		w[j].n = n;
		w[j].seed = (unsigned)j + 1;
		ck_assert_int_eq(pthread_create(&thr[j], NULL, work, &w[j]), 0);
	}
	/* The loop, woken by the ev_async, applies them as they come. */
	end = ls_now_ms() + 20000;
	while (got < n && ls_now_ms() < end) {
		ev_run(loop, EVRUN_ONCE);
		for (got = 0, i = 0; i < n; i++)
			got += atomic_load(&applied[i]) > 0;
	}
	for (j = 0; j < K; j++)
		pthread_join(thr[j], NULL);
	(void)ls_acks_apply(a);
	for (i = 0; i < n; i++)
		ck_assert_msg(atomic_load(&applied[i]) == 1,
		    "record %zu applied %d times", i, atomic_load(&applied[i]));
	ck_assert_int_eq(atomic_load(&wrong_thread), 0);
	/* The fan-in's references are gone: ours is the last. */
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(atomic_load(&recs[i]->refs), 1);
		ls_record_unref(recs[i]);
	}
	ls_acks_free(a);
	ev_loop_destroy(loop);
	free(recs);
	free(applied);
}
END_TEST

/* Not done until the last destination is. */
START_TEST(test_waits_for_last)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct ls_record **recs = make(1, 2);
	struct ls_acks *a;

	loop_thread = pthread_self();
	applied = calloc(1, sizeof *applied);
	a = ls_acks_new(loop, apply_cb, NULL);
	ls_acks_start(a);
	ls_acks_done(a, recs, 1);
	ck_assert_uint_eq(ls_acks_apply(a), 0);
	ls_acks_done(a, recs, 1);
	ck_assert_uint_eq(ls_acks_apply(a), 1);
	ck_assert_int_eq(atomic_load(&applied[0]), 1);
	ls_record_unref(recs[0]);
	ls_acks_free(a);
	ev_loop_destroy(loop);
	free(recs);
	free(applied);
}
END_TEST

/* Freed with acknowledgements queued: they are dropped, the records
 * released (ASan sees a leak otherwise). */
START_TEST(test_free_unapplied)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct ls_record **recs = make(10, 1);
	struct ls_acks *a;
	size_t i;

	a = ls_acks_new(loop, apply_cb, NULL);
	ls_acks_start(a);
	ls_acks_done(a, recs, 10);
	for (i = 0; i < 10; i++)
		ls_record_unref(recs[i]);
	ls_acks_free(a);
	ev_loop_destroy(loop);
	free(recs);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("acks");
	TCase *tc = tcase_create("acks");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fan_in);
	tcase_add_test(tc, test_waits_for_last);
	tcase_add_test(tc, test_free_unapplied);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(suite());
}
