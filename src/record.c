/*
 * record: see record.h.
 *
 * The budget is two atomics and no lock on the hot path: the tailer (main
 * thread) charges records and reads "used"; any thread may free the last
 * reference. The resume edge is taken with an exchange on "paused", so the
 * watcher runs once per pause however many threads cross the low mark
 * together; that rare edge alone takes the budget's mutex, so that
 * ls_budget_watch(NULL) can wait for a call under way.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "log.h"
#include "record.h"
#include "xmalloc.h"

struct ls_budget {
	_Atomic uint64_t used; /* bytes of live records */
	uint64_t high; /* pause reading at or above this */
	uint64_t low; /* resume below this */
	atomic_int paused;
	pthread_mutex_t mu; /* the watchers */
	struct { /* each source that reads (the tailer, the journal) */
		void (*resume_cb)(void *arg); /* any thread; must not block */
		void *arg;
	} w[LS_BUDGET_WATCHERS];
	/* Tests only (ls_budget_set_test_hook); NULL in the daemon. */
	void (*test_hook)(void *arg);
	void *test_arg;
};

struct ls_budget *
ls_budget_new(uint64_t high)
{
	struct ls_budget *b;

	b = xcalloc(1, sizeof *b);
	atomic_init(&b->used, 0);
	atomic_init(&b->paused, 0);
	b->high = high;
	b->low = high / 4 * 3;
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void
ls_budget_free(struct ls_budget *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void
ls_budget_watch(struct ls_budget *b, void (*resume_cb)(void *), void *arg)
{
	size_t i, k = LS_BUDGET_WATCHERS;

	pthread_mutex_lock(&b->mu);
	for (i = 0; i < LS_BUDGET_WATCHERS; i++) {
		if (b->w[i].resume_cb != NULL && b->w[i].arg == arg)
			break;
		if (b->w[i].resume_cb == NULL && k == LS_BUDGET_WATCHERS)
			k = i;
	}
	if (i == LS_BUDGET_WATCHERS)
		i = k;
	if (i == LS_BUDGET_WATCHERS)
		fatalx("budget: more than %d watchers", LS_BUDGET_WATCHERS);
	b->w[i].resume_cb = resume_cb;
	b->w[i].arg = arg;
	pthread_mutex_unlock(&b->mu);
}

uint64_t
ls_budget_used(struct ls_budget *b)
{
	return atomic_load(&b->used);
}

uint64_t
ls_budget_high(const struct ls_budget *b)
{
	return b->high;
}

void
ls_budget_set_test_hook(struct ls_budget *b, void (*hook)(void *arg), void *arg)
{
	b->test_hook = hook;
	b->test_arg = arg;
}

int
ls_budget_should_pause(struct ls_budget *b)
{
	if (atomic_load(&b->used) < b->high)
		return 0;
	if (b->test_hook != NULL)
		b->test_hook(b->test_arg); /* the window, held open */
	atomic_store(&b->paused, 1);
	/*
	 * The last records may have been freed between the load and the
	 * store, with nobody left to see "paused": look again, and take the
	 * pause back if so.
	 */
	if (atomic_load(&b->used) < b->low
	    && atomic_exchange(&b->paused, 0) == 1)
		return 0;
	return 1;
}

static void
budget_release(struct ls_budget *b, uint64_t n)
{
	uint64_t before;
	size_t i;

	before = atomic_fetch_sub(&b->used, n);
	if (before - n < b->low && atomic_load(&b->paused)
	    && atomic_exchange(&b->paused, 0) == 1) {
		pthread_mutex_lock(&b->mu);
		/* Every watcher: any of them may have paused. */
		for (i = 0; i < LS_BUDGET_WATCHERS; i++)
			if (b->w[i].resume_cb != NULL)
				b->w[i].resume_cb(b->w[i].arg);
		pthread_mutex_unlock(&b->mu);
	}
}

struct ls_record *
ls_record_new(const struct ls_conf_source *src, struct ls_budget *budget,
    const char *msg, size_t len, enum ls_severity sev, uint64_t offset,
    int64_t time_ms)
{
	return ls_record_new_labels(src != NULL ? src->labels : NULL, budget,
	    msg, len, sev, offset, time_ms);
}

struct ls_record *
ls_record_new_labels(const struct ls_labels *labels, struct ls_budget *budget,
    const char *msg, size_t len, enum ls_severity sev, uint64_t offset,
    int64_t time_ms)
{
	struct ls_record *r;

	r = xmalloc(sizeof *r + len + 1);
	atomic_init(&r->refs, 1);
	atomic_init(&r->pending, 0);
	r->origin = NULL;
	r->seq = 0;
	r->severity = (uint8_t)sev;
	r->flags = 0;
	r->source = LS_REC_NO_SOURCE;
	r->labels = labels; /* borrowed: see record.h */
	r->budget = budget;
	r->offset = offset;
	r->time_ms = time_ms;
	r->len = len;
	memcpy(r->msg, msg, len);
	r->msg[len] = '\0';
	if (budget != NULL)
		atomic_fetch_add(&budget->used, ls_record_size(r));
	return r;
}

size_t
ls_record_size(const struct ls_record *r)
{
	return sizeof *r + r->len + 1;
}

void
ls_record_ref(struct ls_record *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void
ls_record_unref(struct ls_record *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (r->budget != NULL)
		budget_release(r->budget, ls_record_size(r));
	free(r);
}

void
ls_record_set_pending(struct ls_record *r, unsigned n)
{
	/* Relaxed: the queue push that follows publishes it. */
	atomic_store_explicit(&r->pending, n, memory_order_relaxed);
}

void
ls_origin_ack(struct ls_record *r)
{
	if (r->origin != NULL)
		r->origin->ops->ack(r->origin, r);
}

void
ls_record_unref_cb(void *rec, void *arg)
{
	(void)arg;
	ls_record_unref(rec);
}
