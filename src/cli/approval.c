/* pimctl approval verbs: requests (what waits for approval), approve,
 * deny. The rules live in policy (approval.c); a refusal is audited and
 * committed, since an expired request is denied on the way. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "cli.h"

/* One pending request with the approvals it has so far. */
struct apr_item {
	struct store_activation act;
	int approvals; /* approvals so far */
	int needed; /* the role's count */
	char by[STORE_TEXT_MAX]; /* "bob,carol" */
};

static int
apr_collect_pending(const struct store_activation *a, void *arg)
{
	struct apr_item it = {0};

	if (a->state != ACT_PENDING)
		return PIM_OK;
	it.act = *a;
	return cli_vec_push(arg, &it);
}

static int
apr_note(const struct store_approval *a, void *arg)
{
	struct apr_item *it = arg;

	if (strcmp(a->decision, "approve") != 0)
		return 0;
	if (it->by[0] != '\0')
		strncat(it->by, ",", sizeof(it->by) - strlen(it->by) - 1);
	strncat(it->by, a->approver, sizeof(it->by) - strlen(it->by) - 1);
	it->approvals++;
	return 0;
}

static int
apr_load(struct store *st, struct cli_vec *v)
{
	int rc = store_activation_list(st, 0, apr_collect_pending, v);

	for (size_t i = 0; rc == PIM_OK && i < v->n; i++) {
		struct apr_item *it = cli_vec_at(v, i);
		struct store_role r;

		rc = store_approval_list(st, it->act.id, apr_note, it);
		if (rc == PIM_OK)
			rc = store_role_get_by_id(st, it->act.role_id, &r);
		if (rc == PIM_OK)
			it->needed = r.approvals;
	}
	return rc;
}

static int
apr_list_json(const struct cli_vec *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < v->n; i++) {
		const struct apr_item *it = cli_vec_at(v, i);
		const struct store_activation *a = &it->act;

		cli_json_push(&arr,
		    json_pack("{sI so so sI so so so so sI sI so so}", "id",
			(json_int_t)a->id, "user", cli_json_text(a->user),
			"role", cli_json_text(a->role), "duration",
			(json_int_t)(a->end - a->start), "start",
			cli_json_instant(a->start), "reason",
			cli_json_text(a->reason), "ticket",
			cli_json_text(a->ticket), "requested_by",
			cli_json_text(a->requested_by), "approvals",
			(json_int_t)it->approvals, "needed",
			(json_int_t)it->needed, "approved_by",
			cli_json_text(it->by), "approve_by",
			cli_json_instant(a->approve_by)));
	}
	return cli_json_print(arr);
}

static int
apr_list_text(const struct cli_vec *v)
{
	struct cli_table *t = cli_table_new(8, "ID", "USER", "ROLE", "FOR",
	    "TICKET", "APPROVALS", "EXPIRES", "REASON");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		const struct apr_item *it = cli_vec_at(v, i);
		const struct store_activation *a = &it->act;
		char id[24], dur[32], n[STORE_TEXT_MAX + 32], exp[32];

		snprintf(id, sizeof(id), "%lld", (long long)a->id);
		snprintf(n, sizeof(n), "%d/%d%s%s", it->approvals, it->needed,
		    it->by[0] != '\0' ? " " : "", it->by);
		cli_table_add(t, id, a->user, a->role,
		    cli_duration(a->end - a->start, dur, sizeof(dur)),
		    a->ticket[0] != '\0' ? a->ticket : "-", n,
		    cli_instant(a->approve_by, exp, sizeof(exp)), a->reason);
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_requests(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec v = {.size = sizeof(struct apr_item)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = apr_load(st, &v);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the requests");
	else if (json)
		rc = apr_list_json(&v);
	else
		rc = apr_list_text(&v);
	cli_vec_free(&v);
	return rc;
}

/* What `approve` and `deny` were given. */
struct apr_args {
	const char *id;
	const char *by;
	const char *why;
	bool deny;
};

/* Decides, audits and leaves in REASON the refusal, if any. */
static int
cli_apr_decide_tx(struct cli_ctx *ctx, const struct apr_args *a, int64_t id,
    enum store_act_state *state, char *reason, size_t rlen)
{
	const char *verb = a->deny ? "deny" : "approve";
	const char *why = a->why != NULL ? a->why : "";
	struct store_activation act = {0};
	int rc;

	if (store_activation_get(ctx->st, id, &act) != PIM_OK)
		str_copy(act.user, "", sizeof(act.user));
	if (a->deny) {
		rc = policy_deny(
		    ctx->st, id, a->by, why, clock_now(), reason, rlen);
		*state = ACT_DENIED;
	} else
		rc = policy_approve(
		    ctx->st, id, a->by, why, clock_now(), state, reason, rlen);
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return cli_audit_refusal(ctx, act.user[0] ? act.user : NULL,
		    act.role[0] ? act.role : NULL,
		    "%s request %lld by %s refused: %s", verb, (long long)id,
		    a->by, reason);
	if (rc != PIM_OK)
		return cli_fail("%s", reason[0] != '\0' ? reason : "failed");
	reason[0] = '\0';
	return cli_audit(ctx, act.user, NULL, act.role,
	    "%s request %lld of %s %s by %s (now %s)%s%s", verb, (long long)id,
	    act.user, act.role, a->by, store_act_state_name(*state),
	    why[0] != '\0' ? ": " : "", why);
}

static int
cli_apr_run(struct cli_ctx *ctx, int argc, char **argv, bool deny)
{
	struct apr_args a = {.deny = deny};
	const struct cli_opt opts[] = {
	    {"--by", CLI_OPT_VALUE, &a.by},
	    {"--reason", CLI_OPT_VALUE, &a.why},
	    {NULL, 0, NULL},
	};
	char reason[POLICY_REASON_MAX] = "";
	enum store_act_state state = 0;
	struct store *st;
	int64_t id;
	int rc;

	rc = cli_parse(argc, argv, opts, &a.id, 1);
	if (rc != CLI_OK)
		return rc;
	if (!cli_parse_id(a.id, &id))
		return cli_bad_arg("invalid request id '%s'", a.id);
	if (a.by == NULL)
		return cli_bad_arg("--by USER is needed");
	if (deny && (a.why == NULL || a.why[strspn(a.why, " ")] == '\0'))
		return cli_bad_arg("--reason is needed to deny");
	rc = cli_check_name("user", a.by);
	if (rc == CLI_OK && a.why != NULL)
		rc = cli_check_text("--reason", a.why, STORE_TEXT_MAX - 1);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(ctx,
	    cli_apr_decide_tx(ctx, &a, id, &state, reason, sizeof(reason)));
	if (rc == CLI_OK && reason[0] != '\0')
		return cli_fail("%s", reason);
	if (rc == CLI_OK)
		printf("%lld %s\n", (long long)id, store_act_state_name(state));
	return rc;
}

int
cmd_approve(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_apr_run(ctx, argc, argv, false);
}

int
cmd_deny(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_apr_run(ctx, argc, argv, true);
}
