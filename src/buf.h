/*
 * buf: a growable byte buffer (curl's dynbuf, smaller). Embedded by value:
 * ls_buf_init/ls_buf_cleanup. Growth is fatal only on out-of-memory;
 * callers cap what they put in.
 */
#ifndef LS_BUF_H
#define LS_BUF_H

#include <stddef.h>

struct ls_buf {
	char *data;
	size_t len;
	size_t cap;
};

void ls_buf_init(struct ls_buf *);
void ls_buf_cleanup(struct ls_buf *);
/* Empties it, keeping the allocation. */
void ls_buf_reset(struct ls_buf *);
/* Makes room for n more bytes. */
void ls_buf_reserve(struct ls_buf *, size_t n);
void ls_buf_append(struct ls_buf *, const void *, size_t);
void ls_buf_putc(struct ls_buf *, char);
void ls_buf_printf(struct ls_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

#endif
