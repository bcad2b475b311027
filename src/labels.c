/* labels: see labels.h. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "htab.h"
#include "labels.h"
#include "xmalloc.h"

struct entry {
	struct ls_labels l; /* first: a label set is its entry */
	struct ls_hnode node;
	atomic_uint refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ls_htab interned;

static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static uint64_t
hash4(const char *service, const char *ddsource, const char *ddtags,
    const char *extra)
{
	return ls_hash_u64x2(ls_hash_str(service ? service : "\x01"),
	    ls_hash_str(ddsource ? ddsource : "\x01")
		^ ls_hash_str(ddtags ? ddtags : "\x01") * 31
		^ (extra != NULL ? ls_hash_str(extra) * 961 : 0));
}

/* The labels' fields as encode.c puts them after a line's own. */
static void
make_json(struct ls_labels *l)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_json_field(&b, ",\"service\":", l->service);
	ls_json_field(&b, ",\"ddsource\":", l->ddsource);
	ls_json_field(&b, ",\"ddtags\":", l->ddtags);
	if (l->extra != NULL)
		ls_buf_append(&b, l->extra, strlen(l->extra));
	l->json_len = b.len;
	l->json = xstrndup(b.data != NULL ? b.data : "", b.len);
	ls_buf_cleanup(&b);
}

static void
free_entry(struct entry *e)
{
	free((char *)e->l.service);
	free((char *)e->l.ddsource);
	free((char *)e->l.ddtags);
	free((char *)e->l.json);
	free((char *)e->l.extra);
	free(e);
}

const struct ls_labels *
ls_labels_intern(const char *service, const char *ddsource, const char *ddtags)
{
	return ls_labels_intern_extra(service, ddsource, ddtags, NULL, 0);
}

const struct ls_labels *
ls_labels_intern_extra(const char *service, const char *ddsource,
    const char *ddtags, const char *extra, int has_host)
{
	uint64_t h = hash4(service, ddsource, ddtags, extra);
	struct ls_hnode *n;
	struct entry *e = NULL;

	pthread_mutex_lock(&lock);
	if (interned.b == NULL)
		ls_htab_init(&interned, 64);
	for (n = ls_htab_first(&interned, h); n != NULL; n = ls_htab_next(n)) {
		e = LS_CONTAINER_OF(n, struct entry, node);
		if (same(e->l.service, service) && same(e->l.ddsource, ddsource)
		    && same(e->l.ddtags, ddtags) && same(e->l.extra, extra)
		    && e->l.has_host == has_host)
			break;
		e = NULL;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->l.service = dup_or_null(service);
		e->l.ddsource = dup_or_null(ddsource);
		e->l.ddtags = dup_or_null(ddtags);
		e->l.extra = dup_or_null(extra);
		e->l.has_host = has_host;
		make_json(&e->l);
		atomic_init(&e->refs, 0);
		ls_htab_insert(&interned, &e->node, h);
	}
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&lock);
	return &e->l;
}

void
ls_labels_ref(const struct ls_labels *l)
{
	if (l != NULL)
		atomic_fetch_add_explicit(&((struct entry *)(void *)l)->refs, 1,
		    memory_order_relaxed);
}

void
ls_labels_unref(const struct ls_labels *l)
{
	struct entry *e = (struct entry *)(void *)l;
	unsigned refs;

	if (l == NULL)
		return;
	/* Not the last reference: no lock (a record's labels, per line). */
	refs = atomic_load_explicit(&e->refs, memory_order_relaxed);
	while (refs > 1)
		if (atomic_compare_exchange_weak_explicit(&e->refs, &refs,
			refs - 1, memory_order_acq_rel, memory_order_relaxed))
			return;
	/* Maybe the last: the lock orders it against an intern that would
	 * find the entry and take a reference (both hold it). */
	pthread_mutex_lock(&lock);
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
		ls_htab_remove(&interned, &e->node);
		free_entry(e);
	}
	pthread_mutex_unlock(&lock);
}

static int
free_cb(struct ls_hnode *n, void *arg)
{
	(void)arg;
	free_entry(LS_CONTAINER_OF(n, struct entry, node));
	return 1;
}

void
ls_labels_cleanup(void)
{
	pthread_mutex_lock(&lock);
	if (interned.b != NULL) {
		ls_htab_sweep(&interned, free_cb, NULL);
		ls_htab_cleanup(&interned);
	}
	pthread_mutex_unlock(&lock);
}
