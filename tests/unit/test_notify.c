/* Unit tests for notifications: which audit events notify, and the store
 * reads the notifier follows the audit log with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/err.h"
#include "pimgate/audit.h"
#include "pimgate/notify.h"
#include "pimgate/store.h"
#include "pimgate/str.h"

static struct store_audit
audit_of(const char *event, const char *outcome, const char *detail)
{
	struct store_audit a = {.id = 1};

	str_copy(a.event, event, sizeof(a.event));
	str_copy(a.outcome, outcome, sizeof(a.outcome));
	str_copy(a.detail, detail, sizeof(a.detail));
	return a;
}

static void
check(const char *detail, const char *ev0, const char *ev1, int64_t id)
{
	struct store_audit a = audit_of("admin", "ok", detail);
	struct notify_kind k;

	assert_true(notify_classify(&a, &k));
	assert_string_equal(k.events[0], ev0);
	if (ev1 == NULL)
		assert_null(k.events[1]);
	else
		assert_string_equal(k.events[1], ev1);
	assert_int_equal(k.activation_id, id);
}

static void
test_classify_events(void **state)
{
	check("activate alice ops for 1h (activation 12, active): fix db",
	    NOTIFY_ACTIVE, NULL, 12);
	check("activate alice ops for 1h from 2027-01-01T00:00:00Z "
	      "(activation 3, active) ticket T-1: later",
	    NOTIFY_ACTIVE, NULL, 3);
	check("activate alice ops for 1h (activation 4, pending): please",
	    NOTIFY_REQUESTED, NULL, 4);
	check("BREAK-GLASS activate alice bg for 1h (activation 5, active): "
	      "ward emergency",
	    NOTIFY_BREAKGLASS, NOTIFY_ACTIVE, 5);
	check("approve request 6 of alice ops by bob (now active)",
	    NOTIFY_APPROVED, NOTIFY_ACTIVE, 6);
	check("approve request 7 of alice ops by bob (now pending): ok",
	    NOTIFY_APPROVED, NULL, 7);
	check("deny request 8 of alice ops by bob (now denied): no",
	    NOTIFY_DENIED, NULL, 8);
	check("revoke activation 9 of alice ops: revoked", NOTIFY_REVOKED, NULL,
	    9);
	check("revoke activation 10 of alice ops: denied", NOTIFY_DENIED, NULL,
	    10);
	check("BREAK-GLASS deactivate activation 11 of bg", NOTIFY_DEACTIVATED,
	    NULL, 11);
	check("cancel activation 12 of ops", NOTIFY_CANCELLED, NULL, 12);
	check("activate ops for 1h (activation 13, pending): self-service",
	    NOTIFY_REQUESTED, NULL, 13);
	check("approve request 14 of alice for role ops (now active): ok",
	    NOTIFY_APPROVED, NOTIFY_ACTIVE, 14);
}

static void
test_classify_ignores(void **state)
{
	static const char *const details[] = {
	    "user add alice",
	    "assign alice ops eligible",
	    "activate alice ops for 1h: no id",
	    "approve request x of alice",
	    "revoke activation 12x of alice ops: revoked",
	};
	struct store_audit a;
	struct notify_kind k;
	size_t i;

	for (i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		a = audit_of("admin", "ok", details[i]);
		assert_false(notify_classify(&a, &k));
	}
	a = audit_of("admin", "refused",
	    "activate alice ops refused: (activation 1, active)");
	assert_false(notify_classify(&a, &k));
	a = audit_of("login", "ok",
	    "activate alice ops for 1h (activation 1, active): x");
	assert_false(notify_classify(&a, &k));
	a = audit_of("selfservice", "ok",
	    "activate alice ops for 1h (activation 1, active): x");
	assert_true(notify_classify(&a, &k));
}

static int
collect_ids(const struct store_audit *a, void *arg)
{
	int64_t *ids = arg;

	ids[++ids[0]] = a->id;
	return 0;
}

static void
test_audit_since_id(void **state)
{
	char dir[] = "/tmp/pimgate-test-notify.XXXXXX";
	char path[128];
	struct store *st = NULL;
	int64_t ids[8] = {0}, max = -1;
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_int_equal(store_open(path, true, &st), PIM_OK);
	assert_int_equal(store_audit_max_id(st, &max), PIM_OK);
	assert_int_equal(max, 0);
	for (i = 0; i < 5; i++) {
		struct store_audit a = audit_of("admin", "ok", "x");

		a.ts_ms = 1000 + i;
		assert_int_equal(
		    store_audit_append(st, &a, audit_hash), PIM_OK);
	}
	assert_int_equal(store_audit_max_id(st, &max), PIM_OK);
	assert_int_equal(max, 5);
	assert_int_equal(
	    store_audit_since_id(st, 2, 2, collect_ids, ids), PIM_OK);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 3);
	assert_int_equal(ids[2], 4);
	ids[0] = 0;
	assert_int_equal(
	    store_audit_since_id(st, 5, 10, collect_ids, ids), PIM_OK);
	assert_int_equal(ids[0], 0);
	store_close(st);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_events),
	    cmocka_unit_test(test_classify_ignores),
	    cmocka_unit_test(test_audit_since_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
