/* Sessions: one row per connection through the bastion, kept after it
 * ends. A live session has end 0. */
#include "pimgate/err.h"
#include "store_int.h"

#define SESSION_COLS STORE_SESSION_COLS

struct path_each {
	int (*cb)(const char *path, void *arg);
	void *arg;
};

void
store_session_from_row(sqlite3_stmt *s, struct store_session *x)
{
	x->id = sqlite3_column_int64(s, 0);
	x->user_id = sqlite3_column_int64(s, 1);
	x->target_id = sqlite3_column_int64(s, 2);
	x->role_id = sqlite3_column_int64(s, 3);
	x->assignment_id = sqlite3_column_int64(s, 4);
	x->activation_id = sqlite3_column_int64(s, 5);
	store_col_text(s, 6, x->user, sizeof(x->user));
	store_col_text(s, 7, x->target, sizeof(x->target));
	store_col_text(s, 8, x->role, sizeof(x->role));
	store_col_text(s, 9, x->protocol, sizeof(x->protocol));
	store_col_text(s, 10, x->peer, sizeof(x->peer));
	x->start = sqlite3_column_int64(s, 11);
	x->deadline = sqlite3_column_int64(s, 12);
	x->end = sqlite3_column_int64(s, 13);
	store_col_text(s, 14, x->end_reason, sizeof(x->end_reason));
	x->bytes_in = sqlite3_column_int64(s, 15);
	x->bytes_out = sqlite3_column_int64(s, 16);
	store_col_text(s, 17, x->recording, sizeof(x->recording));
}

static void
session_bind(sqlite3_stmt *s, const struct store_session *x)
{
	sqlite3_bind_int64(s, 1, x->user_id);
	sqlite3_bind_int64(s, 2, x->target_id);
	sqlite3_bind_int64(s, 3, x->role_id);
	sqlite3_bind_int64(s, 4, x->assignment_id);
	sqlite3_bind_int64(s, 5, x->activation_id);
	store_bind_text(s, 6, x->user);
	store_bind_text(s, 7, x->target);
	store_bind_text(s, 8, x->role);
	store_bind_text(s, 9, x->protocol[0] != '\0' ? x->protocol : "ssh");
	store_bind_text(s, 10, x->peer);
	sqlite3_bind_int64(s, 11, x->start);
	sqlite3_bind_int64(s, 12, x->deadline);
}

int
store_session_begin(struct store *st, struct store_session *x)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_BEGIN,
	    "INSERT INTO sessions (user_id, target_id, role_id, assignment_id,"
	    " activation_id, user, target, role, protocol, peer, start,"
	    " deadline) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12)",
	    &s);
	if (r != PIM_OK)
		return r;
	session_bind(s, x);
	r = store_step_done(st, s, "recording a session");
	if (r == PIM_OK) {
		x->id = sqlite3_last_insert_rowid(st->db);
		x->end = 0;
	}
	store_stmt_put(st, STMT_SESSION_BEGIN, s);
	return r;
}

int
store_session_set_deadline(struct store *st, int64_t id, int64_t deadline)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_DEADLINE,
	    "UPDATE sessions SET deadline = ?2 WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, deadline);
	r = store_step_change(st, s, "changing a session's deadline");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no session %lld", (long long)id);
	store_stmt_put(st, STMT_SESSION_DEADLINE, s);
	return r;
}

int
store_session_add_recording(struct store *st, int64_t id, const char *path)
{
	sqlite3_stmt *s = NULL;
	int r;

	/* One statement (the trigger fills sessions.recording), so the two
	 * rows change together without a transaction of our own. */
	r = store_stmt_get(st, STMT_SESSION_REC_ADD,
	    "INSERT INTO recordings (session_id, seq, path) VALUES (?1,"
	    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM recordings"
	    "  WHERE session_id = ?1), ?2)",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, path);
	r = store_step_done(st, s, "adding a recording");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no session %lld", (long long)id);
	store_stmt_put(st, STMT_SESSION_REC_ADD, s);
	return r;
}

int
store_session_end(struct store *st, int64_t id, int64_t end, const char *reason,
    int64_t bytes_in, int64_t bytes_out)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_END,
	    "UPDATE sessions SET \"end\" = ?2, end_reason = ?3, bytes_in = ?4,"
	    " bytes_out = ?5 WHERE id = ?1 AND \"end\" = 0",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, end);
	store_bind_text(s, 3, reason != NULL ? reason : "");
	sqlite3_bind_int64(s, 4, bytes_in);
	sqlite3_bind_int64(s, 5, bytes_out);
	r = store_step_change(st, s, "ending a session");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no live session %lld", (long long)id);
	store_stmt_put(st, STMT_SESSION_END, s);
	return r;
}

int
store_session_get(struct store *st, int64_t id, struct store_session *x)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_GET,
	    "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading a session");
	if (r == PIM_OK)
		store_session_from_row(s, x);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no session %lld", (long long)id);
	store_stmt_put(st, STMT_SESSION_GET, s);
	return r;
}

static int
session_path_row(sqlite3_stmt *s, void *ctx)
{
	struct path_each *e = ctx;
	const char *path = (const char *)sqlite3_column_text(s, 0);

	return e->cb(path != NULL ? path : "", e->arg);
}

int
store_session_recordings(struct store *st, int64_t id,
    int (*cb)(const char *path, void *arg), void *arg)
{
	struct path_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_RECS,
	    "SELECT path FROM recordings WHERE session_id = ?1 ORDER BY seq",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_each(st, s, session_path_row, &e, "listing recordings");
	store_stmt_put(st, STMT_SESSION_RECS, s);
	return r;
}

int
store_session_row(sqlite3_stmt *s, void *ctx)
{
	struct store_session_each *e = ctx;
	struct store_session x = {0};

	store_session_from_row(s, &x);
	return e->cb(&x, e->arg);
}

int
store_session_list(struct store *st, store_session_cb cb, void *arg)
{
	struct store_session_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_LIST,
	    "SELECT " SESSION_COLS " FROM sessions ORDER BY id DESC", &s);
	if (r != PIM_OK)
		return r;
	r = store_each(st, s, store_session_row, &e, "listing sessions");
	store_stmt_put(st, STMT_SESSION_LIST, s);
	return r;
}

int
store_session_end_all_live(
    struct store *st, int64_t now, const char *reason, int *count)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (count != NULL)
		*count = 0;
	r = store_stmt_get(st, STMT_SESSION_END_LIVE,
	    "UPDATE sessions SET \"end\" = ?1, end_reason = ?2"
	    " WHERE \"end\" = 0",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, now);
	store_bind_text(s, 2, reason != NULL ? reason : "");
	r = store_step_done(st, s, "ending live sessions");
	if (r == PIM_OK && count != NULL)
		*count = sqlite3_changes(st->db);
	store_stmt_put(st, STMT_SESSION_END_LIVE, s);
	return r;
}

int
store_session_request_kill(struct store *st, int64_t id, const char *by)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_KILL,
	    "UPDATE sessions SET kill_by = ?2"
	    " WHERE id = ?1 AND \"end\" = 0 AND kill_by = ''",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, by);
	r = store_step_change(st, s, "asking for a session to end");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no live session %lld", (long long)id);
	store_stmt_put(st, STMT_SESSION_KILL, s);
	return r;
}

int
store_session_kill_requested(
    struct store *st, int64_t id, char *by, size_t size)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_SESSION_KILL_BY,
	    "SELECT kill_by FROM sessions WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading a session's kill request");
	if (r == PIM_OK)
		store_col_text(s, 0, by, size);
	store_stmt_put(st, STMT_SESSION_KILL_BY, s);
	return r;
}
