/* Unit tests for TOTP: the RFC 6238 SHA-1 vectors, base32 (RFC 4648
 * vectors), and policy_totp_check (skew, replay, malformed codes) over a
 * fresh store in a temporary directory. */
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
#include "pimgate/policy.h"
#include "pimgate/store.h"
#include "pimgate/totp.h"

#define T0 1800000000 /* 2027-01-15T08:00:00Z, a step boundary */

static const unsigned char rfc_secret[] = "12345678901234567890";
#define RFC_SECRET_LEN 20

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t alice;
	char reason[256];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-totp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	assert_int_equal(
	    store_user_add(f->st, "alice", NULL, T0, &f->alice), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char side[160];

	store_close(f->st);
	unlink(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The code of the RFC secret at T. */
static void
rfc_code(int64_t t, char code[TOTP_DIGITS + 1])
{
	assert_int_equal(
	    totp_code(rfc_secret, RFC_SECRET_LEN, t, code), PIM_OK);
}

/* policy_totp_check of CODE for alice at NOW. */
static int
check(struct fx *f, const char *code, int64_t now)
{
	f->reason[0] = '\0';
	return policy_totp_check(f->st, f->alice, rfc_secret, RFC_SECRET_LEN,
	    code, now, f->reason, sizeof(f->reason));
}

/* ---- the pure functions ---- */

static void
test_rfc6238_vectors(void **state)
{
	/* RFC 6238 appendix B, SHA-1, last 6 of the 8 digits. */
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
	    {59, "287082"},
	    {1111111109, "081804"},
	    {1111111111, "050471"},
	    {1234567890, "005924"},
	    {2000000000, "279037"},
	    {20000000000LL, "353130"},
	};
	char code[TOTP_DIGITS + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rfc_code(v[i].t, code);
		assert_string_equal(code, v[i].code);
	}
	/* The whole step gives one code. */
	rfc_code(30, code);
	assert_string_equal(code, "287082");
}

static void
test_step(void **state)
{
	assert_int_equal(totp_step(0), 0);
	assert_int_equal(totp_step(29), 0);
	assert_int_equal(totp_step(30), 1);
	assert_int_equal(totp_step(59), 1);
	assert_int_equal(totp_step(1111111109), 37037036);
	assert_int_equal(totp_step(-1), -1);
}

static void
test_base32(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} v[] = {
	    {"", ""},
	    {"f", "MY"},
	    {"fo", "MZXQ"},
	    {"foo", "MZXW6"},
	    {"foob", "MZXW6YQ"},
	    {"fooba", "MZXW6YTB"},
	    {"foobar", "MZXW6YTBOI"},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].in);

		assert_int_equal(totp_base32((const unsigned char *)v[i].in,
				     len, out, sizeof(out)),
		    strlen(v[i].out));
		assert_string_equal(out, v[i].out);
	}
	/* The RFC 6238 secret, as authenticator apps are given it. */
	assert_int_equal(
	    totp_base32(rfc_secret, RFC_SECRET_LEN, out, sizeof(out)), 32);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	/* Too small: 10 characters need 11 bytes. */
	assert_int_equal(
	    totp_base32((const unsigned char *)"foobar", 6, out, 10), 0);
	assert_int_equal(
	    totp_base32((const unsigned char *)"foobar", 6, out, 11), 10);
}

static void
test_new_secret(void **state)
{
	unsigned char a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN];

	assert_int_equal(totp_new_secret(a, sizeof(a)), PIM_OK);
	assert_int_equal(totp_new_secret(b, sizeof(b)), PIM_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(totp_new_secret(a, 0), PIM_ECRYPTO);
}

/* ---- policy_totp_check ---- */

static void
test_check_skew(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1];

	/* Each accepted code uses its step, so check the older step
	 * first: -1, then 0, then +1. */
	rfc_code(T0 - 30, code);
	assert_int_equal(check(f, code, T0), PIM_OK);
	rfc_code(T0, code);
	assert_int_equal(check(f, code, T0 + 29), PIM_OK);
	rfc_code(T0 + 60, code);
	assert_int_equal(check(f, code, T0 + 30), PIM_OK);
}

static void
test_check_skew_too_far(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1];

	rfc_code(T0 - 60, code);
	assert_int_equal(check(f, code, T0), PIM_EDENIED);
	assert_string_equal(f->reason, "the code is wrong or expired");
	rfc_code(T0 + 60, code);
	assert_int_equal(check(f, code, T0), PIM_EDENIED);
	assert_string_equal(f->reason, "the code is wrong or expired");
	/* A refused code used no step: the current one still works. */
	rfc_code(T0, code);
	assert_int_equal(check(f, code, T0), PIM_OK);
}

static void
test_check_replay(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1], older[TOTP_DIGITS + 1];

	rfc_code(T0, code);
	assert_int_equal(check(f, code, T0), PIM_OK);
	assert_int_equal(check(f, code, T0 + 5), PIM_EDENIED);
	assert_string_equal(
	    f->reason, "this code was already used; wait for the next one");
	/* Still refused in the next step, where it is within the skew. */
	assert_int_equal(check(f, code, T0 + 30), PIM_EDENIED);

	/* A newer step accepted makes an older one unusable. */
	rfc_code(T0 + 30, code);
	assert_int_equal(check(f, code, T0 + 30), PIM_OK);
	rfc_code(T0, older);
	assert_int_equal(check(f, older, T0 + 30), PIM_EDENIED);
	assert_string_equal(
	    f->reason, "this code was already used; wait for the next one");
	rfc_code(T0 + 60, code);
	assert_int_equal(check(f, code, T0 + 60), PIM_OK);
}

static void
test_check_malformed(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1], longer[16];
	static const char *bad[] = {
	    "",
	    "12345",
	    "1234567",
	    "12345a",
	    " 12345",
	    "12345 ",
	    "+12345",
	    "-12345",
	    "１２３４５６",
	    "12 345",
	};

	rfc_code(T0, code);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check(f, bad[i], T0), PIM_EDENIED);
		assert_string_equal(
		    f->reason, "the code must be exactly 6 digits");
	}
	assert_int_equal(check(f, NULL, T0), PIM_EDENIED);
	/* The right code with anything after it is refused too. */
	snprintf(longer, sizeof(longer), "%s0", code);
	assert_int_equal(check(f, longer, T0), PIM_EDENIED);
	snprintf(longer, sizeof(longer), "%s\n", code);
	assert_int_equal(check(f, longer, T0), PIM_EDENIED);
	/* None of those used the step. */
	assert_int_equal(check(f, code, T0), PIM_OK);
}

static void
test_check_wrong_code(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1];

	rfc_code(T0, code);
	code[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	assert_int_equal(check(f, code, T0), PIM_EDENIED);
	assert_string_equal(f->reason, "the code is wrong or expired");
}

static void
test_check_unknown_user(void **state)
{
	struct fx *f = *state;
	char code[TOTP_DIGITS + 1];

	rfc_code(T0, code);
	assert_int_equal(
	    policy_totp_check(f->st, f->alice + 100, rfc_secret, RFC_SECRET_LEN,
		code, T0, f->reason, sizeof(f->reason)),
	    PIM_EDENIED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_vectors),
	    cmocka_unit_test(test_step),
	    cmocka_unit_test(test_base32),
	    cmocka_unit_test(test_new_secret),
	    cmocka_unit_test_setup_teardown(test_check_skew, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_check_skew_too_far, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_check_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_check_wrong_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_check_unknown_user, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
