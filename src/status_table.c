/*
 * status_table.c: the table for people (SIGUSR1 and "logshipd status"),
 * rendered from a /status document (status_json.c), not from struct
 * ls_status_in: SIGUSR1 renders the daemon's own document and "logshipd
 * status" the one it fetched, so both show the same thing.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "status.h"
#include "xmalloc.h"

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
	ls_status_table_journals(doc, out);
	table_rules(doc, out);
}
