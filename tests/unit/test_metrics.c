/* The metrics module through its header: what the exposition looks like,
 * that counters, gauges and histograms hold what was recorded, and that
 * recording from several threads loses nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <regex.h>

#include <cmocka.h>

#include "pimgate/err.h"
#include "pimgate/metrics.h"

static char *
render(void)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(&text, &len), PIM_OK);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* The value of SERIES ("name{labels}" exactly as written), or -1 if the
 * exposition has no such line. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static int
setup(void **state)
{
	metrics_reset();
	return 0;
}

/* Every line is a HELP, a TYPE or a sample of a family declared just
 * before it; no family is declared twice. */
static void
test_format(void **state)
{
	regex_t help, type, line;
	char *text = render(), *save = NULL, *l;
	char family[128] = "", seen[8192] = " ";

	assert_int_equal(
	    regcomp(&help, "^# HELP ([a-z_]+) [^\\]+$", REG_EXTENDED), 0);
	assert_int_equal(
	    regcomp(&type, "^# TYPE ([a-z_]+) (counter|gauge|histogram)$",
		REG_EXTENDED),
	    0);
	assert_int_equal(regcomp(&line,
			     "^([a-z_]+)(\\{([a-z_]+=\"[^\"]*\",?)+\\})? "
			     "[0-9]+(\\.[0-9]+)?$",
			     REG_EXTENDED),
	    0);
	for (l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[3];
		char name[128], key[140];

		if (regexec(&help, l, 2, m, 0) == 0)
			continue;
		if (regexec(&type, l, 3, m, 0) == 0) {
			snprintf(family, sizeof(family), "%.*s",
			    (int)(m[1].rm_eo - m[1].rm_so), l + m[1].rm_so);
			snprintf(key, sizeof(key), " %s ", family);
			assert_null(strstr(seen, key));
			strcat(seen, key + 1);
			if (strncmp(l + m[2].rm_so, "counter", 7) == 0)
				assert_non_null(strstr(family, "_total"));
			continue;
		}
		assert_int_equal(regexec(&line, l, 2, m, 0), 0);
		snprintf(name, sizeof(name), "%.*s",
		    (int)(m[1].rm_eo - m[1].rm_so), l + m[1].rm_so);
		assert_true(strncmp(name, family, strlen(family)) == 0);
	}
	assert_non_null(strstr(seen, " pimgate_sessions_live "));
	assert_non_null(strstr(seen, " pimgate_sessions_ended_total "));
	assert_non_null(strstr(seen, " pimgate_session_kill_lag_seconds "));
	assert_non_null(strstr(seen, " process_open_fds "));
	regfree(&help);
	regfree(&type);
	regfree(&line);
	free(text);
}

static void
test_counters(void **state)
{
	char *text;

	metrics_connection_accepted(METRICS_SSH);
	metrics_connection_accepted(METRICS_SSH);
	metrics_connection_accepted(METRICS_POSTGRES);
	metrics_connection_accepted(METRICS_PROTO_N); /* counted nowhere */
	metrics_connection_refused(METRICS_POSTGRES, METRICS_REFUSED_AUTH);
	metrics_auth_failure(METRICS_SSH, METRICS_AUTH_TOTP);
	metrics_relayed(METRICS_SSH, 10, 2000);
	metrics_session_kill("expired");
	metrics_session_kill("no-such-reason");
	metrics_recording_written(4096);
	metrics_recording_error();
	metrics_store_error(true);
	metrics_notify_failure(METRICS_NOTIFY_TIMEOUT);
	text = render();
	assert_true(
	    sample(text,
		"pimgate_connections_accepted_total{protocol=\"ssh\"}") == 2);
	assert_true(sample(text, "pimgate_connections_accepted_total{"
				 "protocol=\"postgres\"}") == 1);
	assert_true(
	    sample(text, "pimgate_connections_refused_total{"
			 "protocol=\"postgres\",reason=\"auth\"}") == 1);
	assert_true(sample(text, "pimgate_connections_refused_total{"
				 "protocol=\"ssh\",reason=\"auth\"}") == 0);
	assert_true(sample(text, "pimgate_auth_failures_total{"
				 "protocol=\"ssh\",method=\"totp\"}") == 1);
	assert_true(
	    sample(text, "pimgate_relayed_bytes_total{protocol="
			 "\"ssh\",direction=\"client_to_target\"}") == 10);
	assert_true(
	    sample(text, "pimgate_relayed_bytes_total{protocol="
			 "\"ssh\",direction=\"target_to_client\"}") == 2000);
	assert_true(
	    sample(text, "pimgate_session_kills_total{reason=\"expired\"}") ==
	    1);
	assert_true(
	    sample(text, "pimgate_session_kills_total{reason=\"other\"}") == 1);
	/* "exit" is never a kill: no such line. */
	assert_true(
	    sample(text, "pimgate_session_kills_total{reason=\"exit\"}") == -1);
	assert_true(
	    sample(text, "pimgate_recording_written_bytes_total") == 4096);
	assert_true(sample(text, "pimgate_recording_errors_total") == 1);
	assert_true(
	    sample(text, "pimgate_store_errors_total{kind=\"busy\"}") == 1);
	assert_true(
	    sample(text, "pimgate_store_errors_total{kind=\"error\"}") == 0);
	assert_true(sample(text, "pimgate_notify_failures_total{"
				 "reason=\"timeout\"}") == 1);
	assert_true(sample(text, "pimgate_build_info{version=\"" PIMGATE_VERSION
				 "\"}") == 1);
	free(text);
}

/* The monitoring listener's connections appear in the two connection
 * families only, as protocol="http". */
static void
test_http_connections(void **state)
{
	char *text;

	metrics_http_accepted();
	metrics_http_accepted();
	metrics_http_refused_capacity();
	text = render();
	assert_true(sample(text, "pimgate_connections_accepted_total{"
				 "protocol=\"http\"}") == 2);
	assert_true(
	    sample(text, "pimgate_connections_refused_total{"
			 "protocol=\"http\",reason=\"capacity\"}") == 1);
	assert_true(sample(text, "pimgate_connections_refused_total{"
				 "protocol=\"http\",reason=\"auth\"}") == -1);
	assert_true(
	    sample(text, "pimgate_sessions_live{protocol=\"http\"}") == -1);
	assert_true(sample(text, "pimgate_connections_accepted_total{"
				 "protocol=\"ssh\"}") == 0);
	free(text);
}

/* Buckets are cumulative, +Inf equals the count, the sum is the sum. */
static void
test_histogram(void **state)
{
	static const double seen[] = {0.01, 0.3, 0.3, 5, 100, -2};
	static const struct {
		const char *le;
		double want;
	} b[] = {{"0.05", 2}, {"0.1", 2}, {"0.25", 2}, {"0.5", 4}, {"1", 4},
	    {"5", 5}, {"30", 5}, {"+Inf", 6}};
	char series[128], *text;
	double prev = 0, v;
	size_t i;

	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		metrics_session_kill_lag(seen[i]);
	text = render();
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		snprintf(series, sizeof(series),
		    "pimgate_session_kill_lag_seconds_bucket{le=\"%s\"}",
		    b[i].le);
		v = sample(text, series);
		assert_true(v == b[i].want);
		assert_true(v >= prev);
		prev = v;
	}
	assert_true(
	    sample(text, "pimgate_session_kill_lag_seconds_count") == 6);
	v = sample(text, "pimgate_session_kill_lag_seconds_sum");
	assert_true(v > 105.6099 && v < 105.6101);
	free(text);
}

/* The live gauge goes up and down with sessions and never below zero;
 * ends and durations are counted by protocol and reason. */
static void
test_gauges(void **state)
{
	const int64_t acts[METRICS_ACT_N] = {3, 2, -5, 0, 0, 0, 0};
	char *text;

	metrics_session_started(METRICS_POSTGRES);
	metrics_session_started(METRICS_POSTGRES);
	metrics_session_ended(METRICS_POSTGRES, "expired", 12.5);
	text = render();
	assert_true(
	    sample(text, "pimgate_sessions_live{protocol=\"postgres\"}") == 1);
	free(text);
	metrics_session_ended(METRICS_POSTGRES, "exit", 0.5);
	/* An end too many (a bug elsewhere) must not go below zero. */
	metrics_session_ended(METRICS_POSTGRES, "bogus", 1);
	metrics_set_activations(acts);
	metrics_set_requests_pending(-1);
	text = render();
	assert_true(
	    sample(text, "pimgate_sessions_live{protocol=\"postgres\"}") == 0);
	assert_true(
	    sample(text, "pimgate_sessions_live{protocol=\"ssh\"}") == 0);
	assert_true(sample(text, "pimgate_sessions_started_total{"
				 "protocol=\"postgres\"}") == 2);
	assert_true(sample(text, "pimgate_sessions_ended_total{protocol="
				 "\"postgres\",reason=\"expired\"}") == 1);
	assert_true(sample(text, "pimgate_sessions_ended_total{protocol="
				 "\"postgres\",reason=\"other\"}") == 1);
	assert_true(sample(text, "pimgate_session_duration_seconds_bucket{"
				 "protocol=\"postgres\",le=\"1\"}") == 2);
	assert_true(sample(text, "pimgate_session_duration_seconds_bucket{"
				 "protocol=\"postgres\",le=\"60\"}") == 3);
	assert_true(sample(text, "pimgate_session_duration_seconds_count{"
				 "protocol=\"postgres\"}") == 3);
	assert_true(
	    sample(text, "pimgate_activations{state=\"pending\"}") == 3);
	assert_true(
	    sample(text, "pimgate_activations{state=\"expired\"}") == 0);
	assert_true(sample(text, "pimgate_approval_requests_pending") == 0);
	free(text);
}

static void
test_escape(void **state)
{
	char buf[32];

	assert_true(metrics_escape_label(buf, sizeof(buf), "a\"b\\c\nd"));
	assert_string_equal(buf, "a\\\"b\\\\c\\nd");
	assert_true(metrics_escape_label(buf, sizeof(buf), "plain-1.0"));
	assert_string_equal(buf, "plain-1.0");
	/* Too long: cut, still terminated, never half an escape. */
	assert_false(metrics_escape_label(buf, 4, "ab\"cd"));
	assert_string_equal(buf, "ab");
	assert_false(metrics_escape_label(buf, 0, "x"));
}

#define THREADS 4
#define ROUNDS 50000

static void *
bump(void *arg)
{
	int i;

	for (i = 0; i < ROUNDS; i++) {
		metrics_relayed(METRICS_POSTGRES, 1, 3);
		metrics_session_started(METRICS_SSH);
		metrics_session_ended(METRICS_SSH, "exit", 0.001);
		metrics_recording_written(7);
	}
	return arg;
}

/* Threads recording at once lose nothing. */
static void
test_threads(void **state)
{
	pthread_t t[THREADS];
	char *text;
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bump, NULL), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = render();
	assert_true(
	    sample(text, "pimgate_relayed_bytes_total{protocol="
			 "\"postgres\",direction=\"client_to_target\"}") ==
	    THREADS * ROUNDS);
	assert_true(
	    sample(text, "pimgate_relayed_bytes_total{protocol="
			 "\"postgres\",direction=\"target_to_client\"}") ==
	    3.0 * THREADS * ROUNDS);
	assert_true(sample(text, "pimgate_recording_written_bytes_total") ==
		    7.0 * THREADS * ROUNDS);
	assert_true(
	    sample(text, "pimgate_sessions_ended_total{protocol="
			 "\"ssh\",reason=\"exit\"}") == THREADS * ROUNDS);
	assert_true(
	    sample(text, "pimgate_sessions_live{protocol=\"ssh\"}") == 0);
	free(text);
}

static void
test_proto_of(void **state)
{
	assert_int_equal(metrics_proto_of("ssh"), METRICS_SSH);
	assert_int_equal(metrics_proto_of("postgres"), METRICS_POSTGRES);
	assert_int_equal(metrics_proto_of("alice"), METRICS_PROTO_N);
	assert_int_equal(metrics_proto_of(NULL), METRICS_PROTO_N);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_format, setup),
	    cmocka_unit_test_setup(test_counters, setup),
	    cmocka_unit_test_setup(test_http_connections, setup),
	    cmocka_unit_test_setup(test_histogram, setup),
	    cmocka_unit_test_setup(test_gauges, setup),
	    cmocka_unit_test_setup(test_escape, setup),
	    cmocka_unit_test_setup(test_threads, setup),
	    cmocka_unit_test_setup(test_proto_of, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
