/*
 * compress: request bodies for the wire.
 *
 * gzip is made with libdeflate, not zlib: the same format, a better ratio
 * at a given level, and 2-3 times less CPU, since it compresses a whole
 * buffer at once instead of streaming (bench/: see the README). zstd
 * (Content-Encoding: zstd) is the Datadog Agent's default towards its own
 * host, agent-http-intake.logs.<site>: far cheaper than gzip for the same
 * ratio, but not in the public intake's documented contract, so a
 * destination falls back to gzip when it is refused (sender_http.c).
 *
 * A compressor keeps its tables between calls: one per worker thread.
 */
#ifndef LS_COMPRESS_H
#define LS_COMPRESS_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"

struct ls_compressor;

/* A compressor of kind at level (gzip 1-12, zstd 1-19); NULL for
 * LS_COMPRESS_NONE or if it cannot be made (logged). */
struct ls_compressor *ls_compressor_new(enum ls_compression, int level);
void ls_compressor_free(struct ls_compressor *);
/* Compresses in[0..len-1] into out (its old contents go). 0, or -1. */
int ls_compress(struct ls_compressor *, struct ls_buf *out, const void *in,
    size_t len) LS_WARN_UNUSED;
/* The level a codec gets when compression_level is not set, chosen by
 * measurement (bench/levels.py; README): gzip 6, zlib's and the Agent's
 * default; zstd 1, the Agent's. */
#define LS_GZIP_LEVEL 6
#define LS_ZSTD_LEVEL 1
int ls_compression_default_level(enum ls_compression);
/* The Content-Encoding of kind, or NULL for none. */
const char *ls_compression_encoding(enum ls_compression);

#endif
