/*
 * tail_record: lines into records. Each line a file's linebuf frames (or
 * each multiline entry, when the source has a start pattern: its lines are
 * gathered until the next line that matches, or until it is idle) becomes
 * a refcounted record charged to the memory budget, numbered in its
 * file's offset tracker, and held with the others of the pass: one push
 * to the ingest queue, and one update of the shared counters, per pass
 * rather than per line or per file.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "multiline.h"
#include "offtrack.h"
#include "pattern.h"
#include "queue.h"
#include "record.h"
#include "rules.h"
#include "severity.h"
#include "labels.h"
#include "tailer_impl.h"
#include "xmalloc.h"
#include "timestamp.h"

/*
 * The index of src in the configuration, for the per-source counters:
 * consecutive lines mostly come from one source, so the last answer is
 * tried first. One past the sources (a slot no source owns) if it is none
 * of them, which cannot happen while the tailer and the metrics follow
 * the same configuration.
 */
size_t
tail_source_index(struct ls_tailer *t, const struct ls_conf_source *src)
{
	size_t i, n = t->conf->nsources;

	if (n > t->m->nsources)
		n = t->m->nsources;
	if (t->src_hint < n && &t->conf->sources[t->src_hint] == src)
		return t->src_hint;
	for (i = 0; i < n; i++)
		if (&t->conf->sources[i] == src)
			return t->src_hint = i;
	return t->m->nsources;
}

/* Publishes the lines counted since the last push: a few shared counters
 * per push, not three per line. */
static void
publish_counts(struct ls_tailer *t)
{
	struct counts *c = &t->cnt;
	size_t i;

	if (c->src_run > 0)
		LS_COUNT(t->m->source_lines[c->src], c->src_run);
	for (i = 0; i < LS_SEV_COUNT; i++)
		if (c->sev[i] > 0)
			LS_COUNT(t->m->read_by_sev[i], c->sev[i]);
	LS_COUNT(t->m->lines_read, c->lines);
	memset(c, 0, sizeof *c);
}

/* Counts one line read from a file of src. */
static void
count_line(
    struct ls_tailer *t, const struct ls_conf_source *src, enum ls_severity sev)
{
	struct counts *c = &t->cnt;
	size_t i = tail_source_index(t, src);

	if (c->src_run > 0 && c->src != i) {
		LS_COUNT(t->m->source_lines[c->src], c->src_run);
		c->src_run = 0;
	}
	c->src = i;
	c->src_run++;
	c->sev[sev]++;
	c->lines++;
}

void
tail_flush_pending(struct ls_tailer *t)
{
	size_t i;

	if (t->npend == 0)
		return;
	publish_counts(t);
	if (ls_queue_push_many(t->out, (void *const *)t->pend, NULL, t->npend)
	    != 0) {
		/* Closed: we are stopping, and these were never queued. */
		for (i = 0; i < t->npend; i++)
			ls_record_unref(t->pend[i]);
	}
	t->npend = 0;
}

/* Makes one record of an entry (a line, or a multiline entry). */
static void
emit(struct tfile *f, const char *msg, size_t len, uint64_t end_off,
    size_t dropped)
{
	struct ls_tailer *t = f->t;
	struct ls_record *r;
	enum ls_severity sev;
	int64_t time_ms = t->now_wall_ms;

	/* Dropped by a rule (counted there): no record, but the line is
	 * numbered and done at once, so the committed offset goes over it
	 * once the records before it are done (rules.sh: excluded_tail). */
	if (f->src->rules != NULL
	    && ls_rules_apply(f->src->rules, msg, len, &msg, &len)
		== LS_RULES_DROP) {
		(void)ls_offtrack_done(
		    f->track, ls_offtrack_add_at(f->track, end_off, t->now_ms));
		t->dirty = 1;
		return;
	}
	/* The severity, and the line's own time if it has one (else the
	 * read time), in one pass. */
	sev = ls_severity_detect_time(msg, len, f->src->default_severity,
	    f->src->parse_timestamp ? &t->tscache : NULL, &time_ms);
	/* Cut at max_line_bytes: a character the cut split is left out
	 * whole, and the marker (encode.h) says how many bytes were. */
	if (dropped > 0) {
		ls_trunc_line(&t->scratch, &msg, &len, dropped);
		LS_COUNT(t->m->lines_truncated, 1);
	}
	r = ls_record_new_labels(
	    f->labels, t->budget, msg, len, sev, end_off, time_ms);
	if (dropped > 0)
		r->flags |= LS_REC_TRUNCATED;
	r->source = (uint16_t)tail_source_index(t, f->src);
	r->origin = &f->origin;
	r->seq = ls_offtrack_add_at(f->track, end_off, t->now_ms);
	f->inflight++;
	count_line(t, f->src, sev);
	t->pend[t->npend++] = r;
	if (t->npend == PUSH_BATCH)
		tail_flush_pending(t);
}

/* Emits the multiline entry being gathered, if any. */
void
tail_ml_flush(struct tfile *f)
{
	struct mline *ml = &f->ml;
	struct ls_tailer *t = f->t;

	if (!ml->active)
		return;
	ls_buf_reset(&t->scratch);
	ls_buf_append(&t->scratch, ml->buf.data, ml->buf.len);
	emit(f, t->scratch.data, t->scratch.len, ml->end_off, ml->dropped);
	ml->active = 0;
	ml->dropped = 0;
	ls_buf_reset(&ml->buf);
}

/* Adds a line to the multiline entry: a line matching the start pattern
 * begins a new entry; any other line continues the current one. */
static void
ml_line(struct tfile *f, const char *line, size_t len, uint64_t end_off,
    size_t dropped)
{
	struct mline *ml = &f->ml;
	struct ls_tailer *t = f->t;
	size_t room, max = f->src->max_line_bytes;
	int start;

	if (f->src->multiline_auto)
		start = ls_ml_auto_starts(&ml->autos, line, len);
	else
		/* A line the pattern cannot decide on (a match limit)
		 * continues the entry: it is joined, not lost. */
		start = ls_pattern_match(
			    f->src->multiline_re, line, len, 0, NULL, 0, NULL)
		    == 1;
	if (start || !ml->active) {
		tail_ml_flush(f);
		ls_buf_append(&ml->buf, line, len);
		ml->active = 1;
		ml->dropped = dropped;
	} else {
		room = ml->buf.len < max ? max - ml->buf.len : 0;
		if (room > 0) {
			ls_buf_putc(&ml->buf, '\n');
			room--;
		}
		ls_buf_append(&ml->buf, line, len < room ? len : room);
		ml->dropped += dropped + (len > room ? len - room : 0);
		LS_COUNT(t->m->multiline_joined, 1);
	}
	ml->end_off = end_off;
	ml->last_ms = ls_now_ms();
}

void
tail_line_cb(
    const char *line, size_t len, uint64_t end_off, size_t dropped, void *arg)
{
	struct tfile *f = arg;

	if (f->src->multiline_re != NULL || f->src->multiline_auto)
		ml_line(f, line, len, end_off, dropped);
	else
		emit(f, line, len, end_off, dropped);
}

/* Appends ",key:value" to b, a comma in value (which would end the tag
 * in ddtags) made '_'. */
static void
put_tag(struct ls_buf *b, const char *key, const char *value)
{
	const char *v;

	if (b->len > 0)
		ls_buf_putc(b, ',');
	ls_buf_append(b, key, strlen(key));
	for (v = value; *v != '\0'; v++)
		ls_buf_putc(b, *v == ',' ? '_' : *v);
}

const struct ls_labels *
tail_file_labels(const struct ls_conf_source *src, const char *path)
{
	const struct ls_labels *l;
	const char *slash;
	struct ls_buf b;
	char *dir;

	if (!src->file_tags || path == NULL || src->labels == NULL
	    || (slash = strrchr(path, '/')) == NULL) {
		ls_labels_ref(src->labels);
		return src->labels;
	}
	ls_buf_init(&b);
	if (src->ddtags != NULL)
		ls_buf_append(&b, src->ddtags, strlen(src->ddtags));
	put_tag(&b, "filename:", slash + 1);
	dir = slash == path ? xstrdup("/")
			    : xstrndup(path, (size_t)(slash - path));
	put_tag(&b, "dirname:", dir);
	free(dir);
	l = ls_labels_intern(src->service, src->ddsource, b.data);
	ls_buf_cleanup(&b);
	return l;
}
