/* pimgated: parse, set up, run, tear down. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/http.h"
#include "pimgate/log.h"
#include "pimgate/notify.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/pg_front.h"
#include "pimgate/ssh_front.h"
#include "pimgate/store.h"
#include "pimgate/syslog_out.h"
#include "pimgate/vault.h"

#include "audit_feed.h"
#include "daemon.h"

/* How long one store call of the daemon may wait for pimctl's lock. */
#define DAEMON_STORE_BUSY_MS 40

struct daemon {
	struct config cfg;
	struct event_base *base;
	struct store *st;
	struct vault *vault;
	struct session_mgr *mgr;
	struct notify *notify; /* NULL without a [notify] command */
	struct audit_feed *audit; /* checkpoints, audit events to syslog */
	struct ssh_front *ssh;
	struct pg_front *pg;
	struct http_server *http; /* /metrics, /healthz */
	struct event *sigterm, *sigint, *sighup;
	struct event *drain;
	int64_t stop_deadline_us;
	struct run_user user; /* [server] user */
	int lock_fd; /* STATE/pimgated.lock, held while running; -1 before */
};

/* Each relayed session holds two descriptors (and a recording): the soft
 * limit goes up to the hard one. */
static void
daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn(
		    "cannot raise the open-files limit: %s", strerror(errno));
}

static void
daemon_usage(FILE *out)
{
	fprintf(out,
	    "usage: pimgated [-t] [-c FILE]\n"
	    "  -c FILE  the config (default %s)\n"
	    "  -t       check the config, keys and state, then exit\n",
	    CONFIG_DEFAULT_PATH);
}

static void
daemon_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static void
daemon_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (session_mgr_live(d->mgr) == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (clock_mono_us() >= d->stop_deadline_us) {
		log_warn("shutdown grace over; dropping live_sessions=%zu",
		    session_mgr_live(d->mgr));
		event_base_loopexit(d->base, NULL);
		return;
	}
	struct timeval tv = {.tv_usec = 50000};
	evtimer_add(d->drain, &tv);
}

static void
daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {0};

	if (d->drain != NULL)
		return;
	log_info("signal received signal=%s live_sessions=%zu",
	    sig == SIGTERM ? "TERM" : "INT", session_mgr_live(d->mgr));
	ssh_front_stop(d->ssh);
	pg_front_stop(d->pg);
	http_stop(d->http);
	session_mgr_shutdown(d->mgr);
	d->stop_deadline_us = clock_mono_us() + d->cfg.shutdown_grace * 1000000;
	d->drain = evtimer_new(d->base, daemon_drain_cb, d);
	evtimer_add(d->drain, &tv);
}

/* Log lines go to syslog when [syslog] enabled; the client is also open
 * for audit events alone ([syslog] audit). */
static void
daemon_syslog(struct daemon *d)
{
	const struct config *c = &d->cfg;
	char err[256];

	log_set_syslog(0);
	if (!c->syslog_enabled && !c->syslog_audit) {
		syslog_out_close();
		return;
	}
	if (syslog_out_open(c->syslog_socket,
		syslog_out_facility(c->syslog_facility), "pimgated", err,
		sizeof(err)) != PIM_OK) {
		log_error("syslog: %s", err);
		return;
	}
	log_set_syslog(c->syslog_enabled);
}

/* [notify] command set, changed or removed by a reload. */
static void
daemon_notify_reload(struct daemon *d)
{
	if (d->cfg.notify_command == NULL) {
		notify_free(d->notify);
		d->notify = NULL;
		return;
	}
	if (d->notify != NULL) {
		if (notify_reconfigure(d->notify) != PIM_OK)
			log_error("notify: cannot take the new settings");
		return;
	}
	d->notify = notify_new(d->base, d->st, &d->cfg);
	if (d->notify == NULL || notify_start(d->notify) != PIM_OK) {
		log_error("cannot start notifications");
		notify_free(d->notify);
		d->notify = NULL;
	}
}

static void
daemon_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct reload_changes ch;

	log_info("signal received signal=HUP live_sessions=%zu",
	    session_mgr_live(d->mgr));
	if (reload_config(&d->cfg, &ch) != PIM_OK)
		return;
	if (ch.log_level)
		log_set_level(
		    (enum log_level)log_level_parse(d->cfg.log_level));
	if (ch.syslog)
		daemon_syslog(d);
	if (ch.notify)
		daemon_notify_reload(d);
}

/* One pimgated per store: a second one would end the first one's live
 * sessions in the store as left over from a crash. The lock is taken on
 * the database file itself (flock, which SQLite's POSIX locks do not
 * touch on Linux), so any path to it, symlink or hard link, finds it
 * held; it goes with the process, however that ends. The descriptor
 * stays open until after the store is closed. */
static int
daemon_lock_state(struct daemon *d)
{
	struct stat sb;

	d->lock_fd =
	    open(d->cfg.db_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (d->lock_fd < 0) {
		log_error("cannot open the store %s: %s", d->cfg.db_path,
		    strerror(errno));
		return PIM_EIO;
	}
	if (fstat(d->lock_fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		log_error("the store %s is not a regular file", d->cfg.db_path);
		return PIM_EINVAL;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("another pimgated is running on the store %s; stop "
			  "it first",
		    d->cfg.db_path);
		return PIM_EBUSY;
	}
	return PIM_OK;
}

static int
daemon_open_state(struct daemon *d)
{
	int n = 0;

	if (access(d->cfg.db_path, F_OK) != 0) {
		log_error("no state at %s: run 'pimctl -c %s init' first",
		    d->cfg.state_dir, d->cfg.path);
		return PIM_ENOTFOUND;
	}
	if (daemon_lock_state(d) != PIM_OK)
		return PIM_EBUSY;
	if (store_open(d->cfg.db_path, false, &d->st) != PIM_OK) {
		log_error("cannot open the store %s", d->cfg.db_path);
		return PIM_ESTORE;
	}
	/* The loop waits while the store is locked: never for long. A call
	 * that gives up fails closed (refusals) or is retried (session
	 * ends). */
	store_set_busy_timeout(d->st, DAEMON_STORE_BUSY_MS);
	if (vault_open(d->cfg.secret_key, &d->vault) != PIM_OK) {
		log_error("cannot open the secret key %s (missing, or readable "
			  "by others)",
		    d->cfg.secret_key);
		return PIM_ECRYPTO;
	}
	/* Sessions left open by a daemon that died did end then. */
	if (store_session_end_all_live(d->st, clock_now(), END_SHUTDOWN, &n) ==
		PIM_OK &&
	    n > 0)
		log_warn("closed sessions left by a previous run count=%d", n);
	return PIM_OK;
}

static int
daemon_setup(struct daemon *d)
{
	char err[256];

	event_set_log_callback(daemon_libevent_log);
	if (run_user_prepare(&d->cfg, &d->user, err, sizeof(err)) != PIM_OK) {
		log_error("%s", err);
		return PIM_EDENIED;
	}
	d->base = event_base_new();
	if (d->base == NULL)
		return PIM_ENOMEM;
	if (daemon_open_state(d) != PIM_OK)
		return PIM_ERR;
	/* Recordings reach the disk from their own thread. */
	if (cast_writer_thread_start() != PIM_OK) {
		log_error("cannot start the recording writer thread");
		return PIM_ERR;
	}
	d->mgr = session_mgr_new(d->base, d->st, &d->cfg);
	if (d->mgr == NULL || session_mgr_start(d->mgr) != PIM_OK) {
		log_error("cannot start the session manager");
		return PIM_ERR;
	}
	if (d->cfg.notify_command != NULL) {
		d->notify = notify_new(d->base, d->st, &d->cfg);
		if (d->notify == NULL || notify_start(d->notify) != PIM_OK) {
			log_error("cannot start notifications");
			return PIM_ERR;
		}
	}
	/* Before leaving root: the signing key may be root's. */
	d->audit = audit_feed_start(d->base, d->st, &d->cfg);
	if (d->audit == NULL)
		return PIM_ERR;
	d->ssh =
	    ssh_front_new(d->base, d->mgr, &d->cfg, d->vault, err, sizeof(err));
	if (d->ssh == NULL || ssh_front_listen(d->ssh, d->cfg.ssh_listen, err,
				  sizeof(err)) != PIM_OK) {
		log_error("%s", err);
		return PIM_ERR;
	}
	d->pg =
	    pg_front_new(d->base, d->mgr, &d->cfg, d->vault, err, sizeof(err));
	if (d->pg == NULL || pg_front_listen(d->pg, d->cfg.pg_listen, err,
				 sizeof(err)) != PIM_OK) {
		log_error("%s", err);
		return PIM_ERR;
	}
	d->http = http_new(d->base, d->mgr, &d->cfg);
	if (d->http == NULL || http_listen(d->http, d->cfg.http_listen, err,
				   sizeof(err)) != PIM_OK) {
		log_error("%s", d->http == NULL ? "out of memory" : err);
		return PIM_ERR;
	}
	/* Listeners, keys and the store are open: root is no longer
	 * needed. */
	if (run_user_switch(&d->user, &d->cfg, err, sizeof(err)) != PIM_OK) {
		log_error("%s", err);
		return PIM_EDENIED;
	}
	d->sigterm = evsignal_new(d->base, SIGTERM, daemon_signal_cb, d);
	d->sigint = evsignal_new(d->base, SIGINT, daemon_signal_cb, d);
	d->sighup = evsignal_new(d->base, SIGHUP, daemon_sighup_cb, d);
	if (d->sigterm == NULL || d->sigint == NULL || d->sighup == NULL)
		return PIM_ENOMEM;
	evsignal_add(d->sigterm, NULL);
	evsignal_add(d->sigint, NULL);
	evsignal_add(d->sighup, NULL);
	return PIM_OK;
}

static void
daemon_teardown(struct daemon *d)
{
	ssh_front_free(d->ssh);
	pg_front_free(d->pg);
	http_free(d->http);
	/* Everything recorded is on disk before the last ends are stored. */
	cast_writer_thread_stop();
	session_mgr_free(d->mgr);
	notify_free(d->notify);
	/* After the last session end is stored: the shutdown checkpoint
	 * covers it. */
	audit_feed_stop(d->audit);
	if (d->drain != NULL)
		event_free(d->drain);
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	if (d->sighup != NULL)
		event_free(d->sighup);
	vault_close(d->vault);
	store_close(d->st);
	if (d->base != NULL)
		event_base_free(d->base);
	config_free(&d->cfg);
}

static int
daemon_parse_args(int argc, char **argv, const char **conf, bool *test)
{
	int ch;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		daemon_usage(stdout);
		return PIM_EEXIST; /* nothing more to do */
	}
	while ((ch = getopt(argc, argv, "c:th")) != -1) {
		switch (ch) {
		case 'c':
			*conf = optarg;
			break;
		case 't':
			*test = true;
			break;
		case 'h':
			daemon_usage(stdout);
			return PIM_EEXIST;
		default:
			daemon_usage(stderr);
			return PIM_EINVAL;
		}
	}
	if (optind != argc) {
		daemon_usage(stderr);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

int
main(int argc, char **argv)
{
	struct daemon d = {0};
	const char *conf = CONFIG_DEFAULT_PATH;
	char err[512];
	bool test = false;
	int rc = 1;

	d.lock_fd = -1;
	switch (daemon_parse_args(argc, argv, &conf, &test)) {
	case PIM_OK:
		break;
	case PIM_EEXIST:
		return 0; /* help was asked for and given */
	default:
		return 2;
	}
	if (test)
		return check_config(conf);
	if (config_load(conf, &d.cfg, err, sizeof(err)) != PIM_OK) {
		fprintf(stderr, "pimgated: %s\n", err);
		return 1;
	}
	if (check_live_values(&d.cfg, err, sizeof(err)) != PIM_OK) {
		fprintf(stderr, "pimgated: %s: %s\n", conf, err);
		config_free(&d.cfg);
		return 1;
	}
	/* State files the daemon makes (recordings, WAL, keys) are its
	 * own. */
	umask(077);
	log_set_level((enum log_level)log_level_parse(d.cfg.log_level));
	daemon_syslog(&d);
	signal(SIGPIPE, SIG_IGN);
	daemon_raise_nofile();
	if (daemon_setup(&d) == PIM_OK) {
		log_info("pimgated started version=%s", PIMGATE_VERSION);
		event_base_dispatch(d.base);
		log_info("pimgated stopped");
		rc = 0;
	}
	daemon_teardown(&d);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	syslog_out_close();
	return rc;
}
