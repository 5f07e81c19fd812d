/* Internal to the http module: the server (http.c), its two pages
 * (scrape.c: /metrics, health.c: /healthz). */
#ifndef PIMGATE_HTTP_INT_H
#define PIMGATE_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>

struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct event;

/* A client gets this long to send its request and to read the answer. */
#define HTTP_TIMEOUT_SECS 10
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024
/* Store-backed gauges are read at most this often. */
#define HTTP_GAUGES_EVERY_US (5 * 1000000LL)
/* A health answer is reused for this long, so that a flood of probes
 * costs the recordings disk one probe file a second. */
#define HTTP_HEALTH_EVERY_US 1000000LL
/* A recordings probe still under way after this means a hung disk. */
#define HTTP_PROBE_HUNG_US (5 * 1000000LL)

/* What one probe of the recordings directory found (probe.c). */
struct http_probe_res {
	int err; /* 0, or the errno of the step that failed */
	const char *what; /* that step, as words: "is not writable" */
	int64_t free_bytes; /* when err is 0 */
	int64_t stuck_us; /* HTTP_PROBE_HUNG: how long it has run */
};

enum http_probe_state {
	HTTP_PROBE_NONE, /* no probe has finished yet */
	HTTP_PROBE_DONE, /* RES holds the last one's result */
	HTTP_PROBE_HUNG, /* the probe under way is stuck */
};

struct http_probe;

struct http_server {
	struct http_server *next; /* in http.c's list of servers */
	struct event_base *base;
	struct session_mgr *mgr;
	const struct config *cfg;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *resume; /* the listener after running out of fds */
	int64_t logged_us; /* the last accept failure logged */
	int64_t gauges_us; /* when the store gauges were read */
	int64_t health_us; /* when the health answer was made */
	bool health_ok;
	struct http_probe *probe; /* the recordings directory's prober */
	char health_reason[256];
};

/* Sends CODE with TEXT (a line, or the whole page) as text/plain. */
void http_reply_text(
    struct evhttp_request *req, int code, const char *reason, const char *text);

/* scrape.c */
void http_metrics_page(struct http_server *h, struct evhttp_request *req);
/* probe.c: a thread that probes DIR when asked. */
struct http_probe *http_probe_new(const char *dir);
void http_probe_free(struct http_probe *p);
/* Asks for a new probe when the last is older than MAX_AGE_US; never
 * waits. */
enum http_probe_state http_probe_get(
    struct http_probe *p, int64_t max_age_us, struct http_probe_res *res);
/* health.c */
void http_health_page(struct http_server *h, struct evhttp_request *req);

#endif
