/* aimd: see aimd.h. */
#include "config.h"

#include "aimd.h"

/* The shortest window, and how far the mean may rise before it counts. */
#define WINDOW_MIN_MS 50
#define RISE 1.5
/* How much a window weighs in the long-run mean. */
#define ALPHA 0.3

void
ls_aimd_init(struct ls_aimd *a, unsigned max)
{
	pthread_mutex_init(&a->mtx, NULL);
	a->max = max > 0 ? max : 1;
	a->limit = 1;
	a->past_ms = 0;
	a->window_end = 0;
	a->sum_ms = 0;
	a->n = 0;
	a->pushed_back = a->saturated = 0;
	a->good = 0;
	a->cut = 0;
}

void
ls_aimd_destroy(struct ls_aimd *a)
{
	pthread_mutex_destroy(&a->mtx);
}

/* A tenth off the limit (at least 1, never below 1), once a window. */
static void
cut(struct ls_aimd *a)
{
	unsigned by = a->limit / 10 > 0 ? a->limit / 10 : 1;

	if (a->cut)
		return;
	a->limit = a->limit > by ? a->limit - by : 1;
	a->cut = 1;
	a->good = 0;
}

/* Closes the window: the decision, then the next window. */
static void
judge(struct ls_aimd *a, int64_t now)
{
	double mean = a->n > 0 ? a->sum_ms / a->n : 0;

	if (a->past_ms > 0 && a->n > 0 && mean > a->past_ms * RISE)
		cut(a);
	if (a->cut || !a->saturated)
		a->good = 0;
	else if (++a->good >= a->limit && a->limit < a->max) {
		a->limit++;
		a->good = 0;
	}
	/* A window of refusals says nothing of the round trip. */
	if (a->n > 0 && !a->pushed_back)
		a->past_ms = a->past_ms > 0
		    ? (1 - ALPHA) * a->past_ms + ALPHA * mean
		    : mean;
	a->window_end = now
	    + (a->past_ms > WINDOW_MIN_MS ? (int64_t)a->past_ms
					  : WINDOW_MIN_MS);
	a->sum_ms = 0;
	a->n = 0;
	a->pushed_back = a->saturated = 0;
	a->cut = 0;
}

unsigned
ls_aimd_sample(struct ls_aimd *a, int64_t now, int64_t rtt_ms, int pushed_back,
    int saturated)
{
	unsigned limit;

	pthread_mutex_lock(&a->mtx);
	if (a->window_end == 0)
		a->window_end = now + WINDOW_MIN_MS;
	if (pushed_back) {
		a->pushed_back = 1;
		cut(a);
	} else {
		a->sum_ms += (double)rtt_ms;
		a->n++;
	}
	if (saturated)
		a->saturated = 1;
	if (now >= a->window_end)
		judge(a, now);
	limit = a->limit;
	pthread_mutex_unlock(&a->mtx);
	return limit;
}

unsigned
ls_aimd_limit(struct ls_aimd *a)
{
	unsigned limit;

	pthread_mutex_lock(&a->mtx);
	limit = a->limit;
	pthread_mutex_unlock(&a->mtx);
	return limit;
}
