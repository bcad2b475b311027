/*
 * encode: see encode.h.
 *
 * Every byte of every message passes through escape_body(), so it is
 * written as a loop over runs: a run of bytes that may be copied as they
 * are goes out with one append, and only the bytes between runs (quotes,
 * controls, non-ASCII) take the slow path. A run is found sixteen bytes at
 * a time (plain_prefix(), a few vector instructions) and, in the last
 * block, with a class table.
 * Non-ASCII is checked against the strict UTF-8 grammar (RFC 3629, Unicode
 * table 3-7: no overlongs, no surrogates, nothing past U+10FFFF), and a
 * valid sequence joins the run; every byte that starts no valid sequence
 * becomes U+FFFD on its own, so a cut or binary line never eats the bytes
 * after it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "log.h"
#include "timestamp.h"

/* Byte classes for escaping. */
#define E_SAFE 0 /* copied as is */
#define E_ESC 1 /* '"', '\\', controls, DEL: escaped */
#define E_UTF8 2 /* 0x80-0xff: checked as UTF-8 */

/* clang-format off */
static const uint8_t ecls[256] = {
	/* 0x00-0x1f */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x20-0x7f */
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	/* 0x80-0xff */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

/* Sixteen bytes as signed chars: GCC's and clang's vector extension, which
 * compiles to SSE2 on x86-64 and NEON on arm64 and to plain integer code
 * elsewhere. */
typedef signed char v16 __attribute__((vector_size(16)));

/*
 * How many of the sixteen bytes at p, from the first, are E_SAFE (16: all).
 * As signed chars, 0x80 and up are negative, so one comparison (< 0x20)
 * finds controls and non-ASCII together; then '"', '\\' and DEL. Checked
 * against the class table for every byte value at every position in
 * check_encode.c (plain_blocks).
 */
static inline size_t
plain_prefix(const unsigned char *p)
{
	v16 v, bad;
	uint64_t half[2];

	memcpy(&v, p, sizeof v);
	bad = (v < 0x20) | (v == '"') | (v == '\\') | (v == 0x7f);
	memcpy(half, &bad, sizeof half);
	if ((half[0] | half[1]) == 0)
		return 16;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The first byte in memory is the lowest in each half. */
	if (half[0] != 0)
		return (size_t)__builtin_ctzll(half[0]) / 8;
	return 8 + (size_t)__builtin_ctzll(half[1]) / 8;
#else
	size_t k;

	for (k = 0; bad[k] == 0; k++)
		;
	return k;
#endif
}

/* The length of the valid UTF-8 sequence at p[0..n), or 0 if p[0] starts
 * none. p[0] is 0x80 or above. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlongs */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* no overlongs */
		else if (c == 0xf4)
			hi = 0x8f; /* nothing past U+10FFFF */
	} else
		return 0;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return need;
}

/* Input bytes escaped per reservation: room for the worst case (six out
 * for each in) is made once per chunk, and the loop writes through a
 * pointer. */
#define ESC_CHUNK 4096

/* The end of the run of bytes at p[i..end) that are copied as they are
 * (valid UTF-8 included; a sequence may run past end, never past len). */
static size_t
plain_run(const unsigned char *p, size_t i, size_t end, size_t len)
{
	size_t n, k = 0;

	for (;;) {
		while (end - i >= 16 && (k = plain_prefix(p + i)) == 16)
			i += 16;
		if (end - i >= 16)
			i += k;
		else
			while (i < end && ecls[p[i]] == E_SAFE)
				i++;
		if (i < end && ecls[p[i]] == E_UTF8
		    && (n = utf8_seq(p + i, len - i)) != 0) {
			i += n;
			continue;
		}
		return i;
	}
}

/* The escapes JSON names; the other control bytes are \u00XX. */
static const char named[128] = { ['"'] = '"',
	['\\'] = '\\',
	['\n'] = 'n',
	['\r'] = 'r',
	['\t'] = 't',
	['\b'] = 'b',
	['\f'] = 'f' };

/* Writes the escape of c (not a plain byte) at o; returns its length. */
static size_t
escape_byte(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= 0x80) {
		memcpy(o, "\xef\xbf\xbd", 3); /* starts no valid sequence */
		return 3;
	}
	o[0] = '\\';
	if (named[c] != '\0') {
		o[1] = named[c];
		return 2;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hex[c >> 4];
	o[5] = hex[c & 0xf];
	return 6;
}

/* Appends the escaped form of s[0..len), without quotes. */
static void
escape_body(struct ls_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, end, run;
	char *o;

	while (i < len) {
		end = len - i > ESC_CHUNK ? i + ESC_CHUNK : len;
		ls_buf_reserve(out, (end - i) * 6);
		o = out->data + out->len;
		while (i < end) {
			run = i;
			i = plain_run(p, i, end, len);
			memcpy(o, p + run, i - run);
			o += i - run;
			if (i < end)
				o += escape_byte(o, p[i++]);
		}
		out->len = (size_t)(o - out->data);
	}
	if (out->data != NULL)
		out->data[out->len] = '\0';
}

void
ls_json_escape(struct ls_buf *out, const char *s, size_t len)
{
	ls_buf_putc(out, '"');
	escape_body(out, s, len);
	ls_buf_putc(out, '"');
}

size_t
ls_text_escape(char *dst, size_t dstsz, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, run, n;
	char esc[6];

	if (dstsz == 0)
		return 0;
	while (i < len) {
		run = i;
		i = plain_run(p, i, len, len);
		if ((n = i - run) > dstsz - 1 - o) {
			/* Cut before the character the room ends in. */
			n = dstsz - 1 - o;
			while (n > 0 && (p[run + n] & 0xc0) == 0x80)
				n--;
			memcpy(dst + o, p + run, n);
			o += n;
			break;
		}
		memcpy(dst + o, p + run, n);
		o += n;
		if (i == len)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = (char)p[i];
			n = 1;
		} else
			n = escape_byte(esc, p[i]);
		if (n > dstsz - 1 - o)
			break;
		memcpy(dst + o, esc, n);
		o += n;
		i++;
	}
	dst[o] = '\0';
	return o;
}

/* The escaped length of a NUL-terminated string, quotes included. */
static size_t
escaped_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 2;

	for (; *p != '\0'; p++) {
		if (ecls[*p] == E_SAFE)
			n++;
		else
			n += 6; /* \u00XX; U+FFFD is only 3 */
	}
	return n;
}

/*
 * Message bytes count for len + len/8, which covers any line with fewer
 * than one byte in eight to escape: every ASCII log format we know. It is
 * an estimate, not a bound, so that the batcher fills batches instead of
 * cutting them at a sixth of the limit; the worker measures the real body
 * and splits the batch when it is over the limit. The other fields are
 * short config strings and are counted exactly.
 */
size_t
ls_encode_host_len(const char *hostname)
{
	return hostname != NULL ? escaped_len(hostname) : 0;
}

size_t
ls_encode_estimate(const struct ls_record *r, size_t host_len)
{
	const struct ls_labels *src = r->labels;
	size_t n;

	/* {"message":"",  "status":"emergency",  "timestamp":<20>,
	 * ,"original_timestamp":<20> (when out of the window), "hostname":,
	 * then the separator ("," or "\n") and the array's brackets. */
	n = 14 + 21 + 13 + 20 + 22 + 20 + 12 + 3;
	n += r->len + r->len / 8 + host_len;
	if (src != NULL)
		n += src->json_len;
	return n;
}

/* Appends v in decimal, without printf's cost per record: two digits a
 * division (a timestamp in ms has 13). */
static void
put_int64(struct ls_buf *out, int64_t v)
{
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "30313233343536373839"
				    "40414243444546474849"
				    "50515253545556575859"
				    "60616263646566676869"
				    "70717273747576777879"
				    "80818283848586878889"
				    "90919293949596979899";
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u;
	unsigned k;

	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	while (u >= 100) {
		k = (unsigned)(u % 100) * 2;
		u /= 100;
		*--p = pairs[k + 1];
		*--p = pairs[k];
	}
	if (u >= 10) {
		k = (unsigned)u * 2;
		*--p = pairs[k + 1];
		*--p = pairs[k];
	} else
		*--p = (char)('0' + u);
	if (v < 0)
		*--p = '-';
	ls_buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

void
ls_json_field(struct ls_buf *out, const char *key, const char *value)
{
	if (value == NULL)
		return;
	ls_buf_append(out, key, strlen(key));
	ls_json_escape(out, value, strlen(value));
}

/*
 * The longest prefix of s[0..len) whose escaped form (escape_body's) takes
 * at most budget bytes, in units that are never split: a plain byte (1), a
 * named escape (2), a \u00XX (6), a valid UTF-8 sequence (its length), a
 * byte that starts none (U+FFFD, 3). *esc gets the prefix's escaped
 * length.
 */
static size_t
escaped_cut(const unsigned char *s, size_t len, size_t budget, size_t *esc)
{
	size_t i = 0, n = 0, unit, w;

	while (i < len) {
		unit = 1;
		switch (ecls[s[i]]) {
		case E_SAFE:
			w = 1;
			break;
		case E_ESC:
			w = named[s[i]] != '\0' ? 2 : 6;
			break;
		default:
			unit = utf8_seq(s + i, len - i);
			w = unit != 0 ? unit : 3;
			if (unit == 0)
				unit = 1;
			break;
		}
		if (n + w > budget)
			break;
		n += w;
		i += unit;
	}
	*esc = n;
	return i;
}

size_t
ls_trunc_mark(struct ls_buf *out, size_t n)
{
	size_t at = out->len;

	ls_buf_printf(out, LS_TRUNC_MARK_FMT, n);
	return out->len - at;
}

size_t
ls_trunc_mark_len(size_t n)
{
	return (size_t)snprintf(NULL, 0, LS_TRUNC_MARK_FMT, n);
}

size_t
ls_trunc_mark_find(const char *s, size_t len, size_t *n)
{
	static const char head[] = " [logshipd: truncated ", tail[] = " bytes]";
	size_t h = sizeof head - 1, t = sizeof tail - 1, end, d, i, v = 0;

	if (len < h + 1 + t || memcmp(s + len - t, tail, t) != 0)
		return len;
	end = len - t;
	for (d = end; d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9'; d--)
		;
	/* At most 19 digits: the count cannot overflow. */
	if (d == end || end - d > 19 || d < h
	    || memcmp(s + d - h, head, h) != 0)
		return len;
	for (i = d; i < end; i++)
		v = v * 10 + (size_t)(s[i] - '0');
	*n = v;
	return d - h;
}

size_t
ls_utf8_whole(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k, need;

	/* Back over continuation bytes to the byte that began them. */
	for (k = 1; k <= 3 && k <= len; k++) {
		if ((p[len - k] & 0xc0) == 0x80)
			continue;
		if (p[len - k] >= 0xc2 && p[len - k] <= 0xdf)
			need = 2;
		else if (p[len - k] >= 0xe0 && p[len - k] <= 0xef)
			need = 3;
		else if (p[len - k] >= 0xf0 && p[len - k] <= 0xf4)
			need = 4;
		else
			return len;
		return need > k ? len - k : len;
	}
	return len;
}

void
ls_trunc_line(
    struct ls_buf *scratch, const char **msg, size_t *len, size_t dropped)
{
	size_t keep = ls_utf8_whole(*msg, *len);

	dropped += *len - keep;
	if (*msg != scratch->data) {
		ls_buf_reset(scratch);
		ls_buf_append(scratch, *msg, keep);
	} else
		scratch->len = keep;
	(void)ls_trunc_mark(scratch, dropped);
	*msg = scratch->data;
	*len = scratch->len;
}

size_t
ls_encode_message_len(const struct ls_record *r)
{
	size_t esc;

	(void)escaped_cut(
	    (const unsigned char *)r->msg, r->len, SIZE_MAX, &esc);
	return esc;
}

/* Appends one record as a JSON object; host is the batch's ,"hostname":
 * field, escaped once for all its records. */
static int
encode_one(struct ls_buf *out, const struct ls_buf *host,
    const struct ls_record *r, size_t max_msg, int64_t now_ms)
{
	int64_t t = r->time_ms;
	int restamp;

	const struct ls_labels *src = r->labels;
	const unsigned char *p = (const unsigned char *)r->msg;
	size_t len = r->len, esc, mark, cut, left = 0;

	ls_buf_append(out, "{\"message\":\"", 12);
	/* max_msg bounds the message as sent, escaped (a byte may take six):
	 * cut, it is the longest prefix that fits with the marker, never
	 * half a character (a valid sequence goes whole or not at all; a
	 * byte of none is U+FFFD either way). A message cut at reading
	 * already ends with a marker: it is taken off, and the one marker
	 * sent counts the bytes both cuts left out. The marker's room is
	 * first that of the largest count (every byte left out), since its
	 * digits must be known before the cut is; while the count comes out
	 * with fewer digits, the cut is made again with its room, which
	 * keeps no fewer bytes, so the count only shrinks and its marker
	 * still fits (at most a few turns: a digit fewer each). Tested in
	 * check_encode.c (truncate_*, mark_*) and fuzz_encode. */
	if (max_msg > 0 && len > max_msg / 6
	    && escaped_cut(p, len, max_msg, &esc) < len) {
		if (r->flags & LS_REC_TRUNCATED)
			len = ls_trunc_mark_find(r->msg, len, &left);
		mark = ls_trunc_mark_len(left + len);
		for (;;) {
			cut = escaped_cut(
			    p, len, max_msg > mark ? max_msg - mark : 0, &esc);
			if (ls_trunc_mark_len(left + len - cut) == mark)
				break;
			mark = ls_trunc_mark_len(left + len - cut);
		}
		escape_body(out, r->msg, cut);
		(void)ls_trunc_mark(out, left + len - cut);
	} else
		escape_body(out, r->msg, len);
	ls_buf_append(out, "\",\"status\":\"", 12);
	ls_buf_append(out, ls_severity_name((enum ls_severity)r->severity),
	    strlen(ls_severity_name((enum ls_severity)r->severity)));
	ls_buf_append(out, "\",\"timestamp\":", 14);
	/* Out of the intake's window: sent now, with its own time beside. */
	restamp = now_ms != 0
	    && (t < now_ms - LS_TS_MAX_AGE_MS
		|| t > now_ms + LS_TS_MAX_AHEAD_MS);
	put_int64(out, restamp ? now_ms : t);
	if (restamp) {
		ls_buf_append(out, ",\"original_timestamp\":", 22);
		put_int64(out, t);
	}
	/* A journal entry's own hostname replaces the batch's (labels.h). */
	if (host->len > 0 && (src == NULL || !src->has_host))
		ls_buf_append(out, host->data, host->len);
	if (src != NULL)
		ls_buf_append(out, src->json, src->json_len);
	ls_buf_putc(out, '}');
	return restamp;
}

size_t
ls_encode_batch(struct ls_buf *out, enum ls_format fmt, const char *hostname,
    struct ls_record *const *recs, size_t n, size_t max_msg, int64_t now_ms)
{
	struct ls_buf host;
	size_t i, restamped = 0;

	ls_buf_init(&host);
	ls_json_field(&host, ",\"hostname\":", hostname);
	if (fmt == LS_FORMAT_NDJSON) {
		for (i = 0; i < n; i++) {
			restamped += (size_t)encode_one(
			    out, &host, recs[i], max_msg, now_ms);
			ls_buf_putc(out, '\n');
		}
	} else {
		ls_buf_putc(out, '[');
		for (i = 0; i < n; i++) {
			if (i > 0)
				ls_buf_putc(out, ',');
			restamped += (size_t)encode_one(
			    out, &host, recs[i], max_msg, now_ms);
		}
		ls_buf_putc(out, ']');
	}
	ls_buf_cleanup(&host);
	return restamped;
}
