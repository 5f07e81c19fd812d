/* The asciicast v2 writer. Every line it writes is one JSON value: the
 * header object, then one event array per call. Bytes from the session
 * are turned into JSON string text here, by hand, because this runs for
 * every chunk of terminal output:
 *
 *   - printable ASCII is copied in runs;
 *   - '"', '\\' and control characters are escaped;
 *   - well-formed UTF-8 is copied, each ill-formed part becomes U+FFFD;
 *   - a sequence cut short by the end of a call is carried (at most 3
 *     bytes, per stream) and completed by the next call on that stream. */
#include "pimgate/record.h"

#include "pimgate/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAST_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define CAST_LINE_SLACK 64 /* room for "[t, \"o\", \"" and "\"]\n" */
#define CAST_DIM_MAX 10000

enum cast_stream {
	CAST_OUT = 0,
	CAST_IN,
	CAST_NSTREAMS,
};

static const char cast_codes[CAST_NSTREAMS] = {'o', 'i'};

/* The line being built. */
struct cast_buf {
	char *p;
	size_t len;
	size_t cap;
};

struct cast_writer {
	FILE *fp;
	struct cast_buf line;
	unsigned char carry[CAST_NSTREAMS][4];
	size_t carry_len[CAST_NSTREAMS];
	double last_t[CAST_NSTREAMS];
	int64_t bytes;
	int err; /* the first write error */
};

/* --- the growing buffer --- */

static int
cast_buf_reserve(struct cast_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (more > SIZE_MAX - b->len)
		return PIM_ENOMEM;
	if (b->len + more <= b->cap)
		return PIM_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return PIM_ENOMEM;
	b->p = p;
	b->cap = cap;
	return PIM_OK;
}

/* Appends N bytes; the caller has reserved room. */
static void
cast_buf_put(struct cast_buf *b, const void *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static int
cast_buf_add(struct cast_buf *b, const void *s, size_t n)
{
	if (cast_buf_reserve(b, n) != PIM_OK)
		return PIM_ENOMEM;
	cast_buf_put(b, s, n);
	return PIM_OK;
}

static int
cast_buf_addstr(struct cast_buf *b, const char *s)
{
	return cast_buf_add(b, s, strlen(s));
}

/* --- UTF-8 --- */

enum cast_u8 {
	CAST_U8_OK, /* a well-formed sequence */
	CAST_U8_BAD, /* an ill-formed part: replace it with one U+FFFD */
	CAST_U8_SHORT, /* well-formed so far, but the input ended */
};

/* Sequence length announced by lead byte C, 0 if C cannot lead. */
static size_t
cast_u8_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* The range allowed for the byte after lead C: this is what excludes
 * overlong forms, surrogates and code points past U+10FFFF. */
static bool
cast_u8_second_ok(unsigned char lead, unsigned char c)
{
	switch (lead) {
	case 0xe0:
		return c >= 0xa0 && c <= 0xbf;
	case 0xed:
		return c >= 0x80 && c <= 0x9f;
	case 0xf0:
		return c >= 0x90 && c <= 0xbf;
	case 0xf4:
		return c >= 0x80 && c <= 0x8f;
	default:
		return c >= 0x80 && c <= 0xbf;
	}
}

/* Checks the non-ASCII sequence at P (N >= 1 bytes). *USED is the length
 * of the sequence (OK), of the ill-formed part (BAD) or N (SHORT). */
static enum cast_u8
cast_u8_check(const unsigned char *p, size_t n, size_t *used)
{
	size_t want = cast_u8_len(p[0]), i;

	*used = 1;
	if (want == 0)
		return CAST_U8_BAD;
	for (i = 1; i < want; i++) {
		if (i == n) {
			*used = n;
			return CAST_U8_SHORT;
		}
		if (i == 1 ? !cast_u8_second_ok(p[0], p[1])
			   : (p[i] & 0xc0) != 0x80)
			return CAST_U8_BAD;
		*used = i + 1;
	}
	return CAST_U8_OK;
}

/* --- JSON string text --- */

static bool
cast_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Appends the escape for ASCII byte C (reserved room: 6 bytes). */
static void
cast_escape_ascii(struct cast_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};

	switch (c) {
	case '"':
	case '\\':
		e[1] = (char)c;
		break;
	case '\n':
		e[1] = 'n';
		break;
	case '\r':
		e[1] = 'r';
		break;
	case '\t':
		e[1] = 't';
		break;
	case '\b':
		e[1] = 'b';
		break;
	case '\f':
		e[1] = 'f';
		break;
	default:
		cast_buf_put(b, e, 6);
		return;
	}
	cast_buf_put(b, e, 2);
}

/* Appends the JSON text for P..P+N, which holds no incomplete sequence
 * except possibly at its end; returns the bytes of that unfinished tail
 * (left out). Room for 6 bytes per input byte must be reserved. */
static size_t
cast_escape(struct cast_buf *b, const unsigned char *p, size_t n)
{
	size_t i = 0, run, used;

	while (i < n) {
		for (run = i; run < n && cast_plain(p[run]); run++)
			;
		cast_buf_put(b, p + i, run - i);
		i = run;
		if (i == n)
			break;
		if (p[i] < 0x80) {
			cast_escape_ascii(b, p[i++]);
			continue;
		}
		switch (cast_u8_check(p + i, n - i, &used)) {
		case CAST_U8_OK:
			cast_buf_put(b, p + i, used);
			break;
		case CAST_U8_BAD:
			cast_buf_put(b, CAST_REPLACEMENT, 3);
			break;
		case CAST_U8_SHORT:
			return n - i;
		}
		i += used;
	}
	return 0;
}

/* Appends "S" as a JSON string, any bytes accepted. NULL becomes null. */
static int
cast_json_string(struct cast_buf *b, const char *s)
{
	size_t n, tail;

	if (s == NULL)
		return cast_buf_addstr(b, "null");
	n = strlen(s);
	if (n > (SIZE_MAX - 8) / 6 || cast_buf_reserve(b, n * 6 + 8) != 0)
		return PIM_ENOMEM;
	cast_buf_put(b, "\"", 1);
	tail = cast_escape(b, (const unsigned char *)s, n);
	if (tail > 0)
		cast_buf_put(b, CAST_REPLACEMENT, 3);
	cast_buf_put(b, "\"", 1);
	return PIM_OK;
}

/* --- writing lines --- */

/* Writes the line built so far; remembers the first failure. */
static int
cast_write_line(struct cast_writer *w)
{
	size_t n = w->line.len;

	w->line.len = 0;
	if (fwrite(w->line.p, 1, n, w->fp) != n) {
		if (w->err == PIM_OK)
			w->err = PIM_EIO;
		return PIM_EIO;
	}
	w->bytes += (int64_t)n;
	return PIM_OK;
}

/* Starts an event line: "[12.345678, "o", ". */
static void
cast_event_start(struct cast_buf *b, double t, char code)
{
	long long us;
	int n;

	if (!isfinite(t) || t < 0)
		t = 0;
	if (t > 1e12)
		t = 1e12;
	us = (long long)(t * 1e6 + 0.5); /* t >= 0: rounds */
	n = snprintf(b->p + b->len, b->cap - b->len, "[%lld.%06lld, \"%c\", \"",
	    us / 1000000, us % 1000000, code);
	b->len += (size_t)n;
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
		cast_buf_put(&w->line, tmp, used);
	else
		cast_buf_put(&w->line, CAST_REPLACEMENT, 3);
	return used - have;
}

static int
cast_event(struct cast_writer *w, enum cast_stream s, double t,
    const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t start, skip = 0, tail;
	bool done = true;

	if (w == NULL || (data == NULL && len > 0))
		return PIM_EINVAL;
	if (len == 0)
		return PIM_OK;
	if (len > (SIZE_MAX - CAST_LINE_SLACK) / 6 ||
	    cast_buf_reserve(&w->line, len * 6 + CAST_LINE_SLACK) != PIM_OK)
		return PIM_ENOMEM;
	w->last_t[s] = t;

	cast_event_start(&w->line, t, cast_codes[s]);
	start = w->line.len;
	if (w->carry_len[s] > 0)
		skip = cast_carry_feed(w, s, p, len, &done);
	tail = done ? cast_escape(&w->line, p + skip, len - skip) : 0;
	memcpy(w->carry[s], p + len - tail, tail);
	if (tail > 0)
		w->carry_len[s] = tail;

	if (w->line.len == start) {
		w->line.len = 0; /* everything was carried: no event */
		return PIM_OK;
	}
	cast_buf_put(&w->line, "\"]\n", 3);
	return cast_write_line(w);
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
	int n;

	if (w == NULL || width < 1 || height < 1 || width > CAST_DIM_MAX ||
	    height > CAST_DIM_MAX)
		return PIM_EINVAL;
	if (cast_buf_reserve(&w->line, CAST_LINE_SLACK) != PIM_OK)
		return PIM_ENOMEM;
	cast_event_start(&w->line, t, 'r');
	n = snprintf(w->line.p + w->line.len, w->line.cap - w->line.len,
	    "%dx%d\"]\n", width, height);
	w->line.len += (size_t)n;
	return cast_write_line(w);
}

/* --- the header --- */

static int
cast_header_env(struct cast_buf *b, const struct cast_header *h)
{
	int r = cast_buf_addstr(b, ",\"env\":{");

	if (h->term != NULL) {
		r |= cast_buf_addstr(b, "\"TERM\":");
		r |= cast_json_string(b, h->term);
		r |= cast_buf_addstr(b, ",");
	}
	r |= cast_buf_addstr(b, "\"SHELL\":\"/bin/sh\"}");
	if (h->title != NULL) {
		r |= cast_buf_addstr(b, ",\"title\":");
		r |= cast_json_string(b, h->title);
	}
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

static int
cast_header_pimgate(struct cast_buf *b, const struct cast_header *h)
{
	char num[32];
	int r;

	r = cast_buf_addstr(b, ",\"pimgate\":{\"user\":");
	r |= cast_json_string(b, h->user);
	r |= cast_buf_addstr(b, ",\"target\":");
	r |= cast_json_string(b, h->target);
	snprintf(num, sizeof(num), ",\"session\":%" PRId64, h->session_id);
	r |= cast_buf_addstr(b, num);
	r |= cast_buf_addstr(b, ",\"command\":");
	r |= cast_json_string(b, h->command);
	r |= cast_buf_addstr(b, "}}\n");
	return r == PIM_OK ? PIM_OK : PIM_ENOMEM;
}

static int
cast_header_write(struct cast_writer *w, const struct cast_header *h)
{
	char head[128];
	int r;

	snprintf(head, sizeof(head),
	    "{\"version\":2,\"width\":%d,\"height\":%d,\"timestamp\":%" PRId64,
	    h->width, h->height, h->timestamp);
	r = cast_buf_addstr(&w->line, head);
	r |= cast_header_env(&w->line, h);
	r |= cast_header_pimgate(&w->line, h);
	if (r != PIM_OK)
		return PIM_ENOMEM;
	return cast_write_line(w);
}

/* --- life cycle --- */

static int
cast_create(const char *path, FILE **fp)
{
	int fd;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? PIM_EEXIST : PIM_EIO;
	*fp = fdopen(fd, "w");
	if (*fp == NULL) {
		close(fd);
		unlink(path);
		return PIM_EIO;
	}
	return PIM_OK;
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
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return PIM_ENOMEM;
	r = cast_create(path, &w->fp);
	if (r != PIM_OK) {
		free(w);
		return r;
	}
	r = cast_header_write(w, h);
	if (r != PIM_OK) {
		cast_close(w);
		unlink(path);
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
	if (fflush(w->fp) != 0) {
		if (w->err == PIM_OK)
			w->err = PIM_EIO;
		return PIM_EIO;
	}
	return PIM_OK;
}

/* Ends a stream's carried tail as U+FFFD. */
static void
cast_close_carry(struct cast_writer *w, enum cast_stream s)
{
	if (w->carry_len[s] == 0)
		return;
	w->carry_len[s] = 0;
	if (cast_buf_reserve(&w->line, CAST_LINE_SLACK) != PIM_OK) {
		if (w->err == PIM_OK)
			w->err = PIM_ENOMEM;
		return;
	}
	cast_event_start(&w->line, w->last_t[s], cast_codes[s]);
	cast_buf_put(&w->line, CAST_REPLACEMENT "\"]\n", 6);
	cast_write_line(w);
}

int
cast_close(struct cast_writer *w)
{
	int r;

	if (w == NULL)
		return PIM_EINVAL;
	cast_close_carry(w, CAST_OUT);
	cast_close_carry(w, CAST_IN);
	cast_flush(w);
	if (fclose(w->fp) != 0 && w->err == PIM_OK)
		w->err = PIM_EIO;
	r = w->err;
	free(w->line.p);
	free(w);
	return r;
}

int64_t
cast_bytes(const struct cast_writer *w)
{
	return w == NULL ? 0 : w->bytes;
}
