/*
 * status_snapshot: safe publication of an immutable snapshot, from the thread
 * that owns the live state to threads that only read.
 *
 * The problem. The HTTP server runs in a thread of its own (libmicrohttpd's)
 * and answers /metrics, /status and /healthz at any moment. What it shows
 * lives on the main thread: the tailer's files, the pipeline's queues, the
 * configuration, all of which a reload may free and replace under it. Had
 * the server thread read them, every one would need a lock, and every
 * reload would have to wait for the readers; forget one and it reads freed
 * memory.
 *
 * The pattern. The owner (the main thread) renders everything a reader may
 * want into one struct, once a second: the Prometheus text, the /status
 * JSON, the health verdict, and when it was made. Once rendered, the
 * snapshot never changes. The owner then swaps it into a published slot:
 * a mutex over one pointer. A reader takes the mutex just long enough to
 * copy the pointer and add a reference, then works on the snapshot with no
 * lock held; it drops its reference when the answer is sent. The slot holds
 * a reference of its own, given up when a newer snapshot replaces it; the
 * last reference frees the snapshot, on whichever thread drops it.
 *
 * What it buys: the server never sees the live state, so a reload cannot
 * pull anything from under it; no lock is held while rendering or sending,
 * so a slow client never stalls the main loop and the main loop never
 * stalls a client; a reader always sees a whole, consistent snapshot, never
 * half of an old one and half of a new one. What it costs: readers see data
 * up to a second old, and one rendering a second whether anyone asks or
 * not. The snapshot's time also says whether the main loop is alive:
 * /healthz fails once the newest snapshot is more than a few seconds old.
 *
 * Why the reference count is atomic although it is changed under the
 * mutex in take: the last unref runs outside it, in any thread.
 *
 * Threading: ls_snapshot_new and ls_snapslot_publish by the owner;
 * ls_snapslot_take and ls_snapshot_unref from any thread.
 * Tested in check_status.c: snapshot_*.
 */
#ifndef LS_STATUS_SNAPSHOT_H
#define LS_STATUS_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ls_snapshot {
	atomic_uint refs;
	int64_t made_ms; /* ls_now_ms() when it was rendered */
	int healthy;
	char *health; /* "ok", or why not: one line */
	char *metrics; /* Prometheus text exposition format 0.0.4 */
	size_t metrics_len;
	char *status; /* the /status JSON document */
	size_t status_len;
};

/* A snapshot with one reference, taking ownership of the three strings
 * (malloc'd, NUL-terminated). */
struct ls_snapshot *ls_snapshot_new(
    int64_t made_ms, int healthy, char *health, char *metrics, char *status);
void ls_snapshot_ref(struct ls_snapshot *);
/* Drops a reference; the last one frees it. NULL is a no-op. */
void ls_snapshot_unref(struct ls_snapshot *);

/* The published slot. */
struct ls_snapslot;

struct ls_snapslot *ls_snapslot_new(void);
/* Frees the slot and its reference. No thread may be using it. NULL is a
 * no-op. */
void ls_snapslot_free(struct ls_snapslot *);
/* Publishes s, taking over the caller's reference; the snapshot it
 * replaces loses the slot's reference. */
void ls_snapslot_publish(struct ls_snapslot *, struct ls_snapshot *s);
/* The newest snapshot with a reference for the caller (who unrefs it), or
 * NULL if none was published yet. */
struct ls_snapshot *ls_snapslot_take(struct ls_snapslot *);

#endif
