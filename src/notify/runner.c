/* The runner: starts the [notify] command for each document, feeds the
 * document to its standard input, keeps the first bytes of what it
 * prints, ends it at the timeout and reaps it, all from the event loop.
 *
 * A run's life: queued -> running -> (timed out: SIGTERM, then SIGKILL
 * after a grace) -> reaped. The child leads its own process group, so
 * the signals reach whatever the shell started. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"

#include "notify_int.h"

extern char **environ;

/* How long a timed-out command has between SIGTERM and SIGKILL. */
#define NOTIFY_KILL_GRACE_SECS 2
/* Bytes of the command's output kept for the log. */
#define NOTIFY_OUT_MAX 200
/* How often running commands are looked at even without SIGCHLD. */
#define NOTIFY_REAP_US 500000

struct notify_job {
	TAILQ_ENTRY(notify_job) entry;
	char event[48];
	int64_t audit_id;
	size_t len;
	char doc[]; /* LEN bytes, then a newline */
};
TAILQ_HEAD(notify_jobs, notify_job);

/* One running command; slots with pid 0 are free. */
struct notify_child {
	struct notify_runner *r;
	pid_t pid;
	struct notify_job *job;
	struct event *timer; /* the timeout, then the kill grace */
	struct event *out_ev; /* its standard output and error */
	int out_fd;
	char out[NOTIFY_OUT_MAX + 1];
	size_t out_len;
	bool out_cut;
	bool timed_out;
	int64_t started_us;
};

struct notify_runner {
	struct event_base *base;
	char *command;
	int64_t timeout_s;
	struct notify_child kids[NOTIFY_MAX_RUNNING];
	size_t running;
	struct notify_jobs queue;
	size_t queued;
	uint64_t dropped;
	struct event *sigchld;
	struct event *reap_ev;
};

static void notify_runner_next(struct notify_runner *r);

static void
notify_child_read(struct notify_child *c)
{
	char buf[512];
	ssize_t n;
	size_t room;

	while (c->out_fd >= 0) {
		n = read(c->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* End of output (or an error): stop watching. */
			event_del(c->out_ev);
			close(c->out_fd);
			c->out_fd = -1;
			return;
		}
		room = NOTIFY_OUT_MAX - c->out_len;
		if ((size_t)n > room)
			c->out_cut = true;
		else
			room = (size_t)n;
		memcpy(c->out + c->out_len, buf, room);
		c->out_len += room;
	}
}

static void
notify_child_out_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_child_read(arg);
}

/* What the command printed, one escaped line for the log. */
static const char *
notify_child_output(struct notify_child *c, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < c->out_len && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)c->out[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	buf[o] = '\0';
	if (c->out_cut && o + 4 < size)
		memcpy(buf + o, "...", 4);
	return buf;
}

static void
notify_child_report(struct notify_child *c, int status)
{
	char out[NOTIFY_OUT_MAX * 4 + 8];
	int64_t ms = (clock_mono_us() - c->started_us) / 1000;
	const struct notify_job *j = c->job;

	notify_child_output(c, out, sizeof(out));
	if (c->timed_out)
		metrics_notify_failure(METRICS_NOTIFY_TIMEOUT);
	else if (!WIFEXITED(status))
		metrics_notify_failure(METRICS_NOTIFY_SIGNAL);
	else if (WEXITSTATUS(status) != 0)
		metrics_notify_failure(METRICS_NOTIFY_EXIT);
	if (c->timed_out)
		log_warn("notify command timed out event=%s audit_id=%lld "
			 "pid=%d ms=%lld output=\"%s\"",
		    j->event, (long long)j->audit_id, (int)c->pid,
		    (long long)ms, out);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_verbose("notify command done event=%s audit_id=%lld "
			    "pid=%d ms=%lld",
		    j->event, (long long)j->audit_id, (int)c->pid,
		    (long long)ms);
	else if (WIFEXITED(status))
		log_warn("notify command failed event=%s audit_id=%lld pid=%d "
			 "exit=%d ms=%lld output=\"%s\"",
		    j->event, (long long)j->audit_id, (int)c->pid,
		    WEXITSTATUS(status), (long long)ms, out);
	else
		log_warn("notify command failed event=%s audit_id=%lld pid=%d "
			 "signal=%d ms=%lld output=\"%s\"",
		    j->event, (long long)j->audit_id, (int)c->pid,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0, (long long)ms,
		    out);
}

/* Releases slot C (its process has been reaped, or never ran). */
static void
notify_child_clear(struct notify_child *c)
{
	struct notify_runner *r = c->r;

	if (c->out_ev != NULL)
		event_free(c->out_ev);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->job);
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->out_fd = -1;
	r->running--;
}

/* Reaps C if it has ended; true if it had. */
static bool
notify_child_reap(struct notify_child *c)
{
	int status = 0;
	pid_t p;

	do
		p = waitpid(c->pid, &status, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == 0)
		return false;
	if (p < 0) {
		log_warn("notify command lost pid=%d: %s", (int)c->pid,
		    strerror(errno));
		status = 0;
	} else {
		if (c->out_fd >= 0)
			notify_child_read(c);
		notify_child_report(c, status);
	}
	notify_child_clear(c);
	return true;
}

static void
notify_runner_reap_all(struct notify_runner *r)
{
	bool any = false;
	size_t i;

	for (i = 0; i < NOTIFY_MAX_RUNNING; i++) {
		if (r->kids[i].pid > 0 && notify_child_reap(&r->kids[i]))
			any = true;
	}
	if (any)
		notify_runner_next(r);
}

static void
notify_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	notify_runner_reap_all(arg);
}

static void
notify_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_runner_reap_all(arg);
}

static void
notify_child_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_child *c = arg;
	struct timeval tv = {.tv_sec = NOTIFY_KILL_GRACE_SECS};

	if (notify_child_reap(c)) {
		notify_runner_next(c->r);
		return;
	}
	if (!c->timed_out) {
		c->timed_out = true;
		kill(-c->pid, SIGTERM);
		evtimer_add(c->timer, &tv);
		return;
	}
	kill(-c->pid, SIGKILL);
}

/* Writes the document into the pipe's buffer at once: it is small
 * enough never to wait for the reader. */
static void
notify_child_feed(struct notify_child *c, int fd)
{
	const struct notify_job *j = c->job;
	ssize_t n;

	do
		n = write(fd, j->doc, j->len + 1);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(j->len + 1))
		log_warn("notify command input short event=%s audit_id=%lld "
			 "pid=%d written=%zd",
		    j->event, (long long)j->audit_id, (int)c->pid, n);
	close(fd);
}

static int
notify_spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
    int in_fd, int out_fd)
{
	sigset_t none, dfl;
	int rc = 0;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	rc |= posix_spawn_file_actions_adddup2(fa, in_fd, STDIN_FILENO);
	rc |= posix_spawn_file_actions_adddup2(fa, out_fd, STDOUT_FILENO);
	rc |= posix_spawn_file_actions_adddup2(fa, out_fd, STDERR_FILENO);
	/* Nothing of the daemon's (sockets, the store) leaks into it. */
	rc |= posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1);
	rc |= posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
					       POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	rc |= posix_spawnattr_setpgroup(at, 0);
	rc |= posix_spawnattr_setsigmask(at, &none);
	rc |= posix_spawnattr_setsigdefault(at, &dfl);
	return rc == 0 ? PIM_OK : PIM_ERR;
}

/* Starts /bin/sh -c COMMAND with IN_FD as its input and OUT_FD as its
 * output; sets C->pid. */
static int
notify_spawn(struct notify_child *c, int in_fd, int out_fd)
{
	char *argv[] = {"sh", "-c", c->r->command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return PIM_ENOMEM;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return PIM_ENOMEM;
	}
	rc = notify_spawn_setup(&fa, &at, in_fd, out_fd);
	if (rc == PIM_OK) {
		rc = posix_spawn(&c->pid, "/bin/sh", &fa, &at, argv, environ);
		if (rc != 0) {
			log_warn(
			    "notify command cannot start: %s", strerror(rc));
			rc = PIM_ERR;
		}
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* Runs JOB in free slot C; on failure the job is dropped and logged. */
static void
notify_child_start(struct notify_child *c, struct notify_job *job)
{
	struct notify_runner *r = c->r;
	struct timeval tv = {.tv_sec = r->timeout_s};
	int in[2] = {-1, -1}, out[2] = {-1, -1};

	c->job = job;
	r->running++;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		log_warn("notify command cannot start event=%s: pipe: %s",
		    job->event, strerror(errno));
		goto fail;
	}
	if (notify_spawn(c, in[0], out[1]) != PIM_OK)
		goto fail;
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	c->started_us = clock_mono_us();
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	notify_child_feed(c, in[1]);
	in[1] = -1;
	c->out_fd = out[0];
	out[0] = -1;
	evutil_make_socket_nonblocking(c->out_fd);
	c->out_ev = event_new(
	    r->base, c->out_fd, EV_READ | EV_PERSIST, notify_child_out_cb, c);
	c->timer = evtimer_new(r->base, notify_child_timer_cb, c);
	if (c->out_ev != NULL)
		event_add(c->out_ev, NULL);
	if (c->timer != NULL)
		evtimer_add(c->timer, &tv);
	log_debug("notify command started event=%s audit_id=%lld pid=%d",
	    job->event, (long long)job->audit_id, (int)c->pid);
	return;
fail:
	metrics_notify_failure(METRICS_NOTIFY_START);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	notify_child_clear(c);
}

static struct notify_child *
notify_runner_free_slot(struct notify_runner *r)
{
	size_t i;

	for (i = 0; i < NOTIFY_MAX_RUNNING; i++) {
		if (r->kids[i].pid == 0 && r->kids[i].job == NULL)
			return &r->kids[i];
	}
	return NULL;
}

/* Starts queued jobs while slots are free. */
static void
notify_runner_next(struct notify_runner *r)
{
	struct notify_child *c;
	struct notify_job *j;

	while ((j = TAILQ_FIRST(&r->queue)) != NULL &&
	       (c = notify_runner_free_slot(r)) != NULL) {
		TAILQ_REMOVE(&r->queue, j, entry);
		r->queued--;
		notify_child_start(c, j);
	}
}

int
notify_runner_submit(struct notify_runner *r, const char *doc, size_t len,
    const char *event, int64_t audit_id)
{
	struct notify_job *j;

	if (len > NOTIFY_DOC_MAX)
		return PIM_EINVAL;
	if (r->queued >= NOTIFY_MAX_QUEUED) {
		r->dropped++;
		metrics_notify_failure(METRICS_NOTIFY_DROPPED);
		log_warn("notify queue full; dropped event=%s audit_id=%lld "
			 "dropped_total=%llu",
		    event, (long long)audit_id, (unsigned long long)r->dropped);
		return PIM_EBUSY;
	}
	j = calloc(1, sizeof(*j) + len + 1);
	if (j == NULL)
		return PIM_ENOMEM;
	snprintf(j->event, sizeof(j->event), "%s", event);
	j->audit_id = audit_id;
	j->len = len;
	memcpy(j->doc, doc, len);
	j->doc[len] = '\n';
	TAILQ_INSERT_TAIL(&r->queue, j, entry);
	r->queued++;
	notify_runner_next(r);
	return PIM_OK;
}

uint64_t
notify_runner_dropped(const struct notify_runner *r)
{
	return r->dropped;
}

struct notify_runner *
notify_runner_new(
    struct event_base *base, const char *command, int64_t timeout_s)
{
	struct timeval tv = {.tv_usec = NOTIFY_REAP_US};
	struct notify_runner *r = calloc(1, sizeof(*r));
	size_t i;

	if (r == NULL)
		return NULL;
	r->base = base;
	r->timeout_s = timeout_s > 0 ? timeout_s : 1;
	TAILQ_INIT(&r->queue);
	for (i = 0; i < NOTIFY_MAX_RUNNING; i++) {
		r->kids[i].r = r;
		r->kids[i].out_fd = -1;
	}
	r->command = strdup(command);
	r->sigchld = evsignal_new(base, SIGCHLD, notify_sigchld_cb, r);
	/* SIGCHLD can be lost to a coalesced signal: look now and then. */
	r->reap_ev = event_new(base, -1, EV_PERSIST, notify_reap_cb, r);
	if (r->command == NULL || r->sigchld == NULL || r->reap_ev == NULL ||
	    evsignal_add(r->sigchld, NULL) != 0 ||
	    event_add(r->reap_ev, &tv) != 0) {
		notify_runner_free(r);
		return NULL;
	}
	return r;
}

int
notify_runner_set(
    struct notify_runner *r, const char *command, int64_t timeout_s)
{
	char *copy = strdup(command);

	if (copy == NULL)
		return PIM_ENOMEM;
	free(r->command);
	r->command = copy;
	r->timeout_s = timeout_s > 0 ? timeout_s : 1;
	return PIM_OK;
}

void
notify_runner_free(struct notify_runner *r)
{
	struct notify_job *j;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < NOTIFY_MAX_RUNNING; i++) {
		struct notify_child *c = &r->kids[i];

		if (c->pid <= 0)
			continue;
		if (!notify_child_reap(c)) {
			log_warn("notify command still running at exit "
				 "event=%s pid=%d: terminated",
			    c->job->event, (int)c->pid);
			kill(-c->pid, SIGTERM);
			notify_child_clear(c);
		}
	}
	if (r->queued > 0)
		log_warn(
		    "notify commands not run at exit count=%zu", r->queued);
	while ((j = TAILQ_FIRST(&r->queue)) != NULL) {
		TAILQ_REMOVE(&r->queue, j, entry);
		free(j);
	}
	if (r->sigchld != NULL)
		event_free(r->sigchld);
	if (r->reap_ev != NULL)
		event_free(r->reap_ev);
	free(r->command);
	free(r);
}
