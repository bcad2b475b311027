/*
 * journal: the journald sources' readers (journal.h). One reader per
 * source: its sd_journal, its watchers, the offset tracker over the
 * ordinals of its entries and their cursors, and its streams (one per
 * process: their labels, and the multiline entry each gathers).
 *
 * Main thread only.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "buf.h"
#include "htab.h"
#include "journal.h"
#include "labels.h"
#include "log.h"
#include "multiline.h"
#include "offtrack.h"
#include "pattern.h"
#include "rules.h"
#include "timestamp.h"
#include "xmalloc.h"

/* Entries read per pass, before the loop (and the other readers) get a
 * turn; records pushed to the ingest queue with one lock. */
#define PASS_ENTRIES 4096
#define PUSH_BATCH 512
/* Streams kept with no entry outstanding, before the oldest go. */
#define STREAMS_MAX 1024

/* One process's entries (unit, identifier, pid, host): their labels,
 * interned once, and the multiline entry being gathered. */
struct stream {
	struct ls_hnode node;
	char *key;
	const struct ls_labels *labels; /* a reference */
	uint64_t last_ord; /* the newest entry that used it */
	struct ls_buf ml;
	int ml_active;
	size_t ml_dropped;
	uint64_t ml_first; /* ordinals of its first and last lines */
	uint64_t ml_last;
	int64_t ml_ms; /* when its last line came (ls_now_ms) */
	int64_t ml_time; /* its first line's time */
	enum ls_severity ml_sev; /* and severity */
	struct ls_ml_auto autos;
	struct stream *next;
};

struct jsrc {
	struct ls_origin origin; /* what its records point at */
	struct ls_journal *j;
	const struct ls_conf_source *src; /* NULL once removed */
	char *name;
	char *directory;
	size_t idx; /* of src in the configuration */
#ifdef HAVE_LIBSYSTEMD
	sd_journal *sd;
#endif
	ev_io io_w;
	ev_timer tmo_w; /* sd_journal_get_timeout */
	ev_idle more_w; /* a pass ended before the journal's end */
	struct ls_offtrack *track; /* over ordinals */
	struct ls_jring cursors;
	uint64_t ord; /* the last ordinal given */
	uint64_t added; /* the last ordinal added to the tracker */
	uint64_t committed; /* the ordinal whose cursor is checkpointed */
	char *cursor; /* that cursor (a copy), or NULL */
	int changed; /* cursor changed since the last commit */
	struct ls_htab streams;
	struct stream *slist;
	size_t nstreams;
	size_t nml; /* streams gathering an entry */
	/* Labels of streams a reload replaced: records in flight borrow
	 * them (record.h), so a reference each is kept until none is. */
	const struct ls_labels **retired;
	size_t nretired;
	uint64_t inflight;
	uint64_t entries;
	uint64_t cursor_lost;
	uint64_t skipped;
	int paused;
	int stopped;
	struct jsrc *next;
};

struct ls_journal {
	struct ev_loop *loop;
	const struct ls_conf *conf;
	struct ls_queue *out;
	struct ls_budget *budget;
	struct ls_ckpt *ckpt;
	struct ls_metrics *m;
	struct jsrc *readers;
	ev_async resume_w;
	ev_timer tick_w; /* checkpoint, backlog, multiline flush */
	struct ls_buf scratch;
	struct ls_record *pend[PUSH_BATCH];
	size_t npend;
	uint64_t sev[LS_SEV_COUNT];
	int started;
	int stopped;
};

static void
flush_pending(struct ls_journal *j)
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

/* An ordinal nothing will be sent for (filtered out, dropped by a rule):
 * done at once, so the committed cursor goes over it. */
static void
skip_ord(struct jsrc *r, uint64_t ord)
{
	if (ord <= r->added)
		return;
	(void)ls_offtrack_done(r->track, ls_offtrack_add(r->track, ord));
	r->added = ord;
}

static void
emit(struct jsrc *r, struct stream *st, const char *msg, size_t len,
    enum ls_severity sev, int64_t time_ms, uint64_t ord, size_t dropped)
{
	struct ls_journal *j = r->j;
	struct ls_record *rec;

	if (r->src != NULL && r->src->rules != NULL
	    && ls_rules_apply(r->src->rules, msg, len, &msg, &len)
		== LS_RULES_DROP) {
		skip_ord(r, ord);
		return;
	}
	if (dropped > 0) {
		if (msg != j->scratch.data) {
			ls_buf_reset(&j->scratch);
			ls_buf_append(&j->scratch, msg, len);
		}
		ls_buf_printf(
		    &j->scratch, " [logshipd: truncated %zu bytes]", dropped);
		msg = j->scratch.data;
		len = j->scratch.len;
		LS_COUNT(j->m->lines_truncated, 1);
	}
	if (ord < r->added)
		ord = r->added; /* a multiline entry older than a record */
	rec = ls_record_new_labels(
	    st->labels, j->budget, msg, len, sev, ord, time_ms);
	if (dropped > 0)
		rec->flags |= LS_REC_TRUNCATED;
	rec->source = (uint16_t)r->idx;
	rec->origin = &r->origin;
	rec->seq = ls_offtrack_add_at(r->track, ord, ls_now_ms());
	r->added = ord;
	r->inflight++;
	if (r->idx < j->m->nsources) {
		LS_COUNT(j->m->source_lines[r->idx], 1);
		LS_COUNT(j->m->source_bytes[r->idx], len);
	}
	LS_COUNT(j->m->bytes_read, len);
	j->sev[sev]++;
	j->pend[j->npend++] = rec;
	if (j->npend == PUSH_BATCH)
		flush_pending(j);
}

/* Ships the multiline entry st gathers, if any. */
static void
ml_flush(struct jsrc *r, struct stream *st)
{
	struct ls_journal *j = r->j;

	if (!st->ml_active)
		return;
	ls_buf_reset(&j->scratch);
	ls_buf_append(&j->scratch, st->ml.data, st->ml.len);
	emit(r, st, j->scratch.data, j->scratch.len, st->ml_sev, st->ml_time,
	    st->ml_last, st->ml_dropped);
	st->ml_active = 0;
	st->ml_dropped = 0;
	ls_buf_reset(&st->ml);
	r->nml--;
}

/* A line of st's process, for the multiline entry it gathers: a start
 * line ships the entry and begins the next; another line joins it. */
static void
ml_line(struct jsrc *r, struct stream *st, const char *line, size_t len,
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
		ml_flush(r, st);
		ls_buf_append(&st->ml, line, len < max ? len : max);
		st->ml_dropped = len > max ? len - max : 0;
		st->ml_active = 1;
		st->ml_first = ord;
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
	}
	st->ml_last = ord;
	st->ml_ms = ls_now_ms();
}

static void
free_stream(struct stream *st)
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
		ls_htab_remove(&r->streams, &st->node);
		free_stream(st);
		r->nstreams--;
	}
}

/* The stream of these fields, made with its labels if new. */
static struct stream *
stream_of(struct jsrc *r, const char *ident, const char *unit,
    const char *pid, const char *host)
{
	const struct ls_conf_source *src = r->src;
	struct ls_buf key, extra;
	struct ls_hnode *n;
	struct stream *st;
	const char *service;
	char svc[256];
	uint64_t h;
	int has_host;

	ls_buf_init(&key);
	ls_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s", ident ? ident : "",
	    unit ? unit : "", pid ? pid : "", host ? host : "");
	h = ls_hash_str(key.data);
	for (n = ls_htab_first(&r->streams, h); n != NULL;
	     n = ls_htab_next(n)) {
		st = LS_CONTAINER_OF(n, struct stream, node);
		if (strcmp(st->key, key.data) == 0) {
			ls_buf_cleanup(&key);
			return st;
		}
	}
	st = xcalloc(1, sizeof *st);
	st->key = xstrdup(key.data);
	ls_buf_cleanup(&key);
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
	return st;
}

/* Drops every stream's labels (a reload changed what they say); a
 * stream gathering an entry ships it first. */
static void
reset_streams(struct jsrc *r)
{
	struct stream *st;

	for (st = r->slist; st != NULL; st = st->next)
		ml_flush(r, st);
	flush_pending(r->j);
	/* Records in flight borrow the labels: a reference each is kept
	 * (retired) until none is in flight (release_retired). */
	while ((st = r->slist) != NULL) {
		r->slist = st->next;
		ls_htab_remove(&r->streams, &st->node);
		r->retired = xreallocarray(
		    r->retired, r->nretired + 1, sizeof *r->retired);
		r->retired[r->nretired++] = st->labels;
		st->labels = NULL;
		free_stream(st);
	}
	r->nstreams = 0;
}

/* The labels retired by reloads, once no record borrows them. */
static void
release_retired(struct jsrc *r)
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

/*
 * The committed ordinal: every entry up to it is done, and none is held
 * in a multiline entry being gathered. Its cursor goes to the
 * checkpoint; those before it are forgotten.
 */
static void
advance(struct jsrc *r)
{
	uint64_t c = ls_offtrack_committed(r->track);
	struct stream *st;
	const char *cur;

	if (r->nml > 0)
		for (st = r->slist; st != NULL; st = st->next)
			if (st->ml_active && st->ml_first - 1 < c)
				c = st->ml_first - 1;
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

static const struct ls_origin_ops journal_origin_ops = {
	.ack = reader_ack,
};

#ifdef HAVE_LIBSYSTEMD

/* Field f of the current entry, without "F=", NUL-terminated in buf
 * (cut to its size); NULL when the entry has none. */
static const char *
field(sd_journal *sd, const char *f, char *buf, size_t size)
{
	const void *d;
	size_t len, k = strlen(f);

	if (sd_journal_get_data(sd, f, &d, &len) < 0 || len <= k)
		return NULL;
	len -= k + 1;
	if (len >= size)
		len = size - 1;
	memcpy(buf, (const char *)d + k + 1, len);
	buf[len] = '\0';
	return buf;
}

/* The current entry, ordinal ord, into a record (or a multiline entry,
 * or nothing when the source does not want it). */
static void
entry(struct jsrc *r, uint64_t ord)
{
	const struct ls_conf_source *src = r->src;
	char ub[256], ib[256], pb[32], hb[256], prb[8];
	const char *unit, *ident, *pid, *host, *prio, *msg;
	const void *d;
	size_t len;
	uint64_t usec;
	int64_t time_ms;
	enum ls_severity sev;
	struct stream *st;

	unit = field(r->sd, "_SYSTEMD_UNIT", ub, sizeof ub);
	if (!ls_journal_unit_wanted(src, unit)
	    || sd_journal_get_data(r->sd, "MESSAGE", &d, &len) < 0
	    || len < 8) {
		skip_ord(r, ord);
		return;
	}
	msg = (const char *)d + 8;
	len -= 8;
	ident = field(r->sd, "SYSLOG_IDENTIFIER", ib, sizeof ib);
	pid = field(r->sd, "_PID", pb, sizeof pb);
	host = field(r->sd, "_HOSTNAME", hb, sizeof hb);
	prio = field(r->sd, "PRIORITY", prb, sizeof prb);
	/* A line printed with its newline (or a CR) keeps none. */
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (sd_journal_get_realtime_usec(r->sd, &usec) >= 0)
		time_ms = (int64_t)(usec / 1000);
	else
		time_ms = ls_wall_ms();
	sev = ls_journal_severity(prio, prio != NULL ? strlen(prio) : 0, msg,
	    len, src->default_severity);
	st = stream_of(r, ident, unit, pid, host);
	st->last_ord = ord;
	if (src->multiline_re != NULL || src->multiline_auto)
		ml_line(r, st, msg, len, sev, time_ms, ord);
	else
		emit(r, st, msg, len > src->max_line_bytes ? src->max_line_bytes
							    : len,
		    sev, time_ms, ord,
		    len > src->max_line_bytes ? len - src->max_line_bytes : 0);
}

static void arm(struct jsrc *r);

/* Reads a slice of entries: until the journal's end, the budget's high
 * mark, or PASS_ENTRIES (then the idle watcher comes back). */
static void
read_pass(struct jsrc *r)
{
	struct ls_journal *j = r->j;
	char *cur;
	size_t n;
	int rc = 0;

	if (r->stopped || r->src == NULL)
		return;
	for (n = 0; n < PASS_ENTRIES; n++) {
		if (ls_budget_should_pause(j->budget)) {
			if (!r->paused) {
				r->paused = 1;
				ls_metrics_set_paused(j->m, 1, ls_now_ms());
				log_debug("journal %s: buffer full, paused",
				    r->name);
			}
			break;
		}
		if ((rc = sd_journal_next(r->sd)) <= 0)
			break;
		if (sd_journal_get_cursor(r->sd, &cur) < 0) {
			log_warnx("journal %s: an entry without a cursor",
			    r->name);
			continue;
		}
		ls_jring_put(&r->cursors, ++r->ord, cur);
		r->entries++;
		entry(r, r->ord);
	}
	if (rc < 0)
		log_warnx("journal %s: %s", r->name, strerror(-rc));
	flush_pending(j);
	if (n == PASS_ENTRIES)
		ev_idle_start(j->loop, &r->more_w);
	else
		ev_idle_stop(j->loop, &r->more_w);
	arm(r);
}

/* The journal's descriptor or its timeout: let it process the change,
 * then read. */
static void
wake(struct jsrc *r)
{
	int rc;

	if ((rc = sd_journal_process(r->sd)) < 0)
		log_warnx("journal %s: %s", r->name, strerror(-rc));
	read_pass(r);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	wake(w->data);
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	wake(w->data);
}

static void
more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	read_pass(w->data);
}

/* The timer for the journal's own timeout (inotify's fallback). */
static void
arm(struct jsrc *r)
{
	struct timespec ts;
	uint64_t t, now;

	ev_timer_stop(r->j->loop, &r->tmo_w);
	if (r->stopped || sd_journal_get_timeout(r->sd, &t) < 0
	    || t == (uint64_t)-1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	ev_timer_set(&r->tmo_w, t > now ? (double)(t - now) / 1e6 : 0, 0);
	ev_timer_start(r->j->loop, &r->tmo_w);
}

/*
 * Positions the reader after the saved cursor: seek to it, and check it
 * is the entry found there (without the matches, which may have changed
 * since it was saved). A cursor the journal no longer has (vacuumed, or
 * another machine's) resumes at the oldest entry, counted; how many
 * entries were skipped is known when the oldest entry has the cursor's
 * sequence number id.
 */
static void
seek_saved(struct jsrc *r, const char *saved)
{
	char sid[33], hsid[33], *head = NULL;
	uint64_t seq, hseq;

	if (sd_journal_seek_cursor(r->sd, saved) >= 0
	    && sd_journal_next(r->sd) > 0
	    && sd_journal_test_cursor(r->sd, saved) > 0) {
		log_info("journal %s: resuming after %s", r->name, saved);
		return;
	}
	r->cursor_lost++;
	(void)sd_journal_seek_head(r->sd);
	if (sd_journal_next(r->sd) > 0
	    && sd_journal_get_cursor(r->sd, &head) >= 0
	    && ls_journal_cursor_seq(saved, sid, &seq) == 0
	    && ls_journal_cursor_seq(head, hsid, &hseq) == 0
	    && strcmp(sid, hsid) == 0 && hseq > seq + 1) {
		r->skipped += hseq - seq - 1;
		log_warnx("journal %s: the saved cursor is no longer in the "
			  "journal (vacuumed): resuming at the oldest entry; "
			  "%llu entries were skipped",
		    r->name, (unsigned long long)(hseq - seq - 1));
	} else
		log_warnx("journal %s: the saved cursor is no longer in the "
			  "journal (vacuumed, or another journal's): resuming "
			  "at the oldest entry; how many entries were skipped "
			  "is not known",
		    r->name);
	free(head);
	(void)sd_journal_seek_head(r->sd);
}

static int
open_reader(struct jsrc *r)
{
	const struct ls_conf_source *src = r->src;
	const char *saved = ls_ckpt_cursor(r->j->ckpt, r->name);
	size_t i;
	int rc, fd;

	if (src->directory != NULL)
		rc = sd_journal_open_directory(&r->sd, src->directory, 0);
	else
		rc = sd_journal_open(&r->sd, SD_JOURNAL_LOCAL_ONLY);
	if (rc < 0) {
		log_warnx("journal %s: cannot open %s: %s%s", r->name,
		    src->directory != NULL ? src->directory
					   : "the system journal",
		    strerror(-rc),
		    rc == -EACCES ? " (the systemd-journal group may read it)"
				  : "");
		return -1;
	}
	(void)sd_journal_set_data_threshold(r->sd, src->max_line_bytes + 8);
	/* Before the first read, as sd_journal_get_fd(3) asks. */
	if ((fd = sd_journal_get_fd(r->sd)) < 0) {
		log_warnx("journal %s: no descriptor to wait on: %s", r->name,
		    strerror(-fd));
		return -1;
	}
	if (saved != NULL) {
		r->cursor = xstrdup(saved);
		seek_saved(r, saved);
	} else if (src->start_at == LS_START_END) {
		(void)sd_journal_seek_tail(r->sd);
		(void)sd_journal_previous(r->sd);
	} else
		(void)sd_journal_seek_head(r->sd);
	/* After the seek: the position stays, and the next entries are
	 * those that match. */
	for (i = 0; i < src->nmatches; i++)
		if ((rc = sd_journal_add_match(r->sd, src->matches[i], 0))
		    < 0)
			log_warnx("journal %s: match %s: %s", r->name,
			    src->matches[i], strerror(-rc));
	ev_io_init(&r->io_w, io_cb, fd, sd_journal_get_events(r->sd));
	r->io_w.data = r;
	ev_io_start(r->j->loop, &r->io_w);
	return 0;
}

static void
close_reader(struct jsrc *r)
{
	if (r->sd != NULL)
		sd_journal_close(r->sd);
	r->sd = NULL;
}

#else /* !HAVE_LIBSYSTEMD: the configuration refuses type: journald */

static void
read_pass(struct jsrc *r)
{
}

static void
more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

static int
open_reader(struct jsrc *r)
{
	log_warnx("journal %s: built without libsystemd", r->name);
	return -1;
}

static void
close_reader(struct jsrc *r)
{
}

#endif

static void
stop_reader(struct jsrc *r)
{
	struct ev_loop *loop = r->j->loop;
	struct stream *st;

	if (r->stopped)
		return;
	r->stopped = 1;
	ev_io_stop(loop, &r->io_w);
	ev_timer_stop(loop, &r->tmo_w);
	ev_idle_stop(loop, &r->more_w);
	if (r->src != NULL)
		for (st = r->slist; st != NULL; st = st->next)
			ml_flush(r, st);
	flush_pending(r->j);
}

static void
free_reader(struct jsrc *r)
{
	struct stream *st;

	stop_reader(r);
	close_reader(r);
	while ((st = r->slist) != NULL) {
		r->slist = st->next;
		free_stream(st);
	}
	ls_htab_cleanup(&r->streams);
	r->inflight = 0; /* freed last: every record is gone */
	release_retired(r);
	ls_jring_cleanup(&r->cursors);
	ls_offtrack_free(r->track);
	free(r->cursor);
	free(r->name);
	free(r->directory);
	free(r);
}

static struct jsrc *
new_reader(struct ls_journal *j, const struct ls_conf_source *src, size_t idx)
{
	struct jsrc *r = xcalloc(1, sizeof *r);

	r->origin.ops = &journal_origin_ops;
	r->j = j;
	r->src = src;
	r->idx = idx;
	r->name = xstrdup(src->name);
	if (src->directory != NULL)
		r->directory = xstrdup(src->directory);
	r->track = ls_offtrack_new(0);
	ls_jring_init(&r->cursors);
	ls_htab_init(&r->streams, 64);
#ifdef HAVE_LIBSYSTEMD
	ev_init(&r->io_w, io_cb);
#endif
	ev_init(&r->tmo_w, tmo_cb);
	r->tmo_w.data = r;
	ev_idle_init(&r->more_w, more_cb);
	r->more_w.data = r;
	r->next = j->readers;
	j->readers = r;
	return r;
}

static void
resume_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ls_journal *j = w->data;
	struct jsrc *r;

	for (r = j->readers; r != NULL; r = r->next)
		if (r->paused) {
			r->paused = 0;
			read_pass(r);
		}
	ls_metrics_set_paused(j->m, 0, ls_now_ms());
}

/* The budget's callback: any thread, so only a wakeup. */
static void
budget_resume_cb(void *arg)
{
	struct ls_journal *j = arg;

	ev_async_send(j->loop, &j->resume_w);
}

/* Each source's backlog age, as the tailer writes its files'. */
static void
backlog(struct ls_journal *j)
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
static void
ml_idle(struct ls_journal *j)
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
				ml_flush(r, st);
	}
	flush_pending(j);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_journal *j = w->data;
	struct jsrc *r, **pp;

	ml_idle(j);
	(void)ls_journal_checkpoint(j, 1);
	backlog(j);
	for (r = j->readers; r != NULL; r = r->next)
		release_retired(r);
	/* Removed sources go once their records are done. */
	for (pp = &j->readers; (r = *pp) != NULL;) {
		if (r->src == NULL && r->inflight == 0) {
			*pp = r->next;
			ls_ckpt_set_cursor(j->ckpt, r->name, NULL);
			free_reader(r);
			continue;
		}
		pp = &r->next;
	}
}

static double
tick_secs(const struct ls_conf *c)
{
	size_t i;
	int64_t ms = c->checkpoint_interval_ms;

	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].type == LS_SOURCE_JOURNALD
		    && (c->sources[i].multiline_re != NULL
			|| c->sources[i].multiline_auto)
		    && c->sources[i].multiline_flush_ms / 2 < ms)
			ms = c->sources[i].multiline_flush_ms / 2;
	return (ms > 10 ? ms : 10) / 1000.0;
}

struct ls_journal *
ls_journal_new(struct ev_loop *loop, const struct ls_conf *conf,
    struct ls_queue *out, struct ls_budget *budget, struct ls_ckpt *ckpt,
    struct ls_metrics *m)
{
	struct ls_journal *j = xcalloc(1, sizeof *j);

	j->loop = loop;
	j->conf = conf;
	j->out = out;
	j->budget = budget;
	j->ckpt = ckpt;
	j->m = m;
	ls_buf_init(&j->scratch);
	ev_async_init(&j->resume_w, resume_cb);
	j->resume_w.data = j;
	ev_init(&j->tick_w, tick_cb);
	j->tick_w.data = j;
	return j;
}

int
ls_journal_start(struct ls_journal *j)
{
	const struct ls_conf *c = j->conf;
	struct jsrc *r;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].type == LS_SOURCE_JOURNALD)
			(void)new_reader(j, &c->sources[i], i);
	if (j->readers == NULL)
		return 0;
	ls_budget_watch(j->budget, budget_resume_cb, j);
	ev_async_start(j->loop, &j->resume_w);
	for (r = j->readers; r != NULL; r = r->next)
		if (open_reader(r) != 0)
			rc = -1;
	if (rc != 0)
		return -1;
	j->started = 1;
	ev_timer_set(&j->tick_w, tick_secs(c), tick_secs(c));
	ev_timer_start(j->loop, &j->tick_w);
	for (r = j->readers; r != NULL; r = r->next)
		ev_idle_start(j->loop, &r->more_w);
	return 0;
}

void
ls_journal_reload(struct ls_journal *j, const struct ls_conf *conf)
{
	struct jsrc *r;
	size_t i;

	for (r = j->readers; r != NULL; r = r->next) {
		if (r->src == NULL)
			continue;
		for (i = 0; i < conf->nsources; i++)
			if (conf->sources[i].type == LS_SOURCE_JOURNALD
			    && strcmp(conf->sources[i].name, r->name) == 0)
				break;
		/* Labels, multiline and rules as the new file says: the
		 * entries being gathered go first. */
		reset_streams(r);
		if (i == conf->nsources) {
			stop_reader(r);
			r->src = NULL;
			log_notice("journal %s: source removed, no longer read",
			    r->name);
			continue;
		}
		r->src = &conf->sources[i];
		r->idx = i;
	}
	j->conf = conf;
	for (i = 0; i < conf->nsources; i++) {
		if (conf->sources[i].type != LS_SOURCE_JOURNALD)
			continue;
		for (r = j->readers; r != NULL; r = r->next)
			if (r->src == &conf->sources[i])
				break;
		if (r != NULL || !j->started || j->stopped)
			continue;
		r = new_reader(j, &conf->sources[i], i);
		if (open_reader(r) == 0)
			ev_idle_start(j->loop, &r->more_w);
	}
	if (j->started && !j->stopped) {
		ev_timer_stop(j->loop, &j->tick_w);
		ev_timer_set(&j->tick_w, tick_secs(conf), tick_secs(conf));
		ev_timer_start(j->loop, &j->tick_w);
	}
}

void
ls_journal_stop(struct ls_journal *j)
{
	struct jsrc *r;

	if (j->stopped)
		return;
	j->stopped = 1;
	for (r = j->readers; r != NULL; r = r->next)
		stop_reader(r);
	ev_timer_stop(j->loop, &j->tick_w);
}

int
ls_journal_checkpoint(struct ls_journal *j, int commit)
{
	struct jsrc *r;
	int changed = 0;

	for (r = j->readers; r != NULL; r = r->next) {
		advance(r);
		if (!r->changed)
			continue;
		r->changed = 0;
		changed = 1;
		ls_ckpt_set_cursor(j->ckpt, r->name, r->cursor);
	}
	if (changed && commit)
		return ls_ckpt_commit(j->ckpt, 0);
	return 0;
}

void
ls_journal_free(struct ls_journal *j)
{
	struct jsrc *r;

	if (j == NULL)
		return;
	ls_journal_stop(j);
	if (j->readers != NULL)
		ls_budget_watch(j->budget, NULL, j);
	ev_async_stop(j->loop, &j->resume_w);
	while ((r = j->readers) != NULL) {
		j->readers = r->next;
		free_reader(r);
	}
	ls_buf_cleanup(&j->scratch);
	free(j);
}

void
ls_journal_foreach(struct ls_journal *j,
    void (*cb)(const struct ls_journal_info *, void *), void *arg)
{
	struct ls_journal_info in;
	struct jsrc *r;
	int64_t at, now = ls_now_ms();

	for (r = j->readers; r != NULL; r = r->next) {
		if (r->src == NULL)
			continue;
		memset(&in, 0, sizeof in);
		in.source = r->name;
		in.directory = r->directory;
		in.cursor = r->cursor;
		in.entries = r->entries;
		in.inflight = r->inflight;
		at = ls_offtrack_oldest(r->track);
		in.backlog_ms = at < 0 ? 0 : now - at;
		in.cursor_lost = r->cursor_lost;
		in.skipped = r->skipped;
		in.paused = r->paused;
		cb(&in, arg);
	}
}
