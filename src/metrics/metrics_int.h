/* Internal to the metrics module: the counters themselves (metrics.c),
 * read by the renderer (render.c) and the process metrics (process.c). */
#ifndef PIMGATE_METRICS_INT_H
#define PIMGATE_METRICS_INT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/metrics.h"

/* Session end reasons as labels: the names of session.h's END_*, in
 * this order, then "other" for anything else. */
enum metrics_end {
	METRICS_END_EXIT,
	METRICS_END_EXPIRED,
	METRICS_END_REVOKED,
	METRICS_END_IDLE,
	METRICS_END_KILLED,
	METRICS_END_UPSTREAM,
	METRICS_END_SHUTDOWN,
	METRICS_END_RECORDING,
	METRICS_END_OTHER,
	METRICS_END_N,
};

extern const char *const metrics_end_names[METRICS_END_N];

/* Upper bounds of the buckets (ascending; +Inf is implied). */
#define METRICS_DURATION_BUCKETS 11
#define METRICS_LAG_BUCKETS 10
extern const double metrics_duration_bounds[METRICS_DURATION_BUCKETS];
extern const double metrics_lag_bounds[METRICS_LAG_BUCKETS];

#define METRICS_HIST_MAX 12

/* A histogram: observations per bucket (not cumulative; the last one is
 * +Inf) and their sum in microseconds. */
struct metrics_hist {
	atomic_uint_fast64_t buckets[METRICS_HIST_MAX + 1];
	atomic_uint_fast64_t sum_us;
};

struct metrics_state {
	atomic_uint_fast64_t accepted[METRICS_PROTO_N];
	atomic_uint_fast64_t refused[METRICS_PROTO_N][METRICS_REFUSAL_N];
	atomic_uint_fast64_t http_accepted;
	atomic_uint_fast64_t http_refused_capacity;
	atomic_uint_fast64_t auth_failed[METRICS_PROTO_N][METRICS_AUTH_N];
	atomic_int_fast64_t live[METRICS_PROTO_N];
	atomic_uint_fast64_t started[METRICS_PROTO_N];
	atomic_uint_fast64_t ended[METRICS_PROTO_N][METRICS_END_N];
	struct metrics_hist duration[METRICS_PROTO_N];
	atomic_uint_fast64_t relayed[METRICS_PROTO_N][METRICS_DIRECTION_N];
	atomic_uint_fast64_t kills[METRICS_END_N];
	struct metrics_hist kill_lag;
	atomic_uint_fast64_t rec_bytes;
	atomic_uint_fast64_t rec_errors;
	atomic_uint_fast64_t store_errors[2]; /* [0] error, [1] busy */
	atomic_uint_fast64_t notify_failed[METRICS_NOTIFY_N];
	atomic_int_fast64_t activations[METRICS_ACT_N];
	atomic_int_fast64_t requests_pending;
};

extern struct metrics_state metrics_g;

/* A growing text buffer; after a failed allocation it stays failed and
 * takes nothing more. */
struct metrics_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void metrics_buf_vprintf(struct metrics_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* "# HELP" and "# TYPE" lines of family NAME. */
void metrics_family(struct metrics_buf *b, const char *name, const char *type,
    const char *help);

/* process.c: the process_ families, from /proc/self; families that
 * cannot be read are left out. */
void metrics_render_process(struct metrics_buf *b);

#endif
