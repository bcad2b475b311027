/*
 * fuzz: what the libFuzzer targets share. Each target is one
 * LLVMFuzzerTestOneInput over libls.a; a broken property is reported with
 * fuzz_fail(), which aborts, so libFuzzer saves the input as a crash.
 */
#ifndef LS_FUZZ_H
#define LS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints the broken property and aborts. */
#define fuzz_fail(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		abort();                                                       \
	} while (0)

#define fuzz_assert(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail("assertion failed: %s", #cond);              \
	} while (0)

/*
 * Reads the input from the front: a byte, or a little-endian integer of n
 * bytes, and 0 once it runs out, so that every input is usable.
 */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t
fuzz_take(struct fuzz_in *in, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && in->left > 0; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

/* 1 if s[0..len) is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF), decoded by code point, not by byte tables. */
static inline int
fuzz_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
		    || (n == 4 && cp < 0x10000) || cp > 0x10ffff
		    || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

#endif
