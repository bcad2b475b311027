/*
 * checkpoint_file: the state directory and the writing of a generation
 * (checkpoint.h says how, and why; checkpoint_impl.h lists the family).
 * The caller's thread: the writer's, or the only one.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "checkpoint_impl.h"
#include "log.h"
#include "status_metrics.h"

/* ls_ckpt_open; quiet leaves the failures of mkdir and open to the
 * caller's once-per-errno warning (a write retried every interval). */
static int
dir_open(struct ls_ckpt *c, int allow_insecure, int quiet)
{
	struct stat st;
	const char *why = NULL;
	int fd, saved;

	if (c->dfd != -1)
		return 0;
	if (mkdir(c->dir, 0700) == -1 && errno != EEXIST) {
		if (!quiet)
			log_warn(
			    "%s: cannot create the state directory", c->dir);
		return -1;
	}
	fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		if (!quiet && (errno == ELOOP || errno == ENOTDIR))
			log_warnx("%s: the state directory is not a directory "
				  "(a symbolic link is not followed): name the "
				  "real directory in state_dir",
			    c->dir);
		else if (!quiet)
			log_warn("%s: cannot open the state directory", c->dir);
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		log_warn("%s: fstat", c->dir);
		close(fd);
		errno = saved;
		return -1;
	}
	/* Whoever may write it can plant links and files for us to trust. */
	if (st.st_uid != geteuid())
		why = "is not owned by the user logshipd runs as";
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		why = "may be written by group or others";
	if (why != NULL && !allow_insecure) {
		log_warnx("%s: the state directory %s (owner uid %u, mode "
			  "%04o): give it to uid %u with mode 0700 (chown "
			  "%u %s; chmod 0700 %s), or set "
			  "allow_insecure_state_dir: true",
		    c->dir, why, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (unsigned)geteuid(),
		    (unsigned)geteuid(), c->dir, c->dir);
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (why != NULL)
		log_warnx("%s: the state directory %s (owner uid %u, mode "
			  "%04o); allowed by allow_insecure_state_dir",
		    c->dir, why, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	c->dfd = fd;
	/* What is there was there before us: the load fsyncs it, and a
	 * write may keep it as .prev. */
	c->cur_synced = 1;
	return 0;
}

int
ls_ckpt_open(struct ls_ckpt *c, int allow_insecure)
{
	return dir_open(c, allow_insecure, 0);
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

/*
 * Writes text as the new checkpoint.json; durable: fsynced, file and
 * directory. 0, or -1 with errno, logged once per distinct errno. The
 * caller's thread: the writer's, or the only one.
 */
static int
write_text(struct ls_ckpt *c, const struct ls_buf *text, int durable)
{
	const char *what, *step;
	int fd = -1, made_tmp = 0, saved;

	step = "open";
	what = c->dir;
	if (dir_open(c, 0, 1) == -1)
		goto fail;
	/*
	 * A leftover temporary file, or a link planted in its place, is
	 * removed rather than opened: O_EXCL|O_NOFOLLOW then creates a new
	 * file of our own or fails, never writes through a link.
	 */
	step = "remove";
	what = c->tmp;
	if (unlinkat(c->dfd, CKPT_TMP, 0) == -1 && errno != ENOENT)
		goto fail;
	step = "open";
	fd = openat(c->dfd, CKPT_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	made_tmp = 1;
	step = "write";
	if (write_all(fd, text->data, text->len) == -1)
		goto fail;
	step = "fsync";
	if (durable && fsync(fd) == -1)
		goto fail;
	step = "close";
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto fail;

	/*
	 * Keep the current generation as .prev, if it is durable: .prev is
	 * what a power loss cannot take. A hard link leaves checkpoint.json
	 * in place until the rename below replaces it, so there is never a
	 * moment without one; where links are refused (some FUSE and FAT
	 * filesystems) a rename does, and the load copes with the gap it
	 * leaves. After a fallback at load, the damaged current must not
	 * replace the good previous generation.
	 */
	if (c->cur_synced && !c->cur_bad) {
		step = "remove";
		what = c->prev;
		if (unlinkat(c->dfd, CKPT_PREV, 0) == -1 && errno != ENOENT)
			goto fail;
		step = "link";
		if (linkat(c->dfd, CKPT_NAME, c->dfd, CKPT_PREV, 0) == -1
		    && errno != ENOENT) {
			step = "rename";
			if (renameat(c->dfd, CKPT_NAME, c->dfd, CKPT_PREV) == -1
			    && errno != ENOENT)
				goto fail;
		}
	}
	step = "rename";
	what = c->cur;
	if (renameat(c->dfd, CKPT_TMP, c->dfd, CKPT_NAME) == -1)
		goto fail;
	made_tmp = 0;
	c->cur_bad = 0;
	c->cur_synced = 0;
	/* The renames are durable only once the directory is. */
	step = "fsync";
	what = c->dir;
	if (durable && fsync(c->dfd) == -1)
		goto fail;
	c->cur_synced = durable;

	if (c->werr != 0)
		log_notice("%s: checkpoint written again", c->cur);
	c->werr = 0;
	return 0;

fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (made_tmp)
		unlinkat(c->dfd, CKPT_TMP, 0);
	/* Retried every interval: say it when the reason changes. */
	if (saved != c->werr) {
		errno = saved;
		log_warn(
		    "%s: %s (checkpoint not saved, will retry)", what, step);
	}
	c->werr = saved;
	errno = saved;
	return -1;
}

/* Makes a generation renamed without an fsync durable. 0, or -1. */
int
ckpt_sync_cur(struct ls_ckpt *c)
{
	int fd, saved;

	if ((fd = openat(c->dfd, CKPT_NAME,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC))
	    == -1)
		goto fail;
	saved = fsync(fd);
	close(fd);
	if (saved == -1 || fsync(c->dfd) == -1)
		goto fail;
	c->cur_synced = 1;
	return 0;
fail:
	saved = errno;
	if (saved != c->werr) {
		log_warn(
		    "%s: fsync (checkpoint not durable, will retry)", c->cur);
		c->werr = saved;
	}
	errno = saved;
	return -1;
}

/* write_text, counted: a failure in checkpoint_errors, a success in
 * checkpoint_writes and checkpoint_ms. */
int
ckpt_write_counted(struct ls_ckpt *c, const struct ls_buf *text, int durable)
{
	int rc;

	rc = write_text(c, text, durable);
	if (c->m == NULL)
		return rc;
	if (rc == -1)
		LS_COUNT(c->m->checkpoint_errors, 1);
	else {
		LS_COUNT(c->m->checkpoint_writes, 1);
		atomic_store_explicit(
		    &c->m->checkpoint_ms, ls_now_ms(), memory_order_relaxed);
	}
	return rc;
}

int
ls_ckpt_write(struct ls_ckpt *c)
{
	ls_buf_reset(&c->text);
	ckpt_encode(c, &c->text);
	return ckpt_write_counted(c, &c->text, 1);
}
