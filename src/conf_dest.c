/*
 * conf_dest: the destinations of the configuration: type, url or Datadog
 * site, batch, retry, compression, tls, proxy, and whether secrets may go
 * in clear text (the secrets themselves are read by conf_secret.c). Not
 * echoed: url (it may carry a key in its query) and proxy (a password).
 * Also what a reload compares (ls_conf_dest_same).
 *
 * Tested in check_conf.c and tests/e2e/site_proxy.sh, headers_auth.sh.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "compress.h"
#include "conf_impl.h"
#include "xmalloc.h"

/*
 * A destination's keys, in the order messages list them: S(id, name,
 * type, field, default, min, max, names, phase) a scalar read from the
 * table (conf_table.c) in that phase of parse_dest, N(id, name) a key
 * parsed by code (with its default, when that depends on the type).
 */
#define CONF_DEST_KEYS(S, N)                                                   \
	N(D_NAME, "name")                                                      \
	N(D_TYPE, "type")                                                      \
	N(D_URL, "url")                                                        \
	N(D_FORMAT, "format")                                                  \
	N(D_API_KEY_FILE, "api_key_file")                                      \
	N(D_API_KEY_ENV, "api_key_env")                                        \
	S(D_WORKERS, "workers", UINT, workers, "2", 1, 64, NULL, 1)            \
	N(D_MAX_CONNECTIONS, "max_connections")                                \
	N(D_BATCH, "batch")                                                    \
	S(D_COMPRESSION, "compression", ENUM, compression, "gzip", 0, 0,       \
	    compression_names, 3)                                              \
	N(D_COMPRESSION_LEVEL, "compression_level")                            \
	S(D_TIMEOUT, "timeout", DURATION, timeout_ms, "10s", 1, 0, NULL, 5)    \
	N(D_RETRY, "retry")                                                    \
	N(D_MAX_ENTRY_BYTES, "max_entry_bytes")                                \
	N(D_INSECURE, "insecure")                                              \
	S(D_CA_FILE, "ca_file", STR, ca_file, NULL, 0, 0, NULL, 6)             \
	S(D_ON_FULL, "on_full", ENUM, on_full, "block", 0, 0, on_full_names,   \
	    7)                                                                 \
	S(D_MAX_BUFFER_BYTES, "max_buffer_bytes", SIZE, max_buffer_bytes,      \
	    NULL, MiB, UINT64_MAX, NULL, 7)                                    \
	S(D_HEALTH_WINDOW, "health_window", DURATION, health_window_ms, "5m",  \
	    1, 0, NULL, 7)                                                     \
	S(D_ADAPTIVE, "adaptive_concurrency", BOOL, adaptive_concurrency,      \
	    "false", 0, 0, NULL, 2)                                            \
	S(D_REJECT_LIMIT, "reject_limit", UINT, reject_limit, "10", 1,         \
	    1000000, NULL, 4)                                                  \
	N(D_SITE, "site")                                                      \
	N(D_PROXY, "proxy")                                                    \
	N(D_NO_PROXY, "no_proxy")                                              \
	N(D_HEADERS, "headers")                                                \
	N(D_BASIC_AUTH, "basic_auth")                                          \
	N(D_TLS, "tls")

#define ENUM_S(id, name, type, field, def, min, max, names, phase) id,
#define ENUM_N(id, name) id,
enum { CONF_DEST_KEYS(ENUM_S, ENUM_N) D_NKEYS };
#undef ENUM_S
#undef ENUM_N
#define NAME_S(id, name, type, field, def, min, max, names, phase) [id] = name,
#define NAME_N(id, name) [id] = name,
const char *const conf_dest_keys[]
    = { CONF_DEST_KEYS(NAME_S, NAME_N)[D_NKEYS] = NULL };
#undef NAME_S
#undef NAME_N
CONF_KEYS_FIT(D_NKEYS, "a destination");
/* And no more room than that: CONF_MAXKEYS is the largest table's count,
 * this one's, not a guess. */
_Static_assert(D_NKEYS == CONF_MAXKEYS,
    "CONF_MAXKEYS must be the destination's key count, the most of any "
    "mapping");

enum { TL_CA_FILE, TL_CERT_FILE, TL_KEY_FILE, TL_SERVER_NAME, TL_NKEYS };
const char *const conf_tls_keys[] = {
	[TL_CA_FILE] = "ca_file",
	[TL_CERT_FILE] = "cert_file",
	[TL_KEY_FILE] = "key_file",
	[TL_SERVER_NAME] = "server_name",
	[TL_NKEYS] = NULL,
};
CONF_KEYS_FIT(TL_NKEYS, "tls");

enum { B_MAX_ENTRIES, B_MAX_BYTES, B_MAX_WAIT, B_NKEYS };
const char *const conf_batch_keys[] = {
	[B_MAX_ENTRIES] = "max_entries",
	[B_MAX_BYTES] = "max_bytes",
	[B_MAX_WAIT] = "max_wait",
	[B_NKEYS] = NULL,
};
CONF_KEYS_FIT(B_NKEYS, "batch");

enum { RT_INITIAL, RT_MAX, RT_PROBE, RT_NKEYS };
const char *const conf_retry_keys[] = {
	[RT_INITIAL] = "initial",
	[RT_MAX] = "max",
	[RT_PROBE] = "probe",
	[RT_NKEYS] = NULL,
};
CONF_KEYS_FIT(RT_NKEYS, "retry");

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

#define ROW_S(id, name, type, field, def, min, max, names, phase)              \
	[id] = { CONF_##type, CONF_FIELD(struct ls_conf_dest, type, field),    \
		def, min, max, phase, names },
#define ROW_N(id, name) [id] = { CONF_NODE, 0, NULL, 0, 0, 0, NULL },
const struct conf_key conf_dest_table[] = { CONF_DEST_KEYS(ROW_S, ROW_N) };
#undef ROW_S
#undef ROW_N

static void
parse_batch(struct parse *p, struct sect *ds, struct ls_conf_dest *d, int dd)
{
	struct sect s;
	yaml_node_t *n;
	long long v;
	uint64_t sz;

	if ((n = conf_sect_val(ds, D_BATCH)) == NULL)
		return;
	if (conf_sect_open(p, &s, n, conf_batch_keys, "%s.batch", ds->where)
	    == -1)
		return;
	/* The Datadog intake takes at most 1000 entries and 5 MB of
	 * uncompressed body per request. */
	if (conf_get_int(&s, B_MAX_ENTRIES, &v, 1, dd ? 1000 : 100000) == 1)
		d->batch_max_entries = (size_t)v;
	if (conf_get_size(&s, B_MAX_BYTES, &sz, 1, dd ? 5000000 : SIZE_MAX)
	    == 1)
		d->batch_max_bytes = (size_t)sz;
	conf_get_duration(&s, B_MAX_WAIT, &d->batch_max_wait_ms, 1);
}

static void
parse_retry(struct parse *p, struct sect *ds, struct ls_conf_dest *d)
{
	struct sect s;
	yaml_node_t *n;
	int ri = 0, rm = 0;

	if ((n = conf_sect_val(ds, D_RETRY)) == NULL)
		return;
	if (conf_sect_open(p, &s, n, conf_retry_keys, "%s.retry", ds->where)
	    == -1)
		return;
	ri = conf_get_duration(&s, RT_INITIAL, &d->retry_initial_ms, 1);
	rm = conf_get_duration(&s, RT_MAX, &d->retry_max_ms, 1);
	conf_get_duration(&s, RT_PROBE, &d->retry_probe_ms, 0);
	if (ri == -1 || rm == -1 || d->retry_max_ms >= d->retry_initial_ms)
		return;
	conf_perr(p, &s.val[rm == 1 ? RT_MAX : RT_INITIAL]->start_mark,
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

	if (conf_sect_scalar(s, D_SITE, &v) != 1)
		return;
	conf_sect_path(s, D_SITE, path, sizeof path);
	if (!dd) {
		if (type != -1)
			conf_perr(p, &s->val[D_SITE]->start_mark,
			    "%s: only a datadog destination has a site (an "
			    "http destination needs url)",
			    path);
		return;
	}
	for (k = 0; site_names[k] != NULL; k++)
		if (strcmp(site_names[k], v) == 0)
			break;
	if (site_names[k] == NULL) {
		conf_perr(p, &s->val[D_SITE]->start_mark,
		    "%s: unknown Datadog site \"%s\" (expected %s)", path,
		    conf_show(vb, v),
		    conf_join_names(list, sizeof list, site_names));
		return;
	}
	d->site = xstrdup(v);
	if (d->url == NULL)
		xasprintf(&d->url, SITE_URL_FMT, v);
}

/* A no_proxy item: a host name, an address or a CIDR block, or "*". */
static int
check_host_cb(struct parse *p, const char *path, yaml_node_t *n, const char *v)
{
	char vb[SHOWLEN + 4];

	if (*v == '\0' || strpbrk(v, ", \t") != NULL) {
		conf_perr(p, &n->start_mark,
		    "%s: \"%s\" is not a host (no spaces or commas: give a "
		    "list)",
		    path, conf_show(vb, v));
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

	if (conf_sect_scalar(s, D_PROXY, &v) == 1) {
		conf_sect_path(s, D_PROXY, path, sizeof path);
		for (k = 0; schemes[k] != NULL; k++)
			if (strncasecmp(v, schemes[k], strlen(schemes[k])) == 0)
				break;
		url_host(v, host, sizeof host);
		if (schemes[k] == NULL || *host == '\0')
			conf_perr(p, &s->val[D_PROXY]->start_mark,
			    "%s: must be an http://, https://, socks5:// or "
			    "socks5h:// URL with a host",
			    path);
		else
			conf_take_key(p, s->val[D_PROXY], path, v, strlen(v),
			    "the proxy URL", 0, &d->proxy);
	}
	conf_foreach_item(s, D_NO_PROXY, conf_strlist_add_cb, &l);
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
	conf_free_strv(l.v, l.n);
}

/* A file named at key i must be there and readable now: 1 and *out set. */
static int
get_file(struct sect *s, int i, char **out)
{
	char path[160];
	int fd;

	if (conf_get_str(s, i, out) != 1)
		return 0;
	if ((fd = open(*out, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: cannot open the file: %s",
		    conf_sect_path(s, i, path, sizeof path), strerror(errno));
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

	if ((n = conf_sect_val(ds, D_TLS)) == NULL)
		return;
	if (conf_sect_open(p, &s, n, conf_tls_keys, "%s.tls", ds->where) == -1)
		return;
	if (conf_sect_val(&s, TL_CA_FILE) != NULL && d->ca_file != NULL)
		conf_perr(p, &s.val[TL_CA_FILE]->start_mark,
		    "%s: ca_file is set twice (here and in %s)",
		    conf_sect_path(&s, TL_CA_FILE, path, sizeof path),
		    ds->where);
	else
		get_file(&s, TL_CA_FILE, &d->ca_file);
	get_file(&s, TL_CERT_FILE, &d->cert_file);
	get_file(&s, TL_KEY_FILE, &d->key_file);
	if (d->key_file != NULL && d->cert_file == NULL)
		conf_perr(p, &s.val[TL_KEY_FILE]->start_mark,
		    "%s: key_file needs cert_file", s.where);
	if (conf_get_str(&s, TL_SERVER_NAME, &d->server_name) != 1)
		return;
	conf_sect_path(&s, TL_SERVER_NAME, path, sizeof path);
	for (c = d->server_name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
			|| (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
			break;
	if (*c != '\0' || strlen(d->server_name) > 253)
		conf_perr(p, &s.val[TL_SERVER_NAME]->start_mark,
		    "%s: not a host name (letters, digits, '.' and '-')", path);
	else if (d->url != NULL && strncasecmp(d->url, "https://", 8) != 0)
		conf_perr(p, &s.val[TL_SERVER_NAME]->start_mark,
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
	conf_sect_path(s, D_URL, path, sizeof path);
	if (!insecure)
		conf_perr(p, &s->val[D_URL]->start_mark,
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
	d->batch_max_entries = 1000;
	d->batch_max_bytes = 4250000;
	d->batch_max_wait_ms = 1000;
	d->compression_level = 0; /* the codec's own: below */
	d->retry_initial_ms = 500;
	d->retry_max_ms = 60000;
	d->retry_probe_ms = 1000;
	d->max_entry_bytes = 900000; /* the Datadog Agent's */
	d->tls_verify = 1;
	conf_table_defaults(conf_dest_table, conf_dest_keys, D_NKEYS, d);
	if (conf_sect_open(p, &s, n, conf_dest_keys, "destinations[%zu]", idx)
	    == -1)
		return;

	if (conf_need(&s, D_NAME) == 0
	    && conf_get_str(&s, D_NAME, &d->name) == 1)
		*namep = s.val[D_NAME];
	if (conf_need(&s, D_TYPE) == 0
	    && conf_get_enum(&s, D_TYPE, type_names, &e) == 1)
		type = e;
	/* With no valid type, check against the looser http limits so the
	 * type error is not followed by others that only follow from it. */
	dd = type == LS_DEST_DATADOG;
	if (type != -1)
		d->type = (enum ls_dest_type)type;
	if (type == LS_DEST_HTTP)
		d->format = LS_FORMAT_NDJSON;
	if (conf_get_enum(&s, D_FORMAT, format_names, &e) == 1) {
		if (dd && e != LS_FORMAT_JSON)
			conf_perr(p, &s.val[D_FORMAT]->start_mark,
			    "%s: a datadog destination sends only json",
			    conf_sect_path(&s, D_FORMAT, path, sizeof path));
		else
			d->format = (enum ls_format)e;
	}
	/* A datadog destination may name its site instead of a url. */
	if (dd && s.key[D_URL] == NULL && s.key[D_SITE] == NULL)
		conf_perr(p, &s.map->start_mark,
		    "%s: a datadog destination needs site or url", s.where);
	else if (dd && s.key[D_URL] == NULL)
		; /* built from the site */
	else if (conf_need(&s, D_URL) == 0
	    && conf_get_str(&s, D_URL, &d->url) == 1) {
		url = d->url;
		if ((strncasecmp(url, "http://", 7) != 0 || url[7] == '\0')
		    && (strncasecmp(url, "https://", 8) != 0 || url[8] == '\0'))
			conf_perr(p, &s.val[D_URL]->start_mark,
			    "%s: must be an http:// or https:// URL",
			    conf_sect_path(&s, D_URL, path, sizeof path));
	}

	parse_site(p, &s, d, dd, type);

	if (conf_sect_val(&s, D_API_KEY_FILE) != NULL
	    && conf_sect_val(&s, D_API_KEY_ENV) != NULL)
		conf_perr(p, &s.val[D_API_KEY_ENV]->start_mark,
		    "%s: set only one of api_key_file and api_key_env",
		    conf_sect_path(&s, D_API_KEY_ENV, path, sizeof path));
	else if (conf_sect_val(&s, D_API_KEY_FILE) != NULL)
		conf_read_key_file(&s, D_API_KEY_FILE, 0, &d->api_key);
	else if (conf_sect_val(&s, D_API_KEY_ENV) != NULL)
		conf_read_key_env(&s, D_API_KEY_ENV, 0, &d->api_key);
	else if (dd)
		conf_perr(p, &s.map->start_mark,
		    "%s: a datadog destination needs api_key_file or "
		    "api_key_env",
		    s.where);

	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 1);
	d->max_connections = d->workers;
	if (conf_get_int(&s, D_MAX_CONNECTIONS, &v, 1, 256) == 1)
		d->max_connections = (unsigned)v;
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 2);
	parse_batch(p, &s, d, dd);
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 3);
	/* gzip (libdeflate) goes to 12, zstd to 19. */
	if (conf_get_int(&s, D_COMPRESSION_LEVEL, &v, 1, 19) == 1) {
		d->compression_level = (int)v;
		if (d->compression != LS_COMPRESS_ZSTD && v > 12)
			conf_perr(p, &s.val[D_COMPRESSION_LEVEL]->start_mark,
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
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 4);
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 5);
	parse_retry(p, &s, d);
	/* Datadog keeps at most 1 MB of one log; more is cut. */
	max_entry = dd ? 1000000 : SIZE_MAX;
	if (conf_get_size(&s, D_MAX_ENTRY_BYTES, &sz, 1, max_entry) == 1)
		d->max_entry_bytes = (size_t)sz;
	if (conf_get_bool(&s, D_INSECURE, &insecure) == 1)
		d->tls_verify = !insecure;
	/* Never silently: anyone on the path could read the key. */
	if (insecure)
		log_warnx("%s (%s): insecure: true: TLS certificates are not "
			  "verified",
		    s.where, d->name != NULL ? d->name : "?");
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 6);
	parse_tls(p, &s, d);
	parse_proxy(p, &s, d);
	conf_parse_headers(p, &s, D_HEADERS, d, &secret);
	conf_parse_basic_auth(p, &s, D_BASIC_AUTH, d, &secret);
	check_plaintext(p, &s, d, secret, insecure);
	if (d->site != NULL)
		log_info("%s (%s): site %s: %s", s.where,
		    d->name != NULL ? d->name : "?", d->site,
		    conf_sect_val(&s, D_URL) != NULL ? "url is set, and wins"
						     : d->url);
	conf_table_read(&s, conf_dest_table, D_NKEYS, d, 7);
}

static void
parse_dest_cb(struct parse *p, yaml_node_t *n, size_t idx, void *item,
    yaml_node_t **namep)
{
	parse_dest(p, n, idx, item, namep);
}

static const char *
dest_name_cb(const void *item)
{
	return ((const struct ls_conf_dest *)item)->name;
}

void
conf_parse_dests(struct parse *p, struct sect *top, struct ls_conf *c)
{
	void *v;

	c->ndests = conf_parse_items(p, top, T_DESTINATIONS, "destinations",
	    LS_MAX_DESTS, sizeof *c->dests, &v, parse_dest_cb, dest_name_cb);
	c->dests = v;
}

/*
 * Every field of struct ls_conf_dest, in its order, and how a reload
 * compares it: VAL by value, STR as a string (NULL equal only to NULL),
 * HEADERS the list of headers, COUNT a count compared with its list. The
 * one list: ls_conf_dest_same() walks it, and dest_probe below has one
 * initializer per item, in order, so that a field added to the struct but
 * not here leaves an initializer missing: an error at compile time
 * (-Wmissing-field-initializers, made an error there), as does one left
 * here after it is gone from the struct (no such member), or one named
 * twice (struct dest_mirror). Tested in check_conf_schema.c.
 */
#define DEST_FIELDS(X)                                                         \
	X(STR, name)                                                           \
	X(VAL, type)                                                           \
	X(VAL, format)                                                         \
	X(STR, url)                                                            \
	X(STR, api_key)                                                        \
	X(VAL, workers)                                                        \
	X(VAL, max_connections)                                                \
	X(VAL, adaptive_concurrency)                                           \
	X(VAL, batch_max_entries)                                              \
	X(VAL, batch_max_bytes)                                                \
	X(VAL, batch_max_wait_ms)                                              \
	X(VAL, compression)                                                    \
	X(VAL, compression_level)                                              \
	X(VAL, timeout_ms)                                                     \
	X(VAL, retry_initial_ms)                                               \
	X(VAL, retry_max_ms)                                                   \
	X(VAL, retry_probe_ms)                                                 \
	X(VAL, max_entry_bytes)                                                \
	X(VAL, reject_limit)                                                   \
	X(VAL, tls_verify)                                                     \
	X(VAL, on_full)                                                        \
	X(VAL, max_buffer_bytes)                                               \
	X(STR, ca_file)                                                        \
	X(STR, site)                                                           \
	X(STR, proxy)                                                          \
	X(STR, no_proxy)                                                       \
	X(HEADERS, headers)                                                    \
	X(COUNT, nheaders)                                                     \
	X(STR, cert_file)                                                      \
	X(STR, key_file)                                                       \
	X(STR, server_name)                                                    \
	X(VAL, health_window_ms)

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wmissing-field-initializers"
#define DEST_PROBE(how, f) 0,
static const struct ls_conf_dest dest_probe = { DEST_FIELDS(DEST_PROBE) };
#undef DEST_PROBE
#pragma GCC diagnostic pop
/* And each field once: a member named twice here is an error. */
#define DEST_MIRROR(how, f) __typeof__(dest_probe.f) f;
struct dest_mirror {
	DEST_FIELDS(DEST_MIRROR)
};
#undef DEST_MIRROR

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

#define SAME_VAL(f) (x->f == y->f)
#define SAME_STR(f) str_same(x->f, y->f)
#define SAME_HEADERS(f) headers_same(x, y)
#define SAME_COUNT(f) 1 /* with its list */
#define DEST_SAME(how, f) &&SAME_##how(f)

int
ls_conf_dest_same(const struct ls_conf *a, const struct ls_conf_dest *x,
    const struct ls_conf *b, const struct ls_conf_dest *y)
{
	(void)dest_probe;
	/* Every field, and what the destination takes from the top level:
	 * the hostname it sends, and the buffer that bounds drop_newest. */
	return 1 DEST_FIELDS(DEST_SAME) && str_same(a->hostname, b->hostname)
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
