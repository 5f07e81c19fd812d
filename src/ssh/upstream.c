/* The upstream leg: a non-blocking TCP connect through libevent, then
 * libssh as a client on that socket: handshake, pinned host key check,
 * public-key authentication with the target's sealed identity. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/session.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "ssh_int.h"

void
upstream_fail(struct upstream *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->error, sizeof(u->error), fmt, ap);
	va_end(ap);
	u->state = UP_FAILED;
	log_info("upstream failed session=%lld target=%s reason=\"%s\"",
	    (long long)session_id(u->conn->sess), u->target.name, u->error);
}

/* Opens the sealed identity of the target. */
static int
upstream_load_keys(struct upstream *u, char *err, size_t errlen)
{
	struct conn *c = u->conn;
	unsigned char *sealed = NULL, *plain = NULL;
	size_t slen = 0, plen = 0;
	char ctx[STORE_NAME_MAX + 16];
	int rc;

	rc = session_target_info(c->sess, &u->target, &sealed, &slen);
	if (rc != PIM_OK) {
		snprintf(err, errlen, "target %s is not configured", c->target);
		goto out;
	}
	snprintf(ctx, sizeof(ctx), "target:%s", u->target.name);
	rc = vault_unseal(c->front->vault, ctx, sealed, slen, &plain, &plen);
	if (rc != PIM_OK) {
		snprintf(err, errlen, "the credential of %s cannot be opened",
		    c->target);
		goto out;
	}
	/* PEM text; the vault terminates what it opens. */
	rc = ssh_pki_import_privkey_base64(
		 (const char *)plain, NULL, NULL, NULL, &u->identity) == SSH_OK
		 ? PIM_OK
		 : PIM_ECRYPTO;
	if (rc == PIM_OK)
		rc = sshkey_from_line(u->target.host_key, &u->pinned);
	if (rc != PIM_OK)
		snprintf(err, errlen, "the keys of target %s are unusable",
		    c->target);
out:
	if (plain != NULL)
		vault_free_secret(plain, plen);
	free(sealed);
	return rc;
}

int
upstream_start(struct conn *c, char *err, size_t errlen)
{
	struct upstream *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL) {
		str_copy(err, "out of memory", errlen);
		return PIM_ENOMEM;
	}
	u->conn = c;
	u->fd = -1;
	u->state = UP_RESOLVING;
	c->up = u;
	rc = upstream_load_keys(u, err, errlen);
	if (rc != PIM_OK) {
		upstream_free(u);
		c->up = NULL;
		return rc;
	}
	dial_start(u);
	return PIM_OK;
}

/* Ask the target for the kind of host key that was pinned, so that a
 * server with several keys shows the one we can compare. */
static const char *
upstream_hostkey_algos(const struct upstream *u)
{
	enum ssh_keytypes_e t = ssh_key_type(u->pinned);

	if (t == SSH_KEYTYPE_RSA)
		return "rsa-sha2-512,rsa-sha2-256";
	return ssh_key_type_to_char(t);
}

/* The TCP connect finished: hand the socket to libssh. */
void
upstream_connected(struct upstream *u)
{
	int off = 0, dupfd;

	/* libssh gets a copy of the socket, which it may close on its own;
	 * libevent keeps watching the original. */
	dupfd = fcntl(u->fd, F_DUPFD_CLOEXEC, 3);
	u->s = ssh_new();
	if (u->s == NULL || dupfd < 0) {
		if (dupfd >= 0)
			close(dupfd);
		upstream_fail(u, "cannot connect to target %s: %s",
		    u->target.name, strerror(dupfd < 0 ? errno : ENOMEM));
		return;
	}
	ssh_options_set(u->s, SSH_OPTIONS_PROCESS_CONFIG, &off);
	ssh_options_set(u->s, SSH_OPTIONS_HOST, u->target.host);
	ssh_options_set(u->s, SSH_OPTIONS_PORT, &u->target.port);
	ssh_options_set(u->s, SSH_OPTIONS_USER, u->target.login);
	ssh_options_set(u->s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
	ssh_options_set(u->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	ssh_options_set(u->s, SSH_OPTIONS_HOSTKEYS, upstream_hostkey_algos(u));
	ssh_options_set(u->s, SSH_OPTIONS_FD, &dupfd);
	ssh_set_blocking(u->s, 0);
	u->state = UP_CONNECT;
	event_add(u->rev, NULL);
}

static void
upstream_check_hostkey(struct upstream *u)
{
	ssh_key k = NULL;
	int same;

	/* libssh made the socket blocking when its connect completed. */
	fcntl(u->fd, F_SETFL, fcntl(u->fd, F_GETFL) | O_NONBLOCK);
	if (ssh_get_server_publickey(u->s, &k) != SSH_OK) {
		upstream_fail(u, "target %s sent no host key", u->target.name);
		return;
	}
	same = ssh_key_cmp(k, u->pinned, SSH_KEY_CMP_PUBLIC) == 0;
	ssh_key_free(k);
	if (!same) {
		upstream_fail(u,
		    "the host key of target %s does not match the pinned "
		    "key; refused",
		    u->target.name);
		session_audit(u->conn->sess, AUDIT_HOSTKEY, "refused",
		    "upstream host key differs from the pinned key");
		return;
	}
	u->state = UP_AUTH;
}

static void
upstream_auth(struct upstream *u)
{
	int rc = ssh_userauth_publickey(u->s, NULL, u->identity);

	if (rc == SSH_AUTH_AGAIN)
		return;
	if (rc != SSH_AUTH_SUCCESS) {
		upstream_fail(u, "target %s refused the bastion's credential",
		    u->target.name);
		return;
	}
	u->ev = ssh_event_new();
	if (u->ev == NULL || ssh_event_add_session(u->ev, u->s) != SSH_OK) {
		upstream_fail(u, "cannot connect to target %s: out of memory",
		    u->target.name);
		return;
	}
	u->state = UP_READY;
	log_verbose("upstream ready session=%lld target=%s",
	    (long long)session_id(u->conn->sess), u->target.name);
}

/* Advances the handshake; a no-op once ready or failed. */
void
upstream_step(struct upstream *u)
{
	int rc;

	if (u->state == UP_CONNECT) {
		rc = ssh_connect(u->s);
		if (rc == SSH_AGAIN)
			return;
		if (rc != SSH_OK) {
			upstream_fail(u, "cannot connect to target %s: %s",
			    u->target.name, ssh_get_error(u->s));
			return;
		}
		upstream_check_hostkey(u);
	}
	if (u->state == UP_AUTH)
		upstream_auth(u);
}

void
upstream_pump(struct upstream *u)
{
	int i, rc;

	if (u->state != UP_READY)
		return;
	for (i = 0; i < 16; i++) {
		rc = ssh_event_dopoll(u->ev, 0);
		if (rc == SSH_ERROR ||
		    (ssh_get_status(u->s) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
			upstream_fail(u, "lost the connection to target %s",
			    u->target.name);
			return;
		}
		if (rc == SSH_AGAIN)
			break;
	}
}

void
upstream_update_interest(struct upstream *u)
{
	if (u->s == NULL || u->state <= UP_TCP || u->state == UP_FAILED)
		return;
	if (ssh_get_status(u->s) & SSH_WRITE_PENDING)
		event_add(u->wev, NULL);
	else
		event_del(u->wev);
}

/* libssh closes a socket it was given when the peer goes away or fails,
 * but only lets go of it (without closing) when we disconnect: close its
 * copy if it was still open then. */
static void
upstream_free_ssh(ssh_session s)
{
	socket_t fd = ssh_get_fd(s);

	ssh_disconnect(s);
	ssh_free(s);
	if (fd != SSH_INVALID_SOCKET && close(fd) != 0)
		log_warn(
		    "closing the upstream socket failed: %s", strerror(errno));
}

void
upstream_free(struct upstream *u)
{
	if (u->ev != NULL) {
		ssh_event_remove_session(u->ev, u->s);
		ssh_event_free(u->ev);
	}
	if (u->s != NULL)
		upstream_free_ssh(u->s);
	dial_cancel(u);
	dial_close(u);
	ssh_key_free(u->identity);
	ssh_key_free(u->pinned);
	free(u);
}
