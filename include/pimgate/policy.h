/* Policy: the admission rule and activations. No sockets, no event loop;
 * time is always passed in, so every rule is testable with a fixed
 * clock. Reasons for people go out through REASON buffers: one line that
 * says what is missing. */
#ifndef PIMGATE_POLICY_H
#define PIMGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/store.h"

#define POLICY_REASON_MAX 256
/* At most this many warnings before a session's deadline. */
#define POLICY_NWARN_MAX 4

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
	/* Seconds before the deadline at which the person is warned, from
	 * the role's warn_before, largest first. */
	int64_t warn_before[POLICY_NWARN_MAX];
	int nwarn;
};

/* Parses a role's warn_before TEXT: "none" (or "") for no warning, else
 * 1 to POLICY_NWARN_MAX whole seconds > 0, comma-separated ("300,60").
 * Fills OUT largest first, a repeated value once, and sets *N. Returns
 * PIM_OK or PIM_EINVAL (*N then 0). */
int policy_warn_parse(const char *text, int64_t out[POLICY_NWARN_MAX], int *n);
/* Writes the seconds of WARN (N of them) as "300,60" into BUF, "none"
 * if N is 0. Returns false if BUF is too small. */
bool policy_warn_format(const int64_t *warn, int n, char *buf, size_t size);

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

/* Checks the TOTP CODE of USER_ID at NOW against SECRET (opened by the
 * caller), accepting one step of skew either way; a code whose step was
 * already used (or an older one) is refused: each code works once.
 * Returns PIM_OK, PIM_EDENIED with a reason ("the code is wrong or
 * expired", "this code was already used"), or PIM_ESTORE. */
int policy_totp_check(struct store *st, int64_t user_id,
    const unsigned char *secret, size_t len, const char *code, int64_t now,
    char *reason, size_t rlen);

/* An activation request, self-service or on behalf of USER. */
struct activation_request {
	const char *user;
	const char *role;
	int64_t now;
	int64_t start; /* 0 = now; later = scheduled */
	int64_t duration; /* secs */
	const char *reason;
	const char *ticket; /* NULL or "" if none */
	const char *requested_by; /* user name or "admin:LOGIN" */
	const char *otp; /* NULL if not given */
	/* USER's TOTP secret, opened by the caller; NULL if none. */
	const unsigned char *mfa_secret;
	size_t mfa_secret_len;
};

/* Applies the role's settings (eligibility window, maximum duration,
 * MFA, justification, ticket pattern, approvals, break-glass) to RQ and
 * records the activation: *STATE is ACT_ACTIVE, or ACT_PENDING when
 * approvals are needed. PIM_EDENIED with a one-line reason saying what is
 * missing ("role clients-db needs a ticket number matching INC-[0-9]+"),
 * PIM_ENOTFOUND for an unknown user or role, PIM_ESTORE. */
int policy_request_activation(struct store *st,
    const struct activation_request *rq, int64_t *id,
    enum store_act_state *state, char *reason, size_t rlen);

/* APPROVER approves or denies pending activation ID at NOW. The
 * requester never approves their own request; only the role's approvers
 * may; each approver counts once; a request past its approve_by is
 * denied. *STATE is the activation's state afterwards (active once the
 * role's number of distinct approvals is reached). */
int policy_approve(struct store *st, int64_t id, const char *approver,
    const char *why, int64_t now, enum store_act_state *state, char *reason,
    size_t rlen);
int policy_deny(struct store *st, int64_t id, const char *approver,
    const char *why, int64_t now, char *reason, size_t rlen);
/* True if USER may approve activations of ROLE (named in its approvers,
 * directly or through an active role they hold). */
int policy_may_approve(struct store *st, const struct store_role *role,
    const char *user, int64_t now, bool *may);

/* The owner ends or withdraws their own activation: deactivate (active ->
 * deactivated), cancel (pending -> cancelled); extend moves the end of an
 * active one by DURATION from now, within the role's maximum and subject
 * to the same checks as a new request (RQ carries reason, ticket, otp). */
int policy_deactivate(struct store *st, int64_t id, const char *user,
    int64_t now, char *reason, size_t rlen);
int policy_cancel(struct store *st, int64_t id, const char *user, int64_t now,
    char *reason, size_t rlen);
int policy_extend(struct store *st, int64_t id,
    const struct activation_request *rq, char *reason, size_t rlen);

/* Client certificates for PostgreSQL targets. */
#define POLICY_CERT_MAX_SECS (12 * 3600) /* longest validity, any grant */

/* Whether USER may have a client certificate for TARGET at NOW: TARGET
 * must be a postgres target and the admission rule must admit USER to it
 * now. On PIM_OK fills ADM and sets *NOT_AFTER to the end of the grant's
 * window (the activation's end, or a time-bound assignment's end), at
 * most NOW + POLICY_CERT_MAX_SECS. PIM_EDENIED, PIM_ENOTFOUND or
 * PIM_ESTORE with a reason for the person. */
int policy_cert_window(struct store *st, const char *user, const char *target,
    int64_t now, struct admission *adm, int64_t *not_after, char *reason,
    size_t rlen);
/* Whether the certificate with SERIAL, presented by a client that asks to
 * be USER on TARGET, is acceptable at NOW: issued by this bastion (a row
 * in the store), for USER and for TARGET, not revoked, not expired, and
 * the grant it was issued under (the activation, or the assignment) still
 * holds. The admission rule is checked separately. PIM_OK, or PIM_EDENIED
 * (or PIM_ESTORE) with a reason the person can act on. */
int policy_cert_accept(struct store *st, const char *serial, const char *user,
    const char *target, int64_t now, char *reason, size_t rlen);

/* Password hashing: Argon2id, encoded string with its own salt and
 * parameters. Returns PIM_OK or PIM_ERR. */
int policy_password_hash(const char *password, char *out, size_t size);
/* Returns PIM_OK if PASSWORD matches HASH, PIM_EDENIED if not. */
int policy_password_verify(const char *hash, const char *password);

#endif
