/* Approving other people's requests: requests (what waits for this
 * person's approval), approve, deny. Who may approve, self-approval and
 * expiry are policy's rules. A refusal is audited and committed, since
 * an expired request is denied on the way. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "selfsvc_int.h"

/* Pending requests of other people, gathered from the store. */
struct apr_list {
	struct store_activation *v;
	size_t n;
	size_t cap;
	const char *user; /* the person asking: their own are left out */
	int64_t now;
};

static int
apr_collect(const struct store_activation *a, void *arg)
{
	struct apr_list *l = arg;
	struct store_activation *p;

	if (a->state != ACT_PENDING || strcmp(a->user, l->user) == 0 ||
	    (a->approve_by != 0 && l->now >= a->approve_by))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? l->cap * 2 : 8;

		p = realloc(l->v, cap * sizeof(*p));
		if (p == NULL)
			return PIM_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

/* Approvals of a request so far, and whether the person gave one. */
struct apr_tally {
	const char *user;
	int approvals;
	bool mine;
};

static int
apr_count(const struct store_approval *a, void *arg)
{
	struct apr_tally *t = arg;

	if (strcmp(a->decision, "approve") == 0)
		t->approvals++;
	if (strcmp(a->approver, t->user) == 0)
		t->mine = true;
	return 0;
}

/* Shows request A if the person may approve it; counts it in *SHOWN. */
static int
apr_show(const struct selfsvc_ctx *ctx, const struct store_activation *a,
    int *shown, struct selfsvc_out *out)
{
	struct apr_tally t = {.user = ctx->user};
	char dur[32], exp[32];
	struct store_role r;
	bool may = false;
	int rc;

	rc = store_role_get_by_id(ctx->st, a->role_id, &r);
	if (rc == PIM_OK)
		rc = policy_may_approve(ctx->st, &r, ctx->user, ctx->now, &may);
	if (rc == PIM_OK && may)
		rc = store_approval_list(ctx->st, a->id, apr_count, &t);
	if (rc != PIM_OK || !may)
		return rc;
	duration_format(a->end - a->start, dur, sizeof(dur));
	selfsvc_line(out,
	    "%lld  %s  role %s for %s%s%s, %d of %d approvals%s, "
	    "expires %s",
	    (long long)a->id, a->user, a->role, dur,
	    a->ticket[0] != '\0' ? ", ticket " : "", a->ticket, t.approvals,
	    r.approvals, t.mine ? " (yours given)" : "",
	    selfsvc_instant(a->approve_by, exp, sizeof(exp)));
	selfsvc_line(out, "    reason: %s", a->reason);
	(*shown)++;
	return PIM_OK;
}

int
selfsvc_cmd_requests(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct apr_list l = {.user = ctx->user, .now = ctx->now};
	int shown = 0, rc;

	rc = selfsvc_parse(argc, argv, NULL, NULL, 0, out);
	if (rc != SS_OK)
		return rc;
	rc = store_activation_list(ctx->st, 0, apr_collect, &l);
	for (size_t i = 0; rc == PIM_OK && i < l.n; i++)
		rc = apr_show(ctx, &l.v[i], &shown, out);
	free(l.v);
	if (rc != PIM_OK)
		return selfsvc_store_fail(
		    out, ctx->st, rc, "list the requests");
	if (shown == 0)
		selfsvc_line(out, "no requests wait for your approval");
	else
		selfsvc_line(out, "'approve ID' or 'deny ID --reason TEXT' "
				  "decides one");
	return SS_OK;
}

/* What `approve` and `deny` were given and came to. */
struct apr_decision {
	bool deny;
	int64_t id;
	const char *why;
	enum store_act_state state;
	char reason[POLICY_REASON_MAX]; /* the refusal; "" if done */
};

static int
apr_decide_tx(const struct selfsvc_ctx *ctx, struct apr_decision *d)
{
	const char *verb = d->deny ? "deny" : "approve";
	const char *why = d->why != NULL ? d->why : "";
	struct store_activation a = {0};
	int rc;

	if (store_activation_get(ctx->st, d->id, &a) != PIM_OK)
		memset(&a, 0, sizeof(a));
	if (d->deny) {
		rc = policy_deny(ctx->st, d->id, ctx->user, why, ctx->now,
		    d->reason, sizeof(d->reason));
		d->state = ACT_DENIED;
	} else
		rc = policy_approve(ctx->st, d->id, ctx->user, why, ctx->now,
		    &d->state, d->reason, sizeof(d->reason));
	if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
		return selfsvc_audit(ctx, "refused", a.user[0] ? a.user : NULL,
		    a.role[0] ? a.role : NULL, "%s request %lld refused: %s",
		    verb, (long long)d->id, d->reason);
	if (rc != PIM_OK)
		return rc;
	d->reason[0] = '\0';
	return selfsvc_audit(ctx, "ok", a.user, a.role,
	    "%s request %lld of %s for role %s (now %s)%s%s", verb,
	    (long long)d->id, a.user, a.role, store_act_state_name(d->state),
	    why[0] != '\0' ? ": " : "", why);
}

static int
apr_run(const struct selfsvc_ctx *ctx, struct apr_decision *d, int argc,
    char **argv, struct selfsvc_out *out)
{
	const struct selfsvc_opt opts[] = {
	    {"--reason", &d->why},
	    {NULL, NULL},
	};
	const char *arg = NULL;
	int rc;

	rc = selfsvc_parse(argc, argv, opts, &arg, 1, out);
	if (rc != SS_OK)
		return rc;
	if (!selfsvc_parse_id(arg, &d->id))
		return selfsvc_bad_arg(out, "'%.32s' is not a request id", arg);
	if (d->deny && (d->why == NULL || d->why[strspn(d->why, " ")] == '\0'))
		return selfsvc_bad_arg(out, "say why: --reason TEXT");
	if (d->why != NULL)
		rc = selfsvc_check_text(
		    "--reason", d->why, STORE_TEXT_MAX - 1, out);
	if (rc != SS_OK)
		return rc;
	rc = store_begin(ctx->st);
	if (rc == PIM_OK)
		rc = selfsvc_finish(ctx->st, apr_decide_tx(ctx, d));
	if (rc != PIM_OK)
		return selfsvc_store_fail(
		    out, ctx->st, rc, d->deny ? "deny" : "approve");
	if (d->reason[0] != '\0')
		return selfsvc_refuse(out, "%s", d->reason);
	return SS_OK;
}

int
selfsvc_cmd_approve(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct apr_decision d = {.deny = false};
	int rc = apr_run(ctx, &d, argc, argv, out);

	if (rc == SS_OK && d.state == ACT_ACTIVE)
		selfsvc_line(
		    out, "request %lld: approved, now active", (long long)d.id);
	else if (rc == SS_OK)
		selfsvc_line(out,
		    "request %lld: approved, waiting for more approvals",
		    (long long)d.id);
	return rc;
}

int
selfsvc_cmd_deny(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct apr_decision d = {.deny = true};
	int rc = apr_run(ctx, &d, argc, argv, out);

	if (rc == SS_OK)
		selfsvc_line(out, "request %lld: denied", (long long)d.id);
	return rc;
}
