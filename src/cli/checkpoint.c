/* pimctl audit key, audit checkpoint, and the checkpoint half of audit
 * verify: the bastion's Ed25519 key signs the audit chain's head, so a
 * tail cut off the trail still shows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"

#include "cli.h"

/* Findings printed by one verify run; the rest are only counted. */
#define CKPT_FINDINGS_SHOWN 50

/* Loads the signing key, creating it first when CREATED is not NULL and
 * the file is missing (a state made before checkpoints existed, or a
 * lost key); *CREATED then says whether it was. */
static int
ckpt_key(const struct config *cfg, bool *created, struct audit_key **k)
{
	char err[512];
	int r;

	r = audit_key_load(cfg->audit_key, k, err, sizeof(err));
	if (r == PIM_ENOTFOUND && created != NULL) {
		r = audit_key_create(cfg->audit_key, err, sizeof(err));
		*created = r == PIM_OK;
		if (r == PIM_OK || r == PIM_EEXIST)
			r = audit_key_load(cfg->audit_key, k, err, sizeof(err));
	}
	if (r != PIM_OK)
		return cli_fail("%s", err);
	return CLI_OK;
}

/* Counts the checkpoints signed by another key than the one in ARG. */
struct ckpt_others {
	const char *key_id;
	int64_t n;
	char example[STORE_KEY_ID_MAX];
};

static int
ckpt_other_cb(const struct store_checkpoint *cp, void *arg)
{
	struct ckpt_others *o = arg;

	if (strcmp(cp->key_id, o->key_id) != 0 && o->n++ == 0)
		snprintf(o->example, sizeof(o->example), "%s", cp->key_id);
	return 0;
}

/* After a new key replaced a missing one: the checkpoints already
 * stored were signed by the old key, and verify will say so. */
static void
ckpt_warn_new_key(struct cli_ctx *ctx, const struct audit_key *k)
{
	struct ckpt_others o = {.key_id = audit_key_id(k)};
	struct store *st;

	if (access(ctx->cfg.db_path, F_OK) != 0 ||
	    cli_store(ctx, &st) != CLI_OK ||
	    store_checkpoint_list(st, ckpt_other_cb, &o) != PIM_OK || o.n == 0)
		return;
	fprintf(stderr,
	    "warning: a new key was made; %lld stored checkpoints were signed "
	    "by another key (%s): audit verify reports them unless given "
	    "that key's public half with --pubkey\n",
	    (long long)o.n, o.example[0] ? o.example : "-");
}

int
cmd_audit_key(struct cli_ctx *ctx, int argc, char **argv)
{
	struct audit_key *k = NULL;
	bool created = false;
	char *pem;
	int rc;

	rc = cli_parse(argc, argv, NULL, NULL, 0);
	if (rc != CLI_OK)
		return rc;
	if (ckpt_key(&ctx->cfg, &created, &k) != CLI_OK)
		return CLI_FAIL;
	if (created) {
		ckpt_warn_new_key(ctx, k);
		/* Nothing signed by this key is stored yet: no checkpoint is
		 * taken automatically until the first one is. */
		fprintf(stderr,
		    "note: no checkpoint is signed by the new key yet; after "
		    "checking the trail with pimctl audit verify, take the "
		    "first with pimctl audit checkpoint --first\n");
	}
	pem = audit_key_public_pem(k);
	if (pem == NULL) {
		audit_key_free(k);
		return cli_fail("cannot write the public key");
	}
	/* The PEM alone on stdout, so it can go straight to a file. */
	fputs(pem, stdout);
	fprintf(stderr, "audit signing key %s (id %s)\n", ctx->cfg.audit_key,
	    audit_key_id(k));
	free(pem);
	audit_key_free(k);
	return CLI_OK;
}

int
cmd_audit_checkpoint(struct cli_ctx *ctx, int argc, char **argv)
{
	char why[AUDIT_CHECKPOINT_WHY_MAX], line[AUDIT_CHECKPOINT_LINE_MAX];
	struct store_checkpoint cp;
	struct audit_key *k = NULL;
	bool first = false;
	const struct cli_opt opts[] = {
	    {"--first", CLI_OPT_FLAG, &first},
	    {NULL, CLI_OPT_FLAG, NULL},
	};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	if (ckpt_key(&ctx->cfg, NULL, &k) != CLI_OK)
		return CLI_FAIL;
	rc = audit_checkpoint_take(st, k, first, &cp, why, sizeof(why));
	audit_key_free(k);
	if (rc == PIM_EDENIED)
		return cli_fail("%s", why);
	if (rc == PIM_ECRYPTO)
		return cli_fail("cannot sign the checkpoint");
	if (rc != PIM_OK && rc != PIM_EEXIST)
		return cli_store_fail(ctx, rc, "cannot take a checkpoint");
	if (rc == PIM_EEXIST)
		fprintf(stderr, "the newest checkpoint already signs the "
				"head: nothing new signed\n");
	/* The same line the daemon logs: it can go to syslog (logger) and
	 * be given back to audit verify --checkpoints. */
	audit_checkpoint_line(&cp, line, sizeof(line));
	puts(line);
	return CLI_OK;
}

/* ---- audit verify: the checkpoints ---- */

struct ckpt_lines {
	struct store_checkpoint *v;
	size_t n, cap;
	int bad; /* lines that hold a checkpoint that cannot be read */
};

static int
ckpt_lines_push(struct ckpt_lines *l, const struct store_checkpoint *cp)
{
	struct store_checkpoint *nv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;

		nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return CLI_FAIL;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *cp;
	return CLI_OK;
}

/* Reads every checkpoint line of PATH (a copy of the daemon's log, of
 * syslog, or of audit checkpoint's output); other lines are skipped. */
static int
ckpt_read_lines(const char *path, struct ckpt_lines *l)
{
	struct store_checkpoint cp;
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = CLI_OK, r;

	if (f == NULL)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	while (rc == CLI_OK && getline(&line, &cap, f) >= 0) {
		lineno++;
		r = audit_checkpoint_parse(line, &cp);
		if (r == PIM_OK)
			rc = ckpt_lines_push(l, &cp);
		else if (r != PIM_ENOTFOUND) {
			cli_fail("%s:%ld: a checkpoint line that cannot be "
				 "read",
			    path, lineno);
			l->bad++;
		}
	}
	if (rc == CLI_OK && ferror(f))
		rc = cli_fail("cannot read %s", path);
	free(line);
	fclose(f);
	return rc;
}

struct ckpt_report {
	int64_t shown, more;
};

static void
ckpt_finding(const char *finding, void *arg)
{
	struct ckpt_report *rep = arg;

	if (rep->shown++ < CKPT_FINDINGS_SHOWN)
		cli_fail("%s", finding);
	else
		rep->more++;
}

static int
ckpt_count_cb(const struct store_checkpoint *cp, void *arg)
{
	(void)cp;
	(*(int64_t *)arg)++;
	return 0;
}

/* The key to check with: the auditor's public key file, else the
 * configured signing key. *K stays NULL (and CLI_OK is returned) when
 * there is no key and nothing to check with one. */
static int
ckpt_verify_key(struct cli_ctx *ctx, struct store *st, const char *pubkey,
    size_t nlines, struct audit_key **k)
{
	int64_t n = 0;
	char err[512];
	int r;

	if (pubkey != NULL) {
		r = audit_key_load_public(pubkey, k, err, sizeof(err));
		return r == PIM_OK ? CLI_OK : cli_fail("%s", err);
	}
	r = audit_key_load(ctx->cfg.audit_key, k, err, sizeof(err));
	if (r == PIM_OK)
		return CLI_OK;
	if (r == PIM_ENOTFOUND && nlines == 0 &&
	    store_checkpoint_list(st, ckpt_count_cb, &n) == PIM_OK && n == 0)
		return CLI_OK;
	return cli_fail("cannot check the checkpoints: %s", err);
}

/* The verdict line of an intact set of checkpoints, into BUF: the
 * newest, and how many events came after it (vouched for by no
 * signature yet). */
static void
ckpt_summary(const struct audit_cp_check *res, const struct audit_key *k,
    char *buf, size_t size)
{
	char when[32];

	instant_format(res->newest.ts_ms / 1000, when, sizeof(when));
	snprintf(buf, size,
	    "checkpoints intact: %lld signed by key %s; newest #%lld of %s "
	    "signs event #%lld, %lld events; %lld events after it, not yet "
	    "signed",
	    (long long)res->checked, k != NULL ? audit_key_id(k) : "-",
	    (long long)res->newest.id, when, (long long)res->newest.head_id,
	    (long long)res->newest.count, (long long)res->unsigned_events);
}

int
cli_audit_verify_checkpoints(struct cli_ctx *ctx, struct store *st,
    const char *pubkey, const char *lines_path, char *summary, size_t size)
{
	struct ckpt_lines lines = {0};
	struct ckpt_report rep = {0};
	struct audit_cp_check res;
	struct audit_key *k = NULL;
	int rc = CLI_OK, r;

	if (lines_path != NULL)
		rc = ckpt_read_lines(lines_path, &lines);
	if (rc == CLI_OK)
		rc = ckpt_verify_key(ctx, st, pubkey, lines.n, &k);
	/* Without a key there is nothing stored to check with one, and
	 * that, no checkpoint, is itself a finding. */
	if (rc == CLI_OK) {
		r = audit_verify_checkpoints(
		    st, k, lines.v, lines.n, ckpt_finding, &rep, &res);
		if (r == PIM_ECRYPTO)
			rc = cli_fail("cannot check the checkpoints: a "
				      "signature check failed");
		else if (r != PIM_OK && r != PIM_EDENIED)
			rc = cli_store_fail(
			    ctx, r, "cannot check the checkpoints");
		else if (r == PIM_EDENIED)
			rc = CLI_FAIL;
	}
	if (rep.more > 0)
		cli_fail("... and %lld more findings", (long long)rep.more);
	if (rc == CLI_OK && lines.bad > 0)
		rc = CLI_FAIL;
	if (rc == CLI_OK)
		ckpt_summary(&res, k, summary, size);
	audit_key_free(k);
	free(lines.v);
	return rc;
}
