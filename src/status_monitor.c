/*
 * status_monitor: see status_monitor.h.
 *
 * A rendering costs a walk over the files (an fstat each, for the size)
 * and the text of every series: a few milliseconds for thousands of files,
 * once a second, on the main loop. It happens only while the endpoint is
 * on; with it off the timer just keeps the rates for SIGUSR1.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "ctx.h"
#include "status_httpd.h"
#include "log.h"
#include "status_monitor.h"
#include "record.h"
#include "status_snapshot.h"
#include "status.h"
#include "xmalloc.h"

/* /healthz fails when the newest snapshot is older than this: the loop
 * publishes every second, so three missed ones mean it is stuck. */
#define STALE_MS 5000

/* A destination at the last tick: its sent count, to make a rate of, and
 * since when it has held lines. Kept by name, as a reload may reorder the
 * destinations. */
struct prev {
	char *name;
	uint64_t sent;
	double rate;
	int64_t busy_since_ms;
};

struct ls_monitor {
	struct ev_loop *loop;
	void (*src_cb)(struct ls_monitor_src *, void *);
	void *arg;
	ev_timer tick_w;
	struct ls_snapslot *slot;
	struct ls_httpd *httpd;
	int render; /* the endpoint is on: snapshots are wanted */
	struct prev *prev;
	size_t nprev;
	int64_t prev_ms;
};

/* The files as the tailer shows them, copied: the strings are borrowed
 * only during the callback. */
struct files {
	struct ls_file_info *v;
	size_t n;
	size_t cap;
	struct ls_journal_info *jv; /* and the journald sources' */
	size_t jn;
};

static void
file_cb(const struct ls_file_info *fi, void *arg)
{
	struct files *fs = arg;
	struct ls_file_info *f;

	/* Doubling: with 100,000 files, one more element per file copied
	 * the array 100,000 times a second. */
	if (fs->n == fs->cap) {
		fs->cap = fs->cap == 0 ? 64 : fs->cap * 2;
		fs->v = xreallocarray(fs->v, fs->cap, sizeof *fs->v);
	}
	f = &fs->v[fs->n++];
	*f = *fi;
	f->source = xstrdup(fi->source);
	f->path = fi->path != NULL ? xstrdup(fi->path) : NULL;
}

static void
journal_cb(const struct ls_journal_info *ji, void *arg)
{
	struct files *fs = arg;
	struct ls_journal_info *j;

	fs->jv = xreallocarray(fs->jv, fs->jn + 1, sizeof *fs->jv);
	j = &fs->jv[fs->jn++];
	*j = *ji;
	j->source = xstrdup(ji->source);
	j->directory = ji->directory != NULL ? xstrdup(ji->directory) : NULL;
	j->cursor = ji->cursor != NULL ? xstrdup(ji->cursor) : NULL;
}

static void
files_free(struct files *fs)
{
	size_t i;

	for (i = 0; i < fs->jn; i++) {
		free((char *)fs->jv[i].source);
		free((char *)fs->jv[i].directory);
		free((char *)fs->jv[i].cursor);
	}
	free(fs->jv);

	for (i = 0; i < fs->n; i++) {
		free((char *)fs->v[i].source);
		free((char *)fs->v[i].path);
	}
	free(fs->v);
}

static const struct prev *
find_prev(const struct ls_monitor *mon, const char *name)
{
	size_t i;

	for (i = 0; i < mon->nprev; i++)
		if (strcmp(mon->prev[i].name, name) == 0)
			return &mon->prev[i];
	return NULL;
}

/*
 * Fills in from the live objects. With update, the rates are measured
 * since the last update and remembered; without, the last ones are
 * reused. The caller frees in->dests and fs.
 */
static void
gather(struct ls_monitor *mon, struct ls_status_in *in, struct files *fs,
    int update)
{
	struct ls_monitor_src src;
	struct ls_status_dest *sd;
	const struct prev *p;
	struct prev *next;
	uint64_t sent;
	double dt;
	size_t i, n;

	memset(&src, 0, sizeof src);
	mon->src_cb(&src, mon->arg);
	memset(in, 0, sizeof *in);
	in->conf = src.conf;
	in->m = src.m;
	in->now_ms = ls_now_ms();
	in->wall_ms = ls_wall_ms();
	n = src.m->ndests < src.conf->ndests ? src.m->ndests : src.conf->ndests;
	sd = xcalloc(n ? n : 1, sizeof *sd);
	next = update ? xcalloc(n ? n : 1, sizeof *next) : NULL;
	dt = (in->now_ms - mon->prev_ms) / 1000.0;
	for (i = 0; i < n; i++) {
		if (src.pipeline != NULL) {
			ls_pipeline_dest_queued(src.pipeline, i,
			    &sd[i].queued_records, &sd[i].queued_batches);
			sd[i].backoff_ms
			    = ls_pipeline_dest_backoff_ms(src.pipeline, i);
		}
		sent = LS_LOAD(src.m->dest[i]->sent);
		p = find_prev(mon, src.conf->dests[i].name);
		sd[i].rate = -1;
		if (p != NULL && !update)
			sd[i].rate = p->rate;
		else if (p != NULL && dt > 0 && sent >= p->sent)
			sd[i].rate = (sent - p->sent) / dt;
		if (ls_status_pending(src.m->dest[i]) > 0)
			sd[i].busy_since_ms = p != NULL && p->busy_since_ms != 0
			    ? p->busy_since_ms
			    : in->now_ms;
		if (update) {
			next[i].name = xstrdup(src.conf->dests[i].name);
			next[i].sent = sent;
			next[i].rate = sd[i].rate;
			next[i].busy_since_ms = sd[i].busy_since_ms;
		}
	}
	if (update) {
		for (i = 0; i < mon->nprev; i++)
			free(mon->prev[i].name);
		free(mon->prev);
		mon->prev = next;
		mon->nprev = n;
		mon->prev_ms = in->now_ms;
	}
	in->dests = sd;
	memset(fs, 0, sizeof *fs);
	if (src.tailer != NULL) {
		ls_tailer_foreach_file(src.tailer, file_cb, fs);
		in->paused = ls_tailer_paused(src.tailer);
		in->buffer_used = ls_budget_used(ls_tailer_budget(src.tailer));
	}
	if (src.journal != NULL)
		ls_journal_foreach(src.journal, journal_cb, fs);
	for (i = 0; i < fs->jn; i++)
		in->paused |= fs->jv[i].paused; /* the budget pauses both */
	in->files = fs->v;
	in->nfiles = fs->n;
	in->journals = fs->jv;
	in->njournals = fs->jn;
}

static void
publish(struct ls_monitor *mon)
{
	struct ls_status_in in;
	struct files fs;
	struct ls_buf why, prom;
	json_t *doc;
	char *status;
	int healthy;

	gather(mon, &in, &fs, 1);
	if (mon->render) {
		ls_buf_init(&why);
		ls_buf_init(&prom);
		healthy = ls_status_health(&in, &why);
		ls_status_prometheus(&in, &prom);
		doc = ls_status_json(&in);
		if ((status = json_dumps(doc, JSON_COMPACT)) == NULL)
			fatalx("monitor: json_dumps");
		json_decref(doc);
		ls_buf_putc(&why, '\0'); /* an empty buffer has no data yet */
		ls_snapslot_publish(mon->slot,
		    ls_snapshot_new(in.now_ms, healthy,
			xstrdup(healthy ? "ok" : why.data), xstrdup(prom.data),
			status));
		ls_buf_cleanup(&why);
		ls_buf_cleanup(&prom);
	}
	free((void *)in.dests);
	files_free(&fs);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	publish(w->data);
}

struct ls_monitor *
ls_monitor_new(struct ev_loop *loop,
    void (*src_cb)(struct ls_monitor_src *, void *), void *arg)
{
	struct ls_monitor *mon;

	mon = xcalloc(1, sizeof *mon);
	mon->loop = loop;
	mon->src_cb = src_cb;
	mon->arg = arg;
	mon->slot = ls_snapslot_new();
	mon->prev_ms = ls_now_ms();
	ev_timer_init(&mon->tick_w, tick_cb, 1.0, 1.0);
	mon->tick_w.data = mon;
	return mon;
}

int
ls_monitor_start(struct ls_monitor *mon)
{
	struct ls_monitor_src src;

	memset(&src, 0, sizeof src);
	mon->src_cb(&src, mon->arg);
	if (src.conf->metrics_listen != NULL) {
		/* Published before the server starts: it never answers "no
		 * status yet" once start has returned. */
		mon->render = 1;
		publish(mon);
		mon->httpd = ls_httpd_new(src.conf->metrics_host,
		    src.conf->metrics_port, mon->slot, STALE_MS);
		if (mon->httpd == NULL)
			return -1;
	}
	ev_timer_start(mon->loop, &mon->tick_w);
	return 0;
}

void
ls_monitor_log(struct ls_monitor *mon)
{
	struct ls_status_in in;
	struct files fs;
	struct ls_buf b;
	json_t *doc;
	char *line, *nl;

	gather(mon, &in, &fs, 0);
	doc = ls_status_json(&in);
	ls_buf_init(&b);
	ls_status_table(doc, &b);
	ls_buf_putc(&b, '\0');
	for (line = b.data; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		log_notice("status: %s", line);
	}
	ls_buf_cleanup(&b);
	json_decref(doc);
	free((void *)in.dests);
	files_free(&fs);
}

void
ls_monitor_free(struct ls_monitor *mon)
{
	size_t i;

	if (mon == NULL)
		return;
	ev_timer_stop(mon->loop, &mon->tick_w);
	ls_httpd_free(mon->httpd);
	ls_snapslot_free(mon->slot);
	for (i = 0; i < mon->nprev; i++)
		free(mon->prev[i].name);
	free(mon->prev);
	free(mon);
}
