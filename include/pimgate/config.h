/* The INI configuration shared by pimgated and pimctl. */
#ifndef PIMGATE_CONFIG_H
#define PIMGATE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Set by CMake from the install's SYSCONFDIR (/etc by default). */
#ifdef PIMGATE_CONFIG_PATH
#define CONFIG_DEFAULT_PATH PIMGATE_CONFIG_PATH
#else
#define CONFIG_DEFAULT_PATH "/etc/pimgate/pimgate.conf"
#endif

struct config {
	char *path; /* the file read */
	char *state_dir; /* [server] state_dir */
	char *db_path; /* [server] database, default STATE/pimgate.db */
	char
	    *recordings_dir; /* [server] recordings, default STATE/recordings */
	char *host_key; /* [ssh] host_key, default STATE/ssh_host_ed25519_key */
	char *secret_key; /* [server] secret_key, default STATE/secret.key */
	char *ca_key; /* [server] ca_key, default STATE/ca.key */
	char *ca_cert; /* [server] ca_cert, default STATE/ca.crt */
	char *resolv_conf; /* [server] resolv_conf: name servers for targets
			      named by host name; default /etc/resolv.conf */
	char *log_level; /* [server] log_level, default "info" */
	char *ssh_listen; /* [ssh] listen, default 127.0.0.1:2222 */
	char *pg_listen; /* [postgres] listen, default 127.0.0.1:5433 */
	/* [postgres] tls_cert, tls_key: the listener's TLS certificate and
	 * key, default STATE/pg_server.crt and .key (made by pimctl init,
	 * signed by the bastion CA). */
	char *pg_tls_cert;
	char *pg_tls_key;
	/* [postgres] server_names: names and addresses that certificate is
	 * issued for, comma-separated; default "localhost,127.0.0.1,::1". */
	char *pg_server_names;
	/* [postgres] password_auth: also accept the bastion password (and
	 * TOTP code) inside TLS; default false: client certificates only. */
	bool pg_password_auth;
	char *http_listen; /* [http] listen, default 127.0.0.1:9187 */
	bool record_input; /* [recording] input, default false */
	/* [recording] max_size: bytes one recording may reach before its
	 * session is ended; 0 = no limit; default 1G. */
	int64_t record_max_size;
	/* [recording] min_free: free bytes the recordings disk must keep
	 * for a new channel to be recorded; default 256M. */
	int64_t record_min_free;
	int64_t login_grace; /* [ssh] login_grace_time secs, default 60 */
	int64_t poll_ms; /* [server] store_poll_ms, default 200 */
	/* [notify] command: run by /bin/sh -c for each activation event,
	 * with a JSON document on standard input; NULL = none. */
	char *notify_command;
	int64_t notify_timeout; /* [notify] timeout secs, default 10 */
	/* [server] user: the account pimgated switches to when started as
	 * root; NULL = stay as started. */
	char *run_user;
	/* [server] shutdown_grace: seconds live sessions get to close after
	 * SIGTERM before the daemon exits anyway; default 10. */
	int64_t shutdown_grace;
	/* [syslog] enabled: log lines also go to syslog; default false. */
	bool syslog_enabled;
	/* [syslog] socket: the syslog daemon's datagram socket, default
	 * /dev/log. */
	char *syslog_socket;
	/* [syslog] facility: for log lines, default "daemon". */
	char *syslog_facility;
	/* [syslog] audit: also send each audit event as it is stored, with
	 * facility authpriv; default false. */
	bool syslog_audit;
	/* [audit] signing_key: the bastion's Ed25519 key that signs chain
	 * checkpoints, default STATE/audit_ed25519.key. */
	char *audit_key;
	/* [audit] checkpoint_interval: seconds between signed checkpoints
	 * of the chain head, default 3600. */
	int64_t audit_checkpoint;
	/* [report] working_hours "HH:MM-HH:MM", default "07:00-19:00". */
	char *report_hours;
	/* [report] working_days, e.g. "mon-fri" or "mon,tue,sat", default
	 * "mon-fri". */
	char *report_days;
	/* [report] timezone: IANA name the working hours are read in,
	 * default "UTC". */
	char *report_tz;
	/* [report] volume_factor: a session whose bytes exceed this many
	 * times the user's own median is flagged; default 10. */
	int64_t report_volume_factor;
};

/* Reads PATH into CFG (zeroed first) and fills defaults. On error returns
 * PIM_EINVAL or PIM_EIO with a one-line reason in ERR ("pimgate.conf:12:
 * unknown key [ssh] lisen"). Unknown sections and keys are errors. */
int config_load(
    const char *path, struct config *cfg, char *err, unsigned errlen);
void config_free(struct config *cfg);

/* Told one problem of a config file: a line for a person. */
typedef void (*config_problem_fn)(void *arg, const char *msg);
/* Like config_load, but goes on after a problem (pimgated -t): EACH gets
 * every one ("pimgate.conf:12: unknown key [ssh] lisen"; an unknown
 * section once; only the first syntax error), and CFG keeps what could
 * be read plus the defaults, so that later checks can run (its paths
 * stay NULL without a state_dir). Returns the number of problems; CFG
 * is to be freed with config_free either way. */
int config_load_each(
    const char *path, struct config *cfg, config_problem_fn each, void *arg);

/* Told one key whose value differs on reload; APPLIED is false for a
 * key that needs a restart. */
typedef void (*config_change_fn)(
    void *arg, const char *section, const char *name, bool applied);
/* SIGHUP: moves into LIVE the values of FRESH (a newly loaded config)
 * for the keys that may change while pimgated runs (log level, store
 * poll, shutdown grace, login grace, recording limits, notify, syslog,
 * audit checkpoint interval, report); the old values go to FRESH, to be freed
 * with it. LIVE keeps every other key (listen addresses, paths, keys, user):
 * they need a restart. CHANGED is called for each key that differs. Returns how
 * many keys were applied. */
int config_reload(struct config *live, struct config *fresh,
    config_change_fn changed, void *arg);

/* Splits "HOST:PORT" or "[V6]:PORT". Returns PIM_OK or PIM_EINVAL. */
int config_split_hostport(
    const char *s, char *host, unsigned hostlen, int *port);

#endif
