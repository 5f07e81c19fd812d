/* GET /healthz: the loop answers (this very reply), the store answers a
 * trivial query within the daemon's short busy timeout, and the
 * recordings directory exists, takes a new file and keeps its free-space
 * floor. The answer is kept for a second. */
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

/* Creates and removes a file in DIR; 0 or an errno. */
static int
http_probe_dir(const char *dir)
{
	char path[4096];
	int fd, e;

	if (!str_printf(
		path, sizeof(path), "%s/.healthz-%ld", dir, (long)getpid()))
		return ENAMETOOLONG;
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a probe that was cut short: try once more. */
		unlink(path);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return errno;
	close(fd);
	e = unlink(path) == 0 ? 0 : errno;
	return e;
}

/* True if the recordings directory is usable; else REASON says why. */
static bool
http_check_recordings(struct http_server *h, char *reason, size_t size)
{
	const char *dir = h->cfg->recordings_dir;
	struct stat sb;
	int e;

	if (stat(dir, &sb) != 0) {
		snprintf(reason, size, "recordings directory %s: %s", dir,
		    strerror(errno));
		return false;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(reason, size,
		    "recordings directory %s is not a directory", dir);
		return false;
	}
	e = http_probe_dir(dir);
	if (e != 0) {
		snprintf(reason, size,
		    "recordings directory %s is not writable: %s", dir,
		    strerror(e));
		return false;
	}
	if (!session_recording_space(h->mgr)) {
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
