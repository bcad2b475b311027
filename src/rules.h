/*
 * rules: a source's processing rules, in the Datadog Agent's schema
 * (log_processing_rules), applied in order to each whole entry after
 * multiline joining and before severity detection and encoding.
 *
 *   exclude_at_match  an entry the pattern matches is dropped;
 *   include_at_match  an entry the pattern does not match is dropped;
 *   mask_sequences    every match is replaced by replace_placeholder, in
 *                     which $1 to $9 (or ${1} to ${9}) stand for the
 *                     match's groups, $0 for the whole match, $$ for a $.
 *
 * Each rule works on what the rules before it left (a mask before an
 * exclude hides what the exclude sees). The fourth type of the schema,
 * multi_line, is no per-entry rule: conf_source.c makes it the source's
 * multiline start pattern.
 *
 * A pattern that cannot be evaluated on an entry (a match limit hit:
 * pattern.h) is counted as an error of its rule, warned once per rule,
 * and never lets a secret through:
 *   - an exclude or include rule keeps the entry (a filter that cannot
 *     decide does not lose a line);
 *   - a mask rule replaces the whole entry with a marker naming the rule:
 *     no byte of an entry that could not be masked leaves the host.
 *
 * Each rule first asks its pattern's prefilter (pattern.h) whether the
 * entry may match at all: most entries of typical rules do not, and skip
 * PCRE2 (README "Performance" has what that saves). An entry the
 * prefilter rules out is no match, even one on which PCRE2 would have
 * hit a limit: it cannot match, so there is nothing to mask and no error.
 *
 * The entry a mask makes is the one the record holds, so a retry, a 413
 * split or a reload sends the masked bytes: nothing later can undo it.
 *
 * Counters (per rule, relaxed atomics, read by any thread): entries
 * excluded, entries not included, entries masked (one or more sequences
 * replaced), errors. They live with the rules, in the configuration; a
 * reload carries them over by source and rule name (ls_rules_carry).
 *
 * Threading: ls_rules_apply on one thread at a time (the tailer, on the
 * main thread): it reuses buffers and the patterns' match data. Tested in
 * check_rules.c.
 */
#ifndef LS_RULES_H
#define LS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct ls_pattern;
struct ls_rules;

enum ls_rule_type {
	LS_RULE_EXCLUDE = 0,
	LS_RULE_INCLUDE,
	LS_RULE_MASK,
	LS_RULE_MULTILINE,
	LS_RULE_NTYPES
};

/* What ls_rules_apply decided. */
enum ls_rules_verdict { LS_RULES_KEEP = 0, LS_RULES_DROP };

/* One rule's counters, as read by ls_rules_stats. */
struct ls_rule_stats {
	const char *name;
	const char *type; /* "exclude_at_match", ... */
	uint64_t excluded;
	uint64_t not_included;
	uint64_t masked;
	uint64_t errors;
};

/* The schema's name of a type ("exclude_at_match"...); the type of a
 * name, or -1. */
const char *ls_rule_type_name(enum ls_rule_type);
int ls_rule_type_parse(const char *);

/* An empty list for the source called source (for messages). */
struct ls_rules *ls_rules_new(const char *source);
/* NULL is a no-op. */
void ls_rules_free(struct ls_rules *);
/*
 * Appends a rule of type exclude, include or mask; takes a reference to
 * pat. placeholder is the mask's replacement (NULL: empty).
 */
void ls_rules_add(struct ls_rules *, enum ls_rule_type, const char *name,
    struct ls_pattern *pat, const char *placeholder);
size_t ls_rules_count(const struct ls_rules *);

/*
 * Applies the rules to msg[0..len). LS_RULES_DROP: a rule dropped the
 * entry (counted). LS_RULES_KEEP: *out and *outlen are the entry to send:
 * msg itself, or the masked bytes in a buffer of the rules' own, valid
 * until the next call.
 */
enum ls_rules_verdict ls_rules_apply(struct ls_rules *, const char *msg,
    size_t len, const char **out, size_t *outlen) LS_WARN_UNUSED;

/* Rule i's name, type and counters. */
void ls_rules_stats(const struct ls_rules *, size_t i, struct ls_rule_stats *);
/* Adds from's counters to to's rules of the same name and type (a reload;
 * main thread). Either may be NULL. */
void ls_rules_carry(struct ls_rules *to, const struct ls_rules *from);

#endif
