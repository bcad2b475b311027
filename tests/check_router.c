/*
 * check_router: the fan-out stage. Routes by severity and by source, the
 * pending count each record gets (the destinations the checkpoint waits
 * for), the records that wait for none handed to settled_cb, shedding,
 * and a new table adopted exactly at its barrier in the stream.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ctx.h"
#include "status_metrics.h"
#include "queue.h"
#include "record.h"
#include "router.h"
#include "testutil.h"

struct fx {
	struct ls_queue *in, *out[2];
	struct ls_metrics *m;
	struct ls_ctx *root;
	struct ls_router *r;
	atomic_int settled, adopted, exited;
	atomic_uint adopted_gen;
	/* What settled_cb saw: the records' numbers. */
	int settled_ids[4096];
};

static void
settled_cb(struct ls_record *const *recs, size_t n, void *arg)
{
	struct fx *x = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		/* Borrowed, and set to wait for one done (the caller's). */
		ck_assert_uint_eq(atomic_load(&recs[i]->pending), 1);
		x->settled_ids[atomic_fetch_add(&x->settled, 1)]
		    = atoi(recs[i]->msg);
	}
}

static void
adopted_cb(unsigned gen, void *arg)
{
	struct fx *x = arg;

	atomic_store(&x->adopted_gen, gen);
	atomic_fetch_add(&x->adopted, 1);
}

static void
exit_cb(void *arg)
{
	struct fx *x = arg;

	atomic_fetch_add(&x->exited, 1);
}

static void
up(struct fx *x, struct ls_route_table *t)
{
	struct ls_router_cbs cbs = { settled_cb, adopted_cb, exit_cb, x };

	memset(x, 0, sizeof *x);
	x->in = ls_queue_new(ls_record_unref_cb, NULL);
	x->out[0] = ls_queue_new(ls_record_unref_cb, NULL);
	x->out[1] = ls_queue_new(ls_record_unref_cb, NULL);
	x->m = ls_metrics_new(2, 0);
	x->root = ls_ctx_new(NULL);
	t->outs[0] = x->out[0];
	t->outs[1] = x->out[1];
	t->m[0] = x->m->dest[0];
	t->m[1] = x->m->dest[1];
	x->r = ls_router_new(x->in, t, x->m, x->root, &cbs);
	ck_assert_int_eq(ls_router_start(x->r), 0);
}

/* A table for two outs, fill in after up() for outs and m. */
static struct ls_route_table *
table(unsigned gen)
{
	return ls_route_table_new(gen, 2);
}

static void
push(struct fx *x, int id, enum ls_severity sev, uint16_t source)
{
	struct ls_record *r;
	char msg[16];
	int len;

	len = snprintf(msg, sizeof msg, "%d", id);
	r = ls_record_new(NULL, NULL, msg, (size_t)len, sev, 0, 0);
	r->source = source;
	ck_assert_int_eq(ls_queue_push(x->in, r, 0), 0);
}

/* Closes the input, waits for the router, and checks the outs are
 * closed (the end of the stream flows down). */
static void
finish(struct fx *x)
{
	ls_queue_close(x->in);
	ls_router_join(x->r);
	ck_assert_int_eq(atomic_load(&x->exited), 1);
	ck_assert(ls_queue_closed(x->out[0]));
	ck_assert(ls_queue_closed(x->out[1]));
}

static void
down(struct fx *x)
{
	ls_router_free(x->r);
	ls_queue_free(x->in);
	ls_queue_free(x->out[0]);
	ls_queue_free(x->out[1]);
	ls_ctx_free(x->root);
	ls_metrics_free(x->m);
}

/* Pops out d's records: their numbers into ids (and each one's pending
 * into pend, if not NULL), how many. */
static size_t
drain(struct fx *x, int d, int *ids, unsigned *pend, size_t max)
{
	struct ls_record *r;
	size_t n = 0;

	while ((r = ls_queue_trypop(x->out[d], NULL)) != NULL) {
		ck_assert_uint_lt(n, max);
		ids[n] = atoi(r->msg);
		if (pend != NULL)
			pend[n] = atomic_load(&r->pending);
		n++;
		ls_record_unref(r);
	}
	return n;
}

START_TEST(test_by_severity)
{
	struct ls_route_table *t = table(1);
	int ids[64];
	unsigned pend[64];
	struct fx x;
	size_t n;

	t->route[LS_SEV_INFO] = 1; /* out 0 */
	t->route[LS_SEV_ERROR] = 3; /* both */
	t->route[LS_SEV_DEBUG] = 0; /* nowhere */
	up(&x, t);
	push(&x, 0, LS_SEV_INFO, LS_REC_NO_SOURCE);
	push(&x, 1, LS_SEV_ERROR, LS_REC_NO_SOURCE);
	push(&x, 2, LS_SEV_DEBUG, LS_REC_NO_SOURCE);
	push(&x, 3, LS_SEV_INFO, LS_REC_NO_SOURCE);
	finish(&x);
	n = drain(&x, 0, ids, pend, 64);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ids[0], 0);
	ck_assert_int_eq(ids[1], 1);
	ck_assert_int_eq(ids[2], 3);
	ck_assert_uint_eq(pend[0], 1);
	ck_assert_uint_eq(pend[1], 2); /* waits for both */
	n = drain(&x, 1, ids, NULL, 64);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ids[0], 1);
	/* The debug line went nowhere: counted, and settled at once. */
	ck_assert_int_eq(atomic_load(&x.settled), 1);
	ck_assert_int_eq(x.settled_ids[0], 2);
	ck_assert_uint_eq(LS_LOAD(x.m->unrouted), 1);
	ck_assert_uint_eq(LS_LOAD(x.m->dest[0]->routed), 3);
	ck_assert_uint_eq(LS_LOAD(x.m->dest[1]->routed), 1);
	ck_assert_uint_gt(LS_LOAD(x.m->dest[0]->held_bytes), 0);
	down(&x);
}
END_TEST

/* Routes by source: the mask of a record's source index, nsrc for a
 * record of no known source. */
START_TEST(test_by_source)
{
	struct ls_route_table *t = table(1);
	int ids[64];
	struct fx x;

	t->nsrc = 2;
	t->route_src = calloc(3 * LS_SEV_COUNT, sizeof *t->route_src);
	t->route_src[0 * LS_SEV_COUNT + LS_SEV_INFO] = 1;
	t->route_src[1 * LS_SEV_COUNT + LS_SEV_INFO] = 2;
	t->route_src[2 * LS_SEV_COUNT + LS_SEV_INFO] = 0;
	t->route[LS_SEV_INFO] = 3; /* not used once route_src is set */
	up(&x, t);
	push(&x, 0, LS_SEV_INFO, 0);
	push(&x, 1, LS_SEV_INFO, 1);
	push(&x, 2, LS_SEV_INFO, LS_REC_NO_SOURCE);
	push(&x, 3, LS_SEV_INFO, 7); /* out of range: no known source */
	finish(&x);
	ck_assert_uint_eq(drain(&x, 0, ids, NULL, 64), 1);
	ck_assert_int_eq(ids[0], 0);
	ck_assert_uint_eq(drain(&x, 1, ids, NULL, 64), 1);
	ck_assert_int_eq(ids[0], 1);
	ck_assert_int_eq(atomic_load(&x.settled), 2);
	down(&x);
}
END_TEST

/* A new table takes effect at its barrier: every record pushed before
 * set_table goes by the old one, every one after by the new, whatever
 * the router was doing when the table was set. */
START_TEST(test_barrier)
{
	size_t n = scaled(20000), i, n0, n1;
	struct ls_route_table *t = table(1), *t2;
	int *ids = calloc(n, sizeof *ids);
	struct fx x;

	t->route[LS_SEV_INFO] = 1;
	up(&x, t);
	for (i = 0; i < n / 2; i++)
		push(&x, (int)i, LS_SEV_INFO, LS_REC_NO_SOURCE);
	t2 = table(2);
	t2->outs[0] = x.out[0];
	t2->outs[1] = x.out[1];
	t2->m[0] = x.m->dest[0];
	t2->m[1] = x.m->dest[1];
	t2->route[LS_SEV_INFO] = 2;
	ls_router_set_table(x.r, t2);
	for (; i < n; i++)
		push(&x, (int)i, LS_SEV_INFO, LS_REC_NO_SOURCE);
	finish(&x);
	ck_assert_int_eq(atomic_load(&x.adopted), 1);
	ck_assert_uint_eq(atomic_load(&x.adopted_gen), 2);
	ck_assert_uint_eq(ls_router_gen(x.r), 2);
	n0 = drain(&x, 0, ids, NULL, n);
	ck_assert_uint_eq(n0, n / 2);
	for (i = 0; i < n0; i++)
		ck_assert_int_eq(ids[i], (int)i);
	n1 = drain(&x, 1, ids, NULL, n);
	ck_assert_uint_eq(n1, n - n / 2);
	for (i = 0; i < n1; i++)
		ck_assert_int_eq(ids[i], (int)(n / 2 + i));
	free(ids);
	down(&x);
}
END_TEST

/* A table set before the previous one was adopted replaces it (or, if
 * the router was quicker, follows it): either way the last one routes
 * what comes after both barriers. */
START_TEST(test_barrier_replaced)
{
	struct ls_route_table *t = table(1), *t2, *t3;
	int ids[16];
	struct fx x;

	t->route[LS_SEV_INFO] = 1;
	up(&x, t);
	t2 = table(2);
	t3 = table(3);
	t2->outs[0] = t3->outs[0] = x.out[0];
	t2->outs[1] = t3->outs[1] = x.out[1];
	t2->m[0] = t3->m[0] = x.m->dest[0];
	t2->m[1] = t3->m[1] = x.m->dest[1];
	t2->route[LS_SEV_INFO] = 1;
	t3->route[LS_SEV_INFO] = 2;
	ls_router_set_table(x.r, t2);
	ls_router_set_table(x.r, t3);
	push(&x, 0, LS_SEV_INFO, LS_REC_NO_SOURCE);
	finish(&x);
	ck_assert_uint_eq(ls_router_gen(x.r), 3);
	ck_assert_uint_eq(drain(&x, 0, ids, NULL, 16), 0);
	ck_assert_uint_eq(drain(&x, 1, ids, NULL, 16), 1);
	down(&x);
}
END_TEST

/* on_full: drop_newest: a destination at its limit drops (counted) the
 * records it cannot hold, and the checkpoint waits for none of them:
 * records only routed to it are settled at once. */
START_TEST(test_shed)
{
	struct ls_route_table *t = table(1);
	int ids[256];
	struct fx x;
	size_t n0, n1;
	int i;

	t->route[LS_SEV_INFO] = 3;
	t->shed_limit[1] = 1; /* holds nothing */
	up(&x, t);
	for (i = 0; i < 100; i++)
		push(&x, i, LS_SEV_INFO, LS_REC_NO_SOURCE);
	finish(&x);
	n0 = drain(&x, 0, ids, NULL, 256);
	n1 = drain(&x, 1, ids, NULL, 256);
	ck_assert_uint_eq(n0, 100);
	ck_assert_uint_eq(n1, 0);
	ck_assert_uint_eq(LS_LOAD(x.m->dest[1]->dropped[LS_DROP_FULL]), 100);
	ck_assert_int_eq(atomic_load(&x.settled), 0);
	down(&x);
}
END_TEST

/* A cancel stops it at once, and it still closes its outs. */
START_TEST(test_cancel)
{
	struct ls_route_table *t = table(1);
	struct fx x;

	up(&x, t);
	ls_ctx_cancel(x.root);
	ls_router_join(x.r);
	ck_assert_int_eq(atomic_load(&x.exited), 1);
	ck_assert(ls_queue_closed(x.out[0]));
	down(&x);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_by_severity);
	tcase_add_test(tc, test_by_source);
	tcase_add_test(tc, test_barrier);
	tcase_add_test(tc, test_barrier_replaced);
	tcase_add_test(tc, test_shed);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(suite());
}
