/*
 * encode: records to the bytes of an HTTP body, and gzip.
 *
 * A direct encoder, not a json_t per line: each string is escaped straight
 * into the output buffer. Invalid UTF-8 becomes U+FFFD, NUL and control
 * characters become \u00XX escapes, so the output is always valid JSON
 * whatever the log line held (verified against jansson in check_encode.c).
 *
 * Pure functions; any thread.
 */
#ifndef LS_ENCODE_H
#define LS_ENCODE_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "record.h"

/* Appends s as a quoted, escaped JSON string. */
void ls_json_escape(struct ls_buf *, const char *s, size_t len);
/*
 * Writes s[0..len) to dst (dstsz bytes, NUL-terminated) as ls_json_escape
 * would, but unquoted and with '"' and '\\' left as they are: control
 * characters (NUL to 0x1f, DEL) become \n, \t, \u001b..., and each byte
 * that starts no valid UTF-8 sequence becomes U+FFFD. So the text is one
 * line of valid UTF-8 with no terminal escapes, whatever s held. Stops
 * before a character or an escape that does not fit. Returns the length
 * written. For log lines (log.c), which allocate nothing.
 */
size_t ls_text_escape(char *dst, size_t dstsz, const char *s, size_t len);
/* Appends ,"key":"value" (key given with its comma, quotes and colon)
 * when value is not NULL. */
void ls_json_field(struct ls_buf *, const char *key, const char *value);
/* The encoded size of one record as an entry, for batch sizing: message
 * bytes count for len + len/8, so it is an estimate, not a bound, for
 * lines with many bytes to escape; the worker measures the real body and
 * splits a batch that is over the limit. */
size_t ls_encode_estimate(const struct ls_record *, size_t host_len);
/* The length of a record's message once escaped, as ls_encode_batch()
 * sends it (without its quotes). */
size_t ls_encode_message_len(const struct ls_record *);
/* The escaped length of hostname (NULL: none) that ls_encode_estimate()
 * takes: worked out once per destination, not once per line. */
size_t ls_encode_host_len(const char *hostname);
/*
 * Appends one body for recs[0..n-1]: a JSON array of objects (LS_FORMAT_JSON,
 * the Datadog v2 shape) or one object per line (LS_FORMAT_NDJSON). Each
 * object has message, status, timestamp (ms), hostname, and service,
 * ddsource, ddtags when the source sets them. max_msg (0: no limit) bounds
 * each message as sent (escaped): a longer one is cut to the longest
 * prefix that fits with a marker, never in the middle of a character.
 * now_ms (wall clock; 0: never) restamps a record whose time is out of
 * Datadog's window (timestamp.h): sent as now_ms, with its own time as
 * "original_timestamp". Returns how many were restamped.
 */
size_t ls_encode_batch(struct ls_buf *out, enum ls_format, const char *hostname,
    struct ls_record *const *recs, size_t n, size_t max_msg, int64_t now_ms);

#endif
