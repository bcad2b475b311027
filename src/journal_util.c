/*
 * journal_util: the journal source's pure parts (journal.h): which units
 * a source reads, an entry's severity, service and attributes, and the
 * ring of cursors by ordinal. No libsystemd here, so that check_journal.c
 * tests them on any machine.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "journal.h"
#include "log.h"
#include "xmalloc.h"

static int
unit_matches(char *const *pats, size_t n, const char *unit)
{
	const char *dot = strrchr(unit, '.');
	char base[256];
	size_t i, len;
	int service;

	/* "nginx" names nginx.service, as systemctl takes it. */
	service = dot != NULL && strcmp(dot, ".service") == 0
	    && (len = (size_t)(dot - unit)) < sizeof base;
	if (service) {
		memcpy(base, unit, len);
		base[len] = '\0';
	}
	for (i = 0; i < n; i++) {
		if (fnmatch(pats[i], unit, 0) == 0)
			return 1;
		if (service && strchr(pats[i], '.') == NULL
		    && fnmatch(pats[i], base, 0) == 0)
			return 1;
	}
	return 0;
}

int
ls_journal_unit_wanted(const struct ls_conf_source *src, const char *unit)
{
	if (src->nunits > 0
	    && (unit == NULL || !unit_matches(src->units, src->nunits, unit)))
		return 0;
	if (unit != NULL
	    && unit_matches(src->exclude_units, src->nexclude_units, unit))
		return 0;
	return 1;
}

enum ls_severity
ls_journal_severity(const char *prio, size_t plen, const char *msg, size_t mlen,
    enum ls_severity dflt)
{
	int p = -1;

	if (prio != NULL && plen == 1 && *prio >= '0' && *prio <= '7')
		p = *prio - '0';
	if (p >= 0 && p != LS_SEV_INFO)
		return (enum ls_severity)p;
	return ls_severity_detect(
	    msg, mlen, p == LS_SEV_INFO ? LS_SEV_INFO : dflt);
}

const char *
ls_journal_service(char *buf, size_t len, const char *unit, const char *ident)
{
	size_t n;

	if (unit != NULL && *unit != '\0') {
		n = strlen(unit);
		if (n > 8 && strcmp(unit + n - 8, ".service") == 0)
			n -= 8;
		if (n >= len)
			n = len - 1;
		memcpy(buf, unit, n);
		buf[n] = '\0';
		return buf;
	}
	return ident != NULL && *ident != '\0' ? ident : NULL;
}

int
ls_journal_extra(struct ls_buf *b, const char *ident, const char *unit,
    const char *pid, const char *host, int with_host)
{
	static const char *const keys[]
	    = { "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT", "_PID", "_HOSTNAME" };
	const char *vals[] = { ident, unit, pid, host };
	size_t i;
	int any = 0;

	for (i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		ls_buf_append(
		    b, any ? ",\"" : ",\"journald\":{\"", any ? 2 : 14);
		ls_buf_append(b, keys[i], strlen(keys[i]));
		ls_buf_append(b, "\":", 2);
		ls_json_escape(b, vals[i], strlen(vals[i]));
		any = 1;
	}
	if (any)
		ls_buf_putc(b, '}');
	if (with_host && host != NULL) {
		ls_json_field(b, ",\"hostname\":", host);
		return 1;
	}
	return 0;
}

int
ls_journal_cursor_seq(const char *cursor, char sid[33], uint64_t *seq)
{
	const char *s = NULL, *i = NULL, *p;
	char *end;

	for (p = cursor; p != NULL && *p != '\0';) {
		if (strncmp(p, "s=", 2) == 0)
			s = p + 2;
		else if (strncmp(p, "i=", 2) == 0)
			i = p + 2;
		p = strchr(p, ';');
		if (p != NULL)
			p++;
	}
	if (s == NULL || i == NULL || strspn(s, "0123456789abcdef") != 32)
		return -1;
	memcpy(sid, s, 32);
	sid[32] = '\0';
	*seq = strtoull(i, &end, 16);
	if (end == i || (*end != ';' && *end != '\0'))
		return -1;
	return 0;
}

void
ls_jring_init(struct ls_jring *r)
{
	memset(r, 0, sizeof *r);
}

void
ls_jring_cleanup(struct ls_jring *r)
{
	ls_jring_drop_below(r, r->base + r->n);
	free(r->v);
	ls_jring_init(r);
}

void
ls_jring_put(struct ls_jring *r, uint64_t ord, char *cursor)
{
	char **v;
	size_t i, cap;

	if (r->n == 0)
		r->base = ord;
	else if (ord != r->base + r->n)
		fatalx("journal: cursor %llu out of order (expected %llu)",
		    (unsigned long long)ord,
		    (unsigned long long)(r->base + r->n));
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 64 : r->cap * 2;
		v = xcalloc(cap, sizeof *v);
		for (i = 0; i < r->n; i++)
			v[(r->base + i) & (cap - 1)]
			    = r->v[(r->base + i) & (r->cap - 1)];
		free(r->v);
		r->v = v;
		r->cap = cap;
	}
	r->v[ord & (r->cap - 1)] = cursor;
	r->n++;
}

const char *
ls_jring_get(const struct ls_jring *r, uint64_t ord)
{
	if (r->n == 0 || ord < r->base || ord - r->base >= r->n)
		return NULL;
	return r->v[ord & (r->cap - 1)];
}

void
ls_jring_drop_below(struct ls_jring *r, uint64_t ord)
{
	char **v;
	size_t i;

	while (r->n > 0 && r->base < ord) {
		free(r->v[r->base & (r->cap - 1)]);
		r->v[r->base & (r->cap - 1)] = NULL;
		r->base++;
		r->n--;
	}
	/* Shrinks after a burst: memory follows what is outstanding. */
	while (r->cap > 64 && r->n < r->cap / 8) {
		v = xcalloc(r->cap / 2, sizeof *v);
		for (i = 0; i < r->n; i++)
			v[(r->base + i) & (r->cap / 2 - 1)]
			    = r->v[(r->base + i) & (r->cap - 1)];
		free(r->v);
		r->v = v;
		r->cap /= 2;
	}
}
