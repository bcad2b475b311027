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
static const char *const metrics_keys[] = {
	[MX_LISTEN] = "listen",
	[MX_NKEYS] = NULL,
};
CONF_KEYS_FIT(MX_NKEYS, "metrics");

const char *const conf_top_keys[] = {
	[T_STATE_DIR] = "state_dir",
	[T_HOSTNAME] = "hostname",
	[T_SHUTDOWN_TIMEOUT] = "shutdown_timeout",
	[T_MAX_BUFFER_BYTES] = "max_buffer_bytes",
	[T_SCAN_INTERVAL] = "scan_interval",
	[T_POLL_INTERVAL] = "poll_interval",
	[T_READ_COALESCE] = "read_coalesce",
	[T_CHECKPOINT_INTERVAL] = "checkpoint_interval",
	[T_CHECKPOINT_FSYNC_INTERVAL] = "checkpoint_fsync_interval",
	[T_ALLOW_INSECURE_STATE_DIR] = "allow_insecure_state_dir",
	[T_CLOSE_INACTIVE] = "close_inactive",
	[T_CLOSE_REMOVED_AFTER] = "close_removed_after",
	[T_MAX_OPEN_FILES] = "max_open_files",
	[T_MAX_WATCHED_DIRS] = "max_watched_dirs",
	[T_BACKLOG_WARN] = "backlog_warn",
	[T_METRICS] = "metrics",
	[T_STRICT_PERMISSIONS] = "strict_permissions",
	[T_TAGS] = "tags",
	[T_SOURCES] = "sources",
	[T_DESTINATIONS] = "destinations",
	[T_ROUTES] = "routes",
	[T_RULES] = "log_processing_rules",
	[T_INCLUDE] = "include",
	[T_NKEYS] = NULL,
};
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
	if (conf_sect_open(p, &s, n, metrics_keys, "metrics") == -1)
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
	uint64_t sz;
	long long n;

	if (conf_sect_open(p, &s, root, conf_top_keys, "%s", "") == -1)
		return;
	conf_get_str(&s, T_STATE_DIR, &c->state_dir);
	conf_get_str(&s, T_HOSTNAME, &c->hostname);
	conf_get_duration(&s, T_SHUTDOWN_TIMEOUT, &c->shutdown_timeout_ms, 1);
	if (conf_get_size(&s, T_MAX_BUFFER_BYTES, &sz, MiB, UINT64_MAX) == 1)
		c->max_buffer_bytes = sz;
	conf_get_duration(&s, T_SCAN_INTERVAL, &c->scan_interval_ms, 100);
	conf_get_duration(&s, T_POLL_INTERVAL, &c->poll_interval_ms, 10);
	conf_get_duration(&s, T_READ_COALESCE, &c->read_coalesce_ms, 0);
	conf_get_duration(
	    &s, T_CHECKPOINT_INTERVAL, &c->checkpoint_interval_ms, 10);
	conf_get_duration(&s, T_CHECKPOINT_FSYNC_INTERVAL,
	    &c->checkpoint_fsync_interval_ms, 0);
	conf_get_bool(
	    &s, T_ALLOW_INSECURE_STATE_DIR, &c->allow_insecure_state_dir);
	conf_get_duration(&s, T_CLOSE_INACTIVE, &c->close_inactive_ms, 0);
	conf_get_duration(
	    &s, T_CLOSE_REMOVED_AFTER, &c->close_removed_after_ms, 0);
	conf_get_duration(&s, T_BACKLOG_WARN, &c->backlog_warn_ms, 1000);
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
	if (conf_get_int(&s, T_MAX_OPEN_FILES, &n, 8, 1000000) == 1)
		c->max_open_files = (size_t)n;
	if (conf_get_int(&s, T_MAX_WATCHED_DIRS, &n, 1, 1000000) == 1)
		c->max_watched_dirs = (size_t)n;
	/* After the tags and rules, which included sources take too. */
	conf_foreach_item(&s, T_INCLUDE, conf_include_path_cb, NULL);
	conf_parse_sources(p, &s, c);
	conf_parse_dests(p, &s, c);
	conf_parse_routes(p, &s, c);
	conf_free_includes(p);
	conf_free_strv(p->gtags, p->ngtags);
	p->gtags = NULL;
	p->ngtags = 0;

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
	c->state_dir = xstrdup(LS_STATE_DIR);
	c->shutdown_timeout_ms = 20000;
	c->max_buffer_bytes = 32 * MiB;
	c->scan_interval_ms = 10000;
	c->poll_interval_ms = 1000;
	c->read_coalesce_ms = 10;
	c->checkpoint_interval_ms = 50;
	c->checkpoint_fsync_interval_ms = 1000;
	c->close_inactive_ms = 5 * 60 * 1000;
	c->close_removed_after_ms = 5 * 60 * 1000;
	c->max_open_files = 8192;
	c->max_watched_dirs = 10000;
	c->backlog_warn_ms = 60 * 60 * 1000;
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
	free(c->path);
	free(c->state_dir);
	free(c->hostname);
	free(c->metrics_listen);
	free(c->metrics_host);
	free(c);
}

struct ls_conf *
ls_conf_ref(struct ls_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}
