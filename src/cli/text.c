/* Free text in pimctl: what an admin gives (a reason, a login) is checked
 * to be one line of valid UTF-8 without control or bidi characters; what
 * the store already holds is repaired for JSON, cleaned for tables and
 * escaped for one-line failure reasons, whatever bytes it has. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TEXT_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* Sets *LEN and *MIN (the smallest code point that needs LEN bytes) for
 * lead byte C and returns its payload bits; *LEN is 0 if C cannot lead. */
static uint32_t
text_lead(unsigned char c, size_t *len, uint32_t *min)
{
	*len = 0;
	if (c < 0x80) {
		*len = 1;
		*min = 0;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		*len = 2;
		*min = 0x80;
		return c & 0x1f;
	}
	if (c >= 0xe0 && c <= 0xef) {
		*len = 3;
		*min = 0x800;
		return c & 0x0f;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*len = 4;
		*min = 0x10000;
		return c & 0x07;
	}
	return 0;
}

/* Decodes the UTF-8 sequence at S into *CP and returns its length, or 0
 * if S does not start a valid one (overlong forms, surrogates and values
 * past U+10FFFF are invalid). Never reads past a terminating NUL. */
static size_t
text_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t min;
	size_t len;

	*cp = text_lead(s[0], &len, &min);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (len == 0 || *cp < min || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* C0, DEL and C1 control characters. */
static bool
text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Bidi embedding, override and isolate characters, which can make text
 * read differently from what it is. */
static bool
text_is_bidi(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
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
			return cli_bad_arg("%s must not hold bidirectional "
					   "override or isolate characters "
					   "(it holds U+%04X)",
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
