/*
 * Tests of the configuration's schema as one whole: the code's key tables
 * (ls_conf_keys, ls_conf_key_default) against the example file and the
 * man page, so that the three cannot drift apart; and what a reload
 * compares (ls_conf_dest_same), field by field.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "testutil.h"

static const char *const mappings[] = { "", "metrics", "sources", "multiline",
	"log_processing_rules", "destinations", "batch", "retry", "tls",
	"basic_auth", "routes", NULL };

static char *
slurp_src(const char *rel)
{
	const char *top = getenv("TOP_SRCDIR");
	char path[4096], *buf;
	size_t len = 0, n;
	FILE *f;

	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(path, sizeof path, "%s/%s", top, rel);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "cannot open %s", path);
	buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	while ((n = fread(buf + len, 1, (1 << 20) - 1 - len, f)) > 0)
		len += n;
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* 1 if a line of text, after leading blanks and those of prefix (a set of
 * characters), begins with word and then one of the characters of after.
 */
static int
has_line(
    const char *text, const char *prefix, const char *word, const char *after)
{
	const char *l, *p;
	size_t n = strlen(word);

	for (l = text; l != NULL && *l != '\0';
	     l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		p = l + strspn(l, prefix);
		if (strncmp(p, word, n) == 0 && p[n] != '\0'
		    && strchr(after, p[n]) != NULL)
			return 1;
	}
	return 0;
}

/* 1 if word occurs in text followed by a space or a newline. */
static int
has_word(const char *text, const char *word)
{
	const char *at;
	size_t n = strlen(word);

	for (at = text; (at = strstr(at, word)) != NULL; at += n)
		if (at[n] == ' ' || at[n] == '\n')
			return 1;
	return 0;
}

/* Every key of every mapping is described in logshipd.yaml(5) (".It Ic
 * key" or ".Ic key") and shown in etc/logshipd.yaml ("key:", perhaps in a
 * comment or a flow mapping). */
START_TEST(docs_mention_every_key)
{
	char *man = slurp_src("man/logshipd.yaml.5");
	char *ex = slurp_src("etc/logshipd.yaml");
	const char *const *k;
	char word[128], word2[128];
	size_t i;
	int missing = 0;

	for (i = 0; mappings[i] != NULL; i++) {
		ck_assert_ptr_nonnull(k = ls_conf_keys(mappings[i]));
		for (; *k != NULL; k++) {
			snprintf(word, sizeof word, "\n.Ic %s", *k);
			snprintf(word2, sizeof word2, "\n.It Ic %s", *k);
			if (!has_word(man, word) && !has_word(man, word2)) {
				fprintf(stderr,
				    "logshipd.yaml.5: no .Ic %s (%s)\n", *k,
				    mappings[i]);
				missing++;
			}
			snprintf(word, sizeof word, "%s:", *k);
			if (!has_line(ex, " \t#-{", word, " \n")
			    && strstr(ex, word) == NULL) {
				fprintf(stderr,
				    "etc/logshipd.yaml: no %s (%s)\n", word,
				    mappings[i]);
				missing++;
			}
		}
	}
	ck_assert_int_eq(missing, 0);
	ck_assert_ptr_null(ls_conf_keys("nosuch"));
	free(man);
	free(ex);
}
END_TEST

/*
 * Each key with a default (the top level's, a source's, a destination's
 * unless it depends on the type): the man page's entry, in the mapping's
 * section, says "The default is <it>", and the example file sets it to it
 * ("key: it", or "#key: it" when commented out, indented in a list). A path
 * default is set by configure (localstatedir), so only its presence is checked.
 */
START_TEST(docs_state_every_default)
{
	/* Each mapping, and where its entries begin in the man page. */
	static const char *const maps[] = { "", "sources", "destinations" };
	static const char *const sections[] = { "\n.Sh GLOBAL SETTINGS",
		"\n.Sh SOURCES", "\n.Sh DESTINATIONS" };
	char *man = slurp_src("man/logshipd.yaml.5");
	char *ex = slurp_src("etc/logshipd.yaml");
	const char *const *k;
	const char *def, *at, *end;
	char word[160], *entry, *w, *r;
	int bad = 0, checked = 0;
	size_t m;

	for (m = 0; m < sizeof maps / sizeof maps[0]; m++)
		for (k = ls_conf_keys(maps[m]); *k != NULL; k++) {
			if ((def = ls_conf_key_default(maps[m], *k)) == NULL
			    || *def == '/')
				continue;
			checked++;
			snprintf(word, sizeof word, "%s: %s", *k, def);
			if (!has_line(ex, " #", word, "\n")) {
				fprintf(stderr,
				    "etc/logshipd.yaml: no \"%s\"\n", word);
				bad++;
			}
			/* The entry: from ".It Ic key" to the next key's. */
			snprintf(word, sizeof word, "\n.It Ic %s ", *k);
			ck_assert_ptr_nonnull(at = strstr(man, sections[m]));
			ck_assert_msg(
			    (at = strstr(at, word)) != NULL, "%s", word);
			end = strstr(at + 1, "\n.It Ic ");
			entry = strndup(
			    at, end != NULL ? (size_t)(end - at) : strlen(at));
			/* Lines joined, and macros like .Cm dropped. */
			for (w = r = entry; *r != '\0'; r++) {
				if (*r == '\n' && r[1] == '.'
				    && isupper((unsigned char)r[2])
				    && islower((unsigned char)r[3])
				    && r[4] == ' ') {
					*w++ = ' ';
					r += 4;
					continue;
				}
				*w++ = *r == '\n' ? ' ' : *r;
			}
			*w = '\0';
			snprintf(word, sizeof word, "The default is %s", def);
			if ((at = strstr(entry, word)) == NULL
			    || strchr(" .,", at[strlen(word)]) == NULL) {
				fprintf(stderr,
				    "logshipd.yaml.5: %s: no \"%s\"\n", *k,
				    word);
				bad++;
			}
			free(entry);
		}
	ck_assert_int_ge(checked, 25);
	ck_assert_int_eq(bad, 0);
	ck_assert_ptr_null(ls_conf_key_default("", "nosuch"));
	ck_assert_ptr_null(ls_conf_key_default("routes", "to"));
	free(man);
	free(ex);
}
END_TEST

/* A destination with one thing changed is not the same one: a reload
 * must replace it. Every field of struct ls_conf_dest is set here. */
static const char *const dest_changes[] = {
	"    name: other\n",
	"    format: json\n",
	"    url: https://127.0.0.2/in\n",
	"    api_key_env: LS_SCHEMA_KEY\n",
	"    workers: 3\n",
	"    max_connections: 5\n",
	"    adaptive_concurrency: true\n",
	"    batch: { max_entries: 5 }\n",
	"    batch: { max_bytes: 1000 }\n",
	"    batch: { max_wait: 2s }\n",
	"    compression: none\n",
	"    compression_level: 3\n",
	"    timeout: 3s\n",
	"    retry: { initial: 1s }\n",
	"    retry: { max: 2m }\n",
	"    retry: { probe: 0s }\n",
	"    max_entry_bytes: 1000\n",
	"    reject_limit: 3\n",
	"    insecure: true\n",
	"    on_full: drop_newest\n",
	"    max_buffer_bytes: 2MiB\n",
	"    ca_file: /nonexistent/ca.pem\n",
	"    proxy: http://127.0.0.1:3128\n",
	"    no_proxy: [a.example]\n",
	"    headers: { X-A: b }\n",
	"    basic_auth: { user: u, password_env: LS_SCHEMA_KEY }\n",
	"    tls: { server_name: x.example }\n",
	"    tls: { cert_file: /dev/null }\n",
	"    tls: { cert_file: /dev/null, key_file: /dev/null }\n",
	"    health_window: 1m\n",
	"  HOSTNAME",
};

/* The base destination, with change (NULL: none) in its mapping, or
 * another hostname ("  HOSTNAME"). */
static struct ls_conf *
load_dest(const char *change)
{
	struct ls_conf *c;
	char *yaml;
	int top = change != NULL && strcmp(change, "  HOSTNAME") == 0;

	if (change == NULL || top)
		change = "";
	ck_assert_int_ge(
	    asprintf(&yaml,
		"hostname: %s\n"
		"sources: [{ name: s, paths: [/tmp/x.log] }]\n"
		"destinations:\n"
		"  - type: http\n"
		"%s%s%s",
		top ? "other" : "web-1",
		strncmp(change, "    name:", 9) == 0 ? "" : "    name: d\n",
		strstr(change, "url:") ? "" : "    url: https://127.0.0.1/in\n",
		change),
	    0);
	c = ls_conf_load_string("schema.yaml", yaml, stderr);
	ck_assert_msg(c != NULL, "refused:\n%s", yaml);
	free(yaml);
	return c;
}

START_TEST(dest_same_every_field)
{
	struct ls_conf *a, *b;

	setenv("LS_SCHEMA_KEY", "k3y", 1);
	a = load_dest(NULL);
	b = load_dest(NULL);
	ck_assert_int_eq(
	    ls_conf_dest_same(a, &a->dests[0], b, &b->dests[0]), 1);
	ls_conf_free(b);
	b = load_dest(dest_changes[_i]);
	ck_assert_msg(!ls_conf_dest_same(a, &a->dests[0], b, &b->dests[0]),
	    "still the same with: %s", dest_changes[_i]);
	ck_assert_msg(!ls_conf_dest_same(b, &b->dests[0], a, &a->dests[0]),
	    "still the same with: %s", dest_changes[_i]);
	ls_conf_free(a);
	ls_conf_free(b);
}
END_TEST

/* metrics.listen alone, read as the daemon reads it (logshipd status). */
static const struct {
	const char *yaml;
	const char *listen; /* NULL: off; "!": refused */
} listen_rows[] = {
	{ "sources: []\n", LS_METRICS_LISTEN },
	{ "metrics: { listen: \"[::1]:9\" }\n", "[::1]:9" },
	{ "metrics: { listen: \"\" }\n", NULL },
	{ "metrics: { listen: }\n", LS_METRICS_LISTEN },
	{ "metrics: { listen: ~ }\n", LS_METRICS_LISTEN },
	/* A string to the daemon, so not null here either. */
	{ "metrics: { listen: nUlL }\n", "!" },
	{ "metrics: { listen: \"${LS_SCHEMA_LISTEN}\" }\n", "127.0.0.1:7" },
	{ "metrics: { listen: \"${LS_SCHEMA_UNSET:-127.0.0.1:8}\" }\n",
	    "127.0.0.1:8" },
	{ "metrics: { listen: \"${LS_SCHEMA_UNSET}\" }\n", "!" },
	{ "metrics: { listen: bad }\n", "!" },
	{ "metrics: [\n", "!" },
	/* What else the file holds is the daemon's business: no key file
	 * is opened, no other key checked. */
	{ "metrics: { listen: \"127.0.0.1:5\" }\n"
	  "destinations: [{ name: d, type: datadog, site: datadoghq.com, "
	  "api_key_file: /nonexistent/key }]\n"
	  "shutdown_timeout: 1y\n",
	    "127.0.0.1:5" },
};

START_TEST(load_listen)
{
	char path[] = "/tmp/check_conf_schema.XXXXXX", *listen = (char *)"x";
	FILE *f;
	int fd, r;

	setenv("LS_SCHEMA_LISTEN", "127.0.0.1:7", 1);
	unsetenv("LS_SCHEMA_UNSET");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(listen_rows[_i].yaml, f);
	fclose(f);
	r = ls_conf_load_listen(path, NULL, &listen);
	unlink(path);
	if (listen_rows[_i].listen != NULL
	    && strcmp(listen_rows[_i].listen, "!") == 0) {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_null(listen);
		return;
	}
	ck_assert_int_eq(r, 0);
	if (listen_rows[_i].listen == NULL)
		ck_assert_ptr_null(listen);
	else
		ck_assert_str_eq(listen, listen_rows[_i].listen);
	free(listen);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("conf_schema");
	tc = tcase_create("docs");
	tcase_add_test(tc, docs_mention_every_key);
	tcase_add_test(tc, docs_state_every_default);
	suite_add_tcase(s, tc);
	tc = tcase_create("dest_same");
	tcase_add_loop_test(tc, dest_same_every_field, 0,
	    sizeof dest_changes / sizeof dest_changes[0]);
	suite_add_tcase(s, tc);
	tc = tcase_create("load_listen");
	tcase_add_loop_test(
	    tc, load_listen, 0, sizeof listen_rows / sizeof listen_rows[0]);
	suite_add_tcase(s, tc);
	return ls_test_run(s);
}
