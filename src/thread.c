/*
 * thread: see thread.h and docs/internals/threads.md.
 *
 * A new thread inherits its creator's signal mask (pthread_create(3)), so
 * the mask is set by blocking every signal around pthread_create() and
 * restoring the creator's right after: the thread starts with the full
 * mask, and the window in which a signal could reach it does not exist.
 * Blocking inside the thread's function instead would leave one.
 *
 * The kernel name is set by the creator once the thread exists, so it is
 * there when ls_thread_start() returns; the log tag is thread-local and
 * set by the thread itself, before fn runs.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "thread.h"
#include "xmalloc.h"

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	char name[64];
};

static void *
thread_main(void *arg)
{
	struct thread_start st = *(struct thread_start *)arg;

	free(arg);
	log_setname(st.name);
	return st.fn(st.arg);
}

/* Tested in check_thread.c: shortname_*. */
void
ls_thread_shortname(char out[LS_THREAD_NAME_MAX], const char *name)
{
	const size_t max = LS_THREAD_NAME_MAX - 1;
	const char *first = strchr(name, '/'), *last = strrchr(name, '/');
	size_t head = 0, tail = 0;

	if (first != NULL && first != last) {
		head = (size_t)(first - name) + 1; /* "send/" */
		tail = strlen(last); /* "/12" */
	}
	if (strlen(name) <= max || head == 0 || head + tail >= max) {
		/* It fits, or there is no middle to cut: keep the front. */
		snprintf(out, LS_THREAD_NAME_MAX, "%.*s", (int)max, name);
		return;
	}
	snprintf(out, LS_THREAD_NAME_MAX, "%.*s%.*s%s", (int)head, name,
	    (int)(max - head - tail), first + 1, last);
}

/* Tested in check_thread.c: mask_*, name_*, error_*. */
int
ls_thread_start(
    pthread_t *thr, const char *name, void *(*fn)(void *), void *arg)
{
	struct thread_start *st;
	char shortname[LS_THREAD_NAME_MAX];
	sigset_t all, old;
	int r;

	st = xcalloc(1, sizeof *st);
	st->fn = fn;
	st->arg = arg;
	snprintf(st->name, sizeof st->name, "%s", name);
	sigfillset(&all);
	if ((r = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		free(st);
		return r;
	}
	r = pthread_create(thr, NULL, thread_main, st);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		free(st);
		return r;
	}
	/* A name is for people: failing to set one stops nothing. */
	ls_thread_shortname(shortname, name);
	if ((r = pthread_setname_np(*thr, shortname)) != 0)
		log_debug("%s: pthread_setname_np: %s", name, strerror(r));
	return 0;
}
