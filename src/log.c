/*
 * log: see log.h. Modelled on OpenBSD ntpd's log.c: a format, a level and
 * one write per line.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int log_foreground = 1;
static int log_journal;
static int log_verbose;
static _Thread_local char log_name[32];

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

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_setname(const char *name)
{
	snprintf(log_name, sizeof log_name, "%s", name);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048], line[2200];
	int n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (!log_foreground && !log_journal) {
		if (suffix != NULL)
			syslog(pri, "%s%s%s: %s", log_name,
			    *log_name ? ": " : "", msg, suffix);
		else
			syslog(pri, "%s%s%s", log_name, *log_name ? ": " : "",
			    msg);
		return;
	}
	n = snprintf(line, sizeof line, "%s%.0d%s%s%s%s%s%s\n",
	    log_journal ? "<" : "", log_journal ? pri : 0,
	    log_journal ? (pri == 0 ? "0>" : ">") : "", log_name,
	    *log_name ? ": " : "", msg, suffix ? ": " : "",
	    suffix ? suffix : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line;
		line[n - 1] = '\n';
	}
	/* One write per line; a short write to stderr is not retried. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
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
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
