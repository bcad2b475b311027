/*
 * check_log: line format, escaping, and the rate limiting of repeated
 * warnings.
 *
 * The log writes to a pipe the test reads back, and the rate limiter runs
 * on a clock the test sets, so a window ends when the test says so, not
 * when enough time has passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "testutil.h"

static int pipefd[2];
static int64_t fake_now;

static int64_t
fake_clock(void)
{
	return fake_now;
}

/* Logs to a pipe, in the foreground, on the fake clock. */
static void
setup(void)
{
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK | O_CLOEXEC), 0);
	/* Room for the stress test's lines without a reader. */
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20);
	log_init(1, LOG_DAEMON);
	log_setfd(pipefd[1]);
	log_setname("");
	fake_now = 1000000;
	log_setclock(fake_clock);
	log_setratelimit(LOG_RATELIMIT_BURST, LOG_RATELIMIT_WINDOW_MS);
}

static void
teardown(void)
{
	log_setfd(STDERR_FILENO);
	log_setclock(NULL);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* Everything logged since the last call. */
static char *
drain(void)
{
	static char buf[1 << 20];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof buf - 1
	    && (n = read(pipefd[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* One call site, as a real caller would have it. */
static void
failing_send(int i)
{
	log_warnx("send failed: attempt %d", i);
}

START_TEST(line_format)
{
	errno = ENOENT;
	log_warn("open %s", "/x");
	log_setname("router");
	log_notice("started");
	ck_assert_str_eq(
	    drain(), "open /x: No such file or directory\nrouter: started\n");
}
END_TEST

START_TEST(journal_prefix)
{
	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_init(0, LOG_DAEMON);
	log_warnx("bad");
	log_notice("fine");
	ck_assert_str_eq(drain(), "<3>bad\n<5>fine\n");
}
END_TEST

/* A file name with newlines cannot forge a line: one line comes out, the
 * newlines written \n. */
START_TEST(escape_newlines)
{
	log_warnx("cannot open %s", "x\nFAKE injected: line\n.log");
	log_notice("tab\there, cr\r, nul-free, del\x7f");
	ck_assert_str_eq(drain(),
	    "cannot open x\\nFAKE injected: line\\n.log\n"
	    "tab\\there, cr\\r, nul-free, del\\u007f\n");
}
END_TEST

/* ANSI escapes and other controls become \u00XX; quotes and backslashes,
 * and valid UTF-8, stay as they are. */
START_TEST(escape_controls)
{
	log_warnx("file \"%s\" in C:\\logs, caf\xc3\xa9 \xe2\x9c\x93",
	    "\x1b[31mred\x1b[0m\x07");
	ck_assert_str_eq(drain(),
	    "file \"\\u001b[31mred\\u001b[0m\\u0007\" in C:\\logs, "
	    "caf\xc3\xa9 \xe2\x9c\x93\n");
}
END_TEST

/* Invalid UTF-8 (a stray continuation byte, a cut sequence, an overlong,
 * a surrogate) becomes U+FFFD, one per byte. */
START_TEST(escape_invalid_utf8)
{
	log_warnx("a\x80"
		  "b\xe2\x9c"
		  "c\xc0\xaf"
		  "d\xed\xa0\x80"
		  "e");
	ck_assert_str_eq(drain(),
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd"
	    "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "e\n");
}
END_TEST

/* The errno text and the thread name are escaped too. */
START_TEST(escape_name_and_suffix)
{
	log_setname("w\n1");
	errno = EACCES;
	log_warn("open %s", "a\nb");
	ck_assert_str_eq(drain(), "w\\n1: open a\\nb: Permission denied\n");
}
END_TEST

/* A line that escapes past the buffer is cut on a character boundary:
 * never half an escape or half a UTF-8 sequence, always one line. */
START_TEST(escape_long_line)
{
	static char big[3000];
	char *out;
	size_t i, len;

	for (i = 0; i + 1 < sizeof big; i += 2)
		memcpy(big + i, i % 4 == 0 ? "\xc3\xa9" : "\n\n", 2);
	big[sizeof big - 1] = '\0';
	log_notice("%s", big);
	out = drain();
	len = strlen(out);
	ck_assert_uint_gt(len, 1000);
	ck_assert_int_eq(count(out, "\n"), 1);
	ck_assert_int_eq(out[len - 1], '\n');
	/* The last character before the newline is whole. */
	ck_assert(out[len - 2] == 'n' || (unsigned char)out[len - 2] == 0xa9);
}
END_TEST

START_TEST(burst_passes)
{
	int i;

	for (i = 0; i < LOG_RATELIMIT_BURST; i++)
		failing_send(i);
	ck_assert_int_eq(count(drain(), "send failed"), LOG_RATELIMIT_BURST);
}
END_TEST

START_TEST(flood_suppressed_then_summarised)
{
	const char *out;
	int i;

	for (i = 0; i < 100; i++)
		failing_send(i);
	out = drain();
	ck_assert_int_eq(count(out, "send failed"), LOG_RATELIMIT_BURST);
	ck_assert_int_eq(count(out, "suppressed"), 0);
	/* Within the window, other lines pass and report nothing yet. */
	fake_now += LOG_RATELIMIT_WINDOW_MS - 1;
	log_notice("still here");
	ck_assert_str_eq(drain(), "still here\n");
	/* The window is over: the next line, from any site, is preceded by
	 * the summary, which shows the last line suppressed. */
	fake_now += 1;
	log_notice("later");
	ck_assert_str_eq(drain(),
	    "send failed: attempt 99 (95 similar messages suppressed)\n"
	    "later\n");
	/* A new window: the site gets its burst again. */
	for (i = 0; i < LOG_RATELIMIT_BURST + 1; i++)
		failing_send(i);
	out = drain();
	ck_assert_int_eq(count(out, "send failed"), LOG_RATELIMIT_BURST);
	log_flush();
	ck_assert_str_eq(
	    drain(), "send failed: attempt 5 (1 similar message suppressed)\n");
}
END_TEST

START_TEST(summary_before_same_site)
{
	int i;

	for (i = 0; i < LOG_RATELIMIT_BURST + 3; i++)
		failing_send(i);
	(void)drain();
	fake_now += LOG_RATELIMIT_WINDOW_MS;
	failing_send(1000);
	ck_assert_str_eq(drain(),
	    "send failed: attempt 7 (3 similar messages suppressed)\n"
	    "send failed: attempt 1000\n");
}
END_TEST

START_TEST(sites_counted_apart)
{
	const char *out;
	int i;

	for (i = 0; i < 20; i++) {
		failing_send(i);
		log_warnx("other site %d", i);
	}
	out = drain();
	ck_assert_int_eq(count(out, "send failed"), LOG_RATELIMIT_BURST);
	ck_assert_int_eq(count(out, "other site"), LOG_RATELIMIT_BURST);
	log_flush();
	out = drain();
	ck_assert_int_eq(count(out, "(15 similar messages suppressed)"), 2);
}
END_TEST

START_TEST(notices_never_suppressed)
{
	int i;

	for (i = 0; i < 50; i++)
		log_notice("notice %d", i);
	ck_assert_int_eq(count(drain(), "notice"), 50);
}
END_TEST

START_TEST(thread_name_kept)
{
	int i;

	log_setname("worker/dd/1");
	for (i = 0; i < LOG_RATELIMIT_BURST + 2; i++)
		failing_send(i);
	(void)drain();
	log_setname("main");
	log_flush();
	ck_assert_str_eq(drain(),
	    "worker/dd/1: send failed: attempt 6 (2 similar messages "
	    "suppressed)\n");
}
END_TEST

START_TEST(disabled)
{
	int i;

	log_setratelimit(0, LOG_RATELIMIT_WINDOW_MS);
	for (i = 0; i < 50; i++)
		failing_send(i);
	ck_assert_int_eq(count(drain(), "send failed"), 50);
}
END_TEST

START_TEST(many_sites)
{
	/* More sites than the table holds: still bounded, nothing lost but
	 * what was suppressed, and every suppressed line summarised. */
	static char fmts[200][32];
	const char *out;
	int i, j, shown, summarised;

	for (i = 0; i < 200; i++)
		snprintf(fmts[i], sizeof fmts[i], "site %03d %%d", i);
	for (j = 0; j < 10; j++)
		for (i = 0; i < 200; i++)
			log_warnx(fmts[i], j);
	log_flush();
	out = drain();
	shown = 0;
	summarised = 0;
	for (i = 0; i < 200; i++) {
		char want[32];
		const char *p;
		int n;

		snprintf(want, sizeof want, "site %03d ", i);
		p = out;
		while ((p = strstr(p, want)) != NULL) {
			p += strlen(want);
			while (*p >= '0' && *p <= '9')
				p++;
			if (sscanf(p, " (%d similar", &n) == 1)
				summarised += n;
			else
				shown++;
		}
	}
	ck_assert_int_eq(shown + summarised, 2000);
}
END_TEST

#define THREADS 8
#define PER_THREAD 2000

static void *
flood_main(void *arg)
{
	int i;

	for (i = 0; i < PER_THREAD; i++)
		failing_send(i);
	return NULL;
}

START_TEST(threads_flood)
{
	pthread_t t[THREADS];
	const char *out, *p;
	int i, n, suppressed = 0;

	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, flood_main, NULL), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	log_flush();
	out = drain();
	ck_assert_int_eq(count(out, "\n"), LOG_RATELIMIT_BURST + 1);
	ck_assert_ptr_nonnull(p = strstr(out, " ("));
	ck_assert_int_eq(sscanf(p, " (%d similar", &n), 1);
	suppressed += n;
	ck_assert_int_eq(
	    suppressed, THREADS * PER_THREAD - LOG_RATELIMIT_BURST);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, line_format);
	tcase_add_test(tc, journal_prefix);
	tcase_add_test(tc, escape_newlines);
	tcase_add_test(tc, escape_controls);
	tcase_add_test(tc, escape_invalid_utf8);
	tcase_add_test(tc, escape_name_and_suffix);
	tcase_add_test(tc, escape_long_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("ratelimit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, burst_passes);
	tcase_add_test(tc, flood_suppressed_then_summarised);
	tcase_add_test(tc, summary_before_same_site);
	tcase_add_test(tc, sites_counted_apart);
	tcase_add_test(tc, notices_never_suppressed);
	tcase_add_test(tc, thread_name_kept);
	tcase_add_test(tc, disabled);
	tcase_add_test(tc, many_sites);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, threads_flood);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(log_suite());
}
