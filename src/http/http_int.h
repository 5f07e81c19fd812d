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
	char health_reason[256];
};

/* Sends CODE with TEXT (a line, or the whole page) as text/plain. */
void http_reply_text(
    struct evhttp_request *req, int code, const char *reason, const char *text);

/* scrape.c */
void http_metrics_page(struct http_server *h, struct evhttp_request *req);
/* health.c */
void http_health_page(struct http_server *h, struct evhttp_request *req);

#endif
