/* Password login to the PostgreSQL front end, where the config allows it
 * ([postgres] password_auth): asked with AuthenticationCleartextPassword,
 * which the front end only ever does inside TLS. A user enrolled for a
 * one-time code at login gives their password followed at once by the
 * six digits of the current code ("Secret123" + "492039"), since psql
 * asks for one password only. Neither is ever logged. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/policy.h"
#include "pimgate/session.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "pg_int.h"

#define PG_TOTP_DIGITS 6

/* Whether USER must give a one-time code at login: 1 yes, 0 no, <0 on a
 * store failure. Unknown users need none (the password check fails). */
static int
pg_pw_needs_code(struct store *st, const char *user, int64_t *uid)
{
	struct store_user u;
	unsigned char *sealed = NULL;
	size_t len = 0;
	bool at_login = false;
	int rc;

	rc = store_user_get(st, user, &u);
	if (rc == PIM_ENOTFOUND)
		return 0;
	if (rc != PIM_OK)
		return -1;
	*uid = u.id;
	rc = store_user_mfa(st, u.id, &sealed, &len, &at_login);
	free(sealed);
	if (rc == PIM_ENOTFOUND)
		return 0;
	return rc == PIM_OK ? at_login : -1;
}

/* Checks CODE against USER's authenticator. */
static int
pg_pw_check_code(struct pgconn *c, int64_t uid, const char *code)
{
	struct store *st = session_mgr_store(c->front->mgr);
	unsigned char *sealed = NULL, *secret = NULL;
	char context[STORE_NAME_MAX + 8], reason[POLICY_REASON_MAX];
	size_t slen = 0, len = 0;
	bool at_login;
	int rc;

	rc = store_user_mfa(st, uid, &sealed, &slen, &at_login);
	if (rc != PIM_OK)
		return rc;
	str_printf(context, sizeof(context), "mfa:%s", c->user);
	rc =
	    vault_unseal(c->front->vault, context, sealed, slen, &secret, &len);
	free(sealed);
	if (rc != PIM_OK) {
		log_error("cannot open the MFA secret of user %s", c->user);
		return rc;
	}
	rc = policy_totp_check(
	    st, uid, secret, len, code, clock_now(), reason, sizeof(reason));
	vault_free_secret(secret, len);
	return rc;
}

/* The same words for every failed password, so that they tell nobody
 * whether the user exists or uses an authenticator. */
#define PG_PW_FAILED                                                         \
	"password authentication failed (if you use an authenticator, type " \
	"its 6-digit code right after your password)"

int
pg_password_check(struct pgconn *c, char *given, const char **why)
{
	struct store *st = session_mgr_store(c->front->mgr);
	char code[PG_TOTP_DIGITS + 1] = "";
	size_t n = strlen(given);
	int64_t uid = 0;
	int need, rc;

	need = pg_pw_needs_code(st, c->user, &uid);
	*why = PG_PW_FAILED;
	if (need < 0)
		return PIM_ESTORE;
	if (need && n > PG_TOTP_DIGITS) {
		memcpy(code, given + n - PG_TOTP_DIGITS, PG_TOTP_DIGITS);
		given[n - PG_TOTP_DIGITS] = '\0';
	}
	rc = session_auth_password(c->front->mgr, c->user, given);
	if (rc == PIM_OK && need) {
		rc = code[0] != '\0' ? pg_pw_check_code(c, uid, code)
				     : PIM_EDENIED;
		if (rc == PIM_EDENIED)
			*why = "password authentication failed: the one-time "
			       "code is wrong or was already used; wait for "
			       "the next one";
	}
	explicit_bzero(code, sizeof(code));
	return rc;
}
