/* One client connection: libssh driven from libevent readiness. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/session.h"
#include "pimgate/str.h"

#include "ssh_int.h"

/* ssh_event_dopoll reads at most a few KiB a call: call it this many
 * times per wakeup before yielding to other connections. */
#define PUMP_ROUNDS 16
/* Ending: how long a client gets to read its last output and confirm
 * its channels' close before it is dropped. A session ends within one
 * second of its deadline (or of a kill seen at the next store poll, 200
 * ms by default), so a client that does not read is not waited for. */
#define END_GRACE_MS 400
/* A target that failed right after login ends nothing the person was
 * promised: give the client time to open the channel that says why. */
#define UPSTREAM_GRACE_MS 1500

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_kick_cb(evutil_socket_t fd, short what, void *arg);

static void
conn_set_timer(struct conn *c, int64_t ms)
{
	struct timeval tv = {
	    .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(c->timer, &tv);
}

static int64_t
conn_end_grace_ms(const struct conn *c)
{
	return c->wait_first_channel ? UPSTREAM_GRACE_MS : END_GRACE_MS;
}

static int
conn_events(struct conn *c)
{
	struct event_base *base = c->front->base;

	c->rev = event_new(base, c->fd, EV_READ | EV_PERSIST, conn_io_cb, c);
	c->wev = event_new(base, c->fd, EV_WRITE, conn_io_cb, c);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	c->kick = event_new(base, -1, 0, conn_kick_cb, c);
	c->flush = evtimer_new(base, conn_kick_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->timer == NULL ||
	    c->kick == NULL || c->flush == NULL)
		return PIM_ENOMEM;
	event_add(c->rev, NULL);
	conn_set_timer(c, c->front->cfg->login_grace * 1000);
	return PIM_OK;
}

/* Starts the handshake: libssh gets a dup of the socket (it closes its
 * copy by itself); libevent watches the original. */
static int
conn_start_ssh(struct conn *c, int fd)
{
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	c->s = ssh_new();
	if (c->s == NULL || dupfd < 0) {
		if (dupfd >= 0)
			close(dupfd);
		return PIM_ENOMEM;
	}
	if (ssh_bind_accept_fd(c->front->bind, c->s, dupfd) != SSH_OK) {
		log_warn("ssh accept failed peer=%s: %s", c->peer,
		    ssh_get_error(c->front->bind));
		close(dupfd);
		return PIM_EIO;
	}
	ssh_set_blocking(c->s, 0);
	auth_install(c);
	ssh_set_auth_methods(
	    c->s, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_handle_key_exchange(c->s) == SSH_ERROR) {
		log_verbose("key exchange failed peer=%s: %s", c->peer,
		    ssh_get_error(c->s));
		return PIM_EIO;
	}
	/* Only now does the session have a poll context to add. */
	c->ev = ssh_event_new();
	if (c->ev == NULL || ssh_event_add_session(c->ev, c->s) != SSH_OK)
		return PIM_ENOMEM;
	return PIM_OK;
}

void
conn_accept(struct ssh_front *f, int fd, const char *peer)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return;
	}
	if (f->unauthed >= SSH_MAX_UNAUTHED) {
		log_warn("connection refused peer=%s reason=\"%zu connections "
			 "are still authenticating\"",
		    peer, f->unauthed);
		metrics_connection_refused(
		    METRICS_SSH, METRICS_REFUSED_CAPACITY);
		close(fd);
		free(c);
		return;
	}
	metrics_connection_accepted(METRICS_SSH);
	c->front = f;
	c->fd = fd;
	c->state = CONN_KEX;
	c->counted_unauthed = true;
	f->unauthed++;
	str_copy(c->peer, peer, sizeof(c->peer));
	TAILQ_INIT(&c->chans);
	LIST_INSERT_HEAD(&f->conns, c, entry);
	f->nconns++;
	if (conn_events(c) != PIM_OK || conn_start_ssh(c, fd) != PIM_OK) {
		conn_free(c);
		return;
	}
	conn_pump(c);
}

/* ---- session ops: the session module asks us to end ---- */

static void
conn_session_end(void *arg, const char *reason, const char *message)
{
	struct conn *c = arg;

	if (c->state >= CONN_ENDING)
		return;
	str_copy(c->end_message, message, sizeof(c->end_message));
	/* A target that failed right after login: the client is about to
	 * open the channel that can carry the reason. */
	c->wait_first_channel = strcmp(reason, END_UPSTREAM) == 0;
	c->state = CONN_ENDING;
	c->ending_since_us = clock_mono_us();
	conn_set_timer(c, conn_end_grace_ms(c));
	conn_kick(c);
}

/* A notice for the person (the end is near): shown on their terminals
 * at the next pump. */
static void
conn_session_notice(void *arg, const char *message)
{
	struct conn *c = arg;

	str_copy(c->notice, message, sizeof(c->notice));
	c->notice_pending = true;
	conn_kick(c);
}

static const struct session_ops conn_session_ops = {
    .end = conn_session_end,
    .notice = conn_session_notice,
};

/* ---- admission, once authenticated ---- */

void
conn_admit(struct conn *c)
{
	char reason[POLICY_REASON_MAX];
	int rc;

	c->admitted_checked = true;
	evtimer_del(c->timer);
	if (c->target[0] == '\0') {
		/* No target: the person's own commands (status, activate...).
		 */
		conn_set_timer(c, c->front->cfg->login_grace * 1000);
		c->selfsvc = true;
		return;
	}
	rc = session_open(c->front->mgr, c->user, c->target, "ssh", c->peer,
	    &conn_session_ops, c, &c->sess, reason, sizeof(reason));
	if (rc != PIM_OK) {
		conn_set_timer(c, c->front->cfg->login_grace * 1000);
		snprintf(c->refusal, sizeof(c->refusal),
		    "pimgate: access to %s refused: %s", c->target, reason);
		log_info("admission refused user=%s target=%s peer=%s "
			 "reason=\"%s\"",
		    c->user, c->target, c->peer, reason);
		metrics_connection_refused(
		    METRICS_SSH, rc == PIM_EDENIED ? METRICS_REFUSED_ADMISSION
						   : METRICS_REFUSED_STORE);
		return;
	}
	if (upstream_start(c, reason, sizeof(reason)) != PIM_OK) {
		snprintf(c->refusal, sizeof(c->refusal), "pimgate: %s", reason);
		session_end(c->sess, END_UPSTREAM, c->refusal);
	}
}

/* ---- the pump ---- */

static bool
conn_ssh_pump(struct conn *c)
{
	int i, rc;

	for (i = 0; i < PUMP_ROUNDS; i++) {
		rc = ssh_event_dopoll(c->ev, 0);
		if (rc == SSH_ERROR ||
		    (ssh_get_status(c->s) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
			return false;
		if (rc == SSH_AGAIN)
			break;
	}
	return true;
}

/* A failed upstream ends the session; the reason reaches the person on
 * their channel, even one opened after the failure. */
static void
conn_check_upstream(struct conn *c)
{
	char msg[SSH_MSG_MAX];

	if (c->up == NULL || c->up->state != UP_FAILED || c->sess == NULL ||
	    c->state != CONN_OPEN)
		return;
	snprintf(msg, sizeof(msg), "pimgate: %s", c->up->error);
	session_end(c->sess, END_UPSTREAM, msg);
}

static void
conn_steps(struct conn *c)
{
	struct chpair *p, *next;

	if (c->state == CONN_KEX && c->authed)
		c->state = CONN_OPEN;
	if (c->state >= CONN_OPEN && !c->admitted_checked)
		conn_admit(c);
	if (c->up != NULL)
		upstream_step(c->up);
	conn_check_upstream(c);
	if (c->notice_pending) {
		c->notice_pending = false;
		TAILQ_FOREACH(p, &c->chans, entry)
		chpair_notice(p, c->notice);
	}
	for (p = TAILQ_FIRST(&c->chans); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (c->state == CONN_ENDING && p->state != CH_DONE)
			chpair_end(p, c->end_message);
		chpair_step(p);
		/* When ending, a pair stays until the client confirms its
		 * close, so that nothing it has yet to read is reset. */
		if (p->state == CH_DONE &&
		    (c->state != CONN_ENDING || p->c_closed))
			chpair_free(p);
		if (c->client_gone)
			return;
	}
}

static uint64_t
conn_mark(const struct conn *c)
{
	const struct chpair *p;
	uint64_t m = (uint64_t)c->nchans;

	TAILQ_FOREACH(p, &c->chans, entry)
	m = m * 31 + chpair_mark(p);
	return m;
}

/* Channels share the sessions: relaying one may take in what another
 * was waiting for (data, a window adjust) with no socket event to tell,
 * so go round again while anything moved, and come back soon if it
 * still does. */
static void
conn_rounds(struct conn *c)
{
	uint64_t before;
	int round = 0;

	do {
		if (c->client_gone)
			return;
		before = conn_mark(c);
		conn_steps(c);
	} while (!c->client_gone && conn_mark(c) != before && ++round < 8);
	if (round == 8)
		conn_kick(c);
}

/* While ending, a connection that never opened a channel gets this long
 * to open one that carries the message (a failure right after login). */
#define FIRST_CHANNEL_WAIT_US 3000000

/* Ending: once every channel has been told, closed on both sides, and
 * the output has left (ssh_disconnect discards unsent output), drop the
 * connection; clients such as "ssh -N" never hang up by themselves.
 * Whatever is left after the grace (a client that stopped reading never
 * confirms a close) is dropped anyway. The drop itself is conn_free's:
 * ssh_disconnect frees every channel of the session, so it must come
 * after the pairs have let go of theirs. */
static void
conn_check_ended(struct conn *c)
{
	int64_t now = clock_mono_us();
	int64_t waited_ms = (now - c->ending_since_us) / 1000;
	int64_t grace_ms = conn_end_grace_ms(c);
	bool young = c->next_no == 0 && c->wait_first_channel &&
		     now - c->authed_at_us < FIRST_CHANNEL_WAIT_US;
	bool told = TAILQ_EMPTY(&c->chans) && !young &&
		    !(ssh_get_status(c->s) & SSH_WRITE_PENDING);

	if (c->state != CONN_ENDING)
		return;
	if (!told && waited_ms < grace_ms) {
		/* Come back: the timer may have fired a little early. */
		conn_set_timer(c, grace_ms - waited_ms + 1);
		return;
	}
	if (!told)
		log_verbose("client did not take the end in time; dropping it "
			    "peer=%s waited_ms=%lld",
		    c->peer, (long long)waited_ms);
	c->say_bye = true;
	c->client_gone = true;
}

void
conn_pump(struct conn *c)
{
	if (c->in_pump || c->state == CONN_DEAD)
		return;
	c->in_pump = true;
	if (!conn_ssh_pump(c))
		c->client_gone = true;
	if (!c->client_gone && c->up != NULL)
		upstream_pump(c->up);
	conn_rounds(c);
	if (!c->client_gone)
		conn_check_ended(c);
	c->in_pump = false;
	if (c->client_gone) {
		conn_free(c);
		return;
	}
	conn_update_interest(c);
}

void
conn_update_interest(struct conn *c)
{
	if (ssh_get_status(c->s) & SSH_WRITE_PENDING)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
	if (c->up != NULL)
		upstream_update_interest(c->up);
}

void
conn_kick(struct conn *c)
{
	if (c->kick != NULL)
		event_active(c->kick, EV_TIMEOUT, 0);
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_pump(arg);
}

static void
conn_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_pump(arg);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->state < CONN_OPEN ||
	    (c->sess == NULL && TAILQ_EMPTY(&c->chans))) {
		log_verbose("login grace time over peer=%s", c->peer);
		conn_free(c);
		return;
	}
	conn_pump(c);
}

/* ---- teardown ---- */

static void
conn_free_events(struct conn *c)
{
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->kick != NULL)
		event_free(c->kick);
	if (c->flush != NULL)
		event_free(c->flush);
}

void
conn_authed(struct conn *c)
{
	if (c->counted_unauthed)
		c->front->unauthed--;
	c->counted_unauthed = false;
}

void
conn_free(struct conn *c)
{
	struct chpair *p;

	conn_authed(c);
	/* Failed attempts and never in: the login was refused. */
	if (!c->authed && c->auth_tries > 0)
		metrics_connection_refused(METRICS_SSH, METRICS_REFUSED_AUTH);
	c->state = CONN_DEAD;
	while ((p = TAILQ_FIRST(&c->chans)) != NULL)
		chpair_free(p);
	if (c->up != NULL)
		upstream_free(c->up);
	if (c->sess != NULL)
		session_close(c->sess);
	if (c->ev != NULL) {
		ssh_event_remove_session(c->ev, c->s);
		ssh_event_free(c->ev);
	}
	/* Only now, with every pair's channels let go: ssh_disconnect frees
	 * the session's channels. */
	if (c->s != NULL) {
		/* Make the DISCONNECT message go out before the socket closes
		 * (a client that stops reading loses it: nothing waits). */
		if (c->say_bye)
			ssh_set_fd_towrite(c->s);
		ssh_disconnect(c->s);
		ssh_free(c->s);
	}
	conn_free_events(c);
	close(c->fd);
	LIST_REMOVE(c, entry);
	c->front->nconns--;
	log_verbose("connection closed proto=ssh peer=%s user=%s", c->peer,
	    c->user[0] ? c->user : "-");
	free(c);
}
