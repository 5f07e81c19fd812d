/* A PostgreSQL client up to its admission: the initial packet, the TLS
 * handshake, the startup message, the client certificate (or password)
 * and the admission rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/x509.h>

#include "pimgate/audit.h"
#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/policy.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "pg_int.h"
#include "scram.h"

#define PG_REFUSE_FLUSH_SECS 5

static void pgconn_cli_read_cb(struct bufferevent *bev, void *arg);
static void pgconn_cli_write_cb(struct bufferevent *bev, void *arg);
static void pgconn_cli_event_cb(struct bufferevent *bev, short what, void *arg);

/* ---- the end of a connection ---- */

void
pgconn_authed(struct pgconn *c)
{
	if (c->counted_unauthed)
		c->front->unauthed--;
	c->counted_unauthed = false;
}

void
pgconn_wipe_secret(struct pgconn *c)
{
	if (c->secret != NULL)
		vault_free_secret(c->secret, c->secret_len);
	c->secret = NULL;
	c->secret_len = 0;
}

static void
pgconn_free_events(struct pgconn *c)
{
	if (c->pre_ev != NULL)
		event_free(c->pre_ev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->retry != NULL)
		event_free(c->retry);
	if (c->flush != NULL)
		event_free(c->flush);
	c->pre_ev = c->timer = c->retry = c->flush = NULL;
}

void
pgconn_free(struct pgconn *c)
{
	pgconn_authed(c);
	pgconn_free_events(c);
	pg_relay_free(c);
	pgconn_wipe_secret(c);
	scram_free(c->scram);
	if (c->up != NULL)
		bufferevent_free(c->up);
	/* The last line of the query log says how the session ended. */
	if (c->qlog != NULL)
		qlog_event(c->qlog, clock_now_ms(), "end", "reason",
		    c->end_reason != NULL ? c->end_reason : END_EXIT);
	if (c->qlog != NULL && cast_close(c->qlog) != PIM_OK)
		log_error("query log incomplete session=%lld",
		    (long long)(c->sess ? session_id(c->sess) : 0));
	c->qlog = NULL;
	if (c->sess != NULL)
		session_close(c->sess);
	if (c->cli != NULL && c->closing)
		SSL_shutdown(bufferevent_openssl_get_ssl(c->cli)); /* notify */
	if (c->cli != NULL)
		bufferevent_free(c->cli);
	if (c->fd >= 0)
		close(c->fd);
	if (c->params != NULL)
		evbuffer_free(c->params);
	LIST_REMOVE(c, entry);
	c->front->nconns--;
	log_verbose("connection closed proto=postgres peer=%s user=%s", c->peer,
	    c->user[0] ? c->user : "-");
	free(c);
}

static void
pgconn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;

	if (c->state == PG_ENDING) {
		pgconn_free(c);
		return;
	}
	if (c->state == PG_UPSTREAM) {
		pg_upstream_failed(c, "did not answer in time");
		return;
	}
	log_verbose("login timed out proto=postgres peer=%s", c->peer);
	metrics_connection_refused(METRICS_POSTGRES, METRICS_REFUSED_TIMEOUT);
	pgconn_refuse(c, PG_SQLSTATE_AUTHZ,
	    "pimgate: the login took too long; connect again");
}

static void
pgconn_arm(struct pgconn *c, int64_t secs)
{
	struct timeval tv = {(time_t)secs, 0};

	evtimer_add(c->timer, &tv);
}

/* Sends BUF on the raw socket before TLS; best effort, never blocks. */
static void
pgconn_send_raw(struct pgconn *c, const void *buf, size_t len)
{
	if (send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		log_verbose("cannot answer the client peer=%s: %s", c->peer,
		    strerror(errno));
}

void
pgconn_refuse(struct pgconn *c, const char *sqlstate, const char *msg)
{
	struct evbuffer *out;

	log_verbose(
	    "refused proto=postgres peer=%s sqlstate=%s", c->peer, sqlstate);
	if (c->cli == NULL) {
		out = evbuffer_new();
		if (out != NULL &&
		    pg_put_error(out, "FATAL", sqlstate, msg) == PIM_OK)
			pgconn_send_raw(c, evbuffer_pullup(out, -1),
			    evbuffer_get_length(out));
		if (out != NULL)
			evbuffer_free(out);
		pgconn_free(c);
		return;
	}
	pg_put_error(bufferevent_get_output(c->cli), "FATAL", sqlstate, msg);
	c->state = PG_ENDING;
	c->closing = true;
	bufferevent_disable(c->cli, EV_READ);
	if (c->up != NULL) {
		bufferevent_free(c->up);
		c->up = NULL;
	}
	bufferevent_setwatermark(c->cli, EV_WRITE, 0, 0);
	pgconn_arm(c, PG_REFUSE_FLUSH_SECS);
}

/* The metrics' reason for a refusal with SQLSTATE. */
static enum metrics_refusal
pgconn_refusal_of(const char *sqlstate)
{
	if (strcmp(sqlstate, PG_SQLSTATE_PROTOCOL) == 0 ||
	    strcmp(sqlstate, PG_SQLSTATE_FEATURE) == 0)
		return METRICS_REFUSED_PROTOCOL;
	if (strcmp(sqlstate, "58000") == 0)
		return METRICS_REFUSED_STORE;
	return METRICS_REFUSED_AUTH;
}

/* Audits a refused login (rate-limited per address: refusals before
 * authentication are free to send) and refuses it. Names that are not
 * valid user or target names are not written as such. */
static void
pgconn_deny(struct pgconn *c, const char *sqlstate, const char *msg)
{
	char detail[STORE_TEXT_MAX], more[64] = "";
	const char *user = str_valid_name(c->user) ? c->user : "-";
	const char *target = str_valid_name(c->target) ? c->target : "-";
	unsigned n = session_refusal_audit(c->front->mgr, c->peer);

	metrics_connection_refused(
	    METRICS_POSTGRES, pgconn_refusal_of(sqlstate));
	if (n > 0) {
		if (n > 1)
			snprintf(more, sizeof(more),
			    " (with %u earlier refusals from this address)",
			    n - 1);
		snprintf(detail, sizeof(detail),
		    "proto=postgres method=%s sqlstate=%s reason=%s%s",
		    c->auth[0] ? c->auth : "none", sqlstate, msg, more);
		session_audit_login(
		    c->front->mgr, user, target, c->peer, "refused", detail);
		log_info("login refused proto=postgres peer=%s user=%s "
			 "target=%s sqlstate=%s",
		    c->peer, user, target, sqlstate);
	}
	pgconn_refuse(c, sqlstate, msg);
}

/* The person did not prove who they are: counted by method, refused. */
static void
pgconn_auth_failed(struct pgconn *c, const char *sqlstate, const char *msg)
{
	metrics_auth_failure(METRICS_POSTGRES, strcmp(c->auth, "password") == 0
						   ? METRICS_AUTH_PASSWORD
						   : METRICS_AUTH_CERTIFICATE);
	pgconn_deny(c, sqlstate, msg);
}

/* ---- the initial packet, before TLS ---- */

static void
pgconn_start_tls(struct pgconn *c)
{
	SSL *ssl = SSL_new(c->front->tls);

	event_free(c->pre_ev);
	c->pre_ev = NULL;
	if (ssl == NULL) {
		pgconn_free(c);
		return;
	}
	c->cli = bufferevent_openssl_socket_new(c->front->base, c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->cli == NULL) {
		SSL_free(ssl);
		pgconn_free(c);
		return;
	}
	c->fd = -1;
	c->state = PG_TLS;
	evtimer_del(c->timer);
	pgconn_arm(c, c->front->cfg->login_grace);
	bufferevent_openssl_set_allow_dirty_shutdown(c->cli, 1);
	bufferevent_setcb(c->cli, pgconn_cli_read_cb, pgconn_cli_write_cb,
	    pgconn_cli_event_cb, c);
	bufferevent_setwatermark(c->cli, EV_READ, 0, PG_RELAY_BUF);
	bufferevent_enable(c->cli, EV_READ | EV_WRITE);
}

/* A CancelRequest: forwarded to the backend the key belongs to. Nothing
 * is answered, as PostgreSQL answers nothing. */
static void
pgconn_cancel(struct pgconn *c, const unsigned char *body)
{
	uint32_t pid = pg_get_u32(body), key = pg_get_u32(body + 4);
	struct pgconn *owner = pg_front_find_key(c->front, pid, key);

	if (owner == NULL) {
		log_verbose(
		    "cancel request with an unknown key peer=%s", c->peer);
		return;
	}
	log_info("cancel request session=%lld peer=%s",
	    (long long)session_id(owner->sess), c->peer);
	pg_upstream_cancel(owner);
}

/* The first 8 bytes (16 for a cancel) of a packet are in C->pre. */
static void
pgconn_preamble(struct pgconn *c)
{
	uint32_t len = pg_get_u32(c->pre), code = pg_get_u32(c->pre + 4);

	if (len == 8 && code == PG_SSL_REQUEST) {
		pgconn_send_raw(c, "S", 1);
		pgconn_start_tls(c);
	} else if (len == 8 && code == PG_GSSENC_REQUEST) {
		pgconn_send_raw(c, "N", 1);
		c->pre_len = 0;
	} else if (len == 16 && code == PG_CANCEL_REQUEST) {
		if (c->pre_len < 16)
			return;
		pgconn_cancel(c, c->pre + 8);
		pgconn_free(c);
	} else if (code >> 16 == 3) {
		pgconn_deny(c, PG_SQLSTATE_AUTHZ,
		    "pimgate requires TLS: connect with sslmode=verify-full "
		    "and the bastion's CA (pimctl ca cert)");
	} else {
		log_verbose("not a PostgreSQL client peer=%s", c->peer);
		pgconn_free(c);
	}
}

static void
pgconn_pre_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;
	size_t want = c->pre_len < 8 ? 8 : 16;
	ssize_t n;

	n = recv(fd, c->pre + c->pre_len, want - c->pre_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		pgconn_free(c);
		return;
	}
	if (n < 0)
		return;
	c->pre_len += (size_t)n;
	if (c->pre_len >= 8)
		pgconn_preamble(c);
}

void
pgconn_start(struct pg_front *f, int fd, const char *peer)
{
	struct pgconn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return;
	}
	c->front = f;
	c->fd = fd;
	c->state = PG_PREAMBLE;
	str_copy(c->peer, peer, sizeof(c->peer));
	LIST_INSERT_HEAD(&f->conns, c, entry);
	f->nconns++;
	f->unauthed++;
	c->counted_unauthed = true;
	evutil_make_socket_nonblocking(fd);
	pg_nodelay(fd);
	c->pre_ev =
	    event_new(f->base, fd, EV_READ | EV_PERSIST, pgconn_pre_read_cb, c);
	c->timer = evtimer_new(f->base, pgconn_timeout_cb, c);
	c->params = evbuffer_new();
	if (c->pre_ev == NULL || c->timer == NULL || c->params == NULL) {
		pgconn_free(c);
		return;
	}
	event_add(c->pre_ev, NULL);
	pgconn_arm(c, f->cfg->login_grace < PG_PREAMBLE_SECS
			  ? f->cfg->login_grace
			  : PG_PREAMBLE_SECS);
}

/* ---- after the handshake: who is it? ---- */

/* Reads the subject CN and serial of the client's certificate. */
static void
pgconn_read_cert(struct pgconn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->cli);
	X509 *x = SSL_get1_peer_certificate(ssl);
	int n;

	if (x == NULL)
		return;
	c->has_cert = true;
	c->verify = SSL_get_verify_result(ssl);
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    c->cert_user, sizeof(c->cert_user));
	if (n < 0 || (size_t)n != strlen(c->cert_user))
		c->cert_user[0] = '\0';
	if (ca_serial_of(x, c->serial) != PIM_OK)
		c->serial[0] = '\0';
	X509_free(x);
}

/* Why the chain of the client's certificate failed, for the person. */
static const char *
pgconn_verify_text(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "the client certificate has expired; ask for a new "
		       "one with the db-cert command";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "the client certificate is not valid yet; check the "
		       "clock or ask for a new one";
	case X509_V_ERR_INVALID_PURPOSE:
		return "the client certificate is not for client "
		       "authentication; ask for one with the db-cert command";
	default:
		return "the client certificate was not issued by this "
		       "bastion's CA; ask for one with the db-cert command";
	}
}

static const struct session_ops pgconn_ops;

static int
pgconn_open_qlog(struct pgconn *c)
{
	struct qlog_header h = {0};
	char path[STORE_PATH_MAX];

	if (session_recording_path(c->sess, "jsonl", path, sizeof(path)) !=
	    PIM_OK)
		return PIM_EINVAL;
	h.session_id = session_id(c->sess);
	h.user = c->user;
	h.target = c->target;
	h.database = c->t.database[0] ? c->t.database : c->t.login;
	h.start_ms = clock_now_ms();
	if (qlog_open(path, &h, &c->qlog) != PIM_OK) {
		log_error("cannot create query log path=%s session=%lld: %s",
		    path, (long long)h.session_id, strerror(errno));
		return PIM_EIO;
	}
	return session_add_recording(c->sess, path);
}

/* The person is known: does the admission rule let them in? */
static void
pgconn_admit(struct pgconn *c)
{
	struct store *st = session_mgr_store(c->front->mgr);
	char reason[POLICY_REASON_MAX], detail[STORE_TEXT_MAX];
	int rc;

	rc = store_target_get(st, c->target, &c->t);
	if (rc == PIM_ENOTFOUND ||
	    (rc == PIM_OK && strcmp(c->t.kind, "postgres") != 0)) {
		snprintf(reason, sizeof(reason), "no database target named %s",
		    c->target);
		pgconn_deny(c, PG_SQLSTATE_AUTHZ, reason);
		return;
	}
	if (rc != PIM_OK) {
		pgconn_deny(c, "58000",
		    "pimgate cannot read its store; try "
		    "again shortly");
		return;
	}
	snprintf(detail, sizeof(detail), "proto=postgres method=%s%s%s",
	    c->auth, c->serial[0] ? " serial=" : "", c->serial);
	session_audit_login(
	    c->front->mgr, c->user, c->target, c->peer, "ok", detail);
	if (!session_recording_space(c->front->mgr)) {
		log_error("recordings disk below its free-space floor dir=%s",
		    c->front->cfg->recordings_dir);
		metrics_connection_refused(
		    METRICS_POSTGRES, METRICS_REFUSED_RECORDING);
		pgconn_refuse(c, "53100",
		    "pimgate cannot record sessions right now (its disk is "
		    "full); try again later or tell the administrator");
		return;
	}
	rc = session_open(c->front->mgr, c->user, c->target, "postgres",
	    c->peer, &pgconn_ops, c, &c->sess, reason, sizeof(reason));
	if (rc != PIM_OK) {
		metrics_connection_refused(METRICS_POSTGRES,
		    rc == PIM_EDENIED ? METRICS_REFUSED_ADMISSION
				      : METRICS_REFUSED_STORE);
		pgconn_refuse(c, PG_SQLSTATE_AUTHZ, reason);
		return;
	}
	pgconn_authed(c);
	if (c->serial[0] != '\0' && strcmp(c->auth, "certificate") == 0)
		session_set_cert(c->sess, c->serial);
	if (pgconn_open_qlog(c) != PIM_OK) {
		session_end(c->sess, END_RECORDING,
		    "pimgate cannot record this session; try again later");
		return;
	}
	c->state = PG_UPSTREAM;
	evtimer_del(c->timer);
	pgconn_arm(c, PG_UPSTREAM_SECS);
	pg_upstream_start(c);
}

/* Certificate login: the chain, the name, then the store's record. */
static void
pgconn_check_cert(struct pgconn *c)
{
	struct store *st = session_mgr_store(c->front->mgr);
	char reason[POLICY_REASON_MAX];

	str_copy(c->auth, "certificate", sizeof(c->auth));
	if (c->verify != X509_V_OK) {
		pgconn_auth_failed(
		    c, PG_SQLSTATE_AUTHZ, pgconn_verify_text(c->verify));
		return;
	}
	if (strcmp(c->cert_user, c->user) != 0) {
		snprintf(reason, sizeof(reason),
		    "the client certificate is for user %s, not %s",
		    c->cert_user[0] ? c->cert_user : "(none)", c->user);
		pgconn_auth_failed(c, PG_SQLSTATE_AUTHZ, reason);
		return;
	}
	if (policy_cert_accept(st, c->serial, c->user, c->target, clock_now(),
		reason, sizeof(reason)) != PIM_OK) {
		pgconn_auth_failed(c, PG_SQLSTATE_AUTHZ, reason);
		return;
	}
	pgconn_admit(c);
}

/* ---- the startup message ---- */

/* Keeps parameter NAME=VALUE for the upstream, unless it is ours. */
static int
pgconn_param(struct pgconn *c, const char *name, const char *value)
{
	if (strcmp(name, "user") == 0)
		return str_copy(c->user, value, sizeof(c->user)) ? PIM_OK
								 : PIM_EINVAL;
	if (strcmp(name, "database") == 0)
		return str_copy(c->target, value, sizeof(c->target))
			   ? PIM_OK
			   : PIM_EINVAL;
	if (strcmp(name, "replication") == 0)
		return strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
			       strcmp(value, "off") == 0 ||
			       strcmp(value, "no") == 0
			   ? PIM_OK
			   : PIM_EDENIED;
	if (strncmp(name, "_pq_.", 5) == 0)
		return PIM_OK; /* protocol extensions: not passed on */
	evbuffer_add(c->params, name, strlen(name) + 1);
	evbuffer_add(c->params, value, strlen(value) + 1);
	return PIM_OK;
}

/* Parses the parameters of a startup message body (after the code). */
static int
pgconn_params(struct pgconn *c, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	const char *name, *value;
	int rc;

	while (p < end && *p != '\0') {
		if (!pg_read_str(&p, end, &name) ||
		    !pg_read_str(&p, end, &value))
			return PIM_EINVAL;
		rc = pgconn_param(c, name, value);
		if (rc != PIM_OK)
			return rc;
	}
	return p < end ? PIM_OK : PIM_EINVAL;
}

static void
pgconn_ask_password(struct pgconn *c)
{
	str_copy(c->auth, "password", sizeof(c->auth));
	c->state = PG_PASSWORD;
	pg_put_auth(bufferevent_get_output(c->cli), 3, NULL, 0);
}

static void
pgconn_who(struct pgconn *c)
{
	if (c->user[0] == '\0' || !str_valid_name(c->user)) {
		pgconn_deny(c, PG_SQLSTATE_AUTHZ,
		    "no valid user name in the connection (user=...)");
		return;
	}
	if (c->target[0] == '\0')
		str_copy(c->target, c->user, sizeof(c->target));
	if (!str_valid_name(c->target)) {
		pgconn_deny(c, PG_SQLSTATE_AUTHZ,
		    "dbname must name a database target of the bastion");
		return;
	}
	if (c->has_cert) {
		pgconn_check_cert(c);
	} else if (c->front->cfg->pg_password_auth) {
		pgconn_ask_password(c);
	} else {
		pgconn_auth_failed(c, PG_SQLSTATE_AUTHZ,
		    "no client certificate: ask for one with the db-cert "
		    "command (ssh USER@BASTION db-cert TARGET < FILE.csr)");
	}
}

static void
pgconn_startup(struct pgconn *c, const unsigned char *m, size_t len)
{
	uint32_t code = pg_get_u32(m + 4);
	int rc;

	if (len == 16 && code == PG_CANCEL_REQUEST) {
		pgconn_cancel(c, m + 8);
		pgconn_free(c);
		return;
	}
	if (code >> 16 != 3) {
		pgconn_deny(c, PG_SQLSTATE_PROTOCOL,
		    "unsupported protocol: pimgate speaks PostgreSQL 3.0");
		return;
	}
	rc = pgconn_params(c, m + 8, len - 8);
	if (rc == PIM_EDENIED) {
		pgconn_deny(c, PG_SQLSTATE_FEATURE,
		    "replication connections are not relayed by pimgate");
		return;
	}
	if (rc != PIM_OK) {
		pgconn_deny(
		    c, PG_SQLSTATE_PROTOCOL, "malformed startup message");
		return;
	}
	pgconn_who(c);
}

/* A whole startup packet in the TLS input? Handles it. */
static void
pgconn_read_startup(struct pgconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cli);
	unsigned char hdr[4];
	uint32_t len;

	if (evbuffer_copyout(in, hdr, 4) < 4)
		return;
	len = pg_get_u32(hdr);
	if (len < 8 || len > PG_STARTUP_MAX) {
		pgconn_deny(c, PG_SQLSTATE_PROTOCOL, "invalid startup packet");
		return;
	}
	if (evbuffer_get_length(in) < len)
		return;
	unsigned char m[PG_STARTUP_MAX];
	evbuffer_remove(in, m, len);
	pgconn_startup(c, m, len);
	/* C may be gone; callers return at once. */
}

/* ---- password login (where the config allows it) ---- */

/* Over the password budget: refused unchecked, audited in batches. */
static void
pgconn_unchecked(struct pgconn *c, struct pw_source *src)
{
	char detail[STORE_TEXT_MAX];
	unsigned n = session_pw_refused(src);

	if (n > 0) {
		snprintf(detail, sizeof(detail),
		    "proto=postgres method=password not checked: too many "
		    "password attempts from %s (%u since the last entry)",
		    session_pw_addr(src), n);
		session_audit_login(c->front->mgr, c->user, c->target, c->peer,
		    "refused", detail);
	}
	metrics_auth_failure(METRICS_POSTGRES, METRICS_AUTH_PASSWORD);
	metrics_connection_refused(METRICS_POSTGRES, METRICS_REFUSED_RATE);
	pgconn_refuse(c, PG_SQLSTATE_PASSWORD,
	    "too many password attempts from your address; wait a minute "
	    "and try again");
}

static void
pgconn_check_password(struct pgconn *c, char *password)
{
	struct pw_source *src;
	const char *why = NULL;
	int rc;

	if (!session_pw_budget(c->front->mgr, c->peer, &src)) {
		pgconn_unchecked(c, src);
		return;
	}
	rc = pg_password_check(c, password, &why);

	if (rc == PIM_ESTORE) {
		pgconn_deny(c, "58000",
		    "pimgate cannot read its store; try "
		    "again shortly");
		return;
	}
	if (rc != PIM_OK) {
		pgconn_auth_failed(c, PG_SQLSTATE_PASSWORD, why);
		return;
	}
	pgconn_admit(c);
}

static void
pgconn_read_password(struct pgconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cli);
	unsigned char hdr[5];
	uint32_t len;
	char msg[1024 + 5];

	if (evbuffer_copyout(in, hdr, 5) < 5)
		return;
	len = pg_get_u32(hdr + 1);
	if (hdr[0] != 'p' || len < 5 || len > 1024 + 4) {
		pgconn_deny(
		    c, PG_SQLSTATE_PROTOCOL, "expected a password message");
		return;
	}
	if (evbuffer_get_length(in) < 1 + (size_t)len)
		return;
	evbuffer_remove(in, msg, 1 + len);
	if (msg[len] != '\0') {
		explicit_bzero(msg, sizeof(msg));
		pgconn_deny(
		    c, PG_SQLSTATE_PROTOCOL, "malformed password message");
		return;
	}
	pgconn_check_password(c, msg + 5);
	explicit_bzero(msg, sizeof(msg));
}

/* ---- bufferevent callbacks ---- */

static void
pgconn_cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct pgconn *c = arg;

	switch (c->state) {
	case PG_STARTUP:
		pgconn_read_startup(c);
		return;
	case PG_PASSWORD:
		pgconn_read_password(c);
		return;
	case PG_RELAY:
		pg_relay_pump(c);
		return;
	case PG_ENDING:
		evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
		return;
	default:
		return; /* kept until the relay starts */
	}
}

static void
pgconn_cli_write_cb(struct bufferevent *bev, void *arg)
{
	struct pgconn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			pgconn_free(c);
		return;
	}
	if (c->state == PG_RELAY)
		pg_relay_pump(c);
}

static void
pgconn_handshake_done(struct pgconn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->cli);

	pgconn_read_cert(c);
	log_verbose("tls established proto=postgres peer=%s version=%s "
		    "cert=%s",
	    c->peer, SSL_get_version(ssl), c->has_cert ? "yes" : "no");
	c->state = PG_STARTUP;
	pgconn_read_startup(c);
}

static void
pgconn_cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pgconn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		pgconn_handshake_done(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->state == PG_TLS)
			log_verbose(
			    "tls handshake failed proto=postgres peer=%s",
			    c->peer);
		if (c->state == PG_RELAY)
			pg_relay_client_gone(c);
		else
			pgconn_free(c);
	}
}

/* ---- what the session module asks ---- */

static void
pgconn_end(void *conn, const char *reason, const char *message)
{
	struct pgconn *c = conn;

	c->end_reason = reason;
	if (c->state == PG_RELAY) {
		pg_relay_end(c, message);
		return;
	}
	if (c->state != PG_ENDING)
		pgconn_refuse(c, PG_SQLSTATE_SHUTDOWN, message);
}

static void
pgconn_notice(void *conn, const char *message)
{
	struct pgconn *c = conn;

	if (c->state == PG_RELAY)
		pg_relay_notice(c, message);
}

static const struct session_ops pgconn_ops = {
    .end = pgconn_end,
    .notice = pgconn_notice,
};
