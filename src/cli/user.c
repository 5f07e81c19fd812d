/* pimctl user verbs: add, list, disable, enable, key add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/str.h"

#include "cli.h"

#define USER_PASSWORD_MAX 1024
#define USER_HASH_MAX 256

/* Fails with the right reason for a lookup of user NAME that gave RC. */
static int
user_lookup_fail(struct cli_ctx *ctx, int rc, const char *name)
{
	if (rc == PIM_ENOTFOUND)
		return cli_fail("no user %s", name);
	return cli_store_fail(ctx, rc, "cannot read the user");
}

/* If standard input is a terminal, prompts and turns its echo off;
 * returns true if it did, with the settings to restore in OLD. */
static bool
user_echo_off(struct termios *old)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, old) != 0)
		return false;
	t = *old;
	t.c_lflag &= ~(tcflag_t)ECHO;
	fputs("password: ", stderr);
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
}

static void
user_echo_restore(const struct termios *old)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, old);
	fputc('\n', stderr);
}

/* Reads one line from standard input and hashes it into HASH. The
 * password itself is wiped before returning. */
static int
user_read_password(char *hash, size_t size)
{
	struct termios old;
	bool echo_off = user_echo_off(&old);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, stdin);
	int rc = CLI_OK;

	if (echo_off)
		user_echo_restore(&old);

	if (len < 0) {
		free(line);
		return cli_fail("no password on standard input");
	}
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (memchr(line, '\0', (size_t)len) != NULL)
		rc = cli_fail("the password on standard input holds a NUL "
			      "byte; it would be cut there");
	else if (len == 0)
		rc = cli_fail("empty password on standard input");
	else if (len > USER_PASSWORD_MAX)
		rc = cli_fail(
		    "password longer than %d bytes", USER_PASSWORD_MAX);
	else if (policy_password_hash(line, hash, size) != PIM_OK)
		rc = cli_fail("cannot hash the password");
	explicit_bzero(line, cap);
	free(line);
	return rc;
}

/* Reads every key file of FILES into LINES (STORE_KEY_MAX each). */
static int
user_read_keys(const struct cli_list *files, char (*lines)[STORE_KEY_MAX])
{
	for (int i = 0; i < files->n; i++) {
		if (cli_key_pub_file(files->v[i], lines[i], STORE_KEY_MAX) !=
		    CLI_OK)
			return CLI_FAIL;
	}
	return CLI_OK;
}

/* Adds key LINE to user ID, named NAME, refusing a key that some user
 * holds already: one key belongs to one user only. NEW_USER: NAME is
 * being added by this command. */
static int
user_key_store(struct cli_ctx *ctx, int64_t id, const char *name,
    const char *line, bool new_user)
{
	char owner[STORE_NAME_MAX];
	int rc = store_user_key_owner(ctx->st, line, owner, sizeof(owner));

	if (rc == PIM_OK && strcmp(owner, name) != 0)
		return cli_fail("this key already belongs to user %s", owner);
	if (rc == PIM_OK && new_user)
		return cli_fail("the same key is given twice");
	if (rc == PIM_OK)
		return cli_fail("user %s already has this key", name);
	if (rc != PIM_ENOTFOUND)
		return cli_store_fail(ctx, rc, "cannot look the key up");
	rc = store_user_key_add(ctx->st, id, line);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the key");
	return CLI_OK;
}

/* Adds user NAME with HASH (may be NULL) and N keys, inside a
 * transaction, with its audit event. */
static int
user_add_tx(struct cli_ctx *ctx, const char *name, const char *hash,
    char (*lines)[STORE_KEY_MAX], int n)
{
	int64_t id;
	int rc;

	rc = store_user_add(ctx->st, name, hash, clock_now(), &id);
	if (rc == PIM_EEXIST)
		return cli_fail("user %s already exists", name);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the user");
	for (int i = 0; i < n; i++) {
		rc = user_key_store(ctx, id, name, lines[i], true);
		if (rc != CLI_OK)
			return rc;
	}
	return cli_audit(ctx, name, NULL, NULL,
	    "user add %s (password: %s, keys: %d)", name,
	    hash != NULL ? "yes" : "no", n);
}

int
cmd_user_add(struct cli_ctx *ctx, int argc, char **argv)
{
	bool pw_stdin = false;
	struct cli_list keys = {.n = 0};
	const struct cli_opt opts[] = {
	    {"--password-stdin", CLI_OPT_FLAG, &pw_stdin},
	    {"--key", CLI_OPT_LIST, &keys},
	    {NULL, 0, NULL},
	};
	char hash[USER_HASH_MAX];
	char(*lines)[STORE_KEY_MAX] = NULL;
	const char *name;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, &name, 1);
	if (rc == CLI_OK)
		rc = cli_check_name("user", name);
	if (rc != CLI_OK)
		return rc;
	lines = calloc(CLI_LIST_MAX, sizeof(*lines));
	if (lines == NULL)
		return cli_fail("out of memory");

	rc = user_read_keys(&keys, lines);
	if (rc == CLI_OK && pw_stdin)
		rc = user_read_password(hash, sizeof(hash));
	if (rc == CLI_OK)
		rc = cli_store(ctx, &st);
	if (rc == CLI_OK)
		rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(ctx, user_add_tx(ctx, name, pw_stdin ? hash : NULL,
				      lines, keys.n));
	explicit_bzero(hash, sizeof(hash));
	free(lines);
	return rc;
}

/* Adds each key line to the JSON array ARG. */
static int
user_key_json(const char *key, void *arg)
{
	return json_array_append_new(arg, cli_json_text(key)) == 0 ? PIM_OK
								   : PIM_ENOMEM;
}

static int
user_key_count(const char *key, void *arg)
{
	(*(int *)arg)++;
	return PIM_OK;
}

static int
user_collect(const struct store_user *u, void *arg)
{
	return cli_vec_push(arg, u);
}

static int
user_list_json(struct cli_ctx *ctx, const struct cli_vec *users)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < users->n; i++) {
		const struct store_user *u = cli_vec_at(users, i);
		json_t *keys = json_array();
		int rc = store_user_keys(ctx->st, u->id, user_key_json, keys);

		if (rc != PIM_OK) {
			json_decref(keys);
			json_decref(arr);
			return cli_store_fail(ctx, rc, "cannot read the keys");
		}
		cli_json_push(&arr,
		    json_pack("{sI so sb sb so so}", "id", (json_int_t)u->id,
			"name", cli_json_text(u->name), "enabled", u->enabled,
			"password", u->has_password, "keys", keys, "created",
			cli_json_instant(u->created)));
	}
	return cli_json_print(arr);
}

static int
user_list_text(struct cli_ctx *ctx, const struct cli_vec *users)
{
	struct cli_table *t =
	    cli_table_new(5, "NAME", "ENABLED", "PASSWORD", "KEYS", "CREATED");

	for (size_t i = 0; t != NULL && i < users->n; i++) {
		const struct store_user *u = cli_vec_at(users, i);
		char nkeys[16], created[32];
		int n = 0;
		int rc = store_user_keys(ctx->st, u->id, user_key_count, &n);

		if (rc != PIM_OK) {
			cli_table_free(t);
			return cli_store_fail(ctx, rc, "cannot read the keys");
		}
		snprintf(nkeys, sizeof(nkeys), "%d", n);
		cli_table_add(t, u->name, u->enabled ? "yes" : "no",
		    u->has_password ? "yes" : "no", nkeys,
		    cli_instant(u->created, created, sizeof(created)));
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_user_list(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec users = {.size = sizeof(struct store_user)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_user_list(st, user_collect, &users);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the users");
	else if (json)
		rc = user_list_json(ctx, &users);
	else
		rc = user_list_text(ctx, &users);
	cli_vec_free(&users);
	return rc;
}

static int
user_set_enabled_tx(struct cli_ctx *ctx, const char *name, bool enabled)
{
	int rc = store_user_set_enabled(ctx->st, name, enabled);

	if (rc != PIM_OK)
		return user_lookup_fail(ctx, rc, name);
	return cli_audit(ctx, name, NULL, NULL, "user %s %s",
	    enabled ? "enable" : "disable", name);
}

static int
user_set_enabled(struct cli_ctx *ctx, int argc, char **argv, bool enabled)
{
	const char *name;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, &name, 1);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, user_set_enabled_tx(ctx, name, enabled));
}

int
cmd_user_disable(struct cli_ctx *ctx, int argc, char **argv)
{
	return user_set_enabled(ctx, argc, argv, false);
}

int
cmd_user_enable(struct cli_ctx *ctx, int argc, char **argv)
{
	return user_set_enabled(ctx, argc, argv, true);
}

static int
user_key_add_tx(struct cli_ctx *ctx, const char *name, const char *line)
{
	struct store_user u;
	char fp[128];
	int rc;

	if (cli_get_user(ctx, name, &u) != CLI_OK)
		return CLI_FAIL;
	rc = user_key_store(ctx, u.id, name, line, false);
	if (rc != CLI_OK)
		return rc;
	cli_key_line_fingerprint(line, fp, sizeof(fp));
	return cli_audit(ctx, name, NULL, NULL, "user key add %s %s", name, fp);
}

int
cmd_user_key_add(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2];
	char line[STORE_KEY_MAX];
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, pos, 2);
	if (rc != CLI_OK)
		return rc;
	if (cli_key_pub_file(pos[1], line, sizeof(line)) != CLI_OK ||
	    cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, user_key_add_tx(ctx, pos[0], line));
}
