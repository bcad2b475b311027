/*
 * status_impl.h: private to the status renderers (status.c, status_prom.c,
 * status_json.c); nothing else includes it (the API is status.h).
 *
 *	status.c	the input's shared figures: pending lines, the
 *			health verdict of each destination and of all
 *	status_prom.c	the Prometheus text exposition, for /metrics
 *	status_json.c	the /status document
 *	status_table.c	the table for people (SIGUSR1, "logshipd status"),
 *			from a /status document, so it needs nothing here
 *
 * The rest of the family feeds and serves them: status_metrics (the
 * counters), status_monitor (fills struct ls_status_in on the main
 * thread), status_snapshot and status_httpd (serve the renderings),
 * status_cmd ("logshipd status").
 */
#ifndef LS_STATUS_IMPL_H
#define LS_STATUS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "status_metrics.h"

static const char *const drop_names[] = {
	[LS_DROP_REJECTED] = "rejected",
	[LS_DROP_OVERSIZE] = "oversize",
	[LS_DROP_FULL] = "full",
	[LS_DROP_RELOAD] = "reload",
	[LS_DROP_UNPROCESSABLE] = "unprocessable",
	[LS_DROP_CLIENT_ERROR] = "client_error",
};
_Static_assert(sizeof drop_names / sizeof drop_names[0] == LS_DROP_COUNT,
    "status_impl.h: name every drop reason");

static inline size_t
ndests(const struct ls_status_in *in)
{
	return in->m->ndests < in->conf->ndests ? in->m->ndests
						: in->conf->ndests;
}

static inline size_t
nsources(const struct ls_status_in *in)
{
	return in->m->nsources < in->conf->nsources ? in->m->nsources
						    : in->conf->nsources;
}

static inline double
secs(int64_t ms)
{
	return ms / 1000.0;
}

#endif
