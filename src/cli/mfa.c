/* pimctl user mfa verbs: enroll (a new TOTP secret, sealed in the vault,
 * handed over as an otpauth:// URI and a QR code) and disable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/totp.h"
#include "pimgate/vault.h"

#include "cli.h"

#define MFA_ISSUER "pimgate"
#define MFA_B32_MAX ((TOTP_SECRET_LEN * 8 + 4) / 5 + 1)
#define MFA_URI_MAX (STORE_NAME_MAX + MFA_B32_MAX + 128)
#define MFA_QUIET 4 /* modules of light border the QR standard asks for */

/* The vault context of NAME's secret, so a sealed secret cannot be moved
 * to another user's row. */
static void
mfa_context(const char *name, char *buf, size_t size)
{
	str_printf(buf, size, "mfa:%s", name);
}

/* Seals SECRET (LEN bytes) for user NAME into *BLOB (malloc'd). */
static int
mfa_seal(struct cli_ctx *ctx, const char *name, const unsigned char *secret,
    size_t len, unsigned char **blob, size_t *blen)
{
	struct vault *v = NULL;
	char context[STORE_NAME_MAX + 8];
	int rc;

	rc = vault_open(ctx->cfg.secret_key, &v);
	if (rc != PIM_OK)
		return cli_fail("cannot open the secret key %s: %s",
		    ctx->cfg.secret_key, pim_strerror(rc));
	mfa_context(name, context, sizeof(context));
	rc = vault_seal(v, context, secret, len, blob, blen);
	vault_close(v);
	if (rc != PIM_OK)
		return cli_fail("cannot seal the secret: %s", pim_strerror(rc));
	return CLI_OK;
}

/* True if the module at (X, Y) of QR is light; the quiet zone around
 * the symbol is light, rows below the quiet zone are not. */
static bool
mfa_qr_light(const QRcode *qr, int x, int y)
{
	int w = qr->width;

	if (y >= w + MFA_QUIET)
		return false;
	if (x < 0 || y < 0 || x >= w || y >= w)
		return true;
	return (qr->data[y * w + x] & 1) == 0;
}

/* Prints QR with UTF-8 half blocks, two module rows per line. The glyphs
 * paint the light modules and the quiet zone; dark modules are left to
 * the terminal's background. So the code reads right (dark on light) on
 * a terminal with light text on a dark background. */
static void
mfa_qr_print(const QRcode *qr, FILE *out)
{
	int lo = -MFA_QUIET, hi = qr->width + MFA_QUIET;

	for (int y = lo; y < hi; y += 2) {
		for (int x = lo; x < hi; x++) {
			bool top = mfa_qr_light(qr, x, y);
			bool bottom = mfa_qr_light(qr, x, y + 1);

			if (top && bottom)
				fputs("\u2588", out);
			else if (top)
				fputs("\u2580", out);
			else if (bottom)
				fputs("\u2584", out);
			else
				fputc(' ', out);
		}
		fputc('\n', out);
	}
}

/* Prints the otpauth:// URI of NAME's SECRET, its QR code and how to
 * hand it over. */
static int
mfa_show(const char *name, const unsigned char *secret, size_t len)
{
	char b32[MFA_B32_MAX], uri[MFA_URI_MAX];
	QRcode *qr = NULL;
	int rc = CLI_OK;

	if (totp_base32(secret, len, b32, sizeof(b32)) == 0 ||
	    !str_printf(uri, sizeof(uri),
		"otpauth://totp/" MFA_ISSUER ":%s?secret=%s&issuer=" MFA_ISSUER
		"&algorithm=SHA1&digits=%d&period=%d",
		name, b32, TOTP_DIGITS, TOTP_STEP)) {
		explicit_bzero(b32, sizeof(b32));
		return cli_fail("cannot format the otpauth URI");
	}

	qr = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	printf("%s\n\n", uri);
	if (qr != NULL) {
		mfa_qr_print(qr, stdout);
		QRcode_free(qr);
	} else {
		rc = cli_fail("cannot draw the QR code; type the URI's secret "
			      "into the authenticator app instead");
	}
	printf("\nScan this with %s's authenticator app, or give them the "
	       "URI, privately (in person, never by mail or chat): anyone "
	       "who has it can make %s's codes. Then clear the screen.\n",
	    name, name);
	explicit_bzero(b32, sizeof(b32));
	explicit_bzero(uri, sizeof(uri));
	return rc;
}

/* True if user ID has a secret already. */
static int
mfa_enrolled(struct cli_ctx *ctx, int64_t id, bool *yes)
{
	unsigned char *blob = NULL;
	size_t len = 0;
	int rc = store_user_mfa(ctx->st, id, &blob, &len, NULL);

	free(blob);
	*yes = rc == PIM_OK;
	if (rc == PIM_OK || rc == PIM_ENOTFOUND)
		return CLI_OK;
	return cli_store_fail(ctx, rc, "cannot read the user's MFA");
}

static int
mfa_enroll_tx(struct cli_ctx *ctx, const char *name, const unsigned char *blob,
    size_t len, bool at_login)
{
	struct store_user u;
	bool replaced = false;
	int rc;

	if (cli_get_user(ctx, name, &u) != CLI_OK ||
	    mfa_enrolled(ctx, u.id, &replaced) != CLI_OK)
		return CLI_FAIL;
	rc = store_user_set_mfa(ctx->st, u.id, blob, len, at_login);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot store the secret");
	return cli_audit(ctx, name, NULL, NULL,
	    "user mfa enroll %s (at login: %s%s)", name,
	    at_login ? "yes" : "no",
	    replaced ? "; replaces the previous secret" : "");
}

int
cmd_user_mfa_enroll(struct cli_ctx *ctx, int argc, char **argv)
{
	bool at_login = false;
	const struct cli_opt opts[] = {
	    {"--mfa-at-login", CLI_OPT_FLAG, &at_login},
	    {NULL, 0, NULL},
	};
	unsigned char secret[TOTP_SECRET_LEN];
	unsigned char *blob = NULL;
	size_t blen = 0;
	const char *name;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, &name, 1);
	if (rc == CLI_OK)
		rc = cli_check_name("user", name);
	if (rc != CLI_OK)
		return rc;

	if (cli_store(ctx, &st) != CLI_OK)
		return CLI_FAIL;
	if (totp_new_secret(secret, sizeof(secret)) != PIM_OK)
		return cli_fail("cannot make a random secret");
	rc = mfa_seal(ctx, name, secret, sizeof(secret), &blob, &blen);
	if (rc == CLI_OK)
		rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(
		    ctx, mfa_enroll_tx(ctx, name, blob, blen, at_login));
	/* Shown only once it is stored: a failed enrollment hands out no
	 * secret. */
	if (rc == CLI_OK)
		rc = mfa_show(name, secret, sizeof(secret));
	explicit_bzero(secret, sizeof(secret));
	free(blob);
	return rc;
}

static int
mfa_disable_tx(struct cli_ctx *ctx, const char *name)
{
	struct store_user u;
	bool enrolled = false;
	int rc;

	if (cli_get_user(ctx, name, &u) != CLI_OK ||
	    mfa_enrolled(ctx, u.id, &enrolled) != CLI_OK)
		return CLI_FAIL;
	if (!enrolled)
		return cli_fail("user %s has no authenticator enrolled", name);
	rc = store_user_set_mfa(ctx->st, u.id, NULL, 0, false);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot remove the secret");
	return cli_audit(ctx, name, NULL, NULL, "user mfa disable %s", name);
}

int
cmd_user_mfa_disable(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *name;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, &name, 1);
	if (rc == CLI_OK)
		rc = cli_check_name("user", name);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, mfa_disable_tx(ctx, name));
}
