/*
 * conf: see conf.h. This file loads a configuration and frees it: the
 * built-in defaults, the top-level keys and metrics:, then the parts that
 * conf_impl.h's family parses (sources, destinations, routes, include).
 *
 * Aliases make the document a graph, possibly with cycles, but every walk
 * follows the fixed shape of the schema, so it is bounded.
 *
 * Tested in check_conf.c.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf_impl.h"
#include "labels.h"
#include "pattern.h"
#include "rules.h"
#include "secret.h"
#include "xmalloc.h"

#ifndef LS_STATE_DIR
#define LS_STATE_DIR "/var/lib/logshipd"
#endif

enum { MX_LISTEN, MX_NKEYS };
const char *const conf_metrics_keys[] = {
	[MX_LISTEN] = "listen",
	[MX_NKEYS] = NULL,
};
CONF_KEYS_FIT(MX_NKEYS, "metrics");

#define NAME_S(id, name, type, field, def, min, max, late) [id] = name,
#define NAME_N(id, name, def) [id] = name,
const char *const conf_top_keys[] = { CONF_TOP_KEYS(NAME_S, NAME_N) NULL };
#undef NAME_S
#undef NAME_N

#define ROW_S(id, name, type, field, def, min, max, late)                      \
	[id] = { CONF_##type, CONF_FIELD(struct ls_conf, type, field), def,    \
		min, max, late, NULL },
#define ROW_N(id, name, def) [id] = { CONF_NODE, 0, def, 0, 0, 0, NULL },
const struct conf_key conf_top_table[] = { CONF_TOP_KEYS(ROW_S, ROW_N) };
#undef ROW_S
#undef ROW_N
CONF_KEYS_FIT(T_NKEYS, "the top level");

/*
 * metrics: { listen: ADDRESS:PORT }: where the status endpoint listens.
 * A numeric address only, so that what it binds to is what the file says
 * (no resolver at start); "" turns the endpoint off.
 */
static void
parse_metrics(struct parse *p, struct sect *top, struct ls_conf *c)
{
	struct sect s;
	yaml_node_t *n;
	const char *v;
	char vb[SHOWLEN + 4], *host;
	unsigned port;

	if ((n = conf_sect_val(top, T_METRICS)) == NULL)
		return;
	if (conf_sect_open(p, &s, n, conf_metrics_keys, "metrics") == -1)
		return;
	if (conf_sect_scalar(&s, MX_LISTEN, &v) != 1)
		return;
	free(c->metrics_listen);
	free(c->metrics_host);
	c->metrics_listen = c->metrics_host = NULL;
	c->metrics_port = 0;
	if (*v == '\0')
		return;
	if (ls_conf_parse_listen(v, &host, &port) == -1) {
		conf_perr(p, &s.val[MX_LISTEN]->start_mark,
		    "metrics.listen: bad address \"%s\" (expected " LISTEN_HELP
		    ", or \"\" for none)",
		    conf_show(vb, v));
		return;
	}
	c->metrics_listen = xstrdup(v);
	c->metrics_host = host;
	c->metrics_port = port;
}

static void
parse_top(struct parse *p, yaml_node_t *root, struct ls_conf *c)
{
	struct strlist gtags = { NULL, 0, conf_check_tag_cb };
	struct sect s;
	char host[HOST_NAME_MAX + 1];

	if (conf_sect_open(p, &s, root, conf_top_keys, "%s", "") == -1)
		return;
	conf_table_read(&s, conf_top_table, T_NKEYS, c, 0);
	/* Before the destinations: it decides how their key files are read. */
	conf_get_bool(&s, T_STRICT_PERMISSIONS, &p->strict);
	/* Before the sources: their tags come after these. */
	conf_foreach_item(&s, T_TAGS, conf_strlist_add_cb, &gtags);
	p->gtags = gtags.v;
	p->ngtags = gtags.n;
	parse_metrics(p, &s, c);
	/* Before the sources: each one's list begins with these. */
	if (conf_sect_val(&s, T_RULES) != NULL)
		conf_parse_rule_list(p, s.val[T_RULES], "log_processing_rules",
		    &p->top_rules, &p->ntop_rules);
	conf_table_read(&s, conf_top_table, T_NKEYS, c, 1);
	/* After the tags and rules, which included sources take too. */
	conf_foreach_item(&s, T_INCLUDE, conf_include_path_cb, NULL);
	conf_parse_sources(p, &s, c);
	conf_parse_dests(p, &s, c);
	conf_parse_routes(p, &s, c);
	conf_free_includes(p);
	conf_free_strv(p->gtags, p->ngtags);
	p->gtags = NULL;
	p->ngtags = 0;

	c->hostname_set = c->hostname != NULL;
	if (c->hostname == NULL) {
		if (gethostname(host, sizeof host) == -1) {
			conf_perr(p, &root->start_mark,
			    "cannot find the hostname (%s): set hostname",
			    strerror(errno));
			return;
		}
		host[sizeof host - 1] = '\0';
		c->hostname = xstrdup(host);
	}
}

static struct ls_conf *
load(const char *name, const char *text, size_t len, FILE *errf)
{
	struct parse p = { .name = name, .text = text, .len = len };
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	yaml_mark_t start = { 0, 0, 0 };
	struct ls_conf *c;

	c = xcalloc(1, sizeof *c);
	atomic_init(&c->refs, 1);
	c->path = xstrdup(name);
	conf_table_defaults(conf_top_table, conf_top_keys, T_NKEYS, c);
	c->metrics_listen = xstrdup(LS_METRICS_LISTEN);
	if (ls_conf_parse_listen(
		c->metrics_listen, &c->metrics_host, &c->metrics_port)
	    != 0)
		fatalx("conf: bad built-in metrics.listen");

	if (len > CONF_MAX_BYTES) {
		conf_perr(&p, &start,
		    "the file is larger than the limit of %" PRIu64 " KiB",
		    CONF_MAX_BYTES / KiB);
		goto out;
	}
	if (conf_check_depth(&p, text, len) != 0)
		goto out;
	if (!yaml_parser_initialize(&parser))
		fatalx("conf: out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* A failed yaml_parser_load leaves no document to delete. */
	if (!yaml_parser_load(&parser, &doc)) {
		conf_syntax_error(&p, &parser);
		goto done;
	}
	p.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL)
		conf_perr(&p, &start,
		    "the configuration is empty (sources and destinations are "
		    "required)");
	else {
		parse_top(&p, root, c);
		if (!yaml_parser_load(&parser, &extra))
			conf_syntax_error(&p, &parser);
		else {
			if ((root = yaml_document_get_root_node(&extra))
			    != NULL)
				conf_perr(&p, &root->start_mark,
				    "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
done:
	yaml_parser_delete(&parser);
out:
	conf_free_rule_specs(p.top_rules, p.ntop_rules);
	conf_free_strv(p.expanded, p.nexpanded);
	if (conf_flush_errors(&p, errf) + conf_flush_includes(&p, errf) > 0) {
		ls_conf_free(c);
		return NULL;
	}
	return c;
}

struct ls_conf *
ls_conf_load(const char *path, FILE *errf)
{
	struct ls_conf *c;
	char *text;
	size_t len;

	if (conf_read_text(path, &text, &len) != 0) {
		if (errf != NULL)
			fprintf(errf, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	c = load(path, text, len, errf);
	free(text);
	return c;
}

int
ls_conf_load_listen(const char *path, FILE *errf, char **listen)
{
	struct ls_conf c = { .metrics_listen = NULL };
	struct parse p = { .name = path };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_mark_t start = { 0, 0, 0 };
	struct sect s;
	char *text;
	size_t len;

	*listen = NULL;
	if (conf_read_text(path, &text, &len) != 0) {
		if (errf != NULL)
			fprintf(errf, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	p.text = text;
	p.len = len;
	c.metrics_listen = xstrdup(LS_METRICS_LISTEN);
	if (len > CONF_MAX_BYTES)
		conf_perr(&p, &start,
		    "the file is larger than the limit of %" PRIu64 " KiB",
		    CONF_MAX_BYTES / KiB);
	else if (conf_check_depth(&p, text, len) == 0) {
		if (!yaml_parser_initialize(&parser))
			fatalx("conf: out of memory");
		yaml_parser_set_input_string(
		    &parser, (const unsigned char *)text, len);
		if (!yaml_parser_load(&parser, &doc))
			conf_syntax_error(&p, &parser);
		else {
			p.doc = &doc;
			/* Not a mapping: a problem for the daemon, not here. */
			if ((root = yaml_document_get_root_node(&doc)) != NULL
			    && root->type == YAML_MAPPING_NODE
			    && conf_sect_open(
				   &p, &s, root, conf_top_keys, "%s", "")
				== 0)
				parse_metrics(&p, &s, &c);
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	conf_free_strv(p.expanded, p.nexpanded);
	free(text);
	free(c.metrics_host);
	if (conf_flush_errors(&p, errf) > 0) {
		free(c.metrics_listen);
		return -1;
	}
	*listen = c.metrics_listen;
	return 0;
}

struct ls_conf *
ls_conf_load_string(const char *name, const char *yaml, FILE *errf)
{
	return load(name, yaml, strlen(yaml), errf);
}

void
ls_conf_free(struct ls_conf *c)
{
	struct ls_conf_source *src;
	struct ls_conf_dest *d;
	size_t i, j;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->nsources; i++) {
		src = &c->sources[i];
		free(src->name);
		conf_free_strv(src->paths, src->npaths);
		free(src->service);
		free(src->ddsource);
		conf_free_strv(src->tags, src->ntags);
		conf_free_strv(src->exclude_paths, src->nexclude_paths);
		free(src->ddtags);
		ls_labels_unref(src->labels);
		free(src->multiline_start);
		ls_pattern_free(src->multiline_re);
		ls_rules_free(src->rules);
		conf_free_strv(src->units, src->nunits);
		conf_free_strv(src->exclude_units, src->nexclude_units);
		conf_free_strv(src->matches, src->nmatches);
		free(src->directory);
	}
	free(c->sources);
	free(c->route_src);
	for (i = 0; i < c->ndests; i++) {
		d = &c->dests[i];
		free(d->name);
		free(d->url);
		ls_secret_free(d->api_key);
		free(d->ca_file);
		free(d->site);
		ls_secret_free(d->proxy);
		free(d->no_proxy);
		for (j = 0; j < d->nheaders; j++)
			ls_secret_free(d->headers[j]);
		free(d->headers);
		free(d->cert_file);
		free(d->key_file);
		free(d->server_name);
	}
	free(c->dests);
	conf_free_strv(c->skipped, c->nskipped);
	free(c->path);
	free(c->state_dir);
	free(c->hostname);
	free(c->metrics_listen);
	free(c->metrics_host);
	free(c);
}

const char *const *
ls_conf_keys(const char *mapping)
{
	static const struct {
		const char *name;
		const char *const *keys;
	} maps[] = {
		{ "", conf_top_keys },
		{ "metrics", conf_metrics_keys },
		{ "sources", conf_source_keys },
		{ "multiline", conf_multiline_keys },
		{ "log_processing_rules", conf_rule_keys },
		{ "destinations", conf_dest_keys },
		{ "batch", conf_batch_keys },
		{ "retry", conf_retry_keys },
		{ "tls", conf_tls_keys },
		{ "basic_auth", conf_basic_auth_keys },
		{ "routes", conf_route_keys },
	};
	size_t i;

	for (i = 0; mapping != NULL && i < sizeof maps / sizeof maps[0]; i++)
		if (strcmp(maps[i].name, mapping) == 0)
			return maps[i].keys;
	return NULL;
}

const char *
ls_conf_key_default(const char *mapping, const char *name)
{
	const struct conf_key *t;
	const char *const *keys;
	size_t i;

	if (mapping == NULL || name == NULL)
		return NULL;
	if (strcmp(mapping, "") == 0)
		t = conf_top_table;
	else if (strcmp(mapping, "sources") == 0)
		t = conf_source_table;
	else if (strcmp(mapping, "destinations") == 0)
		t = conf_dest_table;
	else
		return NULL;
	keys = ls_conf_keys(mapping);
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], name) == 0)
			return t[i].def;
	return NULL;
}

struct ls_conf *
ls_conf_ref(struct ls_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}
