/* The access report for a person: the period and the rules, what needs
 * review (each flag on its own line, marked "!"), then user by user and
 * role by role the activations with the sessions held under them, the
 * sessions held without one, and the user's refusals. */
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"

#include "report_int.h"

#define TEXT_LINE 1024

/* Flags as "  [OFF-HOURS]  [BREAK-GLASS]" into BUF ("" if none). */
static const char *
text_flags(unsigned flags, char *buf, size_t size)
{
	size_t used = 0;
	const char *name;

	buf[0] = '\0';
	for (unsigned f = 1; f != 0 && f <= flags && used < size; f <<= 1) {
		name = (flags & f) != 0 ? report_flag_name(f) : NULL;
		if (name != NULL)
			used += (size_t)snprintf(
			    buf + used, size - used, "  [%s]", name);
	}
	for (char *c = buf; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	return buf;
}

static const char *
text_user(const char *name)
{
	return name[0] != '\0' ? name : "(no user named)";
}

static void
text_header(const struct report *r, FILE *out)
{
	char from[32], to[32], now[32], hours[128];

	hours_format(&r->opt.hours, hours, sizeof(hours));
	fprintf(out, "Access report %s to %s, %s\n",
	    report_instant(r->opt.from, from, sizeof(from)),
	    report_instant(r->opt.to, to, sizeof(to)),
	    r->opt.user[0] != '\0' ? r->opt.user : "all users");
	fprintf(out, "Made %s. Working hours %s.\n",
	    report_instant(r->opt.now, now, sizeof(now)), hours);
	fprintf(out,
	    "Flags: off-hours (an activation not wholly in working hours), "
	    "break-glass,\n"
	    "  ended-expired / ended-killed / ended-revoked (how a session "
	    "ended),\n"
	    "  unusual-volume (over %lldx the user's median of up to %d "
	    "earlier sessions,\n"
	    "  at least %d of them, and at least %lld bytes),\n"
	    "  repeated-mfa-failures (%d or more failed one-time codes).\n",
	    (long long)r->opt.volume_factor, REPORT_HISTORY_MAX,
	    REPORT_HISTORY_MIN, (long long)REPORT_VOLUME_FLOOR,
	    REPORT_MFA_REPEATED);
}

/* One "needs review" line per flag of FLAGS. */
static int
text_review_line(FILE *out, unsigned flags, const char *user, const char *what)
{
	int n = 0;

	for (unsigned f = 1; f <= REPORT_REVIEW_FLAGS; f <<= 1) {
		if ((flags & f & REPORT_REVIEW_FLAGS) == 0)
			continue;
		fprintf(out, "  ! %-22s %-16s %s\n", report_flag_name(f), user,
		    what);
		n++;
	}
	return n;
}

static int
text_review_user(const struct report *r, const struct report_user *u, FILE *out)
{
	char what[TEXT_LINE], t1[32], t2[32], note[256];
	int n = 0;

	snprintf(
	    what, sizeof(what), "%d failed one-time codes", u->mfa_failures);
	n += text_review_line(out, u->flags, text_user(u->name), what);
	for (size_t i = 0; i < u->nacts; i++) {
		const struct report_activation *a = &r->acts[u->act_first + i];

		snprintf(what, sizeof(what), "activation %lld of %s, %s to %s",
		    (long long)a->a.id, a->a.role,
		    report_instant(a->a.start, t1, sizeof(t1)),
		    report_instant(a->until, t2, sizeof(t2)));
		n += text_review_line(out, a->flags, u->name, what);
	}
	for (size_t i = 0; i < u->nsessions; i++) {
		const struct report_session *x =
		    &r->sessions[u->session_first + i];

		report_volume_note(x, note, sizeof(note));
		snprintf(what, sizeof(what),
		    "session %lld on %s (%s) at %s%s%s", (long long)x->s.id,
		    x->s.target, x->s.role,
		    report_instant(x->s.start, t1, sizeof(t1)),
		    note[0] != '\0' ? ": " : "", note);
		n += text_review_line(out, x->flags, u->name, what);
	}
	for (size_t i = 0; i < u->nrefusals; i++) {
		const struct report_refusal *x =
		    &r->refusals[u->refusal_first + i];

		snprintf(what, sizeof(what), "refused at %s: %s",
		    report_instant(x->e.ts_ms / 1000, t1, sizeof(t1)),
		    x->e.detail);
		n += text_review_line(out, x->flags, text_user(u->name), what);
	}
	return n;
}

static void
text_review(const struct report *r, FILE *out)
{
	int n = 0;

	fprintf(out, "\nNeeds review:\n");
	for (size_t i = 0; i < r->nusers; i++)
		n += text_review_user(r, &r->users[i], out);
	if (n == 0)
		fprintf(out, "  nothing flagged\n");
}

static void
text_session(const struct report_session *x, const char *indent, FILE *out)
{
	char t1[32], len[32], flags[128], note[256];

	report_volume_note(x, note, sizeof(note));
	fprintf(out,
	    "%sSession %lld: %s %s from %s, %s for %s, %s; bytes in %lld, "
	    "out %lld%s\n",
	    indent, (long long)x->s.id, x->s.target, x->s.protocol,
	    x->s.peer[0] != '\0' ? x->s.peer : "-",
	    report_instant(x->s.start, t1, sizeof(t1)),
	    report_duration(x->length, len, sizeof(len)),
	    x->s.end != 0 ? x->s.end_reason : "still live",
	    (long long)x->s.bytes_in, (long long)x->s.bytes_out,
	    text_flags(x->flags, flags, sizeof(flags)));
	if (note[0] != '\0')
		fprintf(out, "%s  (%s)\n", indent, note);
}

static void
text_activation(const struct report *r, size_t k, FILE *out)
{
	const struct report_activation *a = &r->acts[k];
	char t1[32], t2[32], t3[32], dur[32], flags[128], appr[1024];

	report_approvals_format(a, appr, sizeof(appr));
	fprintf(out, "    Activation %lld: %s%s\n", (long long)a->a.id,
	    report_state_name(a->state),
	    text_flags(a->flags, flags, sizeof(flags)));
	fprintf(out, "      requested %s by %s\n",
	    report_instant(a->a.created, t1, sizeof(t1)), a->a.requested_by);
	fprintf(out, "      %s %s to %s (%s)\n", a->held ? "held" : "asked for",
	    report_instant(a->a.start, t2, sizeof(t2)),
	    report_instant(a->until, t3, sizeof(t3)),
	    report_duration(a->duration, dur, sizeof(dur)));
	fprintf(out, "      reason: %s\n",
	    a->a.reason[0] != '\0' ? a->a.reason : "-");
	fprintf(out, "      ticket: %s\n",
	    a->a.ticket[0] != '\0' ? a->a.ticket : "-");
	fprintf(out, "      approvals: %s\n", appr[0] != '\0' ? appr : "none");
	for (size_t i = 0; i < r->nsessions; i++) {
		if (r->sessions[i].act == k)
			text_session(&r->sessions[i], "      ", out);
	}
}

static int
text_role(const struct report *r, const struct report_user *u, const char *role,
    void *arg)
{
	FILE *out = arg;
	bool header = false;

	fprintf(out, "  Role %s\n", role);
	for (size_t i = 0; i < u->nacts; i++) {
		if (strcmp(r->acts[u->act_first + i].a.role, role) == 0)
			text_activation(r, u->act_first + i, out);
	}
	for (size_t i = 0; i < u->nsessions; i++) {
		const struct report_session *x =
		    &r->sessions[u->session_first + i];

		if (x->act != SIZE_MAX || strcmp(x->s.role, role) != 0)
			continue;
		if (!header)
			fprintf(out, "    Without an activation in this "
				     "report (active assignment):\n");
		header = true;
		text_session(x, "      ", out);
	}
	return 0;
}

static void
text_refusals(const struct report *r, const struct report_user *u, FILE *out)
{
	char t1[32], flags[128];

	if (u->nrefusals == 0)
		return;
	fprintf(out, "  Refused or failed (%zu):\n", u->nrefusals);
	for (size_t i = 0; i < u->nrefusals; i++) {
		const struct report_refusal *x =
		    &r->refusals[u->refusal_first + i];

		fprintf(out, "    %s %s %s%s%s: %s%s\n",
		    report_instant(x->e.ts_ms / 1000, t1, sizeof(t1)),
		    x->e.event, x->e.outcome,
		    x->e.target[0] != '\0' ? " target " : "", x->e.target,
		    x->e.detail, text_flags(x->flags, flags, sizeof(flags)));
	}
}

static void
text_user_part(const struct report *r, const struct report_user *u, FILE *out)
{
	char flags[128];

	fprintf(out, "\nUser %s%s\n", text_user(u->name),
	    text_flags(u->flags, flags, sizeof(flags)));
	if (u->mfa_failures > 0)
		fprintf(out, "  failed one-time codes: %d\n", u->mfa_failures);
	report_each_role(r, u, text_role, out);
	text_refusals(r, u, out);
}

int
report_write_text(const struct report *r, FILE *out)
{
	text_header(r, out);
	text_review(r, out);
	if (r->nusers == 0)
		fprintf(out, "\nNo activity in this period.\n");
	for (size_t i = 0; i < r->nusers; i++)
		text_user_part(r, &r->users[i], out);
	return fflush(out) != 0 || ferror(out) ? PIM_EIO : PIM_OK;
}
