/* pimctl role verbs: add, set, list, grant. A new role gets the
 * defaults here (8h, 8h, no idle timeout, shell,exec,sftp, requests
 * expire after 1d, permanent assignments allowed); the store writes what
 * it is given. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
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

/* Parses --warn-before: "none", or 1 to 4 durations, comma-separated
 * ("5m,1m"), into R->warn_before as seconds, largest first ("300,60"). */
static int
role_parse_warn(const char *s, struct store_role *r)
{
	int64_t warn[POLICY_NWARN_MAX], sorted[POLICY_NWARN_MAX];
	char item[32], text[sizeof(r->warn_before)];
	const char *p = s;
	int n = 0, m;

	if (strcmp(s, "none") == 0) {
		str_copy(r->warn_before, "none", sizeof(r->warn_before));
		return CLI_OK;
	}
	if (s[0] == '\0' || role_list_has_gap(s))
		return cli_bad_arg("invalid --warn-before '%s': a list of "
				   "durations like 5m,1m, or none",
		    s);
	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (n == POLICY_NWARN_MAX)
			return cli_bad_arg("invalid --warn-before '%s': at "
					   "most %d times",
			    s, POLICY_NWARN_MAX);
		if (len >= sizeof(item))
			return cli_bad_arg(
			    "invalid --warn-before '%s': an item too long", s);
		memcpy(item, p, len);
		item[len] = '\0';
		if (cli_parse_duration("--warn-before", item, &warn[n]) !=
		    CLI_OK)
			return CLI_USAGE;
		n++;
		p += len;
		p += *p == ',';
	}
	/* Stored sorted, the way the daemon reads it. */
	if (!policy_warn_format(warn, n, text, sizeof(text)) ||
	    policy_warn_parse(text, sorted, &m) != PIM_OK ||
	    !policy_warn_format(
		sorted, m, r->warn_before, sizeof(r->warn_before)))
		return cli_bad_arg("invalid --warn-before '%s'", s);
	return CLI_OK;
}

/* "5m,1m" for R's warning times, "none" for none, into BUF. */
static void
role_format_warn(const struct store_role *r, char *buf, size_t size)
{
	int64_t warn[POLICY_NWARN_MAX];
	char d[32];
	int n, i;

	if (policy_warn_parse(r->warn_before, warn, &n) != PIM_OK) {
		str_copy(buf, r->warn_before, size);
		return;
	}
	str_copy(buf, "none", size);
	for (i = 0; i < n; i++) {
		if (i == 0)
			buf[0] = '\0';
		else
			strncat(buf, ",", size - strlen(buf) - 1);
		strncat(buf, cli_duration(warn[i], d, sizeof(d)),
		    size - strlen(buf) - 1);
	}
}

/* What `role add` and `role set` were given (NULL / false: not given). */
struct role_args {
	const char *max_activation;
	const char *max_session;
	const char *idle_timeout;
	const char *channels;
	bool require_mfa, no_require_mfa;
	bool require_reason, no_require_reason;
	const char *min_reason_len;
	bool require_ticket, no_require_ticket;
	const char *ticket_pattern;
	const char *approvals;
	const char *approvers;
	const char *approval_ttl;
	bool perm_eligible, no_perm_eligible;
	bool perm_active, no_perm_active;
	const char *max_assignment;
	bool break_glass, no_break_glass;
	const char *warn_before;
};

/* The options of A, ended by a NULL name; OPTS holds ROLE_NOPTS. */
static void
role_opts(struct role_args *a, struct cli_opt *o)
{
	const struct cli_opt all[] = {
	    {"--max-activation", CLI_OPT_VALUE, &a->max_activation},
	    {"--max-session", CLI_OPT_VALUE, &a->max_session},
	    {"--idle-timeout", CLI_OPT_VALUE, &a->idle_timeout},
	    {"--channels", CLI_OPT_VALUE, &a->channels},
	    {"--require-mfa", CLI_OPT_FLAG, &a->require_mfa},
	    {"--no-require-mfa", CLI_OPT_FLAG, &a->no_require_mfa},
	    {"--require-justification", CLI_OPT_FLAG, &a->require_reason},
	    {"--no-require-justification", CLI_OPT_FLAG, &a->no_require_reason},
	    {"--min-reason-length", CLI_OPT_VALUE, &a->min_reason_len},
	    {"--require-ticket", CLI_OPT_FLAG, &a->require_ticket},
	    {"--no-require-ticket", CLI_OPT_FLAG, &a->no_require_ticket},
	    {"--ticket-pattern", CLI_OPT_VALUE, &a->ticket_pattern},
	    {"--require-approval", CLI_OPT_VALUE, &a->approvals},
	    {"--approvers", CLI_OPT_VALUE, &a->approvers},
	    {"--approval-ttl", CLI_OPT_VALUE, &a->approval_ttl},
	    {"--allow-permanent-eligible", CLI_OPT_FLAG, &a->perm_eligible},
	    {"--no-permanent-eligible", CLI_OPT_FLAG, &a->no_perm_eligible},
	    {"--allow-permanent-active", CLI_OPT_FLAG, &a->perm_active},
	    {"--no-permanent-active", CLI_OPT_FLAG, &a->no_perm_active},
	    {"--max-assignment", CLI_OPT_VALUE, &a->max_assignment},
	    {"--break-glass", CLI_OPT_FLAG, &a->break_glass},
	    {"--no-break-glass", CLI_OPT_FLAG, &a->no_break_glass},
	    {"--warn-before", CLI_OPT_VALUE, &a->warn_before},
	    {NULL, 0, NULL},
	};

	memcpy(o, all, sizeof(all));
}

#define ROLE_NOPTS 24

/* Parses a count 0..1000 given for OPT. */
static int
role_parse_count(const char *opt, const char *s, int *n)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v > 1000)
		return cli_bad_arg(
		    "invalid %s '%s': a number 0 to 1000", opt, s);
	*n = (int)v;
	return CLI_OK;
}

/* Sets *B from a flag pair; both given is a usage error. */
static int
role_flag(const char *name, bool yes, bool no, bool *b)
{
	if (yes && no)
		return cli_bad_arg(
		    "give --%s or --no-%s, not both", name, name);
	if (yes || no)
		*b = yes;
	return CLI_OK;
}

static int
role_apply_limits(const struct role_args *a, struct store_role *r)
{
	int rc = CLI_OK;

	if (a->max_activation != NULL)
		rc = cli_parse_duration(
		    "--max-activation", a->max_activation, &r->max_activation);
	if (rc == CLI_OK && a->max_session != NULL)
		rc = cli_parse_duration(
		    "--max-session", a->max_session, &r->max_session);
	if (rc == CLI_OK && a->idle_timeout != NULL) {
		r->idle_timeout = 0;
		if (strcmp(a->idle_timeout, "none") != 0)
			rc = cli_parse_duration("--idle-timeout",
			    a->idle_timeout, &r->idle_timeout);
	}
	if (rc == CLI_OK && a->channels != NULL)
		rc = role_parse_channels(a->channels, &r->channels);
	if (rc == CLI_OK && a->max_assignment != NULL) {
		r->max_assignment = 0;
		if (strcmp(a->max_assignment, "none") != 0)
			rc = cli_parse_duration("--max-assignment",
			    a->max_assignment, &r->max_assignment);
	}
	if (rc == CLI_OK && a->approval_ttl != NULL)
		rc = cli_parse_duration(
		    "--approval-ttl", a->approval_ttl, &r->approval_ttl);
	if (rc == CLI_OK && a->warn_before != NULL)
		rc = role_parse_warn(a->warn_before, r);
	return rc;
}

static int
role_apply_flags(const struct role_args *a, struct store_role *r)
{
	int rc;

	rc = role_flag(
	    "require-mfa", a->require_mfa, a->no_require_mfa, &r->require_mfa);
	if (rc == CLI_OK)
		rc = role_flag("require-justification", a->require_reason,
		    a->no_require_reason, &r->require_reason);
	if (rc == CLI_OK)
		rc = role_flag("require-ticket", a->require_ticket,
		    a->no_require_ticket, &r->require_ticket);
	if (rc == CLI_OK)
		rc = role_flag("break-glass", a->break_glass, a->no_break_glass,
		    &r->break_glass);
	if (rc == CLI_OK && a->perm_eligible && a->no_perm_eligible)
		rc = cli_bad_arg("give --allow-permanent-eligible or "
				 "--no-permanent-eligible, not both");
	if (rc == CLI_OK && a->perm_active && a->no_perm_active)
		rc = cli_bad_arg("give --allow-permanent-active or "
				 "--no-permanent-active, not both");
	if (rc != CLI_OK)
		return rc;
	if (a->perm_eligible || a->no_perm_eligible)
		r->allow_perm_eligible = a->perm_eligible;
	if (a->perm_active || a->no_perm_active)
		r->allow_perm_active = a->perm_active;
	return CLI_OK;
}

static int
role_apply_pim(const struct role_args *a, struct store_role *r)
{
	regex_t re;
	int rc = CLI_OK;

	if (a->min_reason_len != NULL) {
		rc = role_parse_count("--min-reason-length", a->min_reason_len,
		    &r->min_reason_len);
		r->require_reason |= r->min_reason_len > 0;
	}
	if (rc == CLI_OK && a->ticket_pattern != NULL) {
		if (cli_check_text("--ticket-pattern", a->ticket_pattern,
			sizeof(r->ticket_pattern) - 1) != CLI_OK)
			return CLI_USAGE;
		if (regcomp(&re, a->ticket_pattern, REG_EXTENDED | REG_NOSUB))
			return cli_bad_arg(
			    "--ticket-pattern '%s' is not a valid "
			    "extended regular expression",
			    a->ticket_pattern);
		regfree(&re);
		str_copy(r->ticket_pattern, a->ticket_pattern,
		    sizeof(r->ticket_pattern));
		r->require_ticket |= r->ticket_pattern[0] != '\0';
	}
	if (rc == CLI_OK && a->approvals != NULL)
		rc = role_parse_count(
		    "--require-approval", a->approvals, &r->approvals);
	if (rc == CLI_OK && a->approvers != NULL) {
		rc = cli_check_text(
		    "--approvers", a->approvers, sizeof(r->approvers) - 1);
		if (rc == CLI_OK && role_list_has_gap(a->approvers))
			rc = cli_bad_arg("invalid --approvers '%s': an empty "
					 "item (a stray comma)",
			    a->approvers);
		if (rc == CLI_OK)
			str_copy(
			    r->approvers, a->approvers, sizeof(r->approvers));
	}
	if (rc == CLI_OK && r->approvals > 0 && r->approvers[0] == '\0')
		rc = cli_bad_arg("--require-approval %d needs --approvers "
				 "USER_OR_ROLE[,...]",
		    r->approvals);
	return rc;
}

/* Applies what A gives to R (keeping what it does not). */
static int
role_apply(const struct role_args *a, struct store_role *r)
{
	int rc = role_apply_limits(a, r);

	if (rc == CLI_OK)
		rc = role_apply_flags(a, r);
	if (rc == CLI_OK)
		rc = role_apply_pim(a, r);
	return rc;
}

/* The defaults of a new role. */
static void
role_defaults(struct store_role *r)
{
	r->max_activation = ROLE_DEFAULT_MAX;
	r->max_session = ROLE_DEFAULT_MAX;
	r->idle_timeout = 0;
	r->channels = CHANNEL_DEFAULT;
	r->approval_ttl = 86400;
	r->allow_perm_eligible = true;
	r->allow_perm_active = true;
	str_copy(r->warn_before, "300,60", sizeof(r->warn_before));
}

/* The PIM settings of R in short ("mfa,reason>=20,..."), "-" if none. */
static void
role_format_pim(const struct store_role *r, char *buf, size_t size)
{
	char ttl[32], max[32];
	size_t n;

	buf[0] = '\0';
	str_printf(buf, size, "%s%s", r->require_mfa ? "mfa," : "",
	    r->break_glass ? "break-glass," : "");
	n = strlen(buf);
	if (r->require_reason)
		snprintf(
		    buf + n, size - n, "justification>=%d,", r->min_reason_len);
	n = strlen(buf);
	if (r->require_ticket)
		snprintf(buf + n, size - n, "ticket~%s,",
		    r->ticket_pattern[0] != '\0' ? r->ticket_pattern : ".*");
	n = strlen(buf);
	if (r->approvals > 0)
		snprintf(buf + n, size - n, "approvals %d of %s within %s,",
		    r->approvals, r->approvers,
		    cli_duration(r->approval_ttl, ttl, sizeof(ttl)));
	n = strlen(buf);
	snprintf(buf + n, size - n, "%s%s%s%s",
	    r->allow_perm_eligible ? "" : "no-permanent-eligible,",
	    r->allow_perm_active ? "" : "no-permanent-active,",
	    r->max_assignment > 0 ? "max-assignment " : "",
	    r->max_assignment > 0
		? cli_duration(r->max_assignment, max, sizeof(max))
		: "");
	n = strlen(buf);
	if (strcmp(r->warn_before, "300,60") != 0) {
		char warn[64];

		role_format_warn(r, warn, sizeof(warn));
		snprintf(buf + n, size - n, "warn-before %s,", warn);
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == ',')
		buf[n - 1] = '\0';
	if (buf[0] == '\0')
		str_copy(buf, "-", size);
}

/* The audit detail of R's settings. */
static void
role_describe(
    const char *verb, const struct store_role *r, char *buf, size_t size)
{
	char act[32], ses[32], idle[32], ch[64], pim[STORE_TEXT_MAX];

	role_format_channels(r->channels, ch, sizeof(ch));
	role_format_pim(r, pim, sizeof(pim));
	str_printf(buf, size,
	    "role %s %s max-activation %s max-session %s idle-timeout %s "
	    "channels %s settings %s",
	    verb, r->name, cli_duration(r->max_activation, act, sizeof(act)),
	    cli_duration(r->max_session, ses, sizeof(ses)),
	    cli_duration(r->idle_timeout, idle, sizeof(idle)), ch, pim);
	cli_text_cut(buf);
}

static int
role_add_tx(struct cli_ctx *ctx, struct store_role *r)
{
	char detail[STORE_TEXT_MAX];
	int64_t id;
	int rc;

	r->created = clock_now();
	rc = store_role_add(ctx->st, r, &id);
	if (rc == PIM_EEXIST)
		return cli_fail("role %s already exists", r->name);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the role");
	role_describe("add", r, detail, sizeof(detail));
	return cli_audit(ctx, NULL, NULL, r->name, "%s", detail);
}

int
cmd_role_add(struct cli_ctx *ctx, int argc, char **argv)
{
	struct role_args a = {.max_activation = NULL};
	struct cli_opt opts[ROLE_NOPTS];
	struct store_role r = {.id = 0};
	const char *name;
	struct store *st;
	int rc;

	role_opts(&a, opts);
	role_defaults(&r);
	rc = cli_parse(argc, argv, opts, &name, 1);
	if (rc == CLI_OK)
		rc = cli_check_name("role", name);
	if (rc == CLI_OK)
		rc = role_apply(&a, &r);
	if (rc != CLI_OK)
		return rc;
	str_copy(r.name, name, sizeof(r.name));
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, role_add_tx(ctx, &r));
}

static int
role_set_tx(struct cli_ctx *ctx, const char *name, const struct role_args *a)
{
	char detail[STORE_TEXT_MAX];
	struct store_role r;
	int rc;

	if (cli_get_role(ctx, name, &r) != CLI_OK)
		return CLI_FAIL;
	rc = role_apply(a, &r);
	if (rc != CLI_OK)
		return rc;
	rc = store_role_update(ctx->st, &r);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot change the role");
	role_describe("set", &r, detail, sizeof(detail));
	return cli_audit(ctx, NULL, NULL, r.name, "%s", detail);
}

int
cmd_role_set(struct cli_ctx *ctx, int argc, char **argv)
{
	struct role_args a = {.max_activation = NULL};
	struct cli_opt opts[ROLE_NOPTS];
	const char *name;
	struct store *st;
	int rc;

	role_opts(&a, opts);
	rc = cli_parse(argc, argv, opts, &name, 1);
	if (rc != CLI_OK)
		return rc;
	if (cli_store(ctx, &st) != CLI_OK || cli_begin(ctx) != CLI_OK)
		return CLI_FAIL;
	return cli_end(ctx, role_set_tx(ctx, name, &a));
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

/* R's warning times as a JSON array of seconds, largest first. */
static json_t *
role_json_warn(const struct store_role *r)
{
	int64_t warn[POLICY_NWARN_MAX];
	json_t *a = json_array();
	int n = 0;

	if (policy_warn_parse(r->warn_before, warn, &n) != PIM_OK)
		n = 0;
	for (int i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)warn[i]));
	return a;
}

/* Adds R's PIM settings to O (NULL passes through). */
static json_t *
role_json_pim(const struct store_role *r, json_t *o)
{
	json_t *pim;

	if (o == NULL)
		return NULL;
	pim = json_pack("{sb sb si sb so si so sI sb sb sI sb so}",
	    "require_mfa", r->require_mfa, "require_justification",
	    r->require_reason, "min_reason_length", r->min_reason_len,
	    "require_ticket", r->require_ticket, "ticket_pattern",
	    cli_json_text(r->ticket_pattern), "approvals", r->approvals,
	    "approvers", cli_json_text(r->approvers), "approval_ttl",
	    (json_int_t)r->approval_ttl, "allow_permanent_eligible",
	    r->allow_perm_eligible, "allow_permanent_active",
	    r->allow_perm_active, "max_assignment",
	    (json_int_t)r->max_assignment, "break_glass", r->break_glass,
	    "warn_before", role_json_warn(r));
	if (pim == NULL || json_object_update(o, pim) != 0) {
		json_decref(pim);
		json_decref(o);
		return NULL;
	}
	json_decref(pim);
	return o;
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
		cli_json_push(&arr,
		    role_json_pim(r,
			json_pack("{sI so sI sI sI so sO so}", "id",
			    (json_int_t)r->id, "name", cli_json_text(r->name),
			    "max_activation", (json_int_t)r->max_activation,
			    "max_session", (json_int_t)r->max_session,
			    "idle_timeout", (json_int_t)r->idle_timeout,
			    "channels", channels, "targets", l->targets[i],
			    "created", cli_json_instant(r->created))));
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
	struct cli_table *t =
	    cli_table_new(8, "NAME", "MAX ACTIVATION", "MAX SESSION",
		"IDLE TIMEOUT", "CHANNELS", "TARGETS", "SETTINGS", "CREATED");

	for (size_t i = 0; t != NULL && i < l->roles.n; i++) {
		const struct store_role *r = cli_vec_at(&l->roles, i);
		char act[32], ses[32], idle[32], ch[64], tg[1024], created[32];
		char pim[STORE_TEXT_MAX];

		role_format_channels(r->channels, ch, sizeof(ch));
		role_join(l->targets[i], tg, sizeof(tg));
		role_format_pim(r, pim, sizeof(pim));
		cli_table_add(t, r->name,
		    cli_duration(r->max_activation, act, sizeof(act)),
		    cli_duration(r->max_session, ses, sizeof(ses)),
		    cli_duration(r->idle_timeout, idle, sizeof(idle)), ch, tg,
		    pim, cli_instant(r->created, created, sizeof(created)));
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
