/*
 * status_journal: the journald sources (journal.h) in the three status
 * renderings (status.h): their families in /metrics, a "journal" object
 * in each one's /status entry, and a table of them in "logshipd status"
 * and SIGUSR1's. From struct ls_status_in alone, like the rest.
 *
 * Tested in check_status.c (journal_rendered) and tests/e2e/journald.sh.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "status.h"

static const struct ls_journal_info *
info_of(const struct ls_status_in *in, const char *source)
{
	size_t i;

	for (i = 0; i < in->njournals; i++)
		if (strcmp(in->journals[i].source, source) == 0)
			return &in->journals[i];
	return NULL;
}

/* A label value as the exposition format escapes it. */
static void
label(struct ls_buf *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			ls_buf_putc(o, '\\');
		if (*v == '\n') {
			ls_buf_append(o, "\\n", 2);
			continue;
		}
		ls_buf_putc(o, *v);
	}
}

void
ls_status_prom_journals(const struct ls_status_in *in, struct ls_buf *o)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
		{ "logshipd_journal_entries_total", "counter",
		    "Journal entries read, by journald source (those its "
		    "units filter leaves out included).",
		    offsetof(struct ls_journal_info, entries) },
		{ "logshipd_journal_inflight_entries", "gauge",
		    "Records of a journald source not yet acknowledged by "
		    "every destination.",
		    offsetof(struct ls_journal_info, inflight) },
		{ "logshipd_journal_cursor_lost_total", "counter",
		    "Times a journald source's saved cursor was no longer in "
		    "the journal (vacuumed): it resumed at the oldest entry.",
		    offsetof(struct ls_journal_info, cursor_lost) },
		{ "logshipd_journal_skipped_entries_total", "counter",
		    "Entries known skipped for lost cursors (when the "
		    "journal's "
		    "sequence numbers tell; else not counted).",
		    offsetof(struct ls_journal_info, skipped) },
	};
	size_t f, i;

	if (in->njournals == 0)
		return;
	for (f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		ls_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name,
		    fam[f].help, fam[f].name, fam[f].type);
		for (i = 0; i < in->njournals; i++) {
			ls_buf_printf(o, "%s{source=\"", fam[f].name);
			label(o, in->journals[i].source);
			ls_buf_printf(o, "\"} %" PRIu64 "\n",
			    *(const uint64_t *)(const void *)((const char *)&in
								  ->journals[i]
				+ fam[f].off));
		}
	}
}

void
ls_status_json_journal(
    const struct ls_status_in *in, const char *source, json_t *o)
{
	const struct ls_journal_info *j = info_of(in, source);
	json_t *jo;

	if (j == NULL)
		return;
	json_object_set_new(o, "type", json_string("journald"));
	jo = json_object();
	json_object_set_new(jo, "directory",
	    j->directory != NULL ? json_string(j->directory) : json_null());
	json_object_set_new(jo, "cursor",
	    j->cursor != NULL ? json_string(j->cursor) : json_null());
	json_object_set_new(
	    jo, "entries", json_integer((json_int_t)j->entries));
	json_object_set_new(
	    jo, "inflight", json_integer((json_int_t)j->inflight));
	json_object_set_new(
	    jo, "cursor_lost", json_integer((json_int_t)j->cursor_lost));
	json_object_set_new(
	    jo, "skipped", json_integer((json_int_t)j->skipped));
	json_object_set_new(jo, "paused", json_boolean(j->paused));
	json_object_set_new(o, "journal", jo);
}

static uint64_t
num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

void
ls_status_table_journals(const json_t *doc, struct ls_buf *out)
{
	const json_t *s, *j, *b;
	const char *cur, *dir;
	size_t i;
	int any = 0;

	json_array_foreach(json_object_get(doc, "sources"), i, s)
	{
		if ((j = json_object_get(s, "journal")) == NULL)
			continue;
		if (!any)
			ls_buf_printf(out, "%-16s %-24s %10s %9s %8s  %s\n",
			    "JOURNAL", "FROM", "ENTRIES", "IN FLIGHT",
			    "BACKLOG", "CURSOR");
		any = 1;
		cur = json_string_value(json_object_get(j, "cursor"));
		dir = json_string_value(json_object_get(j, "directory"));
		b = json_object_get(s, "backlog_age_s");
		ls_buf_printf(out,
		    "%-16s %-24s %10" PRIu64 " %9" PRIu64 " %7.0fs  %s%s\n",
		    json_string_value(json_object_get(s, "name")) != NULL
			? json_string_value(json_object_get(s, "name"))
			: "?",
		    dir != NULL ? dir : "(system journal)", num(j, "entries"),
		    num(j, "inflight"),
		    json_is_number(b) ? json_number_value(b) : 0,
		    cur != NULL ? cur : "(none yet)",
		    num(j, "cursor_lost") > 0 ? " (a saved cursor was lost)"
					      : "");
	}
}
