/*
 * timestamp: see timestamp.h.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

void
ls_ts_cache_init(struct ls_ts_cache *c)
{
	c->hour_key = -1;
	c->offset_s = 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at p as a number, or -1. */
static int
digits(const char *p, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* The offset of the local time days*86400 + secs (as if it were UTC):
 * mktime once per hour of local time. */
static int64_t
local_offset(struct ls_ts_cache *c, int64_t days, int64_t secs)
{
	int64_t key = days * 24 + secs / 3600, local = days * 86400 + secs;
	struct tm tm;
	time_t t;

	if (key == c->hour_key)
		return c->offset_s;
	/* tm from the local time as if UTC, then mktime reads it as local:
	 * the difference is the offset. */
	t = (time_t)(local - secs % 3600);
	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return 0;
	c->hour_key = key;
	c->offset_s = (local - secs % 3600) - (int64_t)t;
	return c->offset_s;
}

/*
 * "YYYY-MM-DD?HH:MM:SS[.frac][Z|+HH:MM|-HH:MM|+HHMM]" at p (sep 'T', 't'
 * or ' '); with a zone when zoned (RFC 3339), or local time when not
 * (require_zone 0). *used gets the bytes taken. 0, or -1.
 */
static int
parse_datetime(struct ls_ts_cache *c, const char *p, size_t len,
    int require_zone, int64_t *ms, size_t *used)
{
	int y, mo, d, h, mi, s, oh, om, sign;
	int64_t days, secs, frac = 0, scale = 1000, t;
	size_t i;

	if (len < 19 || p[4] != '-' || p[7] != '-' || p[13] != ':'
	    || p[16] != ':' || (p[10] != 'T' && p[10] != 't' && p[10] != ' '))
		return -1;
	if ((y = digits(p, 4)) < 0 || (mo = digits(p + 5, 2)) < 1 || mo > 12
	    || (d = digits(p + 8, 2)) < 1 || d > 31
	    || (h = digits(p + 11, 2)) < 0 || h > 23
	    || (mi = digits(p + 14, 2)) < 0 || mi > 59
	    || (s = digits(p + 17, 2)) < 0 || s > 60)
		return -1;
	i = 19;
	if (i < len && (p[i] == '.' || p[i] == ',')) {
		for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			if (scale > 1) {
				scale /= 10;
				frac += (p[i] - '0') * scale;
			}
	}
	days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	secs = (int64_t)h * 3600 + mi * 60 + (s == 60 ? 59 : s);
	if (i < len && (p[i] == 'Z' || p[i] == 'z')) {
		i++;
		t = (days * 86400 + secs) * 1000 + frac;
	} else if (i + 5 <= len && (p[i] == '+' || p[i] == '-')) {
		sign = p[i] == '-' ? -1 : 1;
		if ((oh = digits(p + i + 1, 2)) < 0 || oh > 23)
			return -1;
		if (p[i + 3] == ':' && i + 6 <= len) {
			om = digits(p + i + 4, 2);
			i += 6;
		} else {
			om = digits(p + i + 3, 2);
			i += 5;
		}
		if (om < 0 || om > 59)
			return -1;
		t = (days * 86400 + secs - sign * (oh * 3600 + om * 60)) * 1000
		    + frac;
	} else if (require_zone)
		return -1;
	else
		t = (days * 86400 + secs - local_offset(c, days, secs)) * 1000
		    + frac;
	*ms = t;
	*used = i;
	return 0;
}

int
ls_ts_parse_value(struct ls_ts_cache *c, const char *v, size_t len, int64_t *ms)
{
	int64_t n = 0, frac = 0, scale = 1000, t;
	size_t i = 0, used;
	int digits_seen = 0;

	/* *ms is left alone unless a time is found. */
	if (len >= 2 && v[0] == '"') {
		/* An RFC 3339 string, and nothing after it. */
		if (parse_datetime(c, v + 1, len - 2, 0, &t, &used) != 0
		    || used != len - 2)
			return -1;
		*ms = t;
		return 0;
	}
	/* A number since the epoch: no sign, at most one fraction. */
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, digits_seen++) {
		if (n > INT64_MAX / 10 - 10)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	if (digits_seen == 0)
		return -1;
	if (i < len && v[i] == '.')
		for (i++; i < len && v[i] >= '0' && v[i] <= '9'; i++)
			if (scale > 1) {
				scale /= 10;
				frac += (v[i] - '0') * scale;
			}
	if (i != len)
		return -1;
	if (n < 100000000000LL) /* seconds: before the year 5138 */
		t = n * 1000 + frac;
	else if (n < 100000000000000LL) /* milliseconds */
		t = n;
	else if (n < 100000000000000000LL) /* microseconds */
		t = n / 1000;
	else /* nanoseconds */
		t = n / 1000000;
	/* A counter or a duration ("ts": 3) is no time of day. */
	if (t < LS_TS_EPOCH_MIN_MS)
		return -1;
	*ms = t;
	return 0;
}

int
ls_ts_parse_prefix(
    struct ls_ts_cache *c, const char *line, size_t len, int64_t *ms)
{
	size_t i = 0, used;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '[')
		i++;
	/* Cheap refusal first: most lines start otherwise. */
	if (len - i < 19 || line[i] < '0' || line[i] > '9'
	    || line[i + 4] != '-')
		return -1;
	return parse_datetime(c, line + i, len - i, 0, ms, &used);
}
