/*
 * multiline: where an entry of several lines begins, without a pattern
 * (a source's "multiline: auto").
 *
 * A line is the head of a new entry when it begins (after blanks or a '[')
 * with a time or a level: an ISO 8601 / RFC 3339 date and time
 * ("2026-11-23T10:00:00", "2026-11-23 10:00:00", Go's "2026/11/23
 * 10:00:00"), a syslog stamp ("Nov 23 10:00:00"), an epoch in seconds or
 * milliseconds, a glog prefix ("E1123 10:00:00"), an upper-case level word
 * ("ERROR", "[WARN]", "INFO:"), a logfmt time or level key, or a JSON
 * object. Every other line joins the entry being gathered when:
 *
 *  - it looks like the inside of a stack trace: indented (Java's "\tat",
 *    Node's "    at", .NET's "   at", Ruby's "\tfrom", Python's
 *    "  File"), empty, or one of the lines traces have at their margin
 *    ("Caused by:", "... 5 more", "--- End of", Python's "During handling
 *    of the above exception" and "The above exception was the direct
 *    cause");
 *  - or it opens a trace (Python's "Traceback (most recent call last):",
 *    Go's "panic:" and "goroutine 1 [running]:", a JVM's "Exception in
 *    thread") after a log line or inside a trace;
 *  - or it is an exception's line or a frame at the margin (a name, then
 *    ':' or '(': "java.lang.IllegalStateException: boom", Python's
 *    closing "ValueError: boom", Go's "main.main()") after a head line, or
 *    right after the inside of a trace one of those openers began.
 *
 * Otherwise it is an entry of its own: a file whose lines have no time
 * or level is not merged into one entry; a trace in it still is one.
 *
 * Pure and allocation-free; tested on a corpus of traces in
 * check_multiline.c.
 */
#ifndef LS_MULTILINE_H
#define LS_MULTILINE_H

#include <stddef.h>

/* What the entry being gathered is, for the lines that follow. */
struct ls_ml_auto {
	int headed; /* it began with a head line */
	int trace; /* it holds a trace whose margin lines may be its own */
	int inner; /* the last line was inside the trace (indented, empty) */
};

/* 1 if line starts a new entry, 0 if it joins the one being gathered
 * (updates a). */
int ls_ml_auto_starts(struct ls_ml_auto *a, const char *line, size_t len);
/* 1 if line begins with a time or a level (a head line). */
int ls_ml_is_head(const char *line, size_t len);

#endif
