/*
 * htab: an intrusive chained hash table (see htab.h).
 */
#include "config.h"

#include <stdlib.h>

#include "htab.h"
#include "xmalloc.h"

static size_t
bucket(const struct ls_htab *h, uint64_t hash)
{
	return (size_t)(hash ^ (hash >> 32)) & (h->size - 1);
}

void
ls_htab_init(struct ls_htab *h, size_t size)
{
	h->size = 16;
	while (h->size < size)
		h->size *= 2;
	h->b = xcalloc(h->size, sizeof *h->b);
	h->n = 0;
}

void
ls_htab_cleanup(struct ls_htab *h)
{
	free(h->b);
	h->b = NULL;
	h->size = h->n = 0;
}

static void
grow(struct ls_htab *h)
{
	struct ls_hnode **old = h->b, *n;
	size_t i, oldsize = h->size;

	h->size *= 2;
	h->b = xcalloc(h->size, sizeof *h->b);
	for (i = 0; i < oldsize; i++)
		while ((n = old[i]) != NULL) {
			old[i] = n->next;
			n->next = h->b[bucket(h, n->hash)];
			h->b[bucket(h, n->hash)] = n;
		}
	free(old);
}

void
ls_htab_insert(struct ls_htab *h, struct ls_hnode *n, uint64_t hash)
{
	if (h->n >= h->size)
		grow(h);
	n->hash = hash;
	n->next = h->b[bucket(h, hash)];
	h->b[bucket(h, hash)] = n;
	h->n++;
}

void
ls_htab_remove(struct ls_htab *h, struct ls_hnode *n)
{
	struct ls_hnode **pp;

	for (pp = &h->b[bucket(h, n->hash)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			h->n--;
			return;
		}
}

struct ls_hnode *
ls_htab_first(const struct ls_htab *h, uint64_t hash)
{
	struct ls_hnode *n;

	for (n = h->b[bucket(h, hash)]; n != NULL; n = n->next)
		if (n->hash == hash)
			return n;
	return NULL;
}

struct ls_hnode *
ls_htab_next(const struct ls_hnode *n)
{
	uint64_t hash = n->hash;

	for (n = n->next; n != NULL; n = n->next)
		if (n->hash == hash)
			return (struct ls_hnode *)n;
	return NULL;
}

void
ls_htab_sweep(
    struct ls_htab *h, int (*cb)(struct ls_hnode *, void *arg), void *arg)
{
	struct ls_hnode **pp, *n, *next;
	size_t i;

	for (i = 0; i < h->size && h->n > 0; i++)
		for (pp = &h->b[i]; (n = *pp) != NULL;) {
			next = n->next; /* cb may free n */
			if (cb(n, arg)) {
				*pp = next;
				h->n--;
			} else
				pp = &n->next;
		}
}

uint64_t
ls_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

uint64_t
ls_hash_u64x2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ b;

	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}
