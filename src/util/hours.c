/* Working hours: parsing the [report] settings and placing instants in
 * them. Local time comes from the C library, which reads the zone's TZif
 * file when TZ names it; "UTC" needs no file. */
#include "pimgate/hours.h"

#include "pimgate/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HOURS_DAY_MIN 1440
#define HOURS_ZONEINFO "/usr/share/zoneinfo"

static const char *const hours_day_names[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* Reads "HH:MM" at S (exactly five characters) into minutes. */
static int
hours_read_clock(const char *s, int *minutes)
{
	int h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
		return PIM_EINVAL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && m != 0))
		return PIM_EINVAL;
	*minutes = h * 60 + m;
	return PIM_OK;
}

int
hours_parse_span(const char *s, int *start_min, int *end_min)
{
	int a, b;

	if (s == NULL || strlen(s) != 11 || s[5] != '-')
		return PIM_EINVAL;
	if (hours_read_clock(s, &a) != PIM_OK ||
	    hours_read_clock(s + 6, &b) != PIM_OK)
		return PIM_EINVAL;
	if (a >= HOURS_DAY_MIN || b <= a)
		return PIM_EINVAL;
	*start_min = a;
	*end_min = b;
	return PIM_OK;
}

/* The weekday named by the LEN characters at S, or -1. */
static int
hours_day(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++) {
		if (len == 3 && strncasecmp(s, hours_day_names[i], 3) == 0)
			return i;
	}
	return -1;
}

/* Adds one item of the list ("mon" or "mon-fri", LEN characters). */
static int
hours_add_days(const char *s, size_t len, unsigned *days)
{
	const char *dash = memchr(s, '-', len);
	int a, b;

	if (dash == NULL) {
		a = b = hours_day(s, len);
	} else {
		a = hours_day(s, (size_t)(dash - s));
		b = hours_day(dash + 1, len - (size_t)(dash - s) - 1);
	}
	if (a < 0 || b < 0)
		return PIM_EINVAL;
	/* A range may wrap over the end of the week: "fri-mon". */
	for (int d = a;; d = (d + 1) % 7) {
		*days |= 1u << d;
		if (d == b)
			break;
	}
	return PIM_OK;
}

int
hours_parse_days(const char *s, unsigned *days)
{
	unsigned set = 0;
	size_t len;

	if (s == NULL || *s == '\0')
		return PIM_EINVAL;
	for (;;) {
		len = strcspn(s, ",");
		if (hours_add_days(s, len, &set) != PIM_OK)
			return PIM_EINVAL;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	*days = set;
	return PIM_OK;
}

static bool
hours_tz_name_ok(const char *tz)
{
	size_t len = strlen(tz);

	if (len == 0 || len >= HOURS_TZ_MAX || tz[0] == '/' ||
	    strstr(tz, "..") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tz[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || strchr("/_+-.", c) != NULL))
			return false;
	}
	return true;
}

/* True if PATH is a TZif file (its first four bytes say so). */
static bool
hours_tzif(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	bool ok;

	if (fd < 0)
		return false;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int
hours_check_tz(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	if (tz == NULL || !hours_tz_name_ok(tz))
		return PIM_EINVAL;
	if (strcmp(tz, "UTC") == 0)
		return PIM_OK;
	if (dir == NULL || *dir == '\0')
		dir = HOURS_ZONEINFO;
	if (snprintf(path, sizeof(path), "%s/%s", dir, tz) >= (int)sizeof(path))
		return PIM_EINVAL;
	return hours_tzif(path) ? PIM_OK : PIM_ENOTFOUND;
}

int
hours_init(struct work_hours *wh, const char *span, const char *days,
    const char *tz, char *err, size_t errlen)
{
	int r;

	memset(wh, 0, sizeof(*wh));
	if (hours_parse_span(span, &wh->start_min, &wh->end_min) != PIM_OK) {
		snprintf(err, errlen,
		    "[report] working_hours: expected HH:MM-HH:MM, the start "
		    "before the end");
		return PIM_EINVAL;
	}
	if (hours_parse_days(days, &wh->days) != PIM_OK) {
		snprintf(err, errlen,
		    "[report] working_days: expected days such as mon-fri "
		    "or mon,wed,sat");
		return PIM_EINVAL;
	}
	r = hours_check_tz(tz);
	if (r != PIM_OK) {
		snprintf(err, errlen,
		    "[report] timezone: expected an IANA time zone name such "
		    "as UTC or Europe/Paris");
		return r;
	}
	snprintf(wh->tz, sizeof(wh->tz), "%s", tz);
	return PIM_OK;
}

/* Weekdays in the order people list them (Monday first), a run of days
 * as "mon-fri". */
static void
hours_format_days(unsigned days, char *buf, size_t size)
{
	size_t used = 0;
	int i = 0, run;

	buf[0] = '\0';
	while (i < 7 && used < size) {
		for (run = 0; i + run < 7 && (days >> ((i + run + 1) % 7) & 1u);
		     run++)
			;
		if (run == 0) {
			i++;
			continue;
		}
		used += (size_t)snprintf(buf + used, size - used, "%s%s%s%s",
		    used > 0 ? "," : "", hours_day_names[(i + 1) % 7],
		    run > 1 ? "-" : "",
		    run > 1 ? hours_day_names[(i + run) % 7] : "");
		i += run;
	}
}

void
hours_format(const struct work_hours *wh, char *buf, size_t size)
{
	char days[64];

	hours_format_days(wh->days, days, sizeof(days));
	snprintf(buf, size, "%02d:%02d-%02d:%02d %s %s", wh->start_min / 60,
	    wh->start_min % 60, wh->end_min / 60, wh->end_min % 60, days,
	    wh->tz);
}

/* TZ as it was before a call switched it to the zone. */
struct hours_saved_tz {
	char *value; /* NULL if TZ was unset (or could not be kept) */
};

static void
hours_tz_enter(const struct work_hours *wh, struct hours_saved_tz *saved)
{
	const char *old = getenv("TZ");

	saved->value = old != NULL ? strdup(old) : NULL;
	/* "UTC0" is a rule, not a file: it works without tzdata too. */
	setenv("TZ", strcmp(wh->tz, "UTC") == 0 ? "UTC0" : wh->tz, 1);
	tzset();
}

static void
hours_tz_leave(struct hours_saved_tz *saved)
{
	if (saved->value != NULL)
		setenv("TZ", saved->value, 1);
	else
		unsetenv("TZ");
	free(saved->value);
	tzset();
}

void
hours_local(const struct work_hours *wh, int64_t t, int *wday, int *minute)
{
	struct hours_saved_tz saved;
	time_t tt = (time_t)t;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	hours_tz_enter(wh, &saved);
	localtime_r(&tt, &tm);
	hours_tz_leave(&saved);
	*wday = tm.tm_wday;
	*minute = tm.tm_hour * 60 + tm.tm_min;
}

/* Whether local time TM (of instant *T) is in a working span; if so,
 * *DAY_END is the end of that span. TM is changed. */
static bool
hours_in_span(const struct work_hours *wh, struct tm *tm, time_t *day_end)
{
	int minute = tm->tm_hour * 60 + tm->tm_min;

	if ((wh->days >> tm->tm_wday & 1u) == 0 || minute < wh->start_min ||
	    minute >= wh->end_min)
		return false;
	/* mktime knows the day's offset, daylight saving included. */
	tm->tm_hour = wh->end_min / 60;
	tm->tm_min = wh->end_min % 60;
	tm->tm_sec = 0;
	tm->tm_isdst = -1;
	*day_end = mktime(tm);
	return true;
}

bool
hours_cover(const struct work_hours *wh, int64_t start, int64_t end)
{
	struct hours_saved_tz saved;
	time_t tt = (time_t)start, day_end = 0;
	bool covered = false;
	struct tm tm;

	/* Every hour of every day: nothing is outside. */
	if (wh->start_min == 0 && wh->end_min == HOURS_DAY_MIN &&
	    (wh->days & 0x7fu) == 0x7fu)
		return true;
	hours_tz_enter(wh, &saved);
	for (int n = 0; n < 7; n++) {
		memset(&tm, 0, sizeof(tm));
		localtime_r(&tt, &tm);
		if (!hours_in_span(wh, &tm, &day_end))
			break;
		if (end <= (int64_t)day_end) {
			covered = true;
			break;
		}
		/* A span to midnight runs on into the next day's span from
		 * midnight, if that day works. */
		if (wh->start_min != 0 || wh->end_min != HOURS_DAY_MIN)
			break;
		tt = day_end;
	}
	hours_tz_leave(&saved);
	return covered;
}
