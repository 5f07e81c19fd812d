/* Network plumbing shared by the front ends. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/net.h"

void
net_peer(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%d", host, port);
}

#define NET_PAUSE_MS 200 /* out of file descriptors: wait this long */
#define NET_LOG_EVERY_US (60 * 1000000LL)

struct net_listener {
	struct evconnlistener *l;
	struct event *resume;
	const char *what;
	int64_t logged_us;
	unsigned failed; /* accept failures since the last log line */
	evconnlistener_cb cb; /* the front end's */
	void *arg;
};

static void
net_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct net_listener *nl = arg;

	nl->cb(l, fd, sa, salen, nl->arg);
}

static void
net_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_listener *nl = arg;

	evconnlistener_enable(nl->l);
}

/* accept(2) failed. For want of descriptors the listening socket stays
 * readable, so the loop would spin: pause the listener instead. */
static void
net_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct net_listener *nl = arg;
	struct timeval tv = {0, NET_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();
	int64_t now = clock_mono_us();

	nl->failed++;
	if (nl->logged_us == 0 || now - nl->logged_us >= NET_LOG_EVERY_US) {
		log_warn("accept failed proto=%s failures=%u: %s", nl->what,
		    nl->failed, evutil_socket_error_to_string(e));
		nl->logged_us = now;
		nl->failed = 0;
	}
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(l);
		evtimer_add(nl->resume, &tv);
	}
}

struct net_listener *
net_listen(struct event_base *base, const char *what, const char *hostport,
    evconnlistener_cb cb, void *arg, int *port, char *err, size_t errlen)
{
	char host[256], portbuf[16];
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	struct net_listener *nl;
	int p;
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (config_split_hostport(hostport, host, sizeof(host), &p) != PIM_OK) {
		snprintf(
		    err, errlen, "bad [%s] listen address %s", what, hostport);
		return NULL;
	}
	snprintf(portbuf, sizeof(portbuf), "%d", p);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_PASSIVE;
	if (evutil_getaddrinfo(host, portbuf, &hints, &ai) != 0) {
		snprintf(err, errlen, "[%s] listen needs a numeric address: %s",
		    what, hostport);
		return NULL;
	}
	nl = calloc(1, sizeof(*nl));
	if (nl != NULL) {
		nl->what = what;
		nl->cb = cb;
		nl->arg = arg;
		nl->resume = evtimer_new(base, net_resume_cb, nl);
		nl->l = evconnlistener_new_bind(base, net_accept_cb, nl, flags,
		    128, ai->ai_addr, (int)ai->ai_addrlen);
	}
	evutil_freeaddrinfo(ai);
	if (nl == NULL || nl->resume == NULL || nl->l == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", hostport,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		net_listener_free(nl);
		return NULL;
	}
	evconnlistener_set_error_cb(nl->l, net_accept_error_cb);
	if (port != NULL)
		*port = p;
	log_info("listening proto=%s address=%s", what, hostport);
	return nl;
}

void
net_listener_free(struct net_listener *nl)
{
	if (nl == NULL)
		return;
	if (nl->l != NULL)
		evconnlistener_free(nl->l);
	if (nl->resume != NULL)
		event_free(nl->resume);
	free(nl);
}

struct evdns_base *
net_resolver(struct event_base *base, const char *resolv_conf)
{
	struct evdns_base *dns;
	int rc;

	dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (dns == NULL) {
		log_warn("no resolver: targets are reachable by address only");
		return NULL;
	}
	rc = evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL, resolv_conf);
	if (rc != 0)
		log_warn("cannot read %s (code %d): host names of targets "
			 "resolve through the hosts file only",
		    resolv_conf, rc);
	return dns;
}
