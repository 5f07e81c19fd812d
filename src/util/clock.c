/* The process clock (settable by tests), durations and RFC 3339 instants. */
#include "pimgate/clock.h"

#include "pimgate/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define CLOCK_DAY 86400
/* Durations must stay under 100 years of 365.25 days. */
#define CLOCK_DURATION_MAX ((int64_t)36525 * CLOCK_DAY)

static int64_t clock_fixed;

int64_t
clock_now(void)
{
	struct timespec ts;

	if (clock_fixed != 0)
		return clock_fixed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	if (clock_fixed != 0)
		return clock_fixed * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
clock_set_fixed(int64_t t)
{
	clock_fixed = t;
}

/* --- durations --- */

static const struct {
	char unit;
	int64_t secs;
} clock_units[] = {
    {'d', CLOCK_DAY},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
};

#define CLOCK_NUNITS (sizeof(clock_units) / sizeof(clock_units[0]))

/* Reads decimal digits at *P, capped at CLOCK_DURATION_MAX. */
static int
clock_read_number(const char **p, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;

	if (*s < '0' || *s > '9')
		return PIM_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v >= CLOCK_DURATION_MAX)
			return PIM_EINVAL;
	}
	*p = s;
	*out = v;
	return PIM_OK;
}

/* Index of unit C at or after FROM, or CLOCK_NUNITS if none. */
static size_t
clock_unit_index(char c, size_t from)
{
	size_t i;

	for (i = from; i < CLOCK_NUNITS; i++) {
		if (clock_units[i].unit == c)
			return i;
	}
	return CLOCK_NUNITS;
}

int
duration_parse(const char *s, int64_t *secs)
{
	int64_t total = 0, n;
	size_t next = 0, u;

	if (s == NULL || *s == '\0')
		return PIM_EINVAL;
	while (*s != '\0') {
		if (clock_read_number(&s, &n) != PIM_OK)
			return PIM_EINVAL;
		u = clock_unit_index(*s, next);
		if (u == CLOCK_NUNITS)
			return PIM_EINVAL; /* bare number, unknown or repeat */
		if (n > (CLOCK_DURATION_MAX - total) / clock_units[u].secs)
			return PIM_EINVAL;
		total += n * clock_units[u].secs;
		next = u + 1;
		s++;
	}
	if (total <= 0 || total >= CLOCK_DURATION_MAX)
		return PIM_EINVAL;
	*secs = total;
	return PIM_OK;
}

void
duration_format(int64_t secs, char *buf, size_t size)
{
	uint64_t left;
	size_t pos = 0, i;
	int n;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (secs == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	left = secs < 0 ? 0 - (uint64_t)secs : (uint64_t)secs;
	if (secs < 0)
		pos = (size_t)snprintf(buf, size, "-");
	for (i = 0; i < CLOCK_NUNITS && pos < size; i++) {
		uint64_t q = left / (uint64_t)clock_units[i].secs;

		if (q == 0)
			continue;
		left -= q * (uint64_t)clock_units[i].secs;
		n = snprintf(buf + pos, size - pos, "%llu%c",
		    (unsigned long long)q, clock_units[i].unit);
		if (n < 0)
			return;
		pos += (size_t)n;
	}
}

/* --- instants --- */

static bool
clock_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
clock_month_days(int64_t y, int m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && clock_leap(y))
		return 29;
	return days[m - 1];
}

/* Days since 1970-01-01 of the proleptic Gregorian date Y-M-D. */
static int64_t
clock_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of clock_days_from_civil. */
static void
clock_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly N digits at *P. */
static bool
clock_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
clock_expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

struct clock_civil {
	int year, mon, day, hour, min, sec;
};

static bool
clock_parse_date_time(const char **p, struct clock_civil *c)
{
	if (!clock_digits(p, 4, &c->year) || !clock_expect(p, '-') ||
	    !clock_digits(p, 2, &c->mon) || !clock_expect(p, '-') ||
	    !clock_digits(p, 2, &c->day))
		return false;
	if (**p != 'T' && **p != 't')
		return false;
	(*p)++;
	if (!clock_digits(p, 2, &c->hour) || !clock_expect(p, ':') ||
	    !clock_digits(p, 2, &c->min) || !clock_expect(p, ':') ||
	    !clock_digits(p, 2, &c->sec))
		return false;
	if (**p == '.') {
		(*p)++;
		if (**p < '0' || **p > '9')
			return false;
		while (**p >= '0' && **p <= '9')
			(*p)++;
	}
	return true;
}

/* Reads "Z" or "+HH:MM" / "-HH:MM" as seconds east of UTC. */
static bool
clock_parse_offset(const char **p, int *offset)
{
	int sign, hh, mm;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*offset = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!clock_digits(p, 2, &hh) || !clock_expect(p, ':') ||
	    !clock_digits(p, 2, &mm) || hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 3600 + mm * 60);
	return true;
}

static bool
clock_civil_valid(const struct clock_civil *c)
{
	if (c->mon < 1 || c->mon > 12 || c->day < 1 ||
	    c->day > clock_month_days(c->year, c->mon))
		return false;
	/* Second 60 is a leap second; it folds into the next minute. */
	return c->hour <= 23 && c->min <= 59 && c->sec <= 60;
}

int
instant_parse(const char *s, int64_t *t)
{
	struct clock_civil c;
	int offset;
	int64_t days;

	if (s == NULL || !clock_parse_date_time(&s, &c) ||
	    !clock_parse_offset(&s, &offset) || *s != '\0' ||
	    !clock_civil_valid(&c))
		return PIM_EINVAL;
	days = clock_days_from_civil(c.year, c.mon, c.day);
	*t = days * CLOCK_DAY + c.hour * 3600 + c.min * 60 + c.sec - offset;
	return PIM_OK;
}

void
instant_format(int64_t t, char *buf, size_t size)
{
	int64_t days = t / CLOCK_DAY, rem = t % CLOCK_DAY, y;
	int m, d;

	if (rem < 0) {
		rem += CLOCK_DAY;
		days--;
	}
	clock_civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m,
	    d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}
