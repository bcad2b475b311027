/*
 * conf_table: keys read from a table (struct conf_key) rather than by
 * code: each row says the key's type, the field it fills, its default as
 * the file would write it and its bounds, so that a scalar's default is
 * written once, parsed at load by the parser a value from the file goes
 * through, and documented against the same table (check_conf_schema.c).
 * CONF_TOP_KEYS (conf_impl.h) and CONF_SOURCE_KEYS (conf_source.c) are
 * such tables.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <yaml.h>

#include "conf_impl.h"
#include "xmalloc.h"

/* The field of base that row i of table t fills. */
#define AT(base, t, i, type) ((type *)(void *)((char *)(base) + (t)[i].off))

void
conf_table_defaults(
    const struct conf_key *t, const char *const *names, size_t n, void *base)
{
	enum ls_severity sev;
	uint64_t sz;
	int64_t ms;
	size_t i, k;
	int ok;

	for (i = 0; i < n; i++) {
		if (t[i].type == CONF_NODE || t[i].def == NULL)
			continue;
		switch (t[i].type) {
		case CONF_STR:
			*AT(base, t, i, char *) = xstrdup(t[i].def);
			ok = 1;
			break;
		case CONF_DURATION:
			if ((ok = ls_conf_parse_duration(t[i].def, &ms) == 0))
				*AT(base, t, i, int64_t) = ms;
			break;
		case CONF_SIZE:
			if ((ok = ls_conf_parse_size(t[i].def, &sz) == 0))
				*AT(base, t, i, uint64_t) = sz;
			break;
		case CONF_SIZET:
		case CONF_COUNT:
			if ((ok = ls_conf_parse_size(t[i].def, &sz) == 0))
				*AT(base, t, i, size_t) = (size_t)sz;
			break;
		case CONF_UINT:
			if ((ok = ls_conf_parse_size(t[i].def, &sz) == 0
				    && sz <= UINT_MAX))
				*AT(base, t, i, unsigned) = (unsigned)sz;
			break;
		case CONF_BOOL:
			ok = strcmp(t[i].def, "false") == 0
			    || strcmp(t[i].def, "true") == 0;
			*AT(base, t, i, int) = strcmp(t[i].def, "true") == 0;
			break;
		case CONF_SEVERITY:
			if ((ok = ls_severity_parse(
				      t[i].def, strlen(t[i].def), &sev)
				    == 0))
				*AT(base, t, i, enum ls_severity) = sev;
			break;
		case CONF_ENUM:
			for (k = 0; t[i].names[k] != NULL; k++)
				if (strcmp(t[i].names[k], t[i].def) == 0)
					break;
			if ((ok = t[i].names[k] != NULL))
				*AT(base, t, i, int) = (int)k;
			break;
		default:
			ok = 0;
			break;
		}
		if (!ok)
			fatalx("conf: bad built-in default for %s", names[i]);
	}
}

void
conf_table_read(
    struct sect *s, const struct conf_key *t, size_t n, void *base, int phase)
{
	long long v;
	uint64_t sz;
	size_t i;
	int e;

	for (i = 0; i < n; i++) {
		if (t[i].type == CONF_NODE || t[i].phase != phase)
			continue;
		switch (t[i].type) {
		case CONF_STR:
			conf_get_str(s, (int)i, AT(base, t, i, char *));
			break;
		case CONF_DURATION:
			conf_get_duration(s, (int)i, AT(base, t, i, int64_t),
			    (int64_t)t[i].min);
			break;
		case CONF_SIZE:
			if (conf_get_size(s, (int)i, &sz, t[i].min, t[i].max)
			    == 1)
				*AT(base, t, i, uint64_t) = sz;
			break;
		case CONF_SIZET:
			if (conf_get_size(s, (int)i, &sz, t[i].min, t[i].max)
			    == 1)
				*AT(base, t, i, size_t) = (size_t)sz;
			break;
		case CONF_COUNT:
			if (conf_get_int(s, (int)i, &v, (long long)t[i].min,
				(long long)t[i].max)
			    == 1)
				*AT(base, t, i, size_t) = (size_t)v;
			break;
		case CONF_UINT:
			if (conf_get_int(s, (int)i, &v, (long long)t[i].min,
				(long long)t[i].max)
			    == 1)
				*AT(base, t, i, unsigned) = (unsigned)v;
			break;
		case CONF_BOOL:
			conf_get_bool(s, (int)i, AT(base, t, i, int));
			break;
		case CONF_SEVERITY:
			conf_get_severity(
			    s, (int)i, AT(base, t, i, enum ls_severity));
			break;
		case CONF_ENUM:
			if (conf_get_enum(s, (int)i, t[i].names, &e) == 1)
				*AT(base, t, i, int) = e;
			break;
		default:
			break;
		}
	}
}
