/* Checking checkpoints against the trail. Every checkpoint (stored, or
 * read from a copy of the log) must carry the bastion's signature; each
 * validly signed one must find the event it names in the trail with the
 * hash it signed and the number of events it counted up to it. One that
 * names an event past the trail's end shows that the tail was cut off.
 *
 * The store must hold one at least (pimctl init takes the first), with
 * no id missing: ids are handed out once, so a gap is a deleted row.
 * Events after a signed head were written when the chain existed, so
 * none of them may lack a hash. What stays out of reach without copies
 * of the log: the newest checkpoints deleted with the events after them
 * and the id sequences reset, leaving a shorter trail that still holds
 * together. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"

struct cp_item {
	struct store_checkpoint cp;
	bool from_lines; /* only in the copies given, not in the store */
	bool valid; /* signed by the key */
	bool walk; /* checked against the trail (not a stored one's copy) */
	bool deleted; /* a valid copy of a row the store no longer has */
};

struct cp_verify {
	const struct audit_key *k;
	audit_finding_fn finding;
	void *arg;
	struct audit_cp_check *res;
	struct cp_item *v; /* the stored ones by id, then the copies */
	size_t n, cap, nstored;
	int64_t seq; /* the highest checkpoint id ever handed out */
	struct cp_item **sorted; /* the valid ones by head, then time */
	size_t nsorted, next;
	int64_t count, last_id; /* of the walk over the trail */
	int64_t hashless_id, hashless_n; /* hashless events after the
					    first signed head */
};
static void cp_find(struct cp_verify *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cp_find(struct cp_verify *w, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->res->findings++;
	w->finding(line, w->arg);
}

/* "checkpoint #K of TIME" (without #K for one never stored), and where
 * it was read when LINES. */
static const char *
cp_name(const struct store_checkpoint *cp, bool lines, char *buf, size_t size)
{
	const char *from = lines ? " (in the lines given)" : "";
	char when[32];

	instant_format(cp->ts_ms / 1000, when, sizeof(when));
	if (cp->id > 0)
		snprintf(buf, size, "checkpoint #%" PRId64 " of %s%s", cp->id,
		    when, from);
	else
		snprintf(buf, size, "checkpoint of %s%s", when, from);
	return buf;
}

static int
cp_push(struct cp_verify *w, const struct store_checkpoint *cp, bool lines)
{
	struct cp_item *nv;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;

		nv = realloc(w->v, cap * sizeof(*nv));
		if (nv == NULL)
			return PIM_ENOMEM;
		w->v = nv;
		w->cap = cap;
	}
	w->v[w->n].cp = *cp;
	w->v[w->n].from_lines = lines;
	w->v[w->n].valid = false;
	w->v[w->n].walk = true;
	w->v[w->n].deleted = false;
	w->n++;
	return PIM_OK;
}

static int
cp_collect(const struct store_checkpoint *cp, void *arg)
{
	return cp_push(arg, cp, false) == PIM_OK ? 0 : PIM_ENOMEM;
}

/* Whether A and B say the same thing. */
static bool
cp_same(const struct store_checkpoint *a, const struct store_checkpoint *b)
{
	return a->ts_ms == b->ts_ms && a->head_id == b->head_id &&
	       a->count == b->count &&
	       strcmp(a->head_hash, b->head_hash) == 0 &&
	       strcmp(a->key_id, b->key_id) == 0 && strcmp(a->sig, b->sig) == 0;
}

/* The stored checkpoint with id ID (the stored ones are in id order),
 * or NULL. */
static struct cp_item *
cp_stored(struct cp_verify *w, int64_t id)
{
	size_t lo = 0, hi = w->nstored, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (w->v[mid].cp.id == id)
			return &w->v[mid];
		if (w->v[mid].cp.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether CP, read from the lines, is already known: stored under its
 * id, or given before in the lines. */
static bool
cp_known(struct cp_verify *w, const struct store_checkpoint *cp)
{
	const struct cp_item *it = cp_stored(w, cp->id);

	if (it != NULL && cp_same(&it->cp, cp))
		return true;
	for (size_t j = w->nstored; j < w->n; j++) {
		if (w->v[j].cp.id == cp->id && cp_same(&w->v[j].cp, cp))
			return true;
	}
	return false;
}

/* Adds the checkpoints read from copies of the log that the store does
 * not hold as they are. What that means is only told once their
 * signatures are checked (cp_report_lines): a forged copy shows
 * nothing about the store. */
static int
cp_merge_lines(
    struct cp_verify *w, const struct store_checkpoint *extra, size_t nextra)
{
	for (size_t i = 0; i < nextra; i++) {
		if (cp_known(w, &extra[i]))
			continue;
		if (cp_push(w, &extra[i], true) != PIM_OK)
			return PIM_ENOMEM;
	}
	return PIM_OK;
}

/* Checks one checkpoint's signature, marking it valid if it is; a
 * finding (naming it NAME) if not. PIM_OK or PIM_ECRYPTO. */
static int
cp_check_one(struct cp_verify *w, struct cp_item *it, const char *name)
{
	int r;

	if (it->cp.mismatch != NULL) {
		cp_find(w,
		    "%s was changed: its %s column is not stored as pimgate "
		    "writes it, so the signature does not cover it",
		    name, it->cp.mismatch);
		return PIM_OK;
	}
	if (w->k == NULL) {
		cp_find(w, "%s cannot be checked: there is no key", name);
		return PIM_OK;
	}
	if (strcmp(it->cp.key_id, audit_key_id(w->k)) != 0) {
		cp_find(w, "%s is signed by key %s, not by key %s", name,
		    it->cp.key_id[0] ? it->cp.key_id : "-", audit_key_id(w->k));
		return PIM_OK;
	}
	r = audit_checkpoint_check(w->k, &it->cp);
	if (r == PIM_EDENIED) {
		cp_find(w, "%s has a bad signature: it was changed or forged",
		    name);
		return PIM_OK;
	}
	if (r == PIM_OK)
		it->valid = true;
	return r;
}

/* Checks each signature; the valid ones are kept for the walk. */
static int
cp_check_signatures(struct cp_verify *w)
{
	char name[128];
	int r;

	for (size_t i = 0; i < w->n; i++) {
		w->res->checked++;
		cp_name(&w->v[i].cp, w->v[i].from_lines, name, sizeof(name));
		r = cp_check_one(w, &w->v[i], name);
		if (r != PIM_OK)
			return r;
	}
	return PIM_OK;
}

/* A valid stored checkpoint saying what CP says, under another id. */
static const struct cp_item *
cp_stored_as(const struct cp_verify *w, const struct store_checkpoint *cp)
{
	for (size_t j = 0; j < w->nstored; j++) {
		if (w->v[j].valid && cp_same(&w->v[j].cp, cp))
			return &w->v[j];
	}
	return NULL;
}

/* What each validly signed copy from the lines, that the store does not
 * hold as it is, shows about the store. */
static void
cp_report_lines(struct cp_verify *w)
{
	const struct cp_item *other;
	struct cp_item *it;
	char name[128], stored[128];

	for (size_t i = w->nstored; i < w->n; i++) {
		it = &w->v[i];
		if (!it->valid)
			continue; /* forged: it shows nothing */
		cp_name(&it->cp, false, name, sizeof(name));
		other = cp_stored(w, it->cp.id);
		if (other != NULL) {
			if (other->valid)
				cp_find(w,
				    "%s in the store is not %s in the lines "
				    "given: the row was replaced",
				    cp_name(&other->cp, false, stored,
					sizeof(stored)),
				    name);
			continue;
		}
		other = cp_stored_as(w, &it->cp);
		if (other != NULL) {
			cp_find(w,
			    "%s (in the lines given) is stored as checkpoint "
			    "#%" PRId64 ": the rows were renumbered",
			    name, other->cp.id);
			it->walk = false; /* the stored one is walked */
			continue;
		}
		cp_find(w,
		    "%s (head #%" PRId64 ") is in the lines given but not in "
		    "the store: it was deleted",
		    name, it->cp.head_id);
		it->deleted = true;
	}
}

/* Reports the ids FROM to TO (at least FROM) missing from the store. */
static void
cp_report_range(struct cp_verify *w, int64_t from, int64_t to)
{
	if (from == to)
		cp_find(w,
		    "checkpoint #%" PRId64 " is missing from the store: it "
		    "was deleted (checkpoint ids are never reused)",
		    from);
	else
		cp_find(w,
		    "checkpoints #%" PRId64 " to #%" PRId64 " are missing "
		    "from the store: they were deleted (checkpoint ids are "
		    "never reused)",
		    from, to);
}

static int
cp_by_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Reports the ids FROM to TO missing from the store, but for those
 * already reported as deleted by a copy in the lines (DEL, N sorted). */
static void
cp_report_missing(
    struct cp_verify *w, int64_t from, int64_t to, const int64_t *del, size_t n)
{
	int64_t cur = from;

	for (size_t i = 0; i < n && cur <= to; i++) {
		if (del[i] < cur || del[i] > to)
			continue;
		if (del[i] > cur)
			cp_report_range(w, cur, del[i] - 1);
		if (del[i] == INT64_MAX)
			return;
		cur = del[i] + 1;
	}
	if (cur <= to)
		cp_report_range(w, cur, to);
}

/* Checkpoint ids are handed out 1, 2, 3... and never again: an id
 * missing below the highest one handed out is a deleted row. */
static int
cp_report_gaps(struct cp_verify *w)
{
	int64_t *del = calloc(w->n ? w->n : 1, sizeof(*del));
	int64_t expect = 1, id;
	size_t ndel = 0;

	if (del == NULL)
		return PIM_ENOMEM;
	for (size_t i = w->nstored; i < w->n; i++) {
		if (w->v[i].deleted)
			del[ndel++] = w->v[i].cp.id;
	}
	qsort(del, ndel, sizeof(*del), cp_by_id);
	for (size_t i = 0; i < w->nstored; i++) {
		id = w->v[i].cp.id;
		if (id < expect) {
			cp_find(w,
			    "checkpoint #%" PRId64 " has an id the store "
			    "never hands out: the rows were renumbered",
			    id);
			continue;
		}
		if (id > expect)
			cp_report_missing(w, expect, id - 1, del, ndel);
		expect = id < INT64_MAX ? id + 1 : id;
	}
	if (w->seq >= expect)
		cp_report_missing(w, expect, w->seq, del, ndel);
	else if (w->seq < expect - 1)
		cp_find(w,
		    "the checkpoint id sequence was reset: it is at #%" PRId64
		    ", below the newest row #%" PRId64,
		    w->seq, expect - 1);
	free(del);
	return PIM_OK;
}

/* A trail that no signature vouches for: whoever can write the database
 * could have rewritten all of it. */
static void
cp_report_none(struct cp_verify *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].valid)
			return;
	}
	if (w->nstored > 0)
		return; /* each was reported */
	cp_find(w, "no signed checkpoint: nothing vouches for this trail; if "
		   "this store predates checkpoints, take the first with "
		   "pimctl audit checkpoint --first");
}

static int
cp_by_head(const void *a, const void *b)
{
	const struct cp_item *x = *(struct cp_item *const *)a;
	const struct cp_item *y = *(struct cp_item *const *)b;

	if (x->cp.head_id != y->cp.head_id)
		return x->cp.head_id < y->cp.head_id ? -1 : 1;
	if (x->cp.ts_ms != y->cp.ts_ms)
		return x->cp.ts_ms < y->cp.ts_ms ? -1 : 1;
	return 0;
}

static int
cp_sort_valid(struct cp_verify *w)
{
	w->sorted = calloc(w->n ? w->n : 1, sizeof(*w->sorted));
	if (w->sorted == NULL)
		return PIM_ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].valid && w->v[i].walk)
			w->sorted[w->nsorted++] = &w->v[i];
	}
	qsort(w->sorted, w->nsorted, sizeof(*w->sorted), cp_by_head);
	return PIM_OK;
}

/* Compares checkpoint IT with the trail at its head: event A (NULL if
 * the trail has no such event), W->count events up to it. */
static void
cp_match(struct cp_verify *w, struct cp_item *it, const struct store_audit *a)
{
	const struct store_checkpoint *cp = &it->cp;
	char name[128];

	cp_name(cp, it->from_lines, name, sizeof(name));
	if (a == NULL && cp->head_id > 0) {
		cp_find(w,
		    "event #%" PRId64 " signed by %s is missing: it was "
		    "removed",
		    cp->head_id, name);
		return;
	}
	if (a != NULL && strcmp(a->hash, cp->head_hash) != 0) {
		cp_find(w,
		    "event #%" PRId64 " does not have the hash %s signed: "
		    "it was changed",
		    cp->head_id, name);
		return;
	}
	if (w->count != cp->count) {
		cp_find(w,
		    "%s counted %" PRId64 " events up to event #%" PRId64
		    ", the trail holds %" PRId64 ": events were removed or "
		    "inserted",
		    name, cp->count, cp->head_id, w->count);
		return;
	}
	w->res->valid++;
	if (w->res->valid == 1 || cp->head_id > w->res->newest.head_id ||
	    (cp->head_id == w->res->newest.head_id &&
		cp->ts_ms > w->res->newest.ts_ms))
		w->res->newest = *cp;
}

/* One event of the trail, in id order: settles the checkpoints whose
 * head is this event or an earlier one that the trail skipped. */
static int
cp_walk(const struct store_audit *a, void *arg)
{
	struct cp_verify *w = arg;
	struct cp_item *it;

	while (w->next < w->nsorted &&
	       (it = w->sorted[w->next])->cp.head_id < a->id) {
		cp_match(w, it, NULL);
		w->next++;
	}
	w->count++;
	/* Every event after a signed head was written once checkpoints
	 * (and so the chain) existed: it must have a hash. */
	if (a->hash[0] == '\0' && w->nsorted > 0 &&
	    a->id > w->sorted[0]->cp.head_id && w->hashless_n++ == 0)
		w->hashless_id = a->id;
	while (w->next < w->nsorted &&
	       (it = w->sorted[w->next])->cp.head_id == a->id) {
		cp_match(w, it, a);
		w->next++;
	}
	w->last_id = a->id;
	return 0;
}

/* Checkpoints left after the walk name events past the trail's end: the
 * one with the furthest head says what was cut off. */
static void
cp_report_tail(struct cp_verify *w)
{
	const struct store_checkpoint *cp;
	char name[128];

	if (w->next >= w->nsorted)
		return;
	cp = &w->sorted[w->nsorted - 1]->cp;
	cp_find(w,
	    "events after #%" PRId64 " are missing: %s signed head #%" PRId64
	    " (%" PRId64 " events)",
	    w->last_id,
	    cp_name(
		cp, w->sorted[w->nsorted - 1]->from_lines, name, sizeof(name)),
	    cp->head_id, cp->count);
}

/* Events without a hash that a signed checkpoint shows were written
 * after it: their hashes were removed, to pass them off as written
 * before the chain began. */
static void
cp_report_hashless(struct cp_verify *w)
{
	const struct cp_item *first;
	char name[128];

	if (w->hashless_n == 0)
		return;
	first = w->sorted[0];
	cp_name(&first->cp, first->from_lines, name, sizeof(name));
	cp_find(w,
	    "event #%" PRId64 " and %" PRId64 " more after it have no hash, "
	    "yet came after head #%" PRId64 " signed by %s: their hashes "
	    "were removed",
	    w->hashless_id, w->hashless_n - 1, first->cp.head_id, name);
}

/* Each step reports what it finds and goes on; only a store or crypto
 * error stops the check. */
static int
cp_run(struct cp_verify *w, struct store *st,
    const struct store_checkpoint *extra, size_t nextra)
{
	int64_t events = 0;
	int r;

	r = store_checkpoint_list(st, cp_collect, w);
	w->nstored = w->n;
	if (r == PIM_OK)
		r = store_audit_sequences(st, &events, &w->seq);
	if (r == PIM_OK)
		r = cp_merge_lines(w, extra, nextra);
	if (r == PIM_OK)
		r = cp_check_signatures(w);
	if (r != PIM_OK)
		return r;
	cp_report_lines(w);
	r = cp_report_gaps(w);
	if (r == PIM_OK)
		r = cp_sort_valid(w);
	if (r != PIM_OK)
		return r;
	cp_report_none(w);
	/* Checkpoints of an empty trail come first and count nothing. */
	while (w->next < w->nsorted && w->sorted[w->next]->cp.head_id <= 0)
		cp_match(w, w->sorted[w->next++], NULL);
	r = store_audit_list(st, INT64_MIN, NULL, cp_walk, w);
	if (r != PIM_OK)
		return r;
	cp_report_tail(w);
	cp_report_hashless(w);
	w->res->unsigned_events =
	    w->count - (w->res->valid > 0 ? w->res->newest.count : 0);
	return PIM_OK;
}

int
audit_verify_checkpoints(struct store *st, const struct audit_key *k,
    const struct store_checkpoint *extra, size_t nextra,
    audit_finding_fn finding, void *arg, struct audit_cp_check *res)
{
	struct cp_verify w = {
	    .k = k, .finding = finding, .arg = arg, .res = res};
	int r;

	memset(res, 0, sizeof(*res));
	r = cp_run(&w, st, extra, nextra);
	free(w.sorted);
	free(w.v);
	if (r != PIM_OK)
		return r;
	return res->findings > 0 ? PIM_EDENIED : PIM_OK;
}
