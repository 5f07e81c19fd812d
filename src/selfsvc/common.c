/* Steps every self-service verb shares: the audit event, the end of a
 * transaction, opening the person's TOTP secret, times for people. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/str.h"

#include "selfsvc_int.h"

int
selfsvc_audit(const struct selfsvc_ctx *ctx, const char *outcome,
    const char *user, const char *role, const char *fmt, ...)
{
	char detail[STORE_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	selfsvc_text_cut(detail);
	return audit_log(ctx->st, ctx->user, SELFSVC_AUDIT_EVENT, outcome, user,
	    NULL, role, 0, ctx->peer, detail);
}

int
selfsvc_finish(struct store *st, int rc)
{
	if (rc != PIM_OK) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

/* Reads the sealed secret of the user; ENOTFOUND if none. */
static int
common_sealed_mfa(
    const struct selfsvc_ctx *ctx, unsigned char **sealed, size_t *len)
{
	struct store_user u;
	bool at_login;
	int rc;

	*sealed = NULL;
	rc = store_user_get(ctx->st, ctx->user, &u);
	if (rc != PIM_OK)
		return rc;
	return store_user_mfa(ctx->st, u.id, sealed, len, &at_login);
}

int
selfsvc_open_mfa(
    const struct selfsvc_ctx *ctx, unsigned char **secret, size_t *len)
{
	int rc = vault_open_mfa(
	    ctx->vault, ctx->st, ctx->user, NULL, secret, len, NULL);

	if (rc == PIM_ESTORE)
		return rc;
	if (rc != PIM_OK && rc != PIM_ENOTFOUND)
		log_error("cannot open the MFA secret of a user");
	return PIM_OK; /* without a secret, the policy says what is missing */
}

bool
selfsvc_has_mfa(const struct selfsvc_ctx *ctx)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	rc = common_sealed_mfa(ctx, &sealed, &len);
	free(sealed);
	return rc == PIM_OK;
}

const char *
selfsvc_instant(int64_t t, char *buf, size_t size)
{
	instant_format(t, buf, size);
	return buf;
}

const char *
selfsvc_left(int64_t now, int64_t end, char *buf, size_t size)
{
	int64_t left = end > now ? end - now : 0;

	if (left > 60)
		left = (left + 59) / 60 * 60;
	duration_format(left, buf, size);
	return buf;
}
