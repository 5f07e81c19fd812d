/* Unit tests for the store (and audit_log, which only writes to it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/store.h"

#define T0 1800000000 /* 2027-01-15T08:00:00Z */

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	*state = f;
	return 0;
}

static void
remove_db(const char *path)
{
	char side[160];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static int64_t
add_user(struct store *st, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_user_add(st, name, NULL, T0, &id), PIM_OK);
	assert_true(id > 0);
	return id;
}

static int64_t
add_role(struct store *st, const char *name)
{
	struct store_role r = {0};
	int64_t id = 0;

	snprintf(r.name, sizeof(r.name), "%s", name);
	r.max_activation = 4 * 3600;
	r.max_session = 3600;
	r.idle_timeout = 600;
	r.channels = CHANNEL_DEFAULT;
	r.created = T0;
	assert_int_equal(store_role_add(st, &r, &id), PIM_OK);
	return id;
}

static int64_t
add_target(struct store *st, const char *name)
{
	struct store_target t = {0};
	int64_t id = 0;

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.login, sizeof(t.login), "root");
	t.port = 22;
	t.created = T0;
	assert_int_equal(store_target_add(st, &t, NULL, 0, &id), PIM_OK);
	return id;
}

static int
count_cb(const void *row, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
count_users(const struct store_user *u, void *arg)
{
	return count_cb(u, arg);
}

/* ---- open, migrate, reopen ---- */

static void
test_open_reopen(void **state)
{
	struct fx *f = *state;
	struct store *st = NULL;
	char missing[160];
	struct stat sb;
	int64_t id;

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_schema_version(f->st), 9);
	id = add_user(f->st, "alice");
	store_close(f->st);
	f->st = NULL;

	/* Reopen without create: same data, no second migration. */
	assert_int_equal(store_open(f->path, false, &f->st), PIM_OK);
	assert_int_equal(store_schema_version(f->st), 9);
	{
		struct store_user u;

		assert_int_equal(store_user_get(f->st, "alice", &u), PIM_OK);
		assert_int_equal(u.id, id);
	}
	/* Create on an existing file keeps it. */
	assert_int_equal(store_open(f->path, true, &st), PIM_OK);
	store_close(st);

	snprintf(missing, sizeof(missing), "%s/none.db", f->dir);
	st = (struct store *)1;
	assert_int_equal(store_open(missing, false, &st), PIM_ENOTFOUND);
	assert_null(st);
	assert_int_equal(access(missing, F_OK), -1);
	assert_string_equal(store_errmsg(NULL), "");
}

/* ---- users ---- */

static void
test_users(void **state)
{
	struct fx *f = *state;
	struct store_user u;
	char hash[128];
	int64_t a, b, c;
	int n = 0;

	assert_int_equal(
	    store_user_add(f->st, "alice", "$argon2id$x", T0, &a), PIM_OK);
	assert_int_equal(
	    store_user_add(f->st, "bob", NULL, T0 + 1, &b), PIM_OK);
	assert_int_equal(
	    store_user_add(f->st, "alice", NULL, T0, &c), PIM_EEXIST);
	assert_non_null(strstr(store_errmsg(f->st), "alice"));

	assert_int_equal(store_user_get(f->st, "alice", &u), PIM_OK);
	assert_int_equal(u.id, a);
	assert_string_equal(u.name, "alice");
	assert_true(u.enabled);
	assert_true(u.has_password);
	assert_int_equal(u.created, T0);
	assert_int_equal(store_user_get_by_id(f->st, b, &u), PIM_OK);
	assert_string_equal(u.name, "bob");
	assert_false(u.has_password);
	assert_int_equal(store_user_get(f->st, "zed", &u), PIM_ENOTFOUND);
	assert_string_equal(store_errmsg(f->st), "no user named zed");
	assert_int_equal(store_user_get_by_id(f->st, 999, &u), PIM_ENOTFOUND);

	assert_int_equal(
	    store_user_password_hash(f->st, "alice", hash, sizeof(hash)),
	    PIM_OK);
	assert_string_equal(hash, "$argon2id$x");
	assert_int_equal(
	    store_user_password_hash(f->st, "alice", hash, 4), PIM_EINVAL);
	assert_int_equal(
	    store_user_password_hash(f->st, "bob", hash, sizeof(hash)),
	    PIM_ENOTFOUND);
	assert_int_equal(
	    store_user_password_hash(f->st, "zed", hash, sizeof(hash)),
	    PIM_ENOTFOUND);

	assert_int_equal(store_user_set_enabled(f->st, "bob", false), PIM_OK);
	assert_int_equal(store_user_get(f->st, "bob", &u), PIM_OK);
	assert_false(u.enabled);
	assert_int_equal(
	    store_user_set_enabled(f->st, "zed", false), PIM_ENOTFOUND);

	assert_int_equal(store_user_list(f->st, count_users, &n), PIM_OK);
	assert_int_equal(n, 2);
}

struct names {
	char v[8][STORE_KEY_MAX];
	int n;
};

static int
collect_key(const char *key, void *arg)
{
	struct names *k = arg;

	snprintf(k->v[k->n++], sizeof(k->v[0]), "%s", key);
	return 0;
}

static int
collect_user(const struct store_user *u, void *arg)
{
	return collect_key(u->name, arg);
}

static int
stop_at_first(const struct store_user *u, void *arg)
{
	return 42;
}

static void
test_user_keys_and_list(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	int64_t a;

	add_user(f->st, "carol");
	a = add_user(f->st, "alice");
	add_user(f->st, "bob");
	assert_int_equal(
	    store_user_key_add(f->st, a, "ssh-ed25519 AAAA1 a"), PIM_OK);
	assert_int_equal(
	    store_user_key_add(f->st, a, "ssh-ed25519 AAAA2 b"), PIM_OK);
	assert_int_equal(
	    store_user_key_add(f->st, a, "ssh-ed25519 AAAA1 a"), PIM_EEXIST);
	assert_int_equal(
	    store_user_key_add(f->st, 999, "ssh-ed25519 AAAA3"), PIM_ENOTFOUND);

	assert_int_equal(store_user_keys(f->st, a, collect_key, k), PIM_OK);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[0], "ssh-ed25519 AAAA1 a");
	assert_string_equal(k->v[1], "ssh-ed25519 AAAA2 b");

	/* Sorted by name; a callback's non-zero value stops and returns. */
	k->n = 0;
	assert_int_equal(store_user_list(f->st, collect_user, k), PIM_OK);
	assert_int_equal(k->n, 3);
	assert_string_equal(k->v[0], "alice");
	assert_string_equal(k->v[2], "carol");
	assert_int_equal(store_user_list(f->st, stop_at_first, NULL), 42);
	free(k);
}

/* Who holds a key: the type and base64 parts count, comments and
 * blanks do not. */
static void
test_user_key_owner(void **state)
{
	struct fx *f = *state;
	char owner[STORE_NAME_MAX];
	int64_t a, b;

	a = add_user(f->st, "alice");
	b = add_user(f->st, "bob");
	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-ed25519 AAAA1", owner, 64),
	    PIM_ENOTFOUND);
	assert_int_equal(
	    store_user_key_add(f->st, a, "ssh-ed25519 AAAA1 alice@home"),
	    PIM_OK);
	assert_int_equal(
	    store_user_key_add(f->st, b, "ssh-ed25519 AAAA2"), PIM_OK);

	assert_int_equal(store_user_key_owner(
			     f->st, "ssh-ed25519 AAAA1", owner, sizeof(owner)),
	    PIM_OK);
	assert_string_equal(owner, "alice");
	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-ed25519\tAAAA2  other comment\n",
		owner, sizeof(owner)),
	    PIM_OK);
	assert_string_equal(owner, "bob");

	/* A prefix, another type or another key is not the same key. */
	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-ed25519 AAAA", owner, 64),
	    PIM_ENOTFOUND);
	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-rsa AAAA1", owner, 64),
	    PIM_ENOTFOUND);
	assert_int_equal(store_user_key_owner(
			     f->st, "ssh-ed25519 AAAA3 alice@home", owner, 64),
	    PIM_ENOTFOUND);

	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-ed25519", owner, 64), PIM_EINVAL);
	assert_int_equal(
	    store_user_key_owner(f->st, "", owner, 64), PIM_EINVAL);
	assert_int_equal(
	    store_user_key_owner(f->st, "ssh-ed25519 AAAA1", owner, 3),
	    PIM_EINVAL);
}

/* A callback that queries the store while the list is running. */
static int
nested_get(const struct store_user *u, void *arg)
{
	struct store *st = arg;
	struct store_user again;
	int n = 0;

	assert_int_equal(store_user_get(st, u->name, &again), PIM_OK);
	assert_int_equal(again.id, u->id);
	assert_int_equal(store_user_list(st, count_users, &n), PIM_OK);
	assert_int_equal(n, 2);
	return 0;
}

static void
test_reentrant_callback(void **state)
{
	struct fx *f = *state;

	add_user(f->st, "alice");
	add_user(f->st, "bob");
	assert_int_equal(store_user_list(f->st, nested_get, f->st), PIM_OK);
}

/* ---- roles and targets ---- */

static int
collect_role(const struct store_role *r, void *arg)
{
	return collect_key(r->name, arg);
}

static void
test_roles(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	struct store_role r = {0}, got;
	int64_t ops, dba, db1, web1;

	ops = add_role(f->st, "ops");
	snprintf(r.name, sizeof(r.name), "dba"); /* defaults */
	assert_int_equal(store_role_add(f->st, &r, &dba), PIM_OK);
	assert_int_equal(store_role_add(f->st, &r, NULL), PIM_EEXIST);

	assert_int_equal(store_role_get(f->st, "ops", &got), PIM_OK);
	assert_int_equal(got.id, ops);
	assert_int_equal(got.max_activation, 4 * 3600);
	assert_int_equal(got.max_session, 3600);
	assert_int_equal(got.idle_timeout, 600);
	assert_int_equal(got.channels, CHANNEL_DEFAULT);
	assert_int_equal(store_role_get_by_id(f->st, dba, &got), PIM_OK);
	assert_string_equal(got.name, "dba");
	assert_int_equal(got.max_activation, 8 * 3600);
	assert_int_equal(got.max_session, 8 * 3600);
	assert_string_equal(got.warn_before, "300,60"); /* default */

	/* Warning times round-trip, "none" included. */
	snprintf(got.warn_before, sizeof(got.warn_before), "90,30");
	assert_int_equal(store_role_update(f->st, &got), PIM_OK);
	assert_int_equal(store_role_get(f->st, "dba", &got), PIM_OK);
	assert_string_equal(got.warn_before, "90,30");
	snprintf(got.warn_before, sizeof(got.warn_before), "none");
	assert_int_equal(store_role_update(f->st, &got), PIM_OK);
	assert_int_equal(store_role_get_by_id(f->st, dba, &got), PIM_OK);
	assert_string_equal(got.warn_before, "none");
	assert_int_equal(store_role_get(f->st, "nope", &got), PIM_ENOTFOUND);
	assert_int_equal(store_role_get_by_id(f->st, 99, &got), PIM_ENOTFOUND);

	db1 = add_target(f->st, "db1");
	web1 = add_target(f->st, "web1");
	assert_int_equal(store_role_grant(f->st, ops, db1), PIM_OK);
	assert_int_equal(store_role_grant(f->st, dba, db1), PIM_OK);
	assert_int_equal(store_role_grant(f->st, ops, web1), PIM_OK);
	assert_int_equal(store_role_grant(f->st, ops, db1), PIM_EEXIST);
	assert_int_equal(store_role_grant(f->st, 99, db1), PIM_ENOTFOUND);

	assert_int_equal(
	    store_roles_granting(f->st, db1, collect_role, k), PIM_OK);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[0], "dba");
	assert_string_equal(k->v[1], "ops");
	k->n = 0;
	assert_int_equal(
	    store_roles_granting(f->st, web1, collect_role, k), PIM_OK);
	assert_int_equal(k->n, 1);
	k->n = 0;
	assert_int_equal(store_role_list(f->st, collect_role, k), PIM_OK);
	assert_int_equal(k->n, 2);
	free(k);
}

static int
collect_target(const struct store_target *t, void *arg)
{
	return collect_key(t->name, arg);
}

static void
test_targets(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	static const unsigned char sealed[] = {1, 0, 2, 0, 3, 0xff};
	struct store_target t = {0}, got;
	unsigned char *secret = NULL;
	size_t len = 0;
	int64_t id, plain;

	snprintf(t.name, sizeof(t.name), "db1");
	snprintf(t.host, sizeof(t.host), "db1.internal");
	snprintf(t.login, sizeof(t.login), "postgres");
	snprintf(t.host_key, sizeof(t.host_key), "ssh-ed25519 AAAAC3 db1");
	t.port = 2022;
	t.created = T0;
	assert_int_equal(
	    store_target_add(f->st, &t, sealed, sizeof(sealed), &id), PIM_OK);
	assert_int_equal(
	    store_target_add(f->st, &t, NULL, 0, NULL), PIM_EEXIST);
	plain = add_target(f->st, "app1");

	assert_int_equal(store_target_get(f->st, "db1", &got), PIM_OK);
	assert_int_equal(got.id, id);
	assert_string_equal(got.kind, "ssh");
	assert_string_equal(got.host, "db1.internal");
	assert_int_equal(got.port, 2022);
	assert_string_equal(got.login, "postgres");
	assert_string_equal(got.host_key, "ssh-ed25519 AAAAC3 db1");
	assert_int_equal(got.created, T0);
	assert_int_equal(store_target_get(f->st, "nope", &got), PIM_ENOTFOUND);

	assert_int_equal(store_target_secret(f->st, id, &secret, &len), PIM_OK);
	assert_int_equal(len, sizeof(sealed));
	assert_memory_equal(secret, sealed, len);
	free(secret);
	assert_int_equal(
	    store_target_secret(f->st, plain, &secret, &len), PIM_ENOTFOUND);
	assert_null(secret);
	assert_int_equal(
	    store_target_secret(f->st, 99, &secret, &len), PIM_ENOTFOUND);

	assert_int_equal(store_target_list(f->st, collect_target, k), PIM_OK);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[0], "app1");
	free(k);
}

/* ---- assignments ---- */

static int
collect_assign(const struct store_assignment *a, void *arg)
{
	return collect_key(a->role, arg);
}

static void
test_assignments(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	struct store_assignment a = {0}, got;
	int64_t alice, bob, ops, dba, id, id2;

	alice = add_user(f->st, "alice");
	bob = add_user(f->st, "bob");
	ops = add_role(f->st, "ops");
	dba = add_role(f->st, "dba");

	a.user_id = alice;
	a.role_id = ops;
	a.kind = ASSIGN_ELIGIBLE;
	a.start = T0;
	a.end = T0 + 3600;
	a.created = T0;
	assert_int_equal(store_assignment_add(f->st, &a, &id), PIM_OK);
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_EEXIST);
	a.kind = ASSIGN_ACTIVE;
	a.start = a.end = 0;
	assert_int_equal(store_assignment_add(f->st, &a, &id2), PIM_OK);
	a.role_id = dba;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_OK);
	a.user_id = bob;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_OK);

	/* Refused input. */
	a.kind = 7;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_EINVAL);
	a.kind = ASSIGN_ELIGIBLE;
	a.start = T0 + 10;
	a.end = T0;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_EINVAL);
	a.start = a.end = 0;
	a.role_id = 99;
	assert_int_equal(store_assignment_add(f->st, &a, NULL), PIM_ENOTFOUND);

	assert_int_equal(store_assignment_get(f->st, id, &got), PIM_OK);
	assert_int_equal(got.user_id, alice);
	assert_int_equal(got.role_id, ops);
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.role, "ops");
	assert_int_equal(got.kind, ASSIGN_ELIGIBLE);
	assert_int_equal(got.start, T0);
	assert_int_equal(got.end, T0 + 3600);

	assert_int_equal(
	    store_assignment_list(f->st, alice, collect_assign, k), PIM_OK);
	assert_int_equal(k->n, 3);
	k->n = 0;
	assert_int_equal(
	    store_assignment_list(f->st, 0, collect_assign, k), PIM_OK);
	assert_int_equal(k->n, 4);

	/* Removing takes every kind of the role, once. */
	assert_int_equal(store_assignment_remove(f->st, alice, ops), PIM_OK);
	assert_int_equal(store_assignment_get(f->st, id, &got), PIM_ENOTFOUND);
	assert_int_equal(store_assignment_get(f->st, id2, &got), PIM_ENOTFOUND);
	assert_int_equal(
	    store_assignment_remove(f->st, alice, ops), PIM_ENOTFOUND);

	/* Ids are never reused: a session may still name the old one. */
	a.user_id = alice;
	a.role_id = ops;
	a.kind = ASSIGN_ACTIVE;
	assert_int_equal(store_assignment_add(f->st, &a, &id), PIM_OK);
	assert_true(id > id2);
	free(k);
}

/* ---- activations ---- */

static int64_t
add_activation(struct store *st, int64_t user, int64_t role,
    enum store_act_state s, int64_t start, int64_t end)
{
	struct store_activation a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.state = s;
	a.start = start;
	a.end = end;
	snprintf(a.reason, sizeof(a.reason), "ticket 7: fix care plan");
	snprintf(a.ticket, sizeof(a.ticket), "CHG-7");
	snprintf(a.requested_by, sizeof(a.requested_by), "alice");
	a.created = start;
	assert_int_equal(store_activation_add(st, &a, &id), PIM_OK);
	return id;
}

static int
collect_act(const struct store_activation *a, void *arg)
{
	struct names *k = arg;

	snprintf(k->v[k->n++], sizeof(k->v[0]), "%lld:%s", (long long)a->id,
	    store_act_state_name(a->state));
	return 0;
}

static void
test_activation_states(void **state)
{
	static const char *const names[] = {"pending", "active", "expired",
	    "revoked", "deactivated", "denied", "cancelled"};
	size_t i;

	for (i = 0; i < 7; i++) {
		assert_string_equal(
		    store_act_state_name(ACT_PENDING + i), names[i]);
		assert_int_equal(
		    store_act_state_parse(names[i]), ACT_PENDING + i);
	}
	assert_null(store_act_state_name(0));
	assert_null(store_act_state_name(99));
	assert_int_equal(store_act_state_parse("bogus"), 0);
	assert_int_equal(store_act_state_parse(NULL), 0);
}

static void
test_activations(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	struct store_activation got;
	int64_t alice, ops, p, a, old;
	int n = -1;

	alice = add_user(f->st, "alice");
	ops = add_role(f->st, "ops");
	old =
	    add_activation(f->st, alice, ops, ACT_ACTIVE, T0 - 7200, T0 - 3600);
	p = add_activation(f->st, alice, ops, ACT_PENDING, T0, T0 + 3600);
	a = add_activation(f->st, alice, ops, ACT_ACTIVE, T0, T0 + 600);

	assert_int_equal(store_activation_get(f->st, p, &got), PIM_OK);
	assert_int_equal(got.state, ACT_PENDING);
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.role, "ops");
	assert_string_equal(got.reason, "ticket 7: fix care plan");
	assert_string_equal(got.ticket, "CHG-7");
	assert_string_equal(got.requested_by, "alice");
	assert_int_equal(got.start, T0);
	assert_int_equal(got.end, T0 + 3600);
	assert_int_equal(got.ended, 0);
	assert_int_equal(store_activation_get(f->st, 99, &got), PIM_ENOTFOUND);

	/* Transitions: only from the stated state, only allowed moves. */
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_PENDING, ACT_ACTIVE, T0 + 5),
	    PIM_OK);
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_PENDING, ACT_DENIED, T0 + 6),
	    PIM_ENOTFOUND);
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_ACTIVE, ACT_PENDING, T0 + 6),
	    PIM_EINVAL);
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_EXPIRED, ACT_ACTIVE, T0 + 6),
	    PIM_EINVAL);
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_ACTIVE, ACT_REVOKED, T0 + 7),
	    PIM_OK);
	assert_int_equal(store_activation_get(f->st, p, &got), PIM_OK);
	assert_int_equal(got.state, ACT_REVOKED);
	assert_int_equal(got.ended, T0 + 7);
	assert_int_equal(store_activation_transition(
			     f->st, p, ACT_ACTIVE, ACT_DEACTIVATED, T0 + 8),
	    PIM_ENOTFOUND);

	/* Moving the end of a live activation, not of a finished one. */
	assert_int_equal(store_activation_set_end(f->st, a, T0 + 1200), PIM_OK);
	assert_int_equal(store_activation_get(f->st, a, &got), PIM_OK);
	assert_int_equal(got.end, T0 + 1200);
	assert_int_equal(
	    store_activation_set_end(f->st, a, T0 - 1), PIM_ENOTFOUND);
	assert_int_equal(
	    store_activation_set_end(f->st, p, T0 + 9999), PIM_ENOTFOUND);

	/* Expiry: OLD's end has passed, A's has not. */
	assert_int_equal(store_activation_expire(f->st, T0, &n), PIM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_activation_get(f->st, old, &got), PIM_OK);
	assert_int_equal(got.state, ACT_EXPIRED);
	assert_int_equal(got.ended, T0 - 3600);
	assert_int_equal(store_activation_expire(f->st, T0 + 1200, &n), PIM_OK);
	assert_int_equal(n, 1);

	assert_int_equal(
	    store_activation_list(f->st, alice, collect_act, k), PIM_OK);
	assert_int_equal(k->n, 3);
	assert_string_equal(k->v[0], "3:expired");
	assert_string_equal(k->v[1], "2:revoked");
	assert_string_equal(k->v[2], "1:expired");
	k->n = 0;
	assert_int_equal(
	    store_activation_list(f->st, 0, collect_act, k), PIM_OK);
	assert_int_equal(k->n, 3);
	free(k);
}

/* ---- sessions ---- */

static int
collect_path(const char *path, void *arg)
{
	return collect_key(path, arg);
}

static int
collect_session(const struct store_session *s, void *arg)
{
	struct names *k = arg;

	snprintf(k->v[k->n++], sizeof(k->v[0]), "%lld:%s", (long long)s->id,
	    s->end_reason);
	return 0;
}

static int64_t
begin_session(struct store *st, const char *user)
{
	struct store_session s = {0};

	s.user_id = 1;
	s.target_id = 2;
	s.role_id = 3;
	s.activation_id = 4;
	snprintf(s.user, sizeof(s.user), "%s", user);
	snprintf(s.target, sizeof(s.target), "db1");
	snprintf(s.role, sizeof(s.role), "ops");
	snprintf(s.protocol, sizeof(s.protocol), "ssh");
	snprintf(s.peer, sizeof(s.peer), "127.0.0.1:40000");
	s.start = T0;
	s.deadline = T0 + 3600;
	assert_int_equal(store_session_begin(st, &s), PIM_OK);
	assert_true(s.id > 0);
	return s.id;
}

static void
test_session_kill(void **state)
{
	struct fx *f = *state;
	char by[STORE_NAME_MAX];
	int64_t id = begin_session(f->st, "alice");

	assert_int_equal(
	    store_session_kill_requested(f->st, id, by, sizeof(by)), PIM_OK);
	assert_string_equal(by, "");
	assert_int_equal(
	    store_session_request_kill(f->st, id, "admin:root"), PIM_OK);
	assert_int_equal(
	    store_session_kill_requested(f->st, id, by, sizeof(by)), PIM_OK);
	assert_string_equal(by, "admin:root");
	/* Asked once; an ended or unknown session cannot be asked. */
	assert_int_equal(
	    store_session_request_kill(f->st, id, "admin:x"), PIM_ENOTFOUND);
	assert_int_equal(
	    store_session_end(f->st, id, T0 + 5, "killed", 0, 0), PIM_OK);
	id = begin_session(f->st, "bob");
	assert_int_equal(
	    store_session_end(f->st, id, T0 + 5, "exit", 0, 0), PIM_OK);
	assert_int_equal(
	    store_session_request_kill(f->st, id, "admin:root"), PIM_ENOTFOUND);
	assert_int_equal(store_session_request_kill(f->st, 999, "admin:root"),
	    PIM_ENOTFOUND);
	assert_int_equal(store_schema_version(f->st), 9);
}

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));
	struct store_session s;
	int64_t id, id2;
	int n = -1;

	id = begin_session(f->st, "alice");
	assert_int_equal(store_session_get(f->st, id, &s), PIM_OK);
	assert_string_equal(s.user, "alice");
	assert_string_equal(s.target, "db1");
	assert_string_equal(s.role, "ops");
	assert_string_equal(s.peer, "127.0.0.1:40000");
	assert_int_equal(s.activation_id, 4);
	assert_int_equal(s.assignment_id, 0);
	assert_int_equal(s.end, 0);
	assert_string_equal(s.recording, "");

	assert_int_equal(
	    store_session_set_deadline(f->st, id, T0 + 60), PIM_OK);
	assert_int_equal(
	    store_session_set_deadline(f->st, 99, T0), PIM_ENOTFOUND);
	assert_int_equal(
	    store_session_add_recording(f->st, id, "r/1.cast"), PIM_OK);
	assert_int_equal(
	    store_session_add_recording(f->st, id, "r/1-2.cast"), PIM_OK);
	assert_int_equal(
	    store_session_add_recording(f->st, 99, "x"), PIM_ENOTFOUND);
	assert_int_equal(
	    store_session_recordings(f->st, id, collect_path, k), PIM_OK);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[0], "r/1.cast");
	assert_string_equal(k->v[1], "r/1-2.cast");

	assert_int_equal(
	    store_session_end(f->st, id, T0 + 30, "exit", 10, 20), PIM_OK);
	assert_int_equal(store_session_end(f->st, id, T0 + 31, "killed", 0, 0),
	    PIM_ENOTFOUND);
	assert_int_equal(store_session_get(f->st, id, &s), PIM_OK);
	assert_int_equal(s.deadline, T0 + 60);
	assert_int_equal(s.end, T0 + 30);
	assert_string_equal(s.end_reason, "exit");
	assert_int_equal(s.bytes_in, 10);
	assert_int_equal(s.bytes_out, 20);
	assert_string_equal(s.recording, "r/1.cast");

	/* A crashed daemon's leftovers. */
	id2 = begin_session(f->st, "bob");
	begin_session(f->st, "carol");
	assert_int_equal(
	    store_session_end_all_live(f->st, T0 + 99, "shutdown", &n), PIM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_session_get(f->st, id2, &s), PIM_OK);
	assert_int_equal(s.end, T0 + 99);
	assert_string_equal(s.end_reason, "shutdown");
	assert_int_equal(store_session_get(f->st, 99, &s), PIM_ENOTFOUND);

	k->n = 0;
	assert_int_equal(store_session_list(f->st, collect_session, k), PIM_OK);
	assert_int_equal(k->n, 3);
	assert_string_equal(k->v[0], "3:shutdown");
	assert_string_equal(k->v[2], "1:exit");
	free(k);
}

/* ---- audit ---- */

static int
collect_audit(const struct store_audit *a, void *arg)
{
	struct names *k = arg;

	snprintf(k->v[k->n++], sizeof(k->v[0]),
	    "%lld|%s|%s|%s|%s|%s|%s|%lld|%s|%s", (long long)a->ts_ms, a->actor,
	    a->event, a->outcome, a->user, a->target, a->role,
	    (long long)a->session_id, a->peer, a->detail);
	return 0;
}

static void
test_audit(void **state)
{
	struct fx *f = *state;
	struct names *k = calloc(1, sizeof(*k));

	clock_set_fixed(T0);
	assert_int_equal(audit_log(f->st, "alice", AUDIT_ADMIT, "ok", "alice",
			     "db1", "ops", 5, "127.0.0.1:1", "until 09:00"),
	    PIM_OK);
	clock_set_fixed(T0 + 10);
	assert_int_equal(audit_log(f->st, "admin:root", AUDIT_ADMIN, "ok", NULL,
			     NULL, NULL, 0, NULL, NULL),
	    PIM_OK);
	clock_set_fixed(0);

	assert_int_equal(
	    store_audit_list(f->st, 0, NULL, collect_audit, k), PIM_OK);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[0], "1800000000000|alice|admit|ok|alice|db1|"
				     "ops|5|127.0.0.1:1|until 09:00");
	assert_string_equal(k->v[1], "1800000010000|admin:root|admin|ok|||"
				     "|0||");
	k->n = 0;
	assert_int_equal(
	    store_audit_list(f->st, 0, "alice", collect_audit, k), PIM_OK);
	assert_int_equal(k->n, 1);
	k->n = 0;
	assert_int_equal(store_audit_list(f->st, (int64_t)(T0 + 5) * 1000, NULL,
			     collect_audit, k),
	    PIM_OK);
	assert_int_equal(k->n, 1);
	assert_non_null(strstr(k->v[0], "admin:root"));
	free(k);
}

/* ---- transactions, a second connection ---- */

static void
test_transactions(void **state)
{
	struct fx *f = *state;
	struct store_user u;

	assert_int_equal(store_begin(f->st), PIM_OK);
	add_user(f->st, "alice");
	store_rollback(f->st);
	assert_int_equal(store_user_get(f->st, "alice", &u), PIM_ENOTFOUND);
	store_rollback(f->st); /* nothing open: harmless */

	assert_int_equal(store_begin(f->st), PIM_OK);
	add_user(f->st, "alice");
	add_user(f->st, "bob");
	assert_int_equal(store_commit(f->st), PIM_OK);
	assert_int_equal(store_user_get(f->st, "bob", &u), PIM_OK);
}

static void
test_data_version(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	int64_t v1 = 0, v2 = 0, v3 = 0;

	assert_int_equal(store_open(f->path, false, &other), PIM_OK);
	assert_int_equal(store_data_version(f->st, &v1), PIM_OK);

	/* Our own commits do not count; another connection's do. */
	add_user(f->st, "alice");
	assert_int_equal(store_data_version(f->st, &v2), PIM_OK);
	assert_int_equal(v1, v2);
	add_user(other, "bob");
	assert_int_equal(store_data_version(f->st, &v3), PIM_OK);
	assert_int_not_equal(v2, v3);
	store_close(other);
}

static void
test_busy(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	int64_t id;

	assert_int_equal(store_open(f->path, false, &other), PIM_OK);
	assert_int_equal(store_begin(other), PIM_OK);
	add_user(other, "bob");

	/* The writer holds the lock past our busy timeout. */
	assert_int_equal(
	    store_user_add(f->st, "alice", NULL, T0, &id), PIM_EBUSY);
	assert_true(strlen(store_errmsg(f->st)) > 0);
	store_rollback(other);
	store_close(other);
	add_user(f->st, "alice");
}

/* MFA: set, read, replace (resets the used step), remove; each time
 * step is accepted once, and never after a later one. */
static void
test_mfa(void **state)
{
	struct fx *f = *state;
	int64_t alice = add_user(f->st, "alice");
	const unsigned char one[] = {1, 2, 3, 0, 5}, two[] = {9, 8, 7};
	unsigned char *blob = NULL;
	size_t len = 0;
	bool at_login = true;

	assert_int_equal(store_user_mfa(f->st, alice, &blob, &len, &at_login),
	    PIM_ENOTFOUND);
	assert_null(blob);
	assert_false(at_login);
	assert_int_equal(
	    store_user_mfa(f->st, alice + 9, &blob, &len, NULL), PIM_ENOTFOUND);
	assert_int_equal(
	    store_user_set_mfa(f->st, alice + 9, one, sizeof(one), false),
	    PIM_ENOTFOUND);

	assert_int_equal(
	    store_user_set_mfa(f->st, alice, one, sizeof(one), true), PIM_OK);
	assert_int_equal(
	    store_user_mfa(f->st, alice, &blob, &len, &at_login), PIM_OK);
	assert_int_equal(len, sizeof(one));
	assert_memory_equal(blob, one, sizeof(one));
	assert_true(at_login);
	free(blob);

	/* Steps: later ones only, atomically. */
	assert_int_equal(store_user_totp_use(f->st, alice, 100), PIM_OK);
	assert_int_equal(store_user_totp_use(f->st, alice, 100), PIM_EEXIST);
	assert_int_equal(store_user_totp_use(f->st, alice, 99), PIM_EEXIST);
	assert_int_equal(store_user_totp_use(f->st, alice, 101), PIM_OK);
	assert_int_equal(
	    store_user_totp_use(f->st, alice + 9, 500), PIM_ENOTFOUND);

	/* Re-enrolling replaces the secret and forgets the used steps. */
	assert_int_equal(
	    store_user_set_mfa(f->st, alice, two, sizeof(two), false), PIM_OK);
	assert_int_equal(
	    store_user_mfa(f->st, alice, &blob, &len, &at_login), PIM_OK);
	assert_int_equal(len, sizeof(two));
	assert_memory_equal(blob, two, sizeof(two));
	assert_false(at_login);
	free(blob);
	assert_int_equal(store_user_totp_use(f->st, alice, 100), PIM_OK);

	/* Removing it turns MFA off, at login too. */
	assert_int_equal(
	    store_user_set_mfa(f->st, alice, NULL, 0, true), PIM_OK);
	blob = NULL;
	assert_int_equal(store_user_mfa(f->st, alice, &blob, &len, &at_login),
	    PIM_ENOTFOUND);
	assert_null(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_user_keys_and_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_user_key_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_reentrant_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assignments, setup, teardown),
	    cmocka_unit_test(test_activation_states),
	    cmocka_unit_test_setup_teardown(test_activations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mfa, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
