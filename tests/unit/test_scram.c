/* Unit tests for the PostgreSQL client authentication answers: the RFC
 * 7677 SCRAM-SHA-256 vector, refusal of bad server messages (nonce,
 * salt, iteration count, signature, "e="), message framing, and the md5
 * answer (expected value computed with md5sum). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pg/scram.h"

#define RFC_PASSWORD "pencil"
#define RFC_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE RFC_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_FIRST "r=" RFC_SNONCE ",s=" RFC_SALT ",i=4096"
#define RFC_FINAL                                    \
	"c=biws,r=" RFC_SNONCE ",p=dHzbZapWIk4jUhN+" \
	"Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* An exchange for the RFC vector that has sent its client-first. */
static struct scram *
rfc_started(void)
{
	struct scram *s = scram_new_user(RFC_PASSWORD, RFC_NONCE, "user");
	char buf[SCRAM_MSG_MAX];

	assert_non_null(s);
	assert_int_equal(scram_client_first(s, buf, sizeof(buf)),
	    (int)strlen("n,,n=user,r=" RFC_NONCE));
	assert_string_equal(buf, "n,,n=user,r=" RFC_NONCE);
	return s;
}

/* scram_client_final of FIRST; returns its result, the reason in ERR. */
static int
final_of(struct scram *s, const char *first, char *err, size_t errlen)
{
	char out[SCRAM_MSG_MAX];

	err[0] = '\0';
	return scram_client_final(
	    s, first, strlen(first), out, sizeof(out), err, errlen);
}

/* True if FIRST, answered for the RFC vector, is refused with a reason
 * that does not give the password away. */
static bool
first_refused(const char *first)
{
	struct scram *s = rfc_started();
	char err[256];
	int r;

	r = final_of(s, first, err, sizeof(err));
	scram_free(s);
	if (r != -1)
		return false;
	assert_true(err[0] != '\0');
	assert_null(strstr(err, RFC_PASSWORD));
	return true;
}

static void
test_rfc7677_vector(void **state)
{
	struct scram *s = rfc_started();
	char out[SCRAM_MSG_MAX], err[256];
	int n;

	n = scram_client_final(s, RFC_FIRST, strlen(RFC_FIRST), out,
	    sizeof(out), err, sizeof(err));
	assert_int_equal(n, (int)strlen(RFC_FINAL));
	assert_string_equal(out, RFC_FINAL);
	assert_true(scram_server_final(
	    s, RFC_SERVER, strlen(RFC_SERVER), err, sizeof(err)));
	/* The exchange is over: nothing more is accepted. */
	assert_false(scram_server_final(
	    s, RFC_SERVER, strlen(RFC_SERVER), err, sizeof(err)));
	scram_free(s);
}

/* The message PostgreSQL gets: empty user, a fresh 24-character nonce. */
static void
test_client_first_random(void **state)
{
	struct scram *a = scram_new("pw", NULL), *b = scram_new("pw", NULL);
	char m1[SCRAM_MSG_MAX], m2[SCRAM_MSG_MAX];
	size_t i;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(scram_client_first(a, m1, sizeof(m1)), 8 + 24);
	assert_int_equal(scram_client_first(b, m2, sizeof(m2)), 8 + 24);
	assert_memory_equal(m1, "n,,n=,r=", 8);
	for (i = 8; i < 32; i++)
		assert_true(m1[i] > 0x20 && m1[i] < 0x7f && m1[i] != ',');
	assert_string_not_equal(m1, m2);
	scram_free(a);
	scram_free(b);
}

static void
test_client_first_framing(void **state)
{
	struct scram *s;
	char buf[64];

	assert_null(scram_new("pw", "has,comma"));
	assert_null(scram_new("pw", ""));
	assert_null(scram_new("pw", "has space"));

	s = scram_new("pw", "abc");
	assert_non_null(s);
	/* "n,,n=,r=abc" is 11 bytes: no room for the NUL in 11. */
	assert_int_equal(scram_client_first(s, buf, 11), -1);
	assert_int_equal(scram_client_first(s, buf, 12), 11);
	assert_string_equal(buf, "n,,n=,r=abc");
	scram_free(s);

	/* A user name is escaped as a saslname. */
	s = scram_new_user("pw", "abc", "a,b=c");
	assert_non_null(s);
	assert_int_equal(scram_client_first(s, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "n,,n=a=2Cb=3Dc,r=abc");
	scram_free(s);
}

static void
test_out_of_order(void **state)
{
	struct scram *s = scram_new_user(RFC_PASSWORD, RFC_NONCE, "user");
	char err[256];

	assert_non_null(s);
	assert_int_equal(final_of(s, RFC_FIRST, err, sizeof(err)), -1);
	scram_free(s);

	s = rfc_started();
	assert_false(scram_server_final(
	    s, RFC_SERVER, strlen(RFC_SERVER), err, sizeof(err)));
	scram_free(s);
}

static void
test_bad_nonce(void **state)
{
	/* Not starting with ours, equal to ours, missing, empty. */
	assert_true(
	    first_refused("r=XOprNGfwEbeRWgbNEkqO%hvY,s=" RFC_SALT ",i=4096"));
	assert_true(first_refused("r=" RFC_NONCE ",s=" RFC_SALT ",i=4096"));
	assert_true(first_refused("r=rOprNG,s=" RFC_SALT ",i=4096"));
	assert_true(first_refused("s=" RFC_SALT ",i=4096"));
	assert_true(first_refused("r=,s=" RFC_SALT ",i=4096"));
	assert_true(first_refused("r=" RFC_NONCE "a b,s=" RFC_SALT ",i=4096"));
}

static void
test_bad_iterations(void **state)
{
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=0"));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=100001"));
	assert_true(
	    first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=10000001"));
	assert_true(
	    first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=99999999999"));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=-1"));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=04096"));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i=4k"));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT ",i="));
	assert_true(first_refused("r=" RFC_SNONCE ",s=" RFC_SALT));
}

/* The lowest count is accepted, and gives a different proof. */
static void
test_one_iteration(void **state)
{
	struct scram *s = rfc_started();
	const char *first = "r=" RFC_SNONCE ",s=" RFC_SALT ",i=1";
	char out[SCRAM_MSG_MAX], err[256];
	int n;

	n = scram_client_final(
	    s, first, strlen(first), out, sizeof(out), err, sizeof(err));
	assert_true(n > 0);
	assert_string_not_equal(out, RFC_FINAL);
	assert_false(scram_server_final(
	    s, RFC_SERVER, strlen(RFC_SERVER), err, sizeof(err)));
	scram_free(s);
}

static void
test_garbled_first(void **state)
{
	const char *bad[] = {
	    "",
	    "r=" RFC_SNONCE,
	    "s=" RFC_SALT ",r=" RFC_SNONCE ",i=4096",
	    "r=" RFC_SNONCE ",i=4096,s=" RFC_SALT,
	    "m=ext,r=" RFC_SNONCE ",s=" RFC_SALT ",i=4096",
	    "r=" RFC_SNONCE ",s=" RFC_SALT ",i=4096,x=ext",
	    "r=" RFC_SNONCE ",s=" RFC_SALT ",i=4096,",
	    "r=" RFC_SNONCE ",s=,i=4096",
	    "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",
	    "r=" RFC_SNONCE ",s=W22ZaJ0S*Y7soEsUEjb6gQ==,i=4096",
	    "r=" RFC_SNONCE ",s=W22Z=J0SNY7soEsUEjb6gQ==,i=4096",
	    "r=" RFC_SNONCE ",s====,i=4096",
	    "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096",
	    "R=" RFC_SNONCE ",s=" RFC_SALT ",i=4096",
	};
	struct scram *s;
	char out[SCRAM_MSG_MAX], err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!first_refused(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	}

	/* An embedded NUL. */
	s = rfc_started();
	assert_int_equal(
	    scram_client_final(s, RFC_FIRST "\0x", strlen(RFC_FIRST) + 2, out,
		sizeof(out), err, sizeof(err)),
	    -1);
	scram_free(s);
}

static void
test_final_too_small(void **state)
{
	struct scram *s = rfc_started();
	char out[sizeof(RFC_FINAL)], err[256];

	assert_int_equal(scram_client_final(s, RFC_FIRST, strlen(RFC_FIRST),
			     out, sizeof(out) - 1, err, sizeof(err)),
	    -1);
	scram_free(s);

	s = rfc_started();
	assert_int_equal(scram_client_final(s, RFC_FIRST, strlen(RFC_FIRST),
			     out, sizeof(out), err, sizeof(err)),
	    (int)strlen(RFC_FINAL));
	assert_string_equal(out, RFC_FINAL);
	scram_free(s);
}

/* server_final of MSG after the RFC client-final; the reason in ERR. */
static bool
server_final_of(const char *msg, char *err, size_t errlen)
{
	struct scram *s = rfc_started();
	bool ok;

	assert_int_equal(
	    final_of(s, RFC_FIRST, err, errlen), (int)strlen(RFC_FINAL));
	err[0] = '\0';
	ok = scram_server_final(s, msg, strlen(msg), err, errlen);
	scram_free(s);
	return ok;
}

static void
test_bad_server_final(void **state)
{
	const char *bad[] = {
	    "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4==",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=y",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjRW4=",
	    "v=",
	    "",
	    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (server_final_of(bad[i], err, sizeof(err)))
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
test_server_error(void **state)
{
	char err[256];

	assert_false(server_final_of("e=invalid-proof", err, sizeof(err)));
	assert_non_null(strstr(err, "invalid-proof"));
	/* Odd text from the server is not repeated. */
	assert_false(server_final_of("e=\x1b[2Jboom", err, sizeof(err)));
	assert_null(strstr(err, "boom"));
	assert_true(err[0] != '\0');
}

static void
test_md5(void **state)
{
	static const unsigned char salt[4] = {0x01, 0x02, 0x03, 0x04};
	char out[36];

	/* md5(md5("secret" "postgres") in hex, then the salt), by md5sum. */
	pg_md5_password("postgres", "secret", salt, out);
	assert_string_equal(out, "md5bb41a296aab6baccb36ff243a562abff");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7677_vector),
	    cmocka_unit_test(test_client_first_random),
	    cmocka_unit_test(test_client_first_framing),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_bad_nonce),
	    cmocka_unit_test(test_bad_iterations),
	    cmocka_unit_test(test_one_iteration),
	    cmocka_unit_test(test_garbled_first),
	    cmocka_unit_test(test_final_too_small),
	    cmocka_unit_test(test_bad_server_final),
	    cmocka_unit_test(test_server_error),
	    cmocka_unit_test(test_md5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
