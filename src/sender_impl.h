/*
 * sender_impl.h: private to the sender's family of files; nothing else
 * includes it (the API is sender.h):
 *
 *	sender.c		the destination's shared state; a batch sent:
 *				encode, compress, take a turn and a permit,
 *				POST, act on the answer (send_range)
 *	sender_http.c		the worker's curl handle: headers, codec,
 *				proxy and TLS, one POST, the answer read and
 *				described; the zstd to gzip fallback
 *	sender_retry.c		answers classified; the destination's pace:
 *				backoff, Retry-After, the turn to send,
 *				probes, recovery, adaptive concurrency
 *	sender_refused.c	refused entries: the batch halved, entries
 *				deferred or dropped (refuse.c decides), the
 *				drops logged
 *
 * It holds what the family shares: the two structs, and the functions one
 * file of the family calls in another, grouped by the file that defines
 * them. Threading: as sender.h says, struct ls_sender_dest is shared by a
 * destination's workers, struct ls_sender belongs to one worker.
 */
#ifndef LS_SENDER_IMPL_H
#define LS_SENDER_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include <curl/curl.h>

#include "aimd.h"
#include "buf.h"
#include "compress.h"
#include "ctx.h"
#include "record.h"
#include "refuse.h"
#include "sem.h"
#include "sender.h"

/* How much of an error answer's body is kept for the log. */
#define ERRBODY_MAX 512
/* Entries deferred (refused alone, no proof yet) whose last refusal is
 * remembered: when one comes back alone, the proof may come from any
 * request sent after that refusal. */
#define DEFERRED_SLOTS 256

struct ls_sender_dest {
	const struct ls_conf_dest *conf;
	const char *hostname;
	struct ls_dest_metrics *m;
	struct ls_sem *sem;
	/* ls_now_ms() times, shared by the destination's workers:
	 * not_before: the backoff; no request before it but a probe.
	 * floor: the intake said when (Retry-After, 429, a bad key); no
	 * request at all before it.
	 * next_probe: when a waiting worker may send the next probe. */
	atomic_int_fast64_t not_before;
	atomic_int_fast64_t floor;
	atomic_int_fast64_t next_probe;
	atomic_uint failures; /* consecutive, destination-wide */
	atomic_int failing; /* logged as failing, not yet recovered */
	struct ls_aimd aimd; /* adaptive_concurrency */
	struct ls_refuse refuse; /* refused entries: refuse.h */
	/* The compression in use: zstd until the intake refuses it, then
	 * gzip for good (enum ls_compression). */
	atomic_int codec;
	/* Rate limit of the refused-entry warnings, and of the restamped
	 * ones (once a minute). */
	atomic_int_fast64_t refused_log_ms;
	atomic_int_fast64_t restamp_log_ms;
	atomic_uint refused_unlogged;
	/* Deferred entries and the tick of their last refusal (0: free). */
	pthread_mutex_t deferred_mu;
	struct {
		const struct ls_record *rec;
		uint64_t tick;
	} deferred[DEFERRED_SLOTS];
	size_t deferred_next; /* the slot to overwrite when all are taken */
	atomic_uint ndeferred; /* slots taken */
};

struct ls_sender {
	struct ls_sender_dest *d;
	CURL *curl;
	struct curl_slist *headers;
	/* The last nodes of headers: "DD-API-KEY: ..." and the configured
	 * headers (conf's), in protected memory (secret.h). Ours, not
	 * curl's: curl_slist_append would copy the strings to the heap, and
	 * curl_slist_free_all must not free them. */
	struct curl_slist *own;
	size_t nown;
	char *key_header;
	/* With tls.server_name: the url with that host, and where it
	 * connects to instead (CURLOPT_CONNECT_TO). */
	char *url;
	struct curl_slist *connect_to;
	struct ls_buf body;
	struct ls_buf gz; /* the compressed body */
	struct ls_compressor *comp; /* NULL: compression none */
	enum ls_compression codec; /* of comp and headers */
	struct ls_buf errbody;
	size_t answer_len; /* of the answer's body, of which errbody is the
			      first ERRBODY_MAX bytes */
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	struct ls_ctx *ctx; /* of the request under way */
	size_t done; /* records of the batch under way finished so far */
	struct ls_record *const *base; /* the batch under way's records */
	unsigned char *isdone; /* per record of it: finished */
	size_t isdone_cap;
	const char *failed; /* the batch under way met an internal error */
	unsigned seed;
};

enum turn { TURN_CANCELLED = -1, TURN_GO, TURN_PROBE };

/* sender.c */
/* Sends recs[0..n-1] until done (sender.c says how). */
void sender_send_range(struct ls_sender *s, struct ls_record *const *recs,
    size_t n, size_t max_msg, struct ls_ctx *ctx, int probe, uint64_t since);
/* The destination is done with these records, sent or dropped. */
void sender_finish(
    struct ls_sender *s, struct ls_record *const *recs, size_t n);

/* sender_http.c */
/* One POST of payload: the curl code; *status the HTTP status. */
int sender_post(struct ls_sender *s, const struct ls_buf *payload,
    struct ls_ctx *ctx, long *status);
/* A failed attempt, for the log: never the request, never a header. */
void sender_describe(
    struct ls_sender *s, int rc, long status, char *out, size_t len);
/* 1 if a 2xx answer's body is not the Datadog intake's JSON. */
int sender_not_the_intake(const struct ls_sender *s);
/* The intake refused zstd: the destination sends gzip from now on. */
void sender_fall_back(struct ls_sender *s, long status);
/* Brings the worker to the destination's codec. 0, or -1. */
int sender_sync_codec(struct ls_sender *s);

/* sender_retry.c */
enum turn sender_wait_turn(struct ls_sender_dest *d, struct ls_ctx *ctx);
void sender_recovered(struct ls_sender_dest *d);
void sender_adapt(struct ls_sender_dest *d, int rc, long status, int64_t rtt_ms,
    int saturated);
int sender_may_send(struct ls_sender_dest *d, int probe);
int64_t sender_back_off(
    struct ls_sender *s, long status, const char *problem, const char **hint);

/* sender_refused.c */
void sender_refused(struct ls_sender *s, struct ls_record *const *recs,
    size_t n, size_t max_msg, struct ls_ctx *ctx, long status,
    uint64_t refused_at, uint64_t ok_seen, uint64_t since, const char *why);
void sender_deferred_forget(
    struct ls_sender_dest *d, struct ls_record *const *recs, size_t n);

#endif
