/*
 * check_sem: counting, waiting for a release, acquires ended by cancel,
 * ancestor cancel and deadline, a cancelled waiter that must not wedge the
 * line, and many threads that must never hold more than n permits.
 *
 * Where a test wants a thread to be blocked before it acts, it waits for an
 * "entered" flag and then for a short bounded settle; the assertions hold
 * whether or not the thread was asleep by then. LS_STRESS_SCALE (default 1)
 * scales the stress sizes.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <check.h>

#include "ctx.h"
#include "sem.h"
#include "testutil.h"

/* One ls_sem_acquire() in its own thread; the test releases the permit. */
struct acquirer {
	pthread_t thread;
	struct ls_sem *sem;
	struct ls_ctx *ctx;
	atomic_int entered;
	atomic_int done;
	int result;
	int error;
};

static void *
acquirer_main(void *arg)
{
	struct acquirer *a = arg;

	atomic_store(&a->entered, 1);
	a->result = ls_sem_acquire(a->sem, a->ctx);
	a->error = a->result == -1 ? errno : 0;
	atomic_store(&a->done, 1);
	return NULL;
}

static void
acquirer_start(struct acquirer *a, struct ls_sem *sem, struct ls_ctx *ctx)
{
	a->sem = sem;
	a->ctx = ctx;
	atomic_init(&a->entered, 0);
	atomic_init(&a->done, 0);
	ck_assert_int_eq(pthread_create(&a->thread, NULL, acquirer_main, a), 0);
	ck_assert(spin_until(&a->entered, 1));
	settle();
}

/* Counting. */

START_TEST(new_rejects_zero)
{
	ck_assert_ptr_null(ls_sem_new(0));
	ck_assert_int_eq(errno, EINVAL);
	ls_sem_free(NULL);
}
END_TEST

START_TEST(tryacquire_counts)
{
	struct ls_sem *s = ls_sem_new(3);
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ck_assert_int_eq(ls_sem_tryacquire(s), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(ls_sem_in_use(s), 3);
	ck_assert_uint_eq(ls_sem_peak(s), 3);
	ls_sem_release(s);
	ls_sem_release(s);
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	ck_assert_uint_eq(ls_sem_peak(s), 3);
	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ls_sem_release(s);
	ls_sem_release(s);
	ck_assert_uint_eq(ls_sem_in_use(s), 0);
	ls_sem_free(s);
}
END_TEST

START_TEST(acquire_free_permit_at_once)
{
	struct ls_sem *s = ls_sem_new(2);
	struct ls_ctx *root = ls_ctx_new(NULL);

	ck_assert_int_eq(ls_sem_acquire(s, root), 0);
	ck_assert_int_eq(ls_sem_acquire(s, root), 0);
	ck_assert_uint_eq(ls_sem_in_use(s), 2);
	ls_sem_release(s);
	ls_sem_release(s);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

START_TEST(acquire_on_done_ctx_fails)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *root = ls_ctx_new(NULL);

	/* Even with a permit free: a done context means stop. */
	ls_ctx_cancel(root);
	ck_assert_int_eq(ls_sem_acquire(s, root), -1);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_uint_eq(ls_sem_in_use(s), 0);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

/* Waiting for a release. */

START_TEST(acquire_waits_for_release)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct acquirer a;

	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	acquirer_start(&a, s, root);
	ck_assert_int_eq(atomic_load(&a.done), 0);
	ls_sem_release(s);
	ck_assert_int_eq(pthread_join(a.thread, NULL), 0);
	ck_assert_int_eq(a.result, 0);
	/* The permit was handed over, never free in between. */
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	ck_assert_uint_eq(ls_sem_peak(s), 1);
	ls_sem_release(s);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

/* The limit moves (adaptive concurrency). */

START_TEST(limit_lowered_as_permits_return)
{
	struct ls_sem *s = ls_sem_new(3);
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ls_sem_set_limit(s, 1);
	ck_assert_uint_eq(ls_sem_limit(s), 1);
	/* None is taken away; none is given while over the limit. */
	ck_assert_uint_eq(ls_sem_in_use(s), 3);
	ls_sem_release(s);
	ck_assert_int_eq(ls_sem_tryacquire(s), -1);
	ls_sem_release(s);
	ck_assert_int_eq(ls_sem_tryacquire(s), -1);
	ls_sem_release(s);
	ck_assert_uint_eq(ls_sem_in_use(s), 0);
	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ck_assert_int_eq(ls_sem_tryacquire(s), -1);
	ls_sem_release(s);
	/* 0 means 1: a destination never stops sending. */
	ls_sem_set_limit(s, 0);
	ck_assert_uint_eq(ls_sem_limit(s), 1);
	ls_sem_free(s);
}
END_TEST

START_TEST(limit_lowered_holds_waiters)
{
	struct ls_sem *s = ls_sem_new(2);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct acquirer a;

	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	acquirer_start(&a, s, root);
	ls_sem_set_limit(s, 1);
	/* 2 in use, limit 1: a release is not handed to the waiter. */
	ls_sem_release(s);
	settle();
	ck_assert_int_eq(atomic_load(&a.done), 0);
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	/* Now under the limit: the next release is. */
	ls_sem_release(s);
	ck_assert_int_eq(pthread_join(a.thread, NULL), 0);
	ck_assert_int_eq(a.result, 0);
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	ls_sem_release(s);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

START_TEST(limit_raised_grants_waiters)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct acquirer a, b;

	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	acquirer_start(&a, s, root);
	acquirer_start(&b, s, root);
	/* No release: the new permits go to the waiters, oldest first. */
	ls_sem_set_limit(s, 3);
	ck_assert_int_eq(pthread_join(a.thread, NULL), 0);
	ck_assert_int_eq(pthread_join(b.thread, NULL), 0);
	ck_assert_int_eq(a.result, 0);
	ck_assert_int_eq(b.result, 0);
	ck_assert_uint_eq(ls_sem_in_use(s), 3);
	ck_assert_uint_eq(ls_sem_peak(s), 3);
	ls_sem_release(s);
	ls_sem_release(s);
	ls_sem_release(s);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

/* Ends other than a permit. */

static void
check_cancel_wakes(int ancestor)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *child = ls_ctx_new(root);
	struct acquirer a;

	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	acquirer_start(&a, s, child);
	ls_ctx_cancel(ancestor ? root : child);
	ck_assert_int_eq(pthread_join(a.thread, NULL), 0);
	ck_assert_int_eq(a.result, -1);
	ck_assert_int_eq(a.error, ECANCELED);
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	ls_sem_release(s);
	ck_assert_uint_eq(ls_sem_in_use(s), 0);
	ls_ctx_free(child);
	ls_ctx_free(root);
	ls_sem_free(s);
}

START_TEST(cancel_wakes_acquire)
{
	/* The waiter's own context cancelled. */
	check_cancel_wakes(0);
}
END_TEST

START_TEST(ancestor_cancel_wakes_acquire)
{
	/* An ancestor of its context cancelled. */
	check_cancel_wakes(1);
}
END_TEST

START_TEST(deadline_ends_acquire)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 50);

	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ck_assert_int_eq(ls_sem_acquire(s, ctx), -1);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert(ls_now_ms() >= ls_ctx_deadline(ctx));
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_DEADLINE);
	ls_sem_release(s);
	ls_ctx_free(ctx);
	ls_sem_free(s);
}
END_TEST

START_TEST(cancelled_waiter_does_not_wedge)
{
	struct ls_sem *s = ls_sem_new(1);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *c1 = ls_ctx_new(root), *c2 = ls_ctx_new(root);
	struct acquirer a1, a2;

	/* a1 queues first, then a2; a1 leaves; the release must reach a2. */
	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	acquirer_start(&a1, s, c1);
	acquirer_start(&a2, s, c2);
	ls_ctx_cancel(c1);
	ck_assert_int_eq(pthread_join(a1.thread, NULL), 0);
	ck_assert_int_eq(a1.error, ECANCELED);
	ck_assert_int_eq(atomic_load(&a2.done), 0);
	ls_sem_release(s);
	ck_assert_int_eq(pthread_join(a2.thread, NULL), 0);
	ck_assert_int_eq(a2.result, 0);
	ck_assert_uint_eq(ls_sem_in_use(s), 1);
	ls_sem_release(s);
	ck_assert_int_eq(ls_sem_tryacquire(s), 0);
	ls_sem_release(s);
	ls_ctx_free(c1);
	ls_ctx_free(c2);
	ls_ctx_free(root);
	ls_sem_free(s);
}
END_TEST

/* Stress. */

struct hammer {
	pthread_t thread;
	struct ls_sem *sem;
	struct ls_ctx *root;
	size_t rounds;
	int short_deadlines; /* a fresh 0-2 ms deadline per acquire */
	atomic_int *holders;
	atomic_int *max_holders;
	atomic_int *total; /* acquires by all threads */
	size_t acquired, cancelled;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct ls_ctx *ctx;
	size_t i;
	int now, max;

	for (i = 0; i < h->rounds; i++) {
		ctx = h->short_deadlines
		    ? ls_ctx_new_timeout(h->root, (int64_t)(i % 3))
		    : ls_ctx_new(h->root);
		if (ls_sem_acquire(h->sem, ctx) == -1) {
			ck_assert_int_eq(errno, ECANCELED);
			h->cancelled++;
			ls_ctx_free(ctx);
			if (ls_ctx_done(h->root))
				break;
			continue;
		}
		now = atomic_fetch_add(h->holders, 1) + 1;
		max = atomic_load(h->max_holders);
		while (now > max
		    && !atomic_compare_exchange_weak(h->max_holders, &max, now))
			;
		if (i % 8 == 0)
			sched_yield();
		atomic_fetch_sub(h->holders, 1);
		ls_sem_release(h->sem);
		h->acquired++;
		atomic_fetch_add(h->total, 1);
		ls_ctx_free(ctx);
	}
	return NULL;
}

/*
 * NT threads, some with deadlines short enough to expire while queued,
 * hammer a semaphore of N permits: never more than N holders at once, and
 * everything given back at the end. With "cancel", the root is cancelled
 * while threads wait, and all of them must come out.
 */
static void
check_hammer(int cancel)
{
	enum { N = 3, NT = 12 };
	struct ls_sem *s = ls_sem_new(N);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct hammer h[NT];
	atomic_int holders, max_holders, total;
	size_t acquired = 0;
	int k;

	atomic_init(&holders, 0);
	atomic_init(&max_holders, 0);
	atomic_init(&total, 0);
	for (k = 0; k < NT; k++) {
		h[k] = (struct hammer) { .sem = s,
			.root = root,
			.rounds = cancel ? (size_t)-1 : scaled(10000),
			.short_deadlines = k % 3 == 0,
			.holders = &holders,
			.max_holders = &max_holders,
			.total = &total };
		ck_assert_int_eq(
		    pthread_create(&h[k].thread, NULL, hammer_main, &h[k]), 0);
	}
	if (cancel) {
		/* Let them get going, then cut them all off. */
		ck_assert(spin_until(&total, (int)scaled(2000)));
		ls_ctx_cancel(root);
	}
	for (k = 0; k < NT; k++) {
		ck_assert_int_eq(pthread_join(h[k].thread, NULL), 0);
		acquired += h[k].acquired;
	}
	ck_assert(acquired > 0);
	ck_assert_int_le(atomic_load(&max_holders), N);
	ck_assert_uint_le(ls_sem_peak(s), N);
	ck_assert_uint_eq(ls_sem_in_use(s), 0);
	ck_assert_int_eq(atomic_load(&holders), 0);
	ls_ctx_free(root);
	ls_sem_free(s);
}

START_TEST(stress_peak_never_exceeds_n)
{
	/* Runs to completion. */
	check_hammer(0);
}
END_TEST

START_TEST(stress_cancel_all_waiters)
{
	/* Cut off by a cancel of the root while threads wait. */
	check_hammer(1);
}
END_TEST

static Suite *
sem_suite(void)
{
	Suite *s = suite_create("sem");
	TCase *tc;

	tc = tcase_create("count");
	tcase_add_test(tc, new_rejects_zero);
	tcase_add_test(tc, tryacquire_counts);
	tcase_add_test(tc, acquire_free_permit_at_once);
	tcase_add_test(tc, acquire_on_done_ctx_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, acquire_waits_for_release);
	suite_add_tcase(s, tc);

	tc = tcase_create("limit");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, limit_lowered_as_permits_return);
	tcase_add_test(tc, limit_lowered_holds_waiters);
	tcase_add_test(tc, limit_raised_grants_waiters);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cancel_wakes_acquire);
	tcase_add_test(tc, ancestor_cancel_wakes_acquire);
	tcase_add_test(tc, deadline_ends_acquire);
	tcase_add_test(tc, cancelled_waiter_does_not_wedge);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stress_peak_never_exceeds_n);
	tcase_add_test(tc, stress_cancel_all_waiters);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(sem_suite());
}
