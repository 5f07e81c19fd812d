/* Requesting an activation of an eligible role, and its owner's moves
 * (deactivate, cancel, extend). A request states a start (now or later,
 * inside an eligible assignment's window), a duration (at most the role's
 * maximum; the window is clipped to the assignment's end) and whatever
 * the role's settings demand: a reason of some length, a ticket matching
 * a pattern, a TOTP code. It starts pending when the role needs
 * approvals (approval.c), else active; break-glass roles never wait and
 * always demand MFA and a reason.
 *
 * Nothing here opens a transaction: the caller wraps a request and its
 * audit event in one. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
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
	if (q->eligible == NULL)
		return policy_not_eligible(q, now, reason, rlen);
	return PIM_OK;
}

/* Refuses a second live activation or request of the same role: one
 * active now or at AT, or one still pending. */
static int
policy_check_not_active(const struct policy_request *q, int64_t now, int64_t at,
    char *reason, size_t rlen)
{
	const struct store_activation *x;
	enum store_act_state state;
	char when[32];
	size_t i;

	for (i = 0; i < q->held.nacts; i++) {
		x = &q->held.acts[i];
		state = policy_activation_state(x, now);
		if (x->role_id != q->role.id)
			continue;
		if (state == ACT_PENDING)
			return policy_refuse(reason, rlen,
			    "role %s already has a request waiting for "
			    "approval (activation %lld)",
			    q->role.name, (long long)x->id);
		if (state != ACT_ACTIVE || at >= x->end || now < x->start)
			continue;
		return policy_refuse(reason, rlen,
		    "role %s is already active until %s (activation %lld)",
		    q->role.name, policy_instant(x->end, when, sizeof(when)),
		    (long long)x->id);
	}
	return PIM_OK;
}

static int
policy_check_duration(
    const struct store_role *role, int64_t duration, char *reason, size_t rlen)
{
	char limit[32];

	if (duration <= 0)
		return policy_refuse(
		    reason, rlen, "the duration must be positive");
	if (duration > role->max_activation) {
		duration_format(role->max_activation, limit, sizeof(limit));
		return policy_refuse(reason, rlen,
		    "role %s allows at most %s per activation", role->name,
		    limit);
	}
	return PIM_OK;
}

/* Characters (UTF-8 code points) of S. */
static size_t
policy_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int
policy_check_reason(
    const struct store_role *role, const char *why, char *reason, size_t rlen)
{
	bool needed = role->require_reason || role->break_glass;

	if (policy_blank(why)) {
		if (!needed)
			return PIM_OK;
		return policy_refuse(reason, rlen,
		    "role %s needs a justification: add --reason \"...\"",
		    role->name);
	}
	if (strlen(why) >= STORE_TEXT_MAX)
		return policy_refuse(reason, rlen,
		    "the reason is longer than %d characters",
		    STORE_TEXT_MAX - 1);
	if (needed && role->min_reason_len > 0 &&
	    policy_chars(why) < (size_t)role->min_reason_len)
		return policy_refuse(reason, rlen,
		    "role %s needs a justification of at least %d characters",
		    role->name, role->min_reason_len);
	return PIM_OK;
}

/* True if the whole of S matches the extended regex PATTERN; -1 if the
 * pattern does not compile. */
static int
policy_regex_whole(const char *pattern, const char *s)
{
	regmatch_t m;
	regex_t re;
	int hit;

	if (regcomp(&re, pattern, REG_EXTENDED) != 0)
		return -1;
	hit = regexec(&re, s, 1, &m, 0) == 0 && m.rm_so == 0 &&
	      s[m.rm_eo] == '\0';
	regfree(&re);
	return hit;
}

static int
policy_check_ticket(const struct store_role *role, const char *ticket,
    char *reason, size_t rlen)
{
	const char *pat = role->ticket_pattern;
	bool given = ticket != NULL && ticket[0] != '\0';
	int hit;

	if (given && strlen(ticket) >= STORE_NAME_MAX)
		return policy_refuse(reason, rlen,
		    "the ticket is longer than %d characters",
		    STORE_NAME_MAX - 1);
	if (!role->require_ticket)
		return PIM_OK;
	if (pat[0] == '\0')
		return given ? PIM_OK
			     : policy_refuse(reason, rlen,
				   "role %s needs a ticket number (--ticket "
				   "ID)",
				   role->name);
	hit = given ? policy_regex_whole(pat, ticket) : 0;
	if (hit < 0)
		return policy_refuse(reason, rlen,
		    "role %s has a ticket pattern that does not compile; "
		    "ask an admin to fix it",
		    role->name);
	if (hit == 0)
		return policy_refuse(reason, rlen,
		    "role %s needs a ticket number matching %s", role->name,
		    pat);
	return PIM_OK;
}

/* Whether USER_ID has MFA enrolled: PIM_OK with *HAS set, or a store
 * failure. */
static int
policy_mfa_enrolled(
    struct store *st, int64_t user_id, bool *has, char *reason, size_t rlen)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	bool at_login;
	int r;

	r = store_user_mfa(st, user_id, &sealed, &len, &at_login);
	free(sealed);
	*has = r == PIM_OK;
	if (r == PIM_OK || r == PIM_ENOTFOUND)
		return PIM_OK;
	return policy_store_fail(st, r, reason, rlen);
}

/* The role's MFA demand, checked last: a good code is used up. */
static int
policy_check_mfa(struct store *st, const struct policy_request *q,
    const struct activation_request *rq, char *reason, size_t rlen)
{
	const char *role = q->role.name, *user = q->user.name;
	bool has = rq->mfa_secret != NULL;
	int r;

	if (!q->role.require_mfa && !q->role.break_glass)
		return PIM_OK;
	if (!has) {
		r = policy_mfa_enrolled(st, q->user.id, &has, reason, rlen);
		if (r != PIM_OK)
			return r;
	}
	if (!has)
		return policy_refuse(reason, rlen,
		    "role %s needs MFA, and %s has none enrolled: ask an "
		    "admin to run 'pimctl user mfa enroll %s'",
		    role, user, user);
	if (policy_blank(rq->otp))
		return policy_refuse(reason, rlen,
		    "role %s needs a one-time code from your authenticator "
		    "(--otp CODE)",
		    role);
	if (rq->mfa_secret == NULL)
		return policy_refuse(reason, rlen,
		    "the MFA secret of %s could not be opened", user);
	return policy_totp_check(st, q->user.id, rq->mfa_secret,
	    rq->mfa_secret_len, rq->otp, rq->now, reason, rlen);
}

/* What a request and an extension both need besides eligibility. */
static int
policy_check_demands(struct store *st, const struct policy_request *q,
    const struct activation_request *rq, char *reason, size_t rlen)
{
	int r;

	r = policy_check_duration(&q->role, rq->duration, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_reason(&q->role, rq->reason, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_ticket(&q->role, rq->ticket, reason, rlen);
	return r;
}

static bool
policy_needs_approval(const struct store_role *role)
{
	return role->approvals > 0 && !role->break_glass;
}

static int
policy_activation_insert(struct store *st, const struct policy_request *q,
    const struct activation_request *rq, int64_t start, int64_t *id,
    enum store_act_state *state, char *reason, size_t rlen)
{
	struct store_activation a = {0};
	int r;

	a.user_id = q->user.id;
	a.role_id = q->role.id;
	a.state = policy_needs_approval(&q->role) ? ACT_PENDING : ACT_ACTIVE;
	a.start = start;
	a.end = policy_min_bound(q->eligible->end, start + rq->duration);
	str_copy(
	    a.reason, rq->reason != NULL ? rq->reason : "", sizeof(a.reason));
	str_copy(
	    a.ticket, rq->ticket != NULL ? rq->ticket : "", sizeof(a.ticket));
	str_copy(a.requested_by,
	    rq->requested_by != NULL ? rq->requested_by : q->user.name,
	    sizeof(a.requested_by));
	a.created = rq->now;
	a.break_glass = q->role.break_glass;
	if (a.state == ACT_PENDING)
		a.approve_by = rq->now + q->role.approval_ttl;
	r = store_activation_add(st, &a, id);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	if (state != NULL)
		*state = a.state;
	return PIM_OK;
}

static void
policy_reason_clear(char *reason, size_t rlen)
{
	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
}

int
policy_request_activation(struct store *st, const struct activation_request *rq,
    int64_t *id, enum store_act_state *state, char *reason, size_t rlen)
{
	struct policy_request q = {0};
	int64_t start;
	int r;

	policy_reason_clear(reason, rlen);
	/* A start in the past means now. */
	start = rq->start > rq->now ? rq->start : rq->now;
	r = policy_request_load(
	    st, rq->user, rq->role, start, &q, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_demands(st, &q, rq, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_not_active(&q, rq->now, start, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_mfa(st, &q, rq, reason, rlen);
	if (r == PIM_OK)
		r = policy_activation_insert(
		    st, &q, rq, start, id, state, reason, rlen);
	policy_held_free(&q.held);
	return r;
}

int
policy_activate(struct store *st, const char *user, const char *role,
    int64_t now, int64_t duration, const char *why, const char *requested_by,
    int64_t *id, char *reason, size_t rlen)
{
	struct activation_request rq = {
	    .user = user,
	    .role = role,
	    .now = now,
	    .duration = duration,
	    .reason = why,
	    .requested_by = requested_by,
	};

	/* The admin path has always demanded a reason, whatever the role. */
	if (policy_blank(why))
		return policy_refuse(
		    reason, rlen, "a reason is required: add --reason \"...\"");
	return policy_request_activation(st, &rq, id, NULL, reason, rlen);
}

/* Loads activation ID and checks that USER owns it. */
static int
policy_own_activation(struct store *st, int64_t id, const char *user,
    struct store_activation *a, char *reason, size_t rlen)
{
	int r = store_activation_get(st, id, a);

	if (r == PIM_ENOTFOUND) {
		policy_refuse(
		    reason, rlen, "no activation %lld", (long long)id);
		return PIM_ENOTFOUND;
	}
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	if (user == NULL || strcmp(a->user, user) != 0)
		return policy_refuse(reason, rlen,
		    "activation %lld is not yours", (long long)id);
	return PIM_OK;
}

/* Moves owned activation ID from FROM to TO. */
static int
policy_owner_move(struct store *st, int64_t id, const char *user, int64_t now,
    enum store_act_state from, enum store_act_state to, char *reason,
    size_t rlen)
{
	struct store_activation a;
	enum store_act_state cur;
	int r;

	policy_reason_clear(reason, rlen);
	r = policy_own_activation(st, id, user, &a, reason, rlen);
	if (r != PIM_OK)
		return r;
	cur = policy_activation_state(&a, now);
	if (cur != from)
		return policy_refuse(reason, rlen,
		    "activation %lld is %s, not %s", (long long)id,
		    store_act_state_name(cur), store_act_state_name(from));
	r = store_activation_transition(st, id, from, to, now);
	if (r == PIM_ENOTFOUND)
		return policy_refuse(reason, rlen,
		    "activation %lld changed meanwhile", (long long)id);
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}

int
policy_deactivate(struct store *st, int64_t id, const char *user, int64_t now,
    char *reason, size_t rlen)
{
	return policy_owner_move(
	    st, id, user, now, ACT_ACTIVE, ACT_DEACTIVATED, reason, rlen);
}

int
policy_cancel(struct store *st, int64_t id, const char *user, int64_t now,
    char *reason, size_t rlen)
{
	return policy_owner_move(
	    st, id, user, now, ACT_PENDING, ACT_CANCELLED, reason, rlen);
}

int
policy_extend(struct store *st, int64_t id, const struct activation_request *rq,
    char *reason, size_t rlen)
{
	struct policy_request q = {0};
	struct store_activation a;
	int64_t end;
	int r;

	policy_reason_clear(reason, rlen);
	r = policy_own_activation(st, id, rq->user, &a, reason, rlen);
	if (r != PIM_OK)
		return r;
	if (policy_activation_state(&a, rq->now) != ACT_ACTIVE)
		return policy_refuse(reason, rlen,
		    "activation %lld is %s, not active", (long long)id,
		    store_act_state_name(policy_activation_state(&a, rq->now)));
	r = policy_request_load(st, a.user, a.role, rq->now, &q, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_demands(st, &q, rq, reason, rlen);
	if (r == PIM_OK)
		r = policy_check_mfa(st, &q, rq, reason, rlen);
	if (r == PIM_OK) {
		end = policy_min_bound(q.eligible->end, rq->now + rq->duration);
		r = store_activation_set_end(st, id, end);
		if (r != PIM_OK)
			r = policy_store_fail(st, r, reason, rlen);
	}
	policy_held_free(&q.held);
	return r;
}
