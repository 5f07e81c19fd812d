/* Working hours, for access reviews: a daily span ("07:00-19:00") on some
 * weekdays ("mon-fri") read in an IANA time zone ("Europe/Paris"). The
 * three are the [report] settings of the configuration. */
#ifndef PIMGATE_HOURS_H
#define PIMGATE_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOURS_TZ_MAX 64

struct work_hours {
	int start_min; /* minutes after local midnight, 0 to 1439 */
	int end_min; /* after START_MIN, at most 1440 (24:00) */
	unsigned days; /* bit N set: weekday N works; 0 is Sunday */
	char tz[HOURS_TZ_MAX];
};

/* Parses "HH:MM-HH:MM" (24-hour clock, the end after the start, "24:00"
 * allowed as an end; no span across midnight). PIM_OK or PIM_EINVAL. */
int hours_parse_span(const char *s, int *start_min, int *end_min);
/* Parses weekdays: a comma-separated list of three-letter names and
 * ranges ("mon-fri", "mon,wed,sat", "fri-mon" wraps over the weekend),
 * any case. PIM_OK or PIM_EINVAL. */
int hours_parse_days(const char *s, unsigned *days);
/* Checks an IANA time zone name: "UTC", or a name made of letters,
 * digits and "/_+-." (no "..", no leading "/") whose TZif file exists
 * under $TZDIR or /usr/share/zoneinfo. PIM_OK, PIM_EINVAL (a bad name)
 * or PIM_ENOTFOUND (no such zone). */
int hours_check_tz(const char *tz);

/* Fills WH from the three settings; PIM_EINVAL or PIM_ENOTFOUND with a
 * one-line reason in ERR naming the setting at fault. */
int hours_init(struct work_hours *wh, const char *span, const char *days,
    const char *tz, char *err, size_t errlen);
/* "07:00-19:00 mon-fri UTC" into BUF. */
void hours_format(const struct work_hours *wh, char *buf, size_t size);

/* True if [START, END] lies within one working span: START on a working
 * day at or after the span's start, END no later than that same day's
 * end (a span that ends at 24:00 runs on into the next day's when that
 * one starts at 00:00 on a working day). Local times come from the C
 * library with TZ set to the zone for the call (and put back after it),
 * so this is not for threaded code. */
bool hours_cover(const struct work_hours *wh, int64_t start, int64_t end);
/* The local weekday (0 is Sunday) and minutes after midnight of T. */
void hours_local(
    const struct work_hours *wh, int64_t t, int *wday, int *minute);

#endif
