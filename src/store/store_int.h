/* Internal to src/store/: the connection, the statement cache and small
 * helpers shared by the query files. Nothing outside src/store/ includes
 * this header. */
#ifndef PIMGATE_STORE_INT_H
#define PIMGATE_STORE_INT_H

#include <sqlite3.h>

#include "pimgate/store.h"

/* One slot per cached prepared statement. */
enum store_stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_DATA_VERSION,
	STMT_USER_ADD,
	STMT_USER_GET,
	STMT_USER_GET_BY_ID,
	STMT_USER_SET_ENABLED,
	STMT_USER_PW_HASH,
	STMT_USER_KEY_ADD,
	STMT_USER_KEYS,
	STMT_USER_KEY_OWNER,
	STMT_USER_LIST,
	STMT_ROLE_ADD,
	STMT_ROLE_GET,
	STMT_ROLE_GET_BY_ID,
	STMT_ROLE_LIST,
	STMT_ROLE_GRANT,
	STMT_ROLES_GRANTING,
	STMT_TARGET_ADD,
	STMT_TARGET_GET,
	STMT_TARGET_LIST,
	STMT_TARGET_SECRET,
	STMT_TARGET_SET_TLS_CA,
	STMT_TARGET_TLS_CA,
	STMT_ASSIGN_ADD,
	STMT_ASSIGN_REMOVE,
	STMT_ASSIGN_GET,
	STMT_ASSIGN_LIST,
	STMT_ACT_ADD,
	STMT_ACT_GET,
	STMT_ACT_TRANSITION,
	STMT_ACT_SET_END,
	STMT_ACT_EXPIRE,
	STMT_ACT_LIST,
	STMT_SESSION_BEGIN,
	STMT_SESSION_DEADLINE,
	STMT_SESSION_REC_ADD,
	STMT_SESSION_END,
	STMT_SESSION_GET,
	STMT_SESSION_RECS,
	STMT_SESSION_LIST,
	STMT_SESSION_END_LIVE,
	STMT_SESSION_KILL,
	STMT_SESSION_KILL_BY,
	STMT_AUDIT_APPEND,
	STMT_AUDIT_LIST,
	STMT_USER_SET_MFA,
	STMT_USER_MFA,
	STMT_USER_TOTP_USE,
	STMT_ROLE_UPDATE,
	STMT_APPROVAL_ADD,
	STMT_APPROVAL_LIST,
	STMT_ACT_SET_WINDOW,
	STMT_AUDIT_SINCE,
	STMT_AUDIT_MAX_ID,
	STMT_ACT_ENDING,
	STMT_ACT_LAPSED,
	STMT_CERT_ADD,
	STMT_CERT_GET,
	STMT_CERT_LIST,
	STMT_CERT_LIST_USER,
	STMT_CERT_REVOKE,
	STMT_AUDIT_PREV,
	STMT_AUDIT_SET_HASH,
	STMT_AUDIT_HEAD,
	STMT_AUDIT_COUNT,
	STMT_CKPT_ADD,
	STMT_CKPT_LIST,
	STMT_AUDIT_SEQ,
	STMT_REPORT_ACTS,
	STMT_REPORT_SESSIONS,
	STMT_REPORT_REFUSALS,
	STMT_REPORT_VOLUMES,
	STMT_COUNT
};

struct store {
	sqlite3 *db;
	int schema_version;
	char errmsg[256];
	sqlite3_stmt *stmts[STMT_COUNT];
};

/* Sets the error text (printf-style) and returns CODE. */
int store_err(struct store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps the SQLite result RC to a PIM_ code and records the connection's
 * message prefixed with WHAT. */
int store_fail(struct store *st, int rc, const char *what);

/* Hands out the prepared statement for slot ID (preparing SQL on first
 * use). If the cached one is already running (a callback re-entered the
 * store), a private copy is prepared instead. Give it back with
 * store_stmt_put(), which resets or finalizes it. */
int store_stmt_get(struct store *st, enum store_stmt_id id, const char *sql,
    sqlite3_stmt **out);
void store_stmt_put(struct store *st, enum store_stmt_id id, sqlite3_stmt *s);

/* Steps S expecting SQLITE_DONE; maps errors with WHAT. */
int store_step_done(struct store *st, sqlite3_stmt *s, const char *what);
/* Steps S expecting one row: PIM_OK with the row ready, PIM_ENOTFOUND
 * if there is none. */
int store_step_row(struct store *st, sqlite3_stmt *s, const char *what);
/* Steps an UPDATE or DELETE: PIM_ENOTFOUND if it changed no row. */
int store_step_change(struct store *st, sqlite3_stmt *s, const char *what);
/* Calls ROW(S, CTX) for each result row; stops early and returns ROW's
 * value if it is not 0. */
int store_each(struct store *st, sqlite3_stmt *s,
    int (*row)(sqlite3_stmt *s, void *ctx), void *ctx, const char *what);
/* Runs SQL (no rows expected, several statements allowed). */
int store_exec(struct store *st, const char *sql, const char *what);

/* Binds TEXT (NULL binds SQL NULL); the string must outlive the step. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Copies column COL as text into DST (SIZE), "" for NULL. */
void store_col_text(sqlite3_stmt *s, int col, char *dst, size_t size);
/* As store_col_text, and says whether DST now holds all the column
 * holds: false if it is not stored as text, holds a NUL byte, or does
 * not fit (what was read then differs from what is stored). */
bool store_col_text_exact(sqlite3_stmt *s, int col, char *dst, size_t size);
/* Column COL as an integer into *OUT; false if it is not stored as one
 * (text, a real or NULL read as a number is not what is stored). */
bool store_col_int_exact(sqlite3_stmt *s, int col, int64_t *out);

/* The columns that activations.c and sessions.c select (report.c reads
 * the same rows), and the functions that read one such row. */
#define STORE_ACT_COLS                                                        \
	"a.id, a.user_id, a.role_id, u.name, r.name, a.state, a.start,"       \
	" a.\"end\", a.reason, a.ticket, a.requested_by, a.created, a.ended," \
	" a.break_glass, a.approve_by"
#define STORE_ACT_FROM                                         \
	" FROM activations a JOIN users u ON u.id = a.user_id" \
	" JOIN roles r ON r.id = a.role_id"
#define STORE_SESSION_COLS                                               \
	"id, user_id, target_id, role_id, assignment_id, activation_id," \
	" user, target, role, protocol, peer, start, deadline, \"end\"," \
	" end_reason, bytes_in, bytes_out, recording"
void store_act_from_row(sqlite3_stmt *s, struct store_activation *a);
void store_session_from_row(sqlite3_stmt *s, struct store_session *x);

/* An audit row, as store_audit_row reads it. */
#define STORE_AUDIT_COLS                                                    \
	"id, ts_ms, actor, event, outcome, user, target, role, session_id," \
	" peer, detail, prev_hash, hash"

/* store_each row callbacks that read a whole row (STORE_ACT_COLS,
 * STORE_SESSION_COLS, STORE_AUDIT_COLS) and hand it to the caller's
 * callback in the matching struct. */
struct store_act_each {
	store_activation_cb cb;
	void *arg;
};
struct store_session_each {
	store_session_cb cb;
	void *arg;
};
struct store_audit_each {
	store_audit_cb cb;
	void *arg;
};
int store_act_row(sqlite3_stmt *s, void *ctx);
int store_session_row(sqlite3_stmt *s, void *ctx);
int store_audit_row(sqlite3_stmt *s, void *ctx);

/* Runs the schema migrations (schema.c). */
int store_migrate(struct store *st);

#endif
