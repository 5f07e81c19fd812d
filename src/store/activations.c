/* Activations and their life:
 *
 *   pending --> active --> expired | revoked | deactivated
 *      |
 *      +--> denied | cancelled
 *
 * Only these moves are accepted; every other one is PIM_EINVAL. A row
 * that has left pending and active records when in ENDED. */
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

#define ACT_COLS STORE_ACT_COLS
#define ACT_FROM STORE_ACT_FROM

static const char *const act_state_names[] = {
    [ACT_PENDING] = "pending",
    [ACT_ACTIVE] = "active",
    [ACT_EXPIRED] = "expired",
    [ACT_REVOKED] = "revoked",
    [ACT_DEACTIVATED] = "deactivated",
    [ACT_DENIED] = "denied",
    [ACT_CANCELLED] = "cancelled",
};

#define ACT_STATE_COUNT (sizeof(act_state_names) / sizeof(act_state_names[0]))

const char *
store_act_state_name(enum store_act_state s)
{
	if ((unsigned)s >= ACT_STATE_COUNT)
		return NULL;
	return act_state_names[s];
}

enum store_act_state
store_act_state_parse(const char *name)
{
	size_t i;

	for (i = 1; name != NULL && i < ACT_STATE_COUNT; i++)
		if (strcmp(act_state_names[i], name) == 0)
			return (enum store_act_state)i;
	return 0;
}

static const char *
act_name(enum store_act_state s)
{
	const char *name = store_act_state_name(s);

	return name != NULL ? name : "?";
}

static bool
act_transition_valid(enum store_act_state from, enum store_act_state to)
{
	switch (from) {
	case ACT_PENDING:
		return to == ACT_ACTIVE || to == ACT_DENIED ||
		       to == ACT_CANCELLED;
	case ACT_ACTIVE:
		return to == ACT_EXPIRED || to == ACT_REVOKED ||
		       to == ACT_DEACTIVATED;
	default:
		return false;
	}
}

void
store_act_from_row(sqlite3_stmt *s, struct store_activation *a)
{
	char state[16];

	a->id = sqlite3_column_int64(s, 0);
	a->user_id = sqlite3_column_int64(s, 1);
	a->role_id = sqlite3_column_int64(s, 2);
	store_col_text(s, 3, a->user, sizeof(a->user));
	store_col_text(s, 4, a->role, sizeof(a->role));
	store_col_text(s, 5, state, sizeof(state));
	a->state = store_act_state_parse(state);
	a->start = sqlite3_column_int64(s, 6);
	a->end = sqlite3_column_int64(s, 7);
	store_col_text(s, 8, a->reason, sizeof(a->reason));
	store_col_text(s, 9, a->ticket, sizeof(a->ticket));
	store_col_text(s, 10, a->requested_by, sizeof(a->requested_by));
	a->created = sqlite3_column_int64(s, 11);
	a->ended = sqlite3_column_int64(s, 12);
	a->break_glass = sqlite3_column_int(s, 13) != 0;
	a->approve_by = sqlite3_column_int64(s, 14);
}

static void
act_bind(sqlite3_stmt *s, const struct store_activation *a)
{
	sqlite3_bind_int64(s, 1, a->user_id);
	sqlite3_bind_int64(s, 2, a->role_id);
	store_bind_text(s, 3, store_act_state_name(a->state));
	sqlite3_bind_int64(s, 4, a->start);
	sqlite3_bind_int64(s, 5, a->end);
	store_bind_text(s, 6, a->reason);
	store_bind_text(s, 7, a->ticket);
	store_bind_text(s, 8, a->requested_by);
	sqlite3_bind_int64(s, 9, a->created);
	sqlite3_bind_int64(s, 10, a->ended);
	sqlite3_bind_int(s, 11, a->break_glass);
	sqlite3_bind_int64(s, 12, a->approve_by);
}

int
store_activation_add(
    struct store *st, const struct store_activation *a, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (store_act_state_name(a->state) == NULL)
		return store_err(st, PIM_EINVAL, "unknown activation state");
	r = store_stmt_get(st, STMT_ACT_ADD,
	    "INSERT INTO activations (user_id, role_id, state, start, \"end\","
	    " reason, ticket, requested_by, created, ended, break_glass,"
	    " approve_by)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	    &s);
	if (r != PIM_OK)
		return r;
	act_bind(s, a);
	r = store_step_done(st, s, "adding an activation");
	if (r == PIM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no such user or role");
	store_stmt_put(st, STMT_ACT_ADD, s);
	return r;
}

int
store_activation_get(struct store *st, int64_t id, struct store_activation *a)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_GET,
	    "SELECT " ACT_COLS ACT_FROM " WHERE a.id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading an activation");
	if (r == PIM_OK)
		store_act_from_row(s, a);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no activation %lld", (long long)id);
	store_stmt_put(st, STMT_ACT_GET, s);
	return r;
}

int
store_activation_transition(struct store *st, int64_t id,
    enum store_act_state from, enum store_act_state to, int64_t now)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (!act_transition_valid(from, to))
		return store_err(st, PIM_EINVAL,
		    "an activation cannot go from %s to %s", act_name(from),
		    act_name(to));
	r = store_stmt_get(st, STMT_ACT_TRANSITION,
	    "UPDATE activations SET state = ?3,"
	    " ended = CASE WHEN ?3 = 'active' THEN 0 ELSE ?4 END"
	    " WHERE id = ?1 AND state = ?2",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, store_act_state_name(from));
	store_bind_text(s, 3, store_act_state_name(to));
	sqlite3_bind_int64(s, 4, now);
	r = store_step_change(st, s, "changing an activation");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "activation %lld is not %s", (long long)id,
		    act_name(from));
	store_stmt_put(st, STMT_ACT_TRANSITION, s);
	return r;
}

int
store_activation_set_end(struct store *st, int64_t id, int64_t end)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_SET_END,
	    "UPDATE activations SET \"end\" = ?2"
	    " WHERE id = ?1 AND state IN ('pending', 'active') AND start < ?2",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, end);
	r = store_step_change(st, s, "changing an activation's end");
	if (r == PIM_ENOTFOUND)
		store_err(st, r,
		    "activation %lld is not pending or active, or would end "
		    "before it starts",
		    (long long)id);
	store_stmt_put(st, STMT_ACT_SET_END, s);
	return r;
}

int
store_activation_set_window(
    struct store *st, int64_t id, int64_t start, int64_t end)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_SET_WINDOW,
	    "UPDATE activations SET start = ?2, \"end\" = ?3"
	    " WHERE id = ?1 AND state = 'pending' AND ?2 < ?3",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, start);
	sqlite3_bind_int64(s, 3, end);
	r = store_step_change(st, s, "moving an activation's window");
	if (r == PIM_ENOTFOUND)
		store_err(st, r,
		    "activation %lld is not pending, or would end before it "
		    "starts",
		    (long long)id);
	store_stmt_put(st, STMT_ACT_SET_WINDOW, s);
	return r;
}

int
store_activation_expire(struct store *st, int64_t now, int *count)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (count != NULL)
		*count = 0;
	r = store_stmt_get(st, STMT_ACT_EXPIRE,
	    "UPDATE activations SET state = 'expired', ended = \"end\""
	    " WHERE state = 'active' AND \"end\" <= ?1",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, now);
	r = store_step_done(st, s, "expiring activations");
	if (r == PIM_OK && count != NULL)
		*count = sqlite3_changes(st->db);
	store_stmt_put(st, STMT_ACT_EXPIRE, s);
	return r;
}

int
store_act_row(sqlite3_stmt *s, void *ctx)
{
	struct store_act_each *e = ctx;
	struct store_activation a = {0};

	store_act_from_row(s, &a);
	return e->cb(&a, e->arg);
}

int
store_activation_list(
    struct store *st, int64_t user_id, store_activation_cb cb, void *arg)
{
	struct store_act_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_LIST,
	    "SELECT " ACT_COLS ACT_FROM
	    " WHERE ?1 = 0 OR a.user_id = ?1 ORDER BY a.id DESC",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	r = store_each(st, s, store_act_row, &e, "listing activations");
	store_stmt_put(st, STMT_ACT_LIST, s);
	return r;
}

int
store_activation_ending(struct store *st, int64_t after, int64_t upto,
    store_activation_cb cb, void *arg)
{
	struct store_act_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_ENDING,
	    "SELECT " ACT_COLS ACT_FROM
	    " WHERE a.state IN ('active', 'expired')"
	    " AND a.\"end\" > ?1 AND a.\"end\" <= ?2 ORDER BY a.\"end\", a.id",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, upto);
	r = store_each(st, s, store_act_row, &e, "listing ending activations");
	store_stmt_put(st, STMT_ACT_ENDING, s);
	return r;
}

int
store_activation_lapsed(
    struct store *st, int64_t now, int limit, store_activation_cb cb, void *arg)
{
	struct store_act_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_ACT_LAPSED,
	    "SELECT " ACT_COLS ACT_FROM
	    " WHERE a.state = 'pending' AND a.approve_by > 0"
	    " AND a.approve_by <= ?1 ORDER BY a.id LIMIT ?2",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	r = store_each(st, s, store_act_row, &e, "listing lapsed requests");
	store_stmt_put(st, STMT_ACT_LAPSED, s);
	return r;
}
