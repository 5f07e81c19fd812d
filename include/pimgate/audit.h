/* The audit trail: every decision and change, written to the store. */
#ifndef PIMGATE_AUDIT_H
#define PIMGATE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
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
 * removed or inserted, or a column stored otherwise than the hash reads
 * it; a store error. A removed tail shows only while the store's id
 * sequence still counts it (checkpoints show it for good). */
int audit_verify(struct store *st, struct audit_check *res);

/* ---- the bastion's Ed25519 signing key (key.c) ---- */

/* A private key that signs checkpoints, or a public key that checks
 * them. */
struct audit_key;

/* Writes a new Ed25519 private key to PATH (PEM, PKCS#8, 0600). PIM_OK,
 * PIM_EEXIST if PATH exists, PIM_EIO or PIM_ECRYPTO with a reason in
 * ERR. */
int audit_key_create(const char *path, char *err, size_t errlen);
/* Loads the private key at PATH, refusing a file that is not a regular
 * owner-only file. PIM_OK, PIM_ENOTFOUND (no such file), PIM_EINVAL,
 * PIM_EIO or PIM_ECRYPTO, with a reason in ERR. */
int audit_key_load(
    const char *path, struct audit_key **out, char *err, size_t errlen);
/* Loads a public key (PEM, as audit_key_public_pem writes it) that only
 * checks signatures. Same returns as audit_key_load. */
int audit_key_load_public(
    const char *path, struct audit_key **out, char *err, size_t errlen);
void audit_key_free(struct audit_key *k);
/* The key's id: the first 8 bytes of the SHA-256 of its raw public key,
 * in hex. Owned by K. */
const char *audit_key_id(const struct audit_key *k);
/* The public key in PEM, malloc'd (the caller frees); NULL if out of
 * memory. */
char *audit_key_public_pem(const struct audit_key *k);

/* ---- signed checkpoints of the chain's head (checkpoint.c) ---- */

/* The text a checkpoint line starts with, in the log and on syslog. */
#define AUDIT_CHECKPOINT_TAG "audit checkpoint"
/* Room for a checkpoint line. */
#define AUDIT_CHECKPOINT_LINE_MAX 400

/* Room for the reason audit_checkpoint_take gives for a refusal. */
#define AUDIT_CHECKPOINT_WHY_MAX 400

/* Takes a checkpoint of the chain's head now, signs it with K (a
 * private key) and stores it, filling CP. The head must extend the
 * newest stored checkpoint: that one signed by K and unchanged, its head
 * event still there with the hash and count signed, and every event
 * since on the chain. A store without one (or whose newest checkpoint is
 * another key's) gets a first checkpoint only if FIRST, and only if the
 * whole chain holds and its head has a hash. PIM_OK; PIM_EEXIST if the
 * newest checkpoint already names the head (CP is that one, nothing
 * stored);
 * PIM_EDENIED with a one-line reason in WHY (WHYLEN bytes, WHY may be
 * NULL); PIM_ECRYPTO; a store error. */
int audit_checkpoint_take(struct store *st, const struct audit_key *k,
    bool first, struct store_checkpoint *cp, char *why, size_t whylen);
/* Signs CP's head_id, head_hash, count and ts_ms with K, setting key_id
 * and sig. PIM_OK or PIM_ECRYPTO. */
int audit_checkpoint_sign(
    const struct audit_key *k, struct store_checkpoint *cp);
/* PIM_OK if CP carries K's valid signature; PIM_EDENIED if it does not
 * (changed, forged, or signed by another key); PIM_ECRYPTO. */
int audit_checkpoint_check(
    const struct audit_key *k, const struct store_checkpoint *cp);
/* Writes CP as one line of key=value fields, starting with
 * AUDIT_CHECKPOINT_TAG. */
void audit_checkpoint_line(
    const struct store_checkpoint *cp, char *buf, size_t size);
/* Reads the checkpoint in LINE (a log or syslog line holding what
 * audit_checkpoint_line wrote, after any prefix). PIM_OK, PIM_ENOTFOUND
 * if LINE holds no checkpoint, PIM_EINVAL if it holds a malformed
 * one. */
int audit_checkpoint_parse(const char *line, struct store_checkpoint *cp);

/* ---- checking checkpoints against the trail (checkpoint_verify.c) ---- */

/* Called with one line per problem found. */
typedef void (*audit_finding_fn)(const char *finding, void *arg);

struct audit_cp_check {
	int64_t checked; /* checkpoints whose signature was checked */
	int64_t valid; /* of them, signed by the key and matching the trail */
	int64_t findings;
	struct store_checkpoint newest; /* the newest valid one, if any */
	int64_t unsigned_events; /* events after its head: none vouches */
};

/* Checks every stored checkpoint and each of EXTRA (NEXTRA checkpoints
 * read from copies of the log; validly signed ones missing from the
 * store or different there are findings): each must be signed by K,
 * and the event it names must be in the trail with that hash and that
 * many events up to it. A checkpoint naming an event past the trail's
 * end reports the truncated tail. Also findings: no checkpoint at all,
 * an id missing from the stored ones, an event without a hash after a
 * signed head. K may be NULL only when there is nothing to check with
 * it (each checkpoint found is then a finding). Calls FINDING for each
 * problem. PIM_OK if none, PIM_EDENIED if any, a store error,
 * PIM_ENOMEM, PIM_ECRYPTO. */
int audit_verify_checkpoints(struct store *st, const struct audit_key *k,
    const struct store_checkpoint *extra, size_t nextra,
    audit_finding_fn finding, void *arg, struct audit_cp_check *res);

/* ---- one event as a line (line.c) ---- */

/* Room for an event line; longer details are cut. */
#define AUDIT_LINE_MAX 1800

/* Writes A as one line of key=value fields (text values quoted, '"' and
 * '\\' escaped, control bytes as \xNN) for syslog: "audit id=12
 * time=... event=... hash=...". */
void audit_event_line(const struct store_audit *a, char *buf, size_t size);

#endif
