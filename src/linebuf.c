/*
 * linebuf: see linebuf.h.
 *
 * A line that lies wholly inside one fed chunk is passed to the callback
 * straight from the caller's memory; only the partial line at the end of a
 * chunk is copied, and only its first max bytes. So a file of short lines
 * read in large chunks costs one memchr per line and no copies.
 *
 * Past max, the slot buf[max] holds the last byte dropped, so that a "\r"
 * before the newline can still be recognised (and not counted as dropped)
 * when the newline comes in a later chunk. That slot is why the buffer
 * grows to max + 1.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "xmalloc.h"

/* A buffer that held a long line is given back once the line is out, so
 * that an idle file costs no more than this. */
#define KEEP_CAP (64 * 1024)

void
ls_linebuf_init(struct ls_linebuf *lb, size_t max, uint64_t offset)
{
	lb->buf = NULL;
	lb->cap = 0;
	lb->len = 0;
	lb->max = max;
	lb->dropped = 0;
	lb->offset = offset;
}

void
ls_linebuf_cleanup(struct ls_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->cap = 0;
	lb->len = 0;
	lb->dropped = 0;
}

/* Makes room for need bytes at buf (need <= max + 1). */
static void
grow(struct ls_linebuf *lb, size_t need)
{
	size_t cap;

	if (lb->cap >= need)
		return;
	cap = lb->cap ? lb->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > lb->max + 1)
		cap = lb->max + 1;
	lb->buf = xrealloc(lb->buf, cap);
	lb->cap = cap;
}

/* Adds n bytes to the line held: the first max are kept, the rest are
 * counted as dropped, the last of them remembered at buf[max]. */
static void
hold(struct ls_linebuf *lb, const char *p, size_t n)
{
	size_t k;

	if (n == 0)
		return;
	k = lb->max - lb->len;
	if (k > n)
		k = n;
	if (k > 0) {
		grow(lb, lb->len + k);
		memcpy(lb->buf + lb->len, p, k);
		lb->len += k;
	}
	if (n > k) {
		grow(lb, lb->max + 1);
		lb->buf[lb->max] = p[n - 1];
		lb->dropped += n - k;
	}
}

/* Emits the line held, dropping a final "\r", and empties the buffer. */
static void
emit_held(struct ls_linebuf *lb, ls_line_cb cb, void *arg)
{
	if (lb->dropped > 0) {
		if (lb->buf[lb->max] == '\r')
			lb->dropped--;
	} else if (lb->len > 0 && lb->buf[lb->len - 1] == '\r')
		lb->len--;
	if (lb->len > 0 || lb->dropped > 0)
		cb(lb->buf, lb->len, lb->offset, lb->dropped, arg);
	lb->len = 0;
	lb->dropped = 0;
	if (lb->cap > KEEP_CAP) {
		free(lb->buf);
		lb->buf = NULL;
		lb->cap = 0;
	}
}

void
ls_linebuf_feed(
    struct ls_linebuf *lb, const char *data, size_t n, ls_line_cb cb, void *arg)
{
	const char *p = data, *end = data + n, *nl;
	size_t seg, dropped;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			hold(lb, p, (size_t)(end - p));
			lb->offset += (uint64_t)(end - p);
			return;
		}
		seg = (size_t)(nl - p);
		lb->offset += seg + 1;
		if (lb->len == 0 && lb->dropped == 0) {
			/* The whole line is here: no copy. */
			if (seg > 0 && p[seg - 1] == '\r')
				seg--;
			dropped = 0;
			if (seg > lb->max) {
				dropped = seg - lb->max;
				seg = lb->max;
			}
			if (seg > 0 || dropped > 0)
				cb(p, seg, lb->offset, dropped, arg);
		} else {
			hold(lb, p, seg);
			emit_held(lb, cb, arg);
		}
		p = nl + 1;
	}
}

void
ls_linebuf_flush(struct ls_linebuf *lb, ls_line_cb cb, void *arg)
{
	/* A "\r" at the end is taken to be half of a "\r\n" still being
	 * written: the "\n" that follows then ends an empty line. */
	if (lb->len > 0 || lb->dropped > 0)
		emit_held(lb, cb, arg);
}

size_t
ls_linebuf_pending(const struct ls_linebuf *lb)
{
	return lb->len + lb->dropped;
}

void
ls_linebuf_reset(struct ls_linebuf *lb, uint64_t offset)
{
	lb->len = 0;
	lb->dropped = 0;
	lb->offset = offset;
}
