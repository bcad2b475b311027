/*
 * fuzz_http: what the sender makes of an intake's answer, through the
 * functions sender.h exports.
 *
 * Input: a CURLcode and an HTTP status (4 and 8 bytes), a "now" (4 bytes,
 * unsigned seconds), backoff parameters (8 + 8 + 4 + 4 bytes), then the
 * rest as a Retry-After value.
 *
 * ls_sender_classify() must follow the table in sender.h for any pair.
 * ls_retry_after_ms() must give -1 or a delay from 0 to one year, and for
 * plain delta-seconds exactly that many seconds. ls_backoff_ms() gets
 * what a configuration can hold (1 <= initial <= max, each up to
 * INT64_MAX ms) and must stay within [initial, min(max, initial *
 * 2^attempt)].
 *
 * header_cb(), which takes Retry-After off the answer's headers, is static
 * in sender_http.c and not fuzzed here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "sender.h"

#define YEAR_MS (365LL * 86400 * 1000)

static void
check_classify(int rc, long status)
{
	enum ls_send_result r = ls_sender_classify(rc, status), want;

	if (rc != CURLE_OK)
		want = LS_SEND_RETRY; /* no answer */
	else if (status >= 200 && status <= 299)
		want = LS_SEND_OK;
	else if (status == 413)
		want = LS_SEND_SPLIT;
	else if (status == 401 || status == 403 || status == 408
	    || status == 425 || status == 429 || status >= 500 || status < 400)
		want = LS_SEND_RETRY; /* 3xx too: redirects wait for the url */
	else if (status == 404 || status == 405 || status == 410
	    || status == 415)
		want = LS_SEND_RETRY; /* a wrong url or encoding waits too */
	else if (status == 400 || status == 422)
		want = LS_SEND_REJECT; /* the body itself */
	else
		want = LS_SEND_RETRY_FEW; /* the other 4xx */
	if (r != want)
		fuzz_fail("classify(%d, %ld) = %d, want %d", rc, status, (int)r,
		    (int)want);
}

/* 1 and *secs if v is delta-seconds as sender_retry.c reads them: blanks,
 * digits, then only blanks and line ends. */
static int
delta_seconds(const char *v, unsigned long long *secs)
{
	const char *p = v;
	unsigned long long n = 0;
	int digits = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (n > 100000000000ULL) /* well past a year: saturate */
			continue;
		n = n * 10 + (unsigned)(*p - '0');
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	*secs = n;
	return digits > 0 && *p == '\0';
}

static void
check_retry_after(const char *v, time_t now)
{
	unsigned long long secs;
	int64_t ms = ls_retry_after_ms(v, now);

	if (ms != -1 && (ms < 0 || ms > YEAR_MS))
		fuzz_fail("retry_after(\"%s\", %lld) = %lld", v, (long long)now,
		    (long long)ms);
	if (delta_seconds(v, &secs)) {
		if (secs * 1000 <= (unsigned long long)YEAR_MS
		    && ms != (int64_t)secs * 1000)
			fuzz_fail("retry_after(\"%s\") = %lld, want %llu", v,
			    (long long)ms, secs * 1000);
		if (secs * 1000 > (unsigned long long)YEAR_MS && ms != -1)
			fuzz_fail("retry_after(\"%s\") = %lld, want -1", v,
			    (long long)ms);
	}
}

static void
check_backoff(uint64_t a, uint64_t b, unsigned attempt, uint32_t rnd)
{
	int64_t initial, max, cap, d;
	unsigned k;

	/* What the config allows: durations of at least 1ms up to
	 * INT64_MAX, and max not below initial. */
	initial = (int64_t)(a % INT64_MAX) + 1;
	max = (int64_t)(b % INT64_MAX) + 1;
	if (max < initial) {
		cap = max;
		max = initial;
		initial = cap;
	}
	for (cap = initial, k = 0; k < attempt && cap < max; k++)
		cap = cap > max / 2 ? max : cap * 2;
	if (cap > max)
		cap = max;
	d = ls_backoff_ms(initial, max, attempt, rnd);
	if (d < initial || d > cap)
		fuzz_fail("backoff(%lld, %lld, %u) = %lld, not in [%lld, "
			  "%lld]",
		    (long long)initial, (long long)max, attempt, (long long)d,
		    (long long)initial, (long long)cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint64_t a, b;
	unsigned attempt;
	uint32_t rnd;
	time_t now;
	char *v;
	int rc;
	long status;

	rc = (int)(int32_t)fuzz_take(&in, 4);
	status = (long)(int64_t)fuzz_take(&in, 8);
	now = (time_t)fuzz_take(&in, 4);
	a = fuzz_take(&in, 8);
	b = fuzz_take(&in, 8);
	attempt = (unsigned)fuzz_take(&in, 4);
	rnd = (uint32_t)fuzz_take(&in, 4);

	check_classify(rc, status);
	/* And the statuses an intake really sends. */
	check_classify(CURLE_OK, (long)(status % 1000));
	check_backoff(a, b, attempt, rnd);
	/* Small attempts are where the doubling happens. */
	check_backoff(a, b, attempt % 70, rnd);

	v = malloc(in.left + 1);
	memcpy(v, in.p, in.left);
	v[in.left] = '\0';
	check_retry_after(v, now);
	check_retry_after(v, time(NULL));
	free(v);
	return 0;
}
