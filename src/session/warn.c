/* Warnings before the end: a person sees, in their terminal, when their
 * access ends and how to keep it, some minutes before it does (and again
 * closer to it). The notices go through session_ops.notice; the front
 * end decides where (terminal channels) and records them. */
#include <stdio.h>

#include <event2/event.h>

#include "pimgate/clock.h"
#include "pimgate/log.h"
#include "pimgate/session.h"

#include "session_int.h"

/* Arms the timer for the next warning still ahead, if any. The times
 * (seconds before the deadline, the role's warn_before) come largest
 * first, so the first one still ahead is the next one due. */
void
session_arm_warning(struct session *s)
{
	int64_t now_ms = clock_now_ms(), at_ms;
	struct timeval tv;
	int i;

	if (s->warn_ev == NULL)
		return;
	evtimer_del(s->warn_ev);
	for (i = 0; i < s->adm.nwarn && i < POLICY_NWARN_MAX; i++) {
		at_ms = (s->adm.deadline - s->adm.warn_before[i]) * 1000;
		if (at_ms <= now_ms)
			continue;
		tv.tv_sec = (at_ms - now_ms) / 1000;
		tv.tv_usec = ((at_ms - now_ms) % 1000) * 1000;
		evtimer_add(s->warn_ev, &tv);
		return;
	}
}

static void
session_warning_text(const struct session *s, char *buf, size_t size)
{
	int64_t left = s->adm.deadline - clock_now();
	char end[32];

	instant_format(s->adm.deadline, end, sizeof(end));
	if (s->adm.activation_id != 0)
		snprintf(buf, size,
		    "pimgate: your access to %s ends at %s (in %lld min); to "
		    "keep it, run: ssh %s@<bastion> extend %lld --for 30m",
		    s->row.target, end, (long long)((left + 59) / 60),
		    s->row.user, (long long)s->adm.activation_id);
	else
		snprintf(buf, size,
		    "pimgate: your access to %s ends at %s (in %lld min)",
		    s->row.target, end, (long long)((left + 59) / 60));
}

void
session_warn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char msg[512];

	if (s->state != SESSION_OPEN)
		return;
	session_warning_text(s, msg, sizeof(msg));
	log_verbose("session warned session=%lld deadline=%lld",
	    (long long)s->row.id, (long long)s->adm.deadline);
	s->ops->notice(s->conn, msg);
	session_arm_warning(s);
}
