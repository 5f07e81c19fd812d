/* SIGHUP: a freshly read config compared with the running one, key by
 * key; the keys that may change live are moved into the running one. */
#include "pimgate/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config_int.h"

/* The keys pimgated applies on SIGHUP; every other one (listen
 * addresses, paths, keys, the user) needs a restart. A key added to
 * config_keys needs a restart until it is listed here. */
static const struct {
	const char *section, *name;
} config_live_keys[] = {
    {"server", "log_level"},
    {"server", "store_poll_ms"},
    {"server", "shutdown_grace"},
    {"ssh", "login_grace_time"},
    {"postgres", "password_auth"},
    {"recording", "input"},
    {"recording", "max_size"},
    {"recording", "min_free"},
    {"notify", "command"},
    {"notify", "timeout"},
    {"syslog", "enabled"},
    {"syslog", "socket"},
    {"syslog", "facility"},
    {"syslog", "audit"},
    {"audit", "checkpoint_interval"},
    {"report", "working_hours"},
    {"report", "working_days"},
    {"report", "timezone"},
    {"report", "volume_factor"},
};

static bool
config_key_live(const struct config_key *k)
{
	size_t i;

	for (i = 0; i < sizeof(config_live_keys) / sizeof(config_live_keys[0]);
	     i++) {
		if (strcmp(config_live_keys[i].section, k->section) == 0 &&
		    strcmp(config_live_keys[i].name, k->name) == 0)
			return true;
	}
	return false;
}

/* True for the kinds whose field is a string (char *). */
static bool
config_kind_string(enum config_kind kind)
{
	return kind == CK_STRING || kind == CK_LISTEN || kind == CK_LOG_LEVEL ||
	       kind == CK_HOURS || kind == CK_DAYS || kind == CK_ZONE;
}

/* Bytes of K's field in struct config. */
static size_t
config_field_size(const struct config_key *k)
{
	if (k->kind == CK_BOOL)
		return sizeof(bool);
	return config_kind_string(k->kind) ? sizeof(char *) : sizeof(int64_t);
}

static bool
config_field_equal(
    const struct config_key *k, const struct config *a, const struct config *b)
{
	const char *fa = (const char *)a + k->offset;
	const char *fb = (const char *)b + k->offset;
	const char *sa, *sb;

	if (!config_kind_string(k->kind))
		return memcmp(fa, fb, config_field_size(k)) == 0;
	memcpy(&sa, fa, sizeof(sa));
	memcpy(&sb, fb, sizeof(sb));
	if (sa == NULL || sb == NULL)
		return sa == sb;
	return strcmp(sa, sb) == 0;
}

/* Exchanges K's field between A and B (strings move, not copied). */
static void
config_field_swap(
    const struct config_key *k, struct config *a, struct config *b)
{
	char *fa = (char *)a + k->offset, *fb = (char *)b + k->offset;
	unsigned char tmp[sizeof(int64_t) > sizeof(char *) ? sizeof(int64_t)
							   : sizeof(char *)];
	size_t n = config_field_size(k);

	memcpy(tmp, fa, n);
	memcpy(fa, fb, n);
	memcpy(fb, tmp, n);
}

int
config_reload(struct config *live, struct config *fresh,
    config_change_fn changed, void *arg)
{
	size_t i;
	int applied = 0;

	for (i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		bool ok = config_key_live(k);

		if (config_field_equal(k, live, fresh))
			continue;
		if (ok) {
			config_field_swap(k, live, fresh);
			applied++;
		}
		changed(arg, k->section, k->name, ok);
	}
	return applied;
}
