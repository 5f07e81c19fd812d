/* The INI configuration, read with libinih. Every key is a row of
 * config_keys; unknown sections and keys are errors. */
#include "pimgate/config.h"

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/hours.h"
#include "pimgate/log.h"

#include "config_int.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MSG_MAX 256
#define CONFIG_HOST_MAX 256
#define CONFIG_POLL_MAX 600000

#define CFG_FIELD(f) offsetof(struct config, f)

const struct config_key config_keys[] = {
    {"server", "state_dir", CK_STRING, CFG_FIELD(state_dir)},
    {"server", "database", CK_STRING, CFG_FIELD(db_path)},
    {"server", "recordings", CK_STRING, CFG_FIELD(recordings_dir)},
    {"server", "secret_key", CK_STRING, CFG_FIELD(secret_key)},
    {"server", "ca_key", CK_STRING, CFG_FIELD(ca_key)},
    {"server", "ca_cert", CK_STRING, CFG_FIELD(ca_cert)},
    {"server", "resolv_conf", CK_STRING, CFG_FIELD(resolv_conf)},
    {"server", "log_level", CK_LOG_LEVEL, CFG_FIELD(log_level)},
    {"server", "store_poll_ms", CK_POLL_MS, CFG_FIELD(poll_ms)},
    {"ssh", "listen", CK_LISTEN, CFG_FIELD(ssh_listen)},
    {"ssh", "host_key", CK_STRING, CFG_FIELD(host_key)},
    {"ssh", "login_grace_time", CK_DURATION, CFG_FIELD(login_grace)},
    {"postgres", "listen", CK_LISTEN, CFG_FIELD(pg_listen)},
    {"postgres", "tls_cert", CK_STRING, CFG_FIELD(pg_tls_cert)},
    {"postgres", "tls_key", CK_STRING, CFG_FIELD(pg_tls_key)},
    {"postgres", "server_names", CK_STRING, CFG_FIELD(pg_server_names)},
    {"postgres", "password_auth", CK_BOOL, CFG_FIELD(pg_password_auth)},
    {"http", "listen", CK_LISTEN, CFG_FIELD(http_listen)},
    {"recording", "input", CK_BOOL, CFG_FIELD(record_input)},
    {"recording", "max_size", CK_SIZE, CFG_FIELD(record_max_size)},
    {"recording", "min_free", CK_SIZE, CFG_FIELD(record_min_free)},
    {"notify", "command", CK_STRING, CFG_FIELD(notify_command)},
    {"notify", "timeout", CK_DURATION, CFG_FIELD(notify_timeout)},
    {"server", "user", CK_STRING, CFG_FIELD(run_user)},
    {"server", "shutdown_grace", CK_DURATION, CFG_FIELD(shutdown_grace)},
    {"syslog", "enabled", CK_BOOL, CFG_FIELD(syslog_enabled)},
    {"syslog", "socket", CK_STRING, CFG_FIELD(syslog_socket)},
    {"syslog", "facility", CK_STRING, CFG_FIELD(syslog_facility)},
    {"syslog", "audit", CK_BOOL, CFG_FIELD(syslog_audit)},
    {"audit", "signing_key", CK_STRING, CFG_FIELD(audit_key)},
    {"audit", "checkpoint_interval", CK_DURATION, CFG_FIELD(audit_checkpoint)},
    {"report", "working_hours", CK_HOURS, CFG_FIELD(report_hours)},
    {"report", "working_days", CK_DAYS, CFG_FIELD(report_days)},
    {"report", "timezone", CK_ZONE, CFG_FIELD(report_tz)},
    {"report", "volume_factor", CK_FACTOR, CFG_FIELD(report_volume_factor)},
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))
const size_t config_nkeys = CONFIG_NKEYS;

/* What the libinih callback works on. */
struct config_parse {
	struct config *cfg;
	char msg[CONFIG_MSG_MAX]; /* the first error, without file:line */
	int nomem;
	/* config_load_each: every problem goes to EACH, parsing goes on. */
	config_problem_fn each;
	void *arg;
	int problems;
	char bad_section[CONFIG_MSG_MAX]; /* the last unknown one told */
	FILE *in;
	int line, next_line; /* the line being parsed, the one after it */
	int stop_line; /* the line the reader stopped at, or 0 */
	char stop_msg[CONFIG_MSG_MAX / 2]; /* why */
	char *buf; /* getline's */
	size_t bufsize;
	bool seen[CONFIG_NKEYS]; /* keys already set, to refuse a second */
	char unsafe[CONFIG_MSG_MAX]; /* why the file's mode is unsafe */
};

/* config_parse_file: the file may be changed by others. */
#define CONFIG_UNSAFE (-3)

static bool
config_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	}
	return false;
}

static const struct config_key *
config_key_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static int
config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "1"};
	static const char *const no[] = {"false", "no", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return PIM_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return PIM_OK;
		}
	}
	return PIM_EINVAL;
}

static int
config_parse_poll(const char *v, int64_t *out)
{
	char *end;
	long long n;

	if (*v < '0' || *v > '9')
		return PIM_EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > CONFIG_POLL_MAX)
		return PIM_EINVAL;
	*out = n;
	return PIM_OK;
}

/* "512M", "1G", "4096": bytes, with an optional K, M, G or T (powers of
 * 1024). */
static int
config_parse_size(const char *v, int64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	long long n;
	int shift = 0;

	if (*v < '0' || *v > '9')
		return PIM_EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0)
		return PIM_EINVAL;
	if (*end != '\0') {
		u = strchr(units, *end);
		if (u == NULL || end[1] != '\0')
			return PIM_EINVAL;
		shift = 10 * (int)(u - units + 1);
	}
	if (n > (INT64_MAX >> shift))
		return PIM_EINVAL;
	*out = (int64_t)n << shift;
	return PIM_OK;
}

/* Replaces the string field at FIELD with a copy of V. */
static int
config_set_string(char **field, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return PIM_ENOMEM;
	free(*field);
	*field = copy;
	return PIM_OK;
}

/* The [report] settings of working hours, as hours.h reads them. */
static int
config_check_report(enum config_kind kind, const char *v)
{
	unsigned days;
	int a, b;

	if (kind == CK_HOURS)
		return hours_parse_span(v, &a, &b);
	if (kind == CK_DAYS)
		return hours_parse_days(v, &days);
	if (kind == CK_ZONE)
		return hours_check_tz(v) == PIM_OK ? PIM_OK : PIM_EINVAL;
	return PIM_OK;
}

static int
config_check_value(const struct config_key *k, const char *v)
{
	char host[CONFIG_HOST_MAX];
	int port;

	if (*v == '\0')
		return PIM_EINVAL;
	if (k->kind == CK_LISTEN)
		return config_split_hostport(v, host, sizeof(host), &port);
	if (k->kind == CK_LOG_LEVEL)
		return log_level_parse(v) < 0 ? PIM_EINVAL : PIM_OK;
	return config_check_report(k->kind, v);
}

static const char *
config_expected(enum config_kind kind)
{
	switch (kind) {
	case CK_LISTEN:
		return "HOST:PORT or [V6]:PORT";
	case CK_LOG_LEVEL:
		return "error, warn, info, verbose or debug";
	case CK_BOOL:
		return "true, false, yes, no, 1 or 0";
	case CK_DURATION:
		return "a duration such as 90s or 1m";
	case CK_POLL_MS:
		return "milliseconds from 1 to 600000";
	case CK_SIZE:
		return "a size such as 512M or 2G";
	case CK_FACTOR:
		return "a whole number from 2 to 1000";
	case CK_HOURS:
		return "HH:MM-HH:MM, the start before the end (24:00 at most)";
	case CK_DAYS:
		return "weekdays such as mon-fri or mon,wed,sat";
	case CK_ZONE:
		return "UTC or an IANA time zone name found in "
		       "/usr/share/zoneinfo, such as Europe/Paris";
	default:
		return "a non-empty value";
	}
}

static int
config_apply(struct config *cfg, const struct config_key *k, const char *v)
{
	char *base = (char *)cfg;
	void *field = base + k->offset;

	switch (k->kind) {
	case CK_BOOL:
		return config_parse_bool(v, (bool *)field);
	case CK_DURATION:
		return duration_parse(v, (int64_t *)field);
	case CK_POLL_MS:
		return config_parse_poll(v, (int64_t *)field);
	case CK_SIZE:
		return config_parse_size(v, (int64_t *)field);
	case CK_FACTOR:
		if (config_parse_poll(v, (int64_t *)field) != PIM_OK ||
		    *(int64_t *)field < 2 || *(int64_t *)field > 1000)
			return PIM_EINVAL;
		return PIM_OK;
	default:
		if (config_check_value(k, v) != PIM_OK)
			return PIM_EINVAL;
		return config_set_string((char **)field, v);
	}
}

/* Reports the problem in MSG: to EACH with its line (parsing goes on),
 * or as the first and only error (parsing stops). Returns what the
 * libinih callback returns. */
static int
config_problem(struct config_parse *cp, const char *msg)
{
	char line[CONFIG_MSG_MAX + 64];

	if (cp->each == NULL) {
		snprintf(cp->msg, sizeof(cp->msg), "%s", msg);
		return 0;
	}
	snprintf(line, sizeof(line), "%s:%d: %s", cp->cfg->path, cp->line, msg);
	cp->each(cp->arg, line);
	cp->problems++;
	return 1;
}

static int
config_handler(
    void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *cp = user;
	const struct config_key *k;
	char msg[CONFIG_MSG_MAX];
	int r;

	if (cp->each == NULL && cp->msg[0] != '\0')
		return 1; /* only the first error is reported */
	if (!config_section_known(section)) {
		/* Once per section, not once per key in it. */
		if (cp->each != NULL && strcmp(cp->bad_section, section) == 0)
			return 1;
		snprintf(
		    cp->bad_section, sizeof(cp->bad_section), "%s", section);
		snprintf(msg, sizeof(msg), "unknown section [%s]", section);
		return config_problem(cp, msg);
	}
	k = config_key_find(section, name);
	if (k == NULL) {
		snprintf(
		    msg, sizeof(msg), "unknown key [%s] %s", section, name);
		return config_problem(cp, msg);
	}
	/* Two values for one key: which one the author meant is unknown. */
	if (cp->seen[k - config_keys]) {
		snprintf(
		    msg, sizeof(msg), "[%s] %s is set twice", section, name);
		return config_problem(cp, msg);
	}
	cp->seen[k - config_keys] = true;
	r = config_apply(cp->cfg, k, value);
	if (r == PIM_ENOMEM)
		cp->nomem = 1;
	if (r != PIM_OK) {
		snprintf(msg, sizeof(msg), "[%s] %s: expected %s", section,
		    name, config_expected(k->kind));
		return config_problem(cp, msg);
	}
	return 1;
}

/* Sets *FIELD to STATE/NAME unless the file set it. */
static int
config_default_path(char **field, const char *state, const char *name)
{
	size_t len = strlen(state);
	const char *sep = len > 0 && state[len - 1] == '/' ? "" : "/";
	size_t size = len + strlen(sep) + strlen(name) + 1;

	if (*field != NULL)
		return PIM_OK;
	*field = malloc(size);
	if (*field == NULL)
		return PIM_ENOMEM;
	snprintf(*field, size, "%s%s%s", state, sep, name);
	return PIM_OK;
}

static int
config_default_string(char **field, const char *value)
{
	if (*field != NULL)
		return PIM_OK;
	*field = strdup(value);
	return *field == NULL ? PIM_ENOMEM : PIM_OK;
}

static int
config_defaults(struct config *c)
{
	const char *s = c->state_dir;
	int r = PIM_OK;

	r |= config_default_path(&c->db_path, s, "pimgate.db");
	r |= config_default_path(&c->recordings_dir, s, "recordings");
	r |= config_default_path(&c->host_key, s, "ssh_host_ed25519_key");
	r |= config_default_path(&c->secret_key, s, "secret.key");
	r |= config_default_path(&c->ca_key, s, "ca.key");
	r |= config_default_path(&c->ca_cert, s, "ca.crt");
	r |= config_default_path(&c->pg_tls_cert, s, "pg_server.crt");
	r |= config_default_path(&c->pg_tls_key, s, "pg_server.key");
	r |= config_default_string(
	    &c->pg_server_names, "localhost,127.0.0.1,::1");
	r |= config_default_string(&c->log_level, "info");
	r |= config_default_string(&c->resolv_conf, "/etc/resolv.conf");
	r |= config_default_string(&c->ssh_listen, "127.0.0.1:2222");
	r |= config_default_string(&c->pg_listen, "127.0.0.1:5433");
	r |= config_default_string(&c->http_listen, "127.0.0.1:9187");
	r |= config_default_path(&c->audit_key, s, "audit_ed25519.key");
	r |= config_default_string(&c->syslog_socket, "/dev/log");
	r |= config_default_string(&c->syslog_facility, "daemon");
	r |= config_default_string(&c->report_hours, "07:00-19:00");
	r |= config_default_string(&c->report_days, "mon-fri");
	r |= config_default_string(&c->report_tz, "UTC");
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

/* What libinih would read otherwise than it looks: NUL bytes (the rest
 * of the line vanishes), an indented line (a continuation of the
 * previous value), " ;" (an inline comment cuts the value). NULL if the
 * line is plain. */
static const char *
config_line_trap(const char *s, size_t n)
{
	const char *p;

	if (strlen(s) != n)
		return "holds a NUL byte";
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '\r' || *p == '\n' || *p == ';' || *p == '#')
		return NULL; /* blank or a comment */
	if (p != s)
		return "starts with a space: it would continue the previous "
		       "value; remove the indent";
	if (strstr(p, " ;") != NULL || strstr(p, "\t;") != NULL)
		return "has \" ;\", which starts a comment and cuts the value "
		       "(put a long command in a script)";
	return NULL;
}

/* A blank line or a comment. */
static bool
config_line_blank(const char *s)
{
	s += strspn(s, " \t\r\n");
	return *s == '\0' || *s == ';' || *s == '#';
}

/* Stops the parse at the current line with WHY, for the caller. */
static char *
config_reader_stop(struct config_parse *cp, const char *why)
{
	cp->stop_line = cp->line;
	snprintf(cp->stop_msg, sizeof(cp->stop_msg), "%s", why);
	return NULL;
}

/* libinih's reader: whole lines (getline), counted, so that problems
 * found by the callback can name theirs; a line libinih would misread
 * or cut stops the parse. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *cp = stream;
	char why[64];
	ssize_t n = getline(&cp->buf, &cp->bufsize, cp->in);
	size_t len;
	const char *trap;

	if (n < 0)
		return NULL;
	cp->line = cp->next_line++;
	len = (size_t)n;
	trap = config_line_trap(cp->buf, len);
	if (trap != NULL)
		return config_reader_stop(cp, trap);
	if (config_line_blank(cp->buf)) {
		/* Comments may be as long as they like. */
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	while (
	    len > 0 && (cp->buf[len - 1] == '\n' || cp->buf[len - 1] == '\r'))
		len--;
	if (len + 2 > (size_t)num) {
		snprintf(
		    why, sizeof(why), "longer than %d characters", num - 2);
		return config_reader_stop(cp, why);
	}
	memcpy(str, cp->buf, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* The config decides which command pimgated runs as whom: only root or
 * the user reading it may be able to change it. */
static int
config_file_safe(FILE *in, char *msg, size_t size)
{
	struct stat sb;

	if (fstat(fileno(in), &sb) != 0) {
		snprintf(msg, size, "cannot stat: %s", strerror(errno));
		return PIM_EIO;
	}
	if ((sb.st_mode & 022) != 0) {
		snprintf(msg, size,
		    "writable by group or others (mode %04o): chmod go-w",
		    (unsigned)(sb.st_mode & 07777));
		return PIM_EDENIED;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(msg, size,
		    "owned by uid %u, neither root nor the user reading it",
		    (unsigned)sb.st_uid);
		return PIM_EDENIED;
	}
	return PIM_OK;
}

/* Runs libinih over PATH with CP; returns what ini_parse would: 0, the
 * first bad line, or -1 if PATH cannot be opened. */
static int
config_parse_file(const char *path, struct config_parse *cp)
{
	int line;

	cp->in = fopen(path, "re");
	if (cp->in == NULL)
		return -1;
	if (config_file_safe(cp->in, cp->unsafe, sizeof(cp->unsafe)) !=
		PIM_OK &&
	    cp->each == NULL) {
		fclose(cp->in);
		cp->in = NULL;
		return CONFIG_UNSAFE;
	}
	cp->line = cp->next_line = 1;
	line = ini_parse_stream(config_reader, cp, config_handler, cp);
	fclose(cp->in);
	cp->in = NULL;
	free(cp->buf);
	cp->buf = NULL;
	if (cp->stop_line > 0 && (line == 0 || line > cp->stop_line)) {
		snprintf(cp->msg, sizeof(cp->msg), "line %s", cp->stop_msg);
		line = cp->stop_line;
	}
	return line;
}

/* Runs libinih over PATH; on failure fills ERR and returns the code. */
static int
config_read(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct config_parse cp = {.cfg = cfg};
	int line;

	line = config_parse_file(path, &cp);
	if (line == 0)
		return PIM_OK;
	if (line == CONFIG_UNSAFE) {
		snprintf(err, errlen, "%s: %s", path, cp.unsafe);
		return PIM_EDENIED;
	}
	if (line == -1) {
		snprintf(
		    err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return PIM_EIO;
	}
	if (line < 0 || cp.nomem) {
		snprintf(err, errlen, "%s: out of memory", path);
		return PIM_ENOMEM;
	}
	snprintf(err, errlen, "%s:%d: %s", path, line,
	    cp.msg[0] != '\0' ? cp.msg : "syntax error");
	return PIM_EINVAL;
}

/* Zeroes CFG and sets the defaults that do not depend on the file. */
static int
config_init(const char *path, struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->login_grace = 60;
	cfg->poll_ms = 200;
	cfg->record_max_size = (int64_t)1 << 30;
	cfg->record_min_free = (int64_t)256 << 20;
	cfg->notify_timeout = 10;
	cfg->shutdown_grace = 10;
	cfg->audit_checkpoint = 3600;
	cfg->report_volume_factor = 10;
	cfg->path = strdup(path);
	return cfg->path == NULL ? PIM_ENOMEM : PIM_OK;
}

int
config_load(const char *path, struct config *cfg, char *err, unsigned errlen)
{
	char dummy[1];
	int r;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (config_init(path, cfg) != PIM_OK) {
		snprintf(err, errlen, "%s: out of memory", path);
		return PIM_ENOMEM;
	}

	r = config_read(path, cfg, err, errlen);
	if (r == PIM_OK && cfg->state_dir == NULL) {
		snprintf(
		    err, errlen, "%s: [server] state_dir is required", path);
		r = PIM_EINVAL;
	}
	if (r == PIM_OK && config_defaults(cfg) != PIM_OK) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = PIM_ENOMEM;
	}
	if (r != PIM_OK)
		config_free(cfg);
	return r;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->db_path);
	free(cfg->recordings_dir);
	free(cfg->host_key);
	free(cfg->secret_key);
	free(cfg->ca_key);
	free(cfg->ca_cert);
	free(cfg->resolv_conf);
	free(cfg->log_level);
	free(cfg->ssh_listen);
	free(cfg->pg_listen);
	free(cfg->pg_tls_cert);
	free(cfg->pg_tls_key);
	free(cfg->pg_server_names);
	free(cfg->http_listen);
	free(cfg->notify_command);
	free(cfg->run_user);
	free(cfg->syslog_socket);
	free(cfg->syslog_facility);
	free(cfg->audit_key);
	free(cfg->report_hours);
	free(cfg->report_days);
	free(cfg->report_tz);
	memset(cfg, 0, sizeof(*cfg));
}

/* Reads the decimal port at S (1 to 65535, digits only). */
static int
config_parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0')
		return PIM_EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return PIM_EINVAL;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return PIM_EINVAL;
	}
	if (v == 0)
		return PIM_EINVAL;
	*port = (int)v;
	return PIM_OK;
}

static int
config_copy_host(const char *s, size_t len, char *host, unsigned hostlen)
{
	size_t i;

	if (len == 0 || len >= hostlen)
		return PIM_EINVAL;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    s[i] == '[' || s[i] == ']' || s[i] == '/')
			return PIM_EINVAL;
	}
	memcpy(host, s, len);
	host[len] = '\0';
	return PIM_OK;
}

int
config_split_hostport(const char *s, char *host, unsigned hostlen, int *port)
{
	const char *colon, *close;
	size_t len;

	if (s == NULL || host == NULL || port == NULL)
		return PIM_EINVAL;
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return PIM_EINVAL;
		s++;
		len = (size_t)(close - s);
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return PIM_EINVAL;
		len = (size_t)(colon - s);
	}
	if (config_parse_port(colon + 1, port) != PIM_OK)
		return PIM_EINVAL;
	return config_copy_host(s, len, host, hostlen);
}

int
config_load_each(
    const char *path, struct config *cfg, config_problem_fn each, void *arg)
{
	struct config_parse cp = {.cfg = cfg, .each = each, .arg = arg};
	char msg[CONFIG_MSG_MAX + 64];
	int line;

	if (config_init(path, cfg) != PIM_OK) {
		each(arg, "out of memory");
		return 1;
	}
	line = config_parse_file(path, &cp);
	if (line == -1) {
		snprintf(msg, sizeof(msg), "%s: cannot open: %s", path,
		    strerror(errno));
		each(arg, msg);
		return cp.problems + 1;
	}
	if (cp.unsafe[0] != '\0') {
		snprintf(msg, sizeof(msg), "%s: %s", path, cp.unsafe);
		each(arg, msg);
		cp.problems++;
	}
	/* The callback never stops the parse here: a line is a syntax
	 * error or one too long (the first one only). */
	if (line > 0 || line < -1 || cp.nomem) {
		snprintf(msg, sizeof(msg), "%s:%d: %s", path, line,
		    cp.stop_line == line ? cp.msg
		    : line > 0		 ? "syntax error"
					 : "out of memory");
		each(arg, msg);
		cp.problems++;
	}
	if (cfg->state_dir == NULL) {
		snprintf(msg, sizeof(msg), "%s: [server] state_dir is required",
		    path);
		each(arg, msg);
		cp.problems++;
	} else if (config_defaults(cfg) != PIM_OK) {
		snprintf(msg, sizeof(msg), "%s: out of memory", path);
		each(arg, msg);
		cp.problems++;
	}
	return cp.problems;
}
