/* What an access report reads: the activations, sessions and refused or
 * failed events of a period, and a user's earlier session volumes. Each
 * query is bounded by time and served by an index (schema v1's audit_ts,
 * v9's activations_end, sessions_end and sessions_user_start). */
#include "pimgate/err.h"
#include "store_int.h"

/* An activation belongs to [FROM, TO) when it was asked for before TO
 * and had not ended (its window closed, or it left pending or active)
 * before FROM. Its window end bounds when it ended, so the index on
 * "end" narrows the rows first. */
int
store_report_activations(struct store *st, int64_t from, int64_t to,
    const char *user, store_activation_cb cb, void *arg)
{
	struct store_act_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_REPORT_ACTS,
	    "SELECT " STORE_ACT_COLS STORE_ACT_FROM
	    " WHERE a.\"end\" >= ?1 AND a.created < ?2"
	    " AND (a.ended = 0 OR a.ended >= ?1)"
	    " AND (?3 IS NULL OR u.name = ?3)"
	    " ORDER BY u.name, r.name, a.start, a.id",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	store_bind_text(s, 3, user);
	r = store_each(st, s, store_act_row, &e, "reading activations");
	store_stmt_put(st, STMT_REPORT_ACTS, s);
	return r;
}

/* A session belongs to [FROM, TO) when it started before TO and was
 * still live at FROM (end 0 while it is live). */
int
store_report_sessions(struct store *st, int64_t from, int64_t to,
    const char *user, store_session_cb cb, void *arg)
{
	struct store_session_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_REPORT_SESSIONS,
	    "SELECT " STORE_SESSION_COLS " FROM sessions"
	    " WHERE (\"end\" >= ?1 OR \"end\" = 0) AND start < ?2"
	    " AND (?3 IS NULL OR user = ?3)"
	    " ORDER BY user, role, start, id",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	store_bind_text(s, 3, user);
	r = store_each(st, s, store_session_row, &e, "reading sessions");
	store_stmt_put(st, STMT_REPORT_SESSIONS, s);
	return r;
}

/* The event columns a report shows (not the chain's hashes). */
int
store_report_refusals(struct store *st, int64_t from_ms, int64_t to_ms,
    const char *user, store_audit_cb cb, void *arg)
{
	struct store_audit_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_REPORT_REFUSALS,
	    "SELECT " STORE_AUDIT_COLS " FROM audit"
	    " WHERE ts_ms >= ?1 AND ts_ms < ?2 AND outcome <> 'ok'"
	    " AND (?3 IS NULL OR user = ?3)"
	    " ORDER BY user, id",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, from_ms);
	sqlite3_bind_int64(s, 2, to_ms);
	store_bind_text(s, 3, user);
	r = store_each(st, s, store_audit_row, &e, "reading refusals");
	store_stmt_put(st, STMT_REPORT_REFUSALS, s);
	return r;
}

int
store_report_volumes(struct store *st, int64_t user_id, int64_t start,
    int64_t id, int max, int64_t *bytes, int *n)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*n = 0;
	r = store_stmt_get(st, STMT_REPORT_VOLUMES,
	    "SELECT bytes_in + bytes_out FROM sessions"
	    " WHERE user_id = ?1 AND \"end\" <> 0"
	    " AND (start < ?2 OR (start = ?2 AND id < ?3))"
	    " ORDER BY start DESC, id DESC LIMIT ?4",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, start);
	sqlite3_bind_int64(s, 3, id);
	sqlite3_bind_int(s, 4, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		bytes[(*n)++] = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_fail(st, rc, "reading earlier sessions");
	store_stmt_put(st, STMT_REPORT_VOLUMES, s);
	return r;
}
