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
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal_impl.h"
#include "labels.h"
#include "log.h"
#include "status_metrics.h"
#include "timestamp.h"
#include "xmalloc.h"

#ifdef HAVE_LIBSYSTEMD

/* The fields an entry's record is made of, besides MESSAGE. */
enum { F_UNIT, F_IDENT, F_PID, F_HOST, F_PRIO, NF };

/* The current entry, ordinal ord, into a record (or a multiline entry,
 * or nothing when the source does not want it). */
static void
entry(struct jsrc *r, uint64_t ord)
{
	static const char *const names[NF] = { "_SYSTEMD_UNIT=",
		"SYSLOG_IDENTIFIER=", "_PID=", "_HOSTNAME=", "PRIORITY=" };
	const struct ls_conf_source *src = r->src;
	char fb[NF][LS_JFIELD_MAX + 1];
	const char *v[NF] = { NULL }, *msg, *unit, *prio;
	const void *d;
	size_t len, k, i;
	uint64_t usec;
	int64_t time_ms;
	enum ls_severity sev;
	struct stream *st;

	/* The small fields in one pass over the entry (one lookup each
	 * scanned its fields again), copied: what the journal hands out is
	 * valid until its next call. */
	sd_journal_restart_data(r->sd);
	while (sd_journal_enumerate_available_data(r->sd, &d, &len) > 0)
		for (i = 0; i < NF; i++) {
			k = strlen(names[i]);
			if (len < k || memcmp(d, names[i], k) != 0)
				continue;
			len -= k;
			if (len > LS_JFIELD_MAX)
				len = LS_JFIELD_MAX;
			memcpy(fb[i], (const char *)d + k, len);
			fb[i][len] = '\0';
			v[i] = fb[i];
			break;
		}
	unit = v[F_UNIT];
	prio = v[F_PRIO];
	if (!ls_journal_unit_wanted(src, unit)
	    || sd_journal_get_data(r->sd, "MESSAGE", &d, &len) < 0 || len < 8) {
		jr_skip(r, ord);
		return;
	}
	msg = (const char *)d + 8;
	len -= 8;
	/* A line printed with its newline (or a CR) keeps none. */
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (sd_journal_get_realtime_usec(r->sd, &usec) >= 0)
		time_ms = (int64_t)(usec / 1000);
	else
		time_ms = ls_wall_ms();
	sev = ls_journal_severity(prio, prio != NULL ? strlen(prio) : 0, msg,
	    len, src->default_severity);
	st = jr_stream_of(r, v[F_IDENT], unit, v[F_PID], v[F_HOST]);
	st->last_ord = ord;
	if (src->multiline_re != NULL || src->multiline_auto)
		jr_ml_line(r, st, msg, len, sev, time_ms, ord);
	else
		jr_emit(r, st, msg,
		    len > src->max_line_bytes ? src->max_line_bytes : len, sev,
		    time_ms, ord,
		    len > src->max_line_bytes ? len - src->max_line_bytes : 0,
		    0);
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
				log_debug(
				    "journal %s: buffer full, paused", r->name);
			}
			break;
		}
		if ((rc = sd_journal_next(r->sd)) <= 0)
			break;
		if (sd_journal_get_cursor(r->sd, &cur) < 0) {
			log_warnx(
			    "journal %s: an entry without a cursor", r->name);
			continue;
		}
		ls_jring_put(&r->cursors, ++r->ord, cur);
		r->entries++;
		entry(r, r->ord);
	}
	if (rc < 0)
		log_warnx("journal %s: %s", r->name, strerror(-rc));
	jr_flush_pending(j);
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
	int rc, fd, ev;

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
		if ((rc = sd_journal_add_match(r->sd, src->matches[i], 0)) < 0)
			log_warnx("journal %s: match %s: %s", r->name,
			    src->matches[i], strerror(-rc));
	ev = sd_journal_get_events(r->sd);
	ev_io_init(&r->io_w, io_cb, fd,
	    (ev & POLLIN ? EV_READ : 0) | (ev & POLLOUT ? EV_WRITE : 0));
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
			jr_ml_flush(r, st);
	jr_flush_pending(r->j);
}

static void
free_reader(struct jsrc *r)
{
	struct stream *st;

	stop_reader(r);
	close_reader(r);
	while ((st = r->slist) != NULL) {
		r->slist = st->next;
		jr_free_stream(st);
	}
	ls_htab_cleanup(&r->streams);
	r->inflight = 0; /* freed last: every record is gone */
	jr_release_retired(r);
	ls_jring_cleanup(&r->cursors);
	free(r->spans);
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

	r->origin.ops = &jr_origin_ops;
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
/* The live reader of the source called name, or NULL. */
static struct jsrc *
reader_named(struct ls_journal *j, const char *name)
{
	struct jsrc *r;

	for (r = j->readers; r != NULL; r = r->next)
		if (r->src != NULL && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_journal *j = w->data;
	struct jsrc *r, **pp;

	jr_ml_idle(j);
	for (r = j->readers; r != NULL; r = r->next)
		jr_release_retired(r);
	/* Removed sources go once their records are done, and their
	 * cursors with them (as a removed source's files' entries do),
	 * unless the source is back under the same name. */
	for (pp = &j->readers; (r = *pp) != NULL;) {
		if (r->src == NULL && r->inflight == 0) {
			*pp = r->next;
			if (reader_named(j, r->name) == NULL) {
				ls_ckpt_set_cursor(j->ckpt, r->name, NULL);
				j->dirty = 1;
			}
			free_reader(r);
			continue;
		}
		pp = &r->next;
	}
	(void)ls_journal_checkpoint(j, 1);
	jr_backlog(j);
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
		jr_reset_streams(r);
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
	int changed = j->dirty;

	for (r = j->readers; r != NULL; r = r->next) {
		jr_advance(r);
		if (!r->changed)
			continue;
		r->changed = 0;
		/* A removed source's last cursor, while a new one of its
		 * name reads on: the new one's. */
		if (r->src == NULL && reader_named(j, r->name) != NULL)
			continue;
		changed = 1;
		ls_ckpt_set_cursor(j->ckpt, r->name, r->cursor);
	}
	if (!changed || !commit)
		return 0;
	j->dirty = 0;
	return ls_ckpt_commit(j->ckpt, 0);
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
