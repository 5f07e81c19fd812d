/* [server] user: started as root, pimgated opens its listeners, keys and
 * store, then becomes that user for good. Everything it touches later
 * (recordings, the store through its open descriptor, WAL files that
 * SQLite makes beside the database) must then be the user's: the state
 * directory has to be theirs, or pimgated refuses to start. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"

#include "daemon.h"

#define USER_PWBUF 16384

/* Fills U from the password entry of NAME (or of the current user when
 * NAME is NULL). */
static int
run_user_find(const char *name, struct run_user *u, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char *buf = malloc(USER_PWBUF);
	int rc;

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return PIM_ENOMEM;
	}
	if (name != NULL)
		rc = getpwnam_r(name, &pw, buf, USER_PWBUF, &res);
	else
		rc = getpwuid_r(geteuid(), &pw, buf, USER_PWBUF, &res);
	if (res != NULL) {
		u->uid = pw.pw_uid;
		u->gid = pw.pw_gid;
		snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
	}
	free(buf);
	if (res != NULL)
		return PIM_OK;
	if (name == NULL) {
		/* An account without a name (a container): its number. */
		u->uid = geteuid();
		u->gid = getegid();
		snprintf(u->name, sizeof(u->name), "%ld", (long)u->uid);
		return PIM_OK;
	}
	snprintf(err, errlen, "[server] user %s: %s", name,
	    rc != 0 ? strerror(rc) : "no such user");
	return PIM_ENOTFOUND;
}

int
run_user_lookup(
    const struct config *cfg, struct run_user *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	return run_user_find(cfg->run_user, u, err, errlen);
}

int
run_user_prepare(
    const struct config *cfg, struct run_user *u, char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	rc = run_user_lookup(cfg, u, err, errlen);
	if (rc == PIM_OK && cfg->run_user == NULL && geteuid() == 0)
		log_warn("running as root: set [server] user to an account "
			 "of its own");
	if (rc != PIM_OK || cfg->run_user == NULL || u->uid == geteuid())
		return rc;
	if (geteuid() != 0) {
		snprintf(err, errlen,
		    "[server] user is %s, but pimgated was started as uid "
		    "%ld: start it as root (it then becomes %s) or as %s",
		    u->name, (long)geteuid(), u->name, u->name);
		return PIM_EDENIED;
	}
	if (stat(cfg->state_dir, &sb) != 0) {
		snprintf(err, errlen, "state directory %s: %s", cfg->state_dir,
		    strerror(errno));
		return PIM_EIO;
	}
	if (sb.st_uid != u->uid) {
		snprintf(err, errlen,
		    "state directory %s is owned by uid %ld, not by %s, the "
		    "[server] user: chown -R %s %s",
		    cfg->state_dir, (long)sb.st_uid, u->name, u->name,
		    cfg->state_dir);
		return PIM_EDENIED;
	}
	u->change = true;
	return PIM_OK;
}

/* After the switch: no way back to root, and the ids are U's. */
static bool
run_user_final(const struct run_user *u)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setuid(0) == 0 || seteuid(0) == 0)
		return false;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return false;
	return ru == u->uid && eu == u->uid && su == u->uid && rg == u->gid &&
	       eg == u->gid && sg == u->gid;
}

int
run_user_switch(const struct run_user *u, const struct config *cfg, char *err,
    size_t errlen)
{
	if (!u->change)
		return PIM_OK;
	/* Groups first: only root may change them. */
	if (initgroups(u->name, u->gid) != 0 ||
	    setresgid(u->gid, u->gid, u->gid) != 0 ||
	    setresuid(u->uid, u->uid, u->uid) != 0) {
		snprintf(err, errlen, "cannot become user %s: %s", u->name,
		    strerror(errno));
		return PIM_EDENIED;
	}
	if (!run_user_final(u)) {
		snprintf(err, errlen,
		    "became user %s, but root could be regained", u->name);
		return PIM_EDENIED;
	}
	if (access(cfg->recordings_dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen,
		    "recordings directory %s is not writable by %s: %s",
		    cfg->recordings_dir, u->name, strerror(errno));
		return PIM_EDENIED;
	}
	log_info("running as user=%s uid=%ld gid=%ld", u->name, (long)u->uid,
	    (long)u->gid);
	return PIM_OK;
}
