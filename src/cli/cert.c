/* pimctl cert verbs: issue (a client certificate for a database target,
 * on a user's behalf, through the same steps as self-service db-cert),
 * list and revoke. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/selfsvc.h"
#include "pimgate/str.h"

#include "cli.h"

/* A certificate request read from a file: at most CA_CSR_MAX + 1 bytes
 * (one more than allowed, so that the CA can say it is too large). */
struct cert_csr {
	char data[CA_CSR_MAX + 1];
	size_t len;
};

static int
cert_read_fd(int fd, const char *path, struct cert_csr *c)
{
	ssize_t n;

	c->len = 0;
	while (c->len < sizeof(c->data)) {
		n = read(fd, c->data + c->len, sizeof(c->data) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_fail(
			    "cannot read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		c->len += (size_t)n;
	}
	return CLI_OK;
}

/* Reads the request in PATH ("-": standard input). */
static int
cert_read_csr(const char *path, struct cert_csr *c)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return cert_read_fd(STDIN_FILENO, "standard input", c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail("cannot open %s: %s", path, strerror(errno));
	rc = cert_read_fd(fd, path, c);
	close(fd);
	return rc;
}

/* Issues the certificate and prints it; a refusal is on record. */
static int
cert_issue(struct cli_ctx *ctx, const char *user, const char *target,
    const struct cert_csr *csr)
{
	char reason[POLICY_REASON_MAX], note[POLICY_REASON_MAX];
	struct selfsvc_cert c;
	struct ca *ca = NULL;
	struct store *st;
	int rc;

	if (cli_store(ctx, &st) != CLI_OK || cli_ca_load(ctx, &ca) != CLI_OK)
		return CLI_FAIL;
	rc = selfsvc_cert_issue(st, ca, user, target, csr->data, csr->len,
	    ctx->actor, NULL, clock_now(), &c, reason, sizeof(reason));
	ca_free(ca);
	if (rc == PIM_EBUSY)
		return cli_fail("the database is busy; try again");
	if (rc != PIM_OK)
		return cli_fail("%s", reason);
	selfsvc_cert_note(&c, note, sizeof(note));
	fputs(c.pem, stdout);
	fprintf(stderr, "certificate %s for %s on %s, %s\n", c.serial, user,
	    target, note);
	free(c.pem);
	return CLI_OK;
}

int
cmd_cert_issue(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2], *path = NULL;
	const struct cli_opt opts[] = {
	    {"--csr", CLI_OPT_VALUE, &path},
	    {NULL, 0, NULL},
	};
	struct cert_csr *csr;
	int rc;

	rc = cli_parse(argc, argv, opts, pos, 2);
	if (rc == CLI_OK)
		rc = cli_check_name("user", pos[0]);
	if (rc == CLI_OK)
		rc = cli_check_name("target", pos[1]);
	if (rc == CLI_OK && path == NULL)
		rc = cli_bad_arg("--csr FILE is needed (the request, PEM)");
	if (rc != CLI_OK)
		return rc;
	csr = malloc(sizeof(*csr));
	if (csr == NULL)
		return cli_fail("out of memory");
	rc = cert_read_csr(path, csr);
	if (rc == CLI_OK)
		rc = cert_issue(ctx, pos[0], pos[1], csr);
	free(csr);
	return rc;
}

/* ---- list ---- */

/* A listed certificate and its state at the time of listing. */
struct cert_item {
	struct store_cert c;
	const char *state;
};

/* The state of C at NOW: revoked, expired, ended (the grant it was
 * issued under no longer holds: policy_cert_accept, asked about C's own
 * user and target once revocation and expiry are ruled out, refuses
 * nothing else) or valid. PIM_ESTORE if the store fails. */
static int
cert_state(
    struct store *st, const struct store_cert *c, int64_t now, const char **out)
{
	char reason[POLICY_REASON_MAX];
	int64_t at = now < c->not_before ? c->not_before : now;
	int rc;

	if (c->revoked != 0) {
		*out = "revoked";
		return PIM_OK;
	}
	if (now >= c->not_after) {
		*out = "expired";
		return PIM_OK;
	}
	rc = policy_cert_accept(
	    st, c->serial, c->user, c->target, at, reason, sizeof(reason));
	if (rc != PIM_OK && rc != PIM_EDENIED)
		return rc;
	*out = rc == PIM_OK ? "valid" : "ended";
	return PIM_OK;
}

/* Sets the state of every certificate of V at NOW. */
static int
cert_states(struct store *st, struct cli_vec *v, int64_t now)
{
	int rc = PIM_OK;

	for (size_t i = 0; rc == PIM_OK && i < v->n; i++) {
		struct cert_item *it = cli_vec_at(v, i);

		rc = cert_state(st, &it->c, now, &it->state);
	}
	return rc;
}

/* "activation 12" or "assignment 3". */
static void
cert_grant(const struct store_cert *c, char *buf, size_t size)
{
	if (c->activation_id != 0)
		snprintf(
		    buf, size, "activation %lld", (long long)c->activation_id);
	else
		snprintf(
		    buf, size, "assignment %lld", (long long)c->assignment_id);
}

static int
cert_collect(const struct store_cert *c, void *arg)
{
	struct cert_item it = {*c, NULL};

	return cli_vec_push(arg, &it);
}

static json_t *
cert_json(const struct cert_item *it)
{
	const struct store_cert *c = &it->c;

	return json_pack("{sI ss so so ss sI sI so so so so so}", "id",
	    (json_int_t)c->id, "serial", c->serial, "user",
	    cli_json_text(c->user), "target", cli_json_text(c->target), "state",
	    it->state, "activation", (json_int_t)c->activation_id, "assignment",
	    (json_int_t)c->assignment_id, "not_before",
	    cli_json_instant(c->not_before), "not_after",
	    cli_json_instant(c->not_after), "issued_by",
	    cli_json_text(c->issued_by), "created",
	    cli_json_instant(c->created), "revoked",
	    cli_json_instant(c->revoked));
}

static int
cert_list_json(const struct cli_vec *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < v->n; i++)
		cli_json_push(&arr, cert_json(cli_vec_at(v, i)));
	return cli_json_print(arr);
}

static int
cert_list_text(const struct cli_vec *v)
{
	struct cli_table *t = cli_table_new(7, "SERIAL", "USER", "TARGET",
	    "STATE", "NOT AFTER", "GRANT", "ISSUED BY");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		const struct cert_item *it = cli_vec_at(v, i);
		const struct store_cert *c = &it->c;
		char end[32], grant[48];

		cert_grant(c, grant, sizeof(grant));
		cli_table_add(t, c->serial, c->user, c->target, it->state,
		    cli_instant(c->not_after, end, sizeof(end)), grant,
		    c->issued_by);
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_cert_list(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *user = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--user", CLI_OPT_VALUE, &user},
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec v = {.size = sizeof(struct cert_item)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc == CLI_OK && user != NULL)
		rc = cli_check_name("user", user);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_cert_list(st, user, cert_collect, &v);
	if (rc == PIM_OK)
		rc = cert_states(st, &v, clock_now());
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the certificates");
	else if (json)
		rc = cert_list_json(&v);
	else
		rc = cert_list_text(&v);
	cli_vec_free(&v);
	return rc;
}

/* ---- revoke ---- */

/* SERIAL as the store keeps it: lower-case hex. "serial=0A1B" (as
 * `openssl x509 -noout -serial` prints it) and "0a:1b" are taken too. */
static int
cert_parse_serial(const char *arg, char serial[STORE_SERIAL_MAX])
{
	const char *s = strncmp(arg, "serial=", 7) == 0 ? arg + 7 : arg;
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n + 1 >= STORE_SERIAL_MAX)
			return cli_bad_arg("invalid serial '%s': hexadecimal "
					   "digits, as 'pimctl cert list' "
					   "shows them",
			    arg);
		serial[n++] = (char)tolower((unsigned char)*s);
	}
	serial[n] = '\0';
	if (n == 0)
		return cli_bad_arg("invalid serial '%s'", arg);
	return CLI_OK;
}

static int
cert_revoke_tx(struct cli_ctx *ctx, const char *serial, struct store_cert *c)
{
	char when[32];
	int rc;

	rc = store_cert_get(ctx->st, serial, c);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no certificate with serial %s", serial);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the certificate");
	if (c->revoked != 0)
		return cli_fail("certificate %s was already revoked at %s",
		    serial, cli_instant(c->revoked, when, sizeof(when)));
	rc = store_cert_revoke(ctx->st, serial, clock_now());
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot revoke");
	return cli_audit(ctx, c->user, c->target, NULL,
	    "cert revoke serial=%s user=%s target=%s", serial, c->user,
	    c->target);
}

int
cmd_cert_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	char serial[STORE_SERIAL_MAX];
	struct store_cert c;
	const char *arg;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, &arg, 1);
	if (rc == CLI_OK)
		rc = cert_parse_serial(arg, serial);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(ctx, cert_revoke_tx(ctx, serial, &c));
	if (rc == CLI_OK)
		printf("certificate %s of %s for %s revoked\n", serial, c.user,
		    c.target);
	return rc;
}
