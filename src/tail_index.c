/*
 * tail_index: the tailer's indexes of followed files, over one hash table
 * (htab.h): files by identity (device, inode), the question every scan
 * and restart asks; files by path, the question every inotify event
 * asks; and the paths a glob matched that cannot be followed, each
 * reported once per reason rather than at every scan, and forgotten by
 * the first scan that no longer finds it so (fixed, or gone), so that a
 * fault that comes back is reported again (tests/e2e/fault_files.sh).
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "log.h"
#include "status_metrics.h"
#include "tailer_impl.h"
#include "xmalloc.h"

/* A path a glob matched that cannot be followed, and why. */
struct badpath {
	struct ls_hnode node;
	char *path;
	int why; /* an errno, a BAD_*, or -(its S_IFMT type) */
	unsigned seen; /* the scan generation that last found it so */
};

void
tail_index_init(struct ls_tailer *t)
{
	ls_htab_init(&t->ids, 256);
	ls_htab_init(&t->paths, 256);
	ls_htab_init(&t->bad, 16);
}

static int
free_bad_cb(struct ls_hnode *n, void *arg)
{
	struct badpath *b = LS_CONTAINER_OF(n, struct badpath, node);

	free(b->path);
	free(b);
	return 1;
}

void
tail_index_cleanup(struct ls_tailer *t)
{
	ls_htab_sweep(&t->bad, free_bad_cb, NULL);
	ls_htab_cleanup(&t->bad);
	ls_htab_cleanup(&t->ids);
	ls_htab_cleanup(&t->paths);
}

/*
 * Files by identity.
 */

static uint64_t
id_hash(dev_t dev, ino_t ino)
{
	return ls_hash_u64x2((uint64_t)dev, (uint64_t)ino);
}

struct tfile *
tail_id_find(struct ls_tailer *t, dev_t dev, ino_t ino)
{
	struct ls_hnode *n;
	struct tfile *f;

	for (n = ls_htab_first(&t->ids, id_hash(dev, ino)); n != NULL;
	     n = ls_htab_next(n)) {
		f = LS_CONTAINER_OF(n, struct tfile, idn);
		if (f->dev == dev && f->ino == ino)
			return f;
	}
	return NULL;
}

void
tail_id_insert(struct ls_tailer *t, struct tfile *f)
{
	ls_htab_insert(&t->ids, &f->idn, id_hash(f->dev, f->ino));
	f->hashed = 1;
}

void
tail_id_remove(struct ls_tailer *t, struct tfile *f)
{
	if (!f->hashed)
		return;
	ls_htab_remove(&t->ids, &f->idn);
	f->hashed = 0;
}

/*
 * Files by path.
 */

void
tail_set_path(struct tfile *f, const char *path)
{
	struct ls_tailer *t = f->t;

	if (f->path != NULL) {
		ls_htab_remove(&t->paths, &f->pathn);
		free(f->last_path);
		f->last_path = f->path;
		f->path = NULL;
	}
	if (path == NULL)
		return;
	f->path = xstrdup(path);
	ls_htab_insert(&t->paths, &f->pathn, ls_hash_str(path));
}

/* Called for every inotify event that names a file: the full hash is
 * compared before the paths, which share their directory's prefix. */
struct tfile *
tail_by_path(struct ls_tailer *t, const char *dir, const char *name)
{
	char path[PATH_MAX];
	size_t dlen = strlen(dir), nlen = strlen(name);
	struct ls_hnode *n;
	struct tfile *f;

	if (dlen + 1 + nlen >= sizeof path)
		return NULL;
	memcpy(path, dir, dlen);
	path[dlen] = '/';
	memcpy(path + dlen + 1, name, nlen + 1);
	for (n = ls_htab_first(&t->paths, ls_hash_str(path)); n != NULL;
	     n = ls_htab_next(n)) {
		f = LS_CONTAINER_OF(n, struct tfile, pathn);
		if (strcmp(f->path, path) == 0)
			return f;
	}
	return NULL;
}

/*
 * Paths that cannot be followed.
 */

static const char *
file_kind(int why)
{
	switch (-why) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "not a file";
	}
}

/*
 * path, matched by a glob, cannot be followed: why is an errno (from what,
 * "open", or from stat when NULL), a BAD_*, or -(its S_IFMT type). The
 * refusals of links and pseudo files are counted (paths_refused). Logged
 * when the path or its reason is new; the scans that find it so again say
 * nothing. A directory is a notice (a glob such as "dir/x*" may match one
 * in passing), the rest are warnings.
 */
void
tail_bad_path(struct ls_tailer *t, const char *path, int why, const char *what)
{
	struct ls_hnode *n;
	struct badpath *b = NULL;
	uint64_t h = ls_hash_str(path);

	for (n = ls_htab_first(&t->bad, h); n != NULL; n = ls_htab_next(n)) {
		b = LS_CONTAINER_OF(n, struct badpath, node);
		if (strcmp(b->path, path) == 0)
			break;
		b = NULL;
	}
	if (b == NULL) {
		b = xcalloc(1, sizeof *b);
		b->path = xstrdup(path);
		ls_htab_insert(&t->bad, &b->node, h);
	} else if (b->why == why) {
		b->seen = t->gen;
		return;
	}
	b->why = why;
	b->seen = t->gen;
	if (why == BAD_LINK || why == BAD_LINK_OUT || why == BAD_PSEUDO)
		LS_COUNT(t->m->paths_refused, 1);
	if (why == BAD_LINK)
		log_warnx("%s: a symbolic link, not followed (the source "
			  "does not set follow_symlinks); skipped",
		    path);
	else if (why == BAD_LINK_OUT)
		log_warnx("%s: a symbolic link out of the source's "
			  "directories; skipped",
		    path);
	else if (why == BAD_PSEUDO)
		log_warnx("%s: on a pseudo file system (procfs, sysfs...), "
			  "not a log; skipped",
		    path);
	else if (why > 0)
		log_warnx("%s: %s%s%s; skipped", path, what ? what : "",
		    what ? ": " : "", strerror(why));
	else if (why == BAD_DANGLING)
		log_warnx("%s: a symbolic link to nothing; skipped", path);
	else if (-why == S_IFDIR)
		log_notice("%s: not a regular file (%s); skipped", path,
		    file_kind(why));
	else
		log_warnx("%s: not a regular file (%s); skipped", path,
		    file_kind(why));
}

static int
unseen_cb(struct ls_hnode *n, void *arg)
{
	struct badpath *b = LS_CONTAINER_OF(n, struct badpath, node);
	const struct ls_tailer *t = arg;

	if (b->seen == t->gen)
		return 0;
	free(b->path);
	free(b);
	return 1;
}

void
tail_bad_sweep(struct ls_tailer *t)
{
	ls_htab_sweep(&t->bad, unseen_cb, t);
}
