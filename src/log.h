/*
 * log: one line per event, to stderr or syslog, from any thread.
 *
 * In the foreground and under systemd each line goes to stderr as one
 * write(2), prefixed with its syslog priority ("<3>") when stderr is the
 * journal, so lines from different threads never interleave. Each thread may
 * set a name ("worker/datadog/2") that tags its lines. Nothing here is
 * async-signal-safe: never log from a signal handler.
 */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stdarg.h>

#define LS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LS_NORETURN __attribute__((noreturn))
#define LS_WARN_UNUSED __attribute__((warn_unused_result))

/* Sets where logs go; call once from main before any thread starts. */
void log_init(int foreground, int facility);
/* 0 quiet (warnings), 1 info, 2 debug. */
void log_setverbose(int level);
int log_getverbose(void);
/* Tags this thread's lines; name is copied. */
void log_setname(const char *name);

void log_warn(const char *, ...) LS_PRINTF(1, 2);
void log_warnx(const char *, ...) LS_PRINTF(1, 2);
/* Always shown, like log_warnx, but not an error (start, stop, totals). */
void log_notice(const char *, ...) LS_PRINTF(1, 2);
void log_info(const char *, ...) LS_PRINTF(1, 2);
void log_debug(const char *, ...) LS_PRINTF(1, 2);
void fatal(const char *, ...) LS_PRINTF(1, 2) LS_NORETURN;
void fatalx(const char *, ...) LS_PRINTF(1, 2) LS_NORETURN;

#endif
