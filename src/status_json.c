/*
 * status_json.c: the /status document of struct ls_status_in (status.h),
 * which the table for people (status_table.c) is rendered from.
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "encode.h"
#include "rules.h"
#include "status.h"
#include "status_impl.h"

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
	ls_status_json_journal(in, src->name, o);
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
