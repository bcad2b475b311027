/*
 * pipeline: see pipeline.h.
 *
 * The table in main.c shows the stages on one screen; this file builds
 * them. Each destination is independent: its own queue, batcher, pool and
 * connection semaphore, so a slow intake stalls nobody else's network work.
 *
 * A reload, destination by destination:
 *   unchanged (ls_conf_dest_same): the running instance stays, queues,
 *     connections, backoff and all;
 *   changed: a new instance starts, and the old one retires;
 *   removed: the old one retires;
 *   added: a new instance starts.
 * Then the router gets the new table (router.h: it takes effect at a
 * barrier in the stream). A retiring instance waits for the router to
 * adopt the table, so that nothing more reaches it; then its input is
 * closed and it drains like at shutdown, for at most shutdown_timeout.
 * When its threads have ended, whatever it did not finish (queued,
 * batched, or cut short by the deadline) goes to its successor, the new
 * instance of the same name (if that one is stopping too, at shutdown, it
 * stays unsent and is not checkpointed), or, for a removed destination,
 * is given up: counted (dropped, reason "reload") and acknowledged, so the
 * checkpoint goes on. Each line goes through exactly one instance at a
 * time: none is lost or sent twice by the reload itself.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "encode.h"
#include "log.h"
#include "pipeline.h"
#include "pool.h"
#include "record.h"
#include "router.h"
#include "sender.h"
#include "xmalloc.h"

enum dest_state {
	D_ACTIVE, /* in the router's table */
	D_UNROUTED, /* retiring: until the router adopts a table without it */
	D_DRAINING, /* retiring: input closed, sending what it has */
};

/* One instance of a destination. */
struct dest {
	struct ls_pipeline *p;
	struct ls_conf *confref; /* the config it was made from */
	const struct ls_conf_dest *conf; /* in confref */
	size_t host_len; /* ls_encode_host_len(confref->hostname) */
	struct ls_dest_metrics *m; /* shared with its other instances */
	struct ls_ctx *ctx; /* child of the pipeline's */
	struct ls_queue *in; /* records routed here */
	struct ls_queue *batches; /* batcher -> workers */
	struct ls_queue *leftover; /* records a cancelled worker had */
	struct ls_batcher *batcher;
	struct ls_sender_dest *sd;
	struct ls_pool *pool;
	uint64_t shed_limit; /* 0: on_full block */
	atomic_uint live; /* its threads still running */
	int started;
	enum dest_state state;
	unsigned retire_gen; /* the table that no longer has it */
	int64_t deadline_ms; /* draining: cancelled then */
	struct dest *successor; /* the instance that takes over; NULL */
	struct dest *next; /* in the retiring list */
};

struct ls_pipeline {
	struct ls_conf *conf; /* the running one */
	struct ls_acks *acks;
	struct ls_metrics *m;
	struct ls_ctx *ctx;
	struct ls_queue *ingest;
	struct ls_router *router;
	struct dest **cur; /* the running config's, in its order */
	size_t ncur;
	struct dest *retiring;
	unsigned gen; /* of the newest routing table */
	atomic_uint live; /* threads still running, all instances */
	int started;
	int draining;
	void (*done_cb)(void *);
	void (*wake_cb)(void *);
	void *arg;
};

/* Every stage thread calls this as its last act. */
static void
thread_exit(struct ls_pipeline *p, struct dest *d)
{
	/* A retiring instance's end is news for ls_pipeline_poll(), which
	 * may free d as soon as live is 0: d is not touched after that. */
	if (d != NULL && atomic_fetch_sub(&d->live, 1) == 1
	    && p->wake_cb != NULL)
		p->wake_cb(p->arg);
	if (atomic_fetch_sub(&p->live, 1) == 1 && p->done_cb != NULL)
		p->done_cb(p->arg);
}

static void
router_exit_cb(void *arg)
{
	thread_exit(arg, NULL);
}

static void
batcher_exit_cb(void *arg)
{
	struct dest *d = arg;

	thread_exit(d->p, d);
}

static void
worker_exit_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;

	thread_exit(d->p, d);
}

static void
adopted_cb(unsigned gen, void *arg)
{
	struct ls_pipeline *p = arg;

	if (p->wake_cb != NULL)
		p->wake_cb(p->arg);
}

static void *
worker_init_cb(unsigned idx, void *arg)
{
	struct dest *d = arg;
	struct ls_sender *s;

	if ((s = ls_sender_new(d->sd, idx)) == NULL)
		fatalx("%s: worker %u cannot start", d->conf->name, idx);
	return s;
}

/*
 * Sends a batch. What a cancel cut short is kept for a successor. What the
 * sender deferred (entries the intake refused, not proven bad: sender.h)
 * goes back to the destination's queue, to be batched again after what is
 * there; once that queue is closed (a drain), to the leftovers.
 */
static void
worker_process_cb(void *item, void *wstate, struct ls_ctx *ctx, void *arg)
{
	struct dest *d = arg;
	struct ls_batch *b = item;
	size_t done, i;

	done = ls_sender_send(wstate, b, ctx);
	for (i = done; i < b->n; i++) {
		ls_record_ref(b->recs[i]);
		if (!ls_ctx_done(ctx)
		    && ls_queue_push(d->in, b->recs[i], 0) == 0)
			continue;
		if (ls_queue_push(d->leftover, b->recs[i], 0) != 0)
			ls_record_unref(b->recs[i]);
	}
	ls_batch_free(b);
}

static void
worker_fini_cb(void *wstate, void *arg)
{
	ls_sender_free(wstate);
}

static const struct ls_pool_ops worker_ops = {
	.init_cb = worker_init_cb,
	.process_cb = worker_process_cb,
	.fini_cb = worker_fini_cb,
	.exit_cb = worker_exit_cb,
};

static size_t
estimate_cb(const struct ls_record *r, void *arg)
{
	const struct dest *d = arg;

	return ls_encode_estimate(r, d->host_len);
}

static void
dest_free(struct dest *d)
{
	if (d == NULL)
		return;
	ls_ctx_cancel(d->ctx);
	ls_batcher_free(d->batcher);
	ls_pool_free(d->pool);
	ls_sender_dest_free(d->sd);
	ls_queue_free(d->batches);
	ls_queue_free(d->in);
	ls_queue_free(d->leftover);
	ls_ctx_free(d->ctx);
	ls_dest_metrics_unref(d->m);
	ls_conf_free(d->confref);
	free(d);
}

/* An instance of conf's destination i, counting into m (a reference is
 * taken). NULL if it cannot be made. */
static struct dest *
dest_new(struct ls_pipeline *p, struct ls_conf *conf, size_t i,
    struct ls_dest_metrics *m)
{
	struct ls_batcher_limits lim;
	struct dest *d;
	char name[96];

	d = xcalloc(1, sizeof *d);
	d->p = p;
	d->confref = ls_conf_ref(conf);
	d->host_len = ls_encode_host_len(conf->hostname);
	d->conf = &conf->dests[i];
	d->m = ls_dest_metrics_ref(m);
	d->ctx = ls_ctx_new(p->ctx);
	d->in = ls_queue_new(ls_record_unref_cb, NULL);
	d->batches = ls_queue_new(ls_batch_free_cb, NULL);
	d->leftover = ls_queue_new(ls_record_unref_cb, NULL);
	if (d->conf->on_full == LS_ON_FULL_DROP_NEWEST)
		d->shed_limit = d->conf->max_buffer_bytes
		    ? d->conf->max_buffer_bytes
		    : conf->max_buffer_bytes;
	lim.max_entries = d->conf->batch_max_entries;
	lim.max_bytes = d->conf->batch_max_bytes;
	lim.max_wait_ms = d->conf->batch_max_wait_ms;
	d->batcher = ls_batcher_new(d->conf->name, d->in, d->batches, &lim,
	    estimate_cb, d, d->ctx, batcher_exit_cb, d);
	/* The checkpoint waits for on_full: block destinations only. */
	if ((d->sd = ls_sender_dest_new(d->conf, conf->hostname,
		 d->shed_limit == 0 ? p->acks : NULL, d->m))
	    == NULL)
		goto fail;
	snprintf(name, sizeof name, "send/%s", d->conf->name);
	if ((d->pool = ls_pool_new(
		 name, d->conf->workers, d->batches, &worker_ops, d, d->ctx))
	    == NULL)
		goto fail;
	return d;
fail:
	dest_free(d);
	return NULL;
}

/* Starts an instance's threads, consumers first. 0 or -1 (cancelled). */
static int
dest_start(struct dest *d)
{
	unsigned n = 1 + ls_pool_size(d->pool), never;

	atomic_init(&d->live, n);
	atomic_fetch_add(&d->p->live, n);
	d->started = 1;
	if (ls_pool_start(d->pool) != 0) {
		/* The workers that did start have ended and counted
		 * themselves out (all or nothing); the others and the batcher
		 * never will: count them out here, or the pipeline's end
		 * would never come (a reload that could not make threads,
		 * then SIGTERM, would hang). */
		ls_ctx_cancel(d->ctx);
		for (never = atomic_load(&d->live); never > 0; never--)
			thread_exit(d->p, d);
		return -1;
	}
	if (ls_batcher_start(d->batcher) != 0) {
		ls_ctx_cancel(d->ctx); /* the workers end and count out */
		thread_exit(d->p, d); /* the batcher that never ran */
		return -1;
	}
	return 0;
}

/* The routing table for the running instances. */
static struct ls_route_table *
make_table(struct ls_pipeline *p)
{
	struct ls_route_table *t;
	size_t i;

	t = ls_route_table_new(p->gen, p->ncur);
	for (i = 0; i < p->ncur; i++) {
		t->outs[i] = p->cur[i]->in;
		t->m[i] = p->cur[i]->m;
		t->shed_limit[i] = p->cur[i]->shed_limit;
	}
	memcpy(t->route, p->conf->route, sizeof t->route);
	if (p->conf->route_src != NULL) {
		t->nsrc = p->conf->nsources;
		t->route_src = xreallocarray(
		    NULL, (t->nsrc + 1) * LS_SEV_COUNT, sizeof *t->route_src);
		memcpy(t->route_src, p->conf->route_src,
		    (t->nsrc + 1) * LS_SEV_COUNT * sizeof *t->route_src);
	}
	return t;
}

static void
publish_metrics(struct ls_pipeline *p)
{
	struct ls_dest_metrics **m;
	size_t i;

	m = xcalloc(p->ncur ? p->ncur : 1, sizeof *m);
	for (i = 0; i < p->ncur; i++)
		m[i] = p->cur[i]->m;
	ls_metrics_set_dests(p->m, m, p->ncur);
	free(m);
}

struct ls_pipeline *
ls_pipeline_new(struct ls_conf *conf, struct ls_acks *acks,
    struct ls_metrics *m, struct ls_ctx *root, void (*done_cb)(void *),
    void (*wake_cb)(void *), void *arg)
{
	struct ls_pipeline *p;
	size_t i;

	p = xcalloc(1, sizeof *p);
	p->conf = ls_conf_ref(conf);
	p->acks = acks;
	p->m = m;
	p->done_cb = done_cb;
	p->wake_cb = wake_cb;
	p->arg = arg;
	p->ctx = ls_ctx_new(root);
	p->ingest = ls_queue_new(ls_record_unref_cb, NULL);
	p->ncur = conf->ndests;
	p->cur = xcalloc(p->ncur ? p->ncur : 1, sizeof *p->cur);
	/* m was made for conf: its destinations are conf's, in order. */
	for (i = 0; i < p->ncur; i++)
		if ((p->cur[i] = dest_new(p, conf, i, m->dest[i])) == NULL)
			goto fail;
	publish_metrics(p);
	p->router = ls_router_new(p->ingest, make_table(p), acks, m, p->ctx,
	    adopted_cb, router_exit_cb, p);
	return p;
fail:
	ls_pipeline_free(p);
	return NULL;
}

int
ls_pipeline_start(struct ls_pipeline *p)
{
	size_t i;

	/* One for the router, so that no instance's end looks like the
	 * whole pipeline's. */
	atomic_init(&p->live, 1);
	p->started = 1;
	/* Back to front, so every consumer waits before its producer runs.
	 * On failure the caller frees the pipeline, which cancels and joins
	 * what did start. */
	for (i = 0; i < p->ncur; i++)
		if (dest_start(p->cur[i]) != 0)
			goto fail;
	if (ls_router_start(p->router) != 0)
		goto fail;
	return 0;
fail:
	ls_ctx_cancel(p->ctx);
	return -1;
}

struct ls_queue *
ls_pipeline_input(struct ls_pipeline *p)
{
	return p->ingest;
}

/* The running instance called name, or NULL. */
static struct dest *
by_name(struct ls_pipeline *p, const char *name)
{
	size_t k;

	for (k = 0; k < p->ncur; k++)
		if (strcmp(p->cur[k]->conf->name, name) == 0)
			return p->cur[k];
	return NULL;
}

/* drain_ms: the new configuration's shutdown_timeout, which bounds the
 * drain (ls_pipeline_poll). Its successor, if any, is set afterwards. */
static void
retire(struct ls_pipeline *p, struct dest *d, int64_t drain_ms)
{
	d->state = D_UNROUTED;
	d->retire_gen = p->gen;
	d->successor = NULL;
	d->next = p->retiring;
	p->retiring = d;
	log_notice("%s: retiring; it sends what it holds, for at most %lld "
		   "ms",
	    d->conf->name, (long long)drain_ms);
}

int
ls_pipeline_reload(struct ls_pipeline *p, struct ls_conf *conf)
{
	struct ls_dest_metrics *m;
	struct dest **next, *old;
	size_t i, k, kept = 0;

	if (p->draining)
		return -1;
	next = xcalloc(conf->ndests ? conf->ndests : 1, sizeof *next);
	for (i = 0; i < conf->ndests; i++) {
		old = by_name(p, conf->dests[i].name);
		if (old != NULL
		    && ls_conf_dest_same(
			old->confref, old->conf, conf, &conf->dests[i])) {
			next[i] = old;
			kept++;
			continue;
		}
		/* A changed destination keeps counting where it was. */
		m = old != NULL ? ls_dest_metrics_ref(old->m)
				: ls_dest_metrics_new();
		next[i] = dest_new(p, conf, i, m);
		ls_dest_metrics_unref(m);
		if (next[i] == NULL || dest_start(next[i]) != 0) {
			log_warnx("%s: cannot start; the reload is undone",
			    conf->dests[i].name);
			goto undo;
		}
	}
	/* The instances the new config does not keep retire; a changed
	 * one's successor is its new instance. */
	p->gen++;
	for (k = 0; k < p->ncur; k++) {
		for (i = 0; i < conf->ndests; i++)
			if (next[i] == p->cur[k])
				break;
		if (i == conf->ndests)
			retire(p, p->cur[k], conf->shutdown_timeout_ms);
	}
	for (i = 0; i < conf->ndests; i++)
		for (old = p->retiring; old != NULL; old = old->next)
			if (old->retire_gen == p->gen
			    && strcmp(old->conf->name, conf->dests[i].name)
				== 0)
				old->successor = next[i];
	free(p->cur);
	p->cur = next;
	p->ncur = conf->ndests;
	ls_conf_free(p->conf);
	p->conf = ls_conf_ref(conf);
	publish_metrics(p);
	ls_router_set_table(p->router, make_table(p));
	log_notice("reloaded: %zu of %zu destinations kept running", kept,
	    conf->ndests);
	return 0;
undo:
	/* The new instances never got a line: stop and free them. */
	for (k = 0; k <= i && k < conf->ndests; k++)
		if (next[k] != NULL
		    && by_name(p, conf->dests[k].name) != next[k])
			dest_free(next[k]);
	free(next);
	return -1;
}

/* The running instance that takes over from d, if any. */
static struct dest *
heir(struct dest *d)
{
	struct dest *s = d->successor;

	while (s != NULL && s->state != D_ACTIVE)
		s = s->successor;
	/* Only between instances the checkpoint waits for alike: a record
	 * routed to a best-effort instance is not waited for, and one
	 * waited for must be acknowledged by somebody. */
	if (s != NULL && (s->shed_limit == 0) != (d->shed_limit == 0))
		return NULL;
	return s;
}

/*
 * Hands r (a reference of the retired instance d's) on, or gives it up.
 * An heir whose input is closed is stopping with the whole pipeline (the
 * router closed it): r is then left unsent and unacknowledged, like every
 * line a stop cuts short, so that it is read again after the restart.
 * Giving it up would commit its offset though no destination took it.
 */
static void
hand_on(struct dest *d, struct dest *to, struct ls_record *r, size_t *given,
    size_t *kept, size_t *unsent)
{
	if (to != NULL) {
		if (ls_queue_push(to->in, r, 0) == 0)
			(*kept)++;
		else {
			atomic_fetch_sub(&d->m->held_bytes, ls_record_size(r));
			ls_record_unref(r);
			(*unsent)++;
		}
		return;
	}
	LS_COUNT(d->m->dropped[LS_DROP_RELOAD], 1);
	atomic_fetch_sub(&d->m->held_bytes, ls_record_size(r));
	if (d->shed_limit == 0 && d->p->acks != NULL)
		ls_acks_done(d->p->acks, &r, 1);
	ls_record_unref(r);
	(*given)++;
}

/* A retired instance whose threads have ended: what it did not finish
 * goes to its heir, or is given up; then it is freed. */
static void
finish_retired(struct ls_pipeline *p, struct dest *d)
{
	struct dest *to = heir(d), *o;
	struct ls_record *r;
	struct ls_batch *b;
	size_t given = 0, kept = 0, unsent = 0, i;

	ls_batcher_join(d->batcher);
	ls_pool_join(d->pool);
	while ((b = ls_queue_trypop(d->batches, NULL)) != NULL) {
		for (i = 0; i < b->n; i++) {
			ls_record_ref(b->recs[i]);
			hand_on(d, to, b->recs[i], &given, &kept, &unsent);
		}
		ls_batch_free(b);
	}
	while ((r = ls_queue_trypop(d->leftover, NULL)) != NULL)
		hand_on(d, to, r, &given, &kept, &unsent);
	while ((r = ls_queue_trypop(d->in, NULL)) != NULL)
		hand_on(d, to, r, &given, &kept, &unsent);
	if (kept > 0)
		log_notice("%s: the old instance handed %zu lines to the new "
			   "one",
		    d->conf->name, kept);
	if (unsent > 0)
		log_warnx("%s: the old instance stopped with %zu lines unsent, "
			  "as the new one is stopping: not committed",
		    d->conf->name, unsent);
	if (given > 0)
		log_warnx("%s: removed with %zu lines it could not send in "
			  "time; given up (dropped, reason reload)",
		    d->conf->name, given);
	else if (to == NULL)
		log_notice("%s: retired, nothing left unsent", d->conf->name);
	for (o = p->retiring; o != NULL; o = o->next)
		if (o->successor == d)
			o->successor = d->successor;
	dest_free(d);
}

int
ls_pipeline_poll(struct ls_pipeline *p)
{
	struct dest **dp, *d;
	unsigned gen = ls_router_gen(p->router);
	int64_t now = ls_now_ms();

	for (dp = &p->retiring; (d = *dp) != NULL;) {
		if (d->state == D_UNROUTED && (int)(gen - d->retire_gen) >= 0) {
			/* The router will not push to it again. */
			d->state = D_DRAINING;
			d->deadline_ms = now + p->conf->shutdown_timeout_ms;
			ls_queue_close(d->in);
			log_info("%s: the old instance drains, for at most "
				 "%lld ms",
			    d->conf->name,
			    (long long)p->conf->shutdown_timeout_ms);
		}
		if (d->state == D_DRAINING && now >= d->deadline_ms
		    && !ls_ctx_done(d->ctx)) {
			log_warnx("%s: not drained in %lld ms; stopping it",
			    d->conf->name,
			    (long long)p->conf->shutdown_timeout_ms);
			ls_ctx_cancel(d->ctx);
		}
		if (d->state == D_DRAINING && atomic_load(&d->live) == 0) {
			*dp = d->next;
			finish_retired(p, d);
			continue;
		}
		dp = &d->next;
	}
	return p->retiring != NULL;
}

void
ls_pipeline_drain(struct ls_pipeline *p)
{
	p->draining = 1;
	/* Retiring instances go on draining: ls_pipeline_poll() closes
	 * their input once the router, which reaches their barrier before
	 * the end of the stream, has left them. */
	ls_queue_close(p->ingest);
}

void
ls_pipeline_join(struct ls_pipeline *p)
{
	struct dest *d;
	size_t i;

	ls_router_join(p->router);
	for (i = 0; i < p->ncur; i++) {
		ls_batcher_join(p->cur[i]->batcher);
		ls_pool_join(p->cur[i]->pool);
	}
	for (d = p->retiring; d != NULL; d = d->next) {
		ls_batcher_join(d->batcher);
		ls_pool_join(d->pool);
	}
}

uint64_t
ls_pipeline_queued_bytes(struct ls_pipeline *p)
{
	uint64_t n = ls_queue_bytes(p->ingest);
	size_t i;

	for (i = 0; i < p->ncur; i++)
		n += ls_queue_bytes(p->cur[i]->in)
		    + ls_queue_bytes(p->cur[i]->batches);
	return n;
}

void
ls_pipeline_dest_queued(
    struct ls_pipeline *p, size_t i, uint64_t *records, uint64_t *batches)
{
	*records = ls_queue_len(p->cur[i]->in);
	*batches = ls_queue_len(p->cur[i]->batches);
}

int64_t
ls_pipeline_dest_backoff_ms(struct ls_pipeline *p, size_t i)
{
	return ls_sender_dest_backoff_ms(p->cur[i]->sd);
}

void
ls_pipeline_free(struct ls_pipeline *p)
{
	struct dest *d;
	size_t i;

	if (p == NULL)
		return;
	ls_ctx_cancel(p->ctx);
	ls_router_free(p->router);
	for (i = 0; i < p->ncur; i++)
		dest_free(p->cur[i]);
	while ((d = p->retiring) != NULL) {
		p->retiring = d->next;
		dest_free(d);
	}
	ls_queue_free(p->ingest);
	free(p->cur);
	ls_ctx_free(p->ctx);
	ls_conf_free(p->conf);
	free(p);
}
