/* buf: see buf.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
ls_buf_init(struct ls_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
ls_buf_cleanup(struct ls_buf *b)
{
	free(b->data);
	ls_buf_init(b);
}

void
ls_buf_reset(struct ls_buf *b)
{
	b->len = 0;
}

void
ls_buf_grow(struct ls_buf *b, size_t n)
{
	size_t cap;

	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
ls_buf_printf(struct ls_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ls_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
