/* SIGHUP: the config is read again and what may change while sessions
 * run is taken; the rest waits for a restart. Modules keep a pointer to
 * the daemon's one struct config and read it when they need a value, on
 * the loop thread like this reload: moving values into that struct is
 * all it takes. Key names are logged, never values (a notify command
 * may hold a token). */
#include <string.h>

#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"

#include "daemon.h"

static void
reload_changed(void *arg, const char *section, const char *name, bool applied)
{
	struct reload_changes *ch = arg;

	if (!applied) {
		ch->restart++;
		log_warn("config key needs a restart key=%s.%s: the running "
			 "value stays",
		    section, name);
		return;
	}
	ch->applied++;
	log_info("config key changed key=%s.%s", section, name);
	if (strcmp(section, "server") == 0 && strcmp(name, "log_level") == 0)
		ch->log_level = true;
	else if (strcmp(section, "syslog") == 0)
		ch->syslog = true;
	else if (strcmp(section, "notify") == 0 ||
		 (strcmp(section, "server") == 0 &&
		     strcmp(name, "store_poll_ms") == 0))
		ch->notify = true;
}

int
reload_config(struct config *live, struct reload_changes *ch)
{
	struct config fresh;
	char err[512], path[300];

	memset(ch, 0, sizeof(*ch));
	if (config_load(live->path, &fresh, err, sizeof(err)) != PIM_OK) {
		log_error(
		    "config not reloaded, the running one stays: %s", err);
		return PIM_EINVAL;
	}
	if (check_live_values(&fresh, err, sizeof(err)) != PIM_OK) {
		log_error("config not reloaded, the running one stays: %s: %s",
		    live->path, err);
		config_free(&fresh);
		return PIM_EINVAL;
	}
	config_reload(live, &fresh, reload_changed, ch);
	config_free(&fresh);
	log_info("config reloaded path=%s changed=%d needs_restart=%d",
	    log_str(live->path, path, sizeof(path)), ch->applied, ch->restart);
	return PIM_OK;
}
