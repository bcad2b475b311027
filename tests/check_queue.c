/*
 * check_queue: order and accounting, push_many/pop_many, waits that end by
 * push, "until", deadline, cancel and close, the free callback, and many
 * producers and consumers where every item must arrive exactly once.
 *
 * Items are small integers cast to pointers (id + 1, as NULL is not an
 * item). Where a test wants a consumer to be blocked before it acts, it
 * waits for an "entered" flag and then for a short bounded settle; the
 * assertions hold whether or not the consumer was asleep by then, the
 * settle only makes the blocked path the likely one. LS_STRESS_SCALE
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
#include "queue.h"
#include "testutil.h"

#define ITEM(id) ((void *)(uintptr_t)((id) + 1))

static size_t
item_id(void *item)
{
	return (size_t)(uintptr_t)item - 1;
}

/* A consumer in its own thread: one pop or pop_many, or pops until error. */
struct popper {
	pthread_t thread;
	struct ls_queue *q;
	struct ls_ctx *ctx;
	int64_t until;
	int many; /* pop_many rather than pop */
	int drain; /* loop until an error */
	atomic_int *entered;
	atomic_int *got; /* items taken, summed over poppers */
	unsigned char *seen; /* per id; the ids are disjoint per test */
	size_t taken;
	int error;
};

static void *
popper_main(void *arg)
{
	struct popper *p = arg;
	void *items[16];
	size_t i, n;

	p->taken = 0;
	p->error = 0;
	atomic_fetch_add(p->entered, 1);
	do {
		if (p->many)
			n = ls_queue_pop_many(
			    p->q, p->ctx, p->until, items, NULL, 16);
		else {
			items[0] = ls_queue_pop(p->q, p->ctx, p->until, NULL);
			n = items[0] != NULL;
		}
		if (n == 0) {
			p->error = errno;
			break;
		}
		for (i = 0; i < n; i++) {
			if (p->seen != NULL)
				p->seen[item_id(items[i])]++;
		}
		p->taken += n;
		if (p->got != NULL)
			atomic_fetch_add(p->got, (int)n);
	} while (p->drain);
	return NULL;
}

static void
popper_start(struct popper *p, struct ls_queue *q, struct ls_ctx *ctx,
    int64_t until, atomic_int *entered)
{
	p->q = q;
	p->ctx = ctx;
	p->until = until;
	p->entered = entered;
	ck_assert_int_eq(pthread_create(&p->thread, NULL, popper_main, p), 0);
}

/* Order and accounting. */

START_TEST(fifo_order_and_counts)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	size_t i, bytes;

	ck_assert_ptr_nonnull(q);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(ls_queue_push(q, ITEM(i), i * 10), 0);
	ck_assert_uint_eq(ls_queue_len(q), 100);
	ck_assert_uint_eq(ls_queue_bytes(q), 49500);
	for (i = 0; i < 100; i++) {
		ck_assert_ptr_eq(ls_queue_trypop(q, &bytes), ITEM(i));
		ck_assert_uint_eq(bytes, i * 10);
	}
	ck_assert_uint_eq(ls_queue_len(q), 0);
	ck_assert_uint_eq(ls_queue_bytes(q), 0);
	ls_queue_free(q);
}
END_TEST

START_TEST(push_null_is_einval)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	void *items[2] = { ITEM(1), NULL };

	ck_assert_int_eq(ls_queue_push(q, NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ls_queue_push_many(q, items, NULL, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(ls_queue_len(q), 0);
	ls_queue_free(q);
}
END_TEST

START_TEST(trypop_eagain_then_epipe)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);

	ck_assert_ptr_null(ls_queue_trypop(q, NULL));
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ls_queue_push(q, ITEM(7), 3), 0);
	ls_queue_close(q);
	ck_assert_ptr_eq(ls_queue_trypop(q, NULL), ITEM(7));
	ck_assert_ptr_null(ls_queue_trypop(q, NULL));
	ck_assert_int_eq(errno, EPIPE);
	ls_queue_free(q);
}
END_TEST

START_TEST(closed_push_fails_and_drains)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *items[3] = { ITEM(2), ITEM(3), ITEM(4) };
	size_t bytes;

	ck_assert_int_eq(ls_queue_closed(q), 0);
	ck_assert_int_eq(ls_queue_push(q, ITEM(1), 5), 0);
	ls_queue_close(q);
	ls_queue_close(q);
	ck_assert_int_eq(ls_queue_closed(q), 1);
	/* The caller keeps what a closed queue refused: nothing was
	 * counted. */
	ck_assert_int_eq(ls_queue_push(q, ITEM(9), 100), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(ls_queue_push_many(q, items, NULL, 3), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_uint_eq(ls_queue_len(q), 1);
	ck_assert_uint_eq(ls_queue_bytes(q), 5);
	/* What was pushed before the close still comes out, then the end. */
	ck_assert_ptr_eq(ls_queue_pop(q, root, LS_FOREVER, &bytes), ITEM(1));
	ck_assert_uint_eq(bytes, 5);
	ck_assert_ptr_null(ls_queue_pop(q, root, LS_FOREVER, NULL));
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_ptr_null(ls_queue_pop(q, root, LS_FOREVER, NULL));
	ck_assert_int_eq(errno, EPIPE);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(ring_wraps_grows_shrinks)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	size_t next_in = 0, next_out = 0, round, i;

	/* Push three, pop two: the head walks round the ring while it
	 * grows. */
	for (round = 0; round < 20000; round++) {
		for (i = 0; i < 3; i++) {
			ck_assert_int_eq(
			    ls_queue_push(q, ITEM(next_in), next_in), 0);
			next_in++;
		}
		for (i = 0; i < 2; i++) {
			ck_assert_ptr_eq(
			    ls_queue_trypop(q, NULL), ITEM(next_out));
			next_out++;
		}
	}
	ck_assert_uint_eq(ls_queue_len(q), next_in - next_out);
	/* Then pop most of it (shrinking from 32768 slots to 1024), walk
	 * the head round the smaller ring a few times, push more (growing
	 * again), pop all. */
	while (ls_queue_len(q) > 5) {
		ck_assert_ptr_eq(ls_queue_trypop(q, NULL), ITEM(next_out));
		next_out++;
	}
	for (i = 0; i < 5000; i++) {
		ck_assert_int_eq(ls_queue_push(q, ITEM(next_in), next_in), 0);
		next_in++;
		ck_assert_ptr_eq(ls_queue_trypop(q, NULL), ITEM(next_out));
		next_out++;
	}
	for (i = 0; i < 3000; i++) {
		ck_assert_int_eq(ls_queue_push(q, ITEM(next_in), next_in), 0);
		next_in++;
	}
	while (next_out < next_in) {
		ck_assert_ptr_eq(ls_queue_trypop(q, NULL), ITEM(next_out));
		next_out++;
	}
	ck_assert_uint_eq(ls_queue_len(q), 0);
	ck_assert_uint_eq(ls_queue_bytes(q), 0);
	ls_queue_free(q);
}
END_TEST

/* push_many and pop_many. */

START_TEST(push_many_pop_many_order)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *in[100], *out[100];
	size_t inb[100], outb[100], i, n, total = 0;

	for (i = 0; i < 100; i++) {
		in[i] = ITEM(i);
		inb[i] = i;
	}
	ck_assert_int_eq(ls_queue_push_many(q, in, inb, 60), 0);
	ck_assert_int_eq(ls_queue_push_many(q, in + 60, inb + 60, 40), 0);
	ck_assert_int_eq(ls_queue_push_many(q, in, inb, 0), 0);
	ck_assert_uint_eq(ls_queue_len(q), 100);
	ck_assert_uint_eq(ls_queue_bytes(q), 4950);
	while (total < 100) {
		n = ls_queue_pop_many(
		    q, root, LS_FOREVER, out + total, outb + total, 30);
		ck_assert_uint_eq(n, total < 90 ? 30 : 10);
		total += n;
	}
	for (i = 0; i < 100; i++) {
		ck_assert_ptr_eq(out[i], ITEM(i));
		ck_assert_uint_eq(outb[i], i);
	}
	ck_assert_uint_eq(ls_queue_bytes(q), 0);
	/* max 0 asks for nothing. */
	ck_assert_uint_eq(ls_queue_pop_many(q, root, 0, out, NULL, 0), 0);
	ck_assert_int_eq(errno, EINVAL);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(push_many_null_bytes)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *in[3] = { ITEM(0), ITEM(1), ITEM(2) }, *out[8];
	size_t outb[8];

	ck_assert_int_eq(ls_queue_push(q, ITEM(9), 7), 0);
	ck_assert_int_eq(ls_queue_push_many(q, in, NULL, 3), 0);
	ck_assert_uint_eq(ls_queue_bytes(q), 7);
	ck_assert_uint_eq(ls_queue_pop_many(q, root, 0, out, outb, 8), 4);
	ck_assert_ptr_eq(out[0], ITEM(9));
	ck_assert_uint_eq(outb[0], 7);
	ck_assert_ptr_eq(out[3], ITEM(2));
	ck_assert_uint_eq(outb[3], 0);
	ls_queue_close(q);
	ck_assert_uint_eq(ls_queue_pop_many(q, root, 0, out, outb, 8), 0);
	ck_assert_int_eq(errno, EPIPE);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(pop_many_waits_for_first)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *in[5] = { ITEM(0), ITEM(1), ITEM(2), ITEM(3), ITEM(4) };
	unsigned char seen[5] = { 0 };
	struct popper p = { .many = 1, .drain = 1, .seen = seen };
	atomic_int entered;

	atomic_init(&entered, 0);
	popper_start(&p, q, root, LS_FOREVER, &entered);
	ck_assert(spin_until(&entered, 1));
	settle();
	ck_assert_int_eq(ls_queue_push_many(q, in, NULL, 5), 0);
	ls_queue_close(q);
	ck_assert_int_eq(pthread_join(p.thread, NULL), 0);
	ck_assert_uint_eq(p.taken, 5);
	ck_assert_int_eq(p.error, EPIPE);
	ck_assert(seen[0] == 1 && seen[4] == 1);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

/* Waits that end. */

START_TEST(pop_waits_for_push)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	unsigned char seen[1] = { 0 };
	struct popper p = { .seen = seen };
	atomic_int entered;

	atomic_init(&entered, 0);
	popper_start(&p, q, root, ls_now_ms() + 30000, &entered);
	ck_assert(spin_until(&entered, 1));
	settle();
	ck_assert_int_eq(ls_queue_push(q, ITEM(0), 1), 0);
	ck_assert_int_eq(pthread_join(p.thread, NULL), 0);
	ck_assert_uint_eq(p.taken, 1);
	ck_assert_int_eq(seen[0], 1);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(pop_until_times_out)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *out[4];
	int64_t t0 = ls_now_ms();

	ck_assert_ptr_null(ls_queue_pop(q, root, t0 + 50, NULL));
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(ls_now_ms() - t0 >= 50);
	t0 = ls_now_ms();
	ck_assert_uint_eq(ls_queue_pop_many(q, root, t0 + 30, out, NULL, 4), 0);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(ls_now_ms() - t0 >= 30);
	/* An "until" already past still takes an item that is there. */
	ck_assert_int_eq(ls_queue_push(q, ITEM(1), 0), 0);
	ck_assert_ptr_eq(ls_queue_pop(q, root, 0, NULL), ITEM(1));
	ck_assert_ptr_null(ls_queue_pop(q, root, 0, NULL));
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(ls_ctx_done(root), 0);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

START_TEST(pop_ends_at_ctx_deadline)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *ctx = ls_ctx_new_timeout(NULL, 50);

	ck_assert_ptr_null(ls_queue_pop(q, ctx, ls_now_ms() + 60000, NULL));
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert(ls_now_ms() >= ls_ctx_deadline(ctx));
	ck_assert_int_eq(ls_ctx_err(ctx), LS_CTX_DEADLINE);
	ls_ctx_free(ctx);
	ls_queue_free(q);
}
END_TEST

START_TEST(pop_on_done_ctx_leaves_items)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	void *out[2];

	/* A done context means "stop consuming", items or not. */
	ck_assert_int_eq(ls_queue_push(q, ITEM(0), 1), 0);
	ls_ctx_cancel(root);
	ck_assert_ptr_null(ls_queue_pop(q, root, LS_FOREVER, NULL));
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_uint_eq(
	    ls_queue_pop_many(q, root, LS_FOREVER, out, NULL, 2), 0);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_uint_eq(ls_queue_len(q), 1);
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

/* Cancel while waiting. */

static void
check_cancel_wakes(int many, int ancestor)
{
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct ls_ctx *child = ls_ctx_new(root);
	struct popper p = { .many = many };
	atomic_int entered;

	atomic_init(&entered, 0);
	popper_start(&p, q, child, LS_FOREVER, &entered);
	ck_assert(spin_until(&entered, 1));
	settle();
	ls_ctx_cancel(ancestor ? root : child);
	ck_assert_int_eq(pthread_join(p.thread, NULL), 0);
	ck_assert_uint_eq(p.taken, 0);
	ck_assert_int_eq(p.error, ECANCELED);
	ck_assert_int_eq(ls_queue_closed(q), 0);
	ls_ctx_free(child);
	ls_ctx_free(root);
	ls_queue_free(q);
}

START_TEST(cancel_wakes_pop)
{
	/* pop, the popper's own context cancelled. */
	check_cancel_wakes(0, 0);
}
END_TEST

START_TEST(ancestor_cancel_wakes_pop)
{
	/* pop, an ancestor of its context cancelled. */
	check_cancel_wakes(0, 1);
}
END_TEST

START_TEST(cancel_wakes_pop_many)
{
	/* pop_many, an ancestor of its context cancelled. */
	check_cancel_wakes(1, 1);
}
END_TEST

/*
 * Two consumers wait; one's context ends (a cancel in even rounds, its
 * deadline in odd ones) just as an item arrives. If the push's wake-up went
 * to the one that leaves, it must pass it on: the other must get the item
 * without a close to help it. A cancel also broadcasts the queue's condvar,
 * which hides most of this; the deadline does not, and without the pass-on
 * the deadline rounds strand the item within a few dozen rounds.
 */
START_TEST(leaving_popper_strands_nothing)
{
	size_t round, rounds = scaled(200);

	for (round = 0; round < rounds; round++) {
		struct ls_queue *q = ls_queue_new(NULL, NULL);
		struct ls_ctx *root = ls_ctx_new(NULL);
		struct ls_ctx *c1, *c2 = ls_ctx_new(root);
		struct popper p1 = { 0 }, p2 = { 0 };
		atomic_int entered, got;

		c1 = round % 2 == 0
		    ? ls_ctx_new(root)
		    : ls_ctx_new_timeout(root, 1 + (int64_t)(round / 2 % 3));
		atomic_init(&entered, 0);
		atomic_init(&got, 0);
		p1.got = p2.got = &got;
		popper_start(&p1, q, c1, LS_FOREVER, &entered);
		popper_start(&p2, q, c2, LS_FOREVER, &entered);
		ck_assert(spin_until(&entered, 2));
		if (round % 2 == 0) {
			ck_assert_int_eq(ls_queue_push(q, ITEM(0), 0), 0);
			ls_ctx_cancel(c1);
		} else {
			while (ls_now_ms() < ls_ctx_deadline(c1))
				sched_yield();
			ck_assert_int_eq(ls_queue_push(q, ITEM(0), 0), 0);
		}
		ck_assert(spin_until(&got, 1));
		ls_queue_close(q);
		ck_assert_int_eq(pthread_join(p1.thread, NULL), 0);
		ck_assert_int_eq(pthread_join(p2.thread, NULL), 0);
		ck_assert_uint_eq(p1.taken + p2.taken, 1);
		ls_ctx_free(c1);
		ls_ctx_free(c2);
		ls_ctx_free(root);
		ls_queue_free(q);
	}
}
END_TEST

/* Close while waiting. */

START_TEST(close_wakes_waiters)
{
	enum { NP = 8, NI = 100 };
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct popper p[NP];
	unsigned char seen[NP][NI] = { { 0 } };
	atomic_int entered;
	size_t i, k, total = 0;

	atomic_init(&entered, 0);
	for (k = 0; k < NP; k++) {
		p[k] = (struct popper) {
			.many = k % 2, .drain = 1, .seen = seen[k]
		};
		popper_start(&p[k], q, root, LS_FOREVER, &entered);
	}
	ck_assert(spin_until(&entered, NP));
	settle();
	for (i = 0; i < NI; i++)
		ck_assert_int_eq(ls_queue_push(q, ITEM(i), 1), 0);
	ls_queue_close(q);
	for (k = 0; k < NP; k++) {
		ck_assert_int_eq(pthread_join(p[k].thread, NULL), 0);
		ck_assert_int_eq(p[k].error, EPIPE);
		total += p[k].taken;
	}
	ck_assert_uint_eq(total, NI);
	for (i = 0; i < NI; i++) {
		unsigned n = 0;

		for (k = 0; k < NP; k++)
			n += seen[k][i];
		ck_assert_uint_eq(n, 1);
	}
	ls_ctx_free(root);
	ls_queue_free(q);
}
END_TEST

/* The free callback. */

struct freed {
	size_t count;
	size_t sum;
};

static void
count_free(void *item, void *arg)
{
	struct freed *f = arg;

	f->count++;
	f->sum += item_id(item);
}

START_TEST(free_releases_leftovers)
{
	struct freed f = { 0, 0 };
	struct ls_queue *q = ls_queue_new(count_free, &f);
	size_t i;

	for (i = 0; i < 50; i++)
		ck_assert_int_eq(ls_queue_push(q, ITEM(i), 1), 0);
	ck_assert_ptr_eq(ls_queue_trypop(q, NULL), ITEM(0));
	ls_queue_close(q);
	ls_queue_free(q);
	ck_assert_uint_eq(f.count, 49);
	ck_assert_uint_eq(f.sum, 49 * 50 / 2);
	/* Without a callback leftovers are the caller's business, and NULL
	 * is a no-op. */
	q = ls_queue_new(NULL, NULL);
	ck_assert_int_eq(ls_queue_push(q, ITEM(1), 1), 0);
	ls_queue_free(q);
	ls_queue_free(NULL);
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
	struct producer *p = arg;
	void *items[16];
	size_t bytes[16], id = p->first, end = p->first + p->n, k;

	/* Alternate single pushes and batches of up to 16. */
	while (id < end) {
		if (id % 2 == 0) {
			ck_assert_int_eq(
			    ls_queue_push(p->q, ITEM(id), id % 100), 0);
			id++;
			continue;
		}
		for (k = 0; k < 16 && id < end; k++, id++) {
			items[k] = ITEM(id);
			bytes[k] = id % 100;
		}
		ck_assert_int_eq(ls_queue_push_many(p->q, items, bytes, k), 0);
	}
	return NULL;
}

struct consumer {
	pthread_t thread;
	struct ls_queue *q;
	struct ls_ctx *ctx;
	int many;
	atomic_uchar *seen;
	uint64_t n, sum, bytes;
	int error;
};

static void *
consumer_main(void *arg)
{
	struct consumer *c = arg;
	void *items[32];
	size_t bytes[32], i, n;

	for (;;) {
		if (c->many)
			n = ls_queue_pop_many(
			    c->q, c->ctx, LS_FOREVER, items, bytes, 32);
		else {
			items[0]
			    = ls_queue_pop(c->q, c->ctx, LS_FOREVER, &bytes[0]);
			n = items[0] != NULL;
		}
		if (n == 0) {
			c->error = errno;
			return NULL;
		}
		for (i = 0; i < n; i++) {
			atomic_fetch_add_explicit(&c->seen[item_id(items[i])],
			    1, memory_order_relaxed);
			c->n++;
			c->sum += item_id(items[i]);
			c->bytes += bytes[i];
		}
	}
}

/*
 * NP producers and NC consumers (half pop, half pop_many) over one queue.
 * With "cancel", half the consumers have their contexts cancelled partway
 * and the rest must still see every remaining item: the lost wake-up test
 * at scale.
 */
static void
check_mpmc(int cancel)
{
	enum { NP = 8, NC = 8 };
	size_t total = scaled(200000), per = total / NP, i, k;
	struct ls_queue *q = ls_queue_new(NULL, NULL);
	struct ls_ctx *root = ls_ctx_new(NULL);
	struct producer p[NP];
	struct consumer c[NC];
	atomic_uchar *seen;
	uint64_t n = 0, sum = 0, bytes = 0, want_sum = 0, want_bytes = 0;

	total = per * NP;
	seen = calloc(total, sizeof *seen);
	ck_assert_ptr_nonnull(seen);
	for (k = 0; k < NC; k++) {
		c[k] = (struct consumer) { .q = q,
			.ctx = ls_ctx_new(root),
			.many = k % 2,
			.seen = seen };
		ck_assert_int_eq(
		    pthread_create(&c[k].thread, NULL, consumer_main, &c[k]),
		    0);
	}
	for (k = 0; k < NP; k++) {
		p[k] = (struct producer) { .q = q, .first = k * per, .n = per };
		ck_assert_int_eq(
		    pthread_create(&p[k].thread, NULL, producer_main, &p[k]),
		    0);
	}
	if (cancel) {
		/* Two of the pop consumers and two of the pop_many ones. */
		ls_ctx_cancel(c[0].ctx);
		ls_ctx_cancel(c[3].ctx);
		ls_ctx_cancel(c[4].ctx);
		ls_ctx_cancel(c[7].ctx);
	}
	for (k = 0; k < NP; k++)
		ck_assert_int_eq(pthread_join(p[k].thread, NULL), 0);
	ls_queue_close(q);
	for (k = 0; k < NC; k++) {
		ck_assert_int_eq(pthread_join(c[k].thread, NULL), 0);
		ck_assert_int_eq(
		    c[k].error, ls_ctx_done(c[k].ctx) ? ECANCELED : EPIPE);
		n += c[k].n;
		sum += c[k].sum;
		bytes += c[k].bytes;
		ls_ctx_free(c[k].ctx);
	}
	/* The live consumers drained it all. */
	ck_assert_uint_eq(ls_queue_len(q), 0);
	ck_assert_ptr_null(ls_queue_trypop(q, NULL));
	ck_assert_int_eq(errno, EPIPE);
	for (i = 0; i < total; i++) {
		ck_assert_msg(seen[i] == 1, "item %zu seen %u times", i,
		    (unsigned)seen[i]);
		want_sum += i;
		want_bytes += i % 100;
	}
	ck_assert_uint_eq(n, total);
	ck_assert_uint_eq(sum, want_sum);
	ck_assert_uint_eq(bytes, want_bytes);
	ck_assert_uint_eq(ls_queue_bytes(q), 0);
	free(seen);
	ls_ctx_free(root);
	ls_queue_free(q);
}

START_TEST(stress_mpmc_exactly_once)
{
	/* No cancels: every consumer ends on EPIPE. */
	check_mpmc(0);
}
END_TEST

START_TEST(stress_mpmc_with_cancels)
{
	/* Half the consumers cancelled while the producers run. */
	check_mpmc(1);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc;

	tc = tcase_create("basic");
	tcase_add_test(tc, fifo_order_and_counts);
	tcase_add_test(tc, push_null_is_einval);
	tcase_add_test(tc, trypop_eagain_then_epipe);
	tcase_add_test(tc, closed_push_fails_and_drains);
	tcase_add_test(tc, ring_wraps_grows_shrinks);
	suite_add_tcase(s, tc);

	tc = tcase_create("many");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, push_many_pop_many_order);
	tcase_add_test(tc, push_many_null_bytes);
	tcase_add_test(tc, pop_many_waits_for_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pop_waits_for_push);
	tcase_add_test(tc, pop_until_times_out);
	tcase_add_test(tc, pop_ends_at_ctx_deadline);
	tcase_add_test(tc, pop_on_done_ctx_leaves_items);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cancel_wakes_pop);
	tcase_add_test(tc, ancestor_cancel_wakes_pop);
	tcase_add_test(tc, cancel_wakes_pop_many);
	tcase_add_test(tc, leaving_popper_strands_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, close_wakes_waiters);
	suite_add_tcase(s, tc);

	tc = tcase_create("free");
	tcase_add_test(tc, free_releases_leftovers);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stress_mpmc_exactly_once);
	tcase_add_test(tc, stress_mpmc_with_cancels);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(queue_suite());
}
