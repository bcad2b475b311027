/* metrics: see metrics.h. */
#include "config.h"

#include <stdlib.h>

#include "metrics.h"
#include "xmalloc.h"

struct ls_metrics *
ls_metrics_new(size_t ndests, size_t nsources)
{
	struct ls_metrics *m;

	/* calloc'd atomics start at zero, as atomic_init would set them. */
	m = xcalloc(1, sizeof *m);
	m->ndests = ndests;
	m->dest = xcalloc(ndests ? ndests : 1, sizeof *m->dest);
	m->nsources = nsources;
	m->backlog_ms = xcalloc(nsources ? nsources : 1, sizeof *m->backlog_ms);
	return m;
}

void
ls_metrics_free(struct ls_metrics *m)
{
	if (m == NULL)
		return;
	free(m->dest);
	free(m->backlog_ms);
	free(m);
}

uint64_t
ls_metrics_dropped(struct ls_dest_metrics *dm)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LS_DROP_COUNT; i++)
		n += LS_LOAD(dm->dropped[i]);
	return n;
}

void
ls_metrics_summary(
    struct ls_metrics *m, const struct ls_conf *conf, struct ls_buf *out)
{
	struct ls_dest_metrics *dm;
	size_t d;
	int s;
	uint64_t n;

	ls_buf_printf(
	    out, "read %llu", (unsigned long long)LS_LOAD(m->lines_read));
	for (d = 0; d < m->ndests; d++) {
		dm = &m->dest[d];
		ls_buf_printf(out, " | %s: sent %llu", conf->dests[d].name,
		    (unsigned long long)LS_LOAD(dm->sent));
		for (s = 0; s < LS_SEV_COUNT; s++) {
			if ((n = LS_LOAD(dm->sent_by_sev[s])) == 0)
				continue;
			ls_buf_printf(out, " %s=%llu",
			    ls_severity_name((enum ls_severity)s),
			    (unsigned long long)n);
		}
		ls_buf_printf(out, ", queued %llu, retries %llu, dropped %llu",
		    (unsigned long long)(LS_LOAD(dm->routed) - LS_LOAD(dm->sent)
			- ls_metrics_dropped(dm)),
		    (unsigned long long)LS_LOAD(dm->retries),
		    (unsigned long long)ls_metrics_dropped(dm));
	}
	for (d = 0; d < m->nsources; d++) {
		if ((n = (uint64_t)LS_LOAD(m->backlog_ms[d])) < 1000)
			continue;
		ls_buf_printf(out, " | backlog %s: %.0fs",
		    conf->sources[d].name, n / 1000.0);
	}
}
