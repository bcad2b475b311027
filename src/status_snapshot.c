/* status_snapshot: see status_snapshot.h. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "status_snapshot.h"
#include "xmalloc.h"

struct ls_snapslot {
	pthread_mutex_t mu;
	struct ls_snapshot *cur; /* the slot's own reference */
};

struct ls_snapshot *
ls_snapshot_new(
    int64_t made_ms, int healthy, char *health, char *metrics, char *status)
{
	struct ls_snapshot *s;

	s = xcalloc(1, sizeof *s);
	atomic_init(&s->refs, 1);
	s->made_ms = made_ms;
	s->healthy = healthy;
	s->health = health;
	s->metrics = metrics;
	s->metrics_len = strlen(metrics);
	s->status = status;
	s->status_len = strlen(status);
	return s;
}

void
ls_snapshot_ref(struct ls_snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void
ls_snapshot_unref(struct ls_snapshot *s)
{
	if (s == NULL)
		return;
	/* acq_rel: every other holder's use happens before its release,
	 * and the last one's acquire sees them all before it frees. (Not a
	 * separate fence: ThreadSanitizer does not model fences.) */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(s->health);
	free(s->metrics);
	free(s->status);
	free(s);
}

struct ls_snapslot *
ls_snapslot_new(void)
{
	struct ls_snapslot *sl;

	sl = xcalloc(1, sizeof *sl);
	if (pthread_mutex_init(&sl->mu, NULL) != 0)
		fatalx("snapshot: pthread_mutex_init");
	return sl;
}

void
ls_snapslot_free(struct ls_snapslot *sl)
{
	if (sl == NULL)
		return;
	ls_snapshot_unref(sl->cur);
	pthread_mutex_destroy(&sl->mu);
	free(sl);
}

void
ls_snapslot_publish(struct ls_snapslot *sl, struct ls_snapshot *s)
{
	struct ls_snapshot *old;

	/* The mutex makes the new snapshot's contents visible to whoever
	 * takes it after us: it was written before the unlock. */
	pthread_mutex_lock(&sl->mu);
	old = sl->cur;
	sl->cur = s;
	pthread_mutex_unlock(&sl->mu);
	/* Outside the lock: freeing may take a while, readers need not. */
	ls_snapshot_unref(old);
}

struct ls_snapshot *
ls_snapslot_take(struct ls_snapslot *sl)
{
	struct ls_snapshot *s;

	pthread_mutex_lock(&sl->mu);
	if ((s = sl->cur) != NULL)
		ls_snapshot_ref(s);
	pthread_mutex_unlock(&sl->mu);
	return s;
}
