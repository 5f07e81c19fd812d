/* Statement cache and the small helpers every query file uses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/metrics.h"
#include "pimgate/str.h"
#include "store_int.h"

int
store_err(struct store *st, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

/* SQLite's (extended) result code to ours. */
static int
store_map(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PIM_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return PIM_ENOTFOUND;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PIM_EBUSY;
	default:
		return PIM_ESTORE;
	}
}

int
store_fail(struct store *st, int rc, const char *what)
{
	const char *msg = st->db != NULL ? sqlite3_errmsg(st->db) : NULL;
	int code = store_map(rc);

	/* A duplicate or a missing reference is an answer, not a failure. */
	if (code == PIM_ESTORE || code == PIM_EBUSY)
		metrics_store_error(code == PIM_EBUSY);
	if (msg == NULL)
		msg = sqlite3_errstr(rc);
	return store_err(st, code, "%s: %s", what, msg);
}

int
store_stmt_get(struct store *st, enum store_stmt_id id, const char *sql,
    sqlite3_stmt **out)
{
	sqlite3_stmt *s = st->stmts[id];
	unsigned flags;
	int rc;

	*out = NULL;
	if (s != NULL && !sqlite3_stmt_busy(s)) {
		*out = s;
		return PIM_OK;
	}

	/* First use, or the cached copy is mid-iteration (re-entry). */
	flags = s == NULL ? SQLITE_PREPARE_PERSISTENT : 0;
	rc = sqlite3_prepare_v3(st->db, sql, -1, flags, &s, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "preparing a statement");
	if (st->stmts[id] == NULL)
		st->stmts[id] = s;
	*out = s;
	return PIM_OK;
}

void
store_stmt_put(struct store *st, enum store_stmt_id id, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	if (s != st->stmts[id]) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
store_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return PIM_OK;
	return store_fail(st, rc, what);
}

int
store_exec(struct store *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(st, rc, what);
	return PIM_OK;
}

int
store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

void
store_col_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	str_copy(dst, t != NULL ? t : "", size);
}

bool
store_col_text_exact(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	/* The type first: reading the text converts the value. */
	int type = sqlite3_column_type(s, col);
	const char *t = (const char *)sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	str_copy(dst, t != NULL ? t : "", size);
	return type == SQLITE_TEXT && t != NULL && strlen(t) == n && n < size;
}

bool
store_col_int_exact(sqlite3_stmt *s, int col, int64_t *out)
{
	int type = sqlite3_column_type(s, col);

	*out = sqlite3_column_int64(s, col);
	return type == SQLITE_INTEGER;
}

int
store_step_row(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return PIM_OK;
	if (rc == SQLITE_DONE)
		return store_err(st, PIM_ENOTFOUND, "%s: not found", what);
	return store_fail(st, rc, what);
}

int
store_step_change(struct store *st, sqlite3_stmt *s, const char *what)
{
	int r = store_step_done(st, s, what);

	if (r == PIM_OK && sqlite3_changes(st->db) == 0)
		return store_err(st, PIM_ENOTFOUND, "%s: not found", what);
	return r;
}

int
store_each(struct store *st, sqlite3_stmt *s,
    int (*row)(sqlite3_stmt *s, void *ctx), void *ctx, const char *what)
{
	int r, rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = row(s, ctx);
		if (r != 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return store_fail(st, rc, what);
	return PIM_OK;
}
