/* Policy: the admission rule and activations. No sockets, no event loop;
 * time is always passed in, so every rule is testable with a fixed
 * clock. Reasons for people go out through REASON buffers: one line that
 * says what is missing. */
#ifndef PIMGATE_POLICY_H
#define PIMGATE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "pimgate/store.h"

#define POLICY_REASON_MAX 256

/* What an admission grants: under which role, by which assignment or
 * activation, until when. */
struct admission {
	int64_t user_id;
	int64_t target_id;
	int64_t role_id;
	char role[STORE_NAME_MAX];
	int64_t assignment_id; /* set when admitted by an active assignment */
	int64_t activation_id; /* set when admitted by an activation */
	int64_t deadline; /* earliest of window ends and max session */
	int64_t idle_timeout; /* secs, 0 = none */
	unsigned channels; /* enum store_channel bits of the role */
};

/* The admission rule (docs: PRODUCT.md): USER may reach TARGET at NOW only
 * if USER is enabled, a role grants TARGET, and USER holds an active
 * assignment of that role whose window contains NOW, or an activation of
 * it in state active whose window contains NOW. Among several grants the
 * one with the latest deadline wins. START is the session's start (for
 * the role's maximum session length), normally NOW.
 *
 * Returns PIM_OK and fills OUT; PIM_EDENIED with a reason ("no active
 * role grants target host1; activate one first"); PIM_ESTORE (fail
 * closed) with a reason too. */
int policy_admit(struct store *st, const char *user, const char *target,
    int64_t now, struct admission *out, char *reason, size_t rlen);

/* Re-checks a live session admitted as CUR (started at START) after the
 * store changed. Returns PIM_OK with NEXT filled (the deadline may have
 * moved) if the grant that admitted it still holds, else PIM_EDENIED with
 * *END_REASON set to "revoked" or "expired" and a reason for the person;
 * PIM_ESTORE on store failure. */
int policy_recheck(struct store *st, const struct admission *cur, int64_t start,
    int64_t now, struct admission *next, const char **end_reason, char *reason,
    size_t rlen);

/* Activates ROLE for USER for DURATION seconds from NOW with REASON,
 * on behalf of REQUESTED_BY. Needs an eligible assignment of ROLE whose
 * window contains NOW, DURATION <= role's max activation; the window is
 * clipped to a time-bound assignment's end. Sets *ID. PIM_EDENIED with a
 * reason, PIM_ENOTFOUND for an unknown user or role (reason set). */
int policy_activate(struct store *st, const char *user, const char *role,
    int64_t now, int64_t duration, const char *why, const char *requested_by,
    int64_t *id, char *reason, size_t rlen);

/* The state of A at NOW: an active activation whose end has passed is
 * expired, even before the store has been updated. */
enum store_act_state policy_activation_state(
    const struct store_activation *a, int64_t now);

/* Password hashing: Argon2id, encoded string with its own salt and
 * parameters. Returns PIM_OK or PIM_ERR. */
int policy_password_hash(const char *password, char *out, size_t size);
/* Returns PIM_OK if PASSWORD matches HASH, PIM_EDENIED if not. */
int policy_password_verify(const char *hash, const char *password);

#endif
