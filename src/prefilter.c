/*
 * prefilter: see prefilter.h.
 *
 * The prefilter: what every match of a pattern must contain, read from
 * the pattern's text, so that an entry without it skips PCRE2. Two
 * necessary conditions, each used when found:
 *
 *   - lits: a set of literals, one of which every match contains (the
 *     trigram-index analysis of RE2's prefilter: for each part of the
 *     pattern the exact set of strings it matches when small, else
 *     what its matches start and end with and what they contain);
 *   - run: a set of bytes and a length m: every match holds m bytes in a
 *     row from the set ("\b(?:\d[ -]?){13,16}\b": 13 of [0-9 -]).
 *
 * The reader knows a subset of PCRE2's syntax and gives up (no
 * prefilter: PCRE2 alone, as before) on anything else: options other
 * than one (?i) at the very start, \Q, \x, \p, back references,
 * recursion, conditions, verbs. It errs only towards "may match": a
 * construct it does not know the bytes of is any bytes.
 *
 * Caseless: in UTF mode PCRE2 folds k and s with U+212A (KELVIN SIGN)
 * and U+017F (LONG S), the only non-ASCII characters any ASCII letter
 * matches (check_rules: caseless_unicode). A caseless k or s is thus no
 * literal, and a class holding one also holds every byte >= 0x80.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "prefilter_impl.h"
#include "xmalloc.h"

#define PF_DEPTH 16 /* nested groups (an info is ~1 KiB of stack) */
#define RUN_MIN 6 /* a shorter run is not worth a scan */

struct info {
	struct lset exact; /* every string a match can be, or n -1 */
	struct lset pre; /* every match starts with one of these */
	struct lset suf; /* ... ends with one of these */
	struct lset req; /* ... contains one of these */
	struct bset cls; /* every byte of every match is in cls */
	size_t minlen; /* every match is this long at least */
	struct bset rcls; /* every match holds rlen bytes of rcls */
	size_t rlen; /* in a row */
};

struct pfparse {
	const char *s;
	int ci;
	int fail;
	int depth;
};

static void
bset_add(struct bset *b, unsigned c)
{
	b->w[c >> 6] |= (uint64_t)1 << (c & 63);
}

static int
bset_has(const struct bset *b, unsigned c)
{
	return (b->w[c >> 6] >> (c & 63)) & 1;
}

static void
bset_or(struct bset *a, const struct bset *b)
{
	int i;

	for (i = 0; i < 4; i++)
		a->w[i] |= b->w[i];
}

static void
bset_range(struct bset *b, unsigned lo, unsigned hi)
{
	for (; lo <= hi; lo++)
		bset_add(b, lo);
}

static unsigned
bset_count(const struct bset *b)
{
	return (unsigned)(__builtin_popcountll(b->w[0])
	    + __builtin_popcountll(b->w[1]) + __builtin_popcountll(b->w[2])
	    + __builtin_popcountll(b->w[3]));
}

static int
is_alpha(unsigned c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Adds c to b as a caseless (ci) pattern character matches it. */
static void
bset_char(struct bset *b, unsigned c, int ci)
{
	bset_add(b, c);
	if (ci && is_alpha(c)) {
		bset_add(b, c ^ 0x20);
		if ((c | 0x20) == 'k' || (c | 0x20) == 's')
			bset_range(b, 0x80, 0xff);
	}
}

static void
lset_empty(struct lset *s)
{
	s->n = 1;
	s->v[0].len = 0;
	s->v[0].ci = 0;
}

static int
lit_eq(const struct lit *a, const struct lit *b)
{
	return a->len == b->len && a->ci == b->ci
	    && memcmp(a->s, b->s, a->len) == 0;
}

/* a | b into o (o may be a). Not known when too large. */
static void
lset_union(struct lset *o, const struct lset *a, const struct lset *b)
{
	struct lset t;
	int i, j;

	if (a->n < 0 || b->n < 0) {
		o->n = -1;
		return;
	}
	t = *a;
	for (i = 0; i < b->n; i++) {
		for (j = 0; j < t.n; j++)
			if (lit_eq(&t.v[j], &b->v[i]))
				break;
		if (j < t.n)
			continue;
		if (t.n == LIT_MAX) {
			o->n = -1;
			return;
		}
		t.v[t.n++] = b->v[i];
	}
	*o = t;
}

/* Every a then b into o (o may be a or b). 0: too large (o unchanged). */
static int
lset_cross(struct lset *o, const struct lset *a, const struct lset *b)
{
	struct lset t;
	struct lit *l;
	int i, j;

	if (a->n < 0 || b->n < 0 || a->n * b->n > LIT_MAX)
		return 0;
	t.n = 0;
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			if (a->v[i].len + b->v[j].len > LIT_LEN)
				return 0;
			l = &t.v[t.n++];
			*l = a->v[i];
			memcpy(l->s + l->len, b->v[j].s, b->v[j].len);
			l->ci |= (uint16_t)(b->v[j].ci << l->len);
			l->len = (unsigned char)(l->len + b->v[j].len);
		}
	*o = t;
	return 1;
}

/* How much a set of literals tells: its shortest literal's length (0:
 * nothing, as a set holding "" or not known). */
static unsigned
lset_score(const struct lset *s)
{
	unsigned m = LIT_LEN + 1;
	int i;

	if (s->n <= 0)
		return 0;
	for (i = 0; i < s->n; i++)
		if (s->v[i].len < m)
			m = s->v[i].len;
	return m == 0 ? 0 : m * 16 + (unsigned)(LIT_MAX - s->n);
}

static void
lset_best(struct lset *o, const struct lset *c)
{
	if (lset_score(c) > lset_score(o))
		*o = *c;
}

/* How much a run tells: its length times about the bits a byte of the
 * class leaves out (9 less the bits of the class's size). */
static size_t
run_score(const struct bset *c, size_t len)
{
	unsigned n = bset_count(c);

	if (len < RUN_MIN || n == 0 || n > 128)
		return 0;
	return len * (size_t)(9 - (32 - __builtin_clz(n)));
}

static void
run_best(struct info *o, const struct bset *c, size_t len)
{
	if (run_score(c, len) > run_score(&o->rcls, o->rlen)) {
		o->rcls = *c;
		o->rlen = len;
	}
}

/* A part that matches only the empty string (an assertion). */
static void
info_zero(struct info *x)
{
	memset(x, 0, sizeof *x);
	lset_empty(&x->exact);
	lset_empty(&x->pre);
	lset_empty(&x->suf);
	lset_empty(&x->req);
}

/* One character of the bytes in c, no literal. */
static void
info_any(struct info *x, const struct bset *c)
{
	info_zero(x);
	x->exact.n = -1;
	x->cls = *c;
	x->minlen = 1;
}

static void
info_full(struct info *x)
{
	struct bset c;

	memset(&c, 0xff, sizeof c);
	info_any(x, &c);
}

/* The character c, caseless when ci. */
static void
info_char(struct info *x, unsigned c, int ci)
{
	struct bset b = { { 0 } };

	bset_char(&b, c, ci);
	if (ci && ((c | 0x20) == 'k' || (c | 0x20) == 's')) {
		info_any(x, &b);
		return;
	}
	info_zero(x);
	x->cls = b;
	x->minlen = 1;
	x->exact.v[0].len = 1;
	x->exact.v[0].s[0] = (unsigned char)(ci && is_alpha(c) ? c | 0x20 : c);
	x->exact.v[0].ci = ci && is_alpha(c);
	x->pre = x->suf = x->req = x->exact;
}

/* x then y into x. */
static void
info_cat(struct info *x, const struct info *y)
{
	struct lset t;
	struct info o;

	o = *x;
	if (!lset_cross(&o.exact, &x->exact, &y->exact))
		o.exact.n = -1;
	if (x->exact.n >= 0) {
		if (!lset_cross(&o.pre, &x->exact, &y->pre))
			o.pre = x->exact;
	}
	if (y->exact.n >= 0) {
		if (!lset_cross(&o.suf, &x->suf, &y->exact))
			o.suf = y->exact;
	} else
		o.suf = y->suf;
	lset_best(&o.req, &y->req);
	if (lset_cross(&t, &x->suf, &y->pre))
		lset_best(&o.req, &t);
	if (o.exact.n >= 0) {
		o.pre = o.suf = o.exact;
		lset_best(&o.req, &o.exact);
	}
	bset_or(&o.cls, &y->cls);
	o.minlen = x->minlen + y->minlen;
	if (o.minlen > 1 << 20)
		o.minlen = 1 << 20;
	run_best(&o, &y->rcls, y->rlen);
	run_best(&o, &o.cls, o.minlen);
	*x = o;
}

/* x or y into x. */
static void
info_alt(struct info *x, const struct info *y)
{
	lset_union(&x->exact, &x->exact, &y->exact);
	lset_union(&x->pre, &x->pre, &y->pre);
	lset_union(&x->suf, &x->suf, &y->suf);
	lset_union(&x->req, &x->req, &y->req);
	if (x->pre.n < 0)
		lset_empty(&x->pre);
	if (x->suf.n < 0)
		lset_empty(&x->suf);
	if (x->req.n < 0)
		lset_empty(&x->req);
	bset_or(&x->cls, &y->cls);
	if (y->minlen < x->minlen)
		x->minlen = y->minlen;
	memset(&x->rcls, 0, sizeof x->rcls);
	x->rlen = 0;
	run_best(x, &x->cls, x->minlen);
}

/* x repeated min times or more into x. */
static void
info_rep(struct info *x, size_t min, size_t max)
{
	if (min == 1 && max == 1)
		return;
	if (min == 0) {
		struct bset c = x->cls;

		info_zero(x);
		x->exact.n = -1;
		x->cls = c;
		return;
	}
	x->exact.n = -1;
	if (x->minlen > 0 && min > (1 << 20) / x->minlen)
		x->minlen = 1 << 20;
	else
		x->minlen *= min;
	run_best(x, &x->cls, x->minlen);
}

static struct bset
bset_word(void)
{
	struct bset b = { { 0 } };

	bset_range(&b, '0', '9');
	bset_range(&b, 'A', 'Z');
	bset_range(&b, 'a', 'z');
	bset_add(&b, '_');
	return b;
}

/*
 * An escape after '\' at s: 1 and *x, the atom (as a class when cls is
 * set: then *c gets its bytes); 0: an assertion (*x empty); -1: not
 * known.
 */
static int
pf_escape(struct pfparse *p, struct info *x, struct bset *c, int incls)
{
	unsigned char e = (unsigned char)*p->s++;
	struct bset b = { { 0 } };
	static const char ctl[] = "t\tn\nr\rf\fe\033a\a";
	const char *k;

	switch (e) {
	case 'd':
		bset_range(&b, '0', '9');
		break;
	case 'w':
		b = bset_word();
		break;
	case 's':
		bset_range(&b, '\t', '\r');
		bset_add(&b, ' ');
		break;
	case 'D':
	case 'W':
	case 'S':
	case 'h':
	case 'H':
	case 'v':
	case 'V':
	case 'R':
	case 'X':
	case 'C':
		memset(&b, 0xff, sizeof b);
		break;
	case 'b':
	case 'B':
	case 'A':
	case 'z':
	case 'Z':
	case 'G':
		if (incls)
			return -1;
		info_zero(x);
		return 0;
	default:
		if (e >= 0x20 && e < 0x7f && !is_alpha(e)
		    && !(e >= '0' && e <= '9')) {
			if (incls)
				bset_char(c, e, 0);
			else
				info_char(x, e, 0);
			return 1;
		}
		if (e != '\0' && (k = strchr(ctl, e)) != NULL
		    && (k - ctl) % 2 == 0) {
			if (incls)
				bset_add(c, (unsigned char)k[1]);
			else
				info_char(x, (unsigned char)k[1], 0);
			return 1;
		}
		return -1;
	}
	if (incls)
		bset_or(c, &b);
	else
		info_any(x, &b);
	return 1;
}

/* A class after '[': its bytes into *x, or p->fail. */
static void
pf_class(struct pfparse *p, struct info *x)
{
	struct bset b = { { 0 } };
	struct info dummy;
	unsigned char c, hi;
	int neg = 0, first = 1;

	/* [[:<:]] and [[:>:]]: PCRE2's word boundaries, no class. */
	if (strncmp(p->s, "[:<:]]", 6) == 0
	    || strncmp(p->s, "[:>:]]", 6) == 0) {
		p->fail = 1;
		return;
	}
	if (*p->s == '^') {
		neg = 1;
		p->s++;
	}
	for (;; first = 0) {
		c = (unsigned char)*p->s;
		if (c == '\0') {
			p->fail = 1;
			return;
		}
		if (c == ']' && !first) {
			p->s++;
			break;
		}
		if (c == '[' && (p->s[1] == '.' || p->s[1] == '=')) {
			p->fail = 1;
			return;
		}
		if (c == '[' && p->s[1] == ':') {
			/* [:name:]: any bytes. */
			if ((p->s = strstr(p->s + 2, ":]")) == NULL) {
				p->fail = 1;
				return;
			}
			p->s += 2;
			memset(&b, 0xff, sizeof b);
			continue;
		}
		if (c == '\\') {
			p->s++;
			/* An escape that starts a range ("[\\.-z]"): not
			 * known. */
			if (pf_escape(p, &dummy, &b, 1) < 0
			    || (*p->s == '-' && p->s[1] != ']')) {
				p->fail = 1;
				return;
			}
			continue;
		}
		p->s++;
		if (c >= 0x80) {
			/* Caseless, U+212A and U+017F (or a range holding
			 * them) also match k and s. */
			bset_range(&b, 0x80, 0xff);
			if (p->ci) {
				bset_char(&b, 'k', 1);
				bset_char(&b, 's', 1);
			}
			continue;
		}
		if (*p->s == '-' && p->s[1] != ']' && p->s[1] != '\0') {
			/* A range: of two plain characters, else not known. */
			hi = (unsigned char)p->s[1];
			if (hi == '\\' || hi == '[' || hi >= 0x80 || hi < c) {
				p->fail = 1;
				return;
			}
			p->s += 2;
			for (; c <= hi; c++)
				bset_char(&b, c, p->ci);
			continue;
		}
		bset_char(&b, c, p->ci);
	}
	if (neg)
		memset(&b, 0xff, sizeof b);
	info_any(x, &b);
}

static void pf_alt(struct pfparse *, struct info *);

/* A group after '(': *x, or p->fail. */
static void
pf_group(struct pfparse *p, struct info *x)
{
	int zero = 0;

	if (++p->depth > PF_DEPTH) {
		p->fail = 1;
		return;
	}
	if (*p->s == '*') {
		p->fail = 1;
		return;
	}
	if (*p->s == '?') {
		p->s++;
		if (*p->s == ':' || *p->s == '>')
			p->s++;
		else if (*p->s == '=' || *p->s == '!') {
			p->s++;
			zero = 1;
		} else if (*p->s == '<' && (p->s[1] == '=' || p->s[1] == '!')) {
			p->s += 2;
			zero = 1;
		} else if (*p->s == '<' || *p->s == '\''
		    || (*p->s == 'P' && p->s[1] == '<')) {
			/* A named group. */
			p->s += *p->s == 'P' ? 2 : 1;
			while (*p->s == '_' || is_alpha((unsigned char)*p->s)
			    || (*p->s >= '0' && *p->s <= '9'))
				p->s++;
			if (*p->s != '>' && *p->s != '\'') {
				p->fail = 1;
				return;
			}
			p->s++;
		} else {
			p->fail = 1;
			return;
		}
	}
	pf_alt(p, x);
	if (p->fail)
		return;
	if (*p->s != ')') {
		p->fail = 1;
		return;
	}
	p->s++;
	p->depth--;
	if (zero)
		info_zero(x);
}

/* A quantifier at s, if any: 1 and its bounds; -1: not known. */
static int
pf_quant(struct pfparse *p, size_t *min, size_t *max)
{
	char *end;
	const char *q = p->s;

	switch (*q) {
	case '?':
		*min = 0, *max = 1;
		q++;
		break;
	case '*':
		*min = 0, *max = SIZE_MAX;
		q++;
		break;
	case '+':
		*min = 1, *max = SIZE_MAX;
		q++;
		break;
	case '{':
		if (q[1] < '0' || q[1] > '9')
			return -1;
		*min = *max = strtoul(q + 1, &end, 10);
		if (*end == ',') {
			if (end[1] == '}')
				*max = SIZE_MAX, end++;
			else if (end[1] >= '0' && end[1] <= '9')
				*max = strtoul(end + 1, &end, 10);
			else
				return -1;
		}
		if (*end != '}' || *min > 65535)
			return -1;
		q = end + 1;
		break;
	default:
		return 0;
	}
	if (*q == '?' || *q == '+')
		q++;
	p->s = q;
	return 1;
}

/* A sequence up to '|', ')' or the end. */
static void
pf_cat(struct pfparse *p, struct info *x)
{
	struct info a;
	size_t min, max;
	unsigned char c;
	int r;

	info_zero(x);
	for (;;) {
		c = (unsigned char)*p->s;
		if (c == '\0' || c == '|' || c == ')')
			return;
		p->s++;
		switch (c) {
		case '\\':
			if (pf_escape(p, &a, NULL, 0) < 0)
				p->fail = 1;
			break;
		case '[':
			pf_class(p, &a);
			break;
		case '(':
			pf_group(p, &a);
			break;
		case '.':
			info_full(&a);
			break;
		case '^':
		case '$':
			info_zero(&a);
			break;
		case '{':
		case '?':
		case '*':
		case '+':
			p->fail = 1;
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				info_char(&a, c, p->ci);
			else
				info_full(&a);
			break;
		}
		if (p->fail)
			return;
		if ((r = pf_quant(p, &min, &max)) < 0) {
			p->fail = 1;
			return;
		}
		if (r > 0)
			info_rep(&a, min, max);
		info_cat(x, &a);
	}
}

static void
pf_alt(struct pfparse *p, struct info *x)
{
	struct info b;

	pf_cat(p, x);
	while (!p->fail && *p->s == '|') {
		p->s++;
		pf_cat(p, &b);
		if (!p->fail)
			info_alt(x, &b);
	}
}

/* Reads what every match of re must hold into p (nothing when re is
 * beyond the reader). */
static void
pf_analyze(struct ls_prefilter *p, const char *re)
{
	struct pfparse ps = { re, 0, 0, 0 };
	struct info x;
	int i;

	p->lits.n = 0;
	p->rlen = 0;
	if (strncmp(re, "(?i)", 4) == 0) {
		ps.ci = 1;
		ps.s += 4;
	}
	pf_alt(&ps, &x);
	if (ps.fail || *ps.s != '\0')
		return;
	lset_best(&x.req, &x.pre);
	lset_best(&x.req, &x.suf);
	if (lset_score(&x.req) > 0) {
		p->lits = x.req;
		pf_anchors(p);
	}
	if (run_score(&x.rcls, x.rlen) > 0) {
		for (i = 0; i < 256; i++)
			p->rtab[i]
			    = (unsigned char)bset_has(&x.rcls, (unsigned)i);
		p->rlen = x.rlen;
	}
}

struct ls_prefilter *
ls_prefilter_new(const char *re)
{
	struct ls_prefilter *p;

	p = xcalloc(1, sizeof *p);
	pf_analyze(p, re);
	if (p->lits.n == 0 && p->rlen == 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
ls_prefilter_free(struct ls_prefilter *p)
{
	free(p);
}
