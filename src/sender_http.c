/*
 * sender_http: a worker's curl handle (sender_impl.h lists the family):
 * its headers (the API key's in protected memory), its codec, the proxy
 * and TLS settings, one POST with a deadline from the context, and the
 * answer read, described for the log, and checked for the intake's JSON.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "secret.h"
#include "sender_impl.h"
#include "xmalloc.h"

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

/* One POST of the current body. Returns the curl code; *status is the
 * HTTP status (0 without an answer). */
int
sender_post(struct ls_sender *s, const struct ls_buf *payload,
    struct ls_ctx *ctx, long *status)
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
void
sender_describe(struct ls_sender *s, int rc, long status, char *out, size_t len)
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
int
sender_not_the_intake(const struct ls_sender *s)
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

/*
 * The intake refused zstd (415, or 400 to a zstd body): the destination
 * sends gzip from now on, logged and counted once; this worker switches at
 * once, the others before their next batch.
 */
void
sender_fall_back(struct ls_sender *s, long status)
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
int
sender_sync_codec(struct ls_sender *s)
{
	enum ls_compression want
	    = (enum ls_compression)atomic_load(&s->d->codec);

	if (want == s->codec)
		return 0;
	return set_codec(s, want);
}
