/*
 * log: see log.h. Modelled on OpenBSD ntpd's log.c: a format, a level and
 * one write per line.
 *
 * The rate limiter keeps a small fixed table of call sites, keyed by the
 * address of their format string, under one mutex. Only warnings and
 * errors take the mutex; a flood from one site costs a table lookup per
 * line and nothing else, and the table never grows: when it is full, the
 * site whose window began longest ago gives up its slot (after reporting
 * what it suppressed).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "encode.h"
#include "log.h"

#define RL_SLOTS 64 /* call sites tracked at once */
#define RL_PROBES 8 /* slots looked at for one site */
#define RL_TEXT 256 /* of the last suppressed message, for the summary */

static int log_foreground = 1;
static int log_journal;
static int log_verbose;
static int log_fd = STDERR_FILENO;
static _Thread_local char log_name[32];

/* One call site of log_warn or log_warnx. */
struct rl_slot {
	const char *fmt; /* the key; NULL: free */
	int64_t start; /* when its window began */
	unsigned count; /* lines in the window */
	unsigned suppressed; /* of them, not written */
	int pri; /* the last suppressed line's */
	char name[32];
	char text[RL_TEXT];
};

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_slot rl_slots[RL_SLOTS];
static unsigned rl_burst = LOG_RATELIMIT_BURST;
static int64_t rl_window_ms = LOG_RATELIMIT_WINDOW_MS;
static int64_t (*rl_clock)(void) = ls_now_ms;
/* Slots holding suppressed lines: lets every other line skip the sweep. */
static atomic_uint rl_pending;

void
log_init(int foreground, int facility)
{
	const char *js = getenv("JOURNAL_STREAM");

	log_foreground = foreground;
	/* Under systemd stderr is the journal: keep levels with "<N>". */
	log_journal = js != NULL && *js != '\0';
	if (!log_foreground && !log_journal)
		openlog("logshipd", LOG_PID | LOG_NDELAY, facility);
}

void
log_setverbose(int level)
{
	log_verbose = level;
}

void
log_setname(const char *name)
{
	ls_text_escape(log_name, sizeof log_name, name, strlen(name));
}

void
log_setfd(int fd)
{
	log_fd = fd;
}

/* Writes one line: msg, tagged with the thread name. */
static void
emit(int pri, const char *name, const char *msg, const char *tail)
{
	char line[2300];
	int n;

	if (!log_foreground && !log_journal) {
		syslog(pri, "%s%s%s%s", name, *name ? ": " : "", msg, tail);
		return;
	}
	n = snprintf(line, sizeof line, "%s%.0d%s%s%s%s%s\n",
	    log_journal ? "<" : "", log_journal ? pri : 0,
	    log_journal ? (pri == 0 ? "0>" : ">") : "", name, *name ? ": " : "",
	    msg, tail);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line;
		line[n - 1] = '\n';
	}
	/* One write per line; a short write to stderr is not retried. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

/* Reports what s suppressed and forgets it. Under rl_lock. */
static void
rl_report(struct rl_slot *s)
{
	char tail[64];

	snprintf(tail, sizeof tail, " (%u similar message%s suppressed)",
	    s->suppressed, s->suppressed == 1 ? "" : "s");
	emit(s->pri, s->name, s->text, tail);
	s->suppressed = 0;
	atomic_fetch_sub(&rl_pending, 1);
}

/* Reports every slot whose window has ended (all: every slot). */
static void
rl_sweep(int all)
{
	int64_t now;
	size_t i;

	pthread_mutex_lock(&rl_lock);
	now = rl_clock();
	for (i = 0; i < RL_SLOTS; i++)
		if (rl_slots[i].suppressed > 0
		    && (all || now - rl_slots[i].start >= rl_window_ms))
			rl_report(&rl_slots[i]);
	pthread_mutex_unlock(&rl_lock);
}

/* Where fmt's counts are: its slot, a free one, or the stalest. */
static struct rl_slot *
rl_find(const char *fmt)
{
	struct rl_slot *s, *victim = NULL;
	size_t h, i;

	/* Fibonacci hashing: the top 6 bits of the product pick the slot. */
	h = (size_t)(((uint64_t)(uintptr_t)fmt * 0x9e3779b97f4a7c15ULL) >> 58);
	for (i = 0; i < RL_PROBES; i++) {
		s = &rl_slots[(h + i) % RL_SLOTS];
		if (s->fmt == fmt || s->fmt == NULL)
			return s;
		if (victim == NULL || s->start < victim->start)
			victim = s;
	}
	return victim;
}

/*
 * Counts a line of the call site fmt: 1 to write it, 0 to suppress it
 * (then msg and the thread name are kept for the summary).
 */
static int
rl_admit(int pri, const char *fmt, const char *msg)
{
	struct rl_slot *s;
	size_t n;
	int64_t now;
	int ok = 1;

	pthread_mutex_lock(&rl_lock);
	if (rl_burst == 0) {
		pthread_mutex_unlock(&rl_lock);
		return 1;
	}
	now = rl_clock();
	s = rl_find(fmt);
	if (s->fmt != fmt || now - s->start >= rl_window_ms) {
		if (s->suppressed > 0)
			rl_report(s);
		s->fmt = fmt;
		s->start = now;
		s->count = 0;
	}
	if (++s->count > rl_burst) {
		if (s->suppressed++ == 0)
			atomic_fetch_add(&rl_pending, 1);
		s->pri = pri;
		memcpy(s->name, log_name, sizeof s->name);
		/* The first words are enough to say what was suppressed. */
		n = strnlen(msg, sizeof s->text - 1);
		memcpy(s->text, msg, n);
		s->text[n] = '\0';
		ok = 0;
	}
	pthread_mutex_unlock(&rl_lock);
	return ok;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char raw[2048], msg[2048];
	size_t len;

	vsnprintf(raw, sizeof raw, fmt, ap);
	if (suffix != NULL && (len = strlen(raw)) < sizeof raw)
		snprintf(raw + len, sizeof raw - len, ": %s", suffix);
	/* A file name holding "\n" or ESC must not forge a line of ours or
	 * drive the terminal: every line is escaped, the way /status is. */
	ls_text_escape(msg, sizeof msg, raw, strlen(raw));
	if (atomic_load_explicit(&rl_pending, memory_order_relaxed) > 0)
		rl_sweep(0);
	if ((pri == LOG_ERR || pri == LOG_WARNING) && !rl_admit(pri, fmt, msg))
		return;
	emit(pri, log_name, msg, "");
}

void
log_setratelimit(unsigned burst, int64_t window_ms)
{
	pthread_mutex_lock(&rl_lock);
	rl_burst = burst;
	rl_window_ms = window_ms;
	memset(rl_slots, 0, sizeof rl_slots);
	atomic_store(&rl_pending, 0);
	pthread_mutex_unlock(&rl_lock);
}

void
log_setclock(int64_t (*now_ms)(void))
{
	pthread_mutex_lock(&rl_lock);
	rl_clock = now_ms != NULL ? now_ms : ls_now_ms;
	pthread_mutex_unlock(&rl_lock);
}

void
log_flush(void)
{
	rl_sweep(1);
}

void
log_warn(const char *fmt, ...)
{
	char ebuf[128];
	const char *e;
	int saved = errno;
	va_list ap;

	e = strerror_r(saved, ebuf, sizeof ebuf);
	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, e);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char ebuf[128];
	const char *e;
	va_list ap;

	e = strerror_r(errno, ebuf, sizeof ebuf);
	log_flush();
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	log_flush();
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
