/* Internal to the SSH front end.
 *
 * One client connection (struct conn) owns a libssh server session, at
 * most one upstream libssh client session (struct upstream) and a list
 * of channel pairs (struct chpair): one client channel relayed to one
 * upstream channel.
 *
 * libssh runs callbacks from inside nearly every call, including writes
 * to the other leg. Callbacks therefore only move data into bounded
 * buffers or set flags; everything else (opening, forwarding EOF and
 * close, freeing) happens at top level in conn_pump(), which runs after
 * every wakeup and checks conn->dead after each libssh call.
 *
 * Connection states: KEX -> AUTH (key exchange done, waiting for a
 * successful login) -> OPEN (authenticated; admitted or carrying a
 * refusal to show) -> ENDING (session ended: telling the person, closing
 * channels) -> DEAD (freed at the end of the pump).
 *
 * Channel pair states: see enum ch_state. */
#ifndef PIMGATE_SSH_INT_H
#define PIMGATE_SSH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "pimgate/store.h"

#define SSH_RELAY_BUF (256 * 1024) /* per direction, per channel */
#define SSH_MAX_CHANNELS 10
#define SSH_MAX_AUTH_TRIES 6
#define SSH_MAX_ENV 8
/* Connections not yet authenticated, at most (like sshd's MaxStartups). */
#define SSH_MAX_UNAUTHED 64
#define SSH_MSG_MAX 512

struct session_mgr;
struct net_listener;
struct session;
struct config;
struct vault;
struct cast_writer;
struct ca;

struct ssh_front {
	struct event_base *base;
	struct session_mgr *mgr;
	const struct config *cfg;
	struct vault *vault;
	struct ca *ca; /* signs client certificates (db-cert) */
	ssh_bind bind;
	struct evdns_base *dns; /* NULL: targets by address only */
	int login_port; /* the port people log in on */
	int pg_port; /* the PostgreSQL listener's, for self-service text */
	struct net_listener *listener;
	LIST_HEAD(, conn) conns;
	size_t nconns;
	size_t unauthed; /* connections not yet authenticated */
};

enum up_state {
	UP_RESOLVING = 1, /* looking up the target's host name */
	UP_TCP, /* non-blocking TCP connect in progress */
	UP_CONNECT, /* SSH handshake */
	UP_AUTH, /* public-key authentication */
	UP_READY, /* channels may be opened */
	UP_FAILED, /* error[] says why */
};

struct upstream {
	struct conn *conn;
	enum up_state state;
	int fd; /* watched by libevent; libssh has a dup */
	struct event *rev, *wev;
	ssh_session s;
	ssh_event ev;
	ssh_key identity;
	ssh_key pinned;
	struct store_target target;
	struct evdns_getaddrinfo_request *dns_req;
	struct evutil_addrinfo *ai, *ai_next; /* addresses, next to try */
	int dial_errno;
	char error[256];
};

enum ch_state {
	CH_WAIT_REQUEST = 1, /* client opened; no shell/exec/subsystem yet */
	CH_WAIT_UPSTREAM, /* request known; upstream not ready */
	CH_OPENING, /* upstream channel open in progress */
	CH_PTY, /* upstream pty request in progress */
	CH_ENV, /* upstream env requests */
	CH_START, /* upstream shell/exec/subsystem request */
	CH_PROMPT, /* self-service: the interactive prompt */
	CH_INPUT, /* self-service: reading a command's stdin to its EOF */
	CH_RUNNING, /* relaying */
	CH_FAILING, /* telling the client error[] */
	CH_CLOSING, /* upstream done; draining to the client */
	CH_LOCAL, /* a self-service answer draining to the client */
	CH_DONE, /* both sides closed; to be freed */
};

enum ch_req {
	REQ_NONE = 0,
	REQ_SHELL,
	REQ_EXEC,
	REQ_SFTP,
	REQ_FORWARD, /* direct-tcpip: command holds the destination host */
};

struct chpair {
	TAILQ_ENTRY(chpair) entry;
	struct conn *conn;
	int no;
	enum ch_state state;
	ssh_channel cch; /* client side */
	ssh_channel uch; /* upstream side */
	struct ssh_channel_callbacks_struct ccb;
	struct ssh_channel_callbacks_struct ucb;

	enum ch_req req;
	char *command; /* exec command, or a forward's destination host */
	int fwd_port;
	char *fwd_orig; /* a forward's originator address */
	int fwd_orig_port;
	bool pty;
	char term[64];
	int cols, rows, pxw, pxh;
	bool resize_pending;
	int nenv, env_sent;
	char *env_name[SSH_MAX_ENV];
	char *env_value[SSH_MAX_ENV];

	struct evbuffer *c2u; /* client -> upstream */
	/* Bytes taken before the connection had its session (data can come
	 * in the same round as the login): counted once it has one. */
	size_t uncounted_in, uncounted_out;
	struct evbuffer *u2c; /* upstream stdout -> client */
	struct evbuffer *u2c_err; /* upstream stderr -> client */
	bool c_eof, c_eof_sent, c_closed;
	bool u_eof, u_closed;
	bool exit_status_set;
	int exit_status;
	bool exit_signal_set;
	bool exit_core;
	char exit_signal[32];

	char error[SSH_MSG_MAX]; /* for CH_FAILING */
	int64_t fail_since_us;
	struct cast_writer *cast;
	int64_t cast_start_us;
	int64_t cast_flushed_us;
	bool cast_dirty;
	struct ssh_prompt *prompt; /* CH_PROMPT's line editor */
	bool cast_failed;
};

enum conn_state {
	CONN_KEX = 1,
	CONN_AUTH,
	CONN_OPEN,
	CONN_ENDING,
	CONN_DEAD,
};

struct conn {
	LIST_ENTRY(conn) entry;
	struct ssh_front *front;
	enum conn_state state;
	ssh_session s;
	ssh_event ev;
	int fd; /* watched by libevent; libssh has a dup */
	struct event *rev, *wev;
	struct event *timer; /* login grace, then closing grace */
	struct event *kick; /* runs a pump soon */
	struct event *flush; /* a pump when recordings are due a flush */
	struct ssh_server_callbacks_struct scb;
	char peer[64];
	char user[STORE_NAME_MAX];
	char target[STORE_NAME_MAX];
	bool authed;
	bool selfsvc; /* logged in without a target: self-service commands */
	int64_t authed_at_us;
	bool wait_first_channel; /* ending: a channel may yet carry why */
	int64_t recorded_done; /* recording bytes of closed channels */
	bool counted_unauthed;
	bool admitted_checked;
	int auth_tries;
	/* --mfa-at-login: first factor done, a one-time code is due. */
	bool mfa_pending;
	int mfa_tries; /* codes refused on this connection */
	int64_t mfa_user_id;
	char mfa_method[16]; /* the first factor: "password", "publickey" */
	char mfa_user[STORE_NAME_MAX];
	char mfa_target[STORE_NAME_MAX];
	char refusal[SSH_MSG_MAX]; /* admission refused: shown on a channel */
	struct session *sess;
	struct upstream *up;
	TAILQ_HEAD(, chpair) chans;
	int nchans;
	int next_no;
	bool in_pump;
	char end_message[SSH_MSG_MAX];
	char notice[SSH_MSG_MAX]; /* for the person's terminals */
	bool notice_pending;
	int64_t ending_since_us;
	bool client_gone;
	bool say_bye; /* ended by us: conn_free sends DISCONNECT at once */
};

/* conn.c */
void conn_accept(struct ssh_front *f, int fd, const char *peer);
void conn_pump(struct conn *c);
void conn_kick(struct conn *c);
void conn_update_interest(struct conn *c);
void conn_free(struct conn *c);
/* Applies the admission rule once the person is authenticated (done by
 * the pump; a forwarding request that comes first may do it sooner). */
void conn_admit(struct conn *c);
/* The connection no longer counts as authenticating. */
void conn_authed(struct conn *c);

/* keys.c */
/* Imports an OpenSSH public key line "TYPE BASE64 [comment]". */
int sshkey_from_line(const char *line, ssh_key *out);

/* auth.c */
void auth_install(struct conn *c);
/* Records a successful login (audited with DETAIL). */
void auth_login_ok(
    struct conn *c, const char *user, const char *target, const char *detail);

/* mfa.c */
/* After USER's correct first factor (METHOD): 1 if USER enrolled with
 * --mfa-at-login (a one-time code is now due by keyboard-interactive), 0
 * if not, -1 if the store failed. */
int mfa_first_factor(
    struct conn *c, const char *user, const char *target, const char *method);
/* Answers MSG if it is keyboard-interactive authentication while a code
 * is due; true if answered. */
bool auth_kbdint_message(struct conn *c, ssh_message msg);

/* upstream.c */
int upstream_start(struct conn *c, char *err, size_t errlen);
void upstream_connected(struct upstream *u);
void upstream_fail(struct upstream *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void upstream_step(struct upstream *u);
void upstream_pump(struct upstream *u);
void upstream_update_interest(struct upstream *u);
void upstream_free(struct upstream *u);

/* dial.c */
void dial_start(struct upstream *u);
void dial_cancel(struct upstream *u);
void dial_close(struct upstream *u);

/* selfsvc.c */
/* Runs the self-service command of P (an exec request) and queues its
 * answer for the client (state CH_LOCAL). */
void ssh_selfsvc_channel(struct chpair *p);
/* Queues TEXT for P's client ("\n" as "\r\n" on a terminal). */
void ssh_selfsvc_out(struct chpair *p, const char *text, size_t len);
/* Runs one self-service command for P's user; its answer is queued.
 * Returns its exit status. */
int ssh_selfsvc_run(struct chpair *p, int argc, char **argv);
/* Reads the standard input of P's command (db-cert) until EOF, then
 * runs it and queues its answer (state CH_LOCAL). */
void ssh_selfsvc_input_step(struct chpair *p);
/* True if ARGV needs a one-time code the person has not given. */
bool ssh_selfsvc_needs_code(struct chpair *p, int argc, char **argv);
/* Runs the interactive prompt of P: keys in, answers out. */
void ssh_prompt_step(struct chpair *p);
void ssh_prompt_free(struct ssh_prompt *pr);
/* "ssh -t USER@bastion activate ..." whose role needs a code: ask for
 * it without echo, run the command with it, end. Takes ARGV. */
bool ssh_prompt_for_code(struct chpair *p, char **argv, int argc);

/* forward.c */
void forward_install(struct conn *c);

/* channel.c */
struct chpair *chpair_open(struct conn *c);
void chpair_step(struct chpair *p);
void chpair_end(struct chpair *p, const char *message);
/* Shows MESSAGE on the pair's terminal (pty channels only), recorded. */
void chpair_notice(struct chpair *p, const char *message);
void chpair_free(struct chpair *p);
/* Writes what P has queued for its client as far as the window allows;
 * false if the client's session failed. */
bool chpair_flush_local(struct chpair *p);
/* True if the recordings disk keeps [recording] min_free. */
/* Changes whenever the pair's buffers, windows or state change. */
uint64_t chpair_mark(const struct chpair *p);

#endif
