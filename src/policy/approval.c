/* Approving and denying pending activations.
 *
 * A pending request waits until its approve_by; after that the next
 * decision on it finds it expired and denies it. The requester never
 * decides on their own request; only the role's approvers (named users,
 * or holders of a named role right now) may, each once. When the number
 * of distinct approvals reaches the role's count, the request becomes
 * active, its window starting at that moment with the duration that was
 * asked for (clipped to the eligible assignment's end). One denial
 * denies it.
 *
 * Nothing here opens a transaction; the caller wraps a decision and its
 * audit event in one, and commits also when the answer is an expiry
 * (the request was moved to denied). */
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"
#include "policy_int.h"

/* Does the user hold the role named ROLE at NOW: an active assignment or
 * an active activation whose window contains NOW. */
static bool
policy_holds_role(const struct policy_held *h, const char *role, int64_t now)
{
	const struct store_assignment *a;
	const struct store_activation *x;
	size_t i;

	for (i = 0; i < h->nassigns; i++) {
		a = &h->assigns[i];
		if (a->kind == ASSIGN_ACTIVE && strcmp(a->role, role) == 0 &&
		    policy_window_holds(a->start, a->end, now))
			return true;
	}
	for (i = 0; i < h->nacts; i++) {
		x = &h->acts[i];
		if (strcmp(x->role, role) == 0 &&
		    policy_activation_state(x, now) == ACT_ACTIVE &&
		    policy_window_holds(x->start, x->end, now))
			return true;
	}
	return false;
}

/* Copies the next item of the comma list *P (blanks trimmed) into BUF
 * and moves *P past it; false when the list is done. */
static bool
policy_list_next(const char **p, char *buf, size_t size)
{
	const char *s = *p, *e;
	size_t len;

	if (*s == '\0')
		return false;
	e = s + strcspn(s, ",");
	*p = *e == ',' ? e + 1 : e;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	len = (size_t)(e - s) < size - 1 ? (size_t)(e - s) : size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

int
policy_may_approve(struct store *st, const struct store_role *role,
    const char *user, int64_t now, bool *may)
{
	struct policy_held h = {0};
	struct store_user u;
	char item[STORE_NAME_MAX];
	const char *p = role->approvers;
	int r;

	*may = false;
	r = store_user_get(st, user, &u);
	if (r == PIM_ENOTFOUND)
		return PIM_OK;
	if (r != PIM_OK)
		return PIM_ESTORE;
	if (!u.enabled)
		return PIM_OK;
	r = policy_held_load_assignments(st, u.id, &h);
	if (r == PIM_OK)
		r = policy_held_load_activations(st, u.id, &h);
	while (r == PIM_OK && !*may && policy_list_next(&p, item, sizeof(item)))
		*may = item[0] != '\0' && (strcmp(item, user) == 0 ||
					      policy_holds_role(&h, item, now));
	policy_held_free(&h);
	return r == PIM_OK ? PIM_OK : PIM_ESTORE;
}

/* What a decision is about, loaded and checked. */
struct policy_decision {
	struct store_activation act;
	struct store_role role;
};

/* Denies the request because it waited past its approve_by. */
static int
policy_decision_expired(struct store *st, const struct store_activation *a,
    int64_t now, char *reason, size_t rlen)
{
	char when[32];
	int r;

	r = store_activation_transition(
	    st, a->id, ACT_PENDING, ACT_DENIED, now);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return policy_refuse(reason, rlen,
	    "request %lld was not approved in time: the request expired at %s",
	    (long long)a->id,
	    policy_instant(a->approve_by, when, sizeof(when)));
}

static int
policy_decision_load(struct store *st, int64_t id, const char *approver,
    int64_t now, struct policy_decision *d, char *reason, size_t rlen)
{
	bool may = false;
	int r;

	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	r = store_activation_get(st, id, &d->act);
	if (r == PIM_ENOTFOUND) {
		policy_refuse(reason, rlen, "no request %lld", (long long)id);
		return PIM_ENOTFOUND;
	}
	if (r == PIM_OK)
		r = store_role_get_by_id(st, d->act.role_id, &d->role);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	if (d->act.state != ACT_PENDING)
		return policy_refuse(reason, rlen,
		    "request %lld is %s, not pending", (long long)id,
		    store_act_state_name(d->act.state));
	if (d->act.approve_by != 0 && now >= d->act.approve_by)
		return policy_decision_expired(st, &d->act, now, reason, rlen);
	if (approver == NULL || strcmp(approver, d->act.user) == 0)
		return policy_refuse(
		    reason, rlen, "you cannot approve your own request");
	if (policy_may_approve(st, &d->role, approver, now, &may) != PIM_OK)
		return policy_store_fail(st, PIM_ESTORE, reason, rlen);
	if (!may)
		return policy_refuse(reason, rlen,
		    "%s is not an approver of role %s", approver, d->role.name);
	return PIM_OK;
}

static int
policy_decision_record(struct store *st, const struct policy_decision *d,
    const char *approver, const char *decision, const char *why, int64_t now,
    char *reason, size_t rlen)
{
	struct store_approval ap = {0};
	int r;

	ap.activation_id = d->act.id;
	str_copy(ap.approver, approver, sizeof(ap.approver));
	str_copy(ap.decision, decision, sizeof(ap.decision));
	str_copy(ap.reason, why != NULL ? why : "", sizeof(ap.reason));
	ap.ts = now;
	r = store_approval_add(st, &ap);
	if (r == PIM_EEXIST)
		return policy_refuse(reason, rlen,
		    "you already approved request %lld", (long long)d->act.id);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}

static int
policy_count_approve(const struct store_approval *a, void *arg)
{
	int *n = arg;

	*n += strcmp(a->decision, "approve") == 0;
	return 0;
}

/* The end of the eligible assignment that lets the requester hold the
 * role at NOW (0 = permanent); PIM_EDENIED if there is none any more. */
static int
policy_eligible_end(struct store *st, const struct store_activation *a,
    int64_t now, int64_t *end, char *reason, size_t rlen)
{
	struct policy_held h = {0};
	const struct store_assignment *e;
	int r;

	r = policy_held_load_assignments(st, a->user_id, &h);
	if (r != PIM_OK) {
		policy_held_free(&h);
		return policy_store_fail(st, r, reason, rlen);
	}
	e = policy_held_assignment(&h, a->role_id, ASSIGN_ELIGIBLE, now);
	if (e != NULL)
		*end = e->end;
	policy_held_free(&h);
	if (e == NULL)
		return policy_refuse(reason, rlen,
		    "%s is no longer eligible for role %s", a->user, a->role);
	return PIM_OK;
}

/* Enough approvals: the window starts now (or at a later scheduled
 * start) and keeps the requested length. */
static int
policy_decision_activate(struct store *st, const struct store_activation *a,
    int64_t now, char *reason, size_t rlen)
{
	int64_t start = a->start > now ? a->start : now;
	int64_t end = 0;
	int r;

	r = policy_eligible_end(st, a, start, &end, reason, rlen);
	if (r != PIM_OK)
		return r;
	end = policy_min_bound(end, start + (a->end - a->start));
	r = store_activation_set_window(st, a->id, start, end);
	if (r == PIM_OK)
		r = store_activation_transition(
		    st, a->id, ACT_PENDING, ACT_ACTIVE, now);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}

int
policy_approve(struct store *st, int64_t id, const char *approver,
    const char *why, int64_t now, enum store_act_state *state, char *reason,
    size_t rlen)
{
	struct policy_decision d = {0};
	int n = 0, r;

	r = policy_decision_load(st, id, approver, now, &d, reason, rlen);
	if (r == PIM_OK)
		r = policy_decision_record(
		    st, &d, approver, "approve", why, now, reason, rlen);
	if (r == PIM_OK) {
		r = store_approval_list(st, id, policy_count_approve, &n);
		if (r != PIM_OK)
			r = policy_store_fail(st, r, reason, rlen);
	}
	if (r == PIM_OK && n >= d.role.approvals)
		r = policy_decision_activate(st, &d.act, now, reason, rlen);
	if (state != NULL) {
		enum store_act_state s = d.act.state;

		if (r == PIM_OK)
			s = n >= d.role.approvals ? ACT_ACTIVE : ACT_PENDING;
		else if (s == ACT_PENDING && d.act.approve_by != 0 &&
			 now >= d.act.approve_by)
			s = ACT_DENIED;
		*state = s;
	}
	return r;
}

int
policy_deny(struct store *st, int64_t id, const char *approver, const char *why,
    int64_t now, char *reason, size_t rlen)
{
	struct policy_decision d = {0};
	int r;

	r = policy_decision_load(st, id, approver, now, &d, reason, rlen);
	if (r == PIM_OK)
		r = policy_decision_record(
		    st, &d, approver, "deny", why, now, reason, rlen);
	if (r == PIM_OK) {
		r = store_activation_transition(
		    st, id, ACT_PENDING, ACT_DENIED, now);
		if (r != PIM_OK)
			r = policy_store_fail(st, r, reason, rlen);
	}
	return r;
}
