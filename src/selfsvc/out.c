/* What the person sees: lines appended to a growing buffer, cleaned of
 * control characters on the way, since names and reasons come from the
 * store and the buffer goes to a terminal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/str.h"

#include "selfsvc_int.h"

#define OUT_LINE_MAX 2048

void
selfsvc_out_free(struct selfsvc_out *out)
{
	if (out == NULL)
		return;
	free(out->buf);
	out->buf = NULL;
	out->len = 0;
	out->cap = 0;
	out->failed = false;
}

/* Appends the N bytes at S; sets FAILED if there is no memory. */
static void
out_append(struct selfsvc_out *out, const char *s, size_t n)
{
	size_t cap = out->cap != 0 ? out->cap : 256;
	char *p;

	if (out->failed)
		return;
	while (cap - out->len < n + 1)
		cap *= 2;
	if (cap != out->cap) {
		p = realloc(out->buf, cap);
		if (p == NULL) {
			out->failed = true;
			return;
		}
		out->buf = p;
		out->cap = cap;
	}
	memcpy(out->buf + out->len, s, n);
	out->len += n;
	out->buf[out->len] = '\0';
}

static void
out_vline(struct selfsvc_out *out, const char *fmt, va_list ap)
{
	char raw[OUT_LINE_MAX], clean[OUT_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	str_sanitize(clean, sizeof(clean), raw);
	out_append(out, clean, strlen(clean));
	out_append(out, "\n", 1);
}

void
selfsvc_line(struct selfsvc_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vline(out, fmt, ap);
	va_end(ap);
}

void
selfsvc_raw(struct selfsvc_out *out, const char *text, size_t len)
{
	out_append(out, text, len);
}

int
selfsvc_refuse(struct selfsvc_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vline(out, fmt, ap);
	va_end(ap);
	return SS_REFUSED;
}

int
selfsvc_bad_arg(struct selfsvc_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vline(out, fmt, ap);
	va_end(ap);
	return SS_USAGE;
}

int
selfsvc_store_fail(
    struct selfsvc_out *out, struct store *st, int rc, const char *what)
{
	log_error(
	    "cannot %s: %s (%s)", what, pim_strerror(rc), store_errmsg(st));
	if (rc == PIM_EBUSY)
		return selfsvc_refuse(out,
		    "cannot %s: the bastion is busy, try again in a moment",
		    what);
	return selfsvc_refuse(
	    out, "cannot %s: the bastion's store failed; tell an admin", what);
}
