/* Live sessions: registry, deadlines, idle timers, kills. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/policy.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/store.h"
#include "pimgate/str.h"

#include "session_int.h"

static void session_arm_idle(struct session *s, int64_t secs);

struct session_mgr *
session_mgr_new(
    struct event_base *base, struct store *st, const struct config *cfg)
{
	struct session_mgr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->base = base;
	m->st = st;
	m->cfg = cfg;
	TAILQ_INIT(&m->live);
	TAILQ_INIT(&m->closing);
	session_budget_init(m);
	return m;
}

struct store *
session_mgr_store(struct session_mgr *m)
{
	return m->st;
}

size_t
session_mgr_live(const struct session_mgr *m)
{
	return m->nlive;
}

int64_t
session_id(const struct session *s)
{
	return s->row.id;
}

const char *
session_user(const struct session *s)
{
	return s->row.user;
}

const char *
session_target(const struct session *s)
{
	return s->row.target;
}

const struct admission *
session_admission(const struct session *s)
{
	return &s->adm;
}

int64_t
session_start_time(const struct session *s)
{
	return s->row.start;
}

bool
session_channel_allowed(const struct session *s, unsigned kind)
{
	return (s->adm.channels & kind) != 0;
}

/* ---- authentication ---- */

/* A valid Argon2id hash of a random password, so that an unknown user
 * costs the same work as a known one. */
static const char dummy_hash[] =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "2b0SzDMyVhH1YwrGlbh1E2sMd+Sj06nAx1ApBLIR9rU";

int
session_auth_password(
    struct session_mgr *m, const char *user, const char *password)
{
	struct store_user u;
	char hash[256];
	int rc;

	rc = store_user_get(m->st, user, &u);
	if (rc == PIM_OK && u.enabled)
		rc = store_user_password_hash(m->st, user, hash, sizeof(hash));
	else if (rc == PIM_OK || rc == PIM_ENOTFOUND)
		rc = PIM_ENOTFOUND;
	if (rc == PIM_ENOTFOUND) {
		policy_password_verify(dummy_hash, password);
		return PIM_EDENIED;
	}
	if (rc != PIM_OK)
		return PIM_ESTORE;
	return policy_password_verify(hash, password) == PIM_OK ? PIM_OK
								: PIM_EDENIED;
}

int
session_auth_keys(struct session_mgr *m, const char *user,
    int (*cb)(const char *key, void *arg), void *arg)
{
	struct store_user u;
	int rc;

	rc = store_user_get(m->st, user, &u);
	if (rc == PIM_ENOTFOUND || (rc == PIM_OK && !u.enabled))
		return PIM_EDENIED;
	if (rc != PIM_OK)
		return PIM_ESTORE;
	return store_user_keys(m->st, u.id, cb, arg);
}

void
session_audit_login(struct session_mgr *m, const char *user, const char *target,
    const char *peer, const char *outcome, const char *detail)
{
	session_mgr_audit(m, AUDIT_LOGIN, user, target, peer, outcome, detail);
}

void
session_mgr_audit(struct session_mgr *m, const char *event, const char *user,
    const char *target, const char *peer, const char *outcome,
    const char *detail)
{
	if (audit_log(m->st, user, event, outcome, user, target, NULL, 0, peer,
		detail) != PIM_OK)
		log_error("audit write failed: %s", store_errmsg(m->st));
}

/* ---- opening ---- */

static void
session_fill_row(struct session *s, const char *user, const char *target,
    const char *protocol, const char *peer, int64_t now)
{
	struct store_session *r = &s->row;

	r->user_id = s->adm.user_id;
	r->target_id = s->adm.target_id;
	r->role_id = s->adm.role_id;
	r->assignment_id = s->adm.assignment_id;
	r->activation_id = s->adm.activation_id;
	str_copy(r->user, user, sizeof(r->user));
	str_copy(r->target, target, sizeof(r->target));
	str_copy(r->role, s->adm.role, sizeof(r->role));
	str_copy(r->protocol, protocol, sizeof(r->protocol));
	str_copy(r->peer, peer, sizeof(r->peer));
	r->start = now;
	r->deadline = s->adm.deadline;
}

static int
session_admit(struct session_mgr *m, const char *user, const char *target,
    const char *peer, int64_t now, struct admission *adm, char *reason,
    size_t rlen)
{
	int rc;

	rc = policy_admit(m->st, user, target, now, adm, reason, rlen);
	if (audit_log(m->st, user, AUDIT_ADMIT, rc == PIM_OK ? "ok" : "refused",
		user, target, rc == PIM_OK ? adm->role : NULL, 0, peer,
		rc == PIM_OK ? "admitted" : reason) != PIM_OK &&
	    rc == PIM_OK) {
		/* No audit, no access. */
		str_copy(
		    reason, "the audit log cannot be written; try later", rlen);
		return PIM_ESTORE;
	}
	return rc;
}

static int
session_create(struct session_mgr *m, struct session *s, const char *peer,
    char *reason, size_t rlen)
{
	char dl[32];

	if (store_session_begin(m->st, &s->row) != PIM_OK ||
	    audit_log(m->st, s->row.user, AUDIT_SESSION_START, "ok",
		s->row.user, s->row.target, s->row.role, s->row.id, peer,
		NULL) != PIM_OK) {
		log_error(
		    "store failed opening session: %s", store_errmsg(m->st));
		str_copy(reason,
		    "the bastion's store is unavailable; try later", rlen);
		return PIM_ESTORE;
	}
	s->deadline_ev = evtimer_new(m->base, session_deadline_cb, s);
	s->idle_ev = evtimer_new(m->base, session_idle_cb, s);
	s->warn_ev = evtimer_new(m->base, session_warn_cb, s);
	if (s->deadline_ev == NULL || s->idle_ev == NULL ||
	    s->warn_ev == NULL) {
		str_copy(reason, "the bastion is out of memory", rlen);
		return PIM_ENOMEM;
	}
	instant_format(s->adm.deadline, dl, sizeof(dl));
	log_info("session opened session=%lld user=%s target=%s role=%s "
		 "deadline=%s",
	    (long long)s->row.id, s->row.user, s->row.target, s->row.role, dl);
	return PIM_OK;
}

int
session_open(struct session_mgr *m, const char *user, const char *target,
    const char *protocol, const char *peer, const struct session_ops *ops,
    void *conn, struct session **out, char *reason, size_t rlen)
{
	struct session *s = NULL;
	int64_t now = clock_now();
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		str_copy(reason, "the bastion is out of memory", rlen);
		return PIM_ENOMEM;
	}
	rc = session_admit(m, user, target, peer, now, &s->adm, reason, rlen);
	if (rc != PIM_OK)
		goto fail;
	s->mgr = m;
	s->ops = ops;
	s->conn = conn;
	s->state = SESSION_OPEN;
	s->last_traffic_us = clock_mono_us();
	session_fill_row(s, user, target, protocol, peer, now);
	rc = session_create(m, s, peer, reason, rlen);
	if (rc != PIM_OK)
		goto fail;
	TAILQ_INSERT_TAIL(&m->live, s, entry);
	m->nlive++;
	s->opened_us = clock_mono_us();
	s->metrics_proto = (int)metrics_proto_of(protocol);
	metrics_session_started((enum metrics_proto)s->metrics_proto);
	session_arm_deadline(s);
	session_arm_idle(s, s->adm.idle_timeout);
	*out = s;
	return PIM_OK;
fail:
	session_free_events(s);
	if (s->row.id != 0)
		store_session_end(m->st, s->row.id, now, END_UPSTREAM, 0, 0);
	free(s);
	return rc;
}

/* ---- timers ---- */

void
session_arm_deadline(struct session *s)
{
	int64_t ms = s->adm.deadline * 1000 - clock_now_ms();
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->deadline_ev, &tv);
	session_arm_warning(s);
}

static void
session_arm_idle(struct session *s, int64_t secs)
{
	struct timeval tv = {.tv_sec = secs};

	if (s->adm.idle_timeout > 0)
		evtimer_add(s->idle_ev, &tv);
}

void
session_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	/* The window may have moved (extend) since the timer was set. */
	if (session_recheck(s) && s->adm.deadline > clock_now()) {
		session_arm_deadline(s);
		return;
	}
	if (s->state == SESSION_OPEN)
		session_end(s, END_EXPIRED, NULL);
}

void
session_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int64_t idle_us = clock_mono_us() - s->last_traffic_us;
	int64_t limit_us = s->adm.idle_timeout * 1000000;

	if (idle_us < limit_us) {
		session_arm_idle(s, (limit_us - idle_us) / 1000000 + 1);
		return;
	}
	session_end(s, END_IDLE, NULL);
}

void
session_traffic(struct session *s, size_t in, size_t out)
{
	s->row.bytes_in += (int64_t)in;
	s->row.bytes_out += (int64_t)out;
	s->last_traffic_us = clock_mono_us();
	metrics_relayed((enum metrics_proto)s->metrics_proto, in, out);
}

/* ---- ending ---- */

static void
session_default_message(
    const struct session *s, const char *reason, char *buf, size_t size)
{
	char when[32];

	instant_format(clock_now(), when, sizeof(when));
	if (strcmp(reason, END_EXPIRED) == 0)
		snprintf(buf, size,
		    "pimgate: your access window for %s closed at %s; "
		    "session ended",
		    s->row.target, when);
	else if (strcmp(reason, END_REVOKED) == 0)
		snprintf(buf, size,
		    "pimgate: your access to %s was revoked; session ended",
		    s->row.target);
	else if (strcmp(reason, END_IDLE) == 0)
		snprintf(buf, size,
		    "pimgate: session to %s ended after %lld s without "
		    "activity",
		    s->row.target, (long long)s->adm.idle_timeout);
	else if (strcmp(reason, END_SHUTDOWN) == 0)
		snprintf(buf, size,
		    "pimgate: the bastion is shutting down; "
		    "session ended");
	else if (strcmp(reason, END_KILLED) == 0)
		snprintf(
		    buf, size, "pimgate: an administrator ended this session");
	else
		snprintf(buf, size, "pimgate: session ended (%s)", reason);
}

void
session_end(struct session *s, const char *reason, const char *message)
{
	char buf[POLICY_REASON_MAX + 64];

	if (s->state != SESSION_OPEN)
		return;
	s->state = SESSION_ENDING;
	str_copy(s->end_reason, reason, sizeof(s->end_reason));
	s->end_asked_ms = clock_now_ms();
	metrics_session_kill(reason);
	if (message == NULL) {
		session_default_message(s, reason, buf, sizeof(buf));
		message = buf;
	}
	log_info("session ending session=%lld user=%s target=%s reason=%s",
	    (long long)s->row.id, s->row.user, s->row.target, reason);
	evtimer_del(s->deadline_ev);
	evtimer_del(s->idle_ev);
	evtimer_del(s->warn_ev);
	s->ops->end(s->conn, reason, message);
}

void
session_free_events(struct session *s)
{
	if (s->deadline_ev != NULL)
		event_free(s->deadline_ev);
	if (s->idle_ev != NULL)
		event_free(s->idle_ev);
	if (s->warn_ev != NULL)
		event_free(s->warn_ev);
	s->deadline_ev = s->idle_ev = s->warn_ev = NULL;
}

/* Writes the end of S's row. A row someone else already ended (another
 * process on the same store) stays as it is: retrying cannot help. */
static void
session_write_end_row(struct session *s, const char *reason)
{
	struct session_mgr *m = s->mgr;
	int r = store_session_end(m->st, s->row.id, s->ended_at, reason,
	    s->row.bytes_in, s->row.bytes_out);

	if (r == PIM_ENOTFOUND)
		log_warn("session row was already ended elsewhere session=%lld "
			 "reason=%s",
		    (long long)s->row.id, reason);
	if (r == PIM_OK || r == PIM_ENOTFOUND)
		s->end_written = true;
}

/* Writes the end of S (row and audit event); what fails is retried from
 * the store watch. Returns true when both are written. */
bool
session_write_end(struct session *s)
{
	struct session_mgr *m = s->mgr;
	const char *reason = s->end_reason;

	if (!s->end_written)
		session_write_end_row(s, reason);
	if (!s->end_audited &&
	    audit_log(m->st, s->row.user, AUDIT_SESSION_END, "ok", s->row.user,
		s->row.target, s->row.role, s->row.id, s->row.peer,
		reason) == PIM_OK)
		s->end_audited = true;
	if (!s->end_written || !s->end_audited) {
		log_warn("store failed recording the end of session=%lld; "
			 "will retry: %s",
		    (long long)s->row.id, store_errmsg(m->st));
		return false;
	}
	return true;
}

/* The end in the metrics: the duration, and for a session the bastion
 * cut off, how long after its deadline (expiry: the window's end, or the
 * decision if the window closed early; revocation and kill: the
 * decision) it was gone. */
static void
session_metrics_end(const struct session *s)
{
	enum metrics_proto p = (enum metrics_proto)s->metrics_proto;
	const char *r = s->end_reason;
	int64_t now_ms = clock_now_ms(), from_ms = s->end_asked_ms;

	metrics_session_ended(
	    p, r, (double)(clock_mono_us() - s->opened_us) / 1e6);
	if (strcmp(r, END_EXPIRED) != 0 && strcmp(r, END_REVOKED) != 0 &&
	    strcmp(r, END_KILLED) != 0)
		return;
	if (strcmp(r, END_EXPIRED) == 0 && s->adm.deadline * 1000 < from_ms)
		from_ms = s->adm.deadline * 1000;
	metrics_session_kill_lag((double)(now_ms - from_ms) / 1e3);
}

void
session_close(struct session *s)
{
	struct session_mgr *m = s->mgr;

	if (s->end_reason[0] == '\0')
		str_copy(s->end_reason, END_EXIT, sizeof(s->end_reason));
	s->ended_at = clock_now();
	session_metrics_end(s);
	log_info("session closed session=%lld user=%s target=%s reason=%s "
		 "bytes_in=%lld bytes_out=%lld",
	    (long long)s->row.id, s->row.user, s->row.target, s->end_reason,
	    (long long)s->row.bytes_in, (long long)s->row.bytes_out);
	TAILQ_REMOVE(&m->live, s, entry);
	m->nlive--;
	session_free_events(s);
	/* The end is stored once the recordings are on disk, so whoever
	 * sees an ended session can read its whole recording. */
	s->drain_ticket = cast_writer_ticket();
	TAILQ_INSERT_TAIL(&m->closing, s, entry);
	session_finish_closing(m);
}

void
session_mgr_shutdown(struct session_mgr *m)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&m->live); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_end(s, END_SHUTDOWN, NULL);
	}
}

void
session_mgr_free(struct session_mgr *m)
{
	struct session *s;

	if (m == NULL)
		return;
	session_finish_closing(m);
	while ((s = TAILQ_FIRST(&m->closing)) != NULL) {
		log_error("the end of session=%lld could not be recorded",
		    (long long)s->row.id);
		TAILQ_REMOVE(&m->closing, s, entry);
		free(s);
	}
	if (m->closing_ev != NULL)
		event_free(m->closing_ev);
	if (m->poll_ev != NULL)
		event_free(m->poll_ev);
	free(m);
}

/* ---- recordings, channels, target ---- */

int
session_recording_path(
    struct session *s, const char *ext, char *buf, size_t size)
{
	int n = ++s->recordings;

	if (!str_printf(buf, size, "%s/%lld-%d.%s", s->mgr->cfg->recordings_dir,
		(long long)s->row.id, n, ext))
		return PIM_EINVAL;
	return PIM_OK;
}

int
session_add_recording(struct session *s, const char *path)
{
	if (s->row.recording[0] == '\0')
		str_copy(s->row.recording, path, sizeof(s->row.recording));
	return store_session_add_recording(s->mgr->st, s->row.id, path);
}

void
session_audit(struct session *s, const char *event, const char *outcome,
    const char *detail)
{
	if (audit_log(s->mgr->st, s->row.user, event, outcome, s->row.user,
		s->row.target, s->row.role, s->row.id, s->row.peer,
		detail) != PIM_OK)
		log_error("audit write failed: %s", store_errmsg(s->mgr->st));
}

int
session_target_info(struct session *s, struct store_target *t,
    unsigned char **secret, size_t *len)
{
	int rc;

	rc = store_target_get(s->mgr->st, s->row.target, t);
	if (rc == PIM_OK)
		rc = store_target_secret(s->mgr->st, t->id, secret, len);
	return rc;
}

void
session_set_cert(struct session *s, const char *serial)
{
	str_copy(s->cert_serial, serial, sizeof(s->cert_serial));
}

bool
session_recording_space(const struct session_mgr *m)
{
	struct statvfs sv;

	if (statvfs(m->cfg->recordings_dir, &sv) != 0)
		return false;
	return (int64_t)sv.f_bavail * (int64_t)sv.f_frsize >=
	       m->cfg->record_min_free;
}
