/*
 * check_ctx: the context tree, deadlines, and the wake-up protocol of
 * ls_ctx_wait() against ls_ctx_cancel() (docs/internals/ctx.md).
 *
 * No test sleeps in the hope that another thread got somewhere. A waiter
 * sets "entered" while holding its mutex and keeps that mutex until
 * pthread_cond_wait() releases it, so once the test has seen the flag and
 * then taken the mutex itself, the waiter is registered and asleep.
 * LS_STRESS_SCALE (default 1) scales the stress rounds.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <check.h>

#include "ctx.h"
#include "testutil.h"

/* One thread blocked in ls_ctx_wait() on a mutex and condvar of its own. */
struct waiter {
	pthread_t thread;
	struct ls_ctx *ctx;
	pthread_mutex_t m;
	pthread_cond_t c;
	int64_t until;
	int wake; /* the predicate, under m */
	atomic_int entered;
	int result;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	int r;

	pthread_mutex_lock(&w->m);
	atomic_store(&w->entered, 1);
	do
		r = ls_ctx_wait(w->ctx, &w->m, &w->c, w->until);
	while (r == 0 && !w->wake);
	pthread_mutex_unlock(&w->m);
	w->result = r;
	return NULL;
}

static void
waiter_start(struct waiter *w, struct ls_ctx *ctx, int64_t until)
{
	w->ctx = ctx;
	w->until = until;
	w->wake = 0;
	w->result = -1;
	atomic_init(&w->entered, 0);
	pthread_mutex_init(&w->m, NULL);
	ls_cond_init(&w->c);
	ck_assert_int_eq(pthread_create(&w->thread, NULL, waiter_main, w), 0);
}

/* Returns once the waiter is registered and inside its condition wait. */
static void
waiter_blocked(struct waiter *w)
{
	ck_assert(spin_until(&w->entered, 1));
	pthread_mutex_lock(&w->m);
	pthread_mutex_unlock(&w->m);
}

static int
waiter_join(struct waiter *w)
{
	ck_assert_int_eq(pthread_join(w->thread, NULL), 0);
	pthread_cond_destroy(&w->c);
	pthread_mutex_destroy(&w->m);
	return w->result;
}

/* Tree. */

START_TEST(tree_root_is_live)
{
	struct ls_ctx *root = ls_ctx_new(NULL);

	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(ls_ctx_err(root), LS_CTX_OK);
	ck_assert_int_eq(ls_ctx_done(root), 0);
	ck_assert(ls_ctx_deadline(root) == LS_FOREVER);
	ck_assert(ls_ctx_remaining_ms(root) == -1);
	ls_ctx_free(root);
	ls_ctx_free(NULL);
}
END_TEST

START_TEST(tree_cancel_propagates_down)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *a = ls_ctx_new(root), *b = ls_ctx_new(root);
	struct ls_ctx *a1 = ls_ctx_new(a), *a2 = ls_ctx_new(a);

	ls_ctx_cancel(root);
	ck_assert_int_eq(ls_ctx_err(root), LS_CTX_CANCELED);
	ck_assert_int_eq(ls_ctx_err(a), LS_CTX_CANCELED);
	ck_assert_int_eq(ls_ctx_err(b), LS_CTX_CANCELED);
	ck_assert_int_eq(ls_ctx_err(a1), LS_CTX_CANCELED);
	ck_assert_int_eq(ls_ctx_err(a2), LS_CTX_CANCELED);
	ck_assert(ls_ctx_remaining_ms(a2) == 0);
	ls_ctx_free(a1);
	ls_ctx_free(a2);
	ls_ctx_free(a);
	ls_ctx_free(b);
	ls_ctx_free(root);
}
END_TEST

START_TEST(tree_cancel_child_spares_parent)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *a = ls_ctx_new(root), *b = ls_ctx_new(root);
	struct ls_ctx *a1 = ls_ctx_new(a);

	ls_ctx_cancel(a);
	ck_assert_int_eq(ls_ctx_done(a), 1);
	ck_assert_int_eq(ls_ctx_done(a1), 1);
	ck_assert_int_eq(ls_ctx_done(root), 0);
	ck_assert_int_eq(ls_ctx_done(b), 0);
	/* Idempotent, and a later cancel of the root still reaches b. */
	ls_ctx_cancel(a);
	ls_ctx_cancel(root);
	ls_ctx_cancel(root);
	ck_assert_int_eq(ls_ctx_done(b), 1);
	ls_ctx_free(a1);
	ls_ctx_free(a);
	ls_ctx_free(b);
	ls_ctx_free(root);
}
END_TEST

START_TEST(tree_born_canceled)
{
	struct ls_ctx *root = ls_ctx_new(NULL), *child, *grandchild;

	ls_ctx_cancel(root);
	child = ls_ctx_new(root);
	grandchild = ls_ctx_new_timeout(child, 10000);
	ck_assert_int_eq(ls_ctx_err(child), LS_CTX_CANCELED);
	ck_assert_int_eq(ls_ctx_err(grandchild), LS_CTX_CANCELED);
	ls_ctx_free(grandchild);
	ls_ctx_free(child);
	ls_ctx_free(root);
}
END_TEST

START_TEST(tree_free_unlinks_child)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *a = ls_ctx_new(root), *b = ls_ctx_new(root);
	struct ls_ctx *c = ls_ctx_new(root);

	/* Middle, then ends of the sibling list. */
	ls_ctx_free(b);
	ls_ctx_cancel(root);
	ck_assert_int_eq(ls_ctx_done(a), 1);
	ck_assert_int_eq(ls_ctx_done(c), 1);
	ls_ctx_free(c);
	ls_ctx_free(a);
	ls_ctx_free(root);
}
END_TEST

/* Deadlines. */

START_TEST(deadline_fires)
{
	int64_t t0 = ls_now_ms();
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 50), *child;

	ck_assert(ls_ctx_deadline(ctx) >= t0 + 50);
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_OK);
	ck_assert_int_eq(ls_ctx_sleep(ctx, 60000), ECANCELED);
	ck_assert(ls_now_ms() >= ls_ctx_deadline(ctx));
	ck_assert(ls_now_ms() - t0 < 10000);
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_DEADLINE);
	ck_assert_int_eq(ls_ctx_done(ctx), 1);
	ck_assert(ls_ctx_remaining_ms(ctx) == 0);
	/* The first reason sticks: a cancel after the deadline is still a
	 * deadline, for the context and for its children. */
	child = ls_ctx_new_timeout(ctx, 60000);
	ls_ctx_cancel(ctx);
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_DEADLINE);
	ck_assert_int_eq(ls_ctx_err(child), LS_CTX_DEADLINE);
	ls_ctx_free(child);
	ls_ctx_free(ctx);
}
END_TEST

START_TEST(deadline_child_is_min)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *p = ls_ctx_new_timeout(root, 100000);
	struct ls_ctx *sooner = ls_ctx_new_timeout(p, 1000);
	struct ls_ctx *later = ls_ctx_new_timeout(p, 500000);
	struct ls_ctx *plain = ls_ctx_new(p);
	struct ls_ctx *own = ls_ctx_new_timeout(root, 2000);

	ck_assert(ls_ctx_deadline(sooner) < ls_ctx_deadline(p));
	ck_assert(ls_ctx_deadline(later) == ls_ctx_deadline(p));
	ck_assert(ls_ctx_deadline(plain) == ls_ctx_deadline(p));
	ck_assert(ls_ctx_deadline(own) != LS_FOREVER);
	ck_assert(ls_ctx_deadline(own) <= ls_now_ms() + 2000);
	ls_ctx_free(own);
	ls_ctx_free(plain);
	ls_ctx_free(later);
	ls_ctx_free(sooner);
	ls_ctx_free(p);
	ls_ctx_free(root);
}
END_TEST

START_TEST(deadline_of_parent_ends_child_wait)
{
	struct ls_ctx *p = ls_ctx_new_timeout(NULL, 50);
	struct ls_ctx *child = ls_ctx_new(p);

	ck_assert_int_eq(ls_ctx_sleep(child, 60000), ECANCELED);
	ck_assert(ls_now_ms() >= ls_ctx_deadline(p));
	ck_assert_int_eq(ls_ctx_err(child), LS_CTX_DEADLINE);
	ls_ctx_free(child);
	ls_ctx_free(p);
}
END_TEST

START_TEST(deadline_remaining_ms)
{
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 10000);
	struct ls_ctx *zero = ls_ctx_new_timeout(NULL, 0);
	struct ls_ctx *neg = ls_ctx_new_timeout(NULL, -5);
	struct ls_ctx *huge = ls_ctx_new_timeout(NULL, LS_FOREVER - 1);
	int64_t left = ls_ctx_remaining_ms(ctx);

	ck_assert(left > 5000 && left <= 10000);
	ck_assert(ls_ctx_remaining_ms(zero) == 0);
	ck_assert_int_eq(ls_ctx_err(zero), LS_CTX_DEADLINE);
	ck_assert(ls_ctx_remaining_ms(neg) == 0);
	ck_assert(ls_ctx_deadline(huge) == LS_FOREVER);
	ck_assert(ls_ctx_remaining_ms(huge) == -1);
	ls_ctx_cancel(ctx);
	ck_assert(ls_ctx_remaining_ms(ctx) == 0);
	ls_ctx_free(huge);
	ls_ctx_free(neg);
	ls_ctx_free(zero);
	ls_ctx_free(ctx);
}
END_TEST

/* Waits. */

START_TEST(wait_until_times_out)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	int64_t t0 = ls_now_ms();
	int r;

	ls_cond_init(&c);
	pthread_mutex_lock(&m);
	do
		r = ls_ctx_wait(root, &m, &c, t0 + 30);
	while (r == 0);
	pthread_mutex_unlock(&m);
	ck_assert_int_eq(r, ETIMEDOUT);
	ck_assert(ls_now_ms() - t0 >= 30);
	/* "until" in the past: no wait at all. */
	pthread_mutex_lock(&m);
	ck_assert_int_eq(ls_ctx_wait(root, &m, &c, 0), ETIMEDOUT);
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
	ls_ctx_free(root);
}
END_TEST

START_TEST(wait_signalled_returns_0)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct waiter w;

	waiter_start(&w, root, ls_now_ms() + 30000);
	waiter_blocked(&w);
	pthread_mutex_lock(&w.m);
	w.wake = 1;
	pthread_cond_signal(&w.c);
	pthread_mutex_unlock(&w.m);
	ck_assert_int_eq(waiter_join(&w), 0);
	ck_assert_int_eq(ls_ctx_done(root), 0);
	ls_ctx_free(root);
}
END_TEST

START_TEST(wait_on_done_ctx_returns_at_once)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;

	ls_cond_init(&c);
	ls_ctx_cancel(root);
	pthread_mutex_lock(&m);
	/* A done context wins over an "until" already past. */
	ck_assert_int_eq(ls_ctx_wait(root, &m, &c, LS_FOREVER), ECANCELED);
	ck_assert_int_eq(ls_ctx_wait(root, &m, &c, 0), ECANCELED);
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
	ls_ctx_free(root);
}
END_TEST

START_TEST(wait_ends_at_ctx_deadline)
{
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 50);
	struct waiter w;

	waiter_start(&w, ctx, LS_FOREVER);
	ck_assert_int_eq(waiter_join(&w), ECANCELED);
	ck_assert(ls_now_ms() >= ls_ctx_deadline(ctx));
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_DEADLINE);
	ls_ctx_free(ctx);
}
END_TEST

START_TEST(wait_until_before_deadline)
{
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 60000);
	struct waiter w;

	waiter_start(&w, ctx, ls_now_ms() + 30);
	ck_assert_int_eq(waiter_join(&w), ETIMEDOUT);
	ck_assert_int_eq(ls_ctx_done(ctx), 0);
	ls_ctx_free(ctx);
}
END_TEST

/* Cancel while waiting. */

START_TEST(cancel_wakes_waiter)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct waiter w;

	waiter_start(&w, root, LS_FOREVER);
	waiter_blocked(&w);
	ls_ctx_cancel(root);
	ck_assert_int_eq(waiter_join(&w), ECANCELED);
	ls_ctx_free(root);
}
END_TEST

START_TEST(ancestor_cancel_wakes_waiter)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *child = ls_ctx_new(root);
	struct ls_ctx *grandchild = ls_ctx_new_timeout(child, 60000);
	struct waiter w;

	waiter_start(&w, grandchild, ls_now_ms() + 60000);
	waiter_blocked(&w);
	ls_ctx_cancel(root);
	ck_assert_int_eq(waiter_join(&w), ECANCELED);
	ck_assert_int_eq(ls_ctx_err(grandchild), LS_CTX_CANCELED);
	ls_ctx_free(grandchild);
	ls_ctx_free(child);
	ls_ctx_free(root);
}
END_TEST

START_TEST(cancel_wakes_every_waiter)
{
	enum { N = 8 };
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *mid = ls_ctx_new(root);
	struct ls_ctx *leaf = ls_ctx_new(mid);
	struct ls_ctx *spared = ls_ctx_new(root);
	struct ls_ctx *on[N];
	struct waiter w[N], other;
	int i;

	/* Several waiters per context, at every level of the subtree. */
	for (i = 0; i < N; i++) {
		on[i] = i % 3 == 0 ? mid : leaf;
		waiter_start(&w[i], on[i], LS_FOREVER);
	}
	waiter_start(&other, spared, LS_FOREVER);
	for (i = 0; i < N; i++)
		waiter_blocked(&w[i]);
	waiter_blocked(&other);

	ls_ctx_cancel(mid);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(waiter_join(&w[i]), ECANCELED);
	ck_assert_int_eq(ls_ctx_done(spared), 0);
	ls_ctx_cancel(root);
	ck_assert_int_eq(waiter_join(&other), ECANCELED);
	ls_ctx_free(leaf);
	ls_ctx_free(mid);
	ls_ctx_free(spared);
	ls_ctx_free(root);
}
END_TEST

/* Sleeps. */

START_TEST(sleep_full)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	int64_t t0 = ls_now_ms();

	ck_assert_int_eq(ls_ctx_sleep(root, 20), 0);
	ck_assert(ls_now_ms() - t0 >= 20);
	ck_assert_int_eq(ls_ctx_sleep(root, 0), 0);
	ck_assert_int_eq(ls_ctx_sleep(root, -1), 0);
	ls_ctx_cancel(root);
	ck_assert_int_eq(ls_ctx_sleep(root, 0), ECANCELED);
	ck_assert_int_eq(ls_ctx_sleep(root, 1000), ECANCELED);
	ls_ctx_free(root);
}
END_TEST

struct sleeper {
	struct ls_ctx *ctx;
	atomic_int entered;
	int result;
};

static void *
sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	atomic_store(&s->entered, 1);
	s->result = ls_ctx_sleep(s->ctx, 60000);
	return NULL;
}

START_TEST(sleep_canceled)
{
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct sleeper s = { .ctx = ls_ctx_new(root) };
	pthread_t t;
	int64_t t0 = ls_now_ms();

	ck_assert_int_eq(pthread_create(&t, NULL, sleeper_main, &s), 0);
	ck_assert(spin_until(&s.entered, 1));
	/* Whether or not the sleeper is asleep yet, the cancel must end it. */
	ls_ctx_cancel(root);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(s.result, ECANCELED);
	ck_assert(ls_now_ms() - t0 < 30000);
	ls_ctx_free(s.ctx);
	ls_ctx_free(root);
}
END_TEST

/* Stress. */

/*
 * Waiters loop on short timed waits, so they keep registering and
 * unregistering while two cancels (of a child and of the root) run at once
 * from other threads. Each waiter's mutex and condvar are on the heap and
 * freed the moment its wait returns ECANCELED: a canceller still touching
 * them would be a use after free under ASan, a race under TSan.
 */
struct racer {
	struct ls_ctx *ctx;
	atomic_int *started;
	int result;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	pthread_mutex_t *m = malloc(sizeof *m);
	pthread_cond_t *c = malloc(sizeof *c);
	int rc;

	pthread_mutex_init(m, NULL);
	ls_cond_init(c);
	atomic_fetch_add(r->started, 1);
	pthread_mutex_lock(m);
	do
		rc = ls_ctx_wait(r->ctx, m, c, ls_now_ms() + 1);
	while (rc != ECANCELED);
	pthread_mutex_unlock(m);
	pthread_cond_destroy(c);
	pthread_mutex_destroy(m);
	free(c);
	free(m);
	r->result = rc;
	return NULL;
}

static void *
canceller_main(void *arg)
{
	ls_ctx_cancel(arg);
	return NULL;
}

START_TEST(cancel_races_wait)
{
	enum { NW = 6 };
	size_t round, rounds = scaled(300);
	int i;

	for (round = 0; round < rounds; round++) {
		struct ls_ctx *root = ls_ctx_new(NULL);
		struct ls_ctx *a = ls_ctx_new(root), *b = ls_ctx_new(root);
		struct ls_ctx *a1 = ls_ctx_new(a);
		struct ls_ctx *on[NW] = { root, a, a1, a1, b, a };
		struct racer r[NW];
		pthread_t t[NW], c1, c2;
		atomic_int started;

		atomic_init(&started, 0);
		for (i = 0; i < NW; i++) {
			r[i].ctx = on[i];
			r[i].started = &started;
			ck_assert_int_eq(
			    pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
		}
		ck_assert(spin_until(&started, NW));
		ck_assert_int_eq(
		    pthread_create(&c1, NULL, canceller_main, a), 0);
		ck_assert_int_eq(
		    pthread_create(&c2, NULL, canceller_main, root), 0);
		for (i = 0; i < NW; i++) {
			ck_assert_int_eq(pthread_join(t[i], NULL), 0);
			ck_assert_int_eq(r[i].result, ECANCELED);
		}
		ck_assert_int_eq(pthread_join(c1, NULL), 0);
		ck_assert_int_eq(pthread_join(c2, NULL), 0);
		ls_ctx_free(a1);
		ls_ctx_free(a);
		ls_ctx_free(b);
		ls_ctx_free(root);
	}
}
END_TEST

/*
 * Threads keep making, waiting on and freeing children of the root while
 * the root is cancelled: a free must wait out a cancel that is still waking
 * the child, and no child may be born live after the cancel.
 */
struct churner {
	struct ls_ctx *root;
	atomic_int *started;
	int born_live_after_cancel;
};

static void *
churner_main(void *arg)
{
	struct churner *ch = arg;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct ls_ctx *child;
	int r, seen_done;

	ls_cond_init(&c);
	atomic_fetch_add(ch->started, 1);
	for (;;) {
		seen_done = ls_ctx_done(ch->root);
		child = ls_ctx_new(ch->root);
		if (seen_done && !ls_ctx_done(child))
			ch->born_live_after_cancel = 1;
		pthread_mutex_lock(&m);
		r = ls_ctx_wait(child, &m, &c, ls_now_ms() + 1);
		pthread_mutex_unlock(&m);
		ls_ctx_free(child);
		if (r == ECANCELED)
			break;
	}
	pthread_cond_destroy(&c);
	return NULL;
}

START_TEST(cancel_races_free)
{
	enum { NT = 4 };
	size_t round, rounds = scaled(200);
	int i;

	for (round = 0; round < rounds; round++) {
		struct ls_ctx *root = ls_ctx_new(NULL);
		struct churner ch[NT];
		pthread_t t[NT];
		atomic_int started;

		atomic_init(&started, 0);
		for (i = 0; i < NT; i++) {
			ch[i].root = root;
			ch[i].started = &started;
			ch[i].born_live_after_cancel = 0;
			ck_assert_int_eq(
			    pthread_create(&t[i], NULL, churner_main, &ch[i]),
			    0);
		}
		ck_assert(spin_until(&started, NT));
		ls_ctx_cancel(root);
		for (i = 0; i < NT; i++) {
			ck_assert_int_eq(pthread_join(t[i], NULL), 0);
			ck_assert_int_eq(ch[i].born_live_after_cancel, 0);
		}
		ls_ctx_free(root);
	}
}
END_TEST

static Suite *
ctx_suite(void)
{
	Suite *s = suite_create("ctx");
	TCase *tc;

	tc = tcase_create("tree");
	tcase_add_test(tc, tree_root_is_live);
	tcase_add_test(tc, tree_cancel_propagates_down);
	tcase_add_test(tc, tree_cancel_child_spares_parent);
	tcase_add_test(tc, tree_born_canceled);
	tcase_add_test(tc, tree_free_unlinks_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadline");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, deadline_fires);
	tcase_add_test(tc, deadline_child_is_min);
	tcase_add_test(tc, deadline_of_parent_ends_child_wait);
	tcase_add_test(tc, deadline_remaining_ms);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, wait_until_times_out);
	tcase_add_test(tc, wait_signalled_returns_0);
	tcase_add_test(tc, wait_on_done_ctx_returns_at_once);
	tcase_add_test(tc, wait_ends_at_ctx_deadline);
	tcase_add_test(tc, wait_until_before_deadline);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cancel_wakes_waiter);
	tcase_add_test(tc, ancestor_cancel_wakes_waiter);
	tcase_add_test(tc, cancel_wakes_every_waiter);
	suite_add_tcase(s, tc);

	tc = tcase_create("sleep");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sleep_full);
	tcase_add_test(tc, sleep_canceled);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cancel_races_wait);
	tcase_add_test(tc, cancel_races_free);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(ctx_suite());
}
