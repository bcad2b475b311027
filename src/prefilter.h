/*
 * prefilter: what every match of a regular expression must contain, read
 * from the pattern's text, so that an entry without it skips PCRE2
 * (pattern.h: ls_pattern_may_match). Either one of a few literals ("GET
 * /health" or "GET /ready"), or m bytes of a class in a row (13 of
 * [0-9 -] for a card number), or both.
 *
 * prefilter.c reads the pattern (a subset of PCRE2's syntax; anything
 * else gives up: no prefilter); prefilter_scan.c chooses the byte each
 * literal is searched for by and searches entries. Never wrong towards
 * "cannot match": tested in check_rules.c (prefilter_*) and fuzz_rules.
 *
 * Threading: immutable once made; any thread.
 */
#ifndef LS_PREFILTER_H
#define LS_PREFILTER_H

#include <stddef.h>

#include "log.h"

struct ls_prefilter;

/* The prefilter of the PCRE2 pattern re, or NULL when nothing is known
 * that every match holds (or re is beyond the reader). */
struct ls_prefilter *ls_prefilter_new(const char *re);
/* NULL is a no-op. */
void ls_prefilter_free(struct ls_prefilter *);
/* 0 when s[0..len) holds neither the literals nor the run: no match of
 * the pattern can be in it; 1 otherwise (maybe one). */
int ls_prefilter_may_match(
    const struct ls_prefilter *, const char *s, size_t len) LS_WARN_UNUSED;
/* The prefilter described into buf, as ls_pattern_prefilter (pattern.h);
 * the length it needed, as snprintf. */
size_t ls_prefilter_describe(
    const struct ls_prefilter *, char *buf, size_t len);

#endif
