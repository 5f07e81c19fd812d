/* Multi-factor authentication (schema v3): a user's sealed TOTP secret,
 * whether SSH login asks for a code, and the last time step a code was
 * accepted for (each step is good once). */
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

/* SEALED NULL (LEN 0) removes the secret: MFA is off for the user. A new
 * secret starts with no step used. */
int
store_user_set_mfa(struct store *st, int64_t user_id,
    const unsigned char *sealed, size_t len, bool at_login)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_SET_MFA,
	    "UPDATE users SET mfa_secret = ?2, mfa_at_login = ?3,"
	    " totp_step = 0 WHERE id = ?1",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	if (sealed != NULL && len > 0)
		sqlite3_bind_blob64(s, 2, sealed, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int(s, 3, sealed != NULL && at_login ? 1 : 0);
	r = store_step_change(st, s, "setting a user's MFA");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user with id %lld", (long long)user_id);
	store_stmt_put(st, STMT_USER_SET_MFA, s);
	return r;
}

/* Copies the current row of S (secret, at_login) out. */
static int
mfa_from_row(struct store *st, sqlite3_stmt *s, int64_t user_id,
    unsigned char **sealed, size_t *len, bool *at_login)
{
	const void *blob = sqlite3_column_blob(s, 0);
	int n = sqlite3_column_bytes(s, 0);

	if (blob == NULL || n <= 0)
		return store_err(st, PIM_ENOTFOUND,
		    "user with id %lld has no MFA", (long long)user_id);
	*sealed = malloc((size_t)n);
	if (*sealed == NULL)
		return store_err(st, PIM_ENOMEM, "out of memory");
	memcpy(*sealed, blob, (size_t)n);
	*len = (size_t)n;
	if (at_login != NULL)
		*at_login = sqlite3_column_int(s, 1) != 0;
	return PIM_OK;
}

int
store_user_mfa(struct store *st, int64_t user_id, unsigned char **sealed,
    size_t *len, bool *at_login)
{
	sqlite3_stmt *s = NULL;
	int r;

	*sealed = NULL;
	*len = 0;
	if (at_login != NULL)
		*at_login = false;
	r = store_stmt_get(st, STMT_USER_MFA,
	    "SELECT mfa_secret, mfa_at_login FROM users WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	r = store_step_row(st, s, "reading a user's MFA");
	if (r == PIM_OK)
		r = mfa_from_row(st, s, user_id, sealed, len, at_login);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user with id %lld", (long long)user_id);
	store_stmt_put(st, STMT_USER_MFA, s);
	return r;
}

int
store_user_totp_use(struct store *st, int64_t user_id, int64_t step)
{
	struct store_user u;
	sqlite3_stmt *s = NULL;
	int r;

	/* One statement: two checks racing for the same step cannot both
	 * win it. */
	r = store_stmt_get(st, STMT_USER_TOTP_USE,
	    "UPDATE users SET totp_step = ?2 WHERE id = ?1 AND totp_step < ?2",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, step);
	r = store_step_change(st, s, "recording a TOTP code");
	store_stmt_put(st, STMT_USER_TOTP_USE, s);
	if (r != PIM_ENOTFOUND)
		return r;

	/* No row changed: an unknown user, or a step already used. */
	r = store_user_get_by_id(st, user_id, &u);
	if (r != PIM_OK)
		return r;
	return store_err(st, PIM_EEXIST,
	    "a code of this time step (or a later one) was already used");
}
