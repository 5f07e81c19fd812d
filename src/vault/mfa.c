/* Users' authenticator (TOTP) secrets: sealed in the store under the
 * context "mfa:USER", opened here for whoever checks a code (the SSH and
 * PostgreSQL front ends, self-service, pimctl). */
#include <stdlib.h>

#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

int
vault_mfa_context(const char *user, char *buf, size_t size)
{
	return str_printf(buf, size, "mfa:%s", user) ? PIM_OK : PIM_EINVAL;
}

int
vault_open_mfa(struct vault *v, struct store *st, const char *user,
    int64_t *user_id, unsigned char **secret, size_t *len, bool *at_login)
{
	struct store_user u;
	unsigned char *sealed = NULL;
	char context[STORE_NAME_MAX + 8];
	size_t slen = 0;
	bool login = false;
	int rc;

	*secret = NULL;
	*len = 0;
	rc = store_user_get(st, user, &u);
	if (user_id != NULL)
		*user_id = rc == PIM_OK ? u.id : 0;
	if (rc == PIM_OK)
		rc = store_user_mfa(st, u.id, &sealed, &slen, &login);
	if (at_login != NULL)
		*at_login = rc == PIM_OK && login;
	if (rc != PIM_OK)
		return rc;
	rc = vault_mfa_context(user, context, sizeof(context));
	if (rc == PIM_OK)
		rc = v != NULL
			 ? vault_unseal(v, context, sealed, slen, secret, len)
			 : PIM_ECRYPTO;
	free(sealed);
	if (rc != PIM_OK) {
		*secret = NULL;
		*len = 0;
	}
	return rc;
}
