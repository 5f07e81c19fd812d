/* The person's own activations: activate, deactivate, extend, cancel.
 * The rules live in policy; here the words are checked, the change and
 * its audit event run in one transaction, and a refusal is audited
 * (outcome "refused") and committed, so it is on record. Break-glass
 * activations are flagged: their audit details start with BREAK-GLASS. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "selfsvc_int.h"

/* The words of `activate` and `extend`. */
struct act_args {
	const char *pos; /* ROLE or ID */
	const char *dur;
	const char *why;
	const char *ticket;
	const char *otp;
	const char *start;
};

/* What a change came to. */
struct act_result {
	char reason[POLICY_REASON_MAX]; /* the refusal; "" if granted */
	int64_t id;
	enum store_act_state state;
	struct store_activation act; /* as it is afterwards */
};

static const char *
act_flag(bool break_glass)
{
	return break_glass ? "BREAK-GLASS " : "";
}

static int
act_parse(int argc, char **argv, struct act_args *a, bool with_start,
    struct selfsvc_out *out)
{
	/* Without WITH_START the table ends before --start. */
	const struct selfsvc_opt opts[] = {
	    {"--for", &a->dur},
	    {"--reason", &a->why},
	    {"--ticket", &a->ticket},
	    {"--otp", &a->otp},
	    {with_start ? "--start" : NULL, &a->start},
	    {NULL, NULL},
	};

	return selfsvc_parse(argc, argv, opts, &a->pos, 1, out);
}

/* Checks the words of A and fills what RQ takes from them. */
static int
act_check(const struct act_args *a, struct activation_request *rq,
    struct selfsvc_out *out)
{
	int rc = SS_OK;

	if (a->dur == NULL)
		return selfsvc_bad_arg(out, "--for DUR is needed (e.g. 1h)");
	if (duration_parse(a->dur, &rq->duration) != PIM_OK)
		return selfsvc_bad_arg(out,
		    "--for takes a duration like 90s, 15m, 1h30m, not "
		    "'%.32s'",
		    a->dur);
	if (a->start != NULL && instant_parse(a->start, &rq->start) != PIM_OK)
		return selfsvc_bad_arg(out,
		    "--start takes an instant like 2027-01-15T08:00:00Z, not "
		    "'%.40s'",
		    a->start);
	if (a->why != NULL)
		rc = selfsvc_check_text(
		    "--reason", a->why, STORE_TEXT_MAX - 1, out);
	if (rc == SS_OK && a->ticket != NULL)
		rc = selfsvc_check_text(
		    "--ticket", a->ticket, STORE_NAME_MAX - 1, out);
	if (rc == SS_OK && a->otp != NULL)
		rc = selfsvc_check_text("--otp", a->otp, 16, out);
	rq->reason = a->why;
	rq->ticket = a->ticket;
	rq->otp = a->otp;
	return rc;
}

/* The audit detail of a granted request (never the code). */
static void
act_describe(const struct activation_request *rq, const struct act_result *r,
    char *buf, size_t size)
{
	char dur[32], when[32], from[48] = "";
	const char *ticket = rq->ticket != NULL ? rq->ticket : "";

	duration_format(rq->duration, dur, sizeof(dur));
	if (r->act.start > rq->now)
		snprintf(from, sizeof(from), " from %s",
		    selfsvc_instant(r->act.start, when, sizeof(when)));
	snprintf(buf, size,
	    "%sactivate %s for %s%s (activation %lld, %s)%s%s: %s",
	    act_flag(r->act.break_glass), rq->role, dur, from, (long long)r->id,
	    store_act_state_name(r->state), ticket[0] != '\0' ? " ticket " : "",
	    ticket, rq->reason != NULL ? rq->reason : "");
}

static int
act_activate_tx(const struct selfsvc_ctx *ctx,
    const struct activation_request *rq, bool break_glass, struct act_result *r)
{
	char detail[STORE_TEXT_MAX];
	int rc;

	rc = policy_request_activation(
	    ctx->st, rq, &r->id, &r->state, r->reason, sizeof(r->reason));
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return selfsvc_audit(ctx, "refused", ctx->user, rq->role,
		    "%sactivate %s refused: %s", act_flag(break_glass),
		    rq->role, r->reason);
	if (rc == PIM_OK)
		rc = store_activation_get(ctx->st, r->id, &r->act);
	if (rc != PIM_OK)
		return rc;
	act_describe(rq, r, detail, sizeof(detail));
	return selfsvc_audit(ctx, "ok", ctx->user, rq->role, "%s", detail);
}

/* "activation 12: active until ..." and the like. */
static void
act_report(const struct selfsvc_ctx *ctx, const struct act_result *r,
    const struct store_role *role, struct selfsvc_out *out)
{
	const struct store_activation *a = &r->act;
	char start[32], end[32], left[32];

	if (r->state == ACT_PENDING)
		selfsvc_line(out,
		    "activation %lld: pending approval by %d of: %s",
		    (long long)r->id, role->approvals, role->approvers);
	else if (a->start > ctx->now)
		selfsvc_line(out, "activation %lld: active from %s until %s",
		    (long long)r->id,
		    selfsvc_instant(a->start, start, sizeof(start)),
		    selfsvc_instant(a->end, end, sizeof(end)));
	else
		selfsvc_line(out, "activation %lld: active until %s (%s left)",
		    (long long)r->id, selfsvc_instant(a->end, end, sizeof(end)),
		    selfsvc_left(ctx->now, a->end, left, sizeof(left)));
	if (a->break_glass)
		selfsvc_line(out, "BREAK-GLASS: this emergency activation is "
				  "flagged and reported to the security team");
}

/* Runs the request RQ in a transaction and says how it went. */
static int
act_request(const struct selfsvc_ctx *ctx, struct activation_request *rq,
    struct selfsvc_out *out)
{
	struct act_result r = {.id = 0};
	struct store_role role = {.id = 0};
	unsigned char *secret = NULL;
	size_t slen = 0;
	int rc;

	if (store_role_get(ctx->st, rq->role, &role) != PIM_OK)
		memset(&role, 0, sizeof(role));
	rc = rq->otp != NULL ? selfsvc_open_mfa(ctx, &secret, &slen) : PIM_OK;
	rq->mfa_secret = secret;
	rq->mfa_secret_len = slen;
	if (rc == PIM_OK)
		rc = store_begin(ctx->st);
	if (rc == PIM_OK)
		rc = selfsvc_finish(
		    ctx->st, act_activate_tx(ctx, rq, role.break_glass, &r));
	if (secret != NULL)
		vault_free_secret(secret, slen);
	if (rc != PIM_OK)
		return selfsvc_store_fail(out, ctx->st, rc, "activate");
	if (r.reason[0] != '\0')
		return selfsvc_refuse(out, "%s", r.reason);
	act_report(ctx, &r, &role, out);
	return SS_OK;
}

int
selfsvc_cmd_activate(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct act_args a = {.pos = NULL};
	struct activation_request rq = {.now = ctx->now};
	int rc;

	rc = act_parse(argc, argv, &a, true, out);
	if (rc == SS_OK && !str_valid_name(a.pos))
		rc = selfsvc_bad_arg(out, "'%.64s' is not a role name", a.pos);
	if (rc == SS_OK)
		rc = act_check(&a, &rq, out);
	if (rc != SS_OK)
		return rc;
	rq.user = ctx->user;
	rq.role = a.pos;
	rq.requested_by = ctx->user;
	return act_request(ctx, &rq, out);
}

/* ---- moves on an existing activation ---- */

/* What a move on activation ID does. */
struct act_move {
	const char *verb; /* "deactivate" */
	const char *done; /* "deactivated" */
	int (*run)(struct store *st, int64_t id, const char *user, int64_t now,
	    char *reason, size_t rlen);
};

/* The activation ID if the person owns it (its role goes in the audit);
 * else zeroed, and the policy says why. */
static void
act_own(const struct selfsvc_ctx *ctx, int64_t id, struct store_activation *a)
{
	if (store_activation_get(ctx->st, id, a) != PIM_OK ||
	    strcmp(a->user, ctx->user) != 0)
		memset(a, 0, sizeof(*a));
}

static int
act_move_tx(const struct selfsvc_ctx *ctx, const struct act_move *m, int64_t id,
    struct act_result *r)
{
	const char *role;
	int rc;

	act_own(ctx, id, &r->act);
	role = r->act.role[0] != '\0' ? r->act.role : NULL;
	rc = m->run(
	    ctx->st, id, ctx->user, ctx->now, r->reason, sizeof(r->reason));
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return selfsvc_audit(ctx, "refused", ctx->user, role,
		    "%s%s activation %lld refused: %s",
		    act_flag(r->act.break_glass), m->verb, (long long)id,
		    r->reason);
	if (rc != PIM_OK)
		return rc;
	return selfsvc_audit(ctx, "ok", ctx->user, role,
	    "%s%s activation %lld of %s", act_flag(r->act.break_glass), m->verb,
	    (long long)id, r->act.role);
}

static int
act_move(const struct selfsvc_ctx *ctx, const struct act_move *m, int argc,
    char **argv, struct selfsvc_out *out)
{
	struct act_result r = {.id = 0};
	const char *arg = NULL;
	int64_t id;
	int rc;

	rc = selfsvc_parse(argc, argv, NULL, &arg, 1, out);
	if (rc != SS_OK)
		return rc;
	if (!selfsvc_parse_id(arg, &id))
		return selfsvc_bad_arg(
		    out, "'%.32s' is not an activation id", arg);
	rc = store_begin(ctx->st);
	if (rc == PIM_OK)
		rc = selfsvc_finish(ctx->st, act_move_tx(ctx, m, id, &r));
	if (rc != PIM_OK)
		return selfsvc_store_fail(out, ctx->st, rc, m->verb);
	if (r.reason[0] != '\0')
		return selfsvc_refuse(out, "%s", r.reason);
	selfsvc_line(out, "activation %lld (%s): %s", (long long)id, r.act.role,
	    m->done);
	return SS_OK;
}

int
selfsvc_cmd_deactivate(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	static const struct act_move m = {
	    "deactivate", "deactivated", policy_deactivate};

	return act_move(ctx, &m, argc, argv, out);
}

int
selfsvc_cmd_cancel(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	static const struct act_move m = {"cancel", "cancelled", policy_cancel};

	return act_move(ctx, &m, argc, argv, out);
}

/* ---- extend ---- */

static int
act_extend_tx(const struct selfsvc_ctx *ctx,
    const struct activation_request *rq, int64_t id, struct act_result *r)
{
	const char *role;
	char dur[32];
	int rc;

	act_own(ctx, id, &r->act);
	role = r->act.role[0] != '\0' ? r->act.role : NULL;
	rc = policy_extend(ctx->st, id, rq, r->reason, sizeof(r->reason));
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return selfsvc_audit(ctx, "refused", ctx->user, role,
		    "%sextend activation %lld refused: %s",
		    act_flag(r->act.break_glass), (long long)id, r->reason);
	if (rc == PIM_OK)
		rc = store_activation_get(ctx->st, id, &r->act);
	if (rc != PIM_OK)
		return rc;
	duration_format(rq->duration, dur, sizeof(dur));
	return selfsvc_audit(ctx, "ok", ctx->user, role,
	    "%sextend activation %lld of %s for %s%s%s: %s",
	    act_flag(r->act.break_glass), (long long)id, r->act.role, dur,
	    rq->ticket != NULL ? " ticket " : "",
	    rq->ticket != NULL ? rq->ticket : "",
	    rq->reason != NULL ? rq->reason : "");
}

int
selfsvc_cmd_extend(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct act_args a = {.pos = NULL};
	struct activation_request rq = {.now = ctx->now};
	struct act_result r = {.id = 0};
	unsigned char *secret = NULL;
	size_t slen = 0;
	char end[32], left[32];
	int64_t id = 0;
	int rc;

	rc = act_parse(argc, argv, &a, false, out);
	if (rc == SS_OK && !selfsvc_parse_id(a.pos, &id))
		rc = selfsvc_bad_arg(
		    out, "'%.32s' is not an activation id", a.pos);
	if (rc == SS_OK)
		rc = act_check(&a, &rq, out);
	if (rc != SS_OK)
		return rc;
	rq.user = ctx->user;
	rq.requested_by = ctx->user;
	rc = rq.otp != NULL ? selfsvc_open_mfa(ctx, &secret, &slen) : PIM_OK;
	rq.mfa_secret = secret;
	rq.mfa_secret_len = slen;
	if (rc == PIM_OK)
		rc = store_begin(ctx->st);
	if (rc == PIM_OK)
		rc = selfsvc_finish(ctx->st, act_extend_tx(ctx, &rq, id, &r));
	if (secret != NULL)
		vault_free_secret(secret, slen);
	if (rc != PIM_OK)
		return selfsvc_store_fail(out, ctx->st, rc, "extend");
	if (r.reason[0] != '\0')
		return selfsvc_refuse(out, "%s", r.reason);
	selfsvc_line(out, "activation %lld: active until %s (%s left)",
	    (long long)id, selfsvc_instant(r.act.end, end, sizeof(end)),
	    selfsvc_left(ctx->now, r.act.end, left, sizeof(left)));
	return SS_OK;
}
