/* The relay: PostgreSQL messages both ways between the person and the
 * target, with flow control, the query log, the cancel key handed to the
 * client, warnings and the end of the session at a message boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/str.h"

#include "pg_int.h"

#define PG_END_GRACE_MS 300 /* to reach a message boundary at the end */
#define PG_END_FLUSH_MS 300 /* then for the client to take the FATAL */
#define PG_QLOG_RETRY_MS 20
#define PG_QLOG_FLUSH_MS 500

enum relay_scan {
	SCAN_NEED, /* fewer than a header's bytes */
	SCAN_BAD, /* a length below 4 */
	SCAN_PARTIAL, /* a message not watched, not all here yet */
	SCAN_WATCHED, /* a message the relay looks into */
	SCAN_RUN, /* whole messages not watched, ready to move */
};

static void
relay_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;

	if (c->qlog != NULL && cast_flush(c->qlog) == PIM_EIO)
		c->qlog_failed = true;
	if (c->qlog_failed)
		pg_relay_pump(c);
}

/* What the query log holds reaches the disk within PG_QLOG_FLUSH_MS. */
static void
relay_flush_soon(struct pgconn *c)
{
	struct timeval tv = {0, PG_QLOG_FLUSH_MS * 1000};

	if (c->flush != NULL && !evtimer_pending(c->flush, NULL))
		evtimer_add(c->flush, &tv);
}

static bool
relay_watched_type(bool c2s, unsigned char t)
{
	if (c2s)
		return t == 'Q' || t == 'P' || t == 'F' || t == 'X';
	return t == 'C' || t == 'E' || t == 'Z' || t == 'K';
}

/* Looks at the messages at the front of IN: *RUN bytes of whole messages
 * that need no look inside, or the type and body length of the first one
 * that does (or of an incomplete one). */
static enum relay_scan
relay_scan(struct evbuffer *in, bool c2s, size_t limit, size_t *run,
    unsigned char *type, size_t *body)
{
	size_t avail = evbuffer_get_length(in);
	struct evbuffer_ptr pos;
	unsigned char hdr[5];
	uint32_t len;

	*run = 0;
	evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET);
	while (*run + 5 <= avail && *run < limit) {
		evbuffer_copyout_from(in, &pos, hdr, 5);
		len = pg_get_u32(hdr + 1);
		if (len < 4)
			return *run > 0 ? SCAN_RUN : SCAN_BAD;
		*type = hdr[0];
		*body = len - 4;
		if (relay_watched_type(c2s, hdr[0]))
			return *run > 0 ? SCAN_RUN : SCAN_WATCHED;
		if (*run + 1 + (size_t)len > avail)
			return *run > 0 ? SCAN_RUN : SCAN_PARTIAL;
		*run += 1 + (size_t)len;
		evbuffer_ptr_set(in, &pos, 1 + (size_t)len, EVBUFFER_PTR_ADD);
	}
	return *run > 0 ? SCAN_RUN : SCAN_NEED;
}

/* The arguments of a FunctionCall body B (PEEK bytes seen): function
 * OID; int16 N format codes, int16 each; int16 argument count; each
 * argument as int32 length (-1: NULL) and bytes. Writes them as text,
 * one per line, into OUT; returns the argument count. */
static int
relay_function_args(const unsigned char *b, size_t peek, struct evbuffer *out)
{
	size_t nfmt, at, i;
	int nargs, fmt;
	uint32_t len;

	if (peek < 6)
		return 0;
	nfmt = (size_t)(b[4] << 8 | b[5]);
	at = 6 + 2 * nfmt;
	if (peek < at + 2)
		return 0;
	nargs = b[at] << 8 | b[at + 1];
	at += 2;
	for (i = 0; i < (size_t)nargs && at + 4 <= peek; i++) {
		len = pg_get_u32(b + at);
		at += 4;
		fmt = nfmt == 0	  ? 0
		      : nfmt == 1 ? (b[6] << 8 | b[7])
		      : i < nfmt  ? (b[6 + 2 * i] << 8 | b[7 + 2 * i])
				  : 0;
		if (len == 0xffffffffu) {
			evbuffer_add_printf(out, "NULL\n");
		} else if (fmt != 0) {
			evbuffer_add_printf(out, "<binary %u bytes>\n", len);
			at += len;
		} else {
			size_t n = len < peek - at ? len : peek - at;

			evbuffer_add(out, b + at, n);
			evbuffer_add(out, "\n", 1);
			at += len;
		}
	}
	return nargs;
}

/* Logs a FunctionCall with its arguments. */
static int
relay_log_function(
    struct pgconn *c, int64_t now, const unsigned char *b, size_t peek)
{
	struct evbuffer *text = evbuffer_new();
	int nargs, rc;

	if (text == NULL)
		return PIM_ENOMEM;
	nargs = relay_function_args(b, peek, text);
	rc = qlog_function(c->qlog, now, peek >= 4 ? pg_get_u32(b) : 0, nargs,
	    (const char *)evbuffer_pullup(text, -1), evbuffer_get_length(text));
	evbuffer_free(text);
	return rc;
}

/* Logs Parse: statement name, query text, parameter types. */
static int
relay_log_parse(struct pgconn *c, int64_t now, const unsigned char *b,
    size_t peek, size_t body)
{
	const unsigned char *p = b, *end = b + peek;
	const char *name, *sql;
	size_t sqllen, full;
	int params = 0;

	if (!pg_read_str(&p, end, &name))
		return qlog_parse(c->qlog, now, "", (const char *)b, 0, 0, 0);
	sql = (const char *)p;
	if (pg_read_str(&p, end, &sql)) {
		sqllen = strlen(sql);
		full = sqllen;
		if (end - p >= 2)
			params = p[0] << 8 | p[1];
	} else {
		sqllen = (size_t)(end - (const unsigned char *)sql);
		full = body - (size_t)((const unsigned char *)sql - b);
	}
	params = params > pg_count_params(sql, sqllen)
		     ? params
		     : pg_count_params(sql, sqllen);
	return qlog_parse(c->qlog, now, name, sql, sqllen, full, params);
}

static int
relay_log(struct pgconn *c, bool c2s, unsigned char type,
    const unsigned char *b, size_t peek, size_t body)
{
	int64_t now = clock_now_ms();
	char sev[16], code[8], msg[512], tag[128];
	size_t n;

	if (c2s && type == 'Q') {
		c->busy = true;
		n = strnlen((const char *)b, peek);
		return qlog_query(c->qlog, now, (const char *)b, n,
		    n < peek ? n : (body > 0 ? body - 1 : 0));
	}
	if (c2s && type == 'P') {
		c->busy = true;
		return relay_log_parse(c, now, b, peek, body);
	}
	if (c2s && type == 'F') {
		c->busy = true;
		return relay_log_function(c, now, b, peek);
	}
	if (c2s && type == 'X') {
		c->client_quit = true;
		return PIM_OK;
	}
	if (type == 'Z') {
		c->busy = false;
		return PIM_OK;
	}
	if (type == 'C') {
		n = strnlen((const char *)b, peek);
		n = n < sizeof(tag) ? n : sizeof(tag) - 1;
		memcpy(tag, b, n);
		tag[n] = '\0';
		return qlog_complete(c->qlog, now, tag);
	}
	pg_read_error(
	    b, peek, sev, sizeof(sev), code, sizeof(code), msg, sizeof(msg));
	return qlog_error(c->qlog, now, sev, code, msg);
}

/* BackendKeyData from the target: the client gets the gateway's own
 * key, which pimgate maps back when a cancel request comes. */
static int
relay_key(struct pgconn *c, struct evbuffer *in, struct evbuffer *out,
    const unsigned char *b, size_t body)
{
	unsigned char key[8];

	if (body != 8)
		return PIM_EINVAL;
	c->up_pid = pg_get_u32(b);
	c->up_key = pg_get_u32(b + 4);
	evbuffer_drain(in, 13);
	if (!c->have_key) {
		if (RAND_bytes(key, sizeof(key)) != 1)
			return PIM_ECRYPTO;
		c->gw_pid = pg_get_u32(key) & 0x7fffffff;
		c->gw_key = pg_get_u32(key + 4);
		c->have_key = true;
	}
	pg_put_u32(key, c->gw_pid);
	pg_put_u32(key + 4, c->gw_key);
	pg_put_msg(out, 'K', key, sizeof(key));
	return PIM_OK;
}

/* A Query longer than PG_MSG_PEEK begins: its head is kept, its tail
 * gathered as it streams, and both are logged at its end. */
static int
relay_long_start(struct pgdir *d, const unsigned char *b, size_t body)
{
	d->long_head = malloc(PG_LONG_HEAD);
	if (d->long_head == NULL)
		return PIM_ENOMEM;
	memcpy(d->long_head, b, PG_LONG_HEAD);
	d->long_head_len = PG_LONG_HEAD;
	d->long_full = body - 1; /* without the terminating NUL */
	d->long_tail_len = 0;
	return PIM_OK;
}

/* The N bytes about to stream from IN: keeps the last PG_LONG_TAIL. */
static void
relay_long_tail(struct pgdir *d, struct evbuffer *in, size_t n)
{
	struct evbuffer_ptr pos;
	size_t take = n < PG_LONG_TAIL ? n : PG_LONG_TAIL;
	size_t keep = PG_LONG_TAIL - take;

	if (keep > d->long_tail_len)
		keep = d->long_tail_len;
	memmove(d->long_tail, d->long_tail + d->long_tail_len - keep, keep);
	evbuffer_ptr_set(in, &pos, n - take, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &pos, d->long_tail + keep, take);
	d->long_tail_len = keep + take;
}

/* The end of a long Parse's tail: "...SQL\0" int16 N, N int32 types.
 * Returns the length of the SQL part of TAIL and sets *TYPES to N. */
static size_t
relay_parse_tail(const unsigned char *tail, size_t len, int *types)
{
	size_t k, cut;

	*types = 0;
	for (k = 0; 3 + 4 * k <= len && k <= 65535; k++) {
		cut = 2 + 4 * k;
		if (tail[len - cut - 1] == '\0' &&
		    (size_t)(tail[len - cut] << 8 | tail[len - cut + 1]) == k) {
			*types = (int)k;
			return len - cut - 1;
		}
	}
	return len;
}

/* The long message has streamed: logs head, a mark, and tail. A long
 * Parse's statement name is its head's first string, if it ends there. */
static int
relay_long_log(
    struct pgconn *c, struct pgdir *d, const char *sql, size_t len, int types)
{
	const char *name = "", *nul;
	int params;

	if (d->long_type == 'Q')
		return qlog_query(
		    c->qlog, clock_now_ms(), sql, len, d->long_full);
	nul = memchr(sql, '\0', d->long_head_len);
	if (nul != NULL && nul - sql < STORE_NAME_MAX) {
		name = sql;
		len -= (size_t)(nul + 1 - sql);
		sql = nul + 1;
	}
	params = pg_count_params(sql, len);
	return qlog_parse(c->qlog, clock_now_ms(), name, sql, len, d->long_full,
	    params > types ? params : types);
}

static void
relay_long_done(struct pgconn *c, struct pgdir *d)
{
	char mark[96];
	size_t tail = d->long_tail_len, n, cut;
	int types = 0;
	char *sql;

	if (d->long_type == 'P')
		tail = relay_parse_tail(d->long_tail, tail, &types);
	else if (tail > 0 && d->long_tail[tail - 1] == '\0')
		tail--; /* the query's terminating NUL */
	cut = d->long_full > d->long_head_len + tail
		  ? d->long_full - d->long_head_len - tail
		  : 0;
	n = (size_t)snprintf(mark, sizeof(mark),
	    "\n-- [pimgate: %zu bytes left out of the log here] --\n", cut);
	sql = malloc(d->long_head_len + n + tail);
	if (sql != NULL) {
		memcpy(sql, d->long_head, d->long_head_len);
		memcpy(sql + d->long_head_len, mark, n);
		memcpy(sql + d->long_head_len + n, d->long_tail, tail);
		if (relay_long_log(c, d, sql, d->long_head_len + n + tail,
			types) == PIM_EIO)
			c->qlog_failed = true;
		relay_flush_soon(c);
		free(sql);
	}
	free(d->long_head);
	d->long_head = NULL;
}

void
pg_relay_free(struct pgconn *c)
{
	free(c->c2s.long_head);
	free(c->s2c.long_head);
	c->c2s.long_head = c->s2c.long_head = NULL;
}

/* A watched message at the front of IN. Returns PIM_OK once it is
 * handled (its bytes moved, or set to stream via *REMAIN), PIM_EAGAIN
 * ... (as PIM_ENOTFOUND) while its first part is not all here. */
static int
relay_watched(struct pgconn *c, bool c2s, struct evbuffer *in,
    struct evbuffer *out, unsigned char type, size_t body)
{
	size_t peek = body < PG_MSG_PEEK ? body : PG_MSG_PEEK;
	const unsigned char *m;
	int rc;

	if (evbuffer_get_length(in) < 5 + peek)
		return PIM_ENOTFOUND;
	m = evbuffer_pullup(in, (ssize_t)(5 + peek));
	if (m == NULL)
		return PIM_ENOMEM;
	if (!c2s && type == 'K')
		return relay_key(c, in, out, m + 5, body);
	if (c2s && (type == 'Q' || type == 'P') && body > PG_MSG_PEEK &&
	    PG_LONG_HEAD + PG_LONG_TAIL < body) {
		c->busy = true;
		c->c2s.remain = 5 + body;
		c->c2s.long_type = type;
		return relay_long_start(&c->c2s, m + 5, body);
	}
	rc = relay_log(c, c2s, type, m + 5, peek, body);
	if (rc == PIM_EIO)
		c->qlog_failed = true;
	relay_flush_soon(c);
	(c2s ? &c->c2s : &c->s2c)->remain = 5 + body;
	return PIM_OK;
}

/* At a message boundary towards the client: a waiting warning, or the
 * end. True if nothing more is to be relayed. */
static bool
relay_boundary(struct pgconn *c, struct evbuffer *out)
{
	if (c->closing)
		return true;
	if (c->notice_pending) {
		pg_put_notice(out, c->notice);
		c->notice_pending = false;
	}
	if (!c->ending)
		return false;
	pg_put_error(out, "FATAL", PG_SQLSTATE_SHUTDOWN, c->end_msg);
	c->closing = true;
	return true;
}

static void
relay_move(struct pgconn *c, bool c2s)
{
	struct bufferevent *src = c2s ? c->cli : c->up;
	struct bufferevent *dst = c2s ? c->up : c->cli;
	struct evbuffer *in = bufferevent_get_input(src);
	struct evbuffer *out = bufferevent_get_output(dst);
	struct pgdir *d = c2s ? &c->c2s : &c->s2c;
	unsigned char type = 0;
	size_t run, body = 0, n;
	int rc;

	while (evbuffer_get_length(out) < PG_RELAY_BUF) {
		if (d->remain > 0) {
			n = evbuffer_get_length(in);
			n = n < d->remain ? n : d->remain;
			if (n == 0)
				return;
			if (d->long_head != NULL)
				relay_long_tail(d, in, n);
			evbuffer_remove_buffer(in, out, n);
			d->remain -= n;
			d->bytes += (int64_t)n;
			if (d->remain == 0 && d->long_head != NULL)
				relay_long_done(c, d);
			continue;
		}
		if (!c2s && relay_boundary(c, out))
			return;
		switch (relay_scan(in, c2s, PG_RELAY_BUF, &run, &type, &body)) {
		case SCAN_NEED:
			return;
		case SCAN_BAD:
			c->protocol_error = true;
			return;
		case SCAN_RUN:
			evbuffer_remove_buffer(in, out, run);
			d->bytes += (int64_t)run;
			continue;
		case SCAN_PARTIAL:
			d->remain = 5 + body;
			continue;
		case SCAN_WATCHED:
			rc = relay_watched(c, c2s, in, out, type, body);
			if (rc == PIM_ENOTFOUND)
				return;
			if (rc != PIM_OK) {
				c->protocol_error = true;
				return;
			}
			continue;
		}
	}
}

static void
relay_traffic(struct pgconn *c)
{
	int64_t in = c->c2s.bytes - c->seen_in;
	int64_t out = c->s2c.bytes - c->seen_out;

	if (in == 0 && out == 0)
		return;
	session_traffic(c->sess, (size_t)in, (size_t)out);
	c->seen_in = c->c2s.bytes;
	c->seen_out = c->s2c.bytes;
}

static void
relay_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	pg_relay_pump(arg);
}

/* Reads from a side only while the other side's output has room, and
 * from the client only while the query log keeps up. */
static void
relay_flow(struct pgconn *c)
{
	struct timeval tv = {0, PG_QLOG_RETRY_MS * 1000};
	size_t up_out = evbuffer_get_length(bufferevent_get_output(c->up));
	size_t cli_out = evbuffer_get_length(bufferevent_get_output(c->cli));
	bool log_ok = cast_backlog(c->qlog) < PG_QLOG_BACKLOG;

	if (!c->ending && up_out < PG_RELAY_BUF && log_ok)
		bufferevent_enable(c->cli, EV_READ);
	else
		bufferevent_disable(c->cli, EV_READ);
	if (cli_out < PG_RELAY_BUF)
		bufferevent_enable(c->up, EV_READ);
	else
		bufferevent_disable(c->up, EV_READ);
	if (!log_ok)
		evtimer_add(c->retry, &tv);
}

/* Ends the relay once the client has what was sent to it. */
static void
relay_close(struct pgconn *c)
{
	/* A session the bastion ends must be gone within a second of its
	 * deadline, grace for the boundary included: a client that does
	 * not read is not waited for. */
	struct timeval tv = {1, 0};

	c->closing = true;
	c->state = PG_ENDING;
	if (c->busy)
		pg_upstream_cancel(c);
	if (c->up != NULL) {
		bufferevent_free(c->up);
		c->up = NULL;
	}
	bufferevent_disable(c->cli, EV_READ);
	bufferevent_setwatermark(c->cli, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->cli)) == 0) {
		pgconn_free(c);
		return;
	}
	if (c->timer == NULL) {
		pgconn_free(c); /* no timer to bound the flush: cut now */
		return;
	}
	if (c->ending) {
		tv.tv_sec = 0;
		tv.tv_usec = PG_END_FLUSH_MS * 1000;
	}
	evtimer_del(c->timer);
	evtimer_add(c->timer, &tv);
}

void
pg_relay_pump(struct pgconn *c)
{
	if (c->state != PG_RELAY)
		return;
	relay_move(c, false);
	if (!c->closing && !c->ending)
		relay_move(c, true);
	relay_traffic(c);
	if (c->protocol_error) {
		log_warn("protocol error proto=postgres session=%lld",
		    (long long)session_id(c->sess));
		str_copy(
		    c->end_msg, "pimgate: protocol error", sizeof(c->end_msg));
		c->closing = true;
	}
	if (c->qlog_failed && !c->ending) {
		c->qlog_failed = false;
		session_end(c->sess, END_RECORDING,
		    "pimgate cannot write this session's query log; the "
		    "session was ended");
		return;
	}
	if (c->closing) {
		relay_close(c);
		return;
	}
	relay_flow(c);
}

void
pg_relay_start(struct pgconn *c)
{
	c->state = PG_RELAY;
	c->retry = evtimer_new(c->front->base, relay_retry_cb, c);
	c->flush = evtimer_new(c->front->base, relay_flush_cb, c);
	if (c->retry == NULL || c->flush == NULL) {
		session_end(c->sess, END_UPSTREAM, "pimgate: out of memory");
		return;
	}
	bufferevent_setwatermark(c->cli, EV_READ, 0, PG_RELAY_BUF);
	bufferevent_setwatermark(c->up, EV_READ, 0, PG_RELAY_BUF);
	bufferevent_setwatermark(c->cli, EV_WRITE, PG_RELAY_BUF / 2, 0);
	bufferevent_setwatermark(c->up, EV_WRITE, PG_RELAY_BUF / 2, 0);
	pg_relay_pump(c);
}

static void
relay_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;

	if (c->state == PG_RELAY)
		relay_close(c);
	else
		pgconn_free(c);
}

void
pg_relay_end(struct pgconn *c, const char *msg)
{
	struct timeval tv = {0, PG_END_GRACE_MS * 1000};

	if (c->ending || c->closing)
		return;
	c->ending = true;
	str_printf(
	    c->end_msg, sizeof(c->end_msg), "terminating connection: %s", msg);
	evbuffer_drain(bufferevent_get_input(c->cli), (size_t)-1);
	/* The FATAL goes at the next message boundary; if none comes soon
	 * the connection is cut. */
	event_free(c->timer);
	c->timer = evtimer_new(c->front->base, relay_grace_cb, c);
	if (c->timer != NULL)
		evtimer_add(c->timer, &tv);
	pg_relay_pump(c);
}

void
pg_relay_notice(struct pgconn *c, const char *msg)
{
	str_copy(c->notice, msg, sizeof(c->notice));
	c->notice_pending = true;
	pg_relay_pump(c);
}

void
pg_relay_client_gone(struct pgconn *c)
{
	if (c->busy)
		pg_upstream_cancel(c);
	pgconn_free(c);
}

void
pg_relay_upstream_gone(struct pgconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->up);

	/* What the target said last (often why it closed) goes on; if it
	 * said nothing, the person hears it from pimgate. */
	if (!c->ending && !c->closing)
		relay_move(c, false);
	bool whole = c->s2c.remain == 0 && evbuffer_get_length(in) == 0;
	evbuffer_add_buffer(bufferevent_get_output(c->cli), in);
	if (!c->client_quit && !c->ending && !c->up_said_fatal && whole)
		pg_put_error(bufferevent_get_output(c->cli), "FATAL",
		    PG_SQLSTATE_UPSTREAM,
		    "pimgate: the database closed the connection");
	c->busy = false;
	if (!c->client_quit && !c->ending) {
		qlog_event(
		    c->qlog, clock_now_ms(), "end", "reason", END_UPSTREAM);
		c->closing = true;
		session_end(c->sess, END_UPSTREAM,
		    "the database closed the connection");
	}
	relay_close(c);
}
