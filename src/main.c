/*
 * logshipd: tails log files and ships their lines to HTTP log intakes.
 *
 * main owns the libev loop (tailing, signals, timers, acknowledgements),
 * the memory budget, and the order of start and stop. The stages of a
 * line's delivery are in the table below (and the README's).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "acks.h"
#include "buf.h"
#include "checkpoint.h"
#include "conf.h"
#include "ctx.h"
#include "labels.h"
#include "log.h"
#include "status_metrics.h"
#include "status_monitor.h"
#include "notify.h"
#include "pipeline.h"
#include "rules.h"
#include "status_cmd.h"
#include "journal.h"
#include "tailer.h"
#ifdef LS_FAULTS
#include "faults.h" /* tests/logshipd_faults only */
#endif

/*
 * The whole pipeline on one screen: who runs each stage, how many threads,
 * and what goes in and out. A line goes down the table; its
 * acknowledgement comes back up it (acks, then the checkpoint).
 *
 *   tail -> queue -> router -> batcher -> workers -> acks -> checkpoint
 *
 * One owner per fact: the router adds a record's bytes to its
 * destinations' held_bytes and sets how many must be done with it; the
 * worker's batch handler (pipeline.c, pl_settle) alone takes the bytes
 * off and acknowledges, from what the sender says it took; the record's
 * origin (its file) commits it on the main thread.
 */
static const struct {
	const char *stage, *threads, *in, *out;
} stages[] = {
	{ "tailer (tail_*.c)", "main loop", "log files (budget)",
	    "ingest queue" },
	{ "journal (journal.c)", "main loop", "journald (budget)",
	    "ingest queue" },
	{ "router (router.c)", "1", "ingest queue", "destination queues" },
	{ "batcher (batcher.c)", "1 per destination", "destination queue",
	    "batch queue" },
	{ "workers (pipeline.c, sender*.c, pool.c)", "workers per destination",
	    "batch queue", "HTTP intake; acks" },
	{ "reload handover (reload.c)", "main loop", "retired instance",
	    "its heir's queue; acks" },
	{ "acks (acks.c)", "main loop (ev_async)", "done records",
	    "origin: file offsets" },
	{ "checkpoint (checkpoint*.c)", "1 (ckpt)", "committed offsets",
	    "checkpoint.json" },
};

struct daemon {
	struct ev_loop *loop;
	struct ls_conf *conf; /* main's own; everyone else reads it */
	struct ls_ctx *root;
	struct ls_metrics *m;
	struct ls_pipeline *pipeline;
	struct ls_tailer *tailer;
	struct ls_journal *journal; /* the journald sources */
	struct ls_acks *acks;
	struct ls_budget *budget; /* made first, freed last */
	struct ls_ckpt *ckpt;
	struct ls_notify *notify; /* systemd: READY, STATUS, WATCHDOG */
	struct ls_monitor *monitor; /* /metrics, /status; SIGUSR1's table */
	ev_signal sigterm_w, sigint_w, sighup_w, sigusr1_w;
	ev_timer deadline_w;
	ev_timer summary_w;
	ev_async done_w;
	ev_async poll_w; /* the pipeline has retiring work (a reload) */
	ev_async fail_w; /* a destination met an internal error */
	ev_timer retire_w; /* and its deadlines, every second */
	int stopping;
	int started; /* every part is running: the loop may run */
	int tty; /* stderr is a terminal */
	int64_t stop_started_ms;
	int status; /* the exit status */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: logshipd [-dhnVv] [-c file] [-s seconds]\n"
	    "       logshipd status [-c file] [-u url]\n");
	exit(EX_USAGE);
}

static void
summary(struct daemon *d, const char *prefix, int to_stderr)
{
	struct ls_buf b;

	ls_buf_init(&b);
	ls_metrics_summary(d->m, d->conf, &b);
	if (to_stderr && d->tty) {
		/* On a terminal the live summary rewrites one line. */
		fprintf(stderr, "\r\033[K%s%s", prefix, b.data);
		fflush(stderr);
	} else if (to_stderr) {
		fprintf(stderr, "%s%s\n", prefix, b.data);
		fflush(stderr);
	} else
		log_notice("%s%s", prefix, b.data);
	ls_buf_cleanup(&b);
}

static void
summary_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	summary(w->data, "", 1);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	log_warnx("shutdown_timeout (%lld ms) reached: abandoning what is not "
		  "sent",
	    (long long)d->conf->shutdown_timeout_ms);
	ls_ctx_cancel(d->root);
}

/*
 * The signal callbacks. The watchers exist from the start, before the
 * pipeline, the tailer and its first scan, while SIGTERM, SIGINT, SIGHUP
 * and SIGUSR1 are blocked: one sent while the daemon starts waits in the
 * kernel, and is handled as the loop's first act once everything runs
 * (SIGTERM drains and exits 0, SIGHUP reloads). Were one to run sooner
 * (the loop run during the start), the callbacks find d->started unset
 * and leave alone the parts that do not exist yet.
 */
/* Begins the drain: stop reading, then close the queues front to back. */
static void
begin_stop(struct daemon *d)
{
	d->stopping = 1;
	d->stop_started_ms = ls_now_ms();
	if (d->tailer != NULL)
		ls_tailer_stop(d->tailer);
	if (d->journal != NULL)
		ls_journal_stop(d->journal);
	if (d->pipeline != NULL)
		ls_pipeline_drain(d->pipeline);
	(void)ls_notify_stopping();
	ev_timer_set(&d->deadline_w, d->conf->shutdown_timeout_ms / 1000.0, 0);
	ev_timer_start(d->loop, &d->deadline_w);
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	if (d->stopping) {
		log_warnx("second signal: stopping now");
		ls_ctx_cancel(d->root);
		return;
	}
	log_notice("received signal %d: draining (at most %lld ms)", w->signum,
	    (long long)d->conf->shutdown_timeout_ms);
	begin_stop(d);
}

/*
 * A destination met an internal error (pipeline.h: logged there): the
 * daemon does not die on the spot, it drains what the others can send,
 * writes the checkpoint, and exits 1. The failed destination's lines are
 * not committed: they are shipped after the restart.
 */
static void
fail_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct daemon *d = w->data;

	d->status = 1;
	if (d->stopping || !d->started)
		return;
	log_warnx("a destination cannot send: draining (at most %lld ms), "
		  "then exiting 1",
	    (long long)d->conf->shutdown_timeout_ms);
	begin_stop(d);
}

/* From a worker: only a wakeup. */
static void
pipeline_fail_cb(void *arg)
{
	struct daemon *d = arg;

	ev_async_send(d->loop, &d->fail_w);
}

static size_t raise_nofile(size_t want);

/* Moves retiring destinations along (a reload's). */
static void
poll_pipeline(struct daemon *d)
{
	if (ls_pipeline_poll(d->pipeline))
		ev_timer_again(d->loop, &d->retire_w);
	else
		ev_timer_stop(d->loop, &d->retire_w);
}

static void
poll_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	poll_pipeline(w->data);
}

static void
retire_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	poll_pipeline(w->data);
}

/* From any pipeline thread: only a wakeup. */
static void
pipeline_wake_cb(void *arg)
{
	struct daemon *d = arg;

	ev_async_send(d->loop, &d->poll_w);
}

/*
 * SIGHUP: reload. The file is parsed and checked whole first: a bad one
 * changes nothing (its errors are logged). A good one replaces the running
 * config part by part, on this thread: destinations and routes (unchanged
 * destinations keep running; reload.c), the per-source counters, then
 * the sources. Every thread keeps a reference to the config its part was
 * made from, so the old one is freed only when its last user is gone.
 */
static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct ls_conf *c;
	char *errs = NULL, *line, *save;
	size_t errlen = 0;
	FILE *errf;

	if (d->stopping) {
		log_notice("SIGHUP while draining: ignored");
		return;
	}
	if (!d->started) {
		log_notice("SIGHUP before the start completed: ignored");
		return;
	}
	(void)ls_notify_reloading();
	log_notice("SIGHUP: reloading %s", d->conf->path);
	if ((errf = open_memstream(&errs, &errlen)) == NULL)
		fatal("open_memstream");
	c = ls_conf_load(d->conf->path, errf);
	fclose(errf);
	for (line = strtok_r(errs, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
	free(errs);
	if (c == NULL) {
		log_warnx("reload failed: still running the previous "
			  "configuration");
		(void)ls_notify_ready();
		return;
	}
	if (strcmp(c->state_dir, d->conf->state_dir) != 0
	    || c->max_buffer_bytes != d->conf->max_buffer_bytes)
		log_notice("state_dir and max_buffer_bytes keep their values "
			   "until a restart");
	ls_conf_report_skipped(c, NULL);
	c->max_open_files = raise_nofile(c->max_open_files);
	if (ls_pipeline_reload(d->pipeline, c) != 0) {
		log_warnx("reload failed: still running the previous "
			  "configuration");
		ls_conf_free(c);
		(void)ls_notify_ready();
		return;
	}
	ls_metrics_set_sources(d->m, d->conf, c);
	ls_tailer_reload(d->tailer, c);
	ls_journal_reload(d->journal, c);
	ls_conf_free(d->conf);
	d->conf = c;
	poll_pipeline(d);
	log_notice(
	    "reloaded: %zu sources, %zu destinations", c->nsources, c->ndests);
	(void)ls_notify_ready();
}

static void
usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	summary(d, "status: ", 0);
	if (d->started)
		ls_monitor_log(d->monitor);
}

/* What the monitor renders: whatever is running now (a reload replaces
 * these). */
static void
monitor_src_cb(struct ls_monitor_src *src, void *arg)
{
	struct daemon *d = arg;

	src->conf = d->conf;
	src->m = d->m;
	src->pipeline = d->pipeline;
	src->tailer = d->tailer;
	src->journal = d->journal;
}

/* Every pipeline thread has ended: leave the loop. */
static void
done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* A record is done everywhere: back to its origin, which commits it (its
 * file's offsets; main thread). */
static void
ack_cb(struct ls_record *r, void *arg)
{
	ls_origin_ack(r);
}

/* From the last pipeline thread to exit: any thread, so only a wakeup. */
static void
pipeline_done_cb(void *arg)
{
	struct daemon *d = arg;

	ev_async_send(d->loop, &d->done_w);
}

/* STATUS= for systemd: the summary line. */
static void
notify_status_cb(struct ls_buf *out, void *arg)
{
	struct daemon *d = arg;

	if (d->stopping)
		ls_buf_printf(out, "draining: ");
	ls_metrics_summary(d->m, d->conf, out);
}

/*
 * For the watchdog: is the router taking records from the ingest queue?
 * Each one it takes counts once, in unrouted or in the routed count of the
 * destinations it goes to. The router never blocks but on that queue, so
 * records waiting there and no count moving means it is stuck.
 */
static int
notify_pulse_cb(uint64_t *done, uint64_t *waiting, void *arg)
{
	struct daemon *d = arg;
	size_t i;

	*done = LS_LOAD(d->m->unrouted);
	for (i = 0; i < d->m->ndests; i++)
		*done += LS_LOAD(d->m->dest[i]->routed);
	*waiting = ls_queue_len(ls_pipeline_input(d->pipeline));
	return 0;
}

static const struct ls_notify_ops notify_ops = {
	.status_cb = notify_status_cb,
	.pulse_cb = notify_pulse_cb,
};

/* A journald source's line of the final report. */
static void
final_journal_cb(const struct ls_journal_info *j, void *arg)
{
	log_notice("journal %s: entries=%llu cursor_lost=%llu skipped=%llu "
		   "cursor=%s",
	    j->source, (unsigned long long)j->entries,
	    (unsigned long long)j->cursor_lost, (unsigned long long)j->skipped,
	    j->cursor != NULL ? j->cursor : "none");
}

static void
final_report(struct daemon *d)
{
	struct ls_dest_metrics *dm;
	struct ls_rule_stats st;
	uint64_t sent, dropped;
	size_t i, k;

	log_notice("final: read=%llu lines in %lld ms of drain",
	    (unsigned long long)LS_LOAD(d->m->lines_read),
	    d->stopping ? (long long)(ls_now_ms() - d->stop_started_ms) : 0LL);
	log_notice("files: truncations=%llu truncations_no_copy=%llu "
		   "suspected_loss_bytes=%llu "
		   "inode_reuse=%llu removed_unread_bytes=%llu "
		   "checkpoint_errors=%llu inotify_wakeups=%llu",
	    (unsigned long long)LS_LOAD(d->m->truncations),
	    (unsigned long long)LS_LOAD(d->m->truncations_no_copy),
	    (unsigned long long)LS_LOAD(d->m->suspected_loss_bytes),
	    (unsigned long long)LS_LOAD(d->m->inode_reuse),
	    (unsigned long long)LS_LOAD(d->m->removed_unread_bytes),
	    (unsigned long long)LS_LOAD(d->m->checkpoint_errors),
	    (unsigned long long)LS_LOAD(d->m->inotify_wakeups));
	ls_journal_foreach(d->journal, final_journal_cb, NULL);
	/* What the processing rules did, per source and rule. */
	for (i = 0; i < d->conf->nsources; i++)
		for (k = 0; k < ls_rules_count(d->conf->sources[i].rules);
		     k++) {
			ls_rules_stats(d->conf->sources[i].rules, k, &st);
			log_notice("rule %s/%s (%s): excluded=%llu "
				   "not_included=%llu masked=%llu errors=%llu",
			    d->conf->sources[i].name, st.name, st.type,
			    (unsigned long long)st.excluded,
			    (unsigned long long)st.not_included,
			    (unsigned long long)st.masked,
			    (unsigned long long)st.errors);
		}
	for (i = 0; i < d->conf->ndests; i++) {
		dm = d->m->dest[i];
		sent = LS_LOAD(dm->sent);
		dropped = ls_metrics_dropped(dm);
		log_notice("destination %s: sent=%llu dropped=%llu unsent=%llu "
			   "retries=%llu dropped_full=%llu",
		    d->conf->dests[i].name, (unsigned long long)sent,
		    (unsigned long long)dropped,
		    (unsigned long long)(LS_LOAD(dm->routed) - sent - dropped),
		    (unsigned long long)LS_LOAD(dm->retries),
		    (unsigned long long)LS_LOAD(dm->dropped[LS_DROP_FULL]));
	}
}

/*
 * Following thousands of files needs thousands of descriptors: raise the
 * soft limit to the hard one, and keep max_open_files under it.
 */
static size_t
raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Room for sockets, the checkpoint and the loop's own. */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want + 128) {
		log_warnx("RLIMIT_NOFILE is %llu: following at most %llu files "
			  "at once",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(rl.rlim_cur > 256 ? rl.rlim_cur - 128
							   : 128));
		return rl.rlim_cur > 256 ? rl.rlim_cur - 128 : 128;
	}
	return want;
}

/* libev's fatal errors (a failed epoll_ctl, an allocation) into our log,
 * rather than its own abort() with a message on stderr. */
static void
syserr_cb(const char *msg)
{
	fatal("libev: %s", msg);
}

static void
signal_watch(struct daemon *d, ev_signal *w,
    void (*cb)(struct ev_loop *, ev_signal *, int), int signum)
{
	ev_signal_init(w, cb, signum);
	w->data = d;
	ev_signal_start(d->loop, w);
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct ls_pipeline_hooks hooks = { 0 };
	const char *conffile = LS_CONF_PATH;
	sigset_t sigs;
	int ch, foreground = 0, noaction = 0, verbose = 0;
	double summary_secs = 0;
	size_t i;

	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return ls_statuscmd(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:dhns:Vv")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'n':
			noaction = 1;
			break;
		case 's':
			summary_secs = strtod(optarg, NULL);
			if (summary_secs <= 0)
				usage();
			break;
		case 'V':
			printf("logshipd %s\n", PACKAGE_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		case 'h':
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/*
	 * Only the loop thread takes signals: every other thread starts with
	 * all of them blocked (thread.h). The loop thread blocks its own four
	 * until the loop runs: the watchers are installed first, so a signal
	 * that comes during the start (a SIGHUP from logrotate while 20,000
	 * files are scanned) waits in the kernel instead of taking its
	 * default action, and is handled once everything runs. libev may
	 * unblock each signal as its watcher starts (its documented default;
	 * 4.33 does it only under EVFLAG_NOSIGMASK, whose test is inverted,
	 * so we do not pass that flag): its handler is in place by then, and
	 * records the signal for the loop's first iteration all the same.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	memset(&d, 0, sizeof d);
	if ((d.conf = ls_conf_load(conffile, stderr)) == NULL)
		return LS_EX_CONFIG;
	if (noaction) {
		ls_conf_report_skipped(d.conf, stderr);
		fprintf(stderr, "configuration OK\n");
		ls_conf_free(d.conf);
		ls_labels_cleanup();
		return 0;
	}
	/*
	 * logshipd never forks: systemd or the shell keeps it in the
	 * foreground. Without -d it logs to syslog, unless stderr is the
	 * journal; with -d, to stderr.
	 */
	log_init(foreground, LOG_DAEMON);
	ls_conf_report_skipped(d.conf, NULL);
	for (i = 0; i < sizeof stages / sizeof stages[0]; i++)
		log_debug("stage %-26s threads: %-24s %s -> %s",
		    stages[i].stage, stages[i].threads, stages[i].in,
		    stages[i].out);

	d.conf->max_open_files = raise_nofile(d.conf->max_open_files);
	if (curl_global_init(CURL_GLOBAL_ALL) != 0)
		fatalx("curl_global_init failed");
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (RLIMIT_FSIZE) must fail the checkpoint's write
	 * with EFBIG, which is logged and retried, not kill the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	ev_set_syserr_cb(syserr_cb);
	if ((d.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot start the event loop");
	signal_watch(&d, &d.sigterm_w, stop_cb, SIGTERM);
	signal_watch(&d, &d.sigint_w, stop_cb, SIGINT);
	signal_watch(&d, &d.sighup_w, hup_cb, SIGHUP);
	signal_watch(&d, &d.sigusr1_w, usr1_cb, SIGUSR1);
	d.root = ls_ctx_new(NULL);
	d.m = ls_metrics_new(d.conf->ndests, d.conf->nsources);
	/* Outlives both ends: the tailer charges it, any thread's last
	 * unref releases it. */
	d.budget = ls_budget_new(d.conf->max_buffer_bytes);
	ev_async_init(&d.done_w, done_cb);
	ev_async_start(d.loop, &d.done_w);
	/*
	 * The checkpoint first: if it cannot be read, starting anyway would
	 * silently ship every file again from its start.
	 */
	d.ckpt = ls_ckpt_new(d.conf->state_dir);
	if (ls_ckpt_open(d.ckpt, d.conf->allow_insecure_state_dir) != 0) {
		d.status = 78; /* EX_CONFIG: the message says how to fix it */
		goto out;
	}
	if (ls_ckpt_load(d.ckpt) != 0) {
		log_warnx("%s: no usable checkpoint; not starting (remove "
			  "checkpoint.json and checkpoint.json.prev to ship "
			  "every file again from the start)",
		    d.conf->state_dir);
		d.status = 1;
		goto out;
	}
	/* The writer: after the signals are blocked, as every thread. */
	if ((errno = ls_ckpt_start(d.ckpt, d.m, d.conf->checkpoint_interval_ms,
		 d.conf->checkpoint_fsync_interval_ms))
	    != 0)
		fatal("cannot start the checkpoint writer");
	d.acks = ls_acks_new(d.loop, ack_cb, &d);
	ls_acks_start(d.acks);
	ev_async_init(&d.poll_w, poll_async_cb);
	d.poll_w.data = &d;
	ev_async_start(d.loop, &d.poll_w);
	ev_async_init(&d.fail_w, fail_async_cb);
	d.fail_w.data = &d;
	ev_async_start(d.loop, &d.fail_w);
	ev_init(&d.retire_w, retire_timer_cb);
	d.retire_w.repeat = 1.0;
	d.retire_w.data = &d;
	hooks.done_cb = pipeline_done_cb;
	hooks.wake_cb = pipeline_wake_cb;
	hooks.fail_cb = pipeline_fail_cb;
	hooks.arg = &d;
#ifdef LS_FAULTS
	hooks.send = ls_fault_send_ops();
#endif
	if ((d.pipeline = ls_pipeline_new(d.conf, d.acks, d.m, d.root, &hooks))
		== NULL
	    || ls_pipeline_start(d.pipeline) != 0) {
		log_warnx("cannot start the pipeline");
		d.status = 1;
		goto out;
	}

	d.tailer = ls_tailer_new(d.loop, d.conf, ls_pipeline_input(d.pipeline),
	    d.budget, d.ckpt, d.m);
	log_info("scanning %zu sources", d.conf->nsources);
	if (ls_tailer_start(d.tailer) != 0) {
		d.status = 1;
		goto out;
	}
	d.journal = ls_journal_new(d.loop, d.conf,
	    ls_pipeline_input(d.pipeline), d.budget, d.ckpt, d.m);
	if (ls_journal_start(d.journal) != 0) {
		d.status = 1;
		goto out;
	}
	d.monitor = ls_monitor_new(d.loop, monitor_src_cb, &d);
	if (ls_monitor_start(d.monitor) != 0) {
		d.status = 1;
		goto out;
	}
	ev_init(&d.deadline_w, deadline_cb);
	d.deadline_w.data = &d;
	if (summary_secs > 0) {
		d.tty = isatty(STDERR_FILENO);
		ev_timer_init(
		    &d.summary_w, summary_cb, summary_secs, summary_secs);
		d.summary_w.data = &d;
		ev_timer_start(d.loop, &d.summary_w);
	}
	log_notice("started: %zu sources, %zu destinations, %zu files",
	    d.conf->nsources, d.conf->ndests, ls_tailer_nfiles(d.tailer));
	d.notify = ls_notify_new(d.loop, &notify_ops, &d);
	ls_notify_start(d.notify);

	/* What came during the start is delivered now, to the watchers. */
	d.started = 1;
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	ev_run(d.loop, 0);

	ls_pipeline_join(d.pipeline);
	/* Every acknowledgement is in: the last committed offsets. */
	ls_acks_apply(d.acks);
	/* The journals' cursors into the checkpoint, written with the
	 * files' below. */
	(void)ls_journal_checkpoint(d.journal, 0);
	/* Written and fsynced before we go: force waits for the writer. */
	if (ls_tailer_checkpoint(d.tailer, 1) != 0)
		log_warnx("the final checkpoint was not written: lines shipped "
			  "since the last one will be shipped again");
	ls_ckpt_stop(d.ckpt);
	if (summary_secs > 0) {
		summary(&d, "", 1);
		if (d.tty)
			fputc('\n', stderr);
	}
	final_report(&d);
	log_flush(); /* what the rate limit held back */
	log_notice("terminating");
out:
	/* The status server first: it joins its thread. */
	ls_monitor_free(d.monitor);
	ls_pipeline_free(d.pipeline);
	ls_acks_free(d.acks);
	ls_tailer_free(d.tailer);
	ls_journal_free(d.journal);
	ls_ckpt_free(d.ckpt);
	ls_ctx_free(d.root);
	ls_metrics_free(d.m);
	ls_notify_free(d.notify);
	if (d.loop != NULL)
		ev_loop_destroy(d.loop);
	curl_global_cleanup();
	ls_conf_free(d.conf);
	/* No record is left: the labels they carried and the budget they
	 * were charged to can go. */
	ls_budget_free(d.budget);
	ls_labels_cleanup();
	return d.status;
}
