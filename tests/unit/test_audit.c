/* The audit trail's hash chain: every event links to the one before it;
 * a changed, removed or inserted event is found, and the first one
 * named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pimgate/audit.h"
#include "pimgate/err.h"
#include "pimgate/store.h"

struct fix {
	char dir[64];
	char path[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-test-audit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char cmd[256];

	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Five events, as the product writes them. */
static void
log_five(struct store *st)
{
	char detail[32];

	for (int i = 1; i <= 5; i++) {
		snprintf(detail, sizeof(detail), "change %d", i);
		assert_int_equal(
		    audit_log(st, "admin:root", AUDIT_ADMIN, "ok", "alice",
			"host1", "ops", i, "127.0.0.1:1", detail),
		    PIM_OK);
	}
}

/* Runs SQL on the database behind the store's back, as an attacker
 * with the file would. */
static void
tamper(struct fix *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_intact(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	assert_int_equal(res.chained, 5);
	assert_int_equal(res.unchained, 0);
	assert_int_equal(res.last_id, 5);
	assert_int_equal(strlen(res.head), 64);
}

static void
test_changed(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	tamper(f, "UPDATE audit SET detail = 'nothing to see' WHERE id = 3");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 3);
	assert_non_null(strstr(res.why, "changed"));
}

/* Rewriting the changed event's hash too moves the break to the next
 * event, which still links to the old hash. */
static void
test_changed_and_rehashed(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	tamper(f, "UPDATE audit SET detail = 'x', hash = '"
		  "0000000000000000000000000000000000000000000000000000000000"
		  "000000' WHERE id = 2");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 2);
}

static void
test_removed(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	tamper(f, "DELETE FROM audit WHERE id = 4");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 5);
}

static void
test_inserted(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	/* Moved up to make room, then a forged event with a fresh id. */
	tamper(f, "UPDATE audit SET id = id + 100 WHERE id >= 3;"
		  "INSERT INTO audit (id, ts_ms, event, detail, prev_hash,"
		  " hash) SELECT 3, 1, 'admin', 'forged', hash, hash"
		  " FROM audit WHERE id = 2");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 3);
}

/* Events from before the chain (schema v6) are reported, not failed;
 * a hash removed inside the chain is a break. */
static void
test_unchained_prefix(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	tamper(f, "INSERT INTO audit (ts_ms, event) VALUES (1, 'old'),"
		  " (2, 'old')");
	log_five(f->st);
	assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	assert_int_equal(res.unchained, 2);
	assert_int_equal(res.chained, 5);
	tamper(f, "UPDATE audit SET hash = '' WHERE id = 6");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 6);
}

/* Inside a caller's transaction that rolls back, the chain stays whole
 * and the next event links to the last one kept. */
static void
test_rollback(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	assert_int_equal(store_begin(f->st), PIM_OK);
	assert_int_equal(audit_log(f->st, "admin:root", AUDIT_ADMIN, "ok", NULL,
			     NULL, NULL, 0, NULL, "rolled back"),
	    PIM_OK);
	store_rollback(f->st);
	assert_int_equal(audit_log(f->st, "admin:root", AUDIT_ADMIN, "ok", NULL,
			     NULL, NULL, 0, NULL, "kept"),
	    PIM_OK);
	assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	assert_int_equal(res.chained, 6);
}

/* A column edited so that what the hash reads of it stays the same:
 * text past a NUL byte, a number followed by text, another type, more
 * than the field holds. Each is named as a change of its event. */
static void
test_column_not_hashed(void **state)
{
	struct fix *f = *state;
	struct audit_check res;
	char big[STORE_TEXT_MAX + 64];
	const struct {
		const char *edit, *undo, *column;
		int64_t id;
	} cases[] = {
	    {"UPDATE audit SET detail = CAST(detail || X'00' ||"
	     " X'68696464656e' AS TEXT) WHERE id = 2",
		"UPDATE audit SET detail = 'change 2' WHERE id = 2", "detail",
		2},
	    {"UPDATE audit SET ts_ms = CAST(ts_ms AS TEXT) || 'abc'"
	     " WHERE id = 3",
		"UPDATE audit SET ts_ms = CAST(substr(ts_ms, 1,"
		" length(ts_ms) - 3) AS INTEGER) WHERE id = 3",
		"ts_ms", 3},
	    {"UPDATE audit SET session_id = '4 or so' WHERE id = 4",
		"UPDATE audit SET session_id = 4 WHERE id = 4", "session_id",
		4},
	    {"UPDATE audit SET actor = CAST(actor AS BLOB) WHERE id = 1",
		"UPDATE audit SET actor = 'admin:root' WHERE id = 1", "actor",
		1},
	    {"UPDATE audit SET hash = hash || X'00' WHERE id = 5",
		"UPDATE audit SET hash = substr(hash, 1, 64) WHERE id = 5",
		"hash", 5},
	    {"UPDATE audit SET detail = detail || 'x' WHERE id = 6", NULL,
		"detail", 6},
	};

	log_five(f->st);
	/* A sixth event whose detail fills the field to the last byte. */
	memset(big, 'd', sizeof(big));
	big[STORE_TEXT_MAX - 1] = '\0';
	assert_int_equal(audit_log(f->st, "admin:root", AUDIT_ADMIN, "ok", NULL,
			     NULL, NULL, 0, NULL, big),
	    PIM_OK);
	assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tamper(f, cases[i].edit);
		assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
		assert_int_equal(res.broken_id, cases[i].id);
		assert_non_null(strstr(res.why, "was changed"));
		assert_non_null(strstr(res.why, cases[i].column));
		if (cases[i].undo == NULL)
			break;
		tamper(f, cases[i].undo);
		assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	}
}

/* An event given a time before 1970 must not drop out of the walk. */
static void
test_negative_time(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	tamper(f, "UPDATE audit SET ts_ms = -1 WHERE id = 5");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 5);
}

/* The newest events deleted: the id sequence still counts them, until
 * it is reset too (then only a checkpoint shows the cut). */
static void
test_tail_cut(void **state)
{
	struct fix *f = *state;
	struct audit_check res;

	log_five(f->st);
	tamper(f, "DELETE FROM audit WHERE id > 3");
	assert_int_equal(audit_verify(f->st, &res), PIM_EDENIED);
	assert_int_equal(res.broken_id, 4);
	assert_non_null(strstr(res.why, "up to #5"));
	assert_non_null(strstr(res.why, "cut off"));
	tamper(f, "DELETE FROM audit WHERE id > 4");
	tamper(f, "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit'");
	assert_int_equal(audit_verify(f->st, &res), PIM_OK);
	assert_int_equal(res.last_id, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_changed_and_rehashed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inserted, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_unchained_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_column_not_hashed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_negative_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
