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
#include <glob.h>
#include <libgen.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "compress.h"
#include "conf.h"
#include "pattern.h"
#include "rules.h"
#include "secret.h"
#include "xmalloc.h"

#ifndef LS_STATE_DIR
#define LS_STATE_DIR "/var/lib/logshipd"
#endif

#define KiB ((uint64_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* The most keys any one mapping of the schema has, plus room: checked at
 * compile time against each key table below. */
#define MAXKEYS 32
/* The caps on a file (check_depth()). */
#define CONF_MAX_BYTES (1 * MiB)
#define CONF_MAX_DEPTH 32
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
	/* The top-level tags, which every source's come after. */
	char **gtags;
	size_t ngtags;
	/* Values with ${VAR} expanded (expand()), freed when the load ends. */
	char **expanded;
	size_t nexpanded;
	/* The files the main one includes (include:), in order (each
	 * allocated on its own: their sects point at their parse). */
	struct incfile **inc;
	size_t ninc;
	/* The top-level log_processing_rules, applied to every source
	 * before its own (parse_rules). */
	struct rule_spec *top_rules;
	size_t ntop_rules;
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

/* A file the main one includes: its own parse (its errors are reported
 * under its name), its text and tree while the load lasts, and its
 * top-level mapping. */
struct incfile {
	struct parse p;
	char *text;
	yaml_document_t doc;
	int loaded; /* doc holds a tree */
	struct sect top;
	int opened; /* top was opened */
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
	T_MAX_WATCHED_DIRS,
	T_BACKLOG_WARN,
	T_METRICS,
	T_STRICT_PERMISSIONS,
	T_TAGS,
	T_SOURCES,
	T_DESTINATIONS,
	T_ROUTES,
	T_RULES,
	T_INCLUDE,
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
	S_FOLLOW_SYMLINKS,
	S_PARSE_TIMESTAMP,
	S_EXCLUDE_PATHS,
	S_FILE_TAGS,
	S_RULES,
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
	[S_FOLLOW_SYMLINKS] = "follow_symlinks",
	[S_PARSE_TIMESTAMP] = "parse_timestamp",
	[S_EXCLUDE_PATHS] = "exclude_paths",
	[S_FILE_TAGS] = "file_tags",
	[S_RULES] = "log_processing_rules",
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
	D_REJECT_LIMIT,
	D_SITE,
	D_PROXY,
	D_NO_PROXY,
	D_HEADERS,
	D_BASIC_AUTH,
	D_TLS,
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
	[D_REJECT_LIMIT] = "reject_limit",
	[D_INSECURE] = "insecure",
	[D_CA_FILE] = "ca_file",
	[D_ON_FULL] = "on_full",
	[D_MAX_BUFFER_BYTES] = "max_buffer_bytes",
	[D_HEALTH_WINDOW] = "health_window",
	[D_ADAPTIVE] = "adaptive_concurrency",
	[D_SITE] = "site",
	[D_PROXY] = "proxy",
	[D_NO_PROXY] = "no_proxy",
	[D_HEADERS] = "headers",
	[D_BASIC_AUTH] = "basic_auth",
	[D_TLS] = "tls",
	[D_NKEYS] = NULL,
};

enum { TL_CA_FILE, TL_CERT_FILE, TL_KEY_FILE, TL_SERVER_NAME, TL_NKEYS };
static const char *const tls_keys[] = {
	[TL_CA_FILE] = "ca_file",
	[TL_CERT_FILE] = "cert_file",
	[TL_KEY_FILE] = "key_file",
	[TL_SERVER_NAME] = "server_name",
	[TL_NKEYS] = NULL,
};

enum { BA_USER, BA_PASSWORD_FILE, BA_PASSWORD_ENV, BA_NKEYS };
static const char *const basic_auth_keys[] = {
	[BA_USER] = "user",
	[BA_PASSWORD_FILE] = "password_file",
	[BA_PASSWORD_ENV] = "password_env",
	[BA_NKEYS] = NULL,
};

/* A header's value read from a file or the environment: { file: PATH } or
 * { env: NAME }. */
enum { HV_FILE, HV_ENV, HV_NKEYS };
static const char *const header_value_keys[] = {
	[HV_FILE] = "file",
	[HV_ENV] = "env",
	[HV_NKEYS] = NULL,
};

enum { M_START, M_FLUSH, M_NKEYS };
static const char *const multiline_keys[] = {
	[M_START] = "start",
	[M_FLUSH] = "flush",
	[M_NKEYS] = NULL,
};

enum { PR_TYPE, PR_NAME, PR_PATTERN, PR_PLACEHOLDER, PR_NKEYS };
static const char *const rule_keys[] = {
	[PR_TYPE] = "type",
	[PR_NAME] = "name",
	[PR_PATTERN] = "pattern",
	[PR_PLACEHOLDER] = "replace_placeholder",
	[PR_NKEYS] = NULL,
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

enum { R_SEVERITY, R_TO, R_SOURCE, R_NKEYS };
static const char *const route_keys[] = {
	[R_SEVERITY] = "severity",
	[R_TO] = "to",
	[R_SOURCE] = "source",
	[R_NKEYS] = NULL,
};

_Static_assert(T_NKEYS <= MAXKEYS && S_NKEYS <= MAXKEYS && D_NKEYS <= MAXKEYS
	&& TL_NKEYS <= MAXKEYS && BA_NKEYS <= MAXKEYS && HV_NKEYS <= MAXKEYS
	&& M_NKEYS <= MAXKEYS && MX_NKEYS <= MAXKEYS && B_NKEYS <= MAXKEYS
	&& RT_NKEYS <= MAXKEYS && R_NKEYS <= MAXKEYS,
    "a key table has more keys than struct sect holds: raise MAXKEYS");

/*
 * The Datadog sites and their logs intake, https://http-intake.logs.<site>
 * for each (Datadog's "Send logs" API page, v2 tab; the Agent and Vector
 * build the same host from the site).
 */
static const char *const site_names[] = {
	"datadoghq.com",
	"us3.datadoghq.com",
	"us5.datadoghq.com",
	"datadoghq.eu",
	"ap1.datadoghq.com",
	"ap2.datadoghq.com",
	"uk1.datadoghq.com",
	"ddog-gov.com",
	"us2.ddog-gov.com",
	NULL,
};
#define SITE_URL_FMT "https://http-intake.logs.%s/api/v2/logs"

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
			perr(p, &m,
			    "%s: malformed variable reference in \"%s\" "
			    "(expected ${NAME} or ${NAME:-default})",
			    path, show(vb, v));
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
				perr(p, &m,
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

static const char *
scalar_str(struct parse *p, yaml_node_t *n, const char *path)
{
	if (strlen(scalar(n)) != n->data.scalar.length) {
		perr(p, &n->start_mark, "%s: contains a NUL byte", path);
		return NULL;
	}
	if (strchr(scalar(n), '$') != NULL)
		return expand(p, n, path, scalar(n));
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
 * spaces (spaces inside are allowed when spaces is set: a header value, a
 * password), because it goes into an HTTP header. Never echoes the bytes.
 */
static int
take_key(struct parse *p, yaml_node_t *n, const char *path, const char *buf,
    size_t len, const char *what, int spaces, char **key)
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
		if (spaces && (buf[i] == ' ' || buf[i] == '\t'))
			continue;
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			perr(p, &n->start_mark,
			    spaces
				? "%s: the value in %s holds control or "
				  "non-ASCII characters"
				: "%s: the key in %s holds spaces or control "
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
read_key_file(struct sect *s, int i, int spaces, char **key)
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
	take_key(s->p, s->val[i], path, buf, len, "the file", spaces, key);
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
}

/* Reads the key from the environment variable named at key i, which is not
 * echoed either. */
static void
read_key_env(struct sect *s, int i, int spaces, char **key)
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
	    "the environment variable", spaces, key);
}

static int open_seq(struct parse *, yaml_node_t *, const char *, size_t *);

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
		perr(p, &n->start_mark,
		    "%s: \"%s\" is not a valid PCRE2 pattern: %s at offset %zu",
		    path, show(vb, re), msg, off);
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

	if ((n = sect_val(ss, S_MULTILINE)) == NULL)
		return;
	/* "multiline: auto": entries found without a pattern (multiline.h). */
	if (n->type == YAML_SCALAR_NODE
	    && strcmp((const char *)n->data.scalar.value, "auto") == 0) {
		src->multiline_auto = 1;
		return;
	}
	if (sect_open(p, &s, n, multiline_keys, "%s.multiline", ss->where)
	    == -1)
		return;
	get_duration(&s, M_FLUSH, &src->multiline_flush_ms, 1);
	if (need(&s, M_START) != 0
	    || get_str(&s, M_START, &src->multiline_start) != 1)
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

static void
free_rule_specs(struct rule_spec *v, size_t n)
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
	if (sect_open(p, &s, n, rule_keys, "%s[%zu]", where, k) == -1)
		return -1;
	if (need(&s, PR_TYPE) != 0 || sect_scalar(&s, PR_TYPE, &v) != 1)
		ok = 0;
	else if ((t = ls_rule_type_parse(v)) < 0) {
		perr(p, &s.val[PR_TYPE]->start_mark,
		    "%s: unknown rule type \"%s\" (expected exclude_at_match, "
		    "include_at_match, mask_sequences or multi_line)",
		    sect_path(&s, PR_TYPE, path, sizeof path), show(vb, v));
		ok = 0;
	}
	if (need(&s, PR_NAME) != 0 || get_str(&s, PR_NAME, &r->name) != 1)
		ok = 0;
	else
		r->name_node = s.val[PR_NAME];
	if (need(&s, PR_PATTERN) != 0
	    || get_str(&s, PR_PATTERN, &r->pattern) != 1)
		ok = 0;
	/* An empty placeholder is allowed: the mask then deletes. */
	if (sect_scalar(&s, PR_PLACEHOLDER, &v) == 1) {
		if (t >= 0 && t != LS_RULE_MASK) {
			perr(p, &s.val[PR_PLACEHOLDER]->start_mark,
			    "%s: only a mask_sequences rule has a placeholder",
			    sect_path(&s, PR_PLACEHOLDER, path, sizeof path));
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
	    sect_path(&s, PR_PATTERN, path, sizeof path), r->pattern,
	    t == LS_RULE_MULTILINE ? LS_PATTERN_ANCHORED : 0);
	return r->pat != NULL ? 0 : -1;
}

/*
 * A log_processing_rules sequence at n into *out (compiled rules only;
 * every problem reported). Names are unique in a list, and a list has at
 * most one multi_line rule.
 */
static void
parse_rule_list(struct parse *p, yaml_node_t *n, const char *where,
    struct rule_spec **out, size_t *nout)
{
	struct rule_spec *v, r;
	char vb[SHOWLEN + 4];
	size_t i, j, count, ml = SIZE_MAX;

	*out = NULL;
	*nout = 0;
	if (open_seq(p, n, where, &count) == -1 || count == 0)
		return;
	v = xcalloc(count, sizeof *v);
	for (i = 0; i < count; i++) {
		if (parse_rule(p, node(p, n->data.sequence.items.start[i]),
			where, i, &r)
		    != 0) {
			free_rule_spec(&r);
			continue;
		}
		for (j = 0; j < *nout; j++)
			if (strcmp(v[j].name, r.name) == 0)
				break;
		if (j < *nout) {
			perr(p, &r.name_node->start_mark,
			    "%s[%zu].name: duplicate rule name \"%s\" (first "
			    "at line %lu)",
			    where, i, show(vb, r.name),
			    (unsigned long)v[j].name_node->start_mark.line + 1);
			free_rule_spec(&r);
			continue;
		}
		if (r.type == LS_RULE_MULTILINE && ml != SIZE_MAX) {
			perr(p, &r.name_node->start_mark,
			    "%s[%zu]: a second multi_line rule (a source has "
			    "one start pattern; the first is \"%s\")",
			    where, i, show(vb, v[ml].name));
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
 * A source's log_processing_rules: the top-level rules first, then its
 * own, compiled into src->rules (NULL when there are none). A multi_line
 * rule is the source's multiline start pattern (the source's own before a
 * top-level one; never beside multiline.start).
 */
static void
parse_rules(struct parse *p, struct sect *ss, struct ls_conf_source *src)
{
	struct rule_spec *own = NULL, *ml = NULL, *r;
	char where[128], vb[SHOWLEN + 4];
	size_t nown = 0, i, j, n;

	snprintf(where, sizeof where, "%s.log_processing_rules", ss->where);
	if (sect_val(ss, S_RULES) != NULL)
		parse_rule_list(p, ss->val[S_RULES], where, &own, &nown);
	for (i = 0; i < nown; i++) {
		for (j = 0; j < p->ntop_rules; j++)
			if (strcmp(own[i].name, p->top_rules[j].name) == 0)
				break;
		if (j < p->ntop_rules)
			perr(p, &own[i].name_node->start_mark,
			    "%s[%zu].name: \"%s\" is already the name of a "
			    "top-level rule (line %lu)",
			    where, own[i].idx, show(vb, own[i].name),
			    (unsigned long)p->top_rules[j]
				    .name_node->start_mark.line
				+ 1);
		if (own[i].type != LS_RULE_MULTILINE)
			continue;
		if (src->multiline_start != NULL)
			perr(p, &own[i].name_node->start_mark,
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
	free_rule_specs(own, nown);
}

static void
parse_source(struct parse *p, yaml_node_t *n, size_t idx,
    struct ls_conf_source *src, yaml_node_t **namep)
{
	struct strlist paths = { NULL, 0, check_path_cb };
	struct strlist excl = { NULL, 0, check_path_cb };
	struct strlist tags = { NULL, 0, check_tag_cb };
	struct sect s;
	uint64_t sz;
	size_t i, len;
	int e;

	src->default_severity = LS_SEV_INFO;
	src->start_at = LS_START_BEGINNING;
	src->parse_timestamp = 1;
	src->file_tags = 1;
	/* The top-level tags first, then the source's own. */
	for (i = 0; i < p->ngtags; i++) {
		tags.v = xreallocarray(tags.v, tags.n + 1, sizeof *tags.v);
		tags.v[tags.n++] = xstrdup(p->gtags[i]);
	}
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
	get_bool(&s, S_FOLLOW_SYMLINKS, &src->follow_symlinks);
	get_bool(&s, S_PARSE_TIMESTAMP, &src->parse_timestamp);
	get_bool(&s, S_FILE_TAGS, &src->file_tags);
	foreach_item(&s, S_EXCLUDE_PATHS, strlist_add_cb, &excl);
	src->exclude_paths = excl.v;
	src->nexclude_paths = excl.n;
	parse_multiline(p, &s, src);
	parse_rules(p, &s, src);
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

/* Is url's host the Datadog Agent's own intake host,
 * agent-http-intake.logs.<site>? */
static int
agent_intake(const char *url)
{
	static const char prefix[] = "agent-http-intake.logs.";
	const char *host, *end, *at;

	if ((host = strstr(url, "://")) == NULL)
		return 0;
	host += 3;
	end = host + strcspn(host, "/?#");
	if ((at = memchr(host, '@', (size_t)(end - host))) != NULL)
		host = at + 1;
	return (size_t)(end - host) > sizeof prefix - 1
	    && strncasecmp(host, prefix, sizeof prefix - 1) == 0;
}

/*
 * The host of an http:// or https:// url into buf (no brackets, no
 * userinfo, no port); "" when there is none.
 */
static void
url_host(const char *url, char *buf, size_t len)
{
	const char *h, *end, *at;
	size_t n;

	*buf = '\0';
	if ((h = strstr(url, "://")) == NULL)
		return;
	h += 3;
	end = h + strcspn(h, "/?#");
	if ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else
		n = strcspn(h, ":/?#");
	if (h + n > end)
		n = (size_t)(end - h);
	if (n >= len)
		n = len - 1;
	memcpy(buf, h, n);
	buf[n] = '\0';
}

/* Is host a name or address of this machine's loopback: localhost,
 * 127.0.0.0/8, ::1? */
static int
loopback_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0
	    || strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6)
		    || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

/* site: one of site_names, the url built from it (unless url is set). */
static void
parse_site(
    struct parse *p, struct sect *s, struct ls_conf_dest *d, int dd, int type)
{
	const char *v;
	char path[160], vb[SHOWLEN + 4], list[256];
	size_t k;

	if (sect_scalar(s, D_SITE, &v) != 1)
		return;
	sect_path(s, D_SITE, path, sizeof path);
	if (!dd) {
		if (type != -1)
			perr(p, &s->val[D_SITE]->start_mark,
			    "%s: only a datadog destination has a site (an "
			    "http destination needs url)",
			    path);
		return;
	}
	for (k = 0; site_names[k] != NULL; k++)
		if (strcmp(site_names[k], v) == 0)
			break;
	if (site_names[k] == NULL) {
		perr(p, &s->val[D_SITE]->start_mark,
		    "%s: unknown Datadog site \"%s\" (expected %s)", path,
		    show(vb, v), join_names(list, sizeof list, site_names));
		return;
	}
	d->site = xstrdup(v);
	if (d->url == NULL)
		xasprintf(&d->url, SITE_URL_FMT, v);
}

static void free_strv(char **, size_t);

/* A no_proxy item: a host name, an address or a CIDR block, or "*". */
static int
check_host_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v == '\0' || strpbrk(v, ", \t") != NULL) {
		perr(p, &n->start_mark,
		    "%s: \"%s\" is not a host (no spaces or commas: give a "
		    "list)",
		    path, show(vb, v));
		return -1;
	}
	return 0;
}

/* proxy: scheme://[user:password@]host[:port], kept like a key (it may
 * hold a password) and never echoed; no_proxy: hosts, one or a list. */
static void
parse_proxy(struct parse *p, struct sect *s, struct ls_conf_dest *d)
{
	static const char *const schemes[]
	    = { "http://", "https://", "socks5://", "socks5h://", NULL };
	struct strlist l = { NULL, 0, check_host_cb };
	const char *v;
	char path[160], host[256];
	size_t k, len;

	if (sect_scalar(s, D_PROXY, &v) == 1) {
		sect_path(s, D_PROXY, path, sizeof path);
		for (k = 0; schemes[k] != NULL; k++)
			if (strncasecmp(v, schemes[k], strlen(schemes[k])) == 0)
				break;
		url_host(v, host, sizeof host);
		if (schemes[k] == NULL || *host == '\0')
			perr(p, &s->val[D_PROXY]->start_mark,
			    "%s: must be an http://, https://, socks5:// or "
			    "socks5h:// URL with a host",
			    path);
		else
			take_key(p, s->val[D_PROXY], path, v, strlen(v),
			    "the proxy URL", 0, &d->proxy);
	}
	foreach_item(s, D_NO_PROXY, strlist_add_cb, &l);
	if (l.n == 0) {
		free(l.v);
		return;
	}
	for (k = 0, len = 0; k < l.n; k++)
		len += strlen(l.v[k]) + 1;
	d->no_proxy = xcalloc(1, len);
	for (k = 0; k < l.n; k++) {
		if (k > 0)
			strcat(d->no_proxy, ",");
		strcat(d->no_proxy, l.v[k]);
	}
	free_strv(l.v, l.n);
}

/* Headers logshipd sets itself (or curl does), which headers: must not
 * replace. */
static const char *const reserved_headers[]
    = { "Content-Type", "Content-Encoding", "Content-Length",
	      "Transfer-Encoding", "Host", "Expect", "Connection", "User-Agent",
	      "DD-API-KEY", "DD-EVP-ORIGIN", "DD-EVP-ORIGIN-VERSION", NULL };

/* A header named like a credential is kept as one even when its value is
 * written in the file: it makes http:// to another host an error. */
static int
credential_name(const char *name)
{
	static const char *const words[] = { "auth", "key", "token", "secret",
		"password", "cookie", "session", NULL };
	size_t k;

	for (k = 0; words[k] != NULL; k++)
		if (strcasestr(name, words[k]) != NULL)
			return 1;
	return 0;
}

/* Adds "name: value" (value a secret, freed here) to d's headers. */
static void
add_header(struct parse *p, yaml_node_t *n, const char *path,
    struct ls_conf_dest *d, const char *name, char *value)
{
	char *line;

	line = ls_secret_printf("%s: %s", name, value);
	ls_secret_free(value);
	if (line == NULL) {
		perr(p, &n->start_mark, "%s: cannot keep the value: %s", path,
		    strerror(errno));
		return;
	}
	d->headers
	    = xreallocarray(d->headers, d->nheaders + 1, sizeof *d->headers);
	d->headers[d->nheaders++] = line;
}

static int
header_name_ok(const char *name)
{
	const char *c;

	if (*name == '\0' || strlen(name) > 128)
		return 0;
	for (c = name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
			|| (*c >= '0' && *c <= '9')
			|| strchr("!#$%&'*+-.^_`|~", *c) != NULL))
			return 0;
	return 1;
}

/*
 * headers: { Name: value | {file: PATH} | {env: NAME} }. Values are kept
 * like the API key and never echoed; *secret is set when one is a secret
 * (from a file or the environment, or named like a credential).
 */
static void
parse_headers(
    struct parse *p, struct sect *s, struct ls_conf_dest *d, int *secret)
{
	yaml_node_pair_t *pair;
	yaml_node_t *n, *k, *v;
	struct sect vs;
	const char *name;
	char path[160], hpath[320], vb[SHOWLEN + 4];
	char *value;
	size_t j;

	if ((n = sect_val(s, D_HEADERS)) == NULL)
		return;
	sect_path(s, D_HEADERS, path, sizeof path);
	if (n->type != YAML_MAPPING_NODE) {
		perr(p, &n->start_mark, "%s: expected a mapping", path);
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		k = node(p, pair->key);
		v = node(p, pair->value);
		if (k->type != YAML_SCALAR_NODE
		    || (name = scalar_str(p, k, path)) == NULL
		    || !header_name_ok(name)) {
			perr(p, &k->start_mark,
			    "%s: \"%s\" is not a header name", path,
			    k->type == YAML_SCALAR_NODE ? show(vb, scalar(k))
							: "?");
			continue;
		}
		snprintf(hpath, sizeof hpath, "%s.%s", path, name);
		for (j = 0; reserved_headers[j] != NULL; j++)
			if (strcasecmp(reserved_headers[j], name) == 0)
				break;
		if (reserved_headers[j] != NULL) {
			perr(p, &k->start_mark, "%s: logshipd sets %s itself%s",
			    hpath, reserved_headers[j],
			    strcasecmp(name, "DD-API-KEY") == 0
				? " (use api_key_file or api_key_env)"
				: "");
			continue;
		}
		for (j = 0; j < d->nheaders; j++)
			if (strncasecmp(d->headers[j], name, strlen(name)) == 0
			    && d->headers[j][strlen(name)] == ':')
				break;
		if (j < d->nheaders) {
			perr(p, &k->start_mark,
			    "%s: duplicate header (names are not case "
			    "sensitive)",
			    hpath);
			continue;
		}
		value = NULL;
		if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
			const char *lit;

			if ((lit = scalar_str(p, v, hpath)) == NULL)
				continue;
			if (take_key(p, v, hpath, lit, strlen(lit), "the value",
				1, &value)
			    == -1)
				continue;
			if (credential_name(name))
				*secret = 1;
		} else if (v->type == YAML_MAPPING_NODE) {
			if (sect_open(p, &vs, v, header_value_keys, "%s", hpath)
			    == -1)
				continue;
			if ((sect_val(&vs, HV_FILE) != NULL)
			    == (sect_val(&vs, HV_ENV) != NULL)) {
				perr(p, &v->start_mark,
				    "%s: set one of file and env", hpath);
				continue;
			}
			if (sect_val(&vs, HV_FILE) != NULL)
				read_key_file(&vs, HV_FILE, 1, &value);
			else
				read_key_env(&vs, HV_ENV, 1, &value);
			if (value == NULL)
				continue;
			*secret = 1;
		} else {
			perr(p, &v->start_mark,
			    "%s: expected a string, {file: PATH} or {env: "
			    "NAME}",
			    hpath);
			continue;
		}
		add_header(p, v, hpath, d, name, value);
	}
}

/* RFC 4648 base64 of in[0..len) into out (room for 4 * ((len + 2) / 3) + 1
 * bytes). */
static void
base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8
		    | in[i + 2];
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/* basic_auth: { user, password_file | password_env }: an Authorization
 * header (RFC 7617), kept like the API key. */
static void
parse_basic_auth(
    struct parse *p, struct sect *ds, struct ls_conf_dest *d, int *secret)
{
	struct sect s;
	yaml_node_t *n;
	const char *user;
	char path[160], *pw = NULL, *pair = NULL, *b64 = NULL;
	size_t j, len;

	if ((n = sect_val(ds, D_BASIC_AUTH)) == NULL)
		return;
	if (sect_open(p, &s, n, basic_auth_keys, "%s.basic_auth", ds->where)
	    == -1)
		return;
	for (j = 0; j < d->nheaders; j++)
		if (strncasecmp(d->headers[j], "Authorization:", 14) == 0) {
			perr(p, &n->start_mark,
			    "%s: headers already set Authorization", s.where);
			return;
		}
	if (need(&s, BA_USER) == -1 || sect_scalar(&s, BA_USER, &user) != 1)
		return;
	sect_path(&s, BA_USER, path, sizeof path);
	if (*user == '\0' || strchr(user, ':') != NULL) {
		perr(p, &s.val[BA_USER]->start_mark,
		    "%s: must not be empty or hold a colon", path);
		return;
	}
	for (j = 0; user[j] != '\0'; j++)
		if ((unsigned char)user[j] < 0x20 || user[j] == 0x7f) {
			perr(p, &s.val[BA_USER]->start_mark,
			    "%s: holds control characters", path);
			return;
		}
	if ((sect_val(&s, BA_PASSWORD_FILE) != NULL)
	    == (sect_val(&s, BA_PASSWORD_ENV) != NULL)) {
		perr(p, &n->start_mark,
		    "%s: set one of password_file and password_env", s.where);
		return;
	}
	if (sect_val(&s, BA_PASSWORD_FILE) != NULL)
		read_key_file(&s, BA_PASSWORD_FILE, 1, &pw);
	else
		read_key_env(&s, BA_PASSWORD_ENV, 1, &pw);
	if (pw == NULL)
		return;
	*secret = 1;
	if ((pair = ls_secret_printf("%s:%s", user, pw)) == NULL)
		goto fail;
	len = strlen(pair);
	/* Room for the base64 text, in protected memory too. */
	if ((b64 = ls_secret_printf("%*s", (int)(4 * ((len + 2) / 3)), ""))
	    == NULL)
		goto fail;
	base64((const unsigned char *)pair, len, b64);
	add_header(p, n, s.where, d, "Authorization",
	    ls_secret_printf("Basic %s", b64));
	goto out;
fail:
	perr(p, &n->start_mark, "%s: cannot keep the password: %s", s.where,
	    strerror(errno));
out:
	ls_secret_free(pw);
	ls_secret_free(pair);
	ls_secret_free(b64);
}

/* A file named at key i must be there and readable now: 1 and *out set. */
static int
get_file(struct sect *s, int i, char **out)
{
	char path[160];
	int fd;

	if (get_str(s, i, out) != 1)
		return 0;
	if ((fd = open(*out, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		perr(s->p, &s->val[i]->start_mark,
		    "%s: cannot open the file: %s",
		    sect_path(s, i, path, sizeof path), strerror(errno));
		return -1;
	}
	close(fd);
	return 1;
}

/* tls: { ca_file, cert_file, key_file, server_name }. */
static void
parse_tls(struct parse *p, struct sect *ds, struct ls_conf_dest *d)
{
	struct sect s;
	yaml_node_t *n;
	const char *c;
	char path[160];

	if ((n = sect_val(ds, D_TLS)) == NULL)
		return;
	if (sect_open(p, &s, n, tls_keys, "%s.tls", ds->where) == -1)
		return;
	if (sect_val(&s, TL_CA_FILE) != NULL && d->ca_file != NULL)
		perr(p, &s.val[TL_CA_FILE]->start_mark,
		    "%s: ca_file is set twice (here and in %s)",
		    sect_path(&s, TL_CA_FILE, path, sizeof path), ds->where);
	else
		get_file(&s, TL_CA_FILE, &d->ca_file);
	get_file(&s, TL_CERT_FILE, &d->cert_file);
	get_file(&s, TL_KEY_FILE, &d->key_file);
	if (d->key_file != NULL && d->cert_file == NULL)
		perr(p, &s.val[TL_KEY_FILE]->start_mark,
		    "%s: key_file needs cert_file", s.where);
	if (get_str(&s, TL_SERVER_NAME, &d->server_name) != 1)
		return;
	sect_path(&s, TL_SERVER_NAME, path, sizeof path);
	for (c = d->server_name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
			|| (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
			break;
	if (*c != '\0' || strlen(d->server_name) > 253)
		perr(p, &s.val[TL_SERVER_NAME]->start_mark,
		    "%s: not a host name (letters, digits, '.' and '-')", path);
	else if (d->url != NULL && strncasecmp(d->url, "https://", 8) != 0)
		perr(p, &s.val[TL_SERVER_NAME]->start_mark,
		    "%s: needs an https:// url", path);
}

/*
 * Secrets (the API key, a secret header) in clear text: over http:// to a
 * host not on loopback, or through a proxy not on loopback, anyone on the
 * path reads them. Refused unless insecure: true, then warned about.
 */
static void
check_plaintext(struct parse *p, struct sect *s, struct ls_conf_dest *d,
    int secret, int insecure)
{
	char host[256], phost[256], path[160];
	const char *why;

	if ((d->api_key == NULL && !secret) || d->url == NULL
	    || strncasecmp(d->url, "http://", 7) != 0)
		return;
	url_host(d->url, host, sizeof host);
	phost[0] = '\0';
	if (d->proxy != NULL)
		url_host(d->proxy, phost, sizeof phost);
	if (!loopback_host(host))
		why = "to a host not on loopback";
	else if (*phost != '\0' && !loopback_host(phost))
		why = "through a proxy not on loopback";
	else
		return;
	sect_path(s, D_URL, path, sizeof path);
	if (!insecure)
		perr(p, &s->val[D_URL]->start_mark,
		    "%s: http:// %s would send the %s in clear text: use "
		    "https://, or set insecure: true",
		    path, why,
		    d->api_key != NULL ? "API key" : "secret headers");
	else
		log_warnx("%s (%s): insecure: true: the %s goes in clear text "
			  "over http:// %s",
		    s->where, d->name != NULL ? d->name : "?",
		    d->api_key != NULL ? "API key" : "secret headers", why);
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
	int e, type = -1, dd, insecure = 0, secret = 0;

	d->type = LS_DEST_DATADOG;
	d->format = LS_FORMAT_JSON;
	d->workers = 2;
	d->batch_max_entries = 1000;
	d->batch_max_bytes = 4250000;
	d->batch_max_wait_ms = 1000;
	d->compression = LS_COMPRESS_GZIP;
	d->compression_level = 0; /* the codec's own: below */
	d->reject_limit = 10;
	d->timeout_ms = 10000;
	d->retry_initial_ms = 500;
	d->retry_max_ms = 60000;
	d->retry_probe_ms = 1000;
	d->max_entry_bytes = 900000; /* the Datadog Agent's */
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
	/* A datadog destination may name its site instead of a url. */
	if (dd && s.key[D_URL] == NULL && s.key[D_SITE] == NULL)
		perr(p, &s.map->start_mark,
		    "%s: a datadog destination needs site or url", s.where);
	else if (dd && s.key[D_URL] == NULL)
		; /* built from the site */
	else if (need(&s, D_URL) == 0 && get_str(&s, D_URL, &d->url) == 1) {
		url = d->url;
		if ((strncasecmp(url, "http://", 7) != 0 || url[7] == '\0')
		    && (strncasecmp(url, "https://", 8) != 0 || url[8] == '\0'))
			perr(p, &s.val[D_URL]->start_mark,
			    "%s: must be an http:// or https:// URL",
			    sect_path(&s, D_URL, path, sizeof path));
	}

	parse_site(p, &s, d, dd, type);

	if (sect_val(&s, D_API_KEY_FILE) != NULL
	    && sect_val(&s, D_API_KEY_ENV) != NULL)
		perr(p, &s.val[D_API_KEY_ENV]->start_mark,
		    "%s: set only one of api_key_file and api_key_env",
		    sect_path(&s, D_API_KEY_ENV, path, sizeof path));
	else if (sect_val(&s, D_API_KEY_FILE) != NULL)
		read_key_file(&s, D_API_KEY_FILE, 0, &d->api_key);
	else if (sect_val(&s, D_API_KEY_ENV) != NULL)
		read_key_env(&s, D_API_KEY_ENV, 0, &d->api_key);
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
	if (d->compression_level == 0)
		d->compression_level
		    = ls_compression_default_level(d->compression);
	/* zstd is in no Datadog host's documented contract but the Agent's
	 * own (agent-http-intake.logs.<site>); the sender falls back to
	 * gzip if it is refused. */
	if (dd && d->compression == LS_COMPRESS_ZSTD && d->url != NULL
	    && !agent_intake(d->url))
		log_warnx(
		    "%s (%s): compression: zstd: only "
		    "agent-http-intake.logs.<site> is known to take it; "
		    "if this intake refuses it (415 or 400), gzip is sent "
		    "instead",
		    s.where, d->name != NULL ? d->name : "?");
	if (get_int(&s, D_REJECT_LIMIT, &v, 1, 1000000) == 1)
		d->reject_limit = (unsigned)v;
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
	parse_tls(p, &s, d);
	parse_proxy(p, &s, d);
	parse_headers(p, &s, d, &secret);
	parse_basic_auth(p, &s, d, &secret);
	check_plaintext(p, &s, d, secret, insecure);
	if (d->site != NULL)
		log_info("%s (%s): site %s: %s", s.where,
		    d->name != NULL ? d->name : "?", d->site,
		    sect_val(&s, D_URL) != NULL ? "url is set, and wins"
						: d->url);
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

/*
 * The files whose sources, destinations and routes make the configuration:
 * the main one (p, its top-level mapping top), then those it includes, in
 * order. n gets how many; to free.
 */
struct unit {
	struct parse *p;
	struct sect *top;
};

static struct unit *
units(struct parse *p, struct sect *top, size_t *n)
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

/* A name's place, for a duplicate's error: its line, and its file when
 * that is not the duplicate's. */
struct place {
	struct parse *p;
	yaml_node_t *name; /* NULL: it has none */
};

static void
report_duplicates(const char *what, const char *const *strs,
    const struct place *at, const size_t *idx, size_t count)
{
	size_t *first, i, j;
	char vb[SHOWLEN + 4];

	first = first_same((const char **)strs, count);
	for (i = 0; i < count; i++) {
		if ((j = first[i]) == SIZE_MAX)
			continue;
		if (at[j].p == at[i].p)
			perr(at[i].p, &at[i].name->start_mark,
			    "%s[%zu].name: duplicate %.*s name \"%s\" "
			    "(first at line %lu)",
			    what, idx[i], (int)strlen(what) - 1, what,
			    show(vb, strs[i]),
			    (unsigned long)at[j].name->start_mark.line + 1);
		else
			perr(at[i].p, &at[i].name->start_mark,
			    "%s[%zu].name: duplicate %.*s name \"%s\" "
			    "(first at %s:%lu)",
			    what, idx[i], (int)strlen(what) - 1, what,
			    show(vb, strs[i]), at[j].p->name,
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
static size_t
collect_items(struct unit *u, size_t nu, int k, const char *what,
    yaml_node_t ***nodes, struct place **at, size_t **idx)
{
	yaml_node_t *n;
	size_t i, j, count, total = 0;

	*nodes = NULL;
	*at = NULL;
	*idx = NULL;
	for (i = 0; i < nu; i++) {
		if ((n = sect_val(u[i].top, k)) == NULL) {
			if (nu == 1)
				need(u[i].top, k);
			continue;
		}
		if (open_seq(u[i].p, n, what, &count) == -1)
			continue;
		*nodes
		    = xreallocarray(*nodes, total + count + 1, sizeof **nodes);
		*at = xreallocarray(*at, total + count + 1, sizeof **at);
		*idx = xreallocarray(*idx, total + count + 1, sizeof **idx);
		for (j = 0; j < count; j++, total++) {
			(*nodes)[total]
			    = node(u[i].p, n->data.sequence.items.start[j]);
			(*at)[total].p = u[i].p;
			(*at)[total].name = NULL;
			(*idx)[total] = j;
		}
	}
	return total;
}

static void
parse_sources(struct parse *p, struct sect *top, struct ls_conf *c)
{
	yaml_node_t **nodes;
	struct place *at;
	struct unit *u;
	const char **strs;
	size_t i, count, nu, *idx;

	u = units(p, top, &nu);
	count = collect_items(u, nu, T_SOURCES, "sources", &nodes, &at, &idx);
	if (count == 0) {
		/* Said already when it is no sequence (open_seq). */
		if ((sect_val(top, T_SOURCES) != NULL
			&& sect_val(top, T_SOURCES)->type == YAML_SEQUENCE_NODE)
		    || (sect_val(top, T_SOURCES) == NULL && nu > 1))
			perr(p,
			    sect_val(top, T_SOURCES) != NULL
				? &sect_val(top, T_SOURCES)->start_mark
				: &top->map->start_mark,
			    "sources: at least one is required");
		goto out;
	}
	c->sources = xcalloc(count, sizeof *c->sources);
	c->nsources = count;
	for (i = 0; i < count; i++)
		parse_source(
		    at[i].p, nodes[i], idx[i], &c->sources[i], &at[i].name);
	strs = xcalloc(count, sizeof *strs);
	for (i = 0; i < count; i++)
		strs[i] = at[i].name != NULL ? c->sources[i].name : NULL;
	report_duplicates("sources", strs, at, idx, count);
	free(strs);
out:
	free(nodes);
	free(at);
	free(idx);
	free(u);
}

static void
parse_dests(struct parse *p, struct sect *top, struct ls_conf *c)
{
	yaml_node_t **nodes, *n;
	struct place *at;
	struct unit *u;
	const char **strs;
	size_t i, count, nu, *idx;

	u = units(p, top, &nu);
	count = collect_items(
	    u, nu, T_DESTINATIONS, "destinations", &nodes, &at, &idx);
	n = sect_val(top, T_DESTINATIONS);
	if (count == 0) {
		if ((n != NULL && n->type == YAML_SEQUENCE_NODE)
		    || (n == NULL && nu > 1))
			perr(p,
			    n != NULL ? &n->start_mark : &top->map->start_mark,
			    "destinations: at least one is required");
		goto out;
	}
	if (count > LS_MAX_DESTS)
		perr(p, n != NULL ? &n->start_mark : &top->map->start_mark,
		    "destinations: %zu is too many (at most %d)", count,
		    LS_MAX_DESTS);
	c->dests = xcalloc(count, sizeof *c->dests);
	c->ndests = count;
	for (i = 0; i < count; i++)
		parse_dest(
		    at[i].p, nodes[i], idx[i], &c->dests[i], &at[i].name);
	strs = xcalloc(count, sizeof *strs);
	for (i = 0; i < count; i++)
		strs[i] = at[i].name != NULL ? c->dests[i].name : NULL;
	report_duplicates("destinations", strs, at, idx, count);
	free(strs);
out:
	free(nodes);
	free(at);
	free(idx);
	free(u);
}

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
	perr(p, &n->start_mark, "%s: unknown source \"%s\"", path, show(vb, v));
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
static void
parse_routes(struct parse *p, struct sect *top, struct ls_conf *c)
{
	struct unit *uu;
	yaml_node_t *n;
	uint64_t all;
	size_t count, nu, k;
	int sev, any;

	all = c->ndests >= 64 ? UINT64_MAX : ((uint64_t)1 << c->ndests) - 1;
	uu = units(p, top, &nu);
	for (k = 0, any = 0; k < nu; k++)
		any |= sect_val(uu[k].top, T_ROUTES) != NULL;
	if (!any) {
		for (sev = 0; sev < LS_SEV_COUNT; sev++)
			c->route[sev] = all;
		free(uu);
		return;
	}
	for (k = 0; k < nu; k++) {
		p = uu[k].p;
		if ((n = sect_val(uu[k].top, T_ROUTES)) == NULL
		    || open_seq(p, n, "routes", &count) == -1)
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
		item = node(p, n->data.sequence.items.start[i]);
		if (sect_open(p, &s, item, route_keys, "routes[%zu]", i) == -1)
			continue;
		memset(&ra, 0, sizeof ra);
		ra.c = c;
		ra.srcs = xcalloc(c->nsources + 1, 1);
		if (need(&s, R_SEVERITY) == 0)
			foreach_item(&s, R_SEVERITY, route_sev_cb, &ra);
		/* "to: []" is allowed: it drops those severities. */
		if (need(&s, R_TO) == 0)
			foreach_item(&s, R_TO, route_to_cb, &ra);
		if (sect_val(&s, R_SOURCE) != NULL) {
			ra.named = 1;
			foreach_item(&s, R_SOURCE, route_src_cb, &ra);
		}
		add_route(c, &ra);
		free(ra.srcs);
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

static void free_strv(char **, size_t);
static int check_depth(struct parse *, const char *, size_t);
static void syntax_error(struct parse *, yaml_parser_t *);
static int read_text(const char *, char **, size_t *);

/* Loads one included file into inc (its errors in inc->p). */
static void
load_include(struct parse *main, struct incfile *inc, const char *path)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	yaml_mark_t start = { 0, 0, 0 };
	size_t len, i;

	memset(inc, 0, sizeof *inc);
	/* What the main file says for every file. */
	inc->p.strict = main->strict;
	inc->p.gtags = main->gtags;
	inc->p.ngtags = main->ngtags;
	inc->p.top_rules = main->top_rules;
	inc->p.ntop_rules = main->ntop_rules;
	inc->p.name = xstrdup(path);
	if (read_text(path, &inc->text, &len) != 0) {
		perr(&inc->p, &start, "cannot read it: %s", strerror(errno));
		return;
	}
	inc->p.text = inc->text;
	inc->p.len = len;
	if (len > CONF_MAX_BYTES) {
		perr(&inc->p, &start,
		    "the file is larger than the limit of %" PRIu64 " KiB",
		    CONF_MAX_BYTES / KiB);
		return;
	}
	if (check_depth(&inc->p, inc->text, len) != 0)
		return;
	if (!yaml_parser_initialize(&parser))
		fatalx("conf: out of memory");
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *)inc->text, len);
	if (!yaml_parser_load(&parser, &inc->doc)) {
		syntax_error(&inc->p, &parser);
		yaml_parser_delete(&parser);
		return;
	}
	yaml_parser_delete(&parser);
	inc->loaded = 1;
	inc->p.doc = &inc->doc;
	if ((root = yaml_document_get_root_node(&inc->doc)) == NULL)
		return; /* empty: it adds nothing */
	if (sect_open(&inc->p, &inc->top, root, top_keys, "%s", "") == -1)
		return;
	inc->opened = 1;
	/* An included file brings parts of the pipeline, not settings. */
	for (i = 0; i < T_NKEYS; i++)
		if (inc->top.val[i] != NULL && i != T_SOURCES
		    && i != T_DESTINATIONS && i != T_ROUTES)
			perr(&inc->p, &inc->top.key[i]->start_mark,
			    "%s: not allowed in an included file (only "
			    "sources, destinations and routes are)",
			    top_keys[i]);
}

static void
add_include(struct parse *p, const char *path)
{
	p->inc = xreallocarray(p->inc, p->ninc + 1, sizeof *p->inc);
	p->inc[p->ninc] = xcalloc(1, sizeof **p->inc);
	load_include(p, p->inc[p->ninc++], path);
}

static void
include_path_cb(
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
		add_include(p, full);
		return;
	}
	/* A pattern may match nothing (an empty conf.d). */
	if ((rc = glob(full, 0, NULL, &g)) != 0 && rc != GLOB_NOMATCH) {
		perr(p, &n->start_mark, "%s: cannot expand \"%s\"", path,
		    show(vb, v));
		globfree(&g);
		return;
	}
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		add_include(p, g.gl_pathv[i]);
	globfree(&g);
}

/* The trees of the included files, once parsed; their errors stay, for
 * flush_includes. */
static void
free_includes(struct parse *p)
{
	size_t i;

	for (i = 0; i < p->ninc; i++) {
		if (p->inc[i]->loaded)
			yaml_document_delete(&p->inc[i]->doc);
		p->inc[i]->loaded = 0;
		p->inc[i]->opened = 0;
		free(p->inc[i]->text);
		p->inc[i]->text = NULL;
		free_strv(p->inc[i]->p.expanded, p->inc[i]->p.nexpanded);
		p->inc[i]->p.expanded = NULL;
		p->inc[i]->p.nexpanded = 0;
	}
}

/* Prints the included files' errors after the main one's; frees them. */
static size_t
flush_includes(struct parse *p, FILE *errf)
{
	size_t i, n = 0;

	free_includes(p);
	for (i = 0; i < p->ninc; i++) {
		n += flush_errors(&p->inc[i]->p, errf);
		free((char *)p->inc[i]->p.name);
		free(p->inc[i]);
	}
	free(p->inc);
	p->inc = NULL;
	p->ninc = 0;
	return n;
}

static void
parse_top(struct parse *p, yaml_node_t *root, struct ls_conf *c)
{
	struct strlist gtags = { NULL, 0, check_tag_cb };
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
	/* Before the sources: their tags come after these. */
	foreach_item(&s, T_TAGS, strlist_add_cb, &gtags);
	p->gtags = gtags.v;
	p->ngtags = gtags.n;
	parse_metrics(p, &s, c);
	/* Before the sources: each one's list begins with these. */
	if (sect_val(&s, T_RULES) != NULL)
		parse_rule_list(p, s.val[T_RULES], "log_processing_rules",
		    &p->top_rules, &p->ntop_rules);
	if (get_int(&s, T_MAX_OPEN_FILES, &n, 8, 1000000) == 1)
		c->max_open_files = (size_t)n;
	if (get_int(&s, T_MAX_WATCHED_DIRS, &n, 1, 1000000) == 1)
		c->max_watched_dirs = (size_t)n;
	/* After the tags and rules, which included sources take too. */
	foreach_item(&s, T_INCLUDE, include_path_cb, NULL);
	parse_sources(p, &s, c);
	parse_dests(p, &s, c);
	parse_routes(p, &s, c);
	free_includes(p);
	free_strv(p->gtags, p->ngtags);
	p->gtags = NULL;
	p->ngtags = 0;

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
static int
check_depth(struct parse *p, const char *text, size_t len)
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
			syntax_error(p, &parser);
			goto out;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CONF_MAX_DEPTH) {
				perr(p, &ev.start_mark,
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

/*
 * Reads the file at path whole (up to just past CONF_MAX_BYTES, which the
 * caller reports), so that reader errors, which libyaml reports as byte
 * offsets, can be turned into lines and columns. 0 with *text (to free)
 * and *len, or -1 with errno.
 */
static int
read_text(const char *path, char **text, size_t *len)
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

static void free_includes(struct parse *);
static size_t flush_includes(struct parse *, FILE *);

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
		perr(&p, &start,
		    "the file is larger than the limit of %" PRIu64 " KiB",
		    CONF_MAX_BYTES / KiB);
		goto out;
	}
	if (check_depth(&p, text, len) != 0)
		goto out;
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
out:
	free_rule_specs(p.top_rules, p.ntop_rules);
	free_strv(p.expanded, p.nexpanded);
	if (flush_errors(&p, errf) + flush_includes(&p, errf) > 0) {
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

	if (read_text(path, &text, &len) != 0) {
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
	size_t i, j;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->nsources; i++) {
		src = &c->sources[i];
		free(src->name);
		free_strv(src->paths, src->npaths);
		free(src->service);
		free(src->ddsource);
		free_strv(src->tags, src->ntags);
		free_strv(src->exclude_paths, src->nexclude_paths);
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

static int
headers_same(const struct ls_conf_dest *x, const struct ls_conf_dest *y)
{
	size_t i;

	if (x->nheaders != y->nheaders)
		return 0;
	for (i = 0; i < x->nheaders; i++)
		if (strcmp(x->headers[i], y->headers[i]) != 0)
			return 0;
	return 1;
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
	    && x->reject_limit == y->reject_limit
	    && x->timeout_ms == y->timeout_ms
	    && x->retry_initial_ms == y->retry_initial_ms
	    && x->retry_max_ms == y->retry_max_ms
	    && x->retry_probe_ms == y->retry_probe_ms
	    && x->max_entry_bytes == y->max_entry_bytes
	    && x->tls_verify == y->tls_verify && x->on_full == y->on_full
	    && x->max_buffer_bytes == y->max_buffer_bytes
	    && str_same(x->ca_file, y->ca_file) && str_same(x->site, y->site)
	    && str_same(x->proxy, y->proxy)
	    && str_same(x->no_proxy, y->no_proxy) && headers_same(x, y)
	    && str_same(x->cert_file, y->cert_file)
	    && str_same(x->key_file, y->key_file)
	    && str_same(x->server_name, y->server_name)
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
