/* The PostgreSQL listener: its TLS context, accepting, the connection
 * list and the cancel keys handed to clients. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/net.h"
#include "pimgate/pg_front.h"
#include "pimgate/str.h"

#include "pg_int.h"

/* Fills ERR with WHAT and OpenSSL's last error. */
static void
pg_front_tls_err(char *err, size_t errlen, const char *what, const char *path)
{
	char buf[160];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, e ? buf : "failed");
}

/* Chain checks of client certificates never fail the handshake: the
 * result is read afterwards, so a person with a wrong or expired
 * certificate gets a PostgreSQL error saying so, not a TLS alert. */
static int
pg_front_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static int
pg_front_tls(struct pg_front *f, char *err, size_t errlen)
{
	const struct config *cfg = f->cfg;
	STACK_OF(X509_NAME) * names;

	f->tls = SSL_CTX_new(TLS_server_method());
	if (f->tls == NULL) {
		pg_front_tls_err(err, errlen, "cannot create", "a TLS context");
		return PIM_ECRYPTO;
	}
	SSL_CTX_set_min_proto_version(f->tls, TLS1_2_VERSION);
	SSL_CTX_set_options(f->tls, SSL_OP_NO_RENEGOTIATION |
					SSL_OP_NO_COMPRESSION |
					SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* No resumption: every connection shows its certificate. */
	SSL_CTX_set_session_cache_mode(f->tls, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(f->tls, 0);
	if (SSL_CTX_use_certificate_chain_file(f->tls, cfg->pg_tls_cert) != 1) {
		pg_front_tls_err(err, errlen,
		    "cannot load the PostgreSQL listener's certificate "
		    "(pimctl ca server-cert makes one)",
		    cfg->pg_tls_cert);
		return PIM_EIO;
	}
	if (SSL_CTX_use_PrivateKey_file(
		f->tls, cfg->pg_tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(f->tls) != 1) {
		pg_front_tls_err(
		    err, errlen, "cannot load the key", cfg->pg_tls_key);
		return PIM_EIO;
	}
	if (SSL_CTX_load_verify_locations(f->tls, cfg->ca_cert, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(cfg->ca_cert)) == NULL) {
		pg_front_tls_err(err, errlen, "cannot load the CA certificate",
		    cfg->ca_cert);
		return PIM_EIO;
	}
	SSL_CTX_set_client_CA_list(f->tls, names);
	SSL_CTX_set_verify(f->tls, SSL_VERIFY_PEER, pg_front_verify_cb);
	SSL_CTX_set_verify_depth(f->tls, 2);
	return PIM_OK;
}

struct pg_front *
pg_front_new(struct event_base *base, struct session_mgr *mgr,
    const struct config *cfg, struct vault *vault, char *err, size_t errlen)
{
	struct pg_front *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		str_copy(err, "out of memory", errlen);
		return NULL;
	}
	f->base = base;
	f->mgr = mgr;
	f->cfg = cfg;
	f->vault = vault;
	LIST_INIT(&f->conns);
	if (pg_front_tls(f, err, errlen) != PIM_OK) {
		pg_front_free(f);
		return NULL;
	}
	f->dns = net_resolver(f->base, f->cfg->resolv_conf);
	return f;
}

/* Connections from PEER's address not yet logged in. */
static size_t
pg_front_unauthed_from(struct pg_front *f, const char *peer)
{
	const char *colon = strrchr(peer, ':');
	size_t len = colon != NULL ? (size_t)(colon - peer) + 1 : strlen(peer);
	struct pgconn *c;
	size_t n = 0;

	LIST_FOREACH(c, &f->conns, entry)
	{
		if (c->counted_unauthed && strncmp(c->peer, peer, len) == 0)
			n++;
	}
	return n;
}

static void
pg_front_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct pg_front *f = arg;
	char peer[64];

	net_peer(sa, peer, sizeof(peer));
	if (f->unauthed >= PG_MAX_UNAUTHED ||
	    pg_front_unauthed_from(f, peer) >= PG_MAX_UNAUTHED_PER_ADDR) {
		log_warn("too many connections logging in proto=postgres "
			 "peer=%s",
		    peer);
		metrics_connection_refused(
		    METRICS_POSTGRES, METRICS_REFUSED_CAPACITY);
		close(fd);
		return;
	}
	metrics_connection_accepted(METRICS_POSTGRES);
	log_verbose("connection accepted proto=postgres peer=%s", peer);
	pgconn_start(f, fd, peer);
}

int
pg_front_listen(
    struct pg_front *f, const char *hostport, char *err, size_t errlen)
{
	f->listener = net_listen(f->base, "postgres", hostport,
	    pg_front_accept_cb, f, NULL, err, errlen);
	return f->listener != NULL ? PIM_OK : PIM_EIO;
}

void
pg_front_stop(struct pg_front *f)
{
	if (f->listener != NULL) {
		net_listener_free(f->listener);
		f->listener = NULL;
		log_info("stopped listening proto=postgres");
	}
}

size_t
pg_front_conns(const struct pg_front *f)
{
	return f->nconns;
}

/* The live connection that handed out cancel key PID/KEY, if any. The
 * secret half is compared in constant time. */
struct pgconn *
pg_front_find_key(struct pg_front *f, uint32_t pid, uint32_t key)
{
	struct pgconn *c;

	LIST_FOREACH(c, &f->conns, entry)
	{
		if (c->have_key && c->gw_pid == pid &&
		    CRYPTO_memcmp(&c->gw_key, &key, sizeof(key)) == 0)
			return c;
	}
	return NULL;
}

void
pg_front_free(struct pg_front *f)
{
	if (f == NULL)
		return;
	pg_front_stop(f);
	while (!LIST_EMPTY(&f->conns))
		pgconn_free(LIST_FIRST(&f->conns));
	if (f->tls != NULL)
		SSL_CTX_free(f->tls);
	if (f->dns != NULL)
		evdns_base_free(f->dns, 1);
	free(f);
}
