/*
 * acks: the fan-in of delivery acknowledgements.
 *
 * One caller reports the records a destination is done with (delivered,
 * or given up by a counted policy): pl_settle() in pipeline.c, for the
 * workers' batches, the reload's leftovers, and the records the router
 * routed to no destination that is waited for. A record is done when
 * every destination it went to is done with it: its "pending" count, set
 * by the router, falls to zero. Done records go on one queue, and one
 * ev_async wakes the main loop, which applies them (main hands each to its
 * origin, ls_origin_ack: the file's committed offset advances) on its own
 * thread. So the offsets, the files and the checkpoint
 * are only ever touched by the main thread, without locks.
 *
 * A record that is never done (unsent at the drain deadline) is simply
 * never acknowledged: its offset is not committed, and it is read again
 * after a restart.
 *
 * Threading: ls_acks_done() from any thread; the rest from the main
 * thread.
 */
#ifndef LS_ACKS_H
#define LS_ACKS_H

#include <stddef.h>

#include <ev.h>

#include "record.h"

struct ls_acks;

/* apply_cb runs on the loop's thread for each done record (borrowed). */
struct ls_acks *ls_acks_new(struct ev_loop *,
    void (*apply_cb)(struct ls_record *, void *arg), void *arg);
void ls_acks_start(struct ls_acks *);
void ls_acks_stop(struct ls_acks *);
/* Frees it, dropping unapplied acknowledgements. NULL is a no-op. */
void ls_acks_free(struct ls_acks *);

/* One destination (any thread) is done with recs[0..n-1]; those that no
 * other destination still holds are queued for the loop. */
void ls_acks_done(struct ls_acks *, struct ls_record *const *recs, size_t n);
/* Applies every acknowledgement queued now (main thread; also run by the
 * ev_async callback). Returns how many. */
size_t ls_acks_apply(struct ls_acks *);

#endif
