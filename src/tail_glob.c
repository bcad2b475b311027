/*
 * tail_glob: the sources' path patterns, for tail_scan.c.
 *
 * A pattern is a glob(7) pattern, expanded by glob(3), or one with "**",
 * which matches any number of directories (none included): the tree
 * under the pattern's base (its directories before the first wildcard)
 * is walked, every directory in it is watched (so a file made in a new
 * subdirectory is seen at once: the directory's creation asks for a
 * scan, which watches it), and each path in it is matched. The walk
 * never goes through a link to a directory, and stops at
 * max_watched_dirs directories with a warning.
 *
 * What a pattern matches is not followed when one of the source's
 * exclude_paths matches it, or when it is a compressed rotation (.gz,
 * .xz, .zst, .bz2, .zip) that the pattern does not name: "app.log*" would
 * otherwise read app.log.2.gz as binary lines. Each source says once that
 * it leaves such files alone.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tailer_impl.h"
#include "xmalloc.h"

static const char *const compressed[]
    = { ".gz", ".xz", ".zst", ".bz2", ".zip" };
#define NCOMPRESSED (sizeof compressed / sizeof compressed[0])

char *
tail_pattern_base(const char *pattern)
{
	char *base = xstrdup(pattern), *slash;
	size_t wild = strcspn(base, "*?[");

	base[wild] = '\0';
	if ((slash = strrchr(base, '/')) == NULL) {
		free(base);
		return xstrdup(".");
	}
	slash[slash == base] = '\0'; /* "/x*" is under "/" */
	return base;
}

int
tail_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0
	    && (path[n] == '/' || path[n] == '\0');
}

/*
 * Does the pattern p (with "**") match the path s? The part before the
 * first "**" must match a leading part of s that ends at a '/', and the
 * rest (after the "**" and its '/', or nothing: a final "**" matches
 * everything below) must match what follows some '/' after it.
 */
static int
star_match(const char *p, const char *s)
{
	const char *star = strstr(p, "**"), *rest;
	char head[PATH_MAX], lead[PATH_MAX];
	size_t hlen = star != NULL ? (size_t)(star - p) : 0, k, j, n;

	if (star == NULL)
		return fnmatch(p, s, FNM_PATHNAME) == 0;
	if (hlen >= sizeof head)
		return 0;
	memcpy(head, p, hlen);
	head[hlen] = '\0';
	rest = star + 2;
	if (*rest == '/')
		rest++;
	n = strlen(s);
	for (k = 0; k <= n && k < sizeof lead; k++) {
		if (k > 0 && s[k - 1] != '/')
			continue;
		memcpy(lead, s, k);
		lead[k] = '\0';
		if (fnmatch(head, lead, FNM_PATHNAME) != 0)
			continue;
		if (*rest == '\0')
			return 1;
		/* "**" takes the directories from k to j. */
		for (j = k; j <= n; j++)
			if ((j == k || s[j - 1] == '/')
			    && star_match(rest, s + j))
				return 1;
	}
	return 0;
}

int
tail_glob_match(const char *pattern, const char *path)
{
	return star_match(pattern, path);
}

/* Does path end with a compressed file's extension that the pattern's
 * last component does not name? */
static const char *
unnamed_compression(const char *pattern, const char *path)
{
	size_t i, pl = strlen(path), el;
	const char *last = strrchr(pattern, '/');

	last = last != NULL ? last + 1 : pattern;
	for (i = 0; i < NCOMPRESSED; i++) {
		el = strlen(compressed[i]);
		if (pl > el && strcmp(path + pl - el, compressed[i]) == 0)
			return strstr(last, compressed[i]) != NULL
			    ? NULL
			    : compressed[i];
	}
	return NULL;
}

int
tail_glob_skip(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *pattern, const char *path)
{
	const char *ext;
	size_t i;

	for (i = 0; i < src->nexclude_paths; i++)
		if (star_match(src->exclude_paths[i], path))
			return 1;
	if ((ext = unnamed_compression(pattern, path)) == NULL)
		return 0;
	i = tail_source_index(t, src);
	if (i < t->ncompressed_noted && !t->compressed_noted[i]) {
		t->compressed_noted[i] = 1;
		log_notice("%s: compressed (%s), not read; so are the source "
			   "%s's other compressed rotations (a pattern that "
			   "names %s reads them)",
		    path, ext, src->name, ext);
	}
	return 1;
}

/* A directory of the walk, waiting to be read. */
struct pending {
	char *path;
	struct pending *next;
};

/* Walks the tree under base for pattern: every directory watched, cb for
 * each entry (not a directory) that the pattern matches. */
static void
walk(struct ls_tailer *t, const char *pattern, const char *base,
    void (*cb)(struct ls_tailer *, const char *, void *), void *arg)
{
	struct pending *todo, *d;
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];
	size_t ndirs = 0;
	DIR *dir;

	todo = xcalloc(1, sizeof *todo);
	todo->path = xstrdup(base);
	while ((d = todo) != NULL) {
		todo = d->next;
		/* Watched whether or not it holds a match yet: a file made
		 * in it later must be seen. */
		if (++ndirs > t->conf->max_watched_dirs
		    || tail_watch_dir(t, d->path) == -1
		    || (dir = opendir(d->path)) == NULL) {
			free(d->path);
			free(d);
			continue;
		}
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0
			    || strcmp(de->d_name, "..") == 0)
				continue;
			if (snprintf(path, sizeof path, "%s%s%s", d->path,
				strcmp(d->path, "/") == 0 ? "" : "/",
				de->d_name)
			    >= (int)sizeof path)
				continue;
			/* Never into a link: lstat, not stat. */
			if (fstatat(dirfd(dir), de->d_name, &st,
				AT_SYMLINK_NOFOLLOW)
			    == -1)
				continue;
			if (S_ISDIR(st.st_mode)) {
				struct pending *n = xcalloc(1, sizeof *n);

				n->path = xstrdup(path);
				n->next = todo;
				todo = n;
			} else if (star_match(pattern, path))
				cb(t, path, arg);
		}
		closedir(dir);
		free(d->path);
		free(d);
	}
}

void
tail_glob_each(struct ls_tailer *t, const char *pattern,
    void (*cb)(struct ls_tailer *, const char *, void *), void *arg)
{
	glob_t g;
	char *base;
	size_t i;
	int rc;

	if (strstr(pattern, "**") != NULL) {
		base = tail_pattern_base(pattern);
		walk(t, pattern, base, cb, arg);
		free(base);
		return;
	}
	rc = glob(pattern, GLOB_NOSORT, NULL, &g);
	/* Watch the pattern's directory, to see creations. */
	tail_watch_parent(t, pattern);
	if (rc != 0) {
		if (rc != GLOB_NOMATCH)
			log_warnx("%s: glob failed", pattern);
		globfree(&g);
		return;
	}
	for (i = 0; i < g.gl_pathc; i++)
		cb(t, g.gl_pathv[i], arg);
	globfree(&g);
}
