/*
 * fuzz_lines: line framing (linebuf) fed in arbitrary chunks, and the
 * severity of every line that comes out.
 *
 * The input's first bytes choose max_line_bytes, the starting offset, a
 * seed for the chunk sizes and where to reset or flush; the rest is the
 * stream. A model that keeps every byte of the current line (no cap, no
 * copy avoidance) says what must come out: each line's kept bytes, end
 * offset and dropped count, in order, whatever the chunking, and
 * ls_linebuf_pending() after every chunk.
 *
 * Each line is then copied to a buffer of exactly its length, so that
 * ASan sees any read past it, and given to ls_severity_detect().
 *
 * Multiline joining lives in tail_record.c as static code behind the tailer's
 * file handling, not an exported API, so it is not fuzzed here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linebuf.h"
#include "severity.h"
#include "xmalloc.h"

struct line {
	char *p;
	size_t len;
	uint64_t end;
	size_t dropped;
};

struct lines {
	struct line *v;
	size_t n, cap;
};

/* The model: the whole current line, however long. */
struct model {
	char *raw;
	size_t len, cap;
	size_t max;
	uint64_t offset;
	struct lines *out;
};

static void
lines_add(
    struct lines *l, const char *p, size_t len, uint64_t end, size_t dropped)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n].p = xmalloc(len + 1);
	memcpy(l->v[l->n].p, p, len);
	l->v[l->n].len = len;
	l->v[l->n].end = end;
	l->v[l->n].dropped = dropped;
	l->n++;
}

static void
lines_clear(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].p);
	l->n = 0;
}

/* The line the model holds is complete: "\r" dropped, cut at max. */
static void
model_emit(struct model *m)
{
	size_t len = m->len, kept;

	if (len > 0 && m->raw[len - 1] == '\r')
		len--;
	kept = len < m->max ? len : m->max;
	if (len > 0)
		lines_add(m->out, m->raw, kept, m->offset, len - kept);
	m->len = 0;
}

static void
model_feed(struct model *m, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		m->offset++;
		if (p[i] == '\n') {
			model_emit(m);
			continue;
		}
		if (m->len == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 256;
			m->raw = xrealloc(m->raw, m->cap);
		}
		m->raw[m->len++] = p[i];
	}
}

static void
line_cb(const char *line, size_t len, uint64_t end, size_t dropped, void *arg)
{
	lines_add(arg, line, len, end, dropped);
}

/* The lines out of linebuf must be the model's, exactly. */
static void
compare(struct lines *got, struct lines *want, enum ls_severity dflt)
{
	enum ls_severity sev;
	char *copy;
	size_t i;

	if (got->n != want->n)
		fuzz_fail("%zu lines, the model has %zu", got->n, want->n);
	for (i = 0; i < got->n; i++) {
		if (got->v[i].len != want->v[i].len
		    || memcmp(got->v[i].p, want->v[i].p, got->v[i].len) != 0
		    || got->v[i].end != want->v[i].end
		    || got->v[i].dropped != want->v[i].dropped)
			fuzz_fail("line %zu: %zu bytes, end %llu, dropped "
				  "%zu; the model: %zu, %llu, %zu",
			    i, got->v[i].len, (unsigned long long)got->v[i].end,
			    got->v[i].dropped, want->v[i].len,
			    (unsigned long long)want->v[i].end,
			    want->v[i].dropped);
		if (got->v[i].len == 0 && got->v[i].dropped == 0)
			fuzz_fail("line %zu: an empty line was emitted", i);
		copy = xmalloc(got->v[i].len ? got->v[i].len : 1);
		memcpy(copy, got->v[i].p, got->v[i].len);
		sev = ls_severity_detect(copy, got->v[i].len, dflt);
		if ((unsigned)sev >= LS_SEV_COUNT)
			fuzz_fail("severity %d out of range", (int)sev);
		fuzz_assert(ls_severity_name(sev) != NULL);
		if (ls_severity_parse(copy, got->v[i].len, &sev) == 0
		    && (unsigned)sev >= LS_SEV_COUNT)
			fuzz_fail("parsed severity %d out of range", (int)sev);
		free(copy);
	}
	lines_clear(got);
	lines_clear(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 257,
		1024, 4096, 65536, 65537, 1 << 20 };
	struct fuzz_in in = { data, size };
	struct lines got = { 0 }, want = { 0 };
	struct model m = { 0 };
	struct ls_linebuf lb;
	enum ls_severity dflt;
	uint64_t start;
	uint32_t rnd;
	unsigned flags;
	size_t off = 0, n, max;
	uint8_t b;

	b = (uint8_t)fuzz_take(&in, 1);
	/* Small maxes most of the time: they are where the cap matters. */
	max = b < 0xc0 ? (size_t)b % 96 + 1 : maxes[b % 16];
	start = fuzz_take(&in, 1) == 0 ? 0 : fuzz_take(&in, 4) << 8;
	rnd = (uint32_t)fuzz_take(&in, 4) | 1;
	flags = (unsigned)fuzz_take(&in, 1);
	dflt = (enum ls_severity)(flags % LS_SEV_COUNT);

	ls_linebuf_init(&lb, max, start);
	m.max = max;
	m.offset = start;
	m.out = &want;
	while (off < in.left) {
		/* xorshift32: chunk sizes from 0 to everything left, most
		 * of them short, so that lines and "\r\n" straddle them. */
		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		switch (rnd % 4) {
		case 0:
			n = rnd >> 8 & 1;
			break;
		case 1:
			n = (rnd >> 8) % 8;
			break;
		case 2:
			n = (rnd >> 8) % (max + 3);
			break;
		default:
			n = (rnd >> 8) % (in.left - off + 1);
			break;
		}
		if (n > in.left - off)
			n = in.left - off;
		ls_linebuf_feed(
		    &lb, (const char *)in.p + off, n, line_cb, &got);
		model_feed(&m, (const char *)in.p + off, n);
		off += n;
		compare(&got, &want, dflt);
		if (ls_linebuf_pending(&lb) != m.len)
			fuzz_fail("pending %zu, the model holds %zu",
			    ls_linebuf_pending(&lb), m.len);
		fuzz_assert(lb.offset == m.offset);
		/* Now and then the idle flush, or a truncation. */
		if ((flags & 0x10) && (rnd >> 24) % 16 == 0) {
			ls_linebuf_flush(&lb, line_cb, &got);
			model_emit(&m);
			compare(&got, &want, dflt);
			fuzz_assert(ls_linebuf_pending(&lb) == 0);
		} else if ((flags & 0x20) && (rnd >> 24) % 32 == 1) {
			ls_linebuf_reset(&lb, m.offset / 2);
			m.len = 0;
			m.offset /= 2;
		}
	}
	if (flags & 0x40) {
		ls_linebuf_flush(&lb, line_cb, &got);
		model_emit(&m);
		compare(&got, &want, dflt);
	}
	ls_linebuf_cleanup(&lb);
	free(m.raw);
	free(got.v);
	free(want.v);
	return 0;
}
