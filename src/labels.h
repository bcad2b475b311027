/*
 * labels: the fields a source adds to each of its lines on the wire
 * (service, ddsource, ddtags), interned for the life of the process.
 *
 * A record lives on past the configuration it was read under: a reload
 * may free that configuration while the record waits out an outage in a
 * destination's queue. So a record points at interned labels, never into a
 * struct ls_conf. Interning costs a lookup per source per config load,
 * nothing per line, and memory only for each distinct triple ever
 * configured (a handful of strings); they are freed at exit. Each also
 * holds its fields as they go on the wire, escaped once at interning, so
 * that encoding a line appends them with one copy.
 *
 * Threading: intern from any thread (a mutex); the result is immutable.
 */
#ifndef LS_LABELS_H
#define LS_LABELS_H

struct ls_labels {
	const char *service; /* each may be NULL */
	const char *ddsource;
	const char *ddtags;
	/* ,"service":"...","ddsource":"...","ddtags":"..." (JSON, escaped;
	 * the fields that are set), and its length. */
	const char *json;
	size_t json_len;
};

/* The one ls_labels equal to these strings (copied on first use). */
const struct ls_labels *ls_labels_intern(
    const char *service, const char *ddsource, const char *ddtags);
/* Frees every interned triple: at exit, when no record is left. */
void ls_labels_cleanup(void);

#endif
