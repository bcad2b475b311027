/*
 * acks: see acks.h.
 *
 * The queue holds a reference to each done record, so the record (and the
 * origin it points at, which the tailer keeps while records are outstanding)
 * lives until the loop has applied it. Workers push a whole batch's done
 * records with one push_many and one ev_async_send; libev coalesces the
 * wakeups, and the callback drains until the queue is empty (ev.pod,
 * "Queueing").
 */
#include "config.h"

#include <stdlib.h>

#include "acks.h"
#include "ctx.h"
#include "log.h"
#include "queue.h"
#include "xmalloc.h"

#define DONE_BATCH 256

struct ls_acks {
	struct ev_loop *loop;
	struct ls_queue *q;
	ev_async async_w;
	void (*apply_cb)(struct ls_record *, void *);
	void *arg;
};

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	ls_acks_apply(w->data);
}

struct ls_acks *
ls_acks_new(struct ev_loop *loop, void (*apply_cb)(struct ls_record *, void *),
    void *arg)
{
	struct ls_acks *a;

	a = xcalloc(1, sizeof *a);
	a->loop = loop;
	a->q = ls_queue_new(ls_record_unref_cb, NULL);
	a->apply_cb = apply_cb;
	a->arg = arg;
	ev_async_init(&a->async_w, async_cb);
	a->async_w.data = a;
	return a;
}

void
ls_acks_start(struct ls_acks *a)
{
	ev_async_start(a->loop, &a->async_w);
}

void
ls_acks_stop(struct ls_acks *a)
{
	ev_async_stop(a->loop, &a->async_w);
}

void
ls_acks_free(struct ls_acks *a)
{
	if (a == NULL)
		return;
	ls_acks_stop(a);
	ls_queue_free(a->q);
	free(a);
}

static void
push(struct ls_acks *a, struct ls_record **done, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	if (ls_queue_push_many(a->q, (void *const *)done, NULL, n) != 0) {
		/* Closed only after the loop is gone: nothing to apply. */
		for (i = 0; i < n; i++)
			ls_record_unref(done[i]);
		return;
	}
	ev_async_send(a->loop, &a->async_w);
}

void
ls_acks_done(struct ls_acks *a, struct ls_record *const *recs, size_t n)
{
	struct ls_record *done[DONE_BATCH];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		/* acq_rel: the last destination sees every earlier one's
		 * work on the record before it acknowledges it. */
		if (atomic_fetch_sub_explicit(
			&recs[i]->pending, 1, memory_order_acq_rel)
		    != 1)
			continue;
		ls_record_ref(recs[i]);
		done[k++] = recs[i];
		if (k == DONE_BATCH) {
			push(a, done, k);
			k = 0;
		}
	}
	push(a, done, k);
}

size_t
ls_acks_apply(struct ls_acks *a)
{
	struct ls_record *r;
	size_t n = 0;

	while ((r = ls_queue_trypop(a->q, NULL)) != NULL) {
		a->apply_cb(r, a->arg);
		ls_record_unref(r);
		n++;
	}
	return n;
}
