/*
 * sender_retry: what an answer means, and the destination's pace
 * (sender_impl.h lists the family): the answers classified, the backoff
 * shared by a destination's workers, Retry-After, the turn to send and
 * the probe, recovery, and adaptive concurrency (aimd.h).
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"
#include "sender_impl.h"

/* Retry-After is a floor on the wait, but a bogus one must not park a
 * destination for a day. */
#define RETRY_AFTER_CAP_MS (300 * 1000)

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

/* How long a worker waiting out a backoff sleeps at most before it looks
 * again: a success elsewhere ends the backoff for everyone. */
#define WAIT_SLICE_MS 200

/*
 * Waits for this worker's turn to send. TURN_GO once the backoff and the
 * floor have passed; TURN_PROBE when, during a backoff, this worker won the
 * probe: it may send one entry to learn whether the intake is back, so a
 * long backoff does not delay recovery (retry.probe); TURN_CANCELLED if ctx
 * ended the wait.
 */
enum turn
sender_wait_turn(struct ls_sender_dest *d, struct ls_ctx *ctx)
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
void
sender_recovered(struct ls_sender_dest *d)
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
/* Adaptive concurrency: one more request's verdict, and the limit that
 * follows (aimd.h). */
void
sender_adapt(struct ls_sender_dest *d, int rc, long status, int64_t rtt_ms,
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

/*
 * May a worker that holds a connection permit send now? Not before the
 * floor, and not before the backoff unless it sends a probe.
 */
int
sender_may_send(struct ls_sender_dest *d, int probe)
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
int64_t
sender_back_off(
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

int64_t
ls_sender_dest_backoff_ms(struct ls_sender_dest *d)
{
	int64_t nb = atomic_load(&d->not_before), fl = atomic_load(&d->floor);
	int64_t until = nb > fl ? nb : fl, now = ls_now_ms();

	return until > now ? until - now : 0;
}
