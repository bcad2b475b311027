/*
 * secret: see secret.h.
 *
 * A secret's mapping starts with a small header (its length, and a magic
 * number that ls_secret_free checks, so a pointer from malloc is caught
 * rather than unmapped), followed by the string. Reading a mapping's flags
 * needs no privilege: /proc/self/smaps shows "dd" in VmFlags for it.
 */
#include "config.h"

#include <sys/mman.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"

#define SECRET_MAGIC 0x5ec7e75ec7e7ULL

struct secret_head {
	uint64_t magic;
	size_t maplen;
	/* The string follows, aligned as this struct is. */
};

/* A mapping with room for len bytes and a NUL, marked not to be dumped;
 * returns where the string goes, or NULL. */
static char *
map_secret(size_t len)
{
	struct secret_head *h;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), need;
	int saved;

	if (len > SIZE_MAX - sizeof *h - 1 - page) {
		errno = ENOMEM;
		return NULL;
	}
	need = sizeof *h + len + 1;
	need = (need + page - 1) / page * page;
	h = mmap(NULL, need, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return NULL;
	/* Fail closed: a kernel that cannot keep it out of a dump does not
	 * get the key. */
	if (madvise(h, need, MADV_DONTDUMP) == -1) {
		saved = errno;
		munmap(h, need);
		errno = saved;
		return NULL;
	}
	h->magic = SECRET_MAGIC;
	h->maplen = need;
	return (char *)(h + 1);
}

char *
ls_secret_new(const char *s, size_t len)
{
	char *p;

	if ((p = map_secret(len)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
ls_secret_printf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((p = map_secret((size_t)n)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
ls_secret_free(char *p)
{
	struct secret_head *h;
	size_t len;

	if (p == NULL)
		return;
	h = (struct secret_head *)p - 1;
	if (h->magic != SECRET_MAGIC)
		fatalx("ls_secret_free: not a secret");
	len = h->maplen;
	explicit_bzero(h, len);
	munmap(h, len);
}
