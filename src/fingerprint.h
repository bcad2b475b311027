/*
 * fingerprint: what tells a file from another that took its inode, the
 * CRC-64 (CRC-64/XZ) of its first bytes. It is part of the checkpoint's
 * format (checkpoint.h, which includes this header): changing the
 * algorithm would make every file look new.
 *
 * Threading: pure but for pread(2); any thread.
 */
#ifndef LS_FINGERPRINT_H
#define LS_FINGERPRINT_H

#include <stdint.h>

#include "log.h"

/* Bytes a fingerprint covers at most. */
#define LS_FP_MAX 1024

/*
 * Fingerprints fd: the CRC-64 of its first min(size, LS_FP_MAX) bytes, read
 * with pread (the file offset does not move). *len is the number of bytes
 * covered. 0, or -1 with errno.
 */
int ls_fingerprint(int fd, uint32_t *len, uint64_t *fp) LS_WARN_UNUSED;
/* 1 if fd's first len bytes exist and hash to fp (len 0 always matches),
 * 0 if not, -1 with errno on a read error or a len above LS_FP_MAX. */
int ls_fingerprint_matches(int fd, uint32_t len, uint64_t fp);

#endif
