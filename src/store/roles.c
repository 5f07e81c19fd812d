/* Roles, their PIM settings and the targets they grant.
 *
 * store_role_add() and store_role_update() write the struct as given,
 * with three exceptions kept from before the PIM settings: a maximum
 * activation or session of 0 becomes 8h, an approval_ttl of 0 becomes
 * 1d, and an empty warn_before becomes "300,60" (5 and 1 minute).
 * Every other default (allow_perm_* true, for one) is the caller's:
 * pimctl sets them. */
#include "pimgate/err.h"
#include "store_int.h"

#define ROLE_COLS                                                           \
	"r.id, r.name, r.max_activation, r.max_session, r.idle_timeout,"    \
	" r.channels, r.created, r.require_mfa, r.require_reason,"          \
	" r.min_reason_len, r.require_ticket, r.ticket_pattern,"            \
	" r.approvals, r.approvers, r.approval_ttl, r.allow_perm_eligible," \
	" r.allow_perm_active, r.max_assignment, r.break_glass,"            \
	" r.warn_before"
/* The columns role_bind() fills, as ?2 .. ?19 (?1 is the name). */
#define ROLE_SET_COLS                                                   \
	"max_activation, max_session, idle_timeout, channels, created," \
	" require_mfa, require_reason, min_reason_len, require_ticket," \
	" ticket_pattern, approvals, approvers, approval_ttl,"          \
	" allow_perm_eligible, allow_perm_active, max_assignment,"      \
	" break_glass, warn_before"
#define ROLE_DEFAULT_MAX (8 * 3600)
#define ROLE_DEFAULT_WARN "300,60"
#define ROLE_DEFAULT_APPROVAL_TTL 86400

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
	r->require_mfa = sqlite3_column_int(s, 7) != 0;
	r->require_reason = sqlite3_column_int(s, 8) != 0;
	r->min_reason_len = sqlite3_column_int(s, 9);
	r->require_ticket = sqlite3_column_int(s, 10) != 0;
	store_col_text(s, 11, r->ticket_pattern, sizeof(r->ticket_pattern));
	r->approvals = sqlite3_column_int(s, 12);
	store_col_text(s, 13, r->approvers, sizeof(r->approvers));
	r->approval_ttl = sqlite3_column_int64(s, 14);
	r->allow_perm_eligible = sqlite3_column_int(s, 15) != 0;
	r->allow_perm_active = sqlite3_column_int(s, 16) != 0;
	r->max_assignment = sqlite3_column_int64(s, 17);
	r->break_glass = sqlite3_column_int(s, 18) != 0;
	store_col_text(s, 19, r->warn_before, sizeof(r->warn_before));
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
	sqlite3_bind_int(s, 7, r->require_mfa);
	sqlite3_bind_int(s, 8, r->require_reason);
	sqlite3_bind_int(s, 9, r->min_reason_len > 0 ? r->min_reason_len : 0);
	sqlite3_bind_int(s, 10, r->require_ticket);
	store_bind_text(s, 11, r->ticket_pattern);
	sqlite3_bind_int(s, 12, r->approvals > 0 ? r->approvals : 0);
	store_bind_text(s, 13, r->approvers);
	sqlite3_bind_int64(s, 14,
	    r->approval_ttl > 0 ? r->approval_ttl : ROLE_DEFAULT_APPROVAL_TTL);
	sqlite3_bind_int(s, 15, r->allow_perm_eligible);
	sqlite3_bind_int(s, 16, r->allow_perm_active);
	sqlite3_bind_int64(
	    s, 17, r->max_assignment > 0 ? r->max_assignment : 0);
	sqlite3_bind_int(s, 18, r->break_glass);
	store_bind_text(s, 19,
	    r->warn_before[0] != '\0' ? r->warn_before : ROLE_DEFAULT_WARN);
}

int
store_role_add(struct store *st, const struct store_role *r, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_ADD,
	    "INSERT INTO roles (name, " ROLE_SET_COLS ") VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
	    " ?18, ?19)",
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
store_role_update(struct store *st, const struct store_role *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt_get(st, STMT_ROLE_UPDATE,
	    "UPDATE roles SET (" ROLE_SET_COLS ") = (?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
	    " WHERE id = ?20",
	    &s);
	if (rc != PIM_OK)
		return rc;
	role_bind(s, r);
	sqlite3_bind_int64(s, 20, r->id);
	rc = store_step_change(st, s, "changing a role");
	if (rc == PIM_ENOTFOUND)
		store_err(st, rc, "no role with id %lld", (long long)r->id);
	store_stmt_put(st, STMT_ROLE_UPDATE, s);
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
