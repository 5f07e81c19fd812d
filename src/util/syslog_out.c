/* The non-blocking syslog client: one unconnected datagram socket, each
 * message addressed to the configured path. */
#include "pimgate/syslog_out.h"

#include "pimgate/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_MSG_MAX 1900
#define SYSLOG_IDENT_MAX 32

struct syslog_out {
	pthread_mutex_t lock;
	int fd; /* -1 when closed */
	int facility;
	char ident[SYSLOG_IDENT_MAX];
	struct sockaddr_un addr;
	socklen_t addrlen;
};

static struct syslog_out so = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = -1,
};
static atomic_uint_fast64_t so_dropped;

static const struct {
	const char *name;
	int code;
} syslog_facilities[] = {
    {"daemon", LOG_DAEMON},
    {"auth", LOG_AUTH},
    {"authpriv", LOG_AUTHPRIV},
    {"user", LOG_USER},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

int
syslog_out_facility(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0;
	     i < sizeof(syslog_facilities) / sizeof(syslog_facilities[0]);
	     i++) {
		if (strcasecmp(name, syslog_facilities[i].name) == 0)
			return syslog_facilities[i].code;
	}
	return -1;
}

static int
syslog_out_socket(const char *path, struct sockaddr_un *addr,
    socklen_t *addrlen, char *err, size_t errlen)
{
	int fd;

	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "syslog socket path too long: %s", path);
		return -1;
	}
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	strcpy(addr->sun_path, path);
	*addrlen = (socklen_t)sizeof(*addr);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		snprintf(err, errlen, "cannot make a syslog socket: %s",
		    strerror(errno));
	return fd;
}

int
syslog_out_open(
    const char *path, int facility, const char *ident, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	socklen_t addrlen;
	int fd, old;

	if (path == NULL || *path == '\0' || facility < 0 || ident == NULL) {
		snprintf(
		    err, errlen, "syslog: socket path and facility needed");
		return PIM_EINVAL;
	}
	fd = syslog_out_socket(path, &addr, &addrlen, err, errlen);
	if (fd < 0)
		return PIM_EIO;
	pthread_mutex_lock(&so.lock);
	old = so.fd;
	so.fd = fd;
	so.facility = facility;
	so.addr = addr;
	so.addrlen = addrlen;
	snprintf(so.ident, sizeof(so.ident), "%s", ident);
	pthread_mutex_unlock(&so.lock);
	if (old >= 0)
		close(old);
	return PIM_OK;
}

void
syslog_out_close(void)
{
	int old;

	pthread_mutex_lock(&so.lock);
	old = so.fd;
	so.fd = -1;
	pthread_mutex_unlock(&so.lock);
	if (old >= 0)
		close(old);
}

int
syslog_out_active(void)
{
	int on;

	pthread_mutex_lock(&so.lock);
	on = so.fd >= 0;
	pthread_mutex_unlock(&so.lock);
	return on;
}

/* "<PRI>Mmm dd hh:mm:ss IDENT[PID]: " */
static size_t
syslog_out_header(char *buf, size_t size, int pri, const char *ident)
{
	struct tm tm;
	time_t now = time(NULL);
	char ts[32];
	int n;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	n = snprintf(
	    buf, size, "<%d>%s %s[%ld]: ", pri, ts, ident, (long)getpid());
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

void
syslog_out_send(int facility, int severity, const char *msg)
{
	char buf[SYSLOG_MSG_MAX + 128];
	size_t n, i, len;
	ssize_t w;

	pthread_mutex_lock(&so.lock);
	if (so.fd < 0) {
		pthread_mutex_unlock(&so.lock);
		return;
	}
	if (facility < 0)
		facility = so.facility;
	n = syslog_out_header(
	    buf, sizeof(buf), facility | (severity & LOG_PRIMASK), so.ident);
	len = strnlen(msg, SYSLOG_MSG_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	w = sendto(so.fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&so.addr, so.addrlen);
	pthread_mutex_unlock(&so.lock);
	if (w < 0)
		atomic_fetch_add(&so_dropped, 1);
}

uint64_t
syslog_out_dropped(void)
{
	return atomic_load(&so_dropped);
}
