/* Small safe-string helpers. */
#include "pimgate/str.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_NAME_MAX 63

bool
str_copy(char *dst, const char *src, size_t size)
{
	size_t len;

	if (size == 0)
		return false;
	len = strlen(src);
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

static bool
str_name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

bool
str_valid_name(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= STR_NAME_MAX || !str_name_char(name[i], i == 0))
			return false;
	}
	return true;
}

bool
str_printf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dst[0] = '\0';
		return false;
	}
	return (size_t)n < size;
}

size_t
str_utf8_decode(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, min = 0x80, *cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, min = 0x800, *cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, min = 0x10000, *cp = s[0] & 0x07;
	} else {
		return 0;
	}
	/* A NUL is not a continuation byte: never read past the end. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

bool
str_control_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool
str_unsafe_char(uint32_t cp)
{
	return str_control_char(cp) || (cp >= 0x200b && cp <= 0x200f) ||
	       cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

int
str_check_text(const char *s, uint32_t *bad)
{
	uint32_t cp;
	size_t n;

	for (; *s != '\0'; s += n) {
		n = str_utf8_decode(s, &cp);
		if (n == 0) {
			*bad = STR_BAD_UTF8;
			return -1;
		}
		if (str_unsafe_char(cp)) {
			*bad = cp;
			return -1;
		}
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at S (1 to 4), or 0. */
static size_t
str_utf8_len(const unsigned char *s)
{
	uint32_t cp;

	return str_utf8_decode((const char *)s, &cp);
}

void
str_sanitize(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, n;

	if (size == 0)
		return;
	/* The output is never longer than the input: when all of it fits,
	 * no room need be kept for "...". */
	bool fits = strlen(src) < size;

	while (*s != '\0') {
		n = str_utf8_len(s);
		if (!fits && out + (n ? n : 1) + 4 > size) {
			/* Room for "..." and the terminator is kept. */
			memcpy(dst + out, "...", 3);
			out += 3;
			break;
		}
		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			dst[out++] = '?';
			s++;
			continue;
		}
		memcpy(dst + out, s, n);
		out += n;
		s += n;
	}
	dst[out] = '\0';
}

/* Copies the first N bytes of S (cut back to a UTF-8 boundary). */
static size_t
str_head_len(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
str_summarize(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src), n = 0, i, keep, head, tail;
	char *flat = malloc(len + 1);
	bool space = false;

	if (flat == NULL || size < 16) {
		free(flat);
		str_sanitize(dst, size, src);
		return;
	}
	/* Runs of white space become one space, so padding hides nothing. */
	for (i = 0; i < len; i++) {
		bool ws = src[i] == ' ' || src[i] == '\t' || src[i] == '\n' ||
			  src[i] == '\r' || src[i] == '\v' || src[i] == '\f';
		if (!ws || !space)
			flat[n++] = ws ? ' ' : src[i];
		space = ws;
	}
	flat[n] = '\0';
	keep = size - 1;
	if (n > keep) {
		/* The head and the tail, where a payload would hide. */
		head = str_head_len(flat, (keep - 5) / 2);
		tail = n - (keep - 5 - head);
		while (tail < n && ((unsigned char)flat[tail] & 0xc0) == 0x80)
			tail++;
		memmove(flat + head + 5, flat + tail, n - tail + 1);
		memcpy(flat + head, " ... ", 5);
	}
	str_sanitize(dst, size, flat);
	free(flat);
}
