/* The HTTP listener ([http] listen, default 127.0.0.1:9187), for
 * monitoring:
 *
 *   GET /metrics   the Prometheus text exposition (metrics.h), with the
 *                  activation gauges read from the store at most every
 *                  few seconds;
 *   GET /healthz   200 "ok" when the loop answers, the store answers a
 *                  trivial query and the recordings directory exists,
 *                  takes a new file and keeps [recording] min_free;
 *                  503 with a one-line reason when not.
 *
 * Any other path is 404, any other method 405 (HEAD is GET without the
 * body, with its Content-Length). Connections are few, small and short:
 * at most 32 at once (more are closed at once), each closed 10 s after
 * its accept whatever it is doing, and one that asks again without
 * reading its answers is dropped. */
#ifndef PIMGATE_HTTP_H
#define PIMGATE_HTTP_H

#include <stddef.h>

struct event_base;
struct session_mgr;
struct config;
struct http_server;

/* MGR (and through it the store) and CFG are borrowed and must outlive
 * the server. NULL when out of memory. */
struct http_server *http_new(
    struct event_base *base, struct session_mgr *mgr, const struct config *cfg);
/* Listens on HOSTPORT ("ADDR:PORT", "[V6]:PORT", numeric). PIM_OK, or an
 * error with a one-line reason in ERR. */
int http_listen(
    struct http_server *h, const char *hostport, char *err, size_t errlen);
/* Stops taking connections; requests under way are answered. */
void http_stop(struct http_server *h);
/* Closes everything; NULL is allowed. */
void http_free(struct http_server *h);

#endif
