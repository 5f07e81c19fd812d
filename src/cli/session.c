/* pimctl session verbs: sessions (the list) and replay (the recordings of
 * one session, played in order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/record.h"
#include "pimgate/str.h"

#include "cli.h"

static int
session_collect(const struct store_session *s, void *arg)
{
	return cli_vec_push(arg, s);
}

static int
session_list_json(const struct cli_vec *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < v->n; i++) {
		const struct store_session *s = cli_vec_at(v, i);

		cli_json_push(&arr,
		    json_pack("{sI so so so so so so so so sb so sI sI so}",
			"id", (json_int_t)s->id, "user", cli_json_text(s->user),
			"target", cli_json_text(s->target), "role",
			cli_json_text(s->role), "protocol",
			cli_json_text(s->protocol), "peer",
			cli_json_text(s->peer), "start",
			cli_json_instant(s->start), "deadline",
			cli_json_instant(s->deadline), "end",
			cli_json_instant(s->end), "live", s->end == 0,
			"end_reason",
			cli_json_text(s->end != 0 ? s->end_reason : NULL),
			"bytes_in", (json_int_t)s->bytes_in, "bytes_out",
			(json_int_t)s->bytes_out, "recording",
			cli_json_text(
			    s->recording[0] != '\0' ? s->recording : NULL)));
	}
	return cli_json_print(arr);
}

static int
session_list_text(const struct cli_vec *v)
{
	struct cli_table *t =
	    cli_table_new(11, "ID", "USER", "TARGET", "PROTO", "ROLE", "START",
		"END", "REASON", "BYTES IN", "BYTES OUT", "RECORDING");

	for (size_t i = 0; t != NULL && i < v->n; i++) {
		const struct store_session *s = cli_vec_at(v, i);
		char id[24], start[32], end[32], in[24], out[24];

		snprintf(id, sizeof(id), "%lld", (long long)s->id);
		snprintf(in, sizeof(in), "%lld", (long long)s->bytes_in);
		snprintf(out, sizeof(out), "%lld", (long long)s->bytes_out);
		if (s->end == 0)
			str_copy(end, "live", sizeof(end));
		else
			cli_instant(s->end, end, sizeof(end));
		cli_table_add(t, id, s->user, s->target, s->protocol, s->role,
		    cli_instant(s->start, start, sizeof(start)), end,
		    s->end != 0 ? s->end_reason : "-", in, out,
		    s->recording[0] != '\0' ? s->recording : "-");
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_sessions(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec v = {.size = sizeof(struct store_session)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_session_list(st, session_collect, &v);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the sessions");
	else if (json)
		rc = session_list_json(&v);
	else
		rc = session_list_text(&v);
	cli_vec_free(&v);
	return rc;
}

/* The recording paths of one session, in order. */
struct replay_files {
	char (*paths)[STORE_PATH_MAX];
	size_t n;
	size_t cap;
};

static int
replay_collect(const char *path, void *arg)
{
	struct replay_files *f = arg;

	if (f->n == f->cap) {
		size_t cap = f->cap == 0 ? 4 : f->cap * 2;
		void *p = reallocarray(f->paths, cap, sizeof(*f->paths));

		if (p == NULL)
			return PIM_ENOMEM;
		f->paths = p;
		f->cap = cap;
	}
	str_copy(f->paths[f->n++], path, STORE_PATH_MAX);
	return PIM_OK;
}

static bool
str_ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && strcmp(s + n - m, end) == 0;
}

/* Plays PATH (relative paths are under the recordings directory); a
 * database session's query log is printed. */
static int
replay_one(struct cli_ctx *ctx, const char *path, double speed)
{
	char full[STORE_PATH_MAX * 2];
	char err[256] = "";
	int rc;

	if (path[0] == '/')
		str_copy(full, path, sizeof(full));
	else
		str_printf(
		    full, sizeof(full), "%s/%s", ctx->cfg.recordings_dir, path);
	if (str_ends_with(full, ".jsonl"))
		rc = qlog_print(full, stdout, err, sizeof(err));
	else
		rc = cast_play(full, speed, stdout, err, sizeof(err));
	fflush(stdout);
	if (rc != PIM_OK)
		return cli_fail("cannot play %s: %s", full,
		    err[0] != '\0' ? err : pim_strerror(rc));
	return CLI_OK;
}

#define REPLAY_SPEED_MIN 0.01
#define REPLAY_SPEED_MAX 1000.0

/* True if S is a plain decimal number: digits and at most one point. */
static bool
replay_decimal(const char *s)
{
	const char *dot = strchr(s, '.');

	return s[0] != '\0' && strspn(s, "0123456789.") == strlen(s) &&
	       (dot == NULL || strchr(dot + 1, '.') == NULL);
}

/* Parses --speed: 0 (no delay) or from REPLAY_SPEED_MIN to
 * REPLAY_SPEED_MAX; 1 if S is NULL. */
static int
replay_parse_speed(const char *s, double *speed)
{
	char *end = NULL;

	*speed = 1.0;
	if (s == NULL)
		return CLI_OK;
	if (replay_decimal(s))
		*speed = strtod(s, &end);
	if (end == NULL || end == s || *end != '\0' || !isfinite(*speed) ||
	    (*speed != 0 &&
		(*speed < REPLAY_SPEED_MIN || *speed > REPLAY_SPEED_MAX)))
		return cli_bad_arg("invalid --speed '%s': 0 (no delay) or a "
				   "number from 0.01 to 1000",
		    s);
	return CLI_OK;
}

static int
replay_session(struct cli_ctx *ctx, int64_t id, double speed)
{
	struct replay_files files = {NULL, 0, 0};
	struct store_session s;
	int rc;

	rc = store_session_get(ctx->st, id, &s);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no session %lld", (long long)id);
	if (rc == PIM_OK)
		rc = store_session_recordings(
		    ctx->st, id, replay_collect, &files);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot read the session");
	else if (files.n == 0)
		rc = cli_fail("session %lld has no recording", (long long)id);
	for (size_t i = 0; rc == CLI_OK && i < files.n; i++)
		rc = replay_one(ctx, files.paths[i], speed);
	free(files.paths);
	return rc;
}

int
cmd_replay(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *arg, *speed_arg = NULL;
	const struct cli_opt opts[] = {
	    {"--speed", CLI_OPT_VALUE, &speed_arg},
	    {NULL, 0, NULL},
	};
	struct store *st;
	double speed;
	int64_t id;
	int rc;

	rc = cli_parse(argc, argv, opts, &arg, 1);
	if (rc != CLI_OK)
		return rc;
	if (!cli_parse_id(arg, &id))
		return cli_bad_arg("invalid session id '%s'", arg);
	rc = replay_parse_speed(speed_arg, &speed);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	return replay_session(ctx, id, speed);
}

/* Asks the daemon holding session ID to end it; it notices within
 * [server] store_poll_ms and ends it with reason "killed". */
static int
session_kill_tx(struct cli_ctx *ctx, int64_t id)
{
	struct store_session s;
	int rc;

	rc = store_session_get(ctx->st, id, &s);
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no session %lld", (long long)id);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot read the session");
	if (s.end != 0)
		return cli_fail("session %lld has already ended (%s)",
		    (long long)id, s.end_reason);
	rc = store_session_request_kill(ctx->st, id, ctx->actor);
	if (rc == PIM_ENOTFOUND)
		return cli_fail(
		    "session %lld is already being ended", (long long)id);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot end the session");
	return cli_audit(ctx, s.user, s.target, s.role,
	    "kill session %lld of %s on %s", (long long)id, s.user, s.target);
}

int
cmd_kill(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *arg;
	struct store *st;
	int64_t id;
	int rc;

	rc = cli_parse(argc, argv, NULL, &arg, 1);
	if (rc != CLI_OK)
		return rc;
	if (!cli_parse_id(arg, &id))
		return cli_bad_arg("invalid session id '%s'", arg);
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	rc = cli_end(ctx, session_kill_tx(ctx, id));
	if (rc == CLI_OK)
		printf("session %lld will be ended\n", (long long)id);
	return rc;
}
