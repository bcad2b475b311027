/*
 * journal: the systemd journal as a source (type: journald), with the
 * promises of files: nothing lost, nothing doubled, bounded memory, and
 * routes by source and severity.
 *
 * Each journald source has a reader (sd-journal, libsystemd) on the main
 * thread's libev loop, no thread of its own: the journal's descriptor in
 * an ev_io and a timer per sd_journal_get_timeout wake it, and it reads
 * in slices (an ev_idle comes back), asking the memory budget before each,
 * as the tailer does. Its records go to the same ingest queue, one push
 * per pass, after the source's log_processing_rules and multiline
 * settings (a stack trace printed to stdout is one entry per line: they
 * are joined per process, SYSLOG_IDENTIFIER, _SYSTEMD_UNIT and _PID).
 *
 * An entry becomes a record whose message is MESSAGE, whose time is the
 * entry's, whose severity is PRIORITY (0-7; the line's own level wins
 * when there is one and PRIORITY is the default 6), and whose service is
 * the source's, else the unit without ".service", else the identifier.
 * SYSLOG_IDENTIFIER, _SYSTEMD_UNIT, _PID and _HOSTNAME go as a "journald"
 * attribute, and _HOSTNAME as the hostname when the file sets none.
 *
 * Delivery. Entries are numbered in the order read (an ordinal: the
 * offset of an offset tracker, offtrack.h), their cursors kept in a ring
 * by ordinal. A record is acknowledged (its origin, the reader) when
 * every destination is done with it; the committed cursor is the one of
 * the last entry such that it and every entry before it is done (and
 * none is held in a multiline entry being gathered). It goes into the
 * checkpoint (checkpoint.h: "journals", the reader's own entries, which
 * the tailer's generations of file entries leave alone), and a restart
 * resumes after it: seek to it, check it is there (sd_journal_test_cursor)
 * and skip it. A cursor the journal no longer has (vacuumed) resumes at
 * the oldest entry, with a warning and a count.
 *
 * Threading: main thread only, except the budget's resume callback (any
 * thread: an ev_async_send).
 */
#ifndef LS_JOURNAL_H
#define LS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "conf.h"
#include "queue.h"
#include "record.h"
#include "severity.h"
#include "status_metrics.h"

struct ls_journal;

/* Readers for conf's journald sources pushing to out, their records
 * charged to budget, cursors kept in ckpt. Borrows everything. Never
 * NULL (no journald source: it does nothing). */
struct ls_journal *ls_journal_new(struct ev_loop *, const struct ls_conf *,
    struct ls_queue *out, struct ls_budget *, struct ls_ckpt *,
    struct ls_metrics *);
/* Opens the journals and positions each reader (its cursor, else
 * start_at); the reads happen in the loop. 0, or -1 (logged) if a
 * journal cannot be opened. */
int ls_journal_start(struct ls_journal *) LS_WARN_UNUSED;
/* Follows conf's journald sources from now on (borrowed, as for the
 * tailer): new ones start, removed ones stop reading (their cursors are
 * forgotten once their records are done). units, exclude_units, service,
 * tags, rules and multiline apply at once; matches and directory keep
 * their values until a restart. */
void ls_journal_reload(struct ls_journal *, const struct ls_conf *);
/* Stops reading for good (shutdown); a multiline entry being gathered is
 * shipped. */
void ls_journal_stop(struct ls_journal *);
/* Puts each reader's committed cursor into the checkpoint, and commits
 * it (ls_ckpt_commit) if one changed and commit is set. 0, or -1. */
int ls_journal_checkpoint(struct ls_journal *, int commit);
/* Stops and frees (after every record is gone). NULL is a no-op. */
void ls_journal_free(struct ls_journal *);

/* One reader, as status shows it; strings borrowed for the callback. */
struct ls_journal_info {
	const char *source;
	const char *directory; /* NULL: the system journal */
	const char *cursor; /* committed; NULL: none yet */
	uint64_t entries; /* read since the start */
	uint64_t inflight; /* records not yet acknowledged */
	int64_t backlog_ms; /* age of the oldest not yet delivered */
	uint64_t cursor_lost; /* times the saved cursor was gone */
	uint64_t skipped; /* entries known skipped for it */
	int paused; /* by the memory budget */
};
void ls_journal_foreach(struct ls_journal *,
    void (*cb)(const struct ls_journal_info *, void *), void *arg);

/*
 * The pure parts (journal_util.c), tested in check_journal.c.
 */

/* 1 if src reads entries of unit (NULL: an entry of no unit): units
 * empty, or one matches it (fnmatch; a name with no '.' also matches
 * name.service), and no exclude_units does. */
int ls_journal_unit_wanted(const struct ls_conf_source *, const char *unit);
/* The severity of an entry: PRIORITY (prio, plen bytes, NULL: none) when
 * it is 0-7 and not 6; else the line's own level, else info (PRIORITY 6)
 * or dflt (no valid PRIORITY). */
enum ls_severity ls_journal_severity(const char *prio, size_t plen,
    const char *msg, size_t mlen, enum ls_severity dflt);
/* The service of an entry when its source sets none: unit without
 * ".service" (into buf), else ident; NULL when neither. */
const char *ls_journal_service(
    char *buf, size_t len, const char *unit, const char *ident);
/* Appends an entry's attributes as labels' extra JSON (labels.h):
 * ,"journald":{...} with the fields that are set, then ,"hostname":host
 * when with_host and host is set. Returns 1 if it wrote a hostname. */
int ls_journal_extra(struct ls_buf *, const char *ident, const char *unit,
    const char *pid, const char *host, int with_host);
/* A cursor's sequence number id (32 hex digits, into sid) and number (the
 * "s=" and "i=" fields): 0, or -1 if it has none. */
int ls_journal_cursor_seq(const char *cursor, char sid[33], uint64_t *seq);

/* Cursors by ordinal: the outstanding entries' and the committed one. */
struct ls_jring {
	char **v;
	size_t cap; /* a power of two, or 0 */
	uint64_t base; /* the ordinal of the oldest held */
	size_t n;
};
void ls_jring_init(struct ls_jring *);
void ls_jring_cleanup(struct ls_jring *);
/* Holds cursor (taken) for ordinal ord, the next one: base + n, or any
 * when empty. */
void ls_jring_put(struct ls_jring *, uint64_t ord, char *cursor);
/* The cursor of ord, or NULL if not held. */
const char *ls_jring_get(const struct ls_jring *, uint64_t ord);
/* Forgets the cursors before ord. */
void ls_jring_drop_below(struct ls_jring *, uint64_t ord);

#endif
