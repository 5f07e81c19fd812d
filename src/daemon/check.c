/* pimgated -t: checks a config without starting, and says each problem
 * on a line of its own, so that a broken file is fixed in one pass
 * rather than one error per restart. Runs before the daemon exists: it
 * prints to standard error, not to the log. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/hours.h"
#include "pimgate/syslog_out.h"

#include "daemon.h"

#define CHECK_HOST_MAX 256

struct check {
	const char *path; /* the config file, first on every line */
	int problems;
	struct run_user user; /* who must own the state */
	bool user_known;
};

static void
check_vsay(struct check *c, const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "pimgated: %s: %s", c->path, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A problem: pimgated would not start, or would start unsafe. */
static void __attribute__((format(printf, 2, 3)))
check_problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	c->problems++;
	va_start(ap, fmt);
	check_vsay(c, "", fmt, ap);
	va_end(ap);
}

/* Worth knowing, but pimgated starts and works. */
static void __attribute__((format(printf, 2, 3)))
check_warning(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vsay(c, "warning: ", fmt, ap);
	va_end(ap);
}

/* config_load_each's callback: its lines already name the file. */
static void
check_parse_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "pimgated: %s\n", msg);
}

/* ---- listen addresses ---- */

/* Whether the address in AI exists on this machine: a bind to port 0
 * says so without listening or sending anything. */
static bool
check_local_address(const struct addrinfo *ai)
{
	struct sockaddr_storage ss;
	int fd, rc, err;

	if (ai->ai_addrlen > sizeof(ss))
		return true;
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true; /* no such family here: the daemon will say */
	rc = bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen);
	err = errno;
	close(fd);
	return rc == 0 || err != EADDRNOTAVAIL;
}

/* KEY's value VALUE must be a numeric address of this machine and a
 * port (the listeners do not resolve names). Its port goes to *PORT. */
static void
check_listen(struct check *c, const char *key, const char *value, int *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char host[CHECK_HOST_MAX], serv[16];

	*port = 0;
	if (value == NULL ||
	    config_split_hostport(value, host, sizeof(host), port) != PIM_OK) {
		check_problem(c, "%s %s: expected HOST:PORT or [V6]:PORT", key,
		    value != NULL ? value : "(none)");
		return;
	}
	snprintf(serv, sizeof(serv), "%d", *port);
	if (getaddrinfo(host, serv, &hints, &ai) != 0) {
		check_problem(c,
		    "%s %s: not a numeric IP address (listeners take "
		    "addresses such as 127.0.0.1 or [::1], not names)",
		    key, value);
		return;
	}
	if (!check_local_address(ai))
		check_problem(
		    c, "%s %s: no such address on this machine", key, value);
	freeaddrinfo(ai);
}

static bool
check_any_address(const char *hostport)
{
	return strncmp(hostport, "0.0.0.0:", 8) == 0 ||
	       strncmp(hostport, "[::]:", 5) == 0;
}

/* Two listeners on one port collide if either takes every address or
 * both name the same one. */
static void
check_listen_pair(struct check *c, const char *ka, const char *a, int pa,
    const char *kb, const char *b, int pb)
{
	char ha[CHECK_HOST_MAX], hb[CHECK_HOST_MAX];
	int p;

	if (pa == 0 || pa != pb)
		return;
	if (config_split_hostport(a, ha, sizeof(ha), &p) != PIM_OK ||
	    config_split_hostport(b, hb, sizeof(hb), &p) != PIM_OK)
		return;
	if (strcmp(ha, hb) == 0 || check_any_address(a) || check_any_address(b))
		check_problem(
		    c, "%s %s and %s %s: the same port", ka, a, kb, b);
}

static void
check_listeners(struct check *c, const struct config *cfg)
{
	int ps, pp, ph;

	check_listen(c, "[ssh] listen", cfg->ssh_listen, &ps);
	check_listen(c, "[postgres] listen", cfg->pg_listen, &pp);
	check_listen(c, "[http] listen", cfg->http_listen, &ph);
	check_listen_pair(c, "[ssh] listen", cfg->ssh_listen, ps,
	    "[postgres] listen", cfg->pg_listen, pp);
	check_listen_pair(c, "[ssh] listen", cfg->ssh_listen, ps,
	    "[http] listen", cfg->http_listen, ph);
	check_listen_pair(c, "[postgres] listen", cfg->pg_listen, pp,
	    "[http] listen", cfg->http_listen, ph);
}

/* ---- files and permissions ---- */

/* Stats KEY's PATH; says what is wrong when it is missing (a problem if
 * REQUIRED, else a warning) or cannot be read. */
static bool
check_stat(struct check *c, const char *key, const char *path, bool required,
    struct stat *sb)
{
	if (stat(path, sb) == 0)
		return true;
	if (errno != ENOENT)
		check_problem(c, "%s %s: %s", key, path, strerror(errno));
	else if (required)
		check_problem(c,
		    "%s %s: no such file ('pimctl -c %s init' "
		    "makes it)",
		    key, path, c->path);
	else
		check_warning(c, "%s %s: no such file yet", key, path);
	return false;
}

/* SB must be owned by the run user (or root when ROOT_OK). */
static void
check_owner(struct check *c, const char *key, const char *path,
    const struct stat *sb, bool root_ok)
{
	if (!c->user_known || sb->st_uid == c->user.uid ||
	    (root_ok && sb->st_uid == 0))
		return;
	check_problem(c,
	    "%s %s: owned by uid %ld, not by the user pimgated "
	    "runs as (%s): chown %s",
	    key, path, (long)sb->st_uid, c->user.name, c->user.name);
}

/* A directory of the state: the run user's, closed to everyone else.
 * Returns false if it is missing or not a directory. */
static bool
check_state_dir(struct check *c, const char *key, const char *path)
{
	struct stat sb;

	if (!check_stat(c, key, path, true, &sb))
		return false;
	if (!S_ISDIR(sb.st_mode)) {
		check_problem(c, "%s %s: not a directory", key, path);
		return false;
	}
	if ((sb.st_mode & 077) != 0)
		check_problem(c,
		    "%s %s: open to group or others (mode %04o): "
		    "chmod 700",
		    key, path, (unsigned)(sb.st_mode & 07777));
	check_owner(c, key, path, &sb, false);
	return true;
}

/* A private key: a regular file nobody but its owner may read. */
static void
check_key_file(
    struct check *c, const char *key, const char *path, bool required)
{
	struct stat sb;

	if (!check_stat(c, key, path, required, &sb))
		return;
	if (!S_ISREG(sb.st_mode)) {
		check_problem(c, "%s %s: not a regular file", key, path);
		return;
	}
	if ((sb.st_mode & 077) != 0)
		check_problem(c,
		    "%s %s: readable or writable by group or "
		    "others (mode %04o): chmod 600",
		    key, path, (unsigned)(sb.st_mode & 07777));
	/* Keys are read before pimgated leaves root: root may own them. */
	check_owner(c, key, path, &sb, true);
}

/* A public file (certificate): it must exist and be a file. */
static void
check_plain_file(struct check *c, const char *key, const char *path)
{
	struct stat sb;

	if (check_stat(c, key, path, true, &sb) && !S_ISREG(sb.st_mode))
		check_problem(c, "%s %s: not a regular file", key, path);
}

static void
check_database(struct check *c, const char *path)
{
	struct stat sb;

	if (!check_stat(c, "[server] database", path, true, &sb))
		return;
	if (!S_ISREG(sb.st_mode)) {
		check_problem(
		    c, "[server] database %s: not a regular file", path);
		return;
	}
	if ((sb.st_mode & 077) != 0)
		check_problem(c,
		    "[server] database %s: open to group or others "
		    "(mode %04o): chmod 600",
		    path, (unsigned)(sb.st_mode & 07777));
	check_owner(c, "[server] database", path, &sb, false);
}

static void
check_files(struct check *c, const struct config *cfg)
{
	struct stat sb;

	if (cfg->state_dir == NULL)
		return; /* already told; every path hangs on it */
	/* Without the state directory, one line says it all. */
	if (!check_state_dir(c, "[server] state_dir", cfg->state_dir))
		return;
	check_state_dir(c, "[server] recordings", cfg->recordings_dir);
	check_database(c, cfg->db_path);
	check_key_file(c, "[server] secret_key", cfg->secret_key, true);
	check_key_file(c, "[ssh] host_key", cfg->host_key, true);
	check_key_file(c, "[server] ca_key", cfg->ca_key, true);
	check_plain_file(c, "[server] ca_cert", cfg->ca_cert);
	check_key_file(c, "[postgres] tls_key", cfg->pg_tls_key, true);
	check_plain_file(c, "[postgres] tls_cert", cfg->pg_tls_cert);
	/* pimgated makes its audit signing key when there is none. */
	check_key_file(c, "[audit] signing_key", cfg->audit_key, false);
	if (stat(cfg->resolv_conf, &sb) != 0)
		check_warning(c,
		    "[server] resolv_conf %s: %s: targets named "
		    "by host name cannot be reached",
		    cfg->resolv_conf, strerror(errno));
}

/* ---- the run user, syslog, report ---- */

static void
check_user(struct check *c, const struct config *cfg)
{
	char err[256];

	if (run_user_lookup(cfg, &c->user, err, sizeof(err)) != PIM_OK) {
		check_problem(c, "%s", err);
		return;
	}
	c->user_known = true;
	if (cfg->run_user != NULL && geteuid() != 0 && c->user.uid != geteuid())
		check_problem(c,
		    "[server] user %s: pimgated must start as root to "
		    "become it (this is uid %ld)",
		    c->user.name, (long)geteuid());
}

static void
check_syslog(struct check *c, const struct config *cfg)
{
	struct sockaddr_un sun;
	struct stat sb;

	if (syslog_out_facility(cfg->syslog_facility) < 0)
		check_problem(c,
		    "[syslog] facility %s: expected daemon, auth, "
		    "authpriv, user or local0 to local7",
		    cfg->syslog_facility);
	if (strlen(cfg->syslog_socket) >= sizeof(sun.sun_path))
		check_problem(
		    c, "[syslog] socket %s: path too long", cfg->syslog_socket);
	else if ((cfg->syslog_enabled || cfg->syslog_audit) &&
		 stat(cfg->syslog_socket, &sb) != 0)
		check_warning(c,
		    "[syslog] socket %s: %s (messages are dropped "
		    "until it exists)",
		    cfg->syslog_socket, strerror(errno));
}

int
check_live_values(const struct config *cfg, char *err, size_t errlen)
{
	struct work_hours wh;

	if (syslog_out_facility(cfg->syslog_facility) < 0) {
		snprintf(err, errlen, "[syslog] facility %s: unknown",
		    cfg->syslog_facility);
		return PIM_EINVAL;
	}
	if (hours_init(&wh, cfg->report_hours, cfg->report_days, cfg->report_tz,
		err, errlen) != PIM_OK)
		return PIM_EINVAL;
	return PIM_OK;
}

static void
check_report(struct check *c, const struct config *cfg)
{
	struct work_hours wh;
	char err[256];

	if (hours_init(&wh, cfg->report_hours, cfg->report_days, cfg->report_tz,
		err, sizeof(err)) != PIM_OK)
		check_problem(c, "%s", err);
}

static void
check_say_key(void *arg, const char *problem)
{
	struct check *c = arg;

	fprintf(stderr, "pimgated: %s: %s\n", c->path, problem);
}

int
check_config(const char *path)
{
	struct check c = {.path = path};
	struct config cfg;

	c.problems = config_load_each(path, &cfg, check_parse_problem, NULL);
	if (cfg.path == NULL) {
		config_free(&cfg);
		return 1;
	}
	check_user(&c, &cfg);
	/* Without a state_dir the defaults were not filled in. */
	if (cfg.state_dir != NULL) {
		check_listeners(&c, &cfg);
		check_syslog(&c, &cfg);
		check_report(&c, &cfg);
	}
	check_files(&c, &cfg);
	/* Contents only when the files are there and safe to read. */
	if (c.problems == 0)
		c.problems += check_key_contents(&cfg, check_say_key, &c);
	config_free(&cfg);
	if (c.problems > 0)
		return 1;
	fprintf(stderr, "pimgated: %s: ok\n", path);
	return 0;
}
