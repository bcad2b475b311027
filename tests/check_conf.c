/*
 * check_conf: the configuration file, its defaults, and every error it can
 * report.
 *
 * Errors are compared as whole text, "t.yaml:LINE:COL: message" lines
 * captured with open_memstream, because the exact position and wording are
 * what an operator sees. Each error row is a small file and the exact
 * output expected of it. An API key is set in the environment for the
 * whole run, and no test's error output may contain it.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "testutil.h"

/* The secret used everywhere: set as LS_TEST_KEY and written to files. */
/* The keys an unknown key's error lists, in the schema's order. */
#define TOP_KEYS                                                               \
	"state_dir, hostname, shutdown_timeout, max_buffer_bytes, "            \
	"scan_interval, poll_interval, read_coalesce, checkpoint_interval, "   \
	"checkpoint_fsync_interval, allow_insecure_state_dir, "                \
	"close_inactive, close_removed_after, max_open_files, "                \
	"max_watched_dirs, backlog_warn, metrics, strict_permissions, tags, "  \
	"sources, destinations, routes, log_processing_rules, include or "     \
	"datadog_agent_confd"
#define SOURCE_KEYS                                                            \
	"name, paths, service, ddsource, tags, default_severity, start_at, "   \
	"max_line_bytes, partial_flush, multiline, follow_symlinks, "          \
	"parse_timestamp, exclude_paths, file_tags, log_processing_rules, "    \
	"type, units, exclude_units, matches or directory"
#define KEY "s3cr3tK3yDoNotPrint0123456789abc"

/* A valid source and a valid http destination, three and four lines. */
#define SRC                                                                    \
	"sources:\n"                                                           \
	"  - name: app\n"                                                      \
	"    paths: [/var/log/app/*.log]\n"
#define DST                                                                    \
	"destinations:\n"                                                      \
	"  - name: out\n"                                                      \
	"    type: http\n"                                                     \
	"    url: http://127.0.0.1:8088/in\n"

/* Loads yaml as "t.yaml"; *errs gets what was written to errf. */
static struct ls_conf *
load(const char *yaml, char **errs)
{
	struct ls_conf *c;
	size_t len;
	FILE *f;

	*errs = NULL;
	ck_assert_ptr_nonnull(f = open_memstream(errs, &len));
	c = ls_conf_load_string("t.yaml", yaml, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(strstr(*errs, KEY));
	return c;
}

/* Loads yaml, which must be valid. */
static struct ls_conf *
load_ok(const char *yaml)
{
	struct ls_conf *c;
	char *errs;

	c = load(yaml, &errs);
	ck_assert_msg(c != NULL, "unexpected errors:\n%s", errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	return c;
}

/* Loads yaml, which must fail with exactly the errors want. */
static void
load_bad(const char *yaml, const char *want)
{
	struct ls_conf *c;
	char *errs;

	c = load(yaml, &errs);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(errs, want);
	free(errs);
}

/* Writes a temporary file with contents s; the caller unlinks and frees
 * its name. */
static char *
temp_file(const char *s)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	FILE *f;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	ck_assert_int_ge(asprintf(&path, "%s/check_conf.XXXXXX", dir), 0);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	ck_assert_int_eq(fputs(s, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Reads a whole file into a string. */
static char *
slurp(const char *path)
{
	char *buf;
	long len;
	FILE *f;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(len = ftell(f), 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Replaces the one occurrence of old in s by new, in a new string. */
static char *
replace(const char *s, const char *old, const char *new)
{
	const char *at;
	char *out;

	ck_assert_msg((at = strstr(s, old)) != NULL, "no \"%s\"", old);
	ck_assert_ptr_null(strstr(at + 1, old));
	ck_assert_int_ge(
	    asprintf(&out, "%.*s%s%s", (int)(at - s), s, new, at + strlen(old)),
	    0);
	return out;
}

/* Durations and sizes. */

static const struct {
	const char *s;
	int ok;
	int64_t ms;
} duration_rows[] = {
	{ "0", 1, 0 },
	{ "0ms", 1, 0 },
	{ "500ms", 1, 500 },
	{ "1s", 1, 1000 },
	{ "1.5s", 1, 1500 },
	{ "0.001s", 1, 1 },
	{ "0.0001s", 1, 0 }, /* below a millisecond, truncated */
	{ "1.0000000009s", 1, 1000 },
	{ "2m", 1, 120000 },
	{ "0.5h", 1, 1800000 },
	{ "1h", 1, 3600000 },
	{ "9223372036854775807ms", 1, INT64_MAX },
	{ "2562047788015h", 1, INT64_C(2562047788015) * 3600000 },
	{ "9223372036854775808ms", 0, 0 },
	{ "2562047788016h", 0, 0 },
	{ "99999999999999999999ms", 0, 0 },
	{ "10", 0, 0 },
	{ "1.5", 0, 0 },
	{ "", 0, 0 },
	{ "s", 0, 0 },
	{ ".5s", 0, 0 },
	{ "1.s", 0, 0 },
	{ "-1s", 0, 0 },
	{ "+1s", 0, 0 },
	{ " 1s", 0, 0 },
	{ "1 s", 0, 0 },
	{ "1s ", 0, 0 },
	{ "1S", 0, 0 },
	{ "1d", 0, 0 },
	{ "1sec", 0, 0 },
	{ "1m30s", 0, 0 },
};

START_TEST(durations)
{
	int64_t ms = -7;
	int r;

	r = ls_conf_parse_duration(duration_rows[_i].s, &ms);
	ck_assert_msg(r == (duration_rows[_i].ok ? 0 : -1),
	    "\"%s\": returned %d", duration_rows[_i].s, r);
	if (duration_rows[_i].ok)
		ck_assert_int_eq(ms, duration_rows[_i].ms);
	else
		ck_assert_int_eq(ms, -7);
}
END_TEST

static const struct {
	const char *s;
	int ok;
	uint64_t bytes;
} size_rows[] = {
	{ "0", 1, 0 },
	{ "1000", 1, 1000 },
	{ "1B", 1, 1 },
	{ "1KB", 1, 1000 },
	{ "0.5KB", 1, 500 },
	{ "4MB", 1, 4000000 },
	{ "4.25MB", 1, 4250000 },
	{ "1GB", 1, 1000000000 },
	{ "1KiB", 1, 1024 },
	{ "1.5KiB", 1, 1536 },
	{ "512KiB", 1, 524288 },
	{ "64MiB", 1, 67108864 },
	{ "2GiB", 1, UINT64_C(2147483648) },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "17179869183GiB", 1, UINT64_MAX - UINT64_C(1073741823) },
	{ "18446744073709551616", 0, 0 },
	{ "17179869184GiB", 0, 0 },
	{ "18446744073709551615B", 1, UINT64_MAX },
	{ "18446744073709551.615KB", 1, UINT64_MAX },
	{ "18446744073709551.616KB", 0, 0 },
	{ "18446744073709552KB", 0, 0 },
	{ "1.5", 0, 0 },
	{ "1.5B", 0, 0 },
	{ "1kb", 0, 0 },
	{ "1mib", 0, 0 },
	{ "1 MiB", 0, 0 },
	{ "MiB", 0, 0 },
	{ "-1", 0, 0 },
	{ "", 0, 0 },
	{ "1TB", 0, 0 },
	{ "1.KB", 0, 0 },
};

START_TEST(sizes)
{
	uint64_t n = 7;
	int r;

	r = ls_conf_parse_size(size_rows[_i].s, &n);
	ck_assert_msg(r == (size_rows[_i].ok ? 0 : -1), "\"%s\": returned %d",
	    size_rows[_i].s, r);
	if (size_rows[_i].ok)
		ck_assert_uint_eq(n, size_rows[_i].bytes);
	else
		ck_assert_uint_eq(n, 7);
}
END_TEST

static const struct {
	const char *s;
	const char *host; /* NULL: invalid */
	unsigned port;
} listen_rows[] = {
	{ "127.0.0.1:9809", "127.0.0.1", 9809 },
	{ "0.0.0.0:1", "0.0.0.0", 1 },
	{ "10.1.2.3:65535", "10.1.2.3", 65535 },
	{ "[::1]:9809", "::1", 9809 },
	{ "[::]:80", "::", 80 },
	{ "[fe80::1:2]:8080", "fe80::1:2", 8080 },
	{ "[::ffff:127.0.0.1]:9", "::ffff:127.0.0.1", 9 },
	{ "127.0.0.1", NULL, 0 },
	{ "127.0.0.1:", NULL, 0 },
	{ "127.0.0.1:0", NULL, 0 },
	{ "127.0.0.1:65536", NULL, 0 },
	{ "127.0.0.1:99999999999999999999", NULL, 0 },
	{ "127.0.0.1:-1", NULL, 0 },
	{ "127.0.0.1:80x", NULL, 0 },
	{ "127.0.0.1: 80", NULL, 0 },
	{ ":9809", NULL, 0 },
	{ "localhost:9809", NULL, 0 },
	{ "256.0.0.1:80", NULL, 0 },
	{ "::1:9809", NULL, 0 },
	{ "[::1]", NULL, 0 },
	{ "[::1]9809", NULL, 0 },
	{ "[]:80", NULL, 0 },
	{ "[127.0.0.1]:80", NULL, 0 },
	{ "", NULL, 0 },
};

START_TEST(listens)
{
	char *host = NULL;
	unsigned port = 7;
	int r;

	r = ls_conf_parse_listen(listen_rows[_i].s, &host, &port);
	if (listen_rows[_i].host == NULL) {
		ck_assert_msg(
		    r == -1, "\"%s\": returned %d", listen_rows[_i].s, r);
		ck_assert_ptr_null(host);
		ck_assert_uint_eq(port, 7);
		return;
	}
	ck_assert_msg(r == 0, "\"%s\": returned %d", listen_rows[_i].s, r);
	ck_assert_str_eq(host, listen_rows[_i].host);
	ck_assert_uint_eq(port, listen_rows[_i].port);
	free(host);
}
END_TEST

/* Valid files. */

START_TEST(round_trip)
{
	const struct ls_conf_source *s;
	const struct ls_conf_dest *d;
	struct ls_conf *c;
	char *keyfile, *yaml;

	keyfile = temp_file("\n  " KEY " \n\n");
	ck_assert_int_ge(
	    asprintf(&yaml,
		"state_dir: /tmp/state\n"
		"hostname: web-1\n"
		"shutdown_timeout: 15s\n"
		"max_buffer_bytes: 128MiB\n"
		"scan_interval: 2m\n"
		"poll_interval: 250ms\n"
		"read_coalesce: 0\n"
		"checkpoint_interval: 50ms\n"
		"close_inactive: 1m\n"
		"close_removed_after: 30s\n"
		"max_open_files: 100\n"
		"metrics: { listen: \"[::1]:9900\" }\n"
		"sources:\n"
		"  - name: checkout\n"
		"    paths: [\"/var/log/checkout/*.log\", "
		"/var/log/co/x.log]\n"
		"    service: checkout\n"
		"    ddsource: python\n"
		"    tags: [\"env:prod\", \"team:payments\"]\n"
		"    default_severity: WARN\n"
		"    start_at: end\n"
		"    max_line_bytes: 1MiB\n"
		"    partial_flush: 1.5s\n"
		"    multiline: { start: '^[0-9]{4}-', flush: 3s }\n"
		"  - name: nginx\n"
		"    paths: /var/log/nginx/access.log\n"
		"    tags: solo\n"
		"destinations:\n"
		"  - name: datadog\n"
		"    type: datadog\n"
		"    url: https://http-intake.logs.datadoghq.com/"
		"api/v2/logs\n"
		"    format: json\n"
		"    api_key_file: %s\n"
		"    workers: 4\n"
		"    max_connections: 8\n"
		"    adaptive_concurrency: true\n"
		"    batch: { max_entries: 500, max_bytes: 4.25MB, "
		"max_wait: 2s }\n"
		"    compression: zstd\n"
		"    compression_level: 19\n"
		"    timeout: 30s\n"
		"    retry: { initial: 250ms, max: 1m, probe: 0s }\n"
		"    max_entry_bytes: 512KiB\n"
		"    insecure: no\n"
		"    ca_file: /etc/ssl/ca.pem\n"
		"    on_full: drop_newest\n"
		"    max_buffer_bytes: 8MiB\n"
		"    health_window: 30s\n"
		"  - name: alerts\n"
		"    type: http\n"
		"    url: HTTP://127.0.0.1:8088/ingest\n"
		"    format: json\n"
		"    api_key_env: LS_TEST_KEY\n"
		"    workers: 64\n"
		"    batch: { max_entries: 100000, max_bytes: 1GiB }\n"
		"    max_entry_bytes: 10MB\n"
		"    insecure: yes\n"
		"routes:\n"
		"  - { severity: [emergency, alert, crit, error], "
		"to: [datadog, alerts] }\n"
		"  - { severity: [warning, notice, info], to: "
		"datadog }\n"
		"  - { severity: debug, to: [] }\n",
		keyfile),
	    0);
	c = load_ok(yaml);

	ck_assert_str_eq(c->path, "t.yaml");
	ck_assert_str_eq(c->state_dir, "/tmp/state");
	ck_assert_str_eq(c->hostname, "web-1");
	ck_assert_int_eq(c->shutdown_timeout_ms, 15000);
	ck_assert_uint_eq(c->max_buffer_bytes, 128u << 20);
	ck_assert_int_eq(c->scan_interval_ms, 120000);
	ck_assert_int_eq(c->poll_interval_ms, 250);
	ck_assert_int_eq(c->read_coalesce_ms, 0);
	ck_assert_int_eq(c->checkpoint_interval_ms, 50);
	ck_assert_int_eq(c->close_inactive_ms, 60000);
	ck_assert_int_eq(c->close_removed_after_ms, 30000);
	ck_assert_uint_eq(c->max_open_files, 100);
	ck_assert_str_eq(c->metrics_listen, "[::1]:9900");
	ck_assert_str_eq(c->metrics_host, "::1");
	ck_assert_uint_eq(c->metrics_port, 9900);

	ck_assert_uint_eq(c->nsources, 2);
	s = &c->sources[0];
	ck_assert_str_eq(s->name, "checkout");
	ck_assert_uint_eq(s->npaths, 2);
	ck_assert_str_eq(s->paths[0], "/var/log/checkout/*.log");
	ck_assert_str_eq(s->paths[1], "/var/log/co/x.log");
	ck_assert_str_eq(s->service, "checkout");
	ck_assert_str_eq(s->multiline_start, "^[0-9]{4}-");
	ck_assert_ptr_nonnull(s->multiline_re);
	ck_assert_int_eq(s->multiline_flush_ms, 3000);
	ck_assert_str_eq(s->ddsource, "python");
	ck_assert_uint_eq(s->ntags, 2);
	ck_assert_str_eq(s->tags[0], "env:prod");
	ck_assert_str_eq(s->tags[1], "team:payments");
	ck_assert_str_eq(s->ddtags, "env:prod,team:payments");
	ck_assert_int_eq(s->default_severity, LS_SEV_WARNING);
	ck_assert_int_eq(s->start_at, LS_START_END);
	ck_assert_uint_eq(s->max_line_bytes, 1u << 20);
	ck_assert_int_eq(s->partial_flush_ms, 1500);
	s = &c->sources[1];
	ck_assert_str_eq(s->name, "nginx");
	ck_assert_uint_eq(s->npaths, 1);
	ck_assert_str_eq(s->paths[0], "/var/log/nginx/access.log");
	ck_assert_ptr_null(s->service);
	ck_assert_ptr_null(s->ddsource);
	ck_assert_uint_eq(s->ntags, 1);
	ck_assert_str_eq(s->ddtags, "solo");

	ck_assert_uint_eq(c->ndests, 2);
	d = &c->dests[0];
	ck_assert_str_eq(d->name, "datadog");
	ck_assert_int_eq(d->type, LS_DEST_DATADOG);
	ck_assert_int_eq(d->format, LS_FORMAT_JSON);
	ck_assert_str_eq(
	    d->url, "https://http-intake.logs.datadoghq.com/api/v2/logs");
	ck_assert_str_eq(d->api_key, KEY);
	ck_assert_uint_eq(d->workers, 4);
	ck_assert_uint_eq(d->max_connections, 8);
	ck_assert_int_eq(d->adaptive_concurrency, 1);
	ck_assert_uint_eq(d->batch_max_entries, 500);
	ck_assert_uint_eq(d->batch_max_bytes, 4250000);
	ck_assert_int_eq(d->batch_max_wait_ms, 2000);
	ck_assert_int_eq(d->compression, LS_COMPRESS_ZSTD);
	ck_assert_int_eq(d->compression_level, 19);
	ck_assert_int_eq(d->timeout_ms, 30000);
	ck_assert_int_eq(d->retry_initial_ms, 250);
	ck_assert_int_eq(d->retry_max_ms, 60000);
	ck_assert_int_eq(d->retry_probe_ms, 0);
	ck_assert_uint_eq(d->max_entry_bytes, 512 * 1024);
	ck_assert_int_eq(d->tls_verify, 1);
	ck_assert_str_eq(d->ca_file, "/etc/ssl/ca.pem");
	ck_assert_int_eq(d->on_full, LS_ON_FULL_DROP_NEWEST);
	ck_assert_uint_eq(d->max_buffer_bytes, 8u << 20);
	ck_assert_int_eq(d->health_window_ms, 30000);
	d = &c->dests[1];
	ck_assert_str_eq(d->name, "alerts");
	ck_assert_int_eq(d->type, LS_DEST_HTTP);
	ck_assert_int_eq(d->format, LS_FORMAT_JSON);
	ck_assert_str_eq(d->url, "HTTP://127.0.0.1:8088/ingest");
	ck_assert_str_eq(d->api_key, KEY);
	ck_assert_uint_eq(d->workers, 64);
	ck_assert_uint_eq(d->max_connections, 64);
	ck_assert_uint_eq(d->batch_max_entries, 100000);
	ck_assert_uint_eq(d->batch_max_bytes, 1u << 30);
	ck_assert_uint_eq(d->max_entry_bytes, 10000000);
	ck_assert_int_eq(d->tls_verify, 0);
	ck_assert_ptr_null(d->ca_file);

	ck_assert_int_eq(ls_conf_dest_index(c, "datadog"), 0);
	ck_assert_int_eq(ls_conf_dest_index(c, "alerts"), 1);
	ck_assert_int_eq(ls_conf_dest_index(c, "nope"), -1);
	ck_assert_int_eq(ls_conf_dest_index(c, NULL), -1);
	ck_assert_int_eq(ls_conf_dest_index(NULL, "datadog"), -1);

	ck_assert_uint_eq(c->route[LS_SEV_EMERGENCY], 3);
	ck_assert_uint_eq(c->route[LS_SEV_ALERT], 3);
	ck_assert_uint_eq(c->route[LS_SEV_CRITICAL], 3);
	ck_assert_uint_eq(c->route[LS_SEV_ERROR], 3);
	ck_assert_uint_eq(c->route[LS_SEV_WARNING], 1);
	ck_assert_uint_eq(c->route[LS_SEV_NOTICE], 1);
	ck_assert_uint_eq(c->route[LS_SEV_INFO], 1);
	ck_assert_uint_eq(c->route[LS_SEV_DEBUG], 0);

	ls_conf_free(c);
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

START_TEST(defaults)
{
	const struct ls_conf_source *s;
	const struct ls_conf_dest *d;
	struct ls_conf *c;
	char host[256];
	int sev;

	c = load_ok(SRC DST "  - name: dd\n"
			    "    type: datadog\n"
			    "    url: https://intake.example\n"
			    "    api_key_env: LS_TEST_KEY\n");

#ifdef LS_STATE_DIR
	ck_assert_str_eq(c->state_dir, LS_STATE_DIR);
#else
	ck_assert_str_eq(c->state_dir, "/var/lib/logshipd");
#endif
	ck_assert_int_eq(gethostname(host, sizeof host), 0);
	host[sizeof host - 1] = '\0';
	ck_assert_str_eq(c->hostname, host);
	ck_assert_int_eq(c->shutdown_timeout_ms, 20000);
	ck_assert_uint_eq(c->max_buffer_bytes, 32u << 20);
	ck_assert_int_eq(c->scan_interval_ms, 10000);
	ck_assert_int_eq(c->poll_interval_ms, 1000);
	ck_assert_int_eq(c->read_coalesce_ms, 10);
	ck_assert_int_eq(c->checkpoint_interval_ms, 50);
	ck_assert_int_eq(c->checkpoint_fsync_interval_ms, 1000);
	ck_assert_int_eq(c->close_inactive_ms, 300000);
	ck_assert_int_eq(c->close_removed_after_ms, 300000);
	ck_assert_uint_eq(c->max_open_files, 8192);
	ck_assert_int_eq(c->backlog_warn_ms, 3600000);
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9809");
	ck_assert_str_eq(c->metrics_host, "127.0.0.1");
	ck_assert_uint_eq(c->metrics_port, 9809);

	ck_assert_uint_eq(c->nsources, 1);
	s = &c->sources[0];
	ck_assert_ptr_null(s->service);
	ck_assert_ptr_null(s->ddsource);
	ck_assert_ptr_null(s->tags);
	ck_assert_uint_eq(s->ntags, 0);
	ck_assert_ptr_null(s->ddtags);
	ck_assert_int_eq(s->default_severity, LS_SEV_INFO);
	ck_assert_int_eq(s->start_at, LS_START_BEGINNING);
	ck_assert_ptr_null(s->multiline_start);
	ck_assert_ptr_null(s->multiline_re);
	ck_assert_uint_eq(s->max_line_bytes, 256 * 1024);
	ck_assert_int_eq(s->partial_flush_ms, 5000);

	ck_assert_uint_eq(c->ndests, 2);
	d = &c->dests[0];
	ck_assert_int_eq(d->type, LS_DEST_HTTP);
	ck_assert_int_eq(d->format, LS_FORMAT_NDJSON);
	ck_assert_ptr_null(d->api_key);
	ck_assert_uint_eq(d->workers, 2);
	ck_assert_uint_eq(d->max_connections, 2);
	ck_assert_uint_eq(d->batch_max_entries, 1000);
	ck_assert_uint_eq(d->batch_max_bytes, 4250000);
	ck_assert_int_eq(d->batch_max_wait_ms, 1000);
	ck_assert_int_eq(d->compression, LS_COMPRESS_GZIP);
	ck_assert_int_eq(d->compression_level, 6);
	ck_assert_int_eq(d->timeout_ms, 10000);
	ck_assert_int_eq(d->retry_initial_ms, 500);
	ck_assert_int_eq(d->retry_max_ms, 60000);
	ck_assert_int_eq(d->retry_probe_ms, 1000);
	ck_assert_uint_eq(d->max_entry_bytes, 900000);
	ck_assert_int_eq(d->tls_verify, 1);
	ck_assert_int_eq(d->on_full, LS_ON_FULL_BLOCK);
	ck_assert_uint_eq(d->max_buffer_bytes, 0);
	ck_assert_ptr_null(d->ca_file);
	ck_assert_int_eq(d->health_window_ms, 300000);
	ck_assert_uint_eq(d->reject_limit, 10);
	d = &c->dests[1];
	ck_assert_int_eq(d->type, LS_DEST_DATADOG);
	ck_assert_int_eq(d->format, LS_FORMAT_JSON);
	ck_assert_str_eq(d->api_key, KEY);

	/* No routes: everything everywhere. */
	for (sev = 0; sev < LS_SEV_COUNT; sev++)
		ck_assert_uint_eq(c->route[sev], 3);
	ls_conf_free(c);
}
END_TEST

/* YAML's null is "not set"; quoted values of other types are taken as
 * written. */
START_TEST(nulls_and_quotes)
{
	struct ls_conf *c;

	c = load_ok("hostname: ~\n"
		    "shutdown_timeout:\n" SRC "    service: null\n"
		    "    tags:\n" DST "    workers: \"3\"\n"
		    "    insecure: \"TRUE\"\n"
		    "routes: ~\n");
	ck_assert_ptr_nonnull(c->hostname);
	ck_assert_int_eq(c->shutdown_timeout_ms, 20000);
	ck_assert_ptr_null(c->sources[0].service);
	ck_assert_uint_eq(c->sources[0].ntags, 0);
	ck_assert_uint_eq(c->dests[0].workers, 3);
	ck_assert_int_eq(c->dests[0].tls_verify, 0);
	ck_assert_uint_eq(c->route[LS_SEV_DEBUG], 1);
	ls_conf_free(c);
}
END_TEST

START_TEST(routes_all_and_overlap)
{
	struct ls_conf *c;
	int sev;

	c = load_ok(SRC DST "  - name: b\n"
			    "    type: http\n"
			    "    url: https://b.example/\n"
			    "  - name: c\n"
			    "    type: http\n"
			    "    url: https://c.example/\n"
			    "routes:\n"
			    "  - { severity: all, to: b }\n"
			    "  - { severity: [err, 7, all], to: [c, c] }\n"
			    "  - { severity: [], to: out }\n");
	for (sev = 0; sev < LS_SEV_COUNT; sev++)
		ck_assert_uint_eq(c->route[sev], 6);
	ls_conf_free(c);
}
END_TEST

/* Routes by source: rows for app, web and "no source"; a route without
 * source fills every row, one with source its sources' only; without any
 * source key, route_src stays NULL. */
START_TEST(routes_by_source)
{
	struct ls_conf *c;
	char *errs;
	int sev;

	c = load_ok("sources:\n"
		    "  - name: app\n"
		    "    paths: [/var/log/app/*.log]\n"
		    "  - name: web\n"
		    "    paths: [/var/log/web/*.log]\n" DST "  - name: b\n"
		    "    type: http\n"
		    "    url: https://b.example/\n"
		    "routes:\n"
		    "  - { severity: all, to: out }\n"
		    "  - { source: [web], severity: [error], to: b }\n");
	ck_assert_ptr_nonnull(c->route_src);
	for (sev = 0; sev < LS_SEV_COUNT; sev++) {
		ck_assert_uint_eq(c->route[sev], 1);
		ck_assert_uint_eq(c->route_src[0 * LS_SEV_COUNT + sev], 1);
		ck_assert_uint_eq(c->route_src[1 * LS_SEV_COUNT + sev],
		    sev == LS_SEV_ERROR ? 3 : 1);
		ck_assert_uint_eq(c->route_src[2 * LS_SEV_COUNT + sev], 1);
	}
	ls_conf_free(c);
	c = load_ok(SRC DST "routes:\n  - { severity: all, to: out }\n");
	ck_assert_ptr_null(c->route_src);
	ls_conf_free(c);
	ck_assert_ptr_null(
	    load(SRC DST "routes:\n"
			 "  - { source: [ghost], severity: all, to: out }\n",
		&errs));
	ck_assert_str_eq(errs,
	    "t.yaml:9:16: routes[0].source[0]: unknown source \"ghost\"\n");
	free(errs);
}
END_TEST

/* ${VAR} and ${VAR:-default} in values; $${ is a literal ${; an unset
 * variable without a default is an error at its line and column. */
START_TEST(env_vars)
{
	struct ls_conf *c;
	char *errs;

	setenv("LS_T_SVC", "shop", 1);
	setenv("LS_T_EMPTY", "", 1);
	unsetenv("LS_T_NONE");
	unsetenv("LS_T_DIR");
	c = load_ok("sources:\n"
		    "  - name: app\n"
		    "    paths: [\"${LS_T_DIR:-/var/log}/app/*.log\"]\n"
		    "    service: ${LS_T_SVC}-api\n"
		    "    tags: [\"env:${LS_T_NONE:-dev}\", \"lit:$${x}\", "
		    "\"e:${LS_T_EMPTY:-z}\"]\n" DST);
	ck_assert_str_eq(c->sources[0].paths[0], "/var/log/app/*.log");
	ck_assert_str_eq(c->sources[0].service, "shop-api");
	ck_assert_str_eq(c->sources[0].tags[0], "env:dev");
	ck_assert_str_eq(c->sources[0].tags[1], "lit:${x}");
	ck_assert_str_eq(c->sources[0].tags[2], "e:z");
	ls_conf_free(c);
	ck_assert_ptr_null(
	    load(SRC "    service: x-${LS_T_NONE}\n" DST, &errs));
	ck_assert_str_eq(errs,
	    "t.yaml:4:16: sources[0].service: environment variable LS_T_NONE "
	    "is not set (and the reference has no :-default)\n");
	free(errs);
	ck_assert_ptr_null(load(SRC "    service: \"${ x}\"\n" DST, &errs));
	ck_assert_str_eq(errs,
	    "t.yaml:4:15: sources[0].service: malformed variable reference "
	    "in \"${ x}\" (expected ${NAME} or ${NAME:-default})\n");
	free(errs);
	/* ${1}: a capture group, left to the mask. */
	c = load_ok(SRC "    service: \"a${1}b\"\n" DST);
	ck_assert_str_eq(c->sources[0].service, "a${1}b");
	ls_conf_free(c);
}
END_TEST

/* metrics.listen: "" turns the endpoint off; null keeps the default. */
START_TEST(metrics_listen_off)
{
	struct ls_conf *c;

	c = load_ok("metrics: { listen: \"\" }\n" SRC DST);
	ck_assert_ptr_null(c->metrics_listen);
	ck_assert_ptr_null(c->metrics_host);
	ck_assert_uint_eq(c->metrics_port, 0);
	ls_conf_free(c);
	c = load_ok("metrics: { listen: ~ }\n" SRC DST);
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9809");
	ls_conf_free(c);
	c = load_ok("metrics:\n" SRC DST);
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9809");
	ls_conf_free(c);
	c = load_ok("metrics: { listen: 0.0.0.0:80 }\n" SRC DST);
	ck_assert_str_eq(c->metrics_host, "0.0.0.0");
	ck_assert_uint_eq(c->metrics_port, 80);
	ls_conf_free(c);
}
END_TEST

/* Patterns people write, POSIX classes and PCRE2's own; what regcomp()
 * once had to be kept from compiles and runs under PCRE2's match limits
 * (or, too large, is refused: errors). */
START_TEST(multiline_patterns)
{
	static const char *const ok[] = {
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]",
		"^(\\[[A-Z]+\\]|[0-9]{4}-[0-9]{2})",
		"^[[:space:]]*[0-9]{1,64} ",
		"^(INFO|WARN|ERROR|DEBUG)+ [a-z]{2,30}",
		"^([0-9]{1,3}\\.){3}[0-9]{1,3}",
		"^x{1000}",
		"^\\d{4}-\\d{2}-\\d{2}[T ]",
		"(x{,9999}){,9999}",
	};
	struct ls_conf *c;
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(yaml, sizeof yaml,
		    SRC "    multiline: { start: '%s' }\n" DST, ok[i]);
		c = load_ok(yaml);
		ck_assert_ptr_nonnull(c->sources[0].multiline_re);
		ls_conf_free(c);
	}
}
END_TEST

/* Sixty-four destinations fill the bitmap without overflowing it. */
START_TEST(max_dests)
{
	struct ls_conf *c;
	char *yaml, *more;
	int i;

	yaml = strdup(SRC "destinations:\n");
	for (i = 0; i < LS_MAX_DESTS; i++) {
		ck_assert_int_ge(asprintf(&more,
				     "%s  - { name: d%d, type: http, url: "
				     "\"http://h/\" }\n",
				     yaml, i),
		    0);
		free(yaml);
		yaml = more;
	}
	c = load_ok(yaml);
	ck_assert_uint_eq(c->ndests, 64);
	ck_assert_uint_eq(c->route[LS_SEV_INFO], UINT64_MAX);
	ck_assert_int_eq(ls_conf_dest_index(c, "d63"), 63);
	ls_conf_free(c);

	ck_assert_int_ge(asprintf(&more,
			     "%s  - { name: d64, type: http, url: "
			     "\"http://h/\" }\n",
			     yaml),
	    0);
	load_bad(
	    more, "t.yaml:5:3: destinations: 65 is too many (at most 64)\n");
	free(more);
	free(yaml);
}
END_TEST

/* The example shipped in etc/ stays valid. */
START_TEST(example_file)
{
	const char *top = getenv("TOP_SRCDIR");
	char *path, *text, *yaml, *keyfile, *line;
	struct ls_conf *c;

	if (top == NULL || *top == '\0')
		top = ".";
	ck_assert_int_ge(asprintf(&path, "%s/etc/logshipd.yaml", top), 0);
	text = slurp(path);
	keyfile = temp_file(KEY "\n");
	ck_assert_int_ge(asprintf(&line, "api_key_file: %s", keyfile), 0);
	yaml = replace(text, "api_key_file: /etc/logshipd/dd_api_key", line);
	free(line);
	free(text);
	c = load_ok(yaml);
	ck_assert_uint_eq(c->nsources, 1);
	ck_assert_str_eq(c->sources[0].paths[0], "/var/log/myapp/*.log");
	ck_assert_uint_eq(c->ndests, 1);
	ck_assert_int_eq(c->dests[0].type, LS_DEST_DATADOG);
	ck_assert_str_eq(c->dests[0].api_key, KEY);
	ck_assert_uint_eq(c->route[LS_SEV_DEBUG], 1);
	ls_conf_free(c);
	unlink(keyfile);
	free(keyfile);
	free(yaml);
	free(path);
}
END_TEST

/* Writes text to dir/name. */
static void
put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Loads dir/main.yaml; *errs gets its errors. */
static struct ls_conf *
load_dir(const char *dir, char **errs)
{
	struct ls_conf *c;
	char path[512];
	size_t len;
	FILE *f;

	snprintf(path, sizeof path, "%s/main.yaml", dir);
	ck_assert_ptr_nonnull(f = open_memstream(errs, &len));
	c = ls_conf_load(path, f);
	fclose(f);
	return c;
}

/*
 * include: files and globs, relative to the including file: their
 * sources, destinations and routes are merged in order (a route may name
 * another file's destination); the top-level tags apply to them; a
 * duplicate name is an error naming both files and lines; an included
 * file may hold nothing else; a pattern that matches nothing is fine.
 */
START_TEST(includes)
{
	struct ls_conf *c;
	char dir[] = "/tmp/check_conf_inc.XXXXXX", sub[600], *errs, *want;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/conf.d", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	put_file(dir, "main.yaml",
	    "tags: [\"team:core\"]\n"
	    "include: [\"conf.d/*.yaml\", \"empty.d/*.yaml\"]\n" SRC DST);
	put_file(sub, "a.yaml",
	    "sources:\n"
	    "  - name: web\n"
	    "    paths: [/var/log/web/*.log]\n"
	    "destinations:\n"
	    "  - name: alerts\n"
	    "    type: http\n"
	    "    url: http://127.0.0.1:8089/in\n");
	put_file(sub, "b.yaml",
	    "routes:\n"
	    "  - { severity: all, to: [out] }\n"
	    "  - { severity: error, to: [alerts] }\n");
	c = load_dir(dir, &errs);
	ck_assert_str_eq(errs, "");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nsources, 2);
	ck_assert_str_eq(c->sources[1].name, "web");
	ck_assert_str_eq(c->sources[1].ddtags, "team:core");
	ck_assert_uint_eq(c->ndests, 2);
	ck_assert_uint_eq(c->route[LS_SEV_ERROR], 3);
	ck_assert_uint_eq(c->route[LS_SEV_INFO], 1);
	ls_conf_free(c);
	free(errs);

	/* A duplicate, and a key an included file may not hold. */
	put_file(sub, "c.yaml",
	    "state_dir: /tmp\n"
	    "sources:\n"
	    "  - name: app\n"
	    "    paths: [/var/log/x/*.log]\n");
	ck_assert_ptr_null(load_dir(dir, &errs));
	ck_assert_int_ge(asprintf(&want,
			     "%s/conf.d/c.yaml:1:1: state_dir: not allowed in "
			     "an included file (only sources, destinations "
			     "and routes are)\n"
			     "%s/conf.d/c.yaml:3:11: sources[0].name: "
			     "duplicate source name \"app\" (first at "
			     "%s/main.yaml:4)\n",
			     dir, dir, dir),
	    0);
	ck_assert_str_eq(errs, want);
	free(want);
	free(errs);
	snprintf(sub, sizeof sub, "rm -rf %s", dir);
	ck_assert_int_eq(system(sub), 0);
}
END_TEST

START_TEST(load_file)
{
	struct ls_conf *c;
	char *path, *errs, *want;
	size_t len;
	FILE *f;

	path = temp_file(SRC DST);
	ck_assert_ptr_nonnull(f = open_memstream(&errs, &len));
	c = ls_conf_load(path, f);
	fclose(f);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(errs, "");
	ck_assert_str_eq(c->path, path);
	ls_conf_free(c);
	free(errs);

	/* Errors name the file as it was given. */
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs("bogus: 1\n", f);
	fclose(f);
	ck_assert_ptr_nonnull(f = open_memstream(&errs, &len));
	ck_assert_ptr_null(ls_conf_load(path, f));
	fclose(f);
	ck_assert_int_ge(
	    asprintf(&want,
		"%s:8:1: unknown key \"bogus\" (valid keys: " TOP_KEYS ")\n",
		path),
	    0);
	ck_assert_str_eq(errs, want);
	free(want);
	free(errs);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_ptr_nonnull(f = open_memstream(&errs, &len));
	ck_assert_ptr_null(ls_conf_load(path, f));
	fclose(f);
	ck_assert_int_ge(
	    asprintf(&want, "%s: No such file or directory\n", path), 0);
	ck_assert_str_eq(errs, want);
	free(want);
	free(errs);
	free(path);

	ck_assert_ptr_nonnull(f = open_memstream(&errs, &len));
	ck_assert_ptr_null(ls_conf_load("/", f));
	fclose(f);
	ck_assert_str_eq(errs, "/: Is a directory\n");
	free(errs);

	/* errf may be NULL. */
	ck_assert_ptr_null(ls_conf_load_string("t.yaml", "x: 1\n", NULL));
	ls_conf_free(NULL);
}
END_TEST

/* Errors, one kind per row. */

static const struct {
	const char *what;
	const char *yaml;
	const char *want;
} error_rows[] = {
	{ "unknown top-level key", SRC DST "sorces: []\n",
	    "t.yaml:8:1: unknown key \"sorces\" (valid keys: " TOP_KEYS ")\n" },
	{ "unknown source key", SRC "    nmae: x\n" DST,
	    "t.yaml:4:5: unknown key \"nmae\" in sources[0] (valid "
	    "keys: " SOURCE_KEYS ")\n" },
	{ "bad multiline pattern",
	    SRC "    multiline: { start: '([a-z' }\n" DST,
	    "t.yaml:4:25: sources[0].multiline.start: \"([a-z\" is not a "
	    "valid PCRE2 pattern: missing terminating ] for character class "
	    "at offset 5\n" },
	/* PCRE2 refuses a quantifier after a possessive one, as regcomp()
	 * once had to be kept from it (found by fuzz_conf). */
	{ "stacked quantifiers",
	    SRC "    multiline: { start: '^[0-9]{4}++++++-' }\n" DST,
	    "t.yaml:4:25: sources[0].multiline.start: \"^[0-9]{4}++++++-\" "
	    "is not a valid PCRE2 pattern: quantifier does not follow a "
	    "repeatable item at offset 10\n" },
	{ "nested repetitions",
	    SRC "    multiline: { start: '((a{100}){100}){100}' }\n" DST,
	    "t.yaml:4:25: sources[0].multiline.start: "
	    "\"((a{100}){100}){100}\" is not a valid PCRE2 pattern: regular "
	    "expression is too large at offset 20\n" },
	{ "multiline without start", SRC "    multiline: { flush: 1s }\n" DST,
	    "t.yaml:4:16: sources[0].multiline: missing required key "
	    "\"start\"\n" },
	{ "unknown destination key, value not echoed",
	    SRC DST "    api_key: " KEY "\n",
	    "t.yaml:8:5: unknown key \"api_key\" in destinations[0] (valid "
	    "keys: name, type, url, format, api_key_file, api_key_env, "
	    "workers, max_connections, batch, compression, "
	    "compression_level, timeout, retry, max_entry_bytes, insecure, "
	    "ca_file, on_full, max_buffer_bytes, health_window, "
	    "adaptive_concurrency, reject_limit, site, proxy, no_proxy, "
	    "headers, basic_auth or tls)\n" },
	{ "unknown batch, retry and route keys",
	    SRC DST "    batch: { max_entry: 5 }\n"
		    "    retry: { min: 1s }\n"
		    "routes:\n"
		    "  - { severity: all, to: out, via: x }\n",
	    "t.yaml:8:14: unknown key \"max_entry\" in "
	    "destinations[0].batch (valid keys: max_entries, max_bytes or "
	    "max_wait)\n"
	    "t.yaml:9:14: unknown key \"min\" in destinations[0].retry "
	    "(valid keys: initial, max or probe)\n"
	    "t.yaml:11:31: unknown key \"via\" in routes[0] (valid keys: "
	    "severity, to or source)\n" },
	{ "long and odd keys are cut and cleaned",
	    SRC DST "    \"a\\tb0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789\": 1\n",
	    "t.yaml:8:5: unknown key \"a?b0123456789012345678901234567890"
	    "123456789012345678901234567890...\" in destinations[0] (valid "
	    "keys: name, type, url, format, api_key_file, api_key_env, "
	    "workers, "
	    "max_connections, batch, compression, compression_level, "
	    "timeout, retry, max_entry_bytes, insecure, ca_file, on_full, "
	    "max_buffer_bytes, health_window, adaptive_concurrency, "
	    "reject_limit, site, proxy, no_proxy, headers, basic_auth or "
	    "tls)\n" },
	{ "a key that is no string", SRC DST "[a]: 1\n",
	    "t.yaml:8:1: expected a string as a key\n" },
	{ "top level is no mapping", "- a\n- b\n",
	    "t.yaml:1:1: top level: expected a mapping\n" },
	{ "sources is no sequence", "sources: /var/log\n" DST,
	    "t.yaml:1:10: sources: expected a sequence\n" },
	{ "a source is no mapping", "sources: [app]\n" DST,
	    "t.yaml:1:11: sources[0]: expected a mapping\n" },
	{ "bad metrics.listen", "metrics:\n  listen: localhost:9809\n" SRC DST,
	    "t.yaml:2:11: metrics.listen: bad address \"localhost:9809\" "
	    "(expected an IPv4 address and a port such as 127.0.0.1:9809, or "
	    "an IPv6 address in brackets and a port such as [::1]:9809, or "
	    "\"\" for none)\n" },
	{ "metrics.listen without a port",
	    "metrics: { listen: \"127.0.0.1\" }\n" SRC DST,
	    "t.yaml:1:20: metrics.listen: bad address \"127.0.0.1\" (expected "
	    "an IPv4 address and a port such as 127.0.0.1:9809, or an IPv6 "
	    "address in brackets and a port such as [::1]:9809, or \"\" for "
	    "none)\n" },
	{ "metrics.listen port out of range",
	    "metrics: { listen: \"[::1]:65536\" }\n" SRC DST,
	    "t.yaml:1:20: metrics.listen: bad address \"[::1]:65536\" "
	    "(expected an IPv4 address and a port such as 127.0.0.1:9809, or "
	    "an IPv6 address in brackets and a port such as [::1]:9809, or "
	    "\"\" for none)\n" },
	{ "metrics is no mapping, listen is no string",
	    "metrics: 127.0.0.1:9809\n" SRC DST,
	    "t.yaml:1:10: metrics: expected a mapping\n" },
	{ "metrics.listen is no string, unknown metrics key",
	    "metrics:\n  listen: [a]\n  port: 9809\n" SRC DST,
	    "t.yaml:2:11: metrics.listen: expected a string\n"
	    "t.yaml:3:3: unknown key \"port\" in metrics (valid keys: "
	    "listen)\n" },
	{ "bad health_window",
	    SRC DST "    health_window: 0\n"
		    "  - { name: b, type: http, url: http://b/, "
		    "health_window: soon }\n",
	    "t.yaml:8:20: destinations[0].health_window: 0 is too short (the "
	    "least is 1ms)\n"
	    "t.yaml:9:59: destinations[1].health_window: bad duration "
	    "\"soon\" (expected a number and a unit ms, s, m or h, such as "
	    "500ms, 1.5s or 2m)\n" },
	{ "bad on_full", SRC DST "    on_full: drop_oldest\n",
	    "t.yaml:8:14: destinations[0].on_full: bad value "
	    "\"drop_oldest\" (expected block or drop_newest)\n" },
	{ "a name is no string", SRC DST "    ca_file: [a, b]\n",
	    "t.yaml:8:14: destinations[0].ca_file: expected a string\n" },
	{ "batch is no mapping", SRC DST "    batch: 100\n",
	    "t.yaml:8:12: destinations[0].batch: expected a mapping\n" },
	{ "paths is a mapping",
	    "sources:\n  - name: a\n    paths: {a: b}\n" DST,
	    "t.yaml:3:12: sources[0].paths: expected a string or a sequence "
	    "of strings\n" },
	{ "a path is no string",
	    "sources:\n  - name: a\n    paths: [/a, [b]]\n" DST,
	    "t.yaml:3:17: sources[0].paths[1]: expected a string\n" },
	{ "duplicate key", SRC DST "    type: datadog\n",
	    "t.yaml:8:5: duplicate key \"type\" in destinations[0] (first "
	    "at line 6)\n" },
	{ "duplicate top-level key", SRC DST SRC,
	    "t.yaml:8:1: duplicate key \"sources\" (first at line 1)\n" },
	{ "bad durations",
	    "shutdown_timeout: 20\nscan_interval: fast\n"
	    "poll_interval: -1s\n" SRC DST,
	    "t.yaml:1:19: shutdown_timeout: bad duration \"20\" (expected a "
	    "number and a unit ms, s, m or h, such as 500ms, 1.5s or 2m)\n"
	    "t.yaml:2:16: scan_interval: bad duration \"fast\" (expected a "
	    "number and a unit ms, s, m or h, such as 500ms, 1.5s or 2m)\n"
	    "t.yaml:3:16: poll_interval: bad duration \"-1s\" (expected a "
	    "number and a unit ms, s, m or h, such as 500ms, 1.5s or 2m)\n" },
	{ "bad size", "max_buffer_bytes: 64M\n" SRC DST,
	    "t.yaml:1:19: max_buffer_bytes: bad size \"64M\" (expected a "
	    "number of bytes, or a number and a unit B, KB, MB, GB, KiB, MiB "
	    "or GiB, such as 4MiB or 4.25MB)\n" },
	{ "size overflow", "max_buffer_bytes: 17179869184GiB\n" SRC DST,
	    "t.yaml:1:19: max_buffer_bytes: bad size \"17179869184GiB\" "
	    "(expected a number of bytes, or a number and a unit B, KB, MB, "
	    "GB, KiB, MiB or GiB, such as 4MiB or 4.25MB)\n" },
	{ "bad integers",
	    SRC DST "    workers: two\n    max_connections: 1.5\n"
		    "    compression_level: 99999999999999999999\n",
	    "t.yaml:8:14: destinations[0].workers: bad integer \"two\" "
	    "(expected a whole number)\n"
	    "t.yaml:9:22: destinations[0].max_connections: bad integer "
	    "\"1.5\" (expected a whole number)\n"
	    "t.yaml:10:24: destinations[0].compression_level: bad integer "
	    "\"99999999999999999999\" (expected a whole number)\n" },
	{ "bad boolean", SRC DST "    insecure: maybe\n",
	    "t.yaml:8:15: destinations[0].insecure: bad boolean \"maybe\" "
	    "(expected true, false, yes or no)\n" },
	{ "bad enums",
	    SRC "    start_at: middle\n"
		"destinations:\n"
		"  - name: out\n"
		"    type: kafka\n"
		"    url: http://x/\n"
		"    format: xml\n"
		"    compression: lz4\n",
	    "t.yaml:4:15: sources[0].start_at: bad value \"middle\" (expected "
	    "beginning or end)\n"
	    "t.yaml:7:11: destinations[0].type: bad value \"kafka\" "
	    "(expected datadog or http)\n"
	    "t.yaml:9:13: destinations[0].format: bad value \"xml\" (expected "
	    "json or ndjson)\n"
	    "t.yaml:10:18: destinations[0].compression: bad value \"lz4\" "
	    "(expected gzip, none or zstd)\n" },
	{ "bad default severity", SRC "    default_severity: loud\n" DST,
	    "t.yaml:4:23: sources[0].default_severity: unknown severity "
	    "\"loud\" (expected emergency, alert, critical, error, warning, "
	    "notice, info or debug)\n" },
	{ "top-level ranges",
	    "shutdown_timeout: 0\nmax_buffer_bytes: 1000KiB\n"
	    "scan_interval: 99ms\npoll_interval: 0.009s\n" SRC DST,
	    "t.yaml:1:19: shutdown_timeout: 0 is too short (the least is "
	    "1ms)\n"
	    "t.yaml:2:19: max_buffer_bytes: 1000KiB is too small (the least "
	    "is 1MiB)\n"
	    "t.yaml:3:16: scan_interval: 99ms is too short (the least is "
	    "100ms)\n"
	    "t.yaml:4:16: poll_interval: 0.009s is too short (the least is "
	    "10ms)\n" },
	{ "source ranges",
	    SRC "    max_line_bytes: 1023\n    partial_flush: 0s\n"
		"  - name: b\n    paths: /b\n    max_line_bytes: 64.1MiB\n" DST,
	    "t.yaml:4:21: sources[0].max_line_bytes: 1023 is out of range "
	    "(1KiB to 64MiB)\n"
	    "t.yaml:5:20: sources[0].partial_flush: 0s is too short (the "
	    "least is 1ms)\n"
	    "t.yaml:8:21: sources[1].max_line_bytes: 64.1MiB is out of range "
	    "(1KiB to 64MiB)\n" },
	{ "destination ranges",
	    SRC DST "    workers: 0\n    max_connections: 257\n"
		    "    compression_level: 13\n    timeout: 0\n"
		    "    max_entry_bytes: 0\n"
		    "    batch: { max_entries: 100001, max_bytes: 0, "
		    "max_wait: 0 }\n",
	    "t.yaml:8:14: destinations[0].workers: 0 is out of range (1 to "
	    "64)\n"
	    "t.yaml:9:22: destinations[0].max_connections: 257 is out of "
	    "range (1 to 256)\n"
	    "t.yaml:10:24: destinations[0].compression_level: 13 is above "
	    "12, the most for gzip\n"
	    "t.yaml:11:14: destinations[0].timeout: 0 is too short (the "
	    "least is 1ms)\n"
	    "t.yaml:12:22: destinations[0].max_entry_bytes: 0 is too small "
	    "(the least is 1)\n"
	    "t.yaml:13:27: destinations[0].batch.max_entries: 100001 is out "
	    "of range (1 to 100000)\n"
	    "t.yaml:13:46: destinations[0].batch.max_bytes: 0 is too small "
	    "(the least is 1)\n"
	    "t.yaml:13:59: destinations[0].batch.max_wait: 0 is too short "
	    "(the least is 1ms)\n" },
	{ "negative integer", SRC DST "    workers: -1\n",
	    "t.yaml:8:14: destinations[0].workers: -1 is out of range (1 to "
	    "64)\n" },
	{ "datadog limits",
	    SRC "destinations:\n"
		"  - name: dd\n"
		"    type: datadog\n"
		"    url: https://intake.example/\n"
		"    api_key_env: LS_TEST_KEY\n"
		"    format: ndjson\n"
		"    max_entry_bytes: 1000001\n"
		"    batch: { max_entries: 1001, max_bytes: 5000001 }\n",
	    "t.yaml:9:13: destinations[0].format: a datadog destination sends "
	    "only json\n"
	    "t.yaml:10:22: destinations[0].max_entry_bytes: 1000001 is out of "
	    "range (1 to 1000000)\n"
	    "t.yaml:11:27: destinations[0].batch.max_entries: 1001 is out of "
	    "range (1 to 1000)\n"
	    "t.yaml:11:44: destinations[0].batch.max_bytes: 5000001 is out "
	    "of range (1 to 5000000)\n" },
	{ "durations past a year",
	    SRC DST "    retry: { initial: 1s, max: 8761h }\n"
		    "    timeout: 9223372036854775807ms\n",
	    "t.yaml:8:32: destinations[0].retry.max: 8761h is too long (the "
	    "most is 8760h)\n"
	    "t.yaml:9:14: destinations[0].timeout: 9223372036854775807ms is "
	    "too long (the most is 8760h)\n" },
	{ "retry max below initial", SRC DST "    retry: { initial: 2m }\n",
	    "t.yaml:8:23: destinations[0].retry: max (60000ms) must not be "
	    "less than initial (120000ms)\n" },
	{ "retry max below initial, both given",
	    SRC DST "    retry:\n      initial: 2s\n      max: 1s\n",
	    "t.yaml:10:12: destinations[0].retry: max (1000ms) must not be "
	    "less than initial (2000ms)\n" },
	{ "missing required keys",
	    "sources:\n  - service: x\ndestinations:\n  - format: json\n"
	    "routes:\n  - {}\n",
	    "t.yaml:2:5: sources[0]: missing required key \"name\"\n"
	    "t.yaml:2:5: sources[0]: missing required key \"paths\"\n"
	    "t.yaml:4:5: destinations[0]: missing required key \"name\"\n"
	    "t.yaml:4:5: destinations[0]: missing required key \"type\"\n"
	    "t.yaml:4:5: destinations[0]: missing required key \"url\"\n"
	    "t.yaml:6:5: routes[0]: missing required key \"severity\"\n"
	    "t.yaml:6:5: routes[0]: missing required key \"to\"\n" },
	{ "required keys with no value",
	    "sources:\n  - name:\n    paths: ~\n" DST,
	    "t.yaml:2:10: sources[0].name: needs a value\n"
	    "t.yaml:3:12: sources[0].paths: needs a value\n" },
	{ "empty strings",
	    "state_dir: \"\"\nsources:\n  - name: ''\n    paths: [\"\"]\n"
	    "    tags: [\"\"]\n" DST,
	    "t.yaml:1:12: state_dir: must not be empty\n"
	    "t.yaml:3:11: sources[0].name: must not be empty\n"
	    "t.yaml:4:13: sources[0].paths[0]: \"\" is not an absolute path "
	    "(it must start with /)\n"
	    "t.yaml:5:12: sources[0].tags[0]: must not be empty\n" },
	{ "no sources and no destinations", "hostname: h\n",
	    "t.yaml:1:1: missing required key \"sources\"\n"
	    "t.yaml:1:1: missing required key \"destinations\"\n" },
	{ "empty sources and destinations", "sources: []\ndestinations: []\n",
	    "t.yaml:1:10: sources: at least one is required\n"
	    "t.yaml:2:15: destinations: at least one is required\n" },
	{ "null sources", "sources:\n" DST,
	    "t.yaml:1:9: sources: needs a value\n" },
	{ "duplicate names",
	    SRC "  - name: app\n    paths: /b\n" DST
		"  - name: out\n    type: http\n    url: http://b/\n",
	    "t.yaml:4:11: sources[1].name: duplicate source name \"app\" "
	    "(first at line 2)\n"
	    "t.yaml:10:11: destinations[1].name: duplicate destination name "
	    "\"out\" (first at line 7)\n" },
	{ "routes with unknown names",
	    SRC DST "routes:\n"
		    "  - severity: [error, loud]\n"
		    "    to: [out, nowhere]\n"
		    "  - { severity: wat, to: elsewhere }\n",
	    "t.yaml:9:23: routes[0].severity[1]: unknown severity \"loud\" "
	    "(expected all, emergency, alert, critical, error, warning, "
	    "notice, info or debug)\n"
	    "t.yaml:10:15: routes[0].to[1]: unknown destination \"nowhere\" "
	    "(destinations: out)\n"
	    "t.yaml:11:17: routes[1].severity: unknown severity \"wat\" "
	    "(expected all, emergency, alert, critical, error, warning, "
	    "notice, info or debug)\n"
	    "t.yaml:11:26: routes[1].to: unknown destination \"elsewhere\" "
	    "(destinations: out)\n" },
	{ "routes is no sequence", SRC DST "routes: {severity: all}\n",
	    "t.yaml:8:9: routes: expected a sequence\n" },
	{ "datadog without a key",
	    SRC "destinations:\n  - name: dd\n    type: datadog\n"
		"    url: https://x/\n",
	    "t.yaml:5:5: destinations[0]: a datadog destination needs "
	    "api_key_file or api_key_env\n" },
	{ "both key sources",
	    SRC DST "    api_key_file: /nonexistent\n"
		    "    api_key_env: LS_TEST_KEY\n",
	    "t.yaml:9:18: destinations[0].api_key_env: set only one of "
	    "api_key_file and api_key_env\n" },
	{ "key file missing, path not echoed",
	    SRC DST "    api_key_file: /nonexistent/" KEY "\n",
	    "t.yaml:8:19: destinations[0].api_key_file: cannot open the "
	    "file: No such file or directory\n" },
	{ "key file is a directory", SRC DST "    api_key_file: /\n",
	    "t.yaml:8:19: destinations[0].api_key_file: not a regular file\n" },
	{ "key file is a device", SRC DST "    api_key_file: /dev/null\n",
	    "t.yaml:8:19: destinations[0].api_key_file: not a regular file\n" },
	{ "key env unset, name not echoed",
	    SRC DST "    api_key_env: " KEY "\n",
	    "t.yaml:8:18: destinations[0].api_key_env: the environment "
	    "variable is not set\n" },
	{ "key env empty", SRC DST "    api_key_env: LS_TEST_EMPTY\n",
	    "t.yaml:8:18: destinations[0].api_key_env: the environment "
	    "variable is empty\n" },
	{ "key env with a space", SRC DST "    api_key_env: LS_TEST_SPACE\n",
	    "t.yaml:8:18: destinations[0].api_key_env: the key in the "
	    "environment variable holds spaces or control characters\n" },
	{ "bad urls",
	    SRC DST "  - { name: b, type: http, url: ftp://x/ }\n"
		    "  - { name: c, type: http, url: \"https://\" }\n"
		    "  - { name: d, type: http, url: \"http://?k=" KEY "\" }\n"
		    "  - { name: e, type: http, url: \"http:/x\" }\n",
	    "t.yaml:8:33: destinations[1].url: must be an http:// or "
	    "https:// URL\n"
	    "t.yaml:9:33: destinations[2].url: must be an http:// or "
	    "https:// URL\n"
	    "t.yaml:11:33: destinations[4].url: must be an http:// or "
	    "https:// URL\n" },
	{ "relative and missing paths",
	    "sources:\n  - name: a\n    paths: [var/log/*.log, /ok]\n"
	    "  - name: b\n    paths: []\n" DST,
	    "t.yaml:3:13: sources[0].paths[0]: \"var/log/*.log\" is not an "
	    "absolute path (it must start with /)\n"
	    "t.yaml:5:12: sources[1].paths: must name at least one path\n" },
	{ "tag with a comma", SRC "    tags: [\"a:b,c:d\", ok]\n" DST,
	    "t.yaml:4:12: sources[0].tags[0]: tag \"a:b,c:d\" must not "
	    "contain a comma\n" },
	{ "NUL byte", SRC DST "    ca_file: \"/a\\0b\"\n",
	    "t.yaml:8:14: destinations[0].ca_file: contains a NUL byte\n" },
	{ "syntax error", SRC DST "  - name: [x\n",
	    "t.yaml:9:1: did not find expected ',' or ']' (while parsing a "
	    "flow sequence at line 8)\n" },
	{ "syntax error, indentation", "sources:\n  - name: a\n   paths: x\n",
	    "t.yaml:3:4: did not find expected '-' indicator (while parsing "
	    "a block collection at line 2)\n" },
	{ "undefined alias", SRC DST "    ca_file: *nope\n",
	    "t.yaml:8:14: found undefined alias\n" },
	{ "invalid UTF-8", SRC DST "    ca_file: \"\xff\"\n",
	    "t.yaml:8:15: invalid leading UTF-8 octet (byte 146)\n" },
	{ "invalid UTF-8 after UTF-8", "hostname: \"h\xc3\xa9\xc3\xa9\xff\"\n",
	    "t.yaml:1:15: invalid leading UTF-8 octet (byte 16)\n" },
	{ "empty file", "",
	    "t.yaml:1:1: the configuration is empty (sources "
	    "and destinations are required)\n" },
	{ "only comments", "# nothing\n\n",
	    "t.yaml:1:1: the configuration is empty (sources and destinations "
	    "are required)\n" },
	{ "two documents", SRC DST "---\nhostname: h\n",
	    "t.yaml:9:1: only one YAML document is allowed\n" },
	{ "self-referencing alias", "sources: &s [*s]\n" DST,
	    "t.yaml:1:10: sources[0]: expected a mapping\n" },
};

START_TEST(errors) { load_bad(error_rows[_i].yaml, error_rows[_i].want); }
END_TEST

/* Many errors in one file all come out, sorted by position. */
START_TEST(many_errors)
{
	load_bad("hostname: [h]\n"
		 "shutdown_timeout: soon\n"
		 "sources:\n"
		 "  - name: a\n"
		 "    paths: relative\n"
		 "    colour: blue\n"
		 "  - name: a\n"
		 "destinations:\n"
		 "  - name: dd\n"
		 "    type: datadog\n"
		 "    url: www.example.com\n"
		 "    workers: 100\n"
		 "    batch: { max_wait: forever }\n"
		 "routes:\n"
		 "  - { severity: [info, chatty], to: [dd, ghost] }\n"
		 "extra: 1\n",
	    "t.yaml:1:11: hostname: expected a string\n"
	    "t.yaml:2:19: shutdown_timeout: bad duration \"soon\" (expected "
	    "a number and a unit ms, s, m or h, such as 500ms, 1.5s or 2m)\n"
	    "t.yaml:5:12: sources[0].paths: \"relative\" is not an absolute "
	    "path (it must start with /)\n"
	    "t.yaml:6:5: unknown key \"colour\" in sources[0] (valid "
	    "keys: " SOURCE_KEYS ")\n"
	    "t.yaml:7:5: sources[1]: missing required key \"paths\"\n"
	    "t.yaml:7:11: sources[1].name: duplicate source name \"a\" "
	    "(first at line 4)\n"
	    "t.yaml:9:5: destinations[0]: a datadog destination needs "
	    "api_key_file or api_key_env\n"
	    "t.yaml:11:10: destinations[0].url: must be an http:// or "
	    "https:// URL\n"
	    "t.yaml:12:14: destinations[0].workers: 100 is out of range (1 "
	    "to 64)\n"
	    "t.yaml:13:24: destinations[0].batch.max_wait: bad duration "
	    "\"forever\" (expected a number and a unit ms, s, m or h, such as "
	    "500ms, 1.5s or 2m)\n"
	    "t.yaml:15:24: routes[0].severity[1]: unknown severity \"chatty\" "
	    "(expected all, emergency, alert, critical, error, warning, "
	    "notice, info or debug)\n"
	    "t.yaml:15:42: routes[0].to[1]: unknown destination \"ghost\" "
	    "(destinations: dd)\n"
	    "t.yaml:16:1: unknown key \"extra\" (valid keys: " TOP_KEYS ")\n");
}
END_TEST

/*
 * Caps: what a file may hold before libyaml builds its tree. Without them
 * 40,000 levels of "{a: " took seconds (quadratic in libyaml's scanner)
 * and 30,000 sources a second (names compared pairwise). Each case must
 * also answer within a time bound, LS_TIMEOUT_SCALE times 1 s.
 */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
budget_ms(void)
{
	const char *e = getenv("LS_TIMEOUT_SCALE");
	long scale = e != NULL ? strtol(e, NULL, 10) : 1;

	return 1000 * (scale > 0 ? scale : 1);
}

/* n copies of unit, then tail. */
static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(ul * n + tl + 1);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + n * ul, tail, tl + 1);
	return s;
}

/* Loads yaml, which must fail with exactly want, within the budget. */
static void
load_bad_fast(const char *yaml, const char *want)
{
	int64_t t0 = mono_ms(), took;

	load_bad(yaml, want);
	took = mono_ms() - t0;
	ck_assert_msg(took < budget_ms(), "took %" PRId64 " ms", took);
}

/* 128,000 levels of "{a: " (500 KB): refused at the 33rd level. */
START_TEST(caps_depth_flow)
{
	char *y = repeat("{a: ", 128000, "");

	load_bad_fast(y, "t.yaml:1:129: nested more than 32 levels deep\n");
	free(y);
}
END_TEST

/* Flow sequences and block sequences count alike. */
START_TEST(caps_depth_seq)
{
	char *y = repeat("[", 40000, "");

	load_bad_fast(y, "t.yaml:1:33: nested more than 32 levels deep\n");
	free(y);
	y = repeat("- ", 40000, "x\n");
	load_bad_fast(y, "t.yaml:1:65: nested more than 32 levels deep\n");
	free(y);
}
END_TEST

/* 32 levels are allowed: only the schema's own errors come out. */
START_TEST(caps_depth_limit_ok)
{
	char *y = repeat("[", 31, ""), *errs;
	size_t n = strlen(y);
	char *z = malloc(n * 2 + 32);

	ck_assert_ptr_nonnull(z);
	strcpy(z, "x: ");
	strcat(z, y);
	memset(z + 3 + n, ']', n);
	strcpy(z + 3 + 2 * n, "\n");
	ck_assert_ptr_null(load(z, &errs));
	ck_assert_ptr_null(strstr(errs, "nested"));
	ck_assert_ptr_nonnull(strstr(errs, "unknown key \"x\""));
	free(errs);
	free(z);
	free(y);
}
END_TEST

/* A file over 1 MiB is refused before it is parsed. */
START_TEST(caps_size)
{
	char *y = repeat("# a comment of 32 bytes .......\n", 32768, "x");

	load_bad_fast(
	    y, "t.yaml:1:1: the file is larger than the limit of 1024 KiB\n");
	free(y);
}
END_TEST

/* 32,000 sources, just under the cap, each named differently but the
 * last: checked in well under a second, the duplicate found. */
START_TEST(caps_many_sources)
{
	size_t cap = 1024 * 1024, len = 0, i;
	char *z = malloc(cap), *errs;
	int64_t t0, took;

	ck_assert_ptr_nonnull(z);
	len += (size_t)snprintf(z, cap, "%s", DST "sources:\n");
	for (i = 0; i < 32000 && len < cap - 64; i++)
		len += (size_t)snprintf(
		    z + len, cap - len, "  - {name: s%zu, paths: [/a]}\n", i);
	len += (size_t)snprintf(
	    z + len, cap - len, "  - {name: s17, paths: [/a]}\n");
	ck_assert_uint_lt(len, cap - 1);
	t0 = mono_ms();
	ck_assert_ptr_null(load(z, &errs));
	took = mono_ms() - t0;
	ck_assert_msg(took < budget_ms(), "took %" PRId64 " ms", took);
	ck_assert_str_eq(errs,
	    "t.yaml:32006:12: sources[32000].name: duplicate source name "
	    "\"s17\" (first at line 23)\n");
	free(errs);
	free(z);
}
END_TEST

/* Secrets. */

START_TEST(key_from_file_trimmed)
{
	struct ls_conf *c;
	char *keyfile, *yaml;

	keyfile = temp_file(" \t" KEY "\r\n");
	ck_assert_int_ge(asprintf(&yaml,
			     SRC "destinations:\n"
				 "  - { name: dd, type: datadog, url: "
				 "\"https://x/\", api_key_file: \"%s\" }\n",
			     keyfile),
	    0);
	c = load_ok(yaml);
	ck_assert_str_eq(c->dests[0].api_key, KEY);
	ls_conf_free(c);
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

START_TEST(key_file_bad_contents)
{
	static const char *const contents[]
	    = { "", " \n\t\n", "two " KEY "\n", KEY "\x01" };
	static const char *const want[] = {
		"t.yaml:7:19: destinations[0].api_key_file: the file "
		"is empty\n",
		"t.yaml:7:19: destinations[0].api_key_file: the file "
		"is empty\n",
		"t.yaml:7:19: destinations[0].api_key_file: the key in the "
		"file holds spaces or control characters\n",
		"t.yaml:7:19: destinations[0].api_key_file: the key in the "
		"file holds spaces or control characters\n",
	};
	char *keyfile, *yaml;

	keyfile = temp_file(contents[_i]);
	ck_assert_int_ge(asprintf(&yaml,
			     SRC "destinations:\n"
				 "  - name: dd\n"
				 "    type: datadog\n"
				 "    api_key_file: %s\n"
				 "    url: https://x/\n",
			     keyfile),
	    0);
	load_bad(yaml, want[_i]);
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

/* A FIFO is refused without blocking the load (O_NONBLOCK, then not a
 * regular file), and a link to a good key file is not followed. */
START_TEST(key_file_fifo_or_link)
{
	char *keyfile, *fifo, *link, *yaml;

	keyfile = temp_file(KEY "\n");
	ck_assert_int_ge(asprintf(&fifo, "%s.fifo", keyfile), 0);
	ck_assert_int_ge(asprintf(&link, "%s.link", keyfile), 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(symlink(keyfile, link), 0);
	ck_assert_int_ge(
	    asprintf(&yaml, SRC DST "    api_key_file: %s\n", fifo), 0);
	load_bad(yaml,
	    "t.yaml:8:19: destinations[0].api_key_file: not a regular file\n");
	free(yaml);
	ck_assert_int_ge(
	    asprintf(&yaml, SRC DST "    api_key_file: %s\n", link), 0);
	load_bad(yaml,
	    "t.yaml:8:19: destinations[0].api_key_file: cannot open the "
	    "file: a symbolic link, not followed (name the file itself)\n");
	free(yaml);
	unlink(fifo);
	unlink(link);
	unlink(keyfile);
	free(fifo);
	free(link);
	free(keyfile);
}
END_TEST

START_TEST(key_file_too_large)
{
	char big[5000], *keyfile, *yaml;

	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	keyfile = temp_file(big);
	ck_assert_int_ge(
	    asprintf(&yaml, SRC DST "    api_key_file: %s\n", keyfile), 0);
	load_bad(yaml,
	    "t.yaml:8:19: destinations[0].api_key_file: the file is larger "
	    "than 4096 bytes, too large for an API key\n");
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

START_TEST(key_file_unreadable)
{
	char *keyfile, *yaml;

	/* root reads anything: the mode cannot make it fail. */
	if (geteuid() == 0)
		return;
	keyfile = temp_file(KEY);
	ck_assert_int_eq(chmod(keyfile, 0), 0);
	ck_assert_int_ge(
	    asprintf(&yaml, SRC DST "    api_key_file: %s\n", keyfile), 0);
	load_bad(yaml,
	    "t.yaml:8:19: destinations[0].api_key_file: cannot open the file: "
	    "Permission denied\n");
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

/* Loads yaml, which must be valid, and returns what it logged. */
static char *
load_logged(const char *yaml)
{
	struct ls_conf *c;
	char *logfile, *logged;
	int fd;

	logfile = temp_file("");
	ck_assert_int_ge(fd = open(logfile, O_WRONLY | O_APPEND), 0);
	log_init(1, LOG_DAEMON);
	log_setratelimit(0, LOG_RATELIMIT_WINDOW_MS);
	log_setfd(fd);
	c = load_ok(yaml);
	log_setfd(STDERR_FILENO);
	close(fd);
	ls_conf_free(c);
	logged = slurp(logfile);
	unlink(logfile);
	free(logfile);
	ck_assert_ptr_null(strstr(logged, KEY));
	return logged;
}

/*
 * A key file others can read: a warning naming the file and its mode by
 * default, an error with strict_permissions: true. Group-readable is fine
 * either way (the unit gives the logshipd group the key).
 */
START_TEST(key_file_mode)
{
	static const struct {
		mode_t mode;
		int strict;
		int warned;
		int ok;
	} rows[] = {
		{ 0644, 0, 1, 1 },
		{ 0604, 0, 1, 1 },
		{ 0640, 0, 0, 1 },
		{ 0600, 0, 0, 1 },
		{ 0644, 1, 0, 0 },
		{ 0444, 1, 0, 0 },
		{ 0640, 1, 0, 1 },
		{ 0600, 1, 0, 1 },
	};
	char *keyfile, *yaml, *logged, *want, mode[16];

	keyfile = temp_file(KEY "\n");
	ck_assert_int_eq(chmod(keyfile, rows[_i].mode), 0);
	ck_assert_int_ge(
	    asprintf(&yaml, "%s" SRC DST "    api_key_file: %s\n",
		rows[_i].strict ? "strict_permissions: true\n" : "", keyfile),
	    0);
	snprintf(mode, sizeof mode, "(mode %04o)", (unsigned)rows[_i].mode);
	if (rows[_i].ok) {
		logged = load_logged(yaml);
		if (rows[_i].warned) {
			ck_assert_msg(strstr(logged, keyfile) != NULL
				&& strstr(logged, mode) != NULL
				&& strstr(logged, "readable by everyone")
				    != NULL,
			    "logged: %s", logged);
		} else
			ck_assert_msg(strstr(logged, "readable") == NULL,
			    "logged: %s", logged);
		free(logged);
	} else {
		ck_assert_int_ge(
		    asprintf(&want,
			"t.yaml:9:19: destinations[0].api_key_file: "
			"%s is readable by everyone %s, and "
			"strict_permissions is on: chmod o-r it\n",
			keyfile, mode),
		    0);
		load_bad(yaml, want);
		free(want);
	}
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

/* Turning TLS verification off is never silent. */
START_TEST(insecure_warns)
{
	char *logged;

	logged = load_logged(SRC DST "    insecure: true\n");
	ck_assert_msg(strstr(logged,
			  "destinations[0] (out): insecure: true: "
			  "TLS certificates are not verified")
		!= NULL,
	    "logged: %s", logged);
	free(logged);
	logged = load_logged(SRC DST "    insecure: false\n");
	ck_assert_str_eq(logged, "");
	free(logged);
}
END_TEST

/* zstd to a Datadog host other than agent-http-intake.logs.* loads, with
 * a warning; each codec has its own default level; reject_limit. */
#define DDZ(host)                                                              \
	"destinations:\n"                                                      \
	"  - name: dd\n"                                                       \
	"    type: datadog\n"                                                  \
	"    url: https://" host "/api/v2/logs\n"                              \
	"    api_key_env: LS_TEST_KEY3\n"                                      \
	"    compression: zstd\n"
START_TEST(zstd_hosts_and_levels)
{
	struct ls_conf *c;
	char *logged;

	ck_assert_int_eq(setenv("LS_TEST_KEY3", KEY, 1), 0);
	logged = load_logged(SRC DDZ("http-intake.logs.datadoghq.eu"));
	ck_assert_msg(strstr(logged,
			  "destinations[0] (dd): compression: zstd: only "
			  "agent-http-intake.logs.<site> is known to take it")
		!= NULL,
	    "logged: %s", logged);
	free(logged);
	logged = load_logged(SRC DDZ("agent-http-intake.logs.datadoghq.com"));
	ck_assert_str_eq(logged, "");
	free(logged);
	logged = load_logged(
	    SRC DDZ("AGENT-HTTP-INTAKE.LOGS.us5.datadoghq.com:443"));
	ck_assert_str_eq(logged, "");
	free(logged);
	/* An http destination is not warned about. */
	logged = load_logged(SRC DST "    compression: zstd\n");
	ck_assert_str_eq(logged, "");
	free(logged);

	c = load_ok(SRC DDZ("agent-http-intake.logs.datadoghq.com"));
	ck_assert_int_eq(c->dests[0].compression_level, 1);
	ck_assert_uint_eq(c->dests[0].reject_limit, 10);
	ls_conf_free(c);
	c = load_ok(SRC DDZ(
	    "agent-http-intake.logs.datadoghq.com") "    compression_level: "
						    "3\n    reject_limit: 1\n");
	ck_assert_int_eq(c->dests[0].compression_level, 3);
	ck_assert_uint_eq(c->dests[0].reject_limit, 1);
	ls_conf_free(c);
	c = load_ok(SRC DST "    compression: gzip\n");
	ck_assert_int_eq(c->dests[0].compression_level, 6);
	ls_conf_free(c);
}
END_TEST

/* An http destination may carry a key too; it is read the same way. */
START_TEST(key_from_env_http)
{
	struct ls_conf *c;

	ck_assert_int_eq(setenv("LS_TEST_KEY2", "\n" KEY "  ", 1), 0);
	c = load_ok(SRC DST "    api_key_env: LS_TEST_KEY2\n");
	ck_assert_str_eq(c->dests[0].api_key, KEY);
	ls_conf_free(c);
}
END_TEST

/* With a valid key and errors elsewhere, the key is still not printed:
 * load() checks every output for it. */
START_TEST(key_not_in_errors)
{
	char *keyfile, *yaml;

	keyfile = temp_file(KEY);
	ck_assert_int_ge(asprintf(&yaml,
			     SRC "destinations:\n"
				 "  - name: dd\n"
				 "    type: datadog\n"
				 "    url: https://x/\n"
				 "    api_key_file: %s\n"
				 "    format: ndjson\n"
				 "  - name: e\n"
				 "    type: datadog\n"
				 "    url: htps://x/?dd-api-key=" KEY "\n"
				 "    api_key_env: LS_TEST_KEY\n",
			     keyfile),
	    0);
	load_bad(yaml,
	    "t.yaml:9:13: destinations[0].format: a datadog destination sends "
	    "only json\n"
	    "t.yaml:12:10: destinations[1].url: must be an http:// or "
	    "https:// URL\n");
	unlink(keyfile);
	free(keyfile);
	free(yaml);
}
END_TEST

/* A datadog destination with a key (LS_TEST_KEY), without a url: the
 * rest of its keys follow. */
#define DDN                                                                    \
	"destinations:\n"                                                      \
	"  - name: dd\n"                                                       \
	"    type: datadog\n"                                                  \
	"    api_key_env: LS_TEST_KEY\n"

/* Every Datadog site builds its intake's url (Datadog's "Send logs" page,
 * v2 tab), written out here rather than from the table in conf.c. */
static const struct {
	const char *site;
	const char *url;
} site_rows[] = {
	{ "datadoghq.com",
	    "https://http-intake.logs.datadoghq.com/api/v2/logs" },
	{ "us3.datadoghq.com",
	    "https://http-intake.logs.us3.datadoghq.com/api/v2/logs" },
	{ "us5.datadoghq.com",
	    "https://http-intake.logs.us5.datadoghq.com/api/v2/logs" },
	{ "datadoghq.eu", "https://http-intake.logs.datadoghq.eu/api/v2/logs" },
	{ "ap1.datadoghq.com",
	    "https://http-intake.logs.ap1.datadoghq.com/api/v2/logs" },
	{ "ap2.datadoghq.com",
	    "https://http-intake.logs.ap2.datadoghq.com/api/v2/logs" },
	{ "uk1.datadoghq.com",
	    "https://http-intake.logs.uk1.datadoghq.com/api/v2/logs" },
	{ "ddog-gov.com", "https://http-intake.logs.ddog-gov.com/api/v2/logs" },
	{ "us2.ddog-gov.com",
	    "https://http-intake.logs.us2.ddog-gov.com/api/v2/logs" },
};

START_TEST(sites)
{
	struct ls_conf *c;
	char *yaml, *logged;

	ck_assert_int_ge(
	    asprintf(&yaml, SRC DDN "    site: %s\n", site_rows[_i].site), 0);
	c = load_ok(yaml);
	ck_assert_str_eq(c->dests[0].url, site_rows[_i].url);
	ck_assert_str_eq(c->dests[0].site, site_rows[_i].site);
	ls_conf_free(c);
	/* Said at load (logshipd -n -v shows it). */
	log_setverbose(1);
	logged = load_logged(yaml);
	log_setverbose(0);
	ck_assert_ptr_nonnull(strstr(logged, site_rows[_i].url));
	free(logged);
	free(yaml);
}
END_TEST

/* url still wins over site. */
START_TEST(url_overrides_site)
{
	struct ls_conf *c;

	c = load_ok(
	    SRC DDN "    site: datadoghq.eu\n"
		    "    url: https://relay.example:8443/api/v2/logs\n");
	ck_assert_str_eq(
	    c->dests[0].url, "https://relay.example:8443/api/v2/logs");
	ck_assert_str_eq(c->dests[0].site, "datadoghq.eu");
	ls_conf_free(c);
}
END_TEST

/*
 * Secrets in clear text: the API key or a secret header over http:// to a
 * host not on loopback, or through a proxy not on loopback, is refused
 * unless insecure: true (then warned about). Loopback is fine; so is an
 * http destination with nothing secret.
 */
START_TEST(plaintext_secrets)
{
	struct ls_conf *c;
	char *logged;

	load_bad(SRC DDN "    url: http://intake.example/api/v2/logs\n",
	    "t.yaml:8:10: destinations[0].url: http:// to a host not on "
	    "loopback would send the API key in clear text: use https://, "
	    "or set insecure: true\n");
	load_bad(SRC DDN "    url: http://127.0.0.1:1/api/v2/logs\n"
			 "    proxy: http://proxy.example:3128\n",
	    "t.yaml:8:10: destinations[0].url: http:// through a proxy not "
	    "on loopback would send the API key in clear text: use "
	    "https://, or set insecure: true\n");
	load_bad(SRC DST "    headers: { X-Token: { env: LS_TEST_KEY } }\n"
			 "  - name: b\n"
			 "    type: http\n"
			 "    url: http://10.1.2.3/in\n"
			 "    headers: { Authorization: Bearer abc }\n",
	    "t.yaml:11:10: destinations[1].url: http:// to a host not on "
	    "loopback would send the secret headers in clear text: use "
	    "https://, or set insecure: true\n");
	logged = load_logged(SRC DDN "    url: http://intake.example/x\n"
				     "    insecure: true\n");
	ck_assert_msg(strstr(logged,
			  "destinations[0] (dd): insecure: true: the API key "
			  "goes in clear text over http:// to a host not on "
			  "loopback")
		!= NULL,
	    "logged: %s", logged);
	free(logged);
	c = load_ok(SRC DDN "    url: http://localhost:1/x\n"
			    "  - name: b\n"
			    "    type: datadog\n"
			    "    url: http://[::1]:1/x\n"
			    "    api_key_env: LS_TEST_KEY\n"
			    "  - name: c\n"
			    "    type: http\n"
			    "    url: http://10.1.2.3/in\n"
			    "    headers: { X-Scope-OrgID: tenant1 }\n"
			    "  - name: e\n"
			    "    type: datadog\n"
			    "    url: http://127.0.0.2:1/x\n"
			    "    api_key_env: LS_TEST_KEY\n"
			    "    proxy: socks5h://127.0.0.1:1080\n");
	ck_assert_uint_eq(c->ndests, 4);
	ck_assert_str_eq(c->dests[2].headers[0], "X-Scope-OrgID: tenant1");
	ck_assert_str_eq(c->dests[3].proxy, "socks5h://127.0.0.1:1080");
	ck_assert_ptr_null(c->dests[3].no_proxy);
	ls_conf_free(c);
}
END_TEST

/* headers: literal, from a file, from the environment; basic_auth. */
START_TEST(headers_and_basic_auth)
{
	struct ls_conf *c;
	char *file, *pwfile, *yaml;

	file = temp_file("  Bearer " KEY "\n");
	pwfile = temp_file("pa ss\n");
	ck_assert_int_eq(setenv("LS_TEST_HDR", "v " KEY, 1), 0);
	ck_assert_int_ge(
	    asprintf(&yaml,
		SRC DST "    headers:\n"
			"      Authorization: { file: %s }\n"
			"      X-Env: { env: LS_TEST_HDR }\n"
			"      X-Plain: \"a b\"\n"
			"  - name: b\n"
			"    type: http\n"
			"    url: https://x.example/in\n"
			"    basic_auth: { user: u, password_file: "
			"%s }\n",
		file, pwfile),
	    0);
	c = load_ok(yaml);
	ck_assert_uint_eq(c->dests[0].nheaders, 3);
	ck_assert_str_eq(c->dests[0].headers[0], "Authorization: Bearer " KEY);
	ck_assert_str_eq(c->dests[0].headers[1], "X-Env: v " KEY);
	ck_assert_str_eq(c->dests[0].headers[2], "X-Plain: a b");
	ck_assert_uint_eq(c->dests[1].nheaders, 1);
	/* base64("u:pa ss") */
	ck_assert_str_eq(
	    c->dests[1].headers[0], "Authorization: Basic dTpwYSBzcw==");
	ck_assert_int_eq(
	    ls_conf_dest_same(c, &c->dests[0], c, &c->dests[0]), 1);
	ls_conf_free(c);
	free(yaml);
	unlink(file);
	unlink(pwfile);
	free(file);
	free(pwfile);
}
END_TEST

/* proxy, no_proxy and tls files. */
START_TEST(proxy_and_tls)
{
	struct ls_conf *c;
	char *pem, *yaml;

	pem = temp_file("not checked here\n");
	ck_assert_int_ge(
	    asprintf(&yaml,
		SRC DST "    proxy: http://u:" KEY "@127.0.0.1:3128\n"
			"    no_proxy: [localhost, 10.0.0.0/8]\n"
			"    tls: { ca_file: %s, cert_file: %s, "
			"key_file: %s }\n"
			"  - name: b\n"
			"    type: http\n"
			"    url: https://10.0.0.1:8443/in\n"
			"    no_proxy: \"*\"\n"
			"    tls: { server_name: in.example }\n",
		pem, pem, pem),
	    0);
	c = load_ok(yaml);
	ck_assert_str_eq(c->dests[0].proxy, "http://u:" KEY "@127.0.0.1:3128");
	ck_assert_str_eq(c->dests[0].no_proxy, "localhost,10.0.0.0/8");
	ck_assert_str_eq(c->dests[0].ca_file, pem);
	ck_assert_str_eq(c->dests[0].cert_file, pem);
	ck_assert_str_eq(c->dests[0].key_file, pem);
	ck_assert_ptr_null(c->dests[1].proxy);
	ck_assert_str_eq(c->dests[1].no_proxy, "*");
	ck_assert_str_eq(c->dests[1].server_name, "in.example");
	ls_conf_free(c);
	free(yaml);
	unlink(pem);
	free(pem);
}
END_TEST

static const struct {
	const char *name;
	const char *yaml;
	const char *want;
} conn_error_rows[] = {
	{ "unknown site", SRC DDN "    site: datadoghq.co\n",
	    "t.yaml:8:11: destinations[0].site: unknown Datadog site "
	    "\"datadoghq.co\" (expected datadoghq.com, us3.datadoghq.com, "
	    "us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, "
	    "ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com or "
	    "us2.ddog-gov.com)\n" },
	{ "app. is the web site, not the site",
	    SRC DDN "    site: app.datadoghq.com\n",
	    "t.yaml:8:11: destinations[0].site: unknown Datadog site "
	    "\"app.datadoghq.com\" (expected datadoghq.com, us3.datadoghq.com, "
	    "us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, "
	    "ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com or "
	    "us2.ddog-gov.com)\n" },
	{ "site on an http destination", SRC DST "    site: datadoghq.com\n",
	    "t.yaml:8:11: destinations[0].site: only a datadog destination "
	    "has a site (an http destination needs url)\n" },
	{ "datadog with neither site nor url", SRC DDN,
	    "t.yaml:5:5: destinations[0]: a datadog destination needs site or "
	    "url\n" },
	{ "proxy scheme, not echoed",
	    SRC DST "    proxy: ftp://u:" KEY "@p:21\n",
	    "t.yaml:8:12: destinations[0].proxy: must be an http://, "
	    "https://, socks5:// or socks5h:// URL with a host\n" },
	{ "no_proxy item", SRC DST "    no_proxy: [\"a, b\", \"\"]\n",
	    "t.yaml:8:16: destinations[0].no_proxy[0]: \"a, b\" is not a "
	    "host (no spaces or commas: give a list)\n"
	    "t.yaml:8:24: destinations[0].no_proxy[1]: \"\" is not a host "
	    "(no spaces or commas: give a list)\n" },
	{ "headers",
	    SRC DST "    headers:\n"
		    "      Content-Type: text/plain\n"
		    "      dd-api-key: x\n"
		    "      \"bad name\": x\n"
		    "      X-A: a\n"
		    "      x-a: b\n"
		    "      X-B: { file: /nonexistent/x }\n"
		    "      X-C: { env: LS_TEST_EMPTY }\n"
		    "      X-D: { file: /x, env: Y }\n"
		    "      X-E: [1]\n"
		    "      X-F: \"a\\nb\"\n",
	    "t.yaml:9:7: destinations[0].headers.Content-Type: logshipd sets "
	    "Content-Type itself\n"
	    "t.yaml:10:7: destinations[0].headers.dd-api-key: logshipd sets "
	    "DD-API-KEY itself (use api_key_file or api_key_env)\n"
	    "t.yaml:11:7: destinations[0].headers: \"bad name\" is not a "
	    "header name\n"
	    "t.yaml:13:7: destinations[0].headers.x-a: duplicate header "
	    "(names are not case sensitive)\n"
	    "t.yaml:14:20: destinations[0].headers.X-B.file: cannot open the "
	    "file: No such file or directory\n"
	    "t.yaml:15:19: destinations[0].headers.X-C.env: the environment "
	    "variable is empty\n"
	    "t.yaml:16:12: destinations[0].headers.X-D: set one of file and "
	    "env\n"
	    "t.yaml:17:12: destinations[0].headers.X-E: expected a string, "
	    "{file: PATH} or {env: NAME}\n"
	    "t.yaml:18:12: destinations[0].headers.X-F: the value in the "
	    "value holds control or non-ASCII characters\n" },
	{ "basic_auth",
	    SRC DST "    basic_auth: { user: \"a:b\", password_env: X }\n"
		    "  - name: b\n"
		    "    type: http\n"
		    "    url: https://x/\n"
		    "    basic_auth: { user: a }\n"
		    "  - name: c\n"
		    "    type: http\n"
		    "    url: https://x/\n"
		    "    headers: { authorization: x }\n"
		    "    basic_auth: { user: a, password_env: LS_TEST_KEY }\n",
	    "t.yaml:8:25: destinations[0].basic_auth.user: must not be empty "
	    "or hold a colon\n"
	    "t.yaml:12:17: destinations[1].basic_auth: set one of "
	    "password_file and password_env\n"
	    "t.yaml:17:17: destinations[2].basic_auth: headers already set "
	    "Authorization\n" },
	{ "tls",
	    SRC DST "    ca_file: /a\n"
		    "    tls:\n"
		    "      ca_file: /b\n"
		    "      key_file: /dev/null\n"
		    "      cert_file: /nonexistent/c.pem\n"
		    "      server_name: \"a b\"\n"
		    "  - name: b\n"
		    "    type: http\n"
		    "    url: http://127.0.0.1/\n"
		    "    tls: { server_name: x.example }\n",
	    "t.yaml:10:16: destinations[0].tls.ca_file: ca_file is set twice "
	    "(here and in destinations[0])\n"
	    "t.yaml:12:18: destinations[0].tls.cert_file: cannot open the "
	    "file: No such file or directory\n"
	    "t.yaml:13:20: destinations[0].tls.server_name: not a host name "
	    "(letters, digits, '.' and '-')\n"
	    "t.yaml:17:25: destinations[1].tls.server_name: needs an https:// "
	    "url\n" },
	{ "tls key_file alone", SRC DST "    tls: { key_file: /dev/null }\n",
	    "t.yaml:8:22: destinations[0].tls: key_file needs cert_file\n" },
};

START_TEST(conn_errors)
{
	load_bad(conn_error_rows[_i].yaml, conn_error_rows[_i].want);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("conf");

	tc = tcase_create("units");
	tcase_add_loop_test(
	    tc, durations, 0, sizeof duration_rows / sizeof duration_rows[0]);
	tcase_add_loop_test(
	    tc, sizes, 0, sizeof size_rows / sizeof size_rows[0]);
	tcase_add_loop_test(
	    tc, listens, 0, sizeof listen_rows / sizeof listen_rows[0]);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, nulls_and_quotes);
	tcase_add_test(tc, routes_all_and_overlap);
	tcase_add_test(tc, routes_by_source);
	tcase_add_test(tc, env_vars);
	tcase_add_test(tc, includes);
	tcase_add_test(tc, metrics_listen_off);
	tcase_add_test(tc, max_dests);
	tcase_add_test(tc, multiline_patterns);
	tcase_add_test(tc, example_file);
	tcase_add_test(tc, load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(
	    tc, errors, 0, sizeof error_rows / sizeof error_rows[0]);
	tcase_add_test(tc, many_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, caps_depth_flow);
	tcase_add_test(tc, caps_depth_seq);
	tcase_add_test(tc, caps_depth_limit_ok);
	tcase_add_test(tc, caps_size);
	tcase_add_test(tc, caps_many_sources);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_test(tc, key_from_file_trimmed);
	tcase_add_loop_test(tc, key_file_bad_contents, 0, 4);
	tcase_add_test(tc, key_file_too_large);
	tcase_add_test(tc, key_file_fifo_or_link);
	tcase_add_test(tc, key_file_unreadable);
	tcase_add_loop_test(tc, key_file_mode, 0, 8);
	tcase_add_test(tc, insecure_warns);
	tcase_add_test(tc, zstd_hosts_and_levels);
	tcase_add_test(tc, key_from_env_http);
	tcase_add_test(tc, key_not_in_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("connectivity");
	tcase_add_loop_test(
	    tc, sites, 0, sizeof site_rows / sizeof site_rows[0]);
	tcase_add_test(tc, url_overrides_site);
	tcase_add_test(tc, plaintext_secrets);
	tcase_add_test(tc, headers_and_basic_auth);
	tcase_add_test(tc, proxy_and_tls);
	tcase_add_loop_test(tc, conn_errors, 0,
	    sizeof conn_error_rows / sizeof conn_error_rows[0]);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	/* Set before any test, so forked and unforked runs see the same. */
	if (setenv("LS_TEST_KEY", KEY, 1) == -1
	    || setenv("LS_TEST_EMPTY", "", 1) == -1
	    || setenv("LS_TEST_SPACE", "abc def", 1) == -1)
		return EXIT_FAILURE;
	return ls_test_run(conf_suite());
}
