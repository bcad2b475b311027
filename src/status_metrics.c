/* status_metrics: see status_metrics.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "status_metrics.h"
#include "rules.h"
#include "xmalloc.h"

const double ls_latency_bounds[LS_LATENCY_NBUCKETS]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

static const char *const code_names[LS_CODE_COUNT] = {
	[LS_CODE_2XX] = "2xx",
	[LS_CODE_400] = "400",
	[LS_CODE_401] = "401",
	[LS_CODE_403] = "403",
	[LS_CODE_408] = "408",
	[LS_CODE_413] = "413",
	[LS_CODE_429] = "429",
	[LS_CODE_5XX] = "5xx",
	[LS_CODE_OTHER] = "other",
	[LS_CODE_NETWORK] = "network",
};

struct ls_metrics *
ls_metrics_new(size_t ndests, size_t nsources)
{
	struct ls_metrics *m;
	size_t i;

	/* calloc'd atomics start at zero, as atomic_init would set them. */
	m = xcalloc(1, sizeof *m);
	m->ndests = ndests;
	m->dest = xcalloc(ndests ? ndests : 1, sizeof *m->dest);
	for (i = 0; i < ndests; i++)
		m->dest[i] = ls_dest_metrics_new();
	m->nsources = nsources;
	m->backlog_ms = xcalloc(nsources ? nsources : 1, sizeof *m->backlog_ms);
	/* One spare slot counts lines of no known source (tail_record.c). */
	m->source_lines = xcalloc(nsources + 1, sizeof *m->source_lines);
	m->source_bytes = xcalloc(nsources + 1, sizeof *m->source_bytes);
	m->start_ms = ls_now_ms();
	m->start_wall_ms = ls_wall_ms();
	return m;
}

void
ls_metrics_free(struct ls_metrics *m)
{
	if (m == NULL)
		return;
	ls_metrics_set_dests(m, NULL, 0);
	free(m->dest);
	free(m->backlog_ms);
	free(m->source_lines);
	free(m->source_bytes);
	free(m);
}

enum ls_code
ls_metrics_code(long status)
{
	if (status == 0)
		return LS_CODE_NETWORK;
	if (status >= 200 && status < 300)
		return LS_CODE_2XX;
	if (status >= 500 && status < 600)
		return LS_CODE_5XX;
	switch (status) {
	case 400:
		return LS_CODE_400;
	case 401:
		return LS_CODE_401;
	case 403:
		return LS_CODE_403;
	case 408:
		return LS_CODE_408;
	case 413:
		return LS_CODE_413;
	case 429:
		return LS_CODE_429;
	default:
		return LS_CODE_OTHER;
	}
}

const char *
ls_metrics_code_name(enum ls_code c)
{
	return (unsigned)c < LS_CODE_COUNT ? code_names[c] : "other";
}

void
ls_metrics_request(struct ls_dest_metrics *dm, long status, uint64_t n,
    uint64_t bytes, int64_t us)
{
	enum ls_code c = ls_metrics_code(status);
	int b;

	LS_COUNT(dm->req_by_code[c], 1);
	LS_COUNT(dm->entries_by_code[c], n);
	LS_COUNT(dm->bytes_by_code[c], bytes);
	if (us < 0)
		us = 0;
	/* A bound is inclusive ("le"): 5000 us goes in the 0.005 bucket. */
	for (b = 0; b < LS_LATENCY_NBUCKETS; b++)
		if ((double)us <= ls_latency_bounds[b] * 1e6)
			break;
	LS_COUNT(dm->latency[b], 1);
	LS_COUNT(dm->latency_sum_us, (uint64_t)us);
	if (c == LS_CODE_2XX)
		atomic_store_explicit(
		    &dm->last_ok_ms, ls_now_ms(), memory_order_relaxed);
}

void
ls_metrics_set_paused(struct ls_metrics *m, int paused, int64_t now_ms)
{
	int64_t since = LS_LOAD(m->paused_since_ms);

	if (paused && since == 0)
		atomic_store_explicit(&m->paused_since_ms,
		    now_ms > 0 ? now_ms : 1, memory_order_relaxed);
	else if (!paused && since != 0) {
		LS_COUNT(m->paused_ms, now_ms - since);
		atomic_store_explicit(
		    &m->paused_since_ms, 0, memory_order_relaxed);
	}
}

int64_t
ls_metrics_paused_ms(struct ls_metrics *m, int64_t now_ms)
{
	int64_t since = LS_LOAD(m->paused_since_ms);

	return LS_LOAD(m->paused_ms) + (since != 0 ? now_ms - since : 0);
}

/* new's per-source array of counters, carried over from old's by name. */
#define REMAP(field, type)                                                     \
	do {                                                                   \
		type *a = xcalloc(new->nsources + 1, sizeof *a);               \
		for (i = 0; i < new->nsources; i++)                            \
			for (k = 0; k < old->nsources && k < m->nsources; k++) \
				if (strcmp(old->sources[k].name,               \
					new->sources[i].name)                  \
				    == 0)                                      \
					atomic_init(                           \
					    &a[i], LS_LOAD(m->field[k]));      \
		free(m->field);                                                \
		m->field = a;                                                  \
	} while (0)

void
ls_metrics_set_sources(
    struct ls_metrics *m, const struct ls_conf *old, const struct ls_conf *new)
{
	size_t i, k;

	REMAP(backlog_ms, atomic_int_fast64_t);
	REMAP(source_lines, atomic_uint_fast64_t);
	REMAP(source_bytes, atomic_uint_fast64_t);
	m->nsources = new->nsources;
	/* The rules' counters live in the configuration: the new one's
	 * start from the old one's, by source and rule name. */
	if (old != new)
		for (i = 0; i < new->nsources; i++)
			for (k = 0; k < old->nsources; k++)
				if (strcmp(old->sources[k].name,
					new->sources[i].name)
				    == 0)
					ls_rules_carry(new->sources[i].rules,
					    old->sources[k].rules);
}
#undef REMAP

struct ls_dest_metrics *
ls_dest_metrics_new(void)
{
	struct ls_dest_metrics *dm;

	dm = xcalloc(1, sizeof *dm);
	atomic_init(&dm->refs, 1);
	return dm;
}

struct ls_dest_metrics *
ls_dest_metrics_ref(struct ls_dest_metrics *dm)
{
	atomic_fetch_add(&dm->refs, 1);
	return dm;
}

void
ls_dest_metrics_unref(struct ls_dest_metrics *dm)
{
	if (dm != NULL && atomic_fetch_sub(&dm->refs, 1) == 1)
		free(dm);
}

void
ls_metrics_set_dests(
    struct ls_metrics *m, struct ls_dest_metrics *const *dest, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ls_dest_metrics_ref(dest[i]);
	for (i = 0; i < m->ndests; i++)
		ls_dest_metrics_unref(m->dest[i]);
	if (n > 0) {
		m->dest = xreallocarray(m->dest, n, sizeof *m->dest);
		for (i = 0; i < n; i++)
			m->dest[i] = dest[i];
	}
	m->ndests = n;
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

/* " | rules api: health excluded 3, card masked 2" for each source with
 * rules that did something. */
static void
rules_summary(const struct ls_conf *conf, struct ls_buf *out)
{
	struct ls_rule_stats st;
	size_t s, i, shown;

	for (s = 0; s < conf->nsources; s++) {
		shown = 0;
		for (i = 0; i < ls_rules_count(conf->sources[s].rules); i++) {
			ls_rules_stats(conf->sources[s].rules, i, &st);
			if (st.excluded + st.not_included + st.masked
				+ st.errors
			    == 0)
				continue;
			if (shown++ == 0)
				ls_buf_printf(out, " | rules %s: %s",
				    conf->sources[s].name, st.name);
			else
				ls_buf_printf(out, ", %s", st.name);
			if (st.excluded > 0)
				ls_buf_printf(out, " excluded %llu",
				    (unsigned long long)st.excluded);
			if (st.not_included > 0)
				ls_buf_printf(out, " not included %llu",
				    (unsigned long long)st.not_included);
			if (st.masked > 0)
				ls_buf_printf(out, " masked %llu",
				    (unsigned long long)st.masked);
			if (st.errors > 0)
				ls_buf_printf(out, " errors %llu",
				    (unsigned long long)st.errors);
		}
	}
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
		dm = m->dest[d];
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
	rules_summary(conf, out);
	for (d = 0; d < m->nsources; d++) {
		if ((n = (uint64_t)LS_LOAD(m->backlog_ms[d])) < 1000)
			continue;
		ls_buf_printf(out, " | backlog %s: %.0fs",
		    conf->sources[d].name, n / 1000.0);
	}
}
