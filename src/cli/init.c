/* `pimctl init`: creates the state directory and everything in it, with
 * owner-only permissions, and refuses to touch an existing state. If a
 * step fails, what this run created is removed again, so init can simply
 * be run once more. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pimgate/audit.h"
#include "pimgate/ca.h"
#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "cli.h"

#define INIT_UNDO_MAX 16

/* What this run created, to remove it again on failure. */
struct init_undo {
	char *files[INIT_UNDO_MAX];
	int nfiles;
	const char *dirs[2];
	int ndirs;
};

/* Remembers PATH (which does not exist yet) as created by this run. */
static void
init_undo_file(struct init_undo *u, const char *path)
{
	if (u->nfiles < INIT_UNDO_MAX)
		u->files[u->nfiles++] = strdup(path);
}

/* Removes what this run created (if FAILED) and frees U. */
static void
init_undo_finish(struct init_undo *u, bool failed)
{
	for (int i = u->nfiles - 1; i >= 0; i--) {
		if (failed && u->files[i] != NULL)
			unlink(u->files[i]);
		free(u->files[i]);
	}
	for (int i = u->ndirs - 1; failed && i >= 0; i--)
		rmdir(u->dirs[i]);
}

static bool
init_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Refuses an existing state, or any file init would overwrite. */
static int
init_check_fresh(const struct config *cfg)
{
	const char *files[] = {cfg->host_key, cfg->ca_key, cfg->ca_cert,
	    cfg->pg_tls_cert, cfg->pg_tls_key, cfg->audit_key};
	char pub[PATH_MAX];

	if (init_exists(cfg->db_path) || init_exists(cfg->secret_key))
		return cli_fail(
		    "state already initialised at %s", cfg->state_dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (init_exists(files[i]))
			return cli_fail("%s already exists; refusing to "
					"overwrite it",
			    files[i]);
	}
	if (str_printf(pub, sizeof(pub), "%s.pub", cfg->host_key) &&
	    init_exists(pub))
		return cli_fail(
		    "%s already exists; refusing to overwrite it", pub);
	return CLI_OK;
}

/* Creates directory PATH (0700), or tightens an existing one to 0700. */
static int
init_dir(const char *path, struct init_undo *u)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0) {
		u->dirs[u->ndirs++] = path;
		return CLI_OK;
	}
	if (errno != EEXIST)
		return cli_fail("cannot create %s: %s", path, strerror(errno));
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_fail("%s exists and is not a directory", path);
	if (chmod(path, 0700) != 0)
		return cli_fail("cannot chmod %s: %s", path, strerror(errno));
	return CLI_OK;
}

/* Writes the ed25519 key pair to PATH (0600) and PATH.pub (0644); its
 * fingerprint goes into FP. */
static int
init_host_key(const char *path, char *fp, size_t fplen, struct init_undo *u)
{
	char pub[PATH_MAX];
	ssh_key key = NULL;
	int rc = CLI_FAIL;

	if (!str_printf(pub, sizeof(pub), "%s.pub", path))
		return cli_fail("path too long: %s", path);
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return cli_fail("cannot generate the SSH host key");

	init_undo_file(u, path);
	if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) !=
		SSH_OK ||
	    chmod(path, 0600) != 0) {
		cli_fail("cannot write the SSH host key %s", path);
		goto out;
	}
	init_undo_file(u, pub);
	if (ssh_pki_export_pubkey_file(key, pub) != SSH_OK ||
	    chmod(pub, 0644) != 0) {
		cli_fail("cannot write the SSH host public key %s", pub);
		goto out;
	}
	if (cli_key_fingerprint(key, fp, fplen) != CLI_OK)
		str_copy(fp, "?", fplen);
	rc = CLI_OK;
out:
	ssh_key_free(key);
	return rc;
}

static int
init_secret_key(const char *path, struct init_undo *u)
{
	int rc;

	init_undo_file(u, path);
	rc = vault_keygen(path);
	if (rc != PIM_OK)
		return cli_fail("cannot write the secret key %s: %s", path,
		    pim_strerror(rc));
	return CLI_OK;
}

/* The Ed25519 key that signs checkpoints of the audit chain. */
static int
init_audit_key(const char *path, struct init_undo *u)
{
	char err[512];

	init_undo_file(u, path);
	if (audit_key_create(path, err, sizeof(err)) != PIM_OK)
		return cli_fail("%s", err);
	return CLI_OK;
}

/* The CA, then the PostgreSQL listener's certificate it signs. */
static int
init_ca(struct cli_ctx *ctx, struct init_undo *u)
{
	const struct config *cfg = &ctx->cfg;
	struct ca *ca = NULL;
	int rc;

	init_undo_file(u, cfg->ca_key);
	init_undo_file(u, cfg->ca_cert);
	rc = cli_ca_create(cfg);
	if (rc == CLI_OK)
		rc = cli_ca_load(ctx, &ca);
	if (rc != CLI_OK)
		return rc;
	init_undo_file(u, cfg->pg_tls_key);
	init_undo_file(u, cfg->pg_tls_cert);
	rc = cli_ca_server_cert(ctx, ca, cfg->pg_server_names);
	ca_free(ca);
	return rc == CLI_OK ? CLI_OK : CLI_FAIL;
}

/* Creates the database and records the init in the audit trail. */
static int
init_store(struct cli_ctx *ctx, struct init_undo *u)
{
	const char *db = ctx->cfg.db_path;
	char side[PATH_MAX];
	int rc;

	init_undo_file(u, db);
	if (str_printf(side, sizeof(side), "%s-wal", db))
		init_undo_file(u, side);
	if (str_printf(side, sizeof(side), "%s-shm", db))
		init_undo_file(u, side);
	rc = store_open(db, true, &ctx->st);
	if (rc != PIM_OK) {
		ctx->st = NULL;
		return cli_fail(
		    "cannot create the database %s: %s", db, pim_strerror(rc));
	}
	return cli_audit(ctx, NULL, NULL, NULL, "init %s", ctx->cfg.state_dir);
}

/* Signs checkpoint #1, of the init event, into CP: from its birth the
 * store holds a signed checkpoint, so one that holds none has lost
 * them (audit verify says so). */
static int
init_checkpoint(struct cli_ctx *ctx, struct store_checkpoint *cp)
{
	struct audit_key *k = NULL;
	char err[512], why[AUDIT_CHECKPOINT_WHY_MAX];
	int r;

	r = audit_key_load(ctx->cfg.audit_key, &k, err, sizeof(err));
	if (r != PIM_OK)
		return cli_fail("%s", err);
	/* The key was just made: this is the first checkpoint. */
	r = audit_checkpoint_take(ctx->st, k, true, cp, why, sizeof(why));
	audit_key_free(k);
	if (r == PIM_EDENIED)
		return cli_fail("%s", why);
	if (r == PIM_ECRYPTO)
		return cli_fail("cannot sign the first audit checkpoint");
	if (r != PIM_OK)
		return cli_store_fail(
		    ctx, r, "cannot take the first audit checkpoint");
	return CLI_OK;
}

/* Every step, in order; U collects what was created. */
static int
init_steps(struct cli_ctx *ctx, char *fp, size_t fplen,
    struct store_checkpoint *cp, struct init_undo *u)
{
	const struct config *cfg = &ctx->cfg;

	if (init_check_fresh(cfg) != CLI_OK ||
	    init_dir(cfg->state_dir, u) != CLI_OK ||
	    init_dir(cfg->recordings_dir, u) != CLI_OK ||
	    init_host_key(cfg->host_key, fp, fplen, u) != CLI_OK)
		return CLI_FAIL;
	if (init_ca(ctx, u) != CLI_OK ||
	    init_secret_key(cfg->secret_key, u) != CLI_OK ||
	    init_audit_key(cfg->audit_key, u) != CLI_OK ||
	    init_store(ctx, u) != CLI_OK || init_checkpoint(ctx, cp) != CLI_OK)
		return CLI_FAIL;
	return CLI_OK;
}

static void
init_report(
    const struct config *cfg, const char *fp, const struct store_checkpoint *cp)
{
	printf("initialised pimgate state in %s\n", cfg->state_dir);
	printf("  database      %s\n", cfg->db_path);
	printf("  recordings    %s\n", cfg->recordings_dir);
	printf("  SSH host key  %s (%s ssh-ed25519)\n", cfg->host_key, fp);
	printf("  CA            %s, %s (CN=pimgate CA)\n", cfg->ca_cert,
	    cfg->ca_key);
	printf("  PostgreSQL    %s, %s (%s)\n", cfg->pg_tls_cert,
	    cfg->pg_tls_key, cfg->pg_server_names);
	printf("  secret key    %s\n", cfg->secret_key);
	printf("  audit key     %s (signs audit checkpoints; 'pimctl audit "
	       "key' prints its public half)\n",
	    cfg->audit_key);
	printf("  checkpoint    #%lld signs audit event #%lld (key %s)\n",
	    (long long)cp->id, (long long)cp->head_id, cp->key_id);
}

int
cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	struct init_undo undo = {.nfiles = 0};
	struct store_checkpoint cp = {0};
	char fp[128] = "?";
	mode_t old_mask;
	int rc;

	rc = cli_parse(argc, argv, NULL, NULL, 0);
	if (rc != CLI_OK)
		return rc;
	if (ctx->cfg.state_dir == NULL)
		return cli_fail(
		    "%s sets no [server] state_dir", ctx->conf_path);

	old_mask = umask(077);
	rc = init_steps(ctx, fp, sizeof(fp), &cp, &undo);
	umask(old_mask);
	if (rc != CLI_OK && ctx->st != NULL) {
		store_close(ctx->st);
		ctx->st = NULL;
	}
	init_undo_finish(&undo, rc != CLI_OK);
	if (rc == CLI_OK)
		init_report(&ctx->cfg, fp, &cp);
	return rc;
}
