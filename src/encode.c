/*
 * encode: see encode.h.
 *
 * Every byte of every message passes through escape_body(), so it is
 * written as a loop over runs: a class table says which bytes may be
 * copied as they are, a run of them goes out with one append, and only
 * the bytes between runs (quotes, controls, non-ASCII) take the slow path.
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
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "log.h"

#define TRUNC_MARK "...[truncated by logshipd]"

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

/* Appends the escaped form of s[0..len), without quotes. */
static void
escape_body(struct ls_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char esc[6];
	size_t i = 0, run, n;
	unsigned char c;

	/* Most lines are ASCII and escape to their own length. */
	ls_buf_reserve(out, len + 2);
	while (i < len) {
		run = i;
		for (;;) {
			while (i < len && ecls[p[i]] == E_SAFE)
				i++;
			if (i < len && ecls[p[i]] == E_UTF8
			    && (n = utf8_seq(p + i, len - i)) != 0) {
				i += n;
				continue;
			}
			break;
		}
		if (i > run)
			ls_buf_append(out, p + run, i - run);
		if (i == len)
			break;
		c = p[i++];
		if (c >= 0x80) {
			ls_buf_append(out, "\xef\xbf\xbd", 3);
			continue;
		}
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			ls_buf_append(out, esc, 6);
			continue;
		}
		ls_buf_append(out, esc, 2);
	}
}

void
ls_json_escape(struct ls_buf *out, const char *s, size_t len)
{
	ls_buf_putc(out, '"');
	escape_body(out, s, len);
	ls_buf_putc(out, '"');
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
ls_encode_estimate(const struct ls_record *r, const char *hostname)
{
	const struct ls_labels *src = r->labels;
	size_t n;

	/* {"message":"",  "status":"emergency",  "timestamp":<20>,
	 * "hostname":,  then the separator ("," or "\n") and the array's
	 * brackets. */
	n = 14 + 21 + 13 + 20 + 12 + 3;
	n += r->len + r->len / 8;
	if (hostname != NULL)
		n += escaped_len(hostname);
	if (src != NULL && src->service != NULL)
		n += 11 + escaped_len(src->service);
	if (src != NULL && src->ddsource != NULL)
		n += 12 + escaped_len(src->ddsource);
	if (src != NULL && src->ddtags != NULL)
		n += 10 + escaped_len(src->ddtags);
	return n;
}

/* Appends v in decimal, without printf's cost per record. */
static void
put_int64(struct ls_buf *out, int64_t v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u;

	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	ls_buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

/* Appends ,"key":"value" when value is set. */
static void
put_field(struct ls_buf *out, const char *key, const char *value)
{
	if (value == NULL)
		return;
	ls_buf_append(out, key, strlen(key));
	ls_json_escape(out, value, strlen(value));
}

/* Appends one record as a JSON object. */
static void
encode_one(struct ls_buf *out, const char *hostname, const struct ls_record *r,
    size_t max_msg)
{
	const struct ls_labels *src = r->labels;
	size_t len = r->len, k;
	const unsigned char *p;

	ls_buf_append(out, "{\"message\":\"", 12);
	if (max_msg > 0 && len > max_msg) {
		/* A cut never leaves half a character to become U+FFFD: a
		 * valid sequence that starts in the three bytes before it and
		 * runs past it is cut whole. Continuation bytes of no
		 * sequence stay (as U+FFFD), so that backing up over them
		 * cannot split the character before them. Tested in
		 * check_encode.c: truncate_stray_continuation. */
		len = max_msg;
		for (k = 1; k <= 3 && k <= len; k++) {
			p = (const unsigned char *)r->msg + len - k;
			if ((*p & 0xc0) == 0x80)
				continue;
			if (*p >= 0x80 && utf8_seq(p, r->len - (len - k)) > k)
				len -= k;
			break;
		}
		escape_body(out, r->msg, len);
		ls_buf_append(out, TRUNC_MARK, sizeof TRUNC_MARK - 1);
	} else
		escape_body(out, r->msg, len);
	ls_buf_append(out, "\",\"status\":\"", 12);
	ls_buf_append(out, ls_severity_name((enum ls_severity)r->severity),
	    strlen(ls_severity_name((enum ls_severity)r->severity)));
	ls_buf_append(out, "\",\"timestamp\":", 14);
	put_int64(out, r->time_ms);
	put_field(out, ",\"hostname\":", hostname);
	if (src != NULL) {
		put_field(out, ",\"service\":", src->service);
		put_field(out, ",\"ddsource\":", src->ddsource);
		put_field(out, ",\"ddtags\":", src->ddtags);
	}
	ls_buf_putc(out, '}');
}

void
ls_encode_batch(struct ls_buf *out, enum ls_format fmt, const char *hostname,
    struct ls_record *const *recs, size_t n, size_t max_msg)
{
	size_t i;

	if (fmt == LS_FORMAT_NDJSON) {
		for (i = 0; i < n; i++) {
			encode_one(out, hostname, recs[i], max_msg);
			ls_buf_putc(out, '\n');
		}
		return;
	}
	ls_buf_putc(out, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			ls_buf_putc(out, ',');
		encode_one(out, hostname, recs[i], max_msg);
	}
	ls_buf_putc(out, ']');
}
