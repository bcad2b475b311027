/*
 * sem: see sem.h.
 *
 * FIFO by direct hand-off. A thread that cannot take a permit queues a
 * record on its own stack, with its own condition variable, and sleeps on
 * it. ls_sem_release() does not put the permit back when someone waits: it
 * gives it to the oldest waiter (marks it granted) and wakes that one
 * thread. So a permit is never free while a thread waits, a newcomer cannot
 * barge past the queue, and a release wakes one thread, not all of them.
 *
 * The trade-offs, against the simpler counter plus one broadcast condition
 * variable: a pthread_cond_init() per blocking acquire (no allocation on
 * Linux), and a little more code. Against tickets (next_ticket/serving),
 * which are FIFO too: a waiter whose context ends simply unlinks its record,
 * so leaving never wedges the line, whereas a ticket would have to be
 * skipped by everyone behind it. A waiter can be granted a permit in the
 * same instant its context ends; it then keeps the permit and returns 0, as
 * the grant came first and it must release as usual.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "ctx.h"
#include "log.h"
#include "sem.h"
#include "xmalloc.h"

struct sem_waiter {
	pthread_cond_t cv;
	int granted;
	struct sem_waiter *next;
	struct sem_waiter **pprev;
};

struct ls_sem {
	pthread_mutex_t mtx;
	unsigned n;
	unsigned in_use;
	unsigned peak;
	/* Oldest first; tail points at the last next pointer. */
	struct sem_waiter *head;
	struct sem_waiter **tail;
};

static void
sem_take(struct ls_sem *s)
{
	s->in_use++;
	if (s->in_use > s->peak)
		s->peak = s->in_use;
}

static void
sem_unlink(struct ls_sem *s, struct sem_waiter *w)
{
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	else
		s->tail = w->pprev;
	*w->pprev = w->next;
}

struct ls_sem *
ls_sem_new(unsigned n)
{
	struct ls_sem *s;
	int r;

	if (n == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	if ((r = pthread_mutex_init(&s->mtx, NULL)) != 0) {
		free(s);
		errno = r;
		return NULL;
	}
	s->n = n;
	s->tail = &s->head;
	return s;
}

void
ls_sem_free(struct ls_sem *s)
{
	if (s == NULL)
		return;
	if (s->head != NULL)
		fatalx("%s: threads still waiting", __func__);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

/* Tested in check_sem.c: acquire_*, cancel_*, stress_peak. */
int
ls_sem_acquire(struct ls_sem *s, struct ls_ctx *ctx)
{
	struct sem_waiter w;

	/* A done context fails even when a permit is free, as a pop on a
	 * done context does: the caller is meant to stop. */
	if (ls_ctx_done(ctx)) {
		errno = ECANCELED;
		return -1;
	}
	pthread_mutex_lock(&s->mtx);
	if (s->head == NULL && s->in_use < s->n) {
		sem_take(s);
		pthread_mutex_unlock(&s->mtx);
		return 0;
	}

	ls_cond_init(&w.cv);
	w.granted = 0;
	w.next = NULL;
	w.pprev = s->tail;
	*s->tail = &w;
	s->tail = &w.next;
	while (!w.granted) {
		/* Without "until" the wait ends only granted or cancelled. */
		if (ls_ctx_wait(ctx, &s->mtx, &w.cv, LS_FOREVER) != 0
		    && !w.granted) {
			/* Not granted, so no permit is free to pass on. */
			sem_unlink(s, &w);
			break;
		}
	}
	pthread_mutex_unlock(&s->mtx);
	/* The releaser signals under the mutex and the canceller is done
	 * with cv when ls_ctx_wait() returns, so nobody can touch it now. */
	pthread_cond_destroy(&w.cv);
	if (!w.granted) {
		errno = ECANCELED;
		return -1;
	}
	return 0;
}

int
ls_sem_tryacquire(struct ls_sem *s)
{
	int r = -1;

	pthread_mutex_lock(&s->mtx);
	if (s->head == NULL && s->in_use < s->n) {
		sem_take(s);
		r = 0;
	}
	pthread_mutex_unlock(&s->mtx);
	if (r == -1)
		errno = EAGAIN;
	return r;
}

void
ls_sem_release(struct ls_sem *s)
{
	struct sem_waiter *w;

	pthread_mutex_lock(&s->mtx);
	if (s->in_use == 0)
		fatalx("%s: no permit to release", __func__);
	if ((w = s->head) != NULL && s->in_use <= s->n) {
		/* Hand the permit over: in_use does not change. */
		sem_unlink(s, w);
		w->granted = 1;
		pthread_cond_signal(&w->cv);
	} else
		s->in_use--;
	pthread_mutex_unlock(&s->mtx);
}

void
ls_sem_set_limit(struct ls_sem *s, unsigned n)
{
	struct sem_waiter *w;

	if (n == 0)
		n = 1;
	pthread_mutex_lock(&s->mtx);
	s->n = n;
	while (s->in_use < s->n && (w = s->head) != NULL) {
		sem_unlink(s, w);
		sem_take(s);
		w->granted = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&s->mtx);
}

unsigned
ls_sem_limit(struct ls_sem *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mtx);
	n = s->n;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

unsigned
ls_sem_in_use(struct ls_sem *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mtx);
	n = s->in_use;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

unsigned
ls_sem_peak(struct ls_sem *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mtx);
	n = s->peak;
	pthread_mutex_unlock(&s->mtx);
	return n;
}
