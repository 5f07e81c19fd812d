/* A small argument parser for pimctl verbs: long options described by a
 * table, positional arguments counted exactly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"

#include "cli.h"

static const struct cli_opt *
cli_opt_find(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o != NULL && o->name != NULL;
	     o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

/* Stores VALUE for option O. */
static int
cli_opt_set(const struct cli_opt *o, const char *value)
{
	const char **dest = o->dest;
	struct cli_list *list = o->dest;

	switch (o->kind) {
	case CLI_OPT_FLAG:
		*(bool *)o->dest = true;
		return CLI_OK;
	case CLI_OPT_VALUE:
		if (*dest != NULL)
			return cli_bad_arg("%s given twice", o->name);
		*dest = value;
		return CLI_OK;
	case CLI_OPT_LIST:
		if (list->n >= CLI_LIST_MAX)
			return cli_bad_arg(
			    "at most %d %s options", CLI_LIST_MAX, o->name);
		list->v[list->n++] = value;
		return CLI_OK;
	}
	return CLI_USAGE;
}

/* Handles the option at ARGV[*I], taking its value from the same word
 * ("--for=1h") or the next one; advances *I past what it used. */
static int
cli_parse_option(const struct cli_opt *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	const struct cli_opt *o = cli_opt_find(opts, arg, len);
	const char *value = eq != NULL ? eq + 1 : NULL;

	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return CLI_HELP;
	if (o == NULL)
		return cli_bad_arg("unknown option %.*s", (int)len, arg);
	if (o->kind == CLI_OPT_FLAG) {
		if (value != NULL)
			return cli_bad_arg("%s takes no value", o->name);
		return cli_opt_set(o, NULL);
	}
	if (value == NULL) {
		if (*i + 1 >= argc)
			return cli_bad_arg("%s needs a value", o->name);
		value = argv[++*i];
	}
	return cli_opt_set(o, value);
}

int
cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos,
    int npos)
{
	bool options_done = false;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (!options_done && strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && a[0] == '-' && a[1] != '\0') {
			rc = cli_parse_option(opts, argc, argv, &i);
			if (rc != CLI_OK)
				return rc;
			continue;
		}
		if (n >= npos)
			return cli_bad_arg("unexpected argument '%s'", a);
		pos[n++] = a;
	}
	if (n < npos)
		return cli_bad_arg("missing argument");
	return CLI_OK;
}

bool
cli_parse_id(const char *s, int64_t *id)
{
	char *end = NULL;
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

int
cli_parse_duration(const char *opt, const char *s, int64_t *secs)
{
	if (duration_parse(s, secs) != PIM_OK)
		return cli_bad_arg("invalid duration '%s' for %s: write it "
				   "like 90s, 15m, 4h, 1h30m or 2d",
		    s, opt);
	return CLI_OK;
}

int
cli_parse_instant(const char *opt, const char *s, int64_t *t)
{
	if (instant_parse(s, t) != PIM_OK)
		return cli_bad_arg("invalid instant '%s' for %s: write it in "
				   "RFC 3339, like 2026-12-04T15:00:00Z",
		    s, opt);
	return CLI_OK;
}
