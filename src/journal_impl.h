/*
 * journal_impl.h: private to the journal's files (journal.c: the readers,
 * sd-journal, their life cycle; journal_record.c: entries into records,
 * streams and their multiline entries, the commit). Nothing else includes
 * it. Main thread only.
 */
#ifndef LS_JOURNAL_IMPL_H
#define LS_JOURNAL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "buf.h"
#include "htab.h"
#include "journal.h"
#include "multiline.h"
#include "offtrack.h"
#include "record.h"

/* Entries read per pass, before the loop (and the other readers) get a
 * turn; records pushed to the ingest queue with one lock. */
#define PASS_ENTRIES 4096
#define PUSH_BATCH 512
/* Streams kept with no entry outstanding, before the oldest go. */
#define STREAMS_MAX 1024
/* Entries the commit may stay behind the tracker's, not to stop inside a
 * multiline entry (jr_advance). */
#define CUT_LAG_MAX 4096
/* Bytes kept of a field an entry's stream is known by (journal.c). */
#define LS_JFIELD_MAX 255

/* One process's entries (unit, identifier, pid, host): their labels,
 * interned once, and the multiline entry being gathered. */
struct stream {
	struct ls_hnode node;
	char *key;
	const struct ls_labels *labels; /* a reference */
	uint64_t last_ord; /* the newest entry that used it */
	struct ls_buf ml;
	int ml_active;
	size_t ml_dropped;
	uint64_t ml_first; /* ordinals of its first and last lines */
	uint64_t ml_last;
	uint64_t ml_seq; /* its first line's slot (offtrack), its record's */
	int64_t ml_ms; /* when its last line came (ls_now_ms) */
	int64_t ml_time; /* its first line's time */
	enum ls_severity ml_sev; /* and severity */
	struct ls_ml_auto autos;
	struct stream *next;
};

/* The ordinals of a multiline entry's first and last lines. */
struct jspan {
	uint64_t first, last;
};

struct jsrc {
	struct ls_origin origin; /* what its records point at */
	struct ls_journal *j;
	const struct ls_conf_source *src; /* NULL once removed */
	char *name;
	char *directory;
	size_t idx; /* of src in the configuration */
#ifdef HAVE_LIBSYSTEMD
	sd_journal *sd;
#endif
	ev_io io_w;
	ev_timer tmo_w; /* sd_journal_get_timeout */
	ev_idle more_w; /* a pass ended before the journal's end */
	struct ls_offtrack *track; /* over ordinals */
	struct ls_jring cursors;
	/* The multiline entries shipped (or dropped) that the committed
	 * ordinal has not passed: it never stops inside one (jr_advance). */
	struct jspan *spans;
	size_t nspans, capspans;
	uint64_t ord; /* the last ordinal given */
	uint64_t added; /* the last ordinal added to the tracker */
	uint64_t committed; /* the ordinal whose cursor is checkpointed */
	char *cursor; /* that cursor (a copy), or NULL */
	int changed; /* cursor changed since the last commit */
	struct ls_htab streams;
	struct stream *last_st; /* the last entry's (jr_stream_of) */
	struct stream *slist;
	size_t nstreams;
	size_t nml; /* streams gathering an entry */
	/* Labels of streams a reload replaced: records in flight borrow
	 * them (record.h), so a reference each is kept until none is. */
	const struct ls_labels **retired;
	size_t nretired;
	uint64_t inflight;
	uint64_t entries;
	uint64_t cursor_lost;
	uint64_t skipped;
	int paused;
	int stopped;
	struct jsrc *next;
};

struct ls_journal {
	struct ev_loop *loop;
	const struct ls_conf *conf;
	struct ls_queue *out;
	struct ls_budget *budget;
	struct ls_ckpt *ckpt;
	struct ls_metrics *m;
	struct jsrc *readers;
	ev_async resume_w;
	ev_timer tick_w; /* checkpoint, backlog, multiline flush */
	struct ls_buf scratch;
	struct ls_record *pend[PUSH_BATCH];
	size_t npend;
	uint64_t sev[LS_SEV_COUNT];
	int started;
	int stopped;
	int dirty; /* a cursor was forgotten: commit at the next tick */
};

/*
 * journal_record.c
 */

/* Pushes the records made (one lock), and counts them. */
void jr_flush_pending(struct ls_journal *);
/* Ordinal ord makes no record (filtered out, dropped, or a line joined
 * to a multiline entry, which its first line's slot holds back): done at
 * once. */
void jr_skip(struct jsrc *, uint64_t ord);
/* A record of msg for st's process, ending at ordinal ord (rules first;
 * dropped bytes past max_line_bytes noted). Its slot in the tracker: seq,
 * the one a multiline entry took at its first line, or with seq 0 a new
 * one at ord. */
void jr_emit(struct jsrc *, struct stream *, const char *msg, size_t len,
    enum ls_severity, int64_t time_ms, uint64_t ord, size_t dropped,
    uint64_t seq);
/* The multiline entry st gathers, shipped; a line for it (a first line
 * takes the entry's slot in the tracker). */
void jr_ml_flush(struct jsrc *, struct stream *);
void jr_ml_line(struct jsrc *, struct stream *, const char *line, size_t len,
    enum ls_severity, int64_t time_ms, uint64_t ord);
/* The stream of these fields (made, with its labels, when new). */
struct stream *jr_stream_of(struct jsrc *, const char *ident, const char *unit,
    const char *pid, const char *host);
void jr_free_stream(struct stream *);
/* A reload: entries gathered shipped, labels retired (kept while records
 * borrow them: jr_release_retired once none is in flight). */
void jr_reset_streams(struct jsrc *);
void jr_release_retired(struct jsrc *);
/* Moves the committed cursor over what is done, never inside a
 * multiline entry. */
void jr_advance(struct jsrc *);
/* Each reader's backlog age into the metrics; idle multiline entries
 * shipped. */
void jr_backlog(struct ls_journal *);
void jr_ml_idle(struct ls_journal *);
extern const struct ls_origin_ops jr_origin_ops;

#endif
