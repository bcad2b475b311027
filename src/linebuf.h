/*
 * linebuf: frames a byte stream into lines.
 *
 * Bytes go in as they are read; each complete line ("\n", with a "\r"
 * before it dropped) comes out through a callback with the file offset just
 * past its newline. A line longer than max bytes keeps its first max bytes
 * and counts the rest as dropped, so a 50 MB line costs max bytes of memory,
 * never more. A partial last line waits for its newline, or for
 * ls_linebuf_flush() (the idle timeout, or shutdown).
 *
 * Threading: one owner (the tailer, on the main thread).
 */
#ifndef LS_LINEBUF_H
#define LS_LINEBUF_H

#include <stddef.h>
#include <stdint.h>

/* Called for every line: its bytes (not NUL-terminated), the offset just
 * past it, and how many bytes of it were dropped past max. */
typedef void (*ls_line_cb)(const char *line, size_t len, uint64_t end_offset,
    size_t dropped, void *arg);

struct ls_linebuf {
	char *buf;
	size_t cap; /* bytes allocated at buf (at most max + 1) */
	size_t len; /* bytes held of the current line */
	size_t max; /* most bytes kept per line */
	size_t dropped; /* bytes of the current line past max */
	uint64_t offset; /* file offset of the next byte fed */
};

/* offset: the file offset of the first byte that will be fed. */
void ls_linebuf_init(struct ls_linebuf *, size_t max, uint64_t offset);
void ls_linebuf_cleanup(struct ls_linebuf *);
/* Feeds n bytes; calls cb for every line they complete. */
void ls_linebuf_feed(
    struct ls_linebuf *, const char *data, size_t n, ls_line_cb cb, void *arg);
/* Emits the partial line held, if any, as a line. */
void ls_linebuf_flush(struct ls_linebuf *, ls_line_cb cb, void *arg);
/* Bytes of a partial line held, kept or dropped: offset minus this is
 * where the line starts (0 when at a line boundary). */
size_t ls_linebuf_pending(const struct ls_linebuf *);
/* Forgets everything held and restarts at offset (truncation). */
void ls_linebuf_reset(struct ls_linebuf *, uint64_t offset);

#endif
