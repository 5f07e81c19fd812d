/* Internal to the PostgreSQL front end.
 *
 * One client connection (struct pgconn) goes through these states:
 *
 *   PREAMBLE  plain bytes on the socket: SSLRequest (answered 'S'),
 *             GSSENCRequest ('N'), CancelRequest (forwarded, then closed)
 *             or a plaintext startup (refused);
 *   TLS       the TLS handshake (a libevent OpenSSL bufferevent);
 *   STARTUP   waiting for the startup message inside TLS;
 *   PASSWORD  asked for the bastion password (where the config allows);
 *   UPSTREAM  admitted: connecting and logging in to the target;
 *   RELAY     relaying messages both ways;
 *   ENDING    the person was told why; flushing, then freed.
 *
 * The relay moves whole runs of messages between evbuffers and looks
 * only at the few message types it logs (Query, Parse, CommandComplete,
 * ErrorResponse) or rewrites (BackendKeyData). Each direction holds at
 * most PG_RELAY_BUF bytes in the destination's output before it stops
 * reading its source. */
#ifndef PIMGATE_PG_INT_H
#define PIMGATE_PG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "pimgate/store.h"

#define PG_RELAY_BUF (256 * 1024) /* per direction */
#define PG_STARTUP_MAX 10000 /* as PostgreSQL's own limit */
#define PG_MSG_PEEK (64 * 1024) /* logged message text, at most */
/* A longer Query is logged as its head and its tail, so that padding
 * cannot push the statement out of the log. */
#define PG_LONG_HEAD (32 * 1024)
#define PG_LONG_TAIL (31 * 1024)
#define PG_AUTH_MSG_MAX 8192 /* messages while logging in */
#define PG_MAX_UNAUTHED 256
/* ... of them from one address: one source cannot lock the others out. */
#define PG_MAX_UNAUTHED_PER_ADDR 16
/* Seconds to say what a connection is (before TLS): less than the
 * login's whole grace time. */
#define PG_PREAMBLE_SECS 10
#define PG_UPSTREAM_SECS 15 /* connect and log in to the target */
#define PG_QLOG_BACKLOG ((size_t)4 << 20)
#define PG_MSG_MAX 512 /* text shown to a person */

/* Protocol codes of the initial packets. */
#define PG_PROTO_V3 196608u /* 3.0 */
#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_CANCEL_REQUEST 80877102u

/* SQLSTATEs the gateway itself sends. */
#define PG_SQLSTATE_AUTHZ "28000" /* invalid authorization specification */
#define PG_SQLSTATE_PASSWORD "28P01"
#define PG_SQLSTATE_SHUTDOWN "57P01" /* admin shutdown: window closed */
#define PG_SQLSTATE_PROTOCOL "08P01"
#define PG_SQLSTATE_UPSTREAM "08006" /* connection failure */
#define PG_SQLSTATE_REJECTED "08004"
#define PG_SQLSTATE_FEATURE "0A000"

struct session_mgr;
struct session;
struct config;
struct vault;
struct cast_writer;
struct evdns_base;
struct net_listener;
struct scram;

struct pg_front {
	struct event_base *base;
	struct session_mgr *mgr;
	const struct config *cfg;
	struct vault *vault;
	SSL_CTX *tls; /* the listener's server context */
	struct evdns_base *dns;
	struct net_listener *listener;
	LIST_HEAD(, pgconn) conns;
	size_t nconns;
	size_t unauthed;
};

enum pg_state {
	PG_PREAMBLE,
	PG_TLS,
	PG_STARTUP,
	PG_PASSWORD,
	PG_UPSTREAM,
	PG_RELAY,
	PG_ENDING,
};

/* One direction of the relay. */
struct pgdir {
	size_t remain; /* bytes of the current message still to move */
	int64_t bytes;
	/* A Query too long to log whole, while it streams: its first
	 * PG_LONG_HEAD bytes, and its last PG_LONG_TAIL so far. */
	unsigned char *long_head;
	size_t long_head_len;
	size_t long_full; /* the message body's length, less its last NUL */
	unsigned char long_type; /* 'Q' or 'P' */
	unsigned char long_tail[PG_LONG_TAIL];
	size_t long_tail_len;
};

/* The upstream login. */
enum pg_up_state {
	UP_CONNECTING,
	UP_SSL_ANSWER, /* sent SSLRequest, waiting for 'S' */
	UP_HANDSHAKE, /* TLS */
	UP_AUTH, /* sent the startup message */
	UP_READY, /* AuthenticationOk seen: relaying */
};

struct pgconn {
	LIST_ENTRY(pgconn) entry;
	struct pg_front *front;
	enum pg_state state;
	int fd; /* the client socket, until the TLS bufferevent owns it */
	struct event *pre_ev;
	unsigned char pre[16]; /* an initial packet's first bytes */
	size_t pre_len;
	struct bufferevent *cli;
	struct bufferevent *up;
	struct event *timer; /* login grace, then the upstream login */
	struct event *retry; /* the query log's backlog has drained? */
	struct event *flush; /* the query log goes to disk */
	bool counted_unauthed;
	char peer[64];
	/* What the startup message asked for. */
	char user[STORE_NAME_MAX];
	char target[STORE_NAME_MAX];
	struct evbuffer *params; /* other startup parameters, passed on */
	/* The client certificate, if any. */
	bool has_cert;
	long verify; /* X509_V_OK or why the chain failed */
	char cert_user[STORE_NAME_MAX];
	char serial[STORE_SERIAL_MAX];
	char auth[16]; /* "certificate" or "password" */
	/* The admitted session and its target. */
	struct session *sess;
	struct store_target t;
	enum pg_up_state up_state;
	struct scram *scram;
	bool scram_done; /* the server proved it knows the password */
	unsigned char *secret; /* the upstream password, while logging in */
	size_t secret_len;
	uint32_t gw_pid, gw_key; /* the cancel key the client got */
	uint32_t up_pid, up_key; /* the upstream's */
	bool have_key; /* both keys are set: BackendKeyData seen */
	bool busy; /* a query runs: no ReadyForQuery since the last one */
	struct pgdir c2s, s2c;
	struct cast_writer *qlog;
	char notice[PG_MSG_MAX]; /* waiting for a message boundary */
	bool notice_pending;
	bool closing; /* free once the client's output is flushed */
	bool ending; /* the session ends: FATAL at the next boundary */
	char end_msg[PG_MSG_MAX];
	bool client_quit; /* the client sent Terminate */
	bool up_said_fatal; /* the target's last error was FATAL */
	bool protocol_error;
	bool qlog_failed;
	const char *end_reason; /* END_* of the session's end */
	int64_t seen_in, seen_out; /* traffic told to the session */
};

/* front.c */
void pgconn_free(struct pgconn *c);
/* Tells the person MSG as an ErrorResponse FATAL with SQLSTATE, then
 * closes once flushed (TLS established) or at once (preamble). */
void pgconn_refuse(struct pgconn *c, const char *sqlstate, const char *msg);
struct pgconn *pg_front_find_key(
    struct pg_front *f, uint32_t pid, uint32_t key);

/* conn.c: the client side up to admission */
void pgconn_start(struct pg_front *f, int fd, const char *peer);
void pgconn_authed(struct pgconn *c);
void pgconn_wipe_secret(struct pgconn *c);

/* password.c: GIVEN (modified: a trailing code is cut off) is USER's
 * password, or password and one-time code. PIM_OK, PIM_EDENIED with *WHY
 * for the person, PIM_ESTORE. */
int pg_password_check(struct pgconn *c, char *given, const char **why);

/* upstream.c */
void pg_upstream_start(struct pgconn *c);
/* Sends the upstream a CancelRequest for C's backend on a new
 * connection (fire and forget). */
void pg_upstream_cancel(struct pgconn *c);
/* Logging in to the target failed: tells the person (WHY says what went
 * wrong, for the log and the person) and ends the session. */
void pg_upstream_failed(struct pgconn *c, const char *why);

/* relay.c */
void pg_relay_start(struct pgconn *c);
void pg_relay_pump(struct pgconn *c);
/* The session ends: FATAL 57P01 with MSG at the next message boundary. */
void pg_relay_end(struct pgconn *c, const char *msg);
void pg_relay_notice(struct pgconn *c, const char *msg);
/* Frees what the relay holds for C (a long query's head). */
void pg_relay_free(struct pgconn *c);
/* The client closed: the upstream is told and C freed. */
void pg_relay_client_gone(struct pgconn *c);
/* The target closed: what it sent goes to the client, then C ends. */
void pg_relay_upstream_gone(struct pgconn *c);

/* wire.c: building and reading protocol messages */
void pg_nodelay(int fd);
/* The highest $N placeholder in SQL (LEN bytes), outside quotes and
 * comments: how many parameters a statement is bound with. */
int pg_count_params(const char *sql, size_t len);
void pg_put_u32(unsigned char *p, uint32_t v);
uint32_t pg_get_u32(const unsigned char *p);
int pg_put_msg(struct evbuffer *out, char type, const void *body, size_t len);
int pg_put_error(struct evbuffer *out, const char *severity,
    const char *sqlstate, const char *msg);
int pg_put_notice(struct evbuffer *out, const char *msg);
int pg_put_auth(
    struct evbuffer *out, uint32_t code, const void *data, size_t len);
/* Reads the fields of an ErrorResponse / NoticeResponse body: severity
 * (V, else S), SQLSTATE (C) and message (M), each "" if absent, cut to
 * the size of the buffers. */
void pg_read_error(const unsigned char *body, size_t len, char *sev,
    size_t sevlen, char *code, size_t codelen, char *msg, size_t msglen);
/* Reads a NUL-terminated string at *P within END into OUT (cut to SIZE);
 * advances *P past the NUL. False if no NUL before END. */
bool pg_read_str(
    const unsigned char **p, const unsigned char *end, const char **out);

#endif
