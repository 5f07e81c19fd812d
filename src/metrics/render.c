/* The Prometheus text exposition (format 0.0.4): for each family its
 * HELP and TYPE lines, then one line per sample; counters end in _total,
 * units are base units (seconds, bytes), histograms come as cumulative
 * _bucket{le} lines, _sum and _count. Every label combination the code
 * knows is written, zeros included, so that rates work from the start. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"

#include "metrics_int.h"

static const char *const proto_names[METRICS_PROTO_N] = {"ssh", "postgres"};
static const char *const refusal_names[METRICS_REFUSAL_N] = {"capacity", "auth",
    "admission", "recording", "protocol", "rate", "store", "timeout",
    "shutdown"};
static const char *const auth_names[METRICS_AUTH_N] = {
    "password", "publickey", "totp", "certificate"};
static const char *const direction_names[METRICS_DIRECTION_N] = {
    "client_to_target", "target_to_client"};
static const char *const act_names[METRICS_ACT_N] = {"pending", "active",
    "expired", "revoked", "deactivated", "denied", "cancelled"};
static const char *const notify_names[METRICS_NOTIFY_N] = {
    "start", "exit", "signal", "timeout", "dropped"};
static const char *const store_kind_names[2] = {"error", "busy"};

#define METRICS_BUF_START 8192

void
metrics_buf_vprintf(struct metrics_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t cap;
	char *p;
	int n;

	if (b->oom)
		return;
	va_copy(again, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		cap = b->cap * 2 > b->len + (size_t)n + 1
			  ? b->cap * 2
			  : b->len + (size_t)n + 1;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			va_end(again);
			return;
		}
		b->p = p;
		b->cap = cap;
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n < 0)
		b->oom = true;
	else
		b->len += (size_t)n;
}

void
metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	metrics_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

bool
metrics_escape_label(char *dst, size_t size, const char *src)
{
	size_t o = 0;
	const char *esc;

	if (size == 0)
		return false;
	for (; *src != '\0'; src++) {
		esc = *src == '\\'   ? "\\\\"
		      : *src == '"'  ? "\\\""
		      : *src == '\n' ? "\\n"
				     : NULL;
		size_t n = esc != NULL ? 2 : 1;
		if (o + n >= size) {
			dst[o] = '\0';
			return false;
		}
		if (esc != NULL)
			memcpy(dst + o, esc, 2);
		else
			dst[o] = *src;
		o += n;
	}
	dst[o] = '\0';
	return true;
}

/* HELP text: backslash and line feed escaped. */
static void
metrics_help_text(struct metrics_buf *b, const char *help)
{
	for (; *help != '\0'; help++) {
		if (*help == '\\')
			metrics_buf_printf(b, "\\\\");
		else if (*help == '\n')
			metrics_buf_printf(b, "\\n");
		else
			metrics_buf_printf(b, "%c", *help);
	}
}

void
metrics_family(
    struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_buf_printf(b, "# HELP %s ", name);
	metrics_help_text(b, help);
	metrics_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* Label pairs: "k1=\"v1\",k2=\"v2\"" from up to two keys (K2 may be
 * NULL); values escaped. */
static void
metrics_labels(char *dst, size_t size, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	char e1[64], e2[64];

	metrics_escape_label(e1, sizeof(e1), v1);
	if (k2 == NULL) {
		snprintf(dst, size, "%s=\"%s\"", k1, e1);
		return;
	}
	metrics_escape_label(e2, sizeof(e2), v2);
	snprintf(dst, size, "%s=\"%s\",%s=\"%s\"", k1, e1, k2, e2);
}

static uint64_t
metrics_load(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* A gauge is never shown below zero. */
static int64_t
metrics_load_gauge(atomic_int_fast64_t *g)
{
	int64_t v = atomic_load_explicit(g, memory_order_relaxed);

	return v < 0 ? 0 : v;
}

static void
metrics_sample(
    struct metrics_buf *b, const char *name, const char *labels, uint64_t v)
{
	if (labels != NULL && labels[0] != '\0')
		metrics_buf_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, v);
	else
		metrics_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A counter or gauge family over one label: VALUES[i] under NAMES[i]. */
static void
metrics_by1(struct metrics_buf *b, const char *name, const char *key,
    const char *const *names, atomic_uint_fast64_t *values, int n)
{
	char labels[160];
	int i;

	for (i = 0; i < n; i++) {
		metrics_labels(
		    labels, sizeof(labels), key, names[i], NULL, NULL);
		metrics_sample(b, name, labels, metrics_load(&values[i]));
	}
}

/* A histogram with an optional label (K, V; K NULL for none). */
static void
metrics_hist(struct metrics_buf *b, const char *name, const char *k,
    const char *v, struct metrics_hist *h, const double *bounds, size_t n)
{
	char base[96] = "", labels[160];
	uint64_t cum = 0;
	size_t i;

	if (k != NULL) {
		metrics_labels(base, sizeof(base), k, v, NULL, NULL);
		strcat(base, ",");
	}
	for (i = 0; i <= n; i++) {
		cum += metrics_load(&h->buckets[i]);
		if (i < n)
			snprintf(labels, sizeof(labels), "%sle=\"%g\"", base,
			    bounds[i]);
		else
			snprintf(labels, sizeof(labels), "%sle=\"+Inf\"", base);
		metrics_buf_printf(
		    b, "%s_bucket{%s} %" PRIu64 "\n", name, labels, cum);
	}
	if (k != NULL)
		base[strlen(base) - 1] = '\0';
	metrics_buf_printf(b, "%s_sum%s%s%s %.6f\n", name, k ? "{" : "", base,
	    k ? "}" : "", (double)metrics_load(&h->sum_us) / 1e6);
	metrics_buf_printf(b, "%s_count%s%s%s %" PRIu64 "\n", name,
	    k ? "{" : "", base, k ? "}" : "", cum);
}

static void
metrics_render_connections(struct metrics_buf *b)
{
	char labels[160];
	int p, i;

	metrics_family(b, "pimgate_connections_accepted_total", "counter",
	    "Client connections taken in by a listener.");
	metrics_by1(b, "pimgate_connections_accepted_total", "protocol",
	    proto_names, metrics_g.accepted, METRICS_PROTO_N);
	metrics_sample(b, "pimgate_connections_accepted_total",
	    "protocol=\"http\"", metrics_load(&metrics_g.http_accepted));
	metrics_family(b, "pimgate_connections_refused_total", "counter",
	    "Client connections turned away before relaying, by reason.");
	for (p = 0; p < METRICS_PROTO_N; p++) {
		for (i = 0; i < METRICS_REFUSAL_N; i++) {
			metrics_labels(labels, sizeof(labels), "protocol",
			    proto_names[p], "reason", refusal_names[i]);
			metrics_sample(b, "pimgate_connections_refused_total",
			    labels, metrics_load(&metrics_g.refused[p][i]));
		}
	}
	/* The monitoring listener refuses for want of room only. */
	metrics_sample(b, "pimgate_connections_refused_total",
	    "protocol=\"http\",reason=\"capacity\"",
	    metrics_load(&metrics_g.http_refused_capacity));
	metrics_family(b, "pimgate_auth_failures_total", "counter",
	    "Failed authentication attempts, by method.");
	for (p = 0; p < METRICS_PROTO_N; p++) {
		for (i = 0; i < METRICS_AUTH_N; i++) {
			metrics_labels(labels, sizeof(labels), "protocol",
			    proto_names[p], "method", auth_names[i]);
			metrics_sample(b, "pimgate_auth_failures_total", labels,
			    metrics_load(&metrics_g.auth_failed[p][i]));
		}
	}
}

static void
metrics_render_live(struct metrics_buf *b)
{
	char labels[160];
	int p;

	metrics_family(b, "pimgate_sessions_live", "gauge",
	    "Sessions relaying now on this node.");
	for (p = 0; p < METRICS_PROTO_N; p++) {
		metrics_labels(labels, sizeof(labels), "protocol",
		    proto_names[p], NULL, NULL);
		metrics_sample(b, "pimgate_sessions_live", labels,
		    (uint64_t)metrics_load_gauge(&metrics_g.live[p]));
	}
	metrics_family(b, "pimgate_sessions_started_total", "counter",
	    "Sessions admitted and opened.");
	metrics_by1(b, "pimgate_sessions_started_total", "protocol",
	    proto_names, metrics_g.started, METRICS_PROTO_N);
}

static void
metrics_render_sessions(struct metrics_buf *b)
{
	char labels[160];
	int p, i;

	metrics_family(b, "pimgate_sessions_ended_total", "counter",
	    "Sessions closed, by end reason.");
	for (p = 0; p < METRICS_PROTO_N; p++) {
		for (i = 0; i < METRICS_END_N; i++) {
			metrics_labels(labels, sizeof(labels), "protocol",
			    proto_names[p], "reason", metrics_end_names[i]);
			metrics_sample(b, "pimgate_sessions_ended_total",
			    labels, metrics_load(&metrics_g.ended[p][i]));
		}
	}
	metrics_family(b, "pimgate_session_duration_seconds", "histogram",
	    "How long sessions lasted, from admission to close.");
	for (p = 0; p < METRICS_PROTO_N; p++)
		metrics_hist(b, "pimgate_session_duration_seconds", "protocol",
		    proto_names[p], &metrics_g.duration[p],
		    metrics_duration_bounds, METRICS_DURATION_BUCKETS);
	metrics_family(b, "pimgate_relayed_bytes_total", "counter",
	    "Bytes relayed between clients and targets.");
	for (p = 0; p < METRICS_PROTO_N; p++) {
		for (i = 0; i < METRICS_DIRECTION_N; i++) {
			metrics_labels(labels, sizeof(labels), "protocol",
			    proto_names[p], "direction", direction_names[i]);
			metrics_sample(b, "pimgate_relayed_bytes_total", labels,
			    metrics_load(&metrics_g.relayed[p][i]));
		}
	}
}

static void
metrics_render_kills(struct metrics_buf *b)
{
	metrics_family(b, "pimgate_session_kills_total", "counter",
	    "Sessions the bastion ended, by reason.");
	/* Index 0 is "exit": the person's own end, never a kill. */
	metrics_by1(b, "pimgate_session_kills_total", "reason",
	    metrics_end_names + 1, metrics_g.kills + 1, METRICS_END_N - 1);
	metrics_family(b, "pimgate_session_kill_lag_seconds", "histogram",
	    "From a session's deadline (expiry) or the decision to end it "
	    "(revocation, kill) to its close.");
	metrics_hist(b, "pimgate_session_kill_lag_seconds", NULL, NULL,
	    &metrics_g.kill_lag, metrics_lag_bounds, METRICS_LAG_BUCKETS);
}

static void
metrics_render_store(struct metrics_buf *b)
{
	char labels[160];
	int i;

	metrics_family(b, "pimgate_activations", "gauge",
	    "Activations in the store, by state (read at scrape time).");
	for (i = 0; i < METRICS_ACT_N; i++) {
		metrics_labels(
		    labels, sizeof(labels), "state", act_names[i], NULL, NULL);
		metrics_sample(b, "pimgate_activations", labels,
		    (uint64_t)metrics_load_gauge(&metrics_g.activations[i]));
	}
	metrics_family(b, "pimgate_approval_requests_pending", "gauge",
	    "Activation requests waiting for approval.");
	metrics_sample(b, "pimgate_approval_requests_pending", NULL,
	    (uint64_t)metrics_load_gauge(&metrics_g.requests_pending));
	metrics_family(b, "pimgate_store_errors_total", "counter",
	    "Store calls that failed (busy: the database was locked).");
	metrics_by1(b, "pimgate_store_errors_total", "kind", store_kind_names,
	    metrics_g.store_errors, 2);
}

static void
metrics_render_io(struct metrics_buf *b)
{
	metrics_family(b, "pimgate_recording_written_bytes_total", "counter",
	    "Bytes of recordings and query logs written to disk.");
	metrics_sample(b, "pimgate_recording_written_bytes_total", NULL,
	    metrics_load(&metrics_g.rec_bytes));
	metrics_family(b, "pimgate_recording_errors_total", "counter",
	    "Recordings that could not be created or written.");
	metrics_sample(b, "pimgate_recording_errors_total", NULL,
	    metrics_load(&metrics_g.rec_errors));
	metrics_family(b, "pimgate_notify_failures_total", "counter",
	    "Notification commands that failed, by how.");
	metrics_by1(b, "pimgate_notify_failures_total", "reason", notify_names,
	    metrics_g.notify_failed, METRICS_NOTIFY_N);
}

static void
metrics_render_build(struct metrics_buf *b)
{
	char labels[160];

	metrics_family(b, "pimgate_build_info", "gauge",
	    "Always 1; the version of pimgated as a label.");
	metrics_labels(
	    labels, sizeof(labels), "version", PIMGATE_VERSION, NULL, NULL);
	metrics_sample(b, "pimgate_build_info", labels, 1);
}

int
metrics_render(char **out, size_t *len)
{
	struct metrics_buf b = {0};

	*out = NULL;
	*len = 0;
	b.p = malloc(METRICS_BUF_START);
	if (b.p == NULL)
		return PIM_ENOMEM;
	b.cap = METRICS_BUF_START;
	b.p[0] = '\0';
	metrics_render_build(&b);
	metrics_render_connections(&b);
	metrics_render_live(&b);
	metrics_render_sessions(&b);
	metrics_render_kills(&b);
	metrics_render_store(&b);
	metrics_render_io(&b);
	metrics_render_process(&b);
	if (b.oom) {
		free(b.p);
		return PIM_ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return PIM_OK;
}
