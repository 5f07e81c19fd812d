/* Building and reading PostgreSQL protocol messages: a type byte, a
 * 32-bit big-endian length that counts itself, then the body. */
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "pimgate/err.h"
#include "pimgate/str.h"

#include "pg_int.h"

void
pg_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
pg_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
pg_put_msg(struct evbuffer *out, char type, const void *body, size_t len)
{
	unsigned char hdr[5];

	hdr[0] = (unsigned char)type;
	pg_put_u32(hdr + 1, (uint32_t)(len + 4));
	if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    (len > 0 && evbuffer_add(out, body, len) != 0))
		return PIM_ENOMEM;
	return PIM_OK;
}

/* Appends field CODE with text S (NUL-terminated) to BUF at *N. */
static void
pg_field(char *buf, size_t size, size_t *n, char code, const char *s)
{
	size_t len = strlen(s);

	if (*n + len + 2 >= size)
		len = size > *n + 2 ? size - *n - 2 : 0;
	if (*n + 1 >= size)
		return;
	buf[(*n)++] = code;
	memcpy(buf + *n, s, len);
	*n += len;
	buf[(*n)++] = '\0';
}

/* An ErrorResponse ('E') or NoticeResponse ('N'). */
static int
pg_put_report(struct evbuffer *out, char type, const char *severity,
    const char *sqlstate, const char *msg)
{
	char body[PG_MSG_MAX + 64];
	size_t n = 0;

	pg_field(body, sizeof(body) - 1, &n, 'S', severity);
	pg_field(body, sizeof(body) - 1, &n, 'V', severity);
	pg_field(body, sizeof(body) - 1, &n, 'C', sqlstate);
	pg_field(body, sizeof(body) - 1, &n, 'M', msg);
	body[n++] = '\0';
	return pg_put_msg(out, type, body, n);
}

int
pg_put_error(struct evbuffer *out, const char *severity, const char *sqlstate,
    const char *msg)
{
	return pg_put_report(out, 'E', severity, sqlstate, msg);
}

int
pg_put_notice(struct evbuffer *out, const char *msg)
{
	return pg_put_report(out, 'N', "WARNING", "01000", msg);
}

int
pg_put_auth(struct evbuffer *out, uint32_t code, const void *data, size_t len)
{
	unsigned char body[4 + PG_AUTH_MSG_MAX];

	if (len > PG_AUTH_MSG_MAX)
		return PIM_EINVAL;
	pg_put_u32(body, code);
	if (len > 0)
		memcpy(body + 4, data, len);
	return pg_put_msg(out, 'R', body, 4 + len);
}

bool
pg_read_str(const unsigned char **p, const unsigned char *end, const char **out)
{
	const unsigned char *nul = memchr(*p, '\0', (size_t)(end - *p));

	if (*p >= end || nul == NULL)
		return false;
	*out = (const char *)*p;
	*p = nul + 1;
	return true;
}

/* Copies at most SIZE - 1 bytes of the NUL-terminated field at S. */
static void
pg_copy_field(char *dst, size_t size, const char *s, const char *end)
{
	size_t n = strnlen(s, (size_t)(end - s));

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

void
pg_read_error(const unsigned char *body, size_t len, char *sev, size_t sevlen,
    char *code, size_t codelen, char *msg, size_t msglen)
{
	const unsigned char *p = body, *end = body + len;
	const char *s;

	sev[0] = code[0] = msg[0] = '\0';
	while (p < end && *p != '\0') {
		char field = (char)*p++;

		if (!pg_read_str(&p, end, &s))
			break;
		if (field == 'V' || (field == 'S' && sev[0] == '\0'))
			pg_copy_field(sev, sevlen, s, (const char *)end);
		else if (field == 'C')
			pg_copy_field(code, codelen, s, (const char *)end);
		else if (field == 'M')
			pg_copy_field(msg, msglen, s, (const char *)end);
	}
}

/* Messages go out as soon as they are relayed: the protocol is a
 * conversation of small messages, which Nagle's algorithm would hold
 * back waiting for acknowledgements. */
void
pg_nodelay(int fd)
{
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static bool
pg_ident_char(char ch)
{
	return ch == '_' || (ch >= '0' && ch <= '9') ||
	       ((ch | 32) >= 'a' && (ch | 32) <= 'z');
}

/* The highest $N placeholder in SQL, outside quotes and comments: the
 * number of parameters a statement is bound with. */
int
pg_count_params(const char *sql, size_t len)
{
	size_t i = 0;
	int max = 0;
	char q = 0;

	while (i < len) {
		char ch = sql[i];

		if (q != 0) {
			q = ch == q ? 0 : q;
		} else if (ch == '\'' || ch == '"') {
			q = ch;
		} else if (ch == '-' && i + 1 < len && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
		} else if (ch == '$' && i + 1 < len && sql[i + 1] >= '0' &&
			   sql[i + 1] <= '9' &&
			   (i == 0 || !pg_ident_char(sql[i - 1]))) {
			int n = 0;

			while (++i < len && sql[i] >= '0' && sql[i] <= '9' &&
			       n < 100000)
				n = n * 10 + (sql[i] - '0');
			max = n > max ? n : max;
			continue;
		}
		i++;
	}
	return max;
}
