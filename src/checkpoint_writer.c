/*
 * checkpoint_writer: the writer thread, and the main thread's side of it
 * (due, commit, flush, stop); checkpoint.h is the API, checkpoint_impl.h
 * lists the family and says who owns what in struct ls_ckpt.
 *
 * The writer (docs/internals/checkpoint.md) is Redis's bio in small: one
 * mutex, one slot for the next text, two condition variables (work for the
 * thread, results for the loop). Three buffers go round by swapping, so
 * nothing is copied or allocated in steady state: the loop serializes
 * into text, swaps it into pending, and the thread swaps pending into
 * wtext, the one it writes from.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "checkpoint_impl.h"
#include "ctx.h"
#include "log.h"
#include "status_metrics.h"
#include "thread.h"

static void
buf_swap(struct ls_buf *a, struct ls_buf *b)
{
	struct ls_buf t = *a;

	*a = *b;
	*b = t;
}

/*
 * The writer's next step, mu held: 'w' write pending, 's' fsync the
 * current generation, 'q' quit, or 0 to wait until *until (LS_FOREVER:
 * a signal).
 */
static int
next_step(struct ls_ckpt *c, int64_t now, int64_t *until)
{
	int64_t sync_at = c->synced_at + c->fsync_ms;

	*until = LS_FOREVER;
	if (c->has_pending && (now >= c->retry_at || c->flush_req || c->stop))
		return 'w';
	if (c->unsynced && (now >= sync_at || c->flush_req || c->stop))
		return 's';
	if (c->flush_req) {
		/* Nothing pending, nothing unsynced: answered. */
		c->flush_req = 0;
		c->flush_err = 0;
		pthread_cond_broadcast(&c->done);
	}
	if (c->stop)
		return 'q';
	if (c->has_pending)
		*until = c->retry_at;
	if (c->unsynced && sync_at < *until)
		*until = sync_at;
	return 0;
}

static void *
writer_main(void *arg)
{
	struct ls_ckpt *c = arg;
	int64_t now, until;
	int step, durable, rc, err;

	log_setname("ckpt");
	pthread_mutex_lock(&c->mu);
	for (;;) {
		now = ls_now_ms();
		if ((step = next_step(c, now, &until)) == 'q')
			break;
		if (step == 0) {
			/* Woken, or the time came (ETIMEDOUT): look
			 * again either way. */
			rc = ls_ctx_wait(c->ctx, &c->mu, &c->work, until);
			continue;
		}
		durable = c->flush_req || c->stop || c->fsync_ms == 0
		    || now - c->synced_at >= c->fsync_ms;
		if (step == 'w') {
			buf_swap(&c->wtext, &c->pending);
			c->has_pending = 0;
		}
		pthread_mutex_unlock(&c->mu);
		if (step == 'w')
			rc = ckpt_write_counted(c, &c->wtext, durable);
		else
			rc = ckpt_sync_cur(c);
		err = rc == -1 ? errno : 0;
		pthread_mutex_lock(&c->mu);
		if (rc == 0 && (step == 's' || durable)) {
			c->unsynced = 0;
			c->synced_at = now;
		} else if (rc == 0)
			c->unsynced = 1;
		if (rc == -1 && step == 'w' && !c->has_pending) {
			/* Retried until it succeeds or a newer one comes. */
			buf_swap(&c->wtext, &c->pending);
			c->has_pending = 1;
			c->retry_at = now + c->retry_ms;
		} else if (rc == -1 && step == 's')
			c->synced_at = now; /* retried an interval later */
		if (rc == -1 && (c->flush_req || c->stop)) {
			c->flush_req = 0;
			c->flush_err = err;
			pthread_cond_broadcast(&c->done);
			if (c->stop)
				break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int
ls_ckpt_start(
    struct ls_ckpt *c, struct ls_metrics *m, int64_t retry_ms, int64_t fsync_ms)
{
	int err;

	c->m = m;
	c->retry_ms = retry_ms;
	c->fsync_ms = fsync_ms;
	c->synced_at = ls_now_ms();
	c->stop = 0;
	pthread_mutex_init(&c->mu, NULL);
	ls_cond_init(&c->work);
	pthread_cond_init(&c->done, NULL);
	/* Its waits' context: never cancelled, stop is a flag under mu. */
	c->ctx = ls_ctx_new(NULL);
	/* Signals blocked, named "ckpt" (thread.h). */
	if ((err = ls_thread_start(&c->thr, "ckpt", writer_main, c)) != 0) {
		pthread_cond_destroy(&c->work);
		pthread_cond_destroy(&c->done);
		pthread_mutex_destroy(&c->mu);
		ls_ctx_free(c->ctx);
		c->ctx = NULL;
		return err;
	}
	pthread_setname_np(c->thr, "ckpt");
	c->started = 1;
	return 0;
}

void
ls_ckpt_set_fsync_interval(struct ls_ckpt *c, int64_t fsync_ms)
{
	if (!c->started) {
		c->fsync_ms = fsync_ms;
		return;
	}
	pthread_mutex_lock(&c->mu);
	if (c->fsync_ms != fsync_ms) {
		c->fsync_ms = fsync_ms;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->mu);
}

static int64_t
now_us(void)
{
	return ls_now_ns() / 1000;
}

/* Lines the destinations took so far (main thread: it owns m->dest). */
static uint64_t
delivered(const struct ls_metrics *m)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < m->ndests; i++)
		n += LS_LOAD(m->dest[i]->sent);
	return n;
}

int
ls_ckpt_due(struct ls_ckpt *c)
{
	int64_t now;
	uint64_t sent;

	if (c == NULL)
		return 1;
	now = now_us();
	if (now - c->handed_us < LS_CKPT_COST_RATIO * c->cost_us)
		return 0;
	if (c->m != NULL) {
		/* A reload may drop a destination: less is also news. */
		sent = delivered(c->m);
		if (sent - c->sent_at_hand < LS_CKPT_LINES
		    && now - c->handed_us < LS_CKPT_IDLE_MS * 1000)
			return 0;
		c->sent_at_due = sent;
	}
	c->due_us = now;
	return 1;
}

int
ls_ckpt_commit(struct ls_ckpt *c, int sync)
{
	int64_t now;

	if (!c->started)
		return ls_ckpt_write(c);
	/* Serialized here, on the loop: the entries are the loop's. */
	ls_buf_reset(&c->text);
	ckpt_encode(c, &c->text);
	now = now_us();
	if (c->due_us != 0)
		c->cost_us = now - c->due_us;
	c->due_us = 0;
	c->handed_us = now;
	c->sent_at_hand = c->sent_at_due;
	pthread_mutex_lock(&c->mu);
	buf_swap(&c->text, &c->pending); /* a text not yet taken is dropped */
	c->has_pending = 1;
	c->retry_at = 0;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
	return sync ? ls_ckpt_flush(c) : 0;
}

int
ls_ckpt_flush(struct ls_ckpt *c)
{
	int err;

	if (!c->started)
		return 0;
	pthread_mutex_lock(&c->mu);
	c->flush_req = 1;
	pthread_cond_signal(&c->work);
	while (c->flush_req)
		pthread_cond_wait(&c->done, &c->mu);
	err = c->flush_err;
	pthread_mutex_unlock(&c->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

void
ls_ckpt_stop(struct ls_ckpt *c)
{
	if (c == NULL || !c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thr, NULL);
	c->started = 0;
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->mu);
	ls_ctx_free(c->ctx);
	c->ctx = NULL;
}
