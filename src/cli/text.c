/* Free text in pimctl: what an admin gives (a reason, a login) is checked
 * to be one line of valid UTF-8 without control or bidi characters; what
 * the store already holds is repaired for JSON, cleaned for tables and
 * escaped for one-line failure reasons, whatever bytes it has. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/str.h"

#include "cli.h"

#define TEXT_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* Decodes at S (see str_utf8_decode). */
static size_t
text_decode(const unsigned char *s, uint32_t *cp)
{
	return str_utf8_decode((const char *)s, cp);
}

static bool
text_is_control(uint32_t cp)
{
	return str_control_char(cp);
}

/* Controls aside, what makes text read differently from what it is. */
static bool
text_is_bidi(uint32_t cp)
{
	return str_unsafe_char(cp) && !str_control_char(cp);
}

int
cli_check_text(const char *what, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (strlen(s) > max)
		return cli_bad_arg(
		    "%s is too long: at most %zu bytes", what, max);
	for (; *p != '\0'; p += n) {
		n = text_decode(p, &cp);
		if (n == 0)
			return cli_bad_arg("%s is not valid UTF-8 text", what);
		if (text_is_control(cp))
			return cli_bad_arg("%s must be one line of text "
					   "without control characters (it "
					   "holds U+%04X)",
			    what, (unsigned)cp);
		if (text_is_bidi(cp))
			return cli_bad_arg("%s must not hold invisible, "
					   "bidirectional override or isolate "
					   "characters (it holds U+%04X)",
			    what, (unsigned)cp);
	}
	return CLI_OK;
}

/* True if S is valid UTF-8 throughout. */
static bool
text_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	for (; *p != '\0'; p += n) {
		n = text_decode(p, &cp);
		if (n == 0)
			return false;
	}
	return true;
}

json_t *
cli_json_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *buf, *w;
	uint32_t cp;
	json_t *j;
	size_t n;

	if (s == NULL)
		return json_null();
	if (text_valid(s))
		return json_string(s);
	buf = malloc(strlen(s) * 3 + 1);
	if (buf == NULL)
		return NULL;
	for (w = buf; *p != '\0'; p += n) {
		n = text_decode(p, &cp);
		if (n == 0) {
			memcpy(w, TEXT_REPLACEMENT, 3);
			w += 3;
			n = 1;
		} else {
			memcpy(w, p, n);
			w += n;
		}
	}
	*w = '\0';
	j = json_string(buf);
	free(buf);
	return j;
}

void
cli_text_clean(char *s)
{
	unsigned char *r = (unsigned char *)s;
	unsigned char *w = r;
	uint32_t cp;
	size_t n;

	for (; *r != '\0'; r += n) {
		n = text_decode(r, &cp);
		if (n == 0 || text_is_control(cp) || text_is_bidi(cp)) {
			*w++ = '?';
			n = n == 0 ? 1 : n;
			continue;
		}
		memmove(w, r, n);
		w += n;
	}
	*w = '\0';
}

/* The escape for the sequence of N bytes at P (code point CP; N 0 for an
 * invalid byte) into ESC, or "" if it is shown as it is. */
static void
text_escape_one(
    const unsigned char *p, size_t n, uint32_t cp, char *esc, size_t size)
{
	esc[0] = '\0';
	if (n == 0 || cp < 0x80) {
		if (n == 0 || text_is_control(cp))
			snprintf(esc, size, "\\x%02x", (unsigned)p[0]);
		return;
	}
	if (text_is_control(cp) || text_is_bidi(cp))
		snprintf(esc, size, "\\u%04x", (unsigned)cp);
}

void
cli_text_escape(const char *s, char *dst, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;
	uint32_t cp;
	size_t n;

	if (size == 0)
		return;
	for (; *p != '\0'; p += n == 0 ? 1 : n) {
		char esc[12];
		const char *piece = esc;
		size_t plen;

		n = text_decode(p, &cp);
		text_escape_one(p, n, cp, esc, sizeof(esc));
		if (esc[0] == '\0')
			piece = (const char *)p;
		plen = esc[0] != '\0' ? strlen(esc) : n;
		if (len + plen >= size)
			break;
		memcpy(dst + len, piece, plen);
		len += plen;
	}
	dst[len] = '\0';
}

void
cli_text_cut(char *s)
{
	size_t len = strlen(s);
	size_t i = len;
	uint32_t cp;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
		return;
	i--;
	if (text_decode((const unsigned char *)s + i, &cp) == 0)
		s[i] = '\0';
}
