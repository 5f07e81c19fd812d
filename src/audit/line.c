/* One audit event as a line of key=value fields, for syslog. Text values
 * are quoted, so spaces stay inside them and a reader splits the line
 * without knowing the fields; '"' and '\' are escaped, control bytes
 * written as \xNN. A detail too long for the line is cut, on a character
 * boundary, and marked with "..."; the hashes that follow still name the
 * event in full. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"

struct line_out {
	char *buf;
	size_t size, len;
};

static void line_add(struct line_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
line_add(struct line_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->size - o->len ? (size_t)n
						       : o->size - o->len - 1;
}

/* The bytes of the character that starts with C (1 for a byte that
 * cannot start one: it is escaped alone). */
static size_t
line_char_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

/* The escaped form of the character at S (N bytes) into PIECE; its
 * length. */
static size_t
line_escape(const char *s, size_t n, char piece[8])
{
	unsigned char c = (unsigned char)s[0];

	if (n > 1) {
		memcpy(piece, s, n);
		return n;
	}
	if (c == '"' || c == '\\') {
		piece[0] = '\\';
		piece[1] = (char)c;
		return 2;
	}
	if (c < 0x20 || c >= 0x7f) {
		snprintf(piece, 8, "\\x%02x", c);
		return 4;
	}
	piece[0] = (char)c;
	return 1;
}

/* NAME="VALUE", keeping RESERVE bytes of the line free after it. */
static void
line_text(struct line_out *o, const char *name, const char *v, size_t reserve)
{
	size_t i = 0, n, k, room;
	char piece[8];

	line_add(o, " %s=\"", name);
	room =
	    o->size > o->len + reserve + 5 ? o->size - o->len - reserve - 5 : 0;
	while (v[i] != '\0') {
		n = line_char_len((unsigned char)v[i]);
		if (strnlen(v + i, n) < n)
			n = 1; /* a cut sequence: escape its bytes alone */
		k = line_escape(v + i, n, piece);
		if (k > room) {
			line_add(o, "...");
			break;
		}
		memcpy(o->buf + o->len, piece, k);
		o->len += k;
		room -= k;
		i += n;
	}
	o->buf[o->len] = '\0';
	line_add(o, "\"");
}

void
audit_event_line(const struct store_audit *a, char *buf, size_t size)
{
	struct line_out o = {buf, size, 0};
	char when[32];
	/* What follows the detail: two hashes and their names. */
	const size_t tail = 2 * STORE_HASH_MAX + 16;

	buf[0] = '\0';
	instant_format(a->ts_ms / 1000, when, sizeof(when));
	line_add(&o,
	    "audit id=%" PRId64 " time=%s ts_ms=%" PRId64 " event=%s"
	    " outcome=%s session=%" PRId64,
	    a->id, when, a->ts_ms, a->event[0] ? a->event : "-",
	    a->outcome[0] ? a->outcome : "-", a->session_id);
	line_text(&o, "actor", a->actor, tail);
	line_text(&o, "user", a->user, tail);
	line_text(&o, "target", a->target, tail);
	line_text(&o, "role", a->role, tail);
	line_text(&o, "peer", a->peer, tail);
	line_text(&o, "detail", a->detail, tail);
	line_add(&o, " hash=%s prev=%s", a->hash[0] ? a->hash : "-",
	    a->prev_hash[0] ? a->prev_hash : "-");
}
