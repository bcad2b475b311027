/* labels: see labels.h. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "labels.h"
#include "xmalloc.h"

struct entry {
	struct ls_labels l;
	struct entry *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *interned;

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

/* The labels' fields as encode.c puts them after a line's own. */
static void
make_json(struct ls_labels *l)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_json_field(&b, ",\"service\":", l->service);
	ls_json_field(&b, ",\"ddsource\":", l->ddsource);
	ls_json_field(&b, ",\"ddtags\":", l->ddtags);
	l->json_len = b.len;
	l->json = xstrndup(b.data != NULL ? b.data : "", b.len);
	ls_buf_cleanup(&b);
}

const struct ls_labels *
ls_labels_intern(const char *service, const char *ddsource, const char *ddtags)
{
	struct entry *e;

	pthread_mutex_lock(&lock);
	for (e = interned; e != NULL; e = e->next)
		if (same(e->l.service, service) && same(e->l.ddsource, ddsource)
		    && same(e->l.ddtags, ddtags))
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->l.service = dup_or_null(service);
		e->l.ddsource = dup_or_null(ddsource);
		e->l.ddtags = dup_or_null(ddtags);
		make_json(&e->l);
		e->next = interned;
		interned = e;
	}
	pthread_mutex_unlock(&lock);
	return &e->l;
}

void
ls_labels_cleanup(void)
{
	struct entry *e;

	pthread_mutex_lock(&lock);
	while ((e = interned) != NULL) {
		interned = e->next;
		free((char *)e->l.service);
		free((char *)e->l.ddsource);
		free((char *)e->l.ddtags);
		free((char *)e->l.json);
		free(e);
	}
	pthread_mutex_unlock(&lock);
}
