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
 *	 "fp":"<16 hex digits>","offset":N}, ...]}
 *
 * (numbers above 2^63-1, which JSON integers cannot carry, are written as
 * decimal strings; strings that are not UTF-8 as "<key>_hex".) Each write goes
 *to checkpoint.json.tmp, is fsynced, and replaces checkpoint.json by rename(2);
 *the one before is kept as checkpoint.json.prev (a hard link, so
 *checkpoint.json never disappears; a rename where links are not supported), and
 *the directory is fsynced. A crash at any point leaves a complete
 *checkpoint.json or .prev.
 *
 * Loading falls back to checkpoint.json.prev when checkpoint.json is
 * unreadable, corrupt, of another version, or missing while .prev exists.
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
 * the format.
 *
 * Threading: none. The checkpoint belongs to the main thread; writes are
 * synchronous (a few milliseconds for 10,000 files on a local disk).
 */
#ifndef LS_CHECKPOINT_H
#define LS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Bytes a fingerprint covers at most. */
#define LS_FP_MAX 1024

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

/* Forgets every entry, to build the next generation with put. */
void ls_ckpt_clear(struct ls_ckpt *);
/* Adds a copy of e (strings copied; a NULL path is ""); an entry with the
 * same source, dev and ino is replaced. */
void ls_ckpt_put(struct ls_ckpt *, const struct ls_ckpt_entry *e);

/*
 * Writes the entries as the new checkpoint.json, creating state_dir (0700)
 * if missing; 0, or -1 with errno. On failure the files already there are
 * left as they were and the temporary file is removed (except when only
 * the final fsync of the directory fails: the new file is then in place,
 * but may not survive a crash). A failure is logged once per distinct
 * errno, not on every call, and the first success after failures is
 * logged too.
 */
int ls_ckpt_write(struct ls_ckpt *) LS_WARN_UNUSED;

/*
 * Fingerprints fd: the CRC-64 of its first min(size, LS_FP_MAX) bytes, read
 * with pread (the file offset does not move). *len is the number of bytes
 * covered. 0, or -1 with errno.
 */
int ls_fingerprint(int fd, uint32_t *len, uint64_t *fp) LS_WARN_UNUSED;
/* 1 if fd's first len bytes exist and hash to fp (len 0 always matches),
 * 0 if not, -1 with errno on a read error or a len above LS_FP_MAX. */
int ls_fingerprint_matches(int fd, uint32_t len, uint64_t fp);

#endif
