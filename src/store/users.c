/* Users and their SSH public keys. */
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/str.h"
#include "store_int.h"

#define USER_COLS "id, name, enabled, pw_hash IS NOT NULL, created"

struct user_each {
	store_user_cb cb;
	void *arg;
};

struct key_each {
	int (*cb)(const char *key, void *arg);
	void *arg;
};

static void
user_from_row(sqlite3_stmt *s, struct store_user *u)
{
	u->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, u->name, sizeof(u->name));
	u->enabled = sqlite3_column_int(s, 2) != 0;
	u->has_password = sqlite3_column_int(s, 3) != 0;
	u->created = sqlite3_column_int64(s, 4);
}

int
store_user_add(struct store *st, const char *name, const char *pw_hash,
    int64_t now, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_ADD,
	    "INSERT INTO users (name, pw_hash, enabled, created)"
	    " VALUES (?1, ?2, 1, ?3)",
	    &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, pw_hash);
	sqlite3_bind_int64(s, 3, now);
	r = store_step_done(st, s, "adding a user");
	if (r == PIM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (r == PIM_EEXIST)
		store_err(st, r, "user %s already exists", name);
	store_stmt_put(st, STMT_USER_ADD, s);
	return r;
}

int
store_user_get(struct store *st, const char *name, struct store_user *u)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_GET,
	    "SELECT " USER_COLS " FROM users WHERE name = ?1", &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, name);
	r = store_step_row(st, s, "reading a user");
	if (r == PIM_OK)
		user_from_row(s, u);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user named %s", name);
	store_stmt_put(st, STMT_USER_GET, s);
	return r;
}

int
store_user_get_by_id(struct store *st, int64_t id, struct store_user *u)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_GET_BY_ID,
	    "SELECT " USER_COLS " FROM users WHERE id = ?1", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = store_step_row(st, s, "reading a user");
	if (r == PIM_OK)
		user_from_row(s, u);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user with id %lld", (long long)id);
	store_stmt_put(st, STMT_USER_GET_BY_ID, s);
	return r;
}

int
store_user_set_enabled(struct store *st, const char *name, bool enabled)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_SET_ENABLED,
	    "UPDATE users SET enabled = ?2 WHERE name = ?1", &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, name);
	sqlite3_bind_int(s, 2, enabled ? 1 : 0);
	r = store_step_change(st, s, "changing a user");
	if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user named %s", name);
	store_stmt_put(st, STMT_USER_SET_ENABLED, s);
	return r;
}

/* Copies the hash column of the current row of S into BUF. */
static int
user_copy_hash(
    struct store *st, sqlite3_stmt *s, const char *name, char *buf, size_t size)
{
	const char *hash = (const char *)sqlite3_column_text(s, 0);

	if (hash == NULL)
		return store_err(
		    st, PIM_ENOTFOUND, "user %s has no password", name);
	if (!str_copy(buf, hash, size))
		return store_err(st, PIM_EINVAL,
		    "password hash of user %s does not fit", name);
	return PIM_OK;
}

int
store_user_password_hash(
    struct store *st, const char *name, char *buf, size_t size)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_PW_HASH,
	    "SELECT pw_hash FROM users WHERE name = ?1", &s);
	if (r != PIM_OK)
		return r;
	store_bind_text(s, 1, name);
	r = store_step_row(st, s, "reading a password hash");
	if (r == PIM_OK)
		r = user_copy_hash(st, s, name, buf, size);
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user named %s", name);
	store_stmt_put(st, STMT_USER_PW_HASH, s);
	return r;
}

int
store_user_key_add(struct store *st, int64_t user_id, const char *key)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_KEY_ADD,
	    "INSERT INTO user_keys (user_id, \"key\") VALUES (?1, ?2)", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	store_bind_text(s, 2, key);
	r = store_step_done(st, s, "adding a key");
	if (r == PIM_EEXIST)
		store_err(st, r, "the user has this key already");
	else if (r == PIM_ENOTFOUND)
		store_err(st, r, "no user with id %lld", (long long)user_id);
	store_stmt_put(st, STMT_USER_KEY_ADD, s);
	return r;
}

static int
user_key_row(sqlite3_stmt *s, void *ctx)
{
	struct key_each *e = ctx;
	const char *key = (const char *)sqlite3_column_text(s, 0);

	return e->cb(key != NULL ? key : "", e->arg);
}

int
store_user_keys(struct store *st, int64_t user_id,
    int (*cb)(const char *key, void *arg), void *arg)
{
	struct key_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_KEYS,
	    "SELECT \"key\" FROM user_keys WHERE user_id = ?1 ORDER BY rowid",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, user_id);
	r = store_each(st, s, user_key_row, &e, "listing keys");
	store_stmt_put(st, STMT_USER_KEYS, s);
	return r;
}

/* The looking up of one key's owner. */
struct key_owner {
	const char *key; /* the key line looked for */
	char *owner;
	size_t size;
	bool fits;
};

#define KEY_BLANKS " \t\r\n"

/* Finds field I (0: type, 1: base64) of key line LINE: sets *LEN. */
static const char *
key_field(const char *line, int i, size_t *len)
{
	const char *p = line + strspn(line, KEY_BLANKS);

	for (; i > 0; i--) {
		p += strcspn(p, KEY_BLANKS);
		p += strspn(p, KEY_BLANKS);
	}
	*len = strcspn(p, KEY_BLANKS);
	return p;
}

/* True if key lines A and B have the same type and base64 parts. */
static bool
key_same(const char *a, const char *b)
{
	for (int i = 0; i < 2; i++) {
		size_t alen, blen;
		const char *fa = key_field(a, i, &alen);
		const char *fb = key_field(b, i, &blen);

		if (alen != blen || memcmp(fa, fb, alen) != 0)
			return false;
	}
	return true;
}

/* Stops at the row whose key is the one looked for (returns 1). */
static int
key_owner_row(sqlite3_stmt *s, void *ctx)
{
	struct key_owner *o = ctx;
	const char *key = (const char *)sqlite3_column_text(s, 1);
	const char *name = (const char *)sqlite3_column_text(s, 0);

	if (key == NULL || name == NULL || !key_same(o->key, key))
		return 0;
	o->fits = str_copy(o->owner, name, o->size);
	return 1;
}

int
store_user_key_owner(
    struct store *st, const char *key_line, char *owner, size_t size)
{
	struct key_owner o = {key_line, owner, size, false};
	sqlite3_stmt *s = NULL;
	size_t len;
	int r;

	key_field(key_line, 1, &len);
	if (len == 0)
		return store_err(st, PIM_EINVAL, "not a public key line");
	r = store_stmt_get(st, STMT_USER_KEY_OWNER,
	    "SELECT u.name, k.\"key\" FROM user_keys k"
	    " JOIN users u ON u.id = k.user_id ORDER BY k.rowid",
	    &s);
	if (r != PIM_OK)
		return r;
	r = store_each(st, s, key_owner_row, &o, "looking a key up");
	store_stmt_put(st, STMT_USER_KEY_OWNER, s);
	if (r == PIM_OK)
		return store_err(st, PIM_ENOTFOUND, "no user holds this key");
	if (r != 1)
		return r;
	if (!o.fits)
		return store_err(
		    st, PIM_EINVAL, "the owner's name does not fit");
	return PIM_OK;
}

static int
user_row(sqlite3_stmt *s, void *ctx)
{
	struct user_each *e = ctx;
	struct store_user u = {0};

	user_from_row(s, &u);
	return e->cb(&u, e->arg);
}

int
store_user_list(struct store *st, store_user_cb cb, void *arg)
{
	struct user_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_USER_LIST,
	    "SELECT " USER_COLS " FROM users ORDER BY name", &s);
	if (r != PIM_OK)
		return r;
	r = store_each(st, s, user_row, &e, "listing users");
	store_stmt_put(st, STMT_USER_LIST, s);
	return r;
}
