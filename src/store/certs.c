/* Client certificates issued by the bastion's CA: one row per
 * certificate, found by its serial (lower-case hex). A row is never
 * deleted; revoking sets when. */
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

#define CERT_COLS                                                      \
	"id, serial, user_id, user, target_id, target, activation_id," \
	" assignment_id, not_before, not_after, issued_by, created, revoked"

struct cert_each {
	store_cert_cb cb;
	void *arg;
};

static void
cert_from_row(sqlite3_stmt *s, struct store_cert *c)
{
	c->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, c->serial, sizeof(c->serial));
	c->user_id = sqlite3_column_int64(s, 2);
	store_col_text(s, 3, c->user, sizeof(c->user));
	c->target_id = sqlite3_column_int64(s, 4);
	store_col_text(s, 5, c->target, sizeof(c->target));
	c->activation_id = sqlite3_column_int64(s, 6);
	c->assignment_id = sqlite3_column_int64(s, 7);
	c->not_before = sqlite3_column_int64(s, 8);
	c->not_after = sqlite3_column_int64(s, 9);
	store_col_text(s, 10, c->issued_by, sizeof(c->issued_by));
	c->created = sqlite3_column_int64(s, 11);
	c->revoked = sqlite3_column_int64(s, 12);
}

static void
cert_bind(sqlite3_stmt *s, const struct store_cert *c)
{
	store_bind_text(s, 1, c->serial);
	sqlite3_bind_int64(s, 2, c->user_id);
	store_bind_text(s, 3, c->user);
	sqlite3_bind_int64(s, 4, c->target_id);
	store_bind_text(s, 5, c->target);
	sqlite3_bind_int64(s, 6, c->activation_id);
	sqlite3_bind_int64(s, 7, c->assignment_id);
	sqlite3_bind_int64(s, 8, c->not_before);
	sqlite3_bind_int64(s, 9, c->not_after);
	store_bind_text(s, 10, c->issued_by);
	sqlite3_bind_int64(s, 11, c->created);
	sqlite3_bind_int64(s, 12, c->revoked);
}

int
store_cert_add(struct store *st, struct store_cert *c)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (c->serial[0] == '\0')
		return store_err(
		    st, PIM_EINVAL, "a certificate needs a serial");
	r = store_stmt_get(st, STMT_CERT_ADD,
	    "INSERT INTO certs (serial, user_id, user, target_id, target,"
	    " activation_id, assignment_id, not_before, not_after, issued_by,"
	    " created, revoked)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	    &s);
	if (r != PIM_OK)
		return r;
	cert_bind(s, c);
	r = store_step_done(st, s, "adding a certificate");
	if (r == PIM_OK)
		c->id = sqlite3_last_insert_rowid(st->db);
	else if (r == PIM_EEXIST)
		store_err(
		    st, r, "a certificate with serial %s exists", c->serial);
	store_stmt_put(st, STMT_CERT_ADD, s);
	return r;
}

int
store_cert_get(struct store *st, const char *serial, struct store_cert *c)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_CERT_GET,
	    "SELECT " CERT_COLS " FROM certs WHERE serial = ?1", &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, serial);
	r = store_step_row(st, s, "reading a certificate");
	if (r == PIM_OK)
		cert_from_row(s, c);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no certificate with serial %.*s",
		    STORE_SERIAL_MAX, serial);
	store_stmt_put(st, STMT_CERT_GET, s);
	return r;
}

static int
cert_row(sqlite3_stmt *s, void *ctx)
{
	struct cert_each *e = ctx;
	struct store_cert c = {0};

	cert_from_row(s, &c);
	return e->cb(&c, e->arg);
}

int
store_cert_list(struct store *st, const char *user, store_cert_cb cb, void *arg)
{
	struct cert_each e = {cb, arg};
	enum store_stmt_id id =
	    user != NULL ? STMT_CERT_LIST_USER : STMT_CERT_LIST;
	sqlite3_stmt *s = NULL;
	int r;

	/* The certs_user index serves the per-user listing. */
	if (user != NULL)
		r = store_stmt_get(st, id,
		    "SELECT " CERT_COLS " FROM certs WHERE user = ?1"
		    " ORDER BY id DESC",
		    &s);
	else
		r = store_stmt_get(st, id,
		    "SELECT " CERT_COLS " FROM certs ORDER BY id DESC", &s);
	if (r != PIM_OK)
		return r;
	if (user != NULL)
		store_bind_text(s, 1, user);
	r = store_each(st, s, cert_row, &e, "listing certificates");
	store_stmt_put(st, id, s);
	return r;
}

int
store_cert_revoke(struct store *st, const char *serial, int64_t when)
{
	sqlite3_stmt *s = NULL;
	int r;

	/* A revoked certificate keeps the time it was first revoked. */
	r = store_stmt_get(st, STMT_CERT_REVOKE,
	    "UPDATE certs SET revoked = ?2 WHERE serial = ?1 AND revoked = 0",
	    &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, serial);
	sqlite3_bind_int64(s, 2, when > 0 ? when : 1);
	r = store_step_change(st, s, "revoking a certificate");
	if (r == PIM_ENOTFOUND)
		store_err(st, r,
		    "no certificate with serial %.*s that is not revoked",
		    STORE_SERIAL_MAX, serial);
	store_stmt_put(st, STMT_CERT_REVOKE, s);
	return r;
}
