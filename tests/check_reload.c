/*
 * check_reload: the reload handover (reload.c) driven through the whole
 * pipeline (router, batchers, worker pools) with stub senders instead of
 * HTTP (struct ls_send_ops): a line is "sent" when a stub takes it.
 *
 * A producer thread pushes numbered lines while the main thread reloads,
 * polls the pipeline and applies the acknowledgements, as main.c does.
 * Every scenario ends with a drain and checks that each line reached each
 * destination it was routed to exactly once (no loss, no double), and was
 * acknowledged exactly once, or not at all when it was not delivered.
 *
 * Stubs: a destination whose batch.max_entries is 7 stalls (takes nothing
 * until its context is cancelled: the retiring instance's deadline); one
 * with 9 sends slowly; one called "broken" cannot make a worker; one
 * called "fail" meets an internal error at every batch.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "acks.h"
#include "conf.h"
#include "ctx.h"
#include "status_metrics.h"
#include "pipeline.h"
#include "record.h"
#include "testutil.h"

#define MAXN 20000

static atomic_int delivered[2][MAXN]; /* by destination: a, then b */
static atomic_int acked[MAXN];
static atomic_int dest_news, fails, done_flag;
static atomic_int pushed;
static size_t nlines;

struct stub {
	const struct ls_conf_dest *c;
	int slot; /* 0: a, 1: b, -1: another */
};

static void *
stub_dest_new(const struct ls_conf_dest *c, const char *hostname,
    struct ls_dest_metrics *m)
{
	struct stub *s = calloc(1, sizeof *s);

	(void)hostname;
	(void)m;
	s->c = c;
	s->slot = strcmp(c->name, "a") == 0 ? 0
	    : strcmp(c->name, "b") == 0	    ? 1
					    : -1;
	atomic_fetch_add(&dest_news, 1);
	return s;
}

static void
stub_dest_free(void *sd)
{
	free(sd);
}

static void *
stub_worker_new(void *sd, unsigned idx)
{
	struct stub *s = sd;

	(void)idx;
	return strcmp(s->c->name, "broken") == 0 ? NULL : sd;
}

static void
stub_worker_free(void *w)
{
	(void)w;
}

static struct ls_send_outcome
stub_send(void *w, struct ls_batch *b, struct ls_ctx *ctx)
{
	struct ls_send_outcome o = { 0, LS_SEND_ALL_TAKEN, NULL };
	struct stub *s = w;
	size_t i;

	if (strcmp(s->c->name, "fail") == 0) {
		o.verdict = LS_SEND_FAILED;
		o.why = "stub failure";
		return o;
	}
	if (s->c->batch_max_entries == 7) {
		while (!ls_ctx_done(ctx))
			(void)ls_ctx_sleep(ctx, 5);
		o.verdict = LS_SEND_CUT;
		return o;
	}
	if (s->c->batch_max_entries == 9 && ls_ctx_sleep(ctx, 2) != 0) {
		o.verdict = LS_SEND_CUT;
		return o;
	}
	for (i = 0; i < b->n; i++)
		if (s->slot >= 0)
			atomic_fetch_add(
			    &delivered[s->slot][atoi(b->recs[i]->msg)], 1);
	o.taken = b->n;
	return o;
}

static const struct ls_send_ops stub_ops = {
	.dest_new = stub_dest_new,
	.dest_free = stub_dest_free,
	.worker_new = stub_worker_new,
	.worker_free = stub_worker_free,
	.send = stub_send,
};

static void
ack_cb(struct ls_record *r, void *arg)
{
	(void)arg;
	atomic_fetch_add(&acked[atoi(r->msg)], 1);
}

static void
done_cb(void *arg)
{
	(void)arg;
	atomic_store(&done_flag, 1);
}

static void
fail_cb(void *arg)
{
	(void)arg;
	atomic_fetch_add(&fails, 1);
}

/* dests: the destinations' YAML (list items). */
static struct ls_conf *
conf(const char *dests)
{
	char yaml[4096];
	struct ls_conf *c;

	snprintf(yaml, sizeof yaml,
	    "state_dir: /tmp\n"
	    "shutdown_timeout: 300ms\n"
	    "sources:\n"
	    "  - name: app\n"
	    "    paths: [\"/nonexistent/*.log\"]\n"
	    "destinations:\n%s",
	    dests);
	c = ls_conf_load_string("t.yaml", yaml, stderr);
	ck_assert_ptr_nonnull(c);
	return c;
}

#define DEST(name, entries)                                                    \
	"  - name: " name "\n"                                                 \
	"    type: http\n"                                                     \
	"    format: ndjson\n"                                                 \
	"    url: http://127.0.0.1:9/" name "\n"                               \
	"    workers: 2\n"                                                     \
	"    batch: { max_entries: " #entries ", max_wait: 5ms }\n"

struct fx {
	struct ev_loop *loop;
	struct ls_conf *conf;
	struct ls_metrics *m;
	struct ls_acks *acks;
	struct ls_ctx *root;
	struct ls_pipeline *p;
	pthread_t producer;
};

static void
reset(size_t n)
{
	size_t i;

	for (i = 0; i < MAXN; i++) {
		atomic_store(&delivered[0][i], 0);
		atomic_store(&delivered[1][i], 0);
		atomic_store(&acked[i], 0);
	}
	atomic_store(&dest_news, 0);
	atomic_store(&fails, 0);
	atomic_store(&done_flag, 0);
	atomic_store(&pushed, 0);
	nlines = n < MAXN ? n : MAXN;
}

static void *
produce(void *arg)
{
	struct ls_queue *q = arg;
	struct ls_record *r;
	char msg[16];
	size_t i;
	int len;

	for (i = 0; i < nlines; i++) {
		len = snprintf(msg, sizeof msg, "%zu", i);
		r = ls_record_new(
		    NULL, NULL, msg, (size_t)len, LS_SEV_INFO, i + 1, 0);
		if (ls_queue_push(q, r, 0) != 0)
			ls_record_unref(r);
		atomic_fetch_add(&pushed, 1);
		if (i % 200 == 0)
			usleep(1000); /* ok-sleep: the producer's pace,
				       * spreading lines over the reload */
	}
	return NULL;
}

/* A pipeline for c (taken), with the producer running; NULL pipeline if
 * it cannot be made. */
static void
up(struct fx *x, struct ls_conf *c, size_t n)
{
	struct ls_pipeline_hooks hooks = { 0 };

	reset(n);
	memset(x, 0, sizeof *x);
	x->loop = ev_loop_new(0);
	x->conf = c;
	x->m = ls_metrics_new(c->ndests, c->nsources);
	x->acks = ls_acks_new(x->loop, ack_cb, NULL);
	ls_acks_start(x->acks);
	x->root = ls_ctx_new(NULL);
	hooks.done_cb = done_cb;
	hooks.fail_cb = fail_cb;
	hooks.send = &stub_ops;
	x->p = ls_pipeline_new(c, x->acks, x->m, x->root, &hooks);
	if (x->p == NULL)
		return;
	ck_assert_int_eq(ls_pipeline_start(x->p), 0);
	ck_assert_int_eq(pthread_create(&x->producer, NULL, produce,
			     ls_pipeline_input(x->p)),
	    0);
}

/* Polls and applies acknowledgements, as main's loop does, until cond
 * holds (10 s at most). */
static int
pump_until(struct fx *x, int (*cond)(struct fx *))
{
	int64_t end = ls_now_ms() + 10000;

	while (!cond(x)) {
		if (ls_now_ms() > end)
			return 0;
		(void)ls_pipeline_poll(x->p);
		(void)ls_acks_apply(x->acks);
		usleep(1000); /* ok-sleep: bounded poll, as main's loop */
	}
	(void)ls_acks_apply(x->acks);
	return 1;
}

static int
third_pushed(struct fx *x)
{
	return (size_t)atomic_load(&pushed) >= nlines / 3;
}

static int
retired(struct fx *x)
{
	return ls_pipeline_poll(x->p) == 0;
}

static int
drained(struct fx *x)
{
	return atomic_load(&done_flag);
}

/* Waits for the producer, drains, joins, applies the last acks. */
static void
down(struct fx *x)
{
	pthread_join(x->producer, NULL);
	ls_pipeline_drain(x->p);
	ck_assert_msg(pump_until(x, drained), "the drain did not end");
	ls_pipeline_join(x->p);
	while (ls_pipeline_poll(x->p))
		;
	(void)ls_acks_apply(x->acks);
}

static void
teardown_fx(struct fx *x)
{
	ls_pipeline_free(x->p);
	ls_acks_free(x->acks);
	ls_ctx_free(x->root);
	ls_metrics_free(x->m);
	ls_conf_free(x->conf);
	ev_loop_destroy(x->loop);
}

/* Each line reached destination slot exactly want times. */
static void
assert_delivered(int slot, int want)
{
	size_t i;

	for (i = 0; i < nlines; i++)
		ck_assert_msg(atomic_load(&delivered[slot][i]) == want,
		    "line %zu reached %c %d times, not %d", i, 'a' + slot,
		    atomic_load(&delivered[slot][i]), want);
}

static void
assert_acked(int want)
{
	size_t i;

	for (i = 0; i < nlines; i++)
		ck_assert_msg(atomic_load(&acked[i]) == want,
		    "line %zu acknowledged %d times, not %d", i,
		    atomic_load(&acked[i]), want);
}

/* Reloads to c (taken) once a third of the lines are in, then waits for
 * the retiring instances to finish and drains. */
static int
reload_midway(struct fx *x, struct ls_conf *c)
{
	int rc;

	ck_assert(pump_until(x, third_pushed));
	rc = ls_pipeline_reload(x->p, c);
	if (rc == 0) {
		ls_conf_free(x->conf);
		x->conf = c;
	} else
		ls_conf_free(c);
	ck_assert_msg(pump_until(x, retired), "still retiring");
	down(x);
	return rc;
}

START_TEST(test_unchanged)
{
	struct fx x;

	up(&x, conf(DEST("a", 50)), scaled(6000));
	ck_assert_int_eq(reload_midway(&x, conf(DEST("a", 50))), 0);
	/* The running instance was kept: no new one was made. */
	ck_assert_int_eq(atomic_load(&dest_news), 1);
	assert_delivered(0, 1);
	assert_acked(1);
	teardown_fx(&x);
}
END_TEST

/* The old instance sends slowly: some lines go through it, the rest
 * through the new one, each once. */
START_TEST(test_changed_slow)
{
	struct fx x;

	up(&x, conf(DEST("a", 9)), scaled(6000));
	ck_assert_int_eq(reload_midway(&x, conf(DEST("a", 50))), 0);
	ck_assert_int_eq(atomic_load(&dest_news), 2);
	assert_delivered(0, 1);
	assert_acked(1);
	teardown_fx(&x);
}
END_TEST

/* The old instance takes nothing until its drain deadline cancels it:
 * every line it held (queued, batched, in a worker's hands) is handed to
 * the new instance, and sent once. */
START_TEST(test_changed_stalled)
{
	struct fx x;

	up(&x, conf(DEST("a", 7)), scaled(6000));
	ck_assert_int_eq(reload_midway(&x, conf(DEST("a", 50))), 0);
	assert_delivered(0, 1);
	assert_acked(1);
	teardown_fx(&x);
}
END_TEST

/* b is removed while it stalls: what it held is given up (dropped,
 * reason reload) and acknowledged, so the lines a sent are acknowledged
 * once; the lines after the barrier never reach b. */
START_TEST(test_removed)
{
	struct ls_dest_metrics *bm;
	struct fx x;
	uint64_t routed, dropped;

	up(&x, conf(DEST("a", 50) DEST("b", 7)), scaled(6000));
	bm = ls_dest_metrics_ref(x.m->dest[1]);
	ck_assert_int_eq(reload_midway(&x, conf(DEST("a", 50))), 0);
	assert_delivered(0, 1);
	assert_delivered(1, 0);
	assert_acked(1);
	routed = LS_LOAD(bm->routed);
	dropped = LS_LOAD(bm->dropped[LS_DROP_RELOAD]);
	ck_assert_uint_gt(routed, 0);
	ck_assert_uint_lt(routed, nlines);
	ck_assert_uint_eq(dropped, routed);
	ck_assert_uint_eq(LS_LOAD(bm->held_bytes), 0);
	ls_dest_metrics_unref(bm);
	teardown_fx(&x);
}
END_TEST

static int
b_sent_some(struct fx *x)
{
	size_t i;

	for (i = 0; i < nlines; i++)
		if (atomic_load(&delivered[1][i]) > 0)
			return 1;
	return 0;
}

/* b is added, then removed while it sends slowly: it sends a run of
 * lines, each at most once, and gives up the rest. */
START_TEST(test_added_removed)
{
	struct fx x;
	struct ls_conf *c;
	size_t i, n = 0;

	up(&x, conf(DEST("a", 50)), scaled(6000));
	ck_assert(pump_until(&x, third_pushed));
	c = conf(DEST("a", 50) DEST("b", 9));
	ck_assert_int_eq(ls_pipeline_reload(x.p, c), 0);
	ls_conf_free(x.conf);
	x.conf = c;
	ck_assert(pump_until(&x, b_sent_some));
	c = conf(DEST("a", 50));
	ck_assert_int_eq(ls_pipeline_reload(x.p, c), 0);
	ls_conf_free(x.conf);
	x.conf = c;
	ck_assert_msg(pump_until(&x, retired), "still retiring");
	down(&x);
	assert_delivered(0, 1);
	assert_acked(1);
	for (i = 0; i < nlines; i++) {
		ck_assert_int_le(atomic_load(&delivered[1][i]), 1);
		n += (size_t)atomic_load(&delivered[1][i]);
	}
	ck_assert_uint_gt(n, 0);
	teardown_fx(&x);
}
END_TEST

/* A worker that cannot be made undoes the reload: the old configuration
 * keeps running and delivers every line. */
START_TEST(test_reload_undone)
{
	struct fx x;

	up(&x, conf(DEST("a", 50)), scaled(3000));
	ck_assert_int_eq(
	    reload_midway(&x, conf(DEST("a", 60) DEST("broken", 50))), -1);
	assert_delivered(0, 1);
	assert_acked(1);
	teardown_fx(&x);
}
END_TEST

/* At the start, the pipeline is not made. */
START_TEST(test_start_fails)
{
	struct fx x;

	up(&x, conf(DEST("a", 50) DEST("broken", 50)), 1);
	ck_assert_ptr_null(x.p);
	teardown_fx(&x);
}
END_TEST

/* An internal error in a worker is reported (once), not fatal; its lines
 * are neither sent nor acknowledged, and the drain still ends. */
START_TEST(test_send_fails)
{
	struct fx x;

	up(&x, conf(DEST("a", 50) DEST("fail", 50)), scaled(2000));
	down(&x);
	ck_assert_int_eq(atomic_load(&fails), 1);
	assert_delivered(0, 1);
	assert_acked(0);
	teardown_fx(&x);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("handover");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_unchanged);
	tcase_add_test(tc, test_changed_slow);
	tcase_add_test(tc, test_changed_stalled);
	tcase_add_test(tc, test_removed);
	tcase_add_test(tc, test_added_removed);
	tcase_add_test(tc, test_reload_undone);
	tcase_add_test(tc, test_start_fails);
	tcase_add_test(tc, test_send_fails);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(suite());
}
