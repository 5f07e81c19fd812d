/* Time: one clock for the whole process, settable by tests; durations and
 * instants as written by people ("1h30m", "2026-12-04T15:00:00Z"). All
 * instants are seconds since the Unix epoch, UTC. */
#ifndef PIMGATE_CLOCK_H
#define PIMGATE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Current wall-clock time in seconds (or the fixed time, if set). */
int64_t clock_now(void);
/* Current wall-clock time in milliseconds (or fixed time * 1000). */
int64_t clock_now_ms(void);
/* Monotonic time in microseconds, for measuring intervals; not settable. */
int64_t clock_mono_us(void);
/* Fixes clock_now() at T for tests; T == 0 returns to the real clock. */
void clock_set_fixed(int64_t t);

/* Parses "90s", "15m", "4h", "1h30m", "2d", "1d12h" (units d, h, m, s,
 * each at most once, in that order, at least one; a bare number is an
 * error). Result must be > 0 and < 100 years. Returns PIM_OK or
 * PIM_EINVAL. */
int duration_parse(const char *s, int64_t *secs);
/* Writes SECS as the shortest form above ("1h30m", "0s" for 0) into BUF. */
void duration_format(int64_t secs, char *buf, size_t size);

/* Parses RFC 3339: "2026-12-04T15:00:00Z", with optional fractional
 * seconds (dropped) and "+HH:MM"/"-HH:MM" offsets; 't' and 'z' accepted.
 * Returns PIM_OK or PIM_EINVAL (also for impossible dates). */
int instant_parse(const char *s, int64_t *t);
/* Writes T as "2026-12-04T15:00:00Z" into BUF (SIZE >= 21). */
void instant_format(int64_t t, char *buf, size_t size);

#endif
