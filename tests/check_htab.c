/*
 * check_htab: the intrusive hash table the tailer's indexes are built on,
 * against a model (a plain array of which keys are in): inserts through
 * several doublings, lookups that must skip entries of another key in
 * the same chain (a forced hash collision), removes from the middle of a
 * chain, and a sweep that frees what it takes out (ASan sees a use after
 * free or a leak).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <check.h>

#include "htab.h"
#include "testutil.h"

#define N 5000

struct item {
	struct ls_hnode node;
	int key;
	int in;
};

/* A weak hash on purpose: keys k and k + 7 collide. */
static uint64_t
weak(int key)
{
	return (uint64_t)(key % 7);
}

static struct item *
find(struct ls_htab *h, int key, uint64_t hash)
{
	struct ls_hnode *n;
	struct item *it;

	for (n = ls_htab_first(h, hash); n != NULL; n = ls_htab_next(n)) {
		it = LS_CONTAINER_OF(n, struct item, node);
		if (it->key == key)
			return it;
	}
	return NULL;
}

START_TEST(insert_find_remove)
{
	static struct item items[N];
	struct ls_htab h;
	int i;

	ls_htab_init(&h, 1);
	ck_assert_uint_eq(h.size, 16);
	for (i = 0; i < N; i++) {
		items[i].key = i;
		ls_htab_insert(
		    &h, &items[i].node, ls_hash_u64x2(1, (uint64_t)i));
		items[i].in = 1;
	}
	ck_assert_uint_eq(h.n, N);
	ck_assert_uint_ge(h.size, N);
	/* Every other one out. */
	for (i = 0; i < N; i += 2) {
		ls_htab_remove(&h, &items[i].node);
		items[i].in = 0;
	}
	ck_assert_uint_eq(h.n, N / 2);
	for (i = 0; i < N; i++) {
		struct item *it = find(&h, i, ls_hash_u64x2(1, (uint64_t)i));

		if ((it != NULL) != items[i].in)
			ck_abort_msg("key %d: found %d, in %d", i, it != NULL,
			    items[i].in);
		if (it != NULL && it != &items[i])
			ck_abort_msg("key %d: another entry found", i);
	}
	ck_assert_ptr_null(find(&h, N + 1, ls_hash_u64x2(1, N + 1)));
	ls_htab_cleanup(&h);
}
END_TEST

START_TEST(collisions)
{
	static struct item items[70];
	struct ls_htab h;
	int i;

	ls_htab_init(&h, 16);
	for (i = 0; i < 70; i++) {
		items[i].key = i;
		ls_htab_insert(&h, &items[i].node, weak(i));
	}
	/* Ten keys share each hash: each is found as itself. */
	for (i = 0; i < 70; i++)
		ck_assert_ptr_eq(find(&h, i, weak(i)), &items[i]);
	/* Out of the middle of a chain. */
	ls_htab_remove(&h, &items[35].node);
	ck_assert_ptr_null(find(&h, 35, weak(35)));
	ck_assert_ptr_eq(find(&h, 28, weak(28)), &items[28]);
	ck_assert_ptr_eq(find(&h, 42, weak(42)), &items[42]);
	ck_assert_uint_eq(h.n, 69);
	ls_htab_cleanup(&h);
}
END_TEST

static int
odd_cb(struct ls_hnode *n, void *arg)
{
	struct item *it = LS_CONTAINER_OF(n, struct item, node);
	int *freed = arg;

	if (it->key % 2 == 0)
		return 0;
	free(it);
	(*freed)++;
	return 1;
}

static int
all_cb(struct ls_hnode *n, void *arg)
{
	(void)arg;
	free(LS_CONTAINER_OF(n, struct item, node));
	return 1;
}

START_TEST(sweep_frees)
{
	struct ls_htab h;
	struct item *it;
	int i, freed = 0;

	ls_htab_init(&h, 4);
	for (i = 0; i < 1000; i++) {
		it = calloc(1, sizeof *it);
		ck_assert_ptr_nonnull(it);
		it->key = i;
		ls_htab_insert(&h, &it->node, weak(i));
	}
	ls_htab_sweep(&h, odd_cb, &freed);
	ck_assert_int_eq(freed, 500);
	ck_assert_uint_eq(h.n, 500);
	for (i = 0; i < 1000; i++)
		if ((find(&h, i, weak(i)) != NULL) != (i % 2 == 0))
			ck_abort_msg("key %d after the sweep", i);
	ls_htab_sweep(&h, all_cb, NULL);
	ck_assert_uint_eq(h.n, 0);
	ls_htab_cleanup(&h);
}
END_TEST

START_TEST(string_hash)
{
	/* FNV-1a's published values: "" and "a". */
	ck_assert_uint_eq(ls_hash_str(""), 0xcbf29ce484222325ull);
	ck_assert_uint_eq(ls_hash_str("a"), 0xaf63dc4c8601ec8cull);
	ck_assert_uint_ne(ls_hash_u64x2(1, 2), ls_hash_u64x2(2, 1));
}
END_TEST

static Suite *
htab_suite(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("htab");

	tcase_add_test(tc, insert_find_remove);
	tcase_add_test(tc, collisions);
	tcase_add_test(tc, sweep_frees);
	tcase_add_test(tc, string_hash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(htab_suite());
}
