/*
 * check_multiline: "multiline: auto" on a corpus of real-looking logs:
 * Java, Python (chained), Go, Ruby, Node and .NET traces after log lines
 * of many time formats, and printed alone (a program's stderr); plain
 * lines without a time, JSON lines, syslog and glog lines. Every trace
 * must be one entry with its log line, and no two entries merged: the
 * lines are fed one by one as the tailer does (the first line of a file
 * always begins an entry) and the entries rebuilt are compared with the
 * corpus's, entry by entry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "multiline.h"
#include "testutil.h"

/* Entries: lines separated by '\n'; the corpus ends with NULL. */
static const char *const corpus[] = {
	"2026-11-23T10:00:00.123Z INFO starting",
	"2026-11-23T10:00:01.000Z ERROR request failed\n"
	"java.lang.IllegalStateException: boom\n"
	"\tat com.example.Handler.handle(Handler.java:42)\n"
	"\tat com.example.Server.run(Server.java:10)\n"
	"Caused by: java.io.IOException: closed\n"
	"\tat com.example.Conn.read(Conn.java:7)\n"
	"\t... 2 more",
	"2026-11-23 10:00:02,345 ERROR [worker] job failed\n"
	"Traceback (most recent call last):\n"
	"  File \"/app/job.py\", line 10, in run\n"
	"    step()\n"
	"KeyError: 'x'\n"
	"\n"
	"During handling of the above exception, another exception occurred:\n"
	"\n"
	"Traceback (most recent call last):\n"
	"  File \"/app/job.py\", line 12, in run\n"
	"    raise ValueError(\"boom\")\n"
	"ValueError: boom",
	"2026/11/23 10:00:03 http: panic serving 10.0.0.1:1234: boom\n"
	"goroutine 7 [running]:\n"
	"net/http.(*conn).serve.func1()\n"
	"\t/usr/lib/go/src/net/http/server.go:1825 +0xbf\n"
	"panic({0x6e2b40, 0xc000012345})\n"
	"\t/usr/lib/go/src/runtime/panic.go:844 +0x258",
	"Nov 23 10:00:04 host app[123]: WARN disk at 91%",
	"E1123 10:00:05.000000    42 main.go:10] connection lost",
	"[2026-11-23 10:00:06] ERROR: x.rb:1:in `foo': boom (RuntimeError)\n"
	"\tfrom x.rb:5:in `<main>'",
	"{\"level\":\"error\",\"msg\":\"json line\",\"time\":1763892000}",
	"{\"level\":\"info\",\"msg\":\"another\"}",
	"1763892007.5 node worker started",
	"2026-11-23T10:00:08Z ERROR unhandled\n"
	"Error: connect ECONNREFUSED 127.0.0.1:5432\n"
	"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1187:16)",
	"2026-11-23T10:00:09Z ERROR dotnet\n"
	"System.InvalidOperationException: boom\n"
	"   at App.Run() in /src/App.cs:line 10\n"
	"--- End of stack trace from previous location ---\n"
	"   at App.Main() in /src/App.cs:line 3",
	"time=\"2026-11-23T10:00:10Z\" level=info msg=logfmt",
	"level=warn msg=\"logfmt without time\"",
	"INFO: plain level word line",
	"[WARN] bracketed level",
	/* Lines without a time or a level: each its own entry. */
	"server listening on :8080",
	"connected to database",
	"cache warmed: 1200 keys",
	/* Traces printed alone (a program's stderr). */
	"Traceback (most recent call last):\n"
	"  File \"/app/cli.py\", line 3, in <module>\n"
	"    main()\n"
	"RuntimeError: alone",
	"plain again after a python trace",
	"Exception in thread \"main\" java.lang.NullPointerException\n"
	"\tat Main.main(Main.java:5)",
	"plain again after a java trace",
	"panic: runtime error: index out of range [3] with length 3\n"
	"\n"
	"goroutine 1 [running]:\n"
	"main.main()\n"
	"\t/tmp/x/main.go:8 +0x1d",
	"plain again after a go panic",
	"Error: node alone\n"
	"    at Object.<anonymous> (/app/x.js:1:7)\n"
	"    at node:internal/main/run_main_module:23:47",
	"System.Exception: dotnet alone\n"
	"   at X.Y() in C:\\x.cs:line 10",
	"x.rb:1:in `foo': ruby alone (RuntimeError)\n"
	"\tfrom x.rb:5:in `<main>'",
	"last plain line",
	NULL,
};

START_TEST(corpus_entries)
{
	struct ls_ml_auto a = { 0, 0, 0 };
	char *all, *line, *next, *got[256];
	size_t i, n = 0, len, cap = 0;
	int first = 1;

	for (i = 0; corpus[i] != NULL; i++)
		cap += strlen(corpus[i]) + 1;
	ck_assert_ptr_nonnull(all = malloc(cap + 1));
	all[0] = '\0';
	for (i = 0; corpus[i] != NULL; i++) {
		strcat(all, corpus[i]);
		strcat(all, "\n");
	}
	/* Feed the lines; rebuild the entries. */
	for (line = all; *line != '\0'; line = next + 1) {
		next = strchr(line, '\n');
		len = (size_t)(next - line);
		if (ls_ml_auto_starts(&a, line, len) || first) {
			ck_assert_uint_lt(n, 256);
			ck_assert_ptr_nonnull(got[n] = strndup(line, len));
			n++;
			first = 0;
		} else {
			size_t old = strlen(got[n - 1]);

			got[n - 1] = realloc(got[n - 1], old + len + 2);
			got[n - 1][old] = '\n';
			memcpy(got[n - 1] + old + 1, line, len);
			got[n - 1][old + 1 + len] = '\0';
		}
	}
	for (i = 0; corpus[i] != NULL && i < n; i++)
		ck_assert_msg(strcmp(got[i], corpus[i]) == 0,
		    "entry %zu:\n--- got\n%s\n--- want\n%s", i, got[i],
		    corpus[i]);
	ck_assert_msg(corpus[i] == NULL && i == n, "%zu entries, want %zu", n,
	    i + (corpus[i] != NULL));
	for (i = 0; i < n; i++)
		free(got[i]);
	free(all);
}
END_TEST

START_TEST(heads)
{
	static const char *const yes[] = { "2026-11-23T10:00:00Z x",
		"2026-11-23 10:00 x", "2026/11/23 10:00:00 x",
		"[2026-11-23 10:00:00] x", "Nov  3 10:00:00 host x",
		"1763892000 x", "1763892000123 x", "I1123 10:00:00.1 x",
		"ERROR x", "WARN: x", "[INFO] x", "{\"a\":1}", "time=x",
		"level=info x" };
	static const char *const no[] = { "  2026-11-23T10:00:00Z x",
		"error in lower case", "ERRORS x", "Nov 23 x", "176389200 x",
		"\tat x", "", "x", "2026-11-23", "Novx23 10:00:00 x" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof *yes; i++)
		ck_assert_msg(
		    ls_ml_is_head(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (i = 0; i < sizeof no / sizeof *no; i++)
		ck_assert_msg(
		    !ls_ml_is_head(no[i], strlen(no[i])), "%s", no[i]);
}
END_TEST

static Suite *
multiline_suite(void)
{
	Suite *s = suite_create("multiline");
	TCase *tc = tcase_create("auto");

	tcase_add_test(tc, corpus_entries);
	tcase_add_test(tc, heads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(multiline_suite());
}
