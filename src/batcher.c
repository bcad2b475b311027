/*
 * batcher: see batcher.h.
 *
 * A record that would make the open batch too large is not lost or sent
 * alone: it is carried over as the first record of the next batch. A
 * single record larger than max_bytes still makes a batch of its own; the
 * sender cuts its message to the intake's per-entry limit.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "log.h"
#include "thread.h"
#include "xmalloc.h"

struct ls_batcher {
	char name[64];
	struct ls_queue *in;
	struct ls_queue *out;
	struct ls_batcher_limits lim;
	size_t (*size_cb)(const struct ls_record *, void *);
	void *size_arg;
	struct ls_ctx *ctx;
	void (*exit_cb)(void *);
	void *exit_arg;
	pthread_t thread;
	int running;
};

struct ls_batch *
ls_batch_new(size_t cap)
{
	struct ls_batch *b;

	b = xcalloc(1, sizeof *b);
	b->cap = cap ? cap : 1;
	b->recs = xcalloc(b->cap, sizeof *b->recs);
	b->created_ms = ls_now_ms();
	return b;
}

void
ls_batch_add(struct ls_batch *b, struct ls_record *r, size_t bytes)
{
	if (b->n == b->cap) {
		b->cap *= 2;
		b->recs = xreallocarray(b->recs, b->cap, sizeof *b->recs);
	}
	if (b->n == 0)
		b->created_ms = ls_now_ms();
	b->recs[b->n++] = r;
	b->bytes += bytes;
}

void
ls_batch_free(struct ls_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		ls_record_unref(b->recs[i]);
	free(b->recs);
	free(b);
}

void
ls_batch_free_cb(void *batch, void *arg)
{
	(void)arg;
	ls_batch_free(batch);
}

struct ls_batcher *
ls_batcher_new(const char *name, struct ls_queue *in, struct ls_queue *out,
    const struct ls_batcher_limits *lim,
    size_t (*size_cb)(const struct ls_record *, void *), void *size_arg,
    struct ls_ctx *parent, void (*exit_cb)(void *), void *exit_arg)
{
	struct ls_batcher *b;

	b = xcalloc(1, sizeof *b);
	snprintf(b->name, sizeof b->name, "batch/%s", name);
	b->in = in;
	b->out = out;
	b->lim = *lim;
	if (b->lim.max_entries == 0)
		b->lim.max_entries = 1;
	b->size_cb = size_cb;
	b->size_arg = size_arg;
	b->ctx = ls_ctx_new(parent);
	b->exit_cb = exit_cb;
	b->exit_arg = exit_arg;
	return b;
}

/* Hands a finished batch on; if the output is closed (only after a
 * cancel), the batch is released. */
static void
emit(struct ls_batcher *b, struct ls_batch *batch)
{
	if (ls_queue_push(b->out, batch, batch->bytes) != 0)
		ls_batch_free(batch);
}

static void *
batcher_main(void *arg)
{
	struct ls_batcher *b = arg;
	struct ls_batch *batch = NULL;
	struct ls_record *r, *carry = NULL;
	size_t size = 0, carry_size = 0;
	int64_t deadline = LS_FOREVER;
	int err = 0;

	for (;;) {
		if (carry != NULL) {
			r = carry;
			size = carry_size;
			carry = NULL;
		} else if ((r = ls_queue_pop(b->in, b->ctx, deadline, NULL))
		    == NULL) {
			err = errno;
			if (err == ETIMEDOUT) { /* max_wait: close it */
				emit(b, batch);
				batch = NULL;
				deadline = LS_FOREVER;
				continue;
			}
			break; /* EPIPE or ECANCELED */
		} else
			size = b->size_cb(r, b->size_arg);

		if (batch != NULL && batch->bytes + size > b->lim.max_bytes) {
			/* Too big together: r opens the next batch. */
			carry = r;
			carry_size = size;
			emit(b, batch);
			batch = NULL;
			deadline = LS_FOREVER;
			continue;
		}
		if (batch == NULL) {
			batch = ls_batch_new(b->lim.max_entries < 1024
				? b->lim.max_entries
				: 1024);
			deadline = ls_now_ms() + b->lim.max_wait_ms;
		}
		ls_batch_add(batch, r, size);
		if (batch->n >= b->lim.max_entries
		    || batch->bytes >= b->lim.max_bytes) {
			emit(b, batch);
			batch = NULL;
			deadline = LS_FOREVER;
		}
	}
	/* Drained: flush what is left. Cancelled: leave it in the output
	 * queue too, where a reload may still hand it on (pipeline.c). */
	if (carry != NULL) {
		if (batch == NULL)
			batch = ls_batch_new(1);
		ls_batch_add(batch, carry, carry_size);
	}
	if (batch != NULL)
		emit(b, batch);
	ls_queue_close(b->out);
	if (b->exit_cb != NULL)
		b->exit_cb(b->exit_arg);
	return NULL;
}

int
ls_batcher_start(struct ls_batcher *b)
{
	int error;

	if ((error = ls_thread_start(&b->thread, b->name, batcher_main, b))
	    != 0) {
		errno = error;
		log_warn("%s: cannot start its thread", b->name);
		return -1;
	}
	b->running = 1;
	return 0;
}

void
ls_batcher_join(struct ls_batcher *b)
{
	if (!b->running)
		return;
	pthread_join(b->thread, NULL);
	b->running = 0;
}

void
ls_batcher_free(struct ls_batcher *b)
{
	if (b == NULL)
		return;
	if (b->running) {
		ls_ctx_cancel(b->ctx);
		ls_batcher_join(b);
	}
	ls_ctx_free(b->ctx);
	free(b);
}
