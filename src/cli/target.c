/* pimctl target verbs: add (with its sealed credential: an SSH target's
 * private key and pinned host key, a PostgreSQL target's password and the
 * CA of its TLS certificate) and list (which never shows a secret). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"
#include "pimgate/vault.h"

#include "cli.h"

#define TARGET_IDENTITY_MAX (64 * 1024)
#define TARGET_SCAN_TIMEOUT 10 /* seconds */
#define TARGET_PASSWORD_MAX 1024
#define TARGET_CA_CERTS_MAX 64 /* certificates in one --ca file */
#define TARGET_FP_MAX 128 /* "AB:CD:..." of a SHA-256 digest, and more */

/* What `target add` was given, once parsed. */
struct target_args {
	const char *name;
	const char *ssh;
	const char *postgres;
	const char *login;
	const char *identity;
	const char *host_key;
	bool scan;
	bool password_stdin;
	const char *database;
	const char *tls;
	const char *ca;
};

/* What `target add` stores beside the row: the sealed credential and,
 * for a TLS upstream, the CA certificates (PEM) with the first one's
 * fingerprint for the audit entry. */
struct target_extra {
	unsigned char *blob;
	size_t len;
	char *ca_pem;
	char ca_fp[TARGET_FP_MAX];
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

/* If standard input is a terminal, prompts and turns its echo off;
 * returns true if it did, with the settings to restore in OLD. */
static bool
target_echo_off(struct termios *old)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, old) != 0)
		return false;
	t = *old;
	t.c_lflag &= ~(tcflag_t)ECHO;
	fputs("password of the target's login: ", stderr);
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
}

/* Reads one line of standard input into S, without its line end; a line
 * longer than TARGET_PASSWORD_MAX is read to its end but not kept. Sets
 * *TOO_LONG for such a line, *ENDED if a newline or any byte came. */
static int
target_read_line(struct target_secret *s, bool *too_long, bool *ended)
{
	int c;

	s->data = calloc(1, TARGET_PASSWORD_MAX + 2);
	if (s->data == NULL)
		return cli_fail("out of memory");
	while ((c = getchar()) != EOF) {
		*ended = true;
		if (c == '\n')
			break;
		if (s->len <= TARGET_PASSWORD_MAX)
			s->data[s->len++] = (unsigned char)c;
		else
			*too_long = true;
	}
	if (s->len > 0 && s->data[s->len - 1] == '\r')
		s->data[--s->len] = '\0';
	if (s->len > TARGET_PASSWORD_MAX)
		*too_long = true;
	return CLI_OK;
}

/* Reads the target login's password from one line of standard input into
 * S: not empty, at most TARGET_PASSWORD_MAX bytes, no NUL byte. */
static int
target_read_password(struct target_secret *s)
{
	struct termios old;
	bool echo_off = target_echo_off(&old);
	bool too_long = false, ended = false;
	int rc = target_read_line(s, &too_long, &ended);

	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc != CLI_OK)
		return rc;
	if (!ended)
		return cli_fail("no password on standard input");
	if (too_long)
		return cli_fail(
		    "password longer than %d bytes", TARGET_PASSWORD_MAX);
	if (s->len == 0)
		return cli_fail("empty password on standard input");
	if (memchr(s->data, '\0', s->len) != NULL)
		return cli_fail("the password on standard input holds a NUL "
				"byte");
	return CLI_OK;
}

/* "AB:CD:..." of the SHA-256 digest of X into FP. */
static void
target_cert_fingerprint(X509 *x, char *fp, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off = 0;

	str_copy(fp, "?", size);
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n && off + 4 <= size; i++)
		off += (size_t)snprintf(
		    fp + off, size - off, i > 0 ? ":%02X" : "%02X", md[i]);
}

/* Copies every PEM certificate IN holds to OUT (re-encoded, so nothing
 * else in the file is kept); returns how many, or -1 on a write error.
 * Sets FP to the first one's fingerprint. */
static int
target_copy_certs(BIO *in, BIO *out, char *fp, size_t size)
{
	X509 *x;
	int n = 0;

	while (n <= TARGET_CA_CERTS_MAX &&
	       (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (n == 0)
			target_cert_fingerprint(x, fp, size);
		if (PEM_write_bio_X509(out, x) != 1)
			n = -1;
		X509_free(x);
		if (n < 0)
			break;
		n++;
	}
	ERR_clear_error();
	return n;
}

/* The text held by memory BIO B as a new string in *PEM. */
static int
target_bio_text(BIO *b, char **pem)
{
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);

	*pem = malloc((size_t)n + 1);
	if (*pem == NULL)
		return cli_fail("out of memory");
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	return CLI_OK;
}

/* Reads the CA certificates of PATH into X->ca_pem: at least one PEM
 * certificate, at most TARGET_CA_CERTS_MAX. */
static int
target_read_ca(const char *path, struct target_extra *x)
{
	FILE *f = fopen(path, "re");
	BIO *in = NULL, *out = BIO_new(BIO_s_mem());
	int n = -1, rc;

	if (f == NULL) {
		BIO_free(out);
		return cli_fail("cannot open %s: %s", path, strerror(errno));
	}
	in = BIO_new_fp(f, BIO_NOCLOSE);
	if (in != NULL && out != NULL)
		n = target_copy_certs(in, out, x->ca_fp, sizeof(x->ca_fp));
	BIO_free(in);
	fclose(f);
	if (n < 0)
		rc = cli_fail("cannot read the certificates of %s", path);
	else if (n == 0)
		rc = cli_fail("%s holds no PEM certificate", path);
	else if (n > TARGET_CA_CERTS_MAX)
		rc = cli_fail("%s holds more than %d certificates", path,
		    TARGET_CA_CERTS_MAX);
	else
		rc = target_bio_text(out, &x->ca_pem);
	BIO_free(out);
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

/* Fills T's host and port from VALUE, given as option OPT. */
static int
target_fill_address(const char *opt, const char *value, struct store_target *t)
{
	const char *why;

	if (config_split_hostport(value, t->host, sizeof(t->host), &t->port) !=
	    0)
		return cli_bad_arg(
		    "invalid %s '%s': expected HOST:PORT", opt, value);
	if (!target_valid_host(t->host))
		return cli_bad_arg("invalid %s '%s': HOST must be an IP "
				   "address or a host name",
		    opt, value);
	why = target_bad_address(t->host);
	if (why != NULL)
		return cli_bad_arg(
		    "invalid %s '%s': %s %s", opt, value, t->host, why);
	return CLI_OK;
}

/* The options of an SSH target. */
static int
target_fill_ssh(const struct target_args *a, struct store_target *t)
{
	if (a->password_stdin || a->database != NULL || a->tls != NULL ||
	    a->ca != NULL)
		return cli_bad_arg("--password-stdin, --database, --tls and "
				   "--ca are for --postgres targets");
	if (a->login == NULL || a->identity == NULL)
		return cli_bad_arg("--ssh, --login and --identity are needed");
	if ((a->host_key != NULL) == a->scan)
		return cli_bad_arg("give one of --host-key and --scan");
	str_copy(t->kind, "ssh", sizeof(t->kind));
	return target_fill_address("--ssh", a->ssh, t);
}

/* Checks the --database value D: one line of text, not an option. */
static int
target_check_database(const char *d)
{
	int rc = cli_check_text("--database", d, STORE_NAME_MAX - 1);

	if (rc != CLI_OK)
		return rc;
	if (d[0] == '\0' || d[0] == '-')
		return cli_bad_arg("invalid --database '%s': the name of a "
				   "database on the target",
		    d);
	return CLI_OK;
}

/* The options of a PostgreSQL target. */
static int
target_fill_pg(const struct target_args *a, struct store_target *t)
{
	int rc;

	if (a->identity != NULL || a->host_key != NULL || a->scan)
		return cli_bad_arg("--identity, --host-key and --scan are for "
				   "--ssh targets");
	if (a->login == NULL || !a->password_stdin)
		return cli_bad_arg(
		    "--postgres, --login and --password-stdin are needed");
	if (a->tls != NULL && strcmp(a->tls, "verify-full") != 0)
		return cli_bad_arg(
		    "invalid --tls '%s': the one mode is verify-full", a->tls);
	if ((a->tls != NULL) != (a->ca != NULL))
		return cli_bad_arg("--tls verify-full and --ca FILE go "
				   "together");
	if (a->database != NULL) {
		rc = target_check_database(a->database);
		if (rc != CLI_OK)
			return rc;
		str_copy(t->database, a->database, sizeof(t->database));
	}
	if (a->tls != NULL)
		str_copy(t->tls, a->tls, sizeof(t->tls));
	str_copy(t->kind, "postgres", sizeof(t->kind));
	return target_fill_address("--postgres", a->postgres, t);
}

/* Fills T from A; malformed values are usage errors. */
static int
target_fill(const struct target_args *a, struct store_target *t)
{
	int rc = cli_check_name("target", a->name);

	if (rc != CLI_OK)
		return rc;
	if ((a->ssh != NULL) == (a->postgres != NULL))
		return cli_bad_arg("give one of --ssh and --postgres");
	if (a->ssh != NULL)
		rc = target_fill_ssh(a, t);
	else
		rc = target_fill_pg(a, t);
	if (rc != CLI_OK)
		return rc;
	rc = target_check_login(a->login);
	if (rc != CLI_OK)
		return rc;
	str_copy(t->login, a->login, sizeof(t->login));
	str_copy(t->name, a->name, sizeof(t->name));
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

/* The audit entry of a new target T; never holds its secret. */
static int
target_add_audit(struct cli_ctx *ctx, const struct store_target *t,
    const struct target_extra *x)
{
	char fp[128];

	if (strcmp(t->kind, "postgres") == 0)
		return cli_audit(ctx, NULL, t->name, NULL,
		    "target add %s postgres %s:%d login %s database %s tls %s"
		    "%s%s",
		    t->name, t->host, t->port, t->login,
		    t->database[0] != '\0' ? t->database : "-",
		    t->tls[0] != '\0' ? t->tls : "none",
		    x->ca_pem != NULL ? " ca " : "",
		    x->ca_pem != NULL ? x->ca_fp : "");
	cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
	return cli_audit(ctx, NULL, t->name, NULL,
	    "target add %s ssh %s:%d login %s host key %s", t->name, t->host,
	    t->port, t->login, fp);
}

static int
target_add_tx(
    struct cli_ctx *ctx, struct store_target *t, const struct target_extra *x)
{
	int64_t id;
	int rc;

	t->created = clock_now();
	rc = store_target_add(ctx->st, t, x->blob, x->len, &id);
	if (rc == PIM_EEXIST)
		return cli_fail("target %s already exists", t->name);
	if (rc != PIM_OK)
		return cli_store_fail(ctx, rc, "cannot add the target");
	if (x->ca_pem != NULL) {
		rc = store_target_set_tls_ca(ctx->st, id, x->ca_pem);
		if (rc != PIM_OK)
			return cli_store_fail(
			    ctx, rc, "cannot store the target's CA");
	}
	return target_add_audit(ctx, t, x);
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

/* An SSH target: reads its private key, pins its host key, seals the
 * key. */
static int
target_prepare_ssh(struct cli_ctx *ctx, const struct target_args *a,
    struct store_target *t, struct target_extra *x)
{
	struct target_secret secret = {NULL, 0};
	int rc;

	rc = target_read_identity(a->identity, &secret);
	if (rc == CLI_OK)
		rc = target_pin(a, t);
	if (rc == CLI_OK)
		rc = target_seal(ctx, a->name, &secret, &x->blob, &x->len);
	target_secret_free(&secret);
	return rc;
}

/* A PostgreSQL target: reads its CA (for TLS) and its password, seals
 * the password. */
static int
target_prepare_pg(
    struct cli_ctx *ctx, const struct target_args *a, struct target_extra *x)
{
	struct target_secret secret = {NULL, 0};
	int rc = CLI_OK;

	if (a->ca != NULL) {
		rc = target_read_ca(a->ca, x);
		if (rc == CLI_OK)
			printf("CA of %s: SHA256 fingerprint %s\n", a->postgres,
			    x->ca_fp);
	}
	if (rc == CLI_OK)
		rc = target_read_password(&secret);
	if (rc == CLI_OK)
		rc = target_seal(ctx, a->name, &secret, &x->blob, &x->len);
	target_secret_free(&secret);
	return rc;
}

/* The steps of `target add` after parsing. */
static int
target_add(
    struct cli_ctx *ctx, const struct target_args *a, struct store_target *t)
{
	struct target_extra x = {0};
	struct store *st;
	int rc;

	rc = cli_store(ctx, &st);
	if (rc == CLI_OK)
		rc = target_check_free(ctx, a->name);
	if (rc == CLI_OK && a->ssh != NULL)
		rc = target_prepare_ssh(ctx, a, t, &x);
	else if (rc == CLI_OK)
		rc = target_prepare_pg(ctx, a, &x);
	if (rc == CLI_OK)
		rc = cli_begin(ctx);
	if (rc == CLI_OK)
		rc = cli_end(ctx, target_add_tx(ctx, t, &x));
	free(x.blob);
	free(x.ca_pem);
	return rc;
}

int
cmd_target_add(struct cli_ctx *ctx, int argc, char **argv)
{
	struct target_args a = {0};
	const struct cli_opt opts[] = {
	    {"--ssh", CLI_OPT_VALUE, &a.ssh},
	    {"--postgres", CLI_OPT_VALUE, &a.postgres},
	    {"--login", CLI_OPT_VALUE, &a.login},
	    {"--identity", CLI_OPT_VALUE, &a.identity},
	    {"--host-key", CLI_OPT_VALUE, &a.host_key},
	    {"--scan", CLI_OPT_FLAG, &a.scan},
	    {"--password-stdin", CLI_OPT_FLAG, &a.password_stdin},
	    {"--database", CLI_OPT_VALUE, &a.database},
	    {"--tls", CLI_OPT_VALUE, &a.tls},
	    {"--ca", CLI_OPT_VALUE, &a.ca},
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

/* A JSON string for TEXT, or null when it is empty. */
static json_t *
target_json_opt(const char *text)
{
	return text[0] != '\0' ? cli_json_text(text) : json_null();
}

/* The JSON object of T: every kind has the same keys, null where a key
 * does not apply ("host_key" of a postgres target, "tls" of an ssh
 * one). */
static json_t *
target_json(const struct store_target *t)
{
	bool pg = strcmp(t->kind, "postgres") == 0;
	char fp[128] = "";

	if (!pg)
		cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
	return json_pack("{sI so so so si so so so so so so}", "id",
	    (json_int_t)t->id, "name", cli_json_text(t->name), "kind",
	    cli_json_text(t->kind), "host", cli_json_text(t->host), "port",
	    t->port, "login", cli_json_text(t->login), "database",
	    target_json_opt(t->database), "tls",
	    pg ? cli_json_text(t->tls[0] != '\0' ? t->tls : "none")
	       : json_null(),
	    "host_key", target_json_opt(pg ? "" : t->host_key),
	    "host_key_sha256", target_json_opt(fp), "created",
	    cli_json_instant(t->created));
}

static int
target_list_json(const struct cli_vec *targets)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < targets->n; i++)
		cli_json_push(&arr, target_json(cli_vec_at(targets, i)));
	return cli_json_print(arr);
}

/* The table cells of T that depend on its kind: DATABASE, TLS and HOST
 * KEY ("-" where they do not apply). */
static void
target_cells(const struct store_target *t, const char **database,
    const char **tls, char *key, size_t size)
{
	char fp[128];

	if (strcmp(t->kind, "postgres") == 0) {
		*database = t->database[0] != '\0' ? t->database : "-";
		*tls = t->tls[0] != '\0' ? t->tls : "none";
		str_copy(key, "-", size);
		return;
	}
	*database = "-";
	*tls = "-";
	cli_key_line_fingerprint(t->host_key, fp, sizeof(fp));
	snprintf(key, size, "%.*s %s", (int)strcspn(t->host_key, " "),
	    t->host_key, fp);
}

static int
target_list_text(const struct cli_vec *targets)
{
	struct cli_table *t = cli_table_new(8, "NAME", "KIND", "ADDRESS",
	    "LOGIN", "DATABASE", "TLS", "HOST KEY", "CREATED");

	for (size_t i = 0; t != NULL && i < targets->n; i++) {
		const struct store_target *tg = cli_vec_at(targets, i);
		const char *database, *tls;
		char addr[300], key[160], created[32];

		target_address(tg, addr, sizeof(addr));
		target_cells(tg, &database, &tls, key, sizeof(key));
		cli_table_add(t, tg->name, tg->kind, addr, tg->login, database,
		    tls, key,
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
