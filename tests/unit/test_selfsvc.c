/* Unit tests for self-service: splitting command lines, every verb's
 * happy path and main refusals, and the audit rows they write. A fresh
 * store and vault key in a temporary directory per test; fixed times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/selfsvc.h"
#include "pimgate/store.h"
#include "pimgate/totp.h"
#include "pimgate/vault.h"

#define H 3600
#define T0 1800000000 /* 2027-01-15T08:00:00Z */

static const unsigned char secret[TOTP_SECRET_LEN] = "12345678901234567890";

struct fx {
	char dir[64];
	char path[128];
	char key[128];
	struct store *st;
	struct vault *vault;
	int64_t alice, bob, carol;
	int64_t db1, db2, db3;
	struct selfsvc_out out;
	struct store_audit last; /* the newest selfservice audit row */
	int naudit; /* selfservice audit rows */
};

static int64_t
fx_user(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(
	    store_user_add(f->st, name, NULL, T0 - H, &id), PIM_OK);
	return id;
}

static int64_t
fx_target(struct fx *f, const char *name)
{
	struct store_target t = {0};
	int64_t id = 0;

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.login, sizeof(t.login), "care");
	t.port = 22;
	t.created = T0 - H;
	assert_int_equal(store_target_add(f->st, &t, NULL, 0, &id), PIM_OK);
	return id;
}

/* A role with R's name and PIM settings, 4h max, granting TARGET. */
static int64_t
fx_role(struct fx *f, struct store_role r, int64_t target)
{
	int64_t id = 0;

	r.max_activation = 4 * H;
	r.max_session = 8 * H;
	r.channels = CHANNEL_DEFAULT;
	r.created = T0 - H;
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
	if (target != 0)
		assert_int_equal(store_role_grant(f->st, id, target), PIM_OK);
	return id;
}

static void
fx_assign(struct fx *f, int64_t user, int64_t role, enum store_assign_kind kind)
{
	struct store_assignment a = {0};

	a.user_id = user;
	a.role_id = role;
	a.kind = kind;
	a.created = T0 - H;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_OK);
}

/* Roles: notes (needs a reason, grants db1), records (one approval by
 * a holder of leads, grants db2), leads (bob holds it), ops (MFA),
 * glass (break-glass); db3 is granted by a role nobody holds. */
static void
fx_roles(struct fx *f)
{
	int64_t notes, records, leads, ops, glass, spare;

	notes = fx_role(f,
	    (struct store_role){.name = "notes", .require_reason = true},
	    f->db1);
	records = fx_role(f,
	    (struct store_role){
		.name = "records", .approvals = 1, .approvers = "leads"},
	    f->db2);
	leads = fx_role(f, (struct store_role){.name = "leads"}, 0);
	ops = fx_role(
	    f, (struct store_role){.name = "ops", .require_mfa = true}, 0);
	glass = fx_role(
	    f, (struct store_role){.name = "glass", .break_glass = true}, 0);
	spare = fx_role(f, (struct store_role){.name = "spare"}, f->db3);
	fx_assign(f, f->alice, notes, ASSIGN_ELIGIBLE);
	fx_assign(f, f->alice, records, ASSIGN_ELIGIBLE);
	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE);
	fx_assign(f, f->alice, glass, ASSIGN_ELIGIBLE);
	fx_assign(f, f->carol, records, ASSIGN_ELIGIBLE);
	fx_assign(f, f->bob, leads, ASSIGN_ACTIVE);
	(void)spare;
}

/* Enrolls alice's TOTP secret, sealed as pimctl seals it. */
static void
fx_enroll(struct fx *f)
{
	unsigned char *sealed = NULL;
	size_t len = 0;

	assert_int_equal(vault_seal(f->vault, "mfa:alice", secret,
			     sizeof(secret), &sealed, &len),
	    PIM_OK);
	assert_int_equal(
	    store_user_set_mfa(f->st, f->alice, sealed, len, false), PIM_OK);
	free(sealed);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-ss-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/secret.key", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	assert_int_equal(vault_keygen(f->key), PIM_OK);
	assert_int_equal(vault_open(f->key, &f->vault), PIM_OK);
	f->alice = fx_user(f, "alice");
	f->bob = fx_user(f, "bob");
	f->carol = fx_user(f, "carol");
	f->db1 = fx_target(f, "db1");
	f->db2 = fx_target(f, "db2");
	f->db3 = fx_target(f, "db3");
	fx_roles(f);
	clock_set_fixed(T0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char side[160];

	clock_set_fixed(0);
	selfsvc_out_free(&f->out);
	vault_close(f->vault);
	store_close(f->st);
	unlink(f->path);
	unlink(f->key);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
fx_audit_row(const struct store_audit *a, void *arg)
{
	struct fx *f = arg;

	if (strcmp(a->event, SELFSVC_AUDIT_EVENT) != 0)
		return 0;
	f->last = *a;
	f->naudit++;
	return 0;
}

/* Reads the selfservice audit rows into F->last and F->naudit. */
static void
fx_audit(struct fx *f)
{
	memset(&f->last, 0, sizeof(f->last));
	f->naudit = 0;
	assert_int_equal(
	    store_audit_list(f->st, 0, NULL, fx_audit_row, f), PIM_OK);
}

/* Runs LINE as USER at NOW expecting status WANT; the output is left in
 * F->out (replacing the last one) and returned. */
static const char *
fx_run(struct fx *f, const char *user, int64_t now, const char *line, int want)
{
	struct selfsvc_ctx ctx = {
	    .st = f->st,
	    .vault = f->vault,
	    .user = user,
	    .peer = "127.0.0.1:40000",
	    .now = now,
	    .login_host = "bastion.example",
	    .login_port = 2222,
	};
	char **argv = NULL;
	int argc = 0, rc;

	selfsvc_out_free(&f->out);
	assert_int_equal(selfsvc_split(line, &argv, &argc), 0);
	rc = selfsvc_run(&ctx, argc, argv, &f->out);
	selfsvc_argv_free(argv, argc);
	assert_non_null(f->out.buf);
	if (rc != want)
		fail_msg(
		    "'%s' gave %d, want %d: %s", line, rc, want, f->out.buf);
	return f->out.buf;
}

static void
fx_has(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		fail_msg("output lacks '%s':\n%s", want, text);
}

static void
fx_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted) != NULL)
		fail_msg("output has '%s':\n%s", unwanted, text);
}

/* ---- splitting ---- */

static void
fx_split(const char *line, int n, ...)
{
	char **argv = NULL;
	int argc = -1;
	va_list ap;

	assert_int_equal(selfsvc_split(line, &argv, &argc), 0);
	assert_int_equal(argc, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(argv[i], va_arg(ap, const char *));
	va_end(ap);
	assert_null(argv[n]);
	selfsvc_argv_free(argv, argc);
}

static void
test_split(void **state)
{
	char line[256] = "";
	char **argv = NULL;
	int argc = 0;

	(void)state;
	fx_split("", 0);
	fx_split("  \t ", 0);
	fx_split(" status ", 1, "status");
	fx_split("activate notes --reason \"care plan 'v2'\"", 4, "activate",
	    "notes", "--reason", "care plan 'v2'");
	fx_split("a 'b c' d\\ e \"x\\\"y\" \"\" ''", 6, "a", "b c", "d e",
	    "x\"y", "", "");
	fx_split("'a\\b' \"a\\b\" a\\\\b", 3, "a\\b", "a\\b", "a\\b");
	fx_split("pre'mid'\"post\"\r\n", 1, "premidpost");
	assert_int_equal(selfsvc_split("say \"hi", &argv, &argc), -1);
	assert_null(argv);
	assert_int_equal(selfsvc_split("say 'hi", &argv, &argc), -1);
	assert_int_equal(selfsvc_split("say hi\\", &argv, &argc), -1);
	for (int i = 0; i < SELFSVC_MAX_WORDS; i++)
		strcat(line, "w ");
	fx_split(line, SELFSVC_MAX_WORDS, "w", "w", "w", "w", "w", "w", "w",
	    "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "w",
	    "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "w");
	strcat(line, "w");
	assert_int_equal(selfsvc_split(line, &argv, &argc), -2);
	assert_null(argv);
}

/* ---- the table ---- */

static void
test_help_unknown(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0, "frobnicate now", SELFSVC_USAGE);
	fx_has(o, "unknown command 'frobnicate'");
	fx_has(o, "'help'");
	o = fx_run(f, "alice", T0, "help", SELFSVC_OK);
	fx_has(o, "activate");
	fx_has(o, "targets");
	fx_has(o, "requests");
	o = fx_run(f, "alice", T0, "help deny", SELFSVC_OK);
	fx_has(o, "usage: deny ID --reason TEXT\n");
	o = fx_run(f, "alice", T0, "activate --help", SELFSVC_OK);
	fx_has(o, "usage: activate ROLE --for DUR");
	o = fx_run(f, "alice", T0, "status extra", SELFSVC_USAGE);
	fx_has(o, "too many arguments\nusage: status\n");
	o = fx_run(
	    f, "alice", T0, "activate notes --for 1h --bogus x", SELFSVC_USAGE);
	fx_has(o, "unknown option --bogus");
	/* Malformed lines change nothing, but are refusals: audited. */
	fx_audit(f);
	assert_int_equal(f->naudit, 3);
	assert_string_equal(f->last.outcome, "refused");
	assert_string_equal(
	    f->last.detail, "malformed: unknown option --bogus");
}

/* ---- activate ---- */

static void
test_activate(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0,
	    "activate notes --for 1h --reason 'care plan update'", SELFSVC_OK);
	assert_string_equal(
	    o, "activation 1: active until 2027-01-15T09:00:00Z (1h left)\n");
	fx_audit(f);
	assert_int_equal(f->naudit, 1);
	assert_string_equal(f->last.actor, "alice");
	assert_string_equal(f->last.outcome, "ok");
	assert_string_equal(f->last.user, "alice");
	assert_string_equal(f->last.role, "notes");
	assert_string_equal(f->last.peer, "127.0.0.1:40000");
	assert_string_equal(f->last.detail,
	    "activate notes for 1h (activation 1, active): care plan update");

	/* A scheduled one. */
	o = fx_run(f, "carol", T0,
	    "activate records --for 30m --reason x "
	    "--start 2027-01-15T10:00:00Z",
	    SELFSVC_OK);
	fx_has(o, "activation 2: pending approval by 1 of: leads");
}

static void
test_activate_refusals(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0, "activate notes --for 1h", SELFSVC_REFUSED);
	assert_string_equal(o, "role notes needs a justification: add "
			       "--reason \"...\"\n");
	fx_audit(f);
	assert_int_equal(f->naudit, 1);
	assert_string_equal(f->last.outcome, "refused");
	fx_has(f->last.detail, "activate notes refused: role notes needs");

	o = fx_run(f, "alice", T0, "activate notes --reason x", SELFSVC_USAGE);
	fx_has(o, "--for DUR is needed");
	fx_has(o, "usage: activate ROLE");
	o = fx_run(f, "alice", T0, "activate notes --for 60 --reason x",
	    SELFSVC_USAGE);
	fx_has(o, "--for takes a duration");
	o = fx_run(f, "alice", T0, "activate notes --for 1h --reason \"a\tb\"",
	    SELFSVC_USAGE);
	fx_has(o, "--reason must be one line of plain text (it holds U+0009)");
	o = fx_run(f, "alice", T0, "activate notes --for 1h --reason \xff",
	    SELFSVC_USAGE);
	fx_has(o, "--reason is not valid UTF-8");
	o = fx_run(f, "alice", T0, "activate Bad/Name --for 1h --reason x",
	    SELFSVC_USAGE);
	fx_has(o, "'Bad/Name' is not a role name");
	o = fx_run(f, "alice", T0, "activate nope --for 1h --reason x",
	    SELFSVC_REFUSED);
	assert_string_equal(o, "no role named nope\n");
	o = fx_run(f, "alice", T0, "activate notes --for 5h --reason x",
	    SELFSVC_REFUSED);
	assert_string_equal(o, "role notes allows at most 4h per activation\n");
	o = fx_run(f, "bob", T0, "activate notes --for 1h --reason x",
	    SELFSVC_REFUSED);
	assert_string_equal(o, "bob is not eligible for role notes\n");
	fx_audit(f);
	assert_int_equal(f->naudit, 9); /* 5 malformed, 4 refused by policy */
	assert_string_equal(f->last.actor, "bob");
	assert_string_equal(f->last.outcome, "refused");
}

/* ---- status ---- */

static void
test_status(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0, "status", SELFSVC_OK);
	fx_has(o, "roles:\n");
	fx_has(o, "  notes                eligible, permanent\n");
	fx_has(o, "activations:\n  none\n");

	fx_run(f, "alice", T0, "activate notes --for 1h --reason 'care plan'",
	    SELFSVC_OK);
	fx_run(f, "alice", T0, "activate records --for 2h --reason 'audit'",
	    SELFSVC_OK);
	o = fx_run(f, "alice", T0 + 18 * 60, "status", SELFSVC_OK);
	fx_has(o, "notes                active, 42m left "
		  "(until 2027-01-15T09:00:00Z)");
	fx_has(o, "your requests waiting for approval:\n"
		  "  2      records              for 2h, 0 of 1 approvals "
		  "(by: leads), expires 2027-01-16T08:00:00Z\n");
	o = fx_run(f, "alice", T0 + H + 5, "status", SELFSVC_OK);
	fx_has(o, "notes                expired 2027-01-15T09:00:00Z");
	o = fx_run(f, "alice", T0 + 25 * H, "status", SELFSVC_OK);
	fx_has(o, "(by: leads), not approved in time, expired "
		  "2027-01-16T08:00:00Z\n");
	o = fx_run(f, "nobody", T0, "status", SELFSVC_REFUSED);
	assert_string_equal(o, "there is no user nobody\n");
}

/* ---- approvals ---- */

static void
test_approvals(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0,
	    "activate records --for 1h --ticket INC-7 --reason 'audit "
	    "client 12'",
	    SELFSVC_OK);
	assert_string_equal(o, "activation 1: pending approval by 1 of: "
			       "leads\n");
	o = fx_run(f, "alice", T0 + 60, "approve 1", SELFSVC_REFUSED);
	assert_string_equal(o, "you cannot approve your own request\n");
	fx_audit(f);
	assert_string_equal(f->last.outcome, "refused");
	assert_string_equal(f->last.detail,
	    "approve request 1 refused: you cannot approve "
	    "your own request");
	o = fx_run(f, "carol", T0 + 60, "requests", SELFSVC_OK);
	assert_string_equal(o, "no requests wait for your approval\n");
	o = fx_run(f, "carol", T0 + 60, "approve 1", SELFSVC_REFUSED);
	assert_string_equal(o, "carol is not an approver of role records\n");
	o = fx_run(f, "bob", T0 + 60, "requests", SELFSVC_OK);
	fx_has(o, "1  alice  role records for 1h, ticket INC-7, 0 of 1 "
		  "approvals, expires 2027-01-16T08:00:00Z\n"
		  "    reason: audit client 12\n");
	o = fx_run(f, "bob", T0 + 60, "approve nine", SELFSVC_USAGE);
	fx_has(o, "'nine' is not a request id");
	o = fx_run(f, "bob", T0 + 60, "approve 1 --reason 'seen the ticket'",
	    SELFSVC_OK);
	assert_string_equal(o, "request 1: approved, now active\n");
	fx_audit(f);
	assert_string_equal(f->last.actor, "bob");
	assert_string_equal(f->last.user, "alice");
	assert_string_equal(f->last.outcome, "ok");
	assert_string_equal(f->last.detail,
	    "approve request 1 of alice for role records (now active): seen "
	    "the ticket");
	o = fx_run(f, "bob", T0 + 60, "requests", SELFSVC_OK);
	assert_string_equal(o, "no requests wait for your approval\n");

	/* Deny needs a reason. */
	fx_run(f, "carol", T0 + 120, "activate records --for 1h --reason x",
	    SELFSVC_OK);
	o = fx_run(f, "bob", T0 + 180, "deny 2", SELFSVC_USAGE);
	fx_has(o, "say why: --reason TEXT");
	o = fx_run(
	    f, "bob", T0 + 180, "deny 2 --reason 'no ticket'", SELFSVC_OK);
	assert_string_equal(o, "request 2: denied\n");
	o = fx_run(f, "bob", T0 + 180, "approve 2", SELFSVC_REFUSED);
	assert_string_equal(o, "request 2 is denied, not pending\n");
}

/* ---- the owner's moves ---- */

static void
test_owner_moves(void **state)
{
	struct fx *f = *state;
	const char *o;

	fx_run(f, "alice", T0, "activate notes --for 1h --reason 'care plan'",
	    SELFSVC_OK);
	o = fx_run(f, "alice", T0 + 600, "extend 1 --for 2h", SELFSVC_REFUSED);
	assert_string_equal(o, "role notes needs a justification: add "
			       "--reason \"...\"\n");
	o = fx_run(f, "alice", T0 + 600,
	    "extend 1 --for 2h --reason 'more visits'", SELFSVC_OK);
	assert_string_equal(o, "activation 1: active until "
			       "2027-01-15T10:10:00Z (2h left)\n");
	fx_audit(f);
	assert_string_equal(
	    f->last.detail, "extend activation 1 of notes for 2h: more visits");
	o = fx_run(f, "bob", T0 + 700, "deactivate 1", SELFSVC_REFUSED);
	assert_string_equal(o, "activation 1 is not yours\n");
	o = fx_run(f, "alice", T0 + 700, "cancel 1", SELFSVC_REFUSED);
	assert_string_equal(o, "activation 1 is active, not pending\n");
	o = fx_run(f, "alice", T0 + 700, "deactivate 1", SELFSVC_OK);
	assert_string_equal(o, "activation 1 (notes): deactivated\n");
	fx_audit(f);
	assert_string_equal(f->last.outcome, "ok");
	assert_string_equal(f->last.detail, "deactivate activation 1 of notes");
	o = fx_run(f, "alice", T0 + 800, "deactivate 9", SELFSVC_REFUSED);
	assert_string_equal(o, "no activation 9\n");

	fx_run(f, "alice", T0 + 800, "activate records --for 1h --reason x",
	    SELFSVC_OK);
	o = fx_run(f, "alice", T0 + 900, "cancel 2", SELFSVC_OK);
	assert_string_equal(o, "activation 2 (records): cancelled\n");
	o = fx_run(f, "alice", T0 + 900, "cancel", SELFSVC_USAGE);
	fx_has(o, "missing arguments\nusage: cancel ID\n");
}

/* ---- targets ---- */

static void
test_targets(void **state)
{
	struct fx *f = *state;
	const char *o;

	o = fx_run(f, "alice", T0, "targets", SELFSVC_OK);
	fx_has(o, "nothing you may connect to right now");
	fx_run(f, "alice", T0, "activate notes --for 1h --reason 'care plan'",
	    SELFSVC_OK);
	fx_run(f, "alice", T0, "activate records --for 1h --reason 'audit'",
	    SELFSVC_OK);
	o = fx_run(f, "alice", T0 + 60, "targets", SELFSVC_OK);
	assert_string_equal(o,
	    "db1  (role notes, until 2027-01-15T09:00:00Z, 59m left)\n"
	    "    ssh -p 2222 alice:db1@bastion.example\n"
	    "    sftp -P 2222 -o User=alice:db1 bastion.example\n");
	fx_lacks(o, "db2"); /* pending approval */
	fx_lacks(o, "db3"); /* no role of hers grants it */
	o = fx_run(f, "alice", T0 + H, "targets", SELFSVC_OK);
	fx_has(o, "nothing you may connect to right now");
}

/* ---- MFA and break-glass ---- */

static void
test_mfa(void **state)
{
	struct fx *f = *state;
	struct selfsvc_ctx ctx = {
	    .st = f->st, .vault = f->vault, .user = "alice", .now = T0};
	char code[TOTP_DIGITS + 1], line[128];
	char *ask[] = {"activate", "ops", "--for", "1h", "--reason", "x"};
	char *given[] = {"activate", "ops", "--for", "1h", "--otp", "123456"};
	char *plain[] = {"activate", "notes", "--for", "1h"};
	const char *o;

	o = fx_run(f, "alice", T0, "activate ops --for 1h --reason x",
	    SELFSVC_REFUSED);
	fx_has(o, "role ops needs MFA, and alice has none enrolled");
	assert_false(selfsvc_needs_otp(&ctx, 6, ask)); /* not enrolled */
	fx_enroll(f);
	assert_true(selfsvc_needs_otp(&ctx, 6, ask));
	assert_false(selfsvc_needs_otp(&ctx, 6, given));
	assert_false(selfsvc_needs_otp(&ctx, 4, plain));
	assert_false(selfsvc_needs_otp(&ctx, 1, ask));

	o = fx_run(f, "alice", T0, "activate ops --for 1h --reason x",
	    SELFSVC_REFUSED);
	assert_string_equal(o, "role ops needs a one-time code from your "
			       "authenticator (--otp CODE)\n");
	o = fx_run(f, "alice", T0,
	    "activate ops --for 1h --reason x --otp 000000", SELFSVC_REFUSED);
	fx_has(o, "wrong or expired");
	assert_int_equal(totp_code(secret, sizeof(secret), T0, code), PIM_OK);
	snprintf(line, sizeof(line),
	    "activate ops --for 1h --reason x --otp %s", code);
	o = fx_run(f, "alice", T0, line, SELFSVC_OK);
	fx_has(o, "activation 1: active until 2027-01-15T09:00:00Z");
	fx_audit(f);
	fx_lacks(f->last.detail, code);
	fx_run(f, "alice", T0 + 5, "deactivate 1", SELFSVC_OK);
	o = fx_run(f, "alice", T0 + 10, line, SELFSVC_REFUSED);
	fx_has(o, "already used");
}

static void
test_break_glass(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1], line[128];
	const char *o;

	fx_enroll(f);
	assert_int_equal(totp_code(secret, sizeof(secret), T0, code), PIM_OK);
	snprintf(line, sizeof(line), "activate glass --for 30m --otp %s", code);
	o = fx_run(f, "alice", T0, line, SELFSVC_REFUSED);
	fx_has(o, "role glass needs a justification");
	fx_audit(f);
	assert_string_equal(f->last.outcome, "refused");
	assert_string_equal(f->last.detail,
	    "BREAK-GLASS activate glass refused: role glass needs a "
	    "justification: add --reason \"...\"");
	snprintf(line, sizeof(line),
	    "activate glass --for 30m --reason 'client fell' --otp %s", code);
	o = fx_run(f, "alice", T0, line, SELFSVC_OK);
	fx_has(o, "activation 1: active until 2027-01-15T08:30:00Z");
	fx_has(o, "BREAK-GLASS: this emergency activation is flagged");
	fx_audit(f);
	assert_string_equal(f->last.detail,
	    "BREAK-GLASS activate glass for 30m (activation 1, active): "
	    "client fell");
	o = fx_run(f, "alice", T0 + 60, "status", SELFSVC_OK);
	fx_has(o, "glass                active, 29m left "
		  "(until 2027-01-15T08:30:00Z) BREAK-GLASS");
	fx_run(f, "alice", T0 + 60, "deactivate 1", SELFSVC_OK);
	fx_audit(f);
	assert_string_equal(
	    f->last.detail, "BREAK-GLASS deactivate activation 1 of glass");
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    FX_TEST(test_help_unknown),
	    FX_TEST(test_activate),
	    FX_TEST(test_activate_refusals),
	    FX_TEST(test_status),
	    FX_TEST(test_approvals),
	    FX_TEST(test_owner_moves),
	    FX_TEST(test_targets),
	    FX_TEST(test_mfa),
	    FX_TEST(test_break_glass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
