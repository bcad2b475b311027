/*
 * conf_source: the sources of the configuration (sources: in the main file
 * and in included ones), each with its paths, tags, multiline and
 * log_processing_rules, the top-level rules first. Patterns are compiled
 * here, so that a bad one is a configuration error.
 *
 * Tested in check_conf.c and tests/e2e/rules.sh.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf_impl.h"
#include "labels.h"
#include "pattern.h"
#include "rules.h"
#include "xmalloc.h"

static const char *const start_at_names[]
    = { [LS_START_BEGINNING] = "beginning", [LS_START_END] = "end", NULL };
static const char *const type_names[]
    = { [LS_SOURCE_FILE] = "file", [LS_SOURCE_JOURNALD] = "journald", NULL };

/*
 * A source's keys, in the order messages list them: S(id, name, type,
 * field, default, min, max, names) a scalar read from the table
 * (conf_table.c), N(id, name) a key parsed by code below. type is read
 * first, alone (phase 1): the others depend on it.
 */
#define CONF_SOURCE_KEYS(S, N)                                                 \
	N(S_NAME, "name")                                                      \
	N(S_PATHS, "paths")                                                    \
	N(S_SERVICE, "service")                                                \
	N(S_DDSOURCE, "ddsource")                                              \
	N(S_TAGS, "tags")                                                      \
	S(S_DEFAULT_SEVERITY, "default_severity", SEVERITY, default_severity,  \
	    "info", 0, 0, NULL)                                                \
	S(S_START_AT, "start_at", ENUM, start_at, "beginning", 0, 0,           \
	    start_at_names)                                                    \
	S(S_MAX_LINE_BYTES, "max_line_bytes", SIZET, max_line_bytes, "256KiB", \
	    KiB, 64 * MiB, NULL)                                               \
	S(S_PARTIAL_FLUSH, "partial_flush", DURATION, partial_flush_ms, "5s",  \
	    1, 0, NULL)                                                        \
	N(S_MULTILINE, "multiline")                                            \
	S(S_FOLLOW_SYMLINKS, "follow_symlinks", BOOL, follow_symlinks,         \
	    "false", 0, 0, NULL)                                               \
	S(S_PARSE_TIMESTAMP, "parse_timestamp", BOOL, parse_timestamp, "true", \
	    0, 0, NULL)                                                        \
	N(S_EXCLUDE_PATHS, "exclude_paths")                                    \
	S(S_FILE_TAGS, "file_tags", BOOL, file_tags, "true", 0, 0, NULL)       \
	N(S_RULES, "log_processing_rules")                                     \
	S(S_TYPE, "type", ENUM, type, "file", 0, 0, type_names)                \
	N(S_UNITS, "units")                                                    \
	N(S_EXCLUDE_UNITS, "exclude_units")                                    \
	N(S_MATCHES, "matches")                                                \
	N(S_DIRECTORY, "directory")

#define ENUM_S(id, name, type, field, def, min, max, names) id,
#define ENUM_N(id, name) id,
enum { CONF_SOURCE_KEYS(ENUM_S, ENUM_N) S_NKEYS };
#undef ENUM_S
#undef ENUM_N
#define NAME_S(id, name, type, field, def, min, max, names) [id] = name,
#define NAME_N(id, name) [id] = name,
const char *const conf_source_keys[]
    = { CONF_SOURCE_KEYS(NAME_S, NAME_N)[S_NKEYS] = NULL };
#undef NAME_S
#undef NAME_N
#define ROW_S(id, name, type, field, def, min, max, names)                     \
	[id] = { CONF_##type, CONF_FIELD(struct ls_conf_source, type, field),  \
		def, min, max, id == S_TYPE, names },
#define ROW_N(id, name) [id] = { CONF_NODE, 0, NULL, 0, 0, 0, NULL },
const struct conf_key conf_source_table[] = { CONF_SOURCE_KEYS(ROW_S, ROW_N) };
#undef ROW_S
#undef ROW_N
CONF_KEYS_FIT(S_NKEYS, "a source");

enum { M_START, M_FLUSH, M_NKEYS };
const char *const conf_multiline_keys[] = {
	[M_START] = "start",
	[M_FLUSH] = "flush",
	[M_NKEYS] = NULL,
};
CONF_KEYS_FIT(M_NKEYS, "multiline");

enum { PR_TYPE, PR_NAME, PR_PATTERN, PR_PLACEHOLDER, PR_NKEYS };
const char *const conf_rule_keys[] = {
	[PR_TYPE] = "type",
	[PR_NAME] = "name",
	[PR_PATTERN] = "pattern",
	[PR_PLACEHOLDER] = "replace_placeholder",
	[PR_NKEYS] = NULL,
};
CONF_KEYS_FIT(PR_NKEYS, "a rule");

static int
check_path_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v != '/') {
		conf_perr(p, &n->start_mark,
		    "%s: \"%s\" is not an absolute path (it must start with /)",
		    path, conf_show(vb, v));
		return -1;
	}
	return 0;
}

int
conf_check_tag_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v == '\0') {
		conf_perr(p, &n->start_mark, "%s: must not be empty", path);
		return -1;
	}
	/* Tags travel joined with commas in ddtags. */
	if (strchr(v, ',') != NULL) {
		conf_perr(p, &n->start_mark,
		    "%s: tag \"%s\" must not contain a comma", path,
		    conf_show(vb, v));
		return -1;
	}
	return 0;
}

/*
 * Compiles re, the value of node n at path, as a PCRE2 pattern (pattern.h);
 * NULL (reported, naming the pattern and the offset PCRE2 gives) when it is
 * none.
 */
static struct ls_pattern *
compile_pattern(struct parse *p, yaml_node_t *n, const char *path,
    const char *re, unsigned flags)
{
	struct ls_pattern *pat;
	char msg[160], vb[SHOWLEN + 4];
	size_t off = 0;

	if ((pat = ls_pattern_new(re, flags, msg, sizeof msg, &off)) == NULL)
		conf_perr(p, &n->start_mark,
		    "%s: \"%s\" is not a valid PCRE2 pattern: %s at offset %zu",
		    path, conf_show(vb, re), msg, off);
	return pat;
}

/* multiline: { start: PATTERN, flush: DURATION }: compiled here so that a
 * bad pattern is a config error. */
static void
parse_multiline(struct parse *p, struct sect *ss, struct ls_conf_source *src)
{
	struct sect s;
	yaml_node_t *n;
	char path[160];

	if ((n = conf_sect_val(ss, S_MULTILINE)) == NULL)
		return;
	/* "multiline: auto": entries found without a pattern (multiline.h). */
	if (n->type == YAML_SCALAR_NODE
	    && strcmp((const char *)n->data.scalar.value, "auto") == 0) {
		src->multiline_auto = 1;
		return;
	}
	if (conf_sect_open(
		p, &s, n, conf_multiline_keys, "%s.multiline", ss->where)
	    == -1)
		return;
	conf_get_duration(&s, M_FLUSH, &src->multiline_flush_ms, 1);
	if (conf_need(&s, M_START) != 0
	    || conf_get_str(&s, M_START, &src->multiline_start) != 1)
		return;
	snprintf(path, sizeof path, "%s.multiline.start", ss->where);
	src->multiline_re
	    = compile_pattern(p, s.val[M_START], path, src->multiline_start, 0);
}

/* One item of a log_processing_rules list, as parsed and compiled. */
struct rule_spec {
	enum ls_rule_type type;
	char *name;
	char *pattern;
	char *placeholder; /* mask_sequences: "" when absent */
	struct ls_pattern *pat;
	yaml_node_t *name_node; /* for messages */
	size_t idx; /* its index in the list as written */
};

static void
free_rule_spec(struct rule_spec *r)
{
	free(r->name);
	free(r->pattern);
	free(r->placeholder);
	ls_pattern_free(r->pat);
}

void
conf_free_rule_specs(struct rule_spec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free_rule_spec(&v[i]);
	free(v);
}

/*
 * Parses one rule of the Datadog Agent's schema, {type, name, pattern,
 * replace_placeholder}, into *r: 0, or -1 (reported).
 */
static int
parse_rule(struct parse *p, yaml_node_t *n, const char *where, size_t k,
    struct rule_spec *r)
{
	struct sect s;
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int t = -1, ok = 1;

	memset(r, 0, sizeof *r);
	if (conf_sect_open(p, &s, n, conf_rule_keys, "%s[%zu]", where, k) == -1)
		return -1;
	if (conf_need(&s, PR_TYPE) != 0
	    || conf_sect_scalar(&s, PR_TYPE, &v) != 1)
		ok = 0;
	else if ((t = ls_rule_type_parse(v)) < 0) {
		conf_perr(p, &s.val[PR_TYPE]->start_mark,
		    "%s: unknown rule type \"%s\" (expected exclude_at_match, "
		    "include_at_match, mask_sequences or multi_line)",
		    conf_sect_path(&s, PR_TYPE, path, sizeof path),
		    conf_show(vb, v));
		ok = 0;
	}
	if (conf_need(&s, PR_NAME) != 0
	    || conf_get_str(&s, PR_NAME, &r->name) != 1)
		ok = 0;
	else
		r->name_node = s.val[PR_NAME];
	if (conf_need(&s, PR_PATTERN) != 0
	    || conf_get_str(&s, PR_PATTERN, &r->pattern) != 1)
		ok = 0;
	/* An empty placeholder is allowed: the mask then deletes. */
	if (conf_sect_scalar(&s, PR_PLACEHOLDER, &v) == 1) {
		if (t >= 0 && t != LS_RULE_MASK) {
			conf_perr(p, &s.val[PR_PLACEHOLDER]->start_mark,
			    "%s: only a mask_sequences rule has a placeholder",
			    conf_sect_path(
				&s, PR_PLACEHOLDER, path, sizeof path));
			ok = 0;
		}
		r->placeholder = xstrdup(v);
	}
	if (!ok || t < 0)
		return -1;
	r->type = (enum ls_rule_type)t;
	if (r->placeholder == NULL)
		r->placeholder = xstrdup("");
	/* The Agent anchors a multi_line pattern at the line's start. */
	r->pat = compile_pattern(p, s.val[PR_PATTERN],
	    conf_sect_path(&s, PR_PATTERN, path, sizeof path), r->pattern,
	    t == LS_RULE_MULTILINE ? LS_PATTERN_ANCHORED : 0);
	return r->pat != NULL ? 0 : -1;
}

/*
 * A log_processing_rules sequence at n into *out (compiled rules only;
 * every problem reported). Names are unique in a list, and a list has at
 * most one multi_line rule.
 */
void
conf_parse_rule_list(struct parse *p, yaml_node_t *n, const char *where,
    struct rule_spec **out, size_t *nout)
{
	struct rule_spec *v, r;
	char vb[SHOWLEN + 4];
	size_t i, j, count, ml = SIZE_MAX;

	*out = NULL;
	*nout = 0;
	if (conf_open_seq(p, n, where, &count) == -1 || count == 0)
		return;
	v = xcalloc(count, sizeof *v);
	for (i = 0; i < count; i++) {
		if (parse_rule(p, conf_node(p, n->data.sequence.items.start[i]),
			where, i, &r)
		    != 0) {
			free_rule_spec(&r);
			continue;
		}
		for (j = 0; j < *nout; j++)
			if (strcmp(v[j].name, r.name) == 0)
				break;
		if (j < *nout) {
			conf_perr(p, &r.name_node->start_mark,
			    "%s[%zu].name: duplicate rule name \"%s\" (first "
			    "at line %lu)",
			    where, i, conf_show(vb, r.name),
			    (unsigned long)v[j].name_node->start_mark.line + 1);
			free_rule_spec(&r);
			continue;
		}
		if (r.type == LS_RULE_MULTILINE && ml != SIZE_MAX) {
			conf_perr(p, &r.name_node->start_mark,
			    "%s[%zu]: a second multi_line rule (a source has "
			    "one start pattern; the first is \"%s\")",
			    where, i, conf_show(vb, v[ml].name));
			free_rule_spec(&r);
			continue;
		}
		if (r.type == LS_RULE_MULTILINE)
			ml = *nout;
		r.idx = i;
		v[(*nout)++] = r;
	}
	*out = v;
}

/*
 * A source's log_processing_rules (list rl, NULL when none; at is the
 * source's path in messages): the top-level rules first, then its own,
 * compiled into src->rules (NULL when there are none). A multi_line rule
 * is the source's multiline start pattern (the source's own before a
 * top-level one; never beside multiline.start). Also the Agent's entries'
 * (conf_agent.c).
 */
void
conf_source_rules(struct parse *p, yaml_node_t *rl, const char *at,
    struct ls_conf_source *src)
{
	struct rule_spec *own = NULL, *ml = NULL, *r;
	char where[128], vb[SHOWLEN + 4];
	size_t nown = 0, i, j, n;

	snprintf(where, sizeof where, "%s.log_processing_rules", at);
	if (rl != NULL)
		conf_parse_rule_list(p, rl, where, &own, &nown);
	for (i = 0; i < nown; i++) {
		for (j = 0; j < p->ntop_rules; j++)
			if (strcmp(own[i].name, p->top_rules[j].name) == 0)
				break;
		if (j < p->ntop_rules)
			conf_perr(p, &own[i].name_node->start_mark,
			    "%s[%zu].name: \"%s\" is already the name of a "
			    "top-level rule (line %lu)",
			    where, own[i].idx, conf_show(vb, own[i].name),
			    (unsigned long)p->top_rules[j]
				    .name_node->start_mark.line
				+ 1);
		if (own[i].type != LS_RULE_MULTILINE)
			continue;
		if (src->multiline_start != NULL)
			conf_perr(p, &own[i].name_node->start_mark,
			    "%s[%zu]: a multi_line rule and multiline.start "
			    "both set the start pattern: keep one",
			    where, own[i].idx);
		else
			ml = &own[i];
	}
	for (j = 0;
	     ml == NULL && src->multiline_start == NULL && j < p->ntop_rules;
	     j++)
		if (p->top_rules[j].type == LS_RULE_MULTILINE)
			ml = &p->top_rules[j];
	if (ml != NULL) {
		src->multiline_start = xstrdup(ml->pattern);
		src->multiline_re = ls_pattern_ref(ml->pat);
	}
	for (n = 0; n < p->ntop_rules + nown; n++) {
		r = n < p->ntop_rules ? &p->top_rules[n]
				      : &own[n - p->ntop_rules];
		if (r->type == LS_RULE_MULTILINE)
			continue;
		if (src->rules == NULL)
			src->rules = ls_rules_new(src->name);
		ls_rules_add(
		    src->rules, r->type, r->name, r->pat, r->placeholder);
	}
	conf_free_rule_specs(own, nown);
}

/* A journal match: FIELD=value, FIELD in upper case, digits and '_' (the
 * journal's own rule for field names). */
static int
check_match_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];
	size_t k = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	if (k == 0 || v[k] != '=' || (*v >= '0' && *v <= '9')) {
		conf_perr(p, &n->start_mark,
		    "%s: \"%s\" is not a journal match (FIELD=value, the "
		    "field in upper case, as _SYSTEMD_UNIT=nginx.service)",
		    path, conf_show(vb, v));
		return -1;
	}
	return 0;
}

static int
check_unit_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	if (*v == '\0') {
		conf_perr(p, &n->start_mark, "%s: must not be empty", path);
		return -1;
	}
	return 0;
}

/*
 * The keys of type: journald (journal.h), and the file keys it has no use
 * for: units, exclude_units, matches and directory are its own; paths
 * and exclude_paths are a file source's alone.
 */
static void
parse_journald(struct parse *p, struct sect *s, struct ls_conf_source *src)
{
	static const int journal_only[]
	    = { S_UNITS, S_EXCLUDE_UNITS, S_MATCHES, S_DIRECTORY };
	static const int file_only[] = { S_PATHS, S_EXCLUDE_PATHS };
	struct strlist units = { NULL, 0, check_unit_cb };
	struct strlist excl = { NULL, 0, check_unit_cb };
	struct strlist matches = { NULL, 0, check_match_cb };
	char path[160];
	size_t i;

	if (src->type != LS_SOURCE_JOURNALD) {
		for (i = 0; i < sizeof journal_only / sizeof journal_only[0];
		     i++)
			if (conf_sect_val(s, journal_only[i]) != NULL)
				conf_perr(p,
				    &s->key[journal_only[i]]->start_mark,
				    "%s: only a source of type: journald has "
				    "it",
				    conf_sect_path(
					s, journal_only[i], path, sizeof path));
		return;
	}
	for (i = 0; i < sizeof file_only / sizeof file_only[0]; i++)
		if (conf_sect_val(s, file_only[i]) != NULL)
			conf_perr(p, &s->key[file_only[i]]->start_mark,
			    "%s: a source of type: journald reads no files "
			    "(units and matches choose its entries)",
			    conf_sect_path(s, file_only[i], path, sizeof path));
#ifndef HAVE_LIBSYSTEMD
	conf_perr(p, &s->val[S_TYPE]->start_mark,
	    "%s: this logshipd was built without libsystemd: it cannot read "
	    "the journal",
	    conf_sect_path(s, S_TYPE, path, sizeof path));
#endif
	conf_foreach_item(s, S_UNITS, conf_strlist_add_cb, &units);
	src->units = units.v;
	src->nunits = units.n;
	conf_foreach_item(s, S_EXCLUDE_UNITS, conf_strlist_add_cb, &excl);
	src->exclude_units = excl.v;
	src->nexclude_units = excl.n;
	conf_foreach_item(s, S_MATCHES, conf_strlist_add_cb, &matches);
	src->matches = matches.v;
	src->nmatches = matches.n;
	if (conf_get_str(s, S_DIRECTORY, &src->directory) == 1
	    && *src->directory != '/')
		conf_perr(p, &s->val[S_DIRECTORY]->start_mark,
		    "%s: \"%s\" is not an absolute path (it must start with /)",
		    conf_sect_path(s, S_DIRECTORY, path, sizeof path),
		    src->directory);
}

static void
parse_source(struct parse *p, yaml_node_t *n, size_t idx,
    struct ls_conf_source *src, yaml_node_t **namep)
{
	struct strlist paths = { NULL, 0, check_path_cb };
	struct strlist excl = { NULL, 0, check_path_cb };
	struct strlist tags = { NULL, 0, conf_check_tag_cb };
	struct sect s;
	size_t i, len;

	conf_table_defaults(conf_source_table, conf_source_keys, S_NKEYS, src);
	/* The top-level tags first, then the source's own. */
	for (i = 0; i < p->ngtags; i++) {
		tags.v = xreallocarray(tags.v, tags.n + 1, sizeof *tags.v);
		tags.v[tags.n++] = xstrdup(p->gtags[i]);
	}
	src->multiline_flush_ms = 2000;
	if (conf_sect_open(p, &s, n, conf_source_keys, "sources[%zu]", idx)
	    == -1)
		return;

	if (conf_need(&s, S_NAME) == 0
	    && conf_get_str(&s, S_NAME, &src->name) == 1)
		*namep = s.val[S_NAME];
	/* The type first (phase 1 of the table: type alone): it says which
	 * keys the source needs. */
	conf_table_read(&s, conf_source_table, S_NKEYS, src, 1);
	if (src->type == LS_SOURCE_FILE && conf_need(&s, S_PATHS) == 0
	    && conf_foreach_item(&s, S_PATHS, conf_strlist_add_cb, &paths) == 0
	    && s.val[S_PATHS]->type == YAML_SEQUENCE_NODE
	    && s.val[S_PATHS]->data.sequence.items.start
		== s.val[S_PATHS]->data.sequence.items.top)
		conf_perr(p, &s.val[S_PATHS]->start_mark,
		    "sources[%zu].paths: must name at least one path", idx);
	src->paths = paths.v;
	src->npaths = paths.n;
	conf_get_str(&s, S_SERVICE, &src->service);
	conf_get_str(&s, S_DDSOURCE, &src->ddsource);
	conf_foreach_item(&s, S_TAGS, conf_strlist_add_cb, &tags);
	src->tags = tags.v;
	src->ntags = tags.n;
	if (src->ntags > 0) {
		for (i = 0, len = 0; i < src->ntags; i++)
			len += strlen(src->tags[i]) + 1;
		src->ddtags = xmalloc(len);
		src->ddtags[0] = '\0';
		for (i = 0; i < src->ntags; i++) {
			if (i > 0)
				strcat(src->ddtags, ",");
			strcat(src->ddtags, src->tags[i]);
		}
	}
	src->labels
	    = ls_labels_intern(src->service, src->ddsource, src->ddtags);
	conf_table_read(&s, conf_source_table, S_NKEYS, src, 0);
	conf_foreach_item(&s, S_EXCLUDE_PATHS, conf_strlist_add_cb, &excl);
	src->exclude_paths = excl.v;
	src->nexclude_paths = excl.n;
	parse_multiline(p, &s, src);
	conf_source_rules(p, conf_sect_val(&s, S_RULES), s.where, src);
	parse_journald(p, &s, src);
}

static void
parse_source_cb(struct parse *p, yaml_node_t *n, size_t idx, void *item,
    yaml_node_t **namep)
{
	parse_source(p, n, idx, item, namep);
}

static const char *
source_name_cb(const void *item)
{
	return ((const struct ls_conf_source *)item)->name;
}

void
conf_parse_sources(struct parse *p, struct sect *top, struct ls_conf *c)
{
	void *v = NULL;

	/* With datadog_agent_confd, sources: may be left out. */
	if (!conf_agent_only(p, top))
		c->nsources = conf_parse_items(p, top, T_SOURCES, "sources",
		    LS_MAX_SOURCES, sizeof *c->sources, &v, parse_source_cb,
		    source_name_cb);
	c->sources = v;
	conf_agent_sources(p, top, c);
}
