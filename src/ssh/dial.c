/* Dialing a target without blocking the loop: an address is used as it
 * is, a host name goes through libevent's resolver (hosts file, then
 * DNS); each address is tried in turn with a non-blocking connect whose
 * completion libevent reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>

#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/session.h"

#include "ssh_int.h"

#define DIAL_CONNECT_SECS 10

static void dial_io_cb(evutil_socket_t fd, short what, void *arg);

void
dial_close(struct upstream *u)
{
	if (u->rev != NULL)
		event_free(u->rev);
	if (u->wev != NULL)
		event_free(u->wev);
	u->rev = u->wev = NULL;
	if (u->fd >= 0 && close(u->fd) != 0)
		log_warn(
		    "closing the upstream socket failed: %s", strerror(errno));
	u->fd = -1;
}

static int
dial_events(struct upstream *u)
{
	struct event_base *base = u->conn->front->base;
	struct timeval tv = {.tv_sec = DIAL_CONNECT_SECS};

	u->rev = event_new(base, u->fd, EV_READ | EV_PERSIST, dial_io_cb, u);
	u->wev = event_new(base, u->fd, EV_WRITE, dial_io_cb, u);
	if (u->rev == NULL || u->wev == NULL)
		return PIM_ENOMEM;
	/* The write event doubles as the connect timeout. */
	event_add(u->wev, &tv);
	return PIM_OK;
}

/* Starts a connect to the next address; false when none is left. */
static bool
dial_next(struct upstream *u)
{
	struct evutil_addrinfo *ai;
	int fd;

	while ((ai = u->ai_next) != NULL) {
		u->ai_next = ai->ai_next;
		fd = socket(ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			u->dial_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			u->dial_errno = errno;
			close(fd);
			continue;
		}
		u->fd = fd;
		if (dial_events(u) != PIM_OK) {
			u->dial_errno = ENOMEM;
			dial_close(u);
			continue;
		}
		return true;
	}
	return false;
}

static void
dial_give_up(struct upstream *u)
{
	upstream_fail(u, "cannot connect to target %s (%s:%d): %s",
	    u->target.name, u->target.host, u->target.port,
	    strerror(u->dial_errno ? u->dial_errno : ECONNREFUSED));
}

/* The connect on u->fd finished (or timed out). */
static void
dial_done(struct upstream *u, short what)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		evutil_freeaddrinfo(u->ai);
		u->ai = u->ai_next = NULL;
		upstream_connected(u);
		return;
	}
	u->dial_errno = err;
	dial_close(u);
	if (!dial_next(u))
		dial_give_up(u);
}

static void
dial_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;

	if (u->state == UP_TCP)
		dial_done(u, what);
	conn_pump(u->conn);
}

static void
dial_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct upstream *u = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* the upstream is being freed */
	u->dns_req = NULL;
	if (result != 0) {
		upstream_fail(u,
		    "cannot resolve the host of target %s (%s): %s",
		    u->target.name, u->target.host,
		    evutil_gai_strerror(result));
		conn_kick(u->conn);
		return;
	}
	u->ai = u->ai_next = res;
	u->state = UP_TCP;
	if (!dial_next(u))
		dial_give_up(u);
	conn_kick(u->conn);
}

/* Begins dialing the target; the outcome arrives as upstream_connected()
 * or as state UP_FAILED. */
void
dial_start(struct upstream *u)
{
	struct evdns_base *dns = u->conn->front->dns;
	struct evutil_addrinfo hints = {0};
	char port[16];

	snprintf(port, sizeof(port), "%d", u->target.port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	u->state = UP_RESOLVING;
	if (dns == NULL) {
		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		dial_resolved_cb(
		    evutil_getaddrinfo(u->target.host, port, &hints, &u->ai),
		    u->ai, u);
		return;
	}
	/* May answer at once (an address, the hosts file) and return
	 * NULL. */
	u->dns_req = evdns_getaddrinfo(
	    dns, u->target.host, port, &hints, dial_resolved_cb, u);
}

void
dial_cancel(struct upstream *u)
{
	if (u->dns_req != NULL)
		evdns_getaddrinfo_cancel(u->dns_req);
	u->dns_req = NULL;
	if (u->ai != NULL)
		evutil_freeaddrinfo(u->ai);
	u->ai = u->ai_next = NULL;
}
