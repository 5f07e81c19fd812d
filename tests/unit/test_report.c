/* Unit tests for access reports: a month of activity (January 2027)
 * scripted through the real store, policy and audit APIs on a fixed
 * clock, then the report's rows and flags, the flags that must not be
 * raised, and the text, CSV and JSON writers. Also the working-hours
 * rules of util/hours.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/hours.h"
#include "pimgate/policy.h"
#include "pimgate/report.h"
#include "pimgate/store.h"
#include "pimgate/totp.h"

#define H 3600
#define M 60
#define JAN1 1798761600 /* 2027-01-01T00:00:00Z, a Friday */
#define FEB1 1801440000
/* DAY D of January 2027 at HH:MM UTC. */
#define AT(d, hh, mm) ((int64_t)JAN1 + ((d)-1) * 86400 + (hh)*H + (mm)*M)
#define DEC30 (JAN1 - 2 * 86400)

static const unsigned char secret[TOTP_SECRET_LEN] = "12345678901234567890";

/* What the month left behind, by name. */
struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t alice, bob, carol, dave, erin;
	int64_t host1, db1;
	int64_t ops, cdb, emerg;
	int64_t erin_asg;
	int64_t a[13]; /* alice: A0 (December), A1-A8, sat, late, edge, deact */
	int64_t s[9]; /* alice's sessions S0 (December) to S8 */
	int64_t c1, c2, c3, sc1, sc3;
	int64_t d1, sd1, se1;
};

enum { A_SAT = 9, A_LATE, A_EDGE, A_DEACT };

static int64_t
fx_user(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_user_add(f->st, name, NULL, DEC30, &id), PIM_OK);
	return id;
}

static int64_t
fx_target(struct fx *f, const char *name, const char *kind)
{
	struct store_target t = {0};
	int64_t id = 0;

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.kind, sizeof(t.kind), "%s", kind);
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.login, sizeof(t.login), "care");
	t.port = 22;
	t.created = DEC30;
	assert_int_equal(store_target_add(f->st, &t, NULL, 0, &id), PIM_OK);
	return id;
}

static int64_t
fx_role(struct fx *f, struct store_role r, int64_t target)
{
	int64_t id = 0;

	r.max_activation = 4 * H;
	r.max_session = 8 * H;
	r.channels = CHANNEL_DEFAULT;
	r.created = DEC30;
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
	assert_int_equal(store_role_grant(f->st, id, target), PIM_OK);
	return id;
}

static int64_t
fx_assign(struct fx *f, int64_t user, int64_t role, enum store_assign_kind k)
{
	struct store_assignment a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.kind = k;
	a.created = DEC30;
	assert_int_equal(store_assignment_add(f->st, &a, &id), PIM_OK);
	return id;
}

/* USER asks for ROLE at NOW for DUR; the state must be WANT. */
static int64_t
fx_request(struct fx *f, const char *user, const char *role, int64_t now,
    int64_t dur, const char *why, const char *ticket, const char *otp,
    enum store_act_state want)
{
	struct activation_request rq = {
	    .user = user,
	    .role = role,
	    .now = now,
	    .duration = dur,
	    .reason = why,
	    .ticket = ticket,
	    .requested_by = user,
	    .otp = otp,
	    .mfa_secret = otp != NULL ? secret : NULL,
	    .mfa_secret_len = otp != NULL ? sizeof(secret) : 0,
	};
	enum store_act_state state = 0;
	char reason[POLICY_REASON_MAX];
	int64_t id = 0;

	if (policy_request_activation(
		f->st, &rq, &id, &state, reason, sizeof(reason)) != PIM_OK)
		fail_msg("activation of %s refused: %s", role, reason);
	assert_int_equal(state, want);
	return id;
}

/* A session of USER under ROLE (by activation ACT or assignment ASG). */
static int64_t
fx_session(struct fx *f, const char *user, int64_t uid, const char *role,
    int64_t rid, const char *target, int64_t tid, int64_t act, int64_t asg,
    int64_t start, int64_t end, const char *why, int64_t in, int64_t out)
{
	struct store_session s = {0};

	s.user_id = uid;
	s.target_id = tid;
	s.role_id = rid;
	s.activation_id = act;
	s.assignment_id = asg;
	snprintf(s.user, sizeof(s.user), "%s", user);
	snprintf(s.target, sizeof(s.target), "%s", target);
	snprintf(s.role, sizeof(s.role), "%s", role);
	snprintf(s.protocol, sizeof(s.protocol), "%s",
	    tid == f->db1 ? "postgres" : "ssh");
	snprintf(s.peer, sizeof(s.peer), "127.0.0.1:%d",
	    (int)(50000 + start % 1000));
	s.start = start;
	s.deadline = end;
	assert_int_equal(store_session_begin(f->st, &s), PIM_OK);
	assert_int_equal(
	    store_session_end(f->st, s.id, end, why, in, out), PIM_OK);
	return s.id;
}

/* An audit event stamped T, as the front ends and self-service write. */
static void
fx_audit(struct fx *f, int64_t t, const char *user, const char *event,
    const char *outcome, const char *target, const char *role,
    const char *detail)
{
	clock_set_fixed(t);
	assert_int_equal(audit_log(f->st, user, event, outcome, user, target,
			     role, 0, "127.0.0.1:40000", detail),
	    PIM_OK);
	clock_set_fixed(0);
}

/* Alice: ops from 09:00 for an hour on day D, a session 09:05-09:35. */
static void
fx_alice_day(struct fx *f, int i, int64_t day_start, int64_t bytes)
{
	f->a[i] = fx_request(f, "alice", "ops", day_start + 9 * H, H,
	    "care plan update for client 12", NULL, NULL, ACT_ACTIVE);
	f->s[i] = fx_session(f, "alice", f->alice, "ops", f->ops, "host1",
	    f->host1, f->a[i], 0, day_start + 9 * H + 5 * M,
	    day_start + 9 * H + 35 * M, "exit", bytes / 20, bytes - bytes / 20);
}

static void
fx_alice(struct fx *f)
{
	/* Session volumes: a big one too early to judge (S3), an unusual
	 * one (S6), one just under ten times the median (S7), one exactly
	 * at it (S8). S0 is December's: history, not the report. */
	static const int64_t bytes[9] = {200000, 200000, 200000, 3000000,
	    200000, 200000, 2500000, 1900000, 2000000};
	static const int days[9] = {0, 4, 5, 6, 7, 8, 11, 12, 13};
	char why[POLICY_REASON_MAX];

	fx_alice_day(f, 0, DEC30, bytes[0]);
	for (int i = 1; i < 9; i++)
		fx_alice_day(f, i, AT(days[i], 0, 0), bytes[i]);

	/* Saturday; past 19:00; ending at 19:00 sharp; ended early. */
	f->a[A_SAT] = fx_request(f, "alice", "ops", AT(16, 10, 0), H,
	    "weekend medication check", NULL, NULL, ACT_ACTIVE);
	f->a[A_LATE] = fx_request(f, "alice", "ops", AT(19, 18, 30), H,
	    "late visit notes", NULL, NULL, ACT_ACTIVE);
	f->a[A_EDGE] = fx_request(f, "alice", "ops", AT(20, 18, 0), H,
	    "=SUM(A1:A2), urgent", NULL, NULL, ACT_ACTIVE);
	f->a[A_DEACT] = fx_request(f, "alice", "ops", AT(22, 18, 0), 2 * H,
	    "end of day review", NULL, NULL, ACT_ACTIVE);
	assert_int_equal(policy_deactivate(f->st, f->a[A_DEACT], "alice",
			     AT(22, 18, 45), why, sizeof(why)),
	    PIM_OK);
}

static void
fx_carol(struct fx *f)
{
	enum store_act_state st = 0;
	char why[POLICY_REASON_MAX];

	/* Approved; its session killed. */
	f->c1 = fx_request(f, "carol", "clients-db", AT(5, 10, 0), 2 * H,
	    "monthly billing export", "INC-1001", NULL, ACT_PENDING);
	assert_int_equal(policy_approve(f->st, f->c1, "bob", "ok", AT(5, 10, 5),
			     &st, why, sizeof(why)),
	    PIM_OK);
	assert_int_equal(st, ACT_ACTIVE);
	f->sc1 = fx_session(f, "carol", f->carol, "clients-db", f->cdb, "db1",
	    f->db1, f->c1, 0, AT(5, 10, 10), AT(5, 10, 50), "killed", 5000,
	    80000);

	/* Asked for at night and denied: never held, so not off-hours. */
	f->c2 = fx_request(f, "carol", "clients-db", AT(7, 22, 0), 2 * H,
	    "catch up on billing", "INC-1002", NULL, ACT_PENDING);
	assert_int_equal(policy_deny(f->st, f->c2, "bob", "not at night",
			     AT(7, 22, 10), why, sizeof(why)),
	    PIM_OK);

	/* Approved, then revoked by an admin: the session ends with it. */
	f->c3 = fx_request(f, "carol", "clients-db", AT(11, 8, 0), 2 * H,
	    "audit request from the state", "INC-1003", NULL, ACT_PENDING);
	assert_int_equal(policy_approve(f->st, f->c3, "bob", NULL, AT(11, 8, 1),
			     &st, why, sizeof(why)),
	    PIM_OK);
	assert_int_equal(store_activation_transition(f->st, f->c3, ACT_ACTIVE,
			     ACT_REVOKED, AT(11, 9, 0)),
	    PIM_OK);
	f->sc3 = fx_session(f, "carol", f->carol, "clients-db", f->cdb, "db1",
	    f->db1, f->c3, 0, AT(11, 8, 10), AT(11, 9, 0), "revoked", 100, 200);
}

static void
fx_dave(struct fx *f)
{
	enum store_act_state state = 0;
	char code[TOTP_DIGITS + 1], bad[TOTP_DIGITS + 1];
	char reason[POLICY_REASON_MAX], detail[STORE_TEXT_MAX];
	int64_t t = AT(6, 8, 2), id = 0;
	struct activation_request rq = {
	    .user = "dave",
	    .role = "emergency",
	    .now = t,
	    .duration = H,
	    .reason = "patient emergency, on-call nurse locked out",
	    .requested_by = "dave",
	    .otp = bad,
	    .mfa_secret = secret,
	    .mfa_secret_len = sizeof(secret),
	};

	/* Two wrong codes at login, then a wrong one at activation. */
	fx_audit(f, AT(6, 8, 0), "dave", AUDIT_LOGIN, "failed", "host1", NULL,
	    "password+totp: the code is wrong or expired");
	fx_audit(f, AT(6, 8, 1), "dave", AUDIT_LOGIN, "failed", "host1", NULL,
	    "password+totp: the code is wrong or expired");
	assert_int_equal(totp_code(secret, sizeof(secret), t, code), PIM_OK);
	snprintf(bad, sizeof(bad), "%s", code);
	bad[0] = bad[0] == '9' ? '0' : (char)(bad[0] + 1);
	assert_int_equal(policy_request_activation(
			     f->st, &rq, &id, &state, reason, sizeof(reason)),
	    PIM_EDENIED);
	snprintf(detail, sizeof(detail),
	    "BREAK-GLASS activate emergency refused: %s", reason);
	fx_audit(
	    f, t, "dave", "selfservice", "refused", NULL, "emergency", detail);

	/* The right code three minutes later (a later time step). */
	assert_int_equal(
	    totp_code(secret, sizeof(secret), AT(6, 8, 5), code), PIM_OK);
	f->d1 = fx_request(f, "dave", "emergency", AT(6, 8, 5), H,
	    "patient emergency, on-call nurse locked out", NULL, code,
	    ACT_ACTIVE);
	f->sd1 = fx_session(f, "dave", f->dave, "emergency", f->emerg, "host1",
	    f->host1, f->d1, 0, AT(6, 8, 10), AT(6, 9, 5), "expired", 3000,
	    40000);
}

static void
fx_erin(struct fx *f)
{
	/* The first instant of the period counts; its end does not. */
	fx_audit(f, JAN1, "erin", AUDIT_LOGIN, "failed", "host1", NULL,
	    "password: wrong password");
	fx_audit(f, AT(14, 9, 0), "erin", AUDIT_LOGIN, "failed", "host1", NULL,
	    "key+totp: the code is wrong or expired");
	fx_audit(f, AT(14, 9, 1), "erin", AUDIT_LOGIN, "failed", "host1", NULL,
	    "key+totp: this code was already used; wait for the next "
	    "one");
	fx_audit(f, AT(14, 9, 2), "erin", AUDIT_ADMIT, "refused", "db1", NULL,
	    "no active role grants db1; activate one first");
	fx_audit(f, FEB1, "erin", AUDIT_LOGIN, "failed", "host1", NULL,
	    "password+totp: the code is wrong or expired");
	f->se1 =
	    fx_session(f, "erin", f->erin, "ops", f->ops, "host1", f->host1, 0,
		f->erin_asg, AT(14, 10, 0), AT(14, 10, 30), "exit", 1000, 2000);
	/* Someone who is not a user at all. */
	fx_audit(f, AT(10, 3, 0), "mallory", AUDIT_LOGIN, "failed", "host1",
	    NULL, "password: no such user");
	/* Outside the period: December. */
	fx_audit(f, DEC30, "alice", AUDIT_ADMIT, "refused", "db1", NULL,
	    "no active role grants db1; activate one first");
}

static void
fx_roles(struct fx *f)
{
	struct store_role ops = {0}, cdb = {0}, em = {0};

	snprintf(ops.name, sizeof(ops.name), "ops");
	ops.require_reason = true;
	f->ops = fx_role(f, ops, f->host1);
	snprintf(cdb.name, sizeof(cdb.name), "clients-db");
	cdb.require_ticket = true;
	snprintf(cdb.ticket_pattern, sizeof(cdb.ticket_pattern), "INC-[0-9]+");
	cdb.approvals = 1;
	snprintf(cdb.approvers, sizeof(cdb.approvers), "bob");
	f->cdb = fx_role(f, cdb, f->db1);
	snprintf(em.name, sizeof(em.name), "emergency");
	em.break_glass = true;
	f->emerg = fx_role(f, em, f->host1);
	assert_int_equal(store_role_grant(f->st, f->emerg, f->db1), PIM_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-report-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	f->alice = fx_user(f, "alice");
	f->bob = fx_user(f, "bob");
	f->carol = fx_user(f, "carol");
	f->dave = fx_user(f, "dave");
	f->erin = fx_user(f, "erin");
	f->host1 = fx_target(f, "host1", "ssh");
	f->db1 = fx_target(f, "db1", "postgres");
	fx_roles(f);
	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE);
	fx_assign(f, f->carol, f->cdb, ASSIGN_ELIGIBLE);
	fx_assign(f, f->dave, f->emerg, ASSIGN_ELIGIBLE);
	f->erin_asg = fx_assign(f, f->erin, f->ops, ASSIGN_ACTIVE);
	fx_alice(f);
	fx_carol(f);
	fx_dave(f);
	fx_erin(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char side[160];

	clock_set_fixed(0);
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

/* January, 07:00-19:00 Monday to Friday in TZ, the default factor. */
static struct report_options
month(const char *user, const char *tz)
{
	struct report_options o = {.from = JAN1, .to = FEB1};
	char err[128];

	assert_int_equal(hours_init(&o.hours, "07:00-19:00", "mon-fri", tz, err,
			     sizeof(err)),
	    PIM_OK);
	o.volume_factor = 10;
	o.now = FEB1 + 9 * H;
	snprintf(o.user, sizeof(o.user), "%s", user);
	return o;
}

static struct report *
build(struct fx *f, const char *user)
{
	struct report_options o = month(user, "UTC");
	struct report *r = NULL;

	assert_int_equal(report_build(f->st, &o, &r), PIM_OK);
	return r;
}

static const struct report_activation *
find_act(const struct report *r, int64_t id)
{
	for (size_t i = 0; i < r->nacts; i++) {
		if (r->acts[i].a.id == id)
			return &r->acts[i];
	}
	fail_msg("activation %lld is not in the report", (long long)id);
	return NULL;
}

static const struct report_session *
find_session(const struct report *r, int64_t id)
{
	for (size_t i = 0; i < r->nsessions; i++) {
		if (r->sessions[i].s.id == id)
			return &r->sessions[i];
	}
	fail_msg("session %lld is not in the report", (long long)id);
	return NULL;
}

static bool
has_act(const struct report *r, int64_t id)
{
	for (size_t i = 0; i < r->nacts; i++) {
		if (r->acts[i].a.id == id)
			return true;
	}
	return false;
}

/* ---- the month ---- */

static void
test_users_and_counts(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	static const char *const names[] = {
	    "alice", "carol", "dave", "erin", "mallory"};
	static const size_t acts[] = {12, 3, 1, 0, 0};
	static const size_t sessions[] = {8, 2, 1, 1, 0};
	static const size_t refusals[] = {0, 0, 3, 4, 1};
	static const int mfa[] = {0, 0, 3, 2, 0};

	/* bob only approved: no rows of his own. */
	assert_int_equal(r->nusers, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct report_user *u = &r->users[i];

		assert_string_equal(u->name, names[i]);
		assert_int_equal(u->nacts, acts[i]);
		assert_int_equal(u->nsessions, sessions[i]);
		assert_int_equal(u->nrefusals, refusals[i]);
		assert_int_equal(u->mfa_failures, mfa[i]);
		/* Three failures flag dave; erin's two do not. */
		assert_int_equal(
		    u->flags, i == 2 ? (unsigned)REPORT_MFA_REPEATED_FLAG : 0u);
	}
	/* December's activation, session and refusal are not January's. */
	assert_false(has_act(r, f->a[0]));
	for (size_t i = 0; i < r->nsessions; i++)
		assert_int_not_equal(r->sessions[i].s.id, f->s[0]);
	assert_int_equal(r->nacts, 16);
	assert_int_equal(r->nsessions, 12);
	assert_int_equal(r->nrefusals, 8);
	report_free(r);
}

static void
test_activation_rows(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	const struct report_activation *a;

	/* In hours, one hour, no flag. */
	a = find_act(r, f->a[1]);
	assert_int_equal(a->state, ACT_EXPIRED); /* active past its end */
	assert_true(a->held);
	assert_int_equal(a->a.start, AT(4, 9, 0));
	assert_int_equal(a->until, AT(4, 10, 0));
	assert_int_equal(a->duration, H);
	assert_string_equal(a->a.reason, "care plan update for client 12");
	assert_int_equal(a->flags, 0);

	/* Saturday and past 19:00 are off-hours; ending at 19:00 sharp,
	 * or ended early at 18:45, is not. */
	assert_int_equal(find_act(r, f->a[A_SAT])->flags, REPORT_OFF_HOURS);
	assert_int_equal(find_act(r, f->a[A_LATE])->flags, REPORT_OFF_HOURS);
	assert_int_equal(find_act(r, f->a[A_EDGE])->flags, 0);
	a = find_act(r, f->a[A_DEACT]);
	assert_int_equal(a->state, ACT_DEACTIVATED);
	assert_int_equal(a->until, AT(22, 18, 45));
	assert_int_equal(a->duration, 45 * M);
	assert_int_equal(a->flags, 0);

	/* Approved by bob: the window starts at the approval. */
	a = find_act(r, f->c1);
	assert_int_equal(a->a.created, AT(5, 10, 0));
	assert_int_equal(a->a.start, AT(5, 10, 5));
	assert_int_equal(a->until, AT(5, 12, 5));
	assert_string_equal(a->a.ticket, "INC-1001");
	assert_int_equal(a->napprovals, 1);
	assert_string_equal(a->approvals[0].approver, "bob");
	assert_string_equal(a->approvals[0].decision, "approve");
	assert_int_equal(a->flags, 0);

	/* Denied at night: never held, so never off-hours. */
	a = find_act(r, f->c2);
	assert_int_equal(a->state, ACT_DENIED);
	assert_false(a->held);
	assert_int_equal(a->napprovals, 1);
	assert_string_equal(a->approvals[0].decision, "deny");
	assert_int_equal(a->flags, 0);

	/* Revoked at 09:00: held 08:01 to 09:00. */
	a = find_act(r, f->c3);
	assert_int_equal(a->state, ACT_REVOKED);
	assert_int_equal(a->until, AT(11, 9, 0));
	assert_int_equal(a->duration, 59 * M);

	/* Break-glass, in working hours. */
	a = find_act(r, f->d1);
	assert_true(a->a.break_glass);
	assert_int_equal(a->flags, REPORT_BREAK_GLASS);
	assert_int_equal(a->napprovals, 0);
	report_free(r);
}

static void
test_session_rows(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	const struct report_session *x;
	/* Earlier sessions (S0 is December's) and the median over them. */
	static const int history[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};

	for (int i = 1; i < 9; i++) {
		x = find_session(r, f->s[i]);
		assert_int_equal(x->history, history[i]);
		assert_int_equal(x->median, history[i] >= 5 ? 200000 : -1);
		assert_int_equal(r->acts[x->act].a.id, f->a[i]);
		/* Only S6 (2.5 MB, over 10 x 200 kB); not S3 (3 MB, too
		 * little history), S7 (1.9 MB) or S8 (exactly 10 x). */
		assert_int_equal(x->flags, i == 6 ? REPORT_VOLUME : 0u);
	}
	x = find_session(r, f->s[6]);
	assert_int_equal(x->bytes, 2500000);
	assert_int_equal(x->length, 30 * M);

	x = find_session(r, f->sc1);
	assert_int_equal(x->flags, REPORT_ENDED_KILLED);
	assert_string_equal(x->s.protocol, "postgres");
	assert_int_equal(x->s.bytes_in, 5000);
	assert_int_equal(x->s.bytes_out, 80000);
	assert_int_equal(find_session(r, f->sc3)->flags, REPORT_ENDED_REVOKED);
	assert_int_equal(find_session(r, f->sd1)->flags, REPORT_ENDED_EXPIRED);

	/* Erin's standing access: no activation, no flag. */
	x = find_session(r, f->se1);
	assert_int_equal(x->act, SIZE_MAX);
	assert_int_equal(x->s.assignment_id, f->erin_asg);
	assert_int_equal(x->flags, 0);
	report_free(r);
}

static void
test_refusal_rows(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	const struct report_user *u = &r->users[2]; /* dave */
	const struct report_refusal *x = &r->refusals[u->refusal_first];

	assert_string_equal(x[0].e.event, "login");
	assert_int_equal(x[0].e.ts_ms, AT(6, 8, 0) * 1000);
	assert_int_equal(x[0].flags, REPORT_MFA_FAILURE);
	assert_int_equal(x[1].flags, REPORT_MFA_FAILURE);
	assert_string_equal(x[2].e.event, "selfservice");
	assert_string_equal(x[2].e.role, "emergency");
	assert_string_equal(x[2].e.detail, "BREAK-GLASS activate emergency "
					   "refused: the code is wrong or "
					   "expired");
	assert_int_equal(x[2].flags, REPORT_MFA_FAILURE | REPORT_BREAK_GLASS);

	u = &r->users[3]; /* erin: JAN1 in, FEB1 out */
	x = &r->refusals[u->refusal_first];
	assert_int_equal(x[0].e.ts_ms, (int64_t)JAN1 * 1000);
	assert_int_equal(x[0].flags, 0); /* a wrong password is not MFA */
	assert_int_equal(x[1].flags, REPORT_MFA_FAILURE);
	assert_int_equal(x[2].flags, REPORT_MFA_FAILURE);
	assert_string_equal(x[3].e.outcome, "refused");
	assert_int_equal(x[3].flags, 0);
	report_free(r);
}

/* The single user filter, and a period that holds nothing. */
static void
test_user_filter(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "carol");
	struct report_options o = month("", "UTC");

	assert_int_equal(r->nusers, 1);
	assert_string_equal(r->users[0].name, "carol");
	assert_int_equal(r->nacts, 3);
	assert_int_equal(r->nsessions, 2);
	assert_int_equal(r->nrefusals, 0);
	report_free(r);

	o.from = FEB1 + 86400;
	o.to = FEB1 + 2 * 86400;
	assert_int_equal(report_build(f->st, &o, &r), PIM_OK);
	assert_int_equal(r->nusers, 0);
	report_free(r);
	o.to = o.from;
	assert_int_equal(report_build(f->st, &o, &r), PIM_EINVAL);
	assert_null(r);
}

/* ---- the writers ---- */

/* Runs WRITE over R into a string (free it). */
static char *
render(const struct report *r, int (*write)(const struct report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(write(r, out), PIM_OK);
	fclose(out);
	return buf;
}

static void
test_csv_exact(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "carol");
	char *got = render(r, report_write_csv);
	char want[4096];

	snprintf(want, sizeof(want),
	    REPORT_CSV_HEADER
	    "\r\n"
	    "activation,carol,clients-db,%lld,,2027-01-05T10:00:00Z,"
	    "2027-01-05T10:05:00Z,2027-01-05T12:05:00Z,7200,expired,"
	    "monthly billing export,INC-1001,bob,,,,,,,,,,\r\n"
	    "activation,carol,clients-db,%lld,,2027-01-07T22:00:00Z,"
	    "2027-01-07T22:00:00Z,2027-01-08T00:00:00Z,7200,denied,"
	    "catch up on billing,INC-1002,bob (deny),,,,,,,,,,\r\n"
	    "activation,carol,clients-db,%lld,,2027-01-11T08:00:00Z,"
	    "2027-01-11T08:01:00Z,2027-01-11T09:00:00Z,3540,revoked,"
	    "audit request from the state,INC-1003,bob,,,,,,,,,,\r\n"
	    "session,carol,clients-db,%lld,%lld,,2027-01-05T10:10:00Z,"
	    "2027-01-05T10:50:00Z,2400,,,,,db1,postgres,127.0.0.1:50800,"
	    "killed,5000,80000,,,,ended-killed\r\n"
	    "session,carol,clients-db,%lld,%lld,,2027-01-11T08:10:00Z,"
	    "2027-01-11T09:00:00Z,3000,,,,,db1,postgres,127.0.0.1:50000,"
	    "revoked,100,200,,,,ended-revoked\r\n",
	    (long long)f->c1, (long long)f->c2, (long long)f->c3,
	    (long long)f->sc1, (long long)f->c1, (long long)f->sc3,
	    (long long)f->c3);
	assert_string_equal(got, want);
	free(got);
	report_free(r);
}

static void
test_csv_dave_and_formulas(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	char *got = render(r, report_write_csv);
	char row[512];

	/* The user row that carries dave's flag. */
	assert_non_null(strstr(got, "\r\nuser,dave,,,,,,,,,,,,,,,,,,,,"
				    "3 failed one-time codes,"
				    "repeated-mfa-failures\r\n"));
	/* A refusal tagged both ways. */
	assert_non_null(strstr(got, "selfservice,refused,BREAK-GLASS activate "
				    "emergency refused: the code is wrong or "
				    "expired,break-glass;mfa-failure\r\n"));
	/* A reason a spreadsheet would run is text, and quoted. */
	snprintf(row, sizeof(row),
	    "activation,alice,ops,%lld,,2027-01-20T18:00:00Z,"
	    "2027-01-20T18:00:00Z,2027-01-20T19:00:00Z,3600,expired,"
	    "\"'=SUM(A1:A2), urgent\",,,",
	    (long long)f->a[A_EDGE]);
	assert_non_null(strstr(got, row));
	/* The unusual session says why. */
	snprintf(row, sizeof(row),
	    "2500000 bytes; the median of the 6 earlier sessions is "
	    "200000,unusual-volume\r\n");
	assert_non_null(strstr(got, row));
	free(got);
	report_free(r);
}

static void
test_csv_cell(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"", ""},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"=1+2", "'=1+2"},
	    {"+1", "'+1"},
	    {"-2", "'-2"},
	    {"@SUM(A1)", "'@SUM(A1)"},
	    {"\tx", "'\tx"},
	    {"=HYPERLINK(\"x\",\"y\")", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""},
	    {" padded", "\" padded\""},
	    {"1-2", "1-2"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);

		assert_int_equal(report_csv_cell(out, cases[i].in), PIM_OK);
		fclose(out);
		assert_string_equal(buf, cases[i].out);
		free(buf);
	}
}

static void
test_json(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	char *got = render(r, report_write_json);
	json_error_t err;
	json_t *doc = json_loads(got, 0, &err), *users, *dave, *act, *review;
	size_t i;
	json_t *v;

	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "from")),
	    "2027-01-01T00:00:00Z");
	users = json_object_get(doc, "users");
	assert_int_equal(json_array_size(users), 5);
	dave = json_array_get(users, 2);
	assert_string_equal(
	    json_string_value(json_object_get(dave, "user")), "dave");
	assert_int_equal(
	    json_integer_value(json_object_get(dave, "mfa_failures")), 3);
	act = json_array_get(
	    json_object_get(json_array_get(json_object_get(dave, "roles"), 0),
		"activations"),
	    0);
	assert_int_equal(json_integer_value(json_object_get(act, "id")), f->d1);
	assert_true(json_is_true(json_object_get(act, "break_glass")));
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(act, "flags"), 0)),
	    "break-glass");
	v = json_array_get(json_object_get(act, "sessions"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(v, "end_reason")), "expired");
	assert_int_equal(
	    json_integer_value(json_object_get(v, "length_s")), 55 * M);

	/* Nine flags need review, in user order. */
	review = json_object_get(doc, "needs_review");
	assert_int_equal(json_array_size(review), 9);
	json_array_foreach(review, i, v)
	{
		const char *flag =
		    json_string_value(json_object_get(v, "flag"));

		assert_non_null(flag);
		assert_string_not_equal(flag, "mfa-failure");
	}
	json_decref(doc);
	free(got);
	report_free(r);
}

static void
test_text(void **state)
{
	struct fx *f = *state;
	struct report *r = build(f, "");
	char *got = render(r, report_write_text);
	char line[256];
	int n = 0;

	for (const char *p = got; (p = strstr(p, "\n  ! ")) != NULL; p++)
		n++;
	assert_int_equal(n, 9);
	snprintf(line, sizeof(line),
	    "  ! off-hours              alice            activation %lld "
	    "of ops, 2027-01-16T10:00:00Z to 2027-01-16T11:00:00Z\n",
	    (long long)f->a[A_SAT]);
	assert_non_null(strstr(got, line));
	assert_non_null(strstr(got, "  ! repeated-mfa-failures  dave"
				    "             3 failed one-time codes\n"));
	assert_non_null(strstr(got, "\nUser dave  [REPEATED-MFA-FAILURES]\n"));
	snprintf(line, sizeof(line),
	    "    Activation %lld: expired  "
	    "[BREAK-GLASS]\n",
	    (long long)f->d1);
	assert_non_null(strstr(got, line));
	assert_non_null(strstr(got, "      approvals: bob (deny)\n"));
	assert_non_null(strstr(got, "    Without an activation in this report "
				    "(active assignment):\n"));
	free(got);
	report_free(r);
}

/* Text from outside cannot reach the terminal raw. */
static void
test_cleaning(void **state)
{
	struct fx *f = *state;
	struct report *r;
	char *got;

	fx_audit(f, AT(15, 12, 0), "erin", AUDIT_LOGIN, "failed", "host1", NULL,
	    "evil \x1b[31mred\xe2\x80\xae and \xff bad");
	r = build(f, "erin");
	got = render(r, report_write_text);
	assert_non_null(strstr(got, "evil ?[31mred? and ? bad"));
	assert_null(strchr(got, '\x1b'));
	free(got);
	report_free(r);
}

/* ---- the rules on their own ---- */

static void
test_rules(void **state)
{
	int64_t odd[] = {9, 1, 5}, even[] = {4, 1, 3, 2},
		big[] = {INT64_MAX - 1, INT64_MAX - 3};
	char buf[128];

	(void)state;
	assert_int_equal(report_median(odd, 3), 5);
	assert_int_equal(report_median(even, 4), 2);
	assert_int_equal(report_median(big, 2), INT64_MAX - 2);
	assert_false(report_rule_volume(10, 5000000, 100000, 4));
	assert_true(report_rule_volume(10, 5000000, 100000, 5));
	assert_false(report_rule_volume(10, 1000000, 1000, 50)); /* floor */
	assert_false(report_rule_volume(10, 2000000, 200000, 9));
	assert_true(report_rule_volume(10, 2000001, 200000, 9));
	assert_true(report_rule_volume(10, INT64_MAX, INT64_MAX / 11, 9));
	assert_int_equal(report_rule_end("killed"), REPORT_ENDED_KILLED);
	assert_int_equal(report_rule_end("exit"), 0);
	assert_int_equal(report_rule_end("idle"), 0);
	report_flags_format(
	    REPORT_OFF_HOURS | REPORT_VOLUME, ";", buf, sizeof(buf));
	assert_string_equal(buf, "off-hours;unusual-volume");
	assert_null(report_flag_name(REPORT_OFF_HOURS | REPORT_VOLUME));
}

static void
test_hours_parse(void **state)
{
	struct work_hours wh;
	unsigned days = 0;
	char err[160], buf[128];
	int a = 0, b = 0;

	(void)state;
	assert_int_equal(hours_parse_span("07:00-19:00", &a, &b), PIM_OK);
	assert_int_equal(a, 7 * 60);
	assert_int_equal(b, 19 * 60);
	assert_int_equal(hours_parse_span("00:00-24:00", &a, &b), PIM_OK);
	assert_int_equal(b, 1440);
	assert_int_equal(hours_parse_span("19:00-07:00", &a, &b), PIM_EINVAL);
	assert_int_equal(hours_parse_span("7:00-19:00", &a, &b), PIM_EINVAL);
	assert_int_equal(hours_parse_span("07:60-19:00", &a, &b), PIM_EINVAL);
	assert_int_equal(hours_parse_span("24:00-24:00", &a, &b), PIM_EINVAL);
	assert_int_equal(hours_parse_days("mon-fri", &days), PIM_OK);
	assert_int_equal(days, 0x3e);
	assert_int_equal(hours_parse_days("Fri-Mon,wed", &days), PIM_OK);
	assert_int_equal(days, 0x63 | 0x08);
	assert_int_equal(hours_parse_days("monday", &days), PIM_EINVAL);
	assert_int_equal(hours_parse_days("mon,", &days), PIM_EINVAL);
	assert_int_equal(hours_check_tz("UTC"), PIM_OK);
	assert_int_equal(hours_check_tz("Europe/Paris"), PIM_OK);
	assert_int_equal(hours_check_tz("Mars/Olympus"), PIM_ENOTFOUND);
	assert_int_equal(hours_check_tz("../../etc/passwd"), PIM_EINVAL);
	assert_int_equal(hours_check_tz("/etc/localtime"), PIM_EINVAL);
	assert_int_equal(hours_init(&wh, "08:30-17:00", "sat-sun,wed",
			     "Europe/Paris", err, sizeof(err)),
	    PIM_OK);
	hours_format(&wh, buf, sizeof(buf));
	assert_string_equal(buf, "08:30-17:00 wed,sat-sun Europe/Paris");
	assert_int_equal(hours_init(&wh, "08:30-17:00", "mon-fri", "Nope/X",
			     err, sizeof(err)),
	    PIM_ENOTFOUND);
	assert_non_null(strstr(err, "[report] timezone"));
}

/* Working hours are read in the configured zone, daylight saving
 * included. */
static void
test_hours_zone(void **state)
{
	struct report_options o = month("", "Europe/Paris");
	const char *tz = getenv("TZ");
	char *before = tz != NULL ? strdup(tz) : NULL;
	int wday = -1, minute = -1;
	char err[128];

	(void)state;
	/* 06:30Z in January is 07:30 in Paris: inside; 18:30Z is 19:30. */
	assert_true(hours_cover(&o.hours, AT(4, 6, 30), AT(4, 7, 30)));
	assert_false(hours_cover(&o.hours, AT(4, 5, 30), AT(4, 6, 30)));
	assert_false(hours_cover(&o.hours, AT(4, 17, 30), AT(4, 18, 30)));
	assert_true(hours_cover(&o.hours, AT(4, 17, 0), AT(4, 18, 0)));
	/* 2027-07-05 is a Monday; 05:30Z is 07:30 CEST. */
	assert_true(hours_cover(&o.hours, 1814767200 - 1800, 1814767200));
	hours_local(&o.hours, AT(1, 23, 30), &wday, &minute);
	/* Round the clock on weekdays: Monday night into Tuesday is in,
	 * Friday night into Saturday is not. */
	assert_int_equal(hours_init(&o.hours, "00:00-24:00", "mon-fri", "UTC",
			     err, sizeof(err)),
	    PIM_OK);
	assert_true(hours_cover(&o.hours, AT(4, 23, 0), AT(5, 1, 0)));
	assert_false(hours_cover(&o.hours, AT(8, 23, 0), AT(9, 1, 0)));
	assert_int_equal(hours_init(&o.hours, "00:00-24:00", "sun-sat", "UTC",
			     err, sizeof(err)),
	    PIM_OK);
	assert_true(hours_cover(&o.hours, AT(8, 23, 0), AT(19, 1, 0)));
	assert_int_equal(wday, 6); /* Saturday 00:30 in Paris */
	assert_int_equal(minute, 30);
	/* The process's own TZ is left as it was. */
	tz = getenv("TZ");
	if (before == NULL)
		assert_null(tz);
	else
		assert_string_equal(tz, before);
	free(before);
}

/* config_load (and so pimgated -t) refuses bad [report] settings, with
 * the line and what was expected. */
static void
test_config_report(void **state)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
	    {"working_hours = 19:00-07:00", "[report] working_hours: expected"},
	    {"working_hours = 7-19", "[report] working_hours: expected"},
	    {"working_days = weekdays", "[report] working_days: expected"},
	    {"timezone = Mars/Olympus", "[report] timezone: expected"},
	    {"timezone = ../../etc/passwd", "[report] timezone: expected"},
	};
	char dir[] = "/tmp/pimgate-report-conf-XXXXXX", path[64], err[512];
	struct config cfg;
	FILE *out;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pimgate.conf", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = fopen(path, "w");
		assert_non_null(out);
		fprintf(out, "[server]\nstate_dir = %s\n[report]\n%s\n", dir,
		    bad[i].line);
		fclose(out);
		assert_int_equal(
		    config_load(path, &cfg, err, sizeof(err)), PIM_EINVAL);
		if (strstr(err, ":4: ") == NULL ||
		    strstr(err, bad[i].msg) == NULL)
			fail_msg("'%s' gave: %s", bad[i].line, err);
	}
	out = fopen(path, "w");
	assert_non_null(out);
	fprintf(out,
	    "[server]\nstate_dir = %s\n[report]\nworking_hours = "
	    "08:00-24:00\nworking_days = sat-sun\ntimezone = "
	    "America/New_York\n",
	    dir);
	fclose(out);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), PIM_OK);
	assert_string_equal(cfg.report_tz, "America/New_York");
	config_free(&cfg);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_users_and_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_activation_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_csv_dave_and_formulas, setup, teardown),
	    cmocka_unit_test(test_csv_cell),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cleaning, setup, teardown),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_hours_parse),
	    cmocka_unit_test(test_hours_zone),
	    cmocka_unit_test(test_config_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
