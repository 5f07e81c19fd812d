/* Building an access report: read the period from the store, work out
 * each activation's state, window and approvals, each session's volume
 * against the user's history, tag the refusals, apply the flag rules
 * and group everything by user. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/str.h"

#include "report_int.h"

/* Array capacities while the report is being built. */
struct report_caps {
	size_t acts, sessions, refusals, users;
};

struct report_job {
	struct store *st;
	struct report *r;
	struct report_caps cap;
};

static const char *
report_user_filter(const struct report_options *opt)
{
	return opt->user[0] != '\0' ? opt->user : NULL;
}

/* ---- activations ---- */

static int
report_take_act(const struct store_activation *a, void *arg)
{
	struct report_job *j = arg;
	struct report_activation x = {.a = *a};

	return report_push(
	    (void **)&j->r->acts, &j->r->nacts, &j->cap.acts, sizeof(x), &x);
}

struct report_approvals {
	struct store_approval *v;
	size_t n, cap;
};

static int
report_take_approval(const struct store_approval *a, void *arg)
{
	struct report_approvals *p = arg;

	return report_push((void **)&p->v, &p->n, &p->cap, sizeof(*a), a);
}

/* The state at NOW, whether it was ever held, and its real window. */
static void
report_act_window(const struct report_options *opt, struct report_activation *x)
{
	const struct store_activation *a = &x->a;

	x->state = a->state;
	if (x->state == ACT_ACTIVE && a->end <= opt->now)
		x->state = ACT_EXPIRED;
	x->until = a->end;
	if ((x->state == ACT_REVOKED || x->state == ACT_DEACTIVATED) &&
	    a->ended > 0 && a->ended < a->end)
		x->until = a->ended;
	x->held = (x->state == ACT_ACTIVE || x->state == ACT_EXPIRED ||
		      x->state == ACT_REVOKED || x->state == ACT_DEACTIVATED) &&
		  a->start <= opt->now && x->until >= a->start;
	x->duration = x->held ? x->until - a->start : a->end - a->start;
}

static void
report_act_clean(struct report_activation *x)
{
	report_clean(x->a.user);
	report_clean(x->a.role);
	report_clean(x->a.reason);
	report_clean(x->a.ticket);
	report_clean(x->a.requested_by);
	for (size_t i = 0; i < x->napprovals; i++) {
		report_clean(x->approvals[i].approver);
		report_clean(x->approvals[i].reason);
	}
}

static int
report_read_acts(struct report_job *j)
{
	struct report *r = j->r;
	int rc;

	rc = store_report_activations(j->st, r->opt.from, r->opt.to,
	    report_user_filter(&r->opt), report_take_act, j);
	for (size_t i = 0; rc == PIM_OK && i < r->nacts; i++) {
		struct report_activation *x = &r->acts[i];
		struct report_approvals p = {0};

		rc = store_approval_list(
		    j->st, x->a.id, report_take_approval, &p);
		x->approvals = p.v;
		x->napprovals = p.n;
		report_act_window(&r->opt, x);
		x->flags = report_rule_activation(&r->opt, x);
		report_act_clean(x);
	}
	return rc;
}

/* ---- sessions ---- */

static int
report_take_session(const struct store_session *s, void *arg)
{
	struct report_job *j = arg;
	struct report_session x = {.s = *s, .act = SIZE_MAX, .median = -1};

	return report_push((void **)&j->r->sessions, &j->r->nsessions,
	    &j->cap.sessions, sizeof(x), &x);
}

/* The user's earlier volumes, their median, and the flags. */
static int
report_session_rules(struct report_job *j, struct report_session *x)
{
	int64_t v[REPORT_HISTORY_MAX];
	int n = 0, rc;

	x->bytes = x->s.bytes_in + x->s.bytes_out;
	x->length = (x->s.end != 0 ? x->s.end : j->r->opt.now) - x->s.start;
	x->flags = report_rule_end(x->s.end_reason);
	if (x->s.end == 0)
		return PIM_OK; /* a live session's bytes are not known yet */
	rc = store_report_volumes(j->st, x->s.user_id, x->s.start, x->s.id,
	    REPORT_HISTORY_MAX, v, &n);
	if (rc != PIM_OK)
		return rc;
	x->history = n;
	if (n >= REPORT_HISTORY_MIN)
		x->median = report_median(v, n);
	if (report_rule_volume(
		j->r->opt.volume_factor, x->bytes, x->median, x->history))
		x->flags |= REPORT_VOLUME;
	return PIM_OK;
}

static int
report_read_sessions(struct report_job *j)
{
	struct report *r = j->r;
	int rc;

	rc = store_report_sessions(j->st, r->opt.from, r->opt.to,
	    report_user_filter(&r->opt), report_take_session, j);
	for (size_t i = 0; rc == PIM_OK && i < r->nsessions; i++) {
		struct report_session *x = &r->sessions[i];

		rc = report_session_rules(j, x);
		report_clean(x->s.user);
		report_clean(x->s.target);
		report_clean(x->s.role);
		report_clean(x->s.protocol);
		report_clean(x->s.peer);
		report_clean(x->s.end_reason);
		report_clean(x->s.recording);
	}
	return rc;
}

/* ---- refusals ---- */

static int
report_take_refusal(const struct store_audit *e, void *arg)
{
	struct report_job *j = arg;
	struct report_refusal x = {.e = *e};

	if (report_is_mfa_failure(e))
		x.flags |= REPORT_MFA_FAILURE;
	if (report_is_break_glass(e))
		x.flags |= REPORT_BREAK_GLASS;
	report_clean(x.e.actor);
	report_clean(x.e.event);
	report_clean(x.e.outcome);
	report_clean(x.e.user);
	report_clean(x.e.target);
	report_clean(x.e.role);
	report_clean(x.e.peer);
	report_clean(x.e.detail);
	return report_push((void **)&j->r->refusals, &j->r->nrefusals,
	    &j->cap.refusals, sizeof(x), &x);
}

static int
report_read_refusals(struct report_job *j)
{
	struct report *r = j->r;

	return store_report_refusals(j->st, r->opt.from * 1000,
	    r->opt.to * 1000, report_user_filter(&r->opt), report_take_refusal,
	    j);
}

/* ---- order and grouping ---- */

static int
report_cmp_id(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* Activations and sessions are listed by user, role, start, id. */
struct report_key {
	const char *user, *role;
	int64_t start, id;
};

static int
report_cmp_rows(const struct report_key *a, const struct report_key *b)
{
	int c = strcmp(a->user, b->user);

	if (c == 0)
		c = strcmp(a->role, b->role);
	if (c == 0)
		c = report_cmp_id(a->start, b->start);
	return c != 0 ? c : report_cmp_id(a->id, b->id);
}

static int
report_cmp_act(const void *pa, const void *pb)
{
	const struct store_activation *a =
	    &((const struct report_activation *)pa)->a;
	const struct store_activation *b =
	    &((const struct report_activation *)pb)->a;

	return report_cmp_rows(
	    &(struct report_key){a->user, a->role, a->start, a->id},
	    &(struct report_key){b->user, b->role, b->start, b->id});
}

static int
report_cmp_session(const void *pa, const void *pb)
{
	const struct store_session *a = &((const struct report_session *)pa)->s;
	const struct store_session *b = &((const struct report_session *)pb)->s;

	return report_cmp_rows(
	    &(struct report_key){a->user, a->role, a->start, a->id},
	    &(struct report_key){b->user, b->role, b->start, b->id});
}

static int
report_cmp_refusal(const void *pa, const void *pb)
{
	const struct store_audit *a = &((const struct report_refusal *)pa)->e;
	const struct store_audit *b = &((const struct report_refusal *)pb)->e;
	int c = strcmp(a->user, b->user);

	return c != 0 ? c : report_cmp_id(a->id, b->id);
}

/* Ties each session to its activation, when the report holds it. */
static void
report_link_sessions(struct report *r)
{
	for (size_t i = 0; i < r->nsessions; i++) {
		struct report_session *x = &r->sessions[i];

		for (size_t k = 0; x->s.activation_id != 0 && k < r->nacts;
		     k++) {
			if (r->acts[k].a.id == x->s.activation_id) {
				x->act = k;
				break;
			}
		}
	}
}

/* The smallest user name not yet grouped, from the three arrays'
 * cursors; NULL when all are grouped. */
static const char *
report_next_user(const struct report *r, size_t ia, size_t is, size_t ir)
{
	const char *best = NULL;
	const char *c[3] = {
	    ia < r->nacts ? r->acts[ia].a.user : NULL,
	    is < r->nsessions ? r->sessions[is].s.user : NULL,
	    ir < r->nrefusals ? r->refusals[ir].e.user : NULL,
	};

	for (int k = 0; k < 3; k++) {
		if (c[k] != NULL && (best == NULL || strcmp(c[k], best) < 0))
			best = c[k];
	}
	return best;
}

static int
report_group(struct report_job *j)
{
	struct report *r = j->r;
	size_t ia = 0, is = 0, ir = 0;
	const char *name;

	while ((name = report_next_user(r, ia, is, ir)) != NULL) {
		struct report_user u = {
		    .act_first = ia, .session_first = is, .refusal_first = ir};

		str_copy(u.name, name, sizeof(u.name));
		while (ia < r->nacts && strcmp(r->acts[ia].a.user, u.name) == 0)
			ia++;
		while (is < r->nsessions &&
		       strcmp(r->sessions[is].s.user, u.name) == 0)
			is++;
		for (; ir < r->nrefusals &&
		       strcmp(r->refusals[ir].e.user, u.name) == 0;
		     ir++) {
			if (r->refusals[ir].flags & REPORT_MFA_FAILURE)
				u.mfa_failures++;
		}
		u.nacts = ia - u.act_first;
		u.nsessions = is - u.session_first;
		u.nrefusals = ir - u.refusal_first;
		if (u.mfa_failures >= REPORT_MFA_REPEATED)
			u.flags |= REPORT_MFA_REPEATED_FLAG;
		if (report_push((void **)&r->users, &r->nusers, &j->cap.users,
			sizeof(u), &u) != PIM_OK)
			return PIM_ENOMEM;
	}
	return PIM_OK;
}

static void
report_sort(struct report *r)
{
	if (r->nacts > 0)
		qsort(r->acts, r->nacts, sizeof(*r->acts), report_cmp_act);
	if (r->nsessions > 0)
		qsort(r->sessions, r->nsessions, sizeof(*r->sessions),
		    report_cmp_session);
	if (r->nrefusals > 0)
		qsort(r->refusals, r->nrefusals, sizeof(*r->refusals),
		    report_cmp_refusal);
}

int
report_build(
    struct store *st, const struct report_options *opt, struct report **out)
{
	struct report_job j = {.st = st};
	int rc;

	*out = NULL;
	if (opt->from >= opt->to || opt->volume_factor < 1)
		return PIM_EINVAL;
	j.r = calloc(1, sizeof(*j.r));
	if (j.r == NULL)
		return PIM_ENOMEM;
	j.r->opt = *opt;

	rc = report_read_acts(&j);
	if (rc == PIM_OK)
		rc = report_read_sessions(&j);
	if (rc == PIM_OK)
		rc = report_read_refusals(&j);
	if (rc == PIM_OK) {
		report_sort(j.r);
		report_link_sessions(j.r);
		rc = report_group(&j);
	}
	if (rc != PIM_OK) {
		report_free(j.r);
		return rc;
	}
	*out = j.r;
	return PIM_OK;
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nacts; i++)
		free(r->acts[i].approvals);
	free(r->acts);
	free(r->sessions);
	free(r->refusals);
	free(r->users);
	free(r);
}
