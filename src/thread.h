/*
 * thread: the one way logshipd starts a thread. Every thread of the daemon
 * (router, batchers, senders, the status server, the checkpoint writer)
 * starts here, so every one of them
 *
 *   - has all signals blocked from its first instruction: only the loop
 *     thread takes SIGTERM, SIGINT, SIGHUP and SIGUSR1 (ev.pod: signals
 *     belong to the initial thread), whatever mask its creator has, a
 *     reload's included;
 *   - carries its name: the kernel's (comm, seen in ps -L, top -H, gdb,
 *     /proc/PID/task/TID/comm) and the log's tag (log_setname).
 *
 * The caller owns the thread and joins it: none is detached.
 * See docs/internals/threads.md.
 *
 * Threading: any thread.
 */
#ifndef LS_THREAD_H
#define LS_THREAD_H

#include <pthread.h>
#include <stddef.h>

#include "log.h"

/* The kernel keeps 15 bytes of a thread's name. */
#define LS_THREAD_NAME_MAX 16

/* Starts fn(arg) in a new joinable thread with every signal blocked and
 * named name (router, batch/<dest>, send/<dest>/<n>, http, ckpt). The log
 * tag is name in full; the kernel's name is name shortened to 15 bytes
 * (ls_thread_shortname). Returns 0, or an errno value as pthread_create()
 * does (nothing started then). */
int ls_thread_start(pthread_t *thr, const char *name, void *(*fn)(void *),
    void *arg) LS_WARN_UNUSED;

/* The kernel's name for name, into out: name itself when it fits in 15
 * bytes; else the first part (up to its first '/') and the last (from its
 * last '/', a worker's number) are kept and the middle is cut, so
 * "send/datadog-eu-prod/12" becomes "send/datadog/12". */
void ls_thread_shortname(char out[LS_THREAD_NAME_MAX], const char *name);

#endif
