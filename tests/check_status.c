/*
 * check_status: the status renderers (Prometheus text, /status JSON, the
 * table), the counters they show, and the snapshot slot that hands them to
 * the HTTP thread.
 *
 * The Prometheus output is checked line by line against the exposition
 * format's rules (HELP and TYPE before a family's samples, one family per
 * name, no duplicate series, escaped label values, cumulative histogram
 * buckets ending in +Inf); the end-to-end test metrics.sh also runs it
 * through the reference parser.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "ctx.h"
#include "status_metrics.h"
#include "status_snapshot.h"
#include "status.h"
#include "testutil.h"

#define KEY "s3cr3tStatusKey0123456789abcdef"

/* Two sources, one with a name that needs escaping; two destinations, one
 * with a key and a URL that must never be shown. */
static const char yaml[]
    = "hostname: h\n"
      "sources:\n"
      "  - name: app\n"
      "    paths: [/var/log/app/*.log]\n"
      "  - name: \"we\\\"ird\\\\na\\nme\"\n"
      "    paths: [/var/log/w.log]\n"
      "destinations:\n"
      "  - name: dd\n"
      "    type: datadog\n"
      "    url: https://intake.example/api/v2/logs?token=urlsecret\n"
      "    api_key_env: LS_TEST_KEY\n"
      "    health_window: 10s\n"
      "  - name: alerts\n"
      "    type: http\n"
      "    url: http://127.0.0.1:1/in\n";

struct rig {
	struct ls_conf *conf;
	struct ls_metrics *m;
	struct ls_status_dest dests[2];
	struct ls_file_info files[3];
	struct ls_status_in in;
};

static void
rig_init(struct rig *g)
{
	memset(g, 0, sizeof *g);
	g->conf = ls_conf_load_string("t.yaml", yaml, stderr);
	ck_assert_ptr_nonnull(g->conf);
	g->m = ls_metrics_new(g->conf->ndests, g->conf->nsources);
	g->dests[0].rate = -1;
	g->dests[1].rate = 12.5;
	g->dests[1].backoff_ms = 1500;
	g->dests[1].queued_records = 7;
	g->files[0] = (struct ls_file_info) { .source = "app",
		.path = "/var/log/app/a.log",
		.ino = 42,
		.committed = 100,
		.read = 150,
		.size = 200,
		.open = 1 };
	g->files[1] = (struct ls_file_info) { .source = "app",
		.path = NULL,
		.ino = 43,
		.committed = 10,
		.read = 10,
		.size = 10,
		.deleted = 1 };
	g->files[2] = (struct ls_file_info) { .source = "we\"ird\\na\nme",
		.path = "/var/log/\xff.log",
		.ino = 44,
		.committed = 5,
		.read = 5,
		.size = 5,
		.open = 1 };
	g->in.conf = g->conf;
	g->in.m = g->m;
	g->in.dests = g->dests;
	g->in.files = g->files;
	g->in.nfiles = 3;
	g->in.buffer_used = 4096;
	g->in.now_ms = g->m->start_ms + 1000;
	g->in.wall_ms = 1795000000000;
}

static void
rig_cleanup(struct rig *g)
{
	ls_metrics_free(g->m);
	ls_conf_free(g->conf);
}

static char *
render(struct rig *g)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_status_prometheus(&g->in, &b);
	return b.data;
}

/* The value of the one line that starts with "series ", as a string. */
static const char *
sample(const char *text, const char *series, char *buf, size_t len)
{
	const char *p = text, *nl;
	size_t n = strlen(series);

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			snprintf(
			    buf, len, "%.*s", (int)(nl - p - n - 1), p + n + 1);
			return buf;
		}
	}
	ck_abort_msg("no series %s", series);
	return NULL;
}

/* Exposition format rules, line by line. */
START_TEST(prometheus_well_formed)
{
	struct rig g;
	char *text, *line, *save, name[256], type[32], fam[256], help[256];
	char **seen_series = NULL, **seen_fam = NULL;
	size_t nseries = 0, nfam = 0, i, len;
	int ntype = 0;

	rig_init(&g);
	LS_COUNT(g.m->lines_read, 3);
	ls_metrics_request(g.m->dest[0], 202, 3, 300, 1000);
	text = render(&g);
	fam[0] = help[0] = type[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line, "# HELP %255s", help), 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_eq(
			    sscanf(line, "# TYPE %255s %31s", fam, type), 2);
			/* HELP right before, for the same family. */
			ck_assert_str_eq(help, fam);
			for (i = 0; i < nfam; i++)
				ck_assert_msg(strcmp(seen_fam[i], fam) != 0,
				    "family %s twice", fam);
			seen_fam
			    = realloc(seen_fam, (nfam + 1) * sizeof *seen_fam);
			seen_fam[nfam++] = strdup(fam);
			len = strlen(fam);
			if (strcmp(type, "counter") == 0)
				ck_assert_msg(len > 6
					&& strcmp(fam + len - 6, "_total") == 0,
				    "counter %s does not end in _total", fam);
			else
				ck_assert_msg(len < 6
					|| strcmp(fam + len - 6, "_total") != 0,
				    "%s %s ends in _total", type, fam);
			ck_assert_msg(strncmp(fam, "logshipd_", 9) == 0,
			    "%s has no logshipd_ prefix", fam);
			ntype++;
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		/* A sample: its name is the family's, or the family's with a
		 * histogram suffix. */
		len = strcspn(line, "{ ");
		snprintf(name, sizeof name, "%.*s", (int)len, line);
		ck_assert_msg(fam[0] != '\0', "sample before TYPE: %s", line);
		if (strcmp(type, "histogram") == 0)
			ck_assert_msg(strncmp(name, fam, strlen(fam)) == 0
				&& (strcmp(name + strlen(fam), "_bucket") == 0
				    || strcmp(name + strlen(fam), "_sum") == 0
				    || strcmp(name + strlen(fam), "_count")
					== 0),
			    "%s in histogram %s", name, fam);
		else
			ck_assert_msg(strcmp(name, fam) == 0,
			    "sample %s under TYPE %s", name, fam);
		/* A value after the last space. */
		ck_assert_ptr_nonnull(strrchr(line, ' '));
		ck_assert_int_gt(strlen(strrchr(line, ' ')), 1);
		len = strrchr(line, ' ') - line;
		for (i = 0; i < nseries; i++)
			ck_assert_msg(strncmp(seen_series[i], line, len) != 0
				|| seen_series[i][len] != '\0',
			    "series twice: %s", line);
		seen_series
		    = realloc(seen_series, (nseries + 1) * sizeof *seen_series);
		seen_series[nseries++] = strndup(line, len);
	}
	ck_assert_int_gt(ntype, 40);
	for (i = 0; i < nseries; i++)
		free(seen_series[i]);
	for (i = 0; i < nfam; i++)
		free(seen_fam[i]);
	free(seen_series);
	free(seen_fam);
	free(text);
	rig_cleanup(&g);
}
END_TEST

/* Label values escape backslash, double quote and newline. */
START_TEST(prometheus_escaping)
{
	struct rig g;
	char *text, v[64];

	rig_init(&g);
	LS_COUNT(g.m->source_lines[1], 9);
	text = render(&g);
	ck_assert_str_eq(sample(text,
			     "logshipd_read_lines_total{source=\"we\\\"ird\\\\"
			     "na\\nme\"}",
			     v, sizeof v),
	    "9");
	ck_assert_str_eq(
	    sample(
		text, "logshipd_read_lines_total{source=\"app\"}", v, sizeof v),
	    "0");
	/* No raw newline inside a label: every line is a comment or starts
	 * with a name. */
	ck_assert_ptr_null(strstr(text, "\nme\""));
	free(text);
	rig_cleanup(&g);
}
END_TEST

/* Buckets are cumulative, end in +Inf, and agree with _count; a bound is
 * inclusive. */
START_TEST(prometheus_histogram)
{
	static const int64_t us[] = { 1000, 5000, 7000, 2000000, 40000000 };
	static const struct {
		const char *le, *want;
	} rows[] = {
		{ "0.005", "2" },
		{ "0.01", "3" },
		{ "0.025", "3" },
		{ "1", "3" },
		{ "2.5", "4" },
		{ "30", "4" },
		{ "+Inf", "5" },
	};
	struct rig g;
	char *text, series[256], v[64];
	size_t i;

	rig_init(&g);
	for (i = 0; i < sizeof us / sizeof us[0]; i++)
		ls_metrics_request(g.m->dest[1], 200, 1, 10, us[i]);
	text = render(&g);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		snprintf(series, sizeof series,
		    "logshipd_destination_request_duration_seconds_bucket{"
		    "destination=\"alerts\",le=\"%s\"}",
		    rows[i].le);
		ck_assert_str_eq(
		    sample(text, series, v, sizeof v), rows[i].want);
	}
	ck_assert_str_eq(sample(text,
			     "logshipd_destination_request_duration_seconds_"
			     "count{destination=\"alerts\"}",
			     v, sizeof v),
	    "5");
	ck_assert_str_eq(sample(text,
			     "logshipd_destination_request_duration_seconds_"
			     "sum{destination=\"alerts\"}",
			     v, sizeof v),
	    "42.013000");
	ck_assert_str_eq(sample(text,
			     "logshipd_destination_request_duration_seconds_"
			     "bucket{destination=\"dd\",le=\"+Inf\"}",
			     v, sizeof v),
	    "0");
	free(text);
	rig_cleanup(&g);
}
END_TEST

static const struct {
	long status;
	const char *name;
} code_rows[] = {
	{ 200, "2xx" },
	{ 202, "2xx" },
	{ 299, "2xx" },
	{ 0, "network" },
	{ 400, "400" },
	{ 401, "401" },
	{ 403, "403" },
	{ 408, "408" },
	{ 413, "413" },
	{ 429, "429" },
	{ 500, "5xx" },
	{ 503, "5xx" },
	{ 599, "5xx" },
	{ 404, "other" },
	{ 302, "other" },
	{ 100, "other" },
	{ 600, "other" },
};

START_TEST(codes)
{
	ck_assert_str_eq(
	    ls_metrics_code_name(ls_metrics_code(code_rows[_i].status)),
	    code_rows[_i].name);
}
END_TEST

/* A request counts under its code, with its entries and bytes; a 2xx sets
 * the time of the last success, nothing else does. */
START_TEST(request_counts)
{
	struct rig g;
	struct ls_dest_metrics *dm;
	char *text, v[64];

	rig_init(&g);
	dm = g.m->dest[0];
	ls_metrics_request(dm, 503, 10, 1000, 100);
	ck_assert_int_eq(LS_LOAD(dm->last_ok_ms), 0);
	ls_metrics_request(dm, 0, 10, 1000, 100);
	ls_metrics_request(dm, 202, 10, 1000, 100);
	ck_assert_int_gt(LS_LOAD(dm->last_ok_ms), 0);
	ck_assert_uint_eq(LS_LOAD(dm->req_by_code[LS_CODE_5XX]), 1);
	ck_assert_uint_eq(LS_LOAD(dm->req_by_code[LS_CODE_NETWORK]), 1);
	ck_assert_uint_eq(LS_LOAD(dm->entries_by_code[LS_CODE_2XX]), 10);
	ck_assert_uint_eq(LS_LOAD(dm->bytes_by_code[LS_CODE_2XX]), 1000);
	text = render(&g);
	ck_assert_str_eq(sample(text,
			     "logshipd_destination_requests_total{destination="
			     "\"dd\",code=\"network\"}",
			     v, sizeof v),
	    "1");
	ck_assert_str_eq(sample(text,
			     "logshipd_destination_request_entries_total{"
			     "destination=\"dd\",code=\"2xx\"}",
			     v, sizeof v),
	    "10");
	free(text);
	rig_cleanup(&g);
}
END_TEST

START_TEST(paused_time)
{
	struct ls_metrics *m = ls_metrics_new(1, 1);

	ck_assert_int_eq(ls_metrics_paused_ms(m, 5000), 0);
	ls_metrics_set_paused(m, 1, 1000);
	ls_metrics_set_paused(m, 1, 1200); /* already paused: no change */
	ck_assert_int_eq(ls_metrics_paused_ms(m, 1500), 500);
	ls_metrics_set_paused(m, 0, 2000);
	ls_metrics_set_paused(m, 0, 3000);
	ck_assert_int_eq(ls_metrics_paused_ms(m, 9000), 1000);
	ls_metrics_set_paused(m, 1, 10000);
	ck_assert_int_eq(ls_metrics_paused_ms(m, 10250), 1250);
	ls_metrics_free(m);
}
END_TEST

/* Healthy: nothing pending, or a 2xx (or the start) within the window. */
START_TEST(health)
{
	struct rig g;
	struct ls_dest_metrics *dm;
	struct ls_buf why;

	rig_init(&g);
	dm = g.m->dest[0]; /* health_window: 10s */
	ls_buf_init(&why);
	g.in.now_ms = g.m->start_ms + 60000;
	ck_assert_int_eq(ls_status_health(&g.in, &why), 1);
	LS_COUNT(dm->routed, 5);
	LS_COUNT(dm->sent, 2);
	LS_COUNT(dm->dropped[LS_DROP_REJECTED], 1);
	/* Two pending, nothing delivered since the start, 60 s ago. */
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 0);
	ck_assert_int_eq(ls_status_health(&g.in, &why), 0);
	ck_assert_str_eq(why.data,
	    "destination dd: 2 lines waiting, nothing delivered for 60.0s "
	    "(health_window 10.0s)");
	/* But it began to hold them only 3 s ago: not late yet. */
	g.dests[0].busy_since_ms = g.in.now_ms - 3000;
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 1);
	g.dests[0].busy_since_ms = g.in.now_ms - 10001;
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 0);
	g.dests[0].busy_since_ms = 0;
	/* Within the window of the start. */
	g.in.now_ms = g.m->start_ms + 10000;
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 1);
	/* A delivery 5 s ago. */
	atomic_store(&dm->last_ok_ms, g.m->start_ms + 55000);
	g.in.now_ms = g.m->start_ms + 60000;
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 1);
	g.in.now_ms = g.m->start_ms + 65001;
	ls_buf_reset(&why);
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, &why), 0);
	ck_assert_str_eq(why.data,
	    "destination dd: 2 lines waiting, nothing delivered for 10.0s "
	    "(health_window 10.0s)");
	/* Nothing pending: healthy however long ago. */
	LS_COUNT(dm->sent, 2);
	ck_assert_int_eq(ls_status_dest_healthy(&g.in, 0, NULL), 1);
	ls_buf_cleanup(&why);
	rig_cleanup(&g);
}
END_TEST

static json_t *
jpath(json_t *j, const char *key, size_t idx)
{
	json_t *v = json_object_get(j, key);

	if (json_is_array(v))
		v = json_array_get(v, idx);
	ck_assert_msg(v != NULL, "no %s[%zu]", key, idx);
	return v;
}

START_TEST(json_shape)
{
	struct rig g;
	json_t *doc, *s, *f, *d;
	char *dump, *text;

	rig_init(&g);
	LS_COUNT(g.m->dest[1]->routed, 4);
	LS_COUNT(g.m->dest[1]->sent, 3);
	LS_COUNT(g.m->dest[1]->sent_by_sev[LS_SEV_ERROR], 3);
	ls_metrics_request(g.m->dest[1], 200, 3, 30, 10);
	ls_metrics_request(g.m->dest[1], 429, 1, 10, 10);
	doc = ls_status_json(&g.in);
	ck_assert(json_is_true(json_object_get(doc, "healthy")));
	ck_assert_str_eq(json_string_value(json_object_get(doc, "version")),
	    PACKAGE_VERSION);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "sources")), 2);
	s = jpath(doc, "sources", 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "app");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(s, "files_total")), 2);
	f = jpath(s, "files", 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "path")),
	    "/var/log/app/a.log");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(f, "committed")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "read")), 150);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "size")), 200);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(f, "lag_bytes")), 100);
	ck_assert(json_is_null(json_object_get(jpath(s, "files", 1), "path")));
	/* A path that is not UTF-8 is still a JSON string. */
	f = jpath(jpath(doc, "sources", 1), "files", 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "path")),
	    "/var/log/\xef\xbf\xbd.log");
	d = jpath(doc, "destinations", 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(d, "name")), "alerts");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "sent")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "pending")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "queued")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "errors")), 1);
	ck_assert(json_real_value(json_object_get(d, "rate")) == 12.5);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(d, "requests"), "429")),
	    1);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(d, "sent_by_severity"), "error")),
	    3);
	ck_assert(json_is_true(
	    json_object_get(json_object_get(d, "backoff"), "active")));
	ck_assert(json_is_number(json_object_get(d, "last_success_age_s")));
	d = jpath(doc, "destinations", 0);
	ck_assert(json_is_null(json_object_get(d, "rate")));
	ck_assert(json_is_null(json_object_get(d, "last_success_age_s")));
	ck_assert(json_is_false(
	    json_object_get(json_object_get(d, "backoff"), "active")));

	/* Never a secret, in either rendering. */
	dump = json_dumps(doc, 0);
	ck_assert_ptr_null(strstr(dump, KEY));
	ck_assert_ptr_null(strstr(dump, "urlsecret"));
	ck_assert_ptr_null(strstr(dump, "intake.example"));
	text = render(&g);
	ck_assert_ptr_null(strstr(text, KEY));
	ck_assert_ptr_null(strstr(text, "urlsecret"));
	free(text);
	free(dump);
	json_decref(doc);
	rig_cleanup(&g);
}
END_TEST

/* The table from the JSON: a header, a row per destination and per file. */
START_TEST(table)
{
	struct rig g;
	struct ls_buf b;
	json_t *doc;
	size_t lines = 0;
	char *p;

	rig_init(&g);
	doc = ls_status_json(&g.in);
	ls_buf_init(&b);
	ls_status_table(doc, &b);
	for (p = b.data; *p != '\0'; p++)
		lines += *p == '\n';
	/* Two summary lines, header + 2 destinations, header + 3 files. */
	ck_assert_uint_eq(lines, 2 + 3 + 4);
	ck_assert_ptr_nonnull(strstr(b.data, "logshipd " PACKAGE_VERSION));
	ck_assert_ptr_nonnull(strstr(b.data, "\ndd "));
	ck_assert_ptr_nonnull(strstr(b.data, "\nalerts "));
	ck_assert_ptr_nonnull(strstr(b.data, "/var/log/app/a.log"));
	ck_assert_ptr_nonnull(strstr(b.data, "(deleted)"));
	ck_assert_ptr_nonnull(strstr(b.data, " 12.5 "));
	ls_buf_cleanup(&b);
	json_decref(doc);
	rig_cleanup(&g);
}
END_TEST

/* A journald source's families, "journal" member and table row (the rig's
 * source "app" standing in for one). */
START_TEST(journal_rendered)
{
	struct ls_journal_info j = { .source = "app",
		.directory = NULL,
		.cursor = "s=ab;i=7",
		.entries = 1234,
		.inflight = 5,
		.cursor_lost = 1,
		.skipped = 3 };
	struct rig g;
	struct ls_buf b;
	json_t *doc, *src, *jo;
	char buf[64], *text;
	size_t i;

	rig_init(&g);
	text = render(&g);
	ck_assert_ptr_null(strstr(text, "logshipd_journal_"));
	free(text);
	g.in.journals = &j;
	g.in.njournals = 1;
	text = render(&g);
	ck_assert_str_eq(
	    sample(text, "logshipd_journal_entries_total{source=\"app\"}", buf,
		sizeof buf),
	    "1234");
	ck_assert_str_eq(
	    sample(text, "logshipd_journal_inflight_entries{source=\"app\"}",
		buf, sizeof buf),
	    "5");
	ck_assert_str_eq(
	    sample(text, "logshipd_journal_cursor_lost_total{source=\"app\"}",
		buf, sizeof buf),
	    "1");
	ck_assert_str_eq(
	    sample(text,
		"logshipd_journal_skipped_entries_total{source=\"app\"}", buf,
		sizeof buf),
	    "3");
	ck_assert_ptr_nonnull(
	    strstr(text, "# TYPE logshipd_journal_entries_total counter\n"));
	free(text);
	doc = ls_status_json(&g.in);
	json_array_foreach(json_object_get(doc, "sources"), i, src)
	{
		jo = json_object_get(src, "journal");
		if (strcmp(
			json_string_value(json_object_get(src, "name")), "app")
		    != 0) {
			ck_assert_ptr_null(jo);
			continue;
		}
		ck_assert_str_eq(
		    json_string_value(json_object_get(src, "type")),
		    "journald");
		ck_assert_str_eq(
		    json_string_value(json_object_get(jo, "cursor")),
		    "s=ab;i=7");
		ck_assert_int_eq(
		    json_integer_value(json_object_get(jo, "entries")), 1234);
		ck_assert(json_is_null(json_object_get(jo, "directory")));
	}
	ls_buf_init(&b);
	ls_status_table(doc, &b);
	ck_assert_ptr_nonnull(strstr(b.data, "\nJOURNAL "));
	ck_assert_ptr_nonnull(strstr(b.data, "\napp "));
	ck_assert_ptr_nonnull(strstr(b.data, "(system journal)"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "s=ab;i=7 (a saved cursor was lost)"));
	ls_buf_cleanup(&b);
	json_decref(doc);
	rig_cleanup(&g);
}
END_TEST

/* Whatever a peer sends, the table renders without crashing. */
START_TEST(table_tolerant)
{
	static const char *const docs[] = {
		"{}",
		"{\"destinations\": 5, \"sources\": [1, {\"files\": [2]}]}",
		"{\"destinations\": [{\"name\": 7, \"rate\": \"x\", "
		"\"backoff\": []}], \"reading\": [], \"uptime_s\": -5}",
		/* A name with a newline stays on its line. */
		"{\"healthy\": false, \"health\": \"bad\\nline\", "
		"\"destinations\": [{\"name\": \"x\\ny\"}]}",
	};
	struct ls_buf b;
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		doc = json_loads(docs[i], 0, NULL);
		ck_assert_ptr_nonnull(doc);
		ls_buf_init(&b);
		ls_status_table(doc, &b);
		ck_assert_ptr_nonnull(strstr(b.data, "DESTINATION"));
		ck_assert_ptr_null(strstr(b.data, "\nline"));
		ck_assert_ptr_null(strstr(b.data, "\ny"));
		ls_buf_cleanup(&b);
		json_decref(doc);
	}
}
END_TEST

/* Each drop reason under its own name, in /metrics and in /status (both
 * read the one table of names in status_impl.h). */
START_TEST(drop_reasons)
{
	static const char *const names[] = { "rejected", "oversize", "full",
		"reload", "unprocessable", "client_error" };
	struct rig g;
	json_t *doc, *by;
	char *text, series[256], v[64], want[16];
	int k;

	ck_assert_int_eq(sizeof names / sizeof names[0], LS_DROP_COUNT);
	rig_init(&g);
	for (k = 0; k < LS_DROP_COUNT; k++)
		LS_COUNT(g.m->dest[0]->dropped[k], (uint64_t)k + 1);
	text = render(&g);
	doc = ls_status_json(&g.in);
	by = json_object_get(
	    jpath(doc, "destinations", 0), "dropped_by_reason");
	for (k = 0; k < LS_DROP_COUNT; k++) {
		snprintf(series, sizeof series,
		    "logshipd_destination_dropped_lines_total{"
		    "destination=\"dd\",reason=\"%s\"}",
		    names[k]);
		snprintf(want, sizeof want, "%d", k + 1);
		ck_assert_str_eq(sample(text, series, v, sizeof v), want);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(by, names[k])), k + 1);
	}
	ck_assert_int_eq(json_integer_value(json_object_get(
			     jpath(doc, "destinations", 0), "dropped")),
	    21);
	json_decref(doc);
	free(text);
	rig_cleanup(&g);
}
END_TEST

/* A source with more files than /status lists: LS_STATUS_MAX_FILES of
 * them in the document, all counted, and the table says how many more. */
START_TEST(files_capped)
{
	struct rig g;
	struct ls_file_info *many;
	struct ls_buf b;
	json_t *doc, *s;
	size_t i, n = LS_STATUS_MAX_FILES + 2;
	char name[64];

	rig_init(&g);
	many = calloc(n, sizeof *many);
	ck_assert_ptr_nonnull(many);
	for (i = 0; i < n; i++)
		many[i] = (struct ls_file_info) { .source = "app",
			.path = "/var/log/app/x.log",
			.ino = i + 1,
			.open = 1 };
	g.in.files = many;
	g.in.nfiles = n;
	doc = ls_status_json(&g.in);
	s = jpath(doc, "sources", 0);
	ck_assert_uint_eq(
	    json_array_size(json_object_get(s, "files")), LS_STATUS_MAX_FILES);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(s, "files_total")), n);
	ls_buf_init(&b);
	ls_status_table(doc, &b);
	snprintf(name, sizeof name, "(and %zu more)", n - LS_STATUS_MAX_FILES);
	ck_assert_ptr_nonnull(strstr(b.data, name));
	/* The other source has no file. */
	ck_assert_ptr_nonnull(strstr(b.data, "(no file)"));
	ls_buf_cleanup(&b);
	json_decref(doc);
	free(many);
	rig_cleanup(&g);
}
END_TEST

/* Runs of spaces made one, and none at the end of a line: the table's
 * columns, whatever their widths. */
static void
squeeze(char *p)
{
	char *w = p;

	for (; *p != '\0'; p++) {
		if (*p == ' ' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\0'))
			continue;
		*w++ = *p;
	}
	*w = '\0';
}

/* The table of a document written by hand: durations and sizes for
 * people, HOLD, FAIL and ok, the rules table, a source without files. */
START_TEST(table_rows)
{
	static const char doc_text[]
	    = "{\"version\": \"9\", \"uptime_s\": 182, \"healthy\": true,"
	      " \"reading\": {\"lines\": 5, \"bytes\": 1468006,"
	      " \"paused\": false, \"paused_s\": 3720, \"buffer_bytes\": 512,"
	      " \"buffer_limit_bytes\": 1610612736, \"open_files\": 2},"
	      " \"checkpoint\": {\"age_s\": 273600},"
	      " \"destinations\": ["
	      "  {\"name\": \"d\", \"healthy\": false, \"holding\": \"x\","
	      "   \"backoff\": {\"active\": true, \"remaining_s\": 0.4},"
	      "   \"last_success_age_s\": 12.7, \"pending\": 3},"
	      "  {\"name\": \"e\", \"healthy\": true, \"rate\": 2.5,"
	      "   \"sent\": 7, \"last_success_age_s\": 0.2},"
	      "  {\"name\": \"f\", \"healthy\": false, \"errors\": 4,"
	      "   \"retries\": 4, \"dropped\": 1, \"queued\": 2,"
	      "   \"in_flight\": 1}],"
	      " \"sources\": [{\"name\": \"s\", \"files\": [],"
	      "  \"rules\": [{\"name\": \"r\", \"type\": \"mask_sequences\","
	      "   \"masked\": 3}]}]}";
	static const char want[]
	    = "logshipd 9, up 3m02s: healthy\n"
	      "read 5 lines, 1.4MiB; paused no (1h02m in all); buffer 512B of "
	      "1.5GiB; files open 2; checkpoint 3d04h ago\n"
	      "DESTINATION HEALTH SENT RATE/S PENDING QUEUED IN-FLIGHT RETRIES "
	      "ERRORS DROPPED BACKOFF LAST-OK\n"
	      "d HOLD 0 - 3 0 0 0 0 0 0.4s 12s\n"
	      "e ok 7 2.5 0 0 0 0 0 0 - 0.2s\n"
	      "f FAIL 0 - 0 2 1 4 4 1 - never\n"
	      "SOURCE FILE COMMITTED READ SIZE LAG\n"
	      "s (no file)\n"
	      "SOURCE RULE TYPE EXCLUDED NOT INCLUDED MASKED ERRORS\n"
	      "s r mask_sequences 0 0 3 0\n";
	struct ls_buf b;
	json_t *doc;

	doc = json_loads(doc_text, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ls_buf_init(&b);
	ls_status_table(doc, &b);
	squeeze(b.data);
	ck_assert_str_eq(b.data, want);
	ls_buf_cleanup(&b);
	json_decref(doc);
}
END_TEST

/* The slot: empty, then the newest snapshot; a reader's reference keeps
 * a replaced snapshot alive. ASan sees any use after free or leak. */
START_TEST(snapshot_slot)
{
	struct ls_snapslot *sl = ls_snapslot_new();
	struct ls_snapshot *a, *b, *got;

	ck_assert_ptr_null(ls_snapslot_take(sl));
	a = ls_snapshot_new(1, 1, strdup("ok"), strdup("m1"), strdup("s1"));
	ls_snapslot_publish(sl, a);
	got = ls_snapslot_take(sl);
	ck_assert_ptr_eq(got, a);
	ck_assert_uint_eq(got->metrics_len, 2);
	b = ls_snapshot_new(2, 0, strdup("bad"), strdup("m2"), strdup("s2"));
	ls_snapslot_publish(sl, b);
	/* a lost the slot's reference, not ours. */
	ck_assert_str_eq(got->status, "s1");
	ck_assert_uint_eq(atomic_load(&got->refs), 1);
	ls_snapshot_unref(got);
	got = ls_snapslot_take(sl);
	ck_assert_ptr_eq(got, b);
	ck_assert_int_eq(got->healthy, 0);
	ls_snapshot_unref(got);
	ls_snapshot_unref(NULL);
	ls_snapslot_free(sl);
	ls_snapslot_free(NULL);
}
END_TEST

/* Readers on other threads always see a whole snapshot: its three strings
 * are made from one number, and must agree. */
struct reader {
	struct ls_snapslot *sl;
	atomic_int *stop;
	long reads;
	int bad;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct ls_snapshot *s;
	char want[64];

	while (!atomic_load(r->stop)) {
		if ((s = ls_snapslot_take(r->sl)) == NULL)
			continue;
		snprintf(want, sizeof want, "m%lld", (long long)s->made_ms);
		if (strcmp(s->metrics, want) != 0)
			r->bad++;
		snprintf(want, sizeof want, "s%lld", (long long)s->made_ms);
		if (strcmp(s->status, want) != 0
		    || s->status_len != strlen(want))
			r->bad++;
		r->reads++;
		ls_snapshot_unref(s);
	}
	return NULL;
}

START_TEST(snapshot_threads)
{
	struct ls_snapslot *sl = ls_snapslot_new();
	struct reader r[3];
	pthread_t t[3];
	atomic_int stop;
	char *m, *s;
	size_t i, n = scaled(20000);

	atomic_init(&stop, 0);
	for (i = 0; i < 3; i++) {
		r[i] = (struct reader) { sl, &stop, 0, 0 };
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
	}
	for (i = 1; i <= n; i++) {
		ck_assert_int_ge(asprintf(&m, "m%zu", i), 0);
		ck_assert_int_ge(asprintf(&s, "s%zu", i), 0);
		ls_snapslot_publish(
		    sl, ls_snapshot_new((int64_t)i, 1, strdup("ok"), m, s));
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(r[i].bad, 0);
	}
	ls_snapslot_free(sl);
}
END_TEST

static Suite *
status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc;

	tc = tcase_create("prometheus");
	tcase_add_test(tc, prometheus_well_formed);
	tcase_add_test(tc, prometheus_escaping);
	tcase_add_test(tc, prometheus_histogram);
	tcase_add_loop_test(
	    tc, codes, 0, sizeof code_rows / sizeof code_rows[0]);
	tcase_add_test(tc, request_counts);
	tcase_add_test(tc, paused_time);
	suite_add_tcase(s, tc);

	tc = tcase_create("health");
	tcase_add_test(tc, health);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_shape);
	tcase_add_test(tc, table);
	tcase_add_test(tc, journal_rendered);
	tcase_add_test(tc, table_tolerant);
	tcase_add_test(tc, drop_reasons);
	tcase_add_test(tc, files_capped);
	tcase_add_test(tc, table_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("snapshot");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, snapshot_slot);
	tcase_add_test(tc, snapshot_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (setenv("LS_TEST_KEY", KEY, 1) == -1)
		return EXIT_FAILURE;
	return ls_test_run(status_suite());
}
