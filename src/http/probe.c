/* The recordings directory is probed on a thread of its own: a disk that
 * hangs (a dead network mount) then stalls only the health answer, which
 * says so, and never the event loop. The thread and the loop share one
 * struct under a mutex; whichever lets go last frees it, so a thread
 * stuck in the kernel at shutdown is left behind instead of waited for. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "pimgate/clock.h"
#include "pimgate/str.h"

#include "http_int.h"

/* How long stopping waits for the thread to end. */
#define HTTP_PROBE_JOIN_SECS 2

struct http_probe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *dir;
	pthread_t th;
	int refs; /* 2 while both the loop and the thread hold it */
	bool want, busy, stop;
	int64_t started_us; /* when the probe under way began */
	bool have; /* a probe has finished */
	int64_t done_us;
	struct http_probe_res last;
};

/* Creates and removes a file in DIR; 0 or an errno. */
static int
http_probe_file(const char *dir)
{
	char path[4096];
	int fd;

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
	return unlink(path) == 0 ? 0 : errno;
}

static void
http_probe_once(const char *dir, struct http_probe_res *res)
{
	struct stat sb;
	struct statvfs sv;

	memset(res, 0, sizeof(*res));
	if (stat(dir, &sb) != 0) {
		res->err = errno;
		res->what = "cannot be opened";
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		res->err = ENOTDIR;
		res->what = "is not a directory";
		return;
	}
	res->err = http_probe_file(dir);
	if (res->err != 0) {
		res->what = "is not writable";
		return;
	}
	if (statvfs(dir, &sv) != 0) {
		res->err = errno;
		res->what = "cannot be measured";
		return;
	}
	res->free_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

/* Drops one reference; the last one frees. Called with MU held, which
 * it releases. */
static void
http_probe_unref(struct http_probe *p)
{
	bool last = --p->refs == 0;

	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->dir);
	free(p);
}

static void *
http_probe_main(void *arg)
{
	struct http_probe *p = arg;
	struct http_probe_res res;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->want && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		p->want = false;
		p->busy = true;
		p->started_us = clock_mono_us();
		pthread_mutex_unlock(&p->mu);
		http_probe_once(p->dir, &res);
		pthread_mutex_lock(&p->mu);
		p->busy = false;
		p->have = true;
		p->done_us = clock_mono_us();
		p->last = res;
	}
	http_probe_unref(p);
	return NULL;
}

struct http_probe *
http_probe_new(const char *dir)
{
	struct http_probe *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->dir = strdup(dir)) == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->refs = 2;
	p->want = true; /* the first answer is ready before it is asked */
	if (pthread_create(&p->th, NULL, http_probe_main, p) != 0) {
		pthread_mutex_lock(&p->mu);
		p->refs = 1;
		http_probe_unref(p);
		return NULL;
	}
	return p;
}

void
http_probe_free(struct http_probe *p)
{
	struct timespec until;
	pthread_t th;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	th = p->th;
	p->stop = true;
	pthread_cond_signal(&p->cv);
	http_probe_unref(p);
	/* An idle thread ends at once; one stuck on a hung disk is left. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HTTP_PROBE_JOIN_SECS;
	if (pthread_timedjoin_np(th, NULL, &until) != 0)
		pthread_detach(th);
}

enum http_probe_state
http_probe_get(
    struct http_probe *p, int64_t max_age_us, struct http_probe_res *res)
{
	int64_t now = clock_mono_us();
	enum http_probe_state st;

	pthread_mutex_lock(&p->mu);
	if (!p->busy && !p->want && now - p->done_us >= max_age_us) {
		p->want = true;
		pthread_cond_signal(&p->cv);
	}
	if (p->busy && now - p->started_us >= HTTP_PROBE_HUNG_US) {
		st = HTTP_PROBE_HUNG;
		res->stuck_us = now - p->started_us;
	} else if (!p->have) {
		st = HTTP_PROBE_NONE;
	} else {
		st = HTTP_PROBE_DONE;
		*res = p->last;
	}
	pthread_mutex_unlock(&p->mu);
	return st;
}
