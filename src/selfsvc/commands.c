/* The self-service command table and the dispatcher: each verb is one
 * entry (name, arguments, one line of help, handler), so `help` is
 * generated from the table and adding a verb is a local change. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "selfsvc_int.h"

static int commands_help(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);

const struct selfsvc_cmd selfsvc_commands[] = {
    {"status", "", "your roles, activations and requests", selfsvc_cmd_status},
    {"activate",
	"ROLE --for DUR --reason TEXT [--ticket ID] [--otp CODE] "
	"[--start INSTANT]",
	"turn on a role you are eligible for", selfsvc_cmd_activate},
    {"deactivate", "ID", "end one of your activations now",
	selfsvc_cmd_deactivate},
    {"extend", "ID --for DUR [--reason TEXT] [--ticket ID] [--otp CODE]",
	"make an active activation last DUR from now", selfsvc_cmd_extend},
    {"cancel", "ID", "withdraw a request that waits for approval",
	selfsvc_cmd_cancel},
    {"requests", "", "requests waiting for your approval",
	selfsvc_cmd_requests},
    {"approve", "ID [--reason TEXT]", "approve a request", selfsvc_cmd_approve},
    {"deny", "ID --reason TEXT", "deny a request", selfsvc_cmd_deny},
    {"targets", "", "what you may connect to now, and how",
	selfsvc_cmd_targets},
    {"db-cert", "TARGET < REQUEST.csr",
	"a certificate for database TARGET (request on standard input)",
	selfsvc_cmd_db_cert},
    {"help", "[COMMAND]", "this list", commands_help},
    {NULL, NULL, NULL, NULL},
};

const struct selfsvc_cmd *
selfsvc_command_find(const char *name)
{
	for (const struct selfsvc_cmd *c = selfsvc_commands; c->name != NULL;
	     c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static void
commands_usage(const struct selfsvc_cmd *c, struct selfsvc_out *out)
{
	selfsvc_line(
	    out, "usage: %s%s%s", c->name, c->args[0] ? " " : "", c->args);
}

static int
commands_help(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	const struct selfsvc_cmd *c;

	if (argc > 1)
		return selfsvc_bad_arg(out, "too many arguments");
	if (argc == 1) {
		c = selfsvc_command_find(argv[0]);
		if (c == NULL)
			return selfsvc_bad_arg(
			    out, "no command '%.32s'", argv[0]);
		commands_usage(c, out);
		selfsvc_line(out, "  %s", c->help);
		return SS_OK;
	}
	selfsvc_line(out, "commands:");
	for (c = selfsvc_commands; c->name != NULL; c++)
		selfsvc_line(out, "  %-10s %s", c->name, c->help);
	selfsvc_line(out, "'help COMMAND' shows its arguments; durations "
			  "look like 90s, 15m, 1h30m; instants like "
			  "2027-01-15T08:00:00Z");
	return SS_OK;
}

/* Malformed input is refused too, and every refusal is audited: the
 * first line written since MARK is the reason. */
static void
commands_audit_usage(
    const struct selfsvc_ctx *ctx, const struct selfsvc_out *out, size_t mark)
{
	const char *why =
	    out->buf != NULL && out->len > mark ? out->buf + mark : "";
	int n = (int)strcspn(why, "\n");

	selfsvc_audit(
	    ctx, "refused", ctx->user, NULL, "malformed: %.*s", n, why);
}

int
selfsvc_run(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out)
{
	const struct selfsvc_cmd *c;
	size_t mark = out->len;
	int rc;

	if (argc < 1 || argv[0] == NULL)
		return selfsvc_bad_arg(out, "no command; try 'help'");
	c = selfsvc_command_find(argv[0]);
	if (c == NULL) {
		rc = selfsvc_bad_arg(out,
		    "unknown command '%.32s'; 'help' lists the commands",
		    argv[0]);
		commands_audit_usage(ctx, out, mark);
		return rc;
	}
	rc = c->run(ctx, argc - 1, argv + 1, out);
	if (rc == SS_HELP) {
		commands_usage(c, out);
		selfsvc_line(out, "  %s", c->help);
		rc = SS_OK;
	} else if (rc == SS_USAGE) {
		commands_audit_usage(ctx, out, mark);
		commands_usage(c, out);
	}
	if (out->failed)
		rc = SS_REFUSED;
	return rc;
}

bool
selfsvc_reads_input(int argc, char **argv)
{
	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return false;
	/* "db-cert --help" answers at once. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return false;
	}
	return strcmp(argv[0], "db-cert") == 0;
}

/* Loads into R the role named by an `activate` line, or that of the
 * person's activation an `extend` line names, and points *OTP at the
 * code given, if any. False if the line is neither or is malformed. */
static bool
commands_otp_role(const struct selfsvc_ctx *ctx, int argc, char **argv,
    const char **otp, struct store_role *r)
{
	const char *pos = NULL, *dur = NULL, *why = NULL, *ticket = NULL;
	const char *start = NULL;
	const struct selfsvc_opt opts[] = {
	    {"--for", &dur},
	    {"--reason", &why},
	    {"--ticket", &ticket},
	    {"--otp", otp},
	    {"--start", &start},
	    {NULL, NULL},
	};
	struct selfsvc_out quiet = {0};
	struct store_activation a;
	bool act = strcmp(argv[0], "activate") == 0;
	int64_t id;
	int rc;

	if (!act && strcmp(argv[0], "extend") != 0)
		return false;
	rc = selfsvc_parse(argc - 1, argv + 1, opts, &pos, 1, &quiet);
	selfsvc_out_free(&quiet);
	if (rc != SS_OK || (!act && start != NULL))
		return false;
	if (act)
		return store_role_get(ctx->st, pos, r) == PIM_OK;
	if (!selfsvc_parse_id(pos, &id) ||
	    store_activation_get(ctx->st, id, &a) != PIM_OK ||
	    strcmp(a.user, ctx->user) != 0)
		return false;
	return store_role_get_by_id(ctx->st, a.role_id, r) == PIM_OK;
}

bool
selfsvc_needs_otp(const struct selfsvc_ctx *ctx, int argc, char **argv)
{
	const char *otp = NULL;
	struct store_role r;

	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return false;
	if (!commands_otp_role(ctx, argc, argv, &otp, &r))
		return false;
	if (otp != NULL || (!r.require_mfa && !r.break_glass))
		return false;
	return selfsvc_has_mfa(ctx);
}
