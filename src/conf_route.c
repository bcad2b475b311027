/*
 * conf_route: routes: which severities (and, with source:, which sources'
 * lines) go to which destinations, as the bitmaps of struct ls_conf
 * (route, route_src). Without any route every severity goes everywhere.
 *
 * Tested in check_conf.c (routes).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf_impl.h"
#include "xmalloc.h"

enum { R_SEVERITY, R_TO, R_SOURCE, R_NKEYS };
const char *const conf_route_keys[] = {
	[R_SEVERITY] = "severity",
	[R_TO] = "to",
	[R_SOURCE] = "source",
	[R_NKEYS] = NULL,
};
CONF_KEYS_FIT(R_NKEYS, "a route");

/* What one route's items add up to. */
struct route_acc {
	const struct ls_conf *c;
	uint64_t sevs;
	uint64_t dests;
	unsigned char *srcs; /* nsources flags: the route names them */
	int named; /* it has source: */
};

static void
route_src_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct route_acc *ra = arg;
	const struct ls_conf *c = ra->c;
	char vb[SHOWLEN + 4];
	size_t i;

	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].name != NULL
		    && strcmp(c->sources[i].name, v) == 0) {
			ra->srcs[i] = 1;
			return;
		}
	conf_perr(p, &n->start_mark, "%s: unknown source \"%s\"", path,
	    conf_show(vb, v));
}

static void
route_sev_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct route_acc *ra = arg;
	enum ls_severity sev;
	char vb[SHOWLEN + 4];

	if (strcmp(v, "all") == 0)
		ra->sevs = ((uint64_t)1 << LS_SEV_COUNT) - 1;
	else if (ls_severity_parse(v, strlen(v), &sev) == 0)
		ra->sevs |= (uint64_t)1 << sev;
	else
		conf_perr(p, &n->start_mark,
		    "%s: unknown severity \"%s\" (expected all, " SEVERITY_HELP
		    ")",
		    path, conf_show(vb, v));
}

static void
route_to_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct route_acc *ra = arg;
	const struct ls_conf *c = ra->c;
	char vb[SHOWLEN + 4], list[512];
	size_t i, used = 0;
	int d;

	if ((d = ls_conf_dest_index(c, v)) != -1) {
		if (d < LS_MAX_DESTS)
			ra->dests |= (uint64_t)1 << d;
		return;
	}
	list[0] = '\0';
	for (i = 0; i < c->ndests && used < sizeof list; i++) {
		if (c->dests[i].name == NULL)
			continue;
		used += (size_t)snprintf(list + used, sizeof list - used,
		    "%s%s", used > 0 ? ", " : "", c->dests[i].name);
	}
	conf_perr(p, &n->start_mark,
	    "%s: unknown destination \"%s\" (destinations: %s)", path,
	    conf_show(vb, v), used > 0 ? list : "none");
}

/* Adds one route to the tables: route (the routes of every source) and,
 * once a route names sources, route_src (by source). */
static void
add_route(struct ls_conf *c, const struct route_acc *ra)
{
	size_t s, rows = c->nsources + 1;
	int sev;

	if (ra->named && c->route_src == NULL) {
		/* Every row starts as what the routes so far said. */
		c->route_src
		    = xcalloc(rows * LS_SEV_COUNT, sizeof *c->route_src);
		for (s = 0; s < rows; s++)
			memcpy(c->route_src + s * LS_SEV_COUNT, c->route,
			    sizeof c->route);
	}
	for (sev = 0; sev < LS_SEV_COUNT; sev++) {
		if (!(ra->sevs & ((uint64_t)1 << sev)))
			continue;
		if (!ra->named)
			c->route[sev] |= ra->dests;
		for (s = 0; c->route_src != NULL && s < rows; s++)
			if (!ra->named || (s < c->nsources && ra->srcs[s]))
				c->route_src[s * LS_SEV_COUNT + sev]
				    |= ra->dests;
	}
}

static void parse_route_list(
    struct parse *, yaml_node_t *, size_t, struct ls_conf *);

/* The routes of every file, the main one's first; without any, every
 * severity goes everywhere. */
void
conf_parse_routes(struct parse *p, struct sect *top, struct ls_conf *c)
{
	struct unit *uu;
	yaml_node_t *n;
	uint64_t all;
	size_t count, nu, k;
	int sev, any;

	all = c->ndests >= 64 ? UINT64_MAX : ((uint64_t)1 << c->ndests) - 1;
	uu = conf_units(p, top, &nu);
	for (k = 0, any = 0; k < nu; k++)
		any |= conf_sect_val(uu[k].top, T_ROUTES) != NULL;
	if (!any) {
		for (sev = 0; sev < LS_SEV_COUNT; sev++)
			c->route[sev] = all;
		free(uu);
		return;
	}
	for (k = 0; k < nu; k++) {
		p = uu[k].p;
		if ((n = conf_sect_val(uu[k].top, T_ROUTES)) == NULL
		    || conf_open_seq(p, n, "routes", &count) == -1)
			continue;
		parse_route_list(p, n, count, c);
	}
	free(uu);
}

static void
parse_route_list(
    struct parse *p, yaml_node_t *n, size_t count, struct ls_conf *c)
{
	struct route_acc ra;
	struct sect s;
	yaml_node_t *item;
	size_t i;

	for (i = 0; i < count; i++) {
		item = conf_node(p, n->data.sequence.items.start[i]);
		if (conf_sect_open(
			p, &s, item, conf_route_keys, "routes[%zu]", i)
		    == -1)
			continue;
		memset(&ra, 0, sizeof ra);
		ra.c = c;
		ra.srcs = xcalloc(c->nsources + 1, 1);
		if (conf_need(&s, R_SEVERITY) == 0)
			conf_foreach_item(&s, R_SEVERITY, route_sev_cb, &ra);
		/* "to: []" is allowed: it drops those severities. */
		if (conf_need(&s, R_TO) == 0)
			conf_foreach_item(&s, R_TO, route_to_cb, &ra);
		if (conf_sect_val(&s, R_SOURCE) != NULL) {
			ra.named = 1;
			conf_foreach_item(&s, R_SOURCE, route_src_cb, &ra);
		}
		add_route(c, &ra);
		free(ra.srcs);
	}
}
