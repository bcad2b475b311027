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

#include "buf.h"
#include "checkpoint.h"
#include "conf.h"
#include "journal.h"
#include "labels.h"
#include "offtrack.h"
#include "record.h"
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
