/* compress: see compress.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <libdeflate.h>
#include <zstd.h>

#include "compress.h"
#include "log.h"
#include "xmalloc.h"

struct ls_compressor {
	enum ls_compression kind;
	int level;
	struct libdeflate_compressor *gz;
	ZSTD_CCtx *zs;
};

struct ls_compressor *
ls_compressor_new(enum ls_compression kind, int level)
{
	struct ls_compressor *c;

	if (kind == LS_COMPRESS_NONE || level < 1 /* 0 would store */
	    || (kind == LS_COMPRESS_ZSTD && level > ZSTD_maxCLevel()))
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->kind = kind;
	c->level = level;
	if (kind == LS_COMPRESS_GZIP)
		c->gz = libdeflate_alloc_compressor(level);
	else if ((c->zs = ZSTD_createCCtx()) != NULL
	    && ZSTD_isError(ZSTD_CCtx_setParameter(
		c->zs, ZSTD_c_compressionLevel, level))) {
		ZSTD_freeCCtx(c->zs);
		c->zs = NULL;
	}
	if (c->gz == NULL && c->zs == NULL) {
		log_warnx("cannot make a %s compressor at level %d",
		    ls_compression_encoding(kind), level);
		free(c);
		return NULL;
	}
	return c;
}

void
ls_compressor_free(struct ls_compressor *c)
{
	if (c == NULL)
		return;
	if (c->gz != NULL)
		libdeflate_free_compressor(c->gz);
	ZSTD_freeCCtx(c->zs);
	free(c);
}

int
ls_compress(
    struct ls_compressor *c, struct ls_buf *out, const void *in, size_t len)
{
	size_t bound, n;

	ls_buf_reset(out);
	/* One call over the whole body, into a buffer the bound says is
	 * always enough; +1 for the buffer's NUL. */
	if (c->gz != NULL)
		bound = libdeflate_gzip_compress_bound(c->gz, len);
	else
		bound = ZSTD_compressBound(len);
	ls_buf_reserve(out, bound + 1);
	if (c->gz != NULL)
		n = libdeflate_gzip_compress(c->gz, in, len, out->data, bound);
	else {
		n = ZSTD_compress2(c->zs, out->data, bound, in, len);
		if (ZSTD_isError(n)) {
			log_warnx("zstd: %s", ZSTD_getErrorName(n));
			n = 0;
		}
	}
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	out->len = n;
	out->data[n] = '\0';
	return 0;
}

const char *
ls_compression_encoding(enum ls_compression kind)
{
	switch (kind) {
	case LS_COMPRESS_GZIP:
		return "gzip";
	case LS_COMPRESS_ZSTD:
		return "zstd";
	default:
		return NULL;
	}
}

int
ls_compression_default_level(enum ls_compression kind)
{
	switch (kind) {
	case LS_COMPRESS_GZIP:
		return LS_GZIP_LEVEL;
	case LS_COMPRESS_ZSTD:
		return LS_ZSTD_LEVEL;
	default:
		return 0;
	}
}
