/* The audit trail: every decision and change, written to the store. */
#ifndef PIMGATE_AUDIT_H
#define PIMGATE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "pimgate/store.h"

/* Event names used across the product. */
#define AUDIT_LOGIN "login" /* authentication result */
#define AUDIT_ADMIT "admit" /* admission decision */
#define AUDIT_SESSION_START "session.start"
#define AUDIT_SESSION_END "session.end"
#define AUDIT_CHANNEL "channel" /* channel opened or refused */
#define AUDIT_HOSTKEY "upstream.hostkey" /* pinned key mismatch */
#define AUDIT_ADMIN "admin" /* a pimctl change */
#define AUDIT_CERT "cert.issue" /* a client certificate issued or refused */

/* Appends one event stamped with clock_now_ms(). Any field may be NULL or
 * 0. DETAIL is free text (a reason or the change made). Never pass
 * secrets. Returns PIM_OK or a store error (the caller fails closed). */
int audit_log(struct store *st, const char *actor, const char *event,
    const char *outcome, const char *user, const char *target, const char *role,
    int64_t session_id, const char *peer, const char *detail);

/* The hash of event A (id and prev_hash set), as the chain stores it. */
int audit_hash(const struct store_audit *a, char out[STORE_HASH_MAX]);

/* What audit_verify found. */
struct audit_check {
	int64_t chained; /* events checked on the chain */
	int64_t unchained; /* events written before the chain began */
	int64_t last_id;
	char head[STORE_HASH_MAX]; /* the newest event's hash */
	int64_t broken_id; /* the first event where the chain breaks */
	char why[160];
};

/* Recomputes the whole chain. PIM_OK if it holds; PIM_EDENIED with
 * RES->broken_id and RES->why naming the first event that was changed,
 * removed or inserted; a store error. A removed tail is not seen. */
int audit_verify(struct store *st, struct audit_check *res);

#endif
