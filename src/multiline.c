/*
 * multiline: see multiline.h.
 */
#include "config.h"

#include <string.h>

#include "multiline.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at p (within len). */
static int
digits(const char *p, size_t len, size_t n)
{
	size_t i;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return 0;
	return 1;
}

/* "HH:MM" at p. */
static int
clock_at(const char *p, size_t len)
{
	return len >= 5 && digits(p, len, 2) && p[2] == ':'
	    && digits(p + 3, len - 3, 2);
}

/* "YYYY-MM-DD" or "YYYY/MM/DD", then 'T' or ' ', then "HH:MM". */
static int
date_time(const char *p, size_t len)
{
	return len >= 16 && digits(p, len, 4) && (p[4] == '-' || p[4] == '/')
	    && digits(p + 5, len - 5, 2) && p[7] == p[4]
	    && digits(p + 8, len - 8, 2) && (p[10] == 'T' || p[10] == ' ')
	    && clock_at(p + 11, len - 11);
}

/* "Nov 23 10:00:00" or "Nov  3 10:00:00". */
static int
syslog_stamp(const char *p, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t i;

	if (len < 15 || p[3] != ' ')
		return 0;
	for (i = 0; i < 36; i += 3)
		if (memcmp(p, months + i, 3) == 0)
			break;
	if (i == 36)
		return 0;
	return (is_digit(p[4]) || p[4] == ' ') && is_digit(p[5]) && p[6] == ' '
	    && clock_at(p + 7, len - 7);
}

/* An epoch of 10 (seconds) or 13 (milliseconds) digits, then a blank or
 * a fraction. */
static int
epoch(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && is_digit(p[n]))
		n++;
	return (n == 10 || n == 13) && n < len
	    && (p[n] == ' ' || p[n] == '.' || p[n] == '\t');
}

/* glog: a level letter, MMDD, a blank, "HH:MM". */
static int
glog(const char *p, size_t len)
{
	return len >= 11 && strchr("IWEF", p[0]) != NULL && p[0] != '\0'
	    && digits(p + 1, len - 1, 4) && p[5] == ' '
	    && clock_at(p + 6, len - 6);
}

/* An upper-case level word, ended by a blank, ':', ']' or '|'. */
static int
level_word(const char *p, size_t len)
{
	static const char *const words[] = { "TRACE", "DEBUG", "INFO", "NOTICE",
		"WARN", "WARNING", "ERROR", "ERR", "CRIT", "CRITICAL", "FATAL",
		"ALERT", "EMERG", "PANIC" };
	size_t i, n;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		n = strlen(words[i]);
		if (len > n && memcmp(p, words[i], n) == 0
		    && strchr(" \t:]|", p[n]) != NULL)
			return 1;
	}
	return 0;
}

/* logfmt's time or level key first: "time=", "ts=", "level=". */
static int
logfmt(const char *p, size_t len)
{
	return (len > 5 && memcmp(p, "time=", 5) == 0)
	    || (len > 3 && memcmp(p, "ts=", 3) == 0)
	    || (len > 6 && memcmp(p, "level=", 6) == 0);
}

int
ls_ml_is_head(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	/* An indented line is a trace's, whatever it holds. */
	if (i > 0)
		return 0;
	if (i < len && line[i] == '{')
		return 1;
	if (i < len && line[i] == '[')
		i++;
	line += i;
	len -= i;
	return date_time(line, len) || syslog_stamp(line, len)
	    || epoch(line, len) || glog(line, len) || level_word(line, len)
	    || logfmt(line, len);
}

static int
starts(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(line, word, n) == 0;
}

/* A line inside a trace, or one of those traces have at their margin
 * between frames. */
static int
inner_line(const char *line, size_t len)
{
	return len == 0 || line[0] == ' ' || line[0] == '\t'
	    || starts(line, len, "Caused by:") || starts(line, len, "...")
	    || starts(line, len, "--- End of")
	    || starts(line, len, "During handling of the above exception")
	    || starts(line, len, "The above exception was the direct cause")
	    || starts(line, len, "created by ");
}

/* The first line of a trace whose later lines at the margin are its own
 * (Python's closing exception, Go's frames), or of a JVM's uncaught
 * exception. */
static int
opens_trace(const char *line, size_t len)
{
	return starts(line, len, "Traceback (most recent call last):")
	    || starts(line, len, "goroutine ") || starts(line, len, "panic: ")
	    || starts(line, len, "Exception in thread ");
}

/* A name (dots and slashes allowed), then ':', '(' or the end: an
 * exception's line ("java.lang.IllegalStateException: boom", Python's
 * closing "ValueError: boom") or a frame (Go's "main.main()"). */
static int
exception_or_frame(const char *line, size_t len)
{
	size_t i = 0;
	char c;

	while (i < len) {
		c = line[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| c == '_' || c == '.' || c == '$' || c == '/'
			|| (i > 0 && is_digit(c))))
			break;
		i++;
	}
	return i > 0 && (i == len || line[i] == ':' || line[i] == '(');
}

int
ls_ml_auto_starts(struct ls_ml_auto *a, const char *line, size_t len)
{
	int joins;

	if (ls_ml_is_head(line, len)) {
		a->headed = 1;
		a->trace = opens_trace(line, len);
		a->inner = a->trace;
		return 1;
	}
	if (opens_trace(line, len)) {
		/* A trace after a log line, or chained to one (after its
		 * inside: Python's "During handling..." and a blank line). */
		joins = a->headed || (a->trace && a->inner);
		a->trace = a->inner = 1;
		return !joins;
	}
	if (inner_line(line, len)) {
		a->inner = 1;
		return 0;
	}
	/* At the margin: the exception or frame of a log line's trace, or a
	 * trace's closing line or frame; else an entry of its own. */
	if (exception_or_frame(line, len)
	    && (a->headed || (a->trace && a->inner))) {
		a->inner = 0;
		return 0;
	}
	a->headed = a->trace = a->inner = 0;
	return 1;
}
