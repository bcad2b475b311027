/*
 * status_httpd: see status_httpd.h.
 *
 * An answer is built straight on the snapshot's bytes, not a copy: the
 * response holds a reference to the snapshot, given up by libmicrohttpd's
 * free callback once the response is sent and destroyed. So a snapshot a
 * slow client is still reading outlives its replacement in the slot, and
 * is freed by whichever thread lets go of it last.
 *
 * libmicrohttpd runs on epoll (MHD_USE_EPOLL) rather than select():
 * logshipd may hold thousands of log files open, so its sockets can be
 * numbered past select()'s FD_SETSIZE.
 *
 * Staying up under one local user's connections (issue 19). libmicrohttpd
 * only has an idle timeout, restarted by every byte, and a per-address
 * limit that refuses: 32 clients trickling a header byte every few seconds
 * used to hold every slot, and on loopback every client, the liveness
 * probe included, is the same address 127.0.0.1 (any of 127/8, in fact,
 * which a local user may bind). So our own thread runs libmicrohttpd's
 * event loop (external polling) and keeps a table of the connections,
 * filled by its connection notifications, with three rules:
 *   - a deadline: a connection that has not had a whole request answered
 *     REQUEST_DEADLINE_MS after it was accepted (or after its previous
 *     answer was sent) is shut down, whatever it trickled meanwhile;
 *   - per address: when an address holds more than PER_ADDR_MAX
 *     connections, its oldest ones beyond that are shut down as soon as
 *     they have had CROWD_GRACE_MS, instead of new ones being refused:
 *     a well-behaved client (a probe, a scraper) sends its request at
 *     once and is answered within milliseconds, well within its grace,
 *     while a trickling one is soon the oldest and goes;
 *   - in all: past SOFT_MAX connections, the oldest of any address go the
 *     same way. libmicrohttpd's own limit, HARD_MAX, is far above it: to
 *     have accepts refused, one would have to open connections faster
 *     than HARD_MAX per CROWD_GRACE_MS, thousands a second.
 * Holding 500 slow connections leaves /healthz answering in milliseconds
 * (e2e status_slowloris.sh). One thread does it all, so the table needs no
 * lock, and a descriptor is shut down only while libmicrohttpd still holds
 * it open (its "closed" notification comes before it closes the socket).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ctx.h"
#include "status_httpd.h"
#include "log.h"
#include "thread.h"
#include "xmalloc.h"

/* See the top of the file. The endpoint is for a scraper, a probe and an
 * operator: a request is a few hundred bytes, sent at once. */
#define REQUEST_DEADLINE_MS 5000
#define PER_ADDR_MAX 16
#define SOFT_MAX 256
#define HARD_MAX 1024
#define CROWD_GRACE_MS 250
#define CROWD_TICK_MS 20
/* libmicrohttpd's idle timeout, a backstop: the deadline comes first. */
#define IDLE_TIMEOUT_S 10
/* The longest the loop sleeps: how late a deadline may be seen. */
#define TICK_MS 250

/* One connection libmicrohttpd holds (its socket context). */
struct conn {
	int fd;
	int family;
	unsigned char addr[16]; /* the client's address, not its port */
	int64_t since_ms; /* accepted, or its last answer sent */
	int kicked; /* shut down; closed at libmicrohttpd's next turn */
	size_t idx; /* in ls_httpd.conns */
};

struct ls_httpd {
	struct MHD_Daemon *mhd;
	struct ls_snapslot *slot;
	int64_t stale_ms;
	char addr[64]; /* as it is shown: 127.0.0.1:9809, [::1]:9809 */
	/* While the starter thread is in MHD_start_daemon, its messages are
	 * kept in err to say why it failed; no other thread touches err. */
	pthread_t starter;
	atomic_int starting;
	char err[256];
	/* The server thread's: the loop, and the connections' table. */
	pthread_t thr;
	int ep; /* epoll: libmicrohttpd's epoll fd and wake */
	int wake; /* eventfd: ls_httpd_free's "stop" */
	atomic_int stop;
	struct conn *conns[HARD_MAX];
	size_t nconns;
	unsigned long kicked_deadline, kicked_crowd;
};

/* libmicrohttpd's messages: kept while starting, to say why it could not,
 * and logged afterwards at debug level: they are about clients (closed
 * early, timed out), a line per connection, and a client that misbehaves
 * on purpose must not flood the log either. */
static void
mhd_log_cb(void *arg, const char *fmt, va_list ap)
{
	struct ls_httpd *h = arg;
	char msg[256];
	size_t len;

	vsnprintf(msg, sizeof msg, fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	if (atomic_load(&h->starting)
	    && pthread_equal(pthread_self(), h->starter))
		snprintf(h->err, sizeof h->err, "%s", msg);
	else
		log_debug("httpd: %s", msg);
}

static void
snapshot_unref_cb(void *arg)
{
	ls_snapshot_unref(arg);
}

/* Queues status with a copy of text (a short, constant answer). */
static enum MHD_Result
answer_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Queues 200 with len bytes of s's at data; the response takes over the
 * caller's reference to s. */
static enum MHD_Result
answer_snapshot(struct MHD_Connection *c, struct ls_snapshot *s, char *data,
    size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer_with_free_callback_cls(
	    len, data, snapshot_unref_cb, s);
	if (r == NULL) {
		ls_snapshot_unref(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
healthz(struct ls_httpd *h, struct MHD_Connection *c, struct ls_snapshot *s)
{
	char why[512];
	int64_t age;

	if (s == NULL)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "starting: no status yet\n");
	age = ls_now_ms() - s->made_ms;
	if (age > h->stale_ms)
		snprintf(why, sizeof why,
		    "stale: the main loop has published no status for %.1fs\n",
		    age / 1000.0);
	else
		snprintf(
		    why, sizeof why, "%s\n", s->healthy ? "ok" : s->health);
	ls_snapshot_unref(s);
	return answer_text(c,
	    why[0] == 'o' && why[1] == 'k' && why[2] == '\n'
		? MHD_HTTP_OK
		: MHD_HTTP_SERVICE_UNAVAILABLE,
	    why);
}

static enum MHD_Result
answer_cb(void *arg, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req)
{
	struct ls_httpd *h = arg;
	struct ls_snapshot *s;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0
	    && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(
		    c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/status") != 0
	    && strcmp(url, "/healthz") != 0)
		return answer_text(c, MHD_HTTP_NOT_FOUND,
		    "not found: try /metrics, /status or /healthz\n");
	s = ls_snapslot_take(h->slot);
	if (strcmp(url, "/healthz") == 0)
		return healthz(h, c, s);
	if (s == NULL)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "starting: no status yet\n");
	if (strcmp(url, "/metrics") == 0)
		return answer_snapshot(c, s, s->metrics, s->metrics_len,
		    "text/plain; version=0.0.4; charset=utf-8");
	return answer_snapshot(
	    c, s, s->status, s->status_len, "application/json");
}

/* Shuts c down: libmicrohttpd sees the end of its stream at its next turn
 * and closes it. */
static void
kick(struct conn *c)
{
	c->kicked = 1;
	(void)shutdown(c->fd, SHUT_RDWR);
}

/* By address, then oldest first. */
static int
conn_addr_cmp(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a;
	const struct conn *y = *(struct conn *const *)b;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((d = memcmp(x->addr, y->addr, sizeof x->addr)) != 0)
		return d;
	return x->since_ms < y->since_ms ? -1 : x->since_ms > y->since_ms;
}

/* Oldest first. */
static int
conn_age_cmp(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a;
	const struct conn *y = *(struct conn *const *)b;

	return x->since_ms < y->since_ms ? -1 : x->since_ms > y->since_ms;
}

/*
 * The crowd rules: of an address holding more than PER_ADDR_MAX
 * connections, and then of all past SOFT_MAX, the oldest ones beyond the
 * cap are shut down once they have had CROWD_GRACE_MS; a younger one is
 * left its grace, so a client that sends its request at once is answered
 * whatever the crowd does. Returns 1 if some connection is over a cap but
 * still in its grace (look again soon).
 */
static int
thin_crowd(struct ls_httpd *h, int64_t now)
{
	struct conn *v[HARD_MAX];
	size_t i, j, k, n = 0, over;
	int waiting = 0;

	for (i = 0; i < h->nconns; i++)
		if (!h->conns[i]->kicked)
			v[n++] = h->conns[i];
	if (n <= PER_ADDR_MAX)
		return 0;
	qsort(v, n, sizeof *v, conn_addr_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && v[j]->family == v[i]->family
		     && memcmp(v[j]->addr, v[i]->addr, sizeof v[i]->addr) == 0;
		     j++)
			;
		if (j - i <= PER_ADDR_MAX)
			continue;
		over = j - i - PER_ADDR_MAX;
		for (k = i; k < i + over; k++) {
			if (now - v[k]->since_ms < CROWD_GRACE_MS) {
				waiting = 1;
				break;
			}
			kick(v[k]);
			h->kicked_crowd++;
		}
	}
	for (i = 0, k = 0; i < n; i++)
		if (!v[i]->kicked)
			v[k++] = v[i];
	if (k <= SOFT_MAX)
		return waiting;
	qsort(v, k, sizeof *v, conn_age_cmp);
	for (i = 0; i < k - SOFT_MAX; i++) {
		if (now - v[i]->since_ms < CROWD_GRACE_MS)
			return 1;
		kick(v[i]);
		h->kicked_crowd++;
	}
	return waiting;
}

static void
notify_cb(void *arg, struct MHD_Connection *mc, void **sockctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct ls_httpd *h = arg;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	struct conn *c;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((c = *sockctx) == NULL)
			return;
		h->conns[c->idx] = h->conns[--h->nconns];
		h->conns[c->idx]->idx = c->idx;
		free(c);
		*sockctx = NULL;
		return;
	}
	/* libmicrohttpd accepts at most HARD_MAX: there is room. */
	if (h->nconns >= HARD_MAX)
		return;
	c = xcalloc(1, sizeof *c);
	c->since_ms = ls_now_ms();
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	c->fd = ci != NULL ? ci->connect_fd : -1;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci != NULL ? ci->client_addr : NULL;
	if (sa != NULL && sa->sa_family == AF_INET) {
		c->family = AF_INET;
		memcpy(c->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		c->family = AF_INET6;
		memcpy(
		    c->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	c->idx = h->nconns;
	h->conns[h->nconns++] = c;
	*sockctx = c;
	if (c->fd == -1)
		kick(c);
}

/* An answer was sent: the connection's next request has its own
 * deadline, counted from now. */
static void
completed_cb(void *arg, struct MHD_Connection *mc, void **req,
    enum MHD_RequestTerminationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	(void)arg;
	(void)req;
	if (code != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		return;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && (c = ci->socket_context) != NULL)
		c->since_ms = ls_now_ms();
}

/* Shuts down every connection past its deadline, and those the crowd
 * rules pick; returns the ms until the next look is due (at most
 * TICK_MS). */
static int
reap(struct ls_httpd *h)
{
	int64_t now = ls_now_ms(), left, wait = TICK_MS;
	struct conn *c;
	size_t i;

	if (thin_crowd(h, now))
		wait = CROWD_TICK_MS;
	for (i = 0; i < h->nconns; i++) {
		c = h->conns[i];
		if (c->kicked)
			continue;
		left = c->since_ms + REQUEST_DEADLINE_MS - now;
		if (left <= 0) {
			kick(c);
			h->kicked_deadline++;
		} else if (left < wait)
			wait = left;
	}
	return (int)wait;
}

/* The server thread: libmicrohttpd's turns, and the deadlines between. */
static void *
serve(void *arg)
{
	struct ls_httpd *h = arg;
	struct epoll_event ev[4];
	MHD_UNSIGNED_LONG_LONG mto;
	uint64_t v;
	int wait, n, i;

	log_setname("http");
	while (!atomic_load(&h->stop)) {
		wait = reap(h);
		if (MHD_get_timeout(h->mhd, &mto) == MHD_YES
		    && mto < (MHD_UNSIGNED_LONG_LONG)wait)
			wait = (int)mto;
		n = epoll_wait(h->ep, ev, 4, wait);
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == h->wake)
				(void)read(h->wake, &v, sizeof v);
		MHD_run(h->mhd);
	}
	return NULL;
}

/* Starts the server thread over h->mhd: 0, or -1 (logged). */
static int
serve_start(struct ls_httpd *h)
{
	const union MHD_DaemonInfo *di;
	struct epoll_event ev;
	int err;

	h->ep = h->wake = -1;
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL || di->epoll_fd < 0) {
		log_warnx("metrics.listen: libmicrohttpd has no epoll here");
		return -1;
	}
	if ((h->ep = epoll_create1(EPOLL_CLOEXEC)) == -1
	    || (h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("metrics.listen: epoll");
		return -1;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.fd = di->epoll_fd;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) == -1) {
		log_warn("metrics.listen: epoll_ctl");
		return -1;
	}
	ev.data.fd = h->wake;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake, &ev) == -1) {
		log_warn("metrics.listen: epoll_ctl");
		return -1;
	}
	/* Signals blocked, named "http" (thread.h). */
	if ((err = ls_thread_start(&h->thr, "http", serve, h)) != 0) {
		errno = err;
		log_warn("metrics.listen: cannot start its thread");
		return -1;
	}
	return 0;
}

static void
close_fds(struct ls_httpd *h)
{
	if (h->ep != -1)
		close(h->ep);
	if (h->wake != -1)
		close(h->wake);
}

struct ls_httpd *
ls_httpd_new(
    const char *host, unsigned port, struct ls_snapslot *slot, int64_t stale_ms)
{
	struct ls_httpd *h;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	unsigned flags;
	int v6;

	h = xcalloc(1, sizeof *h);
	h->slot = slot;
	h->stale_ms = stale_ms;
	v6 = strchr(host, ':') != NULL;
	snprintf(h->addr, sizeof h->addr, v6 ? "[%s]:%u" : "%s:%u", host, port);
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (v6) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1)
			goto bad;
		sa = (struct sockaddr *)&sin6;
	} else {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			goto bad;
		sa = (struct sockaddr *)&sin;
	}
	/* No internal thread: serve() runs libmicrohttpd's loop. */
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	h->starter = pthread_self();
	atomic_store(&h->starting, 1);
	h->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer_cb,
	    h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, h, MHD_OPTION_SOCK_ADDR,
	    sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HARD_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_cb, h,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_END);
	atomic_store(&h->starting, 0);
	if (h->mhd == NULL) {
		log_warnx("metrics.listen: cannot listen on %s: %s", h->addr,
		    h->err[0] != '\0' ? h->err : "libmicrohttpd failed");
		free(h);
		return NULL;
	}
	if (serve_start(h) == -1) {
		MHD_stop_daemon(h->mhd);
		close_fds(h);
		free(h);
		return NULL;
	}
	log_info("status endpoint on http://%s (/metrics, /status, /healthz)",
	    h->addr);
	return h;
bad:
	log_warnx("metrics.listen: bad address %s", h->addr);
	free(h);
	return NULL;
}

void
ls_httpd_free(struct ls_httpd *h)
{
	uint64_t one = 1;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	(void)write(h->wake, &one, sizeof one);
	pthread_join(h->thr, NULL);
	MHD_stop_daemon(h->mhd);
	close_fds(h);
	if (h->kicked_deadline + h->kicked_crowd > 0)
		log_info("status endpoint: %lu connections shut down past the "
			 "request deadline, %lu to make room",
		    h->kicked_deadline, h->kicked_crowd);
	free(h);
}
