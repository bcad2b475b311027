/*
 * conf_include: the files of one configuration. include: names files and
 * globs (relative to the including file) whose sources, destinations and
 * routes join the main file's; each is loaded here with its own struct
 * parse, so its errors name it. The items of every file are collected in
 * order (conf_collect_items) and their names checked as one set
 * (conf_report_duplicates), naming both files and lines.
 *
 * The reading of a configuration file whole (the main one, an included
 * one, an Agent one) is here too: conf_read_text, conf_read_text_at.
 *
 * Tested in check_conf.c (includes) and tests/e2e/includes.sh.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf_impl.h"
#include "xmalloc.h"

/* An item's name and place, for finding duplicates by sorting. */
struct named {
	const char *name;
	size_t idx;
};

static int
named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d != 0)
		return d;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * For each of the count names (NULL: none), the index of the first earlier
 * one equal to it, or SIZE_MAX; to free. Sorted, not compared pairwise, so
 * a list of many thousands is checked in milliseconds (the file size cap
 * allows some 30,000 items).
 */
static size_t *
first_same(const char **strs, size_t count)
{
	struct named *v;
	size_t *first, i, n = 0;

	first = xcalloc(count + 1, sizeof *first);
	v = xcalloc(count + 1, sizeof *v);
	for (i = 0; i < count; i++) {
		first[i] = SIZE_MAX;
		if (strs[i] != NULL)
			v[n++] = (struct named) { strs[i], i };
	}
	qsort(v, n, sizeof *v, named_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i].name, v[i - 1].name) == 0)
			first[v[i].idx] = first[v[i - 1].idx] != SIZE_MAX
			    ? first[v[i - 1].idx]
			    : v[i - 1].idx;
	free(v);
	return first;
}

struct unit *
conf_units(struct parse *p, struct sect *top, size_t *n)
{
	struct unit *u;
	size_t i;

	u = xcalloc(p->ninc + 1, sizeof *u);
	u[0].p = p;
	u[0].top = top;
	*n = 1;
	for (i = 0; i < p->ninc; i++)
		if (p->inc[i]->opened) {
			u[*n].p = &p->inc[i]->p;
			u[*n].top = &p->inc[i]->top;
			(*n)++;
		}
	return u;
}

void
conf_report_duplicates(const char *what, const char *const *strs,
    const struct place *at, const size_t *idx, size_t count)
{
	size_t *first, i, j;
	char vb[SHOWLEN + 4];

	first = first_same((const char **)strs, count);
	for (i = 0; i < count; i++) {
		if ((j = first[i]) == SIZE_MAX)
			continue;
		if (at[j].p == at[i].p)
			conf_perr(at[i].p, &at[i].name->start_mark,
			    "%s[%zu].name: duplicate %.*s name \"%s\" "
			    "(first at line %lu)",
			    what, idx[i], (int)strlen(what) - 1, what,
			    conf_show(vb, strs[i]),
			    (unsigned long)at[j].name->start_mark.line + 1);
		else
			conf_perr(at[i].p, &at[i].name->start_mark,
			    "%s[%zu].name: duplicate %.*s name \"%s\" "
			    "(first at %s:%lu)",
			    what, idx[i], (int)strlen(what) - 1, what,
			    conf_show(vb, strs[i]), at[j].p->name,
			    (unsigned long)at[j].name->start_mark.line + 1);
	}
	free(first);
}

/*
 * The items of key k (sources or destinations) of every unit: their
 * nodes, parses and indexes within their file, in order; the count. A
 * unit without the key adds none; the main file must have it when it
 * includes no other.
 */
size_t
conf_collect_items(struct unit *u, size_t nu, int k, const char *what,
    yaml_node_t ***nodes, struct place **at, size_t **idx)
{
	yaml_node_t *n;
	size_t i, j, count, total = 0;

	*nodes = NULL;
	*at = NULL;
	*idx = NULL;
	for (i = 0; i < nu; i++) {
		if ((n = conf_sect_val(u[i].top, k)) == NULL) {
			if (nu == 1)
				conf_need(u[i].top, k);
			continue;
		}
		if (conf_open_seq(u[i].p, n, what, &count) == -1)
			continue;
		*nodes
		    = xreallocarray(*nodes, total + count + 1, sizeof **nodes);
		*at = xreallocarray(*at, total + count + 1, sizeof **at);
		*idx = xreallocarray(*idx, total + count + 1, sizeof **idx);
		for (j = 0; j < count; j++, total++) {
			(*nodes)[total] = conf_node(
			    u[i].p, n->data.sequence.items.start[j]);
			(*at)[total].p = u[i].p;
			(*at)[total].name = NULL;
			(*idx)[total] = j;
		}
	}
	return total;
}

/* A file that the main one brings in, with what the main file says for
 * every file (its errors go to its own parse, under path); at the end of
 * main's list of them. */
struct incfile *
conf_incfile_add(struct parse *main, const char *path)
{
	struct incfile *inc;

	main->inc = xreallocarray(main->inc, main->ninc + 1, sizeof *main->inc);
	inc = main->inc[main->ninc++] = xcalloc(1, sizeof *inc);
	inc->p.strict = main->strict;
	inc->p.gtags = main->gtags;
	inc->p.ngtags = main->ngtags;
	inc->p.top_rules = main->top_rules;
	inc->p.ntop_rules = main->ntop_rules;
	inc->p.name = xstrdup(path);
	return inc;
}

/* Parses inc->text (len bytes, read whole) under the caps: its root node,
 * or NULL (reported, or empty). */
yaml_node_t *
conf_incfile_parse(struct incfile *inc, size_t len)
{
	yaml_parser_t parser;
	yaml_mark_t start = { 0, 0, 0 };

	inc->p.text = inc->text;
	inc->p.len = len;
	if (len > CONF_MAX_BYTES) {
		conf_perr(&inc->p, &start,
		    "the file is larger than the limit of %" PRIu64 " KiB",
		    CONF_MAX_BYTES / KiB);
		return NULL;
	}
	if (conf_check_depth(&inc->p, inc->text, len) != 0)
		return NULL;
	if (!yaml_parser_initialize(&parser))
		fatalx("conf: out of memory");
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *)inc->text, len);
	if (!yaml_parser_load(&parser, &inc->doc)) {
		conf_syntax_error(&inc->p, &parser);
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_parser_delete(&parser);
	inc->loaded = 1;
	inc->p.doc = &inc->doc;
	return yaml_document_get_root_node(&inc->doc);
}

/* Loads one included file (its errors in its own parse). */
static void
load_include(struct parse *main, const char *path)
{
	struct incfile *inc = conf_incfile_add(main, path);
	yaml_node_t *root;
	yaml_mark_t start = { 0, 0, 0 };
	size_t len, i;

	if (conf_read_text(path, &inc->text, &len) != 0) {
		conf_perr(
		    &inc->p, &start, "cannot read it: %s", strerror(errno));
		return;
	}
	if ((root = conf_incfile_parse(inc, len)) == NULL)
		return; /* empty: it adds nothing */
	if (conf_sect_open(&inc->p, &inc->top, root, conf_top_keys, "%s", "")
	    == -1)
		return;
	inc->opened = 1;
	/* An included file brings parts of the pipeline, not settings. */
	for (i = 0; i < T_NKEYS; i++)
		if (inc->top.val[i] != NULL && i != T_SOURCES
		    && i != T_DESTINATIONS && i != T_ROUTES)
			conf_perr(&inc->p, &inc->top.key[i]->start_mark,
			    "%s: not allowed in an included file (only "
			    "sources, destinations and routes are)",
			    conf_top_keys[i]);
}

void
conf_include_path_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	char full[PATH_MAX], *dir, vb[SHOWLEN + 4];
	glob_t g;
	size_t i;
	int rc;

	(void)arg;
	/* Relative to the including file's directory. */
	if (v[0] != '/') {
		dir = xstrdup(p->name);
		snprintf(full, sizeof full, "%s/%s", dirname(dir), v);
		free(dir);
	} else
		snprintf(full, sizeof full, "%s", v);
	if (strpbrk(full, "*?[") == NULL) {
		load_include(p, full);
		return;
	}
	/* A pattern may match nothing (an empty conf.d). */
	if ((rc = glob(full, 0, NULL, &g)) != 0 && rc != GLOB_NOMATCH) {
		conf_perr(p, &n->start_mark, "%s: cannot expand \"%s\"", path,
		    conf_show(vb, v));
		globfree(&g);
		return;
	}
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		load_include(p, g.gl_pathv[i]);
	globfree(&g);
}

/* The trees of the included files, once parsed; their errors stay, for
 * conf_flush_includes. */
void
conf_free_includes(struct parse *p)
{
	size_t i;

	for (i = 0; i < p->ninc; i++) {
		if (p->inc[i]->loaded)
			yaml_document_delete(&p->inc[i]->doc);
		p->inc[i]->loaded = 0;
		p->inc[i]->opened = 0;
		free(p->inc[i]->text);
		p->inc[i]->text = NULL;
		conf_free_strv(p->inc[i]->p.expanded, p->inc[i]->p.nexpanded);
		p->inc[i]->p.expanded = NULL;
		p->inc[i]->p.nexpanded = 0;
	}
}

/* Prints the included files' errors after the main one's; frees them. */
size_t
conf_flush_includes(struct parse *p, FILE *errf)
{
	size_t i, n = 0;

	conf_free_includes(p);
	for (i = 0; i < p->ninc; i++) {
		n += conf_flush_errors(&p->inc[i]->p, errf);
		free((char *)p->inc[i]->p.name);
		free(p->inc[i]);
	}
	free(p->inc);
	p->inc = NULL;
	p->ninc = 0;
	return n;
}

/*
 * The items of key k (sources or destinations) of every file, the main
 * one's first: at least one (else reported, unless it is no sequence,
 * which open_seq said), at most max (0: no bound), each parsed by
 * parse_cb into an array of count items of size bytes (*arr; NULL when
 * none), their names checked for duplicates across the files. The count.
 */
size_t
conf_parse_items(struct parse *p, struct sect *top, int k, const char *what,
    size_t max, size_t size, void **arr,
    void (*parse_cb)(struct parse *, yaml_node_t *, size_t idx, void *item,
	yaml_node_t **namep),
    const char *(*name_cb)(const void *item))
{
	yaml_node_t **nodes, *n = conf_sect_val(top, k);
	const yaml_mark_t *at_key;
	struct place *at;
	struct unit *u;
	const char **strs;
	size_t i, count, nu, *idx;
	char *v;

	*arr = NULL;
	u = conf_units(p, top, &nu);
	count = conf_collect_items(u, nu, k, what, &nodes, &at, &idx);
	at_key = n != NULL ? &n->start_mark : &top->map->start_mark;
	if (count == 0) {
		if ((n != NULL && n->type == YAML_SEQUENCE_NODE)
		    || (n == NULL && nu > 1))
			conf_perr(
			    p, at_key, "%s: at least one is required", what);
		goto out;
	}
	if (max > 0 && count > max)
		conf_perr(p, at_key, "%s: %zu is too many (at most %zu)", what,
		    count, max);
	*arr = v = xcalloc(count, size);
	for (i = 0; i < count; i++)
		parse_cb(at[i].p, nodes[i], idx[i], v + i * size, &at[i].name);
	strs = xcalloc(count, sizeof *strs);
	for (i = 0; i < count; i++)
		strs[i] = at[i].name != NULL ? name_cb(v + i * size) : NULL;
	conf_report_duplicates(what, strs, at, idx, count);
	free(strs);
out:
	free(nodes);
	free(at);
	free(idx);
	free(u);
	return count;
}

/*
 * Reads the file at path whole (up to just past CONF_MAX_BYTES, which the
 * caller reports), so that reader errors, which libyaml reports as byte
 * offsets, can be turned into lines and columns. 0 with *text (to free)
 * and *len, or -1 with errno.
 */
int
conf_read_text(const char *path, char **text, size_t *len)
{
	size_t cap = 0, n;
	FILE *f;
	int e;

	*text = NULL;
	*len = 0;
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	for (;;) {
		if (cap - *len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			*text = xrealloc(*text, cap);
		}
		n = fread(*text + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0 || *len >= CONF_MAX_BYTES + 1)
			break;
	}
	if (ferror(f)) {
		e = errno;
		fclose(f);
		free(*text);
		*text = NULL;
		errno = e;
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Reads name (relative to directory dfd, which may be AT_FDCWD) whole, as
 * a key file is read: a regular file, no symbolic link, up to just past
 * CONF_MAX_BYTES (the Datadog Agent's files, conf_agent.c). 0, or -1 with
 * errno (ELOOP: a link).
 */
int
conf_read_text_at(int dfd, const char *name, char **text, size_t *len)
{
	struct stat st;
	size_t cap = 0;
	ssize_t r;
	int fd, e;

	*text = NULL;
	*len = 0;
	if ((fd = openat(dfd, name,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC))
	    == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	do {
		if (cap - *len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			*text = xrealloc(*text, cap);
		}
		if ((r = read(fd, *text + *len, cap - *len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		*len += (size_t)r;
	} while (r > 0 && *len <= CONF_MAX_BYTES);
	close(fd);
	return 0;
fail:
	e = errno;
	close(fd);
	free(*text);
	*text = NULL;
	errno = e;
	return -1;
}
