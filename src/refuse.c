/*
 * refuse: see refuse.h.
 */
#include "config.h"

#include "refuse.h"

void
ls_refuse_init(struct ls_refuse *r, unsigned limit)
{
	pthread_mutex_init(&r->mu, NULL);
	r->limit = limit > 0 ? limit : 1;
	r->clock = 0;
	r->ok_tick = 0;
	r->streak = 0;
	r->held = 0;
	r->status = 0;
}

void
ls_refuse_cleanup(struct ls_refuse *r)
{
	pthread_mutex_destroy(&r->mu);
}

uint64_t
ls_refuse_tick(struct ls_refuse *r, uint64_t *ok_tick)
{
	uint64_t t;

	pthread_mutex_lock(&r->mu);
	t = ++r->clock;
	if (ok_tick != NULL)
		*ok_tick = r->ok_tick;
	pthread_mutex_unlock(&r->mu);
	return t;
}

int
ls_refuse_accepted(struct ls_refuse *r, uint64_t sent)
{
	int was;

	pthread_mutex_lock(&r->mu);
	if (sent > r->ok_tick)
		r->ok_tick = sent;
	r->streak = 0;
	was = r->held;
	r->held = 0;
	pthread_mutex_unlock(&r->mu);
	return was;
}

enum ls_refuse_verdict
ls_refuse_single(struct ls_refuse *r, uint64_t since, uint64_t ok_seen,
    long status, int *held)
{
	enum ls_refuse_verdict v;

	*held = 0;
	pthread_mutex_lock(&r->mu);
	if (r->streak < UINT32_MAX)
		r->streak++;
	if (!r->held && r->streak >= r->limit) {
		r->held = 1;
		r->status = status;
		*held = 1;
	}
	if (r->held)
		v = LS_REFUSE_HOLD;
	else if (ok_seen > since)
		v = LS_REFUSE_DROP;
	else
		v = LS_REFUSE_DEFER;
	pthread_mutex_unlock(&r->mu);
	return v;
}

int
ls_refuse_held(struct ls_refuse *r, long *status, unsigned *streak)
{
	int held;

	pthread_mutex_lock(&r->mu);
	held = r->held;
	if (status != NULL)
		*status = r->status;
	if (streak != NULL)
		*streak = r->streak;
	pthread_mutex_unlock(&r->mu);
	return held;
}
