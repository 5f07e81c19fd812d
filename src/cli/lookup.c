/* Lookups by name for pimctl verbs, with the reason a person can act on
 * when the name is unknown. */
#include "pimgate/err.h"

#include "cli.h"

/* Turns the result RC of looking up WHAT NAME into a CLI status. */
static int
cli_lookup_result(
    struct cli_ctx *ctx, int rc, const char *what, const char *name)
{
	if (rc == PIM_OK)
		return CLI_OK;
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no %s %s", what, name);
	return cli_store_fail(ctx, rc, "cannot read the store");
}

int
cli_get_user(struct cli_ctx *ctx, const char *name, struct store_user *u)
{
	return cli_lookup_result(
	    ctx, store_user_get(ctx->st, name, u), "user", name);
}

int
cli_get_role(struct cli_ctx *ctx, const char *name, struct store_role *r)
{
	return cli_lookup_result(
	    ctx, store_role_get(ctx->st, name, r), "role", name);
}

int
cli_get_target(struct cli_ctx *ctx, const char *name, struct store_target *t)
{
	return cli_lookup_result(
	    ctx, store_target_get(ctx->st, name, t), "target", name);
}
