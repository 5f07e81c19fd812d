/* Internal to src/daemon/: the parts of pimgated beside its main. */
#ifndef PIMGATE_DAEMON_H
#define PIMGATE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;

/* ---- check.c: pimgated -t ---- */

/* Loads the config at PATH and checks all that can be checked without
 * starting: every unknown key and bad value, listen addresses, missing
 * files, unsafe owners and permissions of the state, the run user, the
 * syslog and report settings. Prints one line per problem (and per
 * warning) on standard error, then "pimgated: PATH: ok" if there was no
 * problem. Returns the exit status: 0 or 1. */
int check_config(const char *path);

/* ---- check_keys.c ---- */

typedef void (*check_say_fn)(void *arg, const char *problem);
/* Reads the secret key, the CA, the PostgreSQL listener's pair, the host
 * key and the audit signing key as pimgated would; says each one that
 * does not load. Returns the number of problems. */
int check_key_contents(const struct config *cfg, check_say_fn say, void *arg);

/* The checks of values SIGHUP may apply (syslog facility, working
 * hours): PIM_OK, or PIM_EINVAL with the first problem in ERR. */
int check_live_values(const struct config *cfg, char *err, size_t errlen);

/* ---- user.c: [server] user ---- */

/* The account pimgated runs as. */
struct run_user {
	bool change; /* started as root with another user to become */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Looks up the account named by CFG's [server] user (the current one
 * when unset) into U. PIM_OK, or PIM_ENOTFOUND with a reason in ERR. */
int run_user_lookup(
    const struct config *cfg, struct run_user *u, char *err, size_t errlen);
/* Before anything is opened: decides whether pimgated must become
 * another user (U->change) and refuses what cannot work: a user set
 * while started as neither root nor that user, a state directory the
 * user does not own. PIM_OK, or an error with a reason in ERR. */
int run_user_prepare(
    const struct config *cfg, struct run_user *u, char *err, size_t errlen);
/* Once listeners, keys and the store are open: becomes U for good
 * (supplementary groups, group, user), checks that root cannot be
 * regained, and that the recordings directory is writable. Nothing to
 * do unless U->change. PIM_OK or PIM_EDENIED with a reason in ERR. */
int run_user_switch(const struct run_user *u, const struct config *cfg,
    char *err, size_t errlen);

/* ---- reload.c: SIGHUP ---- */

/* What a reload changed, for main to apply. */
struct reload_changes {
	int applied; /* keys taken */
	int restart; /* keys that differ but need a restart */
	bool log_level;
	bool syslog;
	bool notify; /* [notify] or the store poll */
};

/* Reads LIVE's file again and moves the keys that may change while
 * running into LIVE, logging each changed key (by name, never its
 * value); keys that need a restart are logged and keep their running
 * value. A file that does not load or check is refused, logged with its
 * reason, and LIVE stays as it was. PIM_OK or PIM_EINVAL. */
int reload_config(struct config *live, struct reload_changes *ch);

#endif
