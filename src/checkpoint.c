/*
 * checkpoint: see checkpoint.h.
 *
 * The entries are an array in the order they were put, so that get() can
 * walk them in order, indexed by (source, dev, ino) in the program's one
 * hash table (htab.h) so that find() stays O(1) with 10,000 files: entry
 * i's node is nodes[i], and the index is rebuilt when the arrays move.
 * clear() keeps the arrays, as the tailer rebuilds the whole generation
 * on every write.
 *
 * The JSON is checked field by field on load, and any doubt makes the
 * whole generation unusable: a checkpoint half believed would resume some
 * files at wrong offsets, which is worse than falling back to .prev.
 *
 * Strings that are not valid UTF-8 (file names are bytes) cannot be JSON
 * strings; such a value is written as "<key>_hex" instead, the hex of its
 * bytes, and read back exactly.
 *
 * The rest of the family (checkpoint_impl.h): the state directory and the
 * writing of a generation in checkpoint_file.c, the writer thread in
 * checkpoint_writer.c, the fingerprint in fingerprint.c.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "checkpoint_impl.h"
#include "ctx.h"
#include "htab.h"
#include "log.h"
#include "xmalloc.h"

/* Forgets every journal cursor (a load, the end). */
static void
clear_cursors(struct ls_ckpt *c)
{
	size_t i;

	for (i = 0; i < c->jn; i++) {
		free(c->jv[i].source);
		free(c->jv[i].cursor);
	}
	free(c->jv);
	c->jv = NULL;
	c->jn = 0;
}

struct ls_ckpt *
ls_ckpt_new(const char *state_dir)
{
	struct ls_ckpt *c;

	c = xcalloc(1, sizeof *c);
	c->dir = xstrdup(state_dir);
	c->dfd = -1;
	xasprintf(&c->cur, "%s/" CKPT_NAME, state_dir);
	xasprintf(&c->prev, "%s/" CKPT_PREV, state_dir);
	xasprintf(&c->tmp, "%s/" CKPT_TMP, state_dir);
	ls_buf_init(&c->text);
	ls_buf_init(&c->wtext);
	ls_buf_init(&c->pending);
	return c;
}

void
ls_ckpt_free(struct ls_ckpt *c)
{
	if (c == NULL)
		return;
	ls_ckpt_stop(c);
	if (c->dfd != -1)
		close(c->dfd);
	ls_ckpt_clear(c);
	clear_cursors(c);
	free(c->v);
	free(c->nodes);
	if (c->idx.b != NULL)
		ls_htab_cleanup(&c->idx);
	free(c->dir);
	free(c->cur);
	free(c->prev);
	free(c->tmp);
	ls_buf_cleanup(&c->text);
	ls_buf_cleanup(&c->wtext);
	ls_buf_cleanup(&c->pending);
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

/* The index of the entry with this identity, or SIZE_MAX. */
static size_t
index_of(const struct ls_ckpt *c, uint64_t h, const char *source, uint64_t dev,
    uint64_t ino)
{
	const struct ls_ckpt_entry *e;
	struct ls_hnode *n;

	if (c->idx.b == NULL)
		return SIZE_MAX;
	for (n = ls_htab_first(&c->idx, h); n != NULL; n = ls_htab_next(n)) {
		e = &c->v[n - c->nodes];
		if (e->dev == dev && e->ino == ino
		    && strcmp(e->source, source) == 0)
			return (size_t)(n - c->nodes);
	}
	return SIZE_MAX;
}

/* The index anew, over the entries where they are now. */
static void
reindex(struct ls_ckpt *c)
{
	size_t i;

	if (c->idx.b != NULL)
		ls_htab_cleanup(&c->idx);
	ls_htab_init(&c->idx, c->cap);
	for (i = 0; i < c->n; i++)
		ls_htab_insert(&c->idx, &c->nodes[i], c->nodes[i].hash);
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
	i = index_of(c, hash_id(source, dev, ino), source, dev, ino);
	return i == SIZE_MAX ? NULL : &c->v[i];
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
	if (c->idx.b != NULL)
		reindex(c);
}

void
ls_ckpt_put(struct ls_ckpt *c, const struct ls_ckpt_entry *e)
{
	struct ls_ckpt_entry *d;
	uint64_t h = hash_id(e->source, e->dev, e->ino);
	size_t i;

	if ((i = index_of(c, h, e->source, e->dev, e->ino)) != SIZE_MAX) {
		d = &c->v[i];
		free(d->source);
		free(d->path);
	} else {
		if (c->n == c->cap) {
			/* The nodes move with the arrays: index them anew. */
			c->cap = c->cap == 0 ? 64 : c->cap * 2;
			c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
			c->nodes
			    = xreallocarray(c->nodes, c->cap, sizeof *c->nodes);
			reindex(c);
		}
		d = &c->v[c->n];
		ls_htab_insert(&c->idx, &c->nodes[c->n++], h);
	}
	d->source = xstrdup(e->source);
	d->path = xstrdup(e->path != NULL ? e->path : "");
	d->dev = e->dev;
	d->ino = e->ino;
	d->fp_len = e->fp_len;
	d->fp = e->fp;
	d->offset = e->offset;
}

const char *
ls_ckpt_cursor(const struct ls_ckpt *c, const char *source)
{
	size_t i;

	for (i = 0; i < c->jn; i++)
		if (strcmp(c->jv[i].source, source) == 0)
			return c->jv[i].cursor;
	return NULL;
}

void
ls_ckpt_set_cursor(struct ls_ckpt *c, const char *source, const char *cursor)
{
	size_t i;

	for (i = 0; i < c->jn; i++)
		if (strcmp(c->jv[i].source, source) == 0)
			break;
	if (i < c->jn && cursor == NULL) {
		free(c->jv[i].source);
		free(c->jv[i].cursor);
		c->jv[i] = c->jv[--c->jn];
		return;
	}
	if (cursor == NULL)
		return;
	if (i == c->jn) {
		c->jv = xreallocarray(c->jv, c->jn + 1, sizeof *c->jv);
		c->jv[c->jn].source = xstrdup(source);
		c->jv[c->jn++].cursor = NULL;
	}
	free(c->jv[i].cursor);
	c->jv[i].cursor = xstrdup(cursor);
}

size_t
ls_ckpt_ncursors(const struct ls_ckpt *c)
{
	return c->jn;
}

const struct ls_ckpt_cursor *
ls_ckpt_cursor_at(const struct ls_ckpt *c, size_t i)
{
	return i < c->jn ? &c->jv[i] : NULL;
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

/* Checks and sets journals[i]; NULL, or what is wrong with it. */
static const char *
parse_cursor(struct ls_ckpt *c, json_t *o)
{
	const char *why = NULL;
	char *source = NULL, *cursor = NULL;

	if (!json_is_object(o))
		return "not an object";
	if ((source = get_str(o, "source")) == NULL)
		why = "source: not a string";
	else if ((cursor = get_str(o, "cursor")) == NULL || *cursor == '\0')
		why = "cursor: not a non-empty string";
	else if (ls_ckpt_cursor(c, source) != NULL)
		why = "source: a second cursor for it";
	else
		ls_ckpt_set_cursor(c, source, cursor);
	free(source);
	free(cursor);
	return why;
}

/*
 * Reads name (in the state directory) whole into text: a regular file of
 * LS_CKPT_MAX_BYTES at most, opened without following a link or waiting
 * on a FIFO. 0; or -1, logged (except ENOENT), with errno: ENOENT, EINVAL
 * for something that is not a regular file or too large, or the error of
 * open(2) (ELOOP for a link) or read(2). If sync, the file is fsynced (it
 * may have been renamed into place without one before a crash).
 */
static int
read_state(struct ls_ckpt *c, const char *name, const char *path,
    struct ls_buf *text, int sync)
{
	struct stat st;
	ssize_t n = 0;
	int fd, saved;

	fd = openat(
	    c->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			log_warnx("%s: a symbolic link, not followed", path);
		else if (errno != ENOENT)
			log_warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		log_warn("%s: fstat", path);
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file, not read", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > LS_CKPT_MAX_BYTES) {
		log_warnx("%s: %lld bytes, over the %d a checkpoint may have",
		    path, (long long)st.st_size, LS_CKPT_MAX_BYTES);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* Read whole (json_loadfd reads a byte per read(2)), and never past
	 * the cap, should the file grow meanwhile. */
	while (text->len <= LS_CKPT_MAX_BYTES) {
		ls_buf_reserve(text, 65536);
		n = read(fd, text->data + text->len, text->cap - text->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text->len += (size_t)n;
	}
	saved = errno;
	if (n == -1) {
		close(fd);
		errno = saved;
		log_warn("%s: read", path);
		return -1;
	}
	if (text->len > LS_CKPT_MAX_BYTES) {
		close(fd);
		log_warnx("%s: over the %d bytes a checkpoint may have", path,
		    LS_CKPT_MAX_BYTES);
		errno = EINVAL;
		return -1;
	}
	if (sync)
		(void)fsync(fd);
	close(fd);
	return 0;
}

/*
 * Loads one generation into c (emptied first). 0; or -1, logged, with
 * errno: ENOENT (not logged: the caller decides what a missing file
 * means), EINVAL for bad contents, or open(2)'s error.
 */
static int
load_file(struct ls_ckpt *c, const char *name, const char *path, int sync)
{
	json_error_t jerr;
	json_t *root = NULL, *files, *journals, *v;
	const char *why = NULL;
	char whybuf[160];
	struct ls_buf text;
	size_t i;

	ls_ckpt_clear(c);
	clear_cursors(c);
	ls_buf_init(&text);
	if (read_state(c, name, path, &text, sync) == -1) {
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
	/* Optional: the journal sources' cursors (journal.h). */
	journals = json_object_get(root, "journals");
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
	if (why == NULL && journals != NULL && !json_is_array(journals))
		why = "\"journals\" is not an array";
	else if (why == NULL && journals != NULL) {
		json_array_foreach(journals, i, v)
		{
			if ((why = parse_cursor(c, v)) != NULL) {
				snprintf(whybuf, sizeof whybuf,
				    "journals[%zu]: %s", i, why);
				why = whybuf;
				break;
			}
		}
	}
	json_decref(root);
	if (why != NULL) {
		log_warnx("%s: corrupt: %s", path, why);
		ls_ckpt_clear(c);
		clear_cursors(c);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
ls_ckpt_load(struct ls_ckpt *c)
{
	int err;

	if (ls_ckpt_open(c, 0) == -1) {
		/* Not even its parent yet: a first run (the writes say it
		 * if it stays so). */
		if (errno != ENOENT)
			return -1;
		ls_ckpt_clear(c);
		log_info("%s: no checkpoint (first run)", c->dir);
		return 0;
	}
	if (load_file(c, CKPT_NAME, c->cur, 1) == 0) {
		log_info("%s: %zu files", c->cur, c->n);
		c->cur_synced = 1;
		return 0;
	}
	err = errno;
	if (load_file(c, CKPT_PREV, c->prev, 0) == 0) {
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

/* 1 if s can go into JSON between quotes as it is: printable ASCII, no
 * quote or backslash (file names nearly always are). */
static int
plain(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* v as encode writes it: a JSON integer, or a decimal string above what
 * those hold (as u64_json). */
static void
put_u64(struct ls_buf *b, const char *key, uint64_t v)
{
	if (v <= INT64_MAX)
		ls_buf_printf(b, ",\"%s\":%" PRIu64, key, v);
	else
		ls_buf_printf(b, ",\"%s\":\"%" PRIu64 "\"", key, v);
}

/* Entry e through jansson: strings that need escaping or are not UTF-8
 * ("<key>_hex"). The same text the fast path writes for plain ones. */
static void
encode_slow(const struct ls_ckpt_entry *e, struct ls_buf *b)
{
	json_t *o;
	char fp[17];

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
	if (json_dump_callback(
		o, append_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER)
	    == -1)
		fatalx("checkpoint: cannot encode an entry");
	json_decref(o);
}

/* ,"journals":[{"source":"s","cursor":"..."}, ...]: one line each,
 * through jansson (a cursor per journal source, not per file). */
static void
encode_cursors(const struct ls_ckpt *c, struct ls_buf *b)
{
	json_t *o;
	size_t i;

	ls_buf_append(b, ",\"journals\":[", 13);
	for (i = 0; i < c->jn; i++) {
		ls_buf_append(b, i == 0 ? "\n" : ",\n", i == 0 ? 1 : 2);
		if ((o = json_object()) == NULL)
			fatalx("checkpoint: out of memory");
		set_str(o, "source", c->jv[i].source);
		set_str(o, "cursor", c->jv[i].cursor);
		if (json_dump_callback(
			o, append_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER)
		    == -1)
			fatalx("checkpoint: cannot encode a cursor");
		json_decref(o);
	}
	ls_buf_append(b, "\n]", 2);
}

/*
 * The checkpoint as text in b: one line per file, so that an operator can
 * read and grep it, and still a single JSON document. It runs on the loop
 * at every checkpoint, so plain strings are written directly: through
 * jansson, objects and all, 1,000 files cost a millisecond.
 */
void
ckpt_encode(const struct ls_ckpt *c, struct ls_buf *b)
{
	const struct ls_ckpt_entry *e;
	size_t i;

	ls_buf_printf(b, "{\"version\":%d,\"written\":%lld,\"files\":[",
	    CKPT_VERSION, (long long)ls_wall_ms());
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		ls_buf_append(b, i == 0 ? "\n" : ",\n", i == 0 ? 1 : 2);
		if (!plain(e->source) || !plain(e->path)) {
			encode_slow(e, b);
			continue;
		}
		ls_buf_printf(b, "{\"source\":\"%s\",\"path\":\"%s\"",
		    e->source, e->path);
		put_u64(b, "dev", e->dev);
		put_u64(b, "ino", e->ino);
		ls_buf_printf(b,
		    ",\"fp_len\":%" PRIu32 ",\"fp\":\"%016" PRIx64 "\"",
		    e->fp_len, e->fp);
		put_u64(b, "offset", e->offset);
		ls_buf_putc(b, '}');
	}
	ls_buf_append(b, "\n]", 2);
	if (c->jn > 0)
		encode_cursors(c, b);
	ls_buf_append(b, "}\n", 2);
}
