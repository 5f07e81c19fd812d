/* Checking checkpoints against the trail. Every checkpoint (stored, or
 * read from a copy of the log) must carry the bastion's signature; each
 * validly signed one must find the event it names in the trail with the
 * hash it signed and the number of events it counted up to it. One that
 * names an event past the trail's end shows that the tail was cut off. */
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
};

struct cp_verify {
	const struct audit_key *k;
	audit_finding_fn finding;
	void *arg;
	struct audit_cp_check *res;
	struct cp_item *v;
	size_t n, cap;
	struct cp_item **sorted; /* the valid ones by head, then time */
	size_t nsorted, next;
	int64_t count, last_id; /* of the walk over the trail */
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

/* Adds the checkpoints read from copies of the log. A copy of a stored
 * one is skipped; one the store does not have was deleted from it (or
 * the copy was forged: its signature tells). */
static int
cp_merge_lines(
    struct cp_verify *w, const struct store_checkpoint *extra, size_t nextra)
{
	bool known, same_sig;
	char name[128];
	size_t i, j;

	for (i = 0; i < nextra; i++) {
		known = same_sig = false;
		for (j = 0; j < w->n && !known; j++) {
			known = cp_same(&w->v[j].cp, &extra[i]);
			same_sig |= strcmp(w->v[j].cp.sig, extra[i].sig) == 0;
		}
		if (known)
			continue;
		if (!same_sig)
			cp_find(w,
			    "%s (head #%" PRId64 ") is in the lines given but "
			    "not in the store: it was deleted",
			    cp_name(&extra[i], false, name, sizeof(name)),
			    extra[i].head_id);
		if (cp_push(w, &extra[i], true) != PIM_OK)
			return PIM_ENOMEM;
	}
	return PIM_OK;
}

/* Checks each signature; the valid ones are kept for the walk. */
static int
cp_check_signatures(struct cp_verify *w)
{
	struct cp_item *it;
	char name[128];
	int r;

	for (size_t i = 0; i < w->n; i++) {
		it = &w->v[i];
		w->res->checked++;
		cp_name(&it->cp, it->from_lines, name, sizeof(name));
		if (strcmp(it->cp.key_id, audit_key_id(w->k)) != 0) {
			cp_find(w, "%s is signed by key %s, not by key %s",
			    name, it->cp.key_id[0] ? it->cp.key_id : "-",
			    audit_key_id(w->k));
			continue;
		}
		r = audit_checkpoint_check(w->k, &it->cp);
		if (r == PIM_EDENIED) {
			cp_find(w,
			    "%s has a bad signature: it was changed or "
			    "forged",
			    name);
			continue;
		}
		if (r != PIM_OK)
			return r;
		it->valid = true;
	}
	return PIM_OK;
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
		if (w->v[i].valid)
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
	if (w->res->newest.id == 0 || cp->head_id > w->res->newest.head_id ||
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

int
audit_verify_checkpoints(struct store *st, const struct audit_key *k,
    const struct store_checkpoint *extra, size_t nextra,
    audit_finding_fn finding, void *arg, struct audit_cp_check *res)
{
	struct cp_verify w = {
	    .k = k, .finding = finding, .arg = arg, .res = res};
	int r;

	memset(res, 0, sizeof(*res));
	r = store_checkpoint_list(st, cp_collect, &w);
	if (r == PIM_OK)
		r = cp_merge_lines(&w, extra, nextra);
	if (r == PIM_OK)
		r = cp_check_signatures(&w);
	if (r == PIM_OK)
		r = cp_sort_valid(&w);
	/* Checkpoints of an empty trail come first and count nothing. */
	while (r == PIM_OK && w.next < w.nsorted &&
	       w.sorted[w.next]->cp.head_id <= 0)
		cp_match(&w, w.sorted[w.next++], NULL);
	if (r == PIM_OK)
		r = store_audit_list(st, 0, NULL, cp_walk, &w);
	if (r == PIM_OK)
		cp_report_tail(&w);
	free(w.sorted);
	free(w.v);
	if (r != PIM_OK)
		return r;
	return res->findings > 0 ? PIM_EDENIED : PIM_OK;
}
