/*
 * conf: the YAML configuration, parsed with libyaml into an immutable
 * struct ls_conf.
 *
 * Every error found is reported as "file:line:column: message" (the mark of
 * the offending YAML node), not just the first; the caller exits with
 * EX_CONFIG (78). Secrets (API keys) are read here and never printed.
 *
 * Threading: parsed on the main thread; the result is read-only afterwards
 * and may be read from any thread.
 */
#ifndef LS_CONF_H
#define LS_CONF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "labels.h"
#include "log.h"
#include "severity.h"

struct ls_pattern;
struct ls_rules;

#define LS_EX_CONFIG 78
/* metrics.listen when the file does not set it. */
#define LS_METRICS_LISTEN "127.0.0.1:9809"
/* Destinations are kept in a bitmap per severity. */
#define LS_MAX_DESTS 64
/* A record names its source by a 16-bit index, UINT16_MAX for none
 * (record.h: LS_REC_NO_SOURCE). */
#define LS_MAX_SOURCES 65535

enum ls_dest_type { LS_DEST_DATADOG = 0, LS_DEST_HTTP };
enum ls_format { LS_FORMAT_JSON = 0, LS_FORMAT_NDJSON };
enum ls_compression {
	LS_COMPRESS_GZIP = 0,
	LS_COMPRESS_NONE,
	LS_COMPRESS_ZSTD
};
enum ls_start_at { LS_START_BEGINNING = 0, LS_START_END };
/* What a source reads: files (paths), or the systemd journal (journal.h). */
enum ls_source_type { LS_SOURCE_FILE = 0, LS_SOURCE_JOURNALD };
/* What a destination does once it holds its max_buffer_bytes. */
enum ls_on_full { LS_ON_FULL_BLOCK = 0, LS_ON_FULL_DROP_NEWEST };

struct ls_conf_source {
	char *name;
	enum ls_source_type type;
	char **paths; /* glob patterns */
	size_t npaths;
	char *service; /* may be NULL */
	char *ddsource; /* may be NULL */
	char **tags;
	size_t ntags;
	char *ddtags; /* tags joined with ',' (NULL when none) */
	const struct ls_labels *labels; /* the three above, interned */
	enum ls_severity default_severity;
	enum ls_start_at start_at;
	/* 1: a matched symbolic link is followed, to a regular file under
	 * the source's own directories; 0 (default): links are not read. */
	int follow_symlinks;
	/* 1 (default): a line's own time (timestamp.h) is sent as its
	 * timestamp; 0: the time it was read. */
	int parse_timestamp;
	char **exclude_paths; /* globs: matched paths not followed */
	size_t nexclude_paths;
	/* 1 (default): a file's lines carry filename:<base name> and
	 * dirname:<directory> tags, as the Datadog Agent sends them. */
	int file_tags;
	size_t max_line_bytes;
	int64_t partial_flush_ms; /* ship a partial last line after this idle */
	/* The start pattern as written (multiline.start, or a multi_line
	 * rule's), or NULL; compiled (pattern.h). */
	char *multiline_start;
	struct ls_pattern *multiline_re;
	int multiline_auto; /* multiline: auto (multiline.h) */
	int64_t multiline_flush_ms; /* ship a gathered entry after this idle */
	/* log_processing_rules, the top-level ones first (rules.h); NULL
	 * when none. The counters in it are written by the tailer. */
	struct ls_rules *rules;
	/* type: journald (journal.h): units (names or globs; none: every
	 * unit) and those left out, FIELD=value journal matches, and a
	 * journal directory to read instead of the system journal (NULL). */
	char **units;
	size_t nunits;
	char **exclude_units;
	size_t nexclude_units;
	char **matches;
	size_t nmatches;
	char *directory;
};

struct ls_conf_dest {
	char *name;
	enum ls_dest_type type;
	enum ls_format format; /* datadog: always JSON (array) */
	char *url;
	char *api_key; /* secret: never log; NULL when none */
	unsigned workers;
	unsigned max_connections;
	int adaptive_concurrency; /* 1: between 1 and max_connections (aimd) */
	size_t batch_max_entries;
	size_t batch_max_bytes; /* uncompressed */
	int64_t batch_max_wait_ms;
	enum ls_compression compression;
	int compression_level;
	int64_t timeout_ms;
	int64_t retry_initial_ms;
	int64_t retry_max_ms;
	int64_t retry_probe_ms; /* one-entry probe while backing off; 0: off */
	size_t max_entry_bytes; /* a message is cut to this, escaped */
	/* Entries refused alone in a row that hold the destination. */
	unsigned reject_limit;
	/* 1 unless "insecure: true", which also lets secrets (the API key,
	 * a secret header) go over http:// to a host not on loopback. */
	int tls_verify;
	enum ls_on_full on_full;
	uint64_t max_buffer_bytes; /* held by this destination; 0: global */
	char *ca_file; /* may be NULL (tls.ca_file, or ca_file) */
	/* datadog: the site the url was built from ("datadoghq.eu"), or
	 * NULL; a url given beside it wins. */
	char *site;
	/* proxy: "scheme://[user:password@]host[:port]" in protected memory
	 * (secret.h), it may carry a password; NULL: libcurl's environment
	 * variables (https_proxy, http_proxy, all_proxy, no_proxy). */
	char *proxy;
	char *no_proxy; /* hosts joined with ','; NULL: none (with proxy) */
	/* Extra request headers, each "Name: value" in protected memory
	 * (secret.h): headers, and basic_auth as an Authorization header. */
	char **headers;
	size_t nheaders;
	/* tls: a client certificate and its key (files, may be NULL), and
	 * the name SNI, the certificate check and Host use instead of the
	 * url's host (may be NULL). */
	char *cert_file;
	char *key_file;
	char *server_name;
	/* Healthy while it holds nothing to send, or its last 2xx is at
	 * most this old (status.c). */
	int64_t health_window_ms;
};

struct ls_conf {
	atomic_uint refs; /* ls_conf_ref(); the last ls_conf_free() frees */
	size_t max_watched_dirs; /* inotify watches (directories), at most */
	char *path;
	char *state_dir;
	char *hostname;
	/* hostname was set in the file (not gethostname's): a journal entry's
	 * own _HOSTNAME is sent only when it was not (journal.h). */
	int hostname_set;
	int64_t shutdown_timeout_ms;
	uint64_t max_buffer_bytes;
	int64_t scan_interval_ms; /* glob rescan */
	int64_t poll_interval_ms; /* stat poll, the fallback to inotify */
	/* Under a steady stream of writes, the least time between two reads
	 * of the files inotify names (0: read at every event). */
	int64_t read_coalesce_ms;
	/* A fresh checkpoint renamed into place (crash-safe) this often, and
	 * fsynced (power-loss-safe) this often; allow_insecure_state_dir:
	 * accept a state_dir others may write (checkpoint.h). */
	int64_t checkpoint_interval_ms;
	int64_t checkpoint_fsync_interval_ms;
	int allow_insecure_state_dir;
	int64_t close_inactive_ms; /* a rotated file idle this long */
	int64_t close_removed_after_ms; /* a deleted file, at most this long */
	size_t max_open_files;
	int64_t backlog_warn_ms; /* warn when a source's backlog is older */
	/* metrics.listen: the status endpoint's address, as written, and
	 * split into a numeric host (no brackets) and a port. NULL when
	 * off ("" in the file). */
	char *metrics_listen;
	char *metrics_host;
	unsigned metrics_port;
	struct ls_conf_source *sources;
	size_t nsources;
	struct ls_conf_dest *dests;
	size_t ndests;
	/* route[s] has bit d set when severity s goes to dests[d]. */
	uint64_t route[LS_SEV_COUNT];
	/* When a route names sources: the mask for source s (nsources: a
	 * line of no known source) and severity v at route_src[s *
	 * LS_SEV_COUNT + v], the routes without a source included; else
	 * NULL and route alone says. */
	uint64_t *route_src;
	/* The Datadog Agent's logs entries that were not made sources
	 * (datadog_agent_confd), each "file:line:col: why"; see
	 * ls_conf_report_skipped(). */
	char **skipped;
	size_t nskipped;
};

/*
 * Parses path. On success returns the config. On any error writes one
 * "path:line:col: message" line per error to errf and returns NULL.
 */
struct ls_conf *ls_conf_load(const char *path, FILE *errf);
/* The same from a string (tests); name is used in messages. */
struct ls_conf *ls_conf_load_string(
    const char *name, const char *yaml, FILE *errf);
/*
 * Reads metrics.listen alone from the file at path, through the reader of
 * ls_conf_load (its caps, ${VAR}, YAML's nulls and messages), and nothing
 * else: no key file is opened, so any user may run it (logshipd status).
 * 0 and *listen set (the caller's to free; NULL when the endpoint is off,
 * LS_METRICS_LISTEN when the file does not set it), or -1 with the errors
 * written to errf as ls_conf_load writes them.
 */
int ls_conf_load_listen(const char *path, FILE *errf, char **listen);
/* Takes a reference: a reload keeps an old config alive while parts of
 * the pipeline made from it still run. Returns c. */
struct ls_conf *ls_conf_ref(struct ls_conf *);
/* Drops a reference; the last one frees it, clearing the API keys first.
 * NULL is a no-op. */
void ls_conf_free(struct ls_conf *);
/* Non-zero when destination x of a and y of b would behave the same (a
 * reload keeps such a destination running, queues and all). */
int ls_conf_dest_same(const struct ls_conf *a, const struct ls_conf_dest *x,
    const struct ls_conf *b, const struct ls_conf_dest *y);

/* Parses "500ms", "10s", "2m", "1h", "1.5s" into milliseconds: 0 or -1. */
int ls_conf_parse_duration(const char *, int64_t *ms);
/* Parses "4MiB", "64MB", "512KiB", "1000", "4.25MB" into bytes: 0 or -1. */
int ls_conf_parse_size(const char *, uint64_t *bytes);
/* Parses "127.0.0.1:9809" or "[::1]:9809" (a numeric address and a port,
 * 1 to 65535): 0 and *host (the address without brackets, the caller's to
 * free) and *port set, or -1. */
int ls_conf_parse_listen(const char *, char **host, unsigned *port);
/*
 * The keys of one mapping of the file, NULL-terminated: "" the top level,
 * or "metrics", "sources", "multiline", "log_processing_rules",
 * "destinations", "batch", "retry", "tls", "basic_auth", "routes"; NULL
 * for another name. For checks of the documentation against the code
 * (check_conf_schema.c), and anything that lists them.
 */
const char *const *ls_conf_keys(const char *mapping);
/* The default of key name of mapping ("" the top level, "sources" or
 * "destinations") as the file would write it ("20s"), or NULL when none
 * is written there (or it depends on the destination's type). */
const char *ls_conf_key_default(const char *mapping, const char *name);
/* Lists the Datadog Agent's logs entries that were skipped, one line each:
 * to f, or to the log (a warning) when f is NULL. */
void ls_conf_report_skipped(const struct ls_conf *, FILE *f);
/* Index of the destination called name, or -1. */
int ls_conf_dest_index(const struct ls_conf *, const char *name);

#endif
