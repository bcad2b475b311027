/*
 * notify: see notify.h. The datagram sender follows the protocol section
 * of sd_notify(3); the watchdog follows sd_watchdog_enabled(3).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "ctx.h"
#include "log.h"
#include "notify.h"
#include "xmalloc.h"

/* STATUS= is one line of `systemctl status`: keep it short. */
#define STATUS_MAX 400

struct ls_notify {
	struct ev_loop *loop;
	const struct ls_notify_ops *ops;
	void *arg;
	ev_timer status_w;
	ev_timer watchdog_w;
	uint64_t watchdog_usec;
	/* The pulse at the last watchdog tick. */
	int have_pulse;
	uint64_t done, waiting;
	int stalled; /* logged once per change */
};

int
ls_notify_datagram(const char *path, const char *state)
{
	struct sockaddr_un sun;
	struct iovec iov;
	struct msghdr mh;
	socklen_t salen;
	size_t plen = strlen(path), len = strlen(state);
	ssize_t n;
	int fd, saved;

	if (path[0] != '/' && path[0] != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (plen < 2 || plen >= sizeof sun.sun_path) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	/* An abstract name starts with a NUL and has no terminating one;
	 * a path is given with its NUL, as sd_notify does. */
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
		    + plen);
	} else
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
		    + plen + 1);

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	iov.iov_base = (void *)state;
	iov.iov_len = len;
	memset(&mh, 0, sizeof mh);
	mh.msg_name = &sun;
	mh.msg_namelen = salen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	/* The receiver learns our pid from the credentials the kernel
	 * attaches (it sets SO_PASSCRED): none need to be sent. */
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ls_notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	int r;

	if (path == NULL || *path == '\0')
		return 0;
#ifdef HAVE_LIBSYSTEMD
	if ((r = sd_notify(0, state)) < 0)
		errno = -r;
	r = r < 0 ? -1 : r > 0;
#else
	r = ls_notify_datagram(path, state) == 0 ? 1 : -1;
#endif
	/* The socket name is not a secret; what was sent is never logged. */
	if (r == -1)
		log_warn("notify: cannot send to %s", path);
	return r;
}

int
ls_notify_sendf(const char *fmt, ...)
{
	char state[STATUS_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(state, sizeof state, fmt, ap);
	va_end(ap);
	return ls_notify_send(state);
}

int
ls_notify_ready(void)
{
	return ls_notify_send("READY=1");
}

int
ls_notify_reloading(void)
{
	/* Type=notify-reload wants the time of the reload with it. */
	return ls_notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)(ls_now_ns() / 1000));
}

int
ls_notify_stopping(void)
{
	return ls_notify_send("STOPPING=1");
}

int
ls_notify_watchdog_parse(
    const char *usec_s, const char *pid_s, long self, uint64_t *usec)
{
	unsigned long long u;
	long pid;
	char *end;

	if (usec_s == NULL || *usec_s < '0' || *usec_s > '9')
		return 0;
	errno = 0;
	u = strtoull(usec_s, &end, 10);
	if (errno != 0 || *end != '\0' || u == 0)
		return 0;
	/* Unset, the watchdog is ours; set, only if it names us. */
	if (pid_s != NULL) {
		if (*pid_s < '0' || *pid_s > '9')
			return 0;
		errno = 0;
		pid = strtol(pid_s, &end, 10);
		if (errno != 0 || *end != '\0' || pid != self)
			return 0;
	}
	*usec = u;
	return 1;
}

int
ls_notify_watchdog_usec(uint64_t *usec)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t u;
	int r;

	if ((r = sd_watchdog_enabled(0, &u)) < 0) {
		errno = -r;
		log_warn("notify: ignoring WATCHDOG_USEC or WATCHDOG_PID");
		return 0;
	}
	if (r > 0)
		*usec = u;
	return r > 0;
#else
	return ls_notify_watchdog_parse(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), (long)getpid(), usec);
#endif
}

static void
send_status(struct ls_notify *n)
{
	struct ls_buf b;

	if (n->ops->status_cb == NULL)
		return;
	ls_buf_init(&b);
	n->ops->status_cb(&b, n->arg);
	ls_buf_putc(&b, '\0');
	(void)ls_notify_sendf("STATUS=%.*s", STATUS_MAX, b.data);
	ls_buf_cleanup(&b);
}

static void
status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	send_status(w->data);
}

/*
 * Is the pipeline moving? Stalled when work waited at the last tick and
 * none has been done since. Work waiting now may simply have arrived
 * since the last tick, so the verdict needs two ticks: systemd hears
 * nothing for at most WatchdogSec plus half of it after a stall begins.
 */
static int
healthy(struct ls_notify *n)
{
	uint64_t done = 0, waiting = 0;
	int ok, broken;

	if (n->ops->pulse_cb == NULL)
		return 1;
	broken = n->ops->pulse_cb(&done, &waiting, n->arg) != 0;
	ok = !broken && !(n->have_pulse && n->waiting > 0 && done == n->done);
	if (!ok && !n->stalled)
		log_warnx("watchdog: the pipeline %s (%llu waiting): "
			  "withholding WATCHDOG=1",
		    broken ? "is broken" : "has not moved since the last check",
		    (unsigned long long)waiting);
	else if (ok && n->stalled)
		log_notice("watchdog: the pipeline moves again");
	n->stalled = !ok;
	n->have_pulse = !broken;
	n->done = done;
	n->waiting = waiting;
	return ok;
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ls_notify *n = w->data;

	if (healthy(n))
		(void)ls_notify_send("WATCHDOG=1");
}

struct ls_notify *
ls_notify_new(struct ev_loop *loop, const struct ls_notify_ops *ops, void *arg)
{
	struct ls_notify *n;

	n = xcalloc(1, sizeof *n);
	n->loop = loop;
	n->ops = ops;
	n->arg = arg;
	ev_init(&n->status_w, status_cb);
	n->status_w.data = n;
	ev_init(&n->watchdog_w, watchdog_cb);
	n->watchdog_w.data = n;
	return n;
}

void
ls_notify_start(struct ls_notify *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	double secs;

	if (path == NULL || *path == '\0')
		return;
	(void)ls_notify_ready();
	send_status(n);
	ev_timer_set(
	    &n->status_w, LS_NOTIFY_STATUS_SECS, LS_NOTIFY_STATUS_SECS);
	ev_timer_start(n->loop, &n->status_w);
	if (ls_notify_watchdog_usec(&n->watchdog_usec)) {
		/* Half the interval, as sd_watchdog_enabled(3) advises. */
		secs = (double)n->watchdog_usec / 2e6;
		log_info(
		    "watchdog: WATCHDOG=1 every %.3f s while healthy", secs);
		ev_timer_set(&n->watchdog_w, secs, secs);
		ev_timer_start(n->loop, &n->watchdog_w);
	}
}

void
ls_notify_stop(struct ls_notify *n)
{
	ev_timer_stop(n->loop, &n->status_w);
	ev_timer_stop(n->loop, &n->watchdog_w);
}

void
ls_notify_free(struct ls_notify *n)
{
	if (n == NULL)
		return;
	ls_notify_stop(n);
	free(n);
}
