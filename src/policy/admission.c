/* The admission rule (PRODUCT.md): USER may reach TARGET now only if the
 * user is enabled, a role grants the target, and the user holds an active
 * assignment of that role whose window contains now, or an activation of
 * it in state active whose window contains now (backed by an eligible
 * assignment that still holds). Among several grants the latest deadline
 * wins. Everything else is refused with the most useful reason found. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "policy_int.h"

/* Roles granting one target. */
struct policy_roles {
	struct store_role *v;
	size_t n;
	size_t cap;
};

/* The best grant found so far. */
struct policy_pick {
	const struct store_role *role;
	int64_t assignment_id;
	int64_t activation_id;
	int64_t deadline;
};

/* Why nothing admitted: the most useful reason wins (higher rank). */
struct policy_hint {
	int rank;
	char text[POLICY_REASON_MAX];
};

enum {
	HINT_ENDED = 1, /* an assignment's window is over */
	HINT_NOT_YET, /* an assignment's window has not begun */
	HINT_PAST_ACT, /* an activation ended, no eligibility left */
	HINT_ELIGIBLE, /* eligible now: activate */
	HINT_PENDING, /* waiting for approval */
};

enum store_act_state
policy_activation_state(const struct store_activation *a, int64_t now)
{
	if (a->state == ACT_ACTIVE && now >= a->end)
		return ACT_EXPIRED;
	return a->state;
}

static int
policy_roles_add(const struct store_role *r, void *arg)
{
	struct policy_roles *rs = arg;
	void *arr = rs->v;
	int rc;

	rc = policy_grow(&arr, &rs->cap, rs->n, sizeof(*r));
	rs->v = arr;
	if (rc != PIM_OK)
		return rc;
	rs->v[rs->n++] = *r;
	return 0;
}

static void policy_hint_set(struct policy_hint *h, int rank, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
policy_hint_set(struct policy_hint *h, int rank, const char *fmt, ...)
{
	va_list ap;

	if (rank <= h->rank)
		return;
	h->rank = rank;
	va_start(ap, fmt);
	vsnprintf(h->text, sizeof(h->text), fmt, ap);
	va_end(ap);
}

static void
policy_pick_offer(struct policy_pick *p, const struct store_role *r,
    int64_t assignment_id, int64_t activation_id, int64_t deadline)
{
	if (p->role != NULL && deadline <= p->deadline)
		return;
	p->role = r;
	p->assignment_id = assignment_id;
	p->activation_id = activation_id;
	p->deadline = deadline;
}

static bool
policy_act_live(const struct store_activation *x, int64_t now)
{
	return policy_activation_state(x, now) == ACT_ACTIVE &&
	       x->start <= now && now < x->end;
}

/* Deadline of a session started at START under active assignment A. */
static int64_t
policy_assign_deadline(
    const struct store_assignment *a, const struct store_role *r, int64_t start)
{
	return policy_min_bound(a->end, start + r->max_session);
}

/* Deadline under activation X, backed by eligible assignment E. */
static int64_t
policy_act_deadline(const struct store_activation *x,
    const struct store_assignment *e, const struct store_role *r, int64_t start)
{
	int64_t d = policy_min_bound(e->end, start + r->max_session);

	return x->end < d ? x->end : d;
}

/* Offers every grant the user holds of role R to PICK. */
static void
policy_admit_role(const struct policy_held *h, const struct store_role *r,
    int64_t now, struct policy_pick *pick)
{
	const struct store_assignment *a, *e;
	const struct store_activation *x;
	size_t i;

	a = policy_held_assignment(h, r->id, ASSIGN_ACTIVE, now);
	if (a != NULL)
		policy_pick_offer(
		    pick, r, a->id, 0, policy_assign_deadline(a, r, now));

	e = policy_held_assignment(h, r->id, ASSIGN_ELIGIBLE, now);
	for (i = 0; e != NULL && i < h->nacts; i++) {
		x = &h->acts[i];
		if (x->role_id == r->id && policy_act_live(x, now))
			policy_pick_offer(pick, r, 0, x->id,
			    policy_act_deadline(x, e, r, now));
	}
}

/* Explains activation X of R when it did not admit; SUFFIX is appended
 * where activating again would help. False if X says nothing useful. */
static bool
policy_hint_activation(const struct store_activation *x,
    const struct store_role *r, int64_t now, const char *suffix, int rank,
    struct policy_hint *h)
{
	long long id = (long long)x->id;
	char when[32];

	switch (policy_activation_state(x, now)) {
	case ACT_PENDING:
		policy_hint_set(h, HINT_PENDING,
		    "activation %lld of role %s is awaiting approval", id,
		    r->name);
		return true;
	case ACT_EXPIRED:
		policy_hint_set(h, rank,
		    "activation %lld of role %s expired at %s%s", id, r->name,
		    policy_instant(x->end, when, sizeof(when)), suffix);
		return true;
	case ACT_REVOKED:
		policy_hint_set(h, rank, "activation %lld was revoked", id);
		return true;
	case ACT_DEACTIVATED:
		policy_hint_set(h, rank,
		    "activation %lld of role %s was deactivated%s", id, r->name,
		    suffix);
		return true;
	case ACT_DENIED:
		policy_hint_set(h, rank,
		    "activation %lld of role %s was denied", id, r->name);
		return true;
	case ACT_ACTIVE:
		if (now >= x->start)
			return false;
		policy_hint_set(h, rank,
		    "activation %lld of role %s starts at %s", id, r->name,
		    policy_instant(x->start, when, sizeof(when)));
		return true;
	default:
		return false;
	}
}

/* Explains assignment windows of R that do not contain NOW. */
static void
policy_hint_windows(const struct policy_held *h, const struct store_role *r,
    const char *user, int64_t now, struct policy_hint *hint)
{
	const struct store_assignment *a;
	char when[32];
	size_t i;

	for (i = 0; i < h->nassigns; i++) {
		a = &h->assigns[i];
		if (a->role_id != r->id)
			continue;
		if (a->start > now)
			policy_hint_set(hint, HINT_NOT_YET,
			    "assignment of role %s to %s starts at %s", r->name,
			    user, policy_instant(a->start, when, sizeof(when)));
		else if (a->end != 0 && a->end <= now)
			policy_hint_set(hint, HINT_ENDED,
			    "assignment of role %s to %s ended at %s", r->name,
			    user, policy_instant(a->end, when, sizeof(when)));
	}
}

static void
policy_hint_role(const struct policy_held *h, const struct store_role *r,
    const char *user, int64_t now, struct policy_hint *hint)
{
	const struct store_activation *x = policy_held_latest(h, r->id);
	char suffix[STORE_NAME_MAX + 32];

	if (policy_held_assignment(h, r->id, ASSIGN_ELIGIBLE, now) == NULL) {
		if (x != NULL)
			policy_hint_activation(
			    x, r, now, "", HINT_PAST_ACT, hint);
		policy_hint_windows(h, r, user, now, hint);
		return;
	}
	snprintf(suffix, sizeof(suffix), "; run 'activate %s'", r->name);
	if (x == NULL ||
	    !policy_hint_activation(x, r, now, suffix, HINT_ELIGIBLE, hint))
		policy_hint_set(hint, HINT_ELIGIBLE,
		    "role %s is eligible but not activated: run 'activate %s'",
		    r->name, r->name);
}

/* The warning times of role R into OUT; a stored list that does not
 * parse gives the default 5 and 1 minute rather than none. */
static void
policy_admission_warn(struct admission *out, const struct store_role *r)
{
	if (policy_warn_parse(r->warn_before, out->warn_before, &out->nwarn) ==
	    PIM_OK)
		return;
	out->warn_before[0] = 300;
	out->warn_before[1] = 60;
	out->nwarn = 2;
}

static void
policy_admission_fill(struct admission *out, const struct store_user *u,
    const struct store_target *t, const struct policy_pick *p)
{
	memset(out, 0, sizeof(*out));
	out->user_id = u->id;
	out->target_id = t->id;
	out->role_id = p->role->id;
	snprintf(out->role, sizeof(out->role), "%s", p->role->name);
	out->assignment_id = p->assignment_id;
	out->activation_id = p->activation_id;
	out->deadline = p->deadline;
	out->idle_timeout = p->role->idle_timeout;
	out->channels = p->role->channels;
	policy_admission_warn(out, p->role);
}

static int
policy_admit_decide(const struct policy_roles *roles,
    const struct policy_held *h, const struct store_user *u,
    const struct store_target *t, int64_t now, struct admission *out,
    char *reason, size_t rlen)
{
	struct policy_pick pick = {0};
	struct policy_hint hint = {0};
	size_t i;

	for (i = 0; i < roles->n; i++)
		policy_admit_role(h, &roles->v[i], now, &pick);
	if (pick.role != NULL) {
		policy_admission_fill(out, u, t, &pick);
		return PIM_OK;
	}

	for (i = 0; i < roles->n; i++)
		policy_hint_role(h, &roles->v[i], u->name, now, &hint);
	if (hint.rank > 0)
		return policy_refuse(reason, rlen, "%s", hint.text);
	return policy_refuse(reason, rlen,
	    "no role grants %s access to target %s", u->name, t->name);
}

/* Loads the roles granting T and what user U holds. */
static int
policy_admit_load(struct store *st, const struct store_user *u,
    const struct store_target *t, struct policy_roles *roles,
    struct policy_held *h)
{
	int r;

	r = store_roles_granting(st, t->id, policy_roles_add, roles);
	if (r == PIM_OK)
		r = policy_held_load_assignments(st, u->id, h);
	if (r == PIM_OK)
		r = policy_held_load_activations(st, u->id, h);
	return r;
}

int
policy_admit(struct store *st, const char *user, const char *target,
    int64_t now, struct admission *out, char *reason, size_t rlen)
{
	struct policy_roles roles = {0};
	struct policy_held held = {0};
	struct store_target t;
	struct store_user u;
	int r;

	memset(out, 0, sizeof(*out));
	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	r = policy_user_enabled(st, user, &u, reason, rlen);
	if (r != PIM_OK)
		return r == PIM_ENOTFOUND ? PIM_EDENIED : r;
	r = store_target_get(st, target, &t);
	if (r == PIM_ENOTFOUND)
		return policy_refuse(
		    reason, rlen, "no target named %s", target);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);

	r = policy_admit_load(st, &u, &t, &roles, &held);
	if (r == PIM_OK)
		r = policy_admit_decide(
		    &roles, &held, &u, &t, now, out, reason, rlen);
	else
		r = policy_store_fail(st, r, reason, rlen);
	free(roles.v);
	policy_held_free(&held);
	return r;
}

/* ---- re-checking a live session ---- */

static const char policy_revoked[] = "revoked";
static const char policy_expired[] = "expired";

/* Where a re-check's verdict goes. */
struct policy_verdict {
	const char **end_reason;
	char *reason;
	size_t rlen;
};

static int policy_end(struct policy_verdict *v, const char *why,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
policy_end(struct policy_verdict *v, const char *why, const char *fmt, ...)
{
	va_list ap;

	*v->end_reason = why;
	if (v->reason != NULL && v->rlen > 0) {
		va_start(ap, fmt);
		vsnprintf(v->reason, v->rlen, fmt, ap);
		va_end(ap);
	}
	return PIM_EDENIED;
}

static const struct store_role *
policy_roles_find(const struct policy_roles *roles, int64_t role_id)
{
	size_t i;

	for (i = 0; i < roles->n; i++)
		if (roles->v[i].id == role_id)
			return &roles->v[i];
	return NULL;
}

static int
policy_recheck_user(struct store *st, int64_t user_id, struct store_user *u,
    struct policy_verdict *v)
{
	int r = store_user_get_by_id(st, user_id, u);

	if (r == PIM_ENOTFOUND)
		return policy_end(
		    v, policy_revoked, "the user no longer exists");
	if (r != PIM_OK)
		return policy_store_fail(st, r, v->reason, v->rlen);
	if (!u->enabled)
		return policy_end(
		    v, policy_revoked, "user %s is disabled", u->name);
	return PIM_OK;
}

/* The eligibility behind an activation is gone: over, or removed. */
static int
policy_recheck_lost(const struct policy_held *h, const struct store_role *r,
    const char *user, int64_t now, struct policy_verdict *v)
{
	const struct store_assignment *a;
	char when[32];
	size_t i;

	for (i = 0; i < h->nassigns; i++) {
		a = &h->assigns[i];
		if (a->role_id == r->id && a->kind == ASSIGN_ELIGIBLE &&
		    a->end != 0 && a->end <= now)
			return policy_end(v, policy_expired,
			    "assignment of role %s to %s ended at %s", r->name,
			    user, policy_instant(a->end, when, sizeof(when)));
	}
	return policy_end(v, policy_revoked,
	    "%s is no longer eligible for role %s", user, r->name);
}

/* Activation X's own state at NOW. */
static int
policy_recheck_act_state(const struct store_activation *x,
    const struct store_role *r, int64_t now, struct policy_verdict *v)
{
	long long id = (long long)x->id;
	enum store_act_state s = policy_activation_state(x, now);
	const char *name = store_act_state_name(s);
	char when[32];

	switch (s) {
	case ACT_ACTIVE:
		if (now >= x->start)
			return PIM_OK;
		return policy_end(v, policy_revoked,
		    "activation %lld no longer covers this session", id);
	case ACT_EXPIRED:
		return policy_end(v, policy_expired,
		    "activation %lld of role %s expired at %s", id, r->name,
		    policy_instant(x->end, when, sizeof(when)));
	default:
		return policy_end(v, policy_revoked, "activation %lld was %s",
		    id, name != NULL ? name : "ended");
	}
}

static int
policy_recheck_act(struct store *st, const struct admission *cur,
    const struct policy_held *h, const struct store_role *r,
    const struct store_user *u, int64_t start, int64_t now, int64_t *deadline,
    struct policy_verdict *v)
{
	const struct store_assignment *e;
	struct store_activation x;
	int rc;

	rc = store_activation_get(st, cur->activation_id, &x);
	if (rc == PIM_ENOTFOUND)
		return policy_end(v, policy_revoked,
		    "activation %lld no longer exists",
		    (long long)cur->activation_id);
	if (rc != PIM_OK)
		return policy_store_fail(st, rc, v->reason, v->rlen);
	if (x.user_id != u->id || x.role_id != r->id)
		return policy_end(v, policy_revoked,
		    "activation %lld does not cover this session",
		    (long long)x.id);
	if ((rc = policy_recheck_act_state(&x, r, now, v)) != PIM_OK)
		return rc;

	e = policy_held_assignment(h, r->id, ASSIGN_ELIGIBLE, now);
	if (e == NULL)
		return policy_recheck_lost(h, r, u->name, now, v);
	*deadline = policy_act_deadline(&x, e, r, start);
	return PIM_OK;
}

static bool
policy_assign_matches(const struct store_assignment *a,
    const struct store_role *r, const struct store_user *u)
{
	return a->kind == ASSIGN_ACTIVE && a->role_id == r->id &&
	       a->user_id == u->id;
}

static int
policy_recheck_assign(struct store *st, const struct admission *cur,
    const struct store_role *r, const struct store_user *u, int64_t start,
    int64_t now, int64_t *deadline, struct policy_verdict *v)
{
	struct store_assignment a;
	char when[32];
	int rc;

	rc = store_assignment_get(st, cur->assignment_id, &a);
	if (rc == PIM_OK && !policy_assign_matches(&a, r, u))
		rc = PIM_ENOTFOUND;
	if (rc == PIM_ENOTFOUND)
		return policy_end(v, policy_revoked,
		    "assignment of role %s to %s was removed", r->name,
		    u->name);
	if (rc != PIM_OK)
		return policy_store_fail(st, rc, v->reason, v->rlen);
	if (a.end != 0 && now >= a.end)
		return policy_end(v, policy_expired,
		    "assignment of role %s to %s ended at %s", r->name, u->name,
		    policy_instant(a.end, when, sizeof(when)));
	if (now < a.start)
		return policy_end(v, policy_revoked,
		    "assignment of role %s to %s starts at %s", r->name,
		    u->name, policy_instant(a.start, when, sizeof(when)));
	*deadline = policy_assign_deadline(&a, r, start);
	return PIM_OK;
}

/* Checks the grant of CUR itself; sets *DEADLINE. */
static int
policy_recheck_grant(struct store *st, const struct admission *cur,
    const struct policy_roles *roles, const struct store_user *u, int64_t start,
    int64_t now, int64_t *deadline, struct policy_verdict *v)
{
	struct policy_held held = {0};
	const struct store_role *r;
	char limit[32];
	int rc;

	r = policy_roles_find(roles, cur->role_id);
	if (r == NULL)
		return policy_end(v, policy_revoked,
		    "role %s no longer grants this target", cur->role);
	rc = policy_held_load_assignments(st, u->id, &held);
	if (rc != PIM_OK)
		rc = policy_store_fail(st, rc, v->reason, v->rlen);
	else if (cur->activation_id != 0)
		rc = policy_recheck_act(
		    st, cur, &held, r, u, start, now, deadline, v);
	else
		rc = policy_recheck_assign(
		    st, cur, r, u, start, now, deadline, v);
	policy_held_free(&held);
	if (rc == PIM_OK && now >= *deadline) {
		duration_format(r->max_session, limit, sizeof(limit));
		rc = policy_end(v, policy_expired,
		    "the session reached the %s limit of role %s", limit,
		    r->name);
	}
	return rc;
}

int
policy_recheck(struct store *st, const struct admission *cur, int64_t start,
    int64_t now, struct admission *next, const char **end_reason, char *reason,
    size_t rlen)
{
	struct policy_verdict v = {end_reason, reason, rlen};
	struct policy_roles roles = {0};
	const struct store_role *r;
	struct store_user u;
	int64_t deadline = 0;
	int rc;

	*end_reason = NULL;
	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	if ((rc = policy_recheck_user(st, cur->user_id, &u, &v)) != PIM_OK)
		return rc;
	rc = store_roles_granting(st, cur->target_id, policy_roles_add, &roles);
	if (rc != PIM_OK)
		rc = policy_store_fail(st, rc, reason, rlen);
	else
		rc = policy_recheck_grant(
		    st, cur, &roles, &u, start, now, &deadline, &v);
	if (rc == PIM_OK) {
		r = policy_roles_find(&roles, cur->role_id);
		*next = *cur;
		next->deadline = deadline;
		next->idle_timeout = r->idle_timeout;
		next->channels = r->channels;
		policy_admission_warn(next, r);
	}
	free(roles.v);
	return rc;
}
