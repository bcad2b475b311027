/*
 * check_journal: the journald source's pure parts (journal_util.c) and
 * what it shares with the rest: which units a source reads, an entry's
 * severity, service and attributes (as labels put them on the wire), the
 * cursor of a cursor string, the ring of cursors and the commit over it
 * (an offset tracker over ordinals, acknowledged out of order), the
 * checkpoint's cursor entries (kept by the tailer's clear, written, loaded
 * and refused when bad), the budget's two watchers, and the configuration
 * of type: journald.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "conf.h"
#include "journal.h"
#include "journal_impl.h"
#include "labels.h"
#include "offtrack.h"
#include "queue.h"
#include "record.h"
#include "status_metrics.h"
#include "testutil.h"

static struct ls_conf *
load(const char *yaml, char *err, size_t errlen)
{
	struct ls_conf *c;
	FILE *f = fmemopen(err, errlen, "w");

	ck_assert_ptr_nonnull(f);
	memset(err, 0, errlen);
	c = ls_conf_load_string("t.yaml", yaml, f);
	fclose(f);
	return c;
}

#define TOP                                                                    \
	"state_dir: /tmp\n"                                                    \
	"destinations: [{ name: h, type: http, url: \"http://127.0.0.1:1/\" "  \
	"}]\n"

START_TEST(units_filter)
{
	char *units[] = { "app", "db*", "cron.timer" };
	char *excl[] = { "dbnoise.service" };
	struct ls_conf_source s;

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, NULL), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "x.service"), 1);
	s.units = units;
	s.nunits = 3;
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "app.service"), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "app"), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "apple.service"), 0);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "app.socket"), 0);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "db.service"), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "dbnoise.service"), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "cron.timer"), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "cron.service"), 0);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, NULL), 0);
	s.exclude_units = excl;
	s.nexclude_units = 1;
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "dbnoise.service"), 0);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "db.service"), 1);
	s.nunits = 0;
	ck_assert_int_eq(ls_journal_unit_wanted(&s, NULL), 1);
	ck_assert_int_eq(ls_journal_unit_wanted(&s, "dbnoise.service"), 0);
}
END_TEST

START_TEST(priority_mapping)
{
	static const char *const m = "plain words";
	char p[2] = "0";
	int i;

	for (i = 0; i < 8; i++) {
		p[0] = (char)('0' + i);
		ck_assert_int_eq(
		    ls_journal_severity(p, 1, m, strlen(m), LS_SEV_NOTICE), i);
	}
	/* PRIORITY 6 (the default): the line's own level wins. */
	ck_assert_int_eq(
	    ls_journal_severity("6", 1, "ERROR x", 7, LS_SEV_DEBUG),
	    LS_SEV_ERROR);
	ck_assert_int_eq(ls_journal_severity(
			     "6", 1, "{\"level\":\"warn\"}", 16, LS_SEV_DEBUG),
	    LS_SEV_WARNING);
	ck_assert_int_eq(
	    ls_journal_severity("6", 1, m, strlen(m), LS_SEV_DEBUG),
	    LS_SEV_INFO);
	/* Another PRIORITY wins over the line. */
	ck_assert_int_eq(ls_journal_severity("3", 1, "DEBUG x", 7, LS_SEV_INFO),
	    LS_SEV_ERROR);
	/* None, or not 0-7: the line, else the source's default. */
	ck_assert_int_eq(
	    ls_journal_severity(NULL, 0, m, strlen(m), LS_SEV_DEBUG),
	    LS_SEV_DEBUG);
	ck_assert_int_eq(
	    ls_journal_severity("9", 1, m, strlen(m), LS_SEV_NOTICE),
	    LS_SEV_NOTICE);
	ck_assert_int_eq(
	    ls_journal_severity("12", 2, "WARN x", 6, LS_SEV_NOTICE),
	    LS_SEV_WARNING);
}
END_TEST

START_TEST(service_and_attributes)
{
	const struct ls_labels *l;
	struct ls_buf b;
	char buf[64];

	ck_assert_str_eq(
	    ls_journal_service(buf, sizeof buf, "nginx.service", "ng"),
	    "nginx");
	ck_assert_str_eq(
	    ls_journal_service(buf, sizeof buf, "cron.timer", NULL),
	    "cron.timer");
	ck_assert_str_eq(
	    ls_journal_service(buf, sizeof buf, NULL, "kernel"), "kernel");
	ck_assert_ptr_null(ls_journal_service(buf, sizeof buf, NULL, NULL));
	ck_assert_ptr_null(ls_journal_service(buf, sizeof buf, "", ""));

	ls_buf_init(&b);
	ck_assert_int_eq(
	    ls_journal_extra(&b, "app", "app.service", "42", "h\"1", 1), 1);
	ck_assert_str_eq(b.data,
	    ",\"journald\":{\"SYSLOG_IDENTIFIER\":\"app\",\"_SYSTEMD_UNIT\":"
	    "\"app.service\",\"_PID\":\"42\",\"_HOSTNAME\":\"h\\\"1\"},"
	    "\"hostname\":\"h\\\"1\"");
	l = ls_labels_intern_extra("app", NULL, NULL, b.data, 1);
	ck_assert_int_eq(l->has_host, 1);
	ck_assert_str_eq(l->json,
	    ","
	    "\"service\":\"app\""
	    ",\"journald\":"
	    "{\"SYSLOG_IDENTIFIER\":\"app\",\"_SYSTEMD_UNIT\":"
	    "\"app.service\",\"_PID\":\"42\",\"_HOSTNAME\":"
	    "\"h\\\"1\"},\"hostname\":\"h\\\"1\"");
	/* Interned: the same fields, the same labels; others, others. */
	ck_assert_ptr_eq(
	    ls_labels_intern_extra("app", NULL, NULL, b.data, 1), l);
	ck_assert_ptr_ne(ls_labels_intern("app", NULL, NULL), l);
	ls_labels_unref(l);
	ls_labels_unref(l);
	ls_buf_reset(&b);
	/* The top-level hostname is set: _HOSTNAME only as an attribute. */
	ck_assert_int_eq(ls_journal_extra(&b, NULL, NULL, "7", "h", 0), 0);
	ck_assert_str_eq(
	    b.data, ",\"journald\":{\"_PID\":\"7\",\"_HOSTNAME\":\"h\"}");
	ls_buf_reset(&b);
	ck_assert_int_eq(ls_journal_extra(&b, NULL, NULL, NULL, NULL, 1), 0);
	ck_assert_uint_eq(b.len, 0);
	ls_buf_cleanup(&b);
}
END_TEST

START_TEST(cursor_seq)
{
	char sid[33];
	uint64_t seq = 0;

	ck_assert_int_eq(
	    ls_journal_cursor_seq("s=0123456789abcdef0123456789abcdef;i=1a2;"
				  "b=00;m=0;t=5;x=9",
		sid, &seq),
	    0);
	ck_assert_str_eq(sid, "0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(seq, 0x1a2);
	ck_assert_int_eq(ls_journal_cursor_seq("i=5;s=0123456789abcdef01234567"
					       "89abcdef",
			     sid, &seq),
	    0);
	ck_assert_uint_eq(seq, 5);
	ck_assert_int_eq(ls_journal_cursor_seq("s=0123;i=5", sid, &seq), -1);
	ck_assert_int_eq(ls_journal_cursor_seq(
			     "s=0123456789abcdef0123456789abcdef", sid, &seq),
	    -1);
	ck_assert_int_eq(ls_journal_cursor_seq("", sid, &seq), -1);
	ck_assert_int_eq(ls_journal_cursor_seq("s=0123456789abcdef0123456789"
					       "abcdef;i=zz",
			     sid, &seq),
	    -1);
}
END_TEST

static char *
cur(uint64_t ord)
{
	char *s;

	ck_assert_int_ne(asprintf(&s, "c%llu", (unsigned long long)ord), -1);
	return s;
}

/* The ring keeps what is outstanding, wraps, grows and shrinks. */
START_TEST(ring_grows_and_shrinks)
{
	struct ls_jring r;
	char want[32];
	uint64_t o;

	ls_jring_init(&r);
	ck_assert_ptr_null(ls_jring_get(&r, 1));
	for (o = 5; o < 5 + 1000; o++)
		ls_jring_put(&r, o, cur(o));
	ck_assert_str_eq(ls_jring_get(&r, 5), "c5");
	ck_assert_str_eq(ls_jring_get(&r, 1004), "c1004");
	ck_assert_ptr_null(ls_jring_get(&r, 4));
	ck_assert_ptr_null(ls_jring_get(&r, 1005));
	ls_jring_drop_below(&r, 990);
	ck_assert_ptr_null(ls_jring_get(&r, 989));
	ck_assert_str_eq(ls_jring_get(&r, 990), "c990");
	ck_assert_uint_le(r.cap, 128);
	for (o = 1005; o < 1200; o++)
		ls_jring_put(&r, o, cur(o));
	for (o = 990; o < 1200; o++) {
		snprintf(want, sizeof want, "c%llu", (unsigned long long)o);
		ck_assert_str_eq(ls_jring_get(&r, o), want);
	}
	ls_jring_drop_below(&r, 2000);
	ck_assert_uint_eq(r.n, 0);
	ls_jring_put(&r, 7, cur(7)); /* empty: any ordinal */
	ck_assert_str_eq(ls_jring_get(&r, 7), "c7");
	ls_jring_cleanup(&r);
}
END_TEST

START_TEST(ring_out_of_order_fatal)
{
	struct ls_jring r;

	ls_jring_init(&r);
	ls_jring_put(&r, 1, cur(1));
	ls_jring_put(&r, 3, cur(3));
}
END_TEST

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * The commit as journal.c makes it: entries numbered 1..N, a record per
 * entry but every fifth (filtered out: done at once), acknowledged in a
 * shuffled order; after each acknowledgement the committed ordinal's
 * cursor is the ring's, every entry up to it is done, and the ring holds
 * no cursor before it.
 */
START_TEST(commit_over_ordinals)
{
	enum { N = 5000 };
	struct ls_offtrack *t = ls_offtrack_new(0);
	struct ls_jring r;
	uint64_t *seqs = calloc(N + 1, sizeof *seqs), o, c, last = 0;
	char *done = calloc(N + 1, 1);
	size_t *order = calloc(N, sizeof *order), n = 0, i, k, tmp;

	ls_jring_init(&r);
	for (o = 1; o <= N; o++) {
		ls_jring_put(&r, o, cur(o));
		if (o % 5 == 0) {
			(void)ls_offtrack_done(t, ls_offtrack_add(t, o));
			done[o] = 1;
		} else {
			seqs[o] = ls_offtrack_add(t, o);
			order[n++] = o;
		}
	}
	for (i = n; i > 1; i--) {
		k = (size_t)(next_rand() % i);
		tmp = order[i - 1];
		order[i - 1] = order[k];
		order[k] = tmp;
	}
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ls_offtrack_done(t, seqs[order[i]]), 0);
		done[order[i]] = 1;
		c = ls_offtrack_committed(t);
		for (o = 1; o <= c; o++)
			if (!done[o])
				ck_abort_msg("%llu committed, %llu not done",
				    (unsigned long long)c,
				    (unsigned long long)o);
		if (c < N && done[c + 1] && c + 1 <= N)
			ck_abort_msg(
			    "%llu not committed", (unsigned long long)c + 1);
		if (c > last) {
			char *want = cur(c);

			ck_assert_str_eq(ls_jring_get(&r, c), want);
			free(want);
			ls_jring_drop_below(&r, c);
			ck_assert_ptr_null(ls_jring_get(&r, c - 1));
			last = c;
		}
	}
	ck_assert_uint_eq(ls_offtrack_committed(t), N);
	ck_assert_uint_eq(r.n, 1);
	ls_jring_cleanup(&r);
	ls_offtrack_free(t);
	free(seqs);
	free(done);
	free(order);
}
END_TEST

/*
 * Multiline entries and the commit (journal_record.c), driven by hand: a
 * reader made as journal.c makes one, over the first source of yaml,
 * without a journal; entries are fed as journal.c's entry() feeds them
 * (a cursor, the stream of a pid, a line), their records popped from the
 * queue and acknowledged in any order.
 */
struct mlx {
	struct ev_loop *loop;
	struct ls_conf *conf;
	struct ls_queue *q;
	struct ls_budget *b;
	struct ls_metrics *m;
	struct ls_journal *j;
	struct jsrc *r;
};

static void
mlx_init(struct mlx *x, const char *yaml)
{
	char err[4096];

	x->conf = load(yaml, err, sizeof err);
	ck_assert_msg(x->conf != NULL, "%s", err);
	x->loop = ev_loop_new(EVFLAG_AUTO);
	x->q = ls_queue_new(ls_record_unref_cb, NULL);
	x->b = ls_budget_new(1 << 26);
	x->m = ls_metrics_new(x->conf->ndests, x->conf->nsources);
	x->j = ls_journal_new(x->loop, x->conf, x->q, x->b, NULL, x->m);
	x->r = calloc(1, sizeof *x->r);
	x->r->origin.ops = &jr_origin_ops;
	x->r->j = x->j;
	x->r->src = &x->conf->sources[0];
	x->r->name = strdup("j");
	x->r->track = ls_offtrack_new(0);
	ls_jring_init(&x->r->cursors);
	ls_htab_init(&x->r->streams, 64);
	x->j->readers = x->r; /* for jr_ml_idle */
}

static void
mlx_free(struct mlx *x)
{
	struct stream *st;
	struct ls_record *rec;

	while ((rec = ls_queue_trypop(x->q, NULL)) != NULL)
		ls_record_unref(rec);
	while ((st = x->r->slist) != NULL) {
		x->r->slist = st->next;
		jr_free_stream(st);
	}
	ls_htab_cleanup(&x->r->streams);
	x->r->inflight = 0;
	jr_release_retired(x->r);
	ls_jring_cleanup(&x->r->cursors);
	free(x->r->spans);
	ls_offtrack_free(x->r->track);
	free(x->r->cursor);
	free(x->r->name);
	free(x->r);
	x->j->readers = NULL;
	ls_journal_free(x->j);
	ls_queue_free(x->q);
	ls_budget_free(x->b);
	ls_metrics_free(x->m);
	ls_conf_free(x->conf);
	ev_loop_destroy(x->loop);
}

/* Entry ord: line of process pid (as entry() reads it). */
static void
mlx_line(struct mlx *x, uint64_t ord, int pid, const char *line)
{
	struct stream *st;
	char p[16];

	snprintf(p, sizeof p, "%d", pid);
	ls_jring_put(&x->r->cursors, ord, cur(ord));
	st = jr_stream_of(x->r, "app", "app.service", p, NULL);
	st->last_ord = ord;
	jr_ml_line(x->r, st, line, strlen(line), LS_SEV_INFO, 0, ord);
}

/* Entry ord, not wanted (a unit filtered out, no MESSAGE). */
static void
mlx_skip(struct mlx *x, uint64_t ord)
{
	ls_jring_put(&x->r->cursors, ord, cur(ord));
	jr_skip(x->r, ord);
}

/* Every gathered entry idle: jr_ml_idle ships them. */
static void
mlx_idle(struct mlx *x)
{
	struct stream *st;

	for (st = x->r->slist; st != NULL; st = st->next)
		st->ml_ms -= 3600 * 1000;
	jr_ml_idle(x->j);
}

/* The records pushed, into v (up to max); how many. */
static size_t
mlx_pop(struct mlx *x, struct ls_record **v, size_t max)
{
	size_t n = 0;

	jr_flush_pending(x->j);
	while (n < max && (v[n] = ls_queue_trypop(x->q, NULL)) != NULL)
		n++;
	return n;
}

/* The committed ordinal, after jr_advance; its cursor checked. */
static uint64_t
mlx_commit(struct mlx *x)
{
	char *want;

	jr_advance(x->r);
	if (x->r->committed > 0) {
		want = cur(x->r->committed);
		ck_assert_str_eq(x->r->cursor, want);
		free(want);
	}
	return x->r->committed;
}

#define MLYAML                                                                 \
	TOP "sources:\n"                                                       \
	    "  - name: j\n"                                                    \
	    "    type: journald\n"                                             \
	    "    multiline: { start: '^S', flush: 1s }\n"                      \
	    "    log_processing_rules:\n"                                      \
	    "      - { type: exclude_at_match, name: d, pattern: DROP }\n"

/*
 * Issue 18's case: process A's trace (1, 3, 5) interleaved with process
 * B's single lines (2, 4, 6); A's entry shipped when its next one starts
 * (7), and by the idle flush (_i 0) or a reload's (_i 1, as a source
 * removed is too); B's records acknowledged, A's not (its destination is
 * down). The commit must stay before A's first line: committing 4 or 6
 * would resume after a crash past lines 1 and 3, lost.
 */
START_TEST(ml_interleaved_unacked)
{
	struct ls_record *v[16], *a[4];
	struct mlx x;
	size_t n, i, na = 0;

	mlx_init(&x, MLYAML);
	mlx_line(&x, 1, 1, "S a1");
	mlx_line(&x, 2, 2, "S b2");
	mlx_line(&x, 3, 1, " a3");
	mlx_line(&x, 4, 2, "S b4");
	mlx_line(&x, 5, 1, " a5");
	mlx_line(&x, 6, 2, "S b6");
	mlx_line(&x, 7, 1, "S a7");
	mlx_line(&x, 8, 2, "S b8");
	if (_i == 0)
		mlx_idle(&x);
	else
		jr_reset_streams(x.r);
	n = mlx_pop(&x, v, 16);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++)
		if (v[i]->msg[2] == 'b') {
			ls_origin_ack(v[i]);
			ls_record_unref(v[i]);
		} else
			a[na++] = v[i];
	ck_assert_uint_eq(na, 2);
	ck_assert_str_eq(a[0]->msg, "S a1\n a3\n a5");
	ck_assert_uint_eq(mlx_commit(&x), 0);
	/* A's first entry delivered: the commit goes up to its second's
	 * first line, not over it. */
	ls_origin_ack(a[0]);
	ls_record_unref(a[0]);
	ck_assert_uint_eq(mlx_commit(&x), 6);
	ls_origin_ack(a[1]);
	ls_record_unref(a[1]);
	ck_assert_uint_eq(mlx_commit(&x), 8);
	ck_assert_uint_eq(ls_offtrack_outstanding(x.r->track), 0);
	mlx_free(&x);
}
END_TEST

/*
 * A trace (1, 3, 5) delivered, a line of another process inside it (2)
 * not: the commit stops before the trace (0), not inside it (1 or 3),
 * which would read lines 3 and 5 again after a crash as an entry of
 * their own. The same for a trace a rule drops (7, 9 around 8): its
 * lines would be sent.
 */
START_TEST(ml_commit_whole_entries)
{
	struct ls_record *v[16], *b2 = NULL, *b8 = NULL;
	struct mlx x;
	size_t n, i;

	mlx_init(&x, MLYAML);
	mlx_line(&x, 1, 1, "S a1");
	mlx_line(&x, 2, 2, "S b2");
	mlx_line(&x, 3, 1, " a3");
	mlx_line(&x, 4, 2, "S b4");
	mlx_line(&x, 5, 1, " a5");
	mlx_line(&x, 6, 2, "S b6");
	mlx_line(&x, 7, 1, "S a7 DROP");
	mlx_line(&x, 8, 2, "S b8");
	mlx_line(&x, 9, 1, " a9");
	mlx_line(&x, 10, 2, "S b10");
	mlx_idle(&x);
	n = mlx_pop(&x, v, 16);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++)
		if (strcmp(v[i]->msg, "S b2") == 0)
			b2 = v[i];
		else if (strcmp(v[i]->msg, "S b8") == 0)
			b8 = v[i];
		else {
			ls_origin_ack(v[i]);
			ls_record_unref(v[i]);
		}
	ck_assert_ptr_nonnull(b2);
	ck_assert_ptr_nonnull(b8);
	ck_assert_uint_eq(mlx_commit(&x), 0);
	ls_origin_ack(b2);
	ls_record_unref(b2);
	ck_assert_uint_eq(mlx_commit(&x), 6);
	ls_origin_ack(b8);
	ls_record_unref(b8);
	ck_assert_uint_eq(mlx_commit(&x), 10);
	ck_assert_uint_eq(x.r->nspans, 0);
	mlx_free(&x);
}
END_TEST

/*
 * Two processes whose entries overlap with no gap (A's of 1 to 19, 21 to
 * 39..., B's of 12 to 30, 32 to 50...): no ordinal is outside every
 * entry, and the commit, delivered all the same, stays at most
 * CUT_LAG_MAX behind the tracker's, then reaches the end.
 */
START_TEST(ml_commit_overlap_bounded)
{
	enum { N = 3 * CUT_LAG_MAX };
	struct ls_record *v[256];
	struct mlx x;
	uint64_t ord, c, t, prev = 0;
	size_t n, i;
	char line[64];
	int a;

	mlx_init(&x, MLYAML);
	for (ord = 1; ord <= N; ord++) {
		a = ord % 2 == 1;
		snprintf(line, sizeof line, "%s %llu",
		    ord % 20 == (a ? 1 : 12) ? "S" : " ",
		    (unsigned long long)ord);
		mlx_line(&x, ord, a ? 1 : 2, line);
		if (ord % 100 != 0)
			continue;
		while ((n = mlx_pop(&x, v, 256)) > 0)
			for (i = 0; i < n; i++) {
				ls_origin_ack(v[i]);
				ls_record_unref(v[i]);
			}
		c = mlx_commit(&x);
		t = ls_offtrack_committed(x.r->track);
		ck_assert_uint_ge(c, prev);
		ck_assert_uint_le(t - c, CUT_LAG_MAX);
		prev = c;
	}
	ck_assert_uint_gt(prev, 0);
	mlx_idle(&x);
	while ((n = mlx_pop(&x, v, 256)) > 0)
		for (i = 0; i < n; i++) {
			ls_origin_ack(v[i]);
			ls_record_unref(v[i]);
		}
	ck_assert_uint_eq(mlx_commit(&x), N);
	ck_assert_uint_eq(x.r->nspans, 0);
	mlx_free(&x);
}
END_TEST

/*
 * The same at random: four processes' lines interleaved, starts and
 * continuations, entries dropped by a rule, entries filtered out; the
 * records acknowledged in a shuffled order, those of every third entry
 * (a destination in an outage) only at the end. After each round the
 * committed ordinal has every entry up to it done (its whole entry
 * delivered or dropped), so no record not acknowledged, nor any entry
 * being gathered, starts at or before it; and it is the last ordinal up
 * to the tracker's inside no entry (the first line of one at or before
 * it, a later line after it). At the end every ordinal is committed.
 */
START_TEST(ml_commit_random)
{
	enum { N = 6000, P = 4, MAXR = N };
	struct ls_record **held = calloc(MAXR, sizeof *held), *v[N];
	uint64_t *entry_of = calloc(N + 1, sizeof *entry_of);
	uint64_t *last_of = calloc(N + 1, sizeof *last_of);
	uint64_t open[P + 1] = { 0 }, ord, c, o, first, t, best, ml, prev = 0;
	char *done = calloc(N + 1, 1), *dropped = calloc(N + 1, 1);
	char line[64];
	struct mlx x;
	size_t nheld = 0, n, i, k;
	struct ls_record *tmp;
	int pid;

	mlx_init(&x, MLYAML);
	for (ord = 1; ord <= N; ord++) {
		pid = 1 + (int)(next_rand() % P);
		k = next_rand() % 100;
		if (k < 5) {
			mlx_skip(&x, ord);
			done[ord] = 1;
			continue;
		}
		if (k < 40 || open[pid] == 0) {
			/* A start: the entry before it ships (done if a rule
			 * dropped it). */
			if (open[pid] != 0 && dropped[open[pid]])
				for (o = open[pid]; o < ord; o++)
					if (entry_of[o] == open[pid])
						done[o] = 1;
			snprintf(line, sizeof line, "S %llu%s",
			    (unsigned long long)ord, k < 9 ? " DROP" : "");
			open[pid] = ord;
			dropped[ord] = k < 9;
		} else
			snprintf(line, sizeof line, " %llu",
			    (unsigned long long)ord);
		entry_of[ord] = open[pid];
		last_of[open[pid]] = ord;
		mlx_line(&x, ord, pid, line);
		if (ord % 40 != 0 && ord != N)
			continue;
		if (ord == N) { /* idle: every entry ships */
			mlx_idle(&x);
			for (pid = 1; pid <= P; pid++)
				if (open[pid] != 0 && dropped[open[pid]])
					for (o = open[pid]; o <= N; o++)
						if (entry_of[o] == open[pid])
							done[o] = 1;
		}
		n = mlx_pop(&x, v, N);
		for (i = 0; i < n; i++)
			held[nheld++] = v[i];
		/* A shuffled half of the records held, but those of every
		 * third entry, acknowledged (all of them at the end). */
		for (i = nheld; i > 1; i--) {
			k = (size_t)(next_rand() % i);
			tmp = held[i - 1];
			held[i - 1] = held[k];
			held[k] = tmp;
		}
		for (i = 0; i < nheld;) {
			first = strtoull(held[i]->msg + 2, NULL, 10);
			if (ord != N && (first % 3 == 0 || next_rand() % 2)) {
				i++;
				continue;
			}
			for (o = first; o <= N; o++)
				if (entry_of[o] == first)
					done[o] = 1;
			ls_origin_ack(held[i]);
			ls_record_unref(held[i]);
			held[i] = held[--nheld];
		}
		c = mlx_commit(&x);
		for (o = 1; o <= c; o++)
			if (!done[o])
				ck_abort_msg("ordinal %llu committed, %llu (of "
					     "the entry at %llu) not done",
				    (unsigned long long)c,
				    (unsigned long long)o,
				    (unsigned long long)entry_of[o]);
		t = ls_offtrack_committed(x.r->track);
		for (o = 1, best = 0, ml = 0; o <= t; o++) {
			if (last_of[o] > ml)
				ml = last_of[o];
			if (ml <= o)
				best = o;
		}
		ck_assert_uint_le(t - best, CUT_LAG_MAX);
		ck_assert_msg(c == (best > prev ? best : prev),
		    "ordinal %llu committed, want %llu (tracker %llu)",
		    (unsigned long long)c,
		    (unsigned long long)(best > prev ? best : prev),
		    (unsigned long long)t);
		prev = c;
		for (i = 0; i < nheld; i++) {
			first = strtoull(held[i]->msg + 2, NULL, 10);
			ck_assert_msg(c < first,
			    "ordinal %llu committed, past the first line of an "
			    "entry not acknowledged (%llu)",
			    (unsigned long long)c, (unsigned long long)first);
		}
	}
	ck_assert_uint_eq(nheld, 0);
	ck_assert_uint_eq(mlx_commit(&x), N);
	ck_assert_uint_eq(ls_offtrack_outstanding(x.r->track), 0);
	mlx_free(&x);
	free(held);
	free(entry_of);
	free(last_of);
	free(done);
	free(dropped);
}
END_TEST

/* Cursor entries: their owner's; the tailer's clear keeps them; written
 * with the files' and loaded back; a bad one is corruption. */
START_TEST(checkpoint_cursors)
{
	char dir[] = "/tmp/check_journal.XXXXXX", path[256];
	struct ls_ckpt_entry e = { "files", "/x.log", 1, 2, 0, 0, 77 };
	struct ls_ckpt *c;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c = ls_ckpt_new(dir);
	ls_ckpt_put(c, &e);
	ls_ckpt_set_cursor(c, "jd", "s=1;i=2");
	ls_ckpt_set_cursor(c, "sys", "s=3;i=4");
	ls_ckpt_set_cursor(c, "jd", "s=1;i=9");
	ck_assert_uint_eq(ls_ckpt_ncursors(c), 2);
	/* The tailer's generation: files cleared and put again. */
	ls_ckpt_clear(c);
	ls_ckpt_put(c, &e);
	ck_assert_str_eq(ls_ckpt_cursor(c, "jd"), "s=1;i=9");
	ck_assert_int_eq(ls_ckpt_write(c), 0);
	ls_ckpt_free(c);

	c = ls_ckpt_new(dir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ck_assert_uint_eq(ls_ckpt_count(c), 1);
	ck_assert_uint_eq(ls_ckpt_get(c, 0)->offset, 77);
	ck_assert_str_eq(ls_ckpt_cursor(c, "jd"), "s=1;i=9");
	ck_assert_str_eq(ls_ckpt_cursor(c, "sys"), "s=3;i=4");
	ck_assert_ptr_null(ls_ckpt_cursor(c, "none"));
	ls_ckpt_set_cursor(c, "sys", NULL);
	ck_assert_ptr_null(ls_ckpt_cursor(c, "sys"));
	ck_assert_uint_eq(ls_ckpt_ncursors(c), 1);
	ck_assert_str_eq(ls_ckpt_cursor_at(c, 0)->source, "jd");
	ls_ckpt_free(c);

	/* An empty cursor: corrupt; .prev does not exist: the load fails. */
	snprintf(path, sizeof path, "%s/checkpoint.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("{\"version\":1,\"files\":[],\"journals\":[{\"source\":\"jd\","
	      "\"cursor\":\"\"}]}\n",
	    f);
	fclose(f);
	snprintf(path, sizeof path, "%s/checkpoint.json.prev", dir);
	unlink(path);
	c = ls_ckpt_new(dir);
	ck_assert_int_eq(ls_ckpt_load(c), -1);
	ck_assert_uint_eq(ls_ckpt_ncursors(c), 0);
	ls_ckpt_free(c);
	/* No "journals": an older checkpoint, no cursor. */
	snprintf(path, sizeof path, "%s/checkpoint.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("{\"version\":1,\"files\":[]}\n", f);
	fclose(f);
	c = ls_ckpt_new(dir);
	ck_assert_int_eq(ls_ckpt_load(c), 0);
	ck_assert_uint_eq(ls_ckpt_ncursors(c), 0);
	ls_ckpt_free(c);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

static int woken[2];

static void
wake_cb(void *arg)
{
	(*(int *)arg)++;
}

/* Two readers (the tailer, the journal) watch one budget: a resume wakes
 * both; one that stops watching is not called again. */
START_TEST(budget_two_watchers)
{
	struct ls_budget *b;
	struct ls_record *r;

	/* A budget of one record: one makes it pause, its free resumes. */
	r = ls_record_new_labels(NULL, NULL, "x", 1, LS_SEV_INFO, 0, 0);
	b = ls_budget_new(ls_record_size(r));
	ls_record_unref(r);
	woken[0] = woken[1] = 0;
	ls_budget_watch(b, wake_cb, &woken[0]);
	ls_budget_watch(b, wake_cb, &woken[1]);
	r = ls_record_new_labels(NULL, b, "x", 1, LS_SEV_INFO, 0, 0);
	ck_assert_int_eq(ls_budget_should_pause(b), 1);
	ls_record_unref(r);
	ck_assert_int_eq(woken[0], 1);
	ck_assert_int_eq(woken[1], 1);
	ls_budget_watch(b, NULL, &woken[0]);
	r = ls_record_new_labels(NULL, b, "x", 1, LS_SEV_INFO, 0, 0);
	ck_assert_int_eq(ls_budget_should_pause(b), 1);
	ls_record_unref(r);
	ck_assert_int_eq(woken[0], 1);
	ck_assert_int_eq(woken[1], 2);
	ls_budget_watch(b, NULL, &woken[1]);
	ls_budget_free(b);
}
END_TEST

START_TEST(conf_journald)
{
	char err[4096];
	struct ls_conf *c;

	c = load(TOP "sources:\n"
		     "  - name: j\n"
		     "    type: journald\n"
		     "    units: [nginx, \"php*\"]\n"
		     "    exclude_units: [php-noise.service]\n"
		     "    matches: [\"_TRANSPORT=stdout\"]\n"
		     "    directory: /var/log/journal/x\n"
		     "    start_at: end\n"
		     "  - name: f\n"
		     "    paths: [/tmp/*.log]\n",
	    err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(c->sources[0].type, LS_SOURCE_JOURNALD);
	ck_assert_uint_eq(c->sources[0].nunits, 2);
	ck_assert_str_eq(c->sources[0].units[1], "php*");
	ck_assert_str_eq(c->sources[0].exclude_units[0], "php-noise.service");
	ck_assert_str_eq(c->sources[0].matches[0], "_TRANSPORT=stdout");
	ck_assert_str_eq(c->sources[0].directory, "/var/log/journal/x");
	ck_assert_int_eq(c->sources[0].start_at, LS_START_END);
	ck_assert_int_eq(c->sources[1].type, LS_SOURCE_FILE);
	ck_assert_int_eq(c->hostname_set, 0);
	ls_conf_free(c);

	c = load(TOP "hostname: h\nsources: [{ name: j, type: journald }]\n",
	    err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(c->hostname_set, 1);
	ck_assert_uint_eq(c->sources[0].nunits, 0);
	ls_conf_free(c);

	ck_assert_ptr_null(load(TOP "sources:\n"
				    "  - { name: j, type: journald, "
				    "paths: [/tmp/x.log] }\n",
	    err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err,
	    "sources[0].paths: a source of type: "
	    "journald reads no files"));
	ck_assert_ptr_null(load(TOP "sources:\n"
				    "  - { name: f, paths: [/tmp/x.log], "
				    "units: [a] }\n",
	    err, sizeof err));
	ck_assert_ptr_nonnull(strstr(
	    err, "sources[0].units: only a source of type: journald has it"));
	ck_assert_ptr_null(load(TOP "sources:\n"
				    "  - { name: j, type: journald, "
				    "matches: [\"lower=x\", \"=x\", \"A\"] }\n",
	    err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err,
	    "matches[0]: \"lower=x\" is not a "
	    "journal match"));
	ck_assert_ptr_nonnull(strstr(err, "matches[1]"));
	ck_assert_ptr_nonnull(strstr(err, "matches[2]"));
	ck_assert_ptr_null(load(TOP "sources:\n"
				    "  - { name: j, type: journald, "
				    "directory: rel/dir }\n",
	    err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "not an absolute path"));
	ck_assert_ptr_null(load(TOP "sources:\n"
				    "  - { name: j, type: syslog }\n",
	    err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "sources[0].type: bad value"));
	/* A file source still needs paths. */
	ck_assert_ptr_null(
	    load(TOP "sources:\n  - { name: f }\n", err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "paths"));
}
END_TEST

static Suite *
journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc;

	tc = tcase_create("pure");
	tcase_add_test(tc, units_filter);
	tcase_add_test(tc, priority_mapping);
	tcase_add_test(tc, service_and_attributes);
	tcase_add_test(tc, cursor_seq);
	suite_add_tcase(s, tc);

	tc = tcase_create("commit");
	tcase_add_test(tc, ring_grows_and_shrinks);
	tcase_add_exit_test(tc, ring_out_of_order_fatal, 1);
	tcase_add_test(tc, commit_over_ordinals);
	tcase_add_loop_test(tc, ml_interleaved_unacked, 0, 2);
	tcase_add_test(tc, ml_commit_whole_entries);
	tcase_add_test(tc, ml_commit_overlap_bounded);
	tcase_add_test(tc, ml_commit_random);
	tcase_add_test(tc, checkpoint_cursors);
	tcase_add_test(tc, budget_two_watchers);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_test(tc, conf_journald);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(journal_suite());
}
