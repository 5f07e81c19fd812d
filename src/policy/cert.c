/* Client certificates for database targets: when one may be issued and
 * for how long (policy_cert_window), and whether one presented to the
 * PostgreSQL front end still stands (policy_cert_accept). The admission
 * rule itself is policy_admit's; certificates never outlive the grant
 * that allowed them, nor POLICY_CERT_MAX_SECS: a certificate whose
 * activation ended early (deactivated, revoked) or whose assignment was
 * removed is refused, even while another grant would admit its user. */
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "policy_int.h"

/* The CA starts certificates this long before their stored not_before
 * (clock skew); acceptance allows the same. */
#define CERT_SKEW_SECS 60

/* The end of the window of the grant ADM names: the activation's end,
 * or the active assignment's end (0: permanent, so none). */
static int
cert_grant_end(struct store *st, const struct admission *adm, int64_t *end,
    char *reason, size_t rlen)
{
	struct store_activation x;
	struct store_assignment a;
	int r;

	if (adm->activation_id != 0) {
		r = store_activation_get(st, adm->activation_id, &x);
		if (r == PIM_OK)
			*end = x.end;
	} else {
		r = store_assignment_get(st, adm->assignment_id, &a);
		if (r == PIM_OK)
			*end = a.end;
	}
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}

/* TARGET must exist and be a database target. */
static int
cert_target(struct store *st, const char *target, char *reason, size_t rlen)
{
	struct store_target t;
	int r = store_target_get(st, target, &t);

	if (r == PIM_ENOTFOUND) {
		policy_refuse(reason, rlen, "no target named %s", target);
		return PIM_ENOTFOUND;
	}
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	if (strcmp(t.kind, "ssh") == 0)
		return policy_refuse(reason, rlen,
		    "target %s is an SSH host; certificates are for database "
		    "targets",
		    t.name);
	if (strcmp(t.kind, "postgres") != 0)
		return policy_refuse(reason, rlen,
		    "target %s is not a database target; certificates are "
		    "for database targets",
		    t.name);
	return PIM_OK;
}

int
policy_cert_window(struct store *st, const char *user, const char *target,
    int64_t now, struct admission *adm, int64_t *not_after, char *reason,
    size_t rlen)
{
	char why[POLICY_REASON_MAX];
	int64_t end = 0, cap = now + POLICY_CERT_MAX_SECS;
	struct store_user u;
	int r;

	memset(adm, 0, sizeof(*adm));
	*not_after = 0;
	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	/* The person and the target first: the grant's reason is then
	 * about grants alone. */
	r = policy_user_enabled(st, user, &u, reason, rlen);
	if (r == PIM_OK)
		r = cert_target(st, target, reason, rlen);
	if (r != PIM_OK)
		return r;
	r = policy_admit(st, user, target, now, adm, why, sizeof(why));
	if (r == PIM_EDENIED)
		return policy_refuse(reason, rlen,
		    "%s; a certificate for target %s needs an active grant",
		    why, target);
	if (r == PIM_OK)
		r = cert_grant_end(st, adm, &end, why, sizeof(why));
	if (r != PIM_OK) {
		policy_refuse(reason, rlen, "%s", why);
		return r;
	}
	*not_after = end == 0 || end > cap ? cap : end;
	return PIM_OK;
}

/* The refusal for a certificate C that does not fit USER and TARGET at
 * NOW, or PIM_OK. */
static int
cert_check(const struct store_cert *c, const char *user, const char *target,
    int64_t now, char *reason, size_t rlen)
{
	char when[32];

	if (c->revoked != 0)
		return policy_refuse(reason, rlen,
		    "this certificate was revoked at %s; ask for a new one "
		    "with the db-cert command",
		    policy_instant(c->revoked, when, sizeof(when)));
	if (strcmp(c->user, user) != 0)
		return policy_refuse(reason, rlen,
		    "this certificate was issued to %s, not to %s", c->user,
		    user);
	if (strcmp(c->target, target) != 0)
		return policy_refuse(reason, rlen,
		    "this certificate was issued for target %s, not %s; ask "
		    "for one with the db-cert command",
		    c->target, target);
	if (now >= c->not_after)
		return policy_refuse(reason, rlen,
		    "this certificate expired at %s; ask for a new one with "
		    "the db-cert command",
		    policy_instant(c->not_after, when, sizeof(when)));
	if (now < c->not_before - CERT_SKEW_SECS)
		return policy_refuse(reason, rlen,
		    "this certificate is valid only from %s",
		    policy_instant(c->not_before, when, sizeof(when)));
	return PIM_OK;
}

/* Activation X, recorded as C's grant, still holds at NOW: active and
 * begun, and NOW before its end. One marked expired is judged by its end
 * alone, so that a past NOW (a session's start) inside its window holds:
 * the end itself is the session deadline's business. */
static bool
cert_act_holds(
    const struct store_activation *x, const struct store_cert *c, int64_t now)
{
	if (x->user_id != c->user_id)
		return false;
	if (x->state != ACT_ACTIVE && x->state != ACT_EXPIRED)
		return false;
	return x->start <= now && now < x->end;
}

/* Assignment A, recorded as C's grant, still holds at NOW. */
static bool
cert_assign_holds(
    const struct store_assignment *a, const struct store_cert *c, int64_t now)
{
	return a->user_id == c->user_id && a->kind == ASSIGN_ACTIVE &&
	       a->start <= now && (a->end == 0 || now < a->end);
}

/* Whether the grant C was issued under still holds at NOW (*HOLDS). */
static int
cert_grant_holds(
    struct store *st, const struct store_cert *c, int64_t now, bool *holds)
{
	struct store_activation x;
	struct store_assignment a;
	int r;

	*holds = false;
	if (c->activation_id != 0) {
		r = store_activation_get(st, c->activation_id, &x);
		if (r == PIM_OK)
			*holds = cert_act_holds(&x, c, now);
	} else if (c->assignment_id != 0) {
		r = store_assignment_get(st, c->assignment_id, &a);
		if (r == PIM_OK)
			*holds = cert_assign_holds(&a, c, now);
	} else {
		return PIM_OK; /* no grant on record: none holds */
	}
	return r == PIM_ENOTFOUND ? PIM_OK : r;
}

/* The refusal for C, whose grant has ended, at NOW. If another grant
 * admits its user, a new certificate is the remedy; if none does, the
 * admission rule's reason follows instead (a new one would be refused). */
static int
cert_ended(struct store *st, const struct store_cert *c, int64_t now,
    char *reason, size_t rlen)
{
	char what[64], why[POLICY_REASON_MAX];
	struct admission adm;
	int r;

	if (c->activation_id != 0)
		snprintf(what, sizeof(what), "activation %lld, which has ended",
		    (long long)c->activation_id);
	else
		snprintf(
		    what, sizeof(what), "an assignment that no longer holds");
	r = policy_admit(st, c->user, c->target, now, &adm, why, sizeof(why));
	if (r == PIM_OK)
		return policy_refuse(reason, rlen,
		    "this certificate was issued under %s; ask for a new one "
		    "with the db-cert command",
		    what);
	if (r == PIM_ESTORE) {
		policy_refuse(reason, rlen, "%s", why);
		return r;
	}
	return policy_refuse(reason, rlen,
	    "this certificate was issued under %s: %s", what, why);
}

/* The refusal for C if its grant has ended at NOW, or PIM_OK. */
static int
cert_check_grant(struct store *st, const struct store_cert *c, int64_t now,
    char *reason, size_t rlen)
{
	bool holds;
	int r = cert_grant_holds(st, c, now, &holds);

	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return holds ? PIM_OK : cert_ended(st, c, now, reason, rlen);
}

int
policy_cert_accept(struct store *st, const char *serial, const char *user,
    const char *target, int64_t now, char *reason, size_t rlen)
{
	struct store_cert c;
	int r;

	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	if (serial == NULL || serial[0] == '\0')
		return policy_refuse(reason, rlen,
		    "this certificate was not issued by this bastion");
	r = store_cert_get(st, serial, &c);
	if (r == PIM_ENOTFOUND)
		return policy_refuse(reason, rlen,
		    "this certificate was not issued by this bastion");
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	r = cert_check(&c, user, target, now, reason, rlen);
	if (r == PIM_OK)
		r = cert_check_grant(st, &c, now, reason, rlen);
	return r;
}
