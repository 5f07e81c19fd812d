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

/* Checks CODE against SECRET, the authenticator of user UID. */
static int
pg_pw_check_code(struct pgconn *c, int64_t uid, const unsigned char *secret,
    size_t len, const char *code)
{
	char reason[POLICY_REASON_MAX];

	if (secret == NULL || code[0] == '\0')
		return PIM_EDENIED;
	return policy_totp_check(session_mgr_store(c->front->mgr), uid, secret,
	    len, code, clock_now(), reason, sizeof(reason));
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
	unsigned char *secret = NULL;
	size_t n = strlen(given), len = 0;
	int64_t uid = 0;
	bool need = false;
	int rc;

	*why = PG_PW_FAILED;
	rc = vault_open_mfa(
	    c->front->vault, st, c->user, &uid, &secret, &len, &need);
	if (rc == PIM_ESTORE)
		return PIM_ESTORE;
	if (rc == PIM_ECRYPTO) {
		log_error("cannot open the MFA secret of user %s", c->user);
		need = true; /* fail closed: no code can be checked */
	}
	if (need && n > PG_TOTP_DIGITS) {
		memcpy(code, given + n - PG_TOTP_DIGITS, PG_TOTP_DIGITS);
		given[n - PG_TOTP_DIGITS] = '\0';
	}
	rc = session_auth_password(c->front->mgr, c->user, given);
	if (rc == PIM_OK && need) {
		rc = pg_pw_check_code(c, uid, secret, len, code);
		if (rc == PIM_EDENIED)
			*why = "password authentication failed: the one-time "
			       "code is wrong or was already used; wait for "
			       "the next one";
	}
	vault_free_secret(secret, len);
	explicit_bzero(code, sizeof(code));
	return rc;
}
