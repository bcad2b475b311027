/*
 * sender: see sender.h.
 *
 * One request at a time per worker, with a blocking curl_easy_perform():
 * the worker pool is the concurrency, the semaphore bounds the
 * connections, and the context reaches into curl through the progress
 * callback (polled at least once a second by curl) and CURLOPT_TIMEOUT_MS.
 *
 * The rest of the family (sender_impl.h): the curl handle in
 * sender_http.c, the pace and the answers' classes in sender_retry.c, the
 * refused entries in sender_refused.c.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "encode.h"
#include "log.h"
#include "sender_impl.h"
#include "xmalloc.h"

/* A single entry answered 413 is cut to half its length as sent (escaped)
 * each time, down to this; then it is dropped. */
#define MIN_ENTRY_BYTES 1024

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

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* The destination is done with these records, sent or dropped: marked
 * taken (the caller acknowledges them: ls_sender_send). */
void
sender_finish(struct ls_sender *s, struct ls_record *const *recs, size_t n)
{
	struct ls_sender_dest *d = s->d;

	/* Not always a prefix: a deferred entry is left out. */
	memset(s->isdone + (recs - s->base), 1, n);
	s->done += n;
	sender_deferred_forget(d, recs, n);
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
 * Sends recs[0..n-1] until done. max_msg cuts each message (0: no cut).
 * probe: this call is a probe that already has its turn for the first
 * attempt. since: the tick of the refusal this range is half of (0:
 * none). Recursion depth is at most log2(max_entries) + the single-entry
 * cuts + 1. Entries refused and not proven bad are left undone
 * (sender_refused()).
 */
void
sender_send_range(struct ls_sender *s, struct ls_record *const *recs, size_t n,
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
	if (sender_sync_codec(s) != 0) {
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
		sender_send_range(s, recs, n / 2, max_msg, ctx, probe, since);
		sender_send_range(
		    s, recs + n / 2, n - n / 2, max_msg, ctx, 0, since);
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
		turn = probe ? TURN_GO : sender_wait_turn(d, ctx);
		switch (turn) {
		case TURN_CANCELLED:
			return; /* the records stay unsent */
		case TURN_PROBE:
			if (n > 1) {
				/* One entry tests the intake; the rest
				 * follows when it is back. */
				sender_send_range(
				    s, recs, 1, max_msg, ctx, 1, since);
				sender_send_range(
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
		if (!sender_may_send(d, probing)) {
			ls_sem_release(d->sem);
			continue;
		}
		saturated = c->adaptive_concurrency
		    && ls_sem_in_use(d->sem) >= ls_sem_limit(d->sem);
		sent_at = ls_refuse_tick(&d->refuse, &ok_seen);
		t0 = mono_us();
		rc = sender_post(s, payload, ctx, &status);
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
			sender_fall_back(s, status);
			if (sender_sync_codec(s) != 0) {
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
		    && sender_not_the_intake(s)) {
			res = LS_SEND_RETRY;
			hint = "not the intake's JSON answer: check the url";
		}
		delay = 0;
		if (res == LS_SEND_RETRY && !cut_short)
			delay = sender_back_off(s, status, NULL, &hint);
		ls_sem_release(d->sem);
		ls_metrics_request(d->m, rc == CURLE_OK ? status : 0, n,
		    payload->len, elapsed);
		if (cut_short)
			return;
		if (c->adaptive_concurrency)
			sender_adapt(d, rc, status, elapsed / 1000, saturated);
		if (res == LS_SEND_OK) {
			LS_COUNT(d->m->wire_bytes, payload->len);
			count_sent(d->m, recs, n);
			sender_finish(s, recs, n);
			if (ls_refuse_accepted(&d->refuse, sent_at))
				log_notice(
				    "%s: the intake takes entries again; "
				    "no longer holding",
				    c->name);
			sender_recovered(d);
			return;
		}
		sender_describe(s, rc, status, why, sizeof why);
		if (res == LS_SEND_SPLIT) {
			LS_COUNT(d->m->splits, 1);
			log_info(
			    "%s: %s; splitting %zu entries", c->name, why, n);
			if (n > 1) {
				sender_send_range(
				    s, recs, n / 2, max_msg, ctx, 0, since);
				sender_send_range(s, recs + n / 2, n - n / 2,
				    max_msg, ctx, 0, since);
				return;
			}
			if (max_msg == 0
			    || max_msg > ls_encode_message_len(recs[0]))
				max_msg = ls_encode_message_len(recs[0]);
			if (max_msg / 2 >= MIN_ENTRY_BYTES) {
				sender_send_range(
				    s, recs, 1, max_msg / 2, ctx, 0, since);
				return;
			}
			LS_COUNT(d->m->dropped[LS_DROP_OVERSIZE], 1);
			sender_finish(s, recs, 1);
			log_warnx("%s: dropped an entry the intake refuses "
				  "even cut to %zu bytes (%s)",
			    c->name, max_msg, why);
			return;
		}
		if (res == LS_SEND_REJECT) {
			sender_refused(s, recs, n, max_msg, ctx, status,
			    ls_refuse_tick(&d->refuse, NULL), ok_seen, since,
			    why);
			return;
		}

		/* Retry: sender_back_off() above has set the wait. */
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
	sender_send_range(
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
