/*
 * log: one line per event, to stderr or syslog, from any thread.
 *
 * In the foreground and under systemd each line goes to stderr as one
 * write(2), prefixed with its syslog priority ("<3>") when stderr is the
 * journal, so lines from different threads never interleave. Each thread may
 * set a name ("send/datadog/2") that tags its lines. Nothing here is
 * async-signal-safe: never log from a signal handler.
 *
 * Every line is escaped as it is formatted (ls_text_escape, the escaper
 * of /status): control characters become \n, \u001b and the like, and
 * invalid UTF-8 becomes U+FFFD, so a file name an attacker chose, such as
 * "x\nFAKE line\n.log", cannot forge a line or drive a terminal. Quotes
 * and backslashes stay as they are.
 *
 * Repeated warnings are rate limited, per call site (the format string):
 * past LOG_RATELIMIT_BURST lines of log_warn or log_warnx from one site
 * within LOG_RATELIMIT_WINDOW_MS of its first, the rest of that window is
 * suppressed. Once the window is over, the next line logged (from any
 * site), or log_flush(), writes the last suppressed line followed by
 * " (N similar messages suppressed)". Notices, info, debug and fatal lines
 * are never suppressed. The counts live in a fixed table under one mutex:
 * thread-safe, and nothing is allocated per line.
 */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stdarg.h>
#include <stdint.h>

#define LS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LS_NORETURN __attribute__((noreturn))
#define LS_WARN_UNUSED __attribute__((warn_unused_result))

/* Sets where logs go; call once from main before any thread starts. */
void log_init(int foreground, int facility);
/* 0 quiet (warnings), 1 info, 2 debug. */
void log_setverbose(int level);
/* Tags this thread's lines; name is copied. */
void log_setname(const char *name);

#define LOG_RATELIMIT_BURST 5
#define LOG_RATELIMIT_WINDOW_MS 10000
/* Sets the limit (burst 0: none) and forgets every count; for tests. */
void log_setratelimit(unsigned burst, int64_t window_ms);
/* The rate limiter's clock in ms (NULL: CLOCK_MONOTONIC); for tests. */
void log_setclock(int64_t (*now_ms)(void));
/* Where foreground and journal lines go (stderr); for tests. */
void log_setfd(int fd);
/* Writes the summary of every suppressed line now, window over or not. */
void log_flush(void);

void log_warn(const char *, ...) LS_PRINTF(1, 2);
void log_warnx(const char *, ...) LS_PRINTF(1, 2);
/* Always shown, like log_warnx, but not an error (start, stop, totals). */
void log_notice(const char *, ...) LS_PRINTF(1, 2);
void log_info(const char *, ...) LS_PRINTF(1, 2);
void log_debug(const char *, ...) LS_PRINTF(1, 2);
void fatal(const char *, ...) LS_PRINTF(1, 2) LS_NORETURN;
void fatalx(const char *, ...) LS_PRINTF(1, 2) LS_NORETURN;

#endif
