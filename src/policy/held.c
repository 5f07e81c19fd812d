/* Loading what a user holds, and the small helpers the rule needs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "policy_int.h"

int
policy_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return PIM_OK;
	ncap = *cap > 0 ? *cap * 2 : 8;
	p = reallocarray(*arr, ncap, size);
	if (p == NULL)
		return PIM_ENOMEM;
	*arr = p;
	*cap = ncap;
	return PIM_OK;
}

static int
policy_held_add_assign(const struct store_assignment *a, void *arg)
{
	struct policy_held *h = arg;
	void *arr = h->assigns;
	int r;

	r = policy_grow(&arr, &h->assigns_cap, h->nassigns, sizeof(*a));
	h->assigns = arr;
	if (r != PIM_OK)
		return r;
	h->assigns[h->nassigns++] = *a;
	return 0;
}

int
policy_held_load_assignments(
    struct store *st, int64_t user_id, struct policy_held *h)
{
	return store_assignment_list(st, user_id, policy_held_add_assign, h);
}

static bool
policy_held_keep(const struct policy_held *h, const struct store_activation *a)
{
	if (a->state == ACT_PENDING || a->state == ACT_ACTIVE)
		return true;
	/* Rows come newest first: keep the first of each role. */
	return policy_held_latest(h, a->role_id) == NULL;
}

static int
policy_held_add_act(const struct store_activation *a, void *arg)
{
	struct policy_held *h = arg;
	void *arr = h->acts;
	int r;

	if (!policy_held_keep(h, a))
		return 0;
	r = policy_grow(&arr, &h->acts_cap, h->nacts, sizeof(*a));
	h->acts = arr;
	if (r != PIM_OK)
		return r;
	h->acts[h->nacts++] = *a;
	return 0;
}

int
policy_held_load_activations(
    struct store *st, int64_t user_id, struct policy_held *h)
{
	return store_activation_list(st, user_id, policy_held_add_act, h);
}

void
policy_held_free(struct policy_held *h)
{
	free(h->assigns);
	free(h->acts);
	*h = (struct policy_held){0};
}

const struct store_assignment *
policy_held_assignment(const struct policy_held *h, int64_t role_id,
    enum store_assign_kind kind, int64_t now)
{
	const struct store_assignment *a;
	size_t i;

	for (i = 0; i < h->nassigns; i++) {
		a = &h->assigns[i];
		if (a->role_id == role_id && a->kind == kind &&
		    policy_window_holds(a->start, a->end, now))
			return a;
	}
	return NULL;
}

const struct store_activation *
policy_held_latest(const struct policy_held *h, int64_t role_id)
{
	size_t i;

	for (i = 0; i < h->nacts; i++)
		if (h->acts[i].role_id == role_id)
			return &h->acts[i];
	return NULL;
}

bool
policy_window_holds(int64_t start, int64_t end, int64_t now)
{
	return (start == 0 || start <= now) && (end == 0 || now < end);
}

int64_t
policy_min_bound(int64_t bound, int64_t t)
{
	return bound != 0 && bound < t ? bound : t;
}

int
policy_refuse(char *reason, size_t rlen, const char *fmt, ...)
{
	va_list ap;

	if (reason != NULL && rlen > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, rlen, fmt, ap);
		va_end(ap);
	}
	return PIM_EDENIED;
}

int
policy_store_fail(struct store *st, int r, char *reason, size_t rlen)
{
	const char *msg = r == PIM_ENOMEM ? "out of memory" : store_errmsg(st);

	if (reason != NULL && rlen > 0)
		snprintf(reason, rlen, "access store failure: %s", msg);
	return PIM_ESTORE;
}

const char *
policy_instant(int64_t t, char *buf, size_t size)
{
	instant_format(t, buf, size);
	return buf;
}

int
policy_user_enabled(struct store *st, const char *name, struct store_user *u,
    char *reason, size_t rlen)
{
	int r = store_user_get(st, name, u);

	if (r == PIM_ENOTFOUND) {
		policy_refuse(reason, rlen, "no user named %s", name);
		return PIM_ENOTFOUND;
	}
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	if (!u->enabled)
		return policy_refuse(reason, rlen, "user %s is disabled", name);
	return PIM_OK;
}
