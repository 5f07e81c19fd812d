/* Warning times of a role: when, before a session's deadline, the person
 * is told that their access is about to end. Stored on the role as
 * seconds, comma-separated ("300,60"), or "none". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"

/* Inserts V into OUT (N used, largest first), once. Returns false if
 * there is no room. */
static bool
policy_warn_insert(int64_t *out, int *n, int64_t v)
{
	int i, j;

	for (i = 0; i < *n && out[i] > v; i++)
		;
	if (i < *n && out[i] == v)
		return true;
	if (*n == POLICY_NWARN_MAX)
		return false;
	for (j = *n; j > i; j--)
		out[j] = out[j - 1];
	out[i] = v;
	(*n)++;
	return true;
}

int
policy_warn_parse(const char *text, int64_t out[POLICY_NWARN_MAX], int *n)
{
	const char *p = text;
	char *end;
	long long v;

	*n = 0;
	if (text == NULL || text[0] == '\0' || strcmp(text, "none") == 0)
		return PIM_OK;
	for (;;) {
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || v <= 0 || (*end != ',' && *end != '\0'))
			goto bad;
		if (!policy_warn_insert(out, n, (int64_t)v))
			goto bad;
		if (*end == '\0')
			return PIM_OK;
		p = end + 1;
	}
bad:
	*n = 0;
	return PIM_EINVAL;
}

bool
policy_warn_format(const int64_t *warn, int n, char *buf, size_t size)
{
	size_t used = 0;
	int i, w;

	if (size == 0)
		return false;
	buf[0] = '\0';
	if (n == 0)
		return snprintf(buf, size, "none") < (int)size;
	for (i = 0; i < n; i++) {
		w = snprintf(buf + used, size - used, "%s%lld",
		    i > 0 ? "," : "", (long long)warn[i]);
		if (w < 0 || (size_t)w >= size - used)
			return false;
		used += (size_t)w;
	}
	return true;
}
