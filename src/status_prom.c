/*
 * status_prom.c: the Prometheus text exposition (/metrics) of struct
 * ls_status_in (status.h).
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
#include <string.h>

#include "rules.h"
#include "status.h"
#include "status_impl.h"

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
	ls_status_prom_journals(in, o);
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
