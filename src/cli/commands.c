/* The pimctl command table: every verb is one entry here, and usage and
 * help text are generated from it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_cmd cli_commands[] = {
    {"init", "",
	"create the state directory, database, SSH host key, CA, the "
	"PostgreSQL listener's TLS certificate, the secret key and the "
	"audit signing key",
	cmd_init},
    {"user add", "NAME [--password-stdin] [--key PUBKEY_FILE]...",
	"add a user (password read from one line of standard input)",
	cmd_user_add},
    {"user list", "[--json]", "list users", cmd_user_list},
    {"user disable", "NAME", "disable a user (ends live sessions)",
	cmd_user_disable},
    {"user enable", "NAME", "enable a disabled user", cmd_user_enable},
    {"user key add", "NAME PUBKEY_FILE", "add an SSH public key to a user",
	cmd_user_key_add},
    {"user mfa enroll", "NAME [--mfa-at-login]",
	"give a user a new TOTP secret (replacing any); prints its otpauth "
	"URI and QR code; --mfa-at-login: SSH login asks for a code too",
	cmd_user_mfa_enroll},
    {"user mfa disable", "NAME", "remove a user's TOTP secret",
	cmd_user_mfa_disable},
    {"target add",
	"NAME --ssh HOST:PORT --login USER --identity PRIVATE_KEY_FILE "
	"(--host-key PUBKEY_FILE | --scan)",
	"add an SSH target; its private key is sealed in the vault",
	cmd_target_add},
    {"target add",
	"NAME --postgres HOST:PORT --login DBUSER --password-stdin "
	"[--database DBNAME] [--tls verify-full --ca CA_FILE]",
	"add a PostgreSQL target; its password (one line of standard input) "
	"is sealed in the vault; --tls verify-full: TLS to the target, its "
	"certificate checked against the CA certificates of CA_FILE and its "
	"name",
	cmd_target_add},
    {"target list", "[--json]", "list targets (never their secrets)",
	cmd_target_list},
    {"role add",
	"NAME [--max-activation DUR] [--max-session DUR] "
	"[--idle-timeout DUR|none] [--channels LIST] "
	"[--warn-before DUR[,DUR...]|none] [--require-mfa] "
	"[--require-justification] [--min-reason-length N] "
	"[--require-ticket] [--ticket-pattern REGEX] "
	"[--require-approval N --approvers USER_OR_ROLE[,...]] "
	"[--approval-ttl DUR] [--no-permanent-eligible] "
	"[--no-permanent-active] [--max-assignment DUR] [--break-glass]",
	"add a role (defaults 8h, 8h, none, shell,exec,sftp, warnings 5m,1m "
	"before a session ends)",
	cmd_role_add},
    {"role set", "NAME [role add's options]",
	"change a role's settings (only those given)", cmd_role_set},
    {"role list", "[--json]", "list roles and the targets they grant",
	cmd_role_list},
    {"role grant", "ROLE TARGET", "let ROLE reach TARGET", cmd_role_grant},
    {"assign",
	"USER ROLE (--eligible | --active) [--from INSTANT] "
	"[--until INSTANT]",
	"assign a role to a user", cmd_assign},
    {"unassign", "USER ROLE",
	"remove a user's assignments of a role and end the user's live "
	"activations of it",
	cmd_unassign},
    {"assignments", "[--json]", "list assignments", cmd_assignments},
    {"activate",
	"USER ROLE --for DUR --reason TEXT [--ticket ID] [--otp CODE] "
	"[--start INSTANT] [--by NAME]",
	"request an activation on a user's behalf; prints its id and state "
	"(active or pending)",
	cmd_activate},
    {"requests", "[--json]", "list activation requests waiting for approval",
	cmd_requests},
    {"approve", "ID --by USER [--reason TEXT]",
	"approve a pending request as USER (one of the role's approvers)",
	cmd_approve},
    {"deny", "ID --by USER --reason TEXT",
	"deny a pending request as USER (one of the role's approvers)",
	cmd_deny},
    {"activations", "[--json]", "list activations, newest first",
	cmd_activations},
    {"revoke", "ID", "revoke an active (or deny a pending) activation",
	cmd_revoke},
    {"cert issue", "USER TARGET --csr FILE",
	"issue a client certificate for database TARGET to USER from the "
	"request in FILE ('-': standard input), valid while USER's grant "
	"lasts (12h at most); prints it (PEM)",
	cmd_cert_issue},
    {"cert list", "[--user USER] [--json]",
	"list client certificates, newest first", cmd_cert_list},
    {"cert revoke", "SERIAL",
	"revoke a client certificate (the PostgreSQL front end refuses it)",
	cmd_cert_revoke},
    {"ca cert", "", "print the CA certificate (PEM), for psql's sslrootcert",
	cmd_ca_cert},
    {"ca server-cert", "[--names NAME[,NAME...]]",
	"issue a new TLS certificate and key for the PostgreSQL listener "
	"(names default to [postgres] server_names)",
	cmd_ca_server_cert},
    {"sessions", "[--json]", "list sessions, newest first", cmd_sessions},
    {"kill", "SESSION", "end a live session now (reason killed)", cmd_kill},
    {"replay", "SESSION [--speed X]",
	"play a session's recordings (--speed 0.01 to 1000; 0: no delay)",
	cmd_replay},
    {"audit verify", "[--pubkey PEM_FILE] [--checkpoints LOG_FILE]",
	"recompute the audit trail's hash chain and name the first event "
	"that was changed, removed or inserted; check every signed "
	"checkpoint (with the signing key's public half, or PEM_FILE) and "
	"name a tail cut off after one; --checkpoints: also the checkpoint "
	"lines of a copy of the log or syslog, so deleted checkpoints show",
	cmd_audit_verify},
    {"audit checkpoint", "[--first]",
	"sign the audit chain's head with the audit signing key now, store "
	"it and print it as the log line the daemon writes; refused unless "
	"the trail extends the newest checkpoint; --first: take the first "
	"checkpoint of a store that has none, only on a store that "
	"predates checkpoints (or after a new key) and after checking it "
	"with pimctl audit verify",
	cmd_audit_checkpoint},
    {"audit key", "",
	"print the audit signing key's public half (PEM) for an auditor to "
	"keep; creates the key if the state has none",
	cmd_audit_key},
    {"audit export", "[--since INSTANT]",
	"write the audit trail as JSON lines (for a SIEM)", cmd_audit_export},
    {"audit", "[--since INSTANT] [--user USER] [--json]",
	"list the audit trail, oldest first", cmd_audit},
    {"report access",
	"--from INSTANT --to INSTANT [--format text|csv|json] [--user USER]",
	"the access review of a period: per user and role the activations "
	"(reason, ticket, approvals, duration), the sessions under them, "
	"refusals, break-glass use, and flags (off-hours, ended by expiry, "
	"kill or revocation, unusual volume, repeated MFA failures)",
	cmd_report_access},
    {"backup", "FILE [--force]",
	"copy the database, consistently, into FILE (owner-only) while "
	"pimgated runs; sealed secrets stay sealed: it lists the key files "
	"a restore needs too; --force replaces an existing FILE",
	cmd_backup},
    {NULL, NULL, NULL, NULL},
};

/* Returns the number of words of WORDS that match ARGV in order, or -1 if
 * some word differs or ARGV runs out first. */
static int
cli_words_match(const char *words, int argc, char **argv)
{
	const char *p = words;
	int n = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], p, len) != 0)
			return -1;
		n++;
		p += len;
		p += strspn(p, " ");
	}
	return n;
}

const struct cli_cmd *
cli_command_find(int argc, char **argv, int *used)
{
	const struct cli_cmd *best = NULL;
	int best_n = 0;

	for (const struct cli_cmd *c = cli_commands; c->words != NULL; c++) {
		int n = cli_words_match(c->words, argc, argv);

		if (n > best_n) {
			best = c;
			best_n = n;
		}
	}
	*used = best_n;
	return best;
}

/* True if the first word of WORDS is GROUP. */
static bool
cli_in_group(const char *words, const char *group)
{
	size_t len = strlen(group);

	return strncmp(words, group, len) == 0 &&
	       (words[len] == ' ' || words[len] == '\0');
}

bool
cli_command_is_group(const char *word)
{
	for (const struct cli_cmd *c = cli_commands; c->words != NULL; c++) {
		if (cli_in_group(c->words, word))
			return true;
	}
	return false;
}

/* True if C is another form of the verb just before it in the table
 * (the same words: "target add" for SSH and for PostgreSQL). */
static bool
cli_command_is_form(const struct cli_cmd *c)
{
	return c != cli_commands && strcmp(c[-1].words, c->words) == 0;
}

void
cli_command_usage(const struct cli_cmd *cmd, FILE *out)
{
	const struct cli_cmd *c = cmd;

	do {
		fprintf(out, "%s pimctl [-c FILE] %s%s%s\n",
		    c == cmd ? "usage:" : "   or:", c->words,
		    c->args[0] != '\0' ? " " : "", c->args);
		c++;
	} while (c->words != NULL && cli_command_is_form(c));
}

void
cli_command_help(const char *group, FILE *out)
{
	if (group == NULL) {
		fprintf(out,
		    "usage: pimctl [-c FILE] VERB [ARGS...]\n"
		    "\n"
		    "  -c FILE  configuration file (default %s)\n"
		    "\n"
		    "Verbs:\n",
		    CONFIG_DEFAULT_PATH);
	}
	for (const struct cli_cmd *c = cli_commands; c->words != NULL; c++) {
		if (group != NULL && !cli_in_group(c->words, group))
			continue;
		if (group != NULL) {
			if (!cli_command_is_form(c))
				cli_command_usage(c, out);
			continue;
		}
		fprintf(out, "  %s%s%s\n      %s\n", c->words,
		    c->args[0] != '\0' ? " " : "", c->args, c->help);
	}
	if (group == NULL) {
		fprintf(out,
		    "\nDurations: 90s, 15m, 4h, 1h30m, 2d. Instants: RFC 3339 "
		    "(2026-12-04T15:00:00Z).\n"
		    "Exit status: 0 ok, 1 refused or failed, 2 usage error.\n");
	}
}
