/*
 * tailer_impl.h: private to the tailer's family of files (tailer.c and
 * tail_*.c; see tailer.c for which does what, and tailer.h for its API).
 * Nothing else includes it.
 *
 * It holds what the family shares: the tailer's struct and the followed
 * file's, the sizes they are built with, and the functions one file of
 * the family calls in another, grouped by the file that defines them.
 *
 * Threading: main thread only, like the whole tailer.
 */
#ifndef LS_TAILER_IMPL_H
#define LS_TAILER_IMPL_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "buf.h"
#include "checkpoint.h"
#include "conf.h"
#include "htab.h"
#include "linebuf.h"
#include "multiline.h"
#include "offtrack.h"
#include "record.h"
#include "severity.h"
#include "tailer.h"
#include "timestamp.h"

/* Bytes asked of one read(2). */
#define READ_CHUNK (256 * 1024)

/* Records pushed to the ingest queue with one lock. */
#define PUSH_BATCH 512

/* Most bytes read from one file per pass before the others get a turn. */
#define PASS_BYTES (4 * 1024 * 1024)

/* The fingerprint covers this many first bytes, once they exist. */
#define FP_BYTES 1024

/* Private to the files that define them: tail_watch.c, tailer.c. */
struct wdir;
struct detached;

/* A path a scan matched but could not open for lack of a descriptor. Its
 * identity keeps its checkpoint entry in the checkpoints written while it
 * waits (tail_commit.c). */
struct waiting {
	const struct ls_conf_source *src;
	char *path;
	int initial; /* found by the first scan (start_at applies) */
	dev_t dev;
	ino_t ino;
	struct waiting *next;
};

/* A multiline entry being gathered. */
struct mline {
	struct ls_buf buf;
	int active;
	size_t dropped; /* bytes past max_line_bytes */
	uint64_t end_off;
	int64_t last_ms;
	struct ls_ml_auto autos; /* multiline: auto's view of the entry */
};

struct tfile {
	/* What its records point at (record.h): tail_commit.c acks them. */
	struct ls_origin origin;
	struct ls_tailer *t;
	const struct ls_conf_source *src;
	/* Its lines' labels: its source's, with filename: and dirname: tags
	 * (file_tags); a reference (tail_file_labels). */
	const struct ls_labels *labels;
	/* Labels it had before a reload: its records in flight borrow them
	 * (record.h), so they are kept until it is freed. */
	const struct ls_labels **old_labels;
	size_t nold_labels;
	char *path; /* NULL once the name is not (known to be) this file's */
	/* The last name it had, kept once path is NULL: the checkpoint
	 * needs its directory to find it again after a restart. */
	char *last_path;
	int fd;
	dev_t dev;
	ino_t ino;
	uint32_t fp_len;
	uint64_t fp;
	uint64_t off; /* next byte to read */
	uint64_t size_seen; /* largest size seen, for loss estimates */
	struct ls_linebuf lb;
	struct ls_offtrack *track;
	uint64_t inflight; /* records made and not yet acknowledged */
	struct mline ml;
	int64_t last_data_ms;
	int64_t gone_ms; /* when its name stopped being its own */
	int deleted; /* no links left */
	/* The previous life of a file that copytruncate truncated, now
	 * reading the copy logrotate made of it (tail_copy.c): nothing
	 * writes it, so once read to its end it is closed, and forgotten
	 * when its lines are delivered. */
	int copy;
	int at_eof; /* the last read found no more bytes */
	int rerr; /* the errno of the last failed read, 0 after a good one */
	struct timespec ctim; /* st_ctim when last seen (open, or at its end) */
	struct timespec fp_ctim; /* st_ctim when its first bytes were checked */
	int hashed; /* in the identity table */
	unsigned seen; /* scan generation that last found it */
	struct tfile *next;
	struct ls_hnode idn; /* in t->ids, while hashed */
	/* The list of open files (make_room looks only at those). */
	struct tfile *onext;
	struct tfile *oprev;
	struct ls_hnode pathn; /* in t->paths, while it has a path */
	int dirty; /* inotify named it since it was last read: in t->named */
	struct tfile *dnext; /* in t->named */
};

struct ls_tailer {
	struct ev_loop *loop;
	const struct ls_conf *conf;
	struct detached *detached;
	struct ls_queue *out;
	struct ls_metrics *m;
	struct ls_ckpt *ckpt;
	struct ls_budget *budget; /* main's */
	struct tfile *files;
	struct tfile *open_files; /* those with a descriptor */
	size_t nfiles; /* structs, open or not */
	size_t nopen; /* open descriptors */
	/* max_open_files was met, and no open file could be closed: the
	 * scan (or retry) under way opens nothing more, and queues the paths
	 * it could not open; read_all tries them again once the open files
	 * are read to their end. */
	int room_full;
	struct waiting *waiting;
	struct waiting **waiting_tail;
	/* The indexes (tail_index.c): files by identity, files by path
	 * (which one an inotify event names), unfollowable paths. */
	struct ls_htab ids, paths, bad;
	/* The files inotify named since they were last read (f->dirty): a
	 * wakeup reads those, without walking every open file. */
	struct tfile *named;
	/* The watched directories (tail_watch.c), by path and by watch. */
	struct ls_htab dirs, wds;
	unsigned dirs_warned;
	int ifd;
	int inotify_warned;
	int limit_warned;
	int dirty; /* committed offsets changed since the last checkpoint */
	int *backlog_warned; /* per source: warned of its backlog's age */
	/* Per source: said that it leaves compressed rotations alone. */
	int *compressed_noted;
	size_t ncompressed_noted;
	int64_t modify_scan_ms; /* last scan made for a closed file's change */
	int64_t scan_end_ms; /* when the last scan ended */
	int64_t scan_cost_ms; /* and how long it took */
	ev_io inotify_w;
	ev_timer scan_w;
	ev_timer poll_w;
	ev_timer ckpt_w;
	ev_timer rescan_w; /* a scan inotify asked for, held back */
	ev_timer coalesce_w; /* inotify rests until it fires (coalesce()) */
	ev_idle more_w;
	ev_async resume_w;
	int started;
	int stopped;
	int paused;
	unsigned gen;
	char *rbuf;
	struct ls_buf scratch;
	int64_t now_wall_ms; /* read time of the records being made */
	struct ls_ts_cache tscache; /* local offsets, for line times */
	int64_t now_ms; /* the same, monotonic (offtrack ages) */
	struct ls_record *pend[PUSH_BATCH];
	size_t npend;
	struct counts { /* lines of pend[], for the metrics */
		uint64_t lines, sev[LS_SEV_COUNT];
		size_t src, src_run; /* a run of lines of one source */
	} cnt;
	size_t src_hint; /* source_index()'s last answer */
};

/*
 * tailer.c: nothing the others call.
 */

/*
 * tail_index.c: the indexes.
 */

void tail_index_init(struct ls_tailer *t);
void tail_index_cleanup(struct ls_tailer *t);
/* The identity table, (device, inode) to file: the file, or NULL; adds f
 * (it must not be in the table); removes f if it is in it. */
struct tfile *tail_id_find(struct ls_tailer *t, dev_t dev, ino_t ino);
void tail_id_insert(struct ls_tailer *t, struct tfile *f);
void tail_id_remove(struct ls_tailer *t, struct tfile *f);
/* Gives f the name path (NULL: none; the name it had is kept as
 * last_path), keeping the path index. */
void tail_set_path(struct tfile *f, const char *path);
/* The file called dir/name, or NULL. */
struct tfile *tail_by_path(
    struct ls_tailer *t, const char *dir, const char *name);
/* Reports, once per reason, a path that cannot be followed: why is an
 * errno, -(its S_IFMT type), or one of these. */
#define BAD_DANGLING (-1) /* a symbolic link to nothing */
#define BAD_LINK (-2) /* a symbolic link; the source follows none */
#define BAD_LINK_OUT (-3) /* a link out of the source's directories */
#define BAD_PSEUDO (-4) /* a file of procfs, sysfs or the like */
void tail_bad_path(
    struct ls_tailer *t, const char *path, int why, const char *what);
/* Forgets the unfollowable paths the scan just made did not find so. */
void tail_bad_sweep(struct ls_tailer *t);

/*
 * tail_scan.c: discovery and the descriptor limit.
 */

/* Expands every source's globs and follows what they match (initial: the
 * first scan, where start_at applies). */
void tail_scan(struct ls_tailer *t, int initial);
/* Follows the files the checkpoint knows and the globs no longer find:
 * renamed while stopped (before the first scan with renamed set, after it
 * without). */
void tail_resume_renamed(struct ls_tailer *t, int renamed);
/* Puts f on the file list and in the identity table. */
void tail_link_file(struct ls_tailer *t, struct tfile *f);
/* Opens the paths waiting for a descriptor, in order, while there is
 * room; forgets them all. */
void tail_retry_waiting(struct ls_tailer *t);
void tail_free_waiting(struct ls_tailer *t);
/* Room for one more descriptor under max_open_files: 0, or -1. */
int tail_make_room(struct ls_tailer *t);

/*
 * tail_glob.c: the path patterns.
 */

/* Calls cb with every path pattern matches now (glob(3), or a walk of
 * the tree for "**", watching its directories). */
void tail_glob_each(struct ls_tailer *t, const char *pattern,
    void (*cb)(struct ls_tailer *, const char *path, void *), void *arg);
/* 1 if src does not follow path, which pattern matched: one of its
 * exclude_paths matches it, or it is a compressed rotation the pattern
 * does not name (said once per source). */
int tail_glob_skip(struct ls_tailer *t, const struct ls_conf_source *src,
    const char *pattern, const char *path);
/* Does pattern (a glob, "**" included) match path? */
int tail_glob_match(const char *pattern, const char *path);
/* The directory under which a pattern matches: its components before
 * the first with a wildcard (a copy, to free). */
char *tail_pattern_base(const char *pattern);
/* Is path (resolved) dir (resolved) or under it? */
int tail_is_under(const char *path, const char *dir);

/*
 * tail_watch.c: when files are read.
 */

/* The watchers and timers: set up; the inotify descriptor made (before
 * the first scan, which adds the watches; without one, polling alone);
 * started (after the first scan); stopped; their memory freed;
 * the timers given a reloaded configuration's periods. */
void tail_watch_init(struct ls_tailer *t);
void tail_watch_open(struct ls_tailer *t);
void tail_watch_start(struct ls_tailer *t);
void tail_watch_stop(struct ls_tailer *t);
void tail_watch_cleanup(struct ls_tailer *t);
void tail_watch_reload(struct ls_tailer *t);
/* Watches the directory path is in, once; or dir. 0, or -1 if it is not
 * watched (no inotify, max_watched_dirs, gone). */
void tail_watch_parent(struct ls_tailer *t, const char *path);
int tail_watch_dir(struct ls_tailer *t, const char *dir);
/* Every open file looked at for a truncation (tail_check_rewritten). */
void tail_check_all(struct ls_tailer *t);
/* One pass over every open file; comes back through the idle watcher
 * while any has more than a pass's worth waiting. */
void tail_read_all(struct ls_tailer *t);

/*
 * tail_idle.c: files left idle (the poll's).
 */

/* Ships partial last lines and multiline entries left idle. */
void tail_flush_idle(struct ls_tailer *t);
/* Closes the files no name leads to once read to their end and idle, and
 * forgets those whose lines are delivered. */
void tail_close_idle(struct ls_tailer *t);

/*
 * tail_file.c: one followed file.
 */

/* Takes the read time of the records about to be made. */
void tail_stamp(struct ls_tailer *t);
/* Opens a log file to read (O_NOATIME where allowed; a symbolic link only
 * if follow). An fd, or -1 with errno (ELOOP: a link). */
int tail_open_log(const char *path, int follow);
/* 1 if the file at path opens (as tail_open_log) and its first fp_len
 * bytes have the fingerprint fp (ls_fingerprint_matches), else 0. */
int tail_path_matches(
    const char *path, int follow, uint32_t fp_len, uint64_t fp);
/* 1 if path (fd: an open file) is on procfs, sysfs or another file system
 * of the kernel's own, where no log is and sizes mean nothing. */
int tail_pseudo_fs(const char *path);
int tail_pseudo_fd(int fd);
/* Reads up to limit bytes of f. Returns 1 if more may be waiting, else 0.
 * The records it makes stay pending (up to PUSH_BATCH): the caller pushes
 * them with tail_flush_pending once it has read the files of its pass. */
int tail_read_file(struct ls_tailer *t, struct tfile *f, size_t limit);
/* A new file struct for path (not opened, not in any list). */
struct tfile *tail_new_file(
    struct ls_tailer *t, const struct ls_conf_source *src, const char *path);
/* Opens a file seen for the first time, positioned where the checkpoint
 * (or start_at) says. f->dev and f->ino, when set, are what was matched:
 * another file found there is not opened. 0, or -1. */
int tail_open_new(struct ls_tailer *t, struct tfile *f, int initial);
/* Opens again a file closed to make room, at its read offset. 0, or -1. */
int tail_reopen(struct ls_tailer *t, struct tfile *f);
/* Truncated, or truncated and written again, since last looked at? Then
 * tail_truncated (the poll, paused or not). */
void tail_check_rewritten(struct ls_tailer *t, struct tfile *f);
/* Takes or refreshes f's fingerprint while it covers fewer than its
 * first FP_BYTES. */
void tail_refresh_fingerprint(struct tfile *f);
/* Closes f's descriptor, if open; the struct stays. */
void tail_close_file(struct tfile *f);
/* Puts fd on the list of open files as f's descriptor; takes f's off it
 * and returns it, open (or -1 if f had none). */
void tail_attach_fd(struct ls_tailer *t, struct tfile *f, int fd);
int tail_detach_fd(struct tfile *f);
/* Keeps f's labels until f is freed (a reload replaces them). */
void tail_retire_labels(struct tfile *f);
/* Closes f, takes it out of the indexes, and frees it (the caller takes
 * it off the file list first, if it was on it). */
void tail_free_file(struct tfile *f);

/*
 * tail_copy.c: copytruncate.
 */

/* f was found shorter than its read offset (st: its status now): its
 * previous life goes on reading the copy beside it, if there is one, and
 * a new struct, linked and open, reads the file from 0. */
void tail_truncated(
    struct ls_tailer *t, struct tfile *f, const struct stat *st);
/* f, opened at start, was truncated or rewritten while logshipd was
 * stopped (before: its checkpoint entry): follows its copy, if there is
 * one, from the entry's offset. */
void tail_copy_at_start(
    struct ls_tailer *t, struct tfile *f, const struct ls_ckpt_entry *before);
/* A copy read to its end: ships the line the truncation cut, if any, and
 * closes it; close_idle forgets it once its lines are delivered. */
void tail_copy_done(struct ls_tailer *t, struct tfile *f);

/*
 * tail_record.c: lines into records.
 */

/* The linebuf callback that makes a line into a record (or part of a
 * multiline entry); arg is the struct tfile. */
void tail_line_cb(
    const char *line, size_t len, uint64_t end_off, size_t dropped, void *arg);
/* Makes a record of f's multiline entry being gathered, if any. */
void tail_ml_flush(struct tfile *f);
/* Pushes the records made since the last push to the ingest queue. */
void tail_flush_pending(struct ls_tailer *t);
/* The labels the lines of the file at path carry: a new reference to
 * src's, with filename:<base name> and dirname:<directory> when src has
 * file_tags (path NULL: src's alone). */
const struct ls_labels *tail_file_labels(
    const struct ls_conf_source *src, const char *path);
/* The index of src in the configuration, for per-source counters. */
size_t tail_source_index(struct ls_tailer *t, const struct ls_conf_source *src);

/*
 * tail_commit.c: acknowledgements, offsets, the checkpoint (and
 * ls_tailer_checkpoint).
 */

/* A followed file as its records' origin: acking one (ls_origin_ack, main
 * thread) lets the file's committed offset advance. */
extern const struct ls_origin_ops tail_origin_ops;

/* Sets up the checkpoint timer. */
void tail_commit_init(struct ls_tailer *t);

#endif
