/*
 * journal_record: a journald reader's entries into records (journal.h):
 * the streams (one per process: its labels, interned once, and the
 * multiline entry it gathers), the records pushed to the ingest queue one
 * batch per pass, their acknowledgements, and the committed cursor.
 *
 * The commit. Every entry has a slot in the offset tracker, over its
 * ordinal, in the order read; the tracker commits the longest prefix of
 * slots done. A record's slot is done when it is acknowledged; an entry
 * that makes none (filtered out, dropped by a rule) is done at once. A
 * multiline entry's lines come from one process, interleaved with other
 * processes' entries: its slot is taken when its FIRST line is read, and
 * handed to its record when it is shipped (done at once if a rule drops
 * it); each later line of it has a slot done at once. So every entry read
 * after an entry's first line is behind its slot, and the commit cannot
 * pass its first line until its record is acknowledged, whatever becomes
 * of the others' records (issue 18: it used to take its slot when shipped,
 * behind the others', and their acknowledgements committed past its first
 * lines; a crash then lost them). Nor does the commit stop inside an
 * entry shipped (its later lines would be read again, after a restart, as
 * an entry of their own; a dropped one's sent): jr_advance steps back to
 * before its first line. Processes whose entries overlap with no gap
 * between them could hold it back for good, so it steps back at most
 * CUT_LAG_MAX entries: past that it stops inside one (the duplicates
 * after a crash stay bounded, and so do the cursors kept).
 *
 * The tracker's contract holds: slots are taken in the order read, so
 * their ordinals go up. A slot held by an entry being gathered keeps the
 * slots behind it in the ring (about 24 bytes an entry, beside the cursor
 * the ring of cursors keeps for each entry past the commit, as it did
 * before), and its time, its first line's, is the source's backlog age:
 * the commit waits on it from then.
 *
 * Main thread only (journal_impl.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "journal_impl.h"
#include "labels.h"
#include "log.h"
#include "pattern.h"
#include "rules.h"
#include "status_metrics.h"
#include "timestamp.h"
#include "xmalloc.h"

void
jr_flush_pending(struct ls_journal *j)
{
	size_t i;

	if (j->npend == 0)
		return;
	for (i = 0; i < LS_SEV_COUNT; i++)
		if (j->sev[i] > 0) {
			LS_COUNT(j->m->read_by_sev[i], j->sev[i]);
			j->sev[i] = 0;
		}
	LS_COUNT(j->m->lines_read, j->npend);
	if (ls_queue_push_many(j->out, (void *const *)j->pend, NULL, j->npend)
	    != 0)
		for (i = 0; i < j->npend; i++)
			ls_record_unref(j->pend[i]);
	j->npend = 0;
}

/* An ordinal nothing will be sent for (filtered out, dropped by a rule,
 * joined to a multiline entry whose first line's slot holds the commit
 * back): done at once, so the committed cursor goes over it. */
void
jr_skip(struct jsrc *r, uint64_t ord)
{
	if (ord <= r->added)
		return;
	(void)ls_offtrack_done(r->track, ls_offtrack_add(r->track, ord));
	r->added = ord;
}

void
jr_emit(struct jsrc *r, struct stream *st, const char *msg, size_t len,
    enum ls_severity sev, int64_t time_ms, uint64_t ord, size_t dropped,
    uint64_t seq)
{
	struct ls_journal *j = r->j;
	struct ls_record *rec;

	if (r->src != NULL && r->src->rules != NULL
	    && ls_rules_apply(r->src->rules, msg, len, &msg, &len)
		== LS_RULES_DROP) {
		if (seq != 0)
			(void)ls_offtrack_done(r->track, seq);
		else
			jr_skip(r, ord);
		return;
	}
	/* Cut (max_line_bytes): whole characters, and the one marker
	 * (encode.h) saying how many bytes were dropped, as for files. */
	if (dropped > 0) {
		ls_trunc_line(&j->scratch, &msg, &len, dropped);
		LS_COUNT(j->m->lines_truncated, 1);
	}
	rec = ls_record_new_labels(
	    st->labels, j->budget, msg, len, sev, ord, time_ms);
	if (dropped > 0)
		rec->flags |= LS_REC_TRUNCATED;
	rec->source = (uint16_t)r->idx;
	rec->origin = &r->origin;
	if (seq == 0) {
		seq = ls_offtrack_add_at(r->track, ord, ls_now_ms());
		r->added = ord;
	}
	rec->seq = seq;
	r->inflight++;
	if (r->idx < j->m->nsources) {
		LS_COUNT(j->m->source_lines[r->idx], 1);
		LS_COUNT(j->m->source_bytes[r->idx], len);
	}
	LS_COUNT(j->m->bytes_read, len);
	j->sev[sev]++;
	j->pend[j->npend++] = rec;
	if (j->npend == PUSH_BATCH)
		jr_flush_pending(j);
}

/* Notes the span of a multiline entry shipped, in the order of first
 * lines (entries ship nearly in that order: few are moved). */
static void
add_span(struct jsrc *r, uint64_t first, uint64_t last)
{
	size_t k;

	if (r->nspans == r->capspans) {
		r->capspans = r->capspans == 0 ? 16 : r->capspans * 2;
		r->spans
		    = xreallocarray(r->spans, r->capspans, sizeof *r->spans);
	}
	for (k = r->nspans; k > 0 && r->spans[k - 1].first > first; k--)
		;
	memmove(
	    r->spans + k + 1, r->spans + k, (r->nspans - k) * sizeof *r->spans);
	r->spans[k].first = first;
	r->spans[k].last = last;
	r->nspans++;
}

/* Ships the multiline entry st gathers, if any, with the slot its first
 * line took; notes its span (jr_advance). */
void
jr_ml_flush(struct jsrc *r, struct stream *st)
{
	struct ls_journal *j = r->j;

	if (!st->ml_active)
		return;
	if (st->ml_last > st->ml_first)
		add_span(r, st->ml_first, st->ml_last);
	ls_buf_reset(&j->scratch);
	ls_buf_append(&j->scratch, st->ml.data, st->ml.len);
	jr_emit(r, st, j->scratch.data, j->scratch.len, st->ml_sev, st->ml_time,
	    st->ml_last, st->ml_dropped, st->ml_seq);
	st->ml_seq = 0;
	st->ml_active = 0;
	st->ml_dropped = 0;
	ls_buf_reset(&st->ml);
	r->nml--;
}

/* A line of st's process, for the multiline entry it gathers: a start
 * line ships the entry and begins the next, taking its slot in the
 * tracker; another line joins it, its own slot done at once. */
void
jr_ml_line(struct jsrc *r, struct stream *st, const char *line, size_t len,
    enum ls_severity sev, int64_t time_ms, uint64_t ord)
{
	const struct ls_conf_source *src = r->src;
	size_t room, max = src->max_line_bytes;
	int start;

	if (src->multiline_auto)
		start = ls_ml_auto_starts(&st->autos, line, len);
	else
		start = ls_pattern_match(
			    src->multiline_re, line, len, 0, NULL, 0, NULL)
		    == 1;
	if (start || !st->ml_active) {
		jr_ml_flush(r, st);
		ls_buf_append(&st->ml, line, len < max ? len : max);
		st->ml_dropped = len > max ? len - max : 0;
		st->ml_active = 1;
		st->ml_first = ord;
		st->ml_seq = ls_offtrack_add_at(r->track, ord, ls_now_ms());
		r->added = ord;
		st->ml_sev = sev;
		st->ml_time = time_ms;
		r->nml++;
	} else {
		room = st->ml.len < max ? max - st->ml.len : 0;
		if (room > 0) {
			ls_buf_putc(&st->ml, '\n');
			room--;
		}
		ls_buf_append(&st->ml, line, len < room ? len : room);
		st->ml_dropped += len > room ? len - room : 0;
		LS_COUNT(r->j->m->multiline_joined, 1);
		jr_skip(r, ord);
	}
	st->ml_last = ord;
	st->ml_ms = ls_now_ms();
}

void
jr_free_stream(struct stream *st)
{
	ls_labels_unref(st->labels);
	ls_buf_cleanup(&st->ml);
	free(st->key);
	free(st);
}

/* Forgets the streams with nothing outstanding, once there are many. */
static void
sweep_streams(struct jsrc *r)
{
	struct stream **pp, *st;

	if (r->nstreams < STREAMS_MAX)
		return;
	for (pp = &r->slist; (st = *pp) != NULL;) {
		if (st->ml_active || st->last_ord > r->committed) {
			pp = &st->next;
			continue;
		}
		*pp = st->next;
		if (r->last_st == st)
			r->last_st = NULL;
		ls_htab_remove(&r->streams, &st->node);
		jr_free_stream(st);
		r->nstreams--;
	}
}

/* The stream of these fields, made with its labels if new. */
struct stream *
jr_stream_of(struct jsrc *r, const char *ident, const char *unit,
    const char *pid, const char *host)
{
	const struct ls_conf_source *src = r->src;
	const char *const f[4] = { ident, unit, pid, host };
	struct ls_hnode *n;
	struct ls_buf extra;
	struct stream *st;
	const char *service;
	char svc[256], key[4 * (LS_JFIELD_MAX + 1) + 1];
	size_t i, k = 0, len;
	uint64_t h;
	int has_host;

	/* The key: the four fields, \x01 for one missing, each ended by
	 * \x1f (written with memcpy: a printf per entry was 10% of the
	 * CPU in perf). */
	for (i = 0; i < 4; i++) {
		len = f[i] != NULL ? strlen(f[i]) : 0;
		if (len > LS_JFIELD_MAX)
			len = LS_JFIELD_MAX;
		if (f[i] != NULL)
			memcpy(key + k, f[i], len);
		else
			key[k++] = '\x01';
		k += len;
		key[k++] = '\x1f';
	}
	key[k] = '\0';
	/* Consecutive entries mostly come from one process. */
	if (r->last_st != NULL && strcmp(r->last_st->key, key) == 0)
		return r->last_st;
	h = ls_hash_str(key);
	for (n = ls_htab_first(&r->streams, h); n != NULL;
	     n = ls_htab_next(n)) {
		st = LS_CONTAINER_OF(n, struct stream, node);
		if (strcmp(st->key, key) == 0)
			return r->last_st = st;
	}
	st = xcalloc(1, sizeof *st);
	st->key = xstrdup(key);
	ls_buf_init(&st->ml);
	ls_buf_init(&extra);
	has_host = ls_journal_extra(
	    &extra, ident, unit, pid, host, !r->j->conf->hostname_set);
	service = src->service != NULL
	    ? src->service
	    : ls_journal_service(svc, sizeof svc, unit, ident);
	st->labels = ls_labels_intern_extra(
	    service, src->ddsource, src->ddtags, extra.data, has_host);
	ls_buf_cleanup(&extra);
	ls_htab_insert(&r->streams, &st->node, h);
	st->next = r->slist;
	r->slist = st;
	r->nstreams++;
	return r->last_st = st;
}

/* Drops every stream's labels (a reload changed what they say); a
 * stream gathering an entry ships it first. */
void
jr_reset_streams(struct jsrc *r)
{
	struct stream *st;

	for (st = r->slist; st != NULL; st = st->next)
		jr_ml_flush(r, st);
	jr_flush_pending(r->j);
	/* Records in flight borrow the labels: a reference each is kept
	 * (retired) until none is in flight (release_retired). */
	r->last_st = NULL;
	while ((st = r->slist) != NULL) {
		r->slist = st->next;
		ls_htab_remove(&r->streams, &st->node);
		r->retired = xreallocarray(
		    r->retired, r->nretired + 1, sizeof *r->retired);
		r->retired[r->nretired++] = st->labels;
		st->labels = NULL;
		jr_free_stream(st);
	}
	r->nstreams = 0;
}

/* The labels retired by reloads, once no record borrows them. */
void
jr_release_retired(struct jsrc *r)
{
	size_t i;

	if (r->inflight > 0)
		return;
	for (i = 0; i < r->nretired; i++)
		ls_labels_unref(r->retired[i]);
	free(r->retired);
	r->retired = NULL;
	r->nretired = 0;
}

/* The last ordinal up to c inside no shipped entry's span (a first line
 * at or before it, its last after it), unless that is more than
 * CUT_LAG_MAX before c: then c. The spans it passes are forgotten. */
static uint64_t
cut(struct jsrc *r, uint64_t c)
{
	uint64_t best = 0, maxlast = 0;
	size_t i, k, n;

	/* In the order of their first lines (each ordinal begins one entry
	 * at most): before a span's first line is a cut when no span before
	 * it ends past it. */
	for (i = 0; i < r->nspans && r->spans[i].first <= c; i++) {
		if (maxlast <= r->spans[i].first - 1)
			best = r->spans[i].first - 1;
		if (r->spans[i].last > maxlast)
			maxlast = r->spans[i].last;
	}
	if (maxlast <= c || c - best > CUT_LAG_MAX)
		best = c;
	/* Those passed are among the first i. */
	for (k = n = 0; k < i; k++)
		if (r->spans[k].last > best)
			r->spans[n++] = r->spans[k];
	if (n < i) {
		memmove(r->spans + n, r->spans + i,
		    (r->nspans - i) * sizeof *r->spans);
		r->nspans -= i - n;
	}
	if (r->capspans > 64 && r->nspans < r->capspans / 4) {
		r->capspans /= 2;
		r->spans
		    = xreallocarray(r->spans, r->capspans, sizeof *r->spans);
	}
	return best;
}

/*
 * The committed ordinal: every entry up to it is done (the tracker's; a
 * multiline entry being gathered holds it before its first line by its
 * slot, see the top), and it is inside no multiline entry (within
 * CUT_LAG_MAX). Its cursor goes to the checkpoint; those before it are
 * forgotten.
 */
void
jr_advance(struct jsrc *r)
{
	uint64_t c = ls_offtrack_committed(r->track);
	const char *cur;

	if (c <= r->committed)
		return;
	c = cut(r, c);
	if (c <= r->committed || (cur = ls_jring_get(&r->cursors, c)) == NULL)
		return;
	free(r->cursor);
	r->cursor = xstrdup(cur);
	r->committed = c;
	r->changed = 1;
	ls_jring_drop_below(&r->cursors, c);
	sweep_streams(r);
}

/* Every destination is done with rec, a record of reader o. */
static void
reader_ack(struct ls_origin *o, struct ls_record *rec)
{
	struct jsrc *r = (struct jsrc *)(void *)((char *)o
	    - offsetof(struct jsrc, origin));

	(void)ls_offtrack_done(r->track, rec->seq);
	r->inflight--;
}

const struct ls_origin_ops jr_origin_ops = {
	.ack = reader_ack,
};

void
jr_backlog(struct ls_journal *j)
{
	struct jsrc *r;
	int64_t at, now = ls_now_ms();

	for (r = j->readers; r != NULL; r = r->next) {
		if (r->src == NULL || r->idx >= j->m->nsources)
			continue;
		at = ls_offtrack_oldest(r->track);
		atomic_store_explicit(&j->m->backlog_ms[r->idx],
		    at < 0 ? 0 : now - at, memory_order_relaxed);
	}
}

/* Multiline entries idle for their flush time are shipped. */
void
jr_ml_idle(struct ls_journal *j)
{
	struct stream *st;
	struct jsrc *r;
	int64_t now = ls_now_ms();

	for (r = j->readers; r != NULL; r = r->next) {
		if (r->nml == 0 || r->src == NULL)
			continue;
		for (st = r->slist; st != NULL; st = st->next)
			if (st->ml_active
			    && now - st->ml_ms >= r->src->multiline_flush_ms)
				jr_ml_flush(r, st);
	}
	jr_flush_pending(j);
}
