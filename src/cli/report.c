/* pimctl report access: the access review of a period, as text for a
 * person, CSV for a spreadsheet or JSON for a program. The rows and the
 * flag rules are the report module's; here the words are checked. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/report.h"
#include "pimgate/str.h"

#include "cli.h"

enum report_format { FORMAT_TEXT, FORMAT_CSV, FORMAT_JSON };

struct report_args {
	const char *from, *to, *format, *user;
};

static int
report_parse_format(const char *s, enum report_format *f)
{
	if (s == NULL || strcmp(s, "text") == 0)
		*f = FORMAT_TEXT;
	else if (strcmp(s, "csv") == 0)
		*f = FORMAT_CSV;
	else if (strcmp(s, "json") == 0)
		*f = FORMAT_JSON;
	else
		return cli_bad_arg(
		    "unknown --format '%s': text, csv or json", s);
	return CLI_OK;
}

/* Checks the words and fills OPT (but its hours) and *FORMAT. */
static int
report_check_args(const struct report_args *a, struct report_options *opt,
    enum report_format *format)
{
	char from[32], to[32];
	int rc;

	if (a->from == NULL || a->to == NULL)
		return cli_bad_arg("--from and --to are both needed");
	rc = cli_parse_instant("--from", a->from, &opt->from);
	if (rc == CLI_OK)
		rc = cli_parse_instant("--to", a->to, &opt->to);
	if (rc == CLI_OK && opt->from >= opt->to) {
		instant_format(opt->from, from, sizeof(from));
		instant_format(opt->to, to, sizeof(to));
		return cli_bad_arg("--from %s is not before --to %s", from, to);
	}
	if (rc == CLI_OK && a->user != NULL)
		rc = cli_check_name("user", a->user);
	if (rc == CLI_OK)
		rc = report_parse_format(a->format, format);
	if (rc == CLI_OK && a->user != NULL)
		str_copy(opt->user, a->user, sizeof(opt->user));
	return rc;
}

/* The [report] settings; config_load has checked them already. */
static int
report_settings(struct cli_ctx *ctx, struct report_options *opt)
{
	const struct config *cfg = &ctx->cfg;
	char err[256];

	if (hours_init(&opt->hours, cfg->report_hours, cfg->report_days,
		cfg->report_tz, err, sizeof(err)) != PIM_OK)
		return cli_fail("%s: %s", cfg->path, err);
	opt->volume_factor = cfg->report_volume_factor;
	opt->now = clock_now();
	return CLI_OK;
}

static int
report_write(const struct report *r, enum report_format format)
{
	switch (format) {
	case FORMAT_CSV:
		return report_write_csv(r, stdout);
	case FORMAT_JSON:
		return report_write_json(r, stdout);
	default:
		return report_write_text(r, stdout);
	}
}

int
cmd_report_access(struct cli_ctx *ctx, int argc, char **argv)
{
	struct report_args a = {0};
	const struct cli_opt opts[] = {
	    {"--from", CLI_OPT_VALUE, &a.from},
	    {"--to", CLI_OPT_VALUE, &a.to},
	    {"--format", CLI_OPT_VALUE, &a.format},
	    {"--user", CLI_OPT_VALUE, &a.user},
	    {NULL, 0, NULL},
	};
	struct report_options opt = {0};
	enum report_format format = FORMAT_TEXT;
	struct report *r = NULL;
	struct store_user u;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc == CLI_OK)
		rc = report_check_args(&a, &opt, &format);
	if (rc == CLI_OK)
		rc = report_settings(ctx, &opt);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	if (a.user != NULL && cli_get_user(ctx, a.user, &u) != CLI_OK)
		return CLI_FAIL;

	rc = report_build(st, &opt, &r);
	if (rc == PIM_ENOMEM)
		return cli_fail("out of memory");
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the store");
	rc = report_write(r, format);
	report_free(r);
	if (rc == PIM_ENOMEM)
		return cli_fail("out of memory");
	if (rc != PIM_OK)
		return cli_fail("cannot write the report");
	return CLI_OK;
}
