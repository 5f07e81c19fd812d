/* Password budgets, shared by every front end (SSH and PostgreSQL). A
 * password check (Argon2id) costs ~20 ms of the loop, so checks are
 * rationed: per client address (so one source cannot use them all) and
 * for the whole bastion (so many sources cannot stall the loop). Refused
 * attempts are audited in batches, at most one entry per address every
 * BUDGET_AUDIT_US. */
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/str.h"

#include "pimgate/session.h"

#include "session_int.h"

#define BUDGET_AUDIT_US 10000000

static bool
budget_take(struct budget *b, double rate, double burst, int64_t now)
{
	b->tokens += (double)(now - b->refill_us) * rate / 1e6;
	b->refill_us = now;
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* The address part of PEER ("127.0.0.1:40000" -> "127.0.0.1"). */
static void
budget_addr(const char *peer, char *addr, size_t size)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

	if (n >= size)
		n = size - 1;
	memcpy(addr, peer, n);
	addr[n] = '\0';
}

/* The slot of ADDR, or the least recently used one, made ADDR's. */
static struct pw_source *
budget_slot(struct pw_source *tab, const char *addr, int64_t now, double burst)
{
	struct pw_source *s, *oldest = &tab[0];
	size_t i;

	for (i = 0; i < SESSION_PW_SOURCES; i++) {
		s = &tab[i];
		if (strcmp(s->addr, addr) == 0)
			return s;
		if (s->b.refill_us < oldest->b.refill_us)
			oldest = s;
	}
	memset(oldest, 0, sizeof(*oldest));
	str_copy(oldest->addr, addr, sizeof(oldest->addr));
	oldest->b.tokens = burst;
	oldest->b.refill_us = now;
	return oldest;
}

void
session_budget_init(struct session_mgr *f)
{
	f->pw_all.tokens = SESSION_PW_BURST;
	f->pw_all.refill_us = clock_mono_us();
}

bool
session_pw_budget(
    struct session_mgr *f, const char *peer, struct pw_source **src)
{
	int64_t now = clock_mono_us();
	char addr[64];

	budget_addr(peer, addr, sizeof(addr));
	*src = budget_slot(f->pw_src, addr, now, SESSION_PW_SOURCE_BURST);
	if (!budget_take(&(*src)->b, SESSION_PW_SOURCE_RATE,
		SESSION_PW_SOURCE_BURST, now))
		return false;
	return budget_take(&f->pw_all, SESSION_PW_RATE, SESSION_PW_BURST, now);
}

const char *
session_pw_addr(const struct pw_source *src)
{
	return src->addr;
}

unsigned
session_pw_refused(struct pw_source *src)
{
	int64_t now = clock_mono_us();
	unsigned n;

	src->refused++;
	if (src->audited_us != 0 && now - src->audited_us < BUDGET_AUDIT_US)
		return 0;
	src->audited_us = now;
	n = src->refused;
	src->refused = 0;
	return n;
}

unsigned
session_refusal_audit(struct session_mgr *m, const char *peer)
{
	int64_t now = clock_mono_us();
	struct pw_source *src;
	char addr[64];
	unsigned n;

	budget_addr(peer, addr, sizeof(addr));
	src = budget_slot(m->refuse_src, addr, now, SESSION_REFUSE_BURST);
	src->refused++;
	if (!budget_take(
		&src->b, SESSION_REFUSE_RATE, SESSION_REFUSE_BURST, now))
		return 0;
	n = src->refused;
	src->refused = 0;
	return n;
}
