/*
 * rules: see rules.h.
 *
 * A mask writes into one of two buffers and the next mask reads from it
 * into the other, so a list of masks copies each entry once per mask that
 * matched and never when none did. The buffers are the rules' own (one
 * thread applies them) and are let go once an entry larger than
 * BUF_KEEP has passed, so one huge entry does not pin its size per
 * source for good.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "pattern.h"
#include "rules.h"
#include "xmalloc.h"

/* A buffer larger than this is freed at the next entry. */
#define BUF_KEEP (1024 * 1024)
/* Offsets asked of a match: the whole match and groups 1 to 9. */
#define NOV 10

struct rule {
	enum ls_rule_type type;
	char *name;
	struct ls_pattern *pat;
	char *placeholder;
	int warned; /* an error was logged */
	atomic_uint_fast64_t excluded;
	atomic_uint_fast64_t not_included;
	atomic_uint_fast64_t masked;
	atomic_uint_fast64_t errors;
};

struct ls_rules {
	char *source;
	struct rule *v;
	size_t n;
	struct ls_buf buf[2];
};

static const char *const type_names[LS_RULE_NTYPES] = {
	[LS_RULE_EXCLUDE] = "exclude_at_match",
	[LS_RULE_INCLUDE] = "include_at_match",
	[LS_RULE_MASK] = "mask_sequences",
	[LS_RULE_MULTILINE] = "multi_line",
};

#define COUNT(c, n) atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define LOAD(c) atomic_load_explicit(&(c), memory_order_relaxed)

const char *
ls_rule_type_name(enum ls_rule_type t)
{
	return (unsigned)t < LS_RULE_NTYPES ? type_names[t] : "unknown";
}

int
ls_rule_type_parse(const char *s)
{
	int i;

	for (i = 0; i < LS_RULE_NTYPES; i++)
		if (strcmp(type_names[i], s) == 0)
			return i;
	return -1;
}

struct ls_rules *
ls_rules_new(const char *source)
{
	struct ls_rules *r;

	r = xcalloc(1, sizeof *r);
	r->source = xstrdup(source != NULL ? source : "");
	ls_buf_init(&r->buf[0]);
	ls_buf_init(&r->buf[1]);
	return r;
}

void
ls_rules_free(struct ls_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].placeholder);
		ls_pattern_free(r->v[i].pat);
	}
	free(r->v);
	ls_buf_cleanup(&r->buf[0]);
	ls_buf_cleanup(&r->buf[1]);
	free(r->source);
	free(r);
}

void
ls_rules_add(struct ls_rules *r, enum ls_rule_type type, const char *name,
    struct ls_pattern *pat, const char *placeholder)
{
	struct rule *u;

	if (type != LS_RULE_EXCLUDE && type != LS_RULE_INCLUDE
	    && type != LS_RULE_MASK)
		fatalx("rules: a %s rule is no per-entry rule",
		    ls_rule_type_name(type));
	r->v = xreallocarray(r->v, r->n + 1, sizeof *r->v);
	u = &r->v[r->n++];
	memset(u, 0, sizeof *u);
	u->type = type;
	u->name = xstrdup(name);
	u->pat = ls_pattern_ref(pat);
	u->placeholder = xstrdup(placeholder != NULL ? placeholder : "");
	atomic_init(&u->excluded, 0);
	atomic_init(&u->not_included, 0);
	atomic_init(&u->masked, 0);
	atomic_init(&u->errors, 0);
}

size_t
ls_rules_count(const struct ls_rules *r)
{
	return r != NULL ? r->n : 0;
}

/* Counts an error of rule u and warns of the first. Neither the entry
 * nor any part of it is logged: it may hold what the rule masks. */
static void
rule_error(struct ls_rules *r, struct rule *u, const char *why)
{
	COUNT(u->errors, 1);
	if (u->warned)
		return;
	u->warned = 1;
	log_warnx("source %s: rule \"%s\" (%s) could not be evaluated on an "
		  "entry: %s; %s (warned once; see the rule's errors counter)",
	    r->source, u->name, ls_rule_type_name(u->type), why,
	    u->type == LS_RULE_MASK ? "the whole entry was withheld"
				    : "the entry was kept");
}

/* Bytes of the character at s (a valid UTF-8 sequence), or 1: an empty
 * match is stepped over one character at a time, never into one. */
static size_t
char_len(const unsigned char *s, size_t left)
{
	size_t n, i;

	if (s[0] < 0xc2)
		return 1;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 1;
	if (n > left)
		return 1;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Appends the placeholder with its group references expanded. */
static void
expand(struct ls_buf *o, const char *ph, const char *s, const size_t *ov)
{
	const char *p;
	unsigned g;

	for (p = ph; *p != '\0'; p++) {
		if (*p != '$') {
			ls_buf_putc(o, *p);
			continue;
		}
		if (p[1] == '$') {
			ls_buf_putc(o, '$');
			p++;
			continue;
		}
		if (p[1] >= '0' && p[1] <= '9') {
			g = (unsigned)(p[1] - '0');
			p++;
		} else if (p[1] == '{' && p[2] >= '0' && p[2] <= '9'
		    && p[3] == '}') {
			g = (unsigned)(p[2] - '0');
			p += 3;
		} else {
			ls_buf_putc(o, '$');
			continue;
		}
		if (ov[2 * g] != SIZE_MAX)
			ls_buf_append(
			    o, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
}

/*
 * Replaces every match of u in s[0..len) into o. 1: something was
 * replaced; 0: nothing matched (o is not used); -1 (*why set): the
 * pattern could not be evaluated, o holds nothing of s.
 *
 * Empty matches follow Go's ReplaceAll, as the Agent does: one is
 * replaced where it is found, except right after a match, and the search
 * then goes on one character later.
 */
static int
mask(struct rule *u, const char *s, size_t len, struct ls_buf *o,
    const char **why)
{
	size_t ov[2 * NOV], pos = 0, copied = 0, last_end = SIZE_MAX, n;
	int rc, any = 0;

	if (!ls_pattern_may_match(u->pat, s, len))
		return 0;
	while (pos <= len) {
		if ((rc = ls_pattern_match(u->pat, s, len, pos, ov, NOV, why))
		    < 0) {
			ls_buf_reset(o);
			return -1;
		}
		if (rc == 0)
			break;
		if (!any) {
			ls_buf_reset(o);
			any = 1;
		}
		if (ov[0] != ov[1] || ov[0] != last_end) {
			ls_buf_append(o, s + copied, ov[0] - copied);
			expand(o, u->placeholder, s, ov);
			copied = ov[1];
			last_end = ov[1];
		}
		if (ov[0] != ov[1]) {
			pos = ov[1];
			continue;
		}
		/* Empty: step over one character. */
		if (ov[1] >= len)
			break;
		n = char_len((const unsigned char *)s + ov[1], len - ov[1]);
		ls_buf_append(o, s + copied, ov[1] + n - copied);
		copied = pos = ov[1] + n;
	}
	if (!any)
		return 0;
	ls_buf_append(o, s + copied, len - copied);
	return 1;
}

enum ls_rules_verdict
ls_rules_apply(struct ls_rules *r, const char *msg, size_t len,
    const char **out, size_t *outlen)
{
	const char *cur = msg, *why = "";
	size_t i, curlen = len;
	struct ls_buf *o;
	struct rule *u;
	int k = 0, rc;

	for (i = 0; i < 2; i++) {
		if (r->buf[i].cap > BUF_KEEP) {
			ls_buf_cleanup(&r->buf[i]);
			ls_buf_init(&r->buf[i]);
		}
	}
	for (i = 0; i < r->n; i++) {
		u = &r->v[i];
		switch (u->type) {
		case LS_RULE_EXCLUDE:
			rc = !ls_pattern_may_match(u->pat, cur, curlen)
			    ? 0
			    : ls_pattern_match(
				u->pat, cur, curlen, 0, NULL, 0, &why);
			if (rc == 1) {
				COUNT(u->excluded, 1);
				return LS_RULES_DROP;
			}
			if (rc < 0)
				rule_error(r, u, why);
			break;
		case LS_RULE_INCLUDE:
			rc = !ls_pattern_may_match(u->pat, cur, curlen)
			    ? 0
			    : ls_pattern_match(
				u->pat, cur, curlen, 0, NULL, 0, &why);
			if (rc == 0) {
				COUNT(u->not_included, 1);
				return LS_RULES_DROP;
			}
			if (rc < 0)
				rule_error(r, u, why);
			break;
		case LS_RULE_MASK:
			o = &r->buf[k];
			rc = mask(u, cur, curlen, o, &why);
			if (rc == 0)
				break;
			if (rc > 0)
				COUNT(u->masked, 1);
			else {
				rule_error(r, u, why);
				ls_buf_printf(o,
				    "[logshipd: entry withheld: mask rule "
				    "\"%s\" could not be evaluated]",
				    u->name);
			}
			cur = o->data;
			curlen = o->len;
			k ^= 1;
			break;
		default:
			break;
		}
	}
	*out = cur;
	*outlen = curlen;
	return LS_RULES_KEEP;
}

void
ls_rules_stats(const struct ls_rules *r, size_t i, struct ls_rule_stats *st)
{
	struct rule *u = &r->v[i];

	st->name = u->name;
	st->type = ls_rule_type_name(u->type);
	st->excluded = LOAD(u->excluded);
	st->not_included = LOAD(u->not_included);
	st->masked = LOAD(u->masked);
	st->errors = LOAD(u->errors);
}

void
ls_rules_carry(struct ls_rules *to, const struct ls_rules *from)
{
	struct rule *a, *b;
	size_t i, j;

	if (to == NULL || from == NULL)
		return;
	for (i = 0; i < to->n; i++) {
		a = &to->v[i];
		for (j = 0; j < from->n; j++) {
			b = &from->v[j];
			if (a->type != b->type || strcmp(a->name, b->name) != 0)
				continue;
			COUNT(a->excluded, LOAD(b->excluded));
			COUNT(a->not_included, LOAD(b->not_included));
			COUNT(a->masked, LOAD(b->masked));
			COUNT(a->errors, LOAD(b->errors));
			a->warned = b->warned;
			break;
		}
	}
}
