/* A one-time code at SSH login for users enrolled with --mfa-at-login.
 *
 * A correct password or key of such a user is answered with partial
 * success, after which only keyboard-interactive is allowed. Its request
 * reaches the message callback (libssh has no server callback for it):
 * the bastion asks for one code, and the answer comes back as another
 * keyboard-interactive message, checked with policy_totp_check (one step
 * of skew, each step good once). The code is never logged or audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/policy.h"
#include "pimgate/session.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "ssh_int.h"

#define MFA_MAX_CODES 3 /* codes tried on one connection, at most */
#define MFA_PROMPT "Code from your authenticator: "

int
mfa_first_factor(
    struct conn *c, const char *user, const char *target, const char *method)
{
	struct store *st = session_mgr_store(c->front->mgr);
	struct store_user u;
	unsigned char *sealed = NULL;
	size_t len = 0;
	bool at_login = false;
	int rc;

	rc = store_user_get(st, user, &u);
	if (rc != PIM_OK)
		return -1; /* the first factor just found this user */
	rc = store_user_mfa(st, u.id, &sealed, &len, &at_login);
	free(sealed);
	if (rc == PIM_ENOTFOUND)
		return 0;
	if (rc != PIM_OK)
		return -1;
	if (!at_login)
		return 0;
	c->mfa_pending = true;
	c->mfa_tries = 0;
	c->mfa_user_id = u.id;
	str_copy(c->mfa_method, method, sizeof(c->mfa_method));
	str_copy(c->mfa_user, user, sizeof(c->mfa_user));
	str_copy(c->mfa_target, target, sizeof(c->mfa_target));
	ssh_set_auth_methods(c->s, SSH_AUTH_METHOD_INTERACTIVE);
	log_info("login first factor ok user=%s peer=%s method=%s; "
		 "one-time code due",
	    user, c->peer, method);
	return 1;
}

/* True if LOGIN ("alice" or "alice:host1") is the one that gave the
 * first factor: a changed user name does not inherit it. */
static bool
mfa_same_login(const struct conn *c, const char *login)
{
	size_t n = strlen(c->mfa_user);

	if (login == NULL || strncmp(login, c->mfa_user, n) != 0)
		return false;
	if (c->mfa_target[0] == '\0')
		return login[n] == '\0';
	return login[n] == ':' && strcmp(login + n + 1, c->mfa_target) == 0;
}

/* A refused code (or a login that cannot give one): audited without the
 * code, and the connection ends after MFA_MAX_CODES of them. */
static void
mfa_refuse(struct conn *c, ssh_message msg, const char *why)
{
	char detail[STORE_TEXT_MAX];

	snprintf(detail, sizeof(detail), "%s+totp: %s", c->mfa_method, why);
	session_audit_login(c->front->mgr, c->mfa_user, c->mfa_target, c->peer,
	    "failed", detail);
	metrics_auth_failure(METRICS_SSH, METRICS_AUTH_TOTP);
	log_info("login failed user=%s peer=%s method=%s+totp reason=\"%s\"",
	    c->mfa_user, c->peer, c->mfa_method, why);
	c->auth_tries++;
	if (++c->mfa_tries >= MFA_MAX_CODES ||
	    c->auth_tries >= SSH_MAX_AUTH_TRIES)
		c->client_gone = true;
	ssh_message_reply_default(msg);
}

/* Opens the user's TOTP secret; PIM_OK with *SECRET set, or a failure
 * with WHY for the audit. */
static int
mfa_open_secret(
    struct conn *c, unsigned char **secret, size_t *len, const char **why)
{
	struct store *st = session_mgr_store(c->front->mgr);
	int rc;

	rc = vault_open_mfa(
	    c->front->vault, st, c->mfa_user, NULL, secret, len, NULL);
	if (rc == PIM_ENOTFOUND)
		*why = "no authenticator is enrolled";
	else if (rc == PIM_ESTORE)
		*why = "store unavailable";
	else if (rc != PIM_OK) {
		log_error("cannot open the MFA secret of user %s", c->mfa_user);
		*why = "the one-time code cannot be checked";
	}
	return rc;
}

/* The answer to the prompt. */
static void
mfa_check(struct conn *c, ssh_message msg)
{
	struct store *st = session_mgr_store(c->front->mgr);
	const char *code = NULL, *why = NULL;
	unsigned char *secret = NULL;
	char reason[POLICY_REASON_MAX], detail[STORE_TEXT_MAX];
	size_t len = 0;
	int rc;

	if (ssh_userauth_kbdint_getnanswers(c->s) == 1)
		code = ssh_userauth_kbdint_getanswer(c->s, 0);
	if (code == NULL) {
		mfa_refuse(c, msg, "no one-time code given");
		return;
	}
	if (mfa_open_secret(c, &secret, &len, &why) != PIM_OK) {
		mfa_refuse(c, msg, why);
		return;
	}
	rc = policy_totp_check(st, c->mfa_user_id, secret, len, code,
	    clock_now(), reason, sizeof(reason));
	vault_free_secret(secret, len);
	if (rc != PIM_OK) {
		snprintf(detail, sizeof(detail), "wrong one-time code (%s)",
		    rc == PIM_ESTORE ? "store unavailable" : reason);
		mfa_refuse(c, msg, detail);
		return;
	}
	c->mfa_pending = false;
	snprintf(detail, sizeof(detail), "%s+totp", c->mfa_method);
	auth_login_ok(c, c->mfa_user, c->mfa_target, detail);
	ssh_message_auth_reply_success(msg, 0);
}

bool
auth_kbdint_message(struct conn *c, ssh_message msg)
{
	const char *prompts[] = {MFA_PROMPT};
	char echo[] = {0};

	if (ssh_message_type(msg) != SSH_REQUEST_AUTH ||
	    ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE ||
	    !c->mfa_pending || c->authed)
		return false; /* libssh's default reply: failure */
	if (ssh_message_auth_kbdint_is_response(msg)) {
		mfa_check(c, msg);
		return true;
	}
	if (!mfa_same_login(c, ssh_message_auth_user(msg))) {
		mfa_refuse(c, msg, "another login name after the first factor");
		return true;
	}
	if (ssh_message_auth_interactive_request(
		msg, "pimgate", "one-time code", 1, prompts, echo) != SSH_OK)
		ssh_message_reply_default(msg);
	return true;
}
