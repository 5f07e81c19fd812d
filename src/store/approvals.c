/* Approvals: each approver's decision on a pending activation, at most
 * one per approver (the primary key is activation and approver). */
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

struct approval_each {
	store_approval_cb cb;
	void *arg;
};

int
store_approval_add(struct store *st, const struct store_approval *a)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (strcmp(a->decision, "approve") != 0 &&
	    strcmp(a->decision, "deny") != 0)
		return store_err(st, PIM_EINVAL, "unknown decision");
	r = store_stmt_get(st, STMT_APPROVAL_ADD,
	    "INSERT INTO approvals (activation_id, approver, decision, reason,"
	    " ts) VALUES (?1, ?2, ?3, ?4, ?5)",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, a->activation_id);
	store_bind_text(s, 2, a->approver);
	store_bind_text(s, 3, a->decision);
	store_bind_text(s, 4, a->reason);
	sqlite3_bind_int64(s, 5, a->ts);
	r = store_step_done(st, s, "adding an approval");
	if (r == PIM_EEXIST)
		store_err(st, r, "%s already decided on activation %lld",
		    a->approver, (long long)a->activation_id);
	else if (r == PIM_ENOTFOUND)
		store_err(
		    st, r, "no activation %lld", (long long)a->activation_id);
	store_stmt_put(st, STMT_APPROVAL_ADD, s);
	return r;
}

static int
approval_row(sqlite3_stmt *s, void *ctx)
{
	struct approval_each *e = ctx;
	struct store_approval a = {0};

	a.activation_id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, a.approver, sizeof(a.approver));
	store_col_text(s, 2, a.decision, sizeof(a.decision));
	store_col_text(s, 3, a.reason, sizeof(a.reason));
	a.ts = sqlite3_column_int64(s, 4);
	return e->cb(&a, e->arg);
}

int
store_approval_list(
    struct store *st, int64_t activation_id, store_approval_cb cb, void *arg)
{
	struct approval_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_APPROVAL_LIST,
	    "SELECT activation_id, approver, decision, reason, ts"
	    " FROM approvals WHERE activation_id = ?1 ORDER BY ts, approver",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, activation_id);
	r = store_each(st, s, approval_row, &e, "listing approvals");
	store_stmt_put(st, STMT_APPROVAL_LIST, s);
	return r;
}
