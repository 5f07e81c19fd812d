/* pimctl target verbs: add (with its sealed credential and pinned host
 * key) and list (which never shows a secret). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "cli.h"

#define TARGET_IDENTITY_MAX (64 * 1024)
#define TARGET_SCAN_TIMEOUT 10 /* seconds */

/* What `target add` was given, once parsed. */
struct target_args {
	const char *name;
	const char *ssh;
	const char *login;
	const char *identity;
	const char *host_key;
	bool scan;
};

/* A private key file read into memory (NUL-terminated); wiped on free. */
struct target_secret {
	unsigned char *data;
	size_t len;
};

static void
target_secret_free(struct target_secret *s)
{
	if (s->data != NULL) {
		explicit_bzero(s->data, s->len + 1);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}

/* Reads all of FD (at most TARGET_IDENTITY_MAX bytes) into S. */
static int
target_read_fd(int fd, const char *path, struct target_secret *s)
{
	ssize_t n;

	s->data = calloc(1, TARGET_IDENTITY_MAX + 1);
	if (s->data == NULL)
		return cli_fail("out of memory");
	while ((n = read(fd, s->data + s->len, TARGET_IDENTITY_MAX - s->len)) >
	       0) {
		s->len += (size_t)n;
		if (s->len == TARGET_IDENTITY_MAX)
			return cli_fail(
			    "%s is too large for a private key", path);
	}
	if (n < 0)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	return CLI_OK;
}

/* Asked by libssh for a passphrase: note it and refuse. */
static int
target_no_passphrase(const char *prompt, char *buf, size_t len, int echo,
    int verify, void *userdata)
{
	*(bool *)userdata = true;
	return -1;
}

/* Checks that S holds an unencrypted private key that libssh reads. */
static int
target_check_identity(const struct target_secret *s, const char *path)
{
	bool asked = false;
	ssh_key key = NULL;
	int ok;

	ok = ssh_pki_import_privkey_base64((const char *)s->data, NULL,
		 target_no_passphrase, &asked, &key) == SSH_OK &&
	     ssh_key_is_private(key);
	ssh_key_free(key);
	if (asked)
		return cli_fail("%s is protected by a passphrase; pimgate "
				"needs an unencrypted key (remove the "
				"passphrase from a copy: ssh-keygen -p -N '' "
				"-f COPY)",
		    path);
	if (!ok)
		return cli_fail("%s is not a private key that pimgate can "
				"read",
		    path);
	return CLI_OK;
}

static int
target_read_identity(const char *path, struct target_secret *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cli_fail("cannot open %s: %s", path, strerror(errno));
	rc = target_read_fd(fd, path, s);
	close(fd);
	if (rc == CLI_OK)
		rc = target_check_identity(s, path);
	return rc;
}

/* Connects once to HOST:PORT and pins the key the server shows. */
static int
target_scan_key(ssh_session s, const char *host, unsigned port,
    const char *label, ssh_key *key)
{
	long timeout = TARGET_SCAN_TIMEOUT;
	bool process_config = false;

	if (ssh_options_set(s, SSH_OPTIONS_HOST, host) != SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) != SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config) !=
		SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") != SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") !=
		SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) != SSH_OK)
		return cli_fail(
		    "cannot set up the SSH client: %s", ssh_get_error(s));
	if (ssh_connect(s) != SSH_OK)
		return cli_fail("cannot scan %s: %s", label, ssh_get_error(s));
	if (ssh_get_server_publickey(s, key) != SSH_OK) {
		ssh_disconnect(s);
		return cli_fail("%s showed no host key", label);
	}
	ssh_disconnect(s);
	return CLI_OK;
}

static int
target_scan(
    const char *host, int port, const char *label, char *line, size_t size)
{
	ssh_session s = ssh_new();
	ssh_key key = NULL;
	int rc;

	if (s == NULL)
		return cli_fail("cannot create an SSH session");
	rc = target_scan_key(s, host, (unsigned)port, label, &key);
	ssh_free(s);
	if (rc == CLI_OK)
		rc = cli_key_line(key, line, size);
	ssh_key_free(key);
	return rc;
}

/* True if HOST is an IPv4 or IPv6 address or a DNS host name. */
static bool
target_valid_host(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		return true;
	if (n == 0 || n > 253 || host[0] == '-' || host[0] == '.')
		return false;
	return strspn(host, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

/* Why IPv4 address A (host order) cannot be a target ("is ..."), or
 * NULL. */
static const char *
target_bad_v4(uint32_t a)
{
	if ((a >> 24) == 0)
		return "is an unspecified (0.0.0.0/8) address, not a host";
	if (a == 0xffffffffu)
		return "is the broadcast address, not a host";
	if ((a >> 28) == 0xe)
		return "is a multicast address, not a host";
	return NULL;
}

/* Why HOST cannot be a target ("is ..."), or NULL: the unspecified,
 * broadcast and multicast addresses reach no single host, and IPv4 in a
 * short or non-decimal form ("0", "0x7f.1") could hide one of them. */
static const char *
target_bad_address(const char *host)
{
	struct in6_addr v6;
	struct in_addr v4;
	uint32_t mapped;

	if (inet_pton(AF_INET, host, &v4) == 1)
		return target_bad_v4(ntohl(v4.s_addr));
	if (inet_pton(AF_INET6, host, &v6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&v6))
			return "is the unspecified address, not a host";
		if (IN6_IS_ADDR_MULTICAST(&v6))
			return "is a multicast address, not a host";
		if (!IN6_IS_ADDR_V4MAPPED(&v6) && !IN6_IS_ADDR_V4COMPAT(&v6))
			return NULL;
		memcpy(&mapped, &v6.s6_addr[12], sizeof(mapped));
		return target_bad_v4(ntohl(mapped));
	}
	if (inet_aton(host, &v4) != 0)
		return "is an IPv4 address in a short or non-decimal form; "
		       "write it as four decimal numbers";
	return NULL;
}

/* Checks the --login value L: one line of text, no blanks, ':' or '@',
 * not an option. */
static int
target_check_login(const char *l)
{
	int rc = cli_check_text("--login", l, STORE_NAME_MAX - 1);

	if (rc != CLI_OK)
		return rc;
	if (l[0] == '\0' || l[0] == '-' || strpbrk(l, " :@") != NULL)
		return cli_bad_arg("invalid --login '%s': a user name on the "
				   "target, without blanks, ':' or '@'",
		    l);
	return CLI_OK;
}

/* Fills T from A; malformed values are usage errors. */
static int
target_fill(const struct target_args *a, struct store_target *t)
{
	int rc = cli_check_name("target", a->name);
	const char *why;

	if (rc != CLI_OK)
		return rc;
	if (a->ssh == NULL || a->login == NULL || a->identity == NULL)
		return cli_bad_arg("--ssh, --login and --identity are needed");
	if ((a->host_key != NULL) == a->scan)
		return cli_bad_arg("give one of --host-key and --scan");
	if (config_split_hostport(a->ssh, t->host, sizeof(t->host), &t->port) !=
	    0)
		return cli_bad_arg(
		    "invalid --ssh '%s': expected HOST:PORT", a->ssh);
	if (!target_valid_host(t->host))
		return cli_bad_arg("invalid --ssh '%s': HOST must be an IP "
				   "address or a host name",
		    a->ssh);
	why = target_bad_address(t->host);
	if (why != NULL)
		return cli_bad_arg(
		    "invalid --ssh '%s': %s %s", a->ssh, t->host, why);
	rc = target_check_login(a->login);
	if (rc != CLI_OK)
		return rc;
	str_copy(t->login, a->login, sizeof(t->login));
	str_copy(t->name, a->name, sizeof(t->name));
	str_copy(t->kind, "ssh", sizeof(t->kind));
	return CLI_OK;
}

/* Pins T's host key from --host-key or --scan and shows it. */
static int
target_pin(const struct target_args *a, struct store_target *t)
{
	char fp[128];
	int rc;

	if (a->scan)
		rc = target_scan(
		    t->host, t->port, a->ssh, t->host_key, sizeof(t->host_key));
	else
		rc = cli_key_host_file(
		    a->host_key, t->host_key, sizeof(t->host_key));
	if (rc != CLI_OK)
		return rc;
	cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
	printf("host key of %s: %s (%.*s)\n", a->ssh, fp,
	    (int)strcspn(t->host_key, " "), t->host_key);
	return CLI_OK;
}

/* Seals the credential under "target:NAME". */
static int
target_seal(struct cli_ctx *ctx, const char *name,
    const struct target_secret *s, unsigned char **blob, size_t *len)
{
	struct vault *v = NULL;
	char context[STORE_NAME_MAX + 8];
	int rc;

	rc = vault_open(ctx->cfg.secret_key, &v);
	if (rc != PIM_OK)
		return cli_fail("cannot open the secret key %s: %s",
		    ctx->cfg.secret_key, pim_strerror(rc));
	str_printf(context, sizeof(context), "target:%s", name);
	rc = vault_seal(v, context, s->data, s->len, blob, len);
	vault_close(v);
	if (rc != PIM_OK)
		return cli_fail(
		    "cannot seal the credential: %s", pim_strerror(rc));
	return CLI_OK;
}

static int
target_add_tx(struct cli_ctx *ctx, struct store_target *t,
    const unsigned char *blob, size_t len)
{
	char fp[128];
	int64_t id;
	int rc;

	t->created = clock_now();
	rc = store_target_add(ctx->st, t, blob, len, &id);
	if (rc == PIM_EEXIST)
		return cli_fail("target %s already exists", t->name);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the target");
	cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
	return cli_audit(ctx, NULL, t->name, NULL,
	    "target add %s ssh %s:%d login %s host key %s", t->name, t->host,
	    t->port, t->login, fp);
}

/* Refuses a name that is taken before any key is read or host scanned. */
static int
target_check_free(struct cli_ctx *ctx, const char *name)
{
	struct store_target t;
	int rc = store_target_get(ctx->st, name, &t);

	if (rc == PIM_OK)
		return cli_fail("target %s already exists", name);
	if (rc != PIM_ENOTFOUND)
		return cli_store_fail(ctx, rc, "cannot read the targets");
	return CLI_OK;
}

/* The steps of `target add` after parsing. */
static int
target_add(
    struct cli_ctx *ctx, const struct target_args *a, struct store_target *t)
{
	struct target_secret secret = {NULL, 0};
	unsigned char *blob = NULL;
	size_t len = 0;
	struct store *st;
	int rc;

	rc = cli_store(ctx, &st);
	if (rc == CLI_OK)
		rc = target_check_free(ctx, a->name);
	if (rc == CLI_OK)
		rc = target_read_identity(a->identity, &secret);
	if (rc == CLI_OK)
		rc = target_pin(a, t);
	if (rc == CLI_OK)
		rc = target_seal(ctx, a->name, &secret, &blob, &len);
	target_secret_free(&secret);
	if (rc == CLI_OK)
		rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(ctx, target_add_tx(ctx, t, blob, len));
	free(blob);
	return rc;
}

int
cmd_target_add(struct cli_ctx *ctx, int argc, char **argv)
{
	struct target_args a = {NULL, NULL, NULL, NULL, NULL, false};
	const struct cli_opt opts[] = {
	    {"--ssh", CLI_OPT_VALUE, &a.ssh},
	    {"--login", CLI_OPT_VALUE, &a.login},
	    {"--identity", CLI_OPT_VALUE, &a.identity},
	    {"--host-key", CLI_OPT_VALUE, &a.host_key},
	    {"--scan", CLI_OPT_FLAG, &a.scan},
	    {NULL, 0, NULL},
	};
	struct store_target *t;
	int rc;

	rc = cli_parse(argc, argv, opts, &a.name, 1);
	if (rc != CLI_OK)
		return rc;
	/* A store_target is large (its pinned key); keep it off the stack. */
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return cli_fail("out of memory");
	rc = target_fill(&a, t);
	if (rc == CLI_OK)
		rc = target_add(ctx, &a, t);
	free(t);
	return rc;
}

static int
target_collect(const struct store_target *t, void *arg)
{
	return cli_vec_push(arg, t);
}

/* "host:port", or "[v6]:port". */
static void
target_address(const struct store_target *t, char *buf, size_t size)
{
	if (strchr(t->host, ':') != NULL)
		snprintf(buf, size, "[%s]:%d", t->host, t->port);
	else
		snprintf(buf, size, "%s:%d", t->host, t->port);
}

static int
target_list_json(const struct cli_vec *targets)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < targets->n; i++) {
		const struct store_target *t = cli_vec_at(targets, i);
		char fp[128];

		cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
		cli_json_push(
		    &arr, json_pack("{sI so so so si so so ss so}", "id",
			      (json_int_t)t->id, "name", cli_json_text(t->name),
			      "kind", cli_json_text(t->kind), "host",
			      cli_json_text(t->host), "port", t->port, "login",
			      cli_json_text(t->login), "host_key",
			      cli_json_text(t->host_key), "host_key_sha256", fp,
			      "created", cli_json_instant(t->created)));
	}
	return cli_json_print(arr);
}

static int
target_list_text(const struct cli_vec *targets)
{
	struct cli_table *t = cli_table_new(
	    6, "NAME", "KIND", "ADDRESS", "LOGIN", "HOST KEY", "CREATED");

	for (size_t i = 0; t != NULL && i < targets->n; i++) {
		const struct store_target *tg = cli_vec_at(targets, i);
		char addr[300], fp[128], key[160], created[32];

		target_address(tg, addr, sizeof(addr));
		cli_key_line_fingerprint(tg->host_key, fp, sizeof(fp));
		snprintf(key, sizeof(key), "%.*s %s",
		    (int)strcspn(tg->host_key, " "), tg->host_key, fp);
		cli_table_add(t, tg->name, tg->kind, addr, tg->login, key,
		    cli_instant(tg->created, created, sizeof(created)));
	}
	if (t == NULL)
		return cli_fail("out of memory");
	cli_table_print(t);
	return CLI_OK;
}

int
cmd_target_list(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
	    {"--json", CLI_OPT_FLAG, &json},
	    {NULL, 0, NULL},
	};
	struct cli_vec targets = {.size = sizeof(struct store_target)};
	struct store *st;
	int rc;

	rc = cli_parse(argc, argv, opts, NULL, 0);
	if (rc != CLI_OK || cli_store(ctx, &st) != CLI_OK)
		return rc != CLI_OK ? rc : CLI_FAIL;
	rc = store_target_list(st, target_collect, &targets);
	if (rc != PIM_OK)
		rc = cli_store_fail(ctx, rc, "cannot list the targets");
	else if (json)
		rc = target_list_json(&targets);
	else
		rc = target_list_text(&targets);
	cli_vec_free(&targets);
	return rc;
}
