/*
 * offtrack: see offtrack.h.
 *
 * The ring holds the records from the oldest not yet committed (seq base)
 * to the newest (seq base + n - 1); slot i holds seq base + i, at
 * (head + i) & (cap - 1). A done() on the head pops every done record
 * from the front, moving the committed offset to the last one's end. Each
 * record is pushed and popped once, so the cost is O(1) amortised.
 *
 * The capacity is a power of two. It doubles when full and halves (as
 * often as needed) when a quarter full, so growth and shrinking cannot
 * alternate on every call, and a burst of in-flight records (a sink down for an
 * hour) does not pin its memory afterwards. With nothing outstanding after a
 * reset the ring is freed: a daemon following 10,000 mostly idle files keeps no
 * rings for them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offtrack.h"
#include "xmalloc.h"

#define MIN_CAP 16

struct slot {
	uint64_t end;
	int64_t at; /* when it was read (for the backlog age) */
	int done;
};

struct ls_offtrack {
	struct slot *ring;
	size_t cap; /* 0 or a power of two */
	size_t head;
	size_t n; /* records in the ring */
	size_t ndone; /* of which done (held back by an earlier one) */
	uint64_t base; /* seq of the head slot */
	uint64_t last; /* end offset of the newest record, or the start */
	uint64_t committed;
	uint64_t ignored;
};

struct ls_offtrack *
ls_offtrack_new(uint64_t start_offset)
{
	struct ls_offtrack *t;

	t = xcalloc(1, sizeof *t);
	t->base = 1;
	t->last = start_offset;
	t->committed = start_offset;
	return t;
}

void
ls_offtrack_free(struct ls_offtrack *t)
{
	if (t == NULL)
		return;
	free(t->ring);
	free(t);
}

/* Moves the n records into a ring of newcap slots, starting at slot 0. */
static void
resize(struct ls_offtrack *t, size_t newcap)
{
	struct slot *r;
	size_t first;

	r = xreallocarray(NULL, newcap, sizeof *r);
	if (t->n > 0) {
		first = t->cap - t->head;
		if (first > t->n)
			first = t->n;
		memcpy(r, t->ring + t->head, first * sizeof *r);
		memcpy(r + first, t->ring, (t->n - first) * sizeof *r);
	}
	free(t->ring);
	t->ring = r;
	t->cap = newcap;
	t->head = 0;
}

uint64_t
ls_offtrack_add(struct ls_offtrack *t, uint64_t end_offset)
{
	return ls_offtrack_add_at(t, end_offset, 0);
}

uint64_t
ls_offtrack_add_at(struct ls_offtrack *t, uint64_t end_offset, int64_t at)
{
	struct slot *s;

	/* A lower end would let the committed offset go backwards. */
	if (end_offset < t->last)
		fatalx("offtrack: record end %llu below %llu (the previous "
		       "end, or the start)",
		    (unsigned long long)end_offset,
		    (unsigned long long)t->last);
	if (t->n == t->cap)
		resize(t, t->cap == 0 ? MIN_CAP : t->cap * 2);
	s = &t->ring[(t->head + t->n) & (t->cap - 1)];
	s->end = end_offset;
	s->at = at;
	s->done = 0;
	t->last = end_offset;
	t->n++;
	return t->base + t->n - 1;
}

int
ls_offtrack_done(struct ls_offtrack *t, uint64_t seq)
{
	struct slot *s;
	size_t newcap;

	if (seq < t->base || seq - t->base >= t->n) {
		t->ignored++;
		errno = seq < t->base ? ENOENT : EINVAL;
		return -1;
	}
	s = &t->ring[(t->head + (seq - t->base)) & (t->cap - 1)];
	if (s->done) {
		t->ignored++;
		errno = EALREADY;
		return -1;
	}
	s->done = 1;
	t->ndone++;
	if (seq != t->base)
		return 0;
	while (t->n > 0 && t->ring[t->head].done) {
		t->committed = t->ring[t->head].end;
		t->head = (t->head + 1) & (t->cap - 1);
		t->n--;
		t->ndone--;
		t->base++;
	}
	if (t->cap > MIN_CAP && t->n <= t->cap / 4) {
		newcap = t->cap;
		while (newcap > MIN_CAP && t->n <= newcap / 4)
			newcap /= 2;
		resize(t, newcap);
	}
	return 0;
}

uint64_t
ls_offtrack_committed(const struct ls_offtrack *t)
{
	return t->committed;
}

int64_t
ls_offtrack_oldest(const struct ls_offtrack *t)
{
	/* The head is never done: done records at the head are popped. */
	return t->n > 0 ? t->ring[t->head].at : -1;
}

size_t
ls_offtrack_outstanding(const struct ls_offtrack *t)
{
	return t->n - t->ndone;
}

uint64_t
ls_offtrack_ignored(const struct ls_offtrack *t)
{
	return t->ignored;
}

void
ls_offtrack_reset(struct ls_offtrack *t, uint64_t offset)
{
	/* Skipping the forgotten numbers puts them below base for good. */
	t->base += t->n;
	t->n = 0;
	t->ndone = 0;
	t->head = 0;
	free(t->ring);
	t->ring = NULL;
	t->cap = 0;
	t->last = offset;
	t->committed = offset;
}
