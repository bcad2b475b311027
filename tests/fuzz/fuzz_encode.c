/*
 * fuzz_encode: batch bodies from arbitrary messages.
 *
 * Input: a separator byte, an options byte, a max_msg byte, then the
 * messages split at the separator (so a message may hold any other byte:
 * NUL, newlines, invalid UTF-8). With the option set, the first message is
 * the hostname instead (cut at a NUL). With its high bit, each message
 * is one cut at reading (LS_REC_TRUNCATED): its whole characters and the
 * marker, which a cut at encoding must merge into its own. Records come
 * from a source with service, ddsource and tags full of characters to
 * escape, or from one with none.
 *
 * Every body, JSON array or ndjson, with and without a max_msg cut, must
 * parse with jansson, with one object per record whose fields decode to
 * what went in: the message as valid UTF-8, equal to the bytes with every
 * byte that starts no valid sequence replaced by U+FFFD. max_msg bounds
 * the message as sent (escaped, the marker included): a message that
 * escapes to more is cut to the longest prefix of characters whose
 * escaped form fits with the marker (one character more would not),
 * never splitting a character that the whole message has, then the
 * marker. The escaped widths are worked out here on the decoded text, on
 * their own: 1 a plain ASCII byte, 2 a named escape, 6 \u00XX, a
 * character's UTF-8 length otherwise.
 *
 * ls_encode_estimate() promises (encode.h, encode.c) that everything but
 * the message is counted as an upper bound, separator and brackets
 * included, and the message as len + len/8: so the estimate is at least
 * the entry's real size whenever the message escapes to at most
 * len + len/8 bytes. Both are checked, per record and per batch.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "encode.h"
#include "fuzz.h"
#include "record.h"
#include "xmalloc.h"

#define MAX_RECS 256

static const char conf_yaml[]
    = "sources:\n"
      "  - name: full\n"
      "    paths: [/var/log/a/*.log]\n"
      "    service: \"web \\\"front\\\" \\\\ \\u2603\\t\"\n"
      "    ddsource: \"</script>\\x7f\\u00e9\"\n"
      "    tags: [\"env:prod\", \"team:a\\\"b\\n\"]\n"
      "  - name: bare\n"
      "    paths: [/var/log/b/*.log]\n"
      "destinations:\n"
      "  - name: out\n"
      "    type: http\n"
      "    url: http://127.0.0.1:8088/in\n";

static struct ls_conf *conf;

/* s[0..len) with every byte that starts no valid UTF-8 sequence made
 * U+FFFD: what a message must decode to. */
static char *
sanitize(const char *s, size_t len, size_t *outlen)
{
	char *out = xmalloc(3 * len + 1);
	size_t i = 0, o = 0, n;

	while (i < len) {
		for (n = 4; n > 0; n--) {
			if (n <= len - i && fuzz_utf8_valid(s + i, n))
				break;
		}
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	*outlen = o;
	return out;
}

/* The width of the character at s[0..n) once escaped, and its length in
 * *clen. s is valid UTF-8. */
static size_t
esc_width(const unsigned char *s, size_t n, size_t *clen)
{
	unsigned char c = s[0];

	*clen = 1;
	if (c >= 0x80) {
		for (*clen = 2; *clen < 4 && *clen < n; (*clen)++)
			if (fuzz_utf8_valid((const char *)s, *clen))
				break;
		return *clen;
	}
	if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t'
	    || c == '\b' || c == '\f')
		return 2;
	return c < 0x20 || c == 0x7f ? 6 : 1;
}

/* The escaped width of the valid UTF-8 text s[0..n). */
static size_t
esc_len(const char *s, size_t n)
{
	size_t i = 0, w = 0, c;

	while (i < n) {
		w += esc_width((const unsigned char *)s + i, n - i, &c);
		i += c;
	}
	return w;
}

/* Decoded string field key of o must be what s sanitizes to (or be
 * absent, when s is NULL). */
static void
check_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_object_get(o, key);
	size_t wlen;
	char *want;

	if (s == NULL) {
		if (v != NULL)
			fuzz_fail("%s present but not set", key);
		return;
	}
	if (!json_is_string(v))
		fuzz_fail("%s: not a string", key);
	want = sanitize(s, strlen(s), &wlen);
	if (json_string_length(v) != wlen
	    || memcmp(json_string_value(v), want, wlen) != 0)
		fuzz_fail("%s does not round-trip", key);
	free(want);
}

/* Checks one decoded entry against its record. */
static void
check_entry(json_t *o, const struct ls_record *r,
    const struct ls_conf_source *src, const char *hostname, size_t max_msg)
{
	const char *m;
	json_t *v;
	size_t mlen, flen, k, w, n, mk, blen = r->len, d = 0;
	char *full, *body;

	if (!json_is_object(o))
		fuzz_fail("an entry is not an object");
	v = json_object_get(o, "message");
	if (!json_is_string(v))
		fuzz_fail("message: not a string");
	m = json_string_value(v);
	mlen = json_string_length(v);
	if (!fuzz_utf8_valid(m, mlen))
		fuzz_fail("message: not valid UTF-8");
	full = sanitize(r->msg, r->len, &flen);
	if (max_msg == 0 || esc_len(full, flen) <= max_msg) {
		if (mlen != flen || memcmp(m, full, flen) != 0)
			fuzz_fail(
			    "message does not round-trip (%zu bytes)", r->len);
	} else {
		/* Cut: a prefix of the characters, then the marker, whose
		 * count is at most every byte. One cut at reading too
		 * (LS_REC_TRUNCATED: the body, then its marker for d bytes):
		 * a prefix of the body, and one marker for more than d and
		 * at most d and every byte of the body; for d alone when the
		 * body is empty and its marker longer than max_msg. */
		if (r->flags & LS_REC_TRUNCATED) {
			blen = ls_trunc_mark_find(r->msg, r->len, &d);
			if (blen == r->len)
				fuzz_fail("a record cut at reading without "
					  "its marker");
			body = sanitize(r->msg, blen, &k);
			free(full);
			full = body;
			flen = k;
		}
		n = d + blen + 1;
		if ((k = ls_trunc_mark_find(m, mlen, &n)) == mlen || n == 0
		    || n < d || n > d + blen || (n == d && blen > 0))
			fuzz_fail("a cut message without the marker");
		mk = mlen - k;
		mlen = k;
		/* A prefix of the whole message's characters: valid UTF-8
		 * (checked above), so no character is split. */
		if (mlen > flen || (mlen == flen && flen > 0)
		    || memcmp(m, full, mlen) != 0)
			fuzz_fail("cut message (max %zu of %zu) is no prefix "
				  "of the message",
			    max_msg, r->len);
		w = esc_len(m, mlen);
		if (w + mk > max_msg && mlen > 0)
			fuzz_fail("cut message (max %zu) sent %zu bytes",
			    max_msg, w + mk);
		/* The longest: the next character would not have fitted. */
		if (w + mk
			+ esc_width(
			    (const unsigned char *)full + mlen, flen - mlen, &k)
		    <= max_msg)
			fuzz_fail("cut message (max %zu of %zu) cut short: "
				  "%zu bytes sent",
			    max_msg, r->len, w + mk);
	}
	free(full);

	v = json_object_get(o, "status");
	if (!json_is_string(v)
	    || strcmp(json_string_value(v),
		   ls_severity_name((enum ls_severity)r->severity))
		!= 0)
		fuzz_fail("status does not round-trip");
	v = json_object_get(o, "timestamp");
	if (!json_is_integer(v) || json_integer_value(v) != r->time_ms)
		fuzz_fail("timestamp does not round-trip");
	check_str(o, "hostname", hostname);
	check_str(o, "service", src != NULL ? src->service : NULL);
	check_str(o, "ddsource", src != NULL ? src->ddsource : NULL);
	check_str(o, "ddtags", src != NULL ? src->ddtags : NULL);
	if (json_object_size(o)
	    != 3 + (hostname != NULL) + (src != NULL && src->service != NULL)
		+ (src != NULL && src->ddsource != NULL)
		+ (src != NULL && src->ddtags != NULL))
		fuzz_fail("unexpected fields in an entry");
}

static void
check_json(const struct ls_buf *b, struct ls_record **recs, size_t n,
    const struct ls_conf_source *src, const char *hostname, size_t max_msg)
{
	json_error_t err;
	json_t *j;
	size_t i;

	j = json_loadb(
	    b->data, b->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fuzz_fail("JSON body does not parse: %s (column %d)", err.text,
		    err.column);
	if (!json_is_array(j) || json_array_size(j) != n)
		fuzz_fail("not an array of %zu entries", n);
	for (i = 0; i < n; i++)
		check_entry(
		    json_array_get(j, i), recs[i], src, hostname, max_msg);
	json_decref(j);
}

static void
check_ndjson(const struct ls_buf *b, struct ls_record **recs, size_t n,
    const struct ls_conf_source *src, const char *hostname, size_t max_msg)
{
	const char *p = b->data, *end = b->data + b->len, *nl;
	json_error_t err;
	json_t *j;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			fuzz_fail("ndjson: line %zu has no newline", i);
		j = json_loadb(p, (size_t)(nl - p),
		    JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
		if (j == NULL)
			fuzz_fail(
			    "ndjson line %zu does not parse: %s", i, err.text);
		check_entry(j, recs[i], src, hostname, max_msg);
		json_decref(j);
		p = nl + 1;
	}
	if (p != end)
		fuzz_fail("ndjson: bytes after the last line");
}

/* ls_text_escape of s[0..len), whole and in room bytes. */
static void
check_text(const char *s, size_t len, size_t room)
{
	char *whole = xmalloc(6 * len + 1), *cut = xmalloc(room);
	size_t wn, cn, k;

	wn = ls_text_escape(whole, 6 * len + 1, s, len);
	fuzz_assert(wn <= 6 * len && whole[wn] == '\0');
	fuzz_assert(fuzz_utf8_valid(whole, wn));
	for (k = 0; k < wn; k++)
		fuzz_assert(
		    (unsigned char)whole[k] >= 0x20 && whole[k] != 0x7f);
	cn = ls_text_escape(cut, room, s, len);
	fuzz_assert(cn < room && cut[cn] == '\0' && cn <= wn);
	fuzz_assert(memcmp(cut, whole, cn) == 0);
	fuzz_assert(cn == wn || cn + 6 >= room - 1);
	free(cut);
	free(whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t times[]
	    = { 0, -1, INT64_MIN, INT64_MAX, 1700000000123 };
	struct ls_record *recs[MAX_RECS];
	const struct ls_conf_source *src;
	struct fuzz_in in = { data, size };
	struct ls_buf b, one;
	const char *p, *end, *q;
	char *hostname = NULL;
	size_t n = 0, i, max_msg, esc, est, sum_bound = 0;
	unsigned opt;
	int sep;

	if (conf == NULL
	    && (conf = ls_conf_load_string("fuzz.yaml", conf_yaml, stderr))
		== NULL)
		fuzz_fail("the built-in configuration does not load");
	fuzz_assert(conf->sources[0].service != NULL
	    && conf->sources[0].ddsource != NULL
	    && conf->sources[0].ddtags != NULL);

	sep = (int)fuzz_take(&in, 1);
	opt = (unsigned)fuzz_take(&in, 1);
	max_msg = (size_t)fuzz_take(&in, 1);
	src = opt & 1 ? &conf->sources[0]
		      : (opt & 2 ? &conf->sources[1] : NULL);
	p = (const char *)in.p;
	end = p + in.left;
	if (opt & 4) {
		q = memchr(p, sep, (size_t)(end - p));
		hostname = xstrndup(p, (size_t)((q != NULL ? q : end) - p));
		p = q != NULL ? q + 1 : end;
	} else if (opt & 8)
		hostname = xstrdup("host-1.example");
	ls_buf_init(&one);
	while (p < end && n < MAX_RECS) {
		if ((q = memchr(p, sep, (size_t)(end - p))) == NULL)
			q = end;
		if (opt & 0x80) {
			/* Cut at reading, as tail_record.c makes it: whole
			 * characters, then the marker. */
			ls_buf_reset(&one);
			ls_buf_append(
			    &one, p, ls_utf8_whole(p, (size_t)(q - p)));
			(void)ls_trunc_mark(
			    &one, 1 + (size_t)(q - p) * 7 + n * 100003);
			recs[n] = ls_record_new(src, NULL, one.data, one.len,
			    (enum ls_severity)((opt >> 4) + n) % LS_SEV_COUNT,
			    (uint64_t)n, times[(opt + n) % 5]);
			recs[n]->flags |= LS_REC_TRUNCATED;
		} else
			recs[n] = ls_record_new(src, NULL, p, (size_t)(q - p),
			    (enum ls_severity)((opt >> 4) + n) % LS_SEV_COUNT,
			    (uint64_t)n, times[(opt + n) % 5]);
		n++;
		p = q + 1;
	}

	ls_buf_init(&b);
	for (i = 0; i < 2; i++) {
		ls_buf_reset(&b);
		ls_encode_batch(
		    &b, LS_FORMAT_JSON, hostname, recs, n, i ? max_msg : 0, 0);
		check_json(&b, recs, n, src, hostname, i ? max_msg : 0);
		ls_buf_reset(&b);
		ls_encode_batch(&b, LS_FORMAT_NDJSON, hostname, recs, n,
		    i ? max_msg : 0, 0);
		check_ndjson(&b, recs, n, src, hostname, i ? max_msg : 0);
	}

	/* The log's form of each message: valid UTF-8 without a control
	 * byte, and cut to a room of max_msg + 1 a prefix of the whole. */
	for (i = 0; i < n; i++)
		check_text(recs[i]->msg, recs[i]->len, max_msg + 1);

	/* The estimate. */
	for (i = 0; i < n; i++) {
		ls_buf_reset(&one);
		ls_json_escape(&one, recs[i]->msg, recs[i]->len);
		esc = one.len - 2;
		ls_buf_reset(&one);
		ls_encode_batch(
		    &one, LS_FORMAT_JSON, hostname, &recs[i], 1, 0, 0);
		est = ls_encode_estimate(recs[i], ls_encode_host_len(hostname));
		/* Everything but the message is a bound: "[entry]", one
		 * separator. */
		if (est - (recs[i]->len + recs[i]->len / 8) < one.len + 1 - esc)
			fuzz_fail(
			    "estimate %zu: the fields of a %zu-byte entry "
			    "are undercounted",
			    est, one.len + 1);
		if (esc <= recs[i]->len + recs[i]->len / 8 && est < one.len + 1)
			fuzz_fail("estimate %zu below the entry's %zu bytes",
			    est, one.len + 1);
		sum_bound += est - (recs[i]->len + recs[i]->len / 8) + esc;
	}
	/* And a whole body is within the estimates with the real message
	 * sizes put back. */
	ls_buf_reset(&b);
	ls_encode_batch(&b, LS_FORMAT_JSON, hostname, recs, n, 0, 0);
	if (n > 0 && b.len > sum_bound)
		fuzz_fail(
		    "body of %zu bytes over the bound %zu", b.len, sum_bound);
	ls_buf_reset(&b);
	ls_encode_batch(&b, LS_FORMAT_NDJSON, hostname, recs, n, 0, 0);
	if (b.len > sum_bound)
		fuzz_fail("ndjson body of %zu bytes over the bound %zu", b.len,
		    sum_bound);

	ls_buf_cleanup(&b);
	ls_buf_cleanup(&one);
	for (i = 0; i < n; i++)
		ls_record_unref(recs[i]);
	free(hostname);
	return 0;
}
