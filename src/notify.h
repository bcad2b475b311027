/*
 * notify: telling systemd how the daemon is doing, through its notify
 * protocol (sd_notify(3)): READY=1 once it runs, RELOADING=1 and READY=1
 * around a reload, STOPPING=1 when the drain starts, a STATUS= line every
 * few seconds, and WATCHDOG=1 at half the WatchdogSec interval, but only
 * while the daemon is healthy.
 *
 * Each message is one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET: sd_notify() when configure found libsystemd, otherwise
 * ls_notify_datagram(), written by hand from the protocol as sd_notify(3)
 * documents it (a path, or after '@' an abstract name). The hand-written
 * sender is always built so that its tests run everywhere. Without
 * $NOTIFY_SOCKET every message is a silent no-op, so logshipd runs the same
 * from a shell.
 *
 * Healthy means two things. The main loop runs: WATCHDOG=1 is sent from a
 * timer on it, so a blocked loop sends nothing. And the pipeline moves: at
 * each tick pulse_cb reports a count of work done and the work waiting; if
 * work was waiting at the last tick and none has been done since, the
 * pipeline is stalled and WATCHDOG=1 is withheld, so systemd restarts the
 * daemon after WatchdogSec.
 *
 * Threading: the ls_notify object and its timers belong to the main loop.
 * ls_notify_send() and its shorthands may be called from any thread; they
 * never log what they send.
 */
#ifndef LS_NOTIFY_H
#define LS_NOTIFY_H

#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "log.h"

/* Seconds between two STATUS= lines. */
#define LS_NOTIFY_STATUS_SECS 5.0

/*
 * Sends state, one or more "KEY=value" lines, as one datagram to the
 * notify socket path (a file system path, or '@' and an abstract name).
 * 0, or -1 with errno set. Always the hand-written sender.
 * Tested in check_notify.c: datagram_path, datagram_abstract.
 */
int ls_notify_datagram(const char *path, const char *state) LS_WARN_UNUSED;
/*
 * Sends state to $NOTIFY_SOCKET: 1 sent, 0 no $NOTIFY_SOCKET (nothing to
 * do), -1 failed (logged, errno set).
 */
int ls_notify_send(const char *state);
int ls_notify_sendf(const char *fmt, ...) LS_PRINTF(1, 2);
/* READY=1: started, or done reloading. */
int ls_notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC=, before a reload. */
int ls_notify_reloading(void);
/* STOPPING=1: the drain has started. */
int ls_notify_stopping(void);

/*
 * Whether systemd expects WATCHDOG=1 from this process, as
 * sd_watchdog_enabled(3) decides: $WATCHDOG_USEC set and positive, and
 * $WATCHDOG_PID unset or our pid. 1 and *usec set, or 0.
 */
int ls_notify_watchdog_usec(uint64_t *usec);
/*
 * The hand-written decision of ls_notify_watchdog_usec() over the values
 * of WATCHDOG_USEC and WATCHDOG_PID (either may be NULL), for its tests.
 * Tested in check_notify.c: watchdog_env.
 */
int ls_notify_watchdog_parse(
    const char *usec_s, const char *pid_s, long self, uint64_t *usec);

/* What the timers ask the daemon; arg is ls_notify_new()'s. */
struct ls_notify_ops {
	/* Appends a one-line status (STATUS=) to out. May be NULL. */
	void (*status_cb)(struct ls_buf *out, void *arg);
	/*
	 * Sets *done, a count of work done that only grows, and *waiting,
	 * the work waiting to be done. 0, or -1 when the daemon knows it is
	 * broken. May be NULL: then only the loop is checked.
	 */
	int (*pulse_cb)(uint64_t *done, uint64_t *waiting, void *arg);
};

struct ls_notify;

/* The timers, not started. Borrows loop, ops and arg. */
struct ls_notify *ls_notify_new(
    struct ev_loop *, const struct ls_notify_ops *, void *arg);
/*
 * Sends READY=1 and a first status, and starts the status timer (with
 * $NOTIFY_SOCKET) and the watchdog timer (with ls_notify_watchdog_usec()).
 * Tested in check_notify.c: timers_*.
 */
void ls_notify_start(struct ls_notify *);
/* Stops both timers. */
void ls_notify_stop(struct ls_notify *);
/* Stops, then frees. NULL is a no-op. */
void ls_notify_free(struct ls_notify *);

#endif
