/* Audit events: appended, never changed. */
#include "pimgate/err.h"
#include "store_int.h"

/* The names of STORE_AUDIT_COLS, in order. */
static const char *const audit_col_names[] = {"id", "ts_ms", "actor", "event",
    "outcome", "user", "target", "role", "session_id", "peer", "detail",
    "prev_hash", "hash"};

/* Notes column COL when OK is false and no column was noted yet. */
static void
audit_note(struct store_audit *a, int col, bool ok)
{
	if (!ok && a->mismatch == NULL)
		a->mismatch = audit_col_names[col];
}

/* Reads one row. The hash covers the fields as read, so a column whose
 * stored value they do not hold in full (text cut at a NUL byte or at
 * the field's size, a number read from text) is noted in A->mismatch:
 * otherwise such an edit would pass verification. */
static void
audit_from_row(sqlite3_stmt *s, struct store_audit *a)
{
	struct {
		int col;
		char *dst;
		size_t size;
	} texts[] = {
	    {2, a->actor, sizeof(a->actor)},
	    {3, a->event, sizeof(a->event)},
	    {4, a->outcome, sizeof(a->outcome)},
	    {5, a->user, sizeof(a->user)},
	    {6, a->target, sizeof(a->target)},
	    {7, a->role, sizeof(a->role)},
	    {9, a->peer, sizeof(a->peer)},
	    {10, a->detail, sizeof(a->detail)},
	    {11, a->prev_hash, sizeof(a->prev_hash)},
	    {12, a->hash, sizeof(a->hash)},
	};

	a->mismatch = NULL;
	audit_note(a, 0, store_col_int_exact(s, 0, &a->id));
	audit_note(a, 1, store_col_int_exact(s, 1, &a->ts_ms));
	audit_note(a, 8, store_col_int_exact(s, 8, &a->session_id));
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		audit_note(a, texts[i].col,
		    store_col_text_exact(
			s, texts[i].col, texts[i].dst, texts[i].size));
}

static void
audit_bind(sqlite3_stmt *s, const struct store_audit *a)
{
	sqlite3_bind_int64(s, 1, a->ts_ms);
	store_bind_text(s, 2, a->actor);
	store_bind_text(s, 3, a->event);
	store_bind_text(s, 4, a->outcome);
	store_bind_text(s, 5, a->user);
	store_bind_text(s, 6, a->target);
	store_bind_text(s, 7, a->role);
	sqlite3_bind_int64(s, 8, a->session_id);
	store_bind_text(s, 9, a->peer);
	store_bind_text(s, 10, a->detail);
}

/* The hash of the newest event before ID into PREV ("" if none). */
static int
audit_prev_hash(struct store *st, int64_t id, char *prev, size_t size)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_PREV,
	    "SELECT hash FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT 1",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading the audit chain's head");
	if (r == PIM_OK)
		store_col_text(s, 0, prev, size);
	else if (r == PIM_ENOTFOUND) {
		prev[0] = '\0';
		r = PIM_OK;
	}
	store_stmt_put(st, STMT_AUDIT_PREV, s);
	return r;
}

static int
audit_set_hash(struct store *st, const struct store_audit *a)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_SET_HASH,
	    "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, a->id);
	store_bind_text(s, 2, a->prev_hash);
	store_bind_text(s, 3, a->hash);
	r = store_step_done(st, s, "chaining an audit event");
	store_stmt_put(st, STMT_AUDIT_SET_HASH, s);
	return r;
}

static int
audit_insert(struct store *st, struct store_audit *a)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_APPEND,
	    "INSERT INTO audit (ts_ms, actor, event, outcome, user, target,"
	    " role, session_id, peer, detail)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    &s);
	if (r != PIM_OK)
		return r;
	audit_bind(s, a);
	r = store_step_done(st, s, "appending an audit event");
	if (r == PIM_OK)
		a->id = sqlite3_last_insert_rowid(st->db);
	store_stmt_put(st, STMT_AUDIT_APPEND, s);
	return r;
}

/* The insert takes the write lock first, so no other writer can append
 * between reading the chain's head and storing the new hash; a savepoint
 * makes the three steps one, inside a caller's transaction or not. */
int
store_audit_append(
    struct store *st, struct store_audit *a, store_audit_hash_fn hash)
{
	int r;

	r = store_exec(
	    st, "SAVEPOINT audit_append", "appending an audit event");
	if (r != PIM_OK)
		return r;
	r = audit_insert(st, a);
	if (r == PIM_OK)
		r = audit_prev_hash(
		    st, a->id, a->prev_hash, sizeof(a->prev_hash));
	if (r == PIM_OK && hash(a, a->hash) != PIM_OK)
		r = store_err(st, PIM_ECRYPTO, "cannot hash an audit event");
	if (r == PIM_OK)
		r = audit_set_hash(st, a);
	if (r != PIM_OK) {
		store_exec(st, "ROLLBACK TO audit_append", "rolling back");
		store_exec(st, "RELEASE audit_append", "rolling back");
		return r;
	}
	return store_exec(
	    st, "RELEASE audit_append", "appending an audit event");
}

int
store_audit_row(sqlite3_stmt *s, void *ctx)
{
	struct store_audit_each *e = ctx;
	struct store_audit a = {0};

	audit_from_row(s, &a);
	return e->cb(&a, e->arg);
}

int
store_audit_list(struct store *st, int64_t since_ms, const char *user,
    store_audit_cb cb, void *arg)
{
	struct store_audit_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	/* In append order, which is what a hash chain will follow. */
	r = store_stmt_get(st, STMT_AUDIT_LIST,
	    "SELECT " STORE_AUDIT_COLS " FROM audit"
	    " WHERE ts_ms >= ?1 AND (?2 IS NULL OR user = ?2) ORDER BY id",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, since_ms);
	store_bind_text(s, 2, user);
	r = store_each(st, s, store_audit_row, &e, "listing audit events");
	store_stmt_put(st, STMT_AUDIT_LIST, s);
	return r;
}

int
store_audit_since_id(
    struct store *st, int64_t after_id, int limit, store_audit_cb cb, void *arg)
{
	struct store_audit_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_SINCE,
	    "SELECT " STORE_AUDIT_COLS " FROM audit WHERE id > ?1 ORDER BY id"
	    " LIMIT ?2",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int(s, 2, limit);
	r = store_each(st, s, store_audit_row, &e, "listing new audit events");
	store_stmt_put(st, STMT_AUDIT_SINCE, s);
	return r;
}

int
store_audit_max_id(struct store *st, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_MAX_ID,
	    "SELECT coalesce(max(id), 0) FROM audit", &s);
	if (r != PIM_OK)
		return r;
	r = store_step_row(st, s, "reading the newest audit id");
	if (r == PIM_OK)
		*id = sqlite3_column_int64(s, 0);
	store_stmt_put(st, STMT_AUDIT_MAX_ID, s);
	return r;
}
