/*
 * sem: a counting semaphore whose acquire honours a context: the C
 * counterpart of a buffered chan struct{} used as a semaphore. It limits the
 * HTTP connections of one destination. A mutex and a CLOCK_MONOTONIC
 * condition variable, not sem_timedwait(), which only takes CLOCK_REALTIME.
 *
 * Threading: any thread.
 */
#ifndef LS_SEM_H
#define LS_SEM_H

#include "ctx.h"

struct ls_sem;

/* A semaphore with n permits (n >= 1). */
struct ls_sem *ls_sem_new(unsigned n);
/* Frees it; no thread may be waiting. NULL is a no-op. */
void ls_sem_free(struct ls_sem *);
/* Takes one permit, waiting while none is free. 0, or -1 with errno
 * ECANCELED when ctx is done first. Waiters are served in FIFO order. */
int ls_sem_acquire(struct ls_sem *, struct ls_ctx *) LS_WARN_UNUSED;
/* Takes a permit if one is free: 0, or -1 with errno EAGAIN. */
int ls_sem_tryacquire(struct ls_sem *) LS_WARN_UNUSED;
/* Gives a permit back. */
void ls_sem_release(struct ls_sem *);
/* Sets the number of permits (n >= 1). Raising it grants waiters at once;
 * lowering it takes effect as permits come back: none is taken away. */
void ls_sem_set_limit(struct ls_sem *, unsigned n);
unsigned ls_sem_limit(struct ls_sem *);
/* Permits in use now, and the most ever in use at once. */
unsigned ls_sem_in_use(struct ls_sem *);
unsigned ls_sem_peak(struct ls_sem *);

#endif
