/*
 * checkpoint: see checkpoint.h.
 *
 * The entries are an array in the order they were put, plus an open
 * addressing hash table of indices keyed by (source, dev, ino), so that
 * find() stays O(1) with 10,000 files and get() can walk them in order.
 * The table is rebuilt when half full; clear() keeps both allocations, as
 * the tailer rebuilds the whole generation on every write.
 *
 * The JSON is checked field by field on load, and any doubt makes the
 * whole generation unusable: a checkpoint half believed would resume some
 * files at wrong offsets, which is worse than falling back to .prev.
 *
 * Strings that are not valid UTF-8 (file names are bytes) cannot be JSON
 * strings; such a value is written as "<key>_hex" instead, the hex of its
 * bytes, and read back exactly.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "checkpoint.h"
#include "log.h"
#include "xmalloc.h"

#define CKPT_VERSION 1
#define CKPT_NAME "checkpoint.json"

/* CRC-64/XZ (ECMA-182 polynomial, reflected), as in xz and Go's crc64. */
#define CRC64_POLY 0xc96c5795d7870f42ULL

struct ls_ckpt {
	char *dir;
	char *cur; /* <dir>/checkpoint.json */
	char *prev; /* <dir>/checkpoint.json.prev */
	char *tmp; /* <dir>/checkpoint.json.tmp */
	struct ls_ckpt_entry *v;
	size_t n;
	size_t cap;
	size_t *tab; /* index + 1 into v, 0 for an empty slot */
	size_t tsize; /* 0 or a power of two */
	int werr; /* errno of the last failed write, 0 after a success */
	int cur_bad; /* checkpoint.json was unusable: .prev is the good one */
	/* The text being written, kept from one write to the next: with
	 * 100,000 files it is 10 MB, and growing it anew every second cost
	 * more than writing it. */
	struct ls_buf text;
};

struct ls_ckpt *
ls_ckpt_new(const char *state_dir)
{
	struct ls_ckpt *c;

	c = xcalloc(1, sizeof *c);
	c->dir = xstrdup(state_dir);
	xasprintf(&c->cur, "%s/" CKPT_NAME, state_dir);
	xasprintf(&c->prev, "%s/" CKPT_NAME ".prev", state_dir);
	xasprintf(&c->tmp, "%s/" CKPT_NAME ".tmp", state_dir);
	ls_buf_init(&c->text);
	return c;
}

void
ls_ckpt_free(struct ls_ckpt *c)
{
	if (c == NULL)
		return;
	ls_ckpt_clear(c);
	free(c->v);
	free(c->tab);
	free(c->dir);
	free(c->cur);
	free(c->prev);
	free(c->tmp);
	ls_buf_cleanup(&c->text);
	free(c);
}

/* The splitmix64 finaliser: every input bit moves every output bit. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
hash_id(const char *source, uint64_t dev, uint64_t ino)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)source; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return mix64(h ^ mix64(dev ^ mix64(ino)));
}

/* The slot holding this identity, or the empty slot where it would go. */
static size_t
slot_of(const struct ls_ckpt *c, const char *source, uint64_t dev, uint64_t ino)
{
	const struct ls_ckpt_entry *e;
	size_t i, mask = c->tsize - 1;

	i = (size_t)hash_id(source, dev, ino) & mask;
	while (c->tab[i] != 0) {
		e = &c->v[c->tab[i] - 1];
		if (e->dev == dev && e->ino == ino
		    && strcmp(e->source, source) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void
rehash(struct ls_ckpt *c, size_t tsize)
{
	const struct ls_ckpt_entry *e;
	size_t i;

	free(c->tab);
	c->tab = xcalloc(tsize, sizeof *c->tab);
	c->tsize = tsize;
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		c->tab[slot_of(c, e->source, e->dev, e->ino)] = i + 1;
	}
}

size_t
ls_ckpt_count(const struct ls_ckpt *c)
{
	return c->n;
}

const struct ls_ckpt_entry *
ls_ckpt_get(const struct ls_ckpt *c, size_t i)
{
	if (i >= c->n)
		return NULL;
	return &c->v[i];
}

const struct ls_ckpt_entry *
ls_ckpt_find(
    const struct ls_ckpt *c, const char *source, uint64_t dev, uint64_t ino)
{
	size_t i;

	if (c->n == 0)
		return NULL;
	i = slot_of(c, source, dev, ino);
	return c->tab[i] == 0 ? NULL : &c->v[c->tab[i] - 1];
}

void
ls_ckpt_clear(struct ls_ckpt *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].source);
		free(c->v[i].path);
	}
	c->n = 0;
	if (c->tab != NULL)
		memset(c->tab, 0, c->tsize * sizeof *c->tab);
}

void
ls_ckpt_put(struct ls_ckpt *c, const struct ls_ckpt_entry *e)
{
	struct ls_ckpt_entry *d;
	size_t i;

	if (c->tsize == 0)
		rehash(c, 64);
	i = slot_of(c, e->source, e->dev, e->ino);
	if (c->tab[i] != 0) {
		d = &c->v[c->tab[i] - 1];
		free(d->source);
		free(d->path);
	} else {
		if (c->n == c->cap) {
			c->cap = c->cap == 0 ? 64 : c->cap * 2;
			c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
		}
		d = &c->v[c->n++];
		c->tab[i] = c->n;
	}
	d->source = xstrdup(e->source);
	d->path = xstrdup(e->path != NULL ? e->path : "");
	d->dev = e->dev;
	d->ino = e->ino;
	d->fp_len = e->fp_len;
	d->fp = e->fp;
	d->offset = e->offset;
	/* Half full at most, so probe runs stay short. */
	if (c->n * 2 > c->tsize)
		rehash(c, c->tsize * 2);
}

/* Decodes lower- or upper-case hex; NULL if s is not even-length hex. */
static char *
unhex(const char *s)
{
	size_t i, n = strlen(s);
	unsigned int b;
	char *out;

	if (n % 2 != 0 || strspn(s, "0123456789abcdefABCDEF") != n)
		return NULL;
	out = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		sscanf(s + 2 * i, "%2x", &b);
		out[i] = (char)b;
	}
	out[n / 2] = '\0';
	if (strlen(out) != n / 2) { /* a NUL byte: not a C string */
		free(out);
		return NULL;
	}
	return out;
}

/* A copy of string field key (or its "<key>_hex" form), or NULL. */
static char *
get_str(json_t *o, const char *key)
{
	char hkey[32];
	json_t *v;

	if ((v = json_object_get(o, key)) != NULL)
		return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	snprintf(hkey, sizeof hkey, "%s_hex", key);
	if ((v = json_object_get(o, hkey)) != NULL && json_is_string(v))
		return unhex(json_string_value(v));
	return NULL;
}

/* Field key as a non-negative integer, or as a decimal string when big_ok
 * (what u64_json writes above INT64_MAX). 0, or -1. */
static int
get_u64(json_t *o, const char *key, int big_ok, uint64_t *out)
{
	const char *s;
	json_t *v;
	char *end;

	if ((v = json_object_get(o, key)) == NULL)
		return -1;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!big_ok || !json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* Checks and adds files[i]; NULL, or what is wrong with it. */
static const char *
parse_entry(struct ls_ckpt *c, json_t *o)
{
	struct ls_ckpt_entry e;
	const char *why = NULL, *fp;
	uint64_t fp_len;

	memset(&e, 0, sizeof e);
	if (!json_is_object(o))
		return "not an object";
	if ((e.source = get_str(o, "source")) == NULL)
		why = "source: not a string";
	else if ((e.path = get_str(o, "path")) == NULL)
		why = "path: not a string";
	else if (get_u64(o, "dev", 1, &e.dev) == -1)
		why = "dev: not a non-negative integer";
	else if (get_u64(o, "ino", 1, &e.ino) == -1)
		why = "ino: not a non-negative integer";
	else if (get_u64(o, "offset", 1, &e.offset) == -1)
		why = "offset: not a non-negative integer";
	else if (get_u64(o, "fp_len", 0, &fp_len) == -1 || fp_len > LS_FP_MAX)
		why = "fp_len: not an integer from 0 to 1024";
	else if ((fp = json_string_value(json_object_get(o, "fp"))) == NULL
	    || *fp == '\0' || strlen(fp) > 16
	    || strspn(fp, "0123456789abcdefABCDEF") != strlen(fp))
		why = "fp: not a string of 1 to 16 hex digits";
	else {
		e.fp_len = (uint32_t)fp_len;
		e.fp = strtoull(fp, NULL, 16);
		ls_ckpt_put(c, &e);
	}
	free(e.source);
	free(e.path);
	return why;
}

/*
 * Loads one generation into c (emptied first). 0; or -1, logged, with
 * errno: ENOENT (not logged: the caller decides what a missing file
 * means), EINVAL for bad contents, or open(2)'s error.
 */
static int
load_file(struct ls_ckpt *c, const char *path)
{
	json_error_t jerr;
	json_t *root = NULL, *files, *v;
	const char *why = NULL;
	char whybuf[160];
	struct ls_buf text;
	size_t i;
	ssize_t n;
	int fd, saved;

	ls_ckpt_clear(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		return -1;
	}
	/* Read whole: json_loadfd reads a byte per read(2). */
	ls_buf_init(&text);
	for (;;) {
		ls_buf_reserve(&text, 65536);
		n = read(fd, text.data + text.len, text.cap - text.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text.len += (size_t)n;
	}
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		log_warn("%s: read", path);
		ls_buf_cleanup(&text);
		return -1;
	}
	root = json_loadb(text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
	ls_buf_cleanup(&text);
	if (root == NULL) {
		log_warnx("%s: corrupt: %s (line %d, column %d)", path,
		    jerr.text, jerr.line, jerr.column);
		errno = EINVAL;
		return -1;
	}
	v = json_object_get(root, "version");
	files = json_object_get(root, "files");
	if (!json_is_object(root))
		why = "not a JSON object";
	else if (!json_is_integer(v))
		why = "no integer \"version\"";
	else if (json_integer_value(v) != CKPT_VERSION) {
		snprintf(whybuf, sizeof whybuf,
		    "version %" JSON_INTEGER_FORMAT " (this is version %d)",
		    json_integer_value(v), CKPT_VERSION);
		why = whybuf;
	} else if (!json_is_array(files))
		why = "no \"files\" array";
	else {
		json_array_foreach(files, i, v)
		{
			if ((why = parse_entry(c, v)) != NULL) {
				snprintf(whybuf, sizeof whybuf,
				    "files[%zu]: %s", i, why);
				why = whybuf;
				break;
			}
		}
	}
	json_decref(root);
	if (why != NULL) {
		log_warnx("%s: corrupt: %s", path, why);
		ls_ckpt_clear(c);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
ls_ckpt_load(struct ls_ckpt *c)
{
	int err;

	if (load_file(c, c->cur) == 0) {
		log_info("%s: %zu files", c->cur, c->n);
		return 0;
	}
	err = errno;
	if (load_file(c, c->prev) == 0) {
		c->cur_bad = 1;
		/* The gap a rename fallback leaves between generations. */
		if (err == ENOENT)
			log_warnx(
			    "%s: missing while %s exists", c->cur, c->prev);
		log_warnx("%s: using the previous generation (%zu files); "
			  "lines since may be shipped again",
		    c->prev, c->n);
		return 0;
	}
	if (err == ENOENT && errno == ENOENT) {
		log_info("%s: no checkpoint (first run)", c->dir);
		return 0;
	}
	if (err == ENOENT)
		log_warnx("%s: missing, and %s is not usable", c->cur, c->prev);
	else if (errno == ENOENT)
		log_warnx(
		    "%s: no previous generation to fall back on", c->prev);
	else
		log_warnx("%s: neither generation is usable", c->dir);
	errno = err == ENOENT ? errno : err;
	return -1;
}

/* v as a JSON integer, or as a decimal string above what those hold. */
static json_t *
u64_json(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	return json_string(buf);
}

/* Sets o[key] = s, or o["<key>_hex"] when s is not valid UTF-8. */
static void
set_str(json_t *o, const char *key, const char *s)
{
	char hkey[32], *hex;
	json_t *v;
	size_t i, n;

	if ((v = json_string(s)) != NULL) {
		json_object_set_new(o, key, v);
		return;
	}
	n = strlen(s);
	hex = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
	snprintf(hkey, sizeof hkey, "%s_hex", key);
	json_object_set_new(o, hkey, json_string(hex));
	free(hex);
}

static int
append_cb(const char *p, size_t len, void *arg)
{
	ls_buf_append(arg, p, len);
	return 0;
}

/*
 * The checkpoint as text in b: one line per file, so that an operator can
 * read and grep it, and still a single JSON document.
 */
static void
encode(const struct ls_ckpt *c, struct ls_buf *b)
{
	const struct ls_ckpt_entry *e;
	struct timespec ts;
	json_t *o;
	char fp[17];
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ls_buf_printf(b, "{\"version\":%d,\"written\":%lld,\"files\":[",
	    CKPT_VERSION, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if ((o = json_object()) == NULL)
			fatalx("checkpoint: out of memory");
		snprintf(fp, sizeof fp, "%016" PRIx64, e->fp);
		set_str(o, "source", e->source);
		set_str(o, "path", e->path);
		json_object_set_new(o, "dev", u64_json(e->dev));
		json_object_set_new(o, "ino", u64_json(e->ino));
		json_object_set_new(o, "fp_len", json_integer(e->fp_len));
		json_object_set_new(o, "fp", json_string(fp));
		json_object_set_new(o, "offset", u64_json(e->offset));
		ls_buf_append(b, i == 0 ? "\n" : ",\n", i == 0 ? 1 : 2);
		if (json_dump_callback(
			o, append_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER)
		    == -1)
			fatalx("checkpoint: cannot encode an entry");
		json_decref(o);
	}
	ls_buf_append(b, "\n]}\n", 4);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ls_ckpt_write(struct ls_ckpt *c)
{
	const char *what, *step;
	struct ls_buf *text = &c->text;
	int fd = -1, dfd, made_tmp = 0, saved;

	ls_buf_reset(text);
	encode(c, text);
	step = "create directory";
	what = c->dir;
	if (mkdir(c->dir, 0700) == -1 && errno != EEXIST)
		goto fail;
	step = "open";
	what = c->tmp;
	fd = open(c->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	made_tmp = 1;
	step = "write";
	if (write_all(fd, text->data, text->len) == -1)
		goto fail;
	step = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	step = "close";
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto fail;

	/*
	 * Keep the current generation as .prev. A hard link leaves
	 * checkpoint.json in place until the rename below replaces it, so
	 * there is never a moment without one; where links are refused
	 * (some FUSE and FAT filesystems) a rename does, and the load copes
	 * with the gap it leaves.
	 */
	step = "remove";
	what = c->prev;
	/* After a fallback, the damaged current must not replace the good
	 * previous generation: the first write keeps .prev as it is. */
	if (!c->cur_bad && unlink(c->prev) == -1 && errno != ENOENT)
		goto fail;
	step = "link";
	if (!c->cur_bad && link(c->cur, c->prev) == -1 && errno != ENOENT) {
		step = "rename";
		if (rename(c->cur, c->prev) == -1 && errno != ENOENT)
			goto fail;
	}
	step = "rename";
	what = c->cur;
	if (rename(c->tmp, c->cur) == -1)
		goto fail;
	made_tmp = 0;
	/* The renames are durable only once the directory is. */
	step = "fsync";
	what = c->dir;
	if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	saved = fsync(dfd);
	close(dfd);
	if (saved == -1)
		goto fail;

	if (c->werr != 0)
		log_notice("%s: checkpoint written again", c->cur);
	c->werr = 0;
	c->cur_bad = 0;
	return 0;

fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (made_tmp)
		unlink(c->tmp);
	/* Called every second: say it when the reason changes. */
	if (saved != c->werr) {
		errno = saved;
		log_warn(
		    "%s: %s (checkpoint not saved, will retry)", what, step);
	}
	c->werr = saved;
	errno = saved;
	return -1;
}

static uint64_t
crc64(uint64_t crc, const unsigned char *p, size_t len)
{
	int k;

	/* Bitwise: 1 KB at most, and no table to set up or share. */
	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC64_POLY & -(crc & 1));
	}
	return ~crc;
}

/* Reads up to len (<= LS_FP_MAX) bytes from offset 0; how many, or -1. */
static ssize_t
read_head(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
ls_fingerprint(int fd, uint32_t *len, uint64_t *fp)
{
	unsigned char buf[LS_FP_MAX];
	ssize_t n;

	if ((n = read_head(fd, buf, sizeof buf)) == -1)
		return -1;
	*len = (uint32_t)n;
	*fp = crc64(0, buf, (size_t)n);
	return 0;
}

int
ls_fingerprint_matches(int fd, uint32_t len, uint64_t fp)
{
	unsigned char buf[LS_FP_MAX];
	ssize_t n;

	if (len > LS_FP_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0)
		return 1;
	if ((n = read_head(fd, buf, len)) == -1)
		return -1;
	if ((size_t)n < len)
		return 0;
	return crc64(0, buf, len) == fp;
}
