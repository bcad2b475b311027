/*
 * conf_impl.h: private to the configuration's family of files; nothing
 * else includes it (the API is conf.h).
 *
 *	conf.c		load and free, the top level, metrics
 *	conf_yaml.c	the accessor layer over libyaml: errors, sections
 *			(struct sect), typed getters, ${VAR}, the caps
 *	conf_include.c	include: the files of one configuration, their items
 *			collected and checked as one set
 *	conf_units.c	durations, sizes, listen addresses (pure functions)
 *	conf_secret.c	API keys, header values and basic_auth: secrets read
 *			from files and the environment, never echoed
 *	conf_source.c	sources, multiline and log_processing_rules
 *	conf_dest.c	destinations: url, site, batch, retry, tls, proxy
 *	conf_route.c	routes: severity and source to destinations
 *	conf_agent.c	datadog_agent_confd: the Datadog Agent's logs entries
 *			made sources
 *
 * Each schema mapping's keys are an enum and a table in the file that
 * parses it; the top level's enum is here, since the family shares it.
 *
 * Threading: main thread only, while a configuration is loaded.
 */
#ifndef LS_CONF_IMPL_H
#define LS_CONF_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <yaml.h>

#include "conf.h"
#include "log.h"

#define KiB ((uint64_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* The most keys one mapping of the schema has: a destination's (checked
 * equal in conf_dest.c). Each key table is checked against it at compile
 * time (CONF_KEYS_FIT), so a table that outgrows it is a build error, not
 * a fatal load. */
#define CONF_MAXKEYS 27
#define CONF_KEYS_FIT(n, what)                                                 \
	_Static_assert((n) <= CONF_MAXKEYS,                                    \
	    what " has more keys than struct sect holds: raise CONF_MAXKEYS")
/* The caps on a file (conf_check_depth()). */
#define CONF_MAX_BYTES (1 * MiB)
#define CONF_MAX_DEPTH 32
/* How much of a value a message echoes (conf_show()). */
#define SHOWLEN 64

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

struct rule_spec;

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
	int raw; /* no ${VAR} expansion: a Datadog Agent file (conf_agent.c) */
	/* The top-level tags, which every source's come after. */
	char **gtags;
	size_t ngtags;
	/* Values with ${VAR} expanded (conf_scalar_str()), freed when the load
	 * ends. */
	char **expanded;
	size_t nexpanded;
	/* The files the main one includes (include:), in order (each
	 * allocated on its own: their sects point at their parse). */
	struct incfile **inc;
	size_t ninc;
	/* The top-level log_processing_rules, applied to every source
	 * before its own (conf_source.c). */
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
	yaml_node_t *key[CONF_MAXKEYS];
	yaml_node_t *val[CONF_MAXKEYS];
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

/* Collects a list of strings, each checked by check_cb when not NULL. */
struct strlist {
	char **v;
	size_t n;
	int (*check_cb)(
	    struct parse *, const char *, yaml_node_t *, const char *);
};

/*
 * The top level's keys, in the order the file's messages list them: the
 * one place each scalar's type, field of struct ls_conf, default (as the
 * file would write it, parsed at load like a value from the file) and
 * bounds are written. S(id, name, type, field, default, min, max, late):
 * a scalar read by conf.c from this table (min: the least duration; min
 * and max: the range of a size or a count; late: read after the rules,
 * the order the parser always had, so that errors on one node shared by
 * two keys, an alias, keep their order). N(id, name, default): a key
 * parsed by code (default: as documented, or NULL). check_conf_schema.c
 * holds etc/logshipd.yaml and logshipd.yaml(5) to these defaults.
 */
#define CONF_TOP_KEYS(S, N)                                                    \
	S(T_STATE_DIR, "state_dir", STR, state_dir, LS_STATE_DIR, 0, 0, 0)     \
	S(T_HOSTNAME, "hostname", STR, hostname, NULL, 0, 0, 0)                \
	S(T_SHUTDOWN_TIMEOUT, "shutdown_timeout", DURATION,                    \
	    shutdown_timeout_ms, "20s", 1, 0, 0)                               \
	S(T_MAX_BUFFER_BYTES, "max_buffer_bytes", SIZE, max_buffer_bytes,      \
	    "32MiB", MiB, UINT64_MAX, 0)                                       \
	S(T_SCAN_INTERVAL, "scan_interval", DURATION, scan_interval_ms, "10s", \
	    100, 0, 0)                                                         \
	S(T_POLL_INTERVAL, "poll_interval", DURATION, poll_interval_ms, "1s",  \
	    10, 0, 0)                                                          \
	S(T_READ_COALESCE, "read_coalesce", DURATION, read_coalesce_ms,        \
	    "10ms", 0, 0, 0)                                                   \
	S(T_CHECKPOINT_INTERVAL, "checkpoint_interval", DURATION,              \
	    checkpoint_interval_ms, "50ms", 10, 0, 0)                          \
	S(T_CHECKPOINT_FSYNC_INTERVAL, "checkpoint_fsync_interval", DURATION,  \
	    checkpoint_fsync_interval_ms, "1s", 0, 0, 0)                       \
	S(T_ALLOW_INSECURE_STATE_DIR, "allow_insecure_state_dir", BOOL,        \
	    allow_insecure_state_dir, "false", 0, 0, 0)                        \
	S(T_CLOSE_INACTIVE, "close_inactive", DURATION, close_inactive_ms,     \
	    "5m", 0, 0, 0)                                                     \
	S(T_CLOSE_REMOVED_AFTER, "close_removed_after", DURATION,              \
	    close_removed_after_ms, "5m", 0, 0, 0)                             \
	S(T_MAX_OPEN_FILES, "max_open_files", COUNT, max_open_files, "8192",   \
	    8, 1000000, 1)                                                     \
	S(T_MAX_WATCHED_DIRS, "max_watched_dirs", COUNT, max_watched_dirs,     \
	    "10000", 1, 1000000, 1)                                            \
	S(T_BACKLOG_WARN, "backlog_warn", DURATION, backlog_warn_ms, "1h",     \
	    1000, 0, 0)                                                        \
	N(T_METRICS, "metrics", NULL)                                          \
	N(T_STRICT_PERMISSIONS, "strict_permissions", "false")                 \
	N(T_TAGS, "tags", NULL)                                                \
	N(T_SOURCES, "sources", NULL)                                          \
	N(T_DESTINATIONS, "destinations", NULL)                                \
	N(T_ROUTES, "routes", NULL)                                            \
	N(T_RULES, "log_processing_rules", NULL)                               \
	N(T_INCLUDE, "include", NULL)                                          \
	N(T_AGENT_CONFD, "datadog_agent_confd", NULL)

#define CONF_TOP_ENUM_S(id, name, type, field, def, min, max, late) id,
#define CONF_TOP_ENUM_N(id, name, def) id,
enum { CONF_TOP_KEYS(CONF_TOP_ENUM_S, CONF_TOP_ENUM_N) T_NKEYS };
#undef CONF_TOP_ENUM_S
#undef CONF_TOP_ENUM_N

/*
 * How a key of a table (CONF_TOP_KEYS, CONF_SOURCE_KEYS) is read, into a
 * field of which C type (conf_table.c).
 */
enum conf_type {
	CONF_NODE = 0, /* by code */
	CONF_STR, /* char *, conf_get_str */
	CONF_DURATION, /* int64_t ms, conf_get_duration (min: the least) */
	CONF_SIZE, /* uint64_t bytes, conf_get_size in [min, max] */
	CONF_SIZET, /* size_t bytes, the same */
	CONF_COUNT, /* size_t, conf_get_int in [min, max] */
	CONF_UINT, /* unsigned, conf_get_int in [min, max] */
	CONF_BOOL, /* int, conf_get_bool */
	CONF_SEVERITY, /* enum ls_severity, conf_get_severity */
	CONF_ENUM /* an enum, conf_get_enum: one of names */
};

/* A field's type checked at compile time: _Generic has no match (or the
 * array a negative size) when it is not the conf_type's. */
#define CONF_OK_STR(e) _Generic((e), char * : 1)
#define CONF_OK_DURATION(e) _Generic((e), int64_t : 1)
#define CONF_OK_SIZE(e) _Generic((e), uint64_t : 1)
#define CONF_OK_SIZET(e) _Generic((e), size_t : 1)
#define CONF_OK_COUNT(e) _Generic((e), size_t : 1)
#define CONF_OK_UINT(e) _Generic((e), unsigned : 1)
#define CONF_OK_BOOL(e) _Generic((e), int : 1)
#define CONF_OK_SEVERITY(e) _Generic((e), enum ls_severity : 1)
#define CONF_OK_ENUM(e) (sizeof(e) == sizeof(int) ? 1 : -1)
#define CONF_FIELD(stype, type, f)                                             \
	(offsetof(stype, f) + 0 * sizeof(char[CONF_OK_##type(((stype *)0)->f)]))

/* One key of a table, indexed like the mapping's names. */
struct conf_key {
	enum conf_type type;
	size_t off; /* of the field in the struct the table fills */
	const char *def; /* as the file would write it; NULL: none */
	uint64_t min, max;
	int phase; /* read by the conf_table_read() of this phase */
	const char *const *names; /* CONF_ENUM */
};
/* The names (for conf_sect_open) and the rest, indexed by T_*. */
extern const char *const conf_top_keys[];
extern const struct conf_key conf_top_table[];
/* The other mappings' keys, NULL-terminated, each beside its parser. */
extern const char *const conf_metrics_keys[];
extern const char *const conf_source_keys[];
extern const struct conf_key conf_source_table[];
extern const char *const conf_multiline_keys[];
extern const char *const conf_rule_keys[];
extern const char *const conf_dest_keys[];
extern const struct conf_key conf_dest_table[];
extern const char *const conf_tls_keys[];
extern const char *const conf_batch_keys[];
extern const char *const conf_retry_keys[];
extern const char *const conf_basic_auth_keys[];
extern const char *const conf_header_value_keys[];
extern const char *const conf_route_keys[];

/* conf_table.c: the defaults of table t (n keys) into base, parsed like
 * values in the file (a bad one is fatal: a bug); and the values of its
 * scalars that s holds, those of one phase (the parser reads its keys
 * in phases between the keys it parses by code, in the order it always
 * had, so that errors on one node shared by two keys keep their order). */
void conf_table_defaults(
    const struct conf_key *t, const char *const *names, size_t n, void *base);
void conf_table_read(
    struct sect *s, const struct conf_key *t, size_t n, void *base, int phase);

/* conf_yaml.c: errors. */
void conf_perr(struct parse *, const yaml_mark_t *, const char *, ...)
    LS_PRINTF(3, 4);
size_t conf_flush_errors(struct parse *, FILE *errf);
void conf_syntax_error(struct parse *, yaml_parser_t *);
const char *conf_show(char *buf, const char *s);
const char *conf_join_names(char *buf, size_t len, const char *const *names);

/* conf_yaml.c: nodes and sections. */
yaml_node_t *conf_node(struct parse *, int id);
const char *conf_scalar(const yaml_node_t *);
int conf_is_null(const yaml_node_t *);
int conf_sect_open(struct parse *, struct sect *, yaml_node_t *,
    const char *const *keys, const char *fmt, ...) LS_PRINTF(5, 6);
const char *conf_sect_path(const struct sect *, int i, char *buf, size_t len);
yaml_node_t *conf_sect_val(const struct sect *, int i);
int conf_need(struct sect *, int i);
int conf_open_seq(struct parse *, yaml_node_t *, const char *, size_t *);

/* conf_yaml.c: typed getters; each returns 1 (set), 0 (absent or null:
 * the default stays) or -1 (reported). */
const char *conf_scalar_str(struct parse *, yaml_node_t *, const char *path);
int conf_sect_scalar(struct sect *, int i, const char **out);
int conf_get_str(struct sect *, int i, char **out);
int conf_get_duration(struct sect *, int i, int64_t *out, int64_t min);
int conf_get_size(
    struct sect *, int i, uint64_t *out, uint64_t min, uint64_t max);
int conf_get_int(
    struct sect *, int i, long long *out, long long min, long long max);
int conf_get_bool(struct sect *, int i, int *out);
int conf_get_enum(struct sect *, int i, const char *const *names, int *out);
int conf_get_severity(struct sect *, int i, enum ls_severity *out);
int conf_foreach_item(struct sect *, int i,
    void (*fn)(
	struct parse *, const char *, yaml_node_t *, const char *, void *),
    void *arg);
void conf_strlist_add_cb(
    struct parse *, const char *path, yaml_node_t *, const char *v, void *arg);
void conf_free_strv(char **, size_t);

/* conf_yaml.c: the caps and the file. */
int conf_check_depth(struct parse *, const char *text, size_t len);
int conf_read_text(const char *path, char **text, size_t *len);
int conf_read_text_at(int dfd, const char *name, char **text, size_t *len);

/* conf_include.c */
struct incfile *conf_incfile_add(struct parse *main, const char *path);
yaml_node_t *conf_incfile_parse(struct incfile *, size_t len);
void conf_include_path_cb(
    struct parse *, const char *path, yaml_node_t *, const char *v, void *arg);
void conf_free_includes(struct parse *);
size_t conf_flush_includes(struct parse *, FILE *errf);
/* A file whose sources, destinations and routes make the configuration:
 * the main one, then those it includes, in order (conf_units()). */
struct unit {
	struct parse *p;
	struct sect *top;
};
/* A name's place, for a duplicate's error: its line, and its file when
 * that is not the duplicate's. */
struct place {
	struct parse *p;
	yaml_node_t *name; /* NULL: it has none */
};
struct unit *conf_units(struct parse *, struct sect *top, size_t *n);
size_t conf_collect_items(struct unit *u, size_t nu, int k, const char *what,
    yaml_node_t ***nodes, struct place **at, size_t **idx);
void conf_report_duplicates(const char *what, const char *const *strs,
    const struct place *at, const size_t *idx, size_t count);
/* Sources or destinations (key k) of every file, parsed into *arr. */
size_t conf_parse_items(struct parse *, struct sect *top, int k,
    const char *what, size_t max, size_t size, void **arr,
    void (*parse_cb)(struct parse *, yaml_node_t *, size_t idx, void *item,
	yaml_node_t **namep),
    const char *(*name_cb)(const void *item));

/* conf_secret.c */
int conf_take_key(struct parse *, yaml_node_t *, const char *path,
    const char *buf, size_t len, const char *what, int spaces, char **key);
void conf_read_key_file(struct sect *, int i, int spaces, char **key);
void conf_read_key_env(struct sect *, int i, int spaces, char **key);
void conf_parse_headers(
    struct parse *, struct sect *, int i, struct ls_conf_dest *, int *secret);
void conf_parse_basic_auth(
    struct parse *, struct sect *, int i, struct ls_conf_dest *, int *secret);

/* conf_source.c */
int conf_check_tag_cb(
    struct parse *, const char *path, yaml_node_t *, const char *v);
void conf_parse_rule_list(struct parse *, yaml_node_t *, const char *where,
    struct rule_spec **out, size_t *nout);
void conf_free_rule_specs(struct rule_spec *, size_t);
void conf_source_rules(
    struct parse *, yaml_node_t *n, const char *where, struct ls_conf_source *);
void conf_parse_sources(struct parse *, struct sect *top, struct ls_conf *);

/* conf_agent.c */
int conf_agent_only(struct parse *, struct sect *top);
void conf_agent_sources(struct parse *, struct sect *top, struct ls_conf *);

/* conf_dest.c */
void conf_parse_dests(struct parse *, struct sect *top, struct ls_conf *);

/* conf_route.c */
void conf_parse_routes(struct parse *, struct sect *top, struct ls_conf *);

#endif
