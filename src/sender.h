/*
 * sender: the worker side of a destination. Each worker thread owns one
 * struct ls_sender (a curl easy handle, so connections are kept alive and
 * reused) and turns batches into HTTP requests: encode, compress, take a
 * connection permit from the destination's semaphore, POST with a deadline
 * from the context, give the permit back, and act on the answer:
 *
 *   LS_SEND_OK      2xx: the records are sent (a datadog destination also
 *                   wants a JSON body: see sender_http.c,
 *                   sender_not_the_intake).
 *   LS_SEND_RETRY   408, 429, 5xx, 401/403, network and TLS errors: wait,
 *                   resend. A wrong url (3xx, never followed; 404, 405,
 *                   410) or an encoding the intake does not take (415):
 *                   resend slowly and loudly until a reload fixes it.
 *   LS_SEND_SPLIT   413: send each half; a single entry is cut shorter.
 *   LS_SEND_REJECT  400 and 422, the body itself: the batch is halved
 *                   until the refused entries stand alone; one alone is
 *                   dropped (counted, logged) only when the intake is
 *                   seen to take others, else it is deferred: sent again
 *                   after the rest. reject_limit entries refused alone in
 *                   a row hold the destination like a 401 (refuse.h).
 *   LS_SEND_RETRY_FEW  another 4xx: retried like a 5xx up to
 *                   LS_CLIENT_ERROR_TRIES times for a batch (a proxy or
 *                   intake in a bad state), then refused like a 400.
 *
 * A zstd body answered 415 or 400 switches the destination to gzip for
 * good (logged, counted) and is resent at once as gzip.
 *
 * Backoff is per destination, not per worker: every worker of a failing
 * destination waits until the same "not before" time, so N workers do not
 * hammer an intake that is down, and a Retry-After answer holds them all.
 *
 * Threading: struct ls_sender_dest is shared by a destination's workers;
 * struct ls_sender belongs to one worker.
 */
#ifndef LS_SENDER_H
#define LS_SENDER_H

#include <stdint.h>
#include <time.h>

#include "batcher.h"
#include "conf.h"
#include "ctx.h"
#include "status_metrics.h"
#include "sem.h"

enum ls_send_result {
	LS_SEND_OK = 0,
	LS_SEND_RETRY,
	LS_SEND_SPLIT,
	LS_SEND_REJECT,
	LS_SEND_RETRY_FEW,
};

/* How many times a batch is sent that an unlisted 4xx answers. */
#define LS_CLIENT_ERROR_TRIES 5

/* What to do about an answer: curl_code is a CURLcode (0 when an HTTP
 * answer came back), status the HTTP status. */
enum ls_send_result ls_sender_classify(int curl_code, long status);
/* A Retry-After value (delta-seconds or an HTTP date) in milliseconds from
 * now, or -1 if it is neither or more than a year ahead. */
int64_t ls_retry_after_ms(const char *value, time_t now);
/* The delay before retry number attempt (0 for the first): a random value
 * (from rnd) between initial and min(max, initial * 2^attempt). */
int64_t ls_backoff_ms(
    int64_t initial, int64_t max, unsigned attempt, uint32_t rnd);

struct ls_sender_dest;
struct ls_sender;

/*
 * What became of a batch (ls_sender_send). The sender only sends: it
 * neither acknowledges nor accounts bytes, nor queues anything again; its
 * caller (the worker's batch handler, pipeline.c) does, from this.
 */
enum ls_send_verdict {
	LS_SEND_ALL_TAKEN = 0, /* taken == n: none is left */
	/* The rest were refused alone, not proven bad: send them again
	 * after what is queued. */
	LS_SEND_DEFERRED,
	LS_SEND_CUT, /* the context ended the work: the rest are unsent */
	/* An internal error (compression): the rest are unsent, and the
	 * destination cannot send; report it, do not retry. */
	LS_SEND_FAILED,
};

struct ls_send_outcome {
	/* The first taken records of the batch (reordered) are done for
	 * this destination: sent, or dropped by a counted policy. */
	size_t taken;
	enum ls_send_verdict verdict;
	const char *why; /* LS_SEND_FAILED: what failed (static) */
};

/* The shared state of one destination's workers. Borrows conf and
 * metrics. */
struct ls_sender_dest *ls_sender_dest_new(const struct ls_conf_dest *,
    const char *hostname, struct ls_dest_metrics *);
void ls_sender_dest_free(struct ls_sender_dest *);

/* A worker's sender (made on any thread, used by one at a time). NULL if
 * curl could not be set up (logged). */
struct ls_sender *ls_sender_new(struct ls_sender_dest *, unsigned idx);
void ls_sender_free(struct ls_sender *);
/* Sends batch, retrying until it is sent, dropped, deferred, or ctx is
 * done (then the rest of its records stay unsent). Reorders batch->recs so
 * that the records this destination is done with (sent or dropped) come
 * first, in order, and says how many and why not all. The caller keeps the
 * batch. */
struct ls_send_outcome ls_sender_send(
    struct ls_sender *, struct ls_batch *, struct ls_ctx *);
/* How long the destination still backs off (no request but a probe before
 * then), in ms; 0 when it does not. Any thread (status). */
int64_t ls_sender_dest_backoff_ms(struct ls_sender_dest *);

#endif
