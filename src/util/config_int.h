/* Internal to src/util/config*.c: the table of keys, shared by the
 * parser (config.c) and the SIGHUP comparison (config_reload.c). */
#ifndef PIMGATE_CONFIG_INT_H
#define PIMGATE_CONFIG_INT_H

#include <stddef.h>

enum config_kind {
	CK_STRING,
	CK_LISTEN,
	CK_LOG_LEVEL,
	CK_BOOL,
	CK_DURATION,
	CK_POLL_MS,
	CK_SIZE,
	CK_FACTOR,
	/* Strings checked by hours.h: [report] working_hours,
	 * working_days, timezone. */
	CK_HOURS,
	CK_DAYS,
	CK_ZONE,
};

struct config_key {
	const char *section;
	const char *name;
	enum config_kind kind;
	size_t offset;
};

/* Every key of the file, in config.c. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

#endif
