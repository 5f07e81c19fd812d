/* A syslog client that never waits: RFC 3164 datagrams to a local socket
 * (/dev/log by default), sent with MSG_DONTWAIT. A message the syslog
 * daemon cannot take at once is dropped and counted, so a stuck syslog
 * never stalls the event loop. Safe to call from any thread. */
#ifndef PIMGATE_SYSLOG_OUT_H
#define PIMGATE_SYSLOG_OUT_H

#include <stddef.h>
#include <stdint.h>

/* Facility codes as in <syslog.h> (LOG_DAEMON, LOG_AUTHPRIV, ...). */
/* Parses "daemon", "auth", "authpriv", "user", "local0".."local7" into
 * the facility code; -1 if unknown. */
int syslog_out_facility(const char *name);

/* Starts sending to the datagram socket at PATH with FACILITY (a code
 * from syslog_out_facility) as the default and IDENT as the tag.
 * Replaces an earlier setup (SIGHUP). Returns PIM_OK, or PIM_EINVAL /
 * PIM_EIO with a one-line reason in ERR. The socket need not exist yet:
 * a message sent while it is missing is dropped. */
int syslog_out_open(const char *path, int facility, const char *ident,
    char *err, size_t errlen);
/* Stops sending. */
void syslog_out_close(void);
/* Whether syslog_out_open is in effect. */
int syslog_out_active(void);

/* Sends MSG (one line; control bytes become '?') with SEVERITY (LOG_ERR
 * .. LOG_DEBUG) and FACILITY, or the default facility when FACILITY is
 * -1. Longer than 1900 bytes: cut. Does nothing when not open. */
void syslog_out_send(int facility, int severity, const char *msg);

/* Messages dropped because the socket was missing or full. */
uint64_t syslog_out_dropped(void);

#endif
