/*
 * status_httpd: the status endpoint, an HTTP server (libmicrohttpd, one
 * internal thread) that serves the newest published snapshot:
 *
 *   GET /metrics  the Prometheus text exposition format 0.0.4
 *   GET /status   the JSON document of status_json.c
 *   GET /healthz  200 "ok", or 503 and why: a destination is unhealthy, or
 *                 the newest snapshot is older than stale_ms (the main
 *                 loop is wedged), or none was published yet
 *
 * 404 for any other path, 405 for any method but GET and HEAD.
 *
 * The server thread touches nothing but the snapshot slot: see
 * status_snapshot.h for why that makes it safe under a reload. It binds the
 * configured address only, and stays answerable under one local user's
 * connections: a request must be whole within 5 s of its connection's accept
 * (not an idle timer that each byte restarts), and past 16 connections from one
 * address or 256 in all the oldest go once they have had 250 ms, so a
 * client that sends its request at once is always answered (status_httpd.c).
 *
 * Threading: new/free from the main thread; requests are answered in the
 * server's thread ("http", which runs libmicrohttpd's loop), started with
 * every signal blocked.
 */
#ifndef LS_STATUS_HTTPD_H
#define LS_STATUS_HTTPD_H

#include <stdint.h>

#include "status_snapshot.h"

struct ls_httpd;

/* Listens on host (a numeric IPv4 or IPv6 address) and port, serving
 * slot's snapshots (borrowed: it must outlive the server). NULL when it
 * cannot (logged, naming the address). */
struct ls_httpd *ls_httpd_new(const char *host, unsigned port,
    struct ls_snapslot *slot, int64_t stale_ms);
/* Stops the server, joining its thread, and frees it. NULL is a no-op. */
void ls_httpd_free(struct ls_httpd *);

#endif
