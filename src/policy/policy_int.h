/* Internal to src/policy/: what a user holds (assignments, activations)
 * loaded from the store, window arithmetic and reason helpers. */
#ifndef PIMGATE_POLICY_INT_H
#define PIMGATE_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pimgate/store.h"

/* A user's assignments (all of them) and activations (every pending or
 * active one, plus the newest of each role, whatever its state). */
struct policy_held {
	struct store_assignment *assigns;
	size_t nassigns;
	size_t assigns_cap;
	struct store_activation *acts; /* newest first */
	size_t nacts;
	size_t acts_cap;
};

int policy_held_load_assignments(
    struct store *st, int64_t user_id, struct policy_held *h);
int policy_held_load_activations(
    struct store *st, int64_t user_id, struct policy_held *h);
void policy_held_free(struct policy_held *h);

/* The assignment of ROLE_ID and KIND whose window contains NOW, or NULL. */
const struct store_assignment *policy_held_assignment(
    const struct policy_held *h, int64_t role_id, enum store_assign_kind kind,
    int64_t now);
/* The newest activation of ROLE_ID, or NULL. */
const struct store_activation *policy_held_latest(
    const struct policy_held *h, int64_t role_id);

/* Makes room in *ARR (capacity *CAP elements of SIZE bytes, N used) for
 * one more element. Returns PIM_OK or PIM_ENOMEM (*ARR unchanged). */
int policy_grow(void **arr, size_t *cap, size_t n, size_t size);

/* True if NOW lies in [START, END); 0 means unbounded on that side. */
bool policy_window_holds(int64_t start, int64_t end, int64_t now);
/* The earlier of BOUND and T, where BOUND 0 means "no bound". */
int64_t policy_min_bound(int64_t bound, int64_t t);

/* Writes T as an RFC 3339 instant into BUF (SIZE >= 21); returns BUF. */
const char *policy_instant(int64_t t, char *buf, size_t size);

/* Formats a reason and returns PIM_EDENIED. */
int policy_refuse(char *reason, size_t rlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps store error R to PIM_ESTORE with a reason. */
int policy_store_fail(struct store *st, int r, char *reason, size_t rlen);

/* Looks up an enabled user: PIM_ENOTFOUND, PIM_EDENIED or PIM_ESTORE,
 * each with a reason. */
int policy_user_enabled(struct store *st, const char *name,
    struct store_user *u, char *reason, size_t rlen);

#endif
