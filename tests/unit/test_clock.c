/* Unit tests for the clock, durations and instants (clock.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"

static void
test_duration_valid(void **state)
{
	static const struct {
		const char *s;
		int64_t secs;
	} cases[] = {
	    {"90s", 90},
	    {"1s", 1},
	    {"15m", 900},
	    {"4h", 14400},
	    {"1h30m", 5400},
	    {"2d", 172800},
	    {"1d12h", 129600},
	    {"1d2h3m4s", 93784},
	    {"0h5m", 300},
	    {"007m", 420},
	    {"36524d", (int64_t)36524 * 86400},
	};
	size_t i;
	int64_t secs;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		secs = -1;
		assert_int_equal(duration_parse(cases[i].s, &secs), PIM_OK);
		assert_int_equal(secs, cases[i].secs);
	}
}

static void
test_duration_invalid(void **state)
{
	static const char *const cases[] = {
	    "",
	    "0s",
	    "0d0h0m0s",
	    "90",
	    "1x",
	    "h",
	    "s",
	    "1h1h",
	    "30m1h",
	    "1s1m",
	    "1h30",
	    "1H",
	    " 1h",
	    "1h ",
	    "-1h",
	    "+1h",
	    "1.5h",
	    "36525d",
	    "876600h",
	    "99999999999999999999s",
	    "9223372036854775807s",
	    "36524d24h",
	};
	size_t i;
	int64_t secs = 42;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(duration_parse(cases[i], &secs), PIM_EINVAL);
	assert_int_equal(secs, 42); /* untouched on error */
	assert_int_equal(duration_parse(NULL, &secs), PIM_EINVAL);
}

static void
test_duration_format(void **state)
{
	static const struct {
		int64_t secs;
		const char *s;
	} cases[] = {
	    {0, "0s"},
	    {1, "1s"},
	    {90, "1m30s"},
	    {900, "15m"},
	    {5400, "1h30m"},
	    {86400, "1d"},
	    {129600, "1d12h"},
	    {86401, "1d1s"},
	    {93784, "1d2h3m4s"},
	    {-90, "-1m30s"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(cases[i].secs, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
	duration_format(93784, buf, 4); /* truncated, still terminated */
	assert_int_equal(strlen(buf), 3);
}

static void
test_duration_round_trip(void **state)
{
	char buf[32];
	int64_t secs, back;

	for (secs = 1; secs < 3 * 86400; secs += 611) {
		duration_format(secs, buf, sizeof(buf));
		assert_int_equal(duration_parse(buf, &back), PIM_OK);
		assert_int_equal(back, secs);
	}
}

static void
test_instant_valid(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} cases[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2026-12-04T15:00:00Z", 1796396400},
	    {"2026-12-04t15:00:00z", 1796396400},
	    {"2026-12-04T15:00:00.5Z", 1796396400},
	    {"2026-12-04T15:00:00.123456789Z", 1796396400},
	    {"2026-12-04T16:00:00+01:00", 1796396400},
	    {"2026-12-04T20:30:00+05:30", 1796396400},
	    {"2026-12-04T07:00:00-08:00", 1796396400},
	    {"2026-12-04T15:00:00+00:00", 1796396400},
	    {"2026-12-04T15:00:00-00:00", 1796396400},
	    {"2028-02-29T00:00:00Z", 1835395200},
	    {"2000-02-29T12:00:00Z", 951825600},
	    {"2038-01-19T03:14:08Z", 2147483648LL},
	    {"2026-12-31T23:59:60Z", 1798761600},
	};
	size_t i;
	int64_t t;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = -12345;
		assert_int_equal(instant_parse(cases[i].s, &t), PIM_OK);
		assert_int_equal(t, cases[i].t);
	}
}

static void
test_instant_invalid(void **state)
{
	static const char *const cases[] = {
	    "",
	    "2026-12-04",
	    "2026-12-04T15:00:00",
	    "2026-12-04 15:00:00Z",
	    "2026-12-04T15:00Z",
	    "2026-12-04T15:00:00.Z",
	    "2026-12-04T15:00:00+0100",
	    "2026-12-04T15:00:00+1",
	    "2026-12-04T15:00:00+24:00",
	    "2026-12-04T15:00:00+01:60",
	    "2026-12-04T15:00:00Zjunk",
	    "2026-12-04T15:00:00Z ",
	    "2027-02-29T00:00:00Z",
	    "2100-02-29T00:00:00Z",
	    "2026-02-30T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-00-10T00:00:00Z",
	    "2026-13-10T00:00:00Z",
	    "2026-12-00T00:00:00Z",
	    "2026-12-32T00:00:00Z",
	    "2026-12-04T24:00:00Z",
	    "2026-12-04T23:60:00Z",
	    "2026-12-04T23:59:61Z",
	    "26-12-04T15:00:00Z",
	    "2026-1-04T15:00:00Z",
	    "+2026-12-04T15:00:00Z",
	    "2026-12-04T1a:00:00Z",
	};
	size_t i;
	int64_t t = 7;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(instant_parse(cases[i], &t), PIM_EINVAL);
	assert_int_equal(t, 7);
	assert_int_equal(instant_parse(NULL, &t), PIM_EINVAL);
}

static void
test_instant_format(void **state)
{
	char buf[32];

	instant_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	instant_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	instant_format(1796396400, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-04T15:00:00Z");
	instant_format(1835395200 + 86399, buf, sizeof(buf));
	assert_string_equal(buf, "2028-02-29T23:59:59Z");
	instant_format(253402300799LL, buf, sizeof(buf));
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
}

/* Formatting agrees with the C library and parses back. */
static void
test_instant_round_trip(void **state)
{
	char buf[32], ref[32];
	struct tm tm;
	int64_t t, back;
	time_t tt;

	for (t = -2000000000LL; t < 5000000000LL; t += 7777777) {
		instant_format(t, buf, sizeof(buf));
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ", &tm);
		assert_string_equal(buf, ref);
		assert_int_equal(instant_parse(buf, &back), PIM_OK);
		assert_int_equal(back, t);
	}
}

static void
test_clock_fixed(void **state)
{
	int64_t real = (int64_t)time(NULL), a, b;

	clock_set_fixed(1796396400);
	assert_int_equal(clock_now(), 1796396400);
	assert_int_equal(clock_now_ms(), 1796396400000LL);
	clock_set_fixed(0);
	assert_true(clock_now() >= real && clock_now() <= real + 5);
	assert_true(clock_now_ms() / 1000 >= real);

	a = clock_mono_us();
	b = clock_mono_us();
	assert_true(a > 0 && b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_valid),
	    cmocka_unit_test(test_duration_invalid),
	    cmocka_unit_test(test_duration_format),
	    cmocka_unit_test(test_duration_round_trip),
	    cmocka_unit_test(test_instant_valid),
	    cmocka_unit_test(test_instant_invalid),
	    cmocka_unit_test(test_instant_format),
	    cmocka_unit_test(test_instant_round_trip),
	    cmocka_unit_test(test_clock_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
