/* pimctl activation verbs: activate (on a user's behalf), activations,
 * revoke. The rules themselves live in policy. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"

#include "cli.h"

static const char *
act_state_name(enum store_act_state s)
{
	const char *name = store_act_state_name(s);

	return name != NULL ? name : "unknown";
}

/* What `activate` was given. */
struct act_args {
	const char *pos[2]; /* USER ROLE */
	const char *duration;
	const char *why;
};

static int
act_activate_tx(
    struct cli_ctx *ctx, const struct act_args *a, int64_t secs, int64_t *id)
{
	char reason[POLICY_REASON_MAX] = "";
	char dur[32];
	int rc;

	rc = policy_activate(ctx->st, a->pos[0], a->pos[1], clock_now(), secs,
	    a->why, ctx->actor, id, reason, sizeof(reason));
	if (rc != PIM_OK && reason[0] != '\0')
		return cli_fail("%s", reason);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot activate");
	duration_format(secs, dur, sizeof(dur));
	return cli_audit(ctx, a->pos[0], NULL, a->pos[1],
	    "activate %s %s for %s (activation %lld): %s", a->pos[0], a->pos[1],
	    dur, (long long)*id, a->why);
}

int
cmd_activate(struct cli_ctx *ctx, int argc, char **argv)
{
	struct act_args a = {{NULL, NULL}, NULL, NULL};
	const struct cli_opt opts[] = {
	    {"--for", CLI_OPT_VALUE, &a.duration},
	    {"--reason", CLI_OPT_VALUE, &a.why},
	    {NULL, 0, NULL},
	};
	struct store *st;
	int64_t secs, id = 0;
	int rc;

	rc = cli_parse(argc, argv, opts, a.pos, 2);
	if (rc != CLI_OK)
		return rc;
	if (a.duration == NULL || a.why == NULL)
		return cli_bad_arg("--for and --reason are needed");
	if (a.why[strspn(a.why, " ")] == '\0')
		return cli_bad_arg("--reason must not be empty");
	rc = cli_check_text("--reason", a.why, STORE_TEXT_MAX - 1);
	if (rc == CLI_OK)
		rc = cli_parse_duration("--for", a.duration, &secs);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(ctx, act_activate_tx(ctx, &a, secs, &id));
	if (rc == CLI_OK)
		printf("%lld\n", (long long)id);
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
