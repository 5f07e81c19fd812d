/* The audit trail: every decision and change, written to the store. */
#ifndef PIMGATE_AUDIT_H
#define PIMGATE_AUDIT_H

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

#endif
