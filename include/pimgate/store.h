/* The store: the single source of truth (SQLite today), shared by
 * pimgated and pimctl. Nothing outside src/store/ touches SQL.
 *
 * Every function returns PIM_OK or an error from err.h: PIM_ENOTFOUND,
 * PIM_EEXIST, PIM_EBUSY (locked longer than the busy timeout) or
 * PIM_ESTORE; store_errmsg() then tells what happened. Names are copied
 * into the records; records own no heap memory unless noted. All times
 * are seconds since the epoch; 0 means "none" for optional bounds. */
#ifndef PIMGATE_STORE_H
#define PIMGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 64
#define STORE_TEXT_MAX 512
#define STORE_KEY_MAX 2048
#define STORE_PATH_MAX 512
#define STORE_HASH_MAX 65 /* a SHA-256 in hex, and its NUL */

struct store;

/* Opens (creating if CREATE) the database at PATH: WAL mode, a short busy
 * timeout, foreign keys on, schema migrated to the newest version. A new
 * file is created owner-only (0600). */
int store_open(const char *path, bool create, struct store **out);
void store_close(struct store *st);
/* How long a call may wait for another connection's lock before it
 * fails with PIM_EBUSY (the daemon keeps this short: its loop waits). */
void store_set_busy_timeout(struct store *st, int ms);
/* The last error's text (never NULL; "" if none). */
const char *store_errmsg(const struct store *st);
/* Changes whenever another connection (pimctl) commits; cheap. */
int store_data_version(struct store *st, int64_t *version);
/* A trivial read of the database (health checks): PIM_OK if the store
 * answers within its busy timeout. */
int store_ping(struct store *st);
/* The schema version after migration. */
int store_schema_version(struct store *st);

/* Transactions, for changes that must land together. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* ---- users ---- */
struct store_user {
	int64_t id;
	char name[STORE_NAME_MAX];
	bool enabled;
	bool has_password;
	int64_t created;
};
typedef int (*store_user_cb)(const struct store_user *u, void *arg);

/* PW_HASH may be NULL (key-only user). EEXIST if the name is taken. */
int store_user_add(struct store *st, const char *name, const char *pw_hash,
    int64_t now, int64_t *id);
int store_user_get(struct store *st, const char *name, struct store_user *u);
int store_user_get_by_id(struct store *st, int64_t id, struct store_user *u);
int store_user_set_enabled(struct store *st, const char *name, bool enabled);
/* Copies the password hash into BUF; ENOTFOUND if none is set. */
int store_user_password_hash(
    struct store *st, const char *name, char *buf, size_t size);
/* KEY is an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
int store_user_key_add(struct store *st, int64_t user_id, const char *key);
/* Copies into OWNER the name of the user who holds public key KEY_LINE,
 * comparing the "TYPE BASE64" part only (comments are ignored).
 * ENOTFOUND if no user holds it, EINVAL if KEY_LINE has no such part or
 * the name does not fit. */
int store_user_key_owner(
    struct store *st, const char *key_line, char *owner, size_t size);
/* Calls CB with each key line of the user; stops early if CB returns != 0
 * and returns that value. */
int store_user_keys(struct store *st, int64_t user_id,
    int (*cb)(const char *key, void *arg), void *arg);
int store_user_list(struct store *st, store_user_cb cb, void *arg);

/* ---- roles ---- */

/* Channel kinds a role may allow (bit set). */
enum store_channel {
	CHANNEL_SHELL = 1 << 0,
	CHANNEL_EXEC = 1 << 1,
	CHANNEL_SFTP = 1 << 2,
	CHANNEL_PORT_FORWARD = 1 << 3,
};
#define CHANNEL_DEFAULT (CHANNEL_SHELL | CHANNEL_EXEC | CHANNEL_SFTP)

struct store_role {
	int64_t id;
	char name[STORE_NAME_MAX];
	int64_t max_activation; /* secs; default 8h */
	int64_t max_session; /* secs; default 8h */
	int64_t idle_timeout; /* secs; 0 = none */
	unsigned channels; /* enum store_channel bits */
	int64_t created;
	/* PIM settings (schema v4); zero values mean "not required". */
	bool require_mfa; /* a TOTP code at activation */
	bool require_reason; /* a justification at activation */
	int min_reason_len; /* its minimum length in characters */
	bool require_ticket; /* a ticket number at activation */
	char ticket_pattern[256]; /* POSIX extended regex; "" = any */
	int approvals; /* distinct approvals needed; 0 = none */
	char approvers[STORE_TEXT_MAX]; /* "user,role,..." who may approve */
	int64_t approval_ttl; /* secs a request may wait; default 1d */
	bool allow_perm_eligible; /* default true */
	bool allow_perm_active; /* default true */
	int64_t max_assignment; /* secs a time-bound one may span; 0 */
	bool break_glass; /* emergency: no approval, MFA and reason always */
	/* Schema v5: seconds before a session's deadline at which the person
	 * is warned, comma-separated ("300,60"); "none" for no warning. The
	 * store writes "" as the default "300,60". */
	char warn_before[64];
};
typedef int (*store_role_cb)(const struct store_role *r, void *arg);

int store_role_add(struct store *st, const struct store_role *r, int64_t *id);
int store_role_get(struct store *st, const char *name, struct store_role *r);
/* Writes every setting of R (found by R->id); ENOTFOUND if none. */
int store_role_update(struct store *st, const struct store_role *r);
int store_role_get_by_id(struct store *st, int64_t id, struct store_role *r);
int store_role_list(struct store *st, store_role_cb cb, void *arg);
/* EEXIST if the grant is already there. */
int store_role_grant(struct store *st, int64_t role_id, int64_t target_id);
/* Calls CB with each role that grants TARGET_ID. */
int store_roles_granting(
    struct store *st, int64_t target_id, store_role_cb cb, void *arg);

/* ---- targets ---- */
struct store_target {
	int64_t id;
	char name[STORE_NAME_MAX];
	char kind[16]; /* "ssh" or "postgres" */
	char host[256];
	int port;
	char login[STORE_NAME_MAX];
	char host_key[STORE_KEY_MAX]; /* ssh: pinned OpenSSH public key line */
	int64_t created;
	/* postgres (schema v6): the database to open ("" = the login's
	 * name) and the upstream TLS mode: "" for none, "verify-full" (the
	 * server's certificate must chain to the target's CA, read with
	 * store_target_tls_ca, and name HOST). */
	char database[STORE_NAME_MAX];
	char tls[16];
};
typedef int (*store_target_cb)(const struct store_target *t, void *arg);

/* SECRET is the sealed credential (vault_seal output), LEN bytes. */
int store_target_add(struct store *st, const struct store_target *t,
    const unsigned char *secret, size_t len, int64_t *id);
int store_target_get(
    struct store *st, const char *name, struct store_target *t);
int store_target_list(struct store *st, store_target_cb cb, void *arg);
/* Returns the sealed credential in *SECRET (malloc'd, caller frees). */
int store_target_secret(
    struct store *st, int64_t target_id, unsigned char **secret, size_t *len);
/* Sets the PEM text of the CA that signs TARGET_ID's TLS certificate. */
int store_target_set_tls_ca(
    struct store *st, int64_t target_id, const char *pem);
/* Returns that PEM text in *PEM (malloc'd, NUL-terminated, caller frees);
 * "" if none. */
int store_target_tls_ca(struct store *st, int64_t target_id, char **pem);

/* ---- client certificates (PostgreSQL front end) ---- */
#define STORE_SERIAL_MAX 48 /* lower-case hex, no separators */
struct store_cert {
	int64_t id;
	char serial[STORE_SERIAL_MAX];
	int64_t user_id;
	char user[STORE_NAME_MAX];
	int64_t target_id;
	char target[STORE_NAME_MAX];
	int64_t activation_id; /* the grant that allowed it (one is 0) */
	int64_t assignment_id;
	int64_t not_before;
	int64_t not_after;
	char issued_by[STORE_NAME_MAX]; /* user name or "admin:LOGIN" */
	int64_t created;
	int64_t revoked; /* 0 = not revoked, else when */
};
typedef int (*store_cert_cb)(const struct store_cert *c, void *arg);

/* Inserts C and sets C->id; PIM_EEXIST for a serial already there. */
int store_cert_add(struct store *st, struct store_cert *c);
/* PIM_ENOTFOUND if no certificate has SERIAL. */
int store_cert_get(struct store *st, const char *serial, struct store_cert *c);
/* Every certificate of USER (all users if NULL), newest first. */
int store_cert_list(
    struct store *st, const char *user, store_cert_cb cb, void *arg);
/* Marks the certificate with SERIAL revoked at WHEN; PIM_ENOTFOUND if
 * there is none, or it is already revoked (it keeps that time). */
int store_cert_revoke(struct store *st, const char *serial, int64_t when);

/* ---- assignments ---- */
enum store_assign_kind {
	ASSIGN_ELIGIBLE = 1,
	ASSIGN_ACTIVE = 2,
};

struct store_assignment {
	int64_t id;
	int64_t user_id;
	int64_t role_id;
	char user[STORE_NAME_MAX];
	char role[STORE_NAME_MAX];
	enum store_assign_kind kind;
	int64_t start; /* 0 = permanent from the beginning */
	int64_t end; /* 0 = permanent */
	int64_t created;
};
typedef int (*store_assignment_cb)(const struct store_assignment *a, void *arg);

/* A user holds at most one assignment per role and kind: EEXIST. */
int store_assignment_add(
    struct store *st, const struct store_assignment *a, int64_t *id);
/* Removes every assignment of ROLE_ID to USER_ID; ENOTFOUND if none. */
int store_assignment_remove(struct store *st, int64_t user_id, int64_t role_id);
int store_assignment_get(
    struct store *st, int64_t id, struct store_assignment *a);
/* USER_ID 0 lists everyone's. */
int store_assignment_list(
    struct store *st, int64_t user_id, store_assignment_cb cb, void *arg);

/* ---- activations ---- */
enum store_act_state {
	ACT_PENDING = 1,
	ACT_ACTIVE,
	ACT_EXPIRED,
	ACT_REVOKED,
	ACT_DEACTIVATED,
	ACT_DENIED,
	ACT_CANCELLED,
};
/* "pending", "active", ...; NULL for an unknown value. */
const char *store_act_state_name(enum store_act_state s);
/* Returns the state for NAME, or 0 if unknown. */
enum store_act_state store_act_state_parse(const char *name);
/* For the metrics: COUNTS[STATE] = activations in each state (index 0
 * unused); an active one whose window ended by NOW counts as expired. */
#define STORE_ACT_STATES (ACT_CANCELLED + 1)
int store_activation_counts(
    struct store *st, int64_t now, int64_t counts[STORE_ACT_STATES]);

struct store_activation {
	int64_t id;
	int64_t user_id;
	int64_t role_id;
	char user[STORE_NAME_MAX];
	char role[STORE_NAME_MAX];
	enum store_act_state state;
	int64_t start; /* window start */
	int64_t end; /* window end */
	char reason[STORE_TEXT_MAX];
	char ticket[STORE_NAME_MAX];
	char requested_by[STORE_NAME_MAX];
	int64_t created;
	int64_t ended; /* when it left pending/active; 0 if it has not */
	bool break_glass; /* made under a break-glass role */
	int64_t approve_by; /* pending: denied if not approved by then */
};
typedef int (*store_activation_cb)(const struct store_activation *a, void *arg);

int store_activation_add(
    struct store *st, const struct store_activation *a, int64_t *id);
int store_activation_get(
    struct store *st, int64_t id, struct store_activation *a);
/* Moves activation ID from FROM to TO at NOW; ENOTFOUND if it is not in
 * state FROM (so two racing changes cannot both win). */
int store_activation_transition(struct store *st, int64_t id,
    enum store_act_state from, enum store_act_state to, int64_t now);
/* Moves the end of pending or active activation ID to END (extending or
 * shortening its window); ENOTFOUND if it is in another state or END is
 * not after its start. */
int store_activation_set_end(struct store *st, int64_t id, int64_t end);
/* Moves the window of pending activation ID to [START, END) (an approval
 * starts it at approval time); ENOTFOUND if it is not pending or END is
 * not after START. */
int store_activation_set_window(
    struct store *st, int64_t id, int64_t start, int64_t end);
/* Marks every active activation whose end <= NOW as expired. */
int store_activation_expire(struct store *st, int64_t now, int *count);
/* USER_ID 0 lists everyone's; newest first. */
int store_activation_list(
    struct store *st, int64_t user_id, store_activation_cb cb, void *arg);

/* ---- sessions ---- */
struct store_session {
	int64_t id;
	int64_t user_id;
	int64_t target_id;
	int64_t role_id;
	int64_t assignment_id; /* 0 if admitted by an activation */
	int64_t activation_id; /* 0 if admitted by an active assignment */
	char user[STORE_NAME_MAX];
	char target[STORE_NAME_MAX];
	char role[STORE_NAME_MAX];
	char protocol[16]; /* "ssh" */
	char peer[64]; /* client address "127.0.0.1:40000" */
	int64_t start;
	int64_t deadline;
	int64_t end; /* 0 while live */
	char end_reason[16];
	int64_t bytes_in; /* client -> target */
	int64_t bytes_out; /* target -> client */
	char recording[STORE_PATH_MAX]; /* first recording, "" if none */
};
typedef int (*store_session_cb)(const struct store_session *s, void *arg);

/* Inserts S (end 0) and sets S->id. */
int store_session_begin(struct store *st, struct store_session *s);
int store_session_set_deadline(struct store *st, int64_t id, int64_t deadline);
/* Adds a recording file of session ID (the first also fills
 * sessions.recording). */
int store_session_add_recording(struct store *st, int64_t id, const char *path);
int store_session_end(struct store *st, int64_t id, int64_t end,
    const char *reason, int64_t bytes_in, int64_t bytes_out);
int store_session_get(struct store *st, int64_t id, struct store_session *s);
/* Calls CB with each recording path of session ID, in order. */
int store_session_recordings(struct store *st, int64_t id,
    int (*cb)(const char *path, void *arg), void *arg);
/* Newest first. */
int store_session_list(struct store *st, store_session_cb cb, void *arg);
/* Asks for live session ID to be ended by the node that holds it; BY
 * names who asked. ENOTFOUND if ID is not live or already asked. */
int store_session_request_kill(struct store *st, int64_t id, const char *by);
/* Copies who asked for session ID to end into BY ("" if nobody). */
int store_session_kill_requested(
    struct store *st, int64_t id, char *by, size_t size);
/* Ends every session with end 0 (left by a crashed daemon) with REASON. */
int store_session_end_all_live(
    struct store *st, int64_t now, const char *reason, int *count);

/* ---- approvals (schema v4) ---- */
struct store_approval {
	int64_t activation_id;
	char approver[STORE_NAME_MAX];
	char decision[16]; /* "approve" or "deny" */
	char reason[STORE_TEXT_MAX];
	int64_t ts;
};
typedef int (*store_approval_cb)(const struct store_approval *a, void *arg);

/* EEXIST if this approver already decided on this activation. */
int store_approval_add(struct store *st, const struct store_approval *a);
int store_approval_list(
    struct store *st, int64_t activation_id, store_approval_cb cb, void *arg);

/* ---- multi-factor authentication (schema v3) ---- */

/* Sets USER_ID's TOTP secret (SEALED by the vault, LEN bytes) and
 * whether SSH login asks for a code too. */
int store_user_set_mfa(struct store *st, int64_t user_id,
    const unsigned char *sealed, size_t len, bool at_login);
/* *SEALED is malloc'd (caller frees); ENOTFOUND if USER_ID has no MFA. */
int store_user_mfa(struct store *st, int64_t user_id, unsigned char **sealed,
    size_t *len, bool *at_login);
/* Records that a code of time step STEP was accepted for USER_ID: PIM_OK
 * if STEP is later than every step accepted before, PIM_EEXIST if not (a
 * replayed or older code). Atomic. */
int store_user_totp_use(struct store *st, int64_t user_id, int64_t step);

/* ---- audit events (written through audit.h, not directly) ---- */
struct store_audit {
	int64_t id;
	int64_t ts_ms;
	char actor[STORE_NAME_MAX]; /* who did it: user name, "admin:root" */
	char event[48]; /* "login", "admit", "session.end", ... */
	char outcome[16]; /* "ok", "refused", "failed" */
	char user[STORE_NAME_MAX];
	char target[STORE_NAME_MAX];
	char role[STORE_NAME_MAX];
	int64_t session_id;
	char peer[64];
	char detail[STORE_TEXT_MAX]; /* reason or change, free text */
	/* The hash chain (schema v7): lower-case hex SHA-256, "" for
	 * events written before it. */
	char prev_hash[STORE_HASH_MAX];
	char hash[STORE_HASH_MAX];
	/* Set when read from the store: the first column whose stored value
	 * is not exactly what the fields above hold (another type, a NUL
	 * byte, more than fits), so not what the hash covers; NULL if none.
	 * A static string. */
	const char *mismatch;
};
typedef int (*store_audit_cb)(const struct store_audit *a, void *arg);
/* Computes the hash of A (whose id and prev_hash are set) into OUT. */
typedef int (*store_audit_hash_fn)(
    const struct store_audit *a, char out[STORE_HASH_MAX]);

/* Appends A as the newest event of the chain: in one step that no other
 * writer can come between, sets A->id, A->prev_hash (the newest event's
 * hash) and A->hash (by HASH). */
int store_audit_append(
    struct store *st, struct store_audit *a, store_audit_hash_fn hash);
/* Events with ts_ms >= SINCE_MS, oldest first; USER NULL for all. */
int store_audit_list(struct store *st, int64_t since_ms, const char *user,
    store_audit_cb cb, void *arg);
/* Events with id > AFTER_ID, oldest first, at most LIMIT of them. */
int store_audit_since_id(struct store *st, int64_t after_id, int limit,
    store_audit_cb cb, void *arg);
/* The id of the newest event in *ID (0 if there is none). */
int store_audit_max_id(struct store *st, int64_t *id);
/* The newest event's id and hash (PIM_ENOTFOUND if there is none). */
int store_audit_head(struct store *st, int64_t *id, char hash[STORE_HASH_MAX]);
/* In *N, how many events have AFTER_ID < id <= UPTO_ID. */
int store_audit_count(
    struct store *st, int64_t after_id, int64_t upto_id, int64_t *n);

/* ---- signed checkpoints of the audit chain (schema v8) ---- */
#define STORE_KEY_ID_MAX 17 /* 16 hex digits and the NUL */
#define STORE_SIG_MAX 96 /* an Ed25519 signature in base64 (88) */
struct store_checkpoint {
	int64_t id; /* the row; 0 for one not (yet) stored */
	int64_t ts_ms; /* when it was taken */
	int64_t head_id; /* the newest event then, 0 if none */
	char head_hash[STORE_HASH_MAX]; /* its hash */
	int64_t count; /* events with id <= head_id */
	char key_id[STORE_KEY_ID_MAX]; /* the signing key's id */
	char sig[STORE_SIG_MAX];
	/* As store_audit's: the first column not stored exactly as read
	 * (so not what was signed); NULL if none. */
	const char *mismatch;
};
typedef int (*store_checkpoint_cb)(
    const struct store_checkpoint *cp, void *arg);

/* Stores CP and sets CP->id. */
int store_checkpoint_add(struct store *st, struct store_checkpoint *cp);
/* Every checkpoint, oldest first. */
int store_checkpoint_list(struct store *st, store_checkpoint_cb cb, void *arg);
/* The highest ids ever handed out (AUTOINCREMENT's sqlite_sequence) to
 * audit events in *EVENTS and to checkpoints in *CHECKPOINTS, 0 if
 * none: an id above the newest row's was deleted with its row. */
int store_audit_sequences(
    struct store *st, int64_t *events, int64_t *checkpoints);

/* Activations whose window closed in (AFTER, UPTO] without being ended
 * early: state active (not yet swept) or expired. Oldest end first. */
/* Calls CB with at most LIMIT pending requests whose approval time ended
 * by NOW (approve_by <= NOW), oldest first. */
int store_activation_lapsed(struct store *st, int64_t now, int limit,
    store_activation_cb cb, void *arg);
int store_activation_ending(struct store *st, int64_t after, int64_t upto,
    store_activation_cb cb, void *arg);

/* ---- online backup (backup.c) ---- */

/* What a backup holds, counted in the copy itself. */
struct store_backup_summary {
	int64_t pages; /* database pages copied */
	int64_t schema_version;
	int64_t users, roles, targets, assignments, activations, sessions;
	int64_t audit_events;
	int64_t audit_head_id; /* the newest audit event, 0 if none */
	char audit_head[STORE_HASH_MAX]; /* its hash, "" if unchained */
};

/* Copies the store, one consistent snapshot of it, into a new database
 * file at PATH while other connections (pimgated) keep reading and
 * writing. The copy is made in a temporary owner-only file beside PATH,
 * passes PRAGMA integrity_check, is counted into *SUM, reaches the disk
 * and only then takes the name PATH. Sealed secrets are copied sealed;
 * the keys that open them are not in the store. PATH may not exist
 * (PIM_EEXIST) unless FORCE lets a regular file there be replaced, and
 * may never be the live database (PIM_EINVAL). On failure PATH is
 * untouched and no temporary file is left; PIM_EBUSY if the database
 * stayed locked. */
int store_backup(struct store *st, const char *path, bool force,
    struct store_backup_summary *sum);

/* ---- access reports (report.c) ---- */

/* Activations of [FROM, TO): asked for before TO and not ended before
 * FROM (pending and active ones count until their window's end). USER
 * NULL for everyone's. By user name, role name, start. */
int store_report_activations(struct store *st, int64_t from, int64_t to,
    const char *user, store_activation_cb cb, void *arg);
/* Sessions of [FROM, TO): started before TO, live at FROM or after. By
 * user, role, start. */
int store_report_sessions(struct store *st, int64_t from, int64_t to,
    const char *user, store_session_cb cb, void *arg);
/* Audit events of [FROM_MS, TO_MS) whose outcome is not "ok" (refused,
 * failed), by user, then in append order. The hashes are not read. */
int store_report_refusals(struct store *st, int64_t from_ms, int64_t to_ms,
    const char *user, store_audit_cb cb, void *arg);
/* The bytes (in + out) of at most MAX ended sessions of USER_ID that
 * started before the session (START, ID), newest first, into BYTES;
 * their number in *N. */
int store_report_volumes(struct store *st, int64_t user_id, int64_t start,
    int64_t id, int max, int64_t *bytes, int *n);

#endif
