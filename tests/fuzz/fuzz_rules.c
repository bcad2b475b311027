/*
 * fuzz_rules: processing rules (rules.c over pattern.c, PCRE2) on
 * arbitrary patterns, placeholders and entries.
 *
 * Input: a byte of options (how many rules, 1 to 4, and each one's type:
 * exclude, include or mask), then NUL-separated fields: each rule's
 * pattern, each mask's placeholder, and the rest is the entry (any bytes:
 * invalid UTF-8, NULs). Patterns PCRE2 refuses are left out, as the
 * configuration would refuse them.
 *
 * Properties, besides no crash, leak or hang (the match limits bound a
 * pathological pattern): the prefilter (pattern.h) never skips an entry
 * the pattern matches; applying is deterministic (twice, the same
 * verdict and bytes); an entry that no rule's pattern matches is kept
 * unchanged unless an include rule wants it dropped; with exclude rules
 * alone, the entry is dropped exactly when one of their patterns matches
 * it (unless a match hit a limit, which keeps it); the counters add up to
 * the decisions made.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pattern.h"
#include "rules.h"
#include "xmalloc.h"

#define MAX_RULES 4

/* The next NUL-terminated field of the input (a copy), or NULL at its
 * end. */
static char *
field(struct fuzz_in *in)
{
	const uint8_t *nul = memchr(in->p, '\0', in->left);
	size_t n = nul != NULL ? (size_t)(nul - in->p) : in->left;
	char *s;

	if (in->left == 0)
		return NULL;
	s = xmalloc(n + 1);
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n + (nul != NULL);
	in->left -= n + (nul != NULL);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ls_pattern *pats[MAX_RULES];
	enum ls_rule_type types[MAX_RULES];
	struct ls_rules *rules;
	struct ls_rule_stats st;
	const char *out1, *out2;
	size_t len1, len2, n, i, k = 0, erroff, len;
	unsigned opt = (unsigned)fuzz_take(&in, 1);
	int excl_only = 1, any_match = 0, any_err = 0, include = 0, r;
	enum ls_rules_verdict v1, v2;
	uint64_t decided = 0;
	char *pat, *ph, *copy1, err[128], name[8];

	n = 1 + (opt & 3);
	rules = ls_rules_new("fuzz");
	for (i = 0; i < n; i++) {
		types[k]
		    = (enum ls_rule_type)(((opt >> (2 + 2 * (i % 3))) & 3) % 3);
		if ((pat = field(&in)) == NULL)
			break;
		ph = types[k] == LS_RULE_MASK ? field(&in) : NULL;
		pats[k] = ls_pattern_new(pat, 0, err, sizeof err, &erroff);
		if (pats[k] != NULL) {
			snprintf(name, sizeof name, "r%zu", k);
			ls_rules_add(rules, types[k], name, pats[k], ph);
			if (types[k] != LS_RULE_EXCLUDE)
				excl_only = 0;
			include |= types[k] == LS_RULE_INCLUDE;
			k++;
		}
		free(pat);
		free(ph);
	}
	len = in.left;
	copy1 = xmalloc(len + 1); /* exactly its length, for ASan */
	memcpy(copy1, in.p, len);
	for (i = 0; i < k; i++) {
		r = ls_pattern_match(pats[i], copy1, len, 0, NULL, 0, NULL);
		any_match |= r == 1;
		any_err |= r < 0;
		if (r == 1 && !ls_pattern_may_match(pats[i], copy1, len))
			fuzz_fail("the prefilter skips an entry its pattern "
				  "matches");
	}

	v1 = ls_rules_apply(rules, copy1, len, &out1, &len1);
	{
		char *keep = v1 == LS_RULES_KEEP ? xmalloc(len1 + 1) : NULL;

		if (keep != NULL)
			memcpy(keep, out1, len1);
		v2 = ls_rules_apply(rules, copy1, len, &out2, &len2);
		if (v1 != v2)
			fuzz_fail("verdicts differ: %d then %d", v1, v2);
		if (v1 == LS_RULES_KEEP
		    && (len1 != len2 || memcmp(keep, out2, len1) != 0))
			fuzz_fail("the kept entry differs between two runs");
		free(keep);
	}
	if (!any_match && !any_err && !include
	    && (v1 != LS_RULES_KEEP || len1 != len
		|| memcmp(out1, copy1, len) != 0))
		fuzz_fail("an entry no pattern matches was changed or dropped");
	if (excl_only && !any_err && k > 0
	    && (v1 == LS_RULES_DROP) != any_match)
		fuzz_fail("exclude rules alone: dropped %d, matched %d",
		    v1 == LS_RULES_DROP, any_match);
	/* Two applications: every drop counted twice, by one rule each. */
	for (i = 0; i < ls_rules_count(rules); i++) {
		ls_rules_stats(rules, i, &st);
		decided += st.excluded + st.not_included;
	}
	if (v1 == LS_RULES_DROP && decided != 2)
		fuzz_fail(
		    "%llu drops counted for 2", (unsigned long long)decided);
	if (v1 == LS_RULES_KEEP && decided != 0)
		fuzz_fail("kept, but %llu drops counted",
		    (unsigned long long)decided);
	for (i = 0; i < k; i++)
		ls_pattern_free(pats[i]);
	ls_rules_free(rules);
	free(copy1);
	return 0;
}
