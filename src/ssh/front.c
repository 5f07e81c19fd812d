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
#include "pimgate/net.h"
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

static int
ssh_front_bind(struct ssh_front *f, char *err, size_t errlen)
{
	ssh_key key = NULL;

	f->bind = ssh_bind_new();
	if (f->bind == NULL) {
		str_copy(err, "cannot create the SSH server context", errlen);
		return PIM_ENOMEM;
	}
	/* Read now, not at the first connection: by then pimgated may have
	 * become [server] user, who need not be able to read it. The bind
	 * owns the key once it is set. */
	if (ssh_pki_import_privkey_file(
		f->cfg->host_key, NULL, NULL, NULL, &key) != SSH_OK) {
		snprintf(err, errlen, "cannot load SSH host key %s",
		    f->cfg->host_key);
		return PIM_EIO;
	}
	if (ssh_bind_options_set(f->bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) !=
	    SSH_OK) {
		snprintf(err, errlen, "cannot use SSH host key %s: %s",
		    f->cfg->host_key, ssh_get_error(f->bind));
		ssh_key_free(key);
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
	f->dns = net_resolver(f->base, f->cfg->resolv_conf);
	if (ssh_front_bind(f, err, errlen) != PIM_OK ||
	    ssh_front_ca(f, err, errlen) != PIM_OK) {
		ssh_front_free(f);
		return NULL;
	}
	return f;
}

static void
ssh_front_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ssh_front *f = arg;
	char peer[64];

	net_peer(sa, peer, sizeof(peer));
	log_verbose("connection accepted proto=ssh peer=%s", peer);
	conn_accept(f, fd, peer);
}

int
ssh_front_listen(
    struct ssh_front *f, const char *hostport, char *err, size_t errlen)
{
	char host[256];

	f->listener = net_listen(f->base, "ssh", hostport, ssh_front_accept_cb,
	    f, &f->login_port, err, errlen);
	if (f->listener == NULL)
		return PIM_EIO;
	/* The PostgreSQL port, for the lines of self-service `targets`. */
	if (config_split_hostport(
		f->cfg->pg_listen, host, sizeof(host), &f->pg_port) != PIM_OK)
		f->pg_port = 0;
	return PIM_OK;
}

void
ssh_front_stop(struct ssh_front *f)
{
	if (f->listener != NULL) {
		net_listener_free(f->listener);
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
