/*
 * pattern: see pattern.h.
 *
 * Each pattern has its own match context (the limits) and match data (the
 * offsets), made once at compile time, so a match allocates nothing. The
 * JIT compile may fail (a platform without JIT, or a pattern too large
 * for it): the interpreter then runs the same pattern, under the depth
 * and heap limits that the JIT does not use.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pattern.h"
#include "prefilter.h"
#include "xmalloc.h"

struct ls_pattern {
	atomic_uint refs;
	char *source;
	pcre2_code *code;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	unsigned groups;
	int jit; /* JIT-compiled: matched by pcre2_jit_match */
	struct ls_prefilter *pf; /* NULL: none (prefilter.h) */
};

struct ls_pattern *
ls_pattern_new(
    const char *re, unsigned flags, char *err, size_t errlen, size_t *erroff)
{
	struct ls_pattern *p;
	PCRE2_SIZE off = 0;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	uint32_t n = 0;
	int rc;

	if (flags & LS_PATTERN_ANCHORED)
		opts |= PCRE2_ANCHORED;
	p = xcalloc(1, sizeof *p);
	atomic_init(&p->refs, 1);
	p->source = xstrdup(re);
	p->code = pcre2_compile(
	    (PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opts, &rc, &off, NULL);
	if (p->code == NULL) {
		if (err != NULL && errlen > 0
		    && pcre2_get_error_message(rc, (PCRE2_UCHAR *)err, errlen)
			< 0)
			snprintf(err, errlen, "error %d", rc);
		if (erroff != NULL)
			*erroff = off;
		goto fail;
	}
	/* A failed JIT compile leaves the interpreter to do the work. */
	p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
	if ((p->mctx = pcre2_match_context_create(NULL)) == NULL
	    || (p->md = pcre2_match_data_create_from_pattern(p->code, NULL))
		== NULL)
		fatalx("pattern: out of memory");
	pcre2_set_match_limit(p->mctx, LS_PATTERN_MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, LS_PATTERN_DEPTH_LIMIT);
	pcre2_set_heap_limit(p->mctx, LS_PATTERN_HEAP_LIMIT);
	pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &n);
	p->groups = n;
	p->pf = ls_prefilter_new(re);
	return p;
fail:
	ls_pattern_free(p);
	return NULL;
}

struct ls_pattern *
ls_pattern_ref(struct ls_pattern *p)
{
	atomic_fetch_add(&p->refs, 1);
	return p;
}

void
ls_pattern_free(struct ls_pattern *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	pcre2_match_data_free(p->md);
	pcre2_match_context_free(p->mctx);
	pcre2_code_free(p->code);
	ls_prefilter_free(p->pf);
	free(p->source);
	free(p);
}

const char *
ls_pattern_source(const struct ls_pattern *p)
{
	return p->source;
}

unsigned
ls_pattern_groups(const struct ls_pattern *p)
{
	return p->groups;
}

int
ls_pattern_match(struct ls_pattern *p, const char *s, size_t len, size_t start,
    size_t *ov, unsigned nov, const char **why)
{
	PCRE2_SIZE *v;
	unsigned i, have;
	int rc;

	if (s == NULL) /* PCRE2 takes no NULL subject, even an empty one. */
		s = "";
	/*
	 * pcre2_jit_match skips pcre2_match's checks of its arguments (a
	 * few percent of a match on a short line): the one it would make
	 * that can fail here, a start past the end, is made here. The UTF
	 * check it skips is one pcre2_match does not make either: the
	 * pattern is compiled with PCRE2_MATCH_INVALID_UTF, which the JIT
	 * code handles itself.
	 */
	if (start > len) {
		if (why != NULL)
			*why = "PCRE2 failed to match";
		return -1;
	}
	if (p->jit)
		rc = pcre2_jit_match(
		    p->code, (PCRE2_SPTR)s, len, start, 0, p->md, p->mctx);
	else
		rc = pcre2_match(
		    p->code, (PCRE2_SPTR)s, len, start, 0, p->md, p->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		if (why != NULL) {
			switch (rc) {
			case PCRE2_ERROR_MATCHLIMIT:
				*why = "the match limit was hit";
				break;
			case PCRE2_ERROR_DEPTHLIMIT:
				*why = "the depth limit was hit";
				break;
			case PCRE2_ERROR_HEAPLIMIT:
				*why = "the heap limit was hit";
				break;
			case PCRE2_ERROR_JIT_STACKLIMIT:
				*why = "the JIT stack limit was hit";
				break;
			default:
				*why = "PCRE2 failed to match";
				break;
			}
		}
		return -1;
	}
	if (ov != NULL) {
		v = pcre2_get_ovector_pointer(p->md);
		/* rc 0: the ovector was too small, which the data made from
		 * the pattern never is. */
		have = rc == 0 ? pcre2_get_ovector_count(p->md) : (unsigned)rc;
		for (i = 0; i < nov; i++) {
			if (i < have && v[2 * i] != PCRE2_UNSET) {
				ov[2 * i] = v[2 * i];
				ov[2 * i + 1] = v[2 * i + 1];
			} else
				ov[2 * i] = ov[2 * i + 1] = SIZE_MAX;
		}
	}
	return 1;
}

int
ls_pattern_may_match(const struct ls_pattern *p, const char *s, size_t len)
{
	return p->pf == NULL || ls_prefilter_may_match(p->pf, s, len);
}

size_t
ls_pattern_prefilter(const struct ls_pattern *p, char *buf, size_t len)
{
	if (p->pf != NULL)
		return ls_prefilter_describe(p->pf, buf, len);
	if (len > 0)
		buf[0] = '\0';
	return 0;
}
