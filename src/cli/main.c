/* pimctl: the admin command line. main parses the global options, finds
 * the verb in the command table, loads the configuration and runs it. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/config.h"
#include "pimgate/log.h"
#include "pimgate/store.h"
#include "pimgate/str.h"

#include "cli.h"

static void
cli_main_usage(FILE *out)
{
	fprintf(out, "usage: pimctl [-c FILE] VERB [ARGS...]\n"
		     "run 'pimctl help' for the list of verbs\n");
}

/* Parses the options before the verb. Returns the index of the verb,
 * -1 for a usage error, or -2 when help or the version was printed. */
static int
cli_global_options(int argc, char **argv, struct cli_ctx *ctx)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 && i + 1 < argc) {
			ctx->conf_path = argv[i + 1];
			i += 2;
		} else if (strncmp(a, "-c", 2) == 0 && a[2] != '\0') {
			ctx->conf_path = a + 2;
			i++;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli_command_help(NULL, stdout);
			return -2;
		} else if (strcmp(a, "-c") == 0) {
			cli_bad_arg("-c needs a FILE");
			return -1;
		} else if (strcmp(a, "--version") == 0) {
			printf("pimctl %s\n", PIMGATE_VERSION);
			return -2;
		} else {
			cli_bad_arg("unknown option %s", a);
			return -1;
		}
	}
	return i;
}

/* `pimctl help [GROUP]`. */
static int
cli_help(int argc, char **argv)
{
	if (argc > 1 && cli_command_is_group(argv[1])) {
		cli_command_help(argv[1], stdout);
		return CLI_OK;
	}
	if (argc > 1) {
		cli_bad_arg("no verb '%s'", argv[1]);
		cli_main_usage(stderr);
		return CLI_USAGE;
	}
	cli_command_help(NULL, stdout);
	return CLI_OK;
}

/* Reports a verb that is not in the table. */
static int
cli_unknown_verb(int argc, char **argv)
{
	if (cli_command_is_group(argv[0])) {
		if (argc > 1)
			cli_bad_arg("no verb '%s %s'", argv[0], argv[1]);
		else
			cli_bad_arg("'%s' needs a verb", argv[0]);
		cli_command_help(argv[0], stderr);
		return CLI_USAGE;
	}
	cli_bad_arg("no verb '%s'", argv[0]);
	cli_main_usage(stderr);
	return CLI_USAGE;
}

/* True if ARGV asks for help before any "--". */
static bool
cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

/* The audit actor: "admin:" and the login name of the real user. */
static void
cli_set_actor(struct cli_ctx *ctx)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL)
		str_printf(
		    ctx->actor, sizeof(ctx->actor), "admin:%s", pw->pw_name);
	else
		str_printf(ctx->actor, sizeof(ctx->actor), "admin:uid%u",
		    (unsigned)getuid());
}

static int
cli_load_config(struct cli_ctx *ctx)
{
	char err[512];
	int rc = config_load(ctx->conf_path, &ctx->cfg, err, sizeof(err));

	if (rc != 0)
		return cli_fail("%s", err);
	ctx->cfg_loaded = true;
	return CLI_OK;
}

/* Runs CMD with the ARGC arguments that follow its words. */
static int
cli_run(struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc, char **argv)
{
	int rc;

	if (cli_wants_help(argc, argv)) {
		cli_command_usage(cmd, stdout);
		return CLI_OK;
	}
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	cli_set_actor(ctx);

	rc = cmd->run(ctx, argc, argv);
	if (rc == CLI_USAGE)
		cli_command_usage(cmd, stderr);
	else if (rc == CLI_HELP) {
		cli_command_usage(cmd, stdout);
		rc = CLI_OK;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = {.conf_path = CONFIG_DEFAULT_PATH};
	const struct cli_cmd *cmd;
	int verb, used, rc;

	/* Library chatter would break the one-line-reason contract. */
	log_set_level(LL_WARN);

	verb = cli_global_options(argc, argv, &ctx);
	if (verb == -2)
		return CLI_OK;
	if (verb < 0 || verb >= argc) {
		cli_main_usage(stderr);
		return CLI_USAGE;
	}
	argc -= verb;
	argv += verb;
	if (strcmp(argv[0], "help") == 0)
		return cli_help(argc, argv);

	cmd = cli_command_find(argc, argv, &used);
	if (cmd == NULL)
		return cli_unknown_verb(argc, argv);
	rc = cli_run(&ctx, cmd, argc - used, argv + used);

	if (ctx.st != NULL)
		store_close(ctx.st);
	if (ctx.cfg_loaded)
		config_free(&ctx.cfg);
	return rc;
}
