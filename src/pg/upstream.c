/* The gateway's own login to the target database: a non-blocking
 * connect (names resolved by libevent), optional TLS with the target's
 * CA and host name checked, the startup message with the stored login,
 * and SCRAM-SHA-256, md5 or a plain password, as the server asks. The
 * person never sees the credential: they get AuthenticationOk once the
 * target has accepted the gateway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "pg_int.h"
#include "scram.h"

#define PG_CANCEL_SECS 10

static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_write_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);

void
pg_upstream_failed(struct pgconn *c, const char *why)
{
	char msg[PG_MSG_MAX];

	log_warn("upstream login failed proto=postgres session=%lld "
		 "target=%s host=%s port=%d: %s",
	    (long long)session_id(c->sess), c->target, c->t.host, c->t.port,
	    why);
	snprintf(msg, sizeof(msg), "pimgate could not log in to %s: %s",
	    c->target, why);
	pgconn_wipe_secret(c);
	/* Refused first, so that the session's call back (pgconn_end)
	 * finds the connection ending already. */
	pgconn_refuse(c, PG_SQLSTATE_REJECTED, msg);
	session_end(c->sess, END_UPSTREAM, msg);
}

/* ---- messages to the target ---- */

static void
up_send_startup(struct pgconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->up);
	const char *db = c->t.database[0] ? c->t.database : c->t.login;
	size_t len = 4 + 4 + 5 + strlen(c->t.login) + 1 + 9 + strlen(db) + 1 +
		     evbuffer_get_length(c->params) + 1;
	unsigned char hdr[8];

	pg_put_u32(hdr, (uint32_t)len);
	pg_put_u32(hdr + 4, PG_PROTO_V3);
	evbuffer_add(out, hdr, 8);
	evbuffer_add(out, "user", 5);
	evbuffer_add(out, c->t.login, strlen(c->t.login) + 1);
	evbuffer_add(out, "database", 9);
	evbuffer_add(out, db, strlen(db) + 1);
	evbuffer_add_buffer(out, c->params);
	evbuffer_add(out, "", 1);
	c->up_state = UP_AUTH;
}

static void
up_send_password(struct pgconn *c, const char *text)
{
	pg_put_msg(bufferevent_get_output(c->up), 'p', text, strlen(text) + 1);
}

/* SASLInitialResponse: mechanism, then the client-first-message. */
static int
up_sasl_start(struct pgconn *c, const unsigned char *mechs, size_t len)
{
	const unsigned char *p = mechs, *end = mechs + len;
	char first[SCRAM_MSG_MAX], body[SCRAM_MSG_MAX + 32];
	const char *mech;
	bool found = false;
	int n;

	while (pg_read_str(&p, end, &mech) && mech[0] != '\0')
		found |= strcmp(mech, SCRAM_MECH) == 0;
	if (!found)
		return PIM_EINVAL;
	c->scram = scram_new((const char *)c->secret, NULL);
	if (c->scram == NULL)
		return PIM_ENOMEM;
	n = scram_client_first(c->scram, first, sizeof(first));
	if (n < 0)
		return PIM_EINVAL;
	memcpy(body, SCRAM_MECH, sizeof(SCRAM_MECH));
	pg_put_u32((unsigned char *)body + sizeof(SCRAM_MECH), (uint32_t)n);
	memcpy(body + sizeof(SCRAM_MECH) + 4, first, (size_t)n);
	pg_put_msg(bufferevent_get_output(c->up), 'p', body,
	    sizeof(SCRAM_MECH) + 4 + (size_t)n);
	return PIM_OK;
}

static int
up_sasl_continue(struct pgconn *c, const unsigned char *data, size_t len,
    char *why, size_t whylen)
{
	char final[SCRAM_MSG_MAX];
	int n;

	if (c->scram == NULL)
		return PIM_EINVAL;
	n = scram_client_final(c->scram, (const char *)data, len, final,
	    sizeof(final), why, whylen);
	if (n < 0)
		return PIM_EDENIED;
	pg_put_msg(bufferevent_get_output(c->up), 'p', final, (size_t)n);
	return PIM_OK;
}

/* The target accepted the login: the person is in. */
static void
up_logged_in(struct pgconn *c)
{
	c->up_state = UP_READY;
	pgconn_wipe_secret(c);
	scram_free(c->scram);
	c->scram = NULL;
	evtimer_del(c->timer);
	pg_put_auth(bufferevent_get_output(c->cli), 0, NULL, 0);
	log_info("upstream login proto=postgres session=%lld user=%s "
		 "target=%s",
	    (long long)session_id(c->sess), c->user, c->target);
	pg_relay_start(c);
}

/* An Authentication request from the target. */
static void
up_auth(struct pgconn *c, const unsigned char *b, size_t len)
{
	char why[256] = "";
	char md5[36];
	uint32_t code;

	if (len < 4) {
		pg_upstream_failed(c, "the server sent a malformed message");
		return;
	}
	code = pg_get_u32(b);
	switch (code) {
	case 0:
		if (c->scram != NULL && !c->scram_done) {
			pg_upstream_failed(c, "the server skipped SCRAM's "
					      "last step");
			return;
		}
		up_logged_in(c);
		return;
	case 3:
		/* The password itself: only inside TLS to the target. */
		if (strcmp(c->t.tls, "verify-full") != 0) {
			snprintf(why, sizeof(why),
			    "the server asks for the password in clear text "
			    "over an unencrypted connection; pimgate refuses "
			    "(give the target --tls verify-full, or use "
			    "scram-sha-256 on the server)");
			break;
		}
		up_send_password(c, (const char *)c->secret);
		return;
	case 5:
		if (len < 8)
			break;
		pg_md5_password(
		    c->t.login, (const char *)c->secret, b + 4, md5);
		up_send_password(c, md5);
		explicit_bzero(md5, sizeof(md5));
		return;
	case 10:
		if (c->scram != NULL ||
		    up_sasl_start(c, b + 4, len - 4) != PIM_OK)
			break;
		return;
	case 11:
		if (up_sasl_continue(c, b + 4, len - 4, why, sizeof(why)) !=
		    PIM_OK)
			break;
		return;
	case 12:
		if (c->scram == NULL ||
		    !scram_server_final(c->scram, (const char *)b + 4, len - 4,
			why, sizeof(why)))
			break;
		c->scram_done = true;
		return;
	default:
		snprintf(why, sizeof(why),
		    "the server asks for an authentication method pimgate "
		    "does not speak (%u)",
		    code);
		break;
	}
	pg_upstream_failed(c, why[0] ? why : "the password exchange failed");
}

/* The target refused the login with an ErrorResponse. */
static void
up_error(struct pgconn *c, const unsigned char *b, size_t len)
{
	char sev[16], code[8], msg[256], why[PG_MSG_MAX - 64];

	pg_read_error(
	    b, len, sev, sizeof(sev), code, sizeof(code), msg, sizeof(msg));
	snprintf(why, sizeof(why), "the server said: %s (SQLSTATE %s)",
	    msg[0] ? msg : "error", code[0] ? code : "?");
	pg_upstream_failed(c, why);
}

/* Whole messages during the login. Each is taken out of the input
 * before it is handled, so that the relay, once started, sees only what
 * follows it. */
static void
up_read_login(struct pgconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->up);
	unsigned char m[5 + PG_AUTH_MSG_MAX];
	uint32_t len;

	while (c->state == PG_UPSTREAM && c->up_state == UP_AUTH &&
	       evbuffer_copyout(in, m, 5) == 5) {
		len = pg_get_u32(m + 1);
		if (len < 4 || len > PG_AUTH_MSG_MAX) {
			pg_upstream_failed(c, "the server sent a malformed "
					      "message");
			return;
		}
		if (evbuffer_get_length(in) < 1 + (size_t)len)
			return;
		evbuffer_remove(in, m, 1 + len);
		if (m[0] == 'R') {
			up_auth(c, m + 5, len - 4);
		} else if (m[0] == 'E') {
			up_error(c, m + 5, len - 4);
		} else if (m[0] != 'N' && m[0] != 'v') {
			pg_upstream_failed(
			    c, "the server sent an unexpected message");
		}
		explicit_bzero(m, sizeof(m));
	}
}

/* ---- TLS to the target ---- */

/* Loads the target's CA certificates (PEM) into CTX's trust store. */
static int
up_tls_trust(struct pgconn *c, SSL_CTX *ctx)
{
	struct store *st = session_mgr_store(c->front->mgr);
	X509_STORE *xs = SSL_CTX_get_cert_store(ctx);
	char *pem = NULL;
	BIO *bio;
	X509 *x;
	int n = 0;

	if (store_target_tls_ca(st, c->t.id, &pem) != PIM_OK)
		return PIM_ESTORE;
	bio = BIO_new_mem_buf(pem, -1);
	while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		n += X509_STORE_add_cert(xs, x) == 1;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	free(pem);
	return n > 0 ? PIM_OK : PIM_EINVAL;
}

static SSL *
up_tls_new(struct pgconn *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, c->t.host, addr) == 1 ||
		     inet_pton(AF_INET6, c->t.host, addr) == 1;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (up_tls_trust(c, ctx) == PIM_OK)
		ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* SSL holds its own reference */
	if (ssl == NULL)
		return NULL;
	if (is_ip) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->t.host) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	} else if (SSL_set1_host(ssl, c->t.host) != 1 ||
		   SSL_set_tlsext_host_name(ssl, c->t.host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* The target answered our SSLRequest. */
static void
up_ssl_answer(struct pgconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->up);
	struct bufferevent *tls;
	unsigned char a;
	SSL *ssl;

	if (evbuffer_remove(in, &a, 1) != 1)
		return;
	if (a != 'S') {
		pg_upstream_failed(c, "the server does not offer TLS");
		return;
	}
	ssl = up_tls_new(c);
	if (ssl == NULL) {
		pg_upstream_failed(c, "cannot set up TLS (the target's CA "
				      "certificate is missing or unreadable)");
		return;
	}
	tls = bufferevent_openssl_filter_new(c->front->base, c->up, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		SSL_free(ssl);
		pg_upstream_failed(c, "cannot set up TLS");
		return;
	}
	c->up = tls;
	c->up_state = UP_HANDSHAKE;
	bufferevent_setcb(tls, up_read_cb, up_write_cb, up_event_cb, c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* ---- callbacks ---- */

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
	struct pgconn *c = arg;

	if (c->up_state == UP_SSL_ANSWER)
		up_ssl_answer(c);
	else if (c->up_state == UP_AUTH)
		up_read_login(c);
	else if (c->up_state == UP_READY && c->state == PG_RELAY)
		pg_relay_pump(c);
}

static void
up_write_cb(struct bufferevent *bev, void *arg)
{
	struct pgconn *c = arg;

	if (c->up_state == UP_READY && c->state == PG_RELAY)
		pg_relay_pump(c);
}

static void
up_connected(struct pgconn *c)
{
	static const unsigned char ssl_request[8] = {
	    0, 0, 0, 8, 4, 210, 22, 47};

	if (c->up_state == UP_HANDSHAKE) {
		up_send_startup(c);
		return;
	}
	pg_nodelay(bufferevent_getfd(c->up));
	if (strcmp(c->t.tls, "verify-full") == 0) {
		evbuffer_add(bufferevent_get_output(c->up), ssl_request, 8);
		c->up_state = UP_SSL_ANSWER;
		return;
	}
	up_send_startup(c);
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pgconn *c = arg;
	char why[400];
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		up_connected(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->state == PG_RELAY) {
		pg_relay_upstream_gone(c);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	if (e != 0) {
		snprintf(why, sizeof(why), "TLS failed: %s",
		    ERR_reason_error_string(e));
	} else if (bufferevent_socket_get_dns_error(bev) != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", c->t.host,
		    evutil_gai_strerror(bufferevent_socket_get_dns_error(bev)));
	} else {
		snprintf(why, sizeof(why), "cannot reach %s:%d: %s", c->t.host,
		    c->t.port,
		    what & BEV_EVENT_EOF
			? "the server closed the connection"
			: evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	pg_upstream_failed(c, why);
}

/* Opens the stored credential. */
static int
up_open_secret(struct pgconn *c)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	char context[STORE_NAME_MAX + 8];
	int rc;

	rc = session_target_info(c->sess, &c->t, &sealed, &len);
	if (rc != PIM_OK)
		return rc;
	snprintf(context, sizeof(context), "target:%s", c->t.name);
	rc = vault_unseal(
	    c->front->vault, context, sealed, len, &c->secret, &c->secret_len);
	free(sealed);
	return rc;
}

void
pg_upstream_start(struct pgconn *c)
{
	if (up_open_secret(c) != PIM_OK) {
		pg_upstream_failed(c, "its stored credential cannot be opened");
		return;
	}
	c->up = bufferevent_socket_new(c->front->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->up == NULL) {
		pg_upstream_failed(c, "out of memory");
		return;
	}
	c->up_state = UP_CONNECTING;
	bufferevent_setcb(c->up, up_read_cb, up_write_cb, up_event_cb, c);
	bufferevent_enable(c->up, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(
		c->up, c->front->dns, AF_UNSPEC, c->t.host, c->t.port) != 0)
		pg_upstream_failed(c, "cannot start connecting");
}

/* ---- cancel requests ---- */

static void
up_cancel_done_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
up_cancel_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		bufferevent_free(bev);
}

void
pg_upstream_cancel(struct pgconn *c)
{
	struct timeval tv = {PG_CANCEL_SECS, 0};
	struct bufferevent *bev;
	unsigned char m[16];

	if (!c->have_key)
		return;
	bev = bufferevent_socket_new(c->front->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		return;
	pg_put_u32(m, 16);
	pg_put_u32(m + 4, PG_CANCEL_REQUEST);
	pg_put_u32(m + 8, c->up_pid);
	pg_put_u32(m + 12, c->up_key);
	bufferevent_setcb(
	    bev, NULL, up_cancel_done_cb, up_cancel_event_cb, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	evbuffer_add(bufferevent_get_output(bev), m, sizeof(m));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(
		bev, c->front->dns, AF_UNSPEC, c->t.host, c->t.port) != 0)
		bufferevent_free(bev);
	if (c->qlog != NULL)
		qlog_event(c->qlog, clock_now_ms(), "cancel", NULL, NULL);
}
