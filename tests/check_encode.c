/*
 * check_encode: the JSON escaper and batch bodies.
 *
 * Whatever bytes a log line holds, the body must be valid JSON: every
 * output here is parsed back with jansson, and the message it decodes to is
 * compared with a reference sanitiser written independently of
 * encode.c (it decodes code points and checks their ranges, where encode.c
 * checks byte ranges).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "encode.h"
#include "record.h"
#include "testutil.h"

/* The wire form of the marker, written out here (not LS_TRUNC_MARK_FMT),
 * so that a change to it is a change to this test too. */
#define MARKF " [logshipd: truncated %zu bytes]"
#define PAD64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* Escapes s[0..len) and returns the JSON string it decodes to (NUL
 * allowed), failing the test if it is not valid JSON. */
static json_t *
escape_parse(const char *s, size_t len)
{
	struct ls_buf b;
	json_error_t err;
	json_t *j;

	ls_buf_init(&b);
	ls_json_escape(&b, s, len);
	j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	/* Plain ifs on the hot paths: a passing ck_assert costs a write to
	 * Check's log, and these run a hundred thousand times. */
	if (j == NULL || !json_is_string(j))
		ck_abort_msg(
		    "invalid JSON (%s): %.*s", err.text, (int)b.len, b.data);
	ls_buf_cleanup(&b);
	return j;
}

/* The escaped form of a NUL-terminated string, to compare exactly. */
static void
check_escape(const char *in, size_t len, const char *want)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_json_escape(&b, in, len);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_msg(
	    memcmp(b.data, want, b.len) == 0, "got %s want %s", b.data, want);
	ls_buf_cleanup(&b);
}

/*
 * Reference: what the decoded message must be. Each maximal well-formed
 * sequence (decoded to a code point, then range-checked) is kept; any byte
 * that starts none is U+FFFD.
 */
static size_t
ref_sanitize(const unsigned char *p, size_t len, unsigned char *out)
{
	size_t i = 0, o = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			out[o++] = p[i++];
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else {
			n = 0;
			cp = min = 0;
		}
		for (k = 1; n > 0 && k < n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				n = 0;
			else
				cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (n == 0 || cp < min || cp > 0x10ffff
		    || (cp >= 0xd800 && cp <= 0xdfff)) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	return o;
}

/* Escapes, parses back and compares with the reference. */
static void
check_round_trip(const char *s, size_t len)
{
	unsigned char *want;
	size_t wlen;
	json_t *j;

	want = malloc(len * 3 + 1);
	wlen = ref_sanitize((const unsigned char *)s, len, want);
	j = escape_parse(s, len);
	if (json_string_length(j) != wlen
	    || memcmp(json_string_value(j), want, wlen) != 0)
		ck_abort_msg("decoded message differs from the reference");
	json_decref(j);
	free(want);
}

/* The log's form: unquoted, quotes and backslashes kept, cut only between
 * whole characters and whole escapes. */
START_TEST(text_escape_bounded)
{
	char out[64];

	ck_assert_uint_eq(
	    ls_text_escape(out, sizeof out, "a\"b\\c\n\x1b", 7), 13);
	ck_assert_str_eq(out, "a\"b\\c\\n\\u001b");
	/* Room for "ab" and "\n", not for "c". */
	ck_assert_uint_eq(ls_text_escape(out, 5, "ab\ncd", 5), 4);
	ck_assert_str_eq(out, "ab\\n");
	/* Room for "ab" and half of "\n": neither half is written. */
	ck_assert_uint_eq(ls_text_escape(out, 4, "ab\ncd", 5), 2);
	ck_assert_str_eq(out, "ab");
	/* An é (two bytes) does not fit in one byte of room. */
	ck_assert_uint_eq(ls_text_escape(out, 3, "a\xc3\xa9", 3), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(ls_text_escape(out, 1, "abc", 3), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(ls_text_escape(out, sizeof out, "\xff", 1), 3);
	ck_assert_str_eq(out, "\xef\xbf\xbd");
}
END_TEST

START_TEST(escape_short)
{
	check_escape("", 0, "\"\"");
	check_escape("plain text", 10, "\"plain text\"");
	check_escape("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
	check_escape("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	check_escape("\x00\x01\x1f\x7f", 4, "\"\\u0000\\u0001\\u001f\\u007f\"");
	check_escape("x\x1b[31mred", 9, "\"x\\u001b[31mred\"");
}
END_TEST

START_TEST(escape_utf8_valid)
{
	static const char *const ok[] = {
		"h\xc3\xa9llo", /* é */
		"\xe2\x82\xac", /* € */
		"\xf0\x9d\x84\x9e", /* 𝄞 */
		"\xc2\x80", /* U+0080, the first two-byte */
		"\xdf\xbf", /* U+07FF */
		"\xe0\xa0\x80", /* U+0800 */
		"\xed\x9f\xbf", /* U+D7FF, below the surrogates */
		"\xee\x80\x80", /* U+E000, above them */
		"\xef\xbf\xbf", /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000 */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
		"\xef\xbb\xbf" /* BOM */,
	};
	size_t i;
	char want[64];

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(want, sizeof want, "\"%s\"", ok[i]);
		check_escape(ok[i], strlen(ok[i]), want);
		check_round_trip(ok[i], strlen(ok[i]));
	}
}
END_TEST

#define R "\xef\xbf\xbd"

START_TEST(escape_utf8_invalid)
{
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
		{ "\x80", "\"" R "\"" }, /* lone continuation */
		{ "\xbf"
		  "x",
		    "\"" R "x\"" },
		{ "\xc0\x80", "\"" R R "\"" }, /* overlong NUL */
		{ "\xc1\xbf", "\"" R R "\"" }, /* overlong */
		{ "\xe0\x80\x80", "\"" R R R "\"" }, /* overlong */
		{ "\xe0\x9f\xbf", "\"" R R R "\"" }, /* overlong */
		{ "\xf0\x80\x80\x80", "\"" R R R R "\"" }, /* overlong */
		{ "\xf0\x8f\xbf\xbf", "\"" R R R R "\"" }, /* overlong */
		{ "\xed\xa0\x80", "\"" R R R "\"" }, /* U+D800 */
		{ "\xed\xbf\xbf", "\"" R R R "\"" }, /* U+DFFF */
		{ "\xf4\x90\x80\x80", "\"" R R R R "\"" }, /* U+110000 */
		{ "\xf5\x80\x80\x80", "\"" R R R R "\"" },
		{ "\xf8\x88\x80\x80\x80", "\"" R R R R R "\"" },
		{ "\xfe\xff", "\"" R R "\"" },
		{ "\xe2\x82", "\"" R R "\"" }, /* cut at the end */
		{ "\xe2\x82x", "\"" R R "x\"" }, /* cut in the middle */
		{ "\xf0\x9d\x84", "\"" R R R "\"" },
		{ "a\xc3", "\"a" R "\"" },
		{ "\xc3\xc3\xa9", "\"" R "\xc3\xa9\"" }, /* resyncs */
		{ "\xe2\x82\xac\x80\xe2\x82\xac",
		    "\"\xe2\x82\xac" R "\xe2\x82\xac\"" },
	};
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		check_escape(rows[i].in, strlen(rows[i].in), rows[i].want);
		check_round_trip(rows[i].in, strlen(rows[i].in));
	}
}
END_TEST

START_TEST(escape_every_byte)
{
	char all[256];
	char pair[2];
	json_t *j;
	int c, d;

	/* Each byte alone... */
	for (c = 0; c < 256; c++) {
		all[c] = (char)c;
		j = escape_parse(all + c, 1);
		if (c < 0x80) {
			ck_assert_uint_eq(json_string_length(j), 1);
			ck_assert_int_eq(
			    (unsigned char)json_string_value(j)[0], c);
		} else
			ck_assert_str_eq(json_string_value(j), R);
		json_decref(j);
	}
	/* ...all of them together... */
	check_round_trip(all, sizeof all);
	/* ...and every pair. */
	for (c = 0; c < 256; c++) {
		for (d = 0; d < 256; d++) {
			pair[0] = (char)c;
			pair[1] = (char)d;
			check_round_trip(pair, 2);
		}
	}
}
END_TEST

/*
 * The escaper skips sixteen plain bytes at a time (plain_prefix()). Every
 * byte value, at every position of two blocks, among plain bytes that sit
 * next to the special ones ('"' is 0x22, '\\' 0x5c, DEL 0x7f, controls
 * below 0x20): a block that holds one must never be copied as plain.
 */
START_TEST(plain_blocks)
{
	static const unsigned char fill[]
	    = { 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7e, 'a' };
	unsigned char line[40];
	size_t f, k;
	int c;

	for (f = 0; f < sizeof fill; f++) {
		for (c = 0; c < 256; c++) {
			for (k = 0; k < 32; k++) {
				memset(line, fill[f], sizeof line);
				line[k] = (unsigned char)c;
				check_round_trip(
				    (const char *)line, sizeof line);
			}
		}
	}
	/* And a plain line escapes to itself. */
	check_escape("0123456789abcdefghij klmnop", 27,
	    "\"0123456789abcdefghij klmnop\"");
}
END_TEST

/* A small fixed-seed generator, so a failure reproduces. */
static uint32_t
rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*state >> 33);
}

START_TEST(escape_fuzz)
{
	static const unsigned char pick[] = { 0x00, 0x0a, 0x22, 0x5c, 0x7f,
		0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef,
		0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff };
	uint64_t st = 42;
	char line[512];
	size_t len, i;
	int k;
	uint32_t r;

	for (k = 0; k < 20000; k++) {
		len = rnd(&st) % sizeof line;
		for (i = 0; i < len; i++) {
			r = rnd(&st);
			/* Mix plain bytes, any bytes, and the bytes that sit
			 * on UTF-8's range edges, so that valid multi-byte
			 * sequences occur often. */
			switch (r % 4) {
			case 0:
				line[i] = (char)(0x20 + (r >> 8) % 0x5f);
				break;
			case 1:
				line[i] = (char)(r >> 8);
				break;
			case 2:
				line[i] = (char)pick[(r >> 8) % sizeof pick];
				break;
			default:
				line[i] = (char)(0x80 + (r >> 8) % 0x40);
				break;
			}
		}
		check_round_trip(line, len);
	}
}
END_TEST

START_TEST(escape_appends)
{
	struct ls_buf b;

	/* It appends; it does not replace. */
	ls_buf_init(&b);
	ls_buf_append(&b, "x=", 2);
	ls_json_escape(&b, "y", 1);
	ck_assert_str_eq(b.data, "x=\"y\"");
	ls_buf_cleanup(&b);
}
END_TEST

static struct ls_conf_source src_full = {
	.name = "app",
	.service = "svc",
	.ddsource = "nginx",
	.ddtags = "env:prod,team:\"x\"",
};
static struct ls_conf_source src_bare = { .name = "bare" };

/* A record of src's, with src's labels interned as conf.c does. */
static struct ls_record *
rec(struct ls_conf_source *src, const char *msg, size_t len,
    enum ls_severity sev, int64_t ms)
{
	src->labels
	    = ls_labels_intern(src->service, src->ddsource, src->ddtags);
	return ls_record_new(src, NULL, msg, len, sev, 0, ms);
}

START_TEST(batch_exact)
{
	struct ls_record *r[2];
	struct ls_buf b;

	r[0] = rec(&src_full, "hello", 5, LS_SEV_ERROR, 1700000000123);
	r[1] = rec(&src_bare, "a\tb", 3, LS_SEV_DEBUG, 0);
	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_JSON, "h1", r, 2, 0, 0);
	ck_assert_str_eq(b.data,
	    "[{\"message\":\"hello\",\"status\":\"error\","
	    "\"timestamp\":1700000000123,\"hostname\":\"h1\","
	    "\"service\":\"svc\",\"ddsource\":\"nginx\","
	    "\"ddtags\":\"env:prod,team:\\\"x\\\"\"},"
	    "{\"message\":\"a\\tb\",\"status\":\"debug\","
	    "\"timestamp\":0,\"hostname\":\"h1\"}]");
	ls_buf_reset(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h1", r + 1, 1, 0, 0);
	ck_assert_str_eq(b.data,
	    "{\"message\":\"a\\tb\",\"status\":\"debug\","
	    "\"timestamp\":0,\"hostname\":\"h1\"}\n");
	ls_buf_cleanup(&b);
	ls_record_unref(r[0]);
	ls_record_unref(r[1]);
}
END_TEST

START_TEST(batch_empty)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_JSON, "h", NULL, 0, 0, 0);
	ck_assert_str_eq(b.data, "[]");
	ls_buf_reset(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", NULL, 0, 0, 0);
	ck_assert_uint_eq(b.len, 0);
	ls_buf_cleanup(&b);
}
END_TEST

START_TEST(batch_no_hostname)
{
	struct ls_record *r;
	struct ls_buf b;

	r = rec(&src_bare, "m", 1, LS_SEV_INFO, -5);
	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_JSON, NULL, &r, 1, 0, 0);
	ck_assert_str_eq(b.data,
	    "[{\"message\":\"m\",\"status\":\"info\",\"timestamp\":-5}]");
	ls_buf_cleanup(&b);
	ls_record_unref(r);
}
END_TEST

START_TEST(batch_timestamps)
{
	static const int64_t ts[]
	    = { 0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1764756000123,
		      1700000000000, INT64_MAX, -1, -10, -99, -100, INT64_MIN };
	struct ls_record *r;
	struct ls_buf b;
	json_t *j;
	size_t i;

	ls_buf_init(&b);
	for (i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		r = rec(&src_bare, "m", 1, LS_SEV_INFO, ts[i]);
		ls_buf_reset(&b);
		ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, 0, 0);
		ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
		ck_assert(json_integer_value(json_object_get(j, "timestamp"))
		    == ts[i]);
		json_decref(j);
		ls_record_unref(r);
	}
	ls_buf_cleanup(&b);
}
END_TEST

/* Random records, any bytes, both formats: every object parses and
 * carries the reference message and the right fields. */
START_TEST(batch_round_trip)
{
	enum { N = 200 };
	struct ls_record *r[N];
	unsigned char want[3 * 300];
	char line[300];
	struct ls_buf b;
	json_t *j, *o;
	json_error_t err;
	uint64_t st = 7;
	size_t i, k, len, wlen;
	const char *p, *nl;
	int fmt;

	for (i = 0; i < N; i++) {
		len = rnd(&st) % sizeof line;
		for (k = 0; k < len; k++)
			line[k] = (char)(rnd(&st) % 3 ? 0x20 + rnd(&st) % 0x60
						      : rnd(&st));
		r[i] = rec(i % 2 ? &src_full : &src_bare, line, len,
		    (enum ls_severity)(i % LS_SEV_COUNT), (int64_t)i * 1000);
	}
	ls_buf_init(&b);
	for (fmt = 0; fmt < 2; fmt++) {
		ls_buf_reset(&b);
		ls_encode_batch(
		    &b, (enum ls_format)fmt, "host-\xff", r, N, 0, 0);
		j = NULL;
		if (fmt == LS_FORMAT_JSON) {
			j = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &err);
			ck_assert_msg(j != NULL, "%s", err.text);
			ck_assert_uint_eq(json_array_size(j), N);
		} else
			ck_assert(b.len > 0 && b.data[b.len - 1] == '\n');
		p = b.data;
		for (i = 0; i < N; i++) {
			if (fmt == LS_FORMAT_JSON)
				o = json_incref(json_array_get(j, i));
			else {
				nl = memchr(
				    p, '\n', b.len - (size_t)(p - b.data));
				ck_assert_ptr_nonnull(nl);
				o = json_loadb(
				    p, (size_t)(nl - p), JSON_ALLOW_NUL, &err);
				ck_assert_msg(o != NULL, "%s", err.text);
				p = nl + 1;
			}
			ck_assert(json_is_object(o));
			wlen = ref_sanitize(
			    (const unsigned char *)r[i]->msg, r[i]->len, want);
			ck_assert_uint_eq(
			    json_string_length(json_object_get(o, "message")),
			    wlen);
			ck_assert(memcmp(json_string_value(
					     json_object_get(o, "message")),
				      want, wlen)
			    == 0);
			ck_assert_str_eq(
			    json_string_value(json_object_get(o, "status")),
			    ls_severity_name((enum ls_severity)r[i]->severity));
			ck_assert_str_eq(
			    json_string_value(json_object_get(o, "hostname")),
			    "host-" R);
			ck_assert(
			    json_integer_value(json_object_get(o, "timestamp"))
			    == (json_int_t)i * 1000);
			if (i % 2) {
				ck_assert_str_eq(
				    json_string_value(
					json_object_get(o, "ddtags")),
				    src_full.ddtags);
				ck_assert_uint_eq(json_object_size(o), 7);
			} else
				ck_assert_uint_eq(json_object_size(o), 4);
			json_decref(o);
		}
		if (fmt == LS_FORMAT_NDJSON)
			ck_assert(p == b.data + b.len);
		json_decref(j);
	}
	ls_buf_cleanup(&b);
	for (i = 0; i < N; i++)
		ls_record_unref(r[i]);
}
END_TEST

/* The message of a one-record batch, decoded. */
static char *
encoded_message(const char *msg, size_t len, size_t max_msg)
{
	struct ls_record *r;
	struct ls_buf b;
	json_t *j;
	char *m;

	r = rec(&src_bare, msg, len, LS_SEV_INFO, 0);
	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, max_msg, 0);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	m = strdup(json_string_value(json_object_get(j, "message")));
	json_decref(j);
	ls_buf_cleanup(&b);
	ls_record_unref(r);
	return m;
}

/* prefix and the marker for n bytes left out (a static buffer). */
static const char *
marked(const char *prefix, size_t n)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "%s" MARKF, prefix, n);
	return buf;
}

/* The marker's length for n. */
static size_t
ml(size_t n)
{
	return strlen(marked("", n));
}

/* max_msg bounds the message as sent: escaped, marker included. */
START_TEST(truncate_ascii)
{
	char *m;

	m = encoded_message("0123456789abcdef" PAD64, 80, ml(70) + 10);
	ck_assert_str_eq(m, marked("0123456789", 70));
	free(m);
	/* Below the marker's length: the marker alone, longer than the
	 * bound (logshipd.yaml(5): max_entry_bytes). */
	m = encoded_message("0123456789abcdef" PAD64, 80, 5);
	ck_assert_str_eq(m, marked("", 80));
	free(m);
	/* At or under the limit: untouched. */
	m = encoded_message("0123456789", 10, 10);
	ck_assert_str_eq(m, "0123456789");
	free(m);
	m = encoded_message("0123456789", 10, 0);
	ck_assert_str_eq(m, "0123456789");
	free(m);
	/* The limit is on escaped bytes: a quote takes two. */
	m = encoded_message("\"\"\"\"\"\"", 6, 12);
	ck_assert_str_eq(m, "\"\"\"\"\"\"");
	free(m);
	/* No room even for the marker: the marker alone. */
	m = encoded_message("\"\"\"\"\"\"", 6, 11);
	ck_assert_str_eq(m, marked("", 6));
	free(m);
	m = encoded_message("\"\"\"\"\"\"\"\"\"\"" PAD64, 74, ml(71) + 7);
	ck_assert_str_eq(m, marked("\"\"\"", 71));
	free(m);
	/* A control byte takes six (\u0001): none is split. */
	m = encoded_message("\x01\x01\x01\x01\x01\x01\x01\x01", 8, ml(6) + 17);
	ck_assert_str_eq(m, marked("\x01\x01", 6));
	free(m);
}
END_TEST

START_TEST(truncate_utf8_boundary)
{
	/* a, é (2), € (3), 𝄞 (4), a: boundaries at 0 1 3 6 10 11; then
	 * enough to be cut whatever the limit below. */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"
				"a" PAD64;
	static const size_t cut[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10 };
	size_t max, n, left;
	char *m;

	for (max = 1; max <= 10; max++) {
		left = sizeof s - 1 - cut[max];
		m = encoded_message(s, sizeof s - 1, ml(left) + max);
		n = strlen(m);
		ck_assert_msg(n == cut[max] + ml(left), "max %zu", max);
		ck_assert(memcmp(m, s, cut[max]) == 0);
		ck_assert_str_eq(m + cut[max], marked("", left));
		ck_assert(strstr(m, R) == NULL);
		free(m);
	}
}
END_TEST

START_TEST(truncate_invalid)
{
	char *m;

	/* Continuation bytes with no start split no character: each is
	 * U+FFFD (three bytes), and the cut takes as many as fit. */
	m = encoded_message("\x80\x80\x80\x80\x80\x80" PAD64, 70, ml(69) + 5);
	ck_assert_str_eq(m, marked(R, 69));
	free(m);
	m = encoded_message("\x80\x80\x80\x80\x80\x80" PAD64, 70, ml(65) + 15);
	ck_assert_str_eq(m, marked(R R R R R, 65));
	free(m);
}
END_TEST

/* Found by fuzz_encode (tests/fuzz/corpus/fuzz_encode/cut_stray_cont):
 * a cut after stray continuation bytes must not split the character
 * before them. */
START_TEST(truncate_stray_continuation)
{
	char *m;

	/* R R \b R (2-byte char) R R R: 3+3+2+3+2+3+3+3 = 22 escaped. */
	m = encoded_message(
	    "\xa7\xa8\x08\xa4\xdb\xb9\xb9\xb9\xb9" PAD64, 73, ml(65) + 19);
	ck_assert_str_eq(m, marked(R R "\x08" R "\xdb\xb9" R R, 65));
	free(m);
	/* U+1F600 and one stray byte, cut just before the stray. */
	m = encoded_message("\xf0\x9f\x98\x80\x80" PAD64, 69, ml(65) + 4);
	ck_assert_str_eq(m, marked("\xf0\x9f\x98\x80", 65));
	free(m);
	/* The same, with room for part of the character: all of it goes. */
	m = encoded_message("a\xf0\x9f\x98\x80\x80" PAD64, 70, ml(69) + 4);
	ck_assert_str_eq(m, marked("a", 69));
	free(m);
}
END_TEST

/* Issue 16.5: a 1 MB line of control bytes (six bytes each once escaped)
 * is cut to what fits in max_msg escaped, not to max_msg raw bytes (6 MB
 * sent) nor to a half of it; the marker counts the bytes left out. */
START_TEST(truncate_escaped_bound)
{
	struct ls_record *r;
	struct ls_buf b;
	const char *start, *end, *m;
	size_t len = 1000000, max = 900000, sent, n, body, left = 0;
	char *line;
	json_t *j;

	ck_assert_ptr_nonnull(line = malloc(len));
	for (n = 0; n < len; n++)
		line[n] = n % 3 == 0 ? 'a' : '\x01';
	r = rec(&src_bare, line, len, LS_SEV_INFO, 0);
	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, max, 0);
	start = strstr(b.data, "{\"message\":\"") + 12;
	end = strstr(start, " bytes]\",");
	ck_assert_ptr_nonnull(end);
	sent = (size_t)(end - start) + 7;
	/* Within the bound, and no unit more would have fitted. */
	ck_assert_uint_le(sent, max);
	ck_assert_uint_gt(sent + 6, max);
	ck_assert_uint_eq(ls_encode_message_len(r), len / 3 * 13 + 1);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	m = json_string_value(json_object_get(j, "message"));
	body = ls_trunc_mark_find(m, strlen(m), &left);
	ck_assert_uint_lt(body, strlen(m));
	ck_assert_uint_eq(left, len - body);
	ck_assert(memcmp(m, line, body) == 0);
	json_decref(j);
	ls_buf_cleanup(&b);
	ls_record_unref(r);
	free(line);
}
END_TEST

#define X28 "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* A message cut at reading (LS_REC_TRUNCATED, the marker at its end) and
 * cut again at encoding keeps one marker, which counts the bytes both
 * cuts left out; an entry that merely ends with the marker's text is not
 * taken for one that was cut. */
START_TEST(mark_cut_twice)
{
	struct ls_record *r;
	struct ls_buf b, msg;
	json_t *j;
	const char *m;

	ls_buf_init(&msg);
	ls_buf_append(&msg, PAD64 PAD64, 128);
	ck_assert_uint_eq(ls_trunc_mark(&msg, 5000), ml(5000));
	r = rec(&src_bare, msg.data, msg.len, LS_SEV_INFO, 0);
	r->flags |= LS_REC_TRUNCATED;
	ls_buf_init(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, ml(5100) + 28, 0);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	m = json_string_value(json_object_get(j, "message"));
	ck_assert_str_eq(m, marked(X28, 5100));
	json_decref(j);
	ls_record_unref(r);
	/* The same text in a line that was not cut: its "marker" is text,
	 * cut like any other, and the count is of this cut alone. */
	r = rec(&src_bare, msg.data, msg.len, LS_SEV_INFO, 0);
	ls_buf_reset(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, "h", &r, 1, ml(100) + 28, 0);
	ck_assert_ptr_nonnull(j = json_loadb(b.data, b.len, 0, NULL));
	m = json_string_value(json_object_get(j, "message"));
	ck_assert_str_eq(m, marked(X28, msg.len - 28));
	json_decref(j);
	ls_record_unref(r);
	ls_buf_cleanup(&b);
	ls_buf_cleanup(&msg);
}
END_TEST

/* The marker: its one form, its length, and reading it back. */
START_TEST(mark_form)
{
	static const size_t ns[] = { 0, 9, 10, 12345, SIZE_MAX };
	static const char *const not_marks[] = {
		"",
		" bytes]",
		" [logshipd: truncated  bytes]",
		" [logshipd: truncated x bytes]",
		"[logshipd: truncated 5 bytes]",
		" [logshipd: truncated 5 bytes] ",
		" [logshipd: truncated 5 byte]",
		" [logshipd: truncated 12345678901234567890 bytes]",
		"...[truncated by logshipd]",
	};
	struct ls_buf b;
	size_t i, n, at;

	ls_buf_init(&b);
	ck_assert_uint_eq(ls_trunc_mark(&b, 12), 31);
	ck_assert_str_eq(b.data, " [logshipd: truncated 12 bytes]");
	for (i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		ls_buf_reset(&b);
		ls_buf_append(&b, "text", 4);
		at = b.len;
		ck_assert_uint_eq(ls_trunc_mark(&b, ns[i]), b.len - at);
		ck_assert_uint_eq(ls_trunc_mark_len(ns[i]), b.len - at);
		ck_assert_str_eq(b.data + at, marked("", ns[i]));
		n = 7;
		if (ns[i] < 10000000000000000000u) {
			ck_assert_uint_eq(
			    ls_trunc_mark_find(b.data, b.len, &n), 4);
			ck_assert_uint_eq(n, ns[i]);
		} else
			/* 20 digits: not read back (nor ever written: no
			 * line is that long). */
			ck_assert_uint_eq(
			    ls_trunc_mark_find(b.data, b.len, &n), b.len);
	}
	for (i = 0; i < sizeof not_marks / sizeof not_marks[0]; i++) {
		n = 7;
		ck_assert_uint_eq(
		    ls_trunc_mark_find(not_marks[i], strlen(not_marks[i]), &n),
		    strlen(not_marks[i]));
		ck_assert_uint_eq(n, 7);
	}
	ls_buf_cleanup(&b);
}
END_TEST

/* A cut by byte count leaves no character begun and not finished. */
START_TEST(mark_utf8_whole)
{
	static const struct {
		const char *s;
		size_t whole;
	} rows[] = {
		{ "", 0 },
		{ "abc", 3 },
		{ "a\xc3\xa9", 3 }, /* é whole */
		{ "a\xc3", 1 }, /* é begun */
		{ "a\xe2\x82\xac", 4 }, /* € whole */
		{ "a\xe2\x82", 1 },
		{ "a\xe2", 1 },
		{ "a\xf0\x9d\x84\x9e", 5 }, /* 𝄞 whole */
		{ "a\xf0\x9d\x84", 1 },
		{ "a\xf0\x9d", 1 },
		{ "a\xf0", 1 },
		{ "a\x80\x80", 3 }, /* strays: no character begun */
		{ "a\x80\x80\x80\x80", 5 },
		{ "a\xff", 2 }, /* starts none */
		{ "a\xc0", 2 },
		{ "\xc3", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		ck_assert_msg(ls_utf8_whole(rows[i].s, strlen(rows[i].s))
			== rows[i].whole,
		    "row %zu", i);
}
END_TEST

START_TEST(estimate_bounds)
{
	struct ls_record *r;
	struct ls_buf b;
	char line[4096];
	size_t len, est, k;
	uint64_t st = 3;
	int src;

	ls_buf_init(&b);
	for (len = 0; len < sizeof line; len += 1 + len / 4) {
		/* Typical ASCII with a few quotes, one byte in sixteen. */
		for (k = 0; k < len; k++)
			line[k] = rnd(&st) % 16 ? 'a' + rnd(&st) % 26 : '"';
		for (src = 0; src < 2; src++) {
			r = rec(src ? &src_full : &src_bare, line, len,
			    LS_SEV_EMERGENCY, INT64_MIN);
			ls_buf_reset(&b);
			ls_encode_batch(
			    &b, LS_FORMAT_JSON, "host.example", &r, 1, 0, 0);
			est = ls_encode_estimate(
			    r, ls_encode_host_len("host.example"));
			ck_assert_msg(est >= b.len, "len %zu: est %zu < %zu",
			    len, est, b.len);
			ck_assert_msg(est <= len + len / 8 + 250,
			    "len %zu: est %zu", len, est);
			ls_record_unref(r);
		}
	}
	ls_buf_cleanup(&b);
}
END_TEST

static Suite *
encode_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("encode");

	tc = tcase_create("escape");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, escape_short);
	tcase_add_test(tc, escape_utf8_valid);
	tcase_add_test(tc, escape_utf8_invalid);
	tcase_add_test(tc, escape_every_byte);
	tcase_add_test(tc, plain_blocks);
	tcase_add_test(tc, escape_fuzz);
	tcase_add_test(tc, escape_appends);
	tcase_add_test(tc, text_escape_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("batch");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, batch_exact);
	tcase_add_test(tc, batch_empty);
	tcase_add_test(tc, batch_no_hostname);
	tcase_add_test(tc, batch_timestamps);
	tcase_add_test(tc, batch_round_trip);
	tcase_add_test(tc, estimate_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncate");
	tcase_add_test(tc, truncate_ascii);
	tcase_add_test(tc, truncate_utf8_boundary);
	tcase_add_test(tc, truncate_invalid);
	tcase_add_test(tc, truncate_stray_continuation);
	tcase_add_test(tc, truncate_escaped_bound);
	tcase_add_test(tc, mark_cut_twice);
	tcase_add_test(tc, mark_form);
	tcase_add_test(tc, mark_utf8_whole);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(encode_suite());
}
