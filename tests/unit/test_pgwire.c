/* The PostgreSQL front end's message helpers: building and reading
 * ErrorResponse, and counting a statement's parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "pg/pg_int.h"
#include "pimgate/err.h"

/* An ErrorResponse built by the gateway reads back field by field, and
 * its length header counts exactly the bytes that follow the type. */
static void
test_error_roundtrip(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char sev[16], code[8], msg[128];
	unsigned char *m;
	size_t len;

	assert_int_equal(pg_put_error(b, "FATAL", "57P01",
			     "terminating connection: window closed"),
	    PIM_OK);
	len = evbuffer_get_length(b);
	m = evbuffer_pullup(b, -1);
	assert_int_equal(m[0], 'E');
	assert_int_equal(pg_get_u32(m + 1), len - 1);
	pg_read_error(m + 5, len - 5, sev, sizeof(sev), code, sizeof(code), msg,
	    sizeof(msg));
	assert_string_equal(sev, "FATAL");
	assert_string_equal(code, "57P01");
	assert_string_equal(msg, "terminating connection: window closed");
	evbuffer_free(b);
}

/* A long message is cut, never overflows, and the message stays well
 * formed (ends with the terminating NUL). */
static void
test_error_long(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char big[4000], sev[16], code[8], msg[64];
	unsigned char *m;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pg_put_error(b, "FATAL", "28000", big), PIM_OK);
	len = evbuffer_get_length(b);
	assert_true(len < 1024);
	m = evbuffer_pullup(b, -1);
	assert_int_equal(m[len - 1], '\0');
	pg_read_error(m + 5, len - 5, sev, sizeof(sev), code, sizeof(code), msg,
	    sizeof(msg));
	assert_string_equal(code, "28000");
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	evbuffer_free(b);
}

/* Fields without their NUL are not read past the end. */
static void
test_error_truncated_input(void **state)
{
	const unsigned char body[] = {
	    'S', 'E', 'R', 'R', 'O', 'R', 0, 'C', '4', '2'};
	char sev[16], code[8], msg[64];

	pg_read_error(body, sizeof(body), sev, sizeof(sev), code, sizeof(code),
	    msg, sizeof(msg));
	assert_string_equal(sev, "ERROR");
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
}

static int
count(const char *sql)
{
	return pg_count_params(sql, strlen(sql));
}

static void
test_count_params(void **state)
{
	assert_int_equal(count("SELECT 1"), 0);
	assert_int_equal(count("SELECT $1::int + $2"), 2);
	assert_int_equal(count("UPDATE t SET a = $3 WHERE b = $1"), 3);
	assert_int_equal(count("SELECT '$5', \"$6\" FROM t WHERE a = $1"), 1);
	assert_int_equal(count("SELECT 1 -- $9\n, $2"), 2);
	assert_int_equal(count("SELECT a$1 FROM t"), 0);
	assert_int_equal(count("SELECT $12"), 12);
	assert_int_equal(count("$"), 0);
}

static void
test_u32(void **state)
{
	unsigned char b[4];

	pg_put_u32(b, 80877103u);
	assert_memory_equal(b, "\x04\xd2\x16\x2f", 4);
	assert_int_equal(pg_get_u32(b), 80877103u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_roundtrip),
	    cmocka_unit_test(test_error_long),
	    cmocka_unit_test(test_error_truncated_input),
	    cmocka_unit_test(test_count_params),
	    cmocka_unit_test(test_u32),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
