/*
 * refuse: what a destination concludes from the entries its intake refuses
 * (400, 422, and the other 4xx once retried), the state machine of issue
 * 16's "never discard a stream silently".
 *
 * A refused batch is halved (sender_refused.c) until the refused entries stand
 * alone. One entry refused alone is dropped only when there is proof that
 * the intake takes other entries: a request sent after the refusal that
 * began the entry's bisection was accepted. Without that proof the entry
 * is deferred (sent again after the rest of its batch), never dropped: a
 * stream refused whole looks, one entry at a time, exactly like a stream
 * of bad entries.
 *
 * Single entries refused one after another, reject_limit of them with no
 * 2xx between, make the destination "held": it stops dropping, and every
 * refusal backs it off like a 401 until a request is accepted again.
 *
 * Time is a counter (ls_refuse_tick), not a clock: "sent after" is exact
 * even for requests of the same millisecond.
 *
 * Threading: one per destination, shared by its workers; every call takes
 * the lock. Pure (no I/O): tested in check_refuse.c.
 */
#ifndef LS_REFUSE_H
#define LS_REFUSE_H

#include <pthread.h>
#include <stdint.h>

enum ls_refuse_verdict {
	LS_REFUSE_DROP = 0, /* proven bad: drop and count it */
	LS_REFUSE_DEFER, /* no proof yet: send it again later */
	LS_REFUSE_HOLD, /* held: keep it, back off like a 401 */
};

struct ls_refuse {
	pthread_mutex_t mu;
	unsigned limit; /* reject_limit */
	uint64_t clock;
	uint64_t ok_tick; /* the send tick of the newest accepted request */
	unsigned streak; /* single entries refused since the last 2xx */
	int held;
	long status; /* the answer that made it held */
};

/* limit: single refusals in a row that hold the destination (>= 1). */
void ls_refuse_init(struct ls_refuse *, unsigned limit);
void ls_refuse_cleanup(struct ls_refuse *);
/* A new instant: take one when a request is sent (*ok_tick, if not NULL,
 * gets the send tick of the newest request accepted so far) and when a
 * refusal is answered. */
uint64_t ls_refuse_tick(struct ls_refuse *, uint64_t *ok_tick);
/* A request sent at tick sent was accepted: the streak ends. Returns 1 if
 * that ends a hold. */
int ls_refuse_accepted(struct ls_refuse *, uint64_t sent);
/* One entry sent alone was refused with status. since: the tick of the
 * latest refusal of a batch that held it (the one bisected, or its own
 * previous refusal); ok_seen: what ls_refuse_tick() said of the accepted
 * requests when this one was sent. It is proven bad when a request sent
 * after since had been accepted before it was sent. *held is set to 1 if
 * this refusal made the destination held (0 otherwise). */
enum ls_refuse_verdict ls_refuse_single(struct ls_refuse *, uint64_t since,
    uint64_t ok_seen, long status, int *held);
/* Is the destination held? *status, if not NULL, gets the answer that
 * held it, *streak the refusals in a row. */
int ls_refuse_held(struct ls_refuse *, long *status, unsigned *streak);

#endif
