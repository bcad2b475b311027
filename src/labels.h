/*
 * labels: the fields a source (and a file of it) adds to each of its lines
 * on the wire (service, ddsource, ddtags), interned and refcounted.
 * A record lives on past the configuration it was read under: a reload
 * may free that configuration while the record waits out an outage in a
 * destination's queue. So a record points at interned labels, never into
 * a struct ls_conf. A source holds a reference for its labels, a file for
 * its own (its source's, with its filename: and dirname: tags), which it
 * keeps while its records, which borrow them, are in flight (record.h);
 * the last reference frees them, so the files of a long run (one a day, or
 * one a request) cost nothing once gone. Each also holds its fields as
 * they go on the wire, escaped once at interning, so that encoding a line
 * appends them with one copy.
 * Threading: any thread. Intern and the last unref take a mutex; the
 * other refs and unrefs are one atomic operation each.
 */
#ifndef LS_LABELS_H
#define LS_LABELS_H

struct ls_labels {
	const char *service; /* each may be NULL */
	const char *ddsource;
	const char *ddtags;
	/* More fields as JSON, escaped, each after a comma (a journal
	 * entry's attributes and hostname; journal.h), or NULL. */
	const char *extra;
	/* extra has a "hostname": it replaces the destination's. */
	int has_host;
	/* ,"service":"...","ddsource":"...","ddtags":"..." (JSON, escaped;
	 * the fields that are set), then extra, and its length. */
	const char *json;
	size_t json_len;
};

/* A reference to the one ls_labels equal to these strings (copied on
 * first use). */
const struct ls_labels *ls_labels_intern(
    const char *service, const char *ddsource, const char *ddtags);
/* The same with extra fields (see above; NULL: none): has_host when they
 * hold a "hostname". */
const struct ls_labels *ls_labels_intern_extra(const char *service,
    const char *ddsource, const char *ddtags, const char *extra, int has_host);
/* Another reference; drops one (the last frees them). NULL is a no-op. */
void ls_labels_ref(const struct ls_labels *);
void ls_labels_unref(const struct ls_labels *);
/* Frees whatever is left: at exit, when no record is left. */
void ls_labels_cleanup(void);

#endif
