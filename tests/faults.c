/*
 * faults: see faults.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "faults.h"
#include "log.h"
#include "xmalloc.h"

struct fdest {
	void *inner;
	const char *name;
	int bad_worker;
	int bad_send;
};

struct fworker {
	struct fdest *d;
	void *inner;
};

static int
named(const char *var, const char *name)
{
	const char *v = getenv(var);

	return v != NULL && strcmp(v, name) == 0;
}

static void *
f_dest_new(const struct ls_conf_dest *c, const char *hostname,
    struct ls_dest_metrics *m)
{
	struct fdest *d;
	void *inner;

	if ((inner = ls_http_send_ops.dest_new(c, hostname, m)) == NULL)
		return NULL;
	d = xcalloc(1, sizeof *d);
	d->inner = inner;
	d->name = c->name;
	d->bad_worker = named("LS_FAULT_WORKER", c->name);
	d->bad_send = named("LS_FAULT_SEND", c->name);
	return d;
}

static void
f_dest_free(void *sd)
{
	struct fdest *d = sd;

	ls_http_send_ops.dest_free(d->inner);
	free(d);
}

static void *
f_worker_new(void *sd, unsigned idx)
{
	struct fdest *d = sd;
	struct fworker *w;
	void *inner;

	if (d->bad_worker) {
		log_warnx("%s: cannot set up curl (injected)", d->name);
		return NULL;
	}
	if ((inner = ls_http_send_ops.worker_new(d->inner, idx)) == NULL)
		return NULL;
	w = xcalloc(1, sizeof *w);
	w->d = d;
	w->inner = inner;
	return w;
}

static void
f_worker_free(void *wp)
{
	struct fworker *w = wp;

	ls_http_send_ops.worker_free(w->inner);
	free(w);
}

static struct ls_send_outcome
f_send(void *wp, struct ls_batch *b, struct ls_ctx *ctx)
{
	struct ls_send_outcome o
	    = { 0, LS_SEND_FAILED, "compression failed (injected)" };
	struct fworker *w = wp;

	if (w->d->bad_send)
		return o;
	return ls_http_send_ops.send(w->inner, b, ctx);
}

static int64_t
f_backoff_ms(void *sd)
{
	struct fdest *d = sd;

	return ls_http_send_ops.backoff_ms(d->inner);
}

static const struct ls_send_ops fault_ops = {
	.dest_new = f_dest_new,
	.dest_free = f_dest_free,
	.worker_new = f_worker_new,
	.worker_free = f_worker_free,
	.send = f_send,
	.backoff_ms = f_backoff_ms,
};

const struct ls_send_ops *
ls_fault_send_ops(void)
{
	return &fault_ops;
}
