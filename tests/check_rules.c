/*
 * check_rules: processing rules (rules.c) and the patterns under them
 * (pattern.c): what each type keeps, drops and masks, in order, with
 * their counters; placeholders with groups and empty matches as the
 * Agent (Go's ReplaceAll) makes them; a pathological pattern that returns
 * at once with an error, keeps a filtered line and withholds a masked
 * one; and the rules as conf.c builds them from YAML.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "conf.h"
#include "ctx.h"
#include "pattern.h"
#include "rules.h"
#include "testutil.h"

static struct ls_pattern *
pat(const char *re)
{
	struct ls_pattern *p;
	char err[128];
	size_t off;

	p = ls_pattern_new(re, 0, err, sizeof err, &off);
	ck_assert_msg(p != NULL, "%s: %s at %zu", re, err, off);
	return p;
}

/* Adds a rule and drops the test's reference to its pattern. */
static void
add(struct ls_rules *r, enum ls_rule_type t, const char *name, const char *re,
    const char *ph)
{
	struct ls_pattern *p = pat(re);

	ls_rules_add(r, t, name, p, ph);
	ls_pattern_free(p);
}

/* Applies r to s: the result as a new string, or NULL when dropped. */
static char *
apply(struct ls_rules *r, const char *s)
{
	const char *out;
	size_t len;

	if (ls_rules_apply(r, s, strlen(s), &out, &len) == LS_RULES_DROP)
		return NULL;
	return strndup(out, len);
}

static void
expect(struct ls_rules *r, const char *in, const char *want)
{
	char *got = apply(r, in);

	if (want == NULL)
		ck_assert_msg(got == NULL, "\"%s\" kept as \"%s\"", in, got);
	else {
		ck_assert_msg(got != NULL, "\"%s\" dropped", in);
		ck_assert_str_eq(got, want);
	}
	free(got);
}

static struct ls_rule_stats
stats(struct ls_rules *r, size_t i)
{
	struct ls_rule_stats st;

	ls_rules_stats(r, i, &st);
	return st;
}

START_TEST(type_names)
{
	ck_assert_int_eq(
	    ls_rule_type_parse("exclude_at_match"), LS_RULE_EXCLUDE);
	ck_assert_int_eq(
	    ls_rule_type_parse("include_at_match"), LS_RULE_INCLUDE);
	ck_assert_int_eq(ls_rule_type_parse("mask_sequences"), LS_RULE_MASK);
	ck_assert_int_eq(ls_rule_type_parse("multi_line"), LS_RULE_MULTILINE);
	ck_assert_int_eq(ls_rule_type_parse("exclude"), -1);
	ck_assert_str_eq(ls_rule_type_name(LS_RULE_MASK), "mask_sequences");
}
END_TEST

START_TEST(exclude_include)
{
	struct ls_rules *r = ls_rules_new("app");

	add(r, LS_RULE_EXCLUDE, "health", "GET /health\\b", NULL);
	add(r, LS_RULE_INCLUDE, "errors", "(?i)\\berror\\b", NULL);
	expect(r, "GET /health 200", NULL);
	expect(r, "GET /healthz ERROR", "GET /healthz ERROR");
	expect(r, "all good", NULL);
	expect(r, "an Error here", "an Error here");
	expect(r, "GET /health error", NULL); /* the first rule decides */
	ck_assert_uint_eq(stats(r, 0).excluded, 2);
	ck_assert_uint_eq(stats(r, 1).not_included, 1);
	ck_assert_uint_eq(stats(r, 0).errors + stats(r, 1).errors, 0);
	ck_assert_str_eq(stats(r, 1).name, "errors");
	ck_assert_str_eq(stats(r, 1).type, "include_at_match");
	ls_rules_free(r);
}
END_TEST

START_TEST(masks)
{
	struct ls_rules *r = ls_rules_new("app");
	const char *in = "paid 4111-1111-1111-1234 key=AKIAABCDEFGHIJKLMNOP ok";
	const char *out;
	size_t len;

	add(r, LS_RULE_MASK, "card", "\\b\\d{4}-\\d{4}-\\d{4}-(\\d{4})\\b",
	    "[card ending $1]");
	add(r, LS_RULE_MASK, "aws", "(key=)AKIA[A-Z0-9]{16}", "${1}[aws]");
	/* A mask before an exclude hides what the exclude would see. */
	add(r, LS_RULE_EXCLUDE, "no_akia", "AKIA", NULL);
	expect(r, in, "paid [card ending 1234] key=[aws] ok");
	expect(r, "two 1111-2222-3333-4444 and 5555-6666-7777-8888",
	    "two [card ending 4444] and [card ending 8888]");
	expect(r, "nothing here", "nothing here");
	expect(r, "AKIA alone", NULL);
	ck_assert_uint_eq(stats(r, 0).masked, 2); /* entries, not sequences */
	ck_assert_uint_eq(stats(r, 1).masked, 1);
	ck_assert_uint_eq(stats(r, 2).excluded, 1);
	/* An entry no rule changes is passed through, not copied. */
	ck_assert_int_eq(
	    ls_rules_apply(r, in + 26, 3, &out, &len), LS_RULES_KEEP);
	ck_assert_ptr_eq(out, in + 26);
	ck_assert_uint_eq(len, 3);
	ls_rules_free(r);
}
END_TEST

/* $0, $$, a lone $, an unset group, an empty placeholder; empty matches
 * the way Go's ReplaceAll (the Agent's) makes them. */
START_TEST(placeholders)
{
	struct ls_rules *r;

	r = ls_rules_new("app");
	add(r, LS_RULE_MASK, "m", "(a)|(b)", "<$0|$1|$2|$$|$x|${2}|$>");
	expect(r, "ab", "<a|a||$|$x||$><b||b|$|$x|b|$>");
	ls_rules_free(r);

	r = ls_rules_new("app");
	add(r, LS_RULE_MASK, "del", "secret=\\S+ ?", "");
	expect(r, "a secret=xyz b", "a b");
	ls_rules_free(r);

	r = ls_rules_new("app");
	add(r, LS_RULE_MASK, "star", "x*", "-");
	expect(r, "abc", "-a-b-c-");
	expect(r, "xxa", "-a-");
	expect(r, "", "-");
	ls_rules_free(r);

	/* UTF-8: "." is a character, and an empty match steps over one
	 * whole; bytes that are no UTF-8 still match around. */
	r = ls_rules_new("app");
	add(r, LS_RULE_MASK, "dot", "n.m", "N");
	expect(r, "n\xc3\xa9m", "N");
	expect(r, "\xff n\xc3\xa9m \xfe", "\xff N \xfe");
	ls_rules_free(r);
	r = ls_rules_new("app");
	add(r, LS_RULE_MASK, "e", "q*", ".");
	expect(r, "\xc3\xa9", ".\xc3\xa9.");
	ls_rules_free(r);
}
END_TEST

/* PCRE2's dialect, the Agent's patterns, and the POSIX classes. */
START_TEST(dialect)
{
	struct ls_pattern *p;
	char err[128];
	size_t off = 0;

	p = pat("^\\d{4}-\\d\\d\\s+\\w+?(?i:WARN)[[:digit:]]");
	ck_assert_int_eq(
	    ls_pattern_match(p, "2024-01  xwarn7", 15, 0, NULL, 0, NULL), 1);
	ck_assert_int_eq(
	    ls_pattern_match(p, "2024-01 x warn7", 15, 0, NULL, 0, NULL), 0);
	ck_assert_uint_eq(ls_pattern_groups(p), 0);
	ls_pattern_free(p);
	ck_assert_ptr_null(ls_pattern_new("ab(c", 0, err, sizeof err, &off));
	ck_assert_uint_eq(off, 4);
	ck_assert_str_eq(err, "missing closing parenthesis");
	/* Anchored: the Agent's multi_line rule. */
	p = ls_pattern_new("\\d", LS_PATTERN_ANCHORED, err, sizeof err, &off);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ls_pattern_match(p, "x1", 2, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(ls_pattern_match(p, "1x", 2, 0, NULL, 0, NULL), 1);
	ls_pattern_free(p);
}
END_TEST

/* The prefilter of re, as ls_pattern_prefilter describes it. */
static void
expect_prefilter(const char *re, const char *want)
{
	struct ls_pattern *p = pat(re);
	char buf[256];

	ls_pattern_prefilter(p, buf, sizeof buf);
	ck_assert_msg(strcmp(buf, want) == 0, "%s: prefilter '%s', not '%s'",
	    re, buf, want);
	ls_pattern_free(p);
}

/*
 * What the prefilter reads from a pattern: the benchmark's ten rules
 * (bench/run.py), and patterns beyond its reader, which get none (PCRE2
 * alone, as before the prefilter).
 */
START_TEST(prefilter_read)
{
	expect_prefilter("GET /(health|ready)z? ",
	    "\"GET /health\" \"GET /ready\" run 11 of 14");
	expect_prefilter(
	    "ELB-HealthChecker", "\"ELB-HealthChecke\" run 17 of 14");
	expect_prefilter("[\\w.+-]+@[\\w-]+\\.[\\w.]+", "\"@\"");
	expect_prefilter("\\b(?:\\d[ -]?){13,16}\\b", "run 13 of 12");
	/* Caseless: upper case here; b, e, a and r fold to ASCII only. */
	expect_prefilter(
	    "(?i)bearer\\s+[\\w.~+/-]+=*", "\"BEARER\" run 7 of 14");
	expect_prefilter("\\bAKIA[0-9A-Z]{16}\\b", "\"AKIA\" run 20 of 36");
	/* k and s also match U+212A and U+017F: no literal holds them. */
	expect_prefilter(
	    "(?i)\\b(secret|token|api_key)=\\S+", "\"ECRET=\" \"EN=\" \"EY=\"");
	expect_prefilter("(?i)ks", "");
	expect_prefilter("\\b\\d{3}-\\d{2}-\\d{4}\\b", "\"-\" run 11 of 11");
	expect_prefilter("://([^:/\\s]+):[^@/\\s]+@", "\"://\"");
	/* Optional parts hold nothing; alternatives hold one of theirs. */
	expect_prefilter("a?b*c{0,3}", "");
	expect_prefilter("foo|ba(r|z)", "\"foo\" \"bar\" \"baz\"");
	expect_prefilter("foo|\\d+", "");
	expect_prefilter("x(?=abc)y", "\"xy\"");
	/* Beyond the reader: options but a leading (?i), \Q, \x, \p,
	 * back references, recursion, verbs, x mode, odd quantifiers. */
	expect_prefilter("ab(?i)cd", "");
	expect_prefilter("ab(?i:cd)", "");
	expect_prefilter("(?x) a b c", "");
	expect_prefilter("(*UCP)abc\\w", "");
	expect_prefilter("\\Qabc\\E", "");
	expect_prefilter("abc\\x41", "");
	expect_prefilter("abc\\p{L}", "");
	expect_prefilter("(abc)\\1", "");
	expect_prefilter("(abc)(?1)", "");
	expect_prefilter("abc{,3}", "");
	expect_prefilter("[\\x00-z]abc", "");
	expect_prefilter("[\\.-z]abc", "");
	expect_prefilter("[[:<:]]abc\\d{9}", "");
}
END_TEST

/*
 * A prefilter that says "no match" where PCRE2 finds one would let a
 * secret through a mask. Every subject here matches its pattern, with
 * the literal in odd places (first, last, the whole line, twice, in
 * mixed case, across a multibyte character, after invalid UTF-8): each
 * must pass the prefilter, and a mask rule must mask it.
 */
START_TEST(prefilter_safe)
{
	static const struct {
		const char *re, *s;
	} c[] = {
		{ "GET /(health|ready)z? ", "GET /healthz " },
		{ "GET /(health|ready)z? ", "x GET /ready " },
		{ "GET /(health|ready)z? ", "\xff\xfeGET /health \xc3" },
		{ "ELB-HealthChecker", "ELB-HealthChecker" },
		{ "ELB-HealthChecker", "ELB-HealthCheckeELB-HealthChecker" },
		{ "[\\w.+-]+@[\\w-]+\\.[\\w.]+", "a@b.c" },
		{ "\\b(?:\\d[ -]?){13,16}\\b", "4111 1111 1111 1111" },
		{ "\\b(?:\\d[ -]?){13,16}\\b", "x 4111-1111-1111-1111" },
		{ "\\b(?:\\d[ -]?){13,16}\\b", "1234567890123" },
		/* The run's first byte right after the byte first looked at. */
		{ "\\b(?:\\d[ -]?){13,16}\\b", "abcdefghijkl:1234567890123" },
		{ "(?i)bearer\\s+[\\w.~+/-]+=*", "BeArEr abc" },
		{ "(?i)bearer\\s+[\\w.~+/-]+=*", "xbearer\tq" },
		{ "(?i)bearer\\s+[\\w.~+/-]+=*", "bbbeaREr  t" },
		{ "\\bAKIA[0-9A-Z]{16}\\b", "AKIAABCDEFGHIJKLMNOP" },
		{ "(?i)\\b(secret|token|api_key)=\\S+", "SECRET=1" },
		{ "(?i)\\b(secret|token|api_key)=\\S+", "x Api_Key=1" },
		/* U+212A (Kelvin) for k, U+017F (long s) for s. */
		{ "(?i)\\b(secret|token|api_key)=\\S+",
		    "to\xe2\x84\xaa"
		    "en=1" },
		{ "(?i)(secret|token|api_key)=\\S+",
		    "\xc5\xbf"
		    "ecret=1" },
		{ "(?i)kelvin",
		    "\xe2\x84\xaa"
		    "ELVIN" },
		{ "(?i)ks", "\xe2\x84\xaa\xc5\xbf" },
		{ "(?i)[k-m]{6}", "\xe2\x84\xaa\xe2\x84\xaaLLLL" },
		{ "(?i)[a-z]{6}", "\xc5\xbf\xc5\xbf\xc5\xbfsss" },
		{ "\\b\\d{3}-\\d{2}-\\d{4}\\b", "123-45-6789" },
		{ "://([^:/\\s]+):[^@/\\s]+@", "https://u:p@h" },
		{ "foo|ba(r|z)", "xbaz" },
		/* Literals found by a byte they share ("="), at the ends. */
		{ "(x=|yy=)a", "yy=a" },
		{ "(x=|yy=)a", "=ax=a" },
		{ "[^a]{6}",
		    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" },
		{ ".{3}", "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" },
		{ "\\w+\\s\\d{6}",
		    "ab\x0b"
		    "123456" },
		{ "x[]a]{6}y", "x]a]a]ay" },
		{ "[%--]{6}", "%&'()*" },
		/* Caseless, U+212A and U+017F in a class match k and s:
		 * its run is no run of bytes >= 0x80 alone. */
		{ "(?i)[\xe2\x84\xaa]{6}", "kkkKKK" },
		{ "(?i)[\xc5\xbf\xc3\xa9]{6}", "sS\xc3\xa9sSs" },
		{ "(?i)[\xc4\x80-\xc8\x80]{6}", "ssssss" },
	};
	struct ls_pattern *p;
	struct ls_rules *r;
	size_t i, n;
	char *got;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		p = pat(c[i].re);
		n = strlen(c[i].s);
		ck_assert_msg(
		    ls_pattern_match(p, c[i].s, n, 0, NULL, 0, NULL) == 1,
		    "%s does not match case %zu", c[i].re, i);
		ck_assert_msg(ls_pattern_may_match(p, c[i].s, n) == 1,
		    "the prefilter of %s skips case %zu", c[i].re, i);
		ls_pattern_free(p);
		r = ls_rules_new("app");
		add(r, LS_RULE_MASK, "m", c[i].re, "[M]");
		got = apply(r, c[i].s);
		ck_assert_msg(got != NULL && strstr(got, "[M]") != NULL,
		    "%s: case %zu not masked", c[i].re, i);
		ck_assert_uint_eq(stats(r, 0).masked, 1);
		free(got);
		ls_rules_free(r);
	}
}
END_TEST

/* The prefilter does skip: lines without what a match must hold. */
START_TEST(prefilter_skips)
{
	static const struct {
		const char *re, *s;
	} c[] = {
		{ "GET /(health|ready)z? ", "GET /heal GET /read" },
		{ "\\b(?:\\d[ -]?){13,16}\\b", "2026-12-03T05:49:20.429 1234" },
		{ "(?i)\\b(secret|token|api_key)=\\S+", "token took=1 secret" },
		{ "(?i)bearer\\s+\\S+", "BEARE" },
		{ "foo|ba(r|z)", "fo ba ra" },
		{ "(x=|yy=)a", "=a y=a yy=" },
	};
	struct ls_pattern *p;
	size_t i, n;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		p = pat(c[i].re);
		n = strlen(c[i].s);
		ck_assert_int_eq(
		    ls_pattern_match(p, c[i].s, n, 0, NULL, 0, NULL), 0);
		ck_assert_msg(ls_pattern_may_match(p, c[i].s, n) == 0,
		    "the prefilter of %s lets case %zu through", c[i].re, i);
		ls_pattern_free(p);
	}
}
END_TEST

/* A small deterministic generator (xorshift), for prefilter_random. */
static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A random pattern of the syntax the prefilter reads, into b. */
static void
gen_re(uint32_t *x, char *b, size_t cap, int depth)
{
	static const char *const atoms[] = { "a", "b", "k", "s", "K", "S", "-",
		"=", " ", ".", "\\d", "\\w", "\\s", "\\S", "\\b", "\\.",
		"[a-c]", "[^a]", "[k-m]", "[\\d-]", "[]a]", "\\x41", "^", "$",
		"(?=a)", "(?!b)", "\xc3\xa9", "\\t", "[\xe2\x84\xaa]",
		"[\xc5\xbf\xc3\xa9]", "[\xc4\x80-\xc8\x80]", "\\e", "\\n",
		"[\\s]", "[^\\d]", "\\B", "\\A", "\\z", "\\Z", "(?<=a)",
		"(?<!k)", "(?>ab|a)", "[[:digit:]]", "[[:alpha:]]" };
	static const char *const quants[]
	    = { "", "", "", "?", "*", "+", "{2}", "{1,3}", "{0,2}", "{2,}",
		      "+?", "*+", "{0}", "{3,5}", "??", "{6}" };
	size_t n = 1 + rnd(x) % 6, i;

	for (i = 0; i < n && strlen(b) + 40 < cap; i++) {
		if (depth < 3 && rnd(x) % 5 == 0) {
			strcat(b, rnd(x) % 2 ? "(" : "(?:");
			gen_re(x, b, cap, depth + 1);
			if (rnd(x) % 2) {
				strcat(b, "|");
				gen_re(x, b, cap, depth + 1);
			}
			strcat(b, ")");
		} else
			strcat(b,
			    atoms[rnd(x) % (sizeof atoms / sizeof atoms[0])]);
		strcat(b, quants[rnd(x) % (sizeof quants / sizeof quants[0])]);
	}
}

/*
 * Random patterns of the syntax the prefilter reads, on random subjects
 * of the bytes they name (and U+212A, U+017F, invalid UTF-8): whenever
 * PCRE2 matches, the prefilter must let the subject through.
 */
START_TEST(prefilter_random)
{
	static const char *const parts[]
	    = { "a", "b", "k", "s", "K", "S", "-", "=", " ", "1", "2", "_", ".",
		      "A", "B", "\xe2\x84\xaa", "\xc5\xbf", "\xff", "\xc3\xa9",
		      "\t", "m", "l", "c", "\n", "\x1b", "\x0b", "\xc4\x81" };
	struct ls_pattern *p;
	char re[256], sub[128], err[128];
	uint32_t x = 2463534242u;
	size_t off, len, i, j, n, m, pal[4], tried = 0, matched = 0;

	for (i = 0; i < 20000; i++) {
		strcpy(re, rnd(&x) % 3 == 0 ? "(?i)" : "");
		gen_re(&x, re, sizeof re, 0);
		if ((p = ls_pattern_new(re, 0, err, sizeof err, &off)) == NULL)
			continue;
		for (j = 0; j < 30; j++) {
			/* Half the subjects from a palette of a few parts,
			 * so that runs of one class ("kKkKkK") occur. */
			m = rnd(&x) % 2 ? 1 + rnd(&x) % 4 : 4;
			for (n = 0; n < 4; n++)
				pal[n] = rnd(&x)
				    % (sizeof parts / sizeof parts[0]);
			sub[0] = '\0';
			n = rnd(&x) % 24;
			while (n-- > 0)
				strcat(sub,
				    m < 4 ? parts[pal[rnd(&x) % m]]
					  : parts[rnd(&x)
					      % (sizeof parts
						  / sizeof parts[0])]);
			len = strlen(sub);
			tried++;
			if (ls_pattern_match(p, sub, len, 0, NULL, 0, NULL)
			    != 1)
				continue;
			matched++;
			ck_assert_msg(ls_pattern_may_match(p, sub, len) == 1,
			    "the prefilter of \"%s\" skips \"%s\"", re, sub);
		}
		ls_pattern_free(p);
	}
	ck_assert_uint_gt(matched, tried / 20);
}
END_TEST

/* UTF-8 of code point u into b; its length. */
static size_t
utf8(unsigned u, char *b)
{
	if (u < 0x800) {
		b[0] = (char)(0xc0 | u >> 6);
		b[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		b[0] = (char)(0xe0 | u >> 12);
		b[1] = (char)(0x80 | (u >> 6 & 0x3f));
		b[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | u >> 18);
	b[1] = (char)(0x80 | (u >> 12 & 0x3f));
	b[2] = (char)(0x80 | (u >> 6 & 0x3f));
	b[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/*
 * What the prefilter assumes of PCRE2's caseless matching in UTF mode:
 * no character above U+007F matches a caseless ASCII character but
 * U+212A (k) and U+017F (s). Should a PCRE2 fold more, this fails before a
 * caseless literal lets such a line skip a mask.
 */
START_TEST(caseless_unicode)
{
	struct ls_pattern *other = pat("(?i)[a-jlmnoprt-z]");
	struct ls_pattern *punct = pat("(?i)[ -@\\[-`{-~]");
	struct ls_pattern *k = pat("(?i)k"), *s = pat("(?i)s");
	char b[4];
	unsigned u;
	size_t n;

	for (u = 0x80; u < 0x110000; u++) {
		if (u >= 0xd800 && u < 0xe000)
			continue;
		n = utf8(u, b);
		ck_assert_msg(
		    ls_pattern_match(other, b, n, 0, NULL, 0, NULL) == 0,
		    "U+%04X matches a caseless ASCII letter", u);
		ck_assert_msg(
		    ls_pattern_match(punct, b, n, 0, NULL, 0, NULL) == 0,
		    "U+%04X matches a caseless ASCII non-letter", u);
		ck_assert_int_eq(
		    ls_pattern_match(k, b, n, 0, NULL, 0, NULL), u == 0x212a);
		ck_assert_int_eq(
		    ls_pattern_match(s, b, n, 0, NULL, 0, NULL), u == 0x17f);
	}
	ls_pattern_free(other);
	ls_pattern_free(punct);
	ls_pattern_free(k);
	ls_pattern_free(s);
}
END_TEST

/*
 * "(a+)+$" against "aaaa...b" backtracks exponentially: without limits
 * this would not end in our lifetime. It must return within a bound,
 * count an error, keep the line for a filter, and withhold it whole for a
 * mask.
 */
START_TEST(pathological)
{
	struct ls_rules *r = ls_rules_new("app");
	char line[256];
	const char *why = NULL;
	struct ls_pattern *p;
	int64_t t0, ms;
	char *got;

	memset(line, 'a', 64);
	strcpy(line + 64, "b SECRET");
	add(r, LS_RULE_EXCLUDE, "ex", "(a+)+$", NULL);
	add(r, LS_RULE_INCLUDE, "in", "(a+)+$", NULL);
	add(r, LS_RULE_MASK, "mask", "(a+)+$", "[masked]");
	t0 = ls_now_ms();
	got = apply(r, line);
	ms = ls_now_ms() - t0;
	ck_assert_msg(ms < 2000, "took %lld ms", (long long)ms);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_null(strstr(got, "SECRET"));
	ck_assert_str_eq(got,
	    "[logshipd: entry withheld: mask rule \"mask\" could not be "
	    "evaluated]");
	free(got);
	ck_assert_uint_eq(stats(r, 0).errors, 1);
	ck_assert_uint_eq(stats(r, 0).excluded, 0);
	ck_assert_uint_eq(stats(r, 1).errors, 1);
	ck_assert_uint_eq(stats(r, 1).not_included, 0);
	ck_assert_uint_eq(stats(r, 2).errors, 1);
	ck_assert_uint_eq(stats(r, 2).masked, 0);
	ls_rules_free(r);

	p = pat("(a+)+$");
	ck_assert_int_eq(
	    ls_pattern_match(p, line, strlen(line), 0, NULL, 0, &why), -1);
	ck_assert_str_eq(why, "the match limit was hit");
	ls_pattern_free(p);
}
END_TEST

START_TEST(carry)
{
	struct ls_rules *a = ls_rules_new("app"), *b = ls_rules_new("app");

	add(a, LS_RULE_EXCLUDE, "x", "x", NULL);
	add(a, LS_RULE_MASK, "m", "m", "M");
	add(b, LS_RULE_MASK, "x", "x", "X"); /* same name, other type */
	add(b, LS_RULE_MASK, "m", "m", "M");
	expect(a, "x", NULL);
	expect(a, "m", "M");
	expect(a, "m", "M");
	ls_rules_carry(b, a);
	ls_rules_carry(b, NULL);
	ck_assert_uint_eq(stats(b, 0).masked, 0);
	ck_assert_uint_eq(stats(b, 1).masked, 2);
	ls_rules_free(a);
	ls_rules_free(b);
	ls_rules_free(NULL);
	ck_assert_uint_eq(ls_rules_count(NULL), 0);
}
END_TEST

#define DST                                                                    \
	"destinations:\n"                                                      \
	"  - { name: out, type: http, url: 'http://127.0.0.1:1/' }\n"

/* Top-level rules come first in every source's list; multi_line becomes
 * the start pattern, anchored. */
START_TEST(from_conf)
{
	static const char yaml[]
	    = "log_processing_rules:\n"
	      "  - { type: exclude_at_match, name: health, pattern: "
	      "'/health' }\n"
	      "  - { type: multi_line, name: ts, pattern: '\\d{4}-' }\n"
	      "sources:\n"
	      "  - name: a\n"
	      "    paths: [/tmp/a.log]\n"
	      "    log_processing_rules:\n"
	      "      - type: mask_sequences\n"
	      "        name: card\n"
	      "        replace_placeholder: '[card]'\n"
	      "        pattern: '\\d{4}-\\d{4}'\n"
	      "  - name: b\n"
	      "    paths: [/tmp/b.log]\n"
	      "    multiline: { start: 'START' }\n" DST;
	struct ls_conf *c;
	struct ls_conf_source *a, *b;

	c = ls_conf_load_string("t.yaml", yaml, stderr);
	ck_assert_ptr_nonnull(c);
	a = &c->sources[0];
	b = &c->sources[1];
	ck_assert_uint_eq(ls_rules_count(a->rules), 2);
	ck_assert_str_eq(stats(a->rules, 0).name, "health");
	ck_assert_str_eq(stats(a->rules, 1).name, "card");
	ck_assert_uint_eq(ls_rules_count(b->rules), 1);
	expect(a->rules, "GET /health", NULL);
	expect(a->rules, "1234-5678 x", "[card] x");
	ck_assert_str_eq(a->multiline_start, "\\d{4}-");
	ck_assert_int_eq(
	    ls_pattern_match(a->multiline_re, "x 2024-", 7, 0, NULL, 0, NULL),
	    0);
	ck_assert_int_eq(
	    ls_pattern_match(a->multiline_re, "2024-", 5, 0, NULL, 0, NULL), 1);
	/* The source's own multiline wins over a top-level multi_line. */
	ck_assert_str_eq(b->multiline_start, "START");
	ls_conf_free(c);
}
END_TEST

static char *
conf_errors(const char *yaml)
{
	char *errs = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(f = open_memstream(&errs, &len));
	ck_assert_ptr_null(ls_conf_load_string("t.yaml", yaml, f));
	fclose(f);
	return errs;
}

START_TEST(conf_errors_named)
{
	char *e;

	e = conf_errors(
	    "sources:\n"
	    "  - name: a\n"
	    "    paths: [/tmp/a.log]\n"
	    "    multiline: { start: '([a-z' }\n"
	    "    log_processing_rules:\n"
	    "      - { type: exlude_at_match, name: x, pattern: a }\n"
	    "      - { type: include_at_match, name: i, pattern: "
	    "'a(?<n' }\n"
	    "      - { type: multi_line, name: ml, pattern: x }\n"
	    "      - { type: exclude_at_match, name: p, pattern: "
	    "a, replace_placeholder: b }\n"
	    "      - { type: mask_sequences, pattern: a }\n"
	    "      - { type: mask_sequences, name: ml, pattern: "
	    "b }\n" DST);
	ck_assert_str_eq(e,
	    "t.yaml:4:25: sources[0].multiline.start: \"([a-z\" is not a "
	    "valid PCRE2 pattern: missing terminating ] for character class "
	    "at offset 5\n"
	    "t.yaml:6:17: sources[0].log_processing_rules[0].type: unknown "
	    "rule type \"exlude_at_match\" (expected exclude_at_match, "
	    "include_at_match, mask_sequences or multi_line)\n"
	    "t.yaml:7:53: sources[0].log_processing_rules[1].pattern: "
	    "\"a(?<n\" is not a valid PCRE2 pattern: syntax error in "
	    "subpattern name (missing terminator?) at offset 5\n"
	    "t.yaml:8:35: sources[0].log_processing_rules[2]: a multi_line "
	    "rule and multiline.start both set the start pattern: keep one\n"
	    "t.yaml:9:77: sources[0].log_processing_rules[3]."
	    "replace_placeholder: only a mask_sequences rule has a "
	    "placeholder\n"
	    "t.yaml:10:9: sources[0].log_processing_rules[4]: missing "
	    "required key \"name\"\n"
	    "t.yaml:11:39: sources[0].log_processing_rules[5].name: "
	    "duplicate rule name \"ml\" (first at line 8)\n");
	free(e);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc;

	tc = tcase_create("types");
	tcase_add_test(tc, type_names);
	tcase_add_test(tc, exclude_include);
	tcase_add_test(tc, masks);
	tcase_add_test(tc, placeholders);
	tcase_add_test(tc, dialect);
	tcase_add_test(tc, carry);
	suite_add_tcase(s, tc);
	tc = tcase_create("prefilter");
	tcase_add_test(tc, prefilter_read);
	tcase_add_test(tc, prefilter_safe);
	tcase_add_test(tc, prefilter_skips);
	tcase_add_test(tc, prefilter_random);
	tcase_add_test(tc, caseless_unicode);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, pathological);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	tc = tcase_create("conf");
	tcase_add_test(tc, from_conf);
	tcase_add_test(tc, conf_errors_named);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(rules_suite());
}
