/* pimctl assignment verbs: assign, unassign, assignments. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "cli.h"

static const char *
assign_kind_name(enum store_assign_kind kind)
{
	return kind == ASSIGN_ACTIVE ? "active" : "eligible";
}

/* What `assign` was given. */
struct assign_args {
	const char *pos[2]; /* USER ROLE */
	bool eligible;
	bool active;
	const char *from;
	const char *until;
};

/* Fills A's kind and window from ARGS, checked against NOW. */
static int
assign_fill(
    const struct assign_args *args, int64_t now, struct store_assignment *a)
{
	int rc = CLI_OK;

	if (args->eligible == args->active)
		return cli_bad_arg("give one of --eligible and --active");
	a->kind = args->active ? ASSIGN_ACTIVE : ASSIGN_ELIGIBLE;
	if (args->from != NULL)
		rc = cli_parse_instant("--from", args->from, &a->start);
	if (rc == CLI_OK && args->until != NULL)
		rc = cli_parse_instant("--until", args->until, &a->end);
	if (rc != CLI_OK)
		return rc;
	if (a->end != 0 && a->start != 0 && a->end <= a->start)
		return cli_fail("--until must be after --from");
	if (a->end != 0 && a->end <= now)
		return cli_fail("--until %s is not in the future", args->until);
	return CLI_OK;
}

/* "eligible", "active from X until Y", ... for the audit detail. */
static void
assign_describe(const struct store_assignment *a, char *buf, size_t size)
{
	char from[32], until[32];

	snprintf(buf, size, "%s from %s until %s", assign_kind_name(a->kind),
	    a->start != 0 ? cli_instant(a->start, from, sizeof(from))
			  : "always",
	    a->end != 0 ? cli_instant(a->end, until, sizeof(until)) : "always");
}

/* The role's limits on assignments: permanent ones allowed or not, and
 * how long a time-bound one may span (from its start, or NOW); a
 * permanent one, where allowed, is not bound by the span. */
static int
assign_check_role(
    const struct store_role *r, const struct store_assignment *a, int64_t now)
{
	const char *kind = assign_kind_name(a->kind);
	bool perm = a->kind == ASSIGN_ACTIVE ? r->allow_perm_active
					     : r->allow_perm_eligible;
	int64_t from = a->start > now ? a->start : now;
	char max[32];

	if (a->end == 0 && !perm)
		return cli_fail("role %s allows no permanent %s assignment; "
				"give --until",
		    r->name, kind);
	if (r->max_assignment > 0 && a->end != 0 &&
	    a->end - from > r->max_assignment)
		return cli_fail("role %s allows %s assignments of at most %s; "
				"give an earlier --until",
		    r->name, kind,
		    cli_duration(r->max_assignment, max, sizeof(max)));
	return CLI_OK;
}

static int
assign_tx(struct cli_ctx *ctx, struct store_assignment *a)
{
	struct store_user u;
	struct store_role r;
	char desc[128];
	int64_t id;
	int rc;

	if (cli_get_user(ctx, a->user, &u) != CLI_OK ||
	    cli_get_role(ctx, a->role, &r) != CLI_OK)
		return CLI_FAIL;
	a->user_id = u.id;
	a->role_id = r.id;
	if (assign_check_role(&r, a, clock_now()) != CLI_OK)
		return CLI_FAIL;
	rc = store_assignment_add(ctx->st, a, &id);
	if (rc == PIM_EEXIST)
		return cli_fail("%s already holds an %s assignment of %s",
		    a->user, assign_kind_name(a->kind), a->role);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the assignment");
	assign_describe(a, desc, sizeof(desc));
	return cli_audit(ctx, a->user, NULL, a->role, "assign %s %s %s",
	    a->user, a->role, desc);
}

int
cmd_assign(struct cli_ctx *ctx, int argc, char **argv)
{
	struct assign_args args = {{NULL, NULL}, false, false, NULL, NULL};
	const struct cli_opt opts[] = {
	    {"--eligible", CLI_OPT_FLAG, &args.eligible},
	    {"--active", CLI_OPT_FLAG, &args.active},
	    {"--from", CLI_OPT_VALUE, &args.from},
	    {"--until", CLI_OPT_VALUE, &args.until},
	    {NULL, 0, NULL},
	};
	struct store_assignment a = {.id = 0};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, args.pos, 2);
	if (rc == CLI_OK)
		rc = assign_fill(&args, clock_now(), &a);
	if (rc != CLI_OK)
		return rc;
	str_copy(a.user, args.pos[0], sizeof(a.user));
	str_copy(a.role, args.pos[1], sizeof(a.role));
	a.created = clock_now();
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, assign_tx(ctx, &a));
}

/* The live activations of one user's role, which unassign ends. */
struct unassign_acts {
	int64_t role_id;
	struct cli_vec v;
};

static int
unassign_collect(const struct store_activation *a, void *arg)
{
	struct unassign_acts *u = arg;

	if (a->role_id != u->role_id)
		return PIM_OK;
	return cli_vec_push(&u->v, a);
}

/* Appends ID to the list of ended activations in BUF ("3, 5"); a list
 * too long for BUF ends with "..." instead. */
static void
unassign_note(char *buf, size_t size, int64_t id)
{
	size_t len = strlen(buf);

	if (len >= 3 && strcmp(buf + len - 3, "...") == 0)
		return;
	if (!str_printf(buf + len, size - len, "%s%lld", len > 0 ? ", " : "",
		(long long)id)) {
		buf[len] = '\0';
		str_printf(buf + len, size - len, "%s...", len > 0 ? ", " : "");
	}
}

/* Ends activation A if it is live: active -> revoked, pending ->
 * cancelled; notes its id in ENDED and counts it in *N. */
static int
unassign_end_one(struct cli_ctx *ctx, const struct store_activation *a,
    int64_t now, char *ended, size_t size, int *n)
{
	enum store_act_state state = policy_activation_state(a, now);
	enum store_act_state to;
	int rc;

	if (state != ACT_ACTIVE && state != ACT_PENDING)
		return CLI_OK;
	to = state == ACT_ACTIVE ? ACT_REVOKED : ACT_CANCELLED;
	rc = store_activation_transition(ctx->st, a->id, state, to, now);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot end an activation");
	unassign_note(ended, size, a->id);
	(*n)++;
	return CLI_OK;
}

/* Ends USER_ID's live activations of ROLE_ID, so that a later assignment
 * cannot revive them. ENDED gets their ids, *N their number. */
static int
unassign_end_activations(struct cli_ctx *ctx, int64_t user_id, int64_t role_id,
    char *ended, size_t size, int *n)
{
	struct unassign_acts u = {
	    role_id, {.size = sizeof(struct store_activation)}};
	int64_t now = clock_now();
	int rc;

	ended[0] = '\0';
	*n = 0;
	rc = store_activation_list(ctx->st, user_id, unassign_collect, &u);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot read the activations");
	for (size_t i = 0; rc == CLI_OK && i < u.v.n; i++)
		rc = unassign_end_one(
		    ctx, cli_vec_at(&u.v, i), now, ended, size, n);
	cli_vec_free(&u.v);
	return rc;
}

/* Removes USER's assignments of ROLE and ends the activations they
 * allowed; SUMMARY ("unassign alice ops; ended activation 3") goes into
 * the audit event and, once committed, to standard output. */
static int
unassign_tx(struct cli_ctx *ctx, const char *user, const char *role,
    char *summary, size_t size)
{
	struct store_user u;
	struct store_role r;
	char ended[256];
	int n, rc;

	if (cli_get_user(ctx, user, &u) != CLI_OK ||
	    cli_get_role(ctx, role, &r) != CLI_OK)
		return CLI_FAIL;
	rc = store_assignment_remove(ctx->st, u.id, r.id);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("%s holds no assignment of %s", user, role);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot remove the assignment");
	rc =
	    unassign_end_activations(ctx, u.id, r.id, ended, sizeof(ended), &n);
	if (rc != CLI_OK)
		return rc;
	snprintf(summary, size, "unassign %s %s%s%s", user, role,
	    n == 0 ? ""
		   : (n == 1 ? "; ended activation " : "; ended activations "),
	    ended);
	return cli_audit(ctx, user, NULL, role, "%s", summary);
}

int
cmd_unassign(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2];
	char summary[STORE_TEXT_MAX];
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, pos, 2);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(
	    ctx, unassign_tx(ctx, pos[0], pos[1], summary, sizeof(summary)));
	if (rc == CLI_OK)
		printf("%s\n", summary);
	return rc;
}

/* Where NOW falls in A's window: "current", "future" or "ended". */
static const char *
assign_status(const struct store_assignment *a, int64_t now)
{
	if (a->start != 0 && now < a->start)
		return "future";
	if (a->end != 0 && now >= a->end)
		return "ended";
	return "current";
}

static int
assign_collect(const struct store_assignment *a, void *arg)
{
	return cli_vec_push(arg, a);
}

static int
assign_list_json(const struct cli_vec *v, int64_t now)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < v->n; i++) {
		const struct store_assignment *a = cli_vec_at(v, i);

		cli_json_push(
		    &arr, json_pack("{sI so so ss so so ss so}", "id",
			      (json_int_t)a->id, "user", cli_json_text(a->user),
			      "role", cli_json_text(a->role), "kind",
			      assign_kind_name(a->kind), "from",
			      cli_json_instant(a->start), "until",
			      cli_json_instant(a->end), "status",
			      assign_status(a, now), "created",
			      cli_json_instant(a->created)));
	}
	return cli_json_print(arr);
}

static int
assign_list_text(const struct cli_vec *v, int64_t now)
{
	struct cli_table *t = cli_table_new(
	    7, "ID", "USER", "ROLE", "KIND", "FROM", "UNTIL", "STATUS");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		const struct store_assignment *a = cli_vec_at(v, i);
		char id[24], from[32], until[32];

		snprintf(id, sizeof(id), "%lld", (long long)a->id);
		cli_table_add(t, id, a->user, a->role,
		    assign_kind_name(a->kind),
		    cli_instant(a->start, from, sizeof(from)),
		    cli_instant(a->end, until, sizeof(until)),
		    assign_status(a, now));
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_assignments(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec v = {.size = sizeof(struct store_assignment)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_assignment_list(st, 0, assign_collect, &v);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the assignments");
	else if (json)
		rc = assign_list_json(&v, clock_now());
	else
		rc = assign_list_text(&v, clock_now());
	cli_vec_free(&v);
	return rc;
}
