/* Session recordings: asciicast v2 files for terminal sessions.
 *
 * The writer keeps the file valid JSON lines whatever bytes it gets: a
 * UTF-8 sequence split across two calls is held back until complete,
 * invalid bytes become U+FFFD, control characters are escaped.
 *
 * Output is buffered in memory. The buffer goes on towards the file once
 * it holds about 64 KiB, on cast_flush() and on cast_close():
 *
 *   - synchronously (the default): written to the file there and then,
 *     on the caller's thread;
 *   - asynchronously, while the writer thread runs
 *     (cast_writer_thread_start()): queued for that thread, which does
 *     all the writing, so the caller never waits on the disk. The caller
 *     watches cast_backlog() to keep memory bounded and cast_error() (or
 *     the return values) to learn of write errors.
 *
 * Every byte formatted reaches the file, in order, unless a write fails.
 * After the first write error W drops all further data and every call on
 * it returns that error (PIM_EIO): the recording is broken and the
 * session should end.
 *
 * Threads: one writer is used by one thread at a time. cast_backlog() and
 * cast_error() may be called from any thread while W is open. Start and
 * stop the writer thread from the thread that uses the writers (the event
 * loop), not while another thread is inside a call on a writer. */
#ifndef PIMGATE_RECORD_H
#define PIMGATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cast_header {
	int width;
	int height;
	int64_t timestamp; /* session start, seconds since epoch */
	const char *term; /* TERM, may be NULL */
	const char *title; /* may be NULL */
	const char *user;
	const char *target;
	int64_t session_id;
	const char *command; /* exec command, NULL for a shell */
};

struct cast_writer;

/* Process-wide bound on the bytes waiting for the writer thread. Above
 * it cast_backlog() reports at least this much for every writer, so that
 * every caller backs off; data is still accepted, never dropped. Per
 * writer limits should therefore be below it. */
#define CAST_QUEUE_MAX ((size_t)64 << 20)

/* Creates PATH (0600, must not exist) and formats the header line. The
 * file is created on the caller's thread in both modes. Returns PIM_OK,
 * PIM_EEXIST, PIM_EIO (cannot create), PIM_EINVAL or PIM_ENOMEM. */
int cast_open(
    const char *path, const struct cast_header *h, struct cast_writer **out);
/* Record DATA (any bytes, LEN may be 0) or a resize. T is seconds since
 * the session start. Return PIM_OK, PIM_EINVAL, PIM_ENOMEM (nothing, or
 * only a first part of DATA, was recorded; the file stays valid) or the
 * write error W has met: in synchronous mode during this call or before,
 * in asynchronous mode so far. */
int cast_output(struct cast_writer *w, double t, const void *data, size_t len);
int cast_input(struct cast_writer *w, double t, const void *data, size_t len);
int cast_resize(struct cast_writer *w, double t, int width, int height);
/* Sends what is buffered on: written (synchronous mode) or queued
 * (asynchronous; it reaches the file when the thread gets to it). Returns
 * the write error met so far, PIM_OK if none. */
int cast_flush(struct cast_writer *w);
/* Ends the recording: an incomplete UTF-8 tail becomes U+FFFD, what is
 * buffered goes on, the file is closed and W freed. The caller must not
 * use W afterwards, in either mode.
 *
 * Synchronous mode: returns the first write error, including those of
 * the last write and of close(2). Asynchronous mode: hands the rest and a
 * close request to the writer thread, which writes, closes and frees W
 * later; returns the error seen so far, so an error in that last write is
 * only logged. */
int cast_close(struct cast_writer *w);
/* Bytes formatted so far, header included, whether or not they have
 * reached the file yet (cast_backlog() says how many have not). Owner's
 * thread only. */
int64_t cast_bytes(const struct cast_writer *w);
/* Bytes formatted for W that have not been written yet: the buffer plus
 * what is queued for the writer thread; 0 for NULL. If the process-wide
 * queue is over CAST_QUEUE_MAX, returns at least that total instead.
 * Cheap and thread-safe (atomic counters). After a write error queued
 * bytes are dropped, so the backlog still drains. */
size_t cast_backlog(const struct cast_writer *w);
/* The first write error W has met (PIM_EIO), PIM_OK if none, PIM_EINVAL
 * for NULL. Thread-safe. */
int cast_error(const struct cast_writer *w);

/* Starts the writer thread; from then on writers work asynchronously.
 * Call once, before the writers are busy (the daemon, at start-up).
 * Returns PIM_OK, PIM_EINVAL if it already runs, PIM_ERR if no thread
 * could be created (writers stay synchronous). */
int cast_writer_thread_start(void);
/* A mark of everything handed to the writer thread so far (closes
 * included): cast_writer_reached(TICKET) turns true once the thread has
 * written all of it. Without the thread both are trivially satisfied.
 * Thread-safe. */
uint64_t cast_writer_ticket(void);
bool cast_writer_reached(uint64_t ticket);
/* Writes out everything queued (closing the files of closed writers),
 * then joins the thread; blocks until the disk has taken it all. Writers
 * still open carry on synchronously. Does nothing if the thread does not
 * run. */
void cast_writer_thread_stop(void);

/* Plays the recording at PATH to OUT, sleeping between events as
 * recorded, divided by SPEED (>0); SPEED 0 prints without delay. Returns
 * PIM_OK, PIM_EIO or PIM_EINVAL (not asciicast v2: ERR says why). */
int cast_play(
    const char *path, double speed, FILE *out, char *err, size_t errlen);

/* Query logs: one JSON-lines file per database session, beside the
 * terminal recordings, written through the same writer (and writer
 * thread) as asciicast files, so the same backlog and error rules hold.
 * The first line describes the session:
 *
 *   {"version":1,"kind":"pimgate-query-log","session":12,"user":"alice",
 *    "target":"clientsdb","database":"records","start":"RFC 3339"}
 *
 * then one line per event, "t" being seconds since the start (3 decimals)
 * and "time" the wall clock instant (RFC 3339 with milliseconds):
 *
 *   {"t":0.512,"time":"...","type":"query","sql":"SELECT 1"}
 *   {"t":..,"type":"parse","statement":"","sql":"SELECT $1","params":1}
 *   {"t":..,"type":"complete","tag":"SELECT 1"}
 *   {"t":..,"type":"error","severity":"ERROR","sqlstate":"42P01",
 *    "message":"relation \"x\" does not exist"}
 *   {"t":..,"type":"function","oid":2924,"args":4,
 *    "arguments":"select ...\ntrue\nfalse\n"}   (a FunctionCall: its
 *    text arguments one per line, "<binary N bytes>" or "NULL" for others)
 *   {"t":..,"type":"cancel"}   {"t":..,"type":"end","reason":"expired"}
 *
 * Text of any bytes is kept valid JSON (invalid UTF-8 becomes U+FFFD);
 * SQL longer than QLOG_SQL_MAX bytes is cut there and marked
 * "truncated":true with "length" the full size. Returned rows are never
 * logged. */
#define QLOG_SQL_MAX (64 * 1024)

struct qlog_header {
	int64_t session_id;
	const char *user;
	const char *target;
	const char *database;
	int64_t start_ms; /* wall clock, milliseconds since the epoch */
};

/* Creates PATH (0600, must not exist) and writes the first line. Same
 * return codes as cast_open(). */
int qlog_open(
    const char *path, const struct qlog_header *h, struct cast_writer **out);
/* Events; NOW_MS is the wall clock in milliseconds. SQL is LEN bytes (not
 * NUL-terminated, any bytes). Return codes as cast_output(). */
int qlog_query(struct cast_writer *w, int64_t now_ms, const char *sql,
    size_t len, size_t full_len);
int qlog_parse(struct cast_writer *w, int64_t now_ms, const char *statement,
    const char *sql, size_t len, size_t full_len, int params);
int qlog_complete(struct cast_writer *w, int64_t now_ms, const char *tag);
/* Prints the query log at PATH for people to read, one line per event,
 * control characters made harmless. PIM_OK, PIM_EIO or PIM_EINVAL (not a
 * query log: ERR says why). */
int qlog_print(const char *path, FILE *out, char *err, size_t errlen);
/* A FunctionCall of the function with OID, given ARGS arguments, shown
 * as TEXT (LEN bytes, cut at QLOG_SQL_MAX). */
int qlog_function(struct cast_writer *w, int64_t now_ms, uint32_t oid, int args,
    const char *text, size_t len);
int qlog_error(struct cast_writer *w, int64_t now_ms, const char *severity,
    const char *sqlstate, const char *message);
/* A bare event: "cancel", "end" (DETAIL_KEY "reason")...; DETAIL_KEY may
 * be NULL. */
int qlog_event(struct cast_writer *w, int64_t now_ms, const char *type,
    const char *detail_key, const char *detail);
/* The file is closed with cast_close(); cast_flush, cast_backlog,
 * cast_error and cast_bytes apply as well. */

#endif
