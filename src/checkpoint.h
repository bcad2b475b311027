/*
 * checkpoint: the persisted state, per file its identity and committed
 * offset, so that a restart resumes where delivery (not reading) stopped.
 *
 * A file is known by its source name, (device, inode) and a fingerprint of
 * its first bytes, so that a rotated file is still recognised under its new
 * name and a reused inode is not taken for the file it replaced. Entries
 * are namespaced by source: two sources never share or clobber each
 * other's state, and an entry is kept for as long as the tailer puts it.
 *
 * The file is <state_dir>/checkpoint.json:
 *
 *	{"version":1,"written":<unix ms>,"files":[{"source":"name",
 *	 "path":"/var/log/x.log","dev":N,"ino":N,"fp_len":N,
 *	 "fp":"<16 hex digits>","offset":N}, ...],
 *	 "journals":[{"source":"name","cursor":"s=...;i=..."}, ...]}
 *
 * ("journals", a cursor per journal source (journal.h), is there only
 * when one is set; a version without journal sources ignores it.)
 *
 * Two owners, two kinds of entries: the file entries are the tailer's,
 * rebuilt whole at each generation (ls_ckpt_clear, then put); the cursors
 * are the journal reader's, set one by one (ls_ckpt_set_cursor), which
 * ls_ckpt_clear leaves alone, so neither can wipe the other's.
 *
 * (numbers above 2^63-1, which JSON integers cannot carry, are written as
 * decimal strings; strings that are not UTF-8 as "<key>_hex".)
 *
 * State directory. state_dir is opened once (ls_ckpt_open, or the first
 * load or write) as a directory descriptor, O_DIRECTORY|O_NOFOLLOW, created
 * 0700 if missing, and every state file is reached relative to it (openat,
 * renameat, linkat, unlinkat): a link planted in place of state_dir, or of
 * a file in it, is never followed. A state_dir that is not owned by the
 * effective user or that group or others may write is refused (anyone who
 * can write it can plant or swap state), unless the caller allows it
 * (allow_insecure_state_dir). Files are created 0600.
 *
 * Writing. The text goes to checkpoint.json.tmp, created anew with
 * O_CREAT|O_EXCL|O_NOFOLLOW (a leftover one is unlinked first), and
 * replaces checkpoint.json by renameat(2). The previous generation is
 * kept as checkpoint.json.prev, a hard link (a rename where links are not
 * supported), so checkpoint.json never disappears. A rename alone survives
 * a crash of the process (kill -9, OOM): the kernel has the file. Only a
 * power loss needs an fsync, so a write is made *durable* (the file
 * fsynced before its rename, the directory after it) at the fsync
 * interval, and a generation renamed without one is fsynced when the
 * interval is up. .prev is always a durable generation: checkpoint.json
 * becomes .prev only once it was fsynced, so after a power loss that left
 * checkpoint.json damaged, .prev is whole. A crash at any point leaves a
 * complete checkpoint.json or .prev.
 *
 * Loading falls back to checkpoint.json.prev when checkpoint.json is
 * unreadable, corrupt, of another version, not a regular file (a link, a
 * FIFO, a device), over LS_CKPT_MAX_BYTES, or missing while .prev exists.
 * Both are opened O_NOFOLLOW|O_NONBLOCK, so neither a link nor a FIFO can
 * redirect or block the start, and are read up to the cap only.
 * Offsets from .prev are older, so at worst some lines are shipped again.
 * When neither generation is usable the load fails and the daemon does not
 * start, rather than silently shipping every file again from its start:
 * an operator who wants exactly that removes checkpoint.json and
 * checkpoint.json.prev. Neither file existing is a first run.
 *
 * The fingerprint is a CRC-64 (CRC-64/XZ) of a file's first 1024 bytes,
 * taken once they exist. A shorter file is fingerprinted over what it has,
 * fp_len says how much, and is compared over that prefix only: the
 * fingerprint of a growing file is refreshed until it covers 1024 bytes.
 * Changing the algorithm would make every file look new, so it is part of
 * the format (fingerprint.h, included here).
 *
 * Threading. The entries belong to the main thread (the loop): put, find,
 * clear and the serialization into JSON happen there. Once started, a
 * writer thread (`ckpt`, Redis bio style; docs/internals/checkpoint.md)
 * does the disk work: ls_ckpt_commit hands it the serialized text, never
 * waiting for the disk (a newer text replaces one it has not taken yet:
 * the latest snapshot wins), and the thread writes, renames, fsyncs at the
 * interval, retries a failed write, counts checkpoint_writes and
 * checkpoint_errors and sets checkpoint_ms. ls_ckpt_flush waits until
 * everything handed over is durable: the final checkpoint at shutdown.
 * Without a started writer (the unit tests, ls_ckpt_write) every write is
 * synchronous and durable, in the caller's thread.
 */
#ifndef LS_CHECKPOINT_H
#define LS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "fingerprint.h"
#include "log.h"

struct ls_metrics;

/* The largest checkpoint file loaded, about 600,000 files' entries; a
 * larger one is taken as damaged. */
#define LS_CKPT_MAX_BYTES (64 * 1024 * 1024)

struct ls_ckpt_entry {
	char *source;
	char *path; /* the last name it had; may be "" */
	uint64_t dev;
	uint64_t ino;
	uint32_t fp_len; /* bytes fingerprinted, 0 to LS_FP_MAX */
	uint64_t fp;
	uint64_t offset; /* committed: every byte before it is delivered */
};

struct ls_ckpt;

/* A checkpoint kept in state_dir (copied); touches nothing on disk.
 * Never NULL. */
struct ls_ckpt *ls_ckpt_new(const char *state_dir);
/* NULL is a no-op. */
void ls_ckpt_free(struct ls_ckpt *);

/*
 * Opens state_dir (creating it 0700 if missing) as the directory every
 * state file is reached from, refusing a link, a state_dir owned by another
 * user, or one that group or others may write, unless allow_insecure (then
 * it is only warned about). 0; or -1, logged saying why and how to fix it,
 * with errno EPERM for an insecure directory, else the error of mkdir(2)
 * or open(2) (ENOTDIR or ELOOP for a link). A no-op once open. Load and
 * write call it (allow_insecure 0) if nobody did.
 */
int ls_ckpt_open(struct ls_ckpt *, int allow_insecure) LS_WARN_UNUSED;

/*
 * Replaces the entries with those of checkpoint.json (or .prev, see above).
 * 0, also on a first run (no entries); -1 when neither generation is usable,
 * logged, with errno EINVAL for bad contents or else the error of
 * open(2) or read(2) (EACCES, ENOTDIR), and no entries.
 */
int ls_ckpt_load(struct ls_ckpt *) LS_WARN_UNUSED;

size_t ls_ckpt_count(const struct ls_ckpt *);
/* Entry i (borrowed, valid until the next put, clear or load). */
const struct ls_ckpt_entry *ls_ckpt_get(const struct ls_ckpt *, size_t i);
/* The entry with this identity, or NULL; borrowed as for get. O(1). */
const struct ls_ckpt_entry *ls_ckpt_find(
    const struct ls_ckpt *, const char *source, uint64_t dev, uint64_t ino);

/* Forgets every file entry, to build the next generation with put; the
 * journal cursors stay. */
void ls_ckpt_clear(struct ls_ckpt *);
/* Adds a copy of e (strings copied; a NULL path is ""); an entry with the
 * same source, dev and ino is replaced. */
void ls_ckpt_put(struct ls_ckpt *, const struct ls_ckpt_entry *e);

/* A journal source's cursor: every entry up to it is delivered. */
struct ls_ckpt_cursor {
	char *source;
	char *cursor;
};
/* source's cursor (borrowed until the next set or load), or NULL. */
const char *ls_ckpt_cursor(const struct ls_ckpt *, const char *source);
/* Sets source's cursor (copied); NULL forgets it. Main thread. */
void ls_ckpt_set_cursor(
    struct ls_ckpt *, const char *source, const char *cursor);
/* How many cursors there are, and the i-th (borrowed as above). */
size_t ls_ckpt_ncursors(const struct ls_ckpt *);
const struct ls_ckpt_cursor *ls_ckpt_cursor_at(const struct ls_ckpt *, size_t);

/*
 * Writes the entries as the new checkpoint.json, synchronously and durably,
 * in the caller's thread; not while the writer runs. 0, or -1 with errno. On
 * failure the files already there are left as they were and the temporary file
 * is removed (except when only the final fsync of the directory fails: the new
 * file is then in place, but may not survive a crash). A failure is logged once
 * per distinct errno, not on every call, and the first success after failures
 * is logged too.
 */
int ls_ckpt_write(struct ls_ckpt *) LS_WARN_UNUSED;

/*
 * Starts the writer thread. It counts into m (may be NULL), retries a
 * failed write after retry_ms, and makes a renamed generation durable
 * within fsync_ms (0: every write is fsynced). 0, or an errno value from
 * pthread_create. Tested in check_checkpoint.c (tcase "writer").
 */
int ls_ckpt_start(struct ls_ckpt *, struct ls_metrics *m, int64_t retry_ms,
    int64_t fsync_ms) LS_WARN_UNUSED;
/* Sets the fsync interval (a reload); any time. */
void ls_ckpt_set_fsync_interval(struct ls_ckpt *, int64_t fsync_ms);
/*
 * 1 if a checkpoint is worth handing over now, asked at every
 * checkpoint_interval: LS_CKPT_LINES lines were delivered since the last
 * one (the destinations' sent counters, in the metrics given to start), or
 * LS_CKPT_IDLE_MS passed; and in any case the loop's cost of the last one
 * (from this call saying 1 to the hand-over in ls_ckpt_commit, the
 * entries' rebuild included) times LS_CKPT_COST_RATIO has passed since it.
 * So a fast stream is checkpointed at every interval (a kill -9 resends
 * little), a slow one rarely (1,000 files each written a little cost 20
 * rebuilds a second for nothing), and checkpoints take at most
 * 1/LS_CKPT_COST_RATIO of the loop however many files there are. Without
 * metrics, every interval. Main thread; NULL: 1. Tested in
 * check_checkpoint.c: due_spaces_by_cost, due_by_lines.
 */
#define LS_CKPT_LINES 5000
#define LS_CKPT_IDLE_MS 1000
#define LS_CKPT_COST_RATIO 20
int ls_ckpt_due(struct ls_ckpt *);
/*
 * Serializes the entries and hands the text to the writer, replacing a
 * text it has not taken yet; returns at once, 0. With sync, then waits as
 * ls_ckpt_flush does and returns its result. Without a started writer,
 * writes as ls_ckpt_write does. Main thread.
 */
int ls_ckpt_commit(struct ls_ckpt *, int sync) LS_WARN_UNUSED;
/*
 * Waits until the last text handed over is written and fsynced (a
 * generation renamed earlier without an fsync is fsynced). 0, or -1 with
 * the errno of the write that failed. Main thread.
 */
int ls_ckpt_flush(struct ls_ckpt *) LS_WARN_UNUSED;
/* Asks the writer to finish (a pending text is written first) and joins
 * it; a no-op if not started. ls_ckpt_free does it too. */
void ls_ckpt_stop(struct ls_ckpt *);

#endif
