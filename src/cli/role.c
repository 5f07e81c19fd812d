/* pimctl role verbs: add, list, grant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "cli.h"

#define ROLE_DEFAULT_MAX (8 * 3600)

static const struct {
	const char *name;
	unsigned bit;
} role_channels[] = {
    {"shell", CHANNEL_SHELL},
    {"exec", CHANNEL_EXEC},
    {"sftp", CHANNEL_SFTP},
    {"port-forward", CHANNEL_PORT_FORWARD},
};

#define ROLE_NCHANNELS (sizeof(role_channels) / sizeof(role_channels[0]))

/* True if the comma-separated list S has an empty item: a comma at
 * either end or two in a row. */
static bool
role_list_has_gap(const char *s)
{
	size_t n = strlen(s);

	return n > 0 &&
	       (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,") != NULL);
}

/* Parses "shell,exec,sftp,port-forward" (any non-empty subset). */
static int
role_parse_channels(const char *s, unsigned *bits)
{
	const char *p = s;

	*bits = 0;
	if (role_list_has_gap(s))
		return cli_bad_arg("invalid --channels '%s': an empty item "
				   "(a stray comma)",
		    s);
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < ROLE_NCHANNELS; i++) {
			if (strlen(role_channels[i].name) == len &&
			    strncmp(role_channels[i].name, p, len) == 0)
				break;
		}
		if (i == ROLE_NCHANNELS)
			return cli_bad_arg("invalid --channels '%s': a list "
					   "of shell, exec, sftp, "
					   "port-forward",
			    s);
		*bits |= role_channels[i].bit;
		p += len;
		p += *p == ',';
	}
	if (*bits == 0)
		return cli_bad_arg("--channels needs at least one kind");
	return CLI_OK;
}

/* "shell,exec,sftp" for BITS, into BUF. */
static void
role_format_channels(unsigned bits, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < ROLE_NCHANNELS; i++) {
		if ((bits & role_channels[i].bit) == 0)
			continue;
		if (buf[0] != '\0')
			strncat(buf, ",", size - strlen(buf) - 1);
		strncat(buf, role_channels[i].name, size - strlen(buf) - 1);
	}
	if (buf[0] == '\0')
		str_copy(buf, "none", size);
}

/* What `role add` was given. */
struct role_args {
	const char *max_activation;
	const char *max_session;
	const char *idle_timeout;
	const char *channels;
};

/* Fills R's settings from A, with the defaults for what is not given. */
static int
role_fill(const struct role_args *a, struct store_role *r)
{
	int rc = CLI_OK;

	r->max_activation = ROLE_DEFAULT_MAX;
	r->max_session = ROLE_DEFAULT_MAX;
	r->idle_timeout = 0;
	r->channels = CHANNEL_DEFAULT;
	if (a->max_activation != NULL)
		rc = cli_parse_duration(
		    "--max-activation", a->max_activation, &r->max_activation);
	if (rc == CLI_OK && a->max_session != NULL)
		rc = cli_parse_duration(
		    "--max-session", a->max_session, &r->max_session);
	if (rc == CLI_OK && a->idle_timeout != NULL &&
	    strcmp(a->idle_timeout, "none") != 0)
		rc = cli_parse_duration(
		    "--idle-timeout", a->idle_timeout, &r->idle_timeout);
	if (rc == CLI_OK && a->channels != NULL)
		rc = role_parse_channels(a->channels, &r->channels);
	return rc;
}

static int
role_add_tx(struct cli_ctx *ctx, struct store_role *r)
{
	char act[32], ses[32], idle[32], ch[64];
	int64_t id;
	int rc;

	r->created = clock_now();
	rc = store_role_add(ctx->st, r, &id);
	if (rc == PIM_EEXIST)
		return cli_fail("role %s already exists", r->name);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the role");
	role_format_channels(r->channels, ch, sizeof(ch));
	return cli_audit(ctx, NULL, NULL, r->name,
	    "role add %s max-activation %s max-session %s idle-timeout %s "
	    "channels %s",
	    r->name, cli_duration(r->max_activation, act, sizeof(act)),
	    cli_duration(r->max_session, ses, sizeof(ses)),
	    cli_duration(r->idle_timeout, idle, sizeof(idle)), ch);
}

int
cmd_role_add(struct cli_ctx *ctx, int argc, char **argv)
{
	struct role_args a = {NULL, NULL, NULL, NULL};
	const struct cli_opt opts[] = {
	    {"--max-activation", CLI_OPT_VALUE, &a.max_activation},
	    {"--max-session", CLI_OPT_VALUE, &a.max_session},
	    {"--idle-timeout", CLI_OPT_VALUE, &a.idle_timeout},
	    {"--channels", CLI_OPT_VALUE, &a.channels},
	    {NULL, 0, NULL},
	};
	struct store_role r = {.id = 0};
	const char *name;
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, &name, 1);
	if (rc == CLI_OK)
		rc = cli_check_name("role", name);
	if (rc == CLI_OK)
		rc = role_fill(&a, &r);
	if (rc != CLI_OK)
		return rc;
	str_copy(r.name, name, sizeof(r.name));
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, role_add_tx(ctx, &r));
}

/* The roles, each with a JSON array of the names of the targets it
 * grants (built by asking, for every target, which roles grant it). */
struct role_listing {
	struct cli_vec roles;
	json_t **targets; /* one array per role, same order */
	const char *target; /* the target being asked about */
};

static int
role_collect(const struct store_role *r, void *arg)
{
	return cli_vec_push(arg, r);
}

static int
role_note_grant(const struct store_role *r, void *arg)
{
	struct role_listing *l = arg;

	for (size_t i = 0; i < l->roles.n; i++) {
		const struct store_role *ri = cli_vec_at(&l->roles, i);

		if (ri->id == r->id)
			return json_array_append_new(
				   l->targets[i], cli_json_text(l->target)) == 0
				   ? PIM_OK
				   : PIM_ENOMEM;
	}
	return PIM_OK;
}

static int
role_note_target(const struct store_target *t, void *arg)
{
	return cli_vec_push(arg, t);
}

/* Fills L->targets. */
static int
role_find_grants(struct store *st, struct role_listing *l)
{
	struct cli_vec targets = {.size = sizeof(struct store_target)};
	int rc;

	rc = store_target_list(st, role_note_target, &targets);
	for (size_t i = 0; rc == PIM_OK && i < targets.n; i++) {
		const struct store_target *t = cli_vec_at(&targets, i);

		l->target = t->name;
		rc = store_roles_granting(st, t->id, role_note_grant, l);
	}
	cli_vec_free(&targets);
	return rc;
}

static int
role_listing_load(struct store *st, struct role_listing *l)
{
	int rc = store_role_list(st, role_collect, &l->roles);

	if (rc != PIM_OK)
		return rc;
	l->targets = calloc(l->roles.n + 1, sizeof(*l->targets));
	if (l->targets == NULL)
		return PIM_ENOMEM;
	for (size_t i = 0; i < l->roles.n; i++) {
		l->targets[i] = json_array();
		if (l->targets[i] == NULL)
			return PIM_ENOMEM;
	}
	return role_find_grants(st, l);
}

static void
role_listing_free(struct role_listing *l)
{
	for (size_t i = 0; l->targets != NULL && i < l->roles.n; i++)
		json_decref(l->targets[i]);
	free(l->targets);
	cli_vec_free(&l->roles);
}

static int
role_list_json(const struct role_listing *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < l->roles.n; i++) {
		const struct store_role *r = cli_vec_at(&l->roles, i);
		json_t *channels = json_array();

		for (size_t c = 0; c < ROLE_NCHANNELS; c++) {
			if (r->channels & role_channels[c].bit)
				json_array_append_new(channels,
				    json_string(role_channels[c].name));
		}
		cli_json_push(
		    &arr, json_pack("{sI so sI sI sI so sO so}", "id",
			      (json_int_t)r->id, "name", cli_json_text(r->name),
			      "max_activation", (json_int_t)r->max_activation,
			      "max_session", (json_int_t)r->max_session,
			      "idle_timeout", (json_int_t)r->idle_timeout,
			      "channels", channels, "targets", l->targets[i],
			      "created", cli_json_instant(r->created)));
	}
	return cli_json_print(arr);
}

/* The names in the JSON array A joined by commas into BUF; "-" if none. */
static void
role_join(json_t *a, char *buf, size_t size)
{
	size_t i;
	json_t *v;

	str_copy(buf, "-", size);
	json_array_foreach(a, i, v)
	{
		if (i == 0)
			buf[0] = '\0';
		else
			strncat(buf, ",", size - strlen(buf) - 1);
		strncat(buf, json_string_value(v), size - strlen(buf) - 1);
	}
}

static int
role_list_text(const struct role_listing *l)
{
	struct cli_table *t = cli_table_new(7, "NAME", "MAX ACTIVATION",
	    "MAX SESSION", "IDLE TIMEOUT", "CHANNELS", "TARGETS", "CREATED");

	for (size_t i = 0; t != NULL && i < l->roles.n; i++) {
		const struct store_role *r = cli_vec_at(&l->roles, i);
		char act[32], ses[32], idle[32], ch[64], tg[1024], created[32];

		role_format_channels(r->channels, ch, sizeof(ch));
		role_join(l->targets[i], tg, sizeof(tg));
		cli_table_add(t, r->name,
		    cli_duration(r->max_activation, act, sizeof(act)),
		    cli_duration(r->max_session, ses, sizeof(ses)),
		    cli_duration(r->idle_timeout, idle, sizeof(idle)), ch, tg,
		    cli_instant(r->created, created, sizeof(created)));
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_role_list(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct role_listing l = {.roles = {.size = sizeof(struct store_role)}};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = role_listing_load(st, &l);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the roles");
	else if (json)
		rc = role_list_json(&l);
	else
		rc = role_list_text(&l);
	role_listing_free(&l);
	return rc;
}

static int
role_grant_tx(struct cli_ctx *ctx, const char *role, const char *target)
{
	struct store_target *t = calloc(1, sizeof(*t));
	struct store_role r;
	int rc;

	if (t == NULL)
		return cli_fail("out of memory");
	rc = cli_get_role(ctx, role, &r);
	if (rc == CLI_OK)
		rc = cli_get_target(ctx, target, t);
	if (rc == CLI_OK) {
		int src = store_role_grant(ctx->st, r.id, t->id);

		if (src == PIM_EEXIST)
			rc =
			    cli_fail("role %s already grants %s", role, target);
		else if (src != PIM_OK)
			rc = cli_store_fail(ctx, src, "cannot grant");
	}
	free(t);
	if (rc != CLI_OK)
		return rc;
	return cli_audit(
	    ctx, NULL, target, role, "role grant %s %s", role, target);
}

int
cmd_role_grant(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2];
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, NULL, pos, 2);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, role_grant_tx(ctx, pos[0], pos[1]));
}
