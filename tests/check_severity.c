/*
 * check_severity: level words, JSON level fields and the keyword scan.
 *
 * Most cases are rows of a table, one line and the severity expected of
 * it, so a new log format is one more row.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "severity.h"
#include "testutil.h"

/* The default the detect rows use: distinct from every row's answer that
 * is meant to come from the line. */
#define DFLT LS_SEV_NOTICE

struct row {
	const char *line;
	enum ls_severity want;
};

static const struct {
	const char *word;
	enum ls_severity want;
} parse_rows[] = {
	{ "emerg", LS_SEV_EMERGENCY },
	{ "EMERGENCY", LS_SEV_EMERGENCY },
	{ "Panic", LS_SEV_EMERGENCY },
	{ "alert", LS_SEV_ALERT },
	{ "crit", LS_SEV_CRITICAL },
	{ "CRITICAL", LS_SEV_CRITICAL },
	{ "fatal", LS_SEV_CRITICAL },
	{ "err", LS_SEV_ERROR },
	{ "Error", LS_SEV_ERROR },
	{ "eror", LS_SEV_ERROR },
	{ "warn", LS_SEV_WARNING },
	{ "WARNING", LS_SEV_WARNING },
	{ "notice", LS_SEV_NOTICE },
	{ "info", LS_SEV_INFO },
	{ "information", LS_SEV_INFO },
	{ "INFORMATIONAL", LS_SEV_INFO },
	{ "debug", LS_SEV_DEBUG },
	{ "dbg", LS_SEV_DEBUG },
	{ "TRACE", LS_SEV_DEBUG },
	{ "verbose", LS_SEV_DEBUG },
	{ "0", LS_SEV_EMERGENCY },
	{ "1", LS_SEV_ALERT },
	{ "2", LS_SEV_CRITICAL },
	{ "3", LS_SEV_ERROR },
	{ "4", LS_SEV_WARNING },
	{ "5", LS_SEV_NOTICE },
	{ "6", LS_SEV_INFO },
	{ "7", LS_SEV_DEBUG },
};

static const char *const parse_bad[] = { "", "8", "-1", "07", "errors", "inf",
	"warnings", "information1", "in fo", "ok", "success", "informationalx",
	"e", "debug ", " info" };

START_TEST(parse_words)
{
	enum ls_severity sev = LS_SEV_COUNT;
	const char *w = parse_rows[_i].word;

	ck_assert_msg(ls_severity_parse(w, strlen(w), &sev) == 0, "%s", w);
	ck_assert_msg(sev == parse_rows[_i].want, "%s: got %d", w, sev);
}
END_TEST

START_TEST(parse_rejects)
{
	enum ls_severity sev = LS_SEV_COUNT;
	const char *w = parse_bad[_i];

	ck_assert_msg(ls_severity_parse(w, strlen(w), &sev) == -1, "'%s'", w);
	ck_assert_int_eq(sev, LS_SEV_COUNT);
}
END_TEST

START_TEST(parse_uses_len)
{
	enum ls_severity sev;

	/* Not NUL-terminated at len: only len bytes count. */
	ck_assert_int_eq(ls_severity_parse("errors", 5, &sev), 0);
	ck_assert_int_eq(sev, LS_SEV_ERROR);
	ck_assert_int_eq(ls_severity_parse("warnx", 4, &sev), 0);
	ck_assert_int_eq(sev, LS_SEV_WARNING);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(ls_severity_name(LS_SEV_EMERGENCY), "emergency");
	ck_assert_str_eq(ls_severity_name(LS_SEV_ALERT), "alert");
	ck_assert_str_eq(ls_severity_name(LS_SEV_CRITICAL), "critical");
	ck_assert_str_eq(ls_severity_name(LS_SEV_ERROR), "error");
	ck_assert_str_eq(ls_severity_name(LS_SEV_WARNING), "warning");
	ck_assert_str_eq(ls_severity_name(LS_SEV_NOTICE), "notice");
	ck_assert_str_eq(ls_severity_name(LS_SEV_INFO), "info");
	ck_assert_str_eq(ls_severity_name(LS_SEV_DEBUG), "debug");
}
END_TEST

START_TEST(names_round_trip)
{
	enum ls_severity sev;
	const char *n = ls_severity_name((enum ls_severity)_i);

	ck_assert_int_eq(ls_severity_parse(n, strlen(n), &sev), 0);
	ck_assert_int_eq(sev, _i);
}
END_TEST

static const struct row plain_rows[] = {
	/* Upper-case words anywhere in the first 128 bytes. */
	{ "2024-01-01 12:00:00 ERROR x", LS_SEV_ERROR },
	{ "2024-01-01T12:00:00.123Z WARN [main] c.e.Foo - slow",
	    LS_SEV_WARNING },
	{ "2024-01-01 12:00:00,123 INFO  o.a.k.Server: started", LS_SEV_INFO },
	{ "12:00:00.000 [main] DEBUG com.example.App - x", LS_SEV_DEBUG },
	{ "TRACE entering f()", LS_SEV_DEBUG },
	{ "FATAL: out of memory", LS_SEV_CRITICAL },
	{ "CRIT disk full", LS_SEV_CRITICAL },
	{ "ERR something", LS_SEV_ERROR },
	{ "WARNING:root:careful", LS_SEV_WARNING },
	{ "INFO:werkzeug:127.0.0.1 - GET /", LS_SEV_INFO },
	{ "NOTICE: shutting down", LS_SEV_NOTICE },
	{ "ALERT raid degraded", LS_SEV_ALERT },
	{ "EMERG kernel panic", LS_SEV_EMERGENCY },
	{ "PANIC: runtime error", LS_SEV_EMERGENCY },
	{ "2024/01/01 12:00:00 [ERROR] db: timeout", LS_SEV_ERROR },
	{ "   ERROR indented", LS_SEV_ERROR },
	/* Enclosed, any case. */
	{ "[warn] x", LS_SEV_WARNING },
	{ "[error] x", LS_SEV_ERROR },
	{ "<warn> x", LS_SEV_WARNING },
	{ "(info) x", LS_SEV_INFO },
	{ "[Notice] x", LS_SEV_NOTICE },
	{ "[ info ] padded", LS_SEV_INFO },
	{ "[Mon Jan 01 12:00:00.000 2024] [core:error] [pid 1] x",
	    LS_SEV_ERROR }, /* Apache 2.4: [module:level] */
	{ "[Mon Jan 01 12:00:00 2024] [mpm_event:notice] [pid 1] x",
	    LS_SEV_NOTICE },
	{ "x core:error] y", DFLT },
	{ "x [a b:error] y", DFLT },
	{ "[Mon Jan 01 12:00:00 2024] [error] [client 1.2.3.4] x",
	    LS_SEV_ERROR },
	{ "2024/01/01 12:00:00 [crit] 123#0: *1 x", LS_SEV_CRITICAL },
	{ "2024/01/01 12:00:00 [emerg] 1#1: bind() failed", LS_SEV_EMERGENCY },
	/* Keyed: logfmt and friends. */
	{ "level=info msg=\"started\"", LS_SEV_INFO },
	{ "ts=2024-01-01T00:00:00Z level=warn caller=x.go:1 msg=y",
	    LS_SEV_WARNING },
	{ "time=\"2024-01-01\" level=error msg=\"boom\"", LS_SEV_ERROR },
	{ "level=\"debug\" msg=x", LS_SEV_DEBUG },
	{ "lvl=crit msg=x", LS_SEV_CRITICAL },
	{ "severity=notice x", LS_SEV_NOTICE },
	{ "Level: warning something", LS_SEV_WARNING },
	{ "LEVEL=Trace x", LS_SEV_DEBUG },
	{ "loglevel=err x", LS_SEV_ERROR },
	{ "log.level=info x", LS_SEV_INFO },
	{ "t=1 level='alert' x", LS_SEV_ALERT },
	/* JSON that does not parse still has a keyed word. */
	{ "{\"level\":\"warn\",\"msg\":\"cut", LS_SEV_WARNING },
	/* glog: letter, MMDD, space. */
	{ "E0101 12:00:00.000000   123 main.cc:10] bad", LS_SEV_ERROR },
	{ "W1123 12:00:00.000000   123 main.cc:10] hmm", LS_SEV_WARNING },
	{ "I1123 12:00:00.000000   123 main.cc:10] ok", LS_SEV_INFO },
	{ "F1123 12:00:00.000000   123 main.cc:10] dead", LS_SEV_CRITICAL },
	/* The first marked word wins. */
	{ "WARN retrying after ERROR", LS_SEV_WARNING },
	{ "user error, then [info] x", LS_SEV_INFO },
	/* Level words in running text are not levels. */
	{ "user info updated", DFLT },
	{ "errors=0 warnings=0", DFLT },
	{ "no error found", DFLT },
	{ "Error: lower-case start", DFLT },
	{ "ERRORS: 0", DFLT },
	{ "INFOS", DFLT },
	{ "WARNINGS 3", DFLT },
	{ "ERROR_CODE=5 x", DFLT },
	{ "XERROR y", DFLT },
	{ "E_ERROR y", DFLT },
	{ "ERROR2 y", DFLT },
	{ "see /var/log/error.log", DFLT },
	{ "xlevel=info", DFLT },
	{ "[errors] x", DFLT },
	{ "EA123 x", DFLT },
	{ "E12 x", DFLT },
	{ "E12345 x", DFLT },
	{ "Q0101 12:00:00", DFLT },
	{ "GET /index.html 200", DFLT },
	{ "", DFLT },
	{ "   ", DFLT },
	{ "{", DFLT },
	{ "{}", DFLT },
};

START_TEST(detect_plain)
{
	const struct row *r = &plain_rows[_i];

	ck_assert_msg(
	    ls_severity_detect(r->line, strlen(r->line), DFLT) == r->want,
	    "'%s': got %d, want %d", r->line,
	    ls_severity_detect(r->line, strlen(r->line), DFLT), r->want);
}
END_TEST

START_TEST(detect_window)
{
	char line[512];

	/* A word starting in the first 128 bytes counts... */
	memset(line, 'x', sizeof line);
	line[0] = ' ';
	memcpy(line + 120, " ERROR ", 7);
	ck_assert_int_eq(
	    ls_severity_detect(line, sizeof line, DFLT), LS_SEV_ERROR);
	/* ...even when it ends past them... */
	memset(line, ' ', sizeof line);
	memcpy(line + 126, "ERROR", 5);
	ck_assert_int_eq(
	    ls_severity_detect(line, sizeof line, DFLT), LS_SEV_ERROR);
	/* ...but a longer word cut at 128 is not taken for a level... */
	memset(line, ' ', sizeof line);
	memcpy(line + 125, "ERRORS", 6);
	ck_assert_int_eq(ls_severity_detect(line, sizeof line, DFLT), DFLT);
	/* ...and one starting after them does not count. */
	memset(line, ' ', sizeof line);
	memcpy(line + 200, "ERROR", 5);
	ck_assert_int_eq(ls_severity_detect(line, sizeof line, DFLT), DFLT);
}
END_TEST

START_TEST(detect_uses_len)
{
	/* Bytes past len are not looked at, and no NUL is needed. */
	ck_assert_int_eq(ls_severity_detect("abc ERROR", 4, DFLT), DFLT);
	ck_assert_int_eq(ls_severity_detect("ERRORS", 5, DFLT), LS_SEV_ERROR);
	ck_assert_int_eq(ls_severity_detect("x\0ERROR", 7, DFLT), LS_SEV_ERROR);
}
END_TEST

START_TEST(detect_default)
{
	ck_assert_int_eq(
	    ls_severity_detect("hello", 5, LS_SEV_DEBUG), LS_SEV_DEBUG);
	ck_assert_int_eq(
	    ls_severity_detect("hello", 5, LS_SEV_ALERT), LS_SEV_ALERT);
	ck_assert_int_eq(ls_severity_detect(NULL, 0, LS_SEV_INFO), LS_SEV_INFO);
}
END_TEST

static const struct row json_rows[] = {
	{ "{\"level\":\"error\",\"msg\":\"x\"}", LS_SEV_ERROR },
	{ "{\"severity\":\"WARNING\"}", LS_SEV_WARNING },
	{ "{\"status\":\"info\"}", LS_SEV_INFO },
	{ "{\"lvl\":\"dbg\"}", LS_SEV_DEBUG },
	{ "{\"log.level\":\"fatal\"}", LS_SEV_CRITICAL },
	{ "{\"log\":{\"level\":\"crit\"}}", LS_SEV_CRITICAL },
	{ "{\"@timestamp\":\"2024\",\"log\":{\"level\":\"warn\",\"logger\":"
	  "\"x\"},\"message\":\"m\"}",
	    LS_SEV_WARNING },
	{ "  {\"level\":\"info\"}  ", LS_SEV_INFO },
	/* Numbers: syslog's 0-7. */
	{ "{\"level\":3}", LS_SEV_ERROR },
	{ "{\"severity\":0}", LS_SEV_EMERGENCY },
	{ "{\"level\":7}", LS_SEV_DEBUG },
	{ "{\"level\":\"4\"}", LS_SEV_WARNING },
	/* pino's and bunyan's (the man page's table, line by line). */
	{ "{\"level\":10,\"msg\":\"x\"}", LS_SEV_DEBUG },
	{ "{\"level\":20,\"msg\":\"x\"}", LS_SEV_DEBUG },
	{ "{\"level\":30,\"msg\":\"x\"}", LS_SEV_INFO },
	{ "{\"level\":40,\"msg\":\"x\"}", LS_SEV_WARNING },
	{ "{\"level\":50,\"msg\":\"x\"}", LS_SEV_ERROR },
	{ "{\"level\":60,\"msg\":\"x\"}", LS_SEV_CRITICAL },
	{ "{\"level\":70,\"msg\":\"x\"}", DFLT },
	{ "{\"level\":35,\"msg\":\"x\"}", DFLT },
	/* Python logging's, under levelno (levelname holds the word). */
	{ "{\"levelno\":10,\"msg\":\"x\"}", LS_SEV_DEBUG },
	{ "{\"levelno\":20,\"msg\":\"x\"}", LS_SEV_INFO },
	{ "{\"levelno\":30,\"msg\":\"x\"}", LS_SEV_WARNING },
	{ "{\"levelno\":40,\"msg\":\"x\"}", LS_SEV_ERROR },
	{ "{\"levelno\":50,\"msg\":\"x\"}", LS_SEV_CRITICAL },
	{ "{\"levelno\":60,\"msg\":\"x\"}", DFLT },
	{ "{\"levelname\":\"WARNING\",\"levelno\":30}", LS_SEV_WARNING },
	/* Word levels of these loggers. */
	{ "{\"level\":\"trace\"}", LS_SEV_DEBUG },
	{ "{\"level\":\"fatal\"}", LS_SEV_CRITICAL },
	{ "{\"level\":-1}", DFLT },
	{ "{\"level\":3.0}", DFLT },
	/* A key that is no level lets the next one speak. */
	{ "{\"status\":200,\"level\":\"error\"}", LS_SEV_ERROR },
	{ "{\"level\":\"loud\",\"severity\":\"alert\"}", LS_SEV_ALERT },
	{ "{\"level\":null,\"log\":{\"level\":\"notice\"}}", LS_SEV_NOTICE },
	/* The JSON field beats words in the message. */
	{ "{\"level\":\"info\",\"msg\":\"ERROR in upstream\"}", LS_SEV_INFO },
	/* No level field: the keyword scan runs on the text. */
	{ "{\"msg\":\"FATAL boom\"}", LS_SEV_CRITICAL },
	{ "{\"msg\":\"user info updated\"}", DFLT },
	{ "{\"log\":\"x\"}", DFLT },
	{ "{\"log\":{\"lvl\":\"error\"}}", LS_SEV_ERROR },
	/* Invalid JSON falls back to the scan. */
	{ "{not json} ERROR", LS_SEV_ERROR },
	{ "{\"a\":1,} [warn]", LS_SEV_WARNING },
	{ "{\"level\":\"error\"", LS_SEV_ERROR },
	/* Text after the object: the first marked word is the key's. */
	{ "{\"level\":\"info\"} trailing ERROR", LS_SEV_INFO },
	{ "{\"a\":\"\\u0000\", \"level\":\"error\"}", LS_SEV_ERROR },
	{ "{\"a\": \"x\"}}", DFLT },
	/* Not an object. */
	{ "[\"level\",\"error\"]", DFLT },
	{ "\"level\"", DFLT },
};

START_TEST(detect_json)
{
	const struct row *r = &json_rows[_i];

	ck_assert_msg(
	    ls_severity_detect(r->line, strlen(r->line), DFLT) == r->want,
	    "'%s': got %d, want %d", r->line,
	    ls_severity_detect(r->line, strlen(r->line), DFLT), r->want);
}
END_TEST

/*
 * The JSON scan against a real parser: random objects made and printed by
 * jansson, their level found the way a parse would find it (the first key
 * of level, severity, status, lvl, log.level holding a level word or 0-7,
 * then log.level), must be what ls_severity_detect() says. Other values
 * hold no level words, so a line without a JSON level gets the default.
 */
static uint32_t
rnd32(uint64_t *st)
{
	*st = *st * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*st >> 33);
}

/* mode 1: a level key's value (level words allowed, here only); mode 2:
 * the value of "log" (its "level" gets mode 1); mode 0: neither. */
static json_t *
random_value(uint64_t *st, int depth, int mode)
{
	static const char *const words[] = { "error", "WARN", "Info", "dbg",
		"fatal", "notice", "loud", "", "7", "alert", "x y" };
	static const char *const junk[] = { "a \"quoted\" b", "back\\slash",
		"new\nline", "caf\u00e9", "{\"not\":1}", "[1,2]", "}", "" };
	json_t *v;
	int i, n;

	switch (rnd32(st) % (depth < 3 ? 8 : 6)) {
	case 0:
	case 1:
		return json_string(mode == 1
			? words[rnd32(st) % (sizeof words / sizeof *words)]
			: junk[rnd32(st) % (sizeof junk / sizeof *junk)]);
	case 2:
		/* Syslog's 0-7, pino's and Python's 10-60, and others. */
		return json_integer(rnd32(st) % 2
			? (json_int_t)(rnd32(st) % 12) - 2
			: (json_int_t)(rnd32(st) % 8) * 10
			    - 5 * (rnd32(st) % 2));
	case 3:
		return json_real(3.0);
	case 4:
		return rnd32(st) % 2 ? json_true() : json_null();
	case 5:
		return json_string("plain words");
	case 6:
		v = json_array();
		n = (int)(rnd32(st) % 4);
		for (i = 0; i < n; i++)
			json_array_append_new(
			    v, random_value(st, depth + 1, 0));
		return v;
	default:
		v = json_object();
		n = (int)(rnd32(st) % 4);
		for (i = 0; i < n; i++) {
			int lv = rnd32(st) % 2;

			json_object_set_new(v, lv ? "level" : "k",
			    random_value(st, depth + 1, lv && mode == 2));
		}
		return v;
	}
}

/* The model's reading of pino's (10 trace .. 60 fatal) and Python's
 * (10 DEBUG .. 50 CRITICAL) numbers. */
static enum ls_severity
level_number(json_int_t n, int python)
{
	switch (n) {
	case 10:
		return LS_SEV_DEBUG;
	case 20:
		return python ? LS_SEV_INFO : LS_SEV_DEBUG;
	case 30:
		return python ? LS_SEV_WARNING : LS_SEV_INFO;
	case 40:
		return python ? LS_SEV_ERROR : LS_SEV_WARNING;
	case 50:
		return python ? LS_SEV_CRITICAL : LS_SEV_ERROR;
	default:
		return LS_SEV_CRITICAL;
	}
}

static enum ls_severity
parsed_level(json_t *root)
{
	static const char *const keys[] = { "level", "severity", "status",
		"lvl", "log.level", "levelname", "levelno" };
	enum ls_severity sev;
	json_t *v, *log;
	size_t k;

	for (k = 0; k <= 7; k++) {
		if (k < 7)
			v = json_object_get(root, keys[k]);
		else if (json_is_object(log = json_object_get(root, "log")))
			v = json_object_get(log, "level");
		else
			break;
		if (json_is_string(v)
		    && ls_severity_parse(
			   json_string_value(v), json_string_length(v), &sev)
			== 0)
			return sev;
		if (json_is_integer(v) && json_integer_value(v) >= 0
		    && json_integer_value(v) <= 7)
			return (enum ls_severity)json_integer_value(v);
		if (json_is_integer(v) && json_integer_value(v) % 10 == 0
		    && json_integer_value(v) >= 10
		    && json_integer_value(v) <= (k == 6 ? 50 : 60))
			return level_number(json_integer_value(v), k == 6);
	}
	return DFLT;
}

START_TEST(detect_json_like_a_parser)
{
	static const char *const keys[] = { "level", "severity", "status",
		"lvl", "log.level", "levelname", "levelno", "log", "msg", "a" };
	uint64_t st = 2026;
	json_t *root;
	char *line;
	int i, k, n;

	for (i = 0; i < 20000; i++) {
		root = json_object();
		n = (int)(rnd32(&st) % 6);
		for (k = 0; k < n; k++) {
			const char *key = keys[rnd32(&st) % 10];

			json_object_set_new(root, key,
			    random_value(&st, 0,
				strcmp(key, "log") == 0
				    ? 2
				    : strcmp(key, "msg") != 0
					&& strcmp(key, "a") != 0));
		}
		line = json_dumps(
		    root, rnd32(&st) % 2 ? JSON_COMPACT : JSON_PRESERVE_ORDER);
		ck_assert_msg(ls_severity_detect(line, strlen(line), DFLT)
			== parsed_level(root),
		    "%s: got %d, want %d", line,
		    ls_severity_detect(line, strlen(line), DFLT),
		    parsed_level(root));
		free(line);
		json_decref(root);
	}
}
END_TEST

START_TEST(detect_json_deep)
{
	static char line[6 * 3000 + 16];
	size_t n = 0, i, depth = _i ? 3000 : 100;

	/* Deep nesting is jansson's to refuse (past 2048); either way
	 * nothing may leak, and no level is found. */
	for (i = 0; i < depth; i++) {
		memcpy(line + n, "{\"a\":", 5);
		n += 5;
	}
	line[n++] = '1';
	for (i = 0; i < depth; i++)
		line[n++] = '}';
	ck_assert_int_eq(ls_severity_detect(line, n, DFLT), DFLT);
}
END_TEST

START_TEST(detect_binary)
{
	char line[300];
	unsigned seed = 1;
	int i, k;

	/* Random bytes: any answer, but a valid one and no crash. */
	for (k = 0; k < 20000; k++) {
		for (i = 0; i < (int)sizeof line; i++) {
			seed = seed * 1103515245u + 12345u;
			line[i] = (char)(seed >> 16);
		}
		line[0] = k % 2 ? '{' : line[0];
		if (ls_severity_detect(line, (size_t)(k % 300), DFLT)
		    >= LS_SEV_COUNT)
			ck_abort_msg("line %d: no severity", k);
	}
}
END_TEST

static Suite *
severity_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("severity");

	tc = tcase_create("parse");
	tcase_add_loop_test(
	    tc, parse_words, 0, sizeof parse_rows / sizeof parse_rows[0]);
	tcase_add_loop_test(
	    tc, parse_rejects, 0, sizeof parse_bad / sizeof parse_bad[0]);
	tcase_add_test(tc, parse_uses_len);
	tcase_add_test(tc, names);
	tcase_add_loop_test(tc, names_round_trip, 0, LS_SEV_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("plain");
	tcase_add_loop_test(
	    tc, detect_plain, 0, sizeof plain_rows / sizeof plain_rows[0]);
	tcase_add_test(tc, detect_window);
	tcase_add_test(tc, detect_uses_len);
	tcase_add_test(tc, detect_default);
	tcase_add_test(tc, detect_binary);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_loop_test(
	    tc, detect_json, 0, sizeof json_rows / sizeof json_rows[0]);
	tcase_add_loop_test(tc, detect_json_deep, 0, 2);
	tcase_add_test(tc, detect_json_like_a_parser);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return ls_test_run(severity_suite());
}
