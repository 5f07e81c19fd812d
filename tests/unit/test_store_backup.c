/* Unit tests for store_backup: a copy a second connection can open with
 * every row, counted right; refusals of an existing file and of the live
 * database; a copy taken while another connection holds the write lock;
 * nothing left behind on failure. */
#include <dirent.h>
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
#include "pimgate/err.h"
#include "pimgate/store.h"

#define T0 1800000000

struct fx {
	char dir[64];
	char path[128];
	char copy[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_role r = {.max_activation = 3600, .max_session = 3600};
	int64_t id;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-backup-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	snprintf(f->copy, sizeof(f->copy), "%s/copy.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	assert_int_equal(store_user_add(f->st, "alice", NULL, T0, &id), PIM_OK);
	assert_int_equal(store_user_add(f->st, "bob", NULL, T0, &id), PIM_OK);
	snprintf(r.name, sizeof(r.name), "ops");
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    audit_log(f->st, "admin:test", AUDIT_ADMIN, "ok", "alice",
			NULL, "ops", 0, NULL, "unit test"),
		    PIM_OK);
	*state = f;
	return 0;
}

/* Removes every file in the fixture's folder, then the folder. */
static int
teardown(void **state)
{
	struct fx *f = *state;
	struct dirent *e;
	DIR *d;
	char p[400];

	store_close(f->st);
	d = opendir(f->dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The number of entries in DIR besides . and .. */
static int
count_files(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n +=
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static int
count_user(const struct store_user *u, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_copy(void **state)
{
	struct fx *f = *state;
	struct store_backup_summary sum;
	struct store *copy = NULL;
	struct stat sb;
	int users = 0;
	int64_t max_id = 0;

	assert_int_equal(store_backup(f->st, f->copy, false, &sum), PIM_OK);
	assert_int_equal(sum.users, 2);
	assert_int_equal(sum.roles, 1);
	assert_int_equal(sum.audit_events, 3);
	assert_int_equal(sum.audit_head_id, 3);
	assert_int_equal(strlen(sum.audit_head), 64);
	assert_true(sum.pages > 0);
	assert_int_equal(stat(f->copy, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* The copy is a store of its own, with the same rows. */
	assert_int_equal(store_open(f->copy, false, &copy), PIM_OK);
	assert_int_equal(store_user_list(copy, count_user, &users), PIM_OK);
	assert_int_equal(users, 2);
	assert_int_equal(store_audit_max_id(copy, &max_id), PIM_OK);
	assert_int_equal(max_id, 3);
	store_close(copy);
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	struct store_backup_summary sum;
	char missing[200];
	int before;

	assert_int_equal(store_backup(f->st, f->copy, false, &sum), PIM_OK);
	before = count_files(f->dir);
	assert_int_equal(store_backup(f->st, f->copy, false, &sum), PIM_EEXIST);
	assert_non_null(strstr(store_errmsg(f->st), "already exists"));
	assert_int_equal(store_backup(f->st, f->path, true, &sum), PIM_EINVAL);
	assert_non_null(strstr(store_errmsg(f->st), "live database"));
	assert_int_equal(store_backup(f->st, f->dir, true, &sum), PIM_EINVAL);
	snprintf(missing, sizeof(missing), "%s/no/such/copy.db", f->dir);
	assert_int_equal(store_backup(f->st, missing, false, &sum), PIM_EIO);
	/* Nothing new was left in the folder by any of them. */
	assert_int_equal(count_files(f->dir), before);

	/* --force replaces the old copy with a newer one. */
	assert_int_equal(audit_log(f->st, "admin:test", AUDIT_ADMIN, "ok", NULL,
			     NULL, NULL, 0, NULL, "one more"),
	    PIM_OK);
	assert_int_equal(store_backup(f->st, f->copy, true, &sum), PIM_OK);
	assert_int_equal(sum.audit_events, 4);
	assert_int_equal(count_files(f->dir), before);
}

/* Another connection in the middle of a write transaction: the copy
 * reads the last committed state and does not wait for it. */
static void
test_during_write(void **state)
{
	struct fx *f = *state;
	struct store_backup_summary sum;
	struct store *other = NULL;
	int64_t id;

	assert_int_equal(store_open(f->path, false, &other), PIM_OK);
	assert_int_equal(store_begin(other), PIM_OK);
	assert_int_equal(store_user_add(other, "carol", NULL, T0, &id), PIM_OK);
	assert_int_equal(store_backup(f->st, f->copy, false, &sum), PIM_OK);
	assert_int_equal(sum.users, 2);
	assert_int_equal(store_commit(other), PIM_OK);
	store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_during_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
