/* What the person holds and may reach: status (assignments, activations
 * with the time left, own requests waiting for approval) and targets
 * (what policy admits right now, with the login line). Read only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "selfsvc_int.h"

/* Ended activations shown by status, newest first. */
#define STATUS_RECENT 5

/* A growing array of SIZE-byte elements. */
struct status_vec {
	void *v;
	size_t n;
	size_t cap;
	size_t size;
};

static int
status_push(struct status_vec *vec, const void *elem)
{
	void *p;

	if (vec->n == vec->cap) {
		size_t cap = vec->cap != 0 ? vec->cap * 2 : 8;

		p = realloc(vec->v, cap * vec->size);
		if (p == NULL)
			return PIM_ENOMEM;
		vec->v = p;
		vec->cap = cap;
	}
	memcpy((char *)vec->v + vec->n * vec->size, elem, vec->size);
	vec->n++;
	return 0;
}

/* ---- status ---- */

/* "eligible, permanent", "active, from X until Y", ... for A at NOW. */
static void
status_assignment_line(
    const struct store_assignment *a, int64_t now, struct selfsvc_out *out)
{
	const char *kind = a->kind == ASSIGN_ACTIVE ? "active" : "eligible";
	char s[32], e[32];

	selfsvc_instant(a->start, s, sizeof(s));
	selfsvc_instant(a->end, e, sizeof(e));
	if (a->end != 0 && now >= a->end)
		selfsvc_line(out, "  %-20s %s, ended %s", a->role, kind, e);
	else if (a->start > now)
		selfsvc_line(out, "  %-20s %s, from %s%s%s (not yet)", a->role,
		    kind, s, a->end != 0 ? " until " : "",
		    a->end != 0 ? e : "");
	else if (a->end != 0)
		selfsvc_line(out, "  %-20s %s, until %s", a->role, kind, e);
	else
		selfsvc_line(out, "  %-20s %s, permanent", a->role, kind);
}

static int
status_assignment(const struct store_assignment *a, void *arg)
{
	return status_push(arg, a);
}

static int
status_activation(const struct store_activation *a, void *arg)
{
	return status_push(arg, a);
}

static int
status_assignments(
    const struct selfsvc_ctx *ctx, int64_t uid, struct selfsvc_out *out)
{
	struct status_vec v = {.size = sizeof(struct store_assignment)};
	int rc;

	rc = store_assignment_list(ctx->st, uid, status_assignment, &v);
	if (rc == PIM_OK) {
		selfsvc_line(out, "roles:");
		for (size_t i = 0; i < v.n; i++)
			status_assignment_line(
			    (struct store_assignment *)v.v + i, ctx->now, out);
		if (v.n == 0)
			selfsvc_line(out, "  none; ask an admin to assign one");
	}
	free(v.v);
	return rc;
}

/* One activation that is not pending; RECENT counts ended ones shown. */
static void
status_activation_line(const struct selfsvc_ctx *ctx,
    const struct store_activation *a, int *recent, struct selfsvc_out *out)
{
	enum store_act_state s = policy_activation_state(a, ctx->now);
	char t1[32], t2[32], left[32];

	if (s == ACT_ACTIVE && a->start > ctx->now)
		selfsvc_line(out, "  %-6lld %-20s scheduled, from %s until %s",
		    (long long)a->id, a->role,
		    selfsvc_instant(a->start, t1, sizeof(t1)),
		    selfsvc_instant(a->end, t2, sizeof(t2)));
	else if (s == ACT_ACTIVE)
		selfsvc_line(out, "  %-6lld %-20s active, %s left (until %s)%s",
		    (long long)a->id, a->role,
		    selfsvc_left(ctx->now, a->end, left, sizeof(left)),
		    selfsvc_instant(a->end, t2, sizeof(t2)),
		    a->break_glass ? " BREAK-GLASS" : "");
	else if (s != ACT_PENDING && (*recent)++ < STATUS_RECENT)
		selfsvc_line(out, "  %-6lld %-20s %s %s", (long long)a->id,
		    a->role, store_act_state_name(s),
		    selfsvc_instant(
			a->ended != 0 ? a->ended : a->end, t1, sizeof(t1)));
}

static int
status_tally(const struct store_approval *a, void *arg)
{
	*(int *)arg += strcmp(a->decision, "approve") == 0;
	return 0;
}

/* One of the person's own requests waiting for approval. */
static int
status_pending_line(const struct selfsvc_ctx *ctx,
    const struct store_activation *a, struct selfsvc_out *out)
{
	struct store_role r = {.approvals = 0};
	char dur[32], exp[32];
	int n = 0, rc;

	rc = store_role_get_by_id(ctx->st, a->role_id, &r);
	if (rc == PIM_OK)
		rc = store_approval_list(ctx->st, a->id, status_tally, &n);
	if (rc != PIM_OK)
		return rc;
	duration_format(a->end - a->start, dur, sizeof(dur));
	selfsvc_line(out,
	    "  %-6lld %-20s for %s, %d of %d approvals (by: %s), %s %s",
	    (long long)a->id, a->role, dur, n, r.approvals, r.approvers,
	    a->approve_by != 0 && ctx->now >= a->approve_by
		? "not approved in time, expired"
		: "expires",
	    selfsvc_instant(a->approve_by, exp, sizeof(exp)));
	return PIM_OK;
}

static int
status_activations(
    const struct selfsvc_ctx *ctx, int64_t uid, struct selfsvc_out *out)
{
	struct status_vec v = {.size = sizeof(struct store_activation)};
	const struct store_activation *a;
	int recent = 0, pending = 0, rc;

	rc = store_activation_list(ctx->st, uid, status_activation, &v);
	if (rc == PIM_OK) {
		selfsvc_line(out, "activations:");
		for (size_t i = 0; i < v.n; i++)
			status_activation_line(ctx,
			    (struct store_activation *)v.v + i, &recent, out);
		if (v.n == 0)
			selfsvc_line(out, "  none");
		selfsvc_line(out, "your requests waiting for approval:");
	}
	for (size_t i = 0; rc == PIM_OK && i < v.n; i++) {
		a = (struct store_activation *)v.v + i;
		if (policy_activation_state(a, ctx->now) != ACT_PENDING)
			continue;
		rc = status_pending_line(ctx, a, out);
		pending++;
	}
	if (rc == PIM_OK && pending == 0)
		selfsvc_line(out, "  none");
	free(v.v);
	return rc;
}

int
selfsvc_cmd_status(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct store_user u;
	int rc;

	rc = selfsvc_parse(argc, argv, NULL, NULL, 0, out);
	if (rc != SS_OK)
		return rc;
	rc = store_user_get(ctx->st, ctx->user, &u);
	if (rc == PIM_ENOTFOUND)
		return selfsvc_refuse(out, "there is no user %s", ctx->user);
	if (rc == PIM_OK && !u.enabled)
		selfsvc_line(out, "your account is disabled: nothing admits "
				  "you until an admin enables it");
	if (rc == PIM_OK)
		rc = status_assignments(ctx, u.id, out);
	if (rc == PIM_OK)
		rc = status_activations(ctx, u.id, out);
	if (rc != PIM_OK)
		return selfsvc_store_fail(out, ctx->st, rc, "read your status");
	return SS_OK;
}

/* ---- targets ---- */

/* What `targets` needs of a target: its name and whether it is a
 * database. */
struct status_target {
	char name[STORE_NAME_MAX];
	bool database;
};

static int
status_target(const struct store_target *t, void *arg)
{
	struct status_target e = {.database = strcmp(t->kind, "postgres") == 0};

	str_copy(e.name, t->name, sizeof(e.name));
	return status_push(arg, &e);
}

/* How to reach database TARGET: a client certificate, then psql. */
static void
status_database_lines(const struct selfsvc_ctx *ctx, const char *target,
    const char *host, const char *port, struct selfsvc_out *out)
{
	char pgport[24] = "";

	if (ctx->pg_port != 0 && ctx->pg_port != 5432)
		snprintf(pgport, sizeof(pgport), " port=%d", ctx->pg_port);
	selfsvc_line(out, "    ssh %s%s@%s db-cert %s < %s.csr > %s.crt", port,
	    ctx->user, host, target, ctx->user, ctx->user);
	selfsvc_line(out,
	    "    psql \"host=%s%s user=%s dbname=%s sslmode=verify-full "
	    "sslrootcert=ca.crt sslcert=%s.crt sslkey=%s.key\"",
	    host, pgport, ctx->user, target, ctx->user, ctx->user);
}

/* The lines for TARGET (DATABASE: a postgres target), admitted as ADM. */
static void
status_target_lines(const struct selfsvc_ctx *ctx, const char *target,
    bool database, const struct admission *adm, struct selfsvc_out *out)
{
	const char *host =
	    ctx->login_host != NULL ? ctx->login_host : "<this bastion>";
	char until[32], left[32], port[24] = "", sport[24] = "";

	if (ctx->login_port != 0 && ctx->login_port != 22) {
		snprintf(port, sizeof(port), "-p %d ", ctx->login_port);
		snprintf(sport, sizeof(sport), "-P %d ", ctx->login_port);
	}
	selfsvc_line(out, "%s  (role %s, until %s, %s left)", target, adm->role,
	    selfsvc_instant(adm->deadline, until, sizeof(until)),
	    selfsvc_left(ctx->now, adm->deadline, left, sizeof(left)));
	if (database) {
		status_database_lines(ctx, target, host, port, out);
		return;
	}
	selfsvc_line(out, "    ssh %s%s:%s@%s", port, ctx->user, target, host);
	/* sftp reads "a:b" as host:path: the login goes with -o User=. */
	if (adm->channels & CHANNEL_SFTP)
		selfsvc_line(out, "    sftp %s-o User=%s:%s %s", sport,
		    ctx->user, target, host);
}

int
selfsvc_cmd_targets(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	struct status_vec v = {.size = sizeof(struct status_target)};
	char reason[POLICY_REASON_MAX];
	struct admission adm;
	int shown = 0, rc;

	rc = selfsvc_parse(argc, argv, NULL, NULL, 0, out);
	if (rc != SS_OK)
		return rc;
	rc = store_target_list(ctx->st, status_target, &v);
	for (size_t i = 0; rc == PIM_OK && i < v.n; i++) {
		const struct status_target *e =
		    (const struct status_target *)v.v + i;

		rc = policy_admit(ctx->st, ctx->user, e->name, ctx->now, &adm,
		    reason, sizeof(reason));
		if (rc == PIM_OK) {
			status_target_lines(
			    ctx, e->name, e->database, &adm, out);
			shown++;
		}
		if (rc == PIM_EDENIED || rc == PIM_ENOTFOUND)
			rc = PIM_OK;
	}
	free(v.v);
	if (rc != PIM_OK)
		return selfsvc_store_fail(
		    out, ctx->st, rc, "list your targets");
	if (shown == 0)
		selfsvc_line(out, "nothing you may connect to right now; "
				  "'status' shows the roles you can activate");
	return SS_OK;
}
