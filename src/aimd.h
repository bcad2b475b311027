/*
 * aimd: adaptive concurrency for one destination (adaptive_concurrency:
 * true), additive increase and multiplicative decrease of the number of
 * requests in flight, between 1 and max_connections.
 *
 * Requests are judged a window at a time (about one round trip, at least
 * 50 ms). The limit
 *   - falls by a tenth (at least 1), once per window, as soon as the intake
 *     pushes back (429, 5xx, a timeout, no connection): refusals come back
 *     fast, and waiting for the window's end would let every worker be
 *     refused in the meantime;
 *   - falls the same way at the end of a window whose mean round trip rose
 *     past 1.5 times the long-run mean (an EWMA of past windows): the
 *     intake, or the path to it, is queueing;
 *   - rises by 1 once as many windows in a row as the limit had neither
 *     and reached the limit (more requests wanted to go than it let):
 *     there is demand, and the intake keeps up. So the limit grows by
 *     about one per limit round trips, like TCP's congestion avoidance,
 *     and an intake near its capacity is probed above it rarely;
 *   - stays otherwise.
 * It starts at 1, so a restart with a large backlog opens one connection,
 * then a few, not max_connections at once. This is the scheme of TCP's
 * congestion window, of Netflix's concurrency-limits and of Vector's ARC.
 *
 * Threading: any thread (a mutex; called once per request).
 */
#ifndef LS_AIMD_H
#define LS_AIMD_H

#include <pthread.h>
#include <stdint.h>

struct ls_aimd {
	pthread_mutex_t mtx;
	unsigned limit, max;
	double past_ms; /* EWMA of the windows' mean round trips; 0: none */
	int64_t window_end; /* ls_now_ms() time; 0: no window open */
	double sum_ms;
	unsigned n;
	int pushed_back; /* in this window */
	int saturated; /* in this window */
	unsigned good; /* windows in a row that asked for more */
	int cut; /* the limit fell in this window already */
};

/* A controller between 1 and max, starting at 1. */
void ls_aimd_init(struct ls_aimd *, unsigned max);
void ls_aimd_destroy(struct ls_aimd *);
/*
 * One request ended at now_ms after rtt_ms. pushed_back: the intake (or
 * the way to it) refused or timed out. saturated: when it started, every
 * permit of the limit was in use. Returns the limit to apply from now.
 */
unsigned ls_aimd_sample(struct ls_aimd *, int64_t now_ms, int64_t rtt_ms,
    int pushed_back, int saturated);
unsigned ls_aimd_limit(struct ls_aimd *);

#endif
