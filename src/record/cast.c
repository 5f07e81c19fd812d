/* The asciicast v2 writer. Every line it writes is one JSON value: the
 * header object, then one event array per call. Session bytes become
 * JSON string text in cast_escape.c; a multi-byte sequence cut short by
 * the end of a call is carried here (at most 3 bytes, per stream) and
 * completed by the next call on that stream. Query logs (qlog.c) put
 * lines of their own through the same writer.
 *
 * Lines are formatted into the writer's current chunk, which is handed on
 * once it holds CAST_CHUNK_FILL bytes, on cast_flush() and on cast_close()
 * (cast_int.h): queued for the writer thread if it runs, written to the
 * file at once otherwise. The caller's thread owns everything in struct
 * cast_writer except BACKLOG and ERR, which the writer thread updates;
 * after a closing chunk is queued the writer belongs to the thread. */
#include "pimgate/fd.h"
#include "pimgate/record.h"

#include "cast_int.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAST_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define CAST_LINE_SLACK 64 /* room for "[t, \"o\", \"" and "\"]\n" */
#define CAST_DIM_MAX 10000
#define CAST_SLICE 4096 /* session bytes escaped per step */
/* Room of a fresh chunk after a quiet one, and after a full one: enough
 * to reach CAST_CHUNK_FILL with one more slice, and below the size at
 * which malloc turns to mmap (fresh pages for every chunk). */
#define CAST_CHUNK_MIN 4096
#define CAST_CHUNK_CAP \
	(CAST_CHUNK_FILL + CAST_ESCAPE_ROOM(CAST_SLICE) + CAST_LINE_SLACK)

enum cast_stream {
	CAST_OUT = 0,
	CAST_IN,
	CAST_NSTREAMS,
};

static const char cast_codes[CAST_NSTREAMS] = {'o', 'i'};

struct cast_writer {
	int fd;
	char *path; /* for the log */
	struct cast_chunk *buf; /* being filled; NULL when there is none */
	size_t buf_counted; /* bytes of BUF already in BYTES and BACKLOG */
	size_t next_cap; /* room for the next chunk */
	struct cast_chunk *close_req; /* so that cast_close needs no memory */
	unsigned char carry[CAST_NSTREAMS][4];
	size_t carry_len[CAST_NSTREAMS];
	double last_t[CAST_NSTREAMS];
	int64_t bytes; /* formatted so far */
	atomic_size_t backlog; /* formatted and not yet written */
	atomic_int err; /* the first write error, PIM_OK if none */
	bool qlog; /* a query log (qlog.c), not an asciicast file */
	int64_t qlog_start_ms; /* its start, wall clock */
};

/* --- the chunk being filled --- */

static struct cast_chunk *
cast_chunk_new(struct cast_writer *w, size_t cap)
{
	struct cast_chunk *c = malloc(sizeof(*c) + cap);

	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->w = w;
	c->len = 0;
	c->cap = cap;
	c->close = false;
	return c;
}

/* Makes room for MORE bytes in W's chunk, starting one if needed. A
 * chunk grows to at most CAST_CHUNK_CAP unless a single MORE needs it. */
static int
cast_reserve(struct cast_writer *w, size_t more)
{
	struct cast_chunk *c = w->buf;
	size_t len = c != NULL ? c->len : 0, cap;

	if (more > SIZE_MAX / 4 - len)
		return PIM_ENOMEM;
	if (c == NULL) {
		cap = more > w->next_cap ? more : w->next_cap;
		w->buf = cast_chunk_new(w, cap);
		return w->buf != NULL ? PIM_OK : PIM_ENOMEM;
	}
	if (len + more <= c->cap)
		return PIM_OK;
	for (cap = c->cap; cap < len + more; cap *= 2)
		;
	if (cap > CAST_CHUNK_CAP && len + more <= CAST_CHUNK_CAP)
		cap = CAST_CHUNK_CAP;
	c = realloc(c, sizeof(*c) + cap);
	if (c == NULL)
		return PIM_ENOMEM;
	c->cap = cap;
	w->buf = c;
	return PIM_OK;
}

static char *
cast_end(struct cast_writer *w)
{
	return w->buf->data + w->buf->len;
}

/* Appends N bytes; the caller has reserved room. */
static void
cast_put(struct cast_writer *w, const void *s, size_t n)
{
	memcpy(cast_end(w), s, n);
	w->buf->len += n;
}

int
cast_add(struct cast_writer *w, const char *s)
{
	size_t n = strlen(s);

	if (cast_reserve(w, n) != PIM_OK)
		return PIM_ENOMEM;
	cast_put(w, s, n);
	return PIM_OK;
}

/* Counts what was formatted since the last call as formatted and as
 * waiting to be written. */
static void
cast_account(struct cast_writer *w)
{
	size_t n;

	if (w->buf == NULL || w->buf->len == w->buf_counted)
		return;
	n = w->buf->len - w->buf_counted;
	w->buf_counted = w->buf->len;
	w->bytes += (int64_t)n;
	atomic_fetch_add(&w->backlog, n);
}

/* --- writing chunks to the file --- */

/* Records the first write error (errno E) and logs it once. */
static void
cast_fail(struct cast_writer *w, int e)
{
	char path[300], msg[128];
	int expect = PIM_OK;

	if (!atomic_compare_exchange_strong(&w->err, &expect, PIM_EIO))
		return;
	metrics_recording_error();
	log_error("recording write failed path=%s: %s",
	    log_str(w->path, path, sizeof(path)),
	    strerror_r(e, msg, sizeof(msg)));
}

static void
cast_writer_free(struct cast_writer *w)
{
	free(w->buf);
	free(w->close_req);
	free(w->path);
	free(w);
}

/* Writes C to its writer's file, unless the writer has failed before,
 * and takes it off the backlog. Returns the writer's first error. */
static int
cast_chunk_write(struct cast_chunk *c)
{
	struct cast_writer *w = c->w;
	size_t n = c->len;
	int e;

	if (atomic_load(&w->err) == PIM_OK) {
		e = fd_write_all(w->fd, c->data, n);
		if (e != 0)
			cast_fail(w, e);
		else
			metrics_recording_written(n);
	}
	atomic_fetch_sub(&w->backlog, n);
	return atomic_load(&w->err);
}

int
cast_chunk_done(struct cast_chunk *c)
{
	struct cast_writer *w = c->w;
	int r;

	cast_chunk_write(c);
	if (c->close && close(w->fd) != 0 && errno != EINTR)
		cast_fail(w, errno);
	r = atomic_load(&w->err);
	if (c->close)
		cast_writer_free(w);
	free(c);
	return r;
}

/* --- handing chunks on --- */

/* Hands W's chunk on: to the writer thread, or to the file at once when
 * there is none (the chunk is then kept to be filled again). With CLOSE,
 * W's file is closed and W freed after the chunk is written. Returns W's
 * first write error: so far (queued) or after this write (written). */
static int
cast_hand_on(struct cast_writer *w, bool close)
{
	struct cast_chunk *c = w->buf;
	bool empty = c == NULL || c->len == 0;
	int r;

	cast_account(w);
	if (empty && !close)
		return atomic_load(&w->err);
	if (!close && !cast_thread_running()) {
		r = cast_chunk_write(c);
		c->len = 0;
		w->buf_counted = 0;
		return r;
	}

	if (empty) {
		free(c);
		c = w->close_req; /* nothing left but the request */
	} else {
		if (close)
			free(w->close_req);
		w->next_cap =
		    c->len >= CAST_CHUNK_FILL ? CAST_CHUNK_CAP : CAST_CHUNK_MIN;
	}
	w->buf = NULL;
	w->buf_counted = 0;
	if (close)
		w->close_req = NULL;
	c->close = close;

	r = atomic_load(&w->err); /* once queued, W may be gone */
	if (cast_thread_queue(c))
		return r;
	return cast_chunk_done(c);
}

/* Hands a full chunk on in the middle of a line and goes on in a fresh
 * one, which is allocated first: without memory for it the full chunk
 * is kept and grows instead, so the line can always be ended. */
static int
cast_hand_on_midline(struct cast_writer *w)
{
	struct cast_chunk *fresh = NULL;
	int r;

	if (cast_thread_running()) {
		fresh = cast_chunk_new(w, CAST_CHUNK_CAP);
		if (fresh == NULL)
			return PIM_OK;
	}
	r = cast_hand_on(w, false);
	if (w->buf == NULL)
		w->buf = fresh;
	else
		free(fresh);
	return r;
}

/* --- JSON text --- */

int
cast_json_bytes(struct cast_writer *w, const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t pos = 0, len, tail = 0;

	if (cast_add(w, "\"") != PIM_OK)
		return PIM_ENOMEM;
	while (pos < n) {
		len = n - pos < CAST_SLICE ? n - pos : CAST_SLICE;
		if (cast_reserve(w, CAST_ESCAPE_ROOM(len)) != PIM_OK)
			return PIM_ENOMEM;
		w->buf->len += cast_escape(cast_end(w), p + pos, len, &tail);
		pos += len - tail;
		if (tail > 0 && pos + tail == n)
			break; /* unfinished at the very end */
	}
	return cast_add(w, tail > 0 ? CAST_REPLACEMENT "\"" : "\"");
}

/* Appends "S" as a JSON string, any bytes accepted. NULL becomes null. */
static int
cast_json_string(struct cast_writer *w, const char *s)
{
	if (s == NULL)
		return cast_add(w, "null");
	return cast_json_bytes(w, s, strlen(s));
}

/* --- events --- */

/* Starts an event line: "[12.345678, "o", ". Room: CAST_LINE_SLACK. */
static void
cast_event_start(struct cast_writer *w, double t, char code)
{
	long long us;
	int n;

	if (!isfinite(t) || t < 0)
		t = 0;
	if (t > 1e12)
		t = 1e12;
	us = (long long)(t * 1e6 + 0.5); /* t >= 0: rounds */
	n = snprintf(cast_end(w), w->buf->cap - w->buf->len,
	    "[%lld.%06lld, \"%c\", \"", us / 1000000, us % 1000000, code);
	w->buf->len += (size_t)n;
}

int
cast_line_done(struct cast_writer *w)
{
	cast_account(w);
	if (w->buf->len >= CAST_CHUNK_FILL)
		return cast_hand_on(w, false);
	return PIM_OK;
}

void
cast_line_cancel(struct cast_writer *w)
{
	if (w->buf != NULL)
		w->buf->len = w->buf_counted;
}

/* Completes a carried sequence from the front of DATA. Returns the
 * bytes of DATA consumed; *DONE is false if the carry is still short. */
static size_t
cast_carry_feed(struct cast_writer *w, enum cast_stream s,
    const unsigned char *data, size_t len, bool *done)
{
	unsigned char tmp[8];
	size_t have = w->carry_len[s], take, used;
	enum cast_u8 r;

	take = len < 4 - have ? len : 4 - have;
	memcpy(tmp, w->carry[s], have);
	memcpy(tmp + have, data, take);
	r = cast_u8_check(tmp, have + take, &used);
	*done = r != CAST_U8_SHORT;
	if (!*done) {
		memcpy(w->carry[s] + have, data, take);
		w->carry_len[s] = have + take;
		return take;
	}
	w->carry_len[s] = 0;
	if (r == CAST_U8_OK)
		cast_put(w, tmp, used);
	else
		cast_put(w, CAST_REPLACEMENT, 3);
	return used - have;
}

/* Escapes DATA from *POS on, a slice at a time, handing full chunks on
 * between slices. A well-formed sequence cut short by the end of DATA is
 * carried. Sets *SOME if anything was written. */
static int
cast_event_body(struct cast_writer *w, enum cast_stream s,
    const unsigned char *data, size_t len, size_t pos, bool *some)
{
	size_t n, start, tail;
	int r = PIM_OK;

	while (pos < len && r == PIM_OK) {
		n = len - pos < CAST_SLICE ? len - pos : CAST_SLICE;
		if (cast_reserve(w, CAST_ESCAPE_ROOM(n) + CAST_LINE_SLACK) !=
		    PIM_OK)
			return PIM_ENOMEM;
		start = w->buf->len;
		w->buf->len += cast_escape(cast_end(w), data + pos, n, &tail);
		*some = *some || w->buf->len > start;
		pos += n - tail;
		if (tail > 0 && pos + tail == len) {
			memcpy(w->carry[s], data + pos, tail);
			w->carry_len[s] = tail;
			break;
		}
		if (w->buf->len >= CAST_CHUNK_FILL && pos < len && *some)
			r = cast_hand_on_midline(w);
	}
	return r;
}

/* Records one event. Without memory part way, the line is ended with
 * what it holds so far, so that the file stays valid. */
static int
cast_event(struct cast_writer *w, enum cast_stream s, double t,
    const void *data, size_t len)
{
	size_t begin, pos = 0;
	bool done = true, some = false;
	int r, done_r;

	if (w == NULL || w->qlog || (data == NULL && len > 0))
		return PIM_EINVAL;
	r = atomic_load(&w->err);
	if (r != PIM_OK || len == 0)
		return r;
	if (cast_reserve(w, CAST_LINE_SLACK) != PIM_OK)
		return PIM_ENOMEM;
	w->last_t[s] = t;

	begin = w->buf->len;
	cast_event_start(w, t, cast_codes[s]);
	if (w->carry_len[s] > 0) {
		pos = cast_carry_feed(w, s, data, len, &done);
		some = done;
	}
	if (done)
		r = cast_event_body(w, s, data, len, pos, &some);

	if (!some) {
		w->buf->len = begin; /* everything was carried: no event */
		return r;
	}
	cast_put(w, "\"]\n", 3); /* room: slack left by the last reserve */
	done_r = cast_line_done(w);
	return r != PIM_OK ? r : done_r;
}

int
cast_output(struct cast_writer *w, double t, const void *data, size_t len)
{
	return cast_event(w, CAST_OUT, t, data, len);
}

int
cast_input(struct cast_writer *w, double t, const void *data, size_t len)
{
	return cast_event(w, CAST_IN, t, data, len);
}

int
cast_resize(struct cast_writer *w, double t, int width, int height)
{
	int n, r;

	if (w == NULL || w->qlog || width < 1 || height < 1 ||
	    width > CAST_DIM_MAX || height > CAST_DIM_MAX)
		return PIM_EINVAL;
	r = atomic_load(&w->err);
	if (r != PIM_OK)
		return r;
	if (cast_reserve(w, CAST_LINE_SLACK) != PIM_OK)
		return PIM_ENOMEM;
	cast_event_start(w, t, 'r');
	n = snprintf(cast_end(w), w->buf->cap - w->buf->len, "%dx%d\"]\n",
	    width, height);
	w->buf->len += (size_t)n;
	return cast_line_done(w);
}

/* --- the header --- */

static int
cast_header_env(struct cast_writer *w, const struct cast_header *h)
{
	int r = cast_add(w, ",\"env\":{");

	if (h->term != NULL) {
		r |= cast_add(w, "\"TERM\":");
		r |= cast_json_string(w, h->term);
		r |= cast_add(w, ",");
	}
	r |= cast_add(w, "\"SHELL\":\"/bin/sh\"}");
	if (h->title != NULL) {
		r |= cast_add(w, ",\"title\":");
		r |= cast_json_string(w, h->title);
	}
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

static int
cast_header_pimgate(struct cast_writer *w, const struct cast_header *h)
{
	char num[32];
	int r;

	r = cast_add(w, ",\"pimgate\":{\"user\":");
	r |= cast_json_string(w, h->user);
	r |= cast_add(w, ",\"target\":");
	r |= cast_json_string(w, h->target);
	snprintf(num, sizeof(num), ",\"session\":%" PRId64, h->session_id);
	r |= cast_add(w, num);
	r |= cast_add(w, ",\"command\":");
	r |= cast_json_string(w, h->command);
	r |= cast_add(w, "}}\n");
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

static int
cast_header_put(struct cast_writer *w, const struct cast_header *h)
{
	char head[128];
	int r;

	snprintf(head, sizeof(head),
	    "{\"version\":2,\"width\":%d,\"height\":%d,\"timestamp\":%" PRId64,
	    h->width, h->height, h->timestamp);
	r = cast_add(w, head);
	r |= cast_header_env(w, h);
	r |= cast_header_pimgate(w, h);
	if (r != PIM_OK)
		return PIM_ENOMEM;
	cast_account(w);
	return PIM_OK;
}

/* --- life cycle --- */

static int
cast_create(const char *path, int *fd)
{
	*fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (*fd < 0 && errno == EEXIST)
		return PIM_EEXIST;
	if (*fd < 0) {
		metrics_recording_error();
		return PIM_EIO;
	}
	return PIM_OK;
}

int
cast_writer_new(const char *path, struct cast_writer **out)
{
	struct cast_writer *w;
	int r = PIM_ENOMEM;

	*out = NULL;
	cast_escape_init();
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return PIM_ENOMEM;
	w->fd = -1;
	w->next_cap = CAST_CHUNK_MIN;
	atomic_init(&w->backlog, 0);
	atomic_init(&w->err, PIM_OK);
	w->path = strdup(path);
	w->close_req = calloc(1, sizeof(*w->close_req));
	if (w->path == NULL || w->close_req == NULL)
		goto fail;
	w->close_req->w = w;

	r = cast_create(path, &w->fd);
	if (r != PIM_OK)
		goto fail;
	*out = w;
	return PIM_OK;

fail:
	cast_writer_free(w);
	return r;
}

void
cast_writer_discard(struct cast_writer *w)
{
	close(w->fd);
	unlink(w->path);
	cast_writer_free(w);
}

void
cast_set_qlog(struct cast_writer *w, int64_t start_ms)
{
	w->qlog = true;
	w->qlog_start_ms = start_ms;
}

bool
cast_is_qlog(const struct cast_writer *w, int64_t *start_ms)
{
	if (w == NULL || !w->qlog)
		return false;
	*start_ms = w->qlog_start_ms;
	return true;
}

int
cast_open(
    const char *path, const struct cast_header *h, struct cast_writer **out)
{
	struct cast_writer *w = NULL;
	int r;

	if (path == NULL || h == NULL || out == NULL || h->width < 1 ||
	    h->height < 1 || h->width > CAST_DIM_MAX ||
	    h->height > CAST_DIM_MAX)
		return PIM_EINVAL;
	*out = NULL;
	r = cast_writer_new(path, &w);
	if (r != PIM_OK)
		return r;
	r = cast_header_put(w, h);
	if (r != PIM_OK) {
		cast_writer_discard(w);
		return r;
	}
	*out = w;
	return PIM_OK;
}

int
cast_flush(struct cast_writer *w)
{
	if (w == NULL)
		return PIM_EINVAL;
	return cast_hand_on(w, false);
}

/* Ends a stream's carried tail as U+FFFD. */
static int
cast_close_carry(struct cast_writer *w, enum cast_stream s)
{
	if (w->carry_len[s] == 0)
		return PIM_OK;
	w->carry_len[s] = 0;
	if (cast_reserve(w, CAST_LINE_SLACK) != PIM_OK)
		return PIM_ENOMEM;
	cast_event_start(w, w->last_t[s], cast_codes[s]);
	cast_put(w, CAST_REPLACEMENT "\"]\n", 6);
	cast_account(w);
	return PIM_OK;
}

int
cast_close(struct cast_writer *w)
{
	int r, tails;

	if (w == NULL)
		return PIM_EINVAL;
	tails = cast_close_carry(w, CAST_OUT);
	if (cast_close_carry(w, CAST_IN) != PIM_OK)
		tails = PIM_ENOMEM;
	r = cast_hand_on(w, true);
	return r != PIM_OK ? r : tails;
}

int64_t
cast_bytes(const struct cast_writer *w)
{
	return w == NULL ? 0 : w->bytes;
}

size_t
cast_backlog(const struct cast_writer *w)
{
	size_t own, all;

	if (w == NULL)
		return 0;
	own = atomic_load(&w->backlog);
	all = cast_thread_queued();
	return all > CAST_QUEUE_MAX && all > own ? all : own;
}

int
cast_error(const struct cast_writer *w)
{
	return w == NULL ? PIM_EINVAL : atomic_load(&w->err);
}
