/*
 * Tests of thread: a thread started by ls_thread_start has every signal
 * blocked whatever its creator's mask, the creator's mask is left as it
 * was, the thread carries its name (the kernel's, shortened to 15 bytes,
 * and the log's tag), and a failure of pthread_create comes back as its
 * errno value with nothing started.
 */
#include "config.h"

#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "thread.h"
#include "testutil.h"

/* What a started thread saw of itself. */
struct seen {
	sigset_t mask;
	char sigblk[32]; /* its SigBlk line in /proc */
	char name[LS_THREAD_NAME_MAX];
	atomic_int go; /* the test lets it end */
};

static void *
look_main(void *arg)
{
	struct seen *s = arg;
	char path[64], line[256];
	FILE *f;

	pthread_sigmask(SIG_SETMASK, NULL, &s->mask);
	snprintf(path, sizeof path, "/proc/self/task/%ld/status",
	    (long)syscall(SYS_gettid));
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, "SigBlk: %31s", s->sigblk) == 1)
				break;
		fclose(f);
	}
	while (!atomic_load(&s->go))
		sched_yield();
	return NULL;
}

/* The signals a process can block: glibc keeps its two internal ones
 * (32, 33) for itself, so they are not asked for. */
static void
assert_all_blocked(const sigset_t *m)
{
	int sig;

	for (sig = 1; sig < 32; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ck_assert_msg(
		    sigismember(m, sig), "signal %d not blocked", sig);
	}
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		ck_assert_msg(
		    sigismember(m, sig), "signal %d not blocked", sig);
}

/* Starts look_main under caller mask cm; returns what the thread saw, and
 * checks the caller's mask is cm again. */
static void
start_and_look(const sigset_t *cm, struct seen *s, const char *name)
{
	sigset_t after;
	pthread_t t;
	int sig;

	memset(s, 0, sizeof *s);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, cm, NULL), 0);
	ck_assert_int_eq(ls_thread_start(&t, name, look_main, s), 0);
	/* The name is there as soon as ls_thread_start returns. */
	ck_assert_int_eq(pthread_getname_np(t, s->name, sizeof s->name), 0);
	atomic_store(&s->go, 1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	for (sig = 1; sig < 32; sig++)
		ck_assert_int_eq(
		    sigismember(&after, sig), sigismember(cm, sig));
}

START_TEST(mask_full_from_empty_caller)
{
	struct seen s;
	sigset_t none;

	sigemptyset(&none);
	start_and_look(&none, &s, "router");
	assert_all_blocked(&s.mask);
	/* And as the kernel sees it: SIGHUP (1), SIGINT (2), SIGUSR1 (10),
	 * SIGTERM (15) are bits 0, 1, 9 and 14 of SigBlk. */
	ck_assert_msg(strlen(s.sigblk) == 16, "SigBlk: %s", s.sigblk);
	ck_assert_msg((strtoull(s.sigblk, NULL, 16) & 0x4203) == 0x4203,
	    "SigBlk: %s", s.sigblk);
}
END_TEST

START_TEST(mask_full_from_partial_caller)
{
	struct seen s;
	sigset_t some;

	sigemptyset(&some);
	sigaddset(&some, SIGUSR2);
	sigaddset(&some, SIGHUP);
	start_and_look(&some, &s, "batch/dd");
	assert_all_blocked(&s.mask);
}
END_TEST

START_TEST(name_set)
{
	struct seen s;
	sigset_t none;

	sigemptyset(&none);
	start_and_look(&none, &s, "router");
	ck_assert_str_eq(s.name, "router");
	start_and_look(&none, &s, "send/dd/3");
	ck_assert_str_eq(s.name, "send/dd/3");
	start_and_look(&none, &s, "send/datadog-eu-prod/12");
	ck_assert_str_eq(s.name, "send/datadog/12");
}
END_TEST

static void *
log_main(void *arg)
{
	log_notice("hello");
	return arg;
}

/* The thread's log lines carry its full name, not the short one. */
START_TEST(name_in_log)
{
	char buf[256];
	pthread_t t;
	ssize_t n;
	int fds[2];

	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	log_init(1, LOG_DAEMON);
	log_setfd(fds[1]);
	ck_assert_int_eq(
	    ls_thread_start(&t, "send/datadog-eu-prod/12", log_main, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	log_setfd(STDERR_FILENO);
	n = read(fds[0], buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "send/datadog-eu-prod/12: hello\n");
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(shortname_cases)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "http", "http" },
		{ "router", "router" },
		{ "ckpt", "ckpt" },
		{ "send/dd/0", "send/dd/0" },
		{ "batch/dd-eu-1234", "batch/dd-eu-123" }, /* one '/': front */
		{ "send/datadog-eu-prod/12", "send/datadog/12" },
		{ "send/x/123456789012", "send/x/12345678" }, /* no middle */
		{ "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmno" },
		{ "", "" },
	};
	char out[LS_THREAD_NAME_MAX];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ls_thread_shortname(out, cases[i].in);
		ck_assert_str_eq(out, cases[i].out);
		ck_assert_uint_le(strlen(out), 15);
	}
}
END_TEST

static void *
never_main(void *arg)
{
	ck_abort_msg("a thread that could not be created ran");
	return arg;
}

/*
 * pthread_create fails (EAGAIN) when the default stack, asked for by
 * every thread started without attributes, cannot be mapped: one of a
 * petabyte, past any address space.
 */
START_TEST(error_propagates)
{
	pthread_attr_t big, saved;
	sigset_t none, after;
	pthread_t t;
	int r;

	ck_assert_int_eq(pthread_getattr_default_np(&saved), 0);
	ck_assert_int_eq(pthread_attr_init(&big), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&big, (size_t)1 << 50), 0);
	ck_assert_int_eq(pthread_setattr_default_np(&big), 0);
	sigemptyset(&none);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
	r = ls_thread_start(&t, "send/dd/0", never_main, NULL);
	ck_assert_int_eq(pthread_setattr_default_np(&saved), 0);
	ck_assert_int_eq(r, EAGAIN);
	/* The caller's mask is its own again on the failure path too. */
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	ck_assert(!sigismember(&after, SIGTERM));
	ck_assert(!sigismember(&after, SIGHUP));
	pthread_attr_destroy(&big);
	pthread_attr_destroy(&saved);
}
END_TEST

static Suite *
thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *tc;

	tc = tcase_create("mask");
	tcase_add_test(tc, mask_full_from_empty_caller);
	tcase_add_test(tc, mask_full_from_partial_caller);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	tc = tcase_create("name");
	tcase_add_test(tc, name_set);
	tcase_add_test(tc, name_in_log);
	tcase_add_test(tc, shortname_cases);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	tc = tcase_create("error");
	tcase_add_test(tc, error_propagates);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(thread_suite());
}
