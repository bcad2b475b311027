/*
 * check_compress: gzip (libdeflate) and zstd bodies decode, with zlib and
 * libzstd, to exactly their input, for sizes from empty to 1 MiB of
 * incompressible bytes; a realistic batch shrinks; a bad level is refused.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"
#include "encode.h"
#include "record.h"
#include "testutil.h"

static uint32_t
rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*state >> 33);
}

/* Inflates a gzip stream; returns its length into out, or -1. */
static long
gunzip(const void *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof zs);
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	/* The whole input must be one complete stream. */
	if (rc != Z_STREAM_END || zs.avail_in != 0)
		return -1;
	return (long)zs.total_out;
}

static long
unzstd(const void *in, size_t len, unsigned char *out, size_t cap)
{
	size_t n = ZSTD_decompress(out, cap, in, len);

	return ZSTD_isError(n) ? -1 : (long)n;
}

static const struct {
	enum ls_compression kind;
	int levels[3];
	long (*decode)(const void *, size_t, unsigned char *, size_t);
	unsigned char magic[2];
} kinds[] = {
	{ LS_COMPRESS_GZIP, { 1, 6, 12 }, gunzip, { 0x1f, 0x8b } },
	{ LS_COMPRESS_ZSTD, { 1, 6, 19 }, unzstd, { 0x28, 0xb5 } },
};

/* _i: 2 bits, the kind and whether the input is random. */
START_TEST(round_trip)
{
	static const size_t sizes[] = { 0, 1, 100, 65536, 1 << 20 };
	const int k = _i / 2, random = _i % 2;
	struct ls_compressor *c;
	unsigned char *in, *back;
	struct ls_buf out;
	uint64_t st = 9;
	size_t i, j, l;

	in = malloc(1 << 20);
	back = malloc((1 << 20) + 1);
	ls_buf_init(&out);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		/* Random bytes are incompressible: the output outgrows any
		 * guess but the library's bound. */
		for (j = 0; j < sizes[i]; j++)
			in[j]
			    = (unsigned char)(random ? rnd(&st) : 'a' + j % 7);
		for (l = 0; l < 3; l++) {
			c = ls_compressor_new(
			    kinds[k].kind, kinds[k].levels[l]);
			ck_assert_ptr_nonnull(c);
			ls_buf_append(&out, "junk", 4);
			ck_assert_int_eq(ls_compress(c, &out, in, sizes[i]), 0);
			ck_assert_uint_ge(out.len, 4);
			ck_assert_int_eq(
			    (unsigned char)out.data[0], kinds[k].magic[0]);
			ck_assert_int_eq(
			    (unsigned char)out.data[1], kinds[k].magic[1]);
			ck_assert_int_eq(kinds[k].decode(out.data, out.len,
					     back, (1 << 20) + 1),
			    (long)sizes[i]);
			ck_assert(memcmp(back, in, sizes[i]) == 0);
			/* Again with the same compressor: it is reusable. */
			ck_assert_int_eq(ls_compress(c, &out, in, sizes[i]), 0);
			ck_assert_int_eq(kinds[k].decode(out.data, out.len,
					     back, (1 << 20) + 1),
			    (long)sizes[i]);
			ls_compressor_free(c);
		}
	}
	ls_buf_cleanup(&out);
	free(in);
	free(back);
}
END_TEST

START_TEST(batch_shrinks)
{
	static struct ls_conf_source src = { .name = "app" };
	struct ls_compressor *c;
	struct ls_buf body, out;
	struct ls_record *r[100];
	size_t i;

	for (i = 0; i < 100; i++)
		r[i] = ls_record_new(&src, NULL, "GET /api/v1/items 200 12ms",
		    26, LS_SEV_INFO, 0, 1700000000000 + (int64_t)i);
	ls_buf_init(&body);
	ls_buf_init(&out);
	ls_encode_batch(&body, LS_FORMAT_JSON, "h", r, 100, 0, 0);
	c = ls_compressor_new(kinds[_i].kind, 6);
	ck_assert_int_eq(ls_compress(c, &out, body.data, body.len), 0);
	ck_assert_uint_lt(out.len, body.len / 5);
	ls_compressor_free(c);
	ls_buf_cleanup(&body);
	ls_buf_cleanup(&out);
	for (i = 0; i < 100; i++)
		ls_record_unref(r[i]);
}
END_TEST

START_TEST(bad_level_and_none)
{
	ck_assert_ptr_null(ls_compressor_new(LS_COMPRESS_GZIP, 0));
	ck_assert_ptr_null(ls_compressor_new(LS_COMPRESS_GZIP, 13));
	ck_assert_ptr_null(ls_compressor_new(LS_COMPRESS_ZSTD, 1000));
	ck_assert_ptr_null(ls_compressor_new(LS_COMPRESS_NONE, 6));
	ck_assert_str_eq(ls_compression_encoding(LS_COMPRESS_GZIP), "gzip");
	ck_assert_str_eq(ls_compression_encoding(LS_COMPRESS_ZSTD), "zstd");
	ck_assert_ptr_null(ls_compression_encoding(LS_COMPRESS_NONE));
}
END_TEST

static Suite *
compress_suite(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("compress");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, round_trip, 0, 4);
	tcase_add_loop_test(tc, batch_shrinks, 0, 2);
	tcase_add_test(tc, bad_level_and_none);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(compress_suite());
}
