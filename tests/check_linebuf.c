/*
 * check_linebuf: line framing across arbitrary chunk boundaries.
 *
 * The lines and offsets that come out must not depend on how the bytes
 * were cut into reads. Each text is framed by a simple reference (split
 * the whole text at once) and then fed whole, byte by byte and in random
 * chunks, and the three results are compared with it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "linebuf.h"
#include "testutil.h"

struct line {
	char *data;
	size_t len;
	uint64_t end;
	size_t dropped;
	const char *ptr; /* where the callback saw it */
};

struct lines {
	struct line *v;
	size_t n, cap;
};

static void
collect_cb(
    const char *line, size_t len, uint64_t end, size_t dropped, void *arg)
{
	struct lines *ls = arg;
	struct line *l;

	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 16;
		if ((ls->v = realloc(ls->v, ls->cap * sizeof *ls->v)) == NULL)
			ck_abort_msg("out of memory");
	}
	l = &ls->v[ls->n++];
	l->data = malloc(len + 1);
	memcpy(l->data, line, len);
	l->data[len] = '\0';
	l->len = len;
	l->end = end;
	l->dropped = dropped;
	l->ptr = line;
}

static void
lines_free(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->v[i].data);
	free(ls->v);
	memset(ls, 0, sizeof *ls);
}

static void
lines_eq(const struct lines *a, const struct lines *b, const char *what)
{
	size_t i;

	ck_assert_msg(
	    a->n == b->n, "%s: %zu lines, want %zu", what, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		if (a->v[i].len != b->v[i].len
		    || memcmp(a->v[i].data, b->v[i].data, a->v[i].len) != 0)
			ck_abort_msg("%s: line %zu differs", what, i);
		if (a->v[i].end != b->v[i].end)
			ck_abort_msg("%s: line %zu ends at %ju, want %ju", what,
			    i, (uintmax_t)a->v[i].end, (uintmax_t)b->v[i].end);
		if (a->v[i].dropped != b->v[i].dropped)
			ck_abort_msg("%s: line %zu dropped %zu, want %zu", what,
			    i, a->v[i].dropped, b->v[i].dropped);
	}
}

/* The reference: the whole text split at once, as the header says. */
static void
reference(const char *t, size_t n, size_t max, uint64_t base, struct lines *out)
{
	size_t i = 0, e, len, dropped;

	while (i < n) {
		for (e = i; e < n && t[e] != '\n'; e++)
			;
		if (e == n)
			break; /* partial: not a line until flushed */
		len = e - i;
		if (len > 0 && t[e - 1] == '\r')
			len--;
		dropped = len > max ? len - max : 0;
		len -= dropped;
		if (len > 0 || dropped > 0)
			collect_cb(t + i, len, base + e + 1, dropped, out);
		i = e + 1;
	}
}

static uint32_t
rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*state >> 33);
}

/* Feeds t in chunks: 0 = whole, 1 = byte by byte, else random sizes up
 * to chunk. */
static void
feed(const char *t, size_t n, size_t max, uint64_t base, size_t chunk,
    uint64_t seed, struct lines *out)
{
	struct ls_linebuf lb;
	size_t i = 0, k;

	ls_linebuf_init(&lb, max, base);
	while (i < n) {
		if (chunk == 0)
			k = n;
		else if (chunk == 1)
			k = 1;
		else
			k = 1 + rnd(&seed) % chunk;
		if (k > n - i)
			k = n - i;
		ls_linebuf_feed(&lb, t + i, k, collect_cb, out);
		i += k;
		/* Plain ifs: a passing ck_assert costs a write to Check's
		 * log, and this runs millions of times. */
		if (lb.cap > max + 1 || lb.offset != base + i)
			ck_abort_msg("cap %zu max %zu offset %ju at %zu",
			    lb.cap, max, (uintmax_t)lb.offset, i);
	}
	ls_linebuf_cleanup(&lb);
}

/* Frames t every way and compares with the reference. */
static void
check_text(const char *t, size_t n, size_t max, uint64_t seed)
{
	struct lines want = { 0 }, got = { 0 };
	int way;

	reference(t, n, max, 7, &want);
	for (way = 0; way < 6; way++) {
		feed(t, n, max, 7,
		    way == 0	   ? 0
			: way == 1 ? 1
				   : (size_t)way * 7,
		    seed + (uint64_t)way, &got);
		lines_eq(&got, &want,
		    way == 0	   ? "whole"
			: way == 1 ? "bytes"
				   : "chunks");
		lines_free(&got);
	}
	lines_free(&want);
}

START_TEST(split_fixed)
{
	static const char *const texts[] = {
		"",
		"\n",
		"a\n",
		"abc\ndef\nghi\n",
		"abc\ndef\npartial",
		"crlf\r\nline\r\n",
		"\r\n\r\n\n\nx\n\n",
		"lone\rcr\n\r\r\n",
		"mid\r\rend\r\n",
		"\r",
		"0123456789\n0123456789abc\n01234567\r\n012345678\r\n",
	};
	size_t i, max;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		for (max = 0; max < 12; max++)
			check_text(texts[i], strlen(texts[i]), max, i);
		check_text(texts[i], strlen(texts[i]), 1 << 20, i);
	}
}
END_TEST

START_TEST(split_random)
{
	static const char alphabet[] = "ab\r\n\n\r \0";
	char t[2000];
	uint64_t st = 1234;
	size_t n, i, max;
	int k;

	/* Short random texts rich in CR, LF and NUL, against short maxima,
	 * so that every cut falls near a CR, a newline and the max. */
	for (k = 0; k < 3000; k++) {
		n = rnd(&st) % sizeof t;
		for (i = 0; i < n; i++) {
			if (rnd(&st) % 4)
				t[i] = (char)('c' + rnd(&st) % 20);
			else
				t[i] = alphabet[rnd(&st)
				    % (sizeof alphabet - 1)];
		}
		max = k % 3 == 0 ? rnd(&st) % 8 : rnd(&st) % 200;
		check_text(t, n, max, (uint64_t)k);
	}
}
END_TEST

START_TEST(zero_copy)
{
	static const char text[] = "one\ntwo\r\nthr";
	struct lines got = { 0 };
	struct ls_linebuf lb;

	/* Whole lines come straight from the chunk; a line completed from
	 * the held part comes from the buffer. */
	ls_linebuf_init(&lb, 100, 0);
	ls_linebuf_feed(&lb, text, sizeof text - 1, collect_cb, &got);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_ptr_eq(got.v[0].ptr, text);
	ck_assert_ptr_eq(got.v[1].ptr, text + 4);
	ck_assert_str_eq(got.v[1].data, "two");
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 3);
	ls_linebuf_feed(&lb, "ee\n", 3, collect_cb, &got);
	ck_assert_uint_eq(got.n, 3);
	ck_assert_str_eq(got.v[2].data, "three");
	ck_assert_ptr_eq(got.v[2].ptr, lb.buf);
	ck_assert_uint_eq(got.v[2].end, 15);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

START_TEST(empty_lines_skipped)
{
	static const char text[] = "\n\r\n\nx\n\n\r\ny\r\n";
	struct lines got = { 0 };
	struct ls_linebuf lb;

	ls_linebuf_init(&lb, 100, 50);
	ls_linebuf_feed(&lb, text, sizeof text - 1, collect_cb, &got);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_str_eq(got.v[0].data, "x");
	ck_assert_uint_eq(got.v[0].end, 56);
	ck_assert_str_eq(got.v[1].data, "y");
	ck_assert_uint_eq(got.v[1].end, 50 + sizeof text - 1);
	ck_assert_uint_eq(lb.offset, 50 + sizeof text - 1);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 0);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

START_TEST(max_edges)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;

	ls_linebuf_init(&lb, 4, 0);
	/* Exactly max; one over; over with the CR the only byte over. */
	ls_linebuf_feed(&lb, "abcd\nabcde\nabcd\r\n", 17, collect_cb, &got);
	/* The CR arrives in one read, dropped, and the LF in the next. */
	ls_linebuf_feed(&lb, "abcdefg\r", 8, collect_cb, &got);
	ls_linebuf_feed(&lb, "\n", 1, collect_cb, &got);
	/* The CR is kept (at max) in one read, the LF in the next. */
	ls_linebuf_feed(&lb, "abc\r", 4, collect_cb, &got);
	ls_linebuf_feed(&lb, "\n", 1, collect_cb, &got);
	ck_assert_uint_eq(got.n, 5);
	ck_assert_str_eq(got.v[0].data, "abcd");
	ck_assert_uint_eq(got.v[0].dropped, 0);
	ck_assert_str_eq(got.v[1].data, "abcd");
	ck_assert_uint_eq(got.v[1].dropped, 1);
	ck_assert_str_eq(got.v[2].data, "abcd");
	ck_assert_uint_eq(got.v[2].dropped, 0);
	ck_assert_str_eq(got.v[3].data, "abcd");
	ck_assert_uint_eq(got.v[3].dropped, 3);
	ck_assert_uint_eq(got.v[3].end, 26);
	ck_assert_str_eq(got.v[4].data, "abc");
	ck_assert_uint_eq(got.v[4].dropped, 0);
	ck_assert_uint_eq(got.v[4].end, 31);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

START_TEST(max_zero)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;

	/* Nothing is kept, but a line is still a line. */
	ls_linebuf_init(&lb, 0, 0);
	ls_linebuf_feed(&lb, "ab\n\nc", 5, collect_cb, &got);
	ls_linebuf_feed(&lb, "d\r\n", 3, collect_cb, &got);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_uint_eq(got.v[0].len, 0);
	ck_assert_uint_eq(got.v[0].dropped, 2);
	ck_assert_uint_eq(got.v[1].len, 0);
	ck_assert_uint_eq(got.v[1].dropped, 2);
	ck_assert_uint_eq(got.v[1].end, 8);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

#define BIG (50 * 1024 * 1024)
#define MAX (256 * 1024)

START_TEST(huge_line_chunked)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;
	char *chunk;
	size_t i, k, step = 65536 + 17;

	/* A 50 MB line read in 64 KiB reads, with a CRLF, then a short one:
	 * max bytes kept, the rest counted exactly, never more memory. */
	chunk = malloc(step);
	ls_linebuf_init(&lb, MAX, 0);
	for (i = 0; i < BIG; i += k) {
		k = BIG - i < step ? BIG - i : step;
		memset(chunk, 'a' + (int)(i / step % 26), k);
		ls_linebuf_feed(&lb, chunk, k, collect_cb, &got);
		if (lb.cap > MAX + 1)
			ck_abort_msg("cap %zu", lb.cap);
	}
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), BIG);
	ls_linebuf_feed(&lb, "\r\nok\n", 5, collect_cb, &got);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_uint_eq(got.v[0].len, MAX);
	ck_assert_uint_eq(got.v[0].dropped, BIG - MAX);
	ck_assert_uint_eq(got.v[0].end, BIG + 2);
	ck_assert_int_eq(got.v[0].data[0], 'a');
	ck_assert_int_eq(got.v[0].data[MAX - 1], 'a' + (MAX - 1) / step);
	ck_assert_str_eq(got.v[1].data, "ok");
	ck_assert_uint_eq(got.v[1].end, BIG + 5);
	/* The long line's buffer is given back once it is out. */
	ck_assert_uint_eq(lb.cap, 0);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
	free(chunk);
}
END_TEST

START_TEST(huge_line_one_read)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;
	char *text;

	/* The same line in one read goes out without a copy. */
	text = malloc(BIG + 1);
	memset(text, 'x', BIG);
	text[BIG] = '\n';
	ls_linebuf_init(&lb, MAX, 0);
	ls_linebuf_feed(&lb, text, BIG + 1, collect_cb, &got);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_ptr_eq(got.v[0].ptr, text);
	ck_assert_uint_eq(got.v[0].len, MAX);
	ck_assert_uint_eq(got.v[0].dropped, BIG - MAX);
	ck_assert_uint_eq(got.v[0].end, BIG + 1);
	ck_assert_uint_eq(lb.cap, 0);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
	free(text);
}
END_TEST

START_TEST(flush_partial)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;

	ls_linebuf_init(&lb, 4, 10);
	/* Nothing held: nothing emitted. */
	ls_linebuf_flush(&lb, collect_cb, &got);
	ck_assert_uint_eq(got.n, 0);
	ls_linebuf_feed(&lb, "a\nbc", 4, collect_cb, &got);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 2);
	ls_linebuf_flush(&lb, collect_cb, &got);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_str_eq(got.v[1].data, "bc");
	ck_assert_uint_eq(got.v[1].end, 14);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 0);
	/* After a flush the next bytes start a new line. */
	ls_linebuf_feed(&lb, "def\n", 4, collect_cb, &got);
	ck_assert_uint_eq(got.n, 3);
	ck_assert_str_eq(got.v[2].data, "def");
	ck_assert_uint_eq(got.v[2].end, 18);
	/* Over max, and a CR taken as half a CRLF. */
	ls_linebuf_feed(&lb, "ghijkl\r", 7, collect_cb, &got);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 7);
	ls_linebuf_flush(&lb, collect_cb, &got);
	ck_assert_uint_eq(got.n, 4);
	ck_assert_str_eq(got.v[3].data, "ghij");
	ck_assert_uint_eq(got.v[3].dropped, 2);
	ck_assert_uint_eq(got.v[3].end, 25);
	/* Its LF then ends an empty line, which is skipped. */
	ls_linebuf_feed(&lb, "\n", 1, collect_cb, &got);
	ls_linebuf_flush(&lb, collect_cb, &got);
	ck_assert_uint_eq(got.n, 4);
	ck_assert_uint_eq(lb.offset, 26);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

START_TEST(reset)
{
	struct lines got = { 0 };
	struct ls_linebuf lb;

	ls_linebuf_init(&lb, 4, 0);
	ls_linebuf_feed(&lb, "abcdefgh", 8, collect_cb, &got);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 8);
	/* Truncated: what was held is forgotten. */
	ls_linebuf_reset(&lb, 0);
	ck_assert_uint_eq(ls_linebuf_pending(&lb), 0);
	ls_linebuf_flush(&lb, collect_cb, &got);
	ck_assert_uint_eq(got.n, 0);
	ls_linebuf_feed(&lb, "xy\n", 3, collect_cb, &got);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_str_eq(got.v[0].data, "xy");
	ck_assert_uint_eq(got.v[0].dropped, 0);
	ck_assert_uint_eq(got.v[0].end, 3);
	ls_linebuf_reset(&lb, 1000);
	ls_linebuf_feed(&lb, "z\n", 2, collect_cb, &got);
	ck_assert_uint_eq(got.v[1].end, 1002);
	ls_linebuf_cleanup(&lb);
	/* Cleanup twice, and of a buffer never fed, is harmless. */
	ls_linebuf_cleanup(&lb);
	ls_linebuf_init(&lb, 4, 0);
	ls_linebuf_cleanup(&lb);
	lines_free(&got);
}
END_TEST

static Suite *
linebuf_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("linebuf");

	tc = tcase_create("split");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, split_fixed);
	tcase_add_test(tc, split_random);
	tcase_add_test(tc, zero_copy);
	tcase_add_test(tc, empty_lines_skipped);
	suite_add_tcase(s, tc);

	tc = tcase_create("max");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, max_edges);
	tcase_add_test(tc, max_zero);
	tcase_add_test(tc, huge_line_chunked);
	tcase_add_test(tc, huge_line_one_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("flush");
	tcase_add_test(tc, flush_partial);
	tcase_add_test(tc, reset);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(linebuf_suite());
}
