/*
 * xmalloc: allocation that cannot fail. Out of memory is fatal, as in tmux:
 * a daemon that cannot allocate a few bytes has no safe way to go on.
 * Buffers whose size comes from outside (lines, batches) have caps of their
 * own and never reach here with a huge size.
 */
#ifndef LS_XMALLOC_H
#define LS_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

#endif
