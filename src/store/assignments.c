/* Assignments: which user may (eligible) or does (active) hold which
 * role, permanently or between START and END. */
#include "pimgate/err.h"
#include "store_int.h"

#define ASSIGN_COLS                                                    \
	"a.id, a.user_id, a.role_id, u.name, r.name, a.kind, a.start," \
	" a.\"end\", a.created"
#define ASSIGN_FROM                                            \
	" FROM assignments a JOIN users u ON u.id = a.user_id" \
	" JOIN roles r ON r.id = a.role_id"

struct assign_each {
	store_assignment_cb cb;
	void *arg;
};

static void
assign_from_row(sqlite3_stmt *s, struct store_assignment *a)
{
	a->id = sqlite3_column_int64(s, 0);
	a->user_id = sqlite3_column_int64(s, 1);
	a->role_id = sqlite3_column_int64(s, 2);
	store_col_text(s, 3, a->user, sizeof(a->user));
	store_col_text(s, 4, a->role, sizeof(a->role));
	a->kind = (enum store_assign_kind)sqlite3_column_int(s, 5);
	a->start = sqlite3_column_int64(s, 6);
	a->end = sqlite3_column_int64(s, 7);
	a->created = sqlite3_column_int64(s, 8);
}

static int
assign_check(struct store *st, const struct store_assignment *a)
{
	if (a->kind != ASSIGN_ELIGIBLE && a->kind != ASSIGN_ACTIVE)
		return store_err(
		    st, PIM_EINVAL, "unknown assignment kind %d", (int)a->kind);
	if (a->start < 0 || a->end < 0)
		return store_err(st, PIM_EINVAL, "negative assignment time");
	if (a->end != 0 && a->end <= a->start)
		return store_err(
		    st, PIM_EINVAL, "the assignment ends before it starts");
	return PIM_OK;
}

int
store_assignment_add(
    struct store *st, const struct store_assignment *a, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = assign_check(st, a)) != PIM_OK)
		return r;
	r = store_stmt_get(st, STMT_ASSIGN_ADD,
	    "INSERT INTO assignments (user_id, role_id, kind, start, \"end\","
	    " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, a->user_id);
	sqlite3_bind_int64(s, 2, a->role_id);
	sqlite3_bind_int(s, 3, (int)a->kind);
	sqlite3_bind_int64(s, 4, a->start);
	sqlite3_bind_int64(s, 5, a->end);
	sqlite3_bind_int64(s, 6, a->created);
	r = store_step_done(st, s, "adding an assignment");
	if (r == PIM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (r == PIM_EEXIST)
		store_err(st, r, "the user holds this assignment already");
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no such user or role");
	store_stmt_put(st, STMT_ASSIGN_ADD, s);
	return r;
}

int
store_assignment_remove(struct store *st, int64_t user_id, int64_t role_id)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ASSIGN_REMOVE,
	    "DELETE FROM assignments WHERE user_id = ?1 AND role_id = ?2", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, role_id);
	r = store_step_change(st, s, "removing an assignment");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "the user holds no assignment of this role");
	store_stmt_put(st, STMT_ASSIGN_REMOVE, s);
	return r;
}

int
store_assignment_get(struct store *st, int64_t id, struct store_assignment *a)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ASSIGN_GET,
	    "SELECT " ASSIGN_COLS ASSIGN_FROM " WHERE a.id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading an assignment");
	if (r == PIM_OK)
		assign_from_row(s, a);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no assignment %lld", (long long)id);
	store_stmt_put(st, STMT_ASSIGN_GET, s);
	return r;
}

static int
assign_row(sqlite3_stmt *s, void *ctx)
{
	struct assign_each *e = ctx;
	struct store_assignment a = {0};

	assign_from_row(s, &a);
	return e->cb(&a, e->arg);
}

int
store_assignment_list(
    struct store *st, int64_t user_id, store_assignment_cb cb, void *arg)
{
	struct assign_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ASSIGN_LIST,
	    "SELECT " ASSIGN_COLS ASSIGN_FROM
	    " WHERE ?1 = 0 OR a.user_id = ?1 ORDER BY u.name, r.name, a.kind",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	r = store_each(st, s, assign_row, &e, "listing assignments");
	store_stmt_put(st, STMT_ASSIGN_LIST, s);
	return r;
}
