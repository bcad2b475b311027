/*
 * buf: a growable byte buffer (curl's dynbuf, smaller). Embedded by value:
 * ls_buf_init/ls_buf_cleanup. Growth is fatal only on out-of-memory;
 * callers cap what they put in. Appends are inline: the encoder makes a
 * dozen per log line, most of a constant size the compiler copies in place.
 */
#ifndef LS_BUF_H
#define LS_BUF_H

#include <stddef.h>
#include <string.h>

struct ls_buf {
	char *data;
	size_t len;
	size_t cap;
};

void ls_buf_init(struct ls_buf *);
void ls_buf_cleanup(struct ls_buf *);
/* Empties it, keeping the allocation. */
void ls_buf_reset(struct ls_buf *);
/* Reallocates to room for n more bytes (and a NUL); ls_buf_reserve's slow
 * path. */
void ls_buf_grow(struct ls_buf *, size_t n);
void ls_buf_printf(struct ls_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Makes room for n more bytes. */
static inline void
ls_buf_reserve(struct ls_buf *b, size_t n)
{
	if (b->cap - b->len <= n)
		ls_buf_grow(b, n);
}

/* Appends n bytes (p may be NULL when n is 0), keeping a NUL after them. */
static inline void
ls_buf_append(struct ls_buf *b, const void *p, size_t n)
{
	ls_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void
ls_buf_putc(struct ls_buf *b, char c)
{
	ls_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

#endif
