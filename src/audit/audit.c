/* The audit trail: one store row per decision or change. */
#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/str.h"

/* Copies SRC (NULL becomes "") into DST. */
static void
audit_copy(char *dst, const char *src, size_t size)
{
	str_copy(dst, src != NULL ? src : "", size);
}

int
audit_log(struct store *st, const char *actor, const char *event,
    const char *outcome, const char *user, const char *target, const char *role,
    int64_t session_id, const char *peer, const char *detail)
{
	struct store_audit a = {0};

	a.ts_ms = clock_now_ms();
	audit_copy(a.actor, actor, sizeof(a.actor));
	audit_copy(a.event, event, sizeof(a.event));
	audit_copy(a.outcome, outcome, sizeof(a.outcome));
	audit_copy(a.user, user, sizeof(a.user));
	audit_copy(a.target, target, sizeof(a.target));
	audit_copy(a.role, role, sizeof(a.role));
	a.session_id = session_id;
	audit_copy(a.peer, peer, sizeof(a.peer));
	audit_copy(a.detail, detail, sizeof(a.detail));
	return store_audit_append(st, &a, audit_hash);
}
