/* status_cmd: see status_cmd.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "status.h"
#include "status_cmd.h"
#include "xmalloc.h"

/* The whole exchange, connection included, must fit in this. */
#define FETCH_TIMEOUT_MS 5000
/* A /status document larger than this is not one. */
#define MAX_DOC (64 * 1024 * 1024)

static int
usage(void)
{
	fprintf(stderr, "usage: logshipd status [-c file] [-u url]\n");
	return EX_USAGE;
}

/* The /status URL of the daemon configured in path. 0, or an exit
 * status. */
static int
url_from_conf(const char *path, char **url)
{
	char *listen = NULL, *host = NULL;
	const char *h;
	unsigned port;
	int rc = 0;

	/* The daemon's own reader, so the file means the same to both. */
	if (ls_conf_load_listen(path, stderr, &listen) != 0)
		return LS_EX_CONFIG;
	if (listen == NULL) {
		fprintf(stderr,
		    "logshipd status: metrics.listen is off in %s: logshipd "
		    "serves no status (set it, or give -u)\n",
		    path);
		rc = 1;
	} else if (ls_conf_parse_listen(listen, &host, &port) != 0) {
		fprintf(stderr,
		    "logshipd status: %s: metrics.listen: bad address \"%s\"\n",
		    path, listen);
		rc = LS_EX_CONFIG;
	} else {
		/* A wildcard address is reached on loopback. */
		h = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1"
		    : strcmp(host, "::") == 0	 ? "::1"
						 : host;
		xasprintf(url,
		    strchr(h, ':') != NULL ? "http://[%s]:%u/status"
					   : "http://%s:%u/status",
		    h, port);
	}
	free(host);
	free(listen);
	return rc;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ls_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > MAX_DOC)
		return 0; /* aborts the transfer */
	ls_buf_append(b, ptr, n);
	return n;
}

/* GETs url into body. 0, or 1 (the reason printed). */
static int
fetch(const char *url, struct ls_buf *body)
{
	char err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;
	CURL *c;

	if ((c = curl_easy_init()) == NULL) {
		fprintf(stderr, "logshipd status: cannot set up curl\n");
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)FETCH_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(
	    c, CURLOPT_USERAGENT, "logshipd-status/" PACKAGE_VERSION);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr,
		    "logshipd status: cannot reach logshipd at %s: %s (is it "
		    "running, with this metrics.listen?)\n",
		    url, err[0] != '\0' ? err : curl_easy_strerror(rc));
		return 1;
	}
	if (code != 200) {
		fprintf(stderr, "logshipd status: %s answered HTTP %ld\n", url,
		    code);
		return 1;
	}
	return 0;
}

int
ls_statuscmd(int argc, char *argv[])
{
	const char *conffile = LS_CONF_PATH, *base = NULL;
	struct ls_buf body, out;
	json_error_t jerr;
	json_t *doc = NULL;
	char *url = NULL;
	size_t len;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:hu:")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'u':
			base = optarg;
			break;
		case 'h':
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (base != NULL) {
		/* The endpoint's base URL, or its /status URL. */
		len = strlen(base);
		while (len > 0 && base[len - 1] == '/')
			len--;
		if (len >= 7 && strncmp(base + len - 7, "/status", 7) == 0)
			xasprintf(&url, "%.*s", (int)len, base);
		else
			xasprintf(&url, "%.*s/status", (int)len, base);
	} else if ((rc = url_from_conf(conffile, &url)) != 0)
		return rc;

	if (curl_global_init(CURL_GLOBAL_ALL) != 0) {
		fprintf(stderr, "logshipd status: curl_global_init failed\n");
		free(url);
		return 1;
	}
	ls_buf_init(&body);
	ls_buf_init(&out);
	if ((rc = fetch(url, &body)) != 0)
		goto done;
	doc = json_loadb(
	    body.data != NULL ? body.data : "", body.len, 0, &jerr);
	if (!json_is_object(doc)
	    || !json_is_array(json_object_get(doc, "destinations"))) {
		fprintf(stderr,
		    "logshipd status: %s: not a logshipd status document%s%s\n",
		    url, doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
		rc = 1;
		goto done;
	}
	ls_status_table(doc, &out);
	fwrite(out.data, 1, out.len, stdout);
	if (fflush(stdout) != 0)
		rc = 1;
done:
	json_decref(doc);
	ls_buf_cleanup(&body);
	ls_buf_cleanup(&out);
	curl_global_cleanup();
	free(url);
	return rc;
}
