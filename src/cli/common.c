/* Helpers every pimctl verb shares: failure lines, opening the store, the
 * audit hook and output formatting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "cli.h"

#define CLI_MSG_MAX 1024

/* Prints "pimctl: " and the message FMT makes on stderr, on one line:
 * names and values a person gave or the store holds are echoed with
 * their control characters escaped, never raw. */
static void __attribute__((format(printf, 1, 0)))
cli_vreport(const char *fmt, va_list ap)
{
	char msg[CLI_MSG_MAX], line[CLI_MSG_MAX * 4];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		cli_text_cut(msg);
	cli_text_escape(msg, line, sizeof(line));
	fprintf(stderr, "pimctl: %s\n", line);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vreport(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int
cli_bad_arg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vreport(fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

int
cli_check_name(const char *what, const char *name)
{
	if (!str_valid_name(name))
		return cli_bad_arg("invalid %s name '%s': 1 to 63 characters "
				   "from a-z 0-9 . _ -, starting with a "
				   "letter or digit",
		    what, name);
	return CLI_OK;
}

int
cli_store(struct cli_ctx *ctx, struct store **out)
{
	const char *path = ctx->cfg.db_path;
	int rc;

	if (ctx->st == NULL) {
		if (access(path, F_OK) != 0 && errno == ENOENT)
			return cli_fail("no database at %s; run 'pimctl init' "
					"first",
			    path);
		rc = store_open(path, false, &ctx->st);
		if (rc != PIM_OK) {
			ctx->st = NULL;
			return cli_fail("cannot open the database %s: %s", path,
			    pim_strerror(rc));
		}
	}
	*out = ctx->st;
	return CLI_OK;
}

int
cli_store_fail(struct cli_ctx *ctx, int rc, const char *what)
{
	const char *msg = ctx->st != NULL ? store_errmsg(ctx->st) : "";

	if (rc == PIM_EBUSY)
		return cli_fail("%s: the database is busy; try again", what);
	if (msg[0] == '\0')
		msg = pim_strerror(rc);
	return cli_fail("%s: %s", what, msg);
}

int
cli_audit(struct cli_ctx *ctx, const char *user, const char *target,
    const char *role, const char *fmt, ...)
{
	char detail[STORE_TEXT_MAX];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(detail))
		cli_text_cut(detail);

	rc = audit_log(ctx->st, ctx->actor, AUDIT_ADMIN, "ok", user, target,
	    role, 0, NULL, detail);
	if (rc != PIM_OK)
		return cli_store_fail(
		    ctx, rc, "the change was made but its audit event failed");
	return CLI_OK;
}

void
cli_json_push(json_t **arr, json_t *obj)
{
	if (*arr == NULL) {
		json_decref(obj);
		return;
	}
	if (obj == NULL || json_array_append_new(*arr, obj) != 0) {
		json_decref(*arr);
		*arr = NULL;
	}
}

int
cli_json_print(json_t *j)
{
	int rc;

	if (j == NULL)
		return cli_fail("cannot build the JSON output");
	rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (rc != 0)
		return cli_fail("cannot write the JSON output");
	fputc('\n', stdout);
	return CLI_OK;
}

json_t *
cli_json_instant(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	instant_format(t, buf, sizeof(buf));
	return json_string(buf);
}

const char *
cli_instant(int64_t t, char *buf, size_t size)
{
	if (t == 0)
		snprintf(buf, size, "-");
	else
		instant_format(t, buf, size);
	return buf;
}

const char *
cli_duration(int64_t secs, char *buf, size_t size)
{
	if (secs == 0)
		snprintf(buf, size, "none");
	else
		duration_format(secs, buf, size);
	return buf;
}

int
cli_vec_push(struct cli_vec *v, const void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap == 0 ? 16 : v->cap * 2;
		void *items = reallocarray(v->items, cap, v->size);

		if (items == NULL)
			return PIM_ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	memcpy((char *)v->items + v->n * v->size, item, v->size);
	v->n++;
	return PIM_OK;
}

void *
cli_vec_at(const struct cli_vec *v, size_t i)
{
	return (char *)v->items + i * v->size;
}

void
cli_vec_free(struct cli_vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

int
cli_begin(struct cli_ctx *ctx)
{
	int rc = store_begin(ctx->st);

	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot start a transaction");
	return CLI_OK;
}

int
cli_end(struct cli_ctx *ctx, int rc)
{
	int src;

	if (rc != CLI_OK) {
		store_rollback(ctx->st);
		return rc;
	}
	src = store_commit(ctx->st);
	if (src != PIM_OK) {
		store_rollback(ctx->st);
		return cli_store_fail(ctx, src, "cannot commit the change");
	}
	return CLI_OK;
}
