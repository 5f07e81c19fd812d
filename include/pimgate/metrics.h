/* Metrics: counters, gauges and histograms for monitoring, written out
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * The families are fixed here, and every label value comes from a table
 * in the code (protocols, directions, reasons, methods, states), never
 * from outside: no user, target, peer address or command ever becomes a
 * label, so what is exposed stays small and private.
 *
 * Threads: every recording function may be called from any thread at
 * any time (C11 atomics, no locks); the recording writer thread counts
 * bytes while the loop counts sessions. Rendering reads the atomics one
 * by one, so a scrape taken while things move is a near-instant view;
 * the buckets of one histogram always add up to its count. */
#ifndef PIMGATE_METRICS_H
#define PIMGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum metrics_proto {
	METRICS_SSH,
	METRICS_POSTGRES,
	METRICS_PROTO_N,
};

/* Why a connection was turned away before it could relay. */
enum metrics_refusal {
	METRICS_REFUSED_CAPACITY, /* too many connections logging in */
	METRICS_REFUSED_AUTH, /* authentication failed */
	METRICS_REFUSED_ADMISSION, /* the admission rule said no */
	METRICS_REFUSED_RECORDING, /* the recordings disk is full */
	METRICS_REFUSED_PROTOCOL, /* not speaking the protocol right */
	METRICS_REFUSED_RATE, /* over the password budget */
	METRICS_REFUSED_STORE, /* the store could not answer */
	METRICS_REFUSED_TIMEOUT, /* the login took too long */
	METRICS_REFUSED_SHUTDOWN, /* the bastion is stopping */
	METRICS_REFUSAL_N,
};

enum metrics_auth {
	METRICS_AUTH_PASSWORD,
	METRICS_AUTH_PUBLICKEY,
	METRICS_AUTH_TOTP,
	METRICS_AUTH_CERTIFICATE,
	METRICS_AUTH_N,
};

enum metrics_direction {
	METRICS_CLIENT_TO_TARGET,
	METRICS_TARGET_TO_CLIENT,
	METRICS_DIRECTION_N,
};

/* Activation states, in the order of the store's (ACT_PENDING is 1). */
enum metrics_act_state {
	METRICS_ACT_PENDING,
	METRICS_ACT_ACTIVE,
	METRICS_ACT_EXPIRED,
	METRICS_ACT_REVOKED,
	METRICS_ACT_DEACTIVATED,
	METRICS_ACT_DENIED,
	METRICS_ACT_CANCELLED,
	METRICS_ACT_N,
};

enum metrics_notify_failure {
	METRICS_NOTIFY_START, /* the command could not be started */
	METRICS_NOTIFY_EXIT, /* it exited with a non-zero status */
	METRICS_NOTIFY_SIGNAL, /* it was ended by a signal */
	METRICS_NOTIFY_TIMEOUT, /* it ran past [notify] timeout */
	METRICS_NOTIFY_DROPPED, /* the queue was full: never run */
	METRICS_NOTIFY_N,
};

/* "ssh" -> METRICS_SSH, "postgres" -> METRICS_POSTGRES; anything else
 * METRICS_PROTO_N (then counted nowhere). */
enum metrics_proto metrics_proto_of(const char *protocol);

void metrics_connection_accepted(enum metrics_proto p);
void metrics_connection_refused(enum metrics_proto p, enum metrics_refusal r);
/* The monitoring listener's own connections, shown as protocol="http"
 * in the two connection families only (it has no logins, sessions or
 * relayed bytes): one taken in, or one closed at once because the
 * listener had as many open as it takes (reason "capacity", the only
 * refusal it has). */
void metrics_http_accepted(void);
void metrics_http_refused_capacity(void);
void metrics_auth_failure(enum metrics_proto p, enum metrics_auth m);

/* A session began (live gauge up) or ended with REASON (a session end
 * reason from session.h; others are counted as "other") after SECS
 * seconds (live gauge down, never below zero). */
void metrics_session_started(enum metrics_proto p);
void metrics_session_ended(
    enum metrics_proto p, const char *reason, double secs);
/* The bastion asked a session to end with REASON (expired, revoked,
 * idle, killed, shutdown, ...). */
void metrics_session_kill(const char *reason);
/* A session ended by expiry, revocation or kill closed SECS seconds
 * after its deadline (or after the end was decided). */
void metrics_session_kill_lag(double secs);
void metrics_relayed(
    enum metrics_proto p, size_t client_to_target, size_t target_to_client);

/* Bytes of recordings (terminal and query logs) that reached the disk;
 * a recording that could not be created or written. */
void metrics_recording_written(size_t bytes);
void metrics_recording_error(void);
/* A store call failed; BUSY if the database was locked. */
void metrics_store_error(bool busy);
void metrics_notify_failure(enum metrics_notify_failure why);

/* Gauges read from the store at scrape time by the HTTP module: the
 * number of activations in each state, and requests awaiting approval. */
void metrics_set_activations(const int64_t counts[METRICS_ACT_N]);
void metrics_set_requests_pending(int64_t n);

/* Writes the whole exposition (all families, then the process_ metrics
 * read from /proc/self) into a malloc'd buffer: *OUT (NUL-terminated,
 * the caller frees it) and *LEN. PIM_OK or PIM_ENOMEM. */
int metrics_render(char **out, size_t *len);

/* Escapes SRC as a label value (backslash, double quote and line feed
 * become \\, \" and \n) into DST of SIZE bytes, always terminated;
 * returns false if it did not fit. */
bool metrics_escape_label(char *dst, size_t size, const char *src);

/* Sets every metric back to zero (tests). */
void metrics_reset(void);

#endif
