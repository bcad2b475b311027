/*
 * batcher: the batching stage of the pipeline. One thread per destination
 * pops records and closes a batch when it holds max_entries records, when
 * one more would pass max_bytes (as estimated by size_cb), or max_wait after
 * its first record arrived, whichever comes first.
 *
 * When its input is closed and drained it flushes the partial batch and
 * closes its output (the drain); when its context is cancelled it stops,
 * puts the partial batch in its output too, where a reload may still hand
 * it on (reload.c), and closes it; at shutdown those records stay unsent
 * and are not checkpointed.
 *
 * Threading: new/start/join/free from the owner; the loop runs in the
 * batcher's own thread.
 */
#ifndef LS_BATCHER_H
#define LS_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "queue.h"
#include "record.h"

/* A batch: records in the order they were read. It owns one reference to
 * each. */
struct ls_batch {
	struct ls_record **recs;
	size_t n;
	size_t cap;
	size_t bytes; /* estimated encoded size */
	int64_t created_ms; /* when its first record was added */
};

struct ls_batch *ls_batch_new(size_t cap);
/* Appends rec, taking over the caller's reference. */
void ls_batch_add(struct ls_batch *, struct ls_record *, size_t bytes);
/* Releases the records and the batch. NULL is a no-op. */
void ls_batch_free(struct ls_batch *);
/* ls_batch_free() shaped as a queue free callback. */
void ls_batch_free_cb(void *batch, void *arg);

struct ls_batcher_limits {
	size_t max_entries;
	size_t max_bytes;
	int64_t max_wait_ms;
};

struct ls_batcher;

/* A batcher from in (records) to out (batches), its thread named
 * batch/<name> (name: the destination's). size_cb estimates a
 * record's encoded size. Borrows the queues. exit_cb (may be NULL) runs in
 * the thread as its last act. */
struct ls_batcher *ls_batcher_new(const char *name, struct ls_queue *in,
    struct ls_queue *out, const struct ls_batcher_limits *,
    size_t (*size_cb)(const struct ls_record *, void *), void *size_arg,
    struct ls_ctx *parent, void (*exit_cb)(void *), void *exit_arg);
int ls_batcher_start(struct ls_batcher *) LS_WARN_UNUSED;
void ls_batcher_join(struct ls_batcher *);
/* Cancels and joins if needed, then frees. NULL is a no-op. */
void ls_batcher_free(struct ls_batcher *);

#endif
