/* Self-service: the commands a caregiver types over SSH (status,
 * activate, deactivate, extend, cancel, requests, approve, deny, targets,
 * db-cert, help), as a library the SSH front end calls. No sockets and no
 * SSH here: a command line goes in, plain text lines (each ending in
 * "\n") and an exit status come out. Every change runs in a store
 * transaction together with its audit event (event "selfservice", actor
 * the user; "cert.issue" for certificates); refusals are audited too,
 * with outcome "refused". */
#ifndef PIMGATE_SELFSVC_H
#define PIMGATE_SELFSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/store.h"
#include "pimgate/vault.h"

struct ca;

#define SELFSVC_AUDIT_EVENT "selfservice"
#define SELFSVC_MAX_WORDS 32

/* Exit statuses of selfsvc_run. */
enum selfsvc_status {
	SELFSVC_OK = 0,
	SELFSVC_REFUSED = 1, /* refused or failed: one line says why */
	SELFSVC_USAGE = 2, /* malformed command: a reason and the usage */
};

/* Who runs the command, and where. Nothing here is owned. */
struct selfsvc_ctx {
	struct store *st;
	struct vault *vault; /* opens MFA secrets; NULL: --otp cannot work */
	const char *user; /* the authenticated user */
	const char *peer; /* client address for the audit, may be NULL */
	int64_t now; /* seconds since the epoch */
	/* A person at a pty, who may be prompted. The library itself never
	 * prompts: the front end asks selfsvc_needs_otp first. */
	bool interactive;
	/* How people reach this bastion, for the login lines of `targets`:
	 * host name (NULL: "<this bastion>") and SSH port (0: left out). */
	const char *login_host;
	int login_port;
	int pg_port; /* the PostgreSQL listener's port, 0 if unknown */
	/* Signs client certificates for db-cert; NULL: db-cert refuses. */
	struct ca *ca;
	/* The command's standard input, read to its end by the front end
	 * before the command runs (only for commands that
	 * selfsvc_reads_input names): INPUT_LEN bytes, not NUL-terminated.
	 * NULL when there is none (the interactive prompt). */
	const char *input;
	size_t input_len;
	/* Where a command that writes data to OUT (db-cert: a certificate)
	 * puts its remarks for the person, for standard error; NULL drops
	 * them. */
	struct selfsvc_out *notes;
};

/* What the person sees: a growing NUL-terminated buffer. Start it
 * zeroed; free it with selfsvc_out_free. FAILED is set if memory ran out
 * (the text is then cut short). */
struct selfsvc_out {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void selfsvc_out_free(struct selfsvc_out *out);

/* Runs one command line ARGV (ARGC >= 1; ARGV[0] is the verb) for
 * CTX->user; appends what the person sees to OUT. Returns an enum
 * selfsvc_status: 0 done, 1 refused (one line saying what is missing),
 * 2 usage error (unknown command, bad or missing argument). */
int selfsvc_run(const struct selfsvc_ctx *ctx, int argc, char **argv,
    struct selfsvc_out *out);

/* Splits LINE into words with shell-like quoting: '...' keeps everything
 * literally, "..." keeps everything but \" and \\, a backslash outside
 * quotes takes the next character literally; words are separated by
 * blanks (space, tab, CR, LF). *ARGV (NULL-terminated, free it with
 * selfsvc_argv_free) gets at most SELFSVC_MAX_WORDS words. Returns 0,
 * -1 on unbalanced quotes or a trailing backslash, -2 on too many words,
 * -3 when out of memory; *ARGV is NULL after a failure. */
int selfsvc_split(const char *line, char ***argv, int *argc);
void selfsvc_argv_free(char **argv, int argc);

/* True if ARGV is an `activate` (or `extend`) whose role needs a
 * one-time code that ARGV does not give (no --otp), and CTX->user has
 * MFA enrolled: an interactive front end should prompt for the code and
 * append "--otp CODE". False for anything malformed (selfsvc_run will
 * say what is wrong). */
bool selfsvc_needs_otp(const struct selfsvc_ctx *ctx, int argc, char **argv);

/* True if ARGV is a command that reads its standard input (db-cert): a
 * front end reads that input to its end (at most CA_CSR_MAX bytes) and
 * passes it in CTX->input before running the command. On success such a
 * command's OUT holds its data only (a certificate); a front end should
 * send OUT to standard error when the command fails. */
bool selfsvc_reads_input(int argc, char **argv);

/* ---- client certificates for database targets (cert.c) ---- */

/* What selfsvc_cert_issue issued. */
struct selfsvc_cert {
	char *pem; /* the certificate (malloc'd, NUL-terminated; free it) */
	char serial[STORE_SERIAL_MAX];
	int64_t not_after; /* the end of its validity */
	char role[STORE_NAME_MAX]; /* the role whose grant allowed it */
	int64_t activation_id; /* that grant: an activation, */
	int64_t assignment_id; /* or an active assignment */
	bool capped; /* cut at the longest validity, before the grant ends */
};

/* Issues a client certificate for USER on database TARGET at NOW from
 * the request CSR (LEN bytes of PEM text), on behalf of ISSUED_BY (USER
 * for self-service, "admin:LOGIN" for pimctl): the policy's window
 * (policy_cert_window), the CA's signature, the store's record and the
 * audit event AUDIT_CERT (actor ISSUED_BY, PEER may be NULL) land in one
 * transaction. A refusal (no grant, not a database target, a bad
 * request) is audited too, outcome "refused", and committed.
 *
 * PIM_OK fills OUT (free OUT->pem). Else PIM_EDENIED or PIM_ENOTFOUND
 * (no grant, no such target or user), PIM_EINVAL (a bad request),
 * PIM_ESTORE, PIM_EBUSY or PIM_ECRYPTO, with a one-line reason for the
 * person in REASON. */
int selfsvc_cert_issue(struct store *st, struct ca *ca, const char *user,
    const char *target, const char *csr, size_t len, const char *issued_by,
    const char *peer, int64_t now, struct selfsvc_cert *out, char *reason,
    size_t rlen);
/* "valid until 2026-12-04T20:00:00Z (the end of activation 12 of role
 * dba)" for C, into BUF. */
void selfsvc_cert_note(const struct selfsvc_cert *c, char *buf, size_t size);

#endif
