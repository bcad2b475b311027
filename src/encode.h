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

/*
 * The marker of an entry cut short, one form wherever it was cut: at
 * reading, past max_line_bytes (tail_record.c), and at encoding, past
 * max_entry_bytes (ls_encode_batch): " [logshipd: truncated N bytes]", N
 * the bytes of the entry left out. Plain ASCII, so it is sent as it is,
 * its escaped length its length. Tested in check_encode.c: mark_*.
 */
#define LS_TRUNC_MARK_FMT " [logshipd: truncated %zu bytes]"

/* Appends the marker for n bytes left out; returns its length. */
size_t ls_trunc_mark(struct ls_buf *, size_t n);
/* The length of the marker for n bytes left out. */
size_t ls_trunc_mark_len(size_t n);
/* When s[0..len) ends with a marker, returns the length before it and
 * sets *n to its count; else returns len (and *n is left alone). */
size_t ls_trunc_mark_find(const char *s, size_t len, size_t *n);
/* The length of s[0..len) without the start of a character its end cuts:
 * the bytes of a UTF-8 sequence begun in its last three bytes and not
 * finished, which a cut by byte count (max_line_bytes) leaves. */
size_t ls_utf8_whole(const char *s, size_t len);

/*
 * A line cut at reading (max_line_bytes): *msg[0..*len) is what was kept,
 * dropped the bytes left out. Writes the kept bytes, less the start of a
 * character the cut split (counted as dropped), then the marker, into
 * scratch (*msg may already point into it), and points *msg and *len at
 * the result. The files' and the journal's reading share it.
 */
void ls_trunc_line(
    struct ls_buf *scratch, const char **msg, size_t *len, size_t dropped);

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
 * prefix that fits with the marker (LS_TRUNC_MARK_FMT), never in the
 * middle of a character; a message cut at reading (LS_REC_TRUNCATED) keeps
 * one marker, which counts the bytes left out by both cuts.
 * now_ms (wall clock; 0: never) restamps a record whose time is out of
 * Datadog's window (timestamp.h): sent as now_ms, with its own time as
 * "original_timestamp". Returns how many were restamped.
 */
size_t ls_encode_batch(struct ls_buf *out, enum ls_format, const char *hostname,
    struct ls_record *const *recs, size_t n, size_t max_msg, int64_t now_ms);

#endif
