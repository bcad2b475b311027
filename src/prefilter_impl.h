/*
 * prefilter_impl.h: what prefilter.c (the reader) and prefilter_scan.c
 * (the search) share: a prefilter's literals and run.
 */
#ifndef LS_PREFILTER_IMPL_H
#define LS_PREFILTER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define LIT_LEN 16 /* bytes of a literal */
#define LIT_MAX 8 /* literals in a set */

struct lit {
	unsigned char len;
	unsigned char s[LIT_LEN]; /* caseless letters lower case */
	uint16_t ci; /* bit i: s[i] caseless */
	unsigned char anchor; /* the byte a search looks for */
};

struct lset {
	int n; /* -1: not known (only for exact) */
	struct lit v[LIT_MAX];
};

struct bset {
	uint64_t w[4];
};

struct ls_prefilter {
	struct lset lits; /* n 0: none */
	int shared; /* the literals share their anchor byte */
	unsigned char rtab[256]; /* 1: the byte is in the run's class */
	size_t rlen; /* 0: none */
};

/* Chooses the byte each of p's literals is searched for by
 * (prefilter_scan.c). */
void pf_anchors(struct ls_prefilter *p);

#endif
