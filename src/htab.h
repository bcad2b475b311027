/*
 * htab: an intrusive chained hash table, the one the tailer's indexes
 * (files by identity, files by path, paths that cannot be followed) are
 * built on.
 *
 * The table never allocates its entries: an entry embeds a struct
 * ls_hnode and stays owned by its caller, who finds it again with
 * LS_CONTAINER_OF. The caller hashes its own key (ls_hash_str,
 * ls_hash_u64x2) and compares keys itself: a lookup walks the entries
 * with the same 64-bit hash (ls_htab_first, ls_htab_next), so a key is
 * compared only when the whole hash matches. The table doubles when it
 * holds as many entries as buckets, so chains stay short, and never
 * shrinks.
 *
 * Threading: none; the owner's.
 */
#ifndef LS_HTAB_H
#define LS_HTAB_H

#include <stddef.h>
#include <stdint.h>

/* The struct of type that holds member at ptr. */
#define LS_CONTAINER_OF(ptr, type, member)                                     \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct ls_hnode {
	struct ls_hnode *next;
	uint64_t hash;
};

struct ls_htab {
	struct ls_hnode **b;
	size_t size; /* buckets, a power of two */
	size_t n; /* entries */
};

/* An empty table of at least size buckets (rounded up to a power of
 * two); _cleanup frees the buckets, not the entries. */
void ls_htab_init(struct ls_htab *, size_t size);
void ls_htab_cleanup(struct ls_htab *);

/* Adds n (in no table) under hash. */
void ls_htab_insert(struct ls_htab *, struct ls_hnode *n, uint64_t hash);
/* Takes n out of the table; n must be in it. */
void ls_htab_remove(struct ls_htab *, struct ls_hnode *n);
/* The first entry with this hash, or NULL; then the next with the same
 * hash after n, or NULL. */
struct ls_hnode *ls_htab_first(const struct ls_htab *, uint64_t hash);
struct ls_hnode *ls_htab_next(const struct ls_hnode *n);
/* Calls cb for every entry; those for which it returns 1 are taken out
 * of the table (cb may then free them). */
void ls_htab_sweep(
    struct ls_htab *, int (*cb)(struct ls_hnode *, void *arg), void *arg);

/* FNV-1a of a string, and a mix of two integers (a device and an inode):
 * the hashes the tailer's keys use. */
uint64_t ls_hash_str(const char *s);
uint64_t ls_hash_u64x2(uint64_t a, uint64_t b);

#endif
