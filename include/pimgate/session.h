/* Live sessions: the registry of this node's connections, their
 * deadlines, idle timers and kills, and change detection in the store.
 *
 * A front end (ssh, later pg) opens a session once it knows who wants
 * which target; the session module decides (policy), writes the session
 * row and audit events, and from then on may ask the front end to end the
 * connection through its session_ops. The front end calls session_close()
 * when the connection is gone, which records the end and frees the
 * session.
 *
 * Life of a session: OPEN (relaying) -> ENDING (end requested, front end
 * tearing down) -> closed (freed). */
#ifndef PIMGATE_SESSION_H
#define PIMGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/audit.h"
#include "pimgate/policy.h"

struct event_base;
struct store;
struct config;
struct session_mgr;
struct session;

/* End reasons recorded in the store. */
#define END_EXIT "exit"
#define END_EXPIRED "expired"
#define END_REVOKED "revoked"
#define END_IDLE "idle"
#define END_KILLED "killed"
#define END_UPSTREAM "upstream-error"
#define END_SHUTDOWN "shutdown"
#define END_RECORDING "recording-error"

struct session_ops {
	/* Show MESSAGE (one line) to the person, then close the connection
	 * and call session_close() when it is gone. Called once. */
	void (*end)(void *conn, const char *reason, const char *message);
	/* Show MESSAGE (one line) to the person; the session goes on. */
	void (*notice)(void *conn, const char *message);
};

/* Creates the manager. ST and CFG are borrowed and must outlive it. */
struct session_mgr *session_mgr_new(
    struct event_base *base, struct store *st, const struct config *cfg);
/* Starts watching the store for changes made by others. */
int session_mgr_start(struct session_mgr *m);
/* Ends every live session with END_SHUTDOWN. */
void session_mgr_shutdown(struct session_mgr *m);
/* Frees the manager; every session must be closed by then. */
void session_mgr_free(struct session_mgr *m);
size_t session_mgr_live(const struct session_mgr *m);
/* This node changed the store itself (self-service): re-check the live
 * sessions now; its own writes do not show in the store's change
 * counter. */
void session_mgr_changed(struct session_mgr *m);
struct store *session_mgr_store(struct session_mgr *m);

/* Authentication, for front ends (audited by the caller through
 * session_audit_login). Returns PIM_OK if PASSWORD is USER's and USER is
 * enabled, PIM_EDENIED if not, PIM_ESTORE on store failure. Unknown users
 * cost the same time as known ones. */
int session_auth_password(
    struct session_mgr *m, const char *user, const char *password);
/* Password checks are rationed for all front ends together (each costs
 * the loop ~20 ms): per client address and for the whole bastion.
 * session_pw_budget takes one check for a client at PEER ("ADDR:PORT")
 * and returns false if none is left; *SRC is that address's entry
 * either way. For a refused attempt, session_pw_refused returns how many
 * refused attempts to audit now (0: folded into a later entry). */
struct pw_source;
bool session_pw_budget(
    struct session_mgr *m, const char *peer, struct pw_source **src);
unsigned session_pw_refused(struct pw_source *src);
const char *session_pw_addr(const struct pw_source *src);
/* A login from PEER was refused before anyone authenticated: returns how
 * many refusals to audit now in one entry (this one and those folded
 * before it), or 0 if this one is only counted, so that a flood of bad
 * connections cannot flood the audit log. */
unsigned session_refusal_audit(struct session_mgr *m, const char *peer);
/* Calls CB with each public key line of USER (if enabled); stops early
 * when CB returns non-zero and returns that value; PIM_EDENIED if the user
 * is unknown or disabled. */
int session_auth_keys(struct session_mgr *m, const char *user,
    int (*cb)(const char *key, void *arg), void *arg);
/* Audits EVENT for a connection that has no session (yet). */
void session_mgr_audit(struct session_mgr *m, const char *event,
    const char *user, const char *target, const char *peer, const char *outcome,
    const char *detail);
void session_audit_login(struct session_mgr *m, const char *user,
    const char *target, const char *peer, const char *outcome,
    const char *detail);

/* Applies the admission rule for USER to TARGET now. On admission creates
 * the session (row, audit, timers) and returns PIM_OK with *OUT set; on
 * refusal PIM_EDENIED (or PIM_ESTORE) with a reason for the person, and
 * an audit entry. PEER is the client's address. */
int session_open(struct session_mgr *m, const char *user, const char *target,
    const char *protocol, const char *peer, const struct session_ops *ops,
    void *conn, struct session **out, char *reason, size_t rlen);

/* S was opened with the client certificate SERIAL: from now on it is
 * re-checked with the grant whenever the store changes, and S ends
 * (END_REVOKED) once the certificate is revoked. */
void session_set_cert(struct session *s, const char *serial);
int64_t session_id(const struct session *s);
const char *session_user(const struct session *s);
const char *session_target(const struct session *s);
const struct admission *session_admission(const struct session *s);
int64_t session_start_time(const struct session *s);
/* True if the role allows channels of KIND (enum store_channel). */
bool session_channel_allowed(const struct session *s, unsigned kind);
/* Traffic: resets the idle timer and counts bytes. */
void session_traffic(struct session *s, size_t in, size_t out);
/* Makes a new recording path for this session ("DIR/ID-N.EXT"). */
int session_recording_path(
    struct session *s, const char *ext, char *buf, size_t size);
/* The target of S and its sealed credential (*SECRET malloc'd, caller
 * frees). */
int session_target_info(struct session *s, struct store_target *t,
    unsigned char **secret, size_t *len);
/* True if the recordings disk keeps [recording] min_free: a new
 * recording may start (fail closed when not). */
bool session_recording_space(const struct session_mgr *m);
/* Registers a recording file; a store failure is returned. */
int session_add_recording(struct session *s, const char *path);
/* Audits EVENT (audit.h names) with OUTCOME and DETAIL for this session. */
void session_audit(struct session *s, const char *event, const char *outcome,
    const char *detail);
/* Asks for the session to end with REASON and MESSAGE (front end's
 * ops->end is called). Safe to call more than once: the first reason
 * wins. */
void session_end(struct session *s, const char *reason, const char *message);
/* The connection is gone: records the end (reason END_EXIT unless one was
 * set), audits it and frees S. */
void session_close(struct session *s);

#endif
