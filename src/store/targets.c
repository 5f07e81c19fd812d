/* Targets: the systems behind the bastion, with their sealed credential. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

#define TARGET_COLS \
	"id, name, kind, host, port, login, host_key, created, database, tls"

struct target_each {
	store_target_cb cb;
	void *arg;
};

static void
target_from_row(sqlite3_stmt *s, struct store_target *t)
{
	t->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, t->name, sizeof(t->name));
	store_col_text(s, 2, t->kind, sizeof(t->kind));
	store_col_text(s, 3, t->host, sizeof(t->host));
	t->port = sqlite3_column_int(s, 4);
	store_col_text(s, 5, t->login, sizeof(t->login));
	store_col_text(s, 6, t->host_key, sizeof(t->host_key));
	t->created = sqlite3_column_int64(s, 7);
	store_col_text(s, 8, t->database, sizeof(t->database));
	store_col_text(s, 9, t->tls, sizeof(t->tls));
}

static void
target_bind(sqlite3_stmt *s, const struct store_target *t,
    const unsigned char *secret, size_t len)
{
	store_bind_text(s, 1, t->name);
	store_bind_text(s, 2, t->kind[0] != '\0' ? t->kind : "ssh");
	store_bind_text(s, 3, t->host);
	sqlite3_bind_int(s, 4, t->port);
	store_bind_text(s, 5, t->login);
	store_bind_text(s, 6, t->host_key);
	if (secret != NULL)
		sqlite3_bind_blob64(s, 7, secret, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_int64(s, 8, t->created);
	store_bind_text(s, 9, t->database);
	store_bind_text(s, 10, t->tls);
}

int
store_target_add(struct store *st, const struct store_target *t,
    const unsigned char *secret, size_t len, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_TARGET_ADD,
	    "INSERT INTO targets (name, kind, host, port, login, host_key,"
	    " secret, created, database, tls)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    &s);
	if (r != PIM_OK)
		return r;
	target_bind(s, t, secret, len);
	r = store_step_done(st, s, "adding a target");
	if (r == PIM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (r == PIM_EEXIST)
		store_err(st, r, "target %s already exists", t->name);
	store_stmt_put(st, STMT_TARGET_ADD, s);
	return r;
}

int
store_target_get(struct store *st, const char *name, struct store_target *t)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_TARGET_GET,
	    "SELECT " TARGET_COLS " FROM targets WHERE name = ?1", &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, name);
	r = store_step_row(st, s, "reading a target");
	if (r == PIM_OK)
		target_from_row(s, t);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no target named %s", name);
	store_stmt_put(st, STMT_TARGET_GET, s);
	return r;
}

static int
target_row(sqlite3_stmt *s, void *ctx)
{
	struct target_each *e = ctx;
	struct store_target t = {0};

	target_from_row(s, &t);
	return e->cb(&t, e->arg);
}

int
store_target_list(struct store *st, store_target_cb cb, void *arg)
{
	struct target_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_TARGET_LIST,
	    "SELECT " TARGET_COLS " FROM targets ORDER BY name", &s);
	if (r != PIM_OK)
		return r;
	r = store_each(st, s, target_row, &e, "listing targets");
	store_stmt_put(st, STMT_TARGET_LIST, s);
	return r;
}

/* Copies the blob in column 0 of S into a new buffer. */
static int
target_copy_secret(
    struct store *st, sqlite3_stmt *s, unsigned char **secret, size_t *len)
{
	const void *blob = sqlite3_column_blob(s, 0);
	int n = sqlite3_column_bytes(s, 0);

	if (blob == NULL || n <= 0)
		return store_err(st, PIM_ENOTFOUND, "the target has no secret");
	*secret = malloc((size_t)n);
	if (*secret == NULL)
		return store_err(st, PIM_ENOMEM, "out of memory");
	memcpy(*secret, blob, (size_t)n);
	*len = (size_t)n;
	return PIM_OK;
}

int
store_target_secret(
    struct store *st, int64_t target_id, unsigned char **secret, size_t *len)
{
	sqlite3_stmt *s = NULL;
	int r;

	*secret = NULL;
	*len = 0;
	r = store_stmt_get(st, STMT_TARGET_SECRET,
	    "SELECT secret FROM targets WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, target_id);
	r = store_step_row(st, s, "reading a secret");
	if (r == PIM_OK)
		r = target_copy_secret(st, s, secret, len);
	else if (r == PIM_ENOTFOUND)
		store_err(
		    st, r, "no target with id %lld", (long long)target_id);
	store_stmt_put(st, STMT_TARGET_SECRET, s);
	return r;
}

int
store_target_set_tls_ca(struct store *st, int64_t target_id, const char *pem)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_TARGET_SET_TLS_CA,
	    "UPDATE targets SET tls_ca = ?2 WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, target_id);
	store_bind_text(s, 2, pem != NULL ? pem : "");
	r = store_step_change(st, s, "setting a target's TLS CA");
	if (r == PIM_ENOTFOUND)
		store_err(
		    st, r, "no target with id %lld", (long long)target_id);
	store_stmt_put(st, STMT_TARGET_SET_TLS_CA, s);
	return r;
}

/* Copies the text in column 0 of S into a new NUL-terminated buffer. */
static int
target_copy_text(struct store *st, sqlite3_stmt *s, char **out)
{
	const unsigned char *text = sqlite3_column_text(s, 0);
	int n = sqlite3_column_bytes(s, 0);

	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return store_err(st, PIM_ENOMEM, "out of memory");
	if (text != NULL && n > 0)
		memcpy(*out, text, (size_t)n);
	(*out)[n] = '\0';
	return PIM_OK;
}

int
store_target_tls_ca(struct store *st, int64_t target_id, char **pem)
{
	sqlite3_stmt *s = NULL;
	int r;

	*pem = NULL;
	r = store_stmt_get(st, STMT_TARGET_TLS_CA,
	    "SELECT tls_ca FROM targets WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, target_id);
	r = store_step_row(st, s, "reading a target's TLS CA");
	if (r == PIM_OK)
		r = target_copy_text(st, s, pem);
	else if (r == PIM_ENOTFOUND)
		store_err(
		    st, r, "no target with id %lld", (long long)target_id);
	store_stmt_put(st, STMT_TARGET_TLS_CA, s);
	return r;
}
