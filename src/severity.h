/*
 * severity: what a line's level is, normalised to Datadog's status values.
 *
 * Found, in order, from a JSON line's level field ("level", "severity",
 * "status", "lvl", "log.level" or {"log":{"level":..}}), from a keyword near
 * the start of a plain line ("ERROR", "[warn]", "level=info", ...), else the
 * source's default. Pure functions; any thread.
 */
#ifndef LS_SEVERITY_H
#define LS_SEVERITY_H

#include <stddef.h>
#include <stdint.h>

/* Datadog's status values, most severe first (syslog order: 0..7). */
enum ls_severity {
	LS_SEV_EMERGENCY = 0,
	LS_SEV_ALERT,
	LS_SEV_CRITICAL,
	LS_SEV_ERROR,
	LS_SEV_WARNING,
	LS_SEV_NOTICE,
	LS_SEV_INFO,
	LS_SEV_DEBUG,
	LS_SEV_COUNT
};

/* "emergency", "alert", ..., "debug". */
const char *ls_severity_name(enum ls_severity);
/* Reads a level word, case-insensitively, with the usual synonyms ("warn",
 * "err", "fatal", "crit", "trace", "verbose", "information", "panic", the
 * syslog numbers "0".."7"). 0 and *out set, or -1 if it is no level. */
int ls_severity_parse(const char *s, size_t len, enum ls_severity *out);
/* The severity of one line (len bytes, no newline), or dflt. */
enum ls_severity ls_severity_detect(
    const char *line, size_t len, enum ls_severity dflt);
/* The same, and, in the same pass, the time the line carries, if any
 * (timestamp.h): *time_ms is set to it, or left as it was. tc: the
 * caller's cache of local offsets (NULL: no time is looked for). */
struct ls_ts_cache;
enum ls_severity ls_severity_detect_time(const char *line, size_t len,
    enum ls_severity dflt, struct ls_ts_cache *tc, int64_t *time_ms);

#endif
