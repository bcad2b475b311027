/*
 * tail_idle: files left idle. A partial last line or a multiline entry
 * that nothing has ended for a while is shipped as it is (partial_flush,
 * multiline.flush); a file no name leads to any more (rotated away, or
 * deleted) is closed once read to its end and idle (close_inactive,
 * close_removed_after), its last bytes shipped, and forgotten once its
 * lines are delivered. The poll runs these.
 *
 * Main thread only, like the rest of the tailer (tailer_impl.h).
 */
#include "config.h"

#include <sys/stat.h>

#include "linebuf.h"
#include "log.h"
#include "status_metrics.h"
#include "tailer_impl.h"

/* Unlinks f from the list and frees it. */
static void
drop_file(struct ls_tailer *t, struct tfile *f)
{
	struct tfile **fp;

	for (fp = &t->files; *fp != NULL; fp = &(*fp)->next) {
		if (*fp == f) {
			*fp = f->next;
			break;
		}
	}
	t->nfiles--;
	t->dirty = 1;
	tail_free_file(f);
}

/* Ships partial last lines and multiline entries that have been idle. */
void
tail_flush_idle(struct ls_tailer *t)
{
	struct tfile *f;
	int64_t now = ls_now_ms();

	tail_stamp(t);
	for (f = t->files; f != NULL; f = f->next) {
		if (ls_linebuf_pending(&f->lb) > 0
		    && now - f->last_data_ms >= f->src->partial_flush_ms)
			ls_linebuf_flush(&f->lb, tail_line_cb, f);
		if (f->ml.active
		    && now - f->ml.last_ms >= f->src->multiline_flush_ms)
			tail_ml_flush(f);
	}
	tail_flush_pending(t);
}

/* Closes the descriptors of files that no name leads to any more, once
 * they are read to the end and idle; frees what nothing refers to. */
void
tail_close_idle(struct ls_tailer *t)
{
	struct tfile *f, *next;
	struct stat st;
	int64_t now = ls_now_ms();

	for (f = t->files; f != NULL; f = next) {
		next = f->next;
		if (f->fd != -1 && f->path == NULL) {
			if (fstat(f->fd, &st) == 0) {
				if (st.st_nlink == 0)
					f->deleted = 1;
				/* at_eof is what the last read found: bytes
				 * written since (unread while reading is
				 * paused) mean it is not at its end. */
				if ((uint64_t)st.st_size > f->off)
					f->at_eof = 0;
			}
			if (f->deleted && f->at_eof) {
				tail_close_file(f);
			} else if (f->deleted
			    && now - f->gone_ms
				>= t->conf->close_removed_after_ms) {
				if (f->size_seen > f->off)
					LS_COUNT(t->m->removed_unread_bytes,
					    f->size_seen - f->off);
				log_warnx("(deleted file, was inode %llu): "
					  "closed after close_removed_after "
					  "with %llu bytes unread",
				    (unsigned long long)f->ino,
				    (unsigned long long)(f->size_seen
					- f->off));
				tail_close_file(f);
			} else if (!f->deleted && f->at_eof
			    && now - f->last_data_ms
				>= t->conf->close_inactive_ms) {
				tail_close_file(f);
			}
		}
		/* Closed, and no name leads to it: nothing more can end its
		 * partial last line or the multiline entry being gathered,
		 * so they are shipped now (the struct then waits for them
		 * like for any record in flight). */
		if (f->fd == -1 && f->path == NULL
		    && (ls_linebuf_pending(&f->lb) > 0 || f->ml.active)) {
			tail_stamp(t);
			ls_linebuf_flush(&f->lb, tail_line_cb, f);
			tail_ml_flush(f);
		}
		/* Gone for good, and no record in flight refers to it. */
		if (f->fd == -1 && f->path == NULL && f->inflight == 0
		    && (f->deleted || f->copy
			|| now - f->gone_ms >= t->conf->close_inactive_ms))
			drop_file(t, f);
	}
	tail_flush_pending(t);
}
