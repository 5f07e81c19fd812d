/* Notifications: the daemon follows the audit log (written by pimctl,
 * self-service and the daemon alike) and, for each activation request,
 * approval, denial, activation, revocation, expiry and break-glass use,
 * runs the configured [notify] command with a JSON document on its
 * standard input. Commands run in the background, at most a few at once,
 * each bounded by [notify] timeout; the loop never waits for them. */
#ifndef PIMGATE_NOTIFY_H
#define PIMGATE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "pimgate/config.h"
#include "pimgate/store.h"

struct event_base;
struct notify;

/* Event names on the "event" field of the JSON document. */
#define NOTIFY_REQUESTED "activation.requested"
#define NOTIFY_APPROVED "activation.approved"
#define NOTIFY_DENIED "activation.denied"
#define NOTIFY_ACTIVE "activation.active"
#define NOTIFY_REVOKED "activation.revoked"
#define NOTIFY_EXPIRED "activation.expired"
#define NOTIFY_BREAKGLASS "breakglass.used"
/* Ended early by its owner; a request withdrawn (self-service). */
#define NOTIFY_DEACTIVATED "activation.deactivated"
#define NOTIFY_CANCELLED "activation.cancelled"

/* What one audit event means for notifications: up to two event names
 * (an approval that makes the activation active is also
 * "activation.active") and the activation it is about. */
struct notify_kind {
	const char *events[2]; /* NULL when unused */
	int64_t activation_id; /* 0 if the detail names none */
	bool break_glass;
};

/* Fills K for audit event A; returns false if A needs no notification
 * (another event, a refusal, a detail it does not know). */
bool notify_classify(const struct store_audit *a, struct notify_kind *k);

/* A notifier for CFG's [notify] command (which must be set) reading ST
 * on BASE. CFG and ST must outlive it. NULL if out of memory. */
struct notify *notify_new(
    struct event_base *base, struct store *st, const struct config *cfg);
/* Starts following the audit log from its newest event (history is not
 * replayed), polling every [server] store_poll_ms. PIM_OK, PIM_ESTORE or
 * PIM_ENOMEM. */
int notify_start(struct notify *n);
/* SIGHUP changed CFG: takes its [notify] command (which must still be
 * set) and timeout for later runs, and its store poll. PIM_OK or
 * PIM_ENOMEM. */
int notify_reconfigure(struct notify *n);
/* Stops polling, sends SIGTERM to commands still running (without
 * waiting for them) and drops the queue. NULL is allowed. */
void notify_free(struct notify *n);

#endif
