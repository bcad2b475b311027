/*
 * tail_commit: the commit side, the end of the acknowledgements' fan-in.
 *
 * Offsets follow delivery, not reading: each record gets a sequence number
 * in its file's offset tracker; when every destination is done with it the
 * acknowledgement comes back to the main thread (acks.c), and the file's
 * committed offset moves over the done prefix. The checkpoint holds the
 * committed offsets, never the read ones, so a crash resends at most what
 * was in flight. A file's struct outlives its descriptor while records of
 * it are outstanding.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>

#include <ev.h>

#include "checkpoint.h"
#include "log.h"
#include "status_metrics.h"
#include "offtrack.h"
#include "record.h"
#include "tailer_impl.h"
#include "xmalloc.h"

int
ls_tailer_checkpoint(struct ls_tailer *t, int force)
{
	const struct ls_ckpt_entry *old;
	struct ls_ckpt_entry e, *keep = NULL;
	struct waiting *w;
	struct tfile *f;
	size_t i, nkeep = 0, kcap = 0;

	if (t->ckpt == NULL || (!t->dirty && !force))
		return 0;
	/* The files waiting for a descriptor are not followed yet: their
	 * entries are kept as they were, or they would be read again from
	 * 0 (or from their end, with start_at: end) once opened. */
	for (w = t->waiting; w != NULL; w = w->next) {
		if ((old = ls_ckpt_find(t->ckpt, w->src->name, (uint64_t)w->dev,
			 (uint64_t)w->ino))
		    == NULL)
			continue;
		if (nkeep == kcap) {
			kcap = kcap == 0 ? 16 : kcap * 2;
			keep = xreallocarray(keep, kcap, sizeof *keep);
		}
		keep[nkeep] = *old;
		keep[nkeep].source = xstrdup(old->source);
		keep[nkeep].path = xstrdup(old->path);
		nkeep++;
	}
	ls_ckpt_clear(t->ckpt);
	/* Before the files: a followed file's own entry replaces one. */
	for (i = 0; i < nkeep; i++) {
		ls_ckpt_put(t->ckpt, &keep[i]);
		free(keep[i].source);
		free(keep[i].path);
	}
	free(keep);
	for (f = t->files; f != NULL; f = f->next) {
		if (!f->hashed)
			continue;
		tail_refresh_fingerprint(f);
		e.source = (char *)f->src->name;
		/* A renamed file's last name: resume_renamed looks for its
		 * inode in that directory after a restart. */
		e.path = f->path != NULL ? f->path : f->last_path;
		e.dev = (uint64_t)f->dev;
		e.ino = (uint64_t)f->ino;
		e.fp_len = f->fp_len;
		e.fp = f->fp;
		e.offset = ls_offtrack_committed(f->track);
		if (e.path == NULL)
			e.path = "";
		ls_ckpt_put(t->ckpt, &e);
	}
	/* Handed to the writer thread, which counts it; force waits for it
	 * to be written and fsynced (the final one). */
	ls_ckpt_set_fsync_interval(
	    t->ckpt, t->conf->checkpoint_fsync_interval_ms);
	if (ls_ckpt_commit(t->ckpt, force) != 0)
		return -1;
	t->dirty = 0;
	return 0;
}

/*
 * Each source's backlog age: how long its oldest line not yet done by
 * every destination has waited. Datadog drops logs older than 18 h, so
 * an outage that long loses data at the intake whatever the shipper does:
 * warn past backlog_warn, once each way.
 */
static void
backlog_ages(struct ls_tailer *t)
{
	const struct ls_conf *c = t->conf;
	struct tfile *f;
	int64_t now = ls_now_ms(), at, age;
	size_t s;

	for (s = 0; s < c->nsources; s++) {
		/* A journal source's is the journal reader's (journal.c). */
		if (c->sources[s].type != LS_SOURCE_FILE)
			continue;
		age = 0;
		for (f = t->files; f != NULL; f = f->next) {
			if (f->src != &c->sources[s]
			    || (at = ls_offtrack_oldest(f->track)) < 0)
				continue;
			if (now - at > age)
				age = now - at;
		}
		atomic_store_explicit(
		    &t->m->backlog_ms[s], age, memory_order_relaxed);
		if (age >= c->backlog_warn_ms && !t->backlog_warned[s]) {
			t->backlog_warned[s] = 1;
			log_warnx(
			    "source %s: the oldest line not yet delivered "
			    "was read %lld s ago (Datadog drops logs "
			    "older than 18 h)",
			    c->sources[s].name, (long long)(age / 1000));
		} else if (age < c->backlog_warn_ms && t->backlog_warned[s]) {
			t->backlog_warned[s] = 0;
			log_notice(
			    "source %s: backlog caught up", c->sources[s].name);
		}
	}
}

static void
ckpt_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_tailer *t = w->data;

	/* Spaced further when a checkpoint costs the loop much (checkpoint.h:
	 * ls_ckpt_due). */
	if (ls_ckpt_due(t->ckpt))
		ls_tailer_checkpoint(t, 0);
	backlog_ages(t);
}

/* Every destination is done with r, a record of the file o is in. */
static void
file_ack(struct ls_origin *o, struct ls_record *r)
{
	struct tfile *f = (struct tfile *)(void *)((char *)o
	    - offsetof(struct tfile, origin));

	/* After a truncation the tracker ignores the seqs it forgot. */
	(void)ls_offtrack_done(f->track, r->seq);
	f->inflight--;
	f->t->dirty = 1;
}

const struct ls_origin_ops tail_origin_ops = {
	.ack = file_ack,
};

void
tail_commit_init(struct ls_tailer *t)
{
	double ck = t->conf->checkpoint_interval_ms / 1000.0;

	ev_timer_init(&t->ckpt_w, ckpt_cb, ck, ck);
	t->ckpt_w.data = t;
}
