/*
 * status: see status.h.
 *
 * Every family of /metrics is written whole, HELP and TYPE first and then
 * all its series, so a parser never sees a family twice; every series of a
 * family is written whether or not it is zero, so rates and alerts over it
 * need no "absent" special case. Label values come from the configuration
 * (source and destination names), so they are escaped.
 *
 * The names follow Prometheus's conventions: the logshipd_ prefix, base
 * units in the name (_seconds, _bytes), _total on counters and only on
 * counters. README lists them all.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "encode.h"
#include "rules.h"
#include "status.h"
#include "xmalloc.h"

static const char *const drop_names[] = {
	[LS_DROP_REJECTED] = "rejected",
	[LS_DROP_OVERSIZE] = "oversize",
	[LS_DROP_FULL] = "full",
	[LS_DROP_RELOAD] = "reload",
	[LS_DROP_UNPROCESSABLE] = "unprocessable",
	[LS_DROP_CLIENT_ERROR] = "client_error",
};
_Static_assert(sizeof drop_names / sizeof drop_names[0] == LS_DROP_COUNT,
    "status.c: name every drop reason");

static size_t
ndests(const struct ls_status_in *in)
{
	return in->m->ndests < in->conf->ndests ? in->m->ndests
						: in->conf->ndests;
}

static size_t
nsources(const struct ls_status_in *in)
{
	return in->m->nsources < in->conf->nsources ? in->m->nsources
						    : in->conf->nsources;
}

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

/* Requests that were not answered 2xx. */
static uint64_t
errors(struct ls_dest_metrics *dm)
{
	uint64_t n = 0;
	int c;

	for (c = 0; c < LS_CODE_COUNT; c++)
		if (c != LS_CODE_2XX)
			n += LS_LOAD(dm->req_by_code[c]);
	return n;
}

static double
secs(int64_t ms)
{
	return ms / 1000.0;
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

/* -- Prometheus ---------------------------------------------------------- */

/* Label values escape \, " and newline; HELP text \ and newline. */
static void
escape(struct ls_buf *o, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			ls_buf_append(o, "\\\\", 2);
		else if (*s == '\n')
			ls_buf_append(o, "\\n", 2);
		else if (quote && *s == '"')
			ls_buf_append(o, "\\\"", 2);
		else
			ls_buf_putc(o, *s);
	}
}

static void
family(struct ls_buf *o, const char *name, const char *type, const char *help)
{
	ls_buf_printf(o, "# HELP %s ", name);
	escape(o, help, 0);
	ls_buf_printf(o, "\n# TYPE %s %s\n", name, type);
}

/* name{k1="v1",k2="v2"} and a space; a NULL key ends the labels. */
static void
series(struct ls_buf *o, const char *name, const char *suffix, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	ls_buf_printf(o, "%s%s", name, suffix);
	if (k1 != NULL) {
		ls_buf_printf(o, "{%s=\"", k1);
		escape(o, v1, 1);
		ls_buf_putc(o, '"');
		if (k2 != NULL) {
			ls_buf_printf(o, ",%s=\"", k2);
			escape(o, v2, 1);
			ls_buf_putc(o, '"');
		}
		ls_buf_putc(o, '}');
	}
	ls_buf_putc(o, ' ');
}

static void
val_u(struct ls_buf *o, uint64_t v)
{
	ls_buf_printf(o, "%" PRIu64 "\n", v);
}

static void
val_f(struct ls_buf *o, double v)
{
	ls_buf_printf(o, "%.6f\n", v);
}

/* A family of one series with no labels. */
static void
one_u(struct ls_buf *o, const char *name, const char *type, const char *help,
    uint64_t v)
{
	family(o, name, type, help);
	series(o, name, "", NULL, NULL, NULL, NULL);
	val_u(o, v);
}

static void
one_f(struct ls_buf *o, const char *name, const char *type, const char *help,
    double v)
{
	family(o, name, type, help);
	series(o, name, "", NULL, NULL, NULL, NULL);
	val_f(o, v);
}

/* Per-destination figures with no other label. */
static uint64_t
d_pending(const struct ls_status_in *in, size_t i)
{
	return ls_status_pending(in->m->dest[i]);
}

static uint64_t
d_queued(const struct ls_status_in *in, size_t i)
{
	return in->dests[i].queued_records;
}

static uint64_t
d_queued_batches(const struct ls_status_in *in, size_t i)
{
	return in->dests[i].queued_batches;
}

static uint64_t
d_healthy(const struct ls_status_in *in, size_t i)
{
	return (uint64_t)ls_status_dest_healthy(in, i, NULL);
}

/* A counter of struct ls_dest_metrics, by its offset there. */
#define DM(field) offsetof(struct ls_dest_metrics, field), NULL

/* One value per destination: a counter read where it is (get NULL), or
 * what get computes. */
static const struct {
	const char *name, *type, *help;
	size_t counter;
	uint64_t (*get)(const struct ls_status_in *, size_t);
} dest_families[] = {
	{ "logshipd_destination_routed_lines_total", "counter",
	    "Lines routed to the destination.", DM(routed) },
	{ "logshipd_destination_retries_total", "counter",
	    "Requests that failed and will be sent again (408, 429, 5xx, "
	    "401, 403, network errors).",
	    DM(retries) },
	{ "logshipd_destination_splits_total", "counter",
	    "Batches split in two after a 413 answer.", DM(splits) },
	{ "logshipd_destination_bisections_total", "counter",
	    "Refused batches (400, 422, another 4xx) split in two to find the "
	    "refused entries.",
	    DM(bisections) },
	{ "logshipd_destination_deferred_lines_total", "counter",
	    "Lines refused and kept to be sent again (not proven bad, or the "
	    "destination holding).",
	    DM(deferred) },
	{ "logshipd_destination_codec_fallbacks_total", "counter",
	    "Switches from zstd to gzip after the intake refused zstd.",
	    DM(codec_fallbacks) },
	{ "logshipd_destination_restamped_lines_total", "counter",
	    "Lines whose own time was out of Datadog's window (18 h old, "
	    "2 h ahead), sent with the current time and original_timestamp.",
	    DM(restamped) },
	{ "logshipd_destination_requests_in_flight", "gauge",
	    "Requests under way now.", DM(in_flight) },
	{ "logshipd_destination_concurrency_limit", "gauge",
	    "Requests allowed in flight now: max_connections, or what "
	    "adaptive concurrency allows.",
	    DM(concurrency_limit) },
	{ "logshipd_destination_pending_lines", "gauge",
	    "Lines routed and not yet sent or dropped: queued, batched, in "
	    "flight or waiting out a backoff.",
	    0, d_pending },
	{ "logshipd_destination_pending_bytes", "gauge",
	    "Bytes of the pending lines (what on_full weighs).",
	    DM(held_bytes) },
	{ "logshipd_destination_queued_lines", "gauge",
	    "Lines waiting in the destination's queue for its batcher.", 0,
	    d_queued },
	{ "logshipd_destination_queued_batches", "gauge",
	    "Batches waiting for a worker.", 0, d_queued_batches },
	{ "logshipd_destination_healthy", "gauge",
	    "1 when the destination holds nothing to send or delivered within "
	    "its health_window, else 0.",
	    0, d_healthy },
};

static void
prom_dests(const struct ls_status_in *in, struct ls_buf *o)
{
	static const char *const n_sent
	    = "logshipd_destination_sent_lines_total",
	    *const n_drop = "logshipd_destination_dropped_lines_total",
		   *const n_req = "logshipd_destination_requests_total",
		   *const n_ent = "logshipd_destination_request_entries_total",
		   *const n_bytes = "logshipd_destination_request_bytes_total",
		   *const n_lat
	    = "logshipd_destination_request_duration_seconds",
		   *const n_ok
	    = "logshipd_destination_last_success_timestamp_seconds",
		   *const n_backoff = "logshipd_destination_backoff_seconds";
	const struct ls_conf *c = in->conf;
	struct ls_dest_metrics *dm;
	uint64_t b[LS_LATENCY_NBUCKETS + 1], cum;
	char le[32];
	size_t i, f;
	int s, k;
	int64_t last;

	for (f = 0; f < sizeof dest_families / sizeof dest_families[0]; f++) {
		family(o, dest_families[f].name, dest_families[f].type,
		    dest_families[f].help);
		for (i = 0; i < ndests(in); i++) {
			series(o, dest_families[f].name, "", "destination",
			    c->dests[i].name, NULL, NULL);
			val_u(o,
			    dest_families[f].get != NULL
				? dest_families[f].get(in, i)
				: LS_LOAD(
				    *(atomic_uint_fast64_t *)((char *)
								  in->m->dest[i]
					+ dest_families[f].counter)));
		}
	}

	family(o, n_sent, "counter",
	    "Lines the destination took (2xx), by severity.");
	for (i = 0; i < ndests(in); i++)
		for (s = 0; s < LS_SEV_COUNT; s++) {
			series(o, n_sent, "", "destination", c->dests[i].name,
			    "severity", ls_severity_name((enum ls_severity)s));
			val_u(o, LS_LOAD(in->m->dest[i]->sent_by_sev[s]));
		}

	family(o, n_drop, "counter",
	    "Lines given up, by reason: rejected (400), unprocessable "
	    "(422), client_error (another 4xx), each to the line alone "
	    "while the intake took others; oversize (413 even cut down), "
	    "full (on_full: drop_newest), reload (the destination was "
	    "removed by a reload).");
	for (i = 0; i < ndests(in); i++)
		for (k = 0; k < LS_DROP_COUNT; k++) {
			series(o, n_drop, "", "destination", c->dests[i].name,
			    "reason", drop_names[k]);
			val_u(o, LS_LOAD(in->m->dest[i]->dropped[k]));
		}

	family(o, n_req, "counter",
	    "Requests, by answer: 2xx, 400, 401, 403, 408, 413, 429, 5xx, "
	    "other, or network (no answer).");
	for (i = 0; i < ndests(in); i++)
		for (k = 0; k < LS_CODE_COUNT; k++) {
			series(o, n_req, "", "destination", c->dests[i].name,
			    "code", ls_metrics_code_name((enum ls_code)k));
			val_u(o, LS_LOAD(in->m->dest[i]->req_by_code[k]));
		}
	family(o, n_ent, "counter", "Entries in the requests, by answer.");
	for (i = 0; i < ndests(in); i++)
		for (k = 0; k < LS_CODE_COUNT; k++) {
			series(o, n_ent, "", "destination", c->dests[i].name,
			    "code", ls_metrics_code_name((enum ls_code)k));
			val_u(o, LS_LOAD(in->m->dest[i]->entries_by_code[k]));
		}
	family(o, n_bytes, "counter",
	    "Request body bytes as sent (compressed if so), by answer.");
	for (i = 0; i < ndests(in); i++)
		for (k = 0; k < LS_CODE_COUNT; k++) {
			series(o, n_bytes, "", "destination", c->dests[i].name,
			    "code", ls_metrics_code_name((enum ls_code)k));
			val_u(o, LS_LOAD(in->m->dest[i]->bytes_by_code[k]));
		}

	family(
	    o, n_lat, "histogram", "How long requests took, answered or not.");
	for (i = 0; i < ndests(in); i++) {
		dm = in->m->dest[i];
		/* Each bucket once, so that +Inf and _count agree. */
		for (k = 0; k <= LS_LATENCY_NBUCKETS; k++)
			b[k] = LS_LOAD(dm->latency[k]);
		for (k = 0, cum = 0; k <= LS_LATENCY_NBUCKETS; k++) {
			cum += b[k];
			if (k < LS_LATENCY_NBUCKETS)
				snprintf(
				    le, sizeof le, "%g", ls_latency_bounds[k]);
			else
				snprintf(le, sizeof le, "+Inf");
			series(o, n_lat, "_bucket", "destination",
			    c->dests[i].name, "le", le);
			val_u(o, cum);
		}
		series(o, n_lat, "_sum", "destination", c->dests[i].name, NULL,
		    NULL);
		val_f(o, LS_LOAD(dm->latency_sum_us) / 1e6);
		series(o, n_lat, "_count", "destination", c->dests[i].name,
		    NULL, NULL);
		val_u(o, cum);
	}

	family(o, n_ok, "gauge",
	    "When the destination last answered 2xx, in seconds since the "
	    "epoch; 0 if never.");
	for (i = 0; i < ndests(in); i++) {
		last = LS_LOAD(in->m->dest[i]->last_ok_ms);
		series(
		    o, n_ok, "", "destination", c->dests[i].name, NULL, NULL);
		val_f(
		    o, last == 0 ? 0 : secs(in->wall_ms - (in->now_ms - last)));
	}
	family(o, n_backoff, "gauge",
	    "How long the destination still backs off after failures; 0 when "
	    "it does not.");
	for (i = 0; i < ndests(in); i++) {
		series(o, n_backoff, "", "destination", c->dests[i].name, NULL,
		    NULL);
		val_f(o, secs(in->dests[i].backoff_ms));
	}
}

static void
prom_sources(const struct ls_status_in *in, struct ls_buf *o)
{
	static const char *const n_lines
	    = "logshipd_read_lines_total",
	    *const n_bytes = "logshipd_read_bytes_total",
		   *const n_backlog = "logshipd_backlog_age_seconds",
		   *const n_sev = "logshipd_read_severity_lines_total";
	const struct ls_conf *c = in->conf;
	size_t i;
	int s;

	family(o, n_lines, "counter", "Lines read, by source.");
	for (i = 0; i < nsources(in); i++) {
		series(
		    o, n_lines, "", "source", c->sources[i].name, NULL, NULL);
		val_u(o, LS_LOAD(in->m->source_lines[i]));
	}
	family(o, n_bytes, "counter", "Bytes read, by source.");
	for (i = 0; i < nsources(in); i++) {
		series(
		    o, n_bytes, "", "source", c->sources[i].name, NULL, NULL);
		val_u(o, LS_LOAD(in->m->source_bytes[i]));
	}
	family(o, n_backlog, "gauge",
	    "Age of the source's oldest line not yet done by every "
	    "destination; 0 when none.");
	for (i = 0; i < nsources(in); i++) {
		series(
		    o, n_backlog, "", "source", c->sources[i].name, NULL, NULL);
		val_f(o, secs(LS_LOAD(in->m->backlog_ms[i])));
	}
	family(o, n_sev, "counter", "Lines read, by severity.");
	for (s = 0; s < LS_SEV_COUNT; s++) {
		series(o, n_sev, "", "severity",
		    ls_severity_name((enum ls_severity)s), NULL, NULL);
		val_u(o, LS_LOAD(in->m->read_by_sev[s]));
	}
}

/*
 * The processing rules' counters, labelled by source and rule: each
 * family has the series of the rules of its type (a mask rule excludes
 * nothing), errors every rule's.
 */
static void
prom_rules(const struct ls_status_in *in, struct ls_buf *o)
{
	static const struct {
		const char *name, *help;
		int type; /* -1: every rule */
	} fam[] = {
		{ "logshipd_rule_excluded_lines_total",
		    "Entries an exclude_at_match rule dropped, by source and "
		    "rule.",
		    LS_RULE_EXCLUDE },
		{ "logshipd_rule_not_included_lines_total",
		    "Entries an include_at_match rule dropped (no match), by "
		    "source and rule.",
		    LS_RULE_INCLUDE },
		{ "logshipd_rule_masked_lines_total",
		    "Entries in which a mask_sequences rule replaced at least "
		    "one sequence, by source and rule.",
		    LS_RULE_MASK },
		{ "logshipd_rule_errors_total",
		    "Entries a rule's pattern could not be evaluated on (a "
		    "match limit): a filter keeps them, a mask withholds them "
		    "whole.",
		    -1 },
	};
	const struct ls_conf *c = in->conf;
	struct ls_rule_stats st;
	size_t f, i, r;
	uint64_t v;

	for (f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		family(o, fam[f].name, "counter", fam[f].help);
		for (i = 0; i < nsources(in); i++) {
			for (r = 0; r < ls_rules_count(c->sources[i].rules);
			     r++) {
				ls_rules_stats(c->sources[i].rules, r, &st);
				if (fam[f].type >= 0
				    && strcmp(st.type,
					   ls_rule_type_name(fam[f].type))
					!= 0)
					continue;
				v = fam[f].type == LS_RULE_EXCLUDE ? st.excluded
				    : fam[f].type == LS_RULE_INCLUDE
				    ? st.not_included
				    : fam[f].type == LS_RULE_MASK ? st.masked
								  : st.errors;
				series(o, fam[f].name, "", "source",
				    c->sources[i].name, "rule", st.name);
				val_u(o, v);
			}
		}
	}
}

void
ls_status_prometheus(const struct ls_status_in *in, struct ls_buf *o)
{
	struct ls_metrics *m = in->m;
	int64_t ck = LS_LOAD(m->checkpoint_ms);

	family(o, "logshipd_build_info", "gauge",
	    "Always 1; the version is a label.");
	series(o, "logshipd_build_info", "", "version", PACKAGE_VERSION, NULL,
	    NULL);
	val_u(o, 1);
	one_f(o, "logshipd_start_time_seconds", "gauge",
	    "When logshipd started, in seconds since the epoch.",
	    secs(m->start_wall_ms));
	one_u(o, "logshipd_healthy", "gauge",
	    "1 when every destination is healthy (what /healthz answers "
	    "200 for), else 0.",
	    (uint64_t)ls_status_health(in, NULL));
	prom_sources(in, o);
	prom_rules(in, o);
	one_u(o, "logshipd_unrouted_lines_total", "counter",
	    "Lines of severities routed to no destination.",
	    LS_LOAD(m->unrouted));
	one_u(o, "logshipd_truncated_lines_total", "counter",
	    "Lines longer than max_line_bytes, cut and marked.",
	    LS_LOAD(m->lines_truncated));
	one_u(o, "logshipd_multiline_joined_lines_total", "counter",
	    "Continuation lines joined to a multiline entry.",
	    LS_LOAD(m->multiline_joined));
	one_u(o, "logshipd_inotify_wakeups_total", "counter",
	    "Times the tailer woke for inotify events (read_coalesce spaces "
	    "them out).",
	    LS_LOAD(m->inotify_wakeups));
	one_u(o, "logshipd_open_files", "gauge", "Log files open now.",
	    LS_LOAD(m->files_open));
	one_u(o, "logshipd_open_files_limited_total", "counter",
	    "Times a file waited for a descriptor under max_open_files.",
	    LS_LOAD(m->open_files_limited));
	one_u(o, "logshipd_truncations_total", "counter",
	    "Files found shorter than their read offset (copytruncate).",
	    LS_LOAD(m->truncations));
	one_u(o, "logshipd_truncations_without_copy_total", "counter",
	    "Truncations for which no copy was found to finish reading.",
	    LS_LOAD(m->truncations_no_copy));
	one_u(o, "logshipd_suspected_loss_bytes_total", "counter",
	    "Bytes seen in a file and truncated away before they were read.",
	    LS_LOAD(m->suspected_loss_bytes));
	one_u(o, "logshipd_removed_unread_bytes_total", "counter",
	    "Bytes of deleted files closed before they were read.",
	    LS_LOAD(m->removed_unread_bytes));
	one_u(o, "logshipd_inode_reuse_total", "counter",
	    "Files whose inode turned out to hold another file.",
	    LS_LOAD(m->inode_reuse));
	one_u(o, "logshipd_paths_refused_total", "counter",
	    "Matched paths not read: symbolic links not followed, or whose "
	    "target is out of bounds, and files swapped since matched.",
	    LS_LOAD(m->paths_refused));
	one_u(o, "logshipd_checkpoint_writes_total", "counter",
	    "Checkpoints written.", LS_LOAD(m->checkpoint_writes));
	one_u(o, "logshipd_checkpoint_errors_total", "counter",
	    "Checkpoints that could not be written.",
	    LS_LOAD(m->checkpoint_errors));
	one_f(o, "logshipd_checkpoint_age_seconds", "gauge",
	    "Time since the last checkpoint was written (since the start if "
	    "none was).",
	    secs(in->now_ms - (ck != 0 ? ck : m->start_ms)));
	one_u(o, "logshipd_reading_paused", "gauge",
	    "1 while reading is paused by max_buffer_bytes.",
	    (uint64_t)(in->paused != 0));
	one_f(o, "logshipd_reading_paused_seconds_total", "counter",
	    "Time reading spent paused by max_buffer_bytes.",
	    secs(ls_metrics_paused_ms(m, in->now_ms)));
	one_u(o, "logshipd_buffer_used_bytes", "gauge",
	    "Bytes of lines read and not yet done by every destination.",
	    in->buffer_used);
	one_u(o, "logshipd_buffer_limit_bytes", "gauge",
	    "max_buffer_bytes: reading pauses at this.",
	    in->conf->max_buffer_bytes);
	prom_dests(in, o);
}

/* -- JSON ---------------------------------------------------------------- */

static void
set_u(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static void
set_f(json_t *o, const char *k, double v)
{
	json_object_set_new(o, k, json_real(v));
}

/* A JSON string of s, whatever bytes it holds (paths need not be UTF-8):
 * invalid sequences become U+FFFD, as on the wire. */
static json_t *
jstr(const char *s)
{
	struct ls_buf b;
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	ls_buf_init(&b);
	ls_json_escape(&b, s, strlen(s));
	j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
	ls_buf_cleanup(&b);
	return j != NULL ? j : json_string("?");
}

static json_t *
json_file(const struct ls_file_info *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", jstr(f->path));
	set_u(o, "inode", f->ino);
	set_u(o, "committed", f->committed);
	set_u(o, "read", f->read);
	set_u(o, "size", f->size);
	set_u(o, "lag_bytes",
	    f->size > f->committed ? f->size - f->committed : 0);
	json_object_set_new(o, "open", json_boolean(f->open));
	json_object_set_new(o, "deleted", json_boolean(f->deleted));
	return o;
}

static json_t *
json_source(const struct ls_status_in *in, size_t s)
{
	const struct ls_conf_source *src = &in->conf->sources[s];
	json_t *o = json_object(), *files = json_array(), *rules, *r;
	struct ls_rule_stats st;
	size_t i, total = 0;

	json_object_set_new(o, "name", jstr(src->name));
	set_u(o, "lines", LS_LOAD(in->m->source_lines[s]));
	set_u(o, "bytes", LS_LOAD(in->m->source_bytes[s]));
	set_f(o, "backlog_age_s", secs(LS_LOAD(in->m->backlog_ms[s])));
	rules = json_array();
	for (i = 0; i < ls_rules_count(src->rules); i++) {
		ls_rules_stats(src->rules, i, &st);
		r = json_object();
		json_object_set_new(r, "name", jstr(st.name));
		json_object_set_new(r, "type", jstr(st.type));
		set_u(r, "excluded", st.excluded);
		set_u(r, "not_included", st.not_included);
		set_u(r, "masked", st.masked);
		set_u(r, "errors", st.errors);
		json_array_append_new(rules, r);
	}
	json_object_set_new(o, "rules", rules);
	for (i = 0; i < in->nfiles; i++) {
		if (in->files[i].source == NULL
		    || strcmp(in->files[i].source, src->name) != 0)
			continue;
		if (total++ < LS_STATUS_MAX_FILES)
			json_array_append_new(files, json_file(&in->files[i]));
	}
	set_u(o, "files_total", total);
	json_object_set_new(o, "files", files);
	return o;
}

static json_t *
json_dest(const struct ls_status_in *in, size_t i)
{
	const struct ls_conf_dest *c = &in->conf->dests[i];
	struct ls_dest_metrics *dm = in->m->dest[i];
	const struct ls_status_dest *sd = &in->dests[i];
	json_t *o = json_object(), *j;
	struct ls_buf why;
	int64_t last = LS_LOAD(dm->last_ok_ms);
	const char *problem;
	int k, healthy;

	ls_buf_init(&why);
	healthy = ls_status_dest_healthy(in, i, &why);
	json_object_set_new(o, "name", jstr(c->name));
	json_object_set_new(o, "type",
	    json_string(c->type == LS_DEST_DATADOG ? "datadog" : "http"));
	json_object_set_new(o, "healthy", json_boolean(healthy));
	json_object_set_new(o, "health", jstr(healthy ? "ok" : why.data));
	problem = atomic_load(&dm->problem);
	json_object_set_new(
	    o, "holding", problem != NULL ? jstr(problem) : json_null());
	set_u(o, "bisections", LS_LOAD(dm->bisections));
	set_u(o, "deferred", LS_LOAD(dm->deferred));
	set_u(o, "codec_fallbacks", LS_LOAD(dm->codec_fallbacks));
	set_u(o, "restamped", LS_LOAD(dm->restamped));
	ls_buf_cleanup(&why);
	set_u(o, "routed", LS_LOAD(dm->routed));
	set_u(o, "sent", LS_LOAD(dm->sent));
	json_object_set_new(
	    o, "rate", sd->rate >= 0 ? json_real(sd->rate) : json_null());
	j = json_object();
	for (k = 0; k < LS_SEV_COUNT; k++)
		set_u(j, ls_severity_name((enum ls_severity)k),
		    LS_LOAD(dm->sent_by_sev[k]));
	json_object_set_new(o, "sent_by_severity", j);
	set_u(o, "dropped", ls_metrics_dropped(dm));
	j = json_object();
	for (k = 0; k < LS_DROP_COUNT; k++)
		set_u(j, drop_names[k], LS_LOAD(dm->dropped[k]));
	json_object_set_new(o, "dropped_by_reason", j);
	set_u(o, "pending", ls_status_pending(dm));
	set_u(o, "pending_bytes", LS_LOAD(dm->held_bytes));
	set_u(o, "queued", sd->queued_records);
	set_u(o, "queued_batches", sd->queued_batches);
	set_u(o, "in_flight", LS_LOAD(dm->in_flight));
	set_u(o, "retries", LS_LOAD(dm->retries));
	set_u(o, "splits", LS_LOAD(dm->splits));
	set_u(o, "errors", errors(dm));
	j = json_object();
	for (k = 0; k < LS_CODE_COUNT; k++)
		set_u(j, ls_metrics_code_name((enum ls_code)k),
		    LS_LOAD(dm->req_by_code[k]));
	json_object_set_new(o, "requests", j);
	j = json_object();
	json_object_set_new(j, "active", json_boolean(sd->backoff_ms > 0));
	set_f(j, "remaining_s", secs(sd->backoff_ms));
	json_object_set_new(o, "backoff", j);
	json_object_set_new(o, "last_success_age_s",
	    last != 0 ? json_real(secs(in->now_ms - last)) : json_null());
	set_f(o, "health_window_s", secs(c->health_window_ms));
	return o;
}

json_t *
ls_status_json(const struct ls_status_in *in)
{
	struct ls_metrics *m = in->m;
	json_t *doc = json_object(), *j, *a;
	struct ls_buf why;
	int64_t ck = LS_LOAD(m->checkpoint_ms);
	size_t i;
	int healthy;

	ls_buf_init(&why);
	healthy = ls_status_health(in, &why);
	json_object_set_new(doc, "version", json_string(PACKAGE_VERSION));
	set_f(doc, "time", secs(in->wall_ms));
	set_f(doc, "uptime_s", secs(in->now_ms - m->start_ms));
	json_object_set_new(doc, "healthy", json_boolean(healthy));
	json_object_set_new(doc, "health", jstr(healthy ? "ok" : why.data));
	ls_buf_cleanup(&why);

	j = json_object();
	set_u(j, "lines", LS_LOAD(m->lines_read));
	set_u(j, "bytes", LS_LOAD(m->bytes_read));
	json_object_set_new(j, "paused", json_boolean(in->paused));
	set_f(j, "paused_s", secs(ls_metrics_paused_ms(m, in->now_ms)));
	set_u(j, "buffer_bytes", in->buffer_used);
	set_u(j, "buffer_limit_bytes", in->conf->max_buffer_bytes);
	set_u(j, "open_files", LS_LOAD(m->files_open));
	set_u(j, "truncated_lines", LS_LOAD(m->lines_truncated));
	set_u(j, "unrouted_lines", LS_LOAD(m->unrouted));
	a = json_object();
	for (i = 0; i < LS_SEV_COUNT; i++)
		set_u(a, ls_severity_name((enum ls_severity)i),
		    LS_LOAD(m->read_by_sev[i]));
	json_object_set_new(j, "by_severity", a);
	json_object_set_new(doc, "reading", j);

	j = json_object();
	set_f(j, "age_s", secs(in->now_ms - (ck != 0 ? ck : m->start_ms)));
	set_u(j, "writes", LS_LOAD(m->checkpoint_writes));
	set_u(j, "errors", LS_LOAD(m->checkpoint_errors));
	json_object_set_new(doc, "checkpoint", j);

	a = json_array();
	for (i = 0; i < nsources(in); i++)
		json_array_append_new(a, json_source(in, i));
	json_object_set_new(doc, "sources", a);
	a = json_array();
	for (i = 0; i < ndests(in); i++)
		json_array_append_new(a, json_dest(in, i));
	json_object_set_new(doc, "destinations", a);
	return doc;
}

/* -- The table ----------------------------------------------------------- */

#define TABLE_MAXCOLS 12

/* Rows of cells, printed with each column as wide as its widest cell. */
struct table {
	size_t ncols;
	char **cells; /* nrows * ncols */
	size_t nrows;
};

/* Adds a row; control characters in a cell become '?', so that a row
 * (and a log line of SIGUSR1's) stays one line whatever a name holds. */
static void
table_row(struct table *t, const char *const *row)
{
	size_t i;
	char *cell, *p;

	t->cells = xreallocarray(
	    t->cells, (t->nrows + 1) * t->ncols, sizeof *t->cells);
	for (i = 0; i < t->ncols; i++) {
		cell = xstrdup(row[i] != NULL ? row[i] : "-");
		for (p = cell; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		t->cells[t->nrows * t->ncols + i] = cell;
	}
	t->nrows++;
}

static void
table_print(struct table *t, struct ls_buf *out)
{
	size_t r, c, w[TABLE_MAXCOLS] = { 0 }, len;
	char *cell;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++)
			if ((len = strlen(t->cells[r * t->ncols + c])) > w[c])
				w[c] = len;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			if (c + 1 < t->ncols)
				ls_buf_printf(out, "%-*s  ", (int)w[c], cell);
			else
				ls_buf_printf(out, "%s\n", cell);
			free(cell);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

static uint64_t
ju(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0
	    ? (uint64_t)json_integer_value(v)
	    : 0;
}

static double
jf(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *
js(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : dflt;
}

/* A duration for people: 0.4s, 12s, 3m02s, 1h02m, 3d04h. */
static const char *
fmt_dur(char *buf, size_t len, double s)
{
	uint64_t n = s > 0 ? (uint64_t)s : 0;

	if (s < 10)
		snprintf(buf, len, "%.1fs", s > 0 ? s : 0);
	else if (n < 60)
		snprintf(buf, len, "%" PRIu64 "s", n);
	else if (n < 3600)
		snprintf(
		    buf, len, "%" PRIu64 "m%02" PRIu64 "s", n / 60, n % 60);
	else if (n < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", n / 3600,
		    n / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", n / 86400,
		    n / 3600 % 24);
	return buf;
}

/* Bytes for people: 512B, 12.3KiB, 4.0MiB, 1.2GiB. */
static const char *
fmt_bytes(char *buf, size_t len, uint64_t n)
{
	if (n < 1024)
		snprintf(buf, len, "%" PRIu64 "B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1fKiB", n / 1024.0);
	else if (n < 1024 * 1024 * 1024)
		snprintf(buf, len, "%.1fMiB", n / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1fGiB", n / (1024.0 * 1024 * 1024));
	return buf;
}

static void
table_dests(const json_t *doc, struct ls_buf *out)
{
	static const char *const head[] = { "DESTINATION", "HEALTH", "SENT",
		"RATE/S", "PENDING", "QUEUED", "IN-FLIGHT", "RETRIES", "ERRORS",
		"DROPPED", "BACKOFF", "LAST-OK" };
	struct table t = { sizeof head / sizeof head[0], NULL, 0 };
	const json_t *d, *bo, *rate, *age;
	char c[10][32];
	const char *row[sizeof head / sizeof head[0]];
	size_t i;

	table_row(&t, head);
	json_array_foreach(json_object_get(doc, "destinations"), i, d)
	{
		bo = json_object_get(d, "backoff");
		rate = json_object_get(d, "rate");
		age = json_object_get(d, "last_success_age_s");
		row[0] = js(d, "name", "?");
		row[1] = json_is_true(json_object_get(d, "healthy")) ? "ok"
		    : json_is_string(json_object_get(d, "holding"))  ? "HOLD"
								     : "FAIL";
		snprintf(c[0], sizeof c[0], "%" PRIu64, ju(d, "sent"));
		row[2] = c[0];
		if (json_is_number(rate))
			snprintf(
			    c[1], sizeof c[1], "%.1f", json_number_value(rate));
		else
			snprintf(c[1], sizeof c[1], "-");
		row[3] = c[1];
		snprintf(c[2], sizeof c[2], "%" PRIu64, ju(d, "pending"));
		row[4] = c[2];
		snprintf(c[3], sizeof c[3], "%" PRIu64, ju(d, "queued"));
		row[5] = c[3];
		snprintf(c[4], sizeof c[4], "%" PRIu64, ju(d, "in_flight"));
		row[6] = c[4];
		snprintf(c[5], sizeof c[5], "%" PRIu64, ju(d, "retries"));
		row[7] = c[5];
		snprintf(c[6], sizeof c[6], "%" PRIu64, ju(d, "errors"));
		row[8] = c[6];
		snprintf(c[7], sizeof c[7], "%" PRIu64, ju(d, "dropped"));
		row[9] = c[7];
		row[10] = json_is_true(json_object_get(bo, "active"))
		    ? fmt_dur(c[8], sizeof c[8], jf(bo, "remaining_s"))
		    : "-";
		row[11] = json_is_number(age)
		    ? fmt_dur(c[9], sizeof c[9], json_number_value(age))
		    : "never";
		table_row(&t, row);
	}
	table_print(&t, out);
}

static void
table_files(const json_t *doc, struct ls_buf *out)
{
	static const char *const head[]
	    = { "SOURCE", "FILE", "COMMITTED", "READ", "SIZE", "LAG" };
	struct table t = { sizeof head / sizeof head[0], NULL, 0 };
	const json_t *s, *f;
	char c[4][32], more[64];
	const char *row[sizeof head / sizeof head[0]];
	size_t i, k;

	table_row(&t, head);
	json_array_foreach(json_object_get(doc, "sources"), i, s)
	{
		row[0] = js(s, "name", "?");
		if (json_array_size(json_object_get(s, "files")) == 0) {
			row[1] = "(no file)";
			row[2] = row[3] = row[4] = row[5] = "";
			table_row(&t, row);
			continue;
		}
		json_array_foreach(json_object_get(s, "files"), k, f)
		{
			row[1] = js(f, "path",
			    json_is_true(json_object_get(f, "deleted"))
				? "(deleted)"
				: "(renamed)");
			snprintf(
			    c[0], sizeof c[0], "%" PRIu64, ju(f, "committed"));
			snprintf(c[1], sizeof c[1], "%" PRIu64, ju(f, "read"));
			snprintf(c[2], sizeof c[2], "%" PRIu64, ju(f, "size"));
			snprintf(
			    c[3], sizeof c[3], "%" PRIu64, ju(f, "lag_bytes"));
			row[2] = c[0];
			row[3] = c[1];
			row[4] = c[2];
			row[5] = c[3];
			table_row(&t, row);
		}
		if (ju(s, "files_total") > k) {
			snprintf(more, sizeof more, "(and %" PRIu64 " more)",
			    ju(s, "files_total") - k);
			row[1] = more;
			row[2] = row[3] = row[4] = row[5] = "";
			table_row(&t, row);
		}
	}
	table_print(&t, out);
}

/* The processing rules that did anything: one row each. */
static void
table_rules(const json_t *doc, struct ls_buf *out)
{
	static const char *const head[] = { "SOURCE", "RULE", "TYPE",
		"EXCLUDED", "NOT INCLUDED", "MASKED", "ERRORS" };
	struct table t = { sizeof head / sizeof head[0], NULL, 0 };
	const json_t *s, *r;
	char c[4][32];
	const char *row[sizeof head / sizeof head[0]];
	size_t i, k;
	int any = 0;

	json_array_foreach(json_object_get(doc, "sources"), i, s)
	{
		json_array_foreach(json_object_get(s, "rules"), k, r)
		{
			if (!any)
				table_row(&t, head);
			any = 1;
			row[0] = js(s, "name", "?");
			row[1] = js(r, "name", "?");
			row[2] = js(r, "type", "?");
			snprintf(
			    c[0], sizeof c[0], "%" PRIu64, ju(r, "excluded"));
			snprintf(c[1], sizeof c[1], "%" PRIu64,
			    ju(r, "not_included"));
			snprintf(
			    c[2], sizeof c[2], "%" PRIu64, ju(r, "masked"));
			snprintf(
			    c[3], sizeof c[3], "%" PRIu64, ju(r, "errors"));
			row[3] = c[0];
			row[4] = c[1];
			row[5] = c[2];
			row[6] = c[3];
			table_row(&t, row);
		}
	}
	if (any)
		table_print(&t, out);
}

void
ls_status_table(const json_t *doc, struct ls_buf *out)
{
	const json_t *rd = json_object_get(doc, "reading");
	const json_t *ck = json_object_get(doc, "checkpoint");
	char a[32], b[32], c[32], d[32], e[32];
	int healthy = json_is_true(json_object_get(doc, "healthy"));
	size_t at = out->len;

	ls_buf_printf(out, "logshipd %s, up %s: %s%s", js(doc, "version", "?"),
	    fmt_dur(a, sizeof a, jf(doc, "uptime_s")),
	    healthy ? "healthy" : "UNHEALTHY: ",
	    healthy ? "" : js(doc, "health", "?"));
	/* One line, whatever names the reason quotes. */
	for (; at < out->len; at++)
		if ((unsigned char)out->data[at] < 0x20
		    || out->data[at] == 0x7f)
			out->data[at] = '?';
	ls_buf_putc(out, '\n');
	ls_buf_printf(out,
	    "read %" PRIu64 " lines, %s; paused %s (%s in all); buffer %s of "
	    "%s; files open %" PRIu64 "; checkpoint %s ago\n",
	    ju(rd, "lines"), fmt_bytes(b, sizeof b, ju(rd, "bytes")),
	    json_is_true(json_object_get(rd, "paused")) ? "yes" : "no",
	    fmt_dur(c, sizeof c, jf(rd, "paused_s")),
	    fmt_bytes(d, sizeof d, ju(rd, "buffer_bytes")),
	    fmt_bytes(e, sizeof e, ju(rd, "buffer_limit_bytes")),
	    ju(rd, "open_files"), fmt_dur(a, sizeof a, jf(ck, "age_s")));
	table_dests(doc, out);
	table_files(doc, out);
	table_rules(doc, out);
}
