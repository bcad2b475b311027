/*
 * ctx: see ctx.h. The wake-up protocol between ls_ctx_cancel() and
 * ls_ctx_wait() is explained, with the reasons for each step, in
 * docs/internals/ctx.md; the comments here point at the steps.
 *
 * Locks and their order. Each context has a mutex guarding its children,
 * its waiters and the pins on them. A cancel takes a parent's lock before a
 * child's. A waiter holds its own mutex (the queue's, say) when it takes the
 * context's lock, so the order is "caller's mutex, then context"; nothing
 * here ever takes a caller's mutex while holding a context's lock. The
 * "canceled" flag is written under the lock but is atomic, so that
 * ls_ctx_done() can be polled without one.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "ctx.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A thread blocked in ls_ctx_wait(). The record lives on the waiter's stack
 * and is linked into its context's list while it waits, so that a cancel
 * can find the mutex and condition variable to wake it with. pins counts
 * the cancellers using the record with the context's lock dropped; the
 * waiter may not unlink it, and so end its storage, until pins is back to
 * zero.
 */
struct ctx_waiter {
	pthread_mutex_t *m;
	pthread_cond_t *c;
	unsigned pins;
	struct ctx_waiter *next;
	struct ctx_waiter **pprev;
};

struct ls_ctx {
	struct ls_ctx *parent;
	struct ls_ctx *children;
	struct ls_ctx *sib_next;
	struct ls_ctx **sib_pprev;

	pthread_mutex_t mtx;
	/* Broadcast when a waiter's pins or this context's busy count drop
	 * to zero. */
	pthread_cond_t unpinned;

	/* 0 while live, else why it was cancelled: LS_CTX_CANCELED, or
	 * LS_CTX_DEADLINE if the deadline had already passed, so that the
	 * first reason sticks. Set once, under mtx, never cleared. */
	atomic_int canceled;
	/* Fixed at creation: the earlier of our own and the parent's. */
	int64_t deadline;

	struct ctx_waiter *waiters;

	/* Cancellers that still have to come back to this context with its
	 * lock dropped; ls_ctx_free() waits for them. */
	unsigned busy;
	/* Links the contexts one cancel has marked and must wake. */
	struct ls_ctx *cnext;
};

int64_t
ls_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
ls_now_ms(void)
{
	return ls_now_ns() / 1000000;
}

int64_t
ls_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * glibc's condattr and cond initialisers cannot fail with these arguments,
 * so a failure is a broken invariant rather than an error to return.
 */
void
ls_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	int r;

	if ((r = pthread_condattr_init(&attr)) != 0
	    || (r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) != 0
	    || (r = pthread_cond_init(c, &attr)) != 0) {
		errno = r;
		fatal("ls_cond_init");
	}
	pthread_condattr_destroy(&attr);
}

static struct ls_ctx *
ctx_new(struct ls_ctx *parent, int64_t deadline)
{
	struct ls_ctx *ctx;
	int r;

	ctx = xcalloc(1, sizeof *ctx);
	if ((r = pthread_mutex_init(&ctx->mtx, NULL)) != 0) {
		free(ctx);
		errno = r;
		return NULL;
	}
	ls_cond_init(&ctx->unpinned);
	atomic_init(&ctx->canceled, 0);
	ctx->deadline = deadline;
	if (parent == NULL)
		return ctx;

	ctx->parent = parent;
	if (parent->deadline < ctx->deadline)
		ctx->deadline = parent->deadline;
	/*
	 * Linking and inheriting the flag under the parent's lock means a
	 * concurrent cancel of the parent either sees this child or has
	 * already set the flag we copy: no child can be born live under a
	 * cancelled parent.
	 */
	pthread_mutex_lock(&parent->mtx);
	atomic_store(&ctx->canceled, atomic_load(&parent->canceled));
	ctx->sib_next = parent->children;
	if (parent->children != NULL)
		parent->children->sib_pprev = &ctx->sib_next;
	parent->children = ctx;
	ctx->sib_pprev = &parent->children;
	pthread_mutex_unlock(&parent->mtx);
	return ctx;
}

struct ls_ctx *
ls_ctx_new(struct ls_ctx *parent)
{
	return ctx_new(parent, LS_FOREVER);
}

struct ls_ctx *
ls_ctx_new_timeout(struct ls_ctx *parent, int64_t timeout_ms)
{
	int64_t now = ls_now_ms();

	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms >= LS_FOREVER - now)
		return ctx_new(parent, LS_FOREVER);
	return ctx_new(parent, now + timeout_ms);
}

void
ls_ctx_free(struct ls_ctx *ctx)
{
	struct ls_ctx *parent;

	if (ctx == NULL)
		return;

	pthread_mutex_lock(&ctx->mtx);
	if (ctx->children != NULL)
		fatalx("%s: context still has children", __func__);
	if (ctx->waiters != NULL)
		fatalx("%s: context still has waiters", __func__);
	pthread_mutex_unlock(&ctx->mtx);

	/*
	 * Unlink first: once off the parent's list, no new cancel of an
	 * ancestor can reach this context. One that reached it before may
	 * still be waking it (busy), so wait for that to finish.
	 */
	if ((parent = ctx->parent) != NULL) {
		pthread_mutex_lock(&parent->mtx);
		if (ctx->sib_next != NULL)
			ctx->sib_next->sib_pprev = ctx->sib_pprev;
		*ctx->sib_pprev = ctx->sib_next;
		pthread_mutex_unlock(&parent->mtx);
	}
	pthread_mutex_lock(&ctx->mtx);
	while (ctx->busy > 0)
		pthread_cond_wait(&ctx->unpinned, &ctx->mtx);
	pthread_mutex_unlock(&ctx->mtx);

	pthread_cond_destroy(&ctx->unpinned);
	pthread_mutex_destroy(&ctx->mtx);
	free(ctx);
}

/*
 * Phase one of a cancel, with ctx's lock held and ctx not yet cancelled:
 * sets the flag on ctx and on every live descendant, pins each (busy) and
 * chains them for phase two. Locks are taken parent before child and only
 * context locks are held, so this cannot deadlock with a waiter. A child
 * found already cancelled is skipped with its subtree: whoever cancelled it
 * marked that whole subtree under the same locks and is waking it.
 */
static void
cancel_mark(struct ls_ctx *ctx, struct ls_ctx **chain, int64_t now)
{
	struct ls_ctx *child;

	atomic_store(&ctx->canceled,
	    now >= ctx->deadline ? LS_CTX_DEADLINE : LS_CTX_CANCELED);
	ctx->busy++;
	ctx->cnext = *chain;
	*chain = ctx;
	for (child = ctx->children; child != NULL; child = child->sib_next) {
		pthread_mutex_lock(&child->mtx);
		if (!atomic_load(&child->canceled))
			cancel_mark(child, chain, now);
		pthread_mutex_unlock(&child->mtx);
	}
}

/*
 * Phase two, for one marked context: wakes each waiter by broadcasting its
 * condition variable under its own mutex, which is what makes the wake-up
 * impossible to lose (the waiter held that mutex from its check of the flag
 * until pthread_cond_wait() released it). The context's lock must be
 * dropped to take that mutex, and the record is pinned meanwhile so that
 * its waiter cannot unlink it and return. The list can only shrink while the
 * lock is dropped, since the flag keeps new waiters out, and the pinned
 * record is still linked when we come back, so its next pointer is current.
 * Drops the context's busy count last: ctx may be freed as soon as its lock
 * is released here.
 */
static void
cancel_wake(struct ls_ctx *ctx)
{
	struct ctx_waiter *w, *next;

	pthread_mutex_lock(&ctx->mtx);
	for (w = ctx->waiters; w != NULL; w = next) {
		w->pins++;
		pthread_mutex_unlock(&ctx->mtx);

		pthread_mutex_lock(w->m);
		pthread_cond_broadcast(w->c);
		pthread_mutex_unlock(w->m);

		pthread_mutex_lock(&ctx->mtx);
		next = w->next;
		if (--w->pins == 0)
			pthread_cond_broadcast(&ctx->unpinned);
	}
	if (--ctx->busy == 0)
		pthread_cond_broadcast(&ctx->unpinned);
	pthread_mutex_unlock(&ctx->mtx);
}

/* Tested in check_ctx.c: cancel_wakes_waiter, ancestor_cancel_wakes_waiter,
 * cancel_races_wait. */
void
ls_ctx_cancel(struct ls_ctx *ctx)
{
	struct ls_ctx *chain = NULL, *next;

	pthread_mutex_lock(&ctx->mtx);
	if (!atomic_load(&ctx->canceled))
		cancel_mark(ctx, &chain, ls_now_ms());
	pthread_mutex_unlock(&ctx->mtx);

	for (; chain != NULL; chain = next) {
		next = chain->cnext;
		cancel_wake(chain);
	}
}

enum ls_ctx_err
ls_ctx_err(struct ls_ctx *ctx)
{
	int why;

	if ((why = atomic_load(&ctx->canceled)) != 0)
		return why;
	if (ctx->deadline != LS_FOREVER && ls_now_ms() >= ctx->deadline)
		return LS_CTX_DEADLINE;
	return LS_CTX_OK;
}

int
ls_ctx_done(struct ls_ctx *ctx)
{
	return ls_ctx_err(ctx) != LS_CTX_OK;
}

int64_t
ls_ctx_deadline(const struct ls_ctx *ctx)
{
	return ctx->deadline;
}

int64_t
ls_ctx_remaining_ms(struct ls_ctx *ctx)
{
	int64_t left;

	if (atomic_load(&ctx->canceled))
		return 0;
	if (ctx->deadline == LS_FOREVER)
		return -1;
	left = ctx->deadline - ls_now_ms();
	return left > 0 ? left : 0;
}

/* What a wait that has ended returns: a done context wins over "until". */
static int
wait_result(struct ls_ctx *ctx, int64_t until)
{
	if (ls_ctx_done(ctx))
		return ECANCELED;
	if (until != LS_FOREVER && ls_now_ms() >= until)
		return ETIMEDOUT;
	return 0;
}

/*
 * Unlinks w after its wait, called and returning with w->m held. If no
 * canceller has pinned w, no canceller is touching it or its mutex, and we
 * can unlink it at once: the common case costs one lock. If one has, it is
 * either about to take w->m or done with it and on its way back to our
 * lock; we must release w->m (or it could never finish) and wait for the
 * pins to drop before the record, and perhaps the object owning w->m, may
 * go away.
 */
static void
wait_unlink(struct ls_ctx *ctx, struct ctx_waiter *w)
{
	int released = 0;

	pthread_mutex_lock(&ctx->mtx);
	if (w->pins > 0) {
		pthread_mutex_unlock(w->m);
		released = 1;
		while (w->pins > 0)
			pthread_cond_wait(&ctx->unpinned, &ctx->mtx);
	}
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	*w->pprev = w->next;
	pthread_mutex_unlock(&ctx->mtx);
	if (released)
		pthread_mutex_lock(w->m);
}

/* Tested in check_ctx.c: wait_*, cancel_*, deadline_*. */
int
ls_ctx_wait(
    struct ls_ctx *ctx, pthread_mutex_t *m, pthread_cond_t *c, int64_t until)
{
	struct ctx_waiter w = { .m = m, .c = c };
	struct timespec ts;
	int64_t end;
	int r;

	end = until < ctx->deadline ? until : ctx->deadline;
	if ((r = wait_result(ctx, until)) != 0)
		return r;

	/*
	 * Register while holding m. The flag is checked again under the
	 * context's lock: a cancel sets it under that lock before it walks
	 * the list, so either we see it here or the cancel sees us there.
	 */
	pthread_mutex_lock(&ctx->mtx);
	if (atomic_load(&ctx->canceled)) {
		pthread_mutex_unlock(&ctx->mtx);
		return ECANCELED;
	}
	w.next = ctx->waiters;
	if (w.next != NULL)
		w.next->pprev = &w.next;
	ctx->waiters = &w;
	w.pprev = &ctx->waiters;
	pthread_mutex_unlock(&ctx->mtx);

	/* The context's deadline needs no canceller: the timed wait ends at
	 * it by itself. */
	if (end == LS_FOREVER)
		r = pthread_cond_wait(c, m);
	else {
		ts.tv_sec = end / 1000;
		ts.tv_nsec = (long)(end % 1000) * 1000000;
		r = pthread_cond_timedwait(c, m, &ts);
	}
	if (r != 0 && r != ETIMEDOUT) {
		errno = r;
		fatal("%s: pthread_cond_wait", __func__);
	}

	wait_unlink(ctx, &w);
	return wait_result(ctx, until);
}

/* Tested in check_ctx.c: sleep_*. */
int
ls_ctx_sleep(struct ls_ctx *ctx, int64_t ms)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	int64_t now, until;
	int r;

	if (ms <= 0)
		return ls_ctx_done(ctx) ? ECANCELED : 0;
	now = ls_now_ms();
	until = ms >= LS_FOREVER - now ? LS_FOREVER : now + ms;

	/* Nobody signals c: only a cancel, the deadline or "until" end the
	 * wait, and a spurious wake-up just loops. */
	ls_cond_init(&c);
	pthread_mutex_lock(&m);
	do
		r = ls_ctx_wait(ctx, &m, &c, until);
	while (r == 0);
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
	pthread_mutex_destroy(&m);
	return r == ECANCELED ? ECANCELED : 0;
}
