/*
 * fingerprint: see fingerprint.h.
 */
#include "config.h"

#include <sys/types.h>
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "fingerprint.h"

/* CRC-64/XZ (ECMA-182 polynomial, reflected), as in xz and Go's crc64. */
#define CRC64_POLY 0xc96c5795d7870f42ULL

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
