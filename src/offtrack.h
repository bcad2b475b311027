/*
 * offtrack: a file's committed offset, advanced in order over records that
 * complete out of order.
 *
 * The tailer numbers every record it reads from a file (ls_offtrack_add,
 * with the offset just past the record). Batches are delivered, retried and
 * acknowledged in any order, but a checkpoint may only hold an offset
 * before which every byte is delivered: otherwise a crash would skip the
 * undelivered records. So the committed offset is the end of the longest
 * prefix of records that are all done, and it only ever moves forward
 * (until a reset).
 *
 * The records between the committed offset and the newest one live in a
 * ring indexed by sequence number, so add and done are O(1) amortised and
 * memory follows the records outstanding, not the size of the file: the
 * ring shrinks again after a burst, and is not allocated at all for a file
 * that has nothing in flight.
 *
 * Sequence numbers start at 1 and are never reused by a tracker, not even
 * after a reset. That is how done() recognises, and ignores, the records
 * of a file's life before a truncation: their numbers are below every
 * number the tracker still holds.
 *
 * Threading: none. A tracker belongs to the main thread (the tailer and
 * the acknowledgements both run there) and has no locks.
 */
#ifndef LS_OFFTRACK_H
#define LS_OFFTRACK_H

#include <stddef.h>
#include <stdint.h>

struct ls_offtrack;

/* A tracker whose committed offset is start_offset. Never NULL. */
struct ls_offtrack *ls_offtrack_new(uint64_t start_offset);
/* NULL is a no-op. */
void ls_offtrack_free(struct ls_offtrack *);

/*
 * A record was read that ends just before end_offset; returns its sequence
 * number. Offsets must not go down from one record to the next, nor below
 * the start (or reset) offset: that would be a bug in the caller, and is
 * fatal. Two records ending at the same offset are tolerated (the second
 * adds no bytes), though lines always do.
 */
uint64_t ls_offtrack_add(struct ls_offtrack *, uint64_t end_offset);
/* The same, noting when the record was read (any clock the caller uses
 * consistently), for ls_offtrack_oldest(). */
uint64_t ls_offtrack_add_at(
    struct ls_offtrack *, uint64_t end_offset, int64_t at);
/* When the oldest record not yet committed was read, or -1 if none is
 * outstanding: the file's backlog age is now minus this. */
int64_t ls_offtrack_oldest(const struct ls_offtrack *);

/*
 * Record seq is done (delivered, or given up by policy), in any order.
 * Returns 0; or -1, changing nothing, for a seq that is not outstanding:
 * errno is ENOENT for one already done or forgotten by a reset (expected
 * after a truncation), EALREADY for one done twice while still held back
 * by an earlier record, and EINVAL for a number never handed out. Each -1
 * is counted (ls_offtrack_ignored). Tested in check_offtrack.c.
 */
int ls_offtrack_done(struct ls_offtrack *, uint64_t seq);

/* The end offset of the longest prefix of done records: what may be
 * written to the checkpoint. */
uint64_t ls_offtrack_committed(const struct ls_offtrack *);
/* Records added and not yet done (forgotten ones excluded). */
size_t ls_offtrack_outstanding(const struct ls_offtrack *);
/* How many done() calls were ignored, for metrics and tests. */
uint64_t ls_offtrack_ignored(const struct ls_offtrack *);

/*
 * The file was truncated (or must be read again from offset): forgets
 * every outstanding record, so their later done() calls are ignored, and
 * sets the committed offset to offset, which may be lower than before.
 */
void ls_offtrack_reset(struct ls_offtrack *, uint64_t offset);

#endif
