/*
 * sender_refused: the worker's side of refused entries (refuse.h holds
 * the state machine that decides; sender_impl.h lists the family): a
 * refused batch halved until the refused entries stand alone, an entry
 * alone dropped (counted, logged at a bounded rate) or deferred, and the
 * deferred entries' last refusals remembered.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "log.h"
#include "sender_impl.h"

/* How much of a refused entry's message is shown in the log. */
#define REFUSED_SHOWN 80
/* At most one warning about refused entries this often; the others are
 * counted into the next one. */
#define REFUSED_LOG_MS 1000

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
void
sender_deferred_forget(
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
 * recs[0..n-1] were refused (400, 422, another 4xx after its tries) with
 * status; refused: the tick of that answer; ok_seen: the newest accepted
 * send tick when they were sent; since: the refusal that bisected them (0:
 * none). A batch is halved until the refused entries stand alone; one
 * alone is dropped only when proven bad (refuse.h), else deferred: left
 * undone, the caller sends it again after the rest. A held destination
 * neither halves nor drops: it backs off and defers.
 */
void
sender_refused(struct ls_sender *s, struct ls_record *const *recs, size_t n,
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
		sender_send_range(s, recs, n / 2, max_msg, ctx, 0, refused_at);
		sender_send_range(
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
		sender_finish(s, recs, 1);
		log_refused(s, recs[0], why);
		return;
	}
	if (n == 1)
		deferred_put(d, recs[0], refused_at);
	LS_COUNT(d->m->deferred, n);
	LS_COUNT(d->m->retries, 1);
	delay = sender_back_off(
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
