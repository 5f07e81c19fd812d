/* Activating an eligible role: the user states a duration (at most the
 * role's maximum) and a reason; the window is clipped to a time-bound
 * eligible assignment's end. Roles have no approval settings yet, so an
 * activation starts in state active. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"
#include "policy_int.h"

/* What the request is about, looked up once. */
struct policy_request {
	struct store_user user;
	struct store_role role;
	const struct store_assignment *eligible;
	struct policy_held held;
};

static bool
policy_blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* Refuses, saying why no eligible assignment of ROLE holds at NOW. */
static int
policy_not_eligible(
    const struct policy_request *q, int64_t now, char *reason, size_t rlen)
{
	const struct store_assignment *a;
	const char *user = q->user.name, *role = q->role.name;
	char when[32];
	size_t i;

	for (i = 0; i < q->held.nassigns; i++) {
		a = &q->held.assigns[i];
		if (a->role_id != q->role.id || a->kind != ASSIGN_ELIGIBLE)
			continue;
		if (a->start > now)
			return policy_refuse(reason, rlen,
			    "%s is eligible for role %s only from %s", user,
			    role, policy_instant(a->start, when, sizeof(when)));
		return policy_refuse(reason, rlen,
		    "%s's eligibility for role %s ended at %s", user, role,
		    policy_instant(a->end, when, sizeof(when)));
	}
	return policy_refuse(
	    reason, rlen, "%s is not eligible for role %s", user, role);
}

static int
policy_request_load(struct store *st, const char *user, const char *role,
    int64_t now, struct policy_request *q, char *reason, size_t rlen)
{
	int r;

	r = policy_user_enabled(st, user, &q->user, reason, rlen);
	if (r != PIM_OK)
		return r;
	r = store_role_get(st, role, &q->role);
	if (r == PIM_ENOTFOUND) {
		policy_refuse(reason, rlen, "no role named %s", role);
		return PIM_ENOTFOUND;
	}
	if (r == PIM_OK)
		r = policy_held_load_assignments(st, q->user.id, &q->held);
	if (r == PIM_OK)
		r = policy_held_load_activations(st, q->user.id, &q->held);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	q->eligible =
	    policy_held_assignment(&q->held, q->role.id, ASSIGN_ELIGIBLE, now);
	return PIM_OK;
}

/* Refuses a second live activation of the same role. */
static int
policy_check_not_active(
    const struct policy_request *q, int64_t now, char *reason, size_t rlen)
{
	const struct store_activation *x;
	char when[32];
	size_t i;

	for (i = 0; i < q->held.nacts; i++) {
		x = &q->held.acts[i];
		if (x->role_id != q->role.id ||
		    policy_activation_state(x, now) != ACT_ACTIVE ||
		    now < x->start)
			continue;
		return policy_refuse(reason, rlen,
		    "role %s is already active until %s (activation %lld)",
		    q->role.name, policy_instant(x->end, when, sizeof(when)),
		    (long long)x->id);
	}
	return PIM_OK;
}

/* The request's own terms: a reason and an allowed duration. */
static int
policy_check_terms(const struct policy_request *q, int64_t duration,
    const char *why, char *reason, size_t rlen)
{
	char limit[32];

	if (policy_blank(why))
		return policy_refuse(
		    reason, rlen, "a reason is required: add --reason \"...\"");
	if (strlen(why) >= STORE_TEXT_MAX)
		return policy_refuse(reason, rlen,
		    "the reason is longer than %d characters",
		    STORE_TEXT_MAX - 1);
	if (duration <= 0)
		return policy_refuse(
		    reason, rlen, "the duration must be positive");
	if (duration > q->role.max_activation) {
		duration_format(q->role.max_activation, limit, sizeof(limit));
		return policy_refuse(reason, rlen,
		    "role %s allows at most %s per activation", q->role.name,
		    limit);
	}
	return PIM_OK;
}

static int
policy_activation_insert(struct store *st, const struct policy_request *q,
    int64_t now, int64_t duration, const char *why, const char *requested_by,
    int64_t *id, char *reason, size_t rlen)
{
	struct store_activation a = {0};
	int r;

	a.user_id = q->user.id;
	a.role_id = q->role.id;
	a.state = ACT_ACTIVE;
	a.start = now;
	a.end = policy_min_bound(q->eligible->end, now + duration);
	str_copy(a.reason, why, sizeof(a.reason));
	str_copy(a.requested_by,
	    requested_by != NULL ? requested_by : q->user.name,
	    sizeof(a.requested_by));
	a.created = now;
	r = store_activation_add(st, &a, id);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}

int
policy_activate(struct store *st, const char *user, const char *role,
    int64_t now, int64_t duration, const char *why, const char *requested_by,
    int64_t *id, char *reason, size_t rlen)
{
	struct policy_request q = {0};
	int r;

	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	r = policy_request_load(st, user, role, now, &q, reason, rlen);
	if (r == PIM_OK && q.eligible == NULL)
		r = policy_not_eligible(&q, now, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_terms(&q, duration, why, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_not_active(&q, now, reason, rlen);
	if (r == PIM_OK)
		r = policy_activation_insert(
		    st, &q, now, duration, why, requested_by, id, reason, rlen);
	policy_held_free(&q.held);
	return r;
}
