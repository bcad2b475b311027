/*
 * httpd: see httpd.h.
 *
 * An answer is built straight on the snapshot's bytes, not a copy: the
 * response holds a reference to the snapshot, given up by libmicrohttpd's
 * free callback once the response is sent and destroyed. So a snapshot a
 * slow client is still reading outlives its replacement in the slot, and
 * is freed by whichever thread lets go of it last.
 *
 * libmicrohttpd runs in "external polling" mode, driven by our own thread
 * (started by ls_thread_start, so it has every signal blocked and is named
 * "http", like every other thread of the daemon): the thread polls MHD's
 * epoll descriptor and an eventfd that ls_httpd_free() writes to end it,
 * and calls MHD_run(). With MHD's internal thread instead, that thread
 * would be libmicrohttpd's to start, with the mask and name of its choice.
 * epoll rather than select(): logshipd may hold thousands of log files
 * open, so its sockets can be numbered past select()'s FD_SETSIZE.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ctx.h"
#include "httpd.h"
#include "log.h"
#include "thread.h"
#include "xmalloc.h"

/* At most this many clients at once, each dropped after this idle time:
 * the endpoint is for a scraper and an operator, not for the world. */
#define MAX_CONNECTIONS 32
#define IDLE_TIMEOUT_S 10

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
	int epfd; /* MHD's */
	int stopfd; /* an eventfd: written once, to end the thread */
	pthread_t thread;
	int running;
};

/* The server's thread: MHD_run() whenever MHD's epoll descriptor is ready
 * or its next timeout is due, until stopfd is written. */
static void *
httpd_main(void *arg)
{
	struct ls_httpd *h = arg;
	struct pollfd pfd[2];
	MHD_UNSIGNED_LONG_LONG to;
	int timeout;

	pfd[0].fd = h->epfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = h->stopfd;
	pfd[1].events = POLLIN;
	for (;;) {
		timeout = -1;
		if (MHD_get_timeout(h->mhd, &to) == MHD_YES)
			timeout = to > INT_MAX ? INT_MAX : (int)to;
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR)
			fatal("httpd: poll");
		if (pfd[1].revents != 0)
			break;
		(void)MHD_run(h->mhd);
	}
	return NULL;
}

/* libmicrohttpd's messages: kept while starting, to say why it could not,
 * and logged afterwards (a client's misbehaviour is no warning). */
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
		log_info("httpd: %s", msg);
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

struct ls_httpd *
ls_httpd_new(
    const char *host, unsigned port, struct ls_snapslot *slot, int64_t stale_ms)
{
	struct ls_httpd *h;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	int v6, r;

	h = xcalloc(1, sizeof *h);
	h->stopfd = -1;
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
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	h->starter = pthread_self();
	atomic_store(&h->starting, 1);
	h->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer_cb,
	    h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, h, MHD_OPTION_SOCK_ADDR,
	    sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	    MHD_OPTION_END);
	atomic_store(&h->starting, 0);
	if (h->mhd == NULL) {
		log_warnx("metrics.listen: cannot listen on %s: %s", h->addr,
		    h->err[0] != '\0' ? h->err : "libmicrohttpd failed");
		goto fail;
	}
	if ((info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD))
	    == NULL) {
		log_warnx("metrics.listen: libmicrohttpd has no epoll");
		goto fail;
	}
	h->epfd = info->epoll_fd;
	if ((h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("httpd: eventfd");
		goto fail;
	}
	if ((r = ls_thread_start(&h->thread, "http", httpd_main, h)) != 0) {
		errno = r;
		log_warn("httpd: cannot start its thread");
		goto fail;
	}
	h->running = 1;
	log_info("status endpoint on http://%s (/metrics, /status, /healthz)",
	    h->addr);
	return h;
bad:
	log_warnx("metrics.listen: bad address %s", h->addr);
fail:
	ls_httpd_free(h);
	return NULL;
}

void
ls_httpd_free(struct ls_httpd *h)
{
	uint64_t one = 1;

	if (h == NULL)
		return;
	if (h->running) {
		if (write(h->stopfd, &one, sizeof one) != sizeof one)
			fatal("httpd: eventfd write");
		pthread_join(h->thread, NULL);
	}
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	if (h->stopfd != -1)
		close(h->stopfd);
	free(h);
}
