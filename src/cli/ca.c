/* pimctl and the bastion's certificate authority (src/vault/ca.c): the
 * CA steps of `pimctl init`, `ca cert` (the CA certificate people give
 * psql as sslrootcert) and `ca server-cert` (a new TLS certificate for
 * the PostgreSQL listener). */
#include <stdio.h>
#include <string.h>

#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"

#include "cli.h"

#define CA_ERR_MAX 512

int
cli_ca_create(const struct config *cfg)
{
	char err[CA_ERR_MAX];
	int rc =
	    ca_create(cfg->ca_cert, cfg->ca_key, clock_now(), err, sizeof(err));

	if (rc != PIM_OK)
		return cli_fail("cannot create the CA: %s", err);
	return CLI_OK;
}

int
cli_ca_load(struct cli_ctx *ctx, struct ca **out)
{
	char err[CA_ERR_MAX];
	int rc =
	    ca_load(ctx->cfg.ca_cert, ctx->cfg.ca_key, out, err, sizeof(err));

	if (rc != PIM_OK)
		return cli_fail("cannot load the CA: %s", err);
	return CLI_OK;
}

int
cli_ca_server_cert(struct cli_ctx *ctx, struct ca *ca, const char *names)
{
	const struct config *cfg = &ctx->cfg;
	char err[CA_ERR_MAX];
	int rc;

	rc = ca_issue_server(ca, names, cfg->pg_tls_cert, cfg->pg_tls_key,
	    clock_now(), err, sizeof(err));
	if (rc == PIM_EINVAL)
		return cli_bad_arg("invalid server names '%s': %s", names, err);
	if (rc != PIM_OK)
		return cli_fail("cannot issue the PostgreSQL listener's "
				"certificate: %s",
		    err);
	return CLI_OK;
}

int
cmd_ca_cert(struct cli_ctx *ctx, int argc, char **argv)
{
	struct ca *ca = NULL;
	int rc;

	rc = cli_parse(argc, argv, NULL, NULL, 0);
	if (rc == CLI_OK)
		rc = cli_ca_load(ctx, &ca);
	if (rc == CLI_OK && fputs(ca_cert_pem(ca), stdout) == EOF)
		rc = cli_fail("cannot write the certificate");
	ca_free(ca);
	return rc;
}

/* The new certificate, then its audit event, in one transaction. */
static int
ca_server_cert_tx(struct cli_ctx *ctx, struct ca *ca, const char *names)
{
	int rc = cli_ca_server_cert(ctx, ca, names);

	if (rc != CLI_OK)
		return rc;
	return cli_audit(ctx, NULL, NULL, NULL,
	    "ca server-cert %s (key %s) names %s", ctx->cfg.pg_tls_cert,
	    ctx->cfg.pg_tls_key, names);
}

int
cmd_ca_server_cert(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *names = NULL;
	const struct cli_opt opts[] = {
	    {"--names", CLI_OPT_VALUE, &names},
	    {NULL, 0, NULL},
	};
	struct ca *ca = NULL;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK)
		return rc;
	if (names == NULL)
		names = ctx->cfg.pg_server_names;
	rc = cli_store(ctx, &st);
	if (rc == CLI_OK)
		rc = cli_ca_load(ctx, &ca);
	if (rc == CLI_OK)
		rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(ctx, ca_server_cert_tx(ctx, ca, names));
	ca_free(ca);
	if (rc == CLI_OK)
		printf("issued %s (key %s) for %s\n", ctx->cfg.pg_tls_cert,
		    ctx->cfg.pg_tls_key, names);
	return rc;
}
