/*
 * reload: the reload handover, the state machine that lets a reload swap
 * a config's destinations while lines flow, each line through exactly one
 * instance (docs/internals/reload.md).
 *
 * Destination by destination:
 *   unchanged (ls_conf_dest_same): the running instance stays, queues,
 *     connections, backoff and all;
 *   changed: a new instance starts, and the old one retires;
 *   removed: the old one retires;
 *   added: a new instance starts.
 * An instance that cannot be made or started undoes the whole reload: the
 * old configuration keeps running. Then the router gets the new table
 * (router.h: it takes effect at a barrier in the stream).
 *
 * A retiring instance goes through
 *   D_UNROUTED   until the router adopts a table without it, so that
 *                nothing more reaches it (ls_pipeline_poll sees the
 *                router's gen pass its retire_gen);
 *   D_DRAINING   its input closed, it drains like at shutdown, for at most
 *                shutdown_timeout, then is cancelled;
 *   finished     when its threads have ended (finish_retired): whatever
 *                it did not finish (queued, batched, or cut short) goes to
 *                its heir, the running instance of the same name that took
 *                over (if that one is stopping too, at shutdown, it stays
 *                unsent and is not committed), or, for a removed
 *                destination, is given up: counted (dropped, reason
 *                "reload") and acknowledged, so the checkpoint goes on.
 * None is lost or sent twice by the reload itself; every record leaves the
 * old instance through pl_settle() or its heir's queue.
 *
 * Main thread only.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline_impl.h"
#include "xmalloc.h"

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
		next[i] = pl_dest_new(p, conf, i, m);
		ls_dest_metrics_unref(m);
		if (next[i] == NULL || pl_dest_start(next[i]) != 0) {
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
	pl_publish_metrics(p);
	ls_router_set_table(p->router, pl_make_table(p));
	log_notice("reloaded: %zu of %zu destinations kept running", kept,
	    conf->ndests);
	return 0;
undo:
	/* The new instances never got a line: stop and free them. */
	for (k = 0; k <= i && k < conf->ndests; k++)
		if (next[k] != NULL
		    && by_name(p, conf->dests[k].name) != next[k])
			pl_dest_free(next[k]);
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
 * Bytes and acknowledgements go through pl_settle(), as a worker's do.
 */
static void
hand_on(struct dest *d, struct dest *to, struct ls_record *r, size_t *given,
    size_t *kept, size_t *unsent)
{
	if (to != NULL && ls_queue_push(to->in, r, 0) == 0) {
		/* Its bytes stay held: the heir shares d's counters. */
		(*kept)++;
		return;
	}
	if (to != NULL) {
		pl_settle(d->p, d, &r, 1, 0);
		(*unsent)++;
	} else {
		LS_COUNT(d->m->dropped[LS_DROP_RELOAD], 1);
		pl_settle(d->p, d, &r, 1, 1);
		(*given)++;
	}
	ls_record_unref(r);
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
	pl_dest_free(d);
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
