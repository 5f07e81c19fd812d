/* The process log: one line per event on standard error, written with a
 * single write(2) so lines from different places do not interleave. */
#include "pimgate/log.h"

#include "pimgate/syslog_out.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
#define LOG_STR_KEEP 64

/* Read by every thread that logs, changed by SIGHUP. */
static atomic_int log_level_cur = LL_INFO;
/* Whether log lines also go to syslog_out when it is open (it may be
 * open for audit events alone). */
static atomic_bool log_to_syslog;

static const char *const log_level_names[] = {
    [LL_ERROR] = "error",
    [LL_WARN] = "warn",
    [LL_INFO] = "info",
    [LL_VERBOSE] = "verbose",
    [LL_DEBUG] = "debug",
};

static const int log_syslog_severity[] = {
    [LL_ERROR] = LOG_ERR,
    [LL_WARN] = LOG_WARNING,
    [LL_INFO] = LOG_INFO,
    [LL_VERBOSE] = LOG_DEBUG,
    [LL_DEBUG] = LOG_DEBUG,
};

static const char *const log_level_tags[] = {
    [LL_ERROR] = "ERROR",
    [LL_WARN] = "WARN",
    [LL_INFO] = "INFO",
    [LL_VERBOSE] = "VERBOSE",
    [LL_DEBUG] = "DEBUG",
};

void
log_set_level(enum log_level level)
{
	if (level > LL_DEBUG)
		level = LL_DEBUG;
	atomic_store(&log_level_cur, (int)level);
}

void
log_set_syslog(int on)
{
	atomic_store(&log_to_syslog, on != 0);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_cur);
}

int
log_level_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]);
	     i++) {
		if (strcasecmp(name, log_level_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

int
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level_cur);
}

/* Writes the "2026-12-04T16:05:00.123Z" prefix; returns its length. */
static size_t
log_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return strlen(buf);
}

/* Keeps the event on one line whatever the message holds. */
static void
log_sanitize(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			s[i] = '?';
	}
}

void
log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t n, room, stamp;
	va_list ap;
	int r;

	if (level > LL_DEBUG || !log_enabled(level))
		return;
	n = log_timestamp(line, sizeof(line));
	stamp = n + 1;
	r = snprintf(line + n, sizeof(line) - n,
	    " %s %.64s: ", log_level_tags[level], func ? func : "-");
	n += r > 0 ? (size_t)r : 0;

	room = sizeof(line) - n - 1; /* keep one byte for the newline */
	va_start(ap, fmt);
	r = vsnprintf(line + n, room, fmt, ap);
	va_end(ap);
	if (r > 0 && (size_t)r >= room) {
		memcpy(line + sizeof(line) - 5, "...", 3);
		r = (int)room - 1;
	}
	if (r > 0) {
		log_sanitize(line + n, (size_t)r);
		n += (size_t)r;
	}
	line[n] = '\0';
	/* Syslog stamps its own time: the line from the level on. */
	if (atomic_load(&log_to_syslog))
		syslog_out_send(-1, log_syslog_severity[level], line + stamp);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return; /* nowhere left to report it */
}

/* Appends the escaped form of C at OUT; returns the bytes used. */
static size_t
log_str_char(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0xf];
	return 4;
}

const char *
log_str(const char *s, char *buf, size_t size)
{
	size_t i, pos = 0, len, keep, need = 0;
	char piece[4];

	if (s == NULL)
		s = "-";
	len = strlen(s);
	keep = len < LOG_STR_KEEP ? len : LOG_STR_KEEP;
	for (i = 0; i < keep; i++)
		need += log_str_char((unsigned char)s[i], piece);
	if (keep == len && need < size) {
		for (i = 0; i < keep; i++)
			pos += log_str_char((unsigned char)s[i], buf + pos);
		buf[pos] = '\0';
		return buf;
	}

	/* Too long: keep what fits before the "..." marker. */
	for (i = 0; i < keep; i++) {
		size_t k = log_str_char((unsigned char)s[i], piece);

		if (pos + k + 4 > size)
			break;
		memcpy(buf + pos, piece, k);
		pos += k;
	}
	memcpy(buf + pos, "...", 4);
	return buf;
}
