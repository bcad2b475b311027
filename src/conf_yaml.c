/*
 * conf_yaml: the accessor layer of the configuration over libyaml's
 * document API (conf_impl.h lists the family).
 *
 * The file is loaded with libyaml's document API rather than read event by
 * event: every node keeps its start mark, so a check anywhere in the tree
 * can point at the line and column of the node it is about, and the checks
 * can run in any order. A document holds the whole file in memory; config
 * files are small, so that costs nothing that matters.
 *
 * Errors are collected, not printed at once, so that they come out sorted by
 * position however the checks were ordered, and the caller sees every
 * problem in one run instead of fixing them one restart at a time. Values
 * echoed in messages are cut short and stripped of control characters so
 * one error stays one line (conf_show()).
 *
 * A mapping of the schema is read into a struct sect: its value for each
 * known key, found once, so that unknown and duplicate keys are reported
 * in one place; the conf_get_* getters then read a key as a string,
 * duration, size, integer, boolean, enum or severity, with ${VAR}
 * expanded, and report what is wrong at the value's line and column.
 *
 * Tested in check_conf.c.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "conf_impl.h"
#include "xmalloc.h"

/* Records one error at mark m; they are printed later, sorted. */
void
conf_perr(struct parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	struct conf_err *e;
	va_list ap;

	p->errs = xreallocarray(p->errs, p->nerrs + 1, sizeof *p->errs);
	e = &p->errs[p->nerrs];
	e->line = (unsigned long)m->line + 1;
	e->col = (unsigned long)m->column + 1;
	e->seq = p->nerrs++;
	va_start(ap, fmt);
	if (vasprintf(&e->msg, fmt, ap) < 0)
		fatalx("conf: out of memory");
	va_end(ap);
}

static int
err_cmp(const void *a, const void *b)
{
	const struct conf_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints and frees the errors; returns how many there were. */
size_t
conf_flush_errors(struct parse *p, FILE *errf)
{
	size_t i, n = p->nerrs;

	if (n > 1)
		qsort(p->errs, n, sizeof *p->errs, err_cmp);
	for (i = 0; i < n; i++) {
		if (errf != NULL)
			fprintf(errf, "%s:%lu:%lu: %s\n", p->name,
			    p->errs[i].line, p->errs[i].col, p->errs[i].msg);
		free(p->errs[i].msg);
	}
	free(p->errs);
	p->errs = NULL;
	p->nerrs = 0;
	return n;
}

/*
 * Makes an untrusted value fit for a one-line message in buf (SHOWLEN + 4
 * bytes): control characters become '?', and a long value is cut with
 * "...".
 */
const char *
conf_show(char *buf, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < SHOWLEN; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Joins a NULL-terminated list as "a, b or c" into buf. */
const char *
conf_join_names(char *buf, size_t len, const char *const *names)
{
	size_t i, n = 0;

	for (n = 0; names[n] != NULL; n++)
		;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : (i == n - 1 ? " or " : ", ");
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, "%s%s", sep, names[i]);
	}
	return buf;
}

/* A size as it would be written: "64MiB", "1000KB" or "12345". */
static const char *
fmt_size(char *buf, size_t len, uint64_t v)
{
	if (v != 0 && v % GiB == 0)
		snprintf(buf, len, "%" PRIu64 "GiB", v / GiB);
	else if (v != 0 && v % MiB == 0)
		snprintf(buf, len, "%" PRIu64 "MiB", v / MiB);
	else if (v != 0 && v % KiB == 0)
		snprintf(buf, len, "%" PRIu64 "KiB", v / KiB);
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

yaml_node_t *
conf_node(struct parse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

const char *
conf_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* YAML's null: an empty plain value, "~" or "null". Quoted "" is a
 * string. */
int
conf_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE
	    || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = conf_scalar(n);
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0
	    || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *
conf_sect_path(const struct sect *s, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", s->where, *s->where != '\0' ? "." : "",
	    s->keys[i]);
	return buf;
}

/*
 * Reads the keys of mapping map into s, reporting unknown and duplicate
 * keys. -1 (reported) when map is no mapping.
 */
int
conf_sect_open(struct parse *p, struct sect *s, yaml_node_t *map,
    const char *const *keys, const char *fmt, ...)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	char list[512], vb[SHOWLEN + 4];
	va_list ap;
	size_t i;

	memset(s, 0, sizeof *s);
	s->p = p;
	s->map = map;
	s->keys = keys;
	va_start(ap, fmt);
	vsnprintf(s->where, sizeof s->where, fmt, ap);
	va_end(ap);
	for (i = 0; keys[i] != NULL; i++)
		if (i >= CONF_MAXKEYS)
			fatalx("conf: too many keys in one section");
	if (map->type != YAML_MAPPING_NODE) {
		conf_perr(p, &map->start_mark, "%s: expected a mapping",
		    *s->where != '\0' ? s->where : "top level");
		return -1;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = conf_node(p, pair->key);
		v = conf_node(p, pair->value);
		if (k->type != YAML_SCALAR_NODE) {
			conf_perr(p, &k->start_mark,
			    "%s%sexpected a string as a key", s->where,
			    *s->where != '\0' ? ": " : "");
			continue;
		}
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], conf_scalar(k)) == 0)
				break;
		if (keys[i] == NULL) {
			conf_join_names(list, sizeof list, keys);
			conf_perr(p, &k->start_mark,
			    "unknown key \"%s\"%s%s (valid keys: %s)",
			    conf_show(vb, conf_scalar(k)),
			    *s->where != '\0' ? " in " : "", s->where, list);
		} else if (s->key[i] != NULL) {
			conf_perr(p, &k->start_mark,
			    "duplicate key \"%s\"%s%s (first at line %lu)",
			    keys[i], *s->where != '\0' ? " in " : "", s->where,
			    (unsigned long)s->key[i]->start_mark.line + 1);
		} else {
			s->key[i] = k;
			s->val[i] = v;
		}
	}
	return 0;
}

/* The value of key i, or NULL when it is absent or null. */
yaml_node_t *
conf_sect_val(const struct sect *s, int i)
{
	if (s->val[i] == NULL || conf_is_null(s->val[i]))
		return NULL;
	return s->val[i];
}

/* Reports a required key that is absent or null; 0 when it is there. */
int
conf_need(struct sect *s, int i)
{
	char path[160];

	if (s->key[i] == NULL) {
		conf_perr(s->p, &s->map->start_mark,
		    "%s%smissing required key \"%s\"", s->where,
		    *s->where != '\0' ? ": " : "", s->keys[i]);
		return -1;
	}
	if (conf_is_null(s->val[i])) {
		conf_perr(s->p, &s->val[i]->start_mark, "%s: needs a value",
		    conf_sect_path(s, i, path, sizeof path));
		return -1;
	}
	return 0;
}

/*
 * v with each ${NAME} replaced by the environment variable NAME, or with
 * ${NAME:-default} by its default when NAME is unset or empty; $${ is a
 * literal ${. The expanded strings live until the load ends (p->expanded).
 * NULL when a variable is unset without a default, or a reference is
 * malformed: reported at its line and column (exact for a plain or
 * quoted scalar on one line).
 */
static const char *
expand(struct parse *p, yaml_node_t *n, const char *path, const char *v)
{
	struct ls_buf b;
	const char *q, *name, *end, *val;
	yaml_mark_t m = n->start_mark;
	size_t nlen, at;
	char vb[SHOWLEN + 4];
	char *var;

	/* Where the value's characters begin, for the column. */
	at = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
		|| n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
	    ? 1
	    : 0;
	ls_buf_init(&b);
	for (q = v; *q != '\0';) {
		if (q[0] == '$' && q[1] == '$' && q[2] == '{') {
			ls_buf_append(&b, "${", 2);
			q += 3;
			continue;
		}
		if (q[0] != '$' || q[1] != '{') {
			ls_buf_putc(&b, *q++);
			continue;
		}
		name = q + 2;
		nlen = strspn(name,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_");
		end = name + nlen;
		m.column = n->start_mark.column + at + (size_t)(q - v);
		/* ${1}: a mask's capture group (replace_placeholder), no
		 * variable: left as it is. */
		if (nlen > 0 && name[0] >= '0' && name[0] <= '9') {
			ls_buf_append(&b, "${", 2);
			q += 2;
			continue;
		}
		if (nlen == 0 || (*end != '}' && strncmp(end, ":-", 2) != 0)
		    || (*end == ':' && strchr(end, '}') == NULL)) {
			conf_perr(p, &m,
			    "%s: malformed variable reference in \"%s\" "
			    "(expected ${NAME} or ${NAME:-default})",
			    path, conf_show(vb, v));
			goto fail;
		}
		var = xstrndup(name, nlen);
		val = getenv(var);
		free(var);
		if (*end == ':') {
			if (val == NULL || *val == '\0') {
				val = end + 2;
				nlen = (size_t)(strchr(end, '}') - val);
			} else
				nlen = strlen(val);
			q = strchr(end, '}') + 1;
		} else {
			if (val == NULL) {
				conf_perr(p, &m,
				    "%s: environment variable %.*s is not set "
				    "(and the reference has no :-default)",
				    path, (int)nlen, name);
				goto fail;
			}
			nlen = strlen(val);
			q = end + 1;
		}
		ls_buf_append(&b, val, nlen);
	}
	p->expanded
	    = xreallocarray(p->expanded, p->nexpanded + 1, sizeof *p->expanded);
	p->expanded[p->nexpanded++]
	    = xstrndup(b.data != NULL ? b.data : "", b.len);
	ls_buf_cleanup(&b);
	return p->expanded[p->nexpanded - 1];
fail:
	ls_buf_cleanup(&b);
	return NULL;
}

/* A scalar's string (${VAR} expanded), or NULL (reported) if it holds a NUL
 * byte, which C strings cannot carry. */
const char *
conf_scalar_str(struct parse *p, yaml_node_t *n, const char *path)
{
	if (strlen(conf_scalar(n)) != n->data.scalar.length) {
		conf_perr(p, &n->start_mark, "%s: contains a NUL byte", path);
		return NULL;
	}
	if (!p->raw && strchr(conf_scalar(n), '$') != NULL)
		return expand(p, n, path, conf_scalar(n));
	return conf_scalar(n);
}

/*
 * The string at key i: 1 and *out set, 0 when absent or null (the default
 * stays), -1 when it is no string (reported).
 */
int
conf_sect_scalar(struct sect *s, int i, const char **out)
{
	yaml_node_t *n;
	char path[160];

	if ((n = conf_sect_val(s, i)) == NULL)
		return 0;
	conf_sect_path(s, i, path, sizeof path);
	if (n->type != YAML_SCALAR_NODE) {
		conf_perr(s->p, &n->start_mark, "%s: expected a string", path);
		return -1;
	}
	if ((*out = conf_scalar_str(s->p, n, path)) == NULL)
		return -1;
	return 1;
}

/* A non-empty string into *out (replacing a default); 1 set, 0 absent,
 * -1 reported. */
int
conf_get_str(struct sect *s, int i, char **out)
{
	const char *v;
	char path[160];
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	if (*v == '\0') {
		conf_perr(s->p, &s->val[i]->start_mark, "%s: must not be empty",
		    conf_sect_path(s, i, path, sizeof path));
		return -1;
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

#define DURATION_MAX_MS ((int64_t)365 * 24 * 3600 * 1000)

/* A duration of at least min ms, at most a year; 1 set, 0 absent, -1
 * reported. */
int
conf_get_duration(struct sect *s, int i, int64_t *out, int64_t min)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int64_t ms;
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	conf_sect_path(s, i, path, sizeof path);
	if (ls_conf_parse_duration(v, &ms) == -1) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: bad duration \"%s\" (expected " DURATION_HELP ")",
		    path, conf_show(vb, v));
		return -1;
	}
	if (ms < min) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: %s is too short (the least is %" PRId64 "ms)", path,
		    conf_show(vb, v), min);
		return -1;
	}
	/* No setting needs a year, and deadlines computed as now + ms must
	 * not overflow. */
	if (ms > DURATION_MAX_MS) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: %s is too long (the most is 8760h)", path,
		    conf_show(vb, v));
		return -1;
	}
	*out = ms;
	return 1;
}

/* A size in [min, max]; 1 set, 0 absent, -1 reported. */
int
conf_get_size(struct sect *s, int i, uint64_t *out, uint64_t min, uint64_t max)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4], lo[32], hi[32];
	uint64_t n;
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	conf_sect_path(s, i, path, sizeof path);
	if (ls_conf_parse_size(v, &n) == -1) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: bad size \"%s\" (expected " SIZE_HELP ")", path,
		    conf_show(vb, v));
		return -1;
	}
	if (n < min || n > max) {
		fmt_size(lo, sizeof lo, min);
		fmt_size(hi, sizeof hi, max);
		if (max == UINT64_MAX)
			conf_perr(s->p, &s->val[i]->start_mark,
			    "%s: %s is too small (the least is %s)", path,
			    conf_show(vb, v), lo);
		else
			conf_perr(s->p, &s->val[i]->start_mark,
			    "%s: %s is out of range (%s to %s)", path,
			    conf_show(vb, v), lo, hi);
		return -1;
	}
	*out = n;
	return 1;
}

/* A decimal integer in [min, max]; 1 set, 0 absent, -1 reported. */
int
conf_get_int(
    struct sect *s, int i, long long *out, long long min, long long max)
{
	const char *v, *p;
	char path[160], vb[SHOWLEN + 4], *end;
	long long n;
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	conf_sect_path(s, i, path, sizeof path);
	/* strtoll alone would also take leading spaces and a '+'. */
	p = v + (*v == '-');
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || errno == ERANGE) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: bad integer \"%s\" (expected a whole number)", path,
		    conf_show(vb, v));
		return -1;
	}
	if (n < min || n > max) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: %lld is out of range (%lld to %lld)", path, n, min,
		    max);
		return -1;
	}
	*out = n;
	return 1;
}

/* true/false/yes/no in any case; 1 set, 0 absent, -1 reported. */
int
conf_get_bool(struct sect *s, int i, int *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
		*out = 0;
	else {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: bad boolean \"%s\" (expected true, false, yes or no)",
		    conf_sect_path(s, i, path, sizeof path), conf_show(vb, v));
		return -1;
	}
	return 1;
}

/* One of names (exact); 1 and *out its index, 0 absent, -1 reported. */
int
conf_get_enum(struct sect *s, int i, const char *const *names, int *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4], list[128];
	int r, k;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	for (k = 0; names[k] != NULL; k++) {
		if (strcmp(names[k], v) == 0) {
			*out = k;
			return 1;
		}
	}
	conf_perr(s->p, &s->val[i]->start_mark,
	    "%s: bad value \"%s\" (expected %s)",
	    conf_sect_path(s, i, path, sizeof path), conf_show(vb, v),
	    conf_join_names(list, sizeof list, names));
	return -1;
}

/* A severity word, normalised; 1 set, 0 absent, -1 reported. */
int
conf_get_severity(struct sect *s, int i, enum ls_severity *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int r;

	if ((r = conf_sect_scalar(s, i, &v)) != 1)
		return r;
	if (ls_severity_parse(v, strlen(v), out) == -1) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: unknown severity \"%s\" (expected " SEVERITY_HELP ")",
		    conf_sect_path(s, i, path, sizeof path), conf_show(vb, v));
		return -1;
	}
	return 1;
}

/*
 * Calls fn for the string at key i, or for each string of the sequence
 * there, with the path of the item ("sources[0].paths[2]"). Returns -1
 * (reported) when the value has neither shape; items that are no strings
 * are reported and skipped.
 */
int
conf_foreach_item(struct sect *s, int i,
    void (*fn)(
	struct parse *, const char *, yaml_node_t *, const char *, void *),
    void *arg)
{
	yaml_node_item_t *it;
	yaml_node_t *n, *item;
	const char *v;
	char path[160], ipath[192];
	size_t k;

	if ((n = conf_sect_val(s, i)) == NULL)
		return 0;
	conf_sect_path(s, i, path, sizeof path);
	if (n->type == YAML_SCALAR_NODE) {
		if ((v = conf_scalar_str(s->p, n, path)) != NULL)
			fn(s->p, path, n, v, arg);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		conf_perr(s->p, &n->start_mark,
		    "%s: expected a string or a sequence of strings", path);
		return -1;
	}
	for (it = n->data.sequence.items.start, k = 0;
	     it < n->data.sequence.items.top; it++, k++) {
		item = conf_node(s->p, *it);
		snprintf(ipath, sizeof ipath, "%s[%zu]", path, k);
		if (item->type != YAML_SCALAR_NODE)
			conf_perr(s->p, &item->start_mark,
			    "%s: expected a string", ipath);
		else if ((v = conf_scalar_str(s->p, item, ipath)) != NULL)
			fn(s->p, ipath, item, v, arg);
	}
	return 0;
}

void
conf_strlist_add_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct strlist *l = arg;

	if (l->check_cb != NULL && l->check_cb(p, path, n, v) == -1)
		return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = xstrdup(v);
}

/* 0 and *count set to the number of items of sequence n, or -1 (reported)
 * when it is no sequence. */
int
conf_open_seq(struct parse *p, yaml_node_t *n, const char *what, size_t *count)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		conf_perr(p, &n->start_mark, "%s: expected a sequence", what);
		return -1;
	}
	*count = (size_t)(n->data.sequence.items.top
	    - n->data.sequence.items.start);
	return 0;
}

/* Reports a libyaml error: where it was found and what was expected. */
void
conf_syntax_error(struct parse *p, yaml_parser_t *parser)
{
	const char *problem = parser->problem ? parser->problem : "error";
	yaml_mark_t m;
	size_t i;

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		fatalx("conf: out of memory");
	case YAML_READER_ERROR:
		/* The reader runs ahead of the scanner and sets no mark, only
		 * a byte offset: find its line and column in the text. */
		memset(&m, 0, sizeof m);
		for (i = 0; i < parser->problem_offset && i < p->len; i++) {
			if (p->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
				m.column++;
		}
		conf_perr(
		    p, &m, "%s (byte %zu)", problem, parser->problem_offset);
		break;
	default:
		if (parser->context != NULL)
			conf_perr(p, &parser->problem_mark,
			    "%s (%s at line %lu)", problem, parser->context,
			    (unsigned long)parser->context_mark.line + 1);
		else
			conf_perr(p, &parser->problem_mark, "%s", problem);
		break;
	}
}

/*
 * Caps on what libyaml is given, checked before it builds a tree. libyaml's
 * scanner looks at every pending simple key at each token, so n levels of
 * flow nesting cost n^2 (a 500 KB file of "{a: " took over a minute); the
 * schema's deepest path is four levels. With both caps a file is parsed in
 * a few milliseconds whatever it holds: -n and a reload, which parses on
 * the main loop, are bounded in time. See check_conf.c (caps_*).
 */

/*
 * Walks text's events (no tree) to check the depth cap: 0 when the file
 * may be loaded; -1 when not, with the error (or a syntax error, found here
 * first) recorded. Stops at the first level past the cap, so a deep file
 * costs no more than a shallow one.
 */
int
conf_check_depth(struct parse *p, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0;
	int ret = -1, done = 0;

	if (!yaml_parser_initialize(&parser))
		fatalx("conf: out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			conf_syntax_error(p, &parser);
			goto out;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CONF_MAX_DEPTH) {
				conf_perr(p, &ev.start_mark,
				    "nested more than %d levels deep",
				    CONF_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	ret = 0;
out:
	yaml_parser_delete(&parser);
	return ret;
}

void
conf_free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
