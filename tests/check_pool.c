/*
 * check_pool: the life cycle, the drain (close the queue, then join: every
 * item processed once), the stop (cancel while workers wait in pop or in
 * process_cb), the per-worker callbacks and stats, and free of a running
 * pool.
 *
 * Items are small integers cast to pointers (id + 1, as NULL is not an
 * item). Where a test wants the workers to be blocked before it acts, it
 * waits for every init_cb and then for a short bounded settle; the
 * assertions hold whether or not they were asleep by then. LS_STRESS_SCALE
 * (default 1) scales the stress sizes.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <check.h>

#include "ctx.h"
#include "pool.h"
#include "queue.h"
#include "testutil.h"

#define ITEM(id) ((void *)(uintptr_t)((id) + 1))

static size_t
item_id(void *item)
{
	return (size_t)(uintptr_t)item - 1;
}

#define MAXW 8

/* What the callbacks record, per worker and in all. */
struct wstate {
	unsigned idx;
	atomic_int inits, finis, exits;
	uint64_t items; /* written by its worker only */
	int fini_before_exit;
};

struct harness {
	struct wstate w[MAXW];
	atomic_int inits; /* all workers */
	atomic_int exits; /* all workers */
	atomic_int in_process; /* workers inside process_cb */
	atomic_uchar *seen; /* per id */
	atomic_int processed;
	int block; /* process_cb sleeps on ctx until stopped */
	atomic_int sleep_results; /* ECANCELED seen by blocked process_cb */
};

static void *
h_init(unsigned idx, void *arg)
{
	struct harness *h = arg;

	ck_assert_uint_lt(idx, MAXW);
	h->w[idx].idx = idx;
	atomic_fetch_add(&h->w[idx].inits, 1);
	atomic_fetch_add(&h->inits, 1);
	return &h->w[idx];
}

static void
h_process(void *item, void *wstate, struct ls_ctx *ctx, void *arg)
{
	struct harness *h = arg;
	struct wstate *ws = wstate;

	ck_assert_ptr_nonnull(ws);
	ck_assert_int_eq(atomic_load(&ws->inits), 1);
	ws->items++;
	if (h->seen != NULL)
		atomic_fetch_add(&h->seen[item_id(item)], 1);
	atomic_fetch_add(&h->processed, 1);
	if (h->block) {
		atomic_fetch_add(&h->in_process, 1);
		if (ls_ctx_sleep(ctx, 60000) == ECANCELED)
			atomic_fetch_add(&h->sleep_results, 1);
	}
}

static void
h_fini(void *wstate, void *arg)
{
	struct wstate *ws = wstate;

	ck_assert_ptr_nonnull(ws);
	atomic_fetch_add(&ws->finis, 1);
}

static void
h_exit(unsigned idx, void *arg)
{
	struct harness *h = arg;
	struct wstate *ws = &h->w[idx];

	ws->fini_before_exit = atomic_load(&ws->finis) == 1;
	atomic_fetch_add(&ws->exits, 1);
	atomic_fetch_add(&h->exits, 1);
}

static const struct ls_pool_ops h_ops = {
	.init_cb = h_init,
	.process_cb = h_process,
	.fini_cb = h_fini,
	.exit_cb = h_exit,
};

static void
harness_init(struct harness *h, size_t nitems)
{
	unsigned i;

	for (i = 0; i < MAXW; i++) {
		h->w[i].idx = i;
		atomic_init(&h->w[i].inits, 0);
		atomic_init(&h->w[i].finis, 0);
		atomic_init(&h->w[i].exits, 0);
		h->w[i].items = 0;
		h->w[i].fini_before_exit = 0;
	}
	atomic_init(&h->inits, 0);
	atomic_init(&h->exits, 0);
	atomic_init(&h->in_process, 0);
	atomic_init(&h->processed, 0);
	atomic_init(&h->sleep_results, 0);
	h->block = 0;
	h->seen = nitems > 0 ? calloc(nitems, sizeof *h->seen) : NULL;
}

/* Each callback ran exactly once per worker, in order, and the stats
 * agree with what process_cb counted. */
static void
check_workers(struct ls_pool *p, struct harness *h, uint64_t want_items)
{
	struct ls_pool_stats st;
	uint64_t sum = 0;
	unsigned i, n = ls_pool_size(p);

	ck_assert_int_eq(atomic_load(&h->exits), (int)n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(atomic_load(&h->w[i].inits), 1);
		ck_assert_int_eq(atomic_load(&h->w[i].finis), 1);
		ck_assert_int_eq(atomic_load(&h->w[i].exits), 1);
		ck_assert_int_eq(h->w[i].fini_before_exit, 1);
		ls_pool_stats(p, i, &st);
		ck_assert_uint_eq(st.items, h->w[i].items);
		sum += st.items;
	}
	ck_assert_uint_eq(sum, want_items);
}

/* Life cycle. */

START_TEST(new_rejects_bad_args)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_pool_ops none = { 0 };

	ck_assert_ptr_null(ls_pool_new("t", 0, q, &h_ops, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(ls_pool_new("t", 1, q, &none, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(ls_pool_new("t", 1, NULL, &h_ops, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ls_pool_free(NULL);
	ls_queue_free(q);
}
END_TEST

START_TEST(free_unstarted)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct harness h;
	struct ls_pool *p;

	harness_init(&h, 0);
	p = ls_pool_new("t", 3, q, &h_ops, &h, root);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(ls_pool_size(p), 3);
	ls_pool_join(p);
	ls_pool_free(p);
	ck_assert_int_eq(atomic_load(&h.inits), 0);
	ck_assert_int_eq(atomic_load(&h.exits), 0);
	/* The pool's context was a child of root and is gone. */
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(start_twice_fails)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct harness h;
	struct ls_pool *p;

	harness_init(&h, 0);
	p = ls_pool_new("t", 2, q, &h_ops, &h, NULL);
	ck_assert_int_eq(ls_pool_start(p), 0);
	ck_assert_int_eq(ls_pool_start(p), -1);
	ck_assert_int_eq(errno, EALREADY);
	ls_queue_close(q);
	ls_pool_join(p);
	ls_pool_join(p);
	check_workers(p, &h, 0);
	ls_pool_free(p);
	ls_queue_free(q);
}
END_TEST

/* Drain. */

static void
check_drain(unsigned n, size_t nitems, int push_first)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct harness h;
	struct ls_pool *p;
	size_t i;

	harness_init(&h, nitems);
	p = ls_pool_new("drain", n, q, &h_ops, &h, root);
	ck_assert_ptr_nonnull(p);
	if (push_first) {
		for (i = 0; i < nitems; i++)
			ck_assert_int_eq(ls_queue_push(q, ITEM(i), 1), 0);
	}
	ck_assert_int_eq(ls_pool_start(p), 0);
	if (!push_first) {
		for (i = 0; i < nitems; i++)
			ck_assert_int_eq(ls_queue_push(q, ITEM(i), 1), 0);
	}
	ls_queue_close(q);
	ls_pool_join(p);
	for (i = 0; i < nitems; i++)
		ck_assert_msg(h.seen[i] == 1, "item %zu seen %u times", i,
		    (unsigned)h.seen[i]);
	check_workers(p, &h, nitems);
	ck_assert_uint_eq(ls_queue_len(q), 0);
	ck_assert_int_eq(ls_ctx_done(root), 0);
	ls_pool_free(p);
	free(h.seen);
	ls_ctx_free(root);
	ls_queue_free(q);
}

START_TEST(drain_backlog_each_once)
{
	/* Items queued before start: 4 workers, 10000 items. */
	check_drain(4, 10000, 1);
}
END_TEST

START_TEST(drain_while_pushing_each_once)
{
	/* Items pushed while the workers run. */
	check_drain(MAXW, 10000, 0);
}
END_TEST

START_TEST(drain_single_worker)
{
	/* One worker: the pool adds no reordering. */
	check_drain(1, 1000, 0);
}
END_TEST

/* Callbacks. */

START_TEST(callbacks_once_per_worker)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct harness h;
	struct ls_pool *p;
	struct ls_pool_ops minimal = { .process_cb = h_process };

	harness_init(&h, 0);
	p = ls_pool_new("cb", 5, q, &h_ops, &h, NULL);
	ck_assert_int_eq(ls_pool_start(p), 0);
	ck_assert(spin_until(&h.inits, 5));
	ls_queue_close(q);
	ls_pool_join(p);
	check_workers(p, &h, 0);
	ls_pool_free(p);
	ls_queue_free(q);

	/* Every callback but process_cb may be NULL; process_cb then gets a
	 * NULL state, which our h_process rejects, so push nothing. */
	q = ls_queue_new(NULL, NULL);
	p = ls_pool_new("cb", 2, q, &minimal, &h, NULL);
	ck_assert_int_eq(ls_pool_start(p), 0);
	ls_queue_close(q);
	ls_pool_free(p);
	ls_queue_free(q);
}
END_TEST

/* Stop. */

static void
count_free(void *item, void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void
check_stop(int ancestor)
{
	atomic_int freed;
	struct ls_queue *q;
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct harness h;
	struct ls_pool *p;

	atomic_init(&freed, 0);
	q = ls_queue_new(count_free, &freed);
	harness_init(&h, 0);
	p = ls_pool_new("stop", 4, q, &h_ops, &h, root);
	ck_assert_int_eq(ls_pool_start(p), 0);
	ck_assert(spin_until(&h.inits, 4));
	settle();
	if (ancestor)
		ls_ctx_cancel(root);
	else
		ls_pool_stop(p);
	ls_pool_join(p);
	check_workers(p, &h, 0);
	/* The queue stays open; what comes now is nobody's but the
	 * queue's, and its free callback releases it. */
	ck_assert_int_eq(ls_queue_closed(q), 0);
	ck_assert_int_eq(ls_queue_push(q, ITEM(1), 1), 0);
	ck_assert_int_eq(ls_queue_push(q, ITEM(2), 1), 0);
	ls_pool_free(p);
	ls_queue_free(q);
	ck_assert_int_eq(atomic_load(&freed), 2);
	ls_ctx_free(root);
}

START_TEST(stop_wakes_workers_in_pop)
{
	/* ls_pool_stop() itself. */
	check_stop(0);
}
END_TEST

START_TEST(parent_cancel_stops_pool)
{
	/* A cancel of the parent context, as at the shutdown deadline. */
	check_stop(1);
}
END_TEST

START_TEST(stop_reaches_process_cb_and_leaves_items)
{
	enum { N = 4, NI = 100 };
	atomic_int freed;
	struct ls_queue *q;
	struct harness h;
	struct ls_pool *p;
	size_t i;

	atomic_init(&freed, 0);
	q = ls_queue_new(count_free, &freed);
	harness_init(&h, NI);
	h.block = 1;
	p = ls_pool_new("stop", N, q, &h_ops, &h, NULL);
	for (i = 0; i < NI; i++)
		ck_assert_int_eq(ls_queue_push(q, ITEM(i), 1), 0);
	ck_assert_int_eq(ls_pool_start(p), 0);
	/* Every worker is in process_cb, sleeping on the pool's context. */
	ck_assert(spin_until(&h.in_process, N));
	ls_pool_stop(p);
	ls_pool_join(p);
	ck_assert_int_eq(atomic_load(&h.sleep_results), N);
	ck_assert_int_eq(atomic_load(&h.processed), N);
	check_workers(p, &h, N);
	ck_assert_uint_eq(ls_queue_len(q), NI - N);
	ls_pool_free(p);
	ls_queue_free(q);
	ck_assert_int_eq(atomic_load(&freed), NI - N);
	free(h.seen);
}
END_TEST

/* Free. */

START_TEST(free_running_pool_stops_and_joins)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct harness h;
	struct ls_pool *p;

	harness_init(&h, 0);
	p = ls_pool_new("free", 3, q, &h_ops, &h, NULL);
	ck_assert_int_eq(ls_pool_start(p), 0);
	ck_assert(spin_until(&h.inits, 3));
	settle();
	ls_pool_free(p);
	ck_assert_int_eq(atomic_load(&h.exits), 3);
	ls_queue_free(q);
}
END_TEST

/* Stress. */

struct producer {
	pthread_t thread;
	struct ls_queue *q;
	size_t first, n;
};

static void *
producer_main(void *arg)
{
	struct producer *pr = arg;
	size_t id;

	for (id = pr->first; id < pr->first + pr->n; id++)
		ck_assert_int_eq(ls_queue_push(pr->q, ITEM(id), id % 7), 0);
	return NULL;
}

START_TEST(stress_drain_many_producers)
{
	enum { NP = 4, NW = MAXW };
	size_t per = scaled(200000) / NP, total = per * NP, i;
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct producer pr[NP];
	struct harness h;
	struct ls_pool *p;
	int k;

	harness_init(&h, total);
	p = ls_pool_new("stress", NW, q, &h_ops, &h, root);
	ck_assert_int_eq(ls_pool_start(p), 0);
	for (k = 0; k < NP; k++) {
		pr[k]
		    = (struct producer) { .q = q, .first = k * per, .n = per };
		ck_assert_int_eq(
		    pthread_create(&pr[k].thread, NULL, producer_main, &pr[k]),
		    0);
	}
	for (k = 0; k < NP; k++)
		ck_assert_int_eq(pthread_join(pr[k].thread, NULL), 0);
	ls_queue_close(q);
	ls_pool_join(p);
	for (i = 0; i < total; i++)
		ck_assert_msg(h.seen[i] == 1, "item %zu seen %u times", i,
		    (unsigned)h.seen[i]);
	check_workers(p, &h, total);
	ck_assert_uint_eq(ls_queue_bytes(q), 0);
	ls_pool_free(p);
	free(h.seen);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, new_rejects_bad_args);
	tcase_add_test(tc, free_unstarted);
	tcase_add_test(tc, start_twice_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("drain");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, drain_backlog_each_once);
	tcase_add_test(tc, drain_while_pushing_each_once);
	tcase_add_test(tc, drain_single_worker);
	suite_add_tcase(s, tc);

	tc = tcase_create("callbacks");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, callbacks_once_per_worker);
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stop_wakes_workers_in_pop);
	tcase_add_test(tc, parent_cancel_stops_pool);
	tcase_add_test(tc, stop_reaches_process_cb_and_leaves_items);
	suite_add_tcase(s, tc);

	tc = tcase_create("free");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, free_running_pool_stops_and_joins);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stress_drain_many_producers);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(pool_suite());
}
