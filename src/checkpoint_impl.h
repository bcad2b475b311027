/*
 * checkpoint_impl.h: private to the checkpoint's family of files; nothing
 * else includes it (the API is checkpoint.h):
 *
 *	checkpoint.c		new and free, the entries and their index,
 *				loading and parsing, the JSON encoding
 *	checkpoint_file.c	the state directory, writing a generation
 *	checkpoint_writer.c	the writer thread (ckpt), due, commit,
 *				flush, stop
 *	fingerprint.c		the fingerprint of a file's first bytes
 *
 * It holds what the family shares: the files' names, struct ls_ckpt, and
 * the functions one file of the family calls in another, grouped by the
 * file that defines them.
 *
 * Who owns what in struct ls_ckpt:
 *  - entries, text: the main thread;
 *  - pending and everything below "mu" in the struct: whoever holds mu;
 *  - wtext, dfd's files, werr, cur_bad, cur_synced: the writer while it
 *    runs, the caller before ls_ckpt_start and after ls_ckpt_stop.
 */
#ifndef LS_CHECKPOINT_IMPL_H
#define LS_CHECKPOINT_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "checkpoint.h"
#include "ctx.h"
#include "htab.h"

#define CKPT_VERSION 1
#define CKPT_NAME "checkpoint.json"
#define CKPT_PREV CKPT_NAME ".prev"
#define CKPT_TMP CKPT_NAME ".tmp"

struct ls_ckpt {
	char *dir;
	char *cur; /* <dir>/checkpoint.json, for messages */
	char *prev; /* <dir>/checkpoint.json.prev */
	char *tmp; /* <dir>/checkpoint.json.tmp */
	int dfd; /* dir, opened once; -1 until then */
	struct ls_ckpt_entry *v;
	struct ls_hnode *nodes; /* nodes[i]: v[i] in idx */
	struct ls_htab idx;
	size_t n;
	size_t cap;
	/* The journal sources' cursors: the journal reader's, kept by
	 * ls_ckpt_clear (which the tailer calls for each generation of its
	 * file entries) and replaced only by set_cursor or a load. */
	struct ls_ckpt_cursor *jv;
	size_t jn;
	int werr; /* errno of the last failed write, 0 after a success */
	int cur_bad; /* checkpoint.json was unusable: .prev is the good one */
	/* checkpoint.json was fsynced (or loaded at start): it may become
	 * .prev, which must survive a power loss. */
	int cur_synced;
	struct ls_metrics *m; /* counted into; may be NULL */
	/* The text being serialized, kept from one write to the next: with
	 * 100,000 files it is 10 MB, and growing it anew every second cost
	 * more than writing it. */
	struct ls_buf text;
	struct ls_buf wtext; /* the one the writer writes from */

	/* ls_ckpt_due: CLOCK_MONOTONIC microseconds; the main thread's. */
	int64_t due_us; /* when due said 1; 0: not since the last commit */
	int64_t handed_us; /* the last hand-over */
	int64_t cost_us; /* the loop's cost of the last one */
	uint64_t sent_at_due; /* delivered() when due said 1 */
	uint64_t sent_at_hand; /* and at the last hand-over */

	/* The writer. */
	pthread_t thr;
	int started;
	struct ls_ctx *ctx;
	pthread_mutex_t mu;
	pthread_cond_t work; /* to the writer: something to do */
	pthread_cond_t done; /* to the loop: flush_req answered */
	struct ls_buf pending; /* the next text to write, if has_pending */
	int has_pending;
	int64_t retry_at; /* ls_now_ms(): pending is a failed one, not before */
	int unsynced; /* the last rename was not fsynced */
	int64_t synced_at; /* ls_now_ms() of the last fsync */
	int64_t retry_ms;
	int64_t fsync_ms;
	int flush_req; /* the loop waits for everything to be durable */
	int flush_err; /* its answer: 0 or an errno value */
	int stop;
};

/* checkpoint.c */
/* The checkpoint as text in b (the format in checkpoint.h). */
void ckpt_encode(const struct ls_ckpt *c, struct ls_buf *b);

/* checkpoint_file.c */
/* Writes text as the new checkpoint.json (durable: fsynced), counted into
 * the metrics. 0, or -1 with errno, logged once per distinct errno. */
int ckpt_write_counted(
    struct ls_ckpt *c, const struct ls_buf *text, int durable);
/* Makes a generation renamed without an fsync durable. 0, or -1. */
int ckpt_sync_cur(struct ls_ckpt *c);

#endif
