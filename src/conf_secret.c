/*
 * conf_secret: the secrets of the configuration: API keys (api_key_file,
 * api_key_env), header values (a literal, {file: PATH} or {env: NAME}),
 * basic_auth and the proxy URL. Each is read into protected memory
 * (secret.h) and never echoed: not the key, not api_key_file or
 * api_key_env (someone may have pasted the key there), and not the value
 * of a header. A key file is opened without following links and must be a
 * regular file of at most KEYFILE_MAX bytes; one others can read is a
 * warning, or with strict_permissions an error.
 *
 * Tested in check_conf.c (api keys, headers, basic_auth) and
 * tests/e2e/headers_auth.sh.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf_impl.h"
#include "secret.h"
#include "xmalloc.h"

/* An API key file larger than this is certainly not an API key. */
#define KEYFILE_MAX 4096

enum { BA_USER, BA_PASSWORD_FILE, BA_PASSWORD_ENV, BA_NKEYS };
const char *const conf_basic_auth_keys[] = {
	[BA_USER] = "user",
	[BA_PASSWORD_FILE] = "password_file",
	[BA_PASSWORD_ENV] = "password_env",
	[BA_NKEYS] = NULL,
};
CONF_KEYS_FIT(BA_NKEYS, "basic_auth");

/* A header's value read from a file or the environment: { file: PATH } or
 * { env: NAME }. */
enum { HV_FILE, HV_ENV, HV_NKEYS };
const char *const conf_header_value_keys[] = {
	[HV_FILE] = "file",
	[HV_ENV] = "env",
	[HV_NKEYS] = NULL,
};
CONF_KEYS_FIT(HV_NKEYS, "a header value");

/*
 * Reads an API key from bytes buf[0..len) into *key: surrounding
 * whitespace is trimmed, and what is left must be printable ASCII with no
 * spaces (spaces inside are allowed when spaces is set: a header value, a
 * password), because it goes into an HTTP header. Never echoes the bytes.
 */
int
conf_take_key(struct parse *p, yaml_node_t *n, const char *path,
    const char *buf, size_t len, const char *what, int spaces, char **key)
{
	size_t i;

	while (len > 0 && strchr(" \t\r\n\v\f", buf[0]) != NULL) {
		buf++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n\v\f", buf[len - 1]) != NULL)
		len--;
	if (len == 0) {
		conf_perr(p, &n->start_mark, "%s: %s is empty", path, what);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (spaces && (buf[i] == ' ' || buf[i] == '\t'))
			continue;
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			conf_perr(p, &n->start_mark,
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
		conf_perr(p, &n->start_mark, "%s: cannot keep the key: %s",
		    path, strerror(errno));
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
		conf_perr(s->p, &s->val[i]->start_mark,
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
void
conf_read_key_file(struct sect *s, int i, int spaces, char **key)
{
	char buf[KEYFILE_MAX + 1], path[160];
	const char *file;
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	if (conf_sect_scalar(s, i, &file) != 1)
		return;
	conf_sect_path(s, i, path, sizeof path);
	/* Not through a link (whoever can plant one in its directory could
	 * point it anywhere), and not waiting on a FIFO: the fstat below
	 * takes only a regular file, read up to KEYFILE_MAX bytes. */
	if ((fd = open(file,
		 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK))
	    == -1) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: cannot open the file: %s", path,
		    errno == ELOOP ? "a symbolic link, not followed (name "
				     "the file itself)"
				   : strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: not a regular file", path);
		goto out;
	}
	key_file_mode(s, i, file, path, &st);
	while (len < sizeof buf) {
		r = read(fd, buf + len, sizeof buf - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			conf_perr(s->p, &s->val[i]->start_mark,
			    "%s: cannot read the file: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEYFILE_MAX) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: the file is larger than %d bytes, too large for an "
		    "API key",
		    path, KEYFILE_MAX);
		goto out;
	}
	conf_take_key(s->p, s->val[i], path, buf, len, "the file", spaces, key);
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
}

/* Reads the key from the environment variable named at key i, which is not
 * echoed either. */
void
conf_read_key_env(struct sect *s, int i, int spaces, char **key)
{
	const char *name, *v;
	char path[160];

	if (conf_sect_scalar(s, i, &name) != 1)
		return;
	conf_sect_path(s, i, path, sizeof path);
	if ((v = getenv(name)) == NULL) {
		conf_perr(s->p, &s->val[i]->start_mark,
		    "%s: the environment variable is not set", path);
		return;
	}
	conf_take_key(s->p, s->val[i], path, v, strlen(v),
	    "the environment variable", spaces, key);
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
		conf_perr(p, &n->start_mark, "%s: cannot keep the value: %s",
		    path, strerror(errno));
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
void
conf_parse_headers(
    struct parse *p, struct sect *s, int i, struct ls_conf_dest *d, int *secret)
{
	yaml_node_pair_t *pair;
	yaml_node_t *n, *k, *v;
	struct sect vs;
	const char *name;
	char path[160], hpath[320], vb[SHOWLEN + 4];
	char *value;
	size_t j;

	if ((n = conf_sect_val(s, i)) == NULL)
		return;
	conf_sect_path(s, i, path, sizeof path);
	if (n->type != YAML_MAPPING_NODE) {
		conf_perr(p, &n->start_mark, "%s: expected a mapping", path);
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		k = conf_node(p, pair->key);
		v = conf_node(p, pair->value);
		if (k->type != YAML_SCALAR_NODE
		    || (name = conf_scalar_str(p, k, path)) == NULL
		    || !header_name_ok(name)) {
			conf_perr(p, &k->start_mark,
			    "%s: \"%s\" is not a header name", path,
			    k->type == YAML_SCALAR_NODE
				? conf_show(vb, conf_scalar(k))
				: "?");
			continue;
		}
		snprintf(hpath, sizeof hpath, "%s.%s", path, name);
		for (j = 0; reserved_headers[j] != NULL; j++)
			if (strcasecmp(reserved_headers[j], name) == 0)
				break;
		if (reserved_headers[j] != NULL) {
			conf_perr(p, &k->start_mark,
			    "%s: logshipd sets %s itself%s", hpath,
			    reserved_headers[j],
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
			conf_perr(p, &k->start_mark,
			    "%s: duplicate header (names are not case "
			    "sensitive)",
			    hpath);
			continue;
		}
		value = NULL;
		if (v->type == YAML_SCALAR_NODE && !conf_is_null(v)) {
			const char *lit;

			if ((lit = conf_scalar_str(p, v, hpath)) == NULL)
				continue;
			if (conf_take_key(p, v, hpath, lit, strlen(lit),
				"the value", 1, &value)
			    == -1)
				continue;
			if (credential_name(name))
				*secret = 1;
		} else if (v->type == YAML_MAPPING_NODE) {
			if (conf_sect_open(
				p, &vs, v, conf_header_value_keys, "%s", hpath)
			    == -1)
				continue;
			if ((conf_sect_val(&vs, HV_FILE) != NULL)
			    == (conf_sect_val(&vs, HV_ENV) != NULL)) {
				conf_perr(p, &v->start_mark,
				    "%s: set one of file and env", hpath);
				continue;
			}
			if (conf_sect_val(&vs, HV_FILE) != NULL)
				conf_read_key_file(&vs, HV_FILE, 1, &value);
			else
				conf_read_key_env(&vs, HV_ENV, 1, &value);
			if (value == NULL)
				continue;
			*secret = 1;
		} else {
			conf_perr(p, &v->start_mark,
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
void
conf_parse_basic_auth(struct parse *p, struct sect *ds, int i,
    struct ls_conf_dest *d, int *secret)
{
	struct sect s;
	yaml_node_t *n;
	const char *user;
	char path[160], *pw = NULL, *pair = NULL, *b64 = NULL;
	size_t j, len;

	if ((n = conf_sect_val(ds, i)) == NULL)
		return;
	if (conf_sect_open(
		p, &s, n, conf_basic_auth_keys, "%s.basic_auth", ds->where)
	    == -1)
		return;
	for (j = 0; j < d->nheaders; j++)
		if (strncasecmp(d->headers[j], "Authorization:", 14) == 0) {
			conf_perr(p, &n->start_mark,
			    "%s: headers already set Authorization", s.where);
			return;
		}
	if (conf_need(&s, BA_USER) == -1
	    || conf_sect_scalar(&s, BA_USER, &user) != 1)
		return;
	conf_sect_path(&s, BA_USER, path, sizeof path);
	if (*user == '\0' || strchr(user, ':') != NULL) {
		conf_perr(p, &s.val[BA_USER]->start_mark,
		    "%s: must not be empty or hold a colon", path);
		return;
	}
	for (j = 0; user[j] != '\0'; j++)
		if ((unsigned char)user[j] < 0x20 || user[j] == 0x7f) {
			conf_perr(p, &s.val[BA_USER]->start_mark,
			    "%s: holds control characters", path);
			return;
		}
	if ((conf_sect_val(&s, BA_PASSWORD_FILE) != NULL)
	    == (conf_sect_val(&s, BA_PASSWORD_ENV) != NULL)) {
		conf_perr(p, &n->start_mark,
		    "%s: set one of password_file and password_env", s.where);
		return;
	}
	if (conf_sect_val(&s, BA_PASSWORD_FILE) != NULL)
		conf_read_key_file(&s, BA_PASSWORD_FILE, 1, &pw);
	else
		conf_read_key_env(&s, BA_PASSWORD_ENV, 1, &pw);
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
	conf_perr(p, &n->start_mark, "%s: cannot keep the password: %s",
	    s.where, strerror(errno));
out:
	ls_secret_free(pw);
	ls_secret_free(pair);
	ls_secret_free(b64);
}
