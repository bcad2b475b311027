/*
 * timestamp: the time a log line carries, when it carries one.
 *
 * Datadog indexes a log at its "timestamp"; by default that is when
 * logshipd read the line, which after an outage is the replay time, not
 * when it happened. A line's own time is found, if the line has one, in:
 *
 *  - a JSON object line's top-level "timestamp", "@timestamp", "time" or
 *    "ts" (the first of them present, in that order): an RFC 3339 string,
 *    or a number of seconds, milliseconds, microseconds or nanoseconds
 *    since the epoch (told apart by magnitude; seconds may have a
 *    fraction; none before 2000, which a counter such as "ts": 3 is). The
 *    keys are found by the severity scanner's one pass over the line
 *    (severity.c), which hands the value here;
 *  - the start of a plain line (after blanks or a '['): RFC 3339
 *    ("2026-11-23T10:00:00.123Z", "+01:00") or "YYYY-MM-DD HH:MM:SS[.fff]"
 *    with a 'T' or a blank between date and time; without a zone it is
 *    the host's local time (TZ).
 *
 * Parsing allocates nothing and does not call the C library's time
 * functions per line: dates become days by arithmetic (Howard Hinnant's
 * days_from_civil), and a local time's offset is looked up once per hour
 * of local time (mktime), which is when it can change.
 *
 * Threading: the local-offset cache is the caller's (one per thread); the
 * tailer parses on the main thread only.
 */
#ifndef LS_TIMESTAMP_H
#define LS_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

/* Datadog accepts logs up to 18 hours old and 2 hours ahead; a line's
 * own time outside that, with an hour's margin, is sent with the current
 * time and its own as "original_timestamp" (encode.c). */
#define LS_TS_MAX_AGE_MS (17LL * 3600 * 1000)
#define LS_TS_MAX_AHEAD_MS (1LL * 3600 * 1000)

/* Numbers before 2000-01-01 are not taken for times. */
#define LS_TS_EPOCH_MIN_MS 946684800000LL

/* The local offset looked up last: for one hour of local time. */
struct ls_ts_cache {
	int64_t hour_key; /* days * 24 + hour of the local time, or -1 */
	int64_t offset_s; /* UTC = local - offset_s */
};

void ls_ts_cache_init(struct ls_ts_cache *);

/* A JSON value (v[0..len): a string with its quotes, or a number) as a
 * time: 0 and *ms set, or -1. */
int ls_ts_parse_value(
    struct ls_ts_cache *, const char *v, size_t len, int64_t *ms);
/* The time at the start of a plain line: 0 and *ms set, or -1. */
int ls_ts_parse_prefix(
    struct ls_ts_cache *, const char *line, size_t len, int64_t *ms);

#endif
