/*
 * check_offtrack: the committed offset against a reference model.
 *
 * The model keeps every record's end offset and done flag in plain arrays
 * and recomputes the longest done prefix by walking them; the tracker must
 * agree with it after every call, whatever order records complete in
 * (in order, reversed, shuffled, and interleaved with new reads so that the
 * ring wraps, grows and shrinks). Also: a reset forgets what was
 * outstanding and ignores its late acknowledgements, and bad sequence
 * numbers change nothing. Shuffles use a fixed seed, so a failure repeats.
 *
 * The per-record checks use ck_abort_msg only on failure: each passing
 * ck_assert costs Check a write(2), millions of them here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include <check.h>

#include "offtrack.h"
#include "testutil.h"

#define N 100000

struct model {
	uint64_t start;
	uint64_t *end;
	uint64_t *seq;
	char *done;
	size_t n;
	size_t prefix; /* records done from the start */
	size_t ndone;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
model_init(struct model *m, uint64_t start, size_t cap)
{
	m->start = start;
	m->end = calloc(cap, sizeof *m->end);
	m->seq = calloc(cap, sizeof *m->seq);
	m->done = calloc(cap, 1);
	ck_assert(m->end != NULL && m->seq != NULL && m->done != NULL);
	m->n = m->prefix = m->ndone = 0;
}

static void
model_free(struct model *m)
{
	free(m->end);
	free(m->seq);
	free(m->done);
}

static uint64_t
model_committed(const struct model *m)
{
	return m->prefix == 0 ? m->start : m->end[m->prefix - 1];
}

/* Reads one record of 1 to 200 bytes into both. */
static void
add_one(struct model *m, struct ls_offtrack *t)
{
	uint64_t last = m->n == 0 ? m->start : m->end[m->n - 1];

	m->end[m->n] = last + 1 + xorshift() % 200;
	m->seq[m->n] = ls_offtrack_add(t, m->end[m->n]);
	if (m->n > 0 && m->seq[m->n] != m->seq[m->n - 1] + 1)
		ck_abort_msg("seq %" PRIu64 " after %" PRIu64, m->seq[m->n],
		    m->seq[m->n - 1]);
	m->n++;
}

/* Marks record i done in both and compares them. */
static void
done_one(struct model *m, struct ls_offtrack *t, size_t i)
{
	if (ls_offtrack_done(t, m->seq[i]) != 0)
		ck_abort_msg("done(%" PRIu64 ") failed", m->seq[i]);
	m->done[i] = 1;
	m->ndone++;
	while (m->prefix < m->n && m->done[m->prefix])
		m->prefix++;
	if (ls_offtrack_committed(t) != model_committed(m))
		ck_abort_msg("record %zu: committed %" PRIu64
			     ", model %" PRIu64,
		    i, ls_offtrack_committed(t), model_committed(m));
	if (ls_offtrack_outstanding(t) != m->n - m->ndone)
		ck_abort_msg("record %zu: outstanding %zu, model %zu", i,
		    ls_offtrack_outstanding(t), m->n - m->ndone);
}

static void
shuffle(size_t *v, size_t n)
{
	size_t i, j, tmp;

	for (i = n; i > 1; i--) {
		j = (size_t)(xorshift() % i);
		tmp = v[i - 1];
		v[i - 1] = v[j];
		v[j] = tmp;
	}
}

enum order { IN_ORDER, REVERSE, RANDOM };

static void
run_order(enum order o)
{
	struct ls_offtrack *t;
	struct model m;
	size_t i, *ord;

	t = ls_offtrack_new(1234);
	model_init(&m, 1234, N);
	ck_assert_uint_eq(ls_offtrack_committed(t), 1234);
	for (i = 0; i < N; i++)
		add_one(&m, t);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), N);
	ck_assert_uint_eq(ls_offtrack_committed(t), 1234);
	ord = malloc(N * sizeof *ord);
	ck_assert_ptr_nonnull(ord);
	for (i = 0; i < N; i++)
		ord[i] = o == REVERSE ? N - 1 - i : i;
	if (o == RANDOM)
		shuffle(ord, N);
	for (i = 0; i < N; i++) {
		done_one(&m, t, ord[i]);
		if (o == REVERSE && i < N - 1
		    && ls_offtrack_committed(t) != 1234)
			ck_abort_msg("committed moved with record 0 not done");
	}
	ck_assert_uint_eq(ls_offtrack_committed(t), m.end[N - 1]);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 0);
	ck_assert_uint_eq(ls_offtrack_ignored(t), 0);
	free(ord);
	model_free(&m);
	ls_offtrack_free(t);
}

START_TEST(in_order) { run_order(IN_ORDER); }
END_TEST

START_TEST(reverse) { run_order(REVERSE); }
END_TEST

START_TEST(random_order) { run_order(RANDOM); }
END_TEST

/*
 * Reads and acknowledgements interleaved, in bursts that let the window of
 * outstanding records swell to thousands and drain to nothing, so the ring
 * wraps around, grows and shrinks many times.
 */
START_TEST(interleaved)
{
	struct ls_offtrack *t;
	struct model m;
	size_t *out, nout = 0, i, k, burst, total = 4 * N;

	t = ls_offtrack_new(0);
	model_init(&m, 0, total);
	out = malloc(total * sizeof *out);
	ck_assert_ptr_nonnull(out);
	while (m.n < total || nout > 0) {
		burst = (size_t)(xorshift() % 3000);
		for (k = 0; k < burst && m.n < total; k++) {
			out[nout++] = m.n;
			add_one(&m, t);
		}
		burst = (size_t)(xorshift() % 3000);
		for (k = 0; k < burst && nout > 0; k++) {
			i = (size_t)(xorshift() % nout);
			done_one(&m, t, out[i]);
			out[i] = out[--nout];
		}
	}
	ck_assert_uint_eq(ls_offtrack_committed(t), m.end[total - 1]);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 0);
	free(out);
	model_free(&m);
	ls_offtrack_free(t);
}
END_TEST

START_TEST(bad_seq_ignored)
{
	struct ls_offtrack *t;
	uint64_t a, b, c;

	t = ls_offtrack_new(0);
	a = ls_offtrack_add(t, 10);
	b = ls_offtrack_add(t, 20);
	c = ls_offtrack_add(t, 30);
	ck_assert_uint_eq(a, 1);

	/* Done twice while held back by a. */
	ck_assert_int_eq(ls_offtrack_done(t, b), 0);
	errno = 0;
	ck_assert_int_eq(ls_offtrack_done(t, b), -1);
	ck_assert_int_eq(errno, EALREADY);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 2);

	/* Done twice after being committed. */
	ck_assert_int_eq(ls_offtrack_done(t, a), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 20);
	ck_assert_int_eq(ls_offtrack_done(t, a), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* Never handed out, above or below. */
	ck_assert_int_eq(ls_offtrack_done(t, c + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ls_offtrack_done(t, UINT64_MAX), -1);
	ck_assert_int_eq(ls_offtrack_done(t, 0), -1);
	ck_assert_int_eq(errno, ENOENT);

	ck_assert_uint_eq(ls_offtrack_ignored(t), 5);
	ck_assert_uint_eq(ls_offtrack_committed(t), 20);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 1);
	ck_assert_int_eq(ls_offtrack_done(t, c), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 30);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 0);
	ls_offtrack_free(t);
}
END_TEST

/* Records ending at the same offset add nothing, but are allowed. */
START_TEST(equal_ends)
{
	struct ls_offtrack *t;
	uint64_t a, b;

	t = ls_offtrack_new(50);
	a = ls_offtrack_add(t, 50);
	b = ls_offtrack_add(t, 50);
	ck_assert_int_eq(ls_offtrack_done(t, b), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 50);
	ck_assert_int_eq(ls_offtrack_done(t, a), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 50);
	ls_offtrack_free(t);
}
END_TEST

/* An end below the previous one is a caller's bug: fatal (exit 1). */
START_TEST(decreasing_end_fatal)
{
	struct ls_offtrack *t;

	t = ls_offtrack_new(0);
	(void)ls_offtrack_add(t, 100);
	(void)ls_offtrack_add(t, 99);
	ls_offtrack_free(t);
}
END_TEST

START_TEST(below_start_fatal)
{
	struct ls_offtrack *t;

	t = ls_offtrack_new(100);
	(void)ls_offtrack_add(t, 99);
	ls_offtrack_free(t);
}
END_TEST

/*
 * A truncation: what was outstanding is forgotten, and its late
 * acknowledgements, in any order and mixed with new ones, must not move
 * the new committed offset.
 */
START_TEST(reset_ignores_stale)
{
	struct ls_offtrack *t;
	struct model m;
	uint64_t old[1000];
	size_t i, nold = 0;

	t = ls_offtrack_new(0);
	for (i = 0; i < 1000; i++)
		old[i] = ls_offtrack_add(t, 100 * (i + 1));
	/* Some done before the truncation, the first among them. */
	for (i = 0; i < 1000; i += 3)
		ck_assert_int_eq(ls_offtrack_done(t, old[i]), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 100);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 666);

	ls_offtrack_reset(t, 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), 0);
	ck_assert_uint_eq(ls_offtrack_outstanding(t), 0);

	/* The file is read again from 0, and so are offsets. */
	model_init(&m, 0, 2000);
	for (i = 0; i < 2000; i++)
		add_one(&m, t);
	ck_assert_uint_gt(m.seq[0], old[999]);
	for (i = 0; i < 2000; i++) {
		if (i % 2 == 0 && nold < 1000) {
			/* Stale, done or not before the reset. */
			errno = 0;
			ck_assert_int_eq(ls_offtrack_done(t, old[nold]), -1);
			ck_assert_int_eq(errno, ENOENT);
			nold++;
		}
		done_one(&m, t, 2000 - 1 - i);
	}
	ck_assert_uint_eq(ls_offtrack_committed(t), m.end[1999]);
	ck_assert_uint_eq(ls_offtrack_ignored(t), 1000);
	model_free(&m);

	/* A reset with nothing outstanding, to a higher offset. */
	ls_offtrack_reset(t, 1u << 20);
	ck_assert_uint_eq(ls_offtrack_committed(t), 1u << 20);
	old[0] = ls_offtrack_add(t, (1u << 20) + 5);
	ck_assert_int_eq(ls_offtrack_done(t, old[0]), 0);
	ck_assert_uint_eq(ls_offtrack_committed(t), (1u << 20) + 5);
	ls_offtrack_free(t);
}
END_TEST

/* The backlog age comes from the oldest record not yet committed. */
START_TEST(oldest_outstanding)
{
	struct ls_offtrack *t = ls_offtrack_new(0);
	uint64_t a, b, c;

	ck_assert_int_eq(ls_offtrack_oldest(t), -1);
	a = ls_offtrack_add_at(t, 10, 1000);
	b = ls_offtrack_add_at(t, 20, 2000);
	c = ls_offtrack_add_at(t, 30, 3000);
	ck_assert_int_eq(ls_offtrack_oldest(t), 1000);
	/* Done out of order: the head still holds the age back. */
	ck_assert_int_eq(ls_offtrack_done(t, b), 0);
	ck_assert_int_eq(ls_offtrack_oldest(t), 1000);
	ck_assert_int_eq(ls_offtrack_done(t, a), 0);
	ck_assert_int_eq(ls_offtrack_oldest(t), 3000);
	ck_assert_int_eq(ls_offtrack_done(t, c), 0);
	ck_assert_int_eq(ls_offtrack_oldest(t), -1);
	ls_offtrack_add_at(t, 40, 4000);
	ls_offtrack_reset(t, 0);
	ck_assert_int_eq(ls_offtrack_oldest(t), -1);
	ls_offtrack_free(t);
}
END_TEST

START_TEST(free_null) { ls_offtrack_free(NULL); }
END_TEST

static Suite *
offtrack_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("offtrack");

	tc = tcase_create("order");
	tcase_add_test(tc, in_order);
	tcase_add_test(tc, reverse);
	tcase_add_test(tc, random_order);
	tcase_add_test(tc, interleaved);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_add_test(tc, bad_seq_ignored);
	tcase_add_test(tc, equal_ends);
	tcase_add_exit_test(tc, decreasing_end_fatal, 1);
	tcase_add_exit_test(tc, below_start_fatal, 1);
	tcase_add_test(tc, free_null);
	tcase_add_test(tc, oldest_outstanding);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_test(tc, reset_ignores_stale);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(offtrack_suite());
}
