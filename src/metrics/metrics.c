/* The counters: one static set for the process, moved with relaxed
 * atomics (each is independent; nothing is ordered by them). */
#include <string.h>

#include "metrics_int.h"

struct metrics_state metrics_g;

const char *const metrics_end_names[METRICS_END_N] = {
    "exit",
    "expired",
    "revoked",
    "idle",
    "killed",
    "upstream-error",
    "shutdown",
    "recording-error",
    "other",
};

/* Sessions last from seconds to a working day. */
const double metrics_duration_bounds[METRICS_DURATION_BUCKETS] = {
    1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400};
/* The product promises an end within one second of the deadline. */
const double metrics_lag_bounds[METRICS_LAG_BUCKETS] = {
    0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30};

static void
metrics_inc(atomic_uint_fast64_t *c, uint_fast64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

enum metrics_proto
metrics_proto_of(const char *protocol)
{
	if (protocol == NULL)
		return METRICS_PROTO_N;
	if (strcmp(protocol, "ssh") == 0)
		return METRICS_SSH;
	if (strcmp(protocol, "postgres") == 0)
		return METRICS_POSTGRES;
	return METRICS_PROTO_N;
}

static enum metrics_end
metrics_end_of(const char *reason)
{
	int i;

	for (i = 0; reason != NULL && i < METRICS_END_OTHER; i++) {
		if (strcmp(reason, metrics_end_names[i]) == 0)
			return (enum metrics_end)i;
	}
	return METRICS_END_OTHER;
}

void
metrics_connection_accepted(enum metrics_proto p)
{
	if (p < METRICS_PROTO_N)
		metrics_inc(&metrics_g.accepted[p], 1);
}

void
metrics_connection_refused(enum metrics_proto p, enum metrics_refusal r)
{
	if (p < METRICS_PROTO_N && r < METRICS_REFUSAL_N)
		metrics_inc(&metrics_g.refused[p][r], 1);
}

void
metrics_http_accepted(void)
{
	metrics_inc(&metrics_g.http_accepted, 1);
}

void
metrics_http_refused_capacity(void)
{
	metrics_inc(&metrics_g.http_refused_capacity, 1);
}

void
metrics_auth_failure(enum metrics_proto p, enum metrics_auth m)
{
	if (p < METRICS_PROTO_N && m < METRICS_AUTH_N)
		metrics_inc(&metrics_g.auth_failed[p][m], 1);
}

/* Observes SECS (negative counts as 0) in H with bucket BOUNDS. */
static void
metrics_observe(
    struct metrics_hist *h, const double *bounds, size_t n, double secs)
{
	size_t i = 0;

	if (!(secs > 0))
		secs = 0;
	while (i < n && secs > bounds[i])
		i++;
	metrics_inc(&h->buckets[i], 1);
	metrics_inc(&h->sum_us, (uint_fast64_t)(secs * 1e6 + 0.5));
}

void
metrics_session_started(enum metrics_proto p)
{
	if (p >= METRICS_PROTO_N)
		return;
	metrics_inc(&metrics_g.started[p], 1);
	atomic_fetch_add_explicit(&metrics_g.live[p], 1, memory_order_relaxed);
}

/* Down by one, but never below zero. */
static void
metrics_gauge_dec(atomic_int_fast64_t *g)
{
	int_fast64_t v = atomic_load_explicit(g, memory_order_relaxed);

	while (v > 0 && !atomic_compare_exchange_weak_explicit(g, &v, v - 1,
			    memory_order_relaxed, memory_order_relaxed))
		;
}

void
metrics_session_ended(enum metrics_proto p, const char *reason, double secs)
{
	if (p >= METRICS_PROTO_N)
		return;
	metrics_gauge_dec(&metrics_g.live[p]);
	metrics_inc(&metrics_g.ended[p][metrics_end_of(reason)], 1);
	metrics_observe(&metrics_g.duration[p], metrics_duration_bounds,
	    METRICS_DURATION_BUCKETS, secs);
}

void
metrics_session_kill(const char *reason)
{
	metrics_inc(&metrics_g.kills[metrics_end_of(reason)], 1);
}

void
metrics_session_kill_lag(double secs)
{
	metrics_observe(
	    &metrics_g.kill_lag, metrics_lag_bounds, METRICS_LAG_BUCKETS, secs);
}

void
metrics_relayed(
    enum metrics_proto p, size_t client_to_target, size_t target_to_client)
{
	if (p >= METRICS_PROTO_N)
		return;
	if (client_to_target > 0)
		metrics_inc(&metrics_g.relayed[p][METRICS_CLIENT_TO_TARGET],
		    client_to_target);
	if (target_to_client > 0)
		metrics_inc(&metrics_g.relayed[p][METRICS_TARGET_TO_CLIENT],
		    target_to_client);
}

void
metrics_recording_written(size_t bytes)
{
	metrics_inc(&metrics_g.rec_bytes, bytes);
}

void
metrics_recording_error(void)
{
	metrics_inc(&metrics_g.rec_errors, 1);
}

void
metrics_store_error(bool busy)
{
	metrics_inc(&metrics_g.store_errors[busy ? 1 : 0], 1);
}

void
metrics_notify_failure(enum metrics_notify_failure why)
{
	if (why < METRICS_NOTIFY_N)
		metrics_inc(&metrics_g.notify_failed[why], 1);
}

void
metrics_set_activations(const int64_t counts[METRICS_ACT_N])
{
	int i;

	for (i = 0; i < METRICS_ACT_N; i++)
		atomic_store_explicit(
		    &metrics_g.activations[i], counts[i], memory_order_relaxed);
}

void
metrics_set_requests_pending(int64_t n)
{
	atomic_store_explicit(
	    &metrics_g.requests_pending, n, memory_order_relaxed);
}

void
metrics_reset(void)
{
	/* Tests only, while nothing else records. */
	memset(&metrics_g, 0, sizeof(metrics_g));
}
