/* The audit trail's hash chain. An event's hash is SHA-256 over its
 * canonical content: a version tag, its id, time and session id in
 * decimal, then each text field as "LENGTH:BYTES", then the previous
 * event's hash. Changing, removing or inserting an event breaks the
 * chain at that point; audit_verify finds the first break. The hash
 * covers the fields as the store reads them, so a column stored as
 * something they do not hold in full (the store notes it) is a change
 * too; and ids handed out past the newest event show a cut tail. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "pimgate/audit.h"
#include "pimgate/err.h"

#define CHAIN_TAG "pimgate-audit-v1"

static int
chain_text(EVP_MD_CTX *md, const char *s)
{
	char len[24];
	size_t n = strlen(s);

	snprintf(len, sizeof(len), "%zu:", n);
	return EVP_DigestUpdate(md, len, strlen(len)) == 1 &&
	       EVP_DigestUpdate(md, s, n) == 1;
}

int
audit_hash(const struct store_audit *a, char out[STORE_HASH_MAX])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32];
	unsigned int hlen = 0;
	char nums[96];
	int ok;

	if (md == NULL)
		return PIM_ENOMEM;
	snprintf(nums, sizeof(nums), "%" PRId64 "\n%" PRId64 "\n%" PRId64 "\n",
	    a->id, a->ts_ms, a->session_id);
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     chain_text(md, CHAIN_TAG) &&
	     EVP_DigestUpdate(md, nums, strlen(nums)) == 1 &&
	     chain_text(md, a->actor) && chain_text(md, a->event) &&
	     chain_text(md, a->outcome) && chain_text(md, a->user) &&
	     chain_text(md, a->target) && chain_text(md, a->role) &&
	     chain_text(md, a->peer) && chain_text(md, a->detail) &&
	     chain_text(md, a->prev_hash) &&
	     EVP_DigestFinal_ex(md, h, &hlen) == 1 && hlen == sizeof(h);
	EVP_MD_CTX_free(md);
	if (!ok)
		return PIM_ECRYPTO;
	for (unsigned i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return PIM_OK;
}

/* Walks the events in order, checking each link. */
struct chain_walk {
	struct audit_check *res;
	int64_t last_id;
	char last_hash[STORE_HASH_MAX];
	bool chained; /* an event with a hash was seen */
};

static int
chain_fail(struct chain_walk *w, int64_t id, const char *what)
{
	w->res->broken_id = id;
	snprintf(w->res->why, sizeof(w->res->why), "%s", what);
	return 1; /* stop */
}

static int
chain_step(const struct store_audit *a, void *arg)
{
	struct chain_walk *w = arg;
	char expect[STORE_HASH_MAX];

	if (a->mismatch != NULL) {
		w->res->broken_id = a->id;
		snprintf(w->res->why, sizeof(w->res->why),
		    "was changed: its %s column is not stored as pimgate "
		    "writes it (another type, a NUL byte, or more than it "
		    "holds), so the hash does not cover it",
		    a->mismatch);
		return 1; /* stop */
	}
	if (a->hash[0] == '\0') {
		if (w->chained)
			return chain_fail(w, a->id,
			    "has no hash, after events that have one (its "
			    "hash was removed)");
		w->res->unchained++;
		w->last_id = a->id;
		return 0;
	}
	if (w->last_id != 0 && a->id != w->last_id + 1)
		return chain_fail(w, a->id,
		    "does not follow the event before it: events between "
		    "them were removed");
	if (strcmp(a->prev_hash, w->last_hash) != 0)
		return chain_fail(w, a->id,
		    "does not link to the event before it: that event was "
		    "changed or removed, or this one inserted");
	if (audit_hash(a, expect) != PIM_OK)
		return chain_fail(w, a->id, "cannot be hashed");
	if (strcmp(expect, a->hash) != 0)
		return chain_fail(w, a->id,
		    "was changed: its content does not match its hash");
	w->chained = true;
	w->res->chained++;
	w->last_id = a->id;
	memcpy(w->last_hash, a->hash, sizeof(w->last_hash));
	return 0;
}

/* Ids are never handed out twice (AUTOINCREMENT): one handed out past
 * the newest event left shows events deleted from the end, unless the
 * sequence was reset too (then only a checkpoint shows it). */
static int
chain_check_tail(struct store *st, struct chain_walk *w)
{
	int64_t events = 0, checkpoints = 0;
	int r;

	r = store_audit_sequences(st, &events, &checkpoints);
	if (r != PIM_OK)
		return r;
	if (events <= w->last_id)
		return PIM_OK;
	w->res->broken_id = w->last_id + 1;
	if (events == w->last_id + 1)
		snprintf(w->res->why, sizeof(w->res->why),
		    "is missing: the store handed out its id (the tail was "
		    "cut off)");
	else
		snprintf(w->res->why, sizeof(w->res->why),
		    "is missing, and every event after it up to #%" PRId64
		    ": the store handed out their ids (the tail was cut off)",
		    events);
	return PIM_EDENIED;
}

int
audit_verify(struct store *st, struct audit_check *res)
{
	struct chain_walk w = {.res = res};
	int r;

	memset(res, 0, sizeof(*res));
	/* Every event, whatever its time: one given a time before 1970
	 * must not drop out of the walk. */
	r = store_audit_list(st, INT64_MIN, NULL, chain_step, &w);
	if (r == 1)
		return PIM_EDENIED;
	if (r != PIM_OK)
		return r;
	res->last_id = w.last_id;
	memcpy(res->head, w.last_hash, sizeof(res->head));
	return chain_check_tail(st, &w);
}
