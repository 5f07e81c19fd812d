/* Change detection: the daemon notices what pimctl (or another node)
 * commits to the store, and re-checks every live session against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/policy.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/store.h"

#include "session_int.h"

static void session_recheck_all(struct session_mgr *m);

/* How often expired activations are marked as such in the store. */
#define EXPIRE_SWEEP_SECS 10
/* How soon closed sessions are looked at again. */
#define CLOSING_RETRY_US 20000

static void
session_move_deadline(struct session *s, const struct admission *next)
{
	char dl[32];

	s->adm = *next;
	s->row.deadline = next->deadline;
	if (store_session_set_deadline(s->mgr->st, s->row.id, next->deadline) !=
	    PIM_OK)
		log_warn("store failed moving deadline session=%lld: %s",
		    (long long)s->row.id, store_errmsg(s->mgr->st));
	instant_format(next->deadline, dl, sizeof(dl));
	log_info("session deadline moved session=%lld deadline=%s",
	    (long long)s->row.id, dl);
	session_arm_deadline(s);
}

/* True if the role's warning times differ between A and B. */
static bool
session_warnings_changed(const struct admission *a, const struct admission *b)
{
	return a->nwarn != b->nwarn ||
	       memcmp(a->warn_before, b->warn_before,
		   sizeof(a->warn_before[0]) * (size_t)a->nwarn) != 0;
}

/* An admin asked (pimctl kill) for S to end: end it. */
static bool
session_kill_requested(struct session *s)
{
	char by[STORE_NAME_MAX];

	if (store_session_kill_requested(
		s->mgr->st, s->row.id, by, sizeof(by)) != PIM_OK ||
	    by[0] == '\0')
		return false;
	log_info("session kill requested session=%lld by=%s",
	    (long long)s->row.id, by);
	session_end(s, END_KILLED, NULL);
	return true;
}

/* The certificate S was opened with, if any, has not been revoked since:
 * else S is ended. It is checked as of the session's start: its expiry
 * is the grant's end, which the deadline covers. */
static bool
session_cert_holds(struct session *s)
{
	char reason[POLICY_REASON_MAX];
	char msg[POLICY_REASON_MAX + 32];

	if (s->cert_serial[0] == '\0')
		return true;
	if (policy_cert_accept(s->mgr->st, s->cert_serial, s->row.user,
		s->row.target, s->row.start, reason,
		sizeof(reason)) != PIM_EDENIED)
		return true; /* a store failure ends nothing */
	snprintf(msg, sizeof(msg), "pimgate: %s; session ended", reason);
	session_end(s, END_REVOKED, msg);
	return false;
}

bool
session_recheck(struct session *s)
{
	struct admission next;
	const char *end_reason = END_REVOKED;
	char reason[POLICY_REASON_MAX];
	char msg[POLICY_REASON_MAX + STORE_NAME_MAX + 64];
	int rc;

	if (s->state != SESSION_OPEN)
		return false;
	if (session_kill_requested(s) || !session_cert_holds(s))
		return false;
	rc = policy_recheck(s->mgr->st, &s->adm, s->row.start, clock_now(),
	    &next, &end_reason, reason, sizeof(reason));
	if (rc == PIM_OK) {
		if (next.deadline != s->adm.deadline)
			session_move_deadline(s, &next);
		else if (session_warnings_changed(&s->adm, &next)) {
			s->adm = next;
			session_arm_warning(s);
		}
		return true;
	}
	if (rc != PIM_EDENIED) {
		log_warn("store failed re-checking session=%lld: %s",
		    (long long)s->row.id, store_errmsg(s->mgr->st));
		return false;
	}
	if (strcmp(end_reason, END_EXPIRED) == 0)
		snprintf(msg, sizeof(msg),
		    "pimgate: your access window for %s has closed (%s); "
		    "session ended",
		    s->row.target, reason);
	else
		snprintf(
		    msg, sizeof(msg), "pimgate: %s; session ended", reason);
	session_end(s, end_reason, msg);
	return false;
}

void
session_mgr_changed(struct session_mgr *m)
{
	session_recheck_all(m);
}

static void
session_recheck_all(struct session_mgr *m)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&m->live); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_recheck(s);
	}
}

/* Pending requests whose approval time ran out, found by a sweep. */
struct lapsed {
	struct store_activation a[32];
	int n;
};

static int
session_lapsed_cb(const struct store_activation *a, void *arg)
{
	struct lapsed *l = arg;

	if (l->n < 32)
		l->a[l->n++] = *a;
	return 0;
}

/* A request nobody approved in time is denied, with an audit event
 * (which notifications follow), so its requester learns it lapsed. */
static void
session_deny_lapsed(struct session_mgr *m, int64_t now)
{
	struct lapsed *l = calloc(1, sizeof(*l));
	char detail[128];
	int i;

	if (l == NULL)
		return;
	if (store_activation_lapsed(m->st, now, 32, session_lapsed_cb, l) !=
	    PIM_OK)
		l->n = 0;
	for (i = 0; i < l->n; i++) {
		snprintf(detail, sizeof(detail),
		    "deny request %lld (not approved in time)",
		    (long long)l->a[i].id);
		if (store_begin(m->st) != PIM_OK)
			break;
		if (store_activation_transition(m->st, l->a[i].id, ACT_PENDING,
			ACT_DENIED, now) == PIM_OK &&
		    audit_log(m->st, "pimgated", AUDIT_ADMIN, "ok",
			l->a[i].user, NULL, l->a[i].role, 0, NULL,
			detail) == PIM_OK)
			store_commit(m->st);
		else
			store_rollback(m->st);
	}
	free(l);
}

static void
session_expire_sweep(struct session_mgr *m)
{
	int64_t now = clock_now();
	int n = 0;

	if (now - m->last_expire_sweep < EXPIRE_SWEEP_SECS)
		return;
	m->last_expire_sweep = now;
	if (store_activation_expire(m->st, now, &n) != PIM_OK)
		log_warn("store failed expiring activations: %s",
		    store_errmsg(m->st));
	else if (n > 0)
		log_verbose("activations expired count=%d", n);
	session_deny_lapsed(m, now);
}

static void
session_closing_cb(evutil_socket_t fd, short what, void *arg)
{
	session_finish_closing(arg);
}

void
session_finish_closing(struct session_mgr *m)
{
	struct timeval tv = {.tv_usec = CLOSING_RETRY_US};
	struct session *s, *next;

	for (s = TAILQ_FIRST(&m->closing); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!cast_writer_reached(s->drain_ticket))
			continue;
		if (!session_write_end(s)) {
			/* The store is unwell: give it a second; the others
			 * are tried all the same. */
			tv.tv_sec = 1;
			tv.tv_usec = 0;
			continue;
		}
		TAILQ_REMOVE(&m->closing, s, entry);
		free(s);
	}
	if (TAILQ_EMPTY(&m->closing))
		return;
	if (m->closing_ev == NULL)
		m->closing_ev = evtimer_new(m->base, session_closing_cb, m);
	if (m->closing_ev != NULL && !evtimer_pending(m->closing_ev, NULL))
		evtimer_add(m->closing_ev, &tv);
}

static void
session_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_mgr *m = arg;
	int64_t v;

	session_finish_closing(m);
	if (store_data_version(m->st, &v) != PIM_OK) {
		log_warn("store poll failed: %s", store_errmsg(m->st));
		return;
	}
	if (v != m->data_version) {
		m->data_version = v;
		log_debug("store changed data_version=%lld", (long long)v);
		session_recheck_all(m);
	}
	session_expire_sweep(m);
}

int
session_mgr_start(struct session_mgr *m)
{
	struct timeval tv;

	tv.tv_sec = m->cfg->poll_ms / 1000;
	tv.tv_usec = (m->cfg->poll_ms % 1000) * 1000;
	if (store_data_version(m->st, &m->data_version) != PIM_OK)
		return PIM_ESTORE;
	m->poll_ev = event_new(m->base, -1, EV_PERSIST, session_poll_cb, m);
	if (m->poll_ev == NULL || event_add(m->poll_ev, &tv) != 0)
		return PIM_ENOMEM;
	return PIM_OK;
}
