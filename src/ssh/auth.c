/* Client authentication: "USER" or "USER:TARGET" by password or key. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/session.h"
#include "pimgate/str.h"

#include "ssh_int.h"

/* Splits LOGIN ("alice:host1") into USER and TARGET; false if either
 * part is not a valid name. */
static bool
auth_split_login(const char *login, char *user, char *target)
{
	const char *colon = strchr(login, ':');
	size_t n = colon != NULL ? (size_t)(colon - login) : strlen(login);

	if (n == 0 || n >= STORE_NAME_MAX)
		return false;
	memcpy(user, login, n);
	user[n] = '\0';
	target[0] = '\0';
	if (colon != NULL && !str_copy(target, colon + 1, STORE_NAME_MAX))
		return false;
	if (!str_valid_name(user))
		return false;
	return colon == NULL || str_valid_name(target);
}

void
auth_login_ok(
    struct conn *c, const char *user, const char *target, const char *detail)
{
	session_audit_login(c->front->mgr, user, target, c->peer, "ok", detail);
	conn_authed(c);
	log_info("login ok user=%s target=%s peer=%s method=%s", user,
	    target[0] ? target : "-", c->peer, detail);
	str_copy(c->user, user, sizeof(c->user));
	str_copy(c->target, target, sizeof(c->target));
	c->authed = true;
	c->authed_at_us = clock_mono_us();
}

static int
auth_result(struct conn *c, const char *login, bool ok, const char *method,
    const char *why)
{
	char user[STORE_NAME_MAX], target[STORE_NAME_MAX];
	char detail[128], esc[80];

	if (!auth_split_login(login, user, target)) {
		str_copy(user, log_str(login, esc, sizeof(esc)), sizeof(user));
		target[0] = '\0';
	}
	if (ok) {
		/* Users enrolled with --mfa-at-login give a code next. */
		switch (mfa_first_factor(c, user, target, method)) {
		case 0:
			auth_login_ok(c, user, target, method);
			return SSH_AUTH_SUCCESS;
		case 1:
			return SSH_AUTH_PARTIAL;
		default:
			ok = false;
			why = "store unavailable";
		}
	}
	snprintf(detail, sizeof(detail), "%s: %s", method, why);
	session_audit_login(
	    c->front->mgr, user, target, c->peer, "failed", detail);
	metrics_auth_failure(METRICS_SSH, strcmp(method, "password") == 0
					      ? METRICS_AUTH_PASSWORD
					      : METRICS_AUTH_PUBLICKEY);
	log_info("login failed user=%s peer=%s method=%s reason=\"%s\"", user,
	    c->peer, method, why);
	if (++c->auth_tries >= SSH_MAX_AUTH_TRIES)
		c->client_gone = true;
	return SSH_AUTH_DENIED;
}

/* A password attempt over the budget: refused without a check, and
 * audited in batches so that a flood cannot flood the audit log. */
static int
auth_unchecked(struct conn *c, const char *login, struct pw_source *src)
{
	unsigned n = session_pw_refused(src);
	char why[160];

	if (n == 0) {
		metrics_auth_failure(METRICS_SSH, METRICS_AUTH_PASSWORD);
		if (++c->auth_tries >= SSH_MAX_AUTH_TRIES)
			c->client_gone = true;
		return SSH_AUTH_DENIED;
	}
	snprintf(why, sizeof(why),
	    "not checked: too many password attempts from %s (%u since the "
	    "last entry)",
	    session_pw_addr(src), n);
	return auth_result(c, login, false, "password", why);
}

static int
auth_password_cb(
    ssh_session s, const char *login, const char *password, void *arg)
{
	struct conn *c = arg;
	char user[STORE_NAME_MAX], target[STORE_NAME_MAX];
	struct pw_source *src;
	int rc;

	if (c->authed || c->mfa_pending)
		return SSH_AUTH_DENIED;
	if (!auth_split_login(login, user, target))
		return auth_result(c, login, false, "password", "bad login");
	if (!session_pw_budget(c->front->mgr, c->peer, &src))
		return auth_unchecked(c, login, src);
	rc = session_auth_password(c->front->mgr, user, password);
	if (rc == PIM_ESTORE)
		return auth_result(
		    c, login, false, "password", "store unavailable");
	return auth_result(c, login, rc == PIM_OK, "password",
	    "wrong password or unknown user");
}

struct key_match {
	ssh_key offered;
	bool found;
};

static int
auth_key_cmp_cb(const char *line, void *arg)
{
	struct key_match *km = arg;
	ssh_key k = NULL;

	if (sshkey_from_line(line, &k) != PIM_OK)
		return 0;
	km->found = ssh_key_cmp(k, km->offered, SSH_KEY_CMP_PUBLIC) == 0;
	ssh_key_free(k);
	return km->found ? 1 : 0;
}

static int
auth_pubkey_cb(ssh_session s, const char *login, struct ssh_key_struct *key,
    char state, void *arg)
{
	struct conn *c = arg;
	char user[STORE_NAME_MAX], target[STORE_NAME_MAX];
	struct key_match km = {.offered = key};
	int rc;

	if (c->authed || c->mfa_pending || state == SSH_PUBLICKEY_STATE_WRONG)
		return SSH_AUTH_DENIED;
	if (!auth_split_login(login, user, target))
		return auth_result(c, login, false, "publickey", "bad login");
	rc = session_auth_keys(c->front->mgr, user, auth_key_cmp_cb, &km);
	if (rc < 0 && rc != PIM_EDENIED)
		return auth_result(
		    c, login, false, "publickey", "store unavailable");
	if (!km.found)
		return auth_result(c, login, false, "publickey",
		    "key not authorised or unknown user");
	/* A probe without signature: say the key would do. */
	if (state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS;
	return auth_result(c, login, true, "publickey", NULL);
}

static ssh_channel
auth_channel_open_cb(ssh_session s, void *arg)
{
	struct conn *c = arg;
	struct chpair *p;

	if (!c->authed || c->nchans >= SSH_MAX_CHANNELS ||
	    c->state == CONN_DEAD)
		return NULL;
	p = chpair_open(c);
	return p != NULL ? p->cch : NULL;
}

void
auth_install(struct conn *c)
{
	memset(&c->scb, 0, sizeof(c->scb));
	c->scb.userdata = c;
	c->scb.auth_password_function = auth_password_cb;
	c->scb.auth_pubkey_function = auth_pubkey_cb;
	c->scb.channel_open_request_session_function = auth_channel_open_cb;
	ssh_callbacks_init(&c->scb);
	ssh_set_server_callbacks(c->s, &c->scb);
	forward_install(c);
}
