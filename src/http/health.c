/* GET /healthz: the loop answers (this very reply), the store answers a
 * trivial query within the daemon's short busy timeout, and the
 * recordings directory exists, takes a new file and keeps its free-space
 * floor (checked by probe.c's thread). The answer is kept for a
 * second. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/http.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/session.h"
#include "pimgate/store.h"
#include "pimgate/str.h"

#include "http_int.h"

/* True if the recordings directory is usable, as its prober last saw
 * it; else REASON says why. */
static bool
http_check_recordings(struct http_server *h, char *reason, size_t size)
{
	const char *dir = h->cfg->recordings_dir;
	struct http_probe_res res;

	switch (http_probe_get(h->probe, HTTP_HEALTH_EVERY_US, &res)) {
	case HTTP_PROBE_NONE:
		snprintf(reason, size,
		    "recordings directory %s: first check not finished", dir);
		return false;
	case HTTP_PROBE_HUNG:
		snprintf(reason, size,
		    "recordings directory %s has not answered for %llds", dir,
		    (long long)(res.stuck_us / 1000000));
		return false;
	default:
		break;
	}
	if (res.err != 0) {
		snprintf(reason, size, "recordings directory %s %s: %s", dir,
		    res.what, strerror(res.err));
		return false;
	}
	if (res.free_bytes < h->cfg->record_min_free) {
		snprintf(reason, size,
		    "recordings disk below its free-space floor "
		    "([recording] min_free)");
		return false;
	}
	return true;
}

static bool
http_check(struct http_server *h, char *reason, size_t size)
{
	struct store *st = session_mgr_store(h->mgr);

	if (store_ping(st) != PIM_OK) {
		snprintf(
		    reason, size, "store unavailable: %s", store_errmsg(st));
		return false;
	}
	return http_check_recordings(h, reason, size);
}

void
http_health_page(struct http_server *h, struct evhttp_request *req)
{
	int64_t now = clock_mono_us();
	bool first = h->health_us == 0, was_ok = h->health_ok;

	if (first || now - h->health_us >= HTTP_HEALTH_EVERY_US) {
		h->health_us = now;
		h->health_ok =
		    http_check(h, h->health_reason, sizeof(h->health_reason));
		/* Changes are logged, not every probe. */
		if (!h->health_ok && (first || was_ok))
			log_warn("unhealthy: %s", h->health_reason);
		else if (h->health_ok && !first && !was_ok)
			log_info("healthy again");
	}
	if (h->health_ok)
		http_reply_text(req, 200, "OK", "ok");
	else
		http_reply_text(
		    req, 503, "Service Unavailable", h->health_reason);
}
