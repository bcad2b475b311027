/*
 * pattern: one regular expression of the configuration, in PCRE2's
 * dialect (the one Datadog Agent users write: \d, \s, \w, non-greedy
 * repetitions, (?i)), JIT-compiled, matched under limits.
 *
 * Patterns are compiled in UTF-8 mode that tolerates invalid UTF-8
 * (PCRE2_MATCH_INVALID_UTF): "." is one character, not one byte, and a
 * line holding bytes that are no UTF-8 still matches around them.
 *
 * Limits: a pattern such as "(a+)+$" takes exponential time to fail on
 * "aaaa...b". Every match runs with a match limit (LS_PATTERN_MATCH_LIMIT
 * backtracking steps, a few milliseconds at most), a depth limit and a
 * heap limit, so one hostile line can stall the tailer a few milliseconds,
 * never for good. A match that hits a limit is an error (-1), which the
 * caller counts and turns into its own safe answer (rules.h). Tested in
 * check_rules.c: pathological.
 *
 * Prefilter: ls_pattern_new also reads from the pattern's text what
 * every match must hold (one of a few literals, "GET /health" or "GET
 * /ready"; or m bytes of a class in a row, 13 of [0-9 -] for a card
 * number), and ls_pattern_may_match tells, with memchr and a table, an
 * entry that cannot match, so that the caller skips PCRE2 for it (most
 * entries, for typical rules: rules.c asks before each rule). The
 * reader knows a subset of PCRE2's syntax and gives up on the rest
 * (then every entry "may match"); it is tested never to skip an entry
 * the pattern matches (check_rules: prefilter_*, fuzz_rules).
 *
 * Threading: a pattern holds its match data, so one thread at a time
 * matches with it: the main thread (the tailer). Compiled code is shared
 * read-only by references (a top-level rule is in every source's list).
 */
#ifndef LS_PATTERN_H
#define LS_PATTERN_H

#include <stddef.h>

#include "log.h"

/* Backtracking steps one match may take (PCRE2's default is 10 million:
 * about 25 ms of "(a+)+$" against 40 bytes, 4 ms at this bound). */
#define LS_PATTERN_MATCH_LIMIT 1000000
/* Nesting of backtracking (the interpreter only; JIT has its stack). */
#define LS_PATTERN_DEPTH_LIMIT 100000
/* Heap for backtracking (the interpreter only), KiB. */
#define LS_PATTERN_HEAP_LIMIT (16 * 1024)

/* Anchored at the start of the subject (the Agent's multi_line rule). */
#define LS_PATTERN_ANCHORED 0x1

struct ls_pattern;

/*
 * Compiles re. NULL when it is no valid pattern: err (errlen bytes) holds
 * PCRE2's message and *erroff the offset in re where PCRE2 found the
 * problem. The pattern starts with one reference.
 */
struct ls_pattern *ls_pattern_new(
    const char *re, unsigned flags, char *err, size_t errlen, size_t *erroff);
struct ls_pattern *ls_pattern_ref(struct ls_pattern *);
/* Drops a reference; the last frees. NULL is a no-op. */
void ls_pattern_free(struct ls_pattern *);
/* The pattern as written. */
const char *ls_pattern_source(const struct ls_pattern *);
/* Capturing groups in the pattern. */
unsigned ls_pattern_groups(const struct ls_pattern *);

/*
 * Searches s[start..len) (s need not be NUL-terminated). 1: a match, and
 * when ov is not NULL, ov[0..2*nov) holds the offsets of the whole match
 * and of the first nov-1 groups (an unset group is (SIZE_MAX, SIZE_MAX)).
 * 0: no match. -1: the match could not be decided (a limit was hit, or
 * PCRE2 failed); *why (when not NULL) is a static description.
 */
int ls_pattern_match(struct ls_pattern *, const char *s, size_t len,
    size_t start, size_t *ov, unsigned nov, const char **why) LS_WARN_UNUSED;

/*
 * The prefilter: 0 when s[0..len) holds nothing that every match of the
 * pattern must hold (one of a set of literals, or a run of bytes of a
 * class), so that ls_pattern_match would find no match; 1 otherwise
 * (maybe a match). Costs a memchr or memmem per literal, far less than
 * a match (prefilter.h says what is read from the pattern and what makes
 * it give up: then always 1).
 */
int ls_pattern_may_match(
    const struct ls_pattern *, const char *s, size_t len) LS_WARN_UNUSED;
/*
 * The prefilter described into buf (for tests and bench/rules-micro.c):
 * the literals, one of which a match holds, quoted, a caseless letter in
 * upper case ("\"GET /\" \"BEARER\""), then "run M of N" (M bytes in a row
 * of a class of N bytes); "" when none. The length it needed, as
 * snprintf.
 */
size_t ls_pattern_prefilter(const struct ls_pattern *, char *buf, size_t len);

#endif
