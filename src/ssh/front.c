/* The SSH listener: accepts with libevent, hands sockets to libssh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>

#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/ssh_front.h"
#include "pimgate/str.h"

#include "ssh_int.h"

static void
ssh_front_log_cb(
    int priority, const char *function, const char *buffer, void *userdata)
{
	/* libssh's own log goes to ours, at debug. */
	log_debug("libssh %s: %s", function, buffer);
}

/* Host names of targets are resolved without blocking the loop: the
 * hosts file, then the name servers of [server] resolv_conf. */
static void
ssh_front_resolver(struct ssh_front *f)
{
	int rc;

	f->dns = evdns_base_new(f->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (f->dns == NULL) {
		log_warn("no resolver: targets are reachable by address only");
		return;
	}
	rc = evdns_base_resolv_conf_parse(
	    f->dns, DNS_OPTIONS_ALL, f->cfg->resolv_conf);
	if (rc != 0)
		log_warn("cannot read %s (code %d): host names of targets "
			 "resolve through the hosts file only",
		    f->cfg->resolv_conf, rc);
}

static int
ssh_front_bind(struct ssh_front *f, char *err, size_t errlen)
{
	f->bind = ssh_bind_new();
	if (f->bind == NULL) {
		str_copy(err, "cannot create the SSH server context", errlen);
		return PIM_ENOMEM;
	}
	if (ssh_bind_options_set(f->bind, SSH_BIND_OPTIONS_HOSTKEY,
		f->cfg->host_key) != SSH_OK) {
		snprintf(err, errlen, "cannot load SSH host key %s: %s",
		    f->cfg->host_key, ssh_get_error(f->bind));
		return PIM_EIO;
	}
	/* The version string names the product, not the library. */
	ssh_bind_options_set(f->bind, SSH_BIND_OPTIONS_BANNER, "pimgate");
	return PIM_OK;
}

/* The CA that signs the certificates db-cert hands out. */
static int
ssh_front_ca(struct ssh_front *f, char *err, size_t errlen)
{
	char why[256];
	int rc;

	rc = ca_load(f->cfg->ca_cert, f->cfg->ca_key, &f->ca, why, sizeof(why));
	if (rc != PIM_OK)
		snprintf(err, errlen,
		    "cannot load the CA (%s, %s): %s; 'pimctl init' creates "
		    "it",
		    f->cfg->ca_cert, f->cfg->ca_key, why);
	return rc;
}

struct ssh_front *
ssh_front_new(struct event_base *base, struct session_mgr *mgr,
    const struct config *cfg, struct vault *vault, char *err, size_t errlen)
{
	struct ssh_front *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		str_copy(err, "out of memory", errlen);
		return NULL;
	}
	f->base = base;
	f->mgr = mgr;
	f->cfg = cfg;
	f->vault = vault;
	LIST_INIT(&f->conns);
	ssh_set_log_callback(ssh_front_log_cb);
	ssh_set_log_level(
	    log_enabled(LL_DEBUG) ? SSH_LOG_PROTOCOL : SSH_LOG_WARNING);
	ssh_front_resolver(f);
	if (ssh_front_bind(f, err, errlen) != PIM_OK ||
	    ssh_front_ca(f, err, errlen) != PIM_OK) {
		ssh_front_free(f);
		return NULL;
	}
	return f;
}

static void
ssh_front_peer(const struct sockaddr *sa, char *buf, size_t size)
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

static void
ssh_front_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ssh_front *f = arg;
	char peer[64];

	ssh_front_peer(sa, peer, sizeof(peer));
	log_verbose("connection accepted proto=ssh peer=%s", peer);
	conn_accept(f, fd, peer);
}

static void
ssh_front_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	log_warn("ssh accept failed: %s", evutil_socket_error_to_string(e));
}

int
ssh_front_listen(
    struct ssh_front *f, const char *hostport, char *err, size_t errlen)
{
	char host[256], portbuf[16];
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	int port;
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (config_split_hostport(hostport, host, sizeof(host), &port) !=
	    PIM_OK) {
		snprintf(err, errlen, "bad [ssh] listen address %s", hostport);
		return PIM_EINVAL;
	}
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	f->login_port = port;
	if (config_split_hostport(
		f->cfg->pg_listen, host, sizeof(host), &f->pg_port) != PIM_OK)
		f->pg_port = 0;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_PASSIVE;
	if (evutil_getaddrinfo(host, portbuf, &hints, &ai) != 0) {
		snprintf(err, errlen,
		    "[ssh] listen needs a numeric address: %s", hostport);
		return PIM_EINVAL;
	}
	f->listener = evconnlistener_new_bind(f->base, ssh_front_accept_cb, f,
	    flags, 128, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (f->listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", hostport,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return PIM_EIO;
	}
	evconnlistener_set_error_cb(f->listener, ssh_front_error_cb);
	log_info("listening proto=ssh address=%s", hostport);
	return PIM_OK;
}

void
ssh_front_stop(struct ssh_front *f)
{
	if (f->listener != NULL) {
		evconnlistener_free(f->listener);
		f->listener = NULL;
		log_info("stopped listening proto=ssh");
	}
}

size_t
ssh_front_conns(const struct ssh_front *f)
{
	return f->nconns;
}

void
ssh_front_free(struct ssh_front *f)
{
	if (f == NULL)
		return;
	ssh_front_stop(f);
	while (!LIST_EMPTY(&f->conns))
		conn_free(LIST_FIRST(&f->conns));
	if (f->bind != NULL)
		ssh_bind_free(f->bind);
	if (f->dns != NULL)
		evdns_base_free(f->dns, 1);
	ca_free(f->ca);
	free(f);
}
