/* The HTTP listener's connections. libevent 2.1's evhttp has neither a
 * connection limit nor a deadline (its timeout is an idle timeout), and
 * it shows the program a connection only with a finished request. What
 * it does offer is a callback for each new connection's bufferevent;
 * from that bufferevent the connection is found, and from then on it
 * is tracked here:
 *
 *   new       http_conn_new_bev, inside evhttp's accept: our bufferevent
 *             (input bounded by HTTP_MAX_INPUT) with an extra reference,
 *             so that it stays valid even if evhttp gives up on it at
 *             once; the connection does not exist yet, so the timer is
 *             made active, to run before the loop waits again;
 *   adopted   http_conn_adopt: the connection is the bufferevent's
 *             callback argument (libevent 2.1's http.c passes it in
 *             every bufferevent_setcb, and clears it when it frees the
 *             bufferevent); its close callback is ours, the extra
 *             reference is dropped, and either it is counted and the
 *             timer armed for the deadline, or the cap is reached and
 *             it is freed at once;
 *   closed    http_conn_closed_cb, from evhttp_connection_free, however
 *             the connection ends (evhttp's own errors and timeouts, its
 *             closing after an answer, the deadline, evhttp_free).
 *
 * Freeing a connection from a timer is safe here: every request is
 * answered inside the request callback (evhttp 2.1 aborts the process
 * if a request it handed over is still unanswered when more bytes
 * come), so between two callbacks a connection is reading a request or
 * writing an answer, the states in which evhttp itself frees it on an
 * error or its idle timeout. */
#include <stdlib.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "pimgate/clock.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"

#include "http_int.h"

#define HTTP_FULL_LOG_EVERY_US (60 * 1000000LL)

struct http_conn {
	struct http_conn *next; /* in the server's list */
	struct http_server *h;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until adopted */
	struct event *timer; /* adoption at once, then the deadline */
	int64_t accepted_us;
	bool counted; /* against HTTP_MAX_CONNS */
};

static void
http_conn_unlink(struct http_conn *c)
{
	struct http_conn **p = &c->h->conns;

	while (*p != NULL && *p != c)
		p = &(*p)->next;
	if (*p != NULL)
		*p = c->next;
	if (c->counted)
		c->h->nconns--;
}

/* Frees C itself; the connection, if any, is evhttp's to free. */
static void
http_conn_release(struct http_conn *c)
{
	http_conn_unlink(c);
	event_free(c->timer);
	free(c);
}

static void
http_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	http_conn_release(arg);
}

/* Refusals for capacity come in floods: one line a minute says how
 * many. */
static void
http_conn_log_full(struct http_server *h)
{
	int64_t now = clock_mono_us();

	h->full_unlogged++;
	if (h->full_logged_us != 0 &&
	    now - h->full_logged_us < HTTP_FULL_LOG_EVERY_US)
		return;
	log_info("refused proto=http reason=capacity max=%d count=%llu",
	    HTTP_MAX_CONNS, (unsigned long long)h->full_unlogged);
	h->full_logged_us = now;
	h->full_unlogged = 0;
}

static void
http_conn_arm(struct http_conn *c)
{
	int64_t left =
	    c->accepted_us + HTTP_DEADLINE_SECS * 1000000LL - clock_mono_us();
	struct timeval tv = {0, 0};

	if (left > 0) {
		tv.tv_sec = (time_t)(left / 1000000);
		tv.tv_usec = (suseconds_t)(left % 1000000);
	}
	evtimer_add(c->timer, &tv);
}

static void
http_conn_adopt(struct http_conn *c)
{
	struct http_server *h = c->h;
	void *evcon = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	bufferevent_decref(c->bev);
	if (evcon == NULL) {
		/* evhttp gave up on it already (and our reference was the
		 * last). */
		http_conn_release(c);
		return;
	}
	c->evcon = evcon;
	evhttp_connection_set_closecb(c->evcon, http_conn_closed_cb, c);
	if (h->nconns >= HTTP_MAX_CONNS) {
		metrics_http_refused_capacity();
		http_conn_log_full(h);
		evhttp_connection_free(c->evcon); /* frees C */
		return;
	}
	c->counted = true;
	h->nconns++;
	metrics_http_accepted();
	http_conn_arm(c);
}

static void
http_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	if (c->evcon == NULL) {
		http_conn_adopt(c);
		return;
	}
	log_verbose("closing proto=http reason=deadline");
	evhttp_connection_free(c->evcon); /* frees C */
}

struct bufferevent *
http_conn_new_bev(struct event_base *base, void *arg)
{
	struct http_server *h = arg;
	struct http_conn *c = calloc(1, sizeof(*c));

	/* Failing here, evhttp makes a bufferevent of its own: that
	 * connection keeps evhttp's idle timeout only. */
	if (c == NULL)
		return NULL;
	c->h = h;
	c->accepted_us = clock_mono_us();
	c->timer = evtimer_new(base, http_conn_timer_cb, c);
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->timer == NULL || c->bev == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_MAX_INPUT);
	bufferevent_incref(c->bev);
	c->next = h->conns;
	h->conns = c;
	event_active(c->timer, EV_TIMEOUT, 1);
	return c->bev;
}

static struct http_conn *
http_conn_of(struct http_server *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_conn *c = h->conns;

	while (c != NULL && (evcon == NULL || c->evcon != evcon))
		c = c->next;
	return c;
}

bool
http_conn_backlogged(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	evutil_socket_t fd;
	int queued = 0;

	if (evcon == NULL)
		return false;
	bev = evhttp_connection_get_bufferevent(evcon);
	/* evhttp reads a request only once the last answer left its
	 * buffer, into the kernel's. Bytes the kernel has not even sent
	 * mean the client's receive window is shut: it is not reading.
	 * (Sent but unacknowledged bytes would also catch a client that
	 * reads, behind a delayed acknowledgement.) */
	fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	if (fd < 0 || ioctl(fd, SIOCOUTQNSD, &queued) != 0)
		return false;
	return queued > 0;
}

void
http_conn_close_soon(struct http_server *h, struct evhttp_request *req)
{
	struct http_conn *c = http_conn_of(h, req);
	struct timeval now = {0, 0};

	if (c != NULL && c->evcon != NULL)
		evtimer_add(c->timer, &now);
}

void
http_conns_free(struct http_server *h)
{
	struct http_conn *c;

	/* Adopted ones went with evhttp_free; these are new ones whose
	 * extra reference is still ours. */
	while ((c = h->conns) != NULL) {
		if (c->evcon == NULL)
			bufferevent_decref(c->bev);
		http_conn_release(c);
	}
}
