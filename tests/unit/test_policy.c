/* Unit tests for policy: the admission rule over a table of cases,
 * re-checks after changes, activation refusals, password hashing. Every
 * test uses a fresh store in a temporary directory and explicit times. */
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

#define H 3600
#define T0 1800000000 /* 2027-01-15T08:00:00Z */
/* The time-bound window of the table's assignments: [T0+1h, T0+5h). */
#define W_START (T0 + 1 * H)
#define W_END (T0 + 5 * H)

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t alice, carol;
	int64_t ops, dba, web;
	int64_t db1, host1, lonely;
};

static int64_t
fx_user(struct fx *f, const char *name, bool enabled)
{
	int64_t id = 0;

	assert_int_equal(
	    store_user_add(f->st, name, NULL, T0 - H, &id), PIM_OK);
	if (!enabled)
		assert_int_equal(
		    store_user_set_enabled(f->st, name, false), PIM_OK);
	return id;
}

static int64_t
fx_role(struct fx *f, const char *name, int64_t max_act, int64_t max_sess)
{
	struct store_role r = {0};
	int64_t id = 0;

	snprintf(r.name, sizeof(r.name), "%s", name);
	r.max_activation = max_act;
	r.max_session = max_sess;
	r.idle_timeout = 900;
	r.channels = CHANNEL_DEFAULT;
	r.created = T0 - H;
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
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

/* alice (enabled), carol (disabled); ops and dba grant db1, web grants
 * host1, nothing grants lonely. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-policy-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	f->alice = fx_user(f, "alice", true);
	f->carol = fx_user(f, "carol", false);
	f->ops = fx_role(f, "ops", 4 * H, 8 * H);
	f->dba = fx_role(f, "dba", 1 * H, 2 * H);
	f->web = fx_role(f, "web", 8 * H, 8 * H);
	f->db1 = fx_target(f, "db1");
	f->host1 = fx_target(f, "host1");
	f->lonely = fx_target(f, "lonely");
	assert_int_equal(store_role_grant(f->st, f->ops, f->db1), PIM_OK);
	assert_int_equal(store_role_grant(f->st, f->dba, f->db1), PIM_OK);
	assert_int_equal(store_role_grant(f->st, f->web, f->host1), PIM_OK);
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

static int64_t
fx_assign(struct fx *f, int64_t user, int64_t role, enum store_assign_kind kind,
    int64_t start, int64_t end)
{
	struct store_assignment a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.kind = kind;
	a.start = start;
	a.end = end;
	a.created = T0 - H;
	assert_int_equal(store_assignment_add(f->st, &a, &id), PIM_OK);
	return id;
}

/* Inserts an activation directly, in any state and window. */
static int64_t
fx_activation(struct fx *f, int64_t user, int64_t role, enum store_act_state s,
    int64_t start, int64_t end)
{
	struct store_activation a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.state = s;
	a.start = start;
	a.end = end;
	snprintf(a.reason, sizeof(a.reason), "care plan update");
	a.created = start;
	assert_int_equal(store_activation_add(f->st, &a, &id), PIM_OK);
	return id;
}

/* ---- the admission rule, as a table ---- */

enum window { PERMANENT, BOUNDED };

struct admit_case {
	const char *name;
	enum store_assign_kind kind; /* of alice's ops assignment; 0 none */
	enum window window;
	enum store_act_state act; /* of alice's ops activation; 0 none */
	int64_t act_start, act_end; /* offsets from T0 */
	int64_t now; /* offset from T0 */
	int want; /* PIM_OK or PIM_EDENIED */
	int64_t deadline; /* offset from T0, if admitted */
	const char *reason; /* expected in the reason, if denied */
};

#define ELIG ASSIGN_ELIGIBLE
#define ACTV ASSIGN_ACTIVE
#define NOT_ACTIVATED \
	"role ops is eligible but not activated: run 'activate ops'"
#define STARTS "assignment of role ops to alice starts at 2027-01-15T09:00:00Z"
#define ENDED "assignment of role ops to alice ended at 2027-01-15T13:00:00Z"

static const struct admit_case admit_cases[] = {
    /* Each assignment kind before, inside and after its window. */
    {"permanent eligible, before", ELIG, PERMANENT, 0, 0, 0, 0, PIM_EDENIED, 0,
	NOT_ACTIVATED},
    {"permanent eligible, inside", ELIG, PERMANENT, 0, 0, 0, 2 * H, PIM_EDENIED,
	0, NOT_ACTIVATED},
    {"permanent eligible, after", ELIG, PERMANENT, 0, 0, 0, 6 * H, PIM_EDENIED,
	0, NOT_ACTIVATED},
    {"time-bound eligible, before", ELIG, BOUNDED, 0, 0, 0, 0, PIM_EDENIED, 0,
	STARTS},
    {"time-bound eligible, inside", ELIG, BOUNDED, 0, 0, 0, 2 * H, PIM_EDENIED,
	0, NOT_ACTIVATED},
    {"time-bound eligible, after", ELIG, BOUNDED, 0, 0, 0, 6 * H, PIM_EDENIED,
	0, ENDED},
    {"permanent active, before", ACTV, PERMANENT, 0, 0, 0, 0, PIM_OK, 8 * H,
	NULL},
    {"permanent active, inside", ACTV, PERMANENT, 0, 0, 0, 2 * H, PIM_OK,
	10 * H, NULL},
    {"permanent active, after", ACTV, PERMANENT, 0, 0, 0, 6 * H, PIM_OK, 14 * H,
	NULL},
    {"time-bound active, before", ACTV, BOUNDED, 0, 0, 0, 0, PIM_EDENIED, 0,
	STARTS},
    {"time-bound active, at its start", ACTV, BOUNDED, 0, 0, 0, 1 * H, PIM_OK,
	5 * H, NULL},
    {"time-bound active, inside", ACTV, BOUNDED, 0, 0, 0, 2 * H, PIM_OK, 5 * H,
	NULL},
    {"time-bound active, at its end", ACTV, BOUNDED, 0, 0, 0, 5 * H,
	PIM_EDENIED, 0, ENDED},
    {"time-bound active, after", ACTV, BOUNDED, 0, 0, 0, 6 * H, PIM_EDENIED, 0,
	ENDED},

    /* Activations of a permanent eligible assignment, window [1h, 3h). */
    {"activation pending", ELIG, PERMANENT, ACT_PENDING, 1 * H, 3 * H, 2 * H,
	PIM_EDENIED, 0, "activation 1 of role ops is awaiting approval"},
    {"activation active, inside", ELIG, PERMANENT, ACT_ACTIVE, 1 * H, 3 * H,
	2 * H, PIM_OK, 3 * H, NULL},
    {"activation active, at its start", ELIG, PERMANENT, ACT_ACTIVE, 1 * H,
	3 * H, 1 * H, PIM_OK, 3 * H, NULL},
    {"activation active, before its start", ELIG, PERMANENT, ACT_ACTIVE, 1 * H,
	3 * H, H / 2, PIM_EDENIED, 0,
	"activation 1 of role ops starts at 2027-01-15T09:00:00Z"},
    {"activation active, end passed (not yet expired in the store)", ELIG,
	PERMANENT, ACT_ACTIVE, 1 * H, 3 * H, 3 * H, PIM_EDENIED, 0,
	"activation 1 of role ops expired at 2027-01-15T11:00:00Z; run "
	"'activate ops'"},
    {"activation expired", ELIG, PERMANENT, ACT_EXPIRED, 1 * H, 3 * H, 2 * H,
	PIM_EDENIED, 0,
	"activation 1 of role ops expired at 2027-01-15T11:00:00Z"},
    {"activation revoked", ELIG, PERMANENT, ACT_REVOKED, 1 * H, 3 * H, 2 * H,
	PIM_EDENIED, 0, "activation 1 was revoked"},
    {"activation deactivated", ELIG, PERMANENT, ACT_DEACTIVATED, 1 * H, 3 * H,
	2 * H, PIM_EDENIED, 0,
	"activation 1 of role ops was deactivated; run 'activate ops'"},
    {"activation denied", ELIG, PERMANENT, ACT_DENIED, 1 * H, 3 * H, 2 * H,
	PIM_EDENIED, 0, "activation 1 of role ops was denied"},
    {"activation cancelled", ELIG, PERMANENT, ACT_CANCELLED, 1 * H, 3 * H,
	2 * H, PIM_EDENIED, 0, NOT_ACTIVATED},

    /* The deadline is the earliest of activation end, assignment end and
     * start + the role's maximum session (8h). */
    {"deadline: time-bound eligible ends first", ELIG, BOUNDED, ACT_ACTIVE,
	4 * H, 7 * H, 4 * H + H / 2, PIM_OK, 5 * H, NULL},
    {"deadline: activation ends first", ELIG, BOUNDED, ACT_ACTIVE, 2 * H, 4 * H,
	3 * H, PIM_OK, 4 * H, NULL},
    {"deadline: maximum session ends first", ELIG, PERMANENT, ACT_ACTIVE, 0,
	10 * H, 1 * H, PIM_OK, 9 * H, NULL},
    {"activation outlives its time-bound eligibility", ELIG, BOUNDED,
	ACT_ACTIVE, 4 * H, 7 * H, 5 * H + H / 2, PIM_EDENIED, 0, ENDED},
    {"activation without any eligible assignment", 0, PERMANENT, ACT_ACTIVE,
	1 * H, 3 * H, 2 * H, PIM_EDENIED, 0,
	"no role grants alice access to target db1"},
    {"activation under an active assignment only", ACTV, BOUNDED, ACT_ACTIVE,
	5 * H, 7 * H, 6 * H, PIM_EDENIED, 0, ENDED},
    {"nothing held", 0, PERMANENT, 0, 0, 0, 2 * H, PIM_EDENIED, 0,
	"no role grants alice access to target db1"},
};

static void
admit_case_setup(struct fx *f, const struct admit_case *c)
{
	int64_t start = c->window == BOUNDED ? W_START : 0;
	int64_t end = c->window == BOUNDED ? W_END : 0;

	if (c->kind != 0)
		fx_assign(f, f->alice, f->ops, c->kind, start, end);
	if (c->act != 0)
		fx_activation(f, f->alice, f->ops, c->act, T0 + c->act_start,
		    T0 + c->act_end);
}

static void
admit_case_check(struct fx *f, const struct admit_case *c)
{
	char reason[POLICY_REASON_MAX] = "";
	struct admission adm;
	int rc;

	rc = policy_admit(
	    f->st, "alice", "db1", T0 + c->now, &adm, reason, sizeof(reason));
	if (rc != c->want)
		fail_msg("%s: returned %d (%s), want %d", c->name, rc, reason,
		    c->want);
	if (rc != PIM_OK) {
		if (strstr(reason, c->reason) == NULL)
			fail_msg("%s: reason \"%s\", want \"%s\"", c->name,
			    reason, c->reason);
		if (strchr(reason, '\n') != NULL || adm.role_id != 0)
			fail_msg("%s: bad refusal", c->name);
		return;
	}
	if (adm.deadline != T0 + c->deadline)
		fail_msg("%s: deadline T0%+lld, want T0%+lld", c->name,
		    (long long)(adm.deadline - T0), (long long)c->deadline);
	if (adm.user_id != f->alice || adm.target_id != f->db1 ||
	    adm.role_id != f->ops || strcmp(adm.role, "ops") != 0)
		fail_msg("%s: wrong admission", c->name);
	if ((c->act == 0) != (adm.activation_id == 0) ||
	    (c->act == 0) != (adm.assignment_id != 0))
		fail_msg("%s: admitted by the wrong grant", c->name);
}

static void
test_admit_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(admit_cases) / sizeof(admit_cases[0]); i++) {
		void *fx = NULL;

		setup(&fx);
		admit_case_setup(fx, &admit_cases[i]);
		admit_case_check(fx, &admit_cases[i]);
		teardown(&fx);
	}
}

/* ---- refusals that do not depend on windows ---- */

static void
expect_denied(
    struct fx *f, const char *user, const char *target, const char *want)
{
	char reason[POLICY_REASON_MAX] = "";
	struct admission adm;

	assert_int_equal(
	    policy_admit(f->st, user, target, T0, &adm, reason, sizeof(reason)),
	    PIM_EDENIED);
	assert_string_equal(reason, want);
	assert_int_equal(adm.deadline, 0);
}

static void
test_admit_refusals(void **state)
{
	struct fx *f = *state;

	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	fx_assign(f, f->carol, f->ops, ASSIGN_ACTIVE, 0, 0);

	expect_denied(f, "carol", "db1", "user carol is disabled");
	expect_denied(f, "zed", "db1", "no user named zed");
	expect_denied(f, "alice", "nope", "no target named nope");
	expect_denied(
	    f, "alice", "host1", "no role grants alice access to target host1");
	expect_denied(f, "alice", "lonely",
	    "no role grants alice access to target lonely");

	/* Re-enabling carol restores access. */
	assert_int_equal(store_user_set_enabled(f->st, "carol", true), PIM_OK);
	{
		char reason[POLICY_REASON_MAX];
		struct admission adm;

		assert_int_equal(policy_admit(f->st, "carol", "db1", T0, &adm,
				     reason, sizeof(reason)),
		    PIM_OK);
	}
}

/* Several grants: the latest deadline wins, and carries its role. */
static void
test_admit_latest_deadline(void **state)
{
	struct fx *f = *state;
	char reason[POLICY_REASON_MAX];
	struct admission adm;
	int64_t dba, act;

	dba = fx_assign(f, f->alice, f->dba, ASSIGN_ACTIVE, 0, 0);
	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE, 0, 0);
	act = fx_activation(f, f->alice, f->ops, ACT_ACTIVE, T0, T0 + 3 * H);

	/* dba: now + 2h (max session); ops activation: T0 + 3h. */
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0, &adm, reason,
			     sizeof(reason)),
	    PIM_OK);
	assert_int_equal(adm.role_id, f->ops);
	assert_string_equal(adm.role, "ops");
	assert_int_equal(adm.activation_id, act);
	assert_int_equal(adm.assignment_id, 0);
	assert_int_equal(adm.deadline, T0 + 3 * H);
	assert_int_equal(adm.idle_timeout, 900);
	assert_int_equal(adm.channels, CHANNEL_DEFAULT);

	/* Later, dba's rolling two hours outlast the activation. */
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0 + 2 * H, &adm,
			     reason, sizeof(reason)),
	    PIM_OK);
	assert_int_equal(adm.role_id, f->dba);
	assert_int_equal(adm.assignment_id, dba);
	assert_int_equal(adm.activation_id, 0);
	assert_int_equal(adm.deadline, T0 + 4 * H);
}

/* ---- warning times ---- */

static void
test_warn_parse(void **state)
{
	int64_t w[POLICY_NWARN_MAX];
	char buf[64];
	int n = -1;

	(void)state;
	assert_int_equal(policy_warn_parse("300,60", w, &n), PIM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(w[0], 300);
	assert_int_equal(w[1], 60);
	/* Any order in, largest first out; a repeat counts once. */
	assert_int_equal(policy_warn_parse("30,900,30,120", w, &n), PIM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(w[0], 900);
	assert_int_equal(w[1], 120);
	assert_int_equal(w[2], 30);
	assert_true(policy_warn_format(w, n, buf, sizeof(buf)));
	assert_string_equal(buf, "900,120,30");
	assert_int_equal(policy_warn_parse("none", w, &n), PIM_OK);
	assert_int_equal(n, 0);
	assert_true(policy_warn_format(w, n, buf, sizeof(buf)));
	assert_string_equal(buf, "none");
	assert_int_equal(policy_warn_parse("", w, &n), PIM_OK);
	assert_int_equal(n, 0);
	assert_int_equal(policy_warn_parse("4,3,2,1", w, &n), PIM_OK);
	assert_int_equal(n, 4);
	assert_false(policy_warn_format(w, n, buf, 4));

	static const char *const bad[] = {"0", "-5", "5m", "60,", ",60",
	    "60,,30", " 60", "60 ", "5,4,3,2,1", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = -1;
		assert_int_equal(policy_warn_parse(bad[i], w, &n), PIM_EINVAL);
		assert_int_equal(n, 0);
	}
}

/* The admission carries the role's warning times, and a re-check picks
 * up a change of them. */
static void
test_admit_warnings(void **state)
{
	struct fx *f = *state;
	char reason[POLICY_REASON_MAX];
	struct admission adm, next;
	const char *end_reason = NULL;
	struct store_role r;

	fx_assign(f, f->alice, f->dba, ASSIGN_ACTIVE, 0, 0);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0, &adm, reason,
			     sizeof(reason)),
	    PIM_OK);
	/* Roles stored without a setting get the default 5 and 1 minute. */
	assert_int_equal(adm.nwarn, 2);
	assert_int_equal(adm.warn_before[0], 300);
	assert_int_equal(adm.warn_before[1], 60);

	assert_int_equal(store_role_get(f->st, "dba", &r), PIM_OK);
	snprintf(r.warn_before, sizeof(r.warn_before), "30,90");
	assert_int_equal(store_role_update(f->st, &r), PIM_OK);
	assert_int_equal(policy_recheck(f->st, &adm, T0, T0 + 60, &next,
			     &end_reason, reason, sizeof(reason)),
	    PIM_OK);
	assert_int_equal(next.nwarn, 2);
	assert_int_equal(next.warn_before[0], 90);
	assert_int_equal(next.warn_before[1], 30);

	snprintf(r.warn_before, sizeof(r.warn_before), "none");
	assert_int_equal(store_role_update(f->st, &r), PIM_OK);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0, &adm, reason,
			     sizeof(reason)),
	    PIM_OK);
	assert_int_equal(adm.nwarn, 0);

	/* A stored list that does not parse warns as the default does. */
	snprintf(r.warn_before, sizeof(r.warn_before), "soon");
	assert_int_equal(store_role_update(f->st, &r), PIM_OK);
	assert_int_equal(policy_admit(f->st, "alice", "db1", T0, &adm, reason,
			     sizeof(reason)),
	    PIM_OK);
	assert_int_equal(adm.nwarn, 2);
	assert_int_equal(adm.warn_before[0], 300);
}

/* ---- re-checks of a live session ---- */

static void
admit_ok(struct fx *f, int64_t now, struct admission *adm)
{
	char reason[POLICY_REASON_MAX] = "";

	if (policy_admit(f->st, "alice", "db1", now, adm, reason,
		sizeof(reason)) != PIM_OK)
		fail_msg("admission refused: %s", reason);
}

static void
expect_recheck_end(struct fx *f, const struct admission *cur, int64_t start,
    int64_t now, const char *end_reason, const char *want)
{
	char reason[POLICY_REASON_MAX] = "";
	const char *why = NULL;
	struct admission next;

	assert_int_equal(policy_recheck(f->st, cur, start, now, &next, &why,
			     reason, sizeof(reason)),
	    PIM_EDENIED);
	assert_non_null(why);
	assert_string_equal(why, end_reason);
	if (strstr(reason, want) == NULL)
		fail_msg("reason \"%s\", want \"%s\"", reason, want);
}

static int64_t
recheck_deadline(
    struct fx *f, const struct admission *cur, int64_t start, int64_t now)
{
	char reason[POLICY_REASON_MAX] = "";
	const char *why = NULL;
	struct admission next;

	if (policy_recheck(f->st, cur, start, now, &next, &why, reason,
		sizeof(reason)) != PIM_OK)
		fail_msg("recheck refused: %s", reason);
	assert_null(why);
	assert_int_equal(next.activation_id, cur->activation_id);
	assert_int_equal(next.assignment_id, cur->assignment_id);
	return next.deadline;
}

/* Alice activates ops at T0 for 2h and is admitted. */
static int64_t
activated(struct fx *f, struct admission *adm)
{
	char reason[POLICY_REASON_MAX] = "";
	int64_t id = 0;

	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE, 0, 0);
	assert_int_equal(
	    policy_activate(f->st, "alice", "ops", T0, 2 * H,
		"care plan update", NULL, &id, reason, sizeof(reason)),
	    PIM_OK);
	admit_ok(f, T0, adm);
	assert_int_equal(adm->activation_id, id);
	assert_int_equal(adm->deadline, T0 + 2 * H);
	return id;
}

static void
test_recheck_activation(void **state)
{
	struct fx *f = *state;
	struct admission adm;
	int64_t id = activated(f, &adm);

	/* Unchanged: same deadline; past the end: expired. */
	assert_int_equal(recheck_deadline(f, &adm, T0, T0 + 60), T0 + 2 * H);
	expect_recheck_end(f, &adm, T0, T0 + 2 * H, "expired",
	    "activation 1 of role ops expired at 2027-01-15T10:00:00Z");

	/* Extended: the new end is the deadline, until max session. */
	assert_int_equal(
	    store_activation_set_end(f->st, id, T0 + 3 * H), PIM_OK);
	assert_int_equal(recheck_deadline(f, &adm, T0, T0 + 2 * H), T0 + 3 * H);
	assert_int_equal(
	    store_activation_set_end(f->st, id, T0 + 12 * H), PIM_OK);
	assert_int_equal(recheck_deadline(f, &adm, T0, T0 + 2 * H), T0 + 8 * H);
	expect_recheck_end(f, &adm, T0, T0 + 8 * H, "expired",
	    "the session reached the 8h limit of role ops");

	/* Revoked by an admin. */
	assert_int_equal(store_activation_transition(
			     f->st, id, ACT_ACTIVE, ACT_REVOKED, T0 + 60),
	    PIM_OK);
	expect_recheck_end(
	    f, &adm, T0, T0 + 61, "revoked", "activation 1 was revoked");
}

static void
test_recheck_deactivated(void **state)
{
	struct fx *f = *state;
	struct admission adm;
	int64_t id = activated(f, &adm);

	assert_int_equal(store_activation_transition(
			     f->st, id, ACT_ACTIVE, ACT_DEACTIVATED, T0 + 60),
	    PIM_OK);
	expect_recheck_end(
	    f, &adm, T0, T0 + 61, "revoked", "activation 1 was deactivated");
}

static void
test_recheck_unassigned_eligible(void **state)
{
	struct fx *f = *state;
	struct admission adm;

	activated(f, &adm);
	assert_int_equal(
	    store_assignment_remove(f->st, f->alice, f->ops), PIM_OK);
	expect_recheck_end(f, &adm, T0, T0 + 60, "revoked",
	    "alice is no longer eligible for role ops");
}

static void
test_recheck_disabled(void **state)
{
	struct fx *f = *state;
	struct admission adm;

	activated(f, &adm);
	assert_int_equal(store_user_set_enabled(f->st, "alice", false), PIM_OK);
	expect_recheck_end(
	    f, &adm, T0, T0 + 60, "revoked", "user alice is disabled");
}

static void
test_recheck_assignment(void **state)
{
	struct fx *f = *state;
	struct admission adm;

	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, T0 + 3 * H);
	admit_ok(f, T0, &adm);
	assert_true(adm.assignment_id != 0);
	assert_int_equal(adm.deadline, T0 + 3 * H);
	assert_int_equal(recheck_deadline(f, &adm, T0, T0 + H), T0 + 3 * H);
	expect_recheck_end(f, &adm, T0, T0 + 3 * H, "expired",
	    "assignment of role ops to alice ended at 2027-01-15T11:00:00Z");

	/* Removed, even if a new assignment takes its place. */
	assert_int_equal(
	    store_assignment_remove(f->st, f->alice, f->ops), PIM_OK);
	expect_recheck_end(f, &adm, T0, T0 + H, "revoked",
	    "assignment of role ops to alice was removed");
	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	expect_recheck_end(f, &adm, T0, T0 + H, "revoked",
	    "assignment of role ops to alice was removed");
}

static void
test_recheck_max_session(void **state)
{
	struct fx *f = *state;
	struct admission adm;

	fx_assign(f, f->alice, f->dba, ASSIGN_ACTIVE, 0, 0);
	admit_ok(f, T0, &adm);
	assert_int_equal(adm.deadline, T0 + 2 * H);
	/* The session's start, not now, bounds it. */
	assert_int_equal(recheck_deadline(f, &adm, T0, T0 + H), T0 + 2 * H);
	expect_recheck_end(f, &adm, T0, T0 + 2 * H, "expired",
	    "the session reached the 2h limit of role dba");
}

/* ---- activating ---- */

static int
activate(struct fx *f, const char *user, const char *role, int64_t now,
    int64_t duration, const char *why, char *reason, int64_t *id)
{
	return policy_activate(f->st, user, role, now, duration, why, "alice",
	    id, reason, POLICY_REASON_MAX);
}

static void
expect_activate_refused(struct fx *f, const char *user, int64_t now,
    int64_t duration, const char *why, int want_rc, const char *want)
{
	char reason[POLICY_REASON_MAX] = "";
	int64_t id = -1;

	assert_int_equal(
	    activate(f, user, "ops", now, duration, why, reason, &id), want_rc);
	if (strstr(reason, want) == NULL)
		fail_msg("reason \"%s\", want \"%s\"", reason, want);
	assert_int_equal(id, -1);
}

static void
test_activate(void **state)
{
	struct fx *f = *state;
	char reason[POLICY_REASON_MAX] = "";
	struct store_activation a;
	struct admission adm;
	int64_t id = 0;

	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE, 0, 0);
	assert_int_equal(
	    policy_activate(f->st, "alice", "ops", T0, 4 * H,
		"care plan update", NULL, &id, reason, sizeof(reason)),
	    PIM_OK);
	assert_int_equal(store_activation_get(f->st, id, &a), PIM_OK);
	assert_int_equal(a.state, ACT_ACTIVE);
	assert_int_equal(a.start, T0);
	assert_int_equal(a.end, T0 + 4 * H);
	assert_string_equal(a.reason, "care plan update");
	assert_string_equal(a.requested_by, "alice");
	assert_int_equal(a.created, T0);
	admit_ok(f, T0 + H, &adm);
	assert_int_equal(adm.activation_id, id);

	/* One live activation per role. */
	expect_activate_refused(f, "alice", T0 + H, H, "again", PIM_EDENIED,
	    "role ops is already active until 2027-01-15T12:00:00Z "
	    "(activation 1)");
	/* After it ends, a new one is fine. */
	assert_int_equal(
	    activate(f, "alice", "ops", T0 + 4 * H, H, "more", reason, &id),
	    PIM_OK);
	assert_int_equal(id, 2);
}

static void
test_activate_refusals(void **state)
{
	struct fx *f = *state;

	expect_activate_refused(f, "alice", T0, H, "why", PIM_EDENIED,
	    "alice is not eligible for role ops");
	/* An active assignment is not an eligible one. */
	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	expect_activate_refused(f, "alice", T0, H, "why", PIM_EDENIED,
	    "alice is not eligible for role ops");

	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE, W_START, W_END);
	expect_activate_refused(f, "alice", T0, H, "why", PIM_EDENIED,
	    "alice is eligible for role ops only from 2027-01-15T09:00:00Z");
	expect_activate_refused(f, "alice", T0 + 6 * H, H, "why", PIM_EDENIED,
	    "alice's eligibility for role ops ended at 2027-01-15T13:00:00Z");
	expect_activate_refused(f, "alice", W_START, 4 * H + 1, "why",
	    PIM_EDENIED, "role ops allows at most 4h per activation");
	expect_activate_refused(f, "alice", W_START, 0, "why", PIM_EDENIED,
	    "the duration must be positive");
	expect_activate_refused(
	    f, "alice", W_START, H, "", PIM_EDENIED, "a reason is required");
	expect_activate_refused(f, "alice", W_START, H, " \t ", PIM_EDENIED,
	    "a reason is required");
	expect_activate_refused(
	    f, "alice", W_START, H, NULL, PIM_EDENIED, "a reason is required");
	expect_activate_refused(
	    f, "zed", W_START, H, "why", PIM_ENOTFOUND, "no user named zed");
	expect_activate_refused(f, "carol", W_START, H, "why", PIM_EDENIED,
	    "user carol is disabled");
	{
		char reason[POLICY_REASON_MAX] = "";
		int64_t id = -1;

		assert_int_equal(activate(f, "alice", "nope", W_START, H, "why",
				     reason, &id),
		    PIM_ENOTFOUND);
		assert_string_equal(reason, "no role named nope");
	}
}

/* A time-bound eligibility clips the activation's window. */
static void
test_activate_clipped(void **state)
{
	struct fx *f = *state;
	char reason[POLICY_REASON_MAX] = "";
	struct store_activation a;
	struct admission adm;
	int64_t id = 0;

	fx_assign(f, f->alice, f->ops, ASSIGN_ELIGIBLE, W_START, W_END);
	assert_int_equal(
	    activate(f, "alice", "ops", W_END - H, 2 * H, "why", reason, &id),
	    PIM_OK);
	assert_int_equal(store_activation_get(f->st, id, &a), PIM_OK);
	assert_int_equal(a.start, W_END - H);
	assert_int_equal(a.end, W_END);
	admit_ok(f, W_END - H, &adm);
	assert_int_equal(adm.deadline, W_END);
}

static void
test_activation_state(void **state)
{
	struct store_activation a = {0};

	a.state = ACT_ACTIVE;
	a.start = T0;
	a.end = T0 + H;
	assert_int_equal(policy_activation_state(&a, T0), ACT_ACTIVE);
	assert_int_equal(policy_activation_state(&a, T0 + H - 1), ACT_ACTIVE);
	assert_int_equal(policy_activation_state(&a, T0 + H), ACT_EXPIRED);
	a.state = ACT_PENDING;
	assert_int_equal(policy_activation_state(&a, T0 + 2 * H), ACT_PENDING);
	a.state = ACT_REVOKED;
	assert_int_equal(policy_activation_state(&a, T0), ACT_REVOKED);
}

/* ---- passwords ---- */

static void
test_password(void **state)
{
	char h1[128], h2[128], small[16];

	assert_int_equal(
	    policy_password_hash("correct horse", h1, sizeof(h1)), PIM_OK);
	assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_int_equal(policy_password_verify(h1, "correct horse"), PIM_OK);
	assert_int_equal(
	    policy_password_verify(h1, "correct horse!"), PIM_EDENIED);
	assert_int_equal(policy_password_verify(h1, ""), PIM_EDENIED);

	/* A fresh salt every time. */
	assert_int_equal(
	    policy_password_hash("correct horse", h2, sizeof(h2)), PIM_OK);
	assert_string_not_equal(h1, h2);

	assert_int_equal(
	    policy_password_hash("x", small, sizeof(small)), PIM_ERR);
	assert_int_equal(
	    policy_password_verify("not a hash", "x"), PIM_EDENIED);
	assert_int_equal(policy_password_verify(NULL, "x"), PIM_EDENIED);
	/* Another Argon2 variant is not accepted. */
	h1[7] = ' ';
	assert_int_equal(
	    policy_password_verify(h1, "correct horse"), PIM_EDENIED);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admit_table),
	    FX_TEST(test_admit_refusals),
	    FX_TEST(test_admit_latest_deadline),
	    cmocka_unit_test(test_warn_parse),
	    FX_TEST(test_admit_warnings),
	    FX_TEST(test_recheck_activation),
	    FX_TEST(test_recheck_deactivated),
	    FX_TEST(test_recheck_unassigned_eligible),
	    FX_TEST(test_recheck_disabled),
	    FX_TEST(test_recheck_assignment),
	    FX_TEST(test_recheck_max_session),
	    FX_TEST(test_activate),
	    FX_TEST(test_activate_refusals),
	    FX_TEST(test_activate_clipped),
	    cmocka_unit_test(test_activation_state),
	    cmocka_unit_test(test_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
