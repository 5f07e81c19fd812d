/* The flag rules of an access report (report.h says them in words), and
 * the names of the flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"

#include "report_int.h"

static const struct {
	unsigned flag;
	const char *name;
} report_flag_names[] = {
    {REPORT_OFF_HOURS, "off-hours"},
    {REPORT_BREAK_GLASS, "break-glass"},
    {REPORT_ENDED_EXPIRED, "ended-expired"},
    {REPORT_ENDED_KILLED, "ended-killed"},
    {REPORT_ENDED_REVOKED, "ended-revoked"},
    {REPORT_VOLUME, "unusual-volume"},
    {REPORT_MFA_REPEATED_FLAG, "repeated-mfa-failures"},
    {REPORT_MFA_FAILURE, "mfa-failure"},
};

#define REPORT_NFLAGS (sizeof(report_flag_names) / sizeof(report_flag_names[0]))

const char *
report_flag_name(unsigned flag)
{
	for (size_t i = 0; i < REPORT_NFLAGS; i++) {
		if (report_flag_names[i].flag == flag)
			return report_flag_names[i].name;
	}
	return NULL;
}

void
report_flags_format(unsigned flags, const char *sep, char *buf, size_t size)
{
	size_t used = 0;
	int n;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < REPORT_NFLAGS && used < size; i++) {
		if ((flags & report_flag_names[i].flag) == 0)
			continue;
		n = snprintf(buf + used, size - used, "%s%s",
		    used > 0 ? sep : "", report_flag_names[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

unsigned
report_rule_activation(
    const struct report_options *opt, const struct report_activation *a)
{
	unsigned flags = 0;

	if (a->a.break_glass)
		flags |= REPORT_BREAK_GLASS;
	if (a->held && !hours_cover(&opt->hours, a->a.start, a->until))
		flags |= REPORT_OFF_HOURS;
	return flags;
}

/* The end reasons are the session module's (END_EXPIRED, END_KILLED,
 * END_REVOKED in session.h), as stored; the report reads only rows. */
unsigned
report_rule_end(const char *end_reason)
{
	if (strcmp(end_reason, "expired") == 0)
		return REPORT_ENDED_EXPIRED;
	if (strcmp(end_reason, "killed") == 0)
		return REPORT_ENDED_KILLED;
	if (strcmp(end_reason, "revoked") == 0)
		return REPORT_ENDED_REVOKED;
	return 0;
}

static int
report_cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t
report_median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), report_cmp_int64);
	if (n % 2 == 1)
		return v[n / 2];
	/* Halves first: the sum of two large counts cannot overflow. */
	return v[n / 2 - 1] / 2 + v[n / 2] / 2 +
	       (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}

bool
report_rule_volume(int64_t factor, int64_t bytes, int64_t median, int history)
{
	if (history < REPORT_HISTORY_MIN || median < 0 ||
	    bytes < REPORT_VOLUME_FLOOR)
		return false;
	/* BYTES > FACTOR * MEDIAN, without the product overflowing. */
	return median < bytes / factor ||
	       (median == bytes / factor && bytes % factor != 0);
}

/* The words the product writes when a one-time code fails: the SSH
 * login's second factor ("password+totp: ..."), policy_totp_check's
 * refusals (activation, extension) and the PostgreSQL password with a
 * code appended. */
static const char *const report_mfa_words[] = {
    "+totp:",
    "code is wrong",
    "code was already used",
    "the code must be exactly",
};

bool
report_is_mfa_failure(const struct store_audit *e)
{
	if (strcmp(e->outcome, "ok") == 0)
		return false;
	for (size_t i = 0;
	     i < sizeof(report_mfa_words) / sizeof(report_mfa_words[0]); i++) {
		if (strstr(e->detail, report_mfa_words[i]) != NULL)
			return true;
	}
	return false;
}

/* Break-glass requests are audited with details that begin so
 * (selfsvc/activation.c, cli/activation.c). */
bool
report_is_break_glass(const struct store_audit *e)
{
	return strncmp(e->detail, "BREAK-GLASS", 11) == 0;
}
