/*
 * ctx: cancellation and deadlines, the C counterpart of Go's context.
 *
 * Contexts form a tree. Cancelling a context cancels all of its descendants.
 * A child's deadline is the earlier of its own and its parent's. Every
 * blocking wait in logshipd goes through ls_ctx_wait(), so one cancel of the
 * root reaches every thread; in-flight HTTP requests poll ls_ctx_done() from
 * curl's progress callback and take their timeout from
 * ls_ctx_remaining_ms().
 *
 * Threading: all functions may be called from any thread. A context must
 * outlive its children and every wait on it: free children first (fatalx
 * otherwise). The contract is spelled out in docs/internals/ctx.md.
 */
#ifndef LS_CTX_H
#define LS_CTX_H

#include <pthread.h>
#include <stdint.h>

#include "log.h"

/* No deadline: the value of ls_ctx_deadline() and of "until" arguments. */
#define LS_FOREVER INT64_MAX

struct ls_ctx;

/* The program's clocks, the only ones: milliseconds (and nanoseconds) on
 * CLOCK_MONOTONIC for every interval and deadline; milliseconds since the
 * epoch (CLOCK_REALTIME) for timestamps only. */
int64_t ls_now_ms(void);
int64_t ls_now_ns(void);
int64_t ls_wall_ms(void);

/* Initialises a condition variable that waits on CLOCK_MONOTONIC, as every
 * condition variable passed to ls_ctx_wait() must. */
void ls_cond_init(pthread_cond_t *);

/* A new context, child of parent (NULL for a root), with no deadline of its
 * own. Cancelled at birth if the parent already is. */
struct ls_ctx *ls_ctx_new(struct ls_ctx *parent);
/* A new child context whose deadline is timeout_ms from now (or the
 * parent's, if earlier). */
struct ls_ctx *ls_ctx_new_timeout(struct ls_ctx *parent, int64_t timeout_ms);
/* Detaches ctx from its parent and frees it. NULL is a no-op. */
void ls_ctx_free(struct ls_ctx *);

/* Cancels ctx and its descendants and wakes every waiter on them.
 * Idempotent. */
void ls_ctx_cancel(struct ls_ctx *);

/* Why a context is done. */
enum ls_ctx_err {
	LS_CTX_OK = 0, /* not done */
	LS_CTX_CANCELED, /* ls_ctx_cancel() on it or an ancestor */
	LS_CTX_DEADLINE, /* its deadline passed */
};
/* LS_CTX_OK while the context is live, else why it is done. */
enum ls_ctx_err ls_ctx_err(struct ls_ctx *);
/* Non-zero once cancelled or past its deadline. Cheap: safe to poll. */
int ls_ctx_done(struct ls_ctx *);
/* Absolute deadline in ls_now_ms() time, or LS_FOREVER. */
int64_t ls_ctx_deadline(const struct ls_ctx *);
/* Milliseconds left before the deadline: 0 when done, -1 for no deadline. */
int64_t ls_ctx_remaining_ms(struct ls_ctx *);

/*
 * Waits on cond, whose mutex the caller holds, until it is signalled, ctx is
 * done, or until (an absolute ls_now_ms() time, or LS_FOREVER) passes.
 * Returns with the mutex held, like pthread_cond_wait():
 *   0          woken (possibly spuriously: re-check your predicate),
 *   ETIMEDOUT  "until" passed,
 *   ECANCELED  ctx is done (cancelled or its deadline passed).
 * cond must come from ls_cond_init(). The mutex may be released and retaken
 * inside, as by any condition wait.
 */
int ls_ctx_wait(struct ls_ctx *, pthread_mutex_t *, pthread_cond_t *,
    int64_t until) LS_WARN_UNUSED;

/* Sleeps ms milliseconds unless ctx is done first: 0 after the full sleep,
 * ECANCELED if ctx ended it. The backoff sleep of retries. */
int ls_ctx_sleep(struct ls_ctx *, int64_t ms);

#endif
