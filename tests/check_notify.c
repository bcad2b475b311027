/*
 * check_notify: the hand-written notify sender against sockets the test
 * binds (a path and an abstract name), the WATCHDOG_USEC/WATCHDOG_PID
 * decision, and the timers: READY=1 at start, WATCHDOG=1 only while the
 * pulse moves.
 *
 * The timer tests run the loop one event at a time and count watchdog
 * ticks through the pulse callback, so no test waits for time to pass in
 * the hope that something happened. Each test runs in its own process
 * (Check's fork mode), so setenv() does not leak between them.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "notify.h"
#include "testutil.h"

/* A bound datagram socket standing in for systemd's. */
struct sink {
	int fd;
	char name[108]; /* as NOTIFY_SOCKET spells it */
	char dir[100]; /* the path socket's, or "" */
};

static void
sink_open(struct sink *k, int abstract)
{
	struct sockaddr_un sun;
	socklen_t len;
	const char *tmp = getenv("TMPDIR");

	memset(k, 0, sizeof *k);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	k->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(k->fd, 0);
	if (abstract) {
		snprintf(k->name, sizeof k->name, "@logshipd-check-notify/%ld",
		    (long)getpid());
		memcpy(sun.sun_path + 1, k->name + 1, strlen(k->name) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
		    + strlen(k->name));
	} else {
		/* In the build tree's TMPDIR if that is short enough:
		 * sun_path holds 108 bytes only. */
		if (tmp == NULL || strlen(tmp) > 60)
			tmp = "/tmp";
		snprintf(k->dir, sizeof k->dir, "%s/ls-notify.XXXXXX", tmp);
		ck_assert_ptr_nonnull(mkdtemp(k->dir));
		snprintf(k->name, sizeof k->name, "%s/notify", k->dir);
		memcpy(sun.sun_path, k->name, strlen(k->name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
		    + strlen(k->name) + 1);
	}
	ck_assert_int_eq(bind(k->fd, (struct sockaddr *)&sun, len), 0);
}

static void
sink_close(struct sink *k)
{
	close(k->fd);
	if (k->dir[0] != '\0') {
		unlink(k->name);
		rmdir(k->dir);
	}
}

/* The next datagram, waiting at most ms: its length, or -1 if none. */
static ssize_t
sink_recv(struct sink *k, char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recv(k->fd, buf, size - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return n;
}

static void
expect(struct sink *k, const char *want)
{
	char buf[512];

	ck_assert_int_ge(sink_recv(k, buf, sizeof buf, 10000), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(datagram_path)
{
	struct sink k;

	sink_open(&k, 0);
	ck_assert_int_eq(ls_notify_datagram(k.name, "READY=1"), 0);
	expect(&k, "READY=1");
	ck_assert_int_eq(
	    ls_notify_datagram(k.name, "STATUS=two\nWATCHDOG=1"), 0);
	expect(&k, "STATUS=two\nWATCHDOG=1");
	sink_close(&k);
}
END_TEST

START_TEST(datagram_abstract)
{
	struct sink k;

	sink_open(&k, 1);
	ck_assert_int_eq(ls_notify_datagram(k.name, "STOPPING=1"), 0);
	expect(&k, "STOPPING=1");
	sink_close(&k);
}
END_TEST

START_TEST(datagram_errors)
{
	char longname[200];

	/* Not a path nor an abstract name. */
	errno = 0;
	ck_assert_int_eq(ls_notify_datagram("relative/sock", "READY=1"), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	/* Longer than sun_path. */
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	ck_assert_int_eq(ls_notify_datagram(longname, "READY=1"), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Nobody listening. */
	ck_assert_int_eq(
	    ls_notify_datagram("/nonexistent/logshipd/notify", "READY=1"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(send_env)
{
	struct sink k;

	/* Without NOTIFY_SOCKET: nothing to do, not an error. */
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(ls_notify_send("READY=1"), 0);
	ck_assert_int_eq(ls_notify_ready(), 0);

	sink_open(&k, _i);
	setenv("NOTIFY_SOCKET", k.name, 1);
	ck_assert_int_eq(ls_notify_ready(), 1);
	expect(&k, "READY=1");
	ck_assert_int_eq(ls_notify_stopping(), 1);
	expect(&k, "STOPPING=1");
	ck_assert_int_eq(ls_notify_sendf("STATUS=read %d", 42), 1);
	expect(&k, "STATUS=read 42");
	sink_close(&k);
}
END_TEST

START_TEST(send_reloading)
{
	struct sink k;
	char buf[256];
	unsigned long long usec;

	sink_open(&k, 0);
	setenv("NOTIFY_SOCKET", k.name, 1);
	ck_assert_int_eq(ls_notify_reloading(), 1);
	ck_assert_int_ge(sink_recv(&k, buf, sizeof buf, 10000), 0);
	ck_assert_int_eq(
	    sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	ck_assert(usec > 0);
	sink_close(&k);
}
END_TEST

START_TEST(watchdog_env)
{
	uint64_t u = 7;

	ck_assert_int_eq(ls_notify_watchdog_parse(NULL, NULL, 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("", NULL, 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("0", NULL, 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("-5", NULL, 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("12x", NULL, 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("400000", "11", 10, &u), 0);
	ck_assert_int_eq(ls_notify_watchdog_parse("400000", "x", 10, &u), 0);
	ck_assert_uint_eq(u, 7);
	ck_assert_int_eq(ls_notify_watchdog_parse("400000", NULL, 10, &u), 1);
	ck_assert_uint_eq(u, 400000);
	ck_assert_int_eq(ls_notify_watchdog_parse("30000000", "10", 10, &u), 1);
	ck_assert_uint_eq(u, 30000000);
}
END_TEST

/* The same decisions through the environment (libsystemd's, if built). */
START_TEST(watchdog_usec_env)
{
	char pid[32];
	uint64_t u = 0;

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(ls_notify_watchdog_usec(&u), 0);
	setenv("WATCHDOG_USEC", "400000", 1);
	ck_assert_int_eq(ls_notify_watchdog_usec(&u), 1);
	ck_assert_uint_eq(u, 400000);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	u = 0;
	ck_assert_int_eq(ls_notify_watchdog_usec(&u), 1);
	ck_assert_uint_eq(u, 400000);
	snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(ls_notify_watchdog_usec(&u), 0);
}
END_TEST

/* The daemon the timers ask: a pulse the test controls. */
struct fake {
	int ticks; /* pulse_cb calls: watchdog ticks */
	uint64_t done, waiting;
	int broken;
	int statuses;
};

static void
fake_status_cb(struct ls_buf *out, void *arg)
{
	struct fake *f = arg;

	ls_buf_printf(out, "read %d", f->statuses++);
}

static int
fake_pulse_cb(uint64_t *done, uint64_t *waiting, void *arg)
{
	struct fake *f = arg;

	f->ticks++;
	*done = f->done;
	*waiting = f->waiting;
	return f->broken ? -1 : 0;
}

static const struct ls_notify_ops fake_ops = {
	.status_cb = fake_status_cb,
	.pulse_cb = fake_pulse_cb,
};

/* Runs the loop until the watchdog has ticked n more times. */
static void
run_ticks(struct ev_loop *loop, struct fake *f, int n)
{
	int want = f->ticks + n;

	while (f->ticks < want)
		ev_run(loop, EVRUN_ONCE);
}

/* Counts the WATCHDOG=1 datagrams queued on the sink; drops the rest. */
static int
count_watchdogs(struct sink *k)
{
	char buf[512];
	int n = 0;

	while (sink_recv(k, buf, sizeof buf, 0) >= 0)
		if (strcmp(buf, "WATCHDOG=1") == 0)
			n++;
	return n;
}

struct timers {
	struct sink k;
	struct fake f;
	struct ev_loop *loop;
	struct ls_notify *n;
};

static void
timers_start(struct timers *t)
{
	memset(&t->f, 0, sizeof t->f);
	sink_open(&t->k, 1);
	setenv("NOTIFY_SOCKET", t->k.name, 1);
	/* A tick every 20 ms. */
	setenv("WATCHDOG_USEC", "40000", 1);
	unsetenv("WATCHDOG_PID");
	t->loop = ev_loop_new(EVFLAG_AUTO);
	t->n = ls_notify_new(t->loop, &fake_ops, &t->f);
	ls_notify_start(t->n);
	expect(&t->k, "READY=1");
	expect(&t->k, "STATUS=read 0");
}

static void
timers_end(struct timers *t)
{
	ls_notify_free(t->n);
	ev_loop_destroy(t->loop);
	sink_close(&t->k);
}

START_TEST(timers_ready_and_watchdog)
{
	struct timers t;

	timers_start(&t);
	/* Idle: nothing waits, nothing is done; healthy. */
	run_ticks(t.loop, &t.f, 3);
	ck_assert_int_eq(count_watchdogs(&t.k), 3);
	/* Busy and moving: healthy. */
	t.f.waiting = 10;
	run_ticks(t.loop, &t.f, 1);
	t.f.done += 5;
	run_ticks(t.loop, &t.f, 1);
	ck_assert_int_eq(count_watchdogs(&t.k), 2);
	timers_end(&t);
}
END_TEST

START_TEST(timers_stall_withholds)
{
	struct timers t;

	timers_start(&t);
	t.f.waiting = 10;
	run_ticks(t.loop, &t.f, 1); /* work arrived: not yet a stall */
	ck_assert_int_eq(count_watchdogs(&t.k), 1);
	run_ticks(t.loop, &t.f, 4); /* waited, nothing done: stalled */
	ck_assert_int_eq(count_watchdogs(&t.k), 0);
	t.f.done++; /* it moves again */
	run_ticks(t.loop, &t.f, 1);
	ck_assert_int_eq(count_watchdogs(&t.k), 1);
	/* A pulse that says it is broken withholds too. */
	t.f.broken = 1;
	run_ticks(t.loop, &t.f, 2);
	ck_assert_int_eq(count_watchdogs(&t.k), 0);
	timers_end(&t);
}
END_TEST

START_TEST(timers_without_socket)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fake f;
	struct ls_notify *n;

	memset(&f, 0, sizeof f);
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "40000", 1);
	n = ls_notify_new(loop, &fake_ops, &f);
	ls_notify_start(n);
	/* No timer runs: the loop has nothing to wait for. */
	ck_assert_int_eq(ev_run(loop, 0), 0);
	ck_assert_int_eq(f.ticks, 0);
	ck_assert_int_eq(f.statuses, 0);
	ls_notify_free(n);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc;

	tc = tcase_create("datagram");
	tcase_add_test(tc, datagram_path);
	tcase_add_test(tc, datagram_abstract);
	tcase_add_test(tc, datagram_errors);
	tcase_add_loop_test(tc, send_env, 0, 2);
	tcase_add_test(tc, send_reloading);
	suite_add_tcase(s, tc);

	tc = tcase_create("watchdog");
	tcase_add_test(tc, watchdog_env);
	tcase_add_test(tc, watchdog_usec_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("timers");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, timers_ready_and_watchdog);
	tcase_add_test(tc, timers_stall_withholds);
	tcase_add_test(tc, timers_without_socket);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(notify_suite());
}
