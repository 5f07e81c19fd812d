/* Internal to the session module: shared between session.c and watch.c. */
#ifndef PIMGATE_SESSION_INT_H
#define PIMGATE_SESSION_INT_H

#include <stdbool.h>

#include <sys/queue.h>

#include <event2/util.h>

#include "pimgate/policy.h"
#include "pimgate/store.h"

enum session_state {
	SESSION_OPEN = 1,
	SESSION_ENDING,
};

struct session {
	TAILQ_ENTRY(session) entry;
	struct session_mgr *mgr;
	enum session_state state;
	struct store_session row;
	struct admission adm;
	const struct session_ops *ops;
	void *conn;
	struct event *deadline_ev;
	struct event *idle_ev;
	struct event *warn_ev; /* the next warning before the deadline */
	int64_t last_traffic_us;
	int64_t opened_us; /* monotonic, for the duration metric */
	int64_t end_asked_ms; /* wall clock when the end was decided */
	int metrics_proto; /* enum metrics_proto of row.protocol */
	int recordings;
	char end_reason[16];
	int64_t ended_at;
	uint64_t drain_ticket; /* recordings written up to here first */
	bool end_written; /* the row's end is in the store */
	bool end_audited; /* the session.end event is in the store */
	/* The client certificate the person logged in with (PostgreSQL):
	 * re-checked with the grant, so that revoking it ends the
	 * session. "" if none. */
	char cert_serial[STORE_SERIAL_MAX];
};

TAILQ_HEAD(session_list, session);

/* Password checks cost ~20 ms of the loop each (Argon2id): at most
 * SESSION_PW_RATE a second (bursts of SESSION_PW_BURST) for all clients
 * of all front ends, and SESSION_PW_SOURCE_RATE (bursts of
 * SESSION_PW_SOURCE_BURST) per client address, tracked for the
 * SESSION_PW_SOURCES most recent addresses. */
#define SESSION_PW_RATE 10
#define SESSION_PW_BURST 20
#define SESSION_PW_SOURCE_RATE 2
#define SESSION_PW_SOURCE_BURST 6
#define SESSION_PW_SOURCES 256
/* Refused logins before authentication: audited one by one at most
 * SESSION_REFUSE_RATE a second per address (bursts of
 * SESSION_REFUSE_BURST); the rest are counted into the next entry. */
#define SESSION_REFUSE_RATE 2
#define SESSION_REFUSE_BURST 20

struct budget {
	double tokens; /* checks that may run now */
	int64_t refill_us;
};

struct pw_source {
	char addr[64];
	struct budget b;
	unsigned refused; /* attempts refused since the last audit entry */
	int64_t audited_us; /* when the last audit entry was written */
};

struct session_mgr {
	struct event_base *base;
	struct store *st;
	const struct config *cfg;
	struct budget pw_all;
	struct pw_source pw_src[SESSION_PW_SOURCES];
	struct pw_source refuse_src[SESSION_PW_SOURCES];
	struct session_list live;
	struct session_list closing; /* closed; end not yet stored */
	struct event *closing_ev; /* comes back for them */
	size_t nlive;
	struct event *poll_ev;
	int64_t data_version;
	int64_t last_expire_sweep;
};

void session_deadline_cb(evutil_socket_t fd, short what, void *arg);
void session_idle_cb(evutil_socket_t fd, short what, void *arg);
void session_arm_deadline(struct session *s);
void session_arm_warning(struct session *s);
void session_warn_cb(evutil_socket_t fd, short what, void *arg);
void session_free_events(struct session *s);
/* Re-applies the admission rule to S; ends S and returns false if its
 * grant is gone; on a store error keeps S and returns false. */
bool session_recheck(struct session *s);
bool session_write_end(struct session *s);
/* Stores the ends of closed sessions whose recordings are written;
 * comes back later for the rest (store locked, recordings queued). */
void session_finish_closing(struct session_mgr *m);

/* budget.c */
void session_budget_init(struct session_mgr *m);

#endif
