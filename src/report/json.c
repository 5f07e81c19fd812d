/* The access report as one JSON document: the period and the rules, the
 * flags that need review, and per user the roles (activations with their
 * approvals and sessions, sessions without an activation) and the
 * refusals. Instants are RFC 3339 strings, durations seconds. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "pimgate/err.h"

#include "report_int.h"

/* Text fields are cleaned (valid UTF-8) when the report is built. */
static json_t *
json_text(const char *s)
{
	return json_string(s);
}

/* An instant, or null for 0. */
static json_t *
json_instant(int64_t t)
{
	char buf[32];

	return t != 0 ? json_string(report_instant(t, buf, sizeof(buf)))
		      : json_null();
}

/* An id, or null for 0. */
static json_t *
json_id(int64_t id)
{
	return id != 0 ? json_integer((json_int_t)id) : json_null();
}

static json_t *
json_flags(unsigned flags)
{
	json_t *arr = json_array();

	for (unsigned f = 1; arr != NULL && f != 0 && f <= flags; f <<= 1) {
		if ((flags & f) != 0 && report_flag_name(f) != NULL &&
		    json_array_append_new(
			arr, json_string(report_flag_name(f)))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Appends OBJ to ARR; false (and OBJ dropped) if either is NULL or the
 * append fails. */
static bool
json_push(json_t *arr, json_t *obj)
{
	return arr != NULL && obj != NULL &&
	       json_array_append_new(arr, obj) == 0;
}

static json_t *
json_session(const struct report_session *x)
{
	json_t *baseline = json_null();

	if (x->median >= 0)
		baseline = json_pack("{sI si}", "median_bytes",
		    (json_int_t)x->median, "sessions", x->history);
	return json_pack("{sI so so ss ss ss so so sI so sI sI so so}", "id",
	    (json_int_t)x->s.id, "activation", json_id(x->s.activation_id),
	    "assignment", json_id(x->s.assignment_id), "target", x->s.target,
	    "protocol", x->s.protocol, "peer", x->s.peer, "start",
	    json_instant(x->s.start), "end", json_instant(x->s.end), "length_s",
	    (json_int_t)x->length, "end_reason",
	    x->s.end != 0 ? json_text(x->s.end_reason) : json_null(),
	    "bytes_in", (json_int_t)x->s.bytes_in, "bytes_out",
	    (json_int_t)x->s.bytes_out, "baseline", baseline, "flags",
	    json_flags(x->flags));
}

static json_t *
json_approvals(const struct report_activation *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < a->napprovals; i++) {
		const struct store_approval *p = &a->approvals[i];

		if (!json_push(
			arr, json_pack("{ss ss so ss}", "approver", p->approver,
				 "decision", p->decision, "time",
				 json_instant(p->ts), "reason", p->reason))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
json_activation(const struct report *r, size_t k)
{
	const struct report_activation *a = &r->acts[k];
	json_t *sessions = json_array();
	json_t *obj;

	for (size_t i = 0; sessions != NULL && i < r->nsessions; i++) {
		if (r->sessions[i].act == k &&
		    !json_push(sessions, json_session(&r->sessions[i]))) {
			json_decref(sessions);
			sessions = NULL;
		}
	}
	obj = json_pack("{sI ss sb so so so sI ss ss ss sb so so so}", "id",
	    (json_int_t)a->a.id, "state", report_state_name(a->state), "held",
	    a->held, "requested", json_instant(a->a.created), "start",
	    json_instant(a->a.start), "end", json_instant(a->until),
	    "duration_s", (json_int_t)a->duration, "reason", a->a.reason,
	    "ticket", a->a.ticket, "requested_by", a->a.requested_by,
	    "break_glass", a->a.break_glass, "approvals", json_approvals(a),
	    "flags", json_flags(a->flags), "sessions", sessions);
	return obj;
}

/* What json_role fills. */
struct json_roles {
	json_t *arr;
	bool failed;
};

static int
json_role(const struct report *r, const struct report_user *u, const char *role,
    void *arg)
{
	struct json_roles *jr = arg;
	json_t *acts = json_array(), *other = json_array();

	for (size_t i = 0; acts != NULL && i < u->nacts; i++) {
		size_t k = u->act_first + i;

		if (strcmp(r->acts[k].a.role, role) == 0 &&
		    !json_push(acts, json_activation(r, k)))
			jr->failed = true;
	}
	for (size_t i = 0; other != NULL && i < u->nsessions; i++) {
		const struct report_session *x =
		    &r->sessions[u->session_first + i];

		if (x->act == SIZE_MAX && strcmp(x->s.role, role) == 0 &&
		    !json_push(other, json_session(x)))
			jr->failed = true;
	}
	if (!json_push(
		jr->arr, json_pack("{ss so so}", "role", role, "activations",
			     acts, "sessions_without_activation", other)))
		jr->failed = true;
	return jr->failed ? PIM_ENOMEM : 0;
}

static json_t *
json_refusal(const struct report_refusal *x)
{
	return json_pack("{sI so ss ss ss ss ss ss ss so}", "id",
	    (json_int_t)x->e.id, "time", json_instant(x->e.ts_ms / 1000),
	    "actor", x->e.actor, "event", x->e.event, "outcome", x->e.outcome,
	    "target", x->e.target, "role", x->e.role, "peer", x->e.peer,
	    "detail", x->e.detail, "flags", json_flags(x->flags));
}

static json_t *
json_user(const struct report *r, const struct report_user *u)
{
	struct json_roles jr = {.arr = json_array()};
	json_t *refusals = json_array();

	if (jr.arr != NULL)
		report_each_role(r, u, json_role, &jr);
	for (size_t i = 0; refusals != NULL && i < u->nrefusals; i++) {
		if (!json_push(refusals,
			json_refusal(&r->refusals[u->refusal_first + i])))
			jr.failed = true;
	}
	if (jr.failed) {
		json_decref(jr.arr);
		json_decref(refusals);
		return NULL;
	}
	return json_pack("{ss so si so so}", "user", u->name, "flags",
	    json_flags(u->flags), "mfa_failures", u->mfa_failures, "roles",
	    jr.arr, "refusals", refusals);
}

/* One entry of the "needs review" list per flag of FLAGS. */
static bool
json_review(
    json_t *arr, unsigned flags, const char *user, const char *kind, int64_t id)
{
	for (unsigned f = 1; f <= REPORT_REVIEW_FLAGS; f <<= 1) {
		if ((flags & f & REPORT_REVIEW_FLAGS) != 0 &&
		    !json_push(arr,
			json_pack("{ss ss ss so}", "flag", report_flag_name(f),
			    "user", user, "kind", kind, "id", json_id(id))))
			return false;
	}
	return true;
}

static json_t *
json_review_list(const struct report *r)
{
	json_t *arr = json_array();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < r->nusers; i++) {
		const struct report_user *u = &r->users[i];

		ok = json_review(arr, u->flags, u->name, "user", 0);
		for (size_t k = 0; ok && k < u->nacts; k++)
			ok = json_review(arr, r->acts[u->act_first + k].flags,
			    u->name, "activation",
			    r->acts[u->act_first + k].a.id);
		for (size_t k = 0; ok && k < u->nsessions; k++) {
			const struct report_session *x =
			    &r->sessions[u->session_first + k];

			ok = json_review(
			    arr, x->flags, u->name, "session", x->s.id);
		}
		for (size_t k = 0; ok && k < u->nrefusals; k++) {
			const struct report_refusal *x =
			    &r->refusals[u->refusal_first + k];

			ok = json_review(
			    arr, x->flags, u->name, "refusal", x->e.id);
		}
	}
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
json_rules(const struct report *r)
{
	char hours[128];

	hours_format(&r->opt.hours, hours, sizeof(hours));
	return json_pack("{ss sI si si sI si}", "working_hours", hours,
	    "volume_factor", (json_int_t)r->opt.volume_factor,
	    "volume_history_min", REPORT_HISTORY_MIN, "volume_history_max",
	    REPORT_HISTORY_MAX, "volume_floor_bytes",
	    (json_int_t)REPORT_VOLUME_FLOOR, "mfa_failures_min",
	    REPORT_MFA_REPEATED);
}

int
report_write_json(const struct report *r, FILE *out)
{
	json_t *users = json_array(), *doc;
	int rc = PIM_OK;

	for (size_t i = 0; users != NULL && i < r->nusers; i++) {
		if (!json_push(users, json_user(r, &r->users[i]))) {
			json_decref(users);
			users = NULL;
		}
	}
	doc = json_pack("{ss so so so so so so so}", "report", "access", "from",
	    json_instant(r->opt.from), "to", json_instant(r->opt.to), "user",
	    r->opt.user[0] != '\0' ? json_text(r->opt.user) : json_null(),
	    "generated", json_instant(r->opt.now), "rules", json_rules(r),
	    "needs_review", json_review_list(r), "users", users);
	if (doc == NULL)
		return PIM_ENOMEM;
	if (json_dumpf(doc, out, JSON_INDENT(2)) != 0 ||
	    fputc('\n', out) == EOF)
		rc = PIM_EIO;
	json_decref(doc);
	if (fflush(out) != 0 || ferror(out))
		rc = PIM_EIO;
	return rc;
}
