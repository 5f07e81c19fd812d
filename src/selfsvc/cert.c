/* Client certificates for database targets: the one way a certificate
 * is issued, for self-service (db-cert over SSH) and pimctl alike. The
 * policy says whether and until when, the CA signs, the store keeps the
 * serial, and the audit trail records the issue or the refusal, all in
 * one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "selfsvc_int.h"

/* Who asks for what, and where the answer goes. */
struct cert_job {
	struct store *st;
	struct ca *ca;
	const char *user;
	const char *target;
	const char *csr;
	size_t len;
	const char *issued_by;
	const char *peer;
	int64_t now;
	struct selfsvc_cert *out;
	char *reason;
	size_t rlen;
};

static int
cert_audit(const struct cert_job *j, const char *outcome, const char *role,
    const char *detail)
{
	char text[STORE_TEXT_MAX];

	str_copy(text, detail, sizeof(text));
	selfsvc_text_cut(text);
	return audit_log(j->st, j->issued_by, AUDIT_CERT, outcome, j->user,
	    j->target, role, 0, j->peer, text);
}

/* Audits the refusal in J->reason; returns CODE, or the audit's error. */
static int
cert_refused(const struct cert_job *j, const char *role, int code)
{
	char detail[STORE_TEXT_MAX];
	int rc;

	snprintf(detail, sizeof(detail), "refused target=%s: %s", j->target,
	    j->reason);
	rc = cert_audit(j, "refused", role, detail);
	return rc != PIM_OK ? rc : code;
}

/* Records certificate C of J (granted as ADM) in the store. */
static int
cert_record(
    const struct cert_job *j, const struct admission *adm, struct store_cert *c)
{
	memset(c, 0, sizeof(*c));
	str_copy(c->serial, j->out->serial, sizeof(c->serial));
	c->user_id = adm->user_id;
	str_copy(c->user, j->user, sizeof(c->user));
	c->target_id = adm->target_id;
	str_copy(c->target, j->target, sizeof(c->target));
	c->activation_id = adm->activation_id;
	c->assignment_id = adm->assignment_id;
	c->not_before = j->now;
	c->not_after = j->out->not_after;
	str_copy(c->issued_by, j->issued_by, sizeof(c->issued_by));
	c->created = j->now;
	return store_cert_add(j->st, c);
}

/* Signs J's request for the window ADM allows, records it, audits it. */
static int
cert_sign(const struct cert_job *j, const struct admission *adm)
{
	struct selfsvc_cert *o = j->out;
	char detail[STORE_TEXT_MAX], until[32];
	struct store_cert c;
	int rc;

	rc = ca_sign_client(j->ca, j->csr, j->len, j->user, j->target, j->now,
	    o->not_after, &o->pem, o->serial, j->reason, j->rlen);
	if (rc == PIM_EINVAL)
		return cert_refused(j, adm->role, rc);
	if (rc != PIM_OK)
		return rc;
	rc = cert_record(j, adm, &c);
	if (rc != PIM_OK) {
		snprintf(j->reason, j->rlen,
		    "cannot record the certificate: "
		    "%s",
		    store_errmsg(j->st));
		return rc;
	}
	instant_format(o->not_after, until, sizeof(until));
	snprintf(detail, sizeof(detail),
	    "serial=%s target=%s not_after=%s activation=%lld "
	    "assignment=%lld",
	    o->serial, j->target, until, (long long)adm->activation_id,
	    (long long)adm->assignment_id);
	return cert_audit(j, "ok", adm->role, detail);
}

/* The steps inside the transaction. */
static int
cert_issue_tx(const struct cert_job *j)
{
	struct selfsvc_cert *o = j->out;
	struct admission adm;
	int rc;

	rc = policy_cert_window(j->st, j->user, j->target, j->now, &adm,
	    &o->not_after, j->reason, j->rlen);
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return cert_refused(j, NULL, rc);
	if (rc != PIM_OK)
		return rc;
	str_copy(o->role, adm.role, sizeof(o->role));
	o->activation_id = adm.activation_id;
	o->assignment_id = adm.assignment_id;
	o->capped = o->not_after == j->now + POLICY_CERT_MAX_SECS;
	return cert_sign(j, &adm);
}

/* A refusal commits (it is on record); anything else rolls back. */
static int
cert_finish(const struct cert_job *j, int rc)
{
	int c;

	if (rc != PIM_OK && rc != PIM_EDENIED && rc != PIM_ENOTFOUND &&
	    rc != PIM_EINVAL) {
		store_rollback(j->st);
		return rc;
	}
	c = store_commit(j->st);
	if (c != PIM_OK) {
		snprintf(
		    j->reason, j->rlen, "cannot save: %s", store_errmsg(j->st));
		return c;
	}
	return rc;
}

int
selfsvc_cert_issue(struct store *st, struct ca *ca, const char *user,
    const char *target, const char *csr, size_t len, const char *issued_by,
    const char *peer, int64_t now, struct selfsvc_cert *out, char *reason,
    size_t rlen)
{
	struct cert_job j = {st, ca, user, target, csr, len, issued_by, peer,
	    now, out, reason, rlen};
	int rc;

	memset(out, 0, sizeof(*out));
	reason[0] = '\0';
	rc = store_begin(st);
	if (rc != PIM_OK) {
		snprintf(reason, rlen, "cannot start a transaction: %s",
		    store_errmsg(st));
		return rc;
	}
	rc = cert_finish(&j, cert_issue_tx(&j));
	if (rc != PIM_OK) {
		free(out->pem);
		out->pem = NULL;
		out->serial[0] = '\0';
	}
	return rc;
}

void
selfsvc_cert_note(const struct selfsvc_cert *c, char *buf, size_t size)
{
	char until[32], grant[STORE_NAME_MAX + 64];

	instant_format(c->not_after, until, sizeof(until));
	if (c->capped)
		snprintf(grant, sizeof(grant),
		    "the longest a certificate lasts; role %s lasts longer",
		    c->role);
	else if (c->activation_id != 0)
		snprintf(grant, sizeof(grant),
		    "the end of activation %lld of "
		    "role %s",
		    (long long)c->activation_id, c->role);
	else
		snprintf(grant, sizeof(grant),
		    "the end of the assignment of role %s", c->role);
	snprintf(buf, size, "valid until %s (%s)", until, grant);
}

/* ---- the db-cert command ---- */

/* Says why J could not be done: store and CA failures in general terms
 * (the details go to the log). */
static int
cert_cmd_fail(const struct selfsvc_ctx *ctx, int rc, const char *reason,
    struct selfsvc_out *out)
{
	char esc[80];

	switch (rc) {
	case PIM_EDENIED:
	case PIM_ENOTFOUND:
	case PIM_EINVAL:
		return selfsvc_refuse(out, "%s", reason);
	case PIM_EBUSY:
		return selfsvc_refuse(out, "cannot issue a certificate: the "
					   "bastion is busy, try again in a "
					   "moment");
	default:
		log_error("certificate not issued user=%s code=%s: %s",
		    log_str(ctx->user, esc, sizeof(esc)), pim_strerror(rc),
		    reason);
		return selfsvc_refuse(out, "cannot issue a certificate: the "
					   "bastion failed; tell an admin");
	}
}

/* "ssh -p 2222 alice@HOST db-cert TARGET < FILE.csr" into BUF. */
static void
cert_cmd_howto(
    const struct selfsvc_ctx *ctx, const char *target, char *buf, size_t size)
{
	const char *host =
	    ctx->login_host != NULL ? ctx->login_host : "<this bastion>";
	char port[24] = "";

	if (ctx->login_port != 0 && ctx->login_port != 22)
		snprintf(port, sizeof(port), "-p %d ", ctx->login_port);
	snprintf(buf, size, "ssh %s%s@%s db-cert %s < FILE.csr", port,
	    ctx->user, host, target);
}

int
selfsvc_cmd_db_cert(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	char reason[POLICY_REASON_MAX], note[POLICY_REASON_MAX], how[256];
	const char *target = NULL;
	struct selfsvc_cert c;
	int rc;

	rc = selfsvc_parse(argc, argv, NULL, &target, 1, out);
	if (rc != SS_OK)
		return rc;
	if (!str_valid_name(target))
		return selfsvc_bad_arg(out, "no target named '%.64s'", target);
	if (ctx->input == NULL) {
		cert_cmd_howto(ctx, target, how, sizeof(how));
		return selfsvc_refuse(out,
		    "db-cert reads a certificate request from standard "
		    "input: run %s",
		    how);
	}
	if (ctx->ca == NULL)
		return selfsvc_refuse(out, "this bastion has no CA loaded; "
					   "tell an admin");
	rc = selfsvc_cert_issue(ctx->st, ctx->ca, ctx->user, target, ctx->input,
	    ctx->input_len, ctx->user, ctx->peer, ctx->now, &c, reason,
	    sizeof(reason));
	if (rc != PIM_OK)
		return cert_cmd_fail(ctx, rc, reason, out);
	selfsvc_raw(out, c.pem, strlen(c.pem));
	if (ctx->notes != NULL) {
		selfsvc_cert_note(&c, note, sizeof(note));
		selfsvc_line(ctx->notes, "%s", note);
	}
	free(c.pem);
	return SS_OK;
}
