/*
 * prefilter_scan: the search for a prefilter's literals and run in an
 * entry (the byte each literal is looked for by, then memchr and a
 * table), and its description (see prefilter.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "prefilter.h"
#include "prefilter_impl.h"

/* How common a byte is in log lines, roughly (lower: rarer). */
static int
byte_rank(unsigned c)
{
	if (c == ' ')
		return 250;
	if (strchr("etaoinsr", (int)c) != NULL && c != '\0')
		return 200;
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 150;
	if (c == '"' || c == ':' || c == ',')
		return 130;
	if (c != '\0' && strchr("-.=_/", (int)c) != NULL)
		return 120;
	if (c >= 'A' && c <= 'Z')
		return 80;
	return 50;
}

/* The byte of l a search looks for: the rarest, a caseless letter only
 * when there is nothing else (it costs two searches). */
static unsigned char
lit_anchor(const struct lit *l)
{
	unsigned j, best = 0;
	int r, br = 1 << 30;

	for (j = 0; j < l->len; j++) {
		r = byte_rank(l->s[j]) + ((l->ci >> j & 1) ? 1000 : 0);
		if (r < br) {
			br = r;
			best = j;
		}
	}
	return (unsigned char)best;
}

/*
 * When a byte that is no caseless letter is in every literal of p
 * ("=" in "ECRET=" "EN=" "EY="), the rarest such byte is every
 * literal's anchor, and one search for it finds them all.
 */
static void
lits_share(struct ls_prefilter *p)
{
	const struct lit *l = &p->lits.v[0];
	unsigned j, k, best = 256;
	int i, br = 1 << 30;
	const unsigned char *at;

	p->shared = 0;
	if (p->lits.n < 2)
		return;
	for (j = 0; j < l->len; j++) {
		if ((l->ci >> j) & 1 || byte_rank(l->s[j]) >= br)
			continue;
		for (i = 1; i < p->lits.n; i++)
			if (memchr(p->lits.v[i].s, l->s[j], p->lits.v[i].len)
			    == NULL)
				break;
		if (i < p->lits.n)
			continue;
		/* Where it is caseless in a literal, it does not count:
		 * memchr finds one case only. */
		for (i = 0; i < p->lits.n; i++) {
			at = memchr(p->lits.v[i].s, l->s[j], p->lits.v[i].len);
			k = (unsigned)(at - p->lits.v[i].s);
			if ((p->lits.v[i].ci >> k) & 1)
				break;
		}
		if (i < p->lits.n)
			continue;
		br = byte_rank(l->s[j]);
		best = l->s[j];
	}
	if (best == 256)
		return;
	for (i = 0; i < p->lits.n; i++) {
		at = memchr(p->lits.v[i].s, (int)best, p->lits.v[i].len);
		p->lits.v[i].anchor = (unsigned char)(at - p->lits.v[i].s);
	}
	p->shared = 1;
}

void
pf_anchors(struct ls_prefilter *p)
{
	int i;

	for (i = 0; i < p->lits.n; i++)
		p->lits.v[i].anchor = lit_anchor(&p->lits.v[i]);
	lits_share(p);
}

/* Whether the literal l is at u (len bytes left). */
static int
lit_at(const struct lit *l, const unsigned char *u)
{
	unsigned i;

	for (i = 0; i < l->len; i++)
		if ((l->ci >> i & 1) ? (u[i] | 0x20) != l->s[i]
				     : u[i] != l->s[i])
			return 0;
	return 1;
}

/* Whether s[0..len) holds the literal l. */
static int
lit_in(const struct lit *l, const unsigned char *u, size_t len)
{
	const unsigned char *lo, *hi, *p1, *p2, *p;
	unsigned j;
	int ci;

	/* Found by its anchor byte (memchr; glibc's memmem costs more on
	 * lines this short), then compared. */
	if (l->len > len)
		return 0;
	j = l->anchor;
	ci = l->ci >> j & 1;
	lo = u + j;
	hi = u + (len - l->len) + j + 1;
	p1 = memchr(lo, l->s[j], (size_t)(hi - lo));
	p2 = ci ? memchr(lo, l->s[j] ^ 0x20, (size_t)(hi - lo)) : NULL;
	while (p1 != NULL || p2 != NULL) {
		p = p1 == NULL || (p2 != NULL && p2 < p1) ? p2 : p1;
		if (l->len == 1 || lit_at(l, p - j))
			return 1;
		lo = p + 1;
		if (p == p1)
			p1 = lo < hi ? memchr(lo, l->s[j], (size_t)(hi - lo))
				     : NULL;
		else
			p2 = lo < hi
			    ? memchr(lo, l->s[j] ^ 0x20, (size_t)(hi - lo))
			    : NULL;
	}
	return 0;
}

/* Whether u[0..len) holds one of the literals of s, which share their
 * anchor byte (lits_share). */
static int
lits_in(const struct lset *s, const unsigned char *u, size_t len)
{
	const struct lit *l;
	const unsigned char *q, *end = u + len;
	unsigned char a = s->v[0].s[s->v[0].anchor];
	int i;

	for (q = memchr(u, a, len); q != NULL;
	     q = q + 1 < end ? memchr(q + 1, a, (size_t)(end - q - 1)) : NULL) {
		for (i = 0; i < s->n; i++) {
			l = &s->v[i];
			if ((size_t)(q - u) >= l->anchor
			    && (size_t)(end - q) >= (size_t)(l->len - l->anchor)
			    && lit_at(l, q - l->anchor))
				return 1;
		}
	}
	return 0;
}

/* Whether u[0..len) holds m bytes of c in a row. Looks at every m-th
 * byte while none is in c: a run of m holds one of them. */
static int
run_in(const unsigned char *c, size_t m, const unsigned char *u, size_t len)
{
	size_t i = m - 1, k, j;

	while (i < len) {
		if (!c[u[i]]) {
			i += m;
			continue;
		}
		for (k = i; k > 0 && c[u[k - 1]]; k--)
			;
		for (j = i + 1; j < len && j - k < m && c[u[j]]; j++)
			;
		if (j - k >= m)
			return 1;
		i = j + m;
	}
	return 0;
}

int
ls_prefilter_may_match(const struct ls_prefilter *p, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)(s != NULL ? s : "");
	int i;

	if (p->shared) {
		if (!lits_in(&p->lits, u, len))
			return 0;
	} else if (p->lits.n > 0) {
		for (i = 0; i < p->lits.n; i++)
			if (lit_in(&p->lits.v[i], u, len))
				break;
		if (i == p->lits.n)
			return 0;
	}
	if (p->rlen > 0 && !run_in(p->rtab, p->rlen, u, len))
		return 0;
	return 1;
}

size_t
ls_prefilter_describe(const struct ls_prefilter *p, char *buf, size_t len)
{
	size_t n = 0;
	int i;
	unsigned j, c;

#define PUT(...)                                                               \
	do {                                                                   \
		int w_                                                         \
		    = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);   \
		if (w_ > 0)                                                    \
			n += (size_t)w_;                                       \
	} while (0)
	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < p->lits.n; i++) {
		PUT("%s\"", i > 0 ? " " : "");
		for (j = 0; j < p->lits.v[i].len; j++) {
			c = p->lits.v[i].s[j];
			if ((p->lits.v[i].ci >> j) & 1)
				PUT("%c", (int)(c & ~0x20u));
			else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
				PUT("\\x%02x", c);
			else
				PUT("%c", (int)c);
		}
		PUT("\"");
	}
	if (p->rlen > 0) {
		for (j = c = 0; j < 256; j++)
			c += p->rtab[j];
		PUT("%srun %zu of %u", p->lits.n > 0 ? " " : "", p->rlen, c);
	}
#undef PUT
	return n;
}
