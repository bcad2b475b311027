/*
 * conf_agent: the Datadog Agent's log configurations, read as they are.
 * datadog_agent_confd: names the Agent's conf.d directory (or a list of
 * directories and files); each logs: entry of type file there becomes a
 * source like one written by hand, and every other entry is listed as
 * skipped, with its file, line and reason (ls_conf_report_skipped).
 *
 * What is read, as the Agent's file provider reads it: in a directory,
 * every <name>.d/ *.yaml (and .yml) and every <name>.yaml beside them, in
 * byte order of their names; empty files are ignored, as the Agent does.
 * Each file gets its own struct parse, kept with the included files
 * (opened stays 0, so conf_units does not take it for one), so that its
 * errors name it and are printed after the main file's. They are read
 * like key files: opened relative to their directory with O_NOFOLLOW,
 * regular files only, at most CONF_MAX_BYTES; ${VAR} is not expanded.
 *
 * A source is named after its integration (nginx from nginx.d, or from
 * nginx.yaml), and nginx#2, nginx#3 for its further entries.
 *
 * Tested in check_conf_agent.c and tests/e2e/agent_confd.sh.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf_impl.h"
#include "labels.h"
#include "xmalloc.h"

/* The keys of a logs entry of type file that are mapped; any other one
 * skips the entry (it would change what is read or sent). */
enum {
	A_TYPE,
	A_PATH,
	A_EXCLUDE_PATHS,
	A_SERVICE,
	A_SOURCE,
	A_SOURCECATEGORY,
	A_TAGS,
	A_RULES,
	A_START,
	A_ENCODING,
	A_AUTO_ML,
	A_NKEYS
};
static const char *const agent_keys[] = {
	[A_TYPE] = "type",
	[A_PATH] = "path",
	[A_EXCLUDE_PATHS] = "exclude_paths",
	[A_SERVICE] = "service",
	[A_SOURCE] = "source",
	[A_SOURCECATEGORY] = "sourcecategory",
	[A_TAGS] = "tags",
	[A_RULES] = "log_processing_rules",
	[A_START] = "start_position",
	[A_ENCODING] = "encoding",
	[A_AUTO_ML] = "auto_multi_line_detection",
	[A_NKEYS] = NULL,
};
CONF_KEYS_FIT(A_NKEYS, "an Agent logs entry");

static const char *const start_names[]
    = { "beginning", "end", "forceBeginning", "forceEnd", NULL };

/* One load of datadog_agent_confd. */
struct agent {
	struct parse *p; /* the main file */
	struct ls_conf *c;
	size_t nyaml; /* c->sources[0..nyaml) are the YAML's own */
	size_t cap; /* room in c->sources, at and node */
	struct parse **at; /* each Agent source's file, and its entry */
	yaml_node_t **node;
	struct integ {
		char *name;
		size_t n;
	} * integ;
	size_t ninteg;
};

/* The value of key name in mapping map, or NULL. */
static yaml_node_t *
find_key(struct parse *p, yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = conf_node(p, pair->key);
		if (k->type == YAML_SCALAR_NODE
		    && strcmp(conf_scalar(k), name) == 0)
			return conf_node(p, pair->value);
	}
	return NULL;
}

/*
 * Whether key name is in mapping map twice: the Agent's YAML reader takes
 * the last, find_key the first, so that each would read another entry (or
 * none): an error at the second, as conf_sect_open says it (where: "" or
 * "logs[k]").
 */
static int
dup_key(struct parse *p, yaml_node_t *map, const char *name, const char *where)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *first = NULL;

	if (map->type != YAML_MAPPING_NODE)
		return 0;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = conf_node(p, pair->key);
		if (k->type != YAML_SCALAR_NODE
		    || strcmp(conf_scalar(k), name) != 0)
			continue;
		if (first == NULL) {
			first = k;
			continue;
		}
		conf_perr(p, &k->start_mark,
		    "duplicate key \"%s\"%s%s (first at line %lu)", name,
		    *where != '\0' ? " in " : "", where,
		    (unsigned long)first->start_mark.line + 1);
		return 1;
	}
	return 0;
}

/* Records entry k of file fp (at node n) as skipped, and why. */
static void
skip(struct agent *a, struct parse *fp, yaml_node_t *n, size_t k,
    const char *type, const char *why)
{
	struct ls_conf *c = a->c;
	char tb[SHOWLEN + 4];

	c->skipped = xreallocarray(c->skipped, c->nskipped + 1, sizeof(char *));
	xasprintf(&c->skipped[c->nskipped++],
	    "%s:%lu:%lu: logs[%zu] (type %s) skipped: %s", fp->name,
	    (unsigned long)n->start_mark.line + 1,
	    (unsigned long)n->start_mark.column + 1, k, conf_show(tb, type),
	    why);
}

/* Why an entry of type t is not made a source. */
static const char *
type_reason(const char *t)
{
	if (strcmp(t, "tcp") == 0 || strcmp(t, "udp") == 0)
		return "logshipd listens on no port: it reads files";
	if (strcmp(t, "journald") == 0)
		return "the journal is not read from the Agent's files";
	if (strcmp(t, "docker") == 0 || strcmp(t, "container") == 0
	    || strcmp(t, "integration") == 0)
		return "logshipd does not read containers' logs";
	if (strcmp(t, "windows_event") == 0)
		return "logshipd does not run on Windows";
	return "unknown type (logshipd maps type file only)";
}

static int
path_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v == '/')
		return 0;
	conf_perr(p, &n->start_mark,
	    "%s: \"%s\" is not an absolute path (it must start with /)", path,
	    conf_show(vb, v));
	return -1;
}

/* A tags value as the Agent takes it: each string (or the one string)
 * split at commas, blanks around each tag dropped. */
static void
tags_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct strlist *l = arg;
	size_t len;

	(void)p, (void)path, (void)n;
	while (*v != '\0') {
		v += strspn(v, " \t");
		len = strcspn(v, ",");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len > 0) {
			l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
			l->v[l->n++] = xstrndup(v, len);
		}
		v += strcspn(v, ",");
		v += *v == ',';
	}
}

/* The name of the next source of integration in: in, in#2, in#3... */
static char *
next_name(struct agent *a, const char *in)
{
	char *s;
	size_t i;

	for (i = 0; i < a->ninteg; i++)
		if (strcmp(a->integ[i].name, in) == 0)
			break;
	if (i == a->ninteg) {
		a->integ = xreallocarray(a->integ, i + 1, sizeof *a->integ);
		a->integ[i].name = xstrdup(in);
		a->integ[i].n = 0;
		a->ninteg++;
	}
	if (a->integ[i].n++ == 0)
		return xstrdup(in);
	xasprintf(&s, "%s#%zu", in, a->integ[i].n);
	return s;
}

/* The source made of a type file entry, opened in s (file fp). */
static void
make_source(struct agent *a, struct parse *fp, struct sect *s, yaml_node_t *n,
    const char *in, int start)
{
	struct strlist paths = { NULL, 0, path_cb };
	struct strlist excl = { NULL, 0, path_cb };
	struct strlist tags = { NULL, 0, NULL };
	struct ls_conf_source *src;
	struct ls_conf *c = a->c;
	const char *v;
	size_t i, len, k;
	int automl = 0;

	for (k = 0; conf_source_keys[k] != NULL; k++)
		;
	/* Grown by doubling: thousands of entries are one conf.d file. */
	if (c->nsources >= a->cap) {
		a->cap = c->nsources < 8 ? 16 : 2 * c->nsources;
		c->sources
		    = xreallocarray(c->sources, a->cap, sizeof *c->sources);
		a->at = xreallocarray(a->at, a->cap, sizeof *a->at);
		a->node = xreallocarray(a->node, a->cap, sizeof *a->node);
	}
	src = &c->sources[c->nsources];
	memset(src, 0, sizeof *src);
	conf_table_defaults(conf_source_table, conf_source_keys, k, src);
	src->multiline_flush_ms = 2000;
	src->start_at = start == 0 ? LS_START_BEGINNING : LS_START_END;
	src->name = next_name(a, in);
	a->at[c->nsources] = fp;
	a->node[c->nsources] = n;
	c->nsources++;

	if (conf_need(s, A_PATH) == 0)
		conf_foreach_item(s, A_PATH, conf_strlist_add_cb, &paths);
	src->paths = paths.v;
	src->npaths = paths.n;
	conf_foreach_item(s, A_EXCLUDE_PATHS, conf_strlist_add_cb, &excl);
	src->exclude_paths = excl.v;
	src->nexclude_paths = excl.n;
	conf_get_str(s, A_SERVICE, &src->service);
	conf_get_str(s, A_SOURCE, &src->ddsource);
	/* The top-level tags, the source category (as the Agent tags it),
	 * then the entry's own. */
	for (i = 0; i < a->p->ngtags; i++)
		tags_cb(fp, NULL, NULL, a->p->gtags[i], &tags);
	if (conf_sect_scalar(s, A_SOURCECATEGORY, &v) == 1 && *v != '\0') {
		tags.v = xreallocarray(tags.v, tags.n + 1, sizeof *tags.v);
		xasprintf(&tags.v[tags.n++], "sourcecategory:%s", v);
	}
	conf_foreach_item(s, A_TAGS, tags_cb, &tags);
	src->tags = tags.v;
	src->ntags = tags.n;
	for (i = 0, len = 0; i < tags.n; i++)
		len += strlen(tags.v[i]) + 1;
	if (len > 0) {
		src->ddtags = xcalloc(1, len);
		for (i = 0; i < tags.n; i++) {
			if (i > 0)
				strcat(src->ddtags, ",");
			strcat(src->ddtags, tags.v[i]);
		}
	}
	src->labels
	    = ls_labels_intern(src->service, src->ddsource, src->ddtags);
	conf_get_bool(s, A_AUTO_ML, &automl);
	conf_source_rules(fp, conf_sect_val(s, A_RULES), s->where, src);
	/* A multi_line rule wins over detection, as in the Agent. */
	src->multiline_auto = automl && src->multiline_start == NULL;
}

/* Entry k (node n) of file fp's logs, of integration in. */
static void
entry(struct agent *a, struct parse *fp, yaml_node_t *n, size_t k,
    const char *in, int template)
{
	yaml_node_pair_t *pair;
	yaml_node_t *t, *key;
	struct sect s;
	const char *v, *type;
	char why[160], kb[SHOWLEN + 4], vb[SHOWLEN + 4], where[32];
	size_t i;
	int start = 1;

	if (n->type != YAML_MAPPING_NODE) {
		conf_perr(
		    fp, &n->start_mark, "logs[%zu]: expected a mapping", k);
		return;
	}
	snprintf(where, sizeof where, "logs[%zu]", k);
	if (dup_key(fp, n, "type", where))
		return;
	if ((t = find_key(fp, n, "type")) == NULL || conf_is_null(t)
	    || t->type != YAML_SCALAR_NODE) {
		conf_perr(fp, &(t != NULL ? t : n)->start_mark,
		    "logs[%zu].type: a string is required (file, tcp, udp, "
		    "journald...)",
		    k);
		return;
	}
	type = conf_scalar(t);
	if (template) {
		skip(a, fp, n, k, type,
		    "an Autodiscovery template (ad_identifiers) is for "
		    "containers");
		return;
	}
	if (strcmp(type, "file") != 0) {
		skip(a, fp, n, k, type, type_reason(type));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		key = conf_node(fp, pair->key);
		if (key->type != YAML_SCALAR_NODE)
			continue; /* conf_sect_open says it */
		for (i = 0; agent_keys[i] != NULL; i++)
			if (strcmp(agent_keys[i], conf_scalar(key)) == 0)
				break;
		if (agent_keys[i] != NULL)
			continue;
		snprintf(why, sizeof why,
		    "key \"%s\" (line %lu) has no logshipd equivalent",
		    conf_show(kb, conf_scalar(key)),
		    (unsigned long)key->start_mark.line + 1);
		skip(a, fp, n, k, type, why);
		return;
	}
	if (conf_sect_open(fp, &s, n, agent_keys, "logs[%zu]", k) == -1)
		return;
	if (conf_sect_scalar(&s, A_ENCODING, &v) == 1
	    && strcasecmp(v, "utf-8") != 0 && strcasecmp(v, "utf8") != 0) {
		snprintf(why, sizeof why,
		    "encoding %s is not read (logshipd reads UTF-8)",
		    conf_show(vb, v));
		skip(a, fp, s.val[A_ENCODING], k, type, why);
		return;
	}
	if (conf_get_enum(&s, A_START, start_names, &start) == 1 && start > 1) {
		snprintf(why, sizeof why,
		    "start_position %s ignores the saved position, which "
		    "logshipd always resumes from",
		    start_names[start]);
		skip(a, fp, s.val[A_START], k, type, why);
		return;
	}
	make_source(a, fp, &s, n, in, start);
}

/* Loads the Agent file name (in directory dfd, shown as path), of
 * integration in, and makes its entries sources. */
static void
load_file(struct agent *a, int dfd, const char *name, const char *path,
    const char *in)
{
	struct incfile *f = conf_incfile_add(a->p, path);
	yaml_node_t *root, *logs;
	yaml_mark_t start = { 0, 0, 0 };
	size_t len, i, count;

	f->p.raw = 1;
	if (conf_read_text_at(dfd, name, &f->text, &len) != 0) {
		conf_perr(&f->p, &start, "cannot read it: %s",
		    errno == ELOOP ? "a symbolic link (refused)"
				   : strerror(errno));
		return;
	}
	/* The Agent ignores an empty file. */
	if (len == 0 || (root = conf_incfile_parse(f, len)) == NULL)
		return;
	if (root->type != YAML_MAPPING_NODE) {
		conf_perr(&f->p, &root->start_mark, "expected a mapping");
		return;
	}
	if (dup_key(&f->p, root, "logs", ""))
		return;
	/* A check's file without logs: adds no source. */
	if ((logs = find_key(&f->p, root, "logs")) == NULL || conf_is_null(logs)
	    || conf_open_seq(&f->p, logs, "logs", &count) != 0)
		return;
	for (i = 0; i < count; i++)
		entry(a, &f->p,
		    conf_node(&f->p, logs->data.sequence.items.start[i]), i, in,
		    find_key(&f->p, root, "ad_identifiers") != NULL);
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in directory dfd that end in one of the sfx, sorted. */
static char **
list_dir(int dfd, const char *const *sfx, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t i, len, sl;
	DIR *d;
	int fd;

	*n = 0;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		for (i = 0; sfx[i] != NULL; i++)
			if (len > (sl = strlen(sfx[i]))
			    && strcmp(de->d_name + len - sl, sfx[i]) == 0)
				break;
		if (sfx[i] == NULL)
			continue;
		v = xreallocarray(v, *n + 1, sizeof *v);
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, name_cmp);
	return v;
}

static const char *const yaml_sfx[] = { ".yaml", ".yml", NULL };
static const char *const confd_sfx[] = { ".d", ".yaml", ".yml", NULL };

/* The integration of a file name: nginx of nginx.yaml. */
static char *
strip_ext(const char *name)
{
	size_t len = strlen(name);

	if (len > 2 && strcmp(name + len - 2, ".d") == 0)
		return xstrndup(name, len - 2);
	return xstrndup(name, len - strlen(strrchr(name, '.')));
}

/* The files of directory dir, a conf.d (n: the YAML node naming it). */
static void
load_dir(struct agent *a, yaml_node_t *n, const char *path, int dfd)
{
	char **top, **sub, *full, *in;
	struct stat st;
	size_t i, j, ntop, nsub;
	int sfd, e;

	top = list_dir(dfd, confd_sfx, &ntop);
	for (i = 0; i < ntop; i++) {
		in = strip_ext(top[i]);
		xasprintf(&full, "%s/%s", path, top[i]);
		if (strcmp(top[i] + strlen(top[i]) - 2, ".d") != 0) {
			load_file(a, dfd, top[i], full, in);
			free(full);
			free(in);
			continue;
		}
		/* Not a directory (a file named x.d): the Agent skips it. */
		if ((sfd = openat(dfd, top[i],
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
		    == -1) {
			/* Linux says ENOTDIR for a link with O_DIRECTORY. */
			e = errno;
			if (e == ELOOP
			    || (fstatat(dfd, top[i], &st, AT_SYMLINK_NOFOLLOW)
				    == 0
				&& S_ISLNK(st.st_mode)))
				conf_perr(a->p, &n->start_mark,
				    "datadog_agent_confd: %s is a symbolic "
				    "link (refused)",
				    full);
			else if (e != ENOTDIR)
				conf_perr(a->p, &n->start_mark,
				    "datadog_agent_confd: cannot open %s: %s",
				    full, strerror(e));
			free(full);
			free(in);
			continue;
		}
		free(full);
		sub = list_dir(sfd, yaml_sfx, &nsub);
		for (j = 0; j < nsub; j++) {
			xasprintf(&full, "%s/%s/%s", path, top[i], sub[j]);
			load_file(a, sfd, sub[j], full, in);
			free(full);
		}
		conf_free_strv(sub, nsub);
		close(sfd);
		free(in);
	}
	conf_free_strv(top, ntop);
}

/* One item of datadog_agent_confd: a directory or a file. */
static void
confd_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct agent *a = arg;
	char *full, *dir, *base, *in, *b;
	int dfd;

	if (v[0] != '/') { /* relative to the main file, as include: */
		dir = xstrdup(p->name);
		xasprintf(&full, "%s/%s", dirname(dir), v);
		free(dir);
	} else
		full = xstrdup(v);
	if ((dfd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		load_dir(a, n, full, dfd);
		close(dfd);
		free(full);
		return;
	}
	if (errno != ENOTDIR) {
		conf_perr(p, &n->start_mark, "%s: cannot open %s: %s", path,
		    full, strerror(errno));
		free(full);
		return;
	}
	/* A file: of the integration its directory (x.d) or name says;
	 * conf.d is the Agent's own directory, whose x.yaml is of x. */
	dir = xstrdup(full);
	base = xstrdup(full);
	b = basename(dirname(dir));
	if (strlen(b) > 2 && strcmp(b + strlen(b) - 2, ".d") == 0
	    && strcmp(b, "conf.d") != 0)
		in = strip_ext(b);
	else if (strchr(basename(base), '.') != NULL)
		in = strip_ext(basename(base));
	else
		in = xstrdup(basename(base));
	load_file(a, AT_FDCWD, full, full, in);
	free(in);
	free(dir);
	free(base);
	free(full);
}

/* Sets *file and *line to where YAML source j (c->sources[j]) is named,
 * walking the files as conf_collect_items did. */
static void
yaml_place(struct agent *a, struct sect *top, size_t j, const char **file,
    unsigned long *line)
{
	struct unit *u;
	yaml_node_t *n, *item, *name;
	size_t nu, i, k = 0, cnt;

	*file = a->p->name;
	*line = 0;
	u = conf_units(a->p, top, &nu);
	for (i = 0; i < nu; i++) {
		if ((n = conf_sect_val(u[i].top, T_SOURCES)) == NULL
		    || n->type != YAML_SEQUENCE_NODE)
			continue;
		cnt = (size_t)(n->data.sequence.items.top
		    - n->data.sequence.items.start);
		if (j >= k + cnt) {
			k += cnt;
			continue;
		}
		item = conf_node(u[i].p, n->data.sequence.items.start[j - k]);
		name = find_key(u[i].p, item, "name");
		*file = u[i].p->name;
		*line = (unsigned long)(name != NULL ? name : item)
			    ->start_mark.line
		    + 1;
		break;
	}
	free(u);
}

/* A name that an Agent source shares with an earlier source is an error
 * at the Agent's entry, naming the other's place. */
static void
check_names(struct agent *a, struct sect *top)
{
	struct ls_conf *c = a->c;
	const char *file;
	unsigned long line;
	size_t i, j;

	for (i = a->nyaml; i < c->nsources; i++)
		for (j = 0; j < i; j++) {
			if (c->sources[j].name == NULL
			    || strcmp(c->sources[i].name, c->sources[j].name)
				!= 0)
				continue;
			if (j < a->nyaml)
				yaml_place(a, top, j, &file, &line);
			else {
				file = a->at[j]->name;
				line
				    = (unsigned long)a->node[j]->start_mark.line
				    + 1;
			}
			conf_perr(a->at[i], &a->node[i]->start_mark,
			    "logs: the source this entry makes is named "
			    "\"%s\", as is the source at %s:%lu: rename that "
			    "one",
			    c->sources[i].name, file, line);
			break;
		}
}

int
conf_agent_only(struct parse *p, struct sect *top)
{
	struct unit *u;
	size_t nu, i;
	int only;

	if (conf_sect_val(top, T_AGENT_CONFD) == NULL)
		return 0;
	u = conf_units(p, top, &nu);
	for (i = 0, only = 1; i < nu; i++)
		if (u[i].top->key[T_SOURCES] != NULL)
			only = 0;
	free(u);
	return only;
}

/* The sources of datadog_agent_confd, after the YAML's own in c. */
void
conf_agent_sources(struct parse *p, struct sect *top, struct ls_conf *c)
{
	struct agent a = { .p = p, .c = c, .nyaml = c->nsources };
	size_t i, ninc = p->ninc, nerrs = p->nerrs;

	if (conf_sect_val(top, T_AGENT_CONFD) == NULL)
		return;
	conf_foreach_item(top, T_AGENT_CONFD, confd_cb, &a);
	/* Past LS_MAX_SOURCES a record's source index would wrap to
	 * another source's routes; and the names are not compared (a
	 * quadratic look). */
	if (c->nsources > LS_MAX_SOURCES)
		conf_perr(p, &top->val[T_AGENT_CONFD]->start_mark,
		    "datadog_agent_confd: %zu sources with those of this "
		    "file, more than %u",
		    c->nsources, LS_MAX_SOURCES);
	else
		check_names(&a, top);
	for (i = ninc; i < p->ninc; i++)
		nerrs += p->inc[i]->p.nerrs;
	/* Unless a file that could not be read says why. */
	if (c->nsources == 0 && nerrs == p->nerrs)
		conf_perr(p, &top->val[T_AGENT_CONFD]->start_mark,
		    "datadog_agent_confd: no logs entry of type file was "
		    "found, and sources: is not set: nothing to read");
	for (i = 0; i < a.ninteg; i++)
		free(a.integ[i].name);
	free(a.integ);
	free(a.at);
	free(a.node);
}

void
ls_conf_report_skipped(const struct ls_conf *c, FILE *f)
{
	size_t i;

	for (i = 0; i < c->nskipped; i++)
		if (f != NULL)
			fprintf(f, "%s\n", c->skipped[i]);
		else
			log_warnx("%s", c->skipped[i]);
}
