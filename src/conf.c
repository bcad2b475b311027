/*
 * conf: see conf.h.
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
 * one error stays one line. Nothing that may be a secret is echoed: not the
 * key, not api_key_file or api_key_env (someone may have pasted the key
 * there), and not url (it may carry a key in its query).
 *
 * Aliases make the document a graph, possibly with cycles, but every walk
 * below follows the fixed shape of the schema, so it is bounded.
 *
 * Tested in check_conf.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "secret.h"
#include "xmalloc.h"

#ifndef LS_STATE_DIR
#define LS_STATE_DIR "/var/lib/logshipd"
#endif

#define KiB ((uint64_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* The most keys any one mapping of the schema has, plus room. */
#define MAXKEYS 20
/* How much of a value a message echoes. */
#define SHOWLEN 64
/* An API key file larger than this is certainly not an API key. */
#define KEYFILE_MAX 4096

/* One error, kept until all are found so they can be sorted. */
struct conf_err {
	unsigned long line;
	unsigned long col;
	size_t seq;
	char *msg;
};

struct parse {
	const char *name;
	const char *text; /* the whole input, for marks from offsets */
	size_t len;
	yaml_document_t *doc;
	struct conf_err *errs;
	size_t nerrs;
	int strict; /* strict_permissions: refuse a world-readable key file */
};

/*
 * One mapping of the schema: its value node for each known key, found once
 * so that unknown and duplicate keys are reported in one place.
 */
struct sect {
	struct parse *p;
	yaml_node_t *map;
	const char *const *keys; /* NULL-terminated */
	char where[96]; /* "destinations[1].batch"; "" at the top */
	yaml_node_t *key[MAXKEYS];
	yaml_node_t *val[MAXKEYS];
};

enum {
	T_STATE_DIR,
	T_HOSTNAME,
	T_SHUTDOWN_TIMEOUT,
	T_MAX_BUFFER_BYTES,
	T_SCAN_INTERVAL,
	T_POLL_INTERVAL,
	T_READ_COALESCE,
	T_CHECKPOINT_INTERVAL,
	T_CHECKPOINT_FSYNC_INTERVAL,
	T_ALLOW_INSECURE_STATE_DIR,
	T_CLOSE_INACTIVE,
	T_CLOSE_REMOVED_AFTER,
	T_MAX_OPEN_FILES,
	T_BACKLOG_WARN,
	T_METRICS,
	T_STRICT_PERMISSIONS,
	T_SOURCES,
	T_DESTINATIONS,
	T_ROUTES,
	T_NKEYS
};
static const char *const top_keys[] = {
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
	[T_BACKLOG_WARN] = "backlog_warn",
	[T_METRICS] = "metrics",
	[T_STRICT_PERMISSIONS] = "strict_permissions",
	[T_SOURCES] = "sources",
	[T_DESTINATIONS] = "destinations",
	[T_ROUTES] = "routes",
	[T_NKEYS] = NULL,
};

enum {
	S_NAME,
	S_PATHS,
	S_SERVICE,
	S_DDSOURCE,
	S_TAGS,
	S_DEFAULT_SEVERITY,
	S_START_AT,
	S_MAX_LINE_BYTES,
	S_PARTIAL_FLUSH,
	S_MULTILINE,
	S_NKEYS
};
static const char *const source_keys[] = {
	[S_NAME] = "name",
	[S_PATHS] = "paths",
	[S_SERVICE] = "service",
	[S_DDSOURCE] = "ddsource",
	[S_TAGS] = "tags",
	[S_DEFAULT_SEVERITY] = "default_severity",
	[S_START_AT] = "start_at",
	[S_MAX_LINE_BYTES] = "max_line_bytes",
	[S_PARTIAL_FLUSH] = "partial_flush",
	[S_MULTILINE] = "multiline",
	[S_NKEYS] = NULL,
};

enum {
	D_NAME,
	D_TYPE,
	D_URL,
	D_FORMAT,
	D_API_KEY_FILE,
	D_API_KEY_ENV,
	D_WORKERS,
	D_MAX_CONNECTIONS,
	D_BATCH,
	D_COMPRESSION,
	D_COMPRESSION_LEVEL,
	D_TIMEOUT,
	D_RETRY,
	D_MAX_ENTRY_BYTES,
	D_INSECURE,
	D_CA_FILE,
	D_ON_FULL,
	D_MAX_BUFFER_BYTES,
	D_HEALTH_WINDOW,
	D_ADAPTIVE,
	D_NKEYS
};
static const char *const dest_keys[] = {
	[D_NAME] = "name",
	[D_TYPE] = "type",
	[D_URL] = "url",
	[D_FORMAT] = "format",
	[D_API_KEY_FILE] = "api_key_file",
	[D_API_KEY_ENV] = "api_key_env",
	[D_WORKERS] = "workers",
	[D_MAX_CONNECTIONS] = "max_connections",
	[D_BATCH] = "batch",
	[D_COMPRESSION] = "compression",
	[D_COMPRESSION_LEVEL] = "compression_level",
	[D_TIMEOUT] = "timeout",
	[D_RETRY] = "retry",
	[D_MAX_ENTRY_BYTES] = "max_entry_bytes",
	[D_INSECURE] = "insecure",
	[D_CA_FILE] = "ca_file",
	[D_ON_FULL] = "on_full",
	[D_MAX_BUFFER_BYTES] = "max_buffer_bytes",
	[D_HEALTH_WINDOW] = "health_window",
	[D_ADAPTIVE] = "adaptive_concurrency",
	[D_NKEYS] = NULL,
};

enum { M_START, M_FLUSH, M_NKEYS };
static const char *const multiline_keys[] = {
	[M_START] = "start",
	[M_FLUSH] = "flush",
	[M_NKEYS] = NULL,
};

enum { MX_LISTEN, MX_NKEYS };
static const char *const metrics_keys[] = {
	[MX_LISTEN] = "listen",
	[MX_NKEYS] = NULL,
};

enum { B_MAX_ENTRIES, B_MAX_BYTES, B_MAX_WAIT, B_NKEYS };
static const char *const batch_keys[] = {
	[B_MAX_ENTRIES] = "max_entries",
	[B_MAX_BYTES] = "max_bytes",
	[B_MAX_WAIT] = "max_wait",
	[B_NKEYS] = NULL,
};

enum { RT_INITIAL, RT_MAX, RT_PROBE, RT_NKEYS };
static const char *const retry_keys[] = {
	[RT_INITIAL] = "initial",
	[RT_MAX] = "max",
	[RT_PROBE] = "probe",
	[RT_NKEYS] = NULL,
};

enum { R_SEVERITY, R_TO, R_NKEYS };
static const char *const route_keys[] = {
	[R_SEVERITY] = "severity",
	[R_TO] = "to",
	[R_NKEYS] = NULL,
};

static const char *const type_names[]
    = { [LS_DEST_DATADOG] = "datadog", [LS_DEST_HTTP] = "http", NULL };
static const char *const format_names[]
    = { [LS_FORMAT_JSON] = "json", [LS_FORMAT_NDJSON] = "ndjson", NULL };
static const char *const compression_names[] = { [LS_COMPRESS_GZIP] = "gzip",
	[LS_COMPRESS_NONE] = "none",
	[LS_COMPRESS_ZSTD] = "zstd",
	NULL };
static const char *const on_full_names[] = {
	[LS_ON_FULL_BLOCK] = "block",
	[LS_ON_FULL_DROP_NEWEST] = "drop_newest",
	NULL,
};
static const char *const start_at_names[]
    = { [LS_START_BEGINNING] = "beginning", [LS_START_END] = "end", NULL };

#define DURATION_HELP                                                          \
	"a number and a unit ms, s, m or h, such as 500ms, 1.5s or 2m"
#define SIZE_HELP                                                              \
	"a number of bytes, or a number and a unit B, KB, MB, GB, KiB, MiB "   \
	"or GiB, such as 4MiB or 4.25MB"
#define LISTEN_HELP                                                            \
	"an IPv4 address and a port such as 127.0.0.1:9809, or an IPv6 "       \
	"address in brackets and a port such as [::1]:9809"
#define SEVERITY_HELP                                                          \
	"emergency, alert, critical, error, warning, notice, info or debug"

static void perr(struct parse *, const yaml_mark_t *, const char *, ...)
    LS_PRINTF(3, 4);

/* Records one error at mark m; they are printed later, sorted. */
static void
perr(struct parse *p, const yaml_mark_t *m, const char *fmt, ...)
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
static size_t
flush_errors(struct parse *p, FILE *errf)
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
static const char *
show(char *buf, const char *s)
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
static const char *
join_names(char *buf, size_t len, const char *const *names)
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

static yaml_node_t *
node(struct parse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* YAML's null: an empty plain value, "~" or "null". Quoted "" is a
 * string. */
static int
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE
	    || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = scalar(n);
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0
	    || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *
sect_path(const struct sect *s, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", s->where, *s->where != '\0' ? "." : "",
	    s->keys[i]);
	return buf;
}

static int sect_open(struct parse *, struct sect *, yaml_node_t *,
    const char *const *, const char *, ...) LS_PRINTF(5, 6);

/*
 * Reads the keys of mapping map into s, reporting unknown and duplicate
 * keys. -1 (reported) when map is no mapping.
 */
static int
sect_open(struct parse *p, struct sect *s, yaml_node_t *map,
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
		if (i >= MAXKEYS)
			fatalx("conf: too many keys in one section");
	if (map->type != YAML_MAPPING_NODE) {
		perr(p, &map->start_mark, "%s: expected a mapping",
		    *s->where != '\0' ? s->where : "top level");
		return -1;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = node(p, pair->key);
		v = node(p, pair->value);
		if (k->type != YAML_SCALAR_NODE) {
			perr(p, &k->start_mark,
			    "%s%sexpected a string as a key", s->where,
			    *s->where != '\0' ? ": " : "");
			continue;
		}
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], scalar(k)) == 0)
				break;
		if (keys[i] == NULL) {
			join_names(list, sizeof list, keys);
			perr(p, &k->start_mark,
			    "unknown key \"%s\"%s%s (valid keys: %s)",
			    show(vb, scalar(k)),
			    *s->where != '\0' ? " in " : "", s->where, list);
		} else if (s->key[i] != NULL) {
			perr(p, &k->start_mark,
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
static yaml_node_t *
sect_val(const struct sect *s, int i)
{
	if (s->val[i] == NULL || is_null(s->val[i]))
		return NULL;
	return s->val[i];
}

/* Reports a required key that is absent or null; 0 when it is there. */
static int
need(struct sect *s, int i)
{
	char path[160];

	if (s->key[i] == NULL) {
		perr(s->p, &s->map->start_mark,
		    "%s%smissing required key \"%s\"", s->where,
		    *s->where != '\0' ? ": " : "", s->keys[i]);
		return -1;
	}
	if (is_null(s->val[i])) {
		perr(s->p, &s->val[i]->start_mark, "%s: needs a value",
		    sect_path(s, i, path, sizeof path));
		return -1;
	}
	return 0;
}

/* A scalar's string, or NULL (reported) if it holds a NUL byte, which C
 * strings cannot carry. */
static const char *
scalar_str(struct parse *p, yaml_node_t *n, const char *path)
{
	if (strlen(scalar(n)) != n->data.scalar.length) {
		perr(p, &n->start_mark, "%s: contains a NUL byte", path);
		return NULL;
	}
	return scalar(n);
}

/*
 * The string at key i: 1 and *out set, 0 when absent or null (the default
 * stays), -1 when it is no string (reported).
 */
static int
sect_scalar(struct sect *s, int i, const char **out)
{
	yaml_node_t *n;
	char path[160];

	if ((n = sect_val(s, i)) == NULL)
		return 0;
	sect_path(s, i, path, sizeof path);
	if (n->type != YAML_SCALAR_NODE) {
		perr(s->p, &n->start_mark, "%s: expected a string", path);
		return -1;
	}
	if ((*out = scalar_str(s->p, n, path)) == NULL)
		return -1;
	return 1;
}

/* A non-empty string into *out (replacing a default); 1 set, 0 absent,
 * -1 reported. */
static int
get_str(struct sect *s, int i, char **out)
{
	const char *v;
	char path[160];
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	if (*v == '\0') {
		perr(s->p, &s->val[i]->start_mark, "%s: must not be empty",
		    sect_path(s, i, path, sizeof path));
		return -1;
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

#define DURATION_MAX_MS ((int64_t)365 * 24 * 3600 * 1000)

/* A duration of at least min ms, at most a year; 1 set, 0 absent, -1
 * reported. */
static int
get_duration(struct sect *s, int i, int64_t *out, int64_t min)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int64_t ms;
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	sect_path(s, i, path, sizeof path);
	if (ls_conf_parse_duration(v, &ms) == -1) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: bad duration \"%s\" (expected " DURATION_HELP ")",
		    path, show(vb, v));
		return -1;
	}
	if (ms < min) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: %s is too short (the least is %" PRId64 "ms)", path,
		    show(vb, v), min);
		return -1;
	}
	/* No setting needs a year, and deadlines computed as now + ms must
	 * not overflow. */
	if (ms > DURATION_MAX_MS) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: %s is too long (the most is 8760h)", path,
		    show(vb, v));
		return -1;
	}
	*out = ms;
	return 1;
}

/* A size in [min, max]; 1 set, 0 absent, -1 reported. */
static int
get_size(struct sect *s, int i, uint64_t *out, uint64_t min, uint64_t max)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4], lo[32], hi[32];
	uint64_t n;
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	sect_path(s, i, path, sizeof path);
	if (ls_conf_parse_size(v, &n) == -1) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: bad size \"%s\" (expected " SIZE_HELP ")", path,
		    show(vb, v));
		return -1;
	}
	if (n < min || n > max) {
		fmt_size(lo, sizeof lo, min);
		fmt_size(hi, sizeof hi, max);
		if (max == UINT64_MAX)
			perr(s->p, &s->val[i]->start_mark,
			    "%s: %s is too small (the least is %s)", path,
			    show(vb, v), lo);
		else
			perr(s->p, &s->val[i]->start_mark,
			    "%s: %s is out of range (%s to %s)", path,
			    show(vb, v), lo, hi);
		return -1;
	}
	*out = n;
	return 1;
}

/* A decimal integer in [min, max]; 1 set, 0 absent, -1 reported. */
static int
get_int(struct sect *s, int i, long long *out, long long min, long long max)
{
	const char *v, *p;
	char path[160], vb[SHOWLEN + 4], *end;
	long long n;
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	sect_path(s, i, path, sizeof path);
	/* strtoll alone would also take leading spaces and a '+'. */
	p = v + (*v == '-');
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || errno == ERANGE) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: bad integer \"%s\" (expected a whole number)", path,
		    show(vb, v));
		return -1;
	}
	if (n < min || n > max) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: %lld is out of range (%lld to %lld)", path, n, min,
		    max);
		return -1;
	}
	*out = n;
	return 1;
}

/* true/false/yes/no in any case; 1 set, 0 absent, -1 reported. */
static int
get_bool(struct sect *s, int i, int *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
		*out = 0;
	else {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: bad boolean \"%s\" (expected true, false, yes or no)",
		    sect_path(s, i, path, sizeof path), show(vb, v));
		return -1;
	}
	return 1;
}

/* One of names (exact); 1 and *out its index, 0 absent, -1 reported. */
static int
get_enum(struct sect *s, int i, const char *const *names, int *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4], list[128];
	int r, k;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	for (k = 0; names[k] != NULL; k++) {
		if (strcmp(names[k], v) == 0) {
			*out = k;
			return 1;
		}
	}
	perr(s->p, &s->val[i]->start_mark, "%s: bad value \"%s\" (expected %s)",
	    sect_path(s, i, path, sizeof path), show(vb, v),
	    join_names(list, sizeof list, names));
	return -1;
}

/* A severity word, normalised; 1 set, 0 absent, -1 reported. */
static int
get_severity(struct sect *s, int i, enum ls_severity *out)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4];
	int r;

	if ((r = sect_scalar(s, i, &v)) != 1)
		return r;
	if (ls_severity_parse(v, strlen(v), out) == -1) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: unknown severity \"%s\" (expected " SEVERITY_HELP ")",
		    sect_path(s, i, path, sizeof path), show(vb, v));
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
static int
foreach_item(struct sect *s, int i,
    void (*fn)(
	struct parse *, const char *, yaml_node_t *, const char *, void *),
    void *arg)
{
	yaml_node_item_t *it;
	yaml_node_t *n, *item;
	const char *v;
	char path[160], ipath[192];
	size_t k;

	if ((n = sect_val(s, i)) == NULL)
		return 0;
	sect_path(s, i, path, sizeof path);
	if (n->type == YAML_SCALAR_NODE) {
		if ((v = scalar_str(s->p, n, path)) != NULL)
			fn(s->p, path, n, v, arg);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(s->p, &n->start_mark,
		    "%s: expected a string or a sequence of strings", path);
		return -1;
	}
	for (it = n->data.sequence.items.start, k = 0;
	     it < n->data.sequence.items.top; it++, k++) {
		item = node(s->p, *it);
		snprintf(ipath, sizeof ipath, "%s[%zu]", path, k);
		if (item->type != YAML_SCALAR_NODE)
			perr(s->p, &item->start_mark, "%s: expected a string",
			    ipath);
		else if ((v = scalar_str(s->p, item, ipath)) != NULL)
			fn(s->p, ipath, item, v, arg);
	}
	return 0;
}

/* Collects a list of strings, each checked by check_cb when not NULL. */
struct strlist {
	char **v;
	size_t n;
	int (*check_cb)(
	    struct parse *, const char *, yaml_node_t *, const char *);
};

static void
strlist_add_cb(
    struct parse *p, const char *path, yaml_node_t *n, const char *v, void *arg)
{
	struct strlist *l = arg;

	if (l->check_cb != NULL && l->check_cb(p, path, n, v) == -1)
		return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = xstrdup(v);
}

static int
check_path_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v != '/') {
		perr(p, &n->start_mark,
		    "%s: \"%s\" is not an absolute path (it must start with /)",
		    path, show(vb, v));
		return -1;
	}
	return 0;
}

static int
check_tag_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v == '\0') {
		perr(p, &n->start_mark, "%s: must not be empty", path);
		return -1;
	}
	/* Tags travel joined with commas in ddtags. */
	if (strchr(v, ',') != NULL) {
		perr(p, &n->start_mark,
		    "%s: tag \"%s\" must not contain a comma", path,
		    show(vb, v));
		return -1;
	}
	return 0;
}

/*
 * Reads an API key from bytes buf[0..len) into *key: surrounding
 * whitespace is trimmed, and what is left must be printable ASCII with no
 * spaces, because it goes into an HTTP header. Never echoes the bytes.
 */
static int
take_key(struct parse *p, yaml_node_t *n, const char *path, const char *buf,
    size_t len, const char *what, char **key)
{
	size_t i;

	while (len > 0 && strchr(" \t\r\n\v\f", buf[0]) != NULL) {
		buf++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n\v\f", buf[len - 1]) != NULL)
		len--;
	if (len == 0) {
		perr(p, &n->start_mark, "%s: %s is empty", path, what);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			perr(p, &n->start_mark,
			    "%s: the key in %s holds spaces or control "
			    "characters",
			    path, what);
			return -1;
		}
	}
	/* Kept out of core dumps (secret.h). */
	if ((*key = ls_secret_new(buf, len)) == NULL) {
		perr(p, &n->start_mark, "%s: cannot keep the key: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A key file others can read: a warning, or with strict_permissions an
 * error. The file opened as a regular file, so its name is a file name and
 * not a key pasted in the wrong place: it is named (its control characters
 * shown as '?'), the key never.
 */
static void
key_file_mode(struct sect *s, int i, const char *file, const char *path,
    const struct stat *st)
{
	char name[PATH_MAX];
	size_t k;

	if ((st->st_mode & S_IROTH) == 0)
		return;
	for (k = 0; file[k] != '\0' && k < sizeof name - 1; k++)
		name[k] = (unsigned char)file[k] < 0x20 || file[k] == 0x7f
		    ? '?'
		    : file[k];
	name[k] = '\0';
	if (s->p->strict)
		perr(s->p, &s->val[i]->start_mark,
		    "%s: %s is readable by everyone (mode %04o), and "
		    "strict_permissions is on: chmod o-r it",
		    path, name, (unsigned)(st->st_mode & 07777));
	else
		log_warnx("%s: %s is readable by everyone (mode %04o): chmod "
			  "o-r it (with strict_permissions: true logshipd "
			  "refuses such a file)",
		    path, name, (unsigned)(st->st_mode & 07777));
}

/* Reads the key from the file named at key i. The file name is not echoed:
 * it may be the key itself, pasted in the wrong place. */
static void
read_key_file(struct sect *s, int i, char **key)
{
	char buf[KEYFILE_MAX + 1], path[160];
	const char *file;
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	if (sect_scalar(s, i, &file) != 1)
		return;
	sect_path(s, i, path, sizeof path);
	/* Not through a link (whoever can plant one in its directory could
	 * point it anywhere), and not waiting on a FIFO: the fstat below
	 * takes only a regular file, read up to KEYFILE_MAX bytes. */
	if ((fd = open(file,
		 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK))
	    == -1) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: cannot open the file: %s", path,
		    errno == ELOOP ? "a symbolic link, not followed (name "
				     "the file itself)"
				   : strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		perr(s->p, &s->val[i]->start_mark, "%s: not a regular file",
		    path);
		goto out;
	}
	key_file_mode(s, i, file, path, &st);
	while (len < sizeof buf) {
		r = read(fd, buf + len, sizeof buf - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			perr(s->p, &s->val[i]->start_mark,
			    "%s: cannot read the file: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEYFILE_MAX) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: the file is larger than %d bytes, too large for an "
		    "API key",
		    path, KEYFILE_MAX);
		goto out;
	}
	take_key(s->p, s->val[i], path, buf, len, "the file", key);
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
}

/* Reads the key from the environment variable named at key i, which is not
 * echoed either. */
static void
read_key_env(struct sect *s, int i, char **key)
{
	const char *name, *v;
	char path[160];

	if (sect_scalar(s, i, &name) != 1)
		return;
	sect_path(s, i, path, sizeof path);
	if ((v = getenv(name)) == NULL) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: the environment variable is not set", path);
		return;
	}
	take_key(s->p, s->val[i], path, v, strlen(v),
	    "the environment variable", key);
}

/* multiline: { start: REGEX, flush: DURATION }: a POSIX extended regular
 * expression, compiled here so that a bad one is a config error. */
/* What regex_cost() lets regcomp() build: a hundred times any sensible
 * multiline start pattern, a few megabytes at most. */
#define RE_BUDGET 10000

/*
 * Roughly how many nodes glibc's regcomp() builds for an extended regular
 * expression, or -1 with *why set for one it must not be given. regcomp()
 * copies a repeated atom once per repetition ("a{3}" becomes "aaa", "a+"
 * becomes "aa*"), so nested or stacked repetitions multiply: a 400-byte
 * pattern "x{4}+++..." doubles at each '+' and takes gigabytes (found by
 * fuzz_conf). So each atom counts once, times the repetitions around it,
 * saturating at RE_BUDGET + 1. Stacked duplication symbols ("a++",
 * "a{2}*") are undefined in POSIX EREs and refused outright.
 */
static long
regex_cost(const char *re, const char **why)
{
	long stack[32], cost = 0, last = 0, k, m, n;
	size_t depth = 0;
	const char *q, *e;
	int quant = 0; /* the last token was a duplication symbol */

	for (; *re != '\0'; re++) {
		k = 0;
		switch (*re) {
		case '*':
		case '?':
			k = 1;
			break;
		case '+':
			k = 2;
			break;
		case '{':
			/* {m}, {m,}, {m,n}, and {,n} (glibc takes it) */
			if (re[1] == ',') {
				m = 0;
				q = re + 1;
			} else if (re[1] >= '0' && re[1] <= '9')
				m = strtol(re + 1, (char **)&q, 10);
			else
				break; /* not an interval: a literal '{' */
			n = m;
			if (*q == ',')
				n = q[1] >= '0' && q[1] <= '9'
				    ? strtol(q + 1, (char **)&q, 10)
				    : (q++, m + 1);
			if (*q != '}')
				break;
			k = n > m ? n : m;
			k = k >= RE_BUDGET ? RE_BUDGET + 1 : k + 1;
			re = q;
			break;
		default:
			break;
		}
		if (k > 0) {
			if (quant) {
				*why = "one duplication symbol follows another";
				return -1;
			}
			quant = 1;
			cost += last * (k - 1);
			last *= k;
		} else {
			quant = 0;
			switch (*re) {
			case '(':
				if (depth == sizeof stack / sizeof stack[0]) {
					*why = "groups nested too deep";
					return -1;
				}
				stack[depth++] = cost;
				cost = last = 0;
				continue;
			case ')':
				last = cost;
				cost = depth > 0 ? stack[--depth] : 0;
				cost += last;
				continue;
			case '\\':
				if (re[1] != '\0')
					re++;
				break;
			case '[':
				/* A bracket expression is one node: skip to its
				 * ']' ("[]a]" and "[^]a]" hold a ']', "[:a:]" a
				 * class). */
				q = re + 1;
				if (*q == '^')
					q++;
				if (*q == ']')
					q++;
				while (*q != '\0' && *q != ']') {
					e = q[0] == '[' && q[1] == ':'
					    ? strstr(q + 2, ":]")
					    : NULL;
					q = e != NULL ? e + 2 : q + 1;
				}
				re = *q != '\0' ? q : q - 1;
				break;
			default:
				break;
			}
			last = 1;
			cost++;
		}
		if (cost > RE_BUDGET || last > RE_BUDGET)
			return RE_BUDGET + 1;
	}
	while (depth > 0)
		cost += stack[--depth];
	return cost > RE_BUDGET ? RE_BUDGET + 1 : cost;
}

static void
parse_multiline(struct parse *p, struct sect *ss, struct ls_conf_source *src)
{
	struct sect s;
	yaml_node_t *n;
	regex_t *re;
	char msg[128];
	const char *why = NULL;
	long cost;
	int rc;

	if ((n = sect_val(ss, S_MULTILINE)) == NULL)
		return;
	if (sect_open(p, &s, n, multiline_keys, "%s.multiline", ss->where)
	    == -1)
		return;
	get_duration(&s, M_FLUSH, &src->multiline_flush_ms, 1);
	if (need(&s, M_START) != 0
	    || get_str(&s, M_START, &src->multiline_start) != 1)
		return;
	if ((cost = regex_cost(src->multiline_start, &why)) < 0
	    || cost > RE_BUDGET) {
		perr(p, &s.val[M_START]->start_mark, "%s.multiline.start: %s",
		    ss->where,
		    cost < 0 ? why
			     : "too many repetitions (regcomp would build "
			       "more than 10,000 nodes)");
		return;
	}
	re = xcalloc(1, sizeof *re);
	if ((rc = regcomp(re, src->multiline_start, REG_EXTENDED | REG_NOSUB))
	    != 0) {
		regerror(rc, re, msg, sizeof msg);
		perr(p, &s.val[M_START]->start_mark,
		    "%s.multiline.start: not a POSIX extended regular "
		    "expression: %s",
		    ss->where, msg);
		free(re);
		return;
	}
	src->multiline_re = re;
}

static void
parse_source(struct parse *p, yaml_node_t *n, size_t idx,
    struct ls_conf_source *src, yaml_node_t **namep)
{
	struct strlist paths = { NULL, 0, check_path_cb };
	struct strlist tags = { NULL, 0, check_tag_cb };
	struct sect s;
	uint64_t sz;
	size_t i, len;
	int e;

	src->default_severity = LS_SEV_INFO;
	src->start_at = LS_START_BEGINNING;
	src->max_line_bytes = 256 * KiB;
	src->partial_flush_ms = 5000;
	src->multiline_flush_ms = 2000;
	if (sect_open(p, &s, n, source_keys, "sources[%zu]", idx) == -1)
		return;

	if (need(&s, S_NAME) == 0 && get_str(&s, S_NAME, &src->name) == 1)
		*namep = s.val[S_NAME];
	if (need(&s, S_PATHS) == 0
	    && foreach_item(&s, S_PATHS, strlist_add_cb, &paths) == 0
	    && s.val[S_PATHS]->type == YAML_SEQUENCE_NODE
	    && s.val[S_PATHS]->data.sequence.items.start
		== s.val[S_PATHS]->data.sequence.items.top)
		perr(p, &s.val[S_PATHS]->start_mark,
		    "sources[%zu].paths: must name at least one path", idx);
	src->paths = paths.v;
	src->npaths = paths.n;
	get_str(&s, S_SERVICE, &src->service);
	get_str(&s, S_DDSOURCE, &src->ddsource);
	foreach_item(&s, S_TAGS, strlist_add_cb, &tags);
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
	get_severity(&s, S_DEFAULT_SEVERITY, &src->default_severity);
	if (get_enum(&s, S_START_AT, start_at_names, &e) == 1)
		src->start_at = (enum ls_start_at)e;
	if (get_size(&s, S_MAX_LINE_BYTES, &sz, KiB, 64 * MiB) == 1)
		src->max_line_bytes = (size_t)sz;
	get_duration(&s, S_PARTIAL_FLUSH, &src->partial_flush_ms, 1);
	parse_multiline(p, &s, src);
}

static void
parse_batch(struct parse *p, struct sect *ds, struct ls_conf_dest *d, int dd)
{
	struct sect s;
	yaml_node_t *n;
	long long v;
	uint64_t sz;

	if ((n = sect_val(ds, D_BATCH)) == NULL)
		return;
	if (sect_open(p, &s, n, batch_keys, "%s.batch", ds->where) == -1)
		return;
	/* The Datadog intake takes at most 1000 entries and 5 MB of
	 * uncompressed body per request. */
	if (get_int(&s, B_MAX_ENTRIES, &v, 1, dd ? 1000 : 100000) == 1)
		d->batch_max_entries = (size_t)v;
	if (get_size(&s, B_MAX_BYTES, &sz, 1, dd ? 5000000 : SIZE_MAX) == 1)
		d->batch_max_bytes = (size_t)sz;
	get_duration(&s, B_MAX_WAIT, &d->batch_max_wait_ms, 1);
}

static void
parse_retry(struct parse *p, struct sect *ds, struct ls_conf_dest *d)
{
	struct sect s;
	yaml_node_t *n;
	int ri = 0, rm = 0;

	if ((n = sect_val(ds, D_RETRY)) == NULL)
		return;
	if (sect_open(p, &s, n, retry_keys, "%s.retry", ds->where) == -1)
		return;
	ri = get_duration(&s, RT_INITIAL, &d->retry_initial_ms, 1);
	rm = get_duration(&s, RT_MAX, &d->retry_max_ms, 1);
	get_duration(&s, RT_PROBE, &d->retry_probe_ms, 0);
	if (ri == -1 || rm == -1 || d->retry_max_ms >= d->retry_initial_ms)
		return;
	perr(p, &s.val[rm == 1 ? RT_MAX : RT_INITIAL]->start_mark,
	    "%s: max (%" PRId64 "ms) must not be less than initial (%" PRId64
	    "ms)",
	    s.where, d->retry_max_ms, d->retry_initial_ms);
}

static void
parse_dest(struct parse *p, yaml_node_t *n, size_t idx, struct ls_conf_dest *d,
    yaml_node_t **namep)
{
	struct sect s;
	const char *url;
	char path[160];
	long long v;
	uint64_t sz, max_entry;
	int e, type = -1, dd, insecure = 0;

	d->type = LS_DEST_DATADOG;
	d->format = LS_FORMAT_JSON;
	d->workers = 2;
	d->batch_max_entries = 1000;
	d->batch_max_bytes = 4250000;
	d->batch_max_wait_ms = 1000;
	d->compression = LS_COMPRESS_GZIP;
	d->compression_level = 6;
	d->timeout_ms = 10000;
	d->retry_initial_ms = 500;
	d->retry_max_ms = 60000;
	d->retry_probe_ms = 1000;
	d->max_entry_bytes = 1000000;
	d->tls_verify = 1;
	d->health_window_ms = 5 * 60 * 1000;
	if (sect_open(p, &s, n, dest_keys, "destinations[%zu]", idx) == -1)
		return;

	if (need(&s, D_NAME) == 0 && get_str(&s, D_NAME, &d->name) == 1)
		*namep = s.val[D_NAME];
	if (need(&s, D_TYPE) == 0 && get_enum(&s, D_TYPE, type_names, &e) == 1)
		type = e;
	/* With no valid type, check against the looser http limits so the
	 * type error is not followed by others that only follow from it. */
	dd = type == LS_DEST_DATADOG;
	if (type != -1)
		d->type = (enum ls_dest_type)type;
	if (type == LS_DEST_HTTP)
		d->format = LS_FORMAT_NDJSON;
	if (get_enum(&s, D_FORMAT, format_names, &e) == 1) {
		if (dd && e != LS_FORMAT_JSON)
			perr(p, &s.val[D_FORMAT]->start_mark,
			    "%s: a datadog destination sends only json",
			    sect_path(&s, D_FORMAT, path, sizeof path));
		else
			d->format = (enum ls_format)e;
	}
	if (need(&s, D_URL) == 0 && get_str(&s, D_URL, &d->url) == 1) {
		url = d->url;
		if ((strncasecmp(url, "http://", 7) != 0 || url[7] == '\0')
		    && (strncasecmp(url, "https://", 8) != 0 || url[8] == '\0'))
			perr(p, &s.val[D_URL]->start_mark,
			    "%s: must be an http:// or https:// URL",
			    sect_path(&s, D_URL, path, sizeof path));
	}

	if (sect_val(&s, D_API_KEY_FILE) != NULL
	    && sect_val(&s, D_API_KEY_ENV) != NULL)
		perr(p, &s.val[D_API_KEY_ENV]->start_mark,
		    "%s: set only one of api_key_file and api_key_env",
		    sect_path(&s, D_API_KEY_ENV, path, sizeof path));
	else if (sect_val(&s, D_API_KEY_FILE) != NULL)
		read_key_file(&s, D_API_KEY_FILE, &d->api_key);
	else if (sect_val(&s, D_API_KEY_ENV) != NULL)
		read_key_env(&s, D_API_KEY_ENV, &d->api_key);
	else if (dd)
		perr(p, &s.map->start_mark,
		    "%s: a datadog destination needs api_key_file or "
		    "api_key_env",
		    s.where);

	if (get_int(&s, D_WORKERS, &v, 1, 64) == 1)
		d->workers = (unsigned)v;
	d->max_connections = d->workers;
	if (get_int(&s, D_MAX_CONNECTIONS, &v, 1, 256) == 1)
		d->max_connections = (unsigned)v;
	get_bool(&s, D_ADAPTIVE, &d->adaptive_concurrency);
	parse_batch(p, &s, d, dd);
	if (get_enum(&s, D_COMPRESSION, compression_names, &e) == 1)
		d->compression = (enum ls_compression)e;
	/* gzip (libdeflate) goes to 12, zstd to 19. */
	if (get_int(&s, D_COMPRESSION_LEVEL, &v, 1, 19) == 1) {
		d->compression_level = (int)v;
		if (d->compression != LS_COMPRESS_ZSTD && v > 12)
			perr(p, &s.val[D_COMPRESSION_LEVEL]->start_mark,
			    "%s.compression_level: %lld is above 12, the most "
			    "for gzip",
			    s.where, v);
	}
	get_duration(&s, D_TIMEOUT, &d->timeout_ms, 1);
	parse_retry(p, &s, d);
	/* Datadog keeps at most 1 MB of one log; more is cut. */
	max_entry = dd ? 1000000 : SIZE_MAX;
	if (get_size(&s, D_MAX_ENTRY_BYTES, &sz, 1, max_entry) == 1)
		d->max_entry_bytes = (size_t)sz;
	if (get_bool(&s, D_INSECURE, &insecure) == 1)
		d->tls_verify = !insecure;
	/* Never silently: anyone on the path could read the key. */
	if (insecure)
		log_warnx("%s (%s): insecure: true: TLS certificates are not "
			  "verified",
		    s.where, d->name != NULL ? d->name : "?");
	get_str(&s, D_CA_FILE, &d->ca_file);
	if (get_enum(&s, D_ON_FULL, on_full_names, &e) == 1)
		d->on_full = (enum ls_on_full)e;
	if (get_size(&s, D_MAX_BUFFER_BYTES, &sz, MiB, UINT64_MAX) == 1)
		d->max_buffer_bytes = sz;
	get_duration(&s, D_HEALTH_WINDOW, &d->health_window_ms, 1);
}

/* 0 and *count set to the number of items of sequence n, or -1 (reported)
 * when it is no sequence. */
static int
open_seq(struct parse *p, yaml_node_t *n, const char *what, size_t *count)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(p, &n->start_mark, "%s: expected a sequence", what);
		return -1;
	}
	*count = (size_t)(n->data.sequence.items.top
	    - n->data.sequence.items.start);
	return 0;
}

static void
parse_sources(struct parse *p, struct sect *top, struct ls_conf *c)
{
	yaml_node_t *n, **names;
	char vb[SHOWLEN + 4];
	size_t i, j, count;

	if (need(top, T_SOURCES) == -1)
		return;
	n = top->val[T_SOURCES];
	if (open_seq(p, n, "sources", &count) == -1)
		return;
	if (count == 0) {
		perr(p, &n->start_mark, "sources: at least one is required");
		return;
	}
	c->sources = xcalloc(count, sizeof *c->sources);
	c->nsources = count;
	names = xcalloc(count, sizeof *names);
	for (i = 0; i < count; i++)
		parse_source(p, node(p, n->data.sequence.items.start[i]), i,
		    &c->sources[i], &names[i]);
	for (i = 0; i < count; i++) {
		for (j = 0; names[i] != NULL && j < i; j++) {
			if (names[j] == NULL
			    || strcmp(c->sources[i].name, c->sources[j].name)
				!= 0)
				continue;
			perr(p, &names[i]->start_mark,
			    "sources[%zu].name: duplicate source name \"%s\" "
			    "(first at line %lu)",
			    i, show(vb, c->sources[i].name),
			    (unsigned long)names[j]->start_mark.line + 1);
			break;
		}
	}
	free(names);
}

static void
parse_dests(struct parse *p, struct sect *top, struct ls_conf *c)
{
	yaml_node_t *n, **names;
	char vb[SHOWLEN + 4];
	size_t i, j, count;

	if (need(top, T_DESTINATIONS) == -1)
		return;
	n = top->val[T_DESTINATIONS];
	if (open_seq(p, n, "destinations", &count) == -1)
		return;
	if (count == 0) {
		perr(p, &n->start_mark,
		    "destinations: at least one is required");
		return;
	}
	if (count > LS_MAX_DESTS)
		perr(p, &n->start_mark,
		    "destinations: %zu is too many (at most %d)", count,
		    LS_MAX_DESTS);
	c->dests = xcalloc(count, sizeof *c->dests);
	c->ndests = count;
	names = xcalloc(count, sizeof *names);
	for (i = 0; i < count; i++)
		parse_dest(p, node(p, n->data.sequence.items.start[i]), i,
		    &c->dests[i], &names[i]);
	for (i = 0; i < count; i++) {
		for (j = 0; names[i] != NULL && j < i; j++) {
			if (names[j] == NULL
			    || strcmp(c->dests[i].name, c->dests[j].name) != 0)
				continue;
			perr(p, &names[i]->start_mark,
			    "destinations[%zu].name: duplicate destination "
			    "name "
			    "\"%s\" (first at line %lu)",
			    i, show(vb, c->dests[i].name),
			    (unsigned long)names[j]->start_mark.line + 1);
			break;
		}
	}
	free(names);
}

/* What one route's items add up to. */
struct route_acc {
	const struct ls_conf *c;
	uint64_t sevs;
	uint64_t dests;
};

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
		perr(p, &n->start_mark,
		    "%s: unknown severity \"%s\" (expected all, " SEVERITY_HELP
		    ")",
		    path, show(vb, v));
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
	perr(p, &n->start_mark,
	    "%s: unknown destination \"%s\" (destinations: %s)", path,
	    show(vb, v), used > 0 ? list : "none");
}

static void
parse_routes(struct parse *p, struct sect *top, struct ls_conf *c)
{
	struct route_acc ra;
	struct sect s;
	yaml_node_t *n, *item;
	uint64_t all;
	size_t i, count;
	int sev;

	all = c->ndests >= 64 ? UINT64_MAX : ((uint64_t)1 << c->ndests) - 1;
	if ((n = sect_val(top, T_ROUTES)) == NULL) {
		for (sev = 0; sev < LS_SEV_COUNT; sev++)
			c->route[sev] = all;
		return;
	}
	if (open_seq(p, n, "routes", &count) == -1)
		return;
	for (i = 0; i < count; i++) {
		item = node(p, n->data.sequence.items.start[i]);
		if (sect_open(p, &s, item, route_keys, "routes[%zu]", i) == -1)
			continue;
		memset(&ra, 0, sizeof ra);
		ra.c = c;
		if (need(&s, R_SEVERITY) == 0)
			foreach_item(&s, R_SEVERITY, route_sev_cb, &ra);
		/* "to: []" is allowed: it drops those severities. */
		if (need(&s, R_TO) == 0)
			foreach_item(&s, R_TO, route_to_cb, &ra);
		for (sev = 0; sev < LS_SEV_COUNT; sev++)
			if (ra.sevs & ((uint64_t)1 << sev))
				c->route[sev] |= ra.dests;
	}
}

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

	if ((n = sect_val(top, T_METRICS)) == NULL)
		return;
	if (sect_open(p, &s, n, metrics_keys, "metrics") == -1)
		return;
	if (sect_scalar(&s, MX_LISTEN, &v) != 1)
		return;
	free(c->metrics_listen);
	free(c->metrics_host);
	c->metrics_listen = c->metrics_host = NULL;
	c->metrics_port = 0;
	if (*v == '\0')
		return;
	if (ls_conf_parse_listen(v, &host, &port) == -1) {
		perr(p, &s.val[MX_LISTEN]->start_mark,
		    "metrics.listen: bad address \"%s\" (expected " LISTEN_HELP
		    ", or \"\" for none)",
		    show(vb, v));
		return;
	}
	c->metrics_listen = xstrdup(v);
	c->metrics_host = host;
	c->metrics_port = port;
}

static void
parse_top(struct parse *p, yaml_node_t *root, struct ls_conf *c)
{
	struct sect s;
	char host[HOST_NAME_MAX + 1];
	uint64_t sz;
	long long n;

	if (sect_open(p, &s, root, top_keys, "%s", "") == -1)
		return;
	get_str(&s, T_STATE_DIR, &c->state_dir);
	get_str(&s, T_HOSTNAME, &c->hostname);
	get_duration(&s, T_SHUTDOWN_TIMEOUT, &c->shutdown_timeout_ms, 1);
	if (get_size(&s, T_MAX_BUFFER_BYTES, &sz, MiB, UINT64_MAX) == 1)
		c->max_buffer_bytes = sz;
	get_duration(&s, T_SCAN_INTERVAL, &c->scan_interval_ms, 100);
	get_duration(&s, T_POLL_INTERVAL, &c->poll_interval_ms, 10);
	get_duration(&s, T_READ_COALESCE, &c->read_coalesce_ms, 0);
	get_duration(&s, T_CHECKPOINT_INTERVAL, &c->checkpoint_interval_ms, 10);
	get_duration(&s, T_CHECKPOINT_FSYNC_INTERVAL,
	    &c->checkpoint_fsync_interval_ms, 0);
	get_bool(&s, T_ALLOW_INSECURE_STATE_DIR, &c->allow_insecure_state_dir);
	get_duration(&s, T_CLOSE_INACTIVE, &c->close_inactive_ms, 0);
	get_duration(&s, T_CLOSE_REMOVED_AFTER, &c->close_removed_after_ms, 0);
	get_duration(&s, T_BACKLOG_WARN, &c->backlog_warn_ms, 1000);
	/* Before the destinations: it decides how their key files are read. */
	get_bool(&s, T_STRICT_PERMISSIONS, &p->strict);
	parse_metrics(p, &s, c);
	if (get_int(&s, T_MAX_OPEN_FILES, &n, 8, 1000000) == 1)
		c->max_open_files = (size_t)n;
	parse_sources(p, &s, c);
	parse_dests(p, &s, c);
	parse_routes(p, &s, c);

	if (c->hostname == NULL) {
		if (gethostname(host, sizeof host) == -1) {
			perr(p, &root->start_mark,
			    "cannot find the hostname (%s): set hostname",
			    strerror(errno));
			return;
		}
		host[sizeof host - 1] = '\0';
		c->hostname = xstrdup(host);
	}
}

/* Reports a libyaml error: where it was found and what was expected. */
static void
syntax_error(struct parse *p, yaml_parser_t *parser)
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
		perr(p, &m, "%s (byte %zu)", problem, parser->problem_offset);
		break;
	default:
		if (parser->context != NULL)
			perr(p, &parser->problem_mark, "%s (%s at line %lu)",
			    problem, parser->context,
			    (unsigned long)parser->context_mark.line + 1);
		else
			perr(p, &parser->problem_mark, "%s", problem);
		break;
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
	c->backlog_warn_ms = 60 * 60 * 1000;
	c->metrics_listen = xstrdup(LS_METRICS_LISTEN);
	if (ls_conf_parse_listen(
		c->metrics_listen, &c->metrics_host, &c->metrics_port)
	    != 0)
		fatalx("conf: bad built-in metrics.listen");

	if (!yaml_parser_initialize(&parser))
		fatalx("conf: out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* A failed yaml_parser_load leaves no document to delete. */
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&p, &parser);
		goto done;
	}
	p.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL)
		perr(&p, &start,
		    "the configuration is empty (sources and destinations are "
		    "required)");
	else {
		parse_top(&p, root, c);
		if (!yaml_parser_load(&parser, &extra))
			syntax_error(&p, &parser);
		else {
			if ((root = yaml_document_get_root_node(&extra))
			    != NULL)
				perr(&p, &root->start_mark,
				    "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
done:
	yaml_parser_delete(&parser);
	if (flush_errors(&p, errf) > 0) {
		ls_conf_free(c);
		return NULL;
	}
	return c;
}

/* Whole-file reads stop here: a config file is a few kilobytes. */
#define CONF_MAX (16 * MiB)

struct ls_conf *
ls_conf_load(const char *path, FILE *errf)
{
	struct ls_conf *c = NULL;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;

	/* The file is read whole, so that reader errors, which libyaml
	 * reports as byte offsets, can be turned into lines and columns. */
	if ((f = fopen(path, "r")) == NULL)
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			text = xrealloc(text, cap);
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0 || len > CONF_MAX)
			break;
	}
	if (ferror(f))
		goto fail;
	if (len > CONF_MAX) {
		errno = EFBIG;
		goto fail;
	}
	c = load(path, text, len, errf);
	goto out;
fail:
	if (errf != NULL)
		fprintf(errf, "%s: %s\n", path, strerror(errno));
out:
	if (f != NULL)
		fclose(f);
	free(text);
	return c;
}

struct ls_conf *
ls_conf_load_string(const char *name, const char *yaml, FILE *errf)
{
	return load(name, yaml, strlen(yaml), errf);
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
ls_conf_free(struct ls_conf *c)
{
	struct ls_conf_source *src;
	struct ls_conf_dest *d;
	size_t i;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->nsources; i++) {
		src = &c->sources[i];
		free(src->name);
		free_strv(src->paths, src->npaths);
		free(src->service);
		free(src->ddsource);
		free_strv(src->tags, src->ntags);
		free(src->ddtags);
		free(src->multiline_start);
		if (src->multiline_re != NULL)
			regfree(src->multiline_re);
		free(src->multiline_re);
	}
	free(c->sources);
	for (i = 0; i < c->ndests; i++) {
		d = &c->dests[i];
		free(d->name);
		free(d->url);
		ls_secret_free(d->api_key);
		free(d->ca_file);
	}
	free(c->dests);
	free(c->path);
	free(c->state_dir);
	free(c->hostname);
	free(c->metrics_listen);
	free(c->metrics_host);
	free(c);
}

/*
 * Reads a decimal "12" or "1.25" at *sp, advancing it: the whole part, and
 * the fraction in billionths (digits past the ninth are dropped). -1 when
 * there is no digit before and after a '.', or the whole part overflows.
 */
static int
parse_decimal(const char **sp, uint64_t *whole, uint64_t *frac9, int *hasfrac)
{
	const char *s = *sp;
	uint64_t w = 0, f = 0;
	int nd = 0, nf = 0;
	unsigned d;

	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		d = (unsigned)(*s - '0');
		if (w > (UINT64_MAX - d) / 10)
			return -1;
		w = w * 10 + d;
	}
	if (nd == 0)
		return -1;
	*hasfrac = *s == '.';
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (nf < 9) {
				f = f * 10 + (uint64_t)(*s - '0');
				nf++;
			}
		}
		if (s[-1] == '.')
			return -1;
		for (; nf < 9; nf++)
			f *= 10;
	}
	*whole = w;
	*frac9 = f;
	*sp = s;
	return 0;
}

/* whole.frac9 times unit, checked against max; 0 or -1. */
static int
scale(
    uint64_t whole, uint64_t frac9, uint64_t unit, uint64_t max, uint64_t *out)
{
	uint64_t v;

	/* frac9 < 1e9 and unit <= 2^30, so this product fits. */
	if (__builtin_mul_overflow(whole, unit, &v)
	    || __builtin_add_overflow(v, frac9 * unit / 1000000000u, &v)
	    || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ls_conf_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};
	uint64_t whole, frac, v;
	int hasfrac;
	size_t i;

	if (s == NULL || parse_decimal(&s, &whole, &frac, &hasfrac) == -1)
		return -1;
	/* A bare number is ambiguous, except zero, which is zero in any
	 * unit. */
	if (*s == '\0') {
		if (whole != 0 || frac != 0)
			return -1;
		*ms = 0;
		return 0;
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].name) != 0)
			continue;
		if (scale(whole, frac, units[i].ms, INT64_MAX, &v) == -1)
			return -1;
		*ms = (int64_t)v;
		return 0;
	}
	return -1;
}

int
ls_conf_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KB", 1000 },
		{ "MB", 1000 * 1000 },
		{ "GB", 1000 * 1000 * 1000 },
		{ "KiB", KiB },
		{ "MiB", MiB },
		{ "GiB", GiB },
	};
	uint64_t whole, frac;
	int hasfrac;
	size_t i;

	if (s == NULL || parse_decimal(&s, &whole, &frac, &hasfrac) == -1)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].name) != 0)
			continue;
		/* A fraction of a byte means nothing. */
		if (units[i].mult == 1 && hasfrac)
			return -1;
		return scale(whole, frac, units[i].mult, UINT64_MAX, bytes);
	}
	return -1;
}

struct ls_conf *
ls_conf_ref(struct ls_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

static int
str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int
ls_conf_dest_same(const struct ls_conf *a, const struct ls_conf_dest *x,
    const struct ls_conf *b, const struct ls_conf_dest *y)
{
	/* Every field, and what the destination takes from the top level:
	 * the hostname it sends, and the buffer that bounds drop_newest. */
	return str_same(x->name, y->name) && x->type == y->type
	    && x->format == y->format && str_same(x->url, y->url)
	    && str_same(x->api_key, y->api_key) && x->workers == y->workers
	    && x->max_connections == y->max_connections
	    && x->adaptive_concurrency == y->adaptive_concurrency
	    && x->batch_max_entries == y->batch_max_entries
	    && x->batch_max_bytes == y->batch_max_bytes
	    && x->batch_max_wait_ms == y->batch_max_wait_ms
	    && x->compression == y->compression
	    && x->compression_level == y->compression_level
	    && x->timeout_ms == y->timeout_ms
	    && x->retry_initial_ms == y->retry_initial_ms
	    && x->retry_max_ms == y->retry_max_ms
	    && x->retry_probe_ms == y->retry_probe_ms
	    && x->max_entry_bytes == y->max_entry_bytes
	    && x->tls_verify == y->tls_verify && x->on_full == y->on_full
	    && x->max_buffer_bytes == y->max_buffer_bytes
	    && str_same(x->ca_file, y->ca_file)
	    && str_same(a->hostname, b->hostname)
	    && (x->on_full != LS_ON_FULL_DROP_NEWEST || x->max_buffer_bytes != 0
		|| a->max_buffer_bytes == b->max_buffer_bytes);
}

int
ls_conf_dest_index(const struct ls_conf *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return -1;
	for (i = 0; i < c->ndests && i <= INT_MAX; i++)
		if (c->dests[i].name != NULL
		    && strcmp(c->dests[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
ls_conf_parse_listen(const char *s, char **host, unsigned *port)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon, *p;
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned long n;
	size_t len;
	int v6;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		return -1;
	/* The port: 1 to 65535, digits only. */
	for (p = colon + 1, n = 0; *p >= '0' && *p <= '9' && n <= 65535; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == colon + 1 || *p != '\0' || n == 0 || n > 65535)
		return -1;
	v6 = *s == '[';
	if (v6 && (colon == s + 1 || colon[-1] != ']'))
		return -1;
	len = (size_t)(colon - s) - (v6 ? 2 : 0);
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s + (v6 ? 1 : 0), len);
	buf[len] = '\0';
	if (v6 ? inet_pton(AF_INET6, buf, &a6) != 1
	       : inet_pton(AF_INET, buf, &a4) != 1)
		return -1;
	*host = xstrdup(buf);
	*port = (unsigned)n;
	return 0;
}
