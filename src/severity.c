/*
 * severity: see severity.h.
 *
 * Detection runs once per line on the tailer's thread, so the plain-text
 * path allocates nothing and looks at each of the first 128 bytes about
 * once: a byte class table finds the words, and only words of a level
 * word's length are lowercased and compared. Lines that look like a JSON
 * object are scanned for their level keys, not parsed (detect_json).
 *
 * A word in the text counts as a level only when something marks it as
 * one: it is all upper case ("ERROR"), it is bracketed ("[warn]"), or it
 * is the value of a level key ("level=info"). That trades away lines that
 * only say "error" in lower case in running text, which would otherwise
 * turn "user info updated" or "no error found" into levels.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "severity.h"
#include "timestamp.h"

/* How far into a plain line a level word may start. */
#define SCAN_BYTES 128
/* The longest level word ("informational"). */
#define WORD_MAX 13

static const char *const names[LS_SEV_COUNT] = {
	"emergency",
	"alert",
	"critical",
	"error",
	"warning",
	"notice",
	"info",
	"debug",
};

static const struct {
	const char *word;
	size_t len;
	enum ls_severity sev;
} words[] = {
	{ "emerg", 5, LS_SEV_EMERGENCY },
	{ "emergency", 9, LS_SEV_EMERGENCY },
	{ "panic", 5, LS_SEV_EMERGENCY },
	{ "alert", 5, LS_SEV_ALERT },
	{ "crit", 4, LS_SEV_CRITICAL },
	{ "critical", 8, LS_SEV_CRITICAL },
	{ "fatal", 5, LS_SEV_CRITICAL },
	{ "err", 3, LS_SEV_ERROR },
	{ "error", 5, LS_SEV_ERROR },
	{ "eror", 4, LS_SEV_ERROR },
	{ "warn", 4, LS_SEV_WARNING },
	{ "warning", 7, LS_SEV_WARNING },
	{ "notice", 6, LS_SEV_NOTICE },
	{ "info", 4, LS_SEV_INFO },
	{ "information", 11, LS_SEV_INFO },
	{ "informational", 13, LS_SEV_INFO },
	{ "debug", 5, LS_SEV_DEBUG },
	{ "dbg", 3, LS_SEV_DEBUG },
	{ "trace", 5, LS_SEV_DEBUG },
	{ "verbose", 7, LS_SEV_DEBUG },
};

/* Byte classes for the scan; our own table, so the locale cannot change
 * what a letter is and no char is ever passed to <ctype.h> signed. */
#define C_UPPER 0x01
#define C_LOWER 0x02
#define C_DIGIT 0x04
#define C_UNDER 0x08
#define C_LETTER (C_UPPER | C_LOWER)
#define C_WORD (C_LETTER | C_DIGIT | C_UNDER)

/* clang-format off */
static const uint8_t cls[256] = {
	['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT,
	['4'] = C_DIGIT, ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
	['8'] = C_DIGIT, ['9'] = C_DIGIT, ['_'] = C_UNDER,
	['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER,
	['E'] = C_UPPER, ['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER,
	['I'] = C_UPPER, ['J'] = C_UPPER, ['K'] = C_UPPER, ['L'] = C_UPPER,
	['M'] = C_UPPER, ['N'] = C_UPPER, ['O'] = C_UPPER, ['P'] = C_UPPER,
	['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER, ['T'] = C_UPPER,
	['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER,
	['Y'] = C_UPPER, ['Z'] = C_UPPER,
	['a'] = C_LOWER, ['b'] = C_LOWER, ['c'] = C_LOWER, ['d'] = C_LOWER,
	['e'] = C_LOWER, ['f'] = C_LOWER, ['g'] = C_LOWER, ['h'] = C_LOWER,
	['i'] = C_LOWER, ['j'] = C_LOWER, ['k'] = C_LOWER, ['l'] = C_LOWER,
	['m'] = C_LOWER, ['n'] = C_LOWER, ['o'] = C_LOWER, ['p'] = C_LOWER,
	['q'] = C_LOWER, ['r'] = C_LOWER, ['s'] = C_LOWER, ['t'] = C_LOWER,
	['u'] = C_LOWER, ['v'] = C_LOWER, ['w'] = C_LOWER, ['x'] = C_LOWER,
	['y'] = C_LOWER, ['z'] = C_LOWER,
};
/* clang-format on */

#define CLS(c) (cls[(unsigned char)(c)])

const char *
ls_severity_name(enum ls_severity sev)
{
	if ((unsigned)sev >= LS_SEV_COUNT)
		return "info";
	return names[sev];
}

int
ls_severity_parse(const char *s, size_t len, enum ls_severity *out)
{
	char low[WORD_MAX];
	size_t i, k;

	if (len == 1 && s[0] >= '0' && s[0] <= '7') {
		*out = (enum ls_severity)(s[0] - '0');
		return 0;
	}
	if (len < 3 || len > WORD_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((CLS(s[i]) & C_LETTER) == 0)
			return -1;
		low[i] = (char)(s[i] | 0x20);
	}
	for (k = 0; k < sizeof words / sizeof words[0]; k++) {
		if (words[k].len == len && words[k].word[0] == low[0]
		    && memcmp(words[k].word, low, len) == 0) {
			*out = words[k].sev;
			return 0;
		}
	}
	return -1;
}

/*
 * JSON lines: the level is the value of one of these keys of the top-level
 * object, the first of them in this order that holds a level word or a
 * syslog number (0-7); then "level" of a top-level "log" object. The line
 * is scanned, not parsed: strings are skipped by their quotes, objects and
 * arrays by their brackets, nothing is allocated or unescaped, and only
 * the values of these keys are looked at. A line that is no well-formed
 * object as far as the scan can tell (unbalanced, unterminated, something
 * after the closing brace) has no JSON level. Keys and level words written
 * with escapes (\u0065) are not recognised: no logger writes them so.
 * check_severity compares this with a jansson parse on random objects.
 */
/* How a key's number reads: syslog's 0-7 everywhere; pino's and
 * bunyan's 10 (trace) to 60 (fatal) under the usual level keys; Python
 * logging's 10 (DEBUG) to 50 (CRITICAL) under levelno. */
enum numbers { N_PINO, N_PYTHON };

static const struct {
	const char *key;
	size_t len;
	enum numbers numbers;
} json_keys[] = {
	{ "level", 5, N_PINO },
	{ "severity", 8, N_PINO },
	{ "status", 6, N_PINO },
	{ "lvl", 3, N_PINO },
	{ "log.level", 9, N_PINO },
	{ "levelname", 9, N_PINO },
	{ "levelno", 7, N_PYTHON },
};
#define NJSON_KEYS (sizeof json_keys / sizeof json_keys[0])
#define LOG_LEVEL NJSON_KEYS /* the slot of "log": {"level": ...} */

/* The keys a JSON line's own time is found under, first present wins
 * (timestamp.h); their slots follow LOG_LEVEL's. */
static const struct {
	const char *key;
	size_t len;
} time_keys[] = {
	{ "timestamp", 9 },
	{ "@timestamp", 10 },
	{ "time", 4 },
	{ "ts", 2 },
};
#define NTIME_KEYS (sizeof time_keys / sizeof time_keys[0])
#define TIME_SLOT (LOG_LEVEL + 1)
#define NSPANS (TIME_SLOT + NTIME_KEYS)

struct span {
	size_t start, end; /* of the value; end 0: not seen */
};

static size_t
skip_ws(const char *p, size_t len, size_t i)
{
	while (i < len
	    && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* p[i] is '"': the index past the closing quote, or 0 if there is none. */
static size_t
skip_string(const char *p, size_t len, size_t i)
{
	const char *q;
	size_t k;

	for (i++; i < len; i = (size_t)(q - p) + 1) {
		if ((q = memchr(p + i, '"', len - i)) == NULL)
			return 0;
		/* Escaped if an odd number of backslashes comes before. */
		for (k = (size_t)(q - p); k > i && p[k - 1] == '\\'; k--)
			;
		if (((size_t)(q - p) - k) % 2 == 0)
			return (size_t)(q - p) + 1;
	}
	return 0;
}

/* Past the value at p[i] (a string, object, array, number or literal),
 * or 0 if it is cut short or unbalanced. */
static size_t
skip_value(const char *p, size_t len, size_t i)
{
	unsigned depth = 0;

	if (i >= len)
		return 0;
	if (p[i] == '"')
		return skip_string(p, len, i);
	if (p[i] != '{' && p[i] != '[') {
		while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']'
		    && p[i] != ' ' && p[i] != '\t' && p[i] != '\n'
		    && p[i] != '\r' && p[i] != '"' && p[i] != '{' && p[i] != '['
		    && p[i] != ':')
			i++;
		return i;
	}
	for (; i < len; i++) {
		switch (p[i]) {
		case '"':
			if ((i = skip_string(p, len, i)) == 0)
				return 0;
			i--;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return i + 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Scans the object at p[i] ('{'); records the values of the keys in
 * spans (the top level: json_keys and "log"; inside "log": "level").
 * Returns the index past its '}', or 0 if it is not well formed. */
static size_t
scan_object(const char *p, size_t len, size_t i, struct span *spans, int top)
{
	size_t ks, ke, vs, ve, k;

	i = skip_ws(p, len, i + 1);
	if (i < len && p[i] == '}')
		return i + 1;
	for (;;) {
		if (i >= len || p[i] != '"'
		    || (ke = skip_string(p, len, i)) == 0)
			return 0;
		ks = i + 1;
		ke--; /* at the closing quote */
		i = skip_ws(p, len, ke + 1);
		if (i >= len || p[i] != ':')
			return 0;
		vs = skip_ws(p, len, i + 1);
		if (top && ke - ks == 3 && memcmp(p + ks, "log", 3) == 0
		    && vs < len && p[vs] == '{')
			ve = scan_object(p, len, vs, spans, 0);
		else
			ve = skip_value(p, len, vs);
		if (ve == 0 || ve == vs)
			return 0;
		for (k = 0; top && k < NJSON_KEYS; k++)
			if (json_keys[k].len == ke - ks
			    && json_keys[k].key[0] == p[ks]
			    && memcmp(json_keys[k].key, p + ks, ke - ks) == 0) {
				spans[k].start = vs;
				spans[k].end = ve;
			}
		for (k = 0; top && k < NTIME_KEYS; k++)
			if (time_keys[k].len == ke - ks
			    && time_keys[k].key[0] == p[ks]
			    && memcmp(time_keys[k].key, p + ks, ke - ks) == 0) {
				spans[TIME_SLOT + k].start = vs;
				spans[TIME_SLOT + k].end = ve;
			}
		if (!top && ke - ks == 5 && memcmp(p + ks, "level", 5) == 0) {
			spans[LOG_LEVEL].start = vs;
			spans[LOG_LEVEL].end = ve;
		}
		i = skip_ws(p, len, ve);
		if (i < len && p[i] == ',') {
			i = skip_ws(p, len, i + 1);
			continue;
		}
		return i < len && p[i] == '}' ? i + 1 : 0;
	}
}

/* A level from one JSON value: a level word, a syslog number, or a
 * number of the key's scheme (enum numbers). */
static int
json_level(
    const char *v, size_t len, enum numbers numbers, enum ls_severity *out)
{
	static const enum ls_severity pino[7]
	    = { LS_SEV_DEBUG, LS_SEV_DEBUG, LS_SEV_DEBUG, LS_SEV_INFO,
		      LS_SEV_WARNING, LS_SEV_ERROR, LS_SEV_CRITICAL };
	static const enum ls_severity python[6] = { LS_SEV_DEBUG, LS_SEV_DEBUG,
		LS_SEV_INFO, LS_SEV_WARNING, LS_SEV_ERROR, LS_SEV_CRITICAL };

	if (len >= 2 && v[0] == '"') {
		if (memchr(v + 1, '\\', len - 2) != NULL)
			return -1;
		return ls_severity_parse(v + 1, len - 2, out);
	}
	/* An integer 0-7, as JSON writes it (no sign, no leading 0 but 0). */
	if (len == 1 && v[0] >= '0' && v[0] <= '7') {
		*out = (enum ls_severity)(v[0] - '0');
		return 0;
	}
	/* 10, 20, ... 60. */
	if (len == 2 && v[0] >= '1' && v[0] <= '6' && v[1] == '0') {
		if (numbers == N_PYTHON && v[0] == '6')
			return -1;
		*out
		    = numbers == N_PINO ? pino[v[0] - '0'] : python[v[0] - '0'];
		return 0;
	}
	return -1;
}

/*
 * A JSON object line: its level into *out (0), or -1 if it has none, or
 * -2 if it is no JSON object. Its own time, if it has one and tc is not
 * NULL, into *time_ms (*time_found set).
 */
static int
detect_json(const char *line, size_t len, enum ls_severity *out,
    struct ls_ts_cache *tc, int64_t *time_ms, int *time_found)
{
	struct span spans[NSPANS] = { { 0, 0 } };
	size_t k, end;

	while (len > 0
	    && (line[len - 1] == ' ' || line[len - 1] == '\t'
		|| line[len - 1] == '\r'))
		len--;
	if (len == 0 || line[len - 1] != '}')
		return -1;
	if ((end = scan_object(line, len, 0, spans, 1)) == 0
	    || skip_ws(line, len, end) != len)
		return -2;
	for (k = 0; tc != NULL && k < NTIME_KEYS && !*time_found; k++)
		if (spans[TIME_SLOT + k].end != 0
		    && ls_ts_parse_value(tc, line + spans[TIME_SLOT + k].start,
			   spans[TIME_SLOT + k].end
			       - spans[TIME_SLOT + k].start,
			   time_ms)
			== 0)
			*time_found = 1;
	for (k = 0; k <= NJSON_KEYS; k++)
		if (spans[k].end != 0
		    && json_level(line + spans[k].start,
			   spans[k].end - spans[k].start,
			   k < NJSON_KEYS ? json_keys[k].numbers : N_PINO, out)
			== 0)
			return 0;
	return -1;
}

/* A glog prefix: "E0101 12:00:00.000000 ..." (severity letter, MMDD). */
static int
detect_glog(const char *p, size_t len, enum ls_severity *out)
{
	size_t i;

	if (len < 5 || (len > 5 && p[5] != ' '))
		return -1;
	for (i = 1; i < 5; i++) {
		if ((CLS(p[i]) & C_DIGIT) == 0)
			return -1;
	}
	switch (p[0]) {
	case 'F':
		*out = LS_SEV_CRITICAL;
		return 0;
	case 'E':
		*out = LS_SEV_ERROR;
		return 0;
	case 'W':
		*out = LS_SEV_WARNING;
		return 0;
	case 'I':
		*out = LS_SEV_INFO;
		return 0;
	default:
		return -1;
	}
}

/* Whether "[ word ]", "<word>", "(word)" or Apache's "[module:word]"
 * encloses p[ws..we). */
static int
enclosed(const char *p, size_t len, size_t ws, size_t we)
{
	char open, close;

	while (ws > 0 && p[ws - 1] == ' ')
		ws--;
	while (we < len && p[we] == ' ')
		we++;
	if (ws == 0 || we == len)
		return 0;
	open = p[ws - 1];
	close = p[we];
	if (open == ':' && close == ']') {
		for (ws--; ws > 0 && (CLS(p[ws - 1]) & C_WORD); ws--)
			;
		return ws > 0 && p[ws - 1] == '[';
	}
	return (open == '[' && close == ']') || (open == '<' && close == '>')
	    || (open == '(' && close == ')');
}

/* Whether the word at p[ws..) is the value of a level key: "level=",
 * "level: ", "lvl=", "severity=", "loglevel=", in any case, quoted or
 * not ("\"level\":\"warn\"" too, for JSON that did not parse). */
static int
keyed(const char *p, size_t ws)
{
	static const char *const keys[]
	    = { "level", "lvl", "severity", "loglevel" };
	size_t i, ke, k, n;

	i = ws;
	if (i > 0 && (p[i - 1] == '"' || p[i - 1] == '\''))
		i--;
	while (i > 0 && p[i - 1] == ' ')
		i--;
	if (i == 0 || (p[i - 1] != '=' && p[i - 1] != ':'))
		return 0;
	i--;
	if (i > 0 && (p[i - 1] == '"' || p[i - 1] == '\''))
		i--;
	ke = i;
	while (i > 0 && (CLS(p[i - 1]) & C_LETTER))
		i--;
	/* The key is a whole word: "xlevel=" is some other key. */
	if (i > 0 && (CLS(p[i - 1]) & C_WORD))
		return 0;
	n = ke - i;
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		if (strlen(keys[k]) == n && strncasecmp(keys[k], p + i, n) == 0)
			return 1;
	}
	return 0;
}

/* The first marked level word starting in the first SCAN_BYTES. */
static int
detect_words(const char *p, size_t len, enum ls_severity *out)
{
	size_t i, ws, lim;
	unsigned all;

	lim = len < SCAN_BYTES ? len : SCAN_BYTES;
	i = 0;
	while (i < lim) {
		if ((CLS(p[i]) & C_WORD) == 0) {
			i++;
			continue;
		}
		/* A word runs to its end even past lim, so that a long word
		 * cut at lim is not taken for a short one. */
		ws = i;
		all = 0;
		while (i < len && (CLS(p[i]) & C_WORD))
			all |= CLS(p[i++]);
		if ((all & ~C_LETTER) != 0 || i - ws < 3 || i - ws > WORD_MAX)
			continue;
		if (ls_severity_parse(p + ws, i - ws, out) != 0)
			continue;
		if (all == C_UPPER || enclosed(p, len, ws, i) || keyed(p, ws))
			return 0;
		/* A lower-case level word in running text: keep looking. */
	}
	return -1;
}

enum ls_severity
ls_severity_detect(const char *line, size_t len, enum ls_severity dflt)
{
	return ls_severity_detect_time(line, len, dflt, NULL, NULL);
}

enum ls_severity
ls_severity_detect_time(const char *line, size_t len, enum ls_severity dflt,
    struct ls_ts_cache *tc, int64_t *time_ms)
{
	enum ls_severity sev = dflt;
	size_t i;
	int json = -2, found = 0;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i < len && line[i] == '{')
		json
		    = detect_json(line + i, len - i, &sev, tc, time_ms, &found);
	/* A plain line's time is at its start. */
	if (tc != NULL && json == -2)
		(void)ls_ts_parse_prefix(tc, line, len, time_ms);
	if (json == 0 || detect_glog(line, len, &sev) == 0
	    || detect_words(line, len, &sev) == 0)
		return sev;
	return dflt;
}
