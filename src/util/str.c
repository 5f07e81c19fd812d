/* Small safe-string helpers. */
#include "pimgate/str.h"

#include <stdarg.h>
#include <stdio.h>
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
