/* pimctl activation verbs: activate (on a user's behalf, with the
 * role's demands: ticket, TOTP code, scheduled start), activations,
 * revoke. The rules themselves live in policy. A refused request is
 * audited (outcome "refused") and committed, so the refusal is on
 * record. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "cli.h"

static const char *
act_state_name(enum store_act_state s)
{
	const char *name = store_act_state_name(s);

	return name != NULL ? name : "unknown";
}

/* What `activate` was given. */
struct cli_act_args {
	const char *pos[2]; /* USER ROLE */
	const char *duration;
	const char *why;
	const char *ticket;
	const char *otp;
	const char *start;
	const char *by;
};

int
cli_audit_refusal(struct cli_ctx *ctx, const char *user, const char *role,
    const char *fmt, ...)
{
	char detail[STORE_TEXT_MAX];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(detail))
		cli_text_cut(detail);
	rc = audit_log(ctx->st, ctx->actor, AUDIT_ADMIN, "refused", user, NULL,
	    role, 0, NULL, detail);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot write the audit event");
	return CLI_OK;
}

/* Opens USER's sealed TOTP secret into *SECRET (vault_free_secret);
 * leaves it NULL if the user has none enrolled (policy says so). */
static int
act_open_mfa(
    struct cli_ctx *ctx, const char *user, unsigned char **secret, size_t *len)
{
	struct vault *v = NULL;
	int rc;

	*secret = NULL;
	rc = vault_open(ctx->cfg.secret_key, &v);
	if (rc != PIM_OK)
		return cli_fail("cannot open the secret key %s: %s",
		    ctx->cfg.secret_key, pim_strerror(rc));
	rc = vault_open_mfa(v, ctx->st, user, NULL, secret, len, NULL);
	vault_close(v);
	if (rc == PIM_ENOTFOUND)
		return CLI_OK; /* policy gives the reason */
	if (rc == PIM_ESTORE)
		return cli_store_fail(ctx, rc, "cannot read the MFA secret");
	if (rc != PIM_OK)
		return cli_fail("cannot open the MFA secret of %s: %s", user,
		    pim_strerror(rc));
	return CLI_OK;
}

/* The audit detail of a granted request (never the code). */
static void
cli_act_describe(const struct activation_request *rq, int64_t id,
    enum store_act_state state, char *buf, size_t size)
{
	char dur[32], when[32], start[48] = "";
	const char *ticket = rq->ticket != NULL ? rq->ticket : "";

	duration_format(rq->duration, dur, sizeof(dur));
	if (rq->start > rq->now)
		snprintf(start, sizeof(start), " from %s",
		    cli_instant(rq->start, when, sizeof(when)));
	snprintf(buf, size,
	    "activate %s %s for %s%s (activation %lld, %s)%s%s: %s", rq->user,
	    rq->role, dur, start, (long long)id, act_state_name(state),
	    ticket[0] != '\0' ? " ticket " : "", ticket, rq->reason);
	cli_text_cut(buf);
}

static int
cli_act_activate_tx(struct cli_ctx *ctx, const struct activation_request *rq,
    int64_t *id, enum store_act_state *state, char *reason, size_t rlen)
{
	struct store_activation x;
	char detail[STORE_TEXT_MAX];
	int rc;

	rc = policy_request_activation(ctx->st, rq, id, state, reason, rlen);
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return cli_audit_refusal(ctx, rq->user, rq->role,
		    "activate %s %s refused: %s", rq->user, rq->role, reason);
	if (rc != PIM_OK && reason[0] != '\0')
		return cli_fail("%s", reason);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot activate");
	reason[0] = '\0';
	rc = store_activation_get(ctx->st, *id, &x);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the activation");
	cli_act_describe(rq, *id, *state, detail, sizeof(detail));
	if (x.break_glass)
		return cli_audit(
		    ctx, rq->user, NULL, rq->role, "BREAK-GLASS %s", detail);
	return cli_audit(ctx, rq->user, NULL, rq->role, "%s", detail);
}

static int
act_check_args(const struct cli_act_args *a, struct activation_request *rq)
{
	int rc;

	if (a->duration == NULL || a->why == NULL)
		return cli_bad_arg("--for and --reason are needed");
	if (a->why[strspn(a->why, " ")] == '\0')
		return cli_bad_arg("--reason must not be empty");
	rc = cli_check_text("--reason", a->why, STORE_TEXT_MAX - 1);
	if (rc == CLI_OK && a->ticket != NULL)
		rc = cli_check_text("--ticket", a->ticket, STORE_NAME_MAX - 1);
	if (rc == CLI_OK && a->otp != NULL)
		rc = cli_check_text("--otp", a->otp, 16);
	if (rc == CLI_OK && a->by != NULL)
		rc = cli_check_name("user", a->by);
	if (rc == CLI_OK)
		rc = cli_parse_duration("--for", a->duration, &rq->duration);
	if (rc == CLI_OK && a->start != NULL)
		rc = cli_parse_instant("--start", a->start, &rq->start);
	return rc;
}

int
cmd_activate(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_act_args a = {.duration = NULL};
	const struct cli_opt opts[] = {
	    {"--for", CLI_OPT_VALUE, &a.duration},
	    {"--reason", CLI_OPT_VALUE, &a.why},
	    {"--ticket", CLI_OPT_VALUE, &a.ticket},
	    {"--otp", CLI_OPT_VALUE, &a.otp},
	    {"--start", CLI_OPT_VALUE, &a.start},
	    {"--by", CLI_OPT_VALUE, &a.by},
	    {NULL, 0, NULL},
	};
	struct activation_request rq = {0};
	enum store_act_state state = 0;
	char reason[POLICY_REASON_MAX] = "";
	unsigned char *secret = NULL;
	size_t slen = 0;
	struct store *st;
	int64_t id = 0;
	int rc;

	rc = cli_parse(argc, argv, opts, a.pos, 2);
	if (rc == CLI_OK)
		rc = act_check_args(&a, &rq);
	if (rc != CLI_OK)
		return rc;
	rq.user = a.pos[0];
	rq.role = a.pos[1];
	rq.now = clock_now();
	rq.reason = a.why;
	rq.ticket = a.ticket;
	rq.otp = a.otp;
	rq.requested_by = a.by != NULL ? a.by : ctx->actor;
	if (cli_store(ctx, &st) != CLI_OK)
		return CLI_FAIL;
	if (a.otp != NULL &&
	    act_open_mfa(ctx, rq.user, &secret, &slen) != CLI_OK)
		return CLI_FAIL;
	rq.mfa_secret = secret;
	rq.mfa_secret_len = slen;
	rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(ctx, cli_act_activate_tx(ctx, &rq, &id, &state,
				      reason, sizeof(reason)));
	if (secret != NULL)
		vault_free_secret(secret, slen);
	if (rc == CLI_OK && reason[0] != '\0')
		return cli_fail("%s", reason);
	/* The id alone on stdout, for scripts; the state for people. */
	if (rc == CLI_OK) {
		printf("%lld\n", (long long)id);
		fprintf(stderr, "activation %lld is %s\n", (long long)id,
		    state == ACT_PENDING ? "pending approval"
					 : act_state_name(state));
	}
	return rc;
}

static int
act_collect(const struct store_activation *a, void *arg)
{
	return cli_vec_push(arg, a);
}

static int
act_list_json(const struct cli_vec *v, int64_t now)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < v->n; i++) {
		const struct store_activation *a = cli_vec_at(v, i);

		cli_json_push(
		    &arr, json_pack("{sI so so ss so so so so so so so}", "id",
			      (json_int_t)a->id, "user", cli_json_text(a->user),
			      "role", cli_json_text(a->role), "state",
			      act_state_name(policy_activation_state(a, now)),
			      "start", cli_json_instant(a->start), "end",
			      cli_json_instant(a->end), "reason",
			      cli_json_text(a->reason), "ticket",
			      cli_json_text(a->ticket), "requested_by",
			      cli_json_text(a->requested_by), "created",
			      cli_json_instant(a->created), "ended",
			      cli_json_instant(a->ended)));
	}
	return cli_json_print(arr);
}

static int
act_list_text(const struct cli_vec *v, int64_t now)
{
	struct cli_table *t = cli_table_new(8, "ID", "USER", "ROLE", "STATE",
	    "START", "END", "REQUESTED BY", "REASON");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		const struct store_activation *a = cli_vec_at(v, i);
		char id[24], start[32], end[32];

		snprintf(id, sizeof(id), "%lld", (long long)a->id);
		cli_table_add(t, id, a->user, a->role,
		    act_state_name(policy_activation_state(a, now)),
		    cli_instant(a->start, start, sizeof(start)),
		    cli_instant(a->end, end, sizeof(end)), a->requested_by,
		    a->reason);
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_activations(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec v = {.size = sizeof(struct store_activation)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_activation_list(st, 0, act_collect, &v);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the activations");
	else if (json)
		rc = act_list_json(&v, clock_now());
	else
		rc = act_list_text(&v, clock_now());
	cli_vec_free(&v);
	return rc;
}

/* Ends activation ID: an active one is revoked, a pending request is
 * denied (the documented state machine has no pending -> revoked). */
static int
act_revoke_tx(struct cli_ctx *ctx, int64_t id, const char **done)
{
	struct store_activation a;
	enum store_act_state state, to;
	int64_t now = clock_now();
	int rc;

	rc = store_activation_get(ctx->st, id, &a);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no activation %lld", (long long)id);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the activation");
	state = policy_activation_state(&a, now);
	if (state != ACT_ACTIVE && state != ACT_PENDING)
		return cli_fail("activation %lld is %s, not active",
		    (long long)id, act_state_name(state));
	to = state == ACT_ACTIVE ? ACT_REVOKED : ACT_DENIED;
	rc = store_activation_transition(ctx->st, id, state, to, now);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("activation %lld changed meanwhile; see "
				"'pimctl activations'",
		    (long long)id);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot revoke");
	*done = act_state_name(to);
	return cli_audit(ctx, a.user, NULL, a.role,
	    "revoke activation %lld of %s %s: %s", (long long)id, a.user,
	    a.role, *done);
}

int
cmd_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *arg, *done = NULL;
	struct store *st;
	int64_t id;
	int rc;

	rc = cli_parse(argc, argv, NULL, &arg, 1);
	if (rc != CLI_OK)
		return rc;
	if (!cli_parse_id(arg, &id))
		return cli_bad_arg("invalid activation id '%s'", arg);
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(ctx, act_revoke_tx(ctx, id, &done));
	if (rc == CLI_OK)
		printf("activation %lld %s\n", (long long)id, done);
	return rc;
}
