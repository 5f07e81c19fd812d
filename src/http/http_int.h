/* Internal to the http module: the server (http.c), its connections
 * (conn.c: the cap, the deadline, the input bound), its two pages
 * (scrape.c: /metrics, health.c: /healthz). */
#ifndef PIMGATE_HTTP_INT_H
#define PIMGATE_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>

struct bufferevent;
struct evbuffer;
struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct event;
struct event_base;

/* evhttp's own timeout: a connection that neither sends nor takes
 * anything for this long is dropped. */
#define HTTP_TIMEOUT_SECS 10
/* A connection is closed this long after its accept, whatever it is
 * doing: a client that drips its request, or keeps a connection alive,
 * holds one of the few places only this long. */
#define HTTP_DEADLINE_SECS 10
/* Connections open at once; more are closed as soon as they come. */
#define HTTP_MAX_CONNS 32
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024
/* Bytes read from a client and not yet parsed: the largest request
 * (its first line and headers, each up to HTTP_MAX_HEADERS, and a
 * body) fits; a client that keeps sending while it does not read its
 * answers fills this and then its own socket buffers. */
#define HTTP_MAX_INPUT (2 * HTTP_MAX_HEADERS + HTTP_MAX_BODY)
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
struct http_conn;

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
	struct http_conn *conns; /* conn.c: every connection evhttp holds */
	int nconns; /* those counted against HTTP_MAX_CONNS */
	int64_t full_logged_us; /* the last refusal for capacity logged */
	uint64_t full_unlogged; /* refusals since then */
};

/* Sends CODE with BODY (NULL for none); a HEAD request gets the same
 * headers, with the Content-Length BODY would have, and no body. */
void http_send(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body);
/* Sends CODE with TEXT (a line, or the whole page) as text/plain. */
void http_reply_text(
    struct evhttp_request *req, int code, const char *reason, const char *text);

/* conn.c: evhttp's bufferevent callback (evhttp_set_bevcb, ARG the
 * server): each new connection's bufferevent, tracked from here on. */
struct bufferevent *http_conn_new_bev(struct event_base *base, void *arg);
/* True if REQ's connection still holds an earlier answer that its
 * client has not taken: it asked again without reading. */
bool http_conn_backlogged(struct evhttp_request *req);
/* Closes REQ's connection on the loop's next turn; REQ must be answered
 * first (see conn.c). */
void http_conn_close_soon(struct http_server *h, struct evhttp_request *req);
/* After evhttp_free: forgets connections evhttp never took. */
void http_conns_free(struct http_server *h);

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
