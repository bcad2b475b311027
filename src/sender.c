/*
 * sender: see sender.h.
 *
 * One request at a time per worker, with a blocking curl_easy_perform():
 * the worker pool is the concurrency, the semaphore bounds the
 * connections, and the context reaches into curl through the progress
 * callback (polled at least once a second by curl) and CURLOPT_TIMEOUT_MS.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>

#include <curl/curl.h>
#include <jansson.h>

#include "aimd.h"
#include "buf.h"
#include "compress.h"
#include "encode.h"
#include "log.h"
#include "refuse.h"
#include "secret.h"
#include "sender.h"
#include "xmalloc.h"

/* Retry-After is a floor on the wait, but a bogus one must not park a
 * destination for a day. */
#define RETRY_AFTER_CAP_MS (300 * 1000)
/* A single entry answered 413 is cut to half its length as sent (escaped)
 * each time, down to this; then it is dropped. */
#define MIN_ENTRY_BYTES 1024
/* How much of an error answer's body is kept for the log. */
#define ERRBODY_MAX 512
/* How much of a refused entry's message is shown in the log. */
#define REFUSED_SHOWN 80
/* At most one warning about refused entries this often; the others are
 * counted into the next one. */
#define REFUSED_LOG_MS 1000
/* Entries deferred (refused alone, no proof yet) whose last refusal is
 * remembered: when one comes back alone, the proof may come from any
 * request sent after that refusal. */
#define DEFERRED_SLOTS 256

struct ls_sender_dest {
	const struct ls_conf_dest *conf;
	const char *hostname;
	struct ls_dest_metrics *m;
	struct ls_sem *sem;
	/* ls_now_ms() times, shared by the destination's workers:
	 * not_before: the backoff; no request before it but a probe.
	 * floor: the intake said when (Retry-After, 429, a bad key); no
	 * request at all before it.
	 * next_probe: when a waiting worker may send the next probe. */
	atomic_int_fast64_t not_before;
	atomic_int_fast64_t floor;
	atomic_int_fast64_t next_probe;
	atomic_uint failures; /* consecutive, destination-wide */
	atomic_int failing; /* logged as failing, not yet recovered */
	struct ls_aimd aimd; /* adaptive_concurrency */
	struct ls_refuse refuse; /* refused entries: refuse.h */
	/* The compression in use: zstd until the intake refuses it, then
	 * gzip for good (enum ls_compression). */
	atomic_int codec;
	/* Rate limit of the refused-entry warnings, and of the restamped
	 * ones (once a minute). */
	atomic_int_fast64_t refused_log_ms;
	atomic_int_fast64_t restamp_log_ms;
	atomic_uint refused_unlogged;
	/* Deferred entries and the tick of their last refusal (0: free). */
	pthread_mutex_t deferred_mu;
	struct {
		const struct ls_record *rec;
		uint64_t tick;
	} deferred[DEFERRED_SLOTS];
	size_t deferred_next; /* the slot to overwrite when all are taken */
	atomic_uint ndeferred; /* slots taken */
};

struct ls_sender {
	struct ls_sender_dest *d;
	CURL *curl;
	struct curl_slist *headers;
	/* The last nodes of headers: "DD-API-KEY: ..." and the configured
	 * headers (conf's), in protected memory (secret.h). Ours, not
	 * curl's: curl_slist_append would copy the strings to the heap, and
	 * curl_slist_free_all must not free them. */
	struct curl_slist *own;
	size_t nown;
	char *key_header;
	/* With tls.server_name: the url with that host, and where it
	 * connects to instead (CURLOPT_CONNECT_TO). */
	char *url;
	struct curl_slist *connect_to;
	struct ls_buf body;
	struct ls_buf gz; /* the compressed body */
	struct ls_compressor *comp; /* NULL: compression none */
	enum ls_compression codec; /* of comp and headers */
	struct ls_buf errbody;
	size_t answer_len; /* of the answer's body, of which errbody is the
			      first ERRBODY_MAX bytes */
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	struct ls_ctx *ctx; /* of the request under way */
	size_t done; /* records of the batch under way finished so far */
	struct ls_record *const *base; /* the batch under way's records */
	unsigned char *isdone; /* per record of it: finished */
	size_t isdone_cap;
	const char *failed; /* the batch under way met an internal error */
	unsigned seed;
};

/*
 * Answers that say the configuration is wrong, and what to check: the key
 * (401/403: keys get rotated), the url (3xx: redirects are not followed,
 * as one could take the API key elsewhere; 404, 405, 410) or the body's
 * compression or format (415). The lines wait, retried slowly and loudly,
 * until a reload fixes it: dropping them would lose what the corrected
 * configuration delivers. NULL for every other status.
 */
static const char *
config_problem(long status)
{
	if (status == 401 || status == 403)
		return "check the API key";
	if (status >= 300 && status < 400)
		return "redirects are not followed: check the url";
	if (status == 404 || status == 405 || status == 410)
		return "no intake at this url: check it";
	if (status == 415)
		return "the intake does not take this body: check compression "
		       "and format";
	return NULL;
}

enum ls_send_result
ls_sender_classify(int curl_code, long status)
{
	if (curl_code != CURLE_OK)
		return LS_SEND_RETRY; /* no answer: network, TLS, timeout */
	if (status >= 200 && status < 300)
		return LS_SEND_OK;
	/* Tested in check_sender.c: classify_table. */
	if (config_problem(status) != NULL)
		return LS_SEND_RETRY;
	switch (status) {
	case 413:
		return LS_SEND_SPLIT;
	case 408:
	case 425:
	case 429:
		return LS_SEND_RETRY;
	case 400: /* the body itself: resending the same bytes cannot help */
	case 422:
		return LS_SEND_REJECT;
	default:
		break;
	}
	if (status >= 500 || status < 200)
		return LS_SEND_RETRY;
	/* Another 4xx says little: the intake's contract (and the Datadog
	 * Agent) retries them; a bounded number of times here, then they go
	 * like a 400. */
	return LS_SEND_RETRY_FEW;
}

int64_t
ls_retry_after_ms(const char *value, time_t now)
{
	char *end;
	long long secs;
	time_t when;

	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		errno = 0;
		secs = strtoll(value, &end, 10);
		while (
		    *end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno != 0 || *end != '\0' || secs > 86400 * 365)
			return -1;
		return (int64_t)secs * 1000;
	}
	if ((when = curl_getdate(value, NULL)) == -1)
		return -1;
	if (when <= now)
		return 0;
	/* A date more than a year ahead is refused, like delta-seconds.
	 * Tested in check_sender.c: retry_after_far_date. */
	if (when - now > 86400 * 365)
		return -1;
	return (int64_t)(when - now) * 1000;
}

int64_t
ls_backoff_ms(int64_t initial, int64_t max, unsigned attempt, uint32_t rnd)
{
	int64_t cap = initial;

	if (initial <= 0)
		initial = cap = 1;
	/* Durations go up to INT64_MAX ms: stop doubling at max before it
	 * overflows. Tested in check_sender.c: backoff_no_overflow. */
	while (attempt-- > 0 && cap < max)
		cap = cap > max / 2 ? max : cap * 2;
	if (cap > max)
		cap = max;
	if (cap <= initial)
		return cap;
	return initial + (int64_t)(rnd % (uint64_t)(cap - initial + 1));
}

struct ls_sender_dest *
ls_sender_dest_new(const struct ls_conf_dest *conf, const char *hostname,
    struct ls_dest_metrics *m)
{
	struct ls_sender_dest *d;

	d = xcalloc(1, sizeof *d);
	d->conf = conf;
	d->hostname = hostname;
	d->m = m;
	if ((d->sem = ls_sem_new(conf->max_connections)) == NULL) {
		free(d);
		return NULL;
	}
	ls_aimd_init(&d->aimd, conf->max_connections);
	if (conf->adaptive_concurrency)
		ls_sem_set_limit(d->sem, ls_aimd_limit(&d->aimd));
	atomic_store(&m->concurrency_limit, ls_sem_limit(d->sem));
	atomic_init(&d->not_before, 0);
	atomic_init(&d->floor, 0);
	atomic_init(&d->next_probe, 0);
	atomic_init(&d->failures, 0);
	atomic_init(&d->failing, 0);
	ls_refuse_init(&d->refuse, conf->reject_limit);
	atomic_init(&d->codec, (int)conf->compression);
	atomic_init(&d->refused_log_ms, 0);
	atomic_init(&d->restamp_log_ms, 0);
	atomic_init(&d->refused_unlogged, 0);
	pthread_mutex_init(&d->deferred_mu, NULL);
	atomic_init(&d->ndeferred, 0);
	return d;
}

void
ls_sender_dest_free(struct ls_sender_dest *d)
{
	if (d == NULL)
		return;
	ls_sem_free(d->sem);
	ls_aimd_destroy(&d->aimd);
	ls_refuse_cleanup(&d->refuse);
	pthread_mutex_destroy(&d->deferred_mu);
	free(d);
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ls_sender *s = arg;
	size_t n = size * nmemb, room;

	s->answer_len += n;
	room = ERRBODY_MAX - s->errbody.len;
	ls_buf_append(&s->errbody, ptr, n < room ? n : room);
	return n; /* read (and discard) the rest: keep the connection */
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ls_sender *s = arg;
	size_t n = size * nmemb, len;
	const char name[] = "retry-after:";

	if (n > sizeof name - 1
	    && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		len = n - (sizeof name - 1);
		if (len >= sizeof s->retry_after)
			len = sizeof s->retry_after - 1;
		memcpy(s->retry_after, ptr + sizeof name - 1, len);
		s->retry_after[len] = '\0';
	}
	return n;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct ls_sender *s = arg;

	/* Non-zero aborts the transfer: the context was cancelled. */
	return ls_ctx_done(s->ctx);
}

/* Unlinks our secret nodes from the header list (they are ours, not
 * curl's) and frees the rest. */
static void
free_headers(struct ls_sender *s)
{
	struct curl_slist *h;

	for (h = s->headers; h != NULL && s->nown > 0; h = h->next)
		if (h->next == &s->own[0])
			h->next = NULL;
	curl_slist_free_all(s->headers);
	s->headers = NULL;
}

/*
 * Makes the worker compress with kind: its compressor and its headers.
 * The level is the configured one for the configured codec, the codec's
 * default for the one a fallback chose. 0, or -1 (logged by the caller).
 */
static int
set_codec(struct ls_sender *s, enum ls_compression kind)
{
	const struct ls_conf_dest *c = s->d->conf;
	struct curl_slist *last;
	const char *enc;
	int level;

	ls_compressor_free(s->comp);
	s->comp = NULL;
	free_headers(s);
	s->codec = kind;
	level = kind == c->compression ? c->compression_level
				       : ls_compression_default_level(kind);
	if (kind != LS_COMPRESS_NONE
	    && (s->comp = ls_compressor_new(kind, level)) == NULL)
		return -1;
	s->headers = curl_slist_append(s->headers,
	    c->format == LS_FORMAT_NDJSON ? "Content-Type: application/x-ndjson"
					  : "Content-Type: application/json");
	if ((enc = ls_compression_encoding(kind)) != NULL) {
		char h[64];

		snprintf(h, sizeof h, "Content-Encoding: %s", enc);
		s->headers = curl_slist_append(s->headers, h);
	}
	s->headers = curl_slist_append(
	    s->headers, "User-Agent: logshipd/" PACKAGE_VERSION);
	/* Who sent it, as the Agent, Vector and Fluent Bit say. */
	if (c->type == LS_DEST_DATADOG) {
		s->headers
		    = curl_slist_append(s->headers, "DD-EVP-ORIGIN: logshipd");
		s->headers = curl_slist_append(
		    s->headers, "DD-EVP-ORIGIN-VERSION: " PACKAGE_VERSION);
	}
	/* No "Expect: 100-continue" round trip before large bodies. */
	s->headers = curl_slist_append(s->headers, "Expect:");
	if (s->headers == NULL)
		return -1;
	if (s->nown > 0) {
		for (last = s->headers; last->next != NULL; last = last->next)
			;
		s->own[s->nown - 1].next = NULL;
		last->next = &s->own[0];
	}
	if (s->curl != NULL)
		curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	return 0;
}

/*
 * How the worker reaches the intake: the proxy (else libcurl's environment
 * variables), the client certificate, and tls.server_name. A configured
 * proxy ignores the environment's no_proxy: the destination's own
 * no_proxy, empty by default, is the whole list. server_name goes into the
 * url, so SNI, the certificate check and Host use it, and CONNECT_TO sends
 * the connection to the url's own host and port. 0, or -1 (logged by the
 * caller).
 */
static int
set_connection(struct ls_sender *s)
{
	const struct ls_conf_dest *c = s->d->conf;
	struct curl_slist *to = NULL;
	char *host = NULL, *port = NULL, *line = NULL;
	CURLU *u = NULL;
	int rc = -1;

	if (c->proxy != NULL) {
		curl_easy_setopt(s->curl, CURLOPT_PROXY, c->proxy);
		curl_easy_setopt(s->curl, CURLOPT_NOPROXY,
		    c->no_proxy != NULL ? c->no_proxy : "");
		/* An https:// proxy's certificate is checked like the
		 * intake's. */
		curl_easy_setopt(s->curl, CURLOPT_PROXY_SSL_VERIFYPEER,
		    c->tls_verify ? 1L : 0L);
		curl_easy_setopt(s->curl, CURLOPT_PROXY_SSL_VERIFYHOST,
		    c->tls_verify ? 2L : 0L);
	} else if (c->no_proxy != NULL)
		curl_easy_setopt(s->curl, CURLOPT_NOPROXY, c->no_proxy);
	if (c->cert_file != NULL)
		curl_easy_setopt(s->curl, CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file != NULL)
		curl_easy_setopt(s->curl, CURLOPT_SSLKEY, c->key_file);
	if (c->server_name == NULL)
		return 0;
	if ((u = curl_url()) == NULL
	    || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK
	    || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
	    || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)
		!= CURLUE_OK
	    || curl_url_set(u, CURLUPART_HOST, c->server_name, 0) != CURLUE_OK
	    || curl_url_get(u, CURLUPART_URL, &s->url, 0) != CURLUE_OK)
		goto out;
	/* "name:port:host:port"; a numeric IPv6 host keeps its brackets. */
	if (xasprintf(&line, "%s:%s:%s:%s", c->server_name, port, host, port)
	    == -1)
		goto out;
	if ((to = curl_slist_append(NULL, line)) == NULL)
		goto out;
	s->connect_to = to;
	curl_easy_setopt(s->curl, CURLOPT_CONNECT_TO, s->connect_to);
	rc = 0;
out:
	free(line);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

struct ls_sender *
ls_sender_new(struct ls_sender_dest *d, unsigned idx)
{
	const struct ls_conf_dest *c = d->conf;
	struct ls_sender *s;
	size_t i;

	s = xcalloc(1, sizeof *s);
	s->d = d;
	s->seed = (unsigned)ls_now_ms() ^ (idx * 2654435761u);
	ls_buf_init(&s->body);
	ls_buf_init(&s->gz);
	ls_buf_init(&s->errbody);
	if ((s->curl = curl_easy_init()) == NULL)
		goto fail;
	s->own = xcalloc(c->nheaders + 1, sizeof *s->own);
	if (c->api_key != NULL) {
		s->key_header = ls_secret_printf("DD-API-KEY: %s", c->api_key);
		if (s->key_header == NULL)
			goto fail;
		s->own[s->nown++].data = s->key_header;
	}
	for (i = 0; i < c->nheaders; i++)
		s->own[s->nown++].data = c->headers[i];
	for (i = 0; i + 1 < s->nown; i++)
		s->own[i].next = &s->own[i + 1];
	if (set_codec(s, (enum ls_compression)atomic_load(&d->codec)) != 0)
		goto fail;
	if (set_connection(s) != 0)
		goto fail;

	curl_easy_setopt(
	    s->curl, CURLOPT_URL, s->url != NULL ? s->url : c->url);
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->timeout_ms < 10000 ? c->timeout_ms : 10000));
	curl_easy_setopt(
	    s->curl, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(
	    s->curl, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	if (c->ca_file != NULL)
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
	return s;
fail:
	log_warnx("%s: cannot set up curl", c->name);
	ls_sender_free(s);
	return NULL;
}

void
ls_sender_free(struct ls_sender *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	/* Our key node goes back to us: unlink it, then clear and unmap. */
	free_headers(s);
	free(s->own);
	ls_secret_free(s->key_header);
	curl_free(s->url);
	curl_slist_free_all(s->connect_to);
	ls_buf_cleanup(&s->body);
	ls_buf_cleanup(&s->gz);
	ls_compressor_free(s->comp);
	ls_buf_cleanup(&s->errbody);
	free(s->isdone);
	free(s);
}

/* How long a worker waiting out a backoff sleeps at most before it looks
 * again: a success elsewhere ends the backoff for everyone. */
#define WAIT_SLICE_MS 200

enum turn { TURN_CANCELLED = -1, TURN_GO, TURN_PROBE };

/*
 * Waits for this worker's turn to send. TURN_GO once the backoff and the
 * floor have passed; TURN_PROBE when, during a backoff, this worker won the
 * probe: it may send one entry to learn whether the intake is back, so a
 * long backoff does not delay recovery (retry.probe); TURN_CANCELLED if ctx
 * ended the wait.
 */
static enum turn
wait_turn(struct ls_sender_dest *d, struct ls_ctx *ctx)
{
	int64_t probe_ms = d->conf->retry_probe_ms;
	int64_t now, nb, fl, np, wake;

	for (;;) {
		if (ls_ctx_done(ctx))
			return TURN_CANCELLED;
		now = ls_now_ms();
		nb = atomic_load(&d->not_before);
		fl = atomic_load(&d->floor);
		if (now >= nb && now >= fl)
			return TURN_GO;
		wake = nb > fl ? nb : fl;
		if (probe_ms > 0 && now >= fl) {
			np = atomic_load(&d->next_probe);
			if (now >= np
			    && atomic_compare_exchange_strong(
				&d->next_probe, &np, now + probe_ms))
				return TURN_PROBE;
			if (np > now && np < wake)
				wake = np;
		}
		if (wake - now > WAIT_SLICE_MS)
			wake = now + WAIT_SLICE_MS;
		if (ls_ctx_sleep(ctx, wake - now) != 0)
			return TURN_CANCELLED;
	}
}

/* Pushes *t out to at least until. */
static void
push_out(atomic_int_fast64_t *t, int64_t until)
{
	int_fast64_t cur = atomic_load(t);

	while (cur < until && !atomic_compare_exchange_weak(t, &cur, until))
		;
}

/* A success: the backoff ends for every worker now, and the failure count
 * decays (by 2, as the Datadog Agent's recovery interval) rather than
 * resetting, so an intake that flaps is not hit at full rate at once. */
static void
recovered(struct ls_sender_dest *d)
{
	unsigned f = atomic_load(&d->failures);

	while (f > 0
	    && !atomic_compare_exchange_weak(
		&d->failures, &f, f > 2 ? f - 2 : 0))
		;
	atomic_store(&d->not_before, 0);
	atomic_store(&d->m->problem, NULL);
	if (atomic_exchange(&d->failing, 0))
		log_notice("%s: delivering again", d->conf->name);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Adaptive concurrency: one more request's verdict, and the limit that
 * follows (aimd.h). */
static void
adapt(struct ls_sender_dest *d, int rc, long status, int64_t rtt_ms,
    int saturated)
{
	unsigned limit;
	int pushed_back;

	pushed_back
	    = rc != CURLE_OK || status == 408 || status == 429 || status >= 500;
	limit = ls_aimd_sample(
	    &d->aimd, ls_now_ms(), rtt_ms, pushed_back, saturated);
	if (limit != ls_sem_limit(d->sem)) {
		ls_sem_set_limit(d->sem, limit);
		atomic_store(&d->m->concurrency_limit, limit);
		log_debug("%s: concurrency %u", d->conf->name, limit);
	}
}

/* One POST of the current body. Returns the curl code; *status is the
 * HTTP status (0 without an answer). */
static int
post(struct ls_sender *s, const struct ls_buf *payload, struct ls_ctx *ctx,
    long *status)
{
	const struct ls_conf_dest *c = s->d->conf;
	int64_t left, timeout = c->timeout_ms;
	CURLcode rc;

	if ((left = ls_ctx_remaining_ms(ctx)) >= 0 && left < timeout)
		timeout = left > 0 ? left : 1;
	s->ctx = ctx;
	s->retry_after[0] = '\0';
	s->errbuf[0] = '\0';
	ls_buf_reset(&s->errbody);
	s->answer_len = 0;
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, payload->data);
	curl_easy_setopt(
	    s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload->len);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)timeout);
	LS_COUNT(s->d->m->in_flight, 1);
	rc = curl_easy_perform(s->curl);
	atomic_fetch_sub_explicit(&s->d->m->in_flight, 1, memory_order_relaxed);
	*status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	s->ctx = NULL;
	return (int)rc;
}

/* Describes a failed attempt for the log: never the request, never a
 * header (the API key is one). */
static void
describe(struct ls_sender *s, int rc, long status, char *out, size_t len)
{
	char more[48];
	size_t i, shown;

	if (rc != CURLE_OK) {
		snprintf(out, len, "%s",
		    s->errbuf[0] ? s->errbuf
				 : curl_easy_strerror((CURLcode)rc));
		return;
	}
	/* Keep the body printable: it comes from the network. */
	for (i = 0; i < s->errbody.len; i++)
		if ((unsigned char)s->errbody.data[i] < 0x20
		    || (unsigned char)s->errbody.data[i] > 0x7e)
			s->errbody.data[i] = '.';
	shown = s->errbody.len < 200 ? s->errbody.len : 200;
	/* An answer's body is read whole but kept only up to ERRBODY_MAX. */
	if (s->answer_len > shown)
		snprintf(more, sizeof more, "... (%zu bytes)", s->answer_len);
	else
		more[0] = '\0';
	snprintf(out, len, "HTTP %ld%s%.*s%s", status,
	    s->errbody.len ? ": " : "", (int)shown,
	    s->errbody.len ? s->errbody.data : "", more);
}

/*
 * A 2xx from the Datadog intake carries a small JSON body ("{}"). One that
 * is not JSON (an HTML page from a captive portal or a proxy in the way)
 * did not come from the intake, and the lines it took are not delivered:
 * they are retried. An empty body passes (some relays send none).
 */
static int
not_the_intake(const struct ls_sender *s)
{
	json_error_t err;
	json_t *j;

	if (s->answer_len == 0)
		return 0;
	if (s->answer_len > s->errbody.len)
		return 1; /* over ERRBODY_MAX: never the intake's answer */
	if ((j = json_loadb(
		 s->errbody.data, s->errbody.len, JSON_DECODE_ANY, &err))
	    == NULL)
		return 1;
	json_decref(j);
	return 0;
}

static void
count_sent(struct ls_dest_metrics *m, struct ls_record *const *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		LS_COUNT(m->sent_by_sev[recs[i]->severity], 1);
	LS_COUNT(m->sent, n);
	LS_COUNT(m->batches, 1);
}

/* -- Deferred entries: refused alone, not proven bad (refuse.h) ---------- */

/* The tick of rec's last refusal alone, or 0. */
static uint64_t
deferred_since(struct ls_sender_dest *d, const struct ls_record *rec)
{
	uint64_t t = 0;
	size_t i;

	pthread_mutex_lock(&d->deferred_mu);
	for (i = 0; i < DEFERRED_SLOTS; i++)
		if (d->deferred[i].rec == rec) {
			t = d->deferred[i].tick;
			break;
		}
	pthread_mutex_unlock(&d->deferred_mu);
	return t;
}

static void
deferred_put(
    struct ls_sender_dest *d, const struct ls_record *rec, uint64_t tick)
{
	size_t i, slot = DEFERRED_SLOTS;

	pthread_mutex_lock(&d->deferred_mu);
	for (i = 0; i < DEFERRED_SLOTS; i++) {
		if (d->deferred[i].rec == rec) {
			slot = i;
			break;
		}
		if (d->deferred[i].rec == NULL && slot == DEFERRED_SLOTS)
			slot = i;
	}
	if (slot == DEFERRED_SLOTS) {
		/* All taken: the oldest written goes; that entry only loses
		 * its proof window, never its safety. */
		slot = d->deferred_next;
		d->deferred_next = (d->deferred_next + 1) % DEFERRED_SLOTS;
	}
	if (d->deferred[slot].rec == NULL)
		atomic_fetch_add(&d->ndeferred, 1);
	d->deferred[slot].rec = rec;
	d->deferred[slot].tick = tick;
	pthread_mutex_unlock(&d->deferred_mu);
}

/* The destination is done with recs: they are no longer deferred (the
 * slot of a record done with may not name a new one at its address). */
static void
deferred_forget(
    struct ls_sender_dest *d, struct ls_record *const *recs, size_t n)
{
	size_t i, k;

	if (atomic_load(&d->ndeferred) == 0)
		return;
	pthread_mutex_lock(&d->deferred_mu);
	for (i = 0; i < DEFERRED_SLOTS; i++) {
		if (d->deferred[i].rec == NULL)
			continue;
		for (k = 0; k < n; k++)
			if (d->deferred[i].rec == recs[k]) {
				d->deferred[i].rec = NULL;
				d->deferred[i].tick = 0;
				atomic_fetch_sub(&d->ndeferred, 1);
				break;
			}
	}
	pthread_mutex_unlock(&d->deferred_mu);
}

/* The destination is done with these records, sent or dropped: marked
 * taken (the caller acknowledges them: ls_sender_send). */
static void
finish(struct ls_sender *s, struct ls_record *const *recs, size_t n)
{
	struct ls_sender_dest *d = s->d;

	/* Not always a prefix: a deferred entry is left out. */
	memset(s->isdone + (recs - s->base), 1, n);
	s->done += n;
	deferred_forget(d, recs, n);
}

/*
 * May a worker that holds a connection permit send now? Not before the
 * floor, and not before the backoff unless it sends a probe.
 */
static int
may_send(struct ls_sender_dest *d, int probe)
{
	int64_t now = ls_now_ms();

	if (now < atomic_load(&d->floor))
		return 0;
	return probe || now >= atomic_load(&d->not_before);
}

/*
 * A retry: the whole destination backs off. A wait the intake asked for
 * (Retry-After, 429, a bad key) is a floor that not even a probe crosses.
 * problem, if not NULL, is a reason to hold like a bad key (the intake
 * refuses entry after entry). Returns the delay; *hint, if set, names the
 * problem, which /healthz shows until a request is accepted.
 */
static int64_t
back_off(
    struct ls_sender *s, long status, const char *problem, const char **hint)
{
	struct ls_sender_dest *d = s->d;
	const struct ls_conf_dest *c = d->conf;
	int64_t delay, ra, now;
	unsigned attempt;
	int hard;

	attempt = atomic_fetch_add(&d->failures, 1);
	delay = ls_backoff_ms(c->retry_initial_ms, c->retry_max_ms, attempt,
	    (uint32_t)rand_r(&s->seed));
	hard = status == 429;
	if (problem == NULL)
		problem = config_problem(status);
	if (problem != NULL) {
		delay = c->retry_max_ms; /* until a reload: go slowly */
		hard = 1;
		*hint = problem;
		atomic_store(&d->m->problem_status, status);
		atomic_store(&d->m->problem, problem);
	}
	if (s->retry_after[0] != '\0'
	    && (ra = ls_retry_after_ms(s->retry_after, time(NULL))) >= 0) {
		if (ra > RETRY_AFTER_CAP_MS)
			ra = RETRY_AFTER_CAP_MS;
		if (ra > delay)
			delay = ra;
		hard = 1;
	}
	now = ls_now_ms();
	push_out(hard ? &d->floor : &d->not_before, now + delay);
	push_out(&d->next_probe, now + c->retry_probe_ms);
	return delay;
}

/* Why a held destination holds (metrics problem, /healthz). */
static const char held_problem[]
    = "holding: the intake refuses entry after entry (reject_limit); "
      "nothing is dropped until it takes one again: check the url, "
      "compression and format";

/* The drop reason of a refusal. */
static enum ls_drop_reason
refusal_reason(long status)
{
	if (status == 400)
		return LS_DROP_REJECTED;
	if (status == 422)
		return LS_DROP_UNPROCESSABLE;
	return LS_DROP_CLIENT_ERROR;
}

/* n lines of a body were out of Datadog's window (ls_encode_batch):
 * counted, and said at most once a minute per destination. */
static void
restamp_note(struct ls_sender *s, size_t n)
{
	struct ls_sender_dest *d = s->d;
	int_fast64_t last = atomic_load(&d->restamp_log_ms);
	int64_t now = ls_now_ms();

	LS_COUNT(d->m->restamped, n);
	if ((last != 0 && now - last < 60 * 1000)
	    || !atomic_compare_exchange_strong(&d->restamp_log_ms, &last, now))
		return;
	log_warnx("%s: lines more than 17 hours old (or over an hour ahead) "
		  "sent with the current time, their own as "
		  "original_timestamp: Datadog would drop them (%llu so far)",
	    d->conf->name, (unsigned long long)LS_LOAD(d->m->restamped));
}

/*
 * Logs a dropped entry: its first bytes, escaped, and the intake's answer
 * (why): never a header. At most once every REFUSED_LOG_MS per
 * destination; the ones in between are counted into the next.
 */
static void
log_refused(struct ls_sender *s, const struct ls_record *r, const char *why)
{
	struct ls_sender_dest *d = s->d;
	int_fast64_t last = atomic_load(&d->refused_log_ms);
	int64_t now = ls_now_ms();
	char shown[REFUSED_SHOWN * 4 + 1];
	size_t i, o = 0;
	unsigned skipped;
	unsigned char ch;

	if (last != 0 && now - last < REFUSED_LOG_MS) {
		atomic_fetch_add(&d->refused_unlogged, 1);
		return;
	}
	if (!atomic_compare_exchange_strong(&d->refused_log_ms, &last, now)) {
		atomic_fetch_add(&d->refused_unlogged, 1);
		return;
	}
	for (i = 0; i < r->len && i < REFUSED_SHOWN; i++) {
		ch = (unsigned char)r->msg[i];
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(
			    shown + o, sizeof shown - o, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			o += (size_t)snprintf(
			    shown + o, sizeof shown - o, "\\x%02x", ch);
		else
			shown[o++] = (char)ch;
	}
	shown[o] = '\0';
	skipped = atomic_exchange(&d->refused_unlogged, 0);
	log_warnx("%s: dropped an entry the intake refuses alone while it "
		  "takes others (%s): \"%s\"%s (%zu bytes)%s",
	    d->conf->name, why, shown, r->len > REFUSED_SHOWN ? "..." : "",
	    r->len, skipped > 0 ? "; and more since the last warning" : "");
	if (skipped > 0)
		log_warnx("%s: %u more refused entries dropped since the last "
			  "warning",
		    d->conf->name, skipped);
}

/*
 * The intake refused zstd (415, or 400 to a zstd body): the destination
 * sends gzip from now on, logged and counted once; this worker switches at
 * once, the others before their next batch.
 */
static void
fall_back(struct ls_sender *s, long status)
{
	struct ls_sender_dest *d = s->d;
	int want = LS_COMPRESS_ZSTD;

	if (atomic_compare_exchange_strong(
		&d->codec, &want, LS_COMPRESS_GZIP)) {
		LS_COUNT(d->m->codec_fallbacks, 1);
		log_warnx("%s: the intake answered HTTP %ld to a zstd body; "
			  "sending gzip from now on (set compression: gzip to "
			  "say so)",
		    d->conf->name, status);
	}
}

/* Brings the worker to the destination's codec. 0, or -1. */
static int
sync_codec(struct ls_sender *s)
{
	enum ls_compression want
	    = (enum ls_compression)atomic_load(&s->d->codec);

	if (want == s->codec)
		return 0;
	return set_codec(s, want);
}

static void send_range(struct ls_sender *, struct ls_record *const *, size_t,
    size_t, struct ls_ctx *, int, uint64_t);

/*
 * recs[0..n-1] were refused (400, 422, another 4xx after its tries) with
 * status; refused: the tick of that answer; ok_seen: the newest accepted
 * send tick when they were sent; since: the refusal that bisected them (0:
 * none). A batch is halved until the refused entries stand alone; one
 * alone is dropped only when proven bad (refuse.h), else deferred: left
 * undone, the caller sends it again after the rest. A held destination
 * neither halves nor drops: it backs off and defers.
 */
static void
refused(struct ls_sender *s, struct ls_record *const *recs, size_t n,
    size_t max_msg, struct ls_ctx *ctx, long status, uint64_t refused_at,
    uint64_t ok_seen, uint64_t since, const char *why)
{
	struct ls_sender_dest *d = s->d;
	const struct ls_conf_dest *c = d->conf;
	enum ls_refuse_verdict v;
	const char *hint = NULL;
	int64_t delay;
	int now_held;

	if (n > 1 && !ls_refuse_held(&d->refuse, NULL, NULL)) {
		LS_COUNT(d->m->bisections, 1);
		log_info("%s: %s; halving %zu entries to find the refused ones",
		    c->name, why, n);
		send_range(s, recs, n / 2, max_msg, ctx, 0, refused_at);
		send_range(
		    s, recs + n / 2, n - n / 2, max_msg, ctx, 0, refused_at);
		return;
	}
	if (n > 1) {
		v = LS_REFUSE_HOLD;
		now_held = 0;
	} else {
		if (since == 0)
			since = deferred_since(d, recs[0]);
		if (since == 0)
			since = refused_at; /* no proof possible yet */
		v = ls_refuse_single(
		    &d->refuse, since, ok_seen, status, &now_held);
	}
	if (v == LS_REFUSE_DROP) {
		LS_COUNT(d->m->dropped[refusal_reason(status)], 1);
		finish(s, recs, 1);
		log_refused(s, recs[0], why);
		return;
	}
	if (n == 1)
		deferred_put(d, recs[0], refused_at);
	LS_COUNT(d->m->deferred, n);
	LS_COUNT(d->m->retries, 1);
	delay = back_off(
	    s, status, v == LS_REFUSE_HOLD ? held_problem : NULL, &hint);
	if (now_held)
		log_warnx(
		    "%s: the intake refused %u entries alone in a row (%s); "
		    "%s",
		    c->name, c->reject_limit, why, held_problem);
	else
		log_debug("%s: %s; %zu entries kept to be sent again in %lld "
			  "ms",
		    c->name, why, n, (long long)delay);
}

/*
 * Sends recs[0..n-1] until done. max_msg cuts each message (0: no cut).
 * probe: this call is a probe that already has its turn for the first
 * attempt. since: the tick of the refusal this range is half of (0:
 * none). Recursion depth is at most log2(max_entries) + the single-entry
 * cuts + 1. Entries refused and not proven bad are left undone
 * (refused()).
 */
static void
send_range(struct ls_sender *s, struct ls_record *const *recs, size_t n,
    size_t max_msg, struct ls_ctx *ctx, int probe, uint64_t since)
{
	struct ls_sender_dest *d = s->d;
	const struct ls_conf_dest *c = d->conf;
	const struct ls_buf *payload;
	enum ls_send_result res;
	enum turn turn;
	char why[256];
	int64_t delay, t0, elapsed;
	const char *hint;
	int saturated, probing, cut_short;
	unsigned client_errors = 0;
	uint64_t sent_at, ok_seen;
	size_t restamped;
	long status;
	int rc;

	if (s->failed != NULL)
		return;
	if (sync_codec(s) != 0) {
		s->failed = "cannot switch compression";
		return;
	}
	ls_buf_reset(&s->body);
	restamped = ls_encode_batch(&s->body, c->format, d->hostname, recs, n,
	    max_msg, c->type == LS_DEST_DATADOG ? ls_wall_ms() : 0);
	if (restamped > 0)
		restamp_note(s, restamped);
	if (s->body.len > c->batch_max_bytes && n > 1) {
		/* Escaping made it larger than estimated: halve it here. */
		send_range(s, recs, n / 2, max_msg, ctx, probe, since);
		send_range(s, recs + n / 2, n - n / 2, max_msg, ctx, 0, since);
		return;
	}
compress:
	payload = &s->body;
	if (s->comp != NULL) {
		if (ls_compress(s->comp, &s->gz, s->body.data, s->body.len)
		    != 0) {
			s->failed = "compression failed";
			return;
		}
		payload = &s->gz;
	}

	for (;;) {
		turn = probe ? TURN_GO : wait_turn(d, ctx);
		switch (turn) {
		case TURN_CANCELLED:
			return; /* the records stay unsent */
		case TURN_PROBE:
			if (n > 1) {
				/* One entry tests the intake; the rest
				 * follows when it is back. */
				send_range(s, recs, 1, max_msg, ctx, 1, since);
				send_range(
				    s, recs + 1, n - 1, max_msg, ctx, 0, since);
				return;
			}
			break;
		case TURN_GO:
			break;
		}
		probing = probe || turn == TURN_PROBE;
		probe = 0;
		if (ls_sem_acquire(d->sem, ctx) != 0)
			return;
		/* The permit may come from a request the intake has just told
		 * to wait: that one backs the destination off before it gives
		 * the permit back, so look again. Tested in retry429.sh. */
		if (!may_send(d, probing)) {
			ls_sem_release(d->sem);
			continue;
		}
		saturated = c->adaptive_concurrency
		    && ls_sem_in_use(d->sem) >= ls_sem_limit(d->sem);
		sent_at = ls_refuse_tick(&d->refuse, &ok_seen);
		t0 = mono_us();
		rc = post(s, payload, ctx, &status);
		elapsed = mono_us() - t0;
		cut_short = rc != CURLE_OK && ls_ctx_done(ctx);
		res = ls_sender_classify(rc, status);
		if (rc == CURLE_OK && s->codec == LS_COMPRESS_ZSTD
		    && (status == 415 || status == 400)) {
			/* Not the entries: the codec. Resent as gzip at
			 * once. Tested in zstd_fallback.sh. */
			ls_sem_release(d->sem);
			ls_metrics_request(
			    d->m, status, n, payload->len, elapsed);
			fall_back(s, status);
			if (sync_codec(s) != 0) {
				s->failed = "cannot switch compression";
				return;
			}
			goto compress;
		}
		if (res == LS_SEND_RETRY_FEW)
			res = ++client_errors < LS_CLIENT_ERROR_TRIES
			    ? LS_SEND_RETRY
			    : LS_SEND_REJECT;
		hint = NULL;
		if (res == LS_SEND_OK && c->type == LS_DEST_DATADOG
		    && not_the_intake(s)) {
			res = LS_SEND_RETRY;
			hint = "not the intake's JSON answer: check the url";
		}
		delay = 0;
		if (res == LS_SEND_RETRY && !cut_short)
			delay = back_off(s, status, NULL, &hint);
		ls_sem_release(d->sem);
		ls_metrics_request(d->m, rc == CURLE_OK ? status : 0, n,
		    payload->len, elapsed);
		if (cut_short)
			return;
		if (c->adaptive_concurrency)
			adapt(d, rc, status, elapsed / 1000, saturated);
		if (res == LS_SEND_OK) {
			LS_COUNT(d->m->wire_bytes, payload->len);
			count_sent(d->m, recs, n);
			finish(s, recs, n);
			if (ls_refuse_accepted(&d->refuse, sent_at))
				log_notice(
				    "%s: the intake takes entries again; "
				    "no longer holding",
				    c->name);
			recovered(d);
			return;
		}
		describe(s, rc, status, why, sizeof why);
		if (res == LS_SEND_SPLIT) {
			LS_COUNT(d->m->splits, 1);
			log_info(
			    "%s: %s; splitting %zu entries", c->name, why, n);
			if (n > 1) {
				send_range(
				    s, recs, n / 2, max_msg, ctx, 0, since);
				send_range(s, recs + n / 2, n - n / 2, max_msg,
				    ctx, 0, since);
				return;
			}
			if (max_msg == 0
			    || max_msg > ls_encode_message_len(recs[0]))
				max_msg = ls_encode_message_len(recs[0]);
			if (max_msg / 2 >= MIN_ENTRY_BYTES) {
				send_range(
				    s, recs, 1, max_msg / 2, ctx, 0, since);
				return;
			}
			LS_COUNT(d->m->dropped[LS_DROP_OVERSIZE], 1);
			finish(s, recs, 1);
			log_warnx("%s: dropped an entry the intake refuses "
				  "even cut to %zu bytes (%s)",
			    c->name, max_msg, why);
			return;
		}
		if (res == LS_SEND_REJECT) {
			refused(s, recs, n, max_msg, ctx, status,
			    ls_refuse_tick(&d->refuse, NULL), ok_seen, since,
			    why);
			return;
		}

		/* Retry: back_off() above has set the wait. */
		LS_COUNT(d->m->retries, 1);
		/* A problem of the configuration is logged at every retry,
		 * the others once until the destination recovers. */
		if (!atomic_exchange(&d->failing, 1) || hint != NULL)
			log_warnx("%s: %s; retrying in %lld ms%s%s%s", c->name,
			    why, (long long)delay, hint ? " (" : "",
			    hint ? hint : "", hint ? ")" : "");
		else
			log_debug("%s: %s; retrying in %lld ms", c->name, why,
			    (long long)delay);
	}
}

struct ls_send_outcome
ls_sender_send(struct ls_sender *s, struct ls_batch *batch, struct ls_ctx *ctx)
{
	struct ls_send_outcome o;
	struct ls_record *tmp;
	size_t i, k;

	if (s->isdone_cap < batch->n) {
		s->isdone = xreallocarray(s->isdone, batch->n, 1);
		s->isdone_cap = batch->n;
	}
	memset(s->isdone, 0, batch->n);
	s->base = batch->recs;
	s->done = 0;
	s->failed = NULL;
	send_range(
	    s, batch->recs, batch->n, s->d->conf->max_entry_bytes, ctx, 0, 0);
	/* What is done goes to the front, in order; the rest (deferred or
	 * cut short) after it, in order. */
	for (i = k = 0; i < batch->n; i++)
		if (s->isdone[i]) {
			tmp = batch->recs[i];
			memmove(batch->recs + k + 1, batch->recs + k,
			    (i - k) * sizeof *batch->recs);
			batch->recs[k++] = tmp;
		}
	s->base = NULL;
	o.taken = s->done;
	o.why = s->failed;
	if (s->failed != NULL)
		o.verdict = LS_SEND_FAILED;
	else if (s->done == batch->n)
		o.verdict = LS_SEND_ALL_TAKEN;
	else if (ls_ctx_done(ctx))
		o.verdict = LS_SEND_CUT;
	else
		o.verdict = LS_SEND_DEFERRED;
	if (s->failed != NULL)
		log_warnx("%s: %s: %zu entries unsent", s->d->conf->name,
		    s->failed, batch->n - s->done);
	return o;
}

int64_t
ls_sender_dest_backoff_ms(struct ls_sender_dest *d)
{
	int64_t nb = atomic_load(&d->not_before), fl = atomic_load(&d->floor);
	int64_t until = nb > fl ? nb : fl, now = ls_now_ms();

	return until > now ? until - now : 0;
}
