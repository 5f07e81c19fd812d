/* Small helpers the report builder and its writers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "report_int.h"

int
report_push(void **items, size_t *n, size_t *cap, size_t size, const void *item)
{
	void *grown;
	size_t want;

	if (*n == *cap) {
		want = *cap > 0 ? *cap * 2 : 16;
		grown = realloc(*items, want * size);
		if (grown == NULL)
			return PIM_ENOMEM;
		*items = grown;
		*cap = want;
	}
	memcpy((char *)*items + *n * size, item, size);
	(*n)++;
	return PIM_OK;
}

void
report_clean(char *s)
{
	char *out = s;
	uint32_t cp;
	size_t n;

	while (*s != '\0') {
		n = str_utf8_decode(s, &cp);
		if (n == 0 || str_unsafe_char(cp)) {
			*out++ = '?';
			s += n > 0 ? n : 1;
			continue;
		}
		memmove(out, s, n);
		out += n;
		s += n;
	}
	*out = '\0';
}

const char *
report_instant(int64_t t, char *buf, size_t size)
{
	if (t == 0)
		buf[0] = '\0';
	else
		instant_format(t, buf, size);
	return buf;
}

const char *
report_duration(int64_t secs, char *buf, size_t size)
{
	duration_format(secs > 0 ? secs : 0, buf, size);
	return buf;
}

const char *
report_state_name(enum store_act_state s)
{
	const char *name = store_act_state_name(s);

	return name != NULL ? name : "unknown";
}

void
report_approvals_format(
    const struct report_activation *a, char *buf, size_t size)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (size_t i = 0; i < a->napprovals && used < size; i++) {
		const struct store_approval *p = &a->approvals[i];
		bool deny = strcmp(p->decision, "deny") == 0;

		n = snprintf(buf + used, size - used, "%s%s%s",
		    used > 0 ? "; " : "", p->approver, deny ? " (deny)" : "");
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void
report_volume_note(const struct report_session *x, char *buf, size_t size)
{
	buf[0] = '\0';
	if ((x->flags & REPORT_VOLUME) == 0)
		return;
	snprintf(buf, size,
	    "%lld bytes; the median of the %d earlier sessions is %lld",
	    (long long)x->bytes, x->history, (long long)x->median);
}

int
report_each_role(const struct report *r, const struct report_user *u,
    int (*fn)(const struct report *r, const struct report_user *u,
	const char *role, void *arg),
    void *arg)
{
	const char *role, *last = NULL;
	size_t i = 0, j = 0;
	int rc;

	/* Both ranges are sorted by role: merge them, each role once. */
	while (i < u->nacts || j < u->nsessions) {
		const char *ra =
		    i < u->nacts ? r->acts[u->act_first + i].a.role : NULL;
		const char *rs = j < u->nsessions
				     ? r->sessions[u->session_first + j].s.role
				     : NULL;

		if (rs == NULL || (ra != NULL && strcmp(ra, rs) <= 0)) {
			role = ra;
			i++;
		} else {
			role = rs;
			j++;
		}
		if (last != NULL && strcmp(last, role) == 0)
			continue;
		last = role;
		rc = fn(r, u, role, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
