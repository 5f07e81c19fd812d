/* `pimctl backup FILE`: a consistent copy of the store, taken while
 * pimgated runs (the store module's online backup), then a summary of
 * what it holds and the list of key files a restore needs as well: the
 * copy holds sealed secrets, never the keys that open them. */
#include <stdio.h>
#include <sys/stat.h>

#include "pimgate/err.h"

#include "cli.h"

/* One key file a restore needs, and what it is for. */
struct backup_key {
	const char *path;
	const char *what;
};

static int
backup_fail(struct cli_ctx *ctx, int rc)
{
	if (rc == PIM_EEXIST)
		return cli_fail(
		    "%s; give --force to replace it", store_errmsg(ctx->st));
	return cli_store_fail(ctx, rc, "backup failed");
}

static void
backup_print_summary(const char *path, const struct store_backup_summary *s)
{
	printf("backup written to %s (owner-only; %lld pages, schema %lld)\n",
	    path, (long long)s->pages, (long long)s->schema_version);
	printf("integrity check: ok\n");
	printf("users %lld, roles %lld, targets %lld, assignments %lld, "
	       "activations %lld, sessions %lld, audit events %lld\n",
	    (long long)s->users, (long long)s->roles, (long long)s->targets,
	    (long long)s->assignments, (long long)s->activations,
	    (long long)s->sessions, (long long)s->audit_events);
	if (s->audit_head_id == 0)
		printf("audit chain head: none (no events)\n");
	else
		printf("audit chain head: event %lld, hash %s\n",
		    (long long)s->audit_head_id,
		    s->audit_head[0] ? s->audit_head : "- (unchained)");
}

/* The key files of the configuration, and whether each is there. */
static void
backup_print_keys(const struct config *cfg)
{
	const struct backup_key keys[] = {
	    {cfg->secret_key,
		"secret key: opens the sealed target credentials and TOTP "
		"secrets"},
	    {cfg->ca_key, "CA private key: signs client certificates"},
	    {cfg->ca_cert, "CA certificate: what clients trust"},
	    {cfg->host_key, "SSH host key: what SSH clients have pinned"},
	    {cfg->pg_tls_key, "PostgreSQL listener TLS key"},
	    {cfg->pg_tls_cert, "PostgreSQL listener TLS certificate"},
	    {cfg->audit_key, "audit signing key: signs chain checkpoints"},
	};
	struct stat sb;

	printf("\nSealed secrets stay sealed in this copy: the keys that open "
	       "them are not in it.\n"
	       "A restore needs these files too; keep them apart from the "
	       "copy:\n");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].path == NULL)
			continue;
		printf("  %s%s\n      %s\n", keys[i].path,
		    stat(keys[i].path, &sb) == 0 ? "" : " (not present now)",
		    keys[i].what);
	}
	printf("Recordings (%s) are files of their own: copy them "
	       "separately.\n",
	    cfg->recordings_dir);
}

int
cmd_backup(struct cli_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	const struct cli_opt opts[] = {
	    {"--force", CLI_OPT_FLAG, &force},
	    {NULL, 0, NULL},
	};
	struct store_backup_summary sum;
	const char *path = NULL;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, &path, 1);
	if (rc != CLI_OK)
		return rc;
	if (path[0] == '\0')
		return cli_bad_arg("FILE may not be empty");
	if (cli_store(ctx, &st) != CLI_OK)
		return CLI_FAIL;
	rc = store_backup(st, path, force, &sum);
	if (rc != PIM_OK)
		return backup_fail(ctx, rc);

	backup_print_summary(path, &sum);
	backup_print_keys(&ctx->cfg);
	/* Who took a copy of the store, and of which chain head, is a
	 * question for the audit trail too. */
	return cli_audit(ctx, NULL, NULL, NULL,
	    "backup to %s: %lld audit events, head %lld", path,
	    (long long)sum.audit_events, (long long)sum.audit_head_id);
}
