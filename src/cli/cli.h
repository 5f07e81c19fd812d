/* pimctl internals: the command table, the context every verb gets, and
 * the small helpers the verb files share (option parsing, failure lines,
 * the audit hook, key handling, free text, text tables, JSON output).
 *
 * Exit codes (PRODUCT.md): CLI_OK 0, CLI_FAIL 1 (refused or failed, one
 * line "pimctl: reason" on stderr), CLI_USAGE 2 (the verb's usage is
 * printed by main from the table). */
#ifndef PIMGATE_CLI_H
#define PIMGATE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <libssh/libssh.h>

#include "pimgate/config.h"
#include "pimgate/store.h"

enum cli_status {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
	CLI_HELP = 3, /* "--help" given to a verb: usage on stdout, exit 0 */
};

struct cli_ctx {
	const char *conf_path;
	struct config cfg;
	bool cfg_loaded;
	struct store *st; /* opened by cli_store(), closed by main */
	char actor[STORE_NAME_MAX]; /* "admin:root" */
};

/* One verb: WORDS is the verb as typed ("user key add"), ARGS its
 * arguments for the usage line, HELP one line for `pimctl help`. */
struct cli_cmd {
	const char *words;
	const char *args;
	const char *help;
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

/* ---- the command table (commands.c) ---- */

/* The table, ended by an entry whose WORDS is NULL. */
extern const struct cli_cmd cli_commands[];
/* Finds the verb with the most words matching the start of ARGV; sets
 * *USED to its number of words. NULL if none matches. */
const struct cli_cmd *cli_command_find(int argc, char **argv, int *used);
/* True if WORD starts some verb ("user", "target", ...). */
bool cli_command_is_group(const char *word);
void cli_command_usage(const struct cli_cmd *cmd, FILE *out);
/* Usage lines of every verb of GROUP (NULL: all verbs, with help). */
void cli_command_help(const char *group, FILE *out);

/* ---- failures and the audit hook (common.c) ---- */

/* Prints "pimctl: MESSAGE" on stderr and returns CLI_FAIL. Control
 * characters and invalid UTF-8 in MESSAGE are escaped (\x1b), so an
 * echoed name or value cannot reach the terminal raw. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "pimctl: MESSAGE" on stderr and returns CLI_USAGE: for an
 * argument that is malformed (a bad name, duration, instant, address). */
int cli_bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks a user, role or target NAME (WHAT says which). */
int cli_check_name(const char *what, const char *name);
/* Opens the store (no create); fails with a reason if there is none. */
int cli_store(struct cli_ctx *ctx, struct store **out);
/* Fails with a reason for store error RC ("no user bob" is the caller's
 * job: this is for unexpected errors). */
int cli_store_fail(struct cli_ctx *ctx, int rc, const char *what);
/* Writes the admin audit event for a change: DETAIL describes it and
 * never holds secrets; if it must be shortened, it is cut on a UTF-8
 * boundary. USER, TARGET, ROLE may be NULL. */
int cli_audit(struct cli_ctx *ctx, const char *user, const char *target,
    const char *role, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Starts a change: a transaction, so that the change and its audit event
 * land together or not at all. */
int cli_begin(struct cli_ctx *ctx);
/* Commits if RC is CLI_OK, else rolls back; returns the final status. */
int cli_end(struct cli_ctx *ctx, int rc);

/* ---- lookups by name (lookup.c): "no user bob" when there is none ---- */

int cli_get_user(struct cli_ctx *ctx, const char *name, struct store_user *u);
int cli_get_role(struct cli_ctx *ctx, const char *name, struct store_role *r);
int cli_get_target(
    struct cli_ctx *ctx, const char *name, struct store_target *t);

/* ---- argument parsing (args.c) ---- */

enum cli_opt_kind {
	CLI_OPT_FLAG, /* sets bool *DEST */
	CLI_OPT_VALUE, /* sets const char **DEST; once only */
	CLI_OPT_LIST, /* appends to struct cli_list *DEST */
};

#define CLI_LIST_MAX 16

struct cli_list {
	const char *v[CLI_LIST_MAX];
	int n;
};

struct cli_opt {
	const char *name; /* "--for" */
	enum cli_opt_kind kind;
	void *dest;
};

/* Splits ARGV into the options of OPTS (ended by a NULL name; "--name
 * value" and "--name=value") and positional arguments, which must number
 * exactly NPOS and go into POS. "--" ends the options. Returns CLI_OK,
 * CLI_USAGE (after a one-line reason on stderr) or CLI_HELP. */
int cli_parse(int argc, char **argv, const struct cli_opt *opts,
    const char **pos, int npos);
/* Parses a positive decimal id. */
bool cli_parse_id(const char *s, int64_t *id);
/* Parse the value S of option OPT; a bad one is a usage error. */
int cli_parse_duration(const char *opt, const char *s, int64_t *secs);
int cli_parse_instant(const char *opt, const char *s, int64_t *t);

/* ---- keys (keys.c) ---- */

/* Reads the OpenSSH public key in PATH into LINE as "type base64". The
 * file must hold one key line (comments and blank lines aside); private
 * key files, certificates and weak keys (DSA, RSA below 2048 bits) are
 * refused. */
int cli_key_pub_file(const char *path, char *line, size_t size);
/* Reads a host key from PATH: an OpenSSH public key file, or a
 * known_hosts / ssh-keyscan line (ed25519 preferred when several). */
int cli_key_host_file(const char *path, char *line, size_t size);
/* "type base64" of KEY into LINE. */
int cli_key_line(ssh_key key, char *line, size_t size);
/* "SHA256:..." of KEY into BUF. */
int cli_key_fingerprint(ssh_key key, char *buf, size_t size);
/* Fingerprint of a stored "type base64" line; "?" if it does not parse. */
void cli_key_line_fingerprint(const char *line, char *buf, size_t size);

/* ---- the CA (ca.c) ---- */

struct ca;

/* Creates the CA key (0600) and self-signed certificate (0644) that CFG
 * names; neither file may exist. */
int cli_ca_create(const struct config *cfg);
/* Loads the CA that the configuration names into *OUT (ca_free it). */
int cli_ca_load(struct cli_ctx *ctx, struct ca **out);
/* (Re)issues the PostgreSQL listener's certificate and key for NAMES
 * (comma-separated host names and addresses); bad names are a usage
 * error. */
int cli_ca_server_cert(struct cli_ctx *ctx, struct ca *ca, const char *names);

/* ---- text tables (table.c) ---- */

struct cli_table;

/* A table with NCOLS columns and the header names that follow. */
struct cli_table *cli_table_new(int ncols, ...);
/* Adds a row of NCOLS strings (copied; NULL prints as "-"). */
int cli_table_add(struct cli_table *t, ...);
/* Prints aligned columns to stdout and frees T. */
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);

/* ---- free text (text.c) ---- */

/* Checks free text S given for WHAT ("--reason"): at most MAX bytes of
 * valid UTF-8, one line without control characters (C0, DEL, C1) or
 * bidi override and isolate characters (U+202A..U+202E,
 * U+2066..U+2069). A bad one is a usage error, with the reason. */
int cli_check_text(const char *what, const char *s, size_t max);
/* A JSON string for stored text S (null for NULL), every invalid UTF-8
 * byte replaced by U+FFFD, so that jansson accepts it. NULL only when
 * out of memory. */
json_t *cli_json_text(const char *s);
/* Replaces in place every control or bidi character and every invalid
 * UTF-8 byte of S by '?': for a table cell that must stay one line. */
void cli_text_clean(char *s);
/* Copies S into DST (SIZE, always terminated) for a one-line message:
 * C0 and DEL characters and invalid bytes become \xNN, C1 and bidi
 * characters \uNNNN; the rest is copied as it is. */
void cli_text_escape(const char *s, char *dst, size_t size);
/* Cuts S before a last UTF-8 sequence that a truncation left
 * incomplete. */
void cli_text_cut(char *s);

/* ---- a growable array of records, for listings (common.c) ---- */

struct cli_vec {
	void *items;
	size_t n; /* records held */
	size_t cap; /* records allocated */
	size_t size; /* size of one record */
};

/* Appends a copy of ITEM. Returns PIM_OK or PIM_ENOMEM, so it can be
 * returned from a store listing callback. */
int cli_vec_push(struct cli_vec *v, const void *item);
/* Record I of V. */
void *cli_vec_at(const struct cli_vec *v, size_t i);
void cli_vec_free(struct cli_vec *v);

/* ---- output helpers (common.c) ---- */

/* Appends OBJ (a new reference, NULL if building it failed) to *ARR; on
 * failure frees *ARR and sets it to NULL. */
void cli_json_push(json_t **arr, json_t *obj);
/* Prints J (an array; NULL if building it failed) as indented JSON on
 * stdout and frees it. */
int cli_json_print(json_t *j);
/* An instant as a JSON string, or null for 0. */
json_t *cli_json_instant(int64_t t);
/* An instant as text into BUF, "-" for 0. */
const char *cli_instant(int64_t t, char *buf, size_t size);
/* A duration as text into BUF, "none" for 0. */
const char *cli_duration(int64_t secs, char *buf, size_t size);

/* ---- the verbs (one file per group) ---- */

int cmd_init(struct cli_ctx *ctx, int argc, char **argv);

int cmd_user_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_disable(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_enable(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_key_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_mfa_enroll(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user_mfa_disable(struct cli_ctx *ctx, int argc, char **argv);

int cmd_target_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_target_list(struct cli_ctx *ctx, int argc, char **argv);

int cmd_role_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_role_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_role_grant(struct cli_ctx *ctx, int argc, char **argv);

int cmd_assign(struct cli_ctx *ctx, int argc, char **argv);
int cmd_unassign(struct cli_ctx *ctx, int argc, char **argv);
int cmd_assignments(struct cli_ctx *ctx, int argc, char **argv);

int cmd_activate(struct cli_ctx *ctx, int argc, char **argv);
/* Writes an admin audit event with outcome "refused" (activation.c). */
int cli_audit_refusal(struct cli_ctx *ctx, const char *user, const char *role,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cmd_requests(struct cli_ctx *ctx, int argc, char **argv);
int cmd_approve(struct cli_ctx *ctx, int argc, char **argv);
int cmd_deny(struct cli_ctx *ctx, int argc, char **argv);
int cmd_role_set(struct cli_ctx *ctx, int argc, char **argv);
int cmd_activations(struct cli_ctx *ctx, int argc, char **argv);
int cmd_revoke(struct cli_ctx *ctx, int argc, char **argv);

int cmd_ca_cert(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ca_server_cert(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cert_issue(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cert_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cert_revoke(struct cli_ctx *ctx, int argc, char **argv);

int cmd_sessions(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit_verify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit_export(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit_checkpoint(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit_key(struct cli_ctx *ctx, int argc, char **argv);
/* The checkpoint half of audit verify (checkpoint.c): checks every
 * checkpoint with PUBKEY (a PEM file) or the configured signing key, and
 * those read from LINES_PATH if not NULL; prints one line per finding.
 * CLI_OK with a verdict line in SUMMARY, or CLI_FAIL. */
int cli_audit_verify_checkpoints(struct cli_ctx *ctx, struct store *st,
    const char *pubkey, const char *lines_path, char *summary, size_t size);
int cmd_kill(struct cli_ctx *ctx, int argc, char **argv);
int cmd_replay(struct cli_ctx *ctx, int argc, char **argv);
int cmd_report_access(struct cli_ctx *ctx, int argc, char **argv);

int cmd_backup(struct cli_ctx *ctx, int argc, char **argv);

#endif
