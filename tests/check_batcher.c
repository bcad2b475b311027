/*
 * Tests of the batching stage: a batch closes at max entries, at max
 * bytes (carrying the record that did not fit into the next batch), at max
 * wait, and on the drain; nothing is lost or reordered.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <check.h>

#include "batcher.h"
#include "ctx.h"
#include "queue.h"
#include "record.h"
#include "testutil.h"

static struct ls_conf_source src = { .name = "test" };

struct rig {
	struct ls_ctx *root;
	struct ls_queue *in, *out;
	struct ls_batcher *b;
};

static size_t
size_cb(const struct ls_record *r, void *arg)
{
	return r->len;
}

static void
rig_start(
    struct rig *g, size_t max_entries, size_t max_bytes, int64_t max_wait_ms)
{
	struct ls_batcher_limits lim = { max_entries, max_bytes, max_wait_ms };

	g->root = ls_ctx_new(NULL);
	g->in = ls_queue_new(ls_record_unref_cb, NULL);
	g->out = ls_queue_new(ls_batch_free_cb, NULL);
	g->b = ls_batcher_new(
	    "t", g->in, g->out, &lim, size_cb, NULL, g->root, NULL, NULL);
	ck_assert_int_eq(ls_batcher_start(g->b), 0);
}

static void
rig_free(struct rig *g)
{
	ls_batcher_free(g->b);
	ls_queue_free(g->out);
	ls_queue_free(g->in);
	ls_ctx_free(g->root);
}

/* Pushes a record whose message is its number, size bytes long. */
static void
push_rec(struct rig *g, unsigned i, size_t size)
{
	char msg[4096];
	struct ls_record *r;

	ck_assert_uint_lt(size, sizeof msg);
	snprintf(msg, sizeof msg, "%u", i);
	r = ls_record_new(&src, NULL, msg, size, LS_SEV_INFO, i, 0);
	ck_assert_int_eq(ls_queue_push(g->in, r, size), 0);
}

/* Pops the next batch, waiting at most 10 s. */
static struct ls_batch *
next_batch(struct rig *g)
{
	return ls_queue_pop(g->out, g->root, ls_now_ms() + 10000, NULL);
}

START_TEST(cut_at_max_entries)
{
	struct rig g;
	struct ls_batch *b;
	unsigned i, seen = 0;

	rig_start(&g, 10, 1 << 20, 60000);
	for (i = 0; i < 35; i++)
		push_rec(&g, i, 8);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(b = next_batch(&g));
		ck_assert_uint_eq(b->n, 10);
		for (size_t k = 0; k < b->n; k++)
			ck_assert_uint_eq(b->recs[k]->offset, seen++);
		ls_batch_free(b);
	}
	/* The rest waits for max_wait (a minute) or the drain. */
	ls_queue_close(g.in);
	ck_assert_ptr_nonnull(b = next_batch(&g));
	ck_assert_uint_eq(b->n, 5);
	ck_assert_uint_eq(b->recs[0]->offset, 30);
	ls_batch_free(b);
	ck_assert_ptr_null(next_batch(&g));
	ck_assert_int_eq(errno, EPIPE);
	rig_free(&g);
}
END_TEST

START_TEST(cut_at_max_bytes_with_carry)
{
	struct rig g;
	struct ls_batch *b;
	unsigned i, seen = 0, batches = 0;

	rig_start(&g, 1000, 1000, 60000);
	/* 300 bytes each: three fit in 1000, the fourth opens the next. */
	for (i = 0; i < 10; i++)
		push_rec(&g, i, 300);
	ls_queue_close(g.in);
	while ((b = next_batch(&g)) != NULL) {
		ck_assert_uint_le(b->bytes, 1000);
		for (size_t k = 0; k < b->n; k++)
			ck_assert_uint_eq(b->recs[k]->offset, seen++);
		batches++;
		ls_batch_free(b);
	}
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_uint_eq(seen, 10);
	ck_assert_uint_eq(batches, 4); /* 3 + 3 + 3 + 1 */
	rig_free(&g);
}
END_TEST

START_TEST(oversize_record_alone)
{
	struct rig g;
	struct ls_batch *b;

	rig_start(&g, 1000, 100, 60000);
	push_rec(&g, 0, 10);
	push_rec(&g, 1, 500);
	push_rec(&g, 2, 10);
	ls_queue_close(g.in);
	ck_assert_ptr_nonnull(b = next_batch(&g));
	ck_assert_uint_eq(b->n, 1);
	ls_batch_free(b);
	ck_assert_ptr_nonnull(b = next_batch(&g));
	ck_assert_uint_eq(b->n, 1);
	ck_assert_uint_eq(b->recs[0]->len, 500);
	ls_batch_free(b);
	ck_assert_ptr_nonnull(b = next_batch(&g));
	ck_assert_uint_eq(b->n, 1);
	ls_batch_free(b);
	ck_assert_ptr_null(next_batch(&g));
	rig_free(&g);
}
END_TEST

START_TEST(cut_at_max_wait)
{
	struct rig g;
	struct ls_batch *b;
	int64_t t0;

	rig_start(&g, 1000, 1 << 20, 200);
	t0 = ls_now_ms();
	push_rec(&g, 0, 8);
	push_rec(&g, 1, 8);
	/* The input stays open: only age can close this batch. */
	ck_assert_ptr_nonnull(b = next_batch(&g));
	ck_assert_uint_eq(b->n, 2);
	ck_assert_int_ge(ls_now_ms() - t0, 200);
	ls_batch_free(b);
	ck_assert(!ls_queue_closed(g.out));
	rig_free(&g);
}
END_TEST

START_TEST(cancel_closes_output)
{
	struct rig g;
	struct ls_batch *b;
	struct ls_ctx *waiter = ls_ctx_new(NULL);

	size_t held = 0;

	rig_start(&g, 1000, 1 << 20, 60000);
	push_rec(&g, 0, 8);
	ls_ctx_cancel(g.root);
	/* Cancelled: the output is closed, and the record is either still
	 * in the input (the cancel came first) or in the partial batch the
	 * batcher left in the output (a reload hands it on): never lost. */
	while ((b = ls_queue_pop(g.out, waiter, ls_now_ms() + 10000, NULL))
	    != NULL) {
		held += b->n;
		ls_batch_free(b);
	}
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_uint_eq(held + ls_queue_len(g.in), 1);
	rig_free(&g);
	ls_ctx_free(waiter);
}
END_TEST

static Suite *
batcher_suite(void)
{
	Suite *s = suite_create("batcher");
	TCase *tc;

	tc = tcase_create("cut");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cut_at_max_entries);
	tcase_add_test(tc, cut_at_max_bytes_with_carry);
	tcase_add_test(tc, oversize_record_alone);
	tcase_add_test(tc, cut_at_max_wait);
	suite_add_tcase(s, tc);
	tc = tcase_create("stop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cancel_closes_output);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(batcher_suite());
}
