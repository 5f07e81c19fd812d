/* GET /metrics: the gauges that live in the store are refreshed (at most
 * every few seconds, one short query with the daemon's busy timeout),
 * then the whole exposition is rendered and sent. */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"
#include "pimgate/session.h"
#include "pimgate/store.h"

#include "http_int.h"

/* The store's states in the metrics' order (ACT_PENDING is 1). */
static void
http_read_gauges(struct http_server *h)
{
	struct store *st = session_mgr_store(h->mgr);
	int64_t counts[STORE_ACT_STATES], gauges[METRICS_ACT_N];
	int64_t now = clock_mono_us();
	int i;

	if (h->gauges_us != 0 && now - h->gauges_us < HTTP_GAUGES_EVERY_US)
		return;
	h->gauges_us = now;
	/* On failure the last values stay; the store error is counted. */
	if (store_activation_counts(st, clock_now(), counts) != PIM_OK) {
		log_verbose(
		    "metrics: cannot count activations: %s", store_errmsg(st));
		return;
	}
	for (i = 0; i < METRICS_ACT_N; i++)
		gauges[i] = counts[ACT_PENDING + i];
	metrics_set_activations(gauges);
	metrics_set_requests_pending(counts[ACT_PENDING]);
}

static void
http_free_text(const void *data, size_t len, void *arg)
{
	/* Ours since metrics_render: const only in libevent's view. */
	free((void *)(uintptr_t)data);
}

void
http_metrics_page(struct http_server *h, struct evhttp_request *req)
{
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;

	http_read_gauges(h);
	body = evbuffer_new();
	if (body == NULL || metrics_render(&text, &len) != PIM_OK ||
	    evbuffer_add_reference(body, text, len, http_free_text, NULL) !=
		0) {
		free(text);
		if (body != NULL)
			evbuffer_free(body);
		http_reply_text(
		    req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	http_send(req, 200, "OK", body);
	evbuffer_free(body);
}
