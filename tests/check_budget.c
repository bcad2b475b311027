/*
 * check_budget: the memory budget's pause and resume (record.c), meant to
 * run under TSan too. The reader (this thread) charges records until the
 * budget says pause, then waits for the resume; several threads free the
 * records concurrently. The race this guards: the last records freed
 * between the reader's "used >= high" and its "paused = 1", with nobody
 * left to call resume: the reader would wait forever. Each round must
 * resume within the deadline, exactly once per pause. The budget holds a
 * few records only, so that every round crosses both marks and the freers
 * run close to the reader. The window is a few instructions wide: a
 * mutant without the second look in ls_budget_should_pause survived
 * 20,000 rounds of that stress test, so it is a stress and TSan test of
 * the protocol, not a proof of that line. The proof is
 * test_pause_window: the budget's test hook (record.h) holds the window
 * open and every record is freed inside it, deterministically; without
 * the second look the reader stays paused with no resume to come, and
 * the test fails at its deadline.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <check.h>

#include "ctx.h"
#include "queue.h"
#include "record.h"
#include "testutil.h"

#define FREERS 3

static atomic_int resumes;
static struct ls_ctx *ctx;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void
resume_cb(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	atomic_fetch_add(&resumes, 1);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* A freer: unrefs whatever it pops until the queue is closed. */
static void *
freer(void *arg)
{
	struct ls_queue *q = arg;
	struct ls_record *r;

	while ((r = ls_queue_pop(q, ctx, LS_FOREVER, NULL)) != NULL)
		ls_record_unref(r);
	return NULL;
}

START_TEST(test_pause_resume_race)
{
	struct ls_budget *b = ls_budget_new(256);
	struct ls_queue *q = ls_queue_new(ls_record_unref_cb, NULL);
	size_t rounds = scaled(20000), i, pauses = 0;
	pthread_t thr[FREERS];
	struct ls_record *r;
	struct timespec ts;
	int j, seen;

	ctx = ls_ctx_new(NULL);
	ls_budget_watch(b, resume_cb, NULL);
	for (j = 0; j < FREERS; j++)
		ck_assert_int_eq(pthread_create(&thr[j], NULL, freer, q), 0);
	for (i = 0; i < rounds; i++) {
		seen = atomic_load(&resumes);
		/* Charge until told to pause: the freers race the check. */
		while (!ls_budget_should_pause(b)) {
			r = ls_record_new(
			    NULL, b, "0123456789abcdef", 16, LS_SEV_INFO, 0, 0);
			ck_assert_int_eq(ls_queue_push(q, r, 0), 0);
		}
		pauses++;
		/* Paused: a resume must come, as the freers empty it. */
		pthread_mutex_lock(&mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		while (atomic_load(&resumes) == seen)
			if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
				break;
		pthread_mutex_unlock(&mu);
		ck_assert_msg(atomic_load(&resumes) == seen + 1,
		    "round %zu: %d resumes after a pause, not 1", i,
		    atomic_load(&resumes) - seen);
	}
	ls_queue_close(q);
	for (j = 0; j < FREERS; j++)
		pthread_join(thr[j], NULL);
	ck_assert_uint_eq(ls_budget_used(b), 0);
	ck_assert_int_eq(atomic_load(&resumes), (int)pauses);
	ls_queue_free(q);
	ls_ctx_free(ctx);
	ls_budget_free(b);
}
END_TEST

/* Records charged until usage reaches the high mark, freed by free_all. */
struct held {
	struct ls_record *r[64];
	int n;
	int hooked; /* free_all ran, inside the window */
};

/* The test hook: every record freed between should_pause's first look
 * and its "paused = 1", while nobody has the budget paused yet. */
static void
free_all(void *arg)
{
	struct held *h = arg;

	while (h->n > 0)
		ls_record_unref(h->r[--h->n]);
	h->hooked = 1;
}

/* 1 if a resume beyond seen came within ms. Here a resume comes from the
 * freeing itself, in this thread, or never: the deadline bounds the
 * failure, no timing is hoped for. */
static int
resumed_within(int seen, int64_t ms)
{
	struct timespec ts;

	pthread_mutex_lock(&mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (atomic_load(&resumes) == seen)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&mu);
	return atomic_load(&resumes) != seen;
}

/*
 * The race of test_pause_resume_race, made certain: the last records are
 * freed inside should_pause's window. The reader is then either not
 * paused (the second look took the pause back) or resumed by someone; it
 * must not stay paused with nobody to resume it. A second round with no
 * freeing in the window checks the other side: paused, and resumed once
 * the records go.
 */
START_TEST(test_pause_window)
{
	struct ls_budget *b = ls_budget_new(256);
	struct held h = { .n = 0 };
	int seen, paused;

	ls_budget_watch(b, resume_cb, NULL);
	while (ls_budget_used(b) < ls_budget_high(b)) {
		ck_assert_int_lt(h.n, 64);
		h.r[h.n++] = ls_record_new(
		    NULL, b, "0123456789abcdef", 16, LS_SEV_INFO, 0, 0);
	}
	seen = atomic_load(&resumes);
	ls_budget_set_test_hook(b, free_all, &h);
	paused = ls_budget_should_pause(b);
	ck_assert_int_eq(h.hooked, 1);
	ck_assert_uint_eq(ls_budget_used(b), 0);
	ck_assert_msg(!paused || resumed_within(seen, 2000),
	    "paused with every record freed, and no resume came");

	/* The window left alone: a plain pause, resumed once. */
	ls_budget_set_test_hook(b, NULL, NULL);
	while (ls_budget_used(b) < ls_budget_high(b))
		h.r[h.n++] = ls_record_new(
		    NULL, b, "0123456789abcdef", 16, LS_SEV_INFO, 0, 0);
	ck_assert_int_eq(ls_budget_should_pause(b), 1);
	seen = atomic_load(&resumes);
	free_all(&h);
	ck_assert(resumed_within(seen, 2000));
	ck_assert_int_eq(atomic_load(&resumes), seen + 1);
	ls_budget_free(b);
}
END_TEST

/* Unwatched, a release never calls the old watcher. */
START_TEST(test_unwatch)
{
	struct ls_budget *b = ls_budget_new(1024);
	struct ls_record *r[200];
	int n = 0, before;

	ls_budget_watch(b, resume_cb, NULL);
	while (!ls_budget_should_pause(b)) {
		ck_assert_int_lt(n, 200);
		r[n++] = ls_record_new(
		    NULL, b, "0123456789abcdef", 16, LS_SEV_INFO, 0, 0);
	}
	before = atomic_load(&resumes);
	ls_budget_watch(b, NULL, NULL);
	while (n > 0)
		ls_record_unref(r[--n]);
	ck_assert_int_eq(atomic_load(&resumes), before);
	ck_assert_uint_eq(ls_budget_used(b), 0);
	ck_assert_uint_eq(ls_budget_high(b), 1024);
	ls_budget_free(b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_create("budget");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pause_resume_race);
	tcase_add_test(tc, test_pause_window);
	tcase_add_test(tc, test_unwatch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(suite());
}
