/* The HTTP server: libevent's evhttp on the configured address, small
 * limits (conn.c keeps the connections few and short), and the routing
 * to the two pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/http.h"
#include "pimgate/log.h"

#include "http_int.h"

#define HTTP_PAUSE_MS 200 /* out of file descriptors: wait this long */
#define HTTP_LOG_EVERY_US (60 * 1000000LL)

/* Every server, for the listener's error callback: evhttp owns the
 * listener and makes its own evhttp the callback's argument. */
static struct http_server *http_servers;

void
http_send(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body)
{
	char len[24];

	/* evhttp 2.1 would send a HEAD answer's body, without a length. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu",
		    body != NULL ? evbuffer_get_length(body) : 0);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, body);
}

void
http_reply_text(
    struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *body = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	if (body != NULL)
		evbuffer_add_printf(body, "%s\n", text);
	http_send(req, code, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool metrics = path != NULL && strcmp(path, "/metrics") == 0;
	bool health = path != NULL && strcmp(path, "/healthz") == 0;

	/* A client that asks again before it took the last answer would
	 * have us make answers no one reads: it is answered this once, in
	 * a few bytes, and dropped. */
	if (http_conn_backlogged(req)) {
		log_verbose("closing proto=http reason=unread-answer");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_reply_text(
		    req, 503, "Service Unavailable", "earlier answer not read");
		http_conn_close_soon(h, req);
		return;
	}
	if (!metrics && !health) {
		http_reply_text(req, 404, "Not Found", "not found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_reply_text(
		    req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if (metrics)
		http_metrics_page(h, req);
	else
		http_health_page(h, req);
}

static void
http_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;

	if (h->bound != NULL)
		evconnlistener_enable(
		    evhttp_bound_socket_get_listener(h->bound));
}

/* accept(2) failed; for want of descriptors the listening socket stays
 * readable and the loop would spin, so the listener pauses. */
static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server *h = http_servers;
	struct timeval tv = {0, HTTP_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();
	int64_t now = clock_mono_us();

	while (h != NULL && (void *)h->http != arg)
		h = h->next;
	if (h == NULL)
		return;
	if (h->logged_us == 0 || now - h->logged_us >= HTTP_LOG_EVERY_US) {
		log_warn("accept failed proto=http: %s",
		    evutil_socket_error_to_string(e));
		h->logged_us = now;
	}
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(l);
		evtimer_add(h->resume, &tv);
	}
}

struct http_server *
http_new(
    struct event_base *base, struct session_mgr *mgr, const struct config *cfg)
{
	struct http_server *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->base = base;
	h->mgr = mgr;
	h->cfg = cfg;
	h->next = http_servers;
	http_servers = h;
	h->http = evhttp_new(base);
	h->resume = evtimer_new(base, http_resume_cb, h);
	h->probe = http_probe_new(cfg->recordings_dir);
	if (h->http == NULL || h->resume == NULL || h->probe == NULL) {
		http_free(h);
		return NULL;
	}
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_SECS);
	evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, HTTP_MAX_BODY);
	/* Every method reaches the router, which answers 405 itself. */
	evhttp_set_allowed_methods(h->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(h->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(h->http, http_request_cb, h);
	evhttp_set_bevcb(h->http, http_conn_new_bev, h);
	return h;
}

/* A listening socket on HOSTPORT, numeric only (no lookup blocks the
 * start). */
static struct evconnlistener *
http_bind(struct http_server *h, const char *hostport, char *err, size_t errlen)
{
	char host[256], port[16];
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	struct evconnlistener *l;
	int p;
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (config_split_hostport(hostport, host, sizeof(host), &p) != PIM_OK) {
		snprintf(err, errlen, "bad [http] listen address %s", hostport);
		return NULL;
	}
	snprintf(port, sizeof(port), "%d", p);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_PASSIVE;
	if (evutil_getaddrinfo(host, port, &hints, &ai) != 0) {
		snprintf(err, errlen,
		    "[http] listen needs a numeric address: %s", hostport);
		return NULL;
	}
	l = evconnlistener_new_bind(
	    h->base, NULL, NULL, flags, 64, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (l == NULL)
		snprintf(err, errlen, "cannot listen on %s: %s", hostport,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	return l;
}

int
http_listen(
    struct http_server *h, const char *hostport, char *err, size_t errlen)
{
	struct evconnlistener *l = http_bind(h, hostport, err, errlen);

	if (l == NULL)
		return PIM_EIO;
	h->bound = evhttp_bind_listener(h->http, l);
	if (h->bound == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "cannot serve HTTP on %s", hostport);
		return PIM_ENOMEM;
	}
	evconnlistener_set_error_cb(l, http_accept_error_cb);
	log_info("listening proto=http address=%s", hostport);
	return PIM_OK;
}

void
http_stop(struct http_server *h)
{
	if (h == NULL || h->bound == NULL)
		return;
	evtimer_del(h->resume);
	evhttp_del_accept_socket(h->http, h->bound);
	h->bound = NULL;
	log_info("stopped listening proto=http");
}

void
http_free(struct http_server *h)
{
	struct http_server **p = &http_servers;

	if (h == NULL)
		return;
	while (*p != NULL && *p != h)
		p = &(*p)->next;
	if (*p != NULL)
		*p = h->next;
	http_stop(h);
	if (h->http != NULL)
		evhttp_free(h->http);
	http_conns_free(h);
	if (h->resume != NULL)
		event_free(h->resume);
	http_probe_free(h->probe);
	free(h);
}
