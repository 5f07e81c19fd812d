/* Roles and the targets they grant. */
#include "pimgate/err.h"
#include "store_int.h"

#define ROLE_COLS                                                        \
	"r.id, r.name, r.max_activation, r.max_session, r.idle_timeout," \
	" r.channels, r.created"
#define ROLE_DEFAULT_MAX (8 * 3600)

struct role_each {
	store_role_cb cb;
	void *arg;
};

static void
role_from_row(sqlite3_stmt *s, struct store_role *r)
{
	r->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, r->name, sizeof(r->name));
	r->max_activation = sqlite3_column_int64(s, 2);
	r->max_session = sqlite3_column_int64(s, 3);
	r->idle_timeout = sqlite3_column_int64(s, 4);
	r->channels = (unsigned)sqlite3_column_int64(s, 5);
	r->created = sqlite3_column_int64(s, 6);
}

static void
role_bind(sqlite3_stmt *s, const struct store_role *r)
{
	store_bind_text(s, 1, r->name);
	sqlite3_bind_int64(
	    s, 2, r->max_activation > 0 ? r->max_activation : ROLE_DEFAULT_MAX);
	sqlite3_bind_int64(
	    s, 3, r->max_session > 0 ? r->max_session : ROLE_DEFAULT_MAX);
	sqlite3_bind_int64(s, 4, r->idle_timeout > 0 ? r->idle_timeout : 0);
	sqlite3_bind_int64(s, 5, r->channels);
	sqlite3_bind_int64(s, 6, r->created);
}

int
store_role_add(struct store *st, const struct store_role *r, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_ADD,
	    "INSERT INTO roles (name, max_activation, max_session,"
	    " idle_timeout, channels, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &s);
	if (rc != PIM_OK)
		return rc;
	role_bind(s, r);
	rc = store_step_done(st, s, "adding a role");
	if (rc == PIM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (rc == PIM_EEXIST)
		store_err(st, rc, "role %s already exists", r->name);
	store_stmt_put(st, STMT_ROLE_ADD, s);
	return rc;
}

int
store_role_get(struct store *st, const char *name, struct store_role *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_GET,
	    "SELECT " ROLE_COLS " FROM roles r WHERE r.name = ?1", &s);
	if (rc != PIM_OK)
		return rc;
	store_bind_text(s, 1, name);
	rc = store_step_row(st, s, "reading a role");
	if (rc == PIM_OK)
		role_from_row(s, r);
	else if (rc == PIM_ENOTFOUND)
		store_err(st, rc, "no role named %s", name);
	store_stmt_put(st, STMT_ROLE_GET, s);
	return rc;
}

int
store_role_get_by_id(struct store *st, int64_t id, struct store_role *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_GET_BY_ID,
	    "SELECT " ROLE_COLS " FROM roles r WHERE r.id = ?1", &s);
	if (rc != PIM_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step_row(st, s, "reading a role");
	if (rc == PIM_OK)
		role_from_row(s, r);
	else if (rc == PIM_ENOTFOUND)
		store_err(st, rc, "no role with id %lld", (long long)id);
	store_stmt_put(st, STMT_ROLE_GET_BY_ID, s);
	return rc;
}

static int
role_row(sqlite3_stmt *s, void *ctx)
{
	struct role_each *e = ctx;
	struct store_role r = {0};

	role_from_row(s, &r);
	return e->cb(&r, e->arg);
}

int
store_role_list(struct store *st, store_role_cb cb, void *arg)
{
	struct role_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_LIST,
	    "SELECT " ROLE_COLS " FROM roles r ORDER BY r.name", &s);
	if (rc != PIM_OK)
		return rc;
	rc = store_each(st, s, role_row, &e, "listing roles");
	store_stmt_put(st, STMT_ROLE_LIST, s);
	return rc;
}

int
store_role_grant(struct store *st, int64_t role_id, int64_t target_id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_GRANT,
	    "INSERT INTO grants (role_id, target_id) VALUES (?1, ?2)", &s);
	if (rc != PIM_OK)
		return rc;
	sqlite3_bind_int64(s, 1, role_id);
	sqlite3_bind_int64(s, 2, target_id);
	rc = store_step_done(st, s, "adding a grant");
	if (rc == PIM_EEXIST)
		store_err(st, rc, "the role grants this target already");
	else if (rc == PIM_ENOTFOUND)
		store_err(st, rc, "no such role or target");
	store_stmt_put(st, STMT_ROLE_GRANT, s);
	return rc;
}

int
store_roles_granting(
    struct store *st, int64_t target_id, store_role_cb cb, void *arg)
{
	struct role_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLES_GRANTING,
	    "SELECT " ROLE_COLS
	    " FROM grants g JOIN roles r ON r.id = g.role_id"
	    " WHERE g.target_id = ?1 ORDER BY r.name",
	    &s);
	if (rc != PIM_OK)
		return rc;
	sqlite3_bind_int64(s, 1, target_id);
	rc = store_each(st, s, role_row, &e, "listing granting roles");
	store_stmt_put(st, STMT_ROLES_GRANTING, s);
	return rc;
}
