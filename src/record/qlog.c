/* Query logs (record.h): JSON lines written through the asciicast writer
 * of cast.c, so that they share its chunks, writer thread, backlog and
 * error handling.
 *
 * Each line is formatted whole before it counts: if memory runs out part
 * way, the line is taken back and the call returns PIM_ENOMEM, so the
 * file only ever holds complete lines. Every string from outside (SQL,
 * names, server messages) goes through the same escaping as terminal
 * output; SQL arrives complete in one call, so a sequence left unfinished
 * at its end becomes U+FFFD instead of being carried. */
#include "pimgate/record.h"

#include "cast_int.h"
#include "pimgate/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The last instant RFC 3339 can write with a four-digit year,
 * 9999-12-31T23:59:59.999Z, in milliseconds since the epoch. */
#define QLOG_MS_MAX INT64_C(253402300799999)

static bool
qlog_ms_ok(int64_t ms)
{
	return ms >= 0 && ms <= QLOG_MS_MAX;
}

/* Formats MS (qlog_ms_ok) as "2026-12-04T18:40:00.123Z" into BUF (at
 * least 32 bytes). Returns false if the system cannot convert it. */
static bool
qlog_time(char *buf, size_t size, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if ((int64_t)s != ms / 1000 || gmtime_r(&s, &tm) == NULL)
		return false;
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
	return true;
}

/* Appends ,"KEY":"VALUE", both C strings of any bytes. */
static int
qlog_field(struct cast_writer *w, const char *key, const char *value)
{
	int r = cast_add(w, ",");

	r |= cast_json_bytes(w, key, strlen(key));
	r |= cast_add(w, ":");
	r |= cast_json_bytes(w, value, strlen(value));
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

/* Ends the line begun, or takes it back if R (the formatting) failed. */
static int
qlog_line_end(struct cast_writer *w, int r)
{
	if (r == PIM_OK)
		r = cast_add(w, "}\n");
	if (r != PIM_OK) {
		cast_line_cancel(w);
		return PIM_ENOMEM;
	}
	return cast_line_done(w);
}

/* --- the first line --- */

static int
qlog_header_put(struct cast_writer *w, const struct qlog_header *h)
{
	char head[128], start[32];
	int r;

	if (!qlog_time(start, sizeof(start), h->start_ms))
		return PIM_EINVAL;
	snprintf(head, sizeof(head),
	    "{\"version\":1,\"kind\":\"pimgate-query-log\",\"session\":"
	    "%" PRId64,
	    h->session_id);
	r = cast_add(w, head);
	r |= qlog_field(w, "user", h->user);
	r |= qlog_field(w, "target", h->target);
	r |= qlog_field(w, "database", h->database);
	r |= qlog_field(w, "start", start);
	r |= cast_add(w, "}\n");
	if (r != PIM_OK) {
		cast_line_cancel(w);
		return PIM_ENOMEM;
	}
	return PIM_OK;
}

int
qlog_open(
    const char *path, const struct qlog_header *h, struct cast_writer **out)
{
	struct cast_writer *w = NULL;
	int r;

	if (path == NULL || h == NULL || out == NULL || h->user == NULL ||
	    h->target == NULL || h->database == NULL ||
	    !qlog_ms_ok(h->start_ms))
		return PIM_EINVAL;
	*out = NULL;
	r = cast_writer_new(path, &w);
	if (r != PIM_OK)
		return r;
	cast_set_qlog(w, h->start_ms);
	r = qlog_header_put(w, h);
	/* cast_line_done() can fail only when it writes at once, the chunk
	 * staying with W (queued, it returns W's error so far: none), so a
	 * failed W is still the caller's to discard. */
	if (r == PIM_OK)
		r = cast_line_done(w);
	if (r != PIM_OK) {
		cast_writer_discard(w);
		return r;
	}
	*out = w;
	return PIM_OK;
}

/* --- events --- */

/* Begins an event line: {"t":0.512,"time":"...","type":"TYPE". Returns
 * PIM_EINVAL (not a query log, or NOW_MS out of range), W's write error,
 * or PIM_ENOMEM (the line is taken back). */
static int
qlog_begin(struct cast_writer *w, int64_t now_ms, const char *type)
{
	char head[96], when[32];
	int64_t start, t;
	int r;

	if (!cast_is_qlog(w, &start) || !qlog_ms_ok(now_ms) ||
	    !qlog_time(when, sizeof(when), now_ms))
		return PIM_EINVAL;
	r = cast_error(w);
	if (r != PIM_OK)
		return r;

	t = now_ms > start ? now_ms - start : 0; /* the clock may step back */
	snprintf(head, sizeof(head), "{\"t\":%" PRId64 ".%03d", t / 1000,
	    (int)(t % 1000));
	r = cast_add(w, head);
	r |= qlog_field(w, "time", when);
	r |= qlog_field(w, "type", type);
	if (r != PIM_OK) {
		cast_line_cancel(w);
		return PIM_ENOMEM;
	}
	return PIM_OK;
}

static bool
qlog_sql_ok(const char *sql, size_t len, size_t full_len)
{
	return (sql != NULL || len == 0) && full_len >= len;
}

/* Appends ,"sql":"..." with the truncation mark when the SQL is cut,
 * here at QLOG_SQL_MAX or before by the caller. */
static int
qlog_sql(struct cast_writer *w, const char *sql, size_t len, size_t full_len)
{
	char mark[64];
	int r;

	if (len > QLOG_SQL_MAX)
		len = QLOG_SQL_MAX;
	r = cast_add(w, ",\"sql\":");
	r |= cast_json_bytes(w, sql, len);
	if (full_len > len) {
		snprintf(mark, sizeof(mark),
		    ",\"truncated\":true,\"length\":%zu", full_len);
		r |= cast_add(w, mark);
	}
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

int
qlog_query(struct cast_writer *w, int64_t now_ms, const char *sql, size_t len,
    size_t full_len)
{
	int r;

	if (!qlog_sql_ok(sql, len, full_len))
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, "query");
	if (r != PIM_OK)
		return r;
	return qlog_line_end(w, qlog_sql(w, sql, len, full_len));
}

int
qlog_parse(struct cast_writer *w, int64_t now_ms, const char *statement,
    const char *sql, size_t len, size_t full_len, int params)
{
	char num[32];
	int r;

	if (statement == NULL || params < 0 || !qlog_sql_ok(sql, len, full_len))
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, "parse");
	if (r != PIM_OK)
		return r;
	r = qlog_field(w, "statement", statement);
	r |= qlog_sql(w, sql, len, full_len);
	snprintf(num, sizeof(num), ",\"params\":%d", params);
	r |= cast_add(w, num);
	return qlog_line_end(w, r == PIM_OK ? PIM_OK : PIM_ENOMEM);
}

int
qlog_complete(struct cast_writer *w, int64_t now_ms, const char *tag)
{
	int r;

	if (tag == NULL)
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, "complete");
	if (r != PIM_OK)
		return r;
	return qlog_line_end(w, qlog_field(w, "tag", tag));
}

int
qlog_error(struct cast_writer *w, int64_t now_ms, const char *severity,
    const char *sqlstate, const char *message)
{
	int r;

	if (severity == NULL || sqlstate == NULL || message == NULL)
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, "error");
	if (r != PIM_OK)
		return r;
	r = qlog_field(w, "severity", severity);
	r |= qlog_field(w, "sqlstate", sqlstate);
	r |= qlog_field(w, "message", message);
	return qlog_line_end(w, r == PIM_OK ? PIM_OK : PIM_ENOMEM);
}

/* A detail key may not repeat a key every event has. */
static bool
qlog_key_ok(const char *key)
{
	return key[0] != '\0' && strcmp(key, "t") != 0 &&
	       strcmp(key, "time") != 0 && strcmp(key, "type") != 0;
}

int
qlog_event(struct cast_writer *w, int64_t now_ms, const char *type,
    const char *detail_key, const char *detail)
{
	int r;

	if (type == NULL || type[0] == '\0' ||
	    (detail_key != NULL &&
		(detail == NULL || !qlog_key_ok(detail_key))))
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, type);
	if (r != PIM_OK)
		return r;
	if (detail_key != NULL)
		r = qlog_field(w, detail_key, detail);
	return qlog_line_end(w, r);
}

int
qlog_function(struct cast_writer *w, int64_t now_ms, uint32_t oid, int args,
    const char *text, size_t len)
{
	char num[64];
	int r;

	if (args < 0 || (text == NULL && len > 0))
		return PIM_EINVAL;
	r = qlog_begin(w, now_ms, "function");
	if (r != PIM_OK)
		return r;
	snprintf(
	    num, sizeof(num), ",\"oid\":%" PRIu32 ",\"args\":%d", oid, args);
	r = cast_add(w, num);
	if (len > QLOG_SQL_MAX)
		len = QLOG_SQL_MAX;
	r |= cast_add(w, ",\"arguments\":");
	r |= cast_json_bytes(w, text != NULL ? text : "", len);
	return qlog_line_end(w, r == PIM_OK ? PIM_OK : PIM_ENOMEM);
}
