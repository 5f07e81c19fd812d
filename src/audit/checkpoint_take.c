/* Taking a checkpoint: the bastion signs a head only when the trail
 * extends what it signed before.
 *
 * Whoever can write the database but lacks the key could otherwise
 * rewrite the trail (strip or recompute the unkeyed chain, delete the
 * checkpoint rows) and wait for the next checkpoint to vouch for it. So
 * the newest stored checkpoint is the anchor: its signature must be
 * ours, its head event must still be there with the hash signed and
 * that many events up to it, and every event since must be on the chain
 * (ids in sequence, each linking to the one before and hashing to what
 * it stores). Only those events are read, so a take stays cheap.
 *
 * A store with no checkpoint has nothing to extend: its first one is
 * taken only when the caller says so (pimctl init, pimctl audit
 * checkpoint --first, the daemon that has just made the key), after the
 * whole chain is checked. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"

/* Events read per query while walking those since the anchor. */
#define TAKE_BATCH 256

struct take {
	struct store *st;
	const struct audit_key *k;
	struct store_checkpoint last; /* the newest stored checkpoint */
	bool have_last;
	int64_t event_seq, ckpt_seq; /* ids handed out (sqlite_sequence) */
	/* The walk: the newest event accepted, and the count up to it. */
	int64_t head_id, count;
	char head_hash[STORE_HASH_MAX];
	int64_t batch; /* events seen in the current batch */
	char fail[200]; /* why the walk stopped */
	char *why;
	size_t whylen;
};

static void take_why(struct take *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
take_why(struct take *t, const char *fmt, ...)
{
	va_list ap;

	if (t->why == NULL || t->whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, t->whylen, fmt, ap);
	va_end(ap);
}

/* Refuses to sign: the trail does not extend the newest checkpoint for
 * the reason in T->fail. */
static int
take_refuse(struct take *t)
{
	take_why(t,
	    "the audit trail does not extend checkpoint #%" PRId64
	    " (%s): run pimctl audit verify",
	    t->last.id, t->fail);
	return PIM_EDENIED;
}

static int
take_newest_cb(const struct store_checkpoint *cp, void *arg)
{
	struct take *t = arg;

	/* Oldest first: the last one seen is the newest. */
	t->last = *cp;
	t->have_last = true;
	return 0;
}

/* Reads the id sequences, then the newest checkpoint: read in this
 * order, a checkpoint or event added meanwhile by another writer only
 * moves past what the sequence said. */
static int
take_read_anchor(struct take *t)
{
	int r;

	r = store_audit_sequences(t->st, &t->event_seq, &t->ckpt_seq);
	if (r == PIM_OK)
		r = store_checkpoint_list(t->st, take_newest_cb, t);
	return r;
}

/* Whether the newest checkpoint is one of ours, unchanged; fills
 * T->fail if not. PIM_OK, PIM_EDENIED or PIM_ECRYPTO. */
static int
take_check_anchor(struct take *t)
{
	const struct store_checkpoint *cp = &t->last;
	int r;

	if (cp->mismatch != NULL) {
		snprintf(t->fail, sizeof(t->fail), "its %s column was changed",
		    cp->mismatch);
		return PIM_EDENIED;
	}
	if (strcmp(cp->key_id, audit_key_id(t->k)) != 0) {
		snprintf(t->fail, sizeof(t->fail),
		    "it is signed by key %s, not by this key %s",
		    cp->key_id[0] ? cp->key_id : "-", audit_key_id(t->k));
		return PIM_EDENIED;
	}
	r = audit_checkpoint_check(t->k, cp);
	if (r == PIM_EDENIED)
		snprintf(t->fail, sizeof(t->fail),
		    "its signature is bad: it was changed or forged");
	return r;
}

/* Checkpoint ids are never handed out twice: one past the newest row
 * was deleted, with whatever it vouched for. */
static bool
take_ckpts_deleted(struct take *t)
{
	int64_t newest = t->have_last ? t->last.id : 0;

	if (t->ckpt_seq <= newest)
		return false;
	snprintf(t->fail, sizeof(t->fail),
	    "checkpoints after it, up to #%" PRId64 ", were deleted",
	    t->ckpt_seq);
	return true;
}

static int
take_head_cb(const struct store_audit *a, void *arg)
{
	struct take *t = arg;
	char expect[STORE_HASH_MAX];

	t->batch++;
	if (a->id != t->last.head_id)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " it signed is missing", t->last.head_id);
	else if (a->mismatch != NULL || strcmp(a->hash, t->last.head_hash) != 0)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " it signed was changed: its hash is "
		    "not the one signed",
		    a->id);
	else if (a->hash[0] != '\0' && (audit_hash(a, expect) != PIM_OK ||
					   strcmp(expect, a->hash) != 0))
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " it signed was changed: its content "
		    "does not match its hash",
		    a->id);
	return t->fail[0] != '\0';
}

/* The anchor's head event, unchanged, with as many events up to it as
 * it counted. PIM_OK, PIM_EDENIED (T->fail says why) or a store
 * error. */
static int
take_check_head(struct take *t)
{
	int64_t n = 0;
	int r;

	t->head_id = t->last.head_id;
	t->count = t->last.count;
	memcpy(t->head_hash, t->last.head_hash, sizeof(t->head_hash));
	if (t->last.head_id > 0) {
		t->batch = 0;
		r = store_audit_since_id(
		    t->st, t->last.head_id - 1, 1, take_head_cb, t);
		if (r == PIM_OK && t->batch == 0)
			snprintf(t->fail, sizeof(t->fail),
			    "event #%" PRId64 " it signed is missing",
			    t->last.head_id);
		if (r != PIM_OK && r != 1)
			return r;
		if (t->fail[0] != '\0')
			return PIM_EDENIED;
	}
	r = store_audit_count(t->st, 0, t->last.head_id, &n);
	if (r != PIM_OK)
		return r;
	if (n != t->last.count) {
		snprintf(t->fail, sizeof(t->fail),
		    "it counted %" PRId64 " events up to event #%" PRId64
		    ", the trail holds %" PRId64,
		    t->last.count, t->last.head_id, n);
		return PIM_EDENIED;
	}
	return PIM_OK;
}

/* One event after the anchor: it must be the next id, carry a hash,
 * link to the event before it and hash to what it stores. */
static int
take_walk_cb(const struct store_audit *a, void *arg)
{
	struct take *t = arg;
	char expect[STORE_HASH_MAX];

	t->batch++;
	if (a->id != t->head_id + 1)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " does not follow event #%" PRId64
		    ": events between them were removed",
		    a->id, t->head_id);
	else if (a->mismatch != NULL)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " was changed: its %s column is not "
		    "stored as pimgate writes it",
		    a->id, a->mismatch);
	else if (a->hash[0] == '\0')
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " has no hash", a->id);
	else if (strcmp(a->prev_hash, t->head_hash) != 0)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " does not link to event #%" PRId64,
		    a->id, t->head_id);
	else if (audit_hash(a, expect) != PIM_OK ||
		 strcmp(expect, a->hash) != 0)
		snprintf(t->fail, sizeof(t->fail),
		    "event #%" PRId64 " was changed: its content does not "
		    "match its hash",
		    a->id);
	if (t->fail[0] != '\0')
		return 1; /* stop */
	t->head_id = a->id;
	t->count++;
	memcpy(t->head_hash, a->hash, sizeof(t->head_hash));
	return 0;
}

/* Walks every event after the anchor's head, in batches. PIM_OK,
 * PIM_EDENIED (T->fail says why) or a store error. */
static int
take_walk(struct take *t)
{
	int r;

	do {
		t->batch = 0;
		r = store_audit_since_id(
		    t->st, t->head_id, TAKE_BATCH, take_walk_cb, t);
		if (r == 1)
			return PIM_EDENIED;
		if (r != PIM_OK)
			return r;
	} while (t->batch == TAKE_BATCH);
	/* The sequence was read before the walk: ids it handed out that
	 * the walk did not reach were deleted from the end. */
	if (t->event_seq > t->head_id) {
		snprintf(t->fail, sizeof(t->fail),
		    "events after #%" PRId64 " were removed: the store handed "
		    "out ids up to #%" PRId64,
		    t->head_id, t->event_seq);
		return PIM_EDENIED;
	}
	return PIM_OK;
}

/* The new head extends the anchor: fills CP's head, hash and count.
 * PIM_EEXIST if the head has not moved. */
static int
take_extend(struct take *t, struct store_checkpoint *cp)
{
	int r;

	r = take_check_anchor(t);
	if (r == PIM_OK && take_ckpts_deleted(t))
		r = PIM_EDENIED;
	if (r == PIM_OK)
		r = take_check_head(t);
	if (r == PIM_OK)
		r = take_walk(t);
	if (r == PIM_EDENIED)
		return take_refuse(t);
	if (r != PIM_OK)
		return r;
	if (t->head_id == t->last.head_id) {
		*cp = t->last;
		return PIM_EEXIST;
	}
	cp->head_id = t->head_id;
	cp->count = t->count;
	memcpy(cp->head_hash, t->head_hash, sizeof(cp->head_hash));
	return PIM_OK;
}

/* A first checkpoint: the whole chain must hold, and its head must have
 * a hash (a stripped trail is never signed). */
static int
take_first(struct take *t, struct store_checkpoint *cp)
{
	struct audit_check res;
	int r;

	if (take_ckpts_deleted(t)) {
		take_why(t,
		    "no first audit checkpoint: %s: run pimctl audit verify",
		    t->fail);
		return PIM_EDENIED;
	}
	r = audit_verify(t->st, &res);
	if (r == PIM_EDENIED) {
		take_why(t,
		    "no first audit checkpoint: event #%" PRId64
		    " %s: run pimctl audit verify",
		    res.broken_id, res.why);
		return r;
	}
	if (r != PIM_OK)
		return r;
	if (res.last_id > 0 && res.head[0] == '\0') {
		take_why(t,
		    "no first audit checkpoint: the newest event #%" PRId64
		    " has no hash (the chain is missing): run pimctl audit "
		    "verify",
		    res.last_id);
		return PIM_EDENIED;
	}
	cp->head_id = res.last_id;
	cp->count = res.chained + res.unchained;
	memcpy(cp->head_hash, res.head, sizeof(cp->head_hash));
	return PIM_OK;
}

/* Whether a first checkpoint may be taken: none stored, or (the key
 * was replaced) the newest one is signed by another key. */
static bool
take_may_start(const struct take *t, bool first)
{
	if (!first)
		return false;
	return !t->have_last || strcmp(t->last.key_id, audit_key_id(t->k)) != 0;
}

int
audit_checkpoint_take(struct store *st, const struct audit_key *k, bool first,
    struct store_checkpoint *cp, char *why, size_t whylen)
{
	struct take t = {.st = st, .k = k, .why = why, .whylen = whylen};
	int r;

	memset(cp, 0, sizeof(*cp));
	take_why(&t, "%s", "");
	r = take_read_anchor(&t);
	if (r != PIM_OK)
		return r;
	if (take_may_start(&t, first))
		r = take_first(&t, cp);
	else if (t.have_last)
		r = take_extend(&t, cp);
	else {
		take_why(&t,
		    "the store holds no audit checkpoint to extend: run "
		    "pimctl audit verify; only a store that predates "
		    "checkpoints takes its first with pimctl audit checkpoint "
		    "--first");
		r = PIM_EDENIED;
	}
	if (r != PIM_OK)
		return r;
	cp->ts_ms = clock_now_ms();
	r = audit_checkpoint_sign(k, cp);
	if (r != PIM_OK)
		return r;
	return store_checkpoint_add(st, cp);
}
