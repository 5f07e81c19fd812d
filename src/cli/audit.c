/* pimctl audit verbs: list the trail, verify its hash chain (and its
 * signed checkpoints, checkpoint.c), export it as JSON lines for a
 * SIEM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "cli.h"

/* The options shared by the listing verbs. */
struct audit_args {
	const char *since;
	const char *user;
	bool json;
	int64_t since_ms;
};

/* Parses --since (and, for listings, --user and --json). */
static int
audit_parse(int argc, char **argv, struct audit_args *a, bool listing)
{
	const struct cli_opt list_opts[] = {
	    {"--since", CLI_OPT_VALUE, &a->since},
	    {"--user", CLI_OPT_VALUE, &a->user},
	    {"--json", CLI_OPT_FLAG, &a->json},
	    {NULL, 0, NULL},
	};
	const struct cli_opt export_opts[] = {
	    {"--since", CLI_OPT_VALUE, &a->since},
	    {NULL, 0, NULL},
	};
	int64_t t = 0;
	int rc;

	rc = cli_parse(argc, argv, listing ? list_opts : export_opts, NULL, 0);
	if (rc != CLI_OK)
		return rc;
	if (a->since != NULL &&
	    cli_parse_instant("--since", a->since, &t) != CLI_OK)
		return CLI_USAGE;
	a->since_ms = t * 1000;
	return CLI_OK;
}

static json_t *
audit_json(const struct store_audit *a)
{
	return json_pack("{sI sI so so so so so so so sI so so so so}", "id",
	    (json_int_t)a->id, "ts_ms", (json_int_t)a->ts_ms, "time",
	    cli_json_instant(a->ts_ms / 1000), "actor", cli_json_text(a->actor),
	    "event", cli_json_text(a->event), "outcome",
	    cli_json_text(a->outcome), "user", cli_json_text(a->user), "target",
	    cli_json_text(a->target), "role", cli_json_text(a->role), "session",
	    (json_int_t)a->session_id, "peer", cli_json_text(a->peer), "detail",
	    cli_json_text(a->detail), "prev_hash", cli_json_text(a->prev_hash),
	    "hash", cli_json_text(a->hash));
}

static int
audit_collect(const struct store_audit *a, void *arg)
{
	return cli_vec_push(arg, a);
}

static int
audit_list_text(const struct cli_vec *v)
{
	struct cli_table *t = cli_table_new(8, "ID", "TIME", "ACTOR", "EVENT",
	    "OUTCOME", "USER", "TARGET", "DETAIL");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		struct store_audit a =
		    *(const struct store_audit *)cli_vec_at(v, i);
		char id[24], when[40];

		snprintf(id, sizeof(id), "%lld", (long long)a.id);
		cli_instant(a.ts_ms / 1000, when, sizeof(when));
		cli_text_clean(a.actor);
		cli_text_clean(a.user);
		cli_text_clean(a.target);
		cli_text_clean(a.detail);
		cli_table_add(t, id, when, a.actor, a.event, a.outcome,
		    a.user[0] ? a.user : "-", a.target[0] ? a.target : "-",
		    a.detail[0] ? a.detail : "-");
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct audit_args a = {0};
	struct cli_vec v = {.size = sizeof(struct store_audit)};
	json_t *arr;
	struct store *st;
	int rc;

	rc = audit_parse(argc, argv, &a, true);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_audit_list(st, a.since_ms, a.user, audit_collect, &v);
	if (rc != PIM_OK) {
		cli_vec_free(&v);
		return cli_store_fail(ctx, rc, "cannot read the audit trail");
	}
	if (a.json) {
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < v.n; i++)
			cli_json_push(&arr, audit_json(cli_vec_at(&v, i)));
		rc = cli_json_print(arr);
	} else {
		rc = audit_list_text(&v);
	}
	cli_vec_free(&v);
	return rc;
}

/* One JSON line per event, streamed: an export can be large. */
static int
audit_export_one(const struct store_audit *a, void *arg)
{
	json_t *j = audit_json(a);
	char *line = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int ok = line != NULL && puts(line) >= 0;

	free(line);
	json_decref(j);
	return ok ? 0 : PIM_EIO;
}

int
cmd_audit_export(struct cli_ctx *ctx, int argc, char **argv)
{
	struct audit_args a = {0};
	struct store *st;
	int rc;

	rc = audit_parse(argc, argv, &a, false);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_audit_list(st, a.since_ms, NULL, audit_export_one, NULL);
	if (fflush(stdout) != 0 || rc == PIM_EIO)
		return cli_fail("cannot write the export");
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the audit trail");
	return CLI_OK;
}

static void
audit_verify_summary(const struct audit_check *res)
{
	printf("audit trail intact: %lld events on the chain",
	    (long long)res->chained);
	if (res->unchained > 0)
		printf(", %lld written before the chain began",
		    (long long)res->unchained);
	printf("; newest %lld, hash %s\n", (long long)res->last_id,
	    res->head[0] ? res->head : "-");
}

/* The chain first, then the checkpoints: every finding of both is
 * printed, one line each, before the verdict. */
int
cmd_audit_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pubkey = NULL, *lines = NULL;
	const struct cli_opt opts[] = {
	    {"--pubkey", CLI_OPT_VALUE, &pubkey},
	    {"--checkpoints", CLI_OPT_VALUE, &lines},
	    {NULL, 0, NULL},
	};
	struct audit_check res;
	char summary[256];
	struct store *st;
	int rc, chain;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	chain = audit_verify(st, &res);
	if (chain == PIM_EDENIED)
		cli_fail("the audit trail is broken: event %lld %s",
		    (long long)res.broken_id, res.why);
	else if (chain != PIM_OK)
		return cli_store_fail(
		    ctx, chain, "cannot read the audit trail");
	rc = cli_audit_verify_checkpoints(
	    ctx, st, pubkey, lines, summary, sizeof(summary));
	if (chain != PIM_OK || rc != CLI_OK)
		return CLI_FAIL;
	audit_verify_summary(&res);
	puts(summary);
	return CLI_OK;
}
