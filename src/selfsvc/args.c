/* Arguments of self-service verbs: long options from a table, positional
 * words counted exactly, ids, and the free-text rule (one line of valid
 * UTF-8 without control or bidi override characters). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/str.h"

#include "selfsvc_int.h"

static const struct selfsvc_opt *
args_find(const struct selfsvc_opt *opts, const char *name, size_t len)
{
	for (const struct selfsvc_opt *o = opts; o != NULL && o->name != NULL;
	     o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

/* Takes the option at ARGV[*I] and its value (same word after '=' or the
 * next word); moves *I past what it used. */
static int
args_option(const struct selfsvc_opt *opts, int argc, char **argv, int *i,
    struct selfsvc_out *out)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	const struct selfsvc_opt *o = args_find(opts, arg, len);
	const char *value = eq != NULL ? eq + 1 : NULL;

	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return SS_HELP;
	if (o == NULL)
		return selfsvc_bad_arg(out, "unknown option %.*s",
		    (int)(len > 32 ? 32 : len), arg);
	if (value == NULL) {
		if (*i + 1 >= argc)
			return selfsvc_bad_arg(
			    out, "%s needs a value", o->name);
		value = argv[++*i];
	}
	if (*o->dest != NULL)
		return selfsvc_bad_arg(out, "%s given twice", o->name);
	*o->dest = value;
	return SS_OK;
}

int
selfsvc_parse(int argc, char **argv, const struct selfsvc_opt *opts,
    const char **pos, int npos, struct selfsvc_out *out)
{
	bool options = true;
	int n = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
			continue;
		}
		if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = args_option(opts, argc, argv, &i, out);
			if (rc != SS_OK)
				return rc;
			continue;
		}
		if (n >= npos)
			return selfsvc_bad_arg(out, "too many arguments");
		pos[n++] = argv[i];
	}
	if (n < npos)
		return selfsvc_bad_arg(out, "missing arguments");
	return SS_OK;
}

bool
selfsvc_parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*id = v;
	return true;
}

static size_t
args_utf8(const unsigned char *s, uint32_t *cp)
{
	return str_utf8_decode((const char *)s, cp);
}

int
selfsvc_check_text(
    const char *what, const char *s, size_t max, struct selfsvc_out *out)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (strlen(s) > max)
		return selfsvc_bad_arg(
		    out, "%s is too long: at most %zu bytes", what, max);
	for (; *p != '\0'; p += n) {
		n = args_utf8(p, &cp);
		if (n == 0)
			return selfsvc_bad_arg(
			    out, "%s is not valid UTF-8 text", what);
		if (str_unsafe_char(cp))
			return selfsvc_bad_arg(out,
			    "%s must be one line of plain text (it holds "
			    "U+%04X)",
			    what, (unsigned)cp);
	}
	return SS_OK;
}

void
selfsvc_text_cut(char *s)
{
	size_t len = strlen(s), i = len;
	uint32_t cp;

	/* Back to the lead byte of the last sequence, if it is one. */
	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
		return;
	if (args_utf8((const unsigned char *)s + i - 1, &cp) == 0)
		s[i - 1] = '\0';
}
