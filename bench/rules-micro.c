/*
 * rules-micro: the cost of bench/run.py's ten processing rules alone,
 * without the daemon around them: reads a file of lines, applies the
 * rules to every line (repeat times) and prints CPU ns per line and how
 * many lines were dropped and masked. For profiling the rules engine
 * (perf record, valgrind --tool=callgrind) without the tailer and the
 * encoder in the profile. Built by hand from a configured build:
 *
 *   cd build && cc -O2 -I. -I../src ../bench/rules-micro.c libls.a \
 *       $(pkg-config --libs libpcre2-8) -o rules-micro
 *   ./rules-micro /tmp/logshipd-bench/input-1000000.log [repeat [rule]]
 *
 * With a rule's name, that rule alone.
 *
 * The rules are RULES in bench/run.py (keep the two the same).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pattern.h"
#include "rules.h"

static const struct {
	enum ls_rule_type type;
	const char *name, *pattern, *placeholder;
} rules[] = {
	{ LS_RULE_EXCLUDE, "health", "GET /(health|ready)z? ", NULL },
	{ LS_RULE_EXCLUDE, "noisy", "com\\.example\\.noisy", NULL },
	{ LS_RULE_EXCLUDE, "lb_ping", "ELB-HealthChecker", NULL },
	{ LS_RULE_MASK, "email", "[\\w.+-]+@[\\w-]+\\.[\\w.]+", "[email]" },
	{ LS_RULE_MASK, "card", "\\b(?:\\d[ -]?){13,16}\\b", "[card]" },
	{ LS_RULE_MASK, "bearer", "(?i)bearer\\s+[\\w.~+/-]+=*",
	    "Bearer [token]" },
	{ LS_RULE_MASK, "aws_key", "\\bAKIA[0-9A-Z]{16}\\b", "[aws-key]" },
	{ LS_RULE_MASK, "secret", "(?i)\\b(secret|token|api_key)=\\S+",
	    "$1=[secret]" },
	{ LS_RULE_MASK, "ssn", "\\b\\d{3}-\\d{2}-\\d{4}\\b", "[ssn]" },
	{ LS_RULE_MASK, "url_pass", "://([^:/\\s]+):[^@/\\s]+@",
	    "://$1:[pass]@" },
};

int
main(int argc, char **argv)
{
	struct ls_rules *r;
	struct ls_pattern *p;
	struct ls_rule_stats st;
	struct timespec t0, t1;
	char err[128], *data, *s, *e;
	const char *out;
	size_t i, off, len, outlen, n = 0, dropped = 0, sum = 0;
	long sz;
	int k, repeat;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: rules-micro file [repeat]\n");
		return 2;
	}
	repeat = argc > 2 ? atoi(argv[2]) : 1;
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0
	    || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		perror(argv[1]);
		return 1;
	}
	data = malloc((size_t)sz + 1);
	if (data == NULL || fread(data, 1, (size_t)sz, f) != (size_t)sz) {
		perror(argv[1]);
		return 1;
	}
	fclose(f);
	r = ls_rules_new("bench");
	for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (argc > 3 && strcmp(argv[3], rules[i].name) != 0)
			continue;
		p = ls_pattern_new(rules[i].pattern, 0, err, sizeof err, &off);
		if (p == NULL) {
			fprintf(stderr, "%s: %s\n", rules[i].name, err);
			return 1;
		}
		ls_rules_add(
		    r, rules[i].type, rules[i].name, p, rules[i].placeholder);
		ls_pattern_prefilter(p, err, sizeof err);
		printf("  %-8s prefilter: %s\n", rules[i].name,
		    err[0] != '\0' ? err : "none");
		ls_pattern_free(p);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (k = 0; k < repeat; k++) {
		for (s = data; s < data + sz; s = e + 1) {
			if ((e = memchr(s, '\n', (size_t)(data + sz - s)))
			    == NULL)
				e = data + sz;
			len = (size_t)(e - s);
			n++;
			if (ls_rules_apply(r, s, len, &out, &outlen)
			    == LS_RULES_DROP)
				dropped++;
			else
				sum += outlen;
		}
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	printf("%zu lines, %zu dropped, %zu bytes kept, %.1f ns per line "
	       "(%.3f CPU-s per million)\n",
	    n, dropped, sum,
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9
		+ (double)(t1.tv_nsec - t0.tv_nsec))
		/ (double)n,
	    ((double)(t1.tv_sec - t0.tv_sec)
		+ (double)(t1.tv_nsec - t0.tv_nsec) / 1e9)
		* 1e6 / (double)n);
	for (i = 0; i < ls_rules_count(r); i++) {
		ls_rules_stats(r, i, &st);
		printf("  %-8s excluded %llu masked %llu errors %llu\n",
		    st.name, (unsigned long long)st.excluded,
		    (unsigned long long)st.masked,
		    (unsigned long long)st.errors);
	}
	ls_rules_free(r);
	free(data);
	return 0;
}
