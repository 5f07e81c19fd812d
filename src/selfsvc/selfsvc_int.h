/* Internal to src/selfsvc/: the command table, output lines, argument
 * parsing, free-text checks, transactions and audit events. */
#ifndef PIMGATE_SELFSVC_INT_H
#define PIMGATE_SELFSVC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/selfsvc.h"

/* What a verb handler returns: an enum selfsvc_status, or SS_HELP when
 * "--help" was given (the dispatcher prints the usage and exits 0). */
enum {
	SS_OK = SELFSVC_OK,
	SS_REFUSED = SELFSVC_REFUSED,
	SS_USAGE = SELFSVC_USAGE,
	SS_HELP = 3,
};

typedef int (*selfsvc_handler)(const struct selfsvc_ctx *ctx, int argc,
    char **argv, struct selfsvc_out *out);

/* One verb: NAME as typed, ARGS for its usage line, HELP one line for
 * `help`. The handler gets ARGV after the verb. */
struct selfsvc_cmd {
	const char *name;
	const char *args;
	const char *help;
	selfsvc_handler run;
};

/* ---- the command table (commands.c) ---- */

/* Ended by an entry whose NAME is NULL. */
extern const struct selfsvc_cmd selfsvc_commands[];
const struct selfsvc_cmd *selfsvc_command_find(const char *name);

/* ---- verbs ---- */

int selfsvc_cmd_status(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_targets(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_activate(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_deactivate(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_extend(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_cancel(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_requests(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_approve(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_deny(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);
int selfsvc_cmd_db_cert(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);

/* ---- output (out.c) ---- */

/* Appends one line (a "\n" is added). Control characters and invalid
 * UTF-8 become '?', so text from the store cannot reach a terminal raw. */
void selfsvc_line(struct selfsvc_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends the LEN bytes of TEXT as they are: for data the bastion made
 * itself (a PEM certificate), never for text from outside. */
void selfsvc_raw(struct selfsvc_out *out, const char *text, size_t len);
/* Appends a line and returns SS_REFUSED (or SS_USAGE). */
int selfsvc_refuse(struct selfsvc_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int selfsvc_bad_arg(struct selfsvc_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Says that the store failed while doing WHAT (details go to the log)
 * and returns SS_REFUSED. */
int selfsvc_store_fail(
    struct selfsvc_out *out, struct store *st, int rc, const char *what);

/* ---- arguments and text (args.c) ---- */

struct selfsvc_opt {
	const char *name; /* "--for" */
	const char **dest; /* set to the value; once only */
};

/* Splits ARGV into options of OPTS (ended by a NULL name; "--name value"
 * or "--name=value"; "--" ends them) and exactly NPOS positional words
 * into POS. Returns SS_OK, SS_USAGE (with a line in OUT) or SS_HELP. */
int selfsvc_parse(int argc, char **argv, const struct selfsvc_opt *opts,
    const char **pos, int npos, struct selfsvc_out *out);
/* Parses a positive decimal id. */
bool selfsvc_parse_id(const char *s, int64_t *id);
/* Checks that free text S (given as WHAT) is at most MAX bytes of valid
 * UTF-8 without control or bidi override characters. SS_OK or SS_USAGE
 * with a line in OUT. */
int selfsvc_check_text(
    const char *what, const char *s, size_t max, struct selfsvc_out *out);
/* Cuts S back so that it does not end inside a UTF-8 sequence. */
void selfsvc_text_cut(char *s);

/* ---- shared steps (common.c) ---- */

/* Writes the audit event of CTX->user: OUTCOME "ok" or "refused", USER
 * whom it concerns, ROLE, DETAIL (printf-style, never a secret; cut on a
 * UTF-8 boundary). Returns a PIM code. */
int selfsvc_audit(const struct selfsvc_ctx *ctx, const char *outcome,
    const char *user, const char *role, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Commits when RC is PIM_OK, else rolls back; returns the final code. */
int selfsvc_finish(struct store *st, int rc);
/* Opens CTX->user's TOTP secret into *SECRET (vault_free_secret it);
 * leaves NULL when the user has none or it cannot be opened (the policy
 * then says what is missing). PIM_OK or a store error. */
int selfsvc_open_mfa(
    const struct selfsvc_ctx *ctx, unsigned char **secret, size_t *len);
/* True if CTX->user has a TOTP secret enrolled. */
bool selfsvc_has_mfa(const struct selfsvc_ctx *ctx);
/* T as "2027-01-15T08:00:00Z". */
const char *selfsvc_instant(int64_t t, char *buf, size_t size);
/* The time from NOW to END for people, rounded up to minutes past the
 * first one ("42m", "1h30m", "45s"). */
const char *selfsvc_left(int64_t now, int64_t end, char *buf, size_t size);

#endif
