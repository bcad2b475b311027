/*
 * status: see status.h; the files of the family are listed in
 * status_impl.h.
 *
 * This file holds what every rendering shares: the lines a destination
 * holds, and whether it is healthy, which /metrics, /status, /healthz and
 * the table all show.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "status_impl.h"

/* Routed here and not yet sent or dropped: queued, batched, in flight or
 * waiting out a backoff. Done is read first: a record is counted routed
 * before it can be counted done, so the difference is never negative but
 * for the clamp that makes sure of it. */
uint64_t
ls_status_pending(struct ls_dest_metrics *dm)
{
	uint64_t done = LS_LOAD(dm->sent) + ls_metrics_dropped(dm);
	uint64_t routed = LS_LOAD(dm->routed);

	return routed > done ? routed - done : 0;
}

int
ls_status_dest_healthy(
    const struct ls_status_in *in, size_t i, struct ls_buf *why)
{
	struct ls_dest_metrics *dm = in->m->dest[i];
	const struct ls_conf_dest *c = &in->conf->dests[i];
	uint64_t n = ls_status_pending(dm);
	int64_t last = LS_LOAD(dm->last_ok_ms);
	int64_t since = last != 0 ? last : in->m->start_ms;

	const char *problem = atomic_load(&dm->problem);

	/* Holding its lines for a reason of the configuration or the
	 * intake's: unhealthy at once, naming it. */
	if (problem != NULL) {
		if (why != NULL)
			ls_buf_printf(why,
			    "destination %s: HTTP %ld: %s; %" PRIu64
			    " lines waiting",
			    c->name, (long)atomic_load(&dm->problem_status),
			    problem, n);
		return 0;
	}
	if (in->dests[i].busy_since_ms > since)
		since = in->dests[i].busy_since_ms;
	if (n == 0 || in->now_ms - since <= c->health_window_ms)
		return 1;
	if (why != NULL)
		ls_buf_printf(why,
		    "destination %s: %" PRIu64 " lines waiting, nothing "
		    "delivered for %.1fs (health_window %.1fs)",
		    c->name, n, secs(in->now_ms - since),
		    secs(c->health_window_ms));
	return 0;
}

int
ls_status_health(const struct ls_status_in *in, struct ls_buf *why)
{
	struct ls_buf one;
	size_t i;
	int ok = 1;

	ls_buf_init(&one);
	for (i = 0; i < ndests(in); i++) {
		ls_buf_reset(&one);
		if (ls_status_dest_healthy(in, i, &one))
			continue;
		if (why != NULL)
			ls_buf_printf(why, "%s%s", ok ? "" : "; ", one.data);
		ok = 0;
	}
	ls_buf_cleanup(&one);
	return ok;
}
