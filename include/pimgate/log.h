/* One log stream for the whole process: standard error, one line per
 * event: "TIME LEVEL func: message key=value ...".
 *
 * Policy: refusals, listener and signal events at info; per-connection
 * lifecycle at verbose; protocol detail at debug. Strings from outside
 * (user names, commands, host names) go through log_str() first. */
#ifndef PIMGATE_LOG_H
#define PIMGATE_LOG_H

#include <stddef.h>

enum log_level {
	LL_ERROR = 0,
	LL_WARN,
	LL_INFO,
	LL_VERBOSE,
	LL_DEBUG,
};

void log_set_level(enum log_level level);
/* Whether log lines also go to syslog (syslog_out.h) while it is open;
 * off by default, since it may be open for audit events alone. */
void log_set_syslog(int on);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "verbose", "debug"; -1 if unknown. */
int log_level_parse(const char *name);
int log_enabled(enum log_level level);

void log_write(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LL_INFO, __func__, __VA_ARGS__)
#define log_verbose(...) log_write(LL_VERBOSE, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LL_DEBUG, __func__, __VA_ARGS__)

/* Escapes S for a log field: printable ASCII other than '"', '\\', '='
 * and space is kept, everything else becomes \xNN; at most 64 input bytes
 * are kept, longer input ends in "...". Writes into BUF (SIZE >= 8) and
 * returns BUF. NULL becomes "-". */
const char *log_str(const char *s, char *buf, size_t size);

#endif
