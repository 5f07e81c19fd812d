/* Unit tests for activation requests and approvals: role settings in the
 * store, every state transition of an activation and every refused path.
 * A fresh store in a temporary directory per test; fixed times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/store.h"
#include "pimgate/totp.h"

#define H 3600
#define T0 1800000000 /* 2027-01-15T08:00:00Z */

static const unsigned char secret[TOTP_SECRET_LEN] = "12345678901234567890";

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t alice, bob, carol, dave;
	int64_t db1;
	char reason[POLICY_REASON_MAX];
};

static int64_t
fx_user(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(
	    store_user_add(f->st, name, NULL, T0 - H, &id), PIM_OK);
	return id;
}

/* A role with the given settings (R's name and PIM fields), 4h max. */
static int64_t
fx_role(struct fx *f, struct store_role r)
{
	int64_t id = 0;

	r.max_activation = 4 * H;
	r.max_session = 8 * H;
	r.channels = CHANNEL_DEFAULT;
	r.created = T0 - H;
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
	assert_int_equal(store_role_grant(f->st, id, f->db1), PIM_OK);
	return id;
}

static void
fx_assign(struct fx *f, int64_t user, int64_t role, enum store_assign_kind kind,
    int64_t start, int64_t end)
{
	struct store_assignment a = {0};

	a.user_id = user;
	a.role_id = role;
	a.kind = kind;
	a.start = start;
	a.end = end;
	a.created = T0 - H;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_target t = {0};

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-act-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	f->alice = fx_user(f, "alice");
	f->bob = fx_user(f, "bob");
	f->carol = fx_user(f, "carol");
	f->dave = fx_user(f, "dave");
	snprintf(t.name, sizeof(t.name), "db1");
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.login, sizeof(t.login), "care");
	t.port = 22;
	t.created = T0 - H;
	assert_int_equal(store_target_add(f->st, &t, NULL, 0, &f->db1), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char side[160];

	store_close(f->st);
	unlink(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A request by alice for ROLE at NOW for 1h with a good reason. */
static struct activation_request
rq_make(const char *role, int64_t now)
{
	struct activation_request rq = {
	    .user = "alice",
	    .role = role,
	    .now = now,
	    .duration = H,
	    .reason = "care plan update for client 12",
	    .requested_by = "alice",
	};
	return rq;
}

/* Requests RQ expecting WANT; with EDENIED the reason must contain MSG. */
static int64_t
fx_request(struct fx *f, const struct activation_request *rq, int want,
    enum store_act_state want_state, const char *msg)
{
	enum store_act_state state = 0;
	int64_t id = 0;
	int r;

	r = policy_request_activation(
	    f->st, rq, &id, &state, f->reason, sizeof(f->reason));
	if (r != want)
		fail_msg("got %d (%s), want %d", r, f->reason, want);
	if (want == PIM_OK)
		assert_int_equal(state, want_state);
	if (msg != NULL && strstr(f->reason, msg) == NULL)
		fail_msg("reason '%s' lacks '%s'", f->reason, msg);
	return id;
}

static struct store_activation
fx_act(struct fx *f, int64_t id)
{
	struct store_activation a = {0};

	assert_int_equal(store_activation_get(f->st, id, &a), PIM_OK);
	return a;
}

/* ---- role settings in the store ---- */

static void
test_role_settings(void **state)
{
	struct fx *f = *state;
	struct store_role r = {0}, got;

	snprintf(r.name, sizeof(r.name), "ops");
	r.require_mfa = true;
	r.require_reason = true;
	r.min_reason_len = 12;
	r.require_ticket = true;
	snprintf(r.ticket_pattern, sizeof(r.ticket_pattern), "INC-[0-9]+");
	r.approvals = 2;
	snprintf(r.approvers, sizeof(r.approvers), "bob,leads");
	r.allow_perm_active = true;
	r.max_assignment = 30 * 24 * H;
	r.id = fx_role(f, r);
	assert_int_equal(store_role_get(f->st, "ops", &got), PIM_OK);
	assert_true(
	    got.require_mfa && got.require_reason && got.require_ticket);
	assert_int_equal(got.min_reason_len, 12);
	assert_string_equal(got.ticket_pattern, "INC-[0-9]+");
	assert_int_equal(got.approvals, 2);
	assert_string_equal(got.approvers, "bob,leads");
	assert_int_equal(got.approval_ttl, 86400); /* 0 given: the default */
	assert_false(got.allow_perm_eligible);
	assert_true(got.allow_perm_active);
	assert_int_equal(got.max_assignment, 30 * 24 * H);
	assert_false(got.break_glass);

	got.break_glass = true;
	got.approvals = 0;
	got.approval_ttl = 600;
	got.approvers[0] = '\0';
	assert_int_equal(store_role_update(f->st, &got), PIM_OK);
	assert_int_equal(store_role_get(f->st, "ops", &r), PIM_OK);
	assert_true(r.break_glass);
	assert_int_equal(r.approvals, 0);
	assert_int_equal(r.approval_ttl, 600);
	assert_string_equal(r.approvers, "");
	assert_int_equal(r.max_activation, 4 * H);
	got.id = 999;
	assert_int_equal(store_role_update(f->st, &got), PIM_ENOTFOUND);
}

/* ---- plain requests and the owner's moves ---- */

static void
test_active_deactivate(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops"});
	struct activation_request rq = rq_make("ops", T0);
	struct store_activation a;
	int64_t id;

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	id = fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
	a = fx_act(f, id);
	assert_int_equal(a.start, T0);
	assert_int_equal(a.end, T0 + H);
	assert_false(a.break_glass);
	assert_int_equal(a.approve_by, 0);
	/* A second one while the first is live. */
	fx_request(f, &rq, PIM_EDENIED, 0, "already active");

	assert_int_equal(policy_deactivate(f->st, id, "bob", T0 + 60, f->reason,
			     sizeof(f->reason)),
	    PIM_EDENIED);
	assert_string_equal(f->reason, "activation 1 is not yours");
	assert_int_equal(policy_cancel(f->st, id, "alice", T0 + 60, f->reason,
			     sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_deactivate(f->st, id, "alice", T0 + 60,
			     f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(fx_act(f, id).state, ACT_DEACTIVATED);
	assert_int_equal(fx_act(f, id).ended, T0 + 60);
	assert_int_equal(policy_deactivate(f->st, id, "alice", T0 + 61,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_deactivate(f->st, 77, "alice", T0 + 61,
			     f->reason, sizeof(f->reason)),
	    PIM_ENOTFOUND);
}

static void
test_extend(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops"});
	struct activation_request rq = rq_make("ops", T0);
	int64_t id;

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, T0 + 3 * H);
	id = fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);

	rq.now = T0 + 30 * 60;
	rq.duration = 5 * H;
	assert_int_equal(
	    policy_extend(f->st, id, &rq, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_string_equal(
	    f->reason, "role ops allows at most 4h per activation");
	rq.duration = 2 * H;
	rq.user = "bob";
	assert_int_equal(
	    policy_extend(f->st, id, &rq, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	rq.user = "alice";
	assert_int_equal(
	    policy_extend(f->st, id, &rq, f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(fx_act(f, id).end, T0 + 30 * 60 + 2 * H);
	/* Clipped to the eligible assignment's end. */
	rq.duration = 4 * H;
	assert_int_equal(
	    policy_extend(f->st, id, &rq, f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(fx_act(f, id).end, T0 + 3 * H);
	/* Only active ones. */
	rq.now = T0 + 4 * H;
	assert_int_equal(
	    policy_extend(f->st, id, &rq, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_non_null(strstr(f->reason, "not active"));
}

/* ---- refused requests ---- */

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops",
				     .require_reason = true,
				     .min_reason_len = 20,
				     .require_ticket = true,
				     .ticket_pattern = "INC-[0-9]+"});
	struct activation_request rq = rq_make("ops", T0);

	fx_request(
	    f, &rq, PIM_EDENIED, 0, "alice is not eligible for role ops");
	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	rq.ticket = "INC-42";
	rq.duration = 5 * H;
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops allows at most 4h per activation");
	rq.duration = H;
	rq.reason = NULL;
	fx_request(f, &rq, PIM_EDENIED, 0, "role ops needs a justification");
	rq.reason = "   ";
	fx_request(f, &rq, PIM_EDENIED, 0, "role ops needs a justification");
	rq.reason = "fix";
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops needs a justification of at least 20 characters");
	rq.reason = "care plan update for client 12";
	rq.ticket = NULL;
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops needs a ticket number matching INC-[0-9]+");
	rq.ticket = "INC-42x";
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops needs a ticket number matching INC-[0-9]+");
	rq.ticket = "xINC-42";
	fx_request(f, &rq, PIM_EDENIED, 0, "needs a ticket number");
	rq.ticket = "INC-42";
	fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
	rq.role = "nope";
	fx_request(f, &rq, PIM_ENOTFOUND, 0, "no role named nope");
}

static void
test_mfa(void **state)
{
	struct fx *f = *state;
	int64_t ops =
	    fx_role(f, (struct store_role){.name = "ops", .require_mfa = true});
	struct activation_request rq = rq_make("ops", T0);
	char code[TOTP_DIGITS + 1], bad[TOTP_DIGITS + 1];
	static const unsigned char sealed[] = "sealed-by-the-vault";

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops needs MFA, and alice has none enrolled: ask an admin "
	    "to run 'pimctl user mfa enroll alice'");
	assert_int_equal(
	    store_user_set_mfa(f->st, f->alice, sealed, sizeof(sealed), false),
	    PIM_OK);
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "role ops needs a one-time code from your authenticator "
	    "(--otp CODE)");
	rq.mfa_secret = secret;
	rq.mfa_secret_len = sizeof(secret);
	fx_request(f, &rq, PIM_EDENIED, 0, "needs a one-time code");

	assert_int_equal(totp_code(secret, sizeof(secret), T0, code), PIM_OK);
	memcpy(bad, code, sizeof(bad));
	bad[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	rq.otp = bad;
	fx_request(f, &rq, PIM_EDENIED, 0, "wrong");
	rq.otp = code;
	fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
}

/* ---- eligibility windows and scheduled starts ---- */

static void
test_eligible_window(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops"});
	struct activation_request rq = rq_make("ops", T0);
	int64_t id;

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, T0 + H, T0 + 5 * H);
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "alice is eligible for role ops only from 2027-01-15T09:00:00Z");
	rq.now = T0 + 6 * H;
	fx_request(f, &rq, PIM_EDENIED, 0,
	    "alice's eligibility for role ops ended at");
	/* Scheduled past the window's end. */
	rq.now = T0 + 2 * H;
	rq.start = T0 + 5 * H;
	fx_request(f, &rq, PIM_EDENIED, 0, "eligibility for role ops");
	/* Inside it, clipped to its end. */
	rq.start = T0 + 4 * H + 30 * 60;
	id = fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
	assert_int_equal(fx_act(f, id).start, T0 + 4 * H + 30 * 60);
	assert_int_equal(fx_act(f, id).end, T0 + 5 * H);
}

static void
test_scheduled_start(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops"});
	struct activation_request rq = rq_make("ops", T0);
	struct admission adm;
	int64_t id;

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	rq.start = T0 + 2 * H;
	id = fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
	assert_int_equal(fx_act(f, id).start, T0 + 2 * H);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + H, &adm,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + 2 * H - 1,
			     &adm, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + 2 * H, &adm,
			     f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(adm.activation_id, id);
	assert_int_equal(adm.deadline, T0 + 3 * H);
}

/* ---- approvals ---- */

static int64_t
fx_pending(struct fx *f, const char *approvers, int n)
{
	struct store_role r = {.name = "ops", .approvals = n};
	struct activation_request rq = rq_make("ops", T0);
	int64_t ops, id;

	snprintf(r.approvers, sizeof(r.approvers), "%s", approvers);
	ops = fx_role(f, r);
	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	id = fx_request(f, &rq, PIM_OK, ACT_PENDING, NULL);
	assert_int_equal(fx_act(f, id).approve_by, T0 + 86400);
	return id;
}

static int
fx_approve(struct fx *f, int64_t id, const char *who, int64_t now,
    enum store_act_state want)
{
	enum store_act_state state = 0;
	int r;

	r = policy_approve(
	    f->st, id, who, "ok", now, &state, f->reason, sizeof(f->reason));
	assert_int_equal(state, want);
	return r;
}

static void
test_approve_one(void **state)
{
	struct fx *f = *state;
	int64_t id = fx_pending(f, "bob", 1);
	struct activation_request rq = rq_make("ops", T0 + 60);
	struct admission adm;
	struct store_activation a;

	/* Pending grants nothing, and a second request is refused. */
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + 60, &adm,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	fx_request(f, &rq, PIM_EDENIED, 0, "waiting for approval");

	assert_int_equal(
	    fx_approve(f, id, "alice", T0 + 60, ACT_PENDING), PIM_EDENIED);
	assert_string_equal(f->reason, "you cannot approve your own request");
	assert_int_equal(
	    fx_approve(f, id, "carol", T0 + 60, ACT_PENDING), PIM_EDENIED);
	assert_string_equal(f->reason, "carol is not an approver of role ops");
	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 600, ACT_ACTIVE), PIM_OK);
	a = fx_act(f, id);
	assert_int_equal(a.state, ACT_ACTIVE);
	assert_int_equal(a.start, T0 + 600);
	assert_int_equal(a.end, T0 + 600 + H);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + 601, &adm,
			     f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 700, ACT_ACTIVE), PIM_EDENIED);
	assert_non_null(strstr(f->reason, "not pending"));
}

static int
fx_count(const struct store_approval *a, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_approve_two(void **state)
{
	struct fx *f = *state;
	struct store_role leads = {.name = "leads"};
	int64_t id = fx_pending(f, "bob, leads", 2), lid;
	bool may = false;
	int n = 0;

	/* carol holds leads through an active assignment; dave is
	 * eligible only, which is not holding it. */
	lid = fx_role(f, leads);
	fx_assign(f, f->carol, lid, ASSIGN_ACTIVE, 0, 0);
	fx_assign(f, f->dave, lid, ASSIGN_ELIGIBLE, 0, 0);
	assert_int_equal(store_role_get(f->st, "ops", &leads), PIM_OK);
	assert_int_equal(
	    policy_may_approve(f->st, &leads, "carol", T0, &may), PIM_OK);
	assert_true(may);
	assert_int_equal(
	    policy_may_approve(f->st, &leads, "dave", T0, &may), PIM_OK);
	assert_false(may);
	assert_int_equal(
	    policy_may_approve(f->st, &leads, "nobody", T0, &may), PIM_OK);
	assert_false(may);

	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 60, ACT_PENDING), PIM_OK);
	assert_int_equal(fx_act(f, id).state, ACT_PENDING);
	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 70, ACT_PENDING), PIM_EDENIED);
	assert_string_equal(f->reason, "you already approved request 1");
	assert_int_equal(
	    fx_approve(f, id, "dave", T0 + 80, ACT_PENDING), PIM_EDENIED);
	assert_int_equal(
	    fx_approve(f, id, "carol", T0 + 90, ACT_ACTIVE), PIM_OK);
	assert_int_equal(fx_act(f, id).state, ACT_ACTIVE);
	assert_int_equal(fx_act(f, id).start, T0 + 90);
	assert_int_equal(store_approval_list(f->st, id, fx_count, &n), PIM_OK);
	assert_int_equal(n, 2);
}

static void
test_approve_expired(void **state)
{
	struct fx *f = *state;
	int64_t id = fx_pending(f, "bob", 1);

	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 86400, ACT_DENIED), PIM_EDENIED);
	assert_string_equal(f->reason, "request 1 was not approved in time: "
				       "the request expired at "
				       "2027-01-16T08:00:00Z");
	assert_int_equal(fx_act(f, id).state, ACT_DENIED);
}

static void
test_deny_cancel(void **state)
{
	struct fx *f = *state;
	int64_t id = fx_pending(f, "bob,carol", 2);
	struct activation_request rq = rq_make("ops", T0 + 200);

	assert_int_equal(policy_deny(f->st, id, "alice", "no", T0 + 60,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_deny(f->st, id, "dave", "no", T0 + 60,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 60, ACT_PENDING), PIM_OK);
	assert_int_equal(policy_deny(f->st, id, "carol", "not today", T0 + 100,
			     f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(fx_act(f, id).state, ACT_DENIED);
	assert_int_equal(fx_act(f, id).ended, T0 + 100);

	/* A new request, withdrawn by its owner only. */
	id = fx_request(f, &rq, PIM_OK, ACT_PENDING, NULL);
	assert_int_equal(policy_cancel(f->st, id, "bob", T0 + 300, f->reason,
			     sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_deactivate(f->st, id, "alice", T0 + 300,
			     f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_int_equal(policy_cancel(f->st, id, "alice", T0 + 300, f->reason,
			     sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(fx_act(f, id).state, ACT_CANCELLED);
	assert_int_equal(
	    fx_approve(f, id, "bob", T0 + 400, ACT_CANCELLED), PIM_EDENIED);
}

/* ---- break-glass ---- */

static void
test_break_glass(void **state)
{
	struct fx *f = *state;
	int64_t bg = fx_role(f, (struct store_role){.name = "bg",
				    .break_glass = true,
				    .approvals = 2,
				    .approvers = "bob"});
	struct activation_request rq = rq_make("bg", T0);
	static const unsigned char sealed[] = "sealed-by-the-vault";
	char code[TOTP_DIGITS + 1];
	struct store_activation a;
	int64_t id;

	fx_assign(f, f->alice, bg, ASSIGN_ELIGIBLE, 0, 0);
	rq.reason = "";
	fx_request(f, &rq, PIM_EDENIED, 0, "role bg needs a justification");
	rq.reason = "server room flooded";
	fx_request(f, &rq, PIM_EDENIED, 0, "role bg needs MFA");
	assert_int_equal(
	    store_user_set_mfa(f->st, f->alice, sealed, sizeof(sealed), false),
	    PIM_OK);
	rq.mfa_secret = secret;
	rq.mfa_secret_len = sizeof(secret);
	fx_request(f, &rq, PIM_EDENIED, 0, "needs a one-time code");
	assert_int_equal(totp_code(secret, sizeof(secret), T0, code), PIM_OK);
	rq.otp = code;
	id = fx_request(f, &rq, PIM_OK, ACT_ACTIVE, NULL);
	a = fx_act(f, id);
	assert_true(a.break_glass);
	assert_int_equal(a.state, ACT_ACTIVE);
	assert_int_equal(a.approve_by, 0);
	assert_int_equal(a.start, T0);
}

/* The pimctl path keeps its old contract. */
static void
test_activate_wrapper(void **state)
{
	struct fx *f = *state;
	int64_t ops = fx_role(f, (struct store_role){.name = "ops"});
	int64_t id = 0;

	fx_assign(f, f->alice, ops, ASSIGN_ELIGIBLE, 0, 0);
	assert_int_equal(policy_activate(f->st, "alice", "ops", T0, H, "",
			     "admin:root", &id, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
	assert_non_null(strstr(f->reason, "a reason is required"));
	assert_int_equal(policy_activate(f->st, "alice", "ops", T0, H, "why",
			     "admin:root", &id, f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_string_equal(fx_act(f, id).requested_by, "admin:root");
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_role_settings),
	    FX_TEST(test_active_deactivate),
	    FX_TEST(test_extend),
	    FX_TEST(test_refusals),
	    FX_TEST(test_mfa),
	    FX_TEST(test_eligible_window),
	    FX_TEST(test_scheduled_start),
	    FX_TEST(test_approve_one),
	    FX_TEST(test_approve_two),
	    FX_TEST(test_approve_expired),
	    FX_TEST(test_deny_cancel),
	    FX_TEST(test_break_glass),
	    FX_TEST(test_activate_wrapper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
