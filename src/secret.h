/*
 * secret: memory for secrets (the API keys, and the header that carries
 * one) that stays out of core dumps.
 *
 * Each secret is a NUL-terminated string in a private anonymous mapping of
 * its own, marked MADV_DONTDUMP, so a core dump of logshipd (systemd's
 * coredump, an abort under a debugger) holds no key; the mapping is
 * cleared with explicit_bzero before it is unmapped. A page per secret:
 * there are a handful. What this cannot cover: the environment a key came
 * from (api_key_env), and the copy of the request headers libcurl builds
 * for each request and frees uncleared.
 *
 * Threading: any thread; a secret is immutable once made.
 * Tested in check_secret.c.
 */
#ifndef LS_SECRET_H
#define LS_SECRET_H

#include <stddef.h>

#include "log.h"

/* A copy of s[0..len-1] (and a NUL) in protected memory, or NULL with
 * errno set. The caller frees it with ls_secret_free. */
char *ls_secret_new(const char *s, size_t len) LS_WARN_UNUSED;
/* The same for a printf format, formatted straight into the protected
 * memory (no other copy is made). */
char *ls_secret_printf(const char *fmt, ...) LS_PRINTF(1, 2) LS_WARN_UNUSED;
/* Clears and unmaps a secret. NULL is a no-op. */
void ls_secret_free(char *);

#endif
