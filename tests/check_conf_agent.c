/*
 * Tests of datadog_agent_confd (conf_agent.c): the Datadog Agent's logs
 * entries made sources, key by key; what is skipped and why; errors in an
 * Agent file at its own line and column; names, their clashes and their
 * order; files that are links refused.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "rules.h"
#include "testutil.h"

#define DST                                                                    \
	"destinations:\n"                                                      \
	"  - name: out\n"                                                      \
	"    type: http\n"                                                     \
	"    url: http://127.0.0.1:8088/in\n"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_conf_agent.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes dir/rel (its directories made) with text. */
static void
put(const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Loads dir/main.yaml (text); *errs gets the errors, *skipped what -n
 * lists. */
static struct ls_conf *
load(const char *text, char **errs, char **skipped)
{
	struct ls_conf *c;
	char path[512];
	size_t len;
	FILE *f;

	put("main.yaml", text);
	snprintf(path, sizeof path, "%s/main.yaml", dir);
	ck_assert_ptr_nonnull(f = open_memstream(errs, &len));
	c = ls_conf_load(path, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = open_memstream(skipped, &len));
	if (c != NULL)
		ls_conf_report_skipped(c, f);
	fclose(f);
	return c;
}

/* s with every "@" replaced by dir. */
static char *
at(const char *s)
{
	char *out = malloc(strlen(s) * 64 + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	for (; *s != '\0'; s++)
		if (*s == '@')
			o += sprintf(o, "%s", dir);
		else
			*o++ = *s;
	*o = '\0';
	return out;
}

static void
expect_errs(const char *main_yaml, const char *want_at)
{
	char *errs, *skipped, *want = at(want_at);

	ck_assert_ptr_null(load(main_yaml, &errs, &skipped));
	ck_assert_str_eq(errs, want);
	free(errs);
	free(skipped);
	free(want);
}

static const char nginx[] = "init_config:\n"
			    "instances:\n"
			    "  - nginx_status_url: http://localhost/status\n"
			    "logs:\n"
			    "  - type: file\n"
			    "    path: /var/log/nginx/access.log\n"
			    "    exclude_paths: [/var/log/nginx/*.gz]\n"
			    "    service: web\n"
			    "    source: nginx\n"
			    "    sourcecategory: http_web_access\n"
			    "    tags: \"env:prod, team:web\"\n"
			    "  - type: tcp\n"
			    "    port: 10518\n"
			    "  - type: file\n"
			    "    path: /var/log/nginx/error.log\n"
			    "    start_position: beginning\n"
			    "    auto_multi_line_detection: true\n"
			    "    tags: [\"a:1\", \"b:2\"]\n"
			    "    log_processing_rules:\n"
			    "      - type: exclude_at_match\n"
			    "        name: no_health\n"
			    "        pattern: GET /health\n"
			    "      - type: mask_sequences\n"
			    "        name: cards\n"
			    "        pattern: \\d{16}\n"
			    "        replace_placeholder: \"[card]\"\n";

/*
 * Every mapped key: path, exclude_paths, service, source, sourcecategory
 * and tags (a comma string or a list) after the top-level tags,
 * start_position (the Agent's default: end), auto_multi_line_detection,
 * log_processing_rules after the top-level ones; a multi_line rule is the
 * start pattern and wins over detection. The YAML's own sources come
 * first; a route may name an Agent source; the tcp entry is listed.
 */
START_TEST(mapping)
{
	struct ls_conf *c;
	char *errs, *skipped, *want;
	const struct ls_conf_source *s;

	put("confd/nginx.d/conf.yaml", nginx);
	put("confd/app.d/conf.yaml",
	    "logs:\n"
	    "  - type: file\n"
	    "    path: /srv/app/*.log\n"
	    "    log_processing_rules:\n"
	    "      - type: multi_line\n"
	    "        name: starts\n"
	    "        pattern: \\d{4}-\n"
	    "    auto_multi_line_detection: true\n");
	c = load("tags: [\"host:h1\"]\n"
		 "log_processing_rules:\n"
		 "  - { type: exclude_at_match, name: top, pattern: DEBUG }\n"
		 "datadog_agent_confd: confd\n"
		 "sources:\n"
		 "  - name: own\n"
		 "    paths: [/var/log/own.log]\n" DST "routes:\n"
		 "  - { source: [nginx#2], severity: all, to: [out] }\n",
	    &errs, &skipped);
	ck_assert_msg(c != NULL, "errors: %s", errs);
	ck_assert_str_eq(errs, "");
	ck_assert_uint_eq(c->nsources, 4);
	ck_assert_str_eq(c->sources[0].name, "own");
	/* app.d sorts before nginx.d. */
	s = &c->sources[1];
	ck_assert_str_eq(s->name, "app");
	ck_assert_str_eq(s->paths[0], "/srv/app/*.log");
	ck_assert_str_eq(s->multiline_start, "\\d{4}-");
	ck_assert_int_eq(s->multiline_auto, 0);
	ck_assert_int_eq(s->start_at, LS_START_END);
	ck_assert_str_eq(s->ddtags, "host:h1");
	ck_assert_uint_eq(ls_rules_count(s->rules), 1);
	s = &c->sources[2];
	ck_assert_str_eq(s->name, "nginx");
	ck_assert_uint_eq(s->npaths, 1);
	ck_assert_str_eq(s->paths[0], "/var/log/nginx/access.log");
	ck_assert_uint_eq(s->nexclude_paths, 1);
	ck_assert_str_eq(s->exclude_paths[0], "/var/log/nginx/*.gz");
	ck_assert_str_eq(s->service, "web");
	ck_assert_str_eq(s->ddsource, "nginx");
	ck_assert_str_eq(s->ddtags,
	    "host:h1,sourcecategory:http_web_access,env:prod,team:web");
	ck_assert_int_eq(s->start_at, LS_START_END);
	ck_assert_int_eq(s->file_tags, 1);
	ck_assert_uint_eq(ls_rules_count(s->rules), 1);
	s = &c->sources[3];
	ck_assert_str_eq(s->name, "nginx#2");
	ck_assert_ptr_null(s->service);
	ck_assert_ptr_null(s->ddsource);
	ck_assert_str_eq(s->ddtags, "host:h1,a:1,b:2");
	ck_assert_int_eq(s->start_at, LS_START_BEGINNING);
	ck_assert_int_eq(s->multiline_auto, 1);
	ck_assert_ptr_null(s->multiline_start);
	ck_assert_uint_eq(ls_rules_count(s->rules), 3);
	/* The route names nginx#2 (index 3) alone. */
	ck_assert_ptr_nonnull(c->route_src);
	ck_assert_uint_eq(c->route_src[3 * LS_SEV_COUNT + LS_SEV_INFO], 1);
	ck_assert_uint_eq(c->route_src[2 * LS_SEV_COUNT + LS_SEV_INFO], 0);
	want = at("@/confd/nginx.d/conf.yaml:12:5: logs[1] (type tcp) "
		  "skipped: logshipd listens on no port: it reads files\n");
	ck_assert_str_eq(skipped, want);
	free(want);
	ls_conf_free(c);
	free(errs);
	free(skipped);
}
END_TEST

/*
 * What cannot be mapped is listed, each at its place: every type but
 * file, an encoding other than UTF-8, a forced start, a key logshipd has
 * no equivalent of, an Autodiscovery template. With no source left and
 * no sources:, the configuration is an error.
 */
START_TEST(skips)
{
	struct ls_conf *c;
	char *errs, *skipped, *want;

	put("confd/misc.d/conf.yaml",
	    "logs:\n"
	    "  - type: udp\n"
	    "    port: 10514\n"
	    "  - type: journald\n"
	    "  - type: docker\n"
	    "  - type: windows_event\n"
	    "    channel_path: System\n"
	    "  - type: file\n"
	    "    path: /var/log/u16.log\n"
	    "    encoding: utf-16-le\n"
	    "  - type: file\n"
	    "    path: /var/log/f.log\n"
	    "    start_position: forceBeginning\n"
	    "  - type: file\n"
	    "    path: /var/log/f.log\n"
	    "    fingerprint_config: { count: 1 }\n"
	    "  - type: file\n"
	    "    path: /var/log/ok.log\n"
	    "    encoding: UTF-8\n");
	put("confd/redis.d/auto_conf.yaml",
	    "ad_identifiers: [redis]\n"
	    "logs:\n"
	    "  - type: file\n"
	    "    path: /var/log/redis.log\n");
	c = load("datadog_agent_confd: [confd]\n" DST, &errs, &skipped);
	ck_assert_msg(c != NULL, "errors: %s", errs);
	ck_assert_uint_eq(c->nsources, 1);
	ck_assert_str_eq(c->sources[0].name, "misc");
	ck_assert_str_eq(c->sources[0].paths[0], "/var/log/ok.log");
	ls_conf_free(c);
	want = at("@/confd/misc.d/conf.yaml:2:5: logs[0] (type udp) skipped: "
		  "logshipd listens on no port: it reads files\n"
		  "@/confd/misc.d/conf.yaml:4:5: logs[1] (type journald) "
		  "skipped: the journal is not read from the Agent's files\n"
		  "@/confd/misc.d/conf.yaml:5:5: logs[2] (type docker) "
		  "skipped: logshipd does not read containers' logs\n"
		  "@/confd/misc.d/conf.yaml:6:5: logs[3] (type windows_event) "
		  "skipped: logshipd does not run on Windows\n"
		  "@/confd/misc.d/conf.yaml:10:15: logs[4] (type file) "
		  "skipped: encoding utf-16-le is not read (logshipd reads "
		  "UTF-8)\n"
		  "@/confd/misc.d/conf.yaml:13:21: logs[5] (type file) "
		  "skipped: start_position forceBeginning ignores the saved "
		  "position, which logshipd always resumes from\n"
		  "@/confd/misc.d/conf.yaml:14:5: logs[6] (type file) "
		  "skipped: key \"fingerprint_config\" (line 16) has no "
		  "logshipd equivalent\n"
		  "@/confd/redis.d/auto_conf.yaml:3:5: logs[0] (type file) "
		  "skipped: an Autodiscovery template (ad_identifiers) is for "
		  "containers\n");
	ck_assert_str_eq(skipped, want);
	free(want);
	free(errs);
	free(skipped);

	/* Nothing left to read. */
	put("confd/misc.d/conf.yaml", "logs:\n  - type: tcp\n    port: 1\n");
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/main.yaml:1:22: datadog_agent_confd: no logs entry of type "
	    "file was found, and sources: is not set: nothing to read\n");
}
END_TEST

/*
 * Errors in an Agent file are reported at its own line and column, after
 * the main file's: a bad path, a bad rule, a bad start_position, a
 * missing type; a syntax error; a conf.d that is not there.
 */
START_TEST(errors)
{
	put("confd/a.d/conf.yaml",
	    "logs:\n"
	    "  - type: file\n"
	    "    path: relative/x.log\n"
	    "    start_position: middle\n"
	    "    log_processing_rules:\n"
	    "      - type: drop_it\n"
	    "        name: r\n"
	    "        pattern: x\n"
	    "  - path: /var/log/x.log\n"
	    "  - type: file\n"
	    "    service: s\n");
	put("confd/b.d/conf.yaml", "logs:\n  - type: file\n    path: [a\n");
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/confd/a.d/conf.yaml:3:11: logs[0].path: \"relative/x.log\" is "
	    "not an absolute path (it must start with /)\n"
	    "@/confd/a.d/conf.yaml:4:21: logs[0].start_position: bad value "
	    "\"middle\" (expected beginning, end, forceBeginning or "
	    "forceEnd)\n"
	    "@/confd/a.d/conf.yaml:6:15: "
	    "logs[0].log_processing_rules[0].type: unknown rule type "
	    "\"drop_it\" (expected exclude_at_match, include_at_match, "
	    "mask_sequences or multi_line)\n"
	    "@/confd/a.d/conf.yaml:9:5: logs[1].type: a string is required "
	    "(file, tcp, udp, journald...)\n"
	    "@/confd/a.d/conf.yaml:10:5: logs[2]: missing required key "
	    "\"path\"\n"
	    "@/confd/b.d/conf.yaml:4:1: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at line 3)\n");
	expect_errs("datadog_agent_confd: /nonexistent/conf.d\n" DST,
	    "@/main.yaml:1:22: datadog_agent_confd: cannot open "
	    "/nonexistent/conf.d: No such file or directory\n");
}
END_TEST

/*
 * A key twice where logshipd looks before the schema does (logs at the
 * top, type in an entry): the Agent's YAML reader takes the last, so
 * the first would read other entries than the Agent does (here none,
 * where the Agent reads a file). An error at the second.
 */
START_TEST(duplicate_keys)
{
	put("confd/a.d/conf.yaml",
	    "logs:\n"
	    "  - type: tcp\n"
	    "    port: 1\n"
	    "logs:\n"
	    "  - type: file\n"
	    "    path: /var/log/a.log\n");
	put("confd/b.d/conf.yaml",
	    "logs:\n"
	    "  - type: tcp\n"
	    "    type: file\n"
	    "    path: /var/log/b.log\n");
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/confd/a.d/conf.yaml:4:1: duplicate key \"logs\" (first at "
	    "line 1)\n"
	    "@/confd/b.d/conf.yaml:3:5: duplicate key \"type\" in logs[0] "
	    "(first at line 2)\n");
}
END_TEST

/*
 * More sources than a record's 16-bit source index holds (conf.h:
 * LS_MAX_SOURCES): an error, where the 65,537th source's records would
 * have been routed as the first's. Three files of 22,000 entries (each
 * under the 1 MiB cap).
 */
START_TEST(too_many)
{
	static const char e[] = "{type: file, path: /a}, ";
	char *text, name[32];
	size_t i, n = 22000, len;
	int f;

	text = malloc(sizeof e * n + 16);
	ck_assert_ptr_nonnull(text);
	len = (size_t)sprintf(text, "logs: [");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s", e);
	sprintf(text + len - 2, "]\n");
	for (f = 0; f < 3; f++) {
		snprintf(name, sizeof name, "confd/i%d.yaml", f);
		put(name, text);
	}
	free(text);
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/main.yaml:1:22: datadog_agent_confd: 66000 sources with "
	    "those of this file, more than 65535\n");
}
END_TEST

/* A name an Agent entry makes that a YAML source has: an error at the
 * entry, naming the other place. */
START_TEST(name_clash)
{
	put("confd/nginx.d/conf.yaml", nginx);
	expect_errs("datadog_agent_confd: confd\n"
		    "sources:\n"
		    "  - paths: [/a.log]\n"
		    "    name: nginx#2\n" DST,
	    "@/confd/nginx.d/conf.yaml:14:5: logs: the source this entry "
	    "makes is named \"nginx#2\", as is the source at @/main.yaml:4: "
	    "rename that one\n");
}
END_TEST

/* Files and directories that are symbolic links are refused; a file
 * named directly is read, of the integration its directory names (the
 * directories of a path the main file writes are the administrator's),
 * or its own name in conf.d. */
START_TEST(links)
{
	struct ls_conf *c;
	char from[512], to[512], *errs, *skipped;

	put("real/conf.yaml", nginx);
	put("confd/app.d/x.yaml.example", "not: read\n");
	snprintf(to, sizeof to, "%s/real/conf.yaml", dir);
	snprintf(from, sizeof from, "%s/confd/app.d/conf.yaml", dir);
	ck_assert_int_eq(symlink(to, from), 0);
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/confd/app.d/conf.yaml:1:1: cannot read it: a symbolic link "
	    "(refused)\n");
	expect_errs("datadog_agent_confd: [confd/app.d/conf.yaml]\n" DST,
	    "@/confd/app.d/conf.yaml:1:1: cannot read it: a symbolic link "
	    "(refused)\n");
	unlink(from);
	snprintf(to, sizeof to, "%s/real", dir);
	snprintf(from, sizeof from, "%s/confd/web.d", dir);
	ck_assert_int_eq(symlink(to, from), 0);
	expect_errs("datadog_agent_confd: confd\n" DST,
	    "@/main.yaml:1:22: datadog_agent_confd: @/confd/web.d is a "
	    "symbolic link (refused)\n");
	c = load("datadog_agent_confd: [confd/web.d/conf.yaml]\n" DST, &errs,
	    &skipped);
	ck_assert_msg(c != NULL, "errors: %s", errs);
	ck_assert_uint_eq(c->nsources, 2);
	ck_assert_str_eq(c->sources[0].name, "web");
	ck_assert_str_eq(c->sources[1].name, "web#2");
	ls_conf_free(c);
	free(errs);
	free(skipped);
	/* A file of the Agent's own conf.d named directly is of the
	 * integration its name says, as there: nginx, not "conf". */
	put("conf.d/nginx.yaml", nginx);
	c = load(
	    "datadog_agent_confd: [conf.d/nginx.yaml]\n" DST, &errs, &skipped);
	ck_assert_msg(c != NULL, "errors: %s", errs);
	ck_assert_uint_eq(c->nsources, 2);
	ck_assert_str_eq(c->sources[0].name, "nginx");
	ck_assert_str_eq(c->sources[1].name, "nginx#2");
	ls_conf_free(c);
	free(errs);
	free(skipped);
}
END_TEST

/*
 * Names and order: files in byte order of their names whatever order they
 * were made in, <name>.yaml beside <name>.d counted with it, empty files
 * and other suffixes ignored; the same every load. ${VAR} in an Agent
 * file is text.
 */
START_TEST(order)
{
	struct ls_conf *c;
	char *errs, *skipped;
	const char *names[] = { "b", "b#2", "b#3", "b#4", "z", "B" };
	int round;
	size_t i;

	put("confd/z.yaml",
	    "logs: [{type: file, path: /z.log, service: \"${NOPE}\"}]\n");
	put("confd/b.d/zz.yml", "logs: [{type: file, path: /b3.log}]\n");
	put("confd/b.d/conf.yaml",
	    "logs: [{type: file, path: /b1.log}, {type: file, path: /b2}]\n");
	put("confd/b.yaml", "logs: [{type: file, path: /b4.log}]\n");
	put("confd/b.d/empty.yaml", "");
	put("confd/b.d/conf.yaml.default", "logs: [{type: file, path: /n}]\n");
	put("confd/B.d/conf.yaml", "logs: [{type: file, path: /B.log}]\n");
	put("confd/notes.txt", "logs: [{type: file, path: /n}]\n");
	for (round = 0; round < 2; round++) {
		c = load("datadog_agent_confd: confd\n" DST, &errs, &skipped);
		ck_assert_msg(c != NULL, "errors: %s", errs);
		ck_assert_uint_eq(c->nsources, 6);
		/* "B.d" < "b.d" < "b.yaml" < "z.yaml" in bytes. */
		ck_assert_str_eq(c->sources[0].name, names[5]);
		for (i = 1; i < 6; i++)
			ck_assert_str_eq(c->sources[i].name, names[i - 1]);
		ck_assert_str_eq(c->sources[3].paths[0], "/b3.log");
		ck_assert_str_eq(c->sources[4].paths[0], "/b4.log");
		ck_assert_str_eq(c->sources[5].service, "${NOPE}");
		ls_conf_free(c);
		free(errs);
		free(skipped);
	}
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("conf_agent");
	tc = tcase_create("agent");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mapping);
	tcase_add_test(tc, skips);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, name_clash);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, too_many);
	tcase_add_test(tc, links);
	tcase_add_test(tc, order);
	suite_add_tcase(s, tc);
	return ls_test_run(s);
}
