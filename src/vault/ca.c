/* The bastion's certificate authority: an EC P-256 key and a
 * self-signed "CN=pimgate CA" certificate made by `pimctl init`, and the
 * TLS certificate of the PostgreSQL listener it signs. Client
 * certificates are signed in ca_sign.c.
 *
 * Files: the CA's are created once and never replaced (O_EXCL); the
 * listener's are replaced atomically (a temporary file beside the target,
 * then rename), the key first, so a reader sees either the old pair or
 * the new key with, for a moment, the old certificate. Keys are 0600,
 * certificates 0644, whatever the umask. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pimgate/fd.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "ca_int.h"

#define CA_DAY (24 * 3600)
#define CA_LIFETIME ((int64_t)(10 * 365 + 3) * CA_DAY) /* leap days too */
#define CA_SERVER_LIFETIME ((int64_t)730 * CA_DAY)
#define CA_NAME "pimgate CA"
#define CA_ORG "pimgate"
#define CA_FILE_MAX (64 * 1024)

/* ---- pieces shared with ca_sign.c ---- */

int
ca_fail(char *err, size_t errlen, int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		str_copy(err, what, errlen);
	} else {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	}
	ERR_clear_error();
	return code;
}

bool
ca_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A random positive serial of 127 bits (never 0). */
static bool
ca_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	bool ok = false;

	if (bn == NULL)
		return false;
	do {
		if (!BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
			goto out;
	} while (BN_is_zero(bn));
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
out:
	BN_free(bn);
	return ok;
}

bool
ca_set_basics(X509 *x, int64_t from, int64_t to)
{
	return X509_set_version(x, X509_VERSION_3) == 1 && ca_set_serial(x) &&
	       ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) != NULL &&
	       ASN1_TIME_set(X509_getm_notAfter(x), (time_t)to) != NULL;
}

bool
ca_name_add(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
		   (const unsigned char *)value, -1, -1, 0) == 1;
}

/* What BIO B holds, as a new NUL-terminated string. */
static bool
ca_bio_text(BIO *b, char **text)
{
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);

	*text = NULL;
	if (n <= 0 || (*text = malloc((size_t)n + 1)) == NULL)
		return false;
	memcpy(*text, data, (size_t)n);
	(*text)[n] = '\0';
	return true;
}

bool
ca_x509_pem(X509 *x, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	bool ok;

	*pem = NULL;
	ok = b != NULL && PEM_write_bio_X509(b, x) == 1 && ca_bio_text(b, pem);
	BIO_free(b);
	return ok;
}

/* KEY as PEM text (PKCS#8, unencrypted) into *PEM; wipe it after use. */
static bool
ca_key_pem(EVP_PKEY *key, char **pem)
{
	BIO *b = BIO_new(BIO_s_secmem());
	bool ok;

	*pem = NULL;
	ok = b != NULL &&
	     PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	     ca_bio_text(b, pem);
	BIO_free(b);
	return ok;
}

static void
ca_text_free(char *text)
{
	if (text == NULL)
		return;
	OPENSSL_cleanse(text, strlen(text));
	free(text);
}

/* ---- files ---- */

/* Writes TEXT to the open file FD (MODE), closing it; -1 on failure. */
static int
ca_fill(int fd, const char *text, mode_t mode)
{
	int rc = -1;

	if (fchmod(fd, mode) == 0 && fd_write_all(fd, text, strlen(text)) == 0)
		rc = fsync(fd);

	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* Creates PATH (which must not exist) holding TEXT. */
static int
ca_file_create(
    const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0) {
		snprintf(
		    err, errlen, "cannot create %s: %s", path, strerror(errno));
		return errno == EEXIST ? PIM_EEXIST : PIM_EIO;
	}
	if (ca_fill(fd, text, mode) != 0) {
		snprintf(
		    err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return PIM_EIO;
	}
	return PIM_OK;
}

/* Replaces PATH with a file holding TEXT: a temporary file beside it,
 * renamed over it once written. */
static int
ca_file_replace(
    const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd;

	if (!str_printf(tmp, sizeof(tmp), "%s.XXXXXX", path)) {
		snprintf(err, errlen, "path too long: %s", path);
		return PIM_EINVAL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file beside %s: %s",
		    path, strerror(errno));
		return PIM_EIO;
	}
	if (ca_fill(fd, text, mode) != 0 || rename(tmp, path) != 0) {
		snprintf(
		    err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return PIM_EIO;
	}
	return PIM_OK;
}

/* ---- the CA itself ---- */

static bool
ca_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* The self-signed CA certificate for KEY, valid from NOW. */
static X509 *
ca_make_root(EVP_PKEY *key, int64_t now)
{
	X509 *x = X509_new();
	X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;

	if (x == NULL ||
	    !ca_set_basics(x, now - CA_SKEW_SECS, now + CA_LIFETIME) ||
	    !ca_name_add(name, "CN", CA_NAME) ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto err;
	if (!ca_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    !ca_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !ca_add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !ca_add_ext(x, x, NID_authority_key_identifier, "keyid:always"))
		goto err;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto err;
	return x;
err:
	X509_free(x);
	return NULL;
}

/* Writes the CA's key and certificate; neither may exist. */
static int
ca_write_new(EVP_PKEY *key, X509 *x, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	char *key_pem = NULL, *cert_pem = NULL;
	int rc;

	if (!ca_key_pem(key, &key_pem) || !ca_x509_pem(x, &cert_pem)) {
		rc = ca_fail(err, errlen, PIM_ECRYPTO, "cannot encode the CA");
		goto out;
	}
	rc = ca_file_create(key_path, key_pem, 0600, err, errlen);
	if (rc != PIM_OK)
		goto out;
	rc = ca_file_create(cert_path, cert_pem, 0644, err, errlen);
	if (rc != PIM_OK)
		unlink(key_path);
out:
	ca_text_free(key_pem);
	free(cert_pem);
	return rc;
}

int
ca_create(const char *cert_path, const char *key_path, int64_t now, char *err,
    size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc;

	if (ca_exists(key_path) || ca_exists(cert_path)) {
		snprintf(err, errlen,
		    "%s already exists; refusing to "
		    "overwrite it",
		    ca_exists(key_path) ? key_path : cert_path);
		return PIM_EEXIST;
	}
	key = EVP_EC_gen("P-256");
	if (key == NULL)
		return ca_fail(err, errlen, PIM_ECRYPTO,
		    "cannot generate the CA's P-256 key");
	x = ca_make_root(key, now);
	if (x == NULL)
		rc = ca_fail(
		    err, errlen, PIM_ECRYPTO, "cannot make the CA certificate");
	else
		rc = ca_write_new(key, x, cert_path, key_path, err, errlen);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Asked for a passphrase: the CA key has none, so refuse. */
static int
ca_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* Opens PATH for reading; the CA key must be owner-only. */
static FILE *
ca_open(const char *path, bool secret, char *err, size_t errlen, int *rc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	FILE *f;

	*rc = PIM_EIO;
	if (fd < 0) {
		snprintf(
		    err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > CA_FILE_MAX) {
		snprintf(
		    err, errlen, "%s is not a certificate or key file", path);
		*rc = PIM_EINVAL;
	} else if (secret && (sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s is readable by group or others; make it owner-only "
		    "(chmod 600)",
		    path);
		*rc = PIM_EINVAL;
	} else if ((f = fdopen(fd, "r")) != NULL) {
		return f;
	}
	close(fd);
	return NULL;
}

static int
ca_read_key(const char *path, EVP_PKEY **key, char *err, size_t errlen)
{
	int rc;
	FILE *f = ca_open(path, true, err, errlen, &rc);

	if (f == NULL)
		return rc;
	*key = PEM_read_PrivateKey(f, NULL, ca_no_passphrase, NULL);
	fclose(f);
	if (*key == NULL) {
		snprintf(
		    err, errlen, "%s holds no unencrypted private key", path);
		ERR_clear_error();
		return PIM_EINVAL;
	}
	return PIM_OK;
}

static int
ca_read_cert(const char *path, X509 **x, char *err, size_t errlen)
{
	int rc;
	FILE *f = ca_open(path, false, err, errlen, &rc);

	if (f == NULL)
		return rc;
	*x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*x == NULL) {
		snprintf(err, errlen, "%s holds no PEM certificate", path);
		ERR_clear_error();
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* The certificate must be a CA's and belong to the key. */
static int
ca_check(struct ca *ca, const char *cert_path, char *err, size_t errlen)
{
	if (X509_check_ca(ca->cert) < 1) {
		snprintf(err, errlen, "%s is not a CA certificate", cert_path);
		return PIM_EINVAL;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		snprintf(
		    err, errlen, "the CA key does not belong to %s", cert_path);
		ERR_clear_error();
		return PIM_EINVAL;
	}
	if (!ca_x509_pem(ca->cert, &ca->pem))
		return ca_fail(err, errlen, PIM_ENOMEM,
		    "cannot encode the CA certificate");
	return PIM_OK;
}

int
ca_load(const char *cert_path, const char *key_path, struct ca **out, char *err,
    size_t errlen)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	int rc;

	*out = NULL;
	if (ca == NULL) {
		str_copy(err, "out of memory", errlen);
		return PIM_ENOMEM;
	}
	rc = ca_read_key(key_path, &ca->key, err, errlen);
	if (rc == PIM_OK)
		rc = ca_read_cert(cert_path, &ca->cert, err, errlen);
	if (rc == PIM_OK)
		rc = ca_check(ca, cert_path, err, errlen);
	if (rc != PIM_OK) {
		ca_free(ca);
		return rc;
	}
	*out = ca;
	return PIM_OK;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
	free(ca);
}

const char *
ca_cert_pem(const struct ca *ca)
{
	return ca->pem;
}

/* ---- the PostgreSQL listener's certificate ---- */

/* True if S is a DNS name: labels of letters, digits and '-'. */
static bool
ca_dns_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || strstr(s, "..") != NULL)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

/* Appends NAME (an IP address or a DNS name) to GENS. */
static int
ca_san_add(GENERAL_NAMES *gens, const char *name, char *err, size_t errlen)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *dns = NULL;

	ERR_clear_error(); /* a2i_IPADDRESS fails for every DNS name */
	if (g != NULL && ip != NULL) {
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		ip = NULL;
	} else if (g != NULL && ca_dns_name(name)) {
		dns = ASN1_IA5STRING_new();
		if (dns == NULL || !ASN1_STRING_set(dns, name, -1))
			goto nomem;
		GENERAL_NAME_set0_value(g, GEN_DNS, dns);
		dns = NULL;
	} else if (g != NULL) {
		GENERAL_NAME_free(g);
		snprintf(err, errlen,
		    "server name '%.64s' is neither a host name nor an IP "
		    "address",
		    name);
		return PIM_EINVAL;
	}
	if (g != NULL && sk_GENERAL_NAME_push(gens, g) > 0)
		return PIM_OK;
nomem:
	ASN1_OCTET_STRING_free(ip);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(g);
	str_copy(err, "out of memory", errlen);
	return PIM_ENOMEM;
}

/* Parses NAMES ("a.example,127.0.0.1, ::1") into *GENS; FIRST gets the
 * first name, for the subject. */
static int
ca_san_parse(const char *names, GENERAL_NAMES **gens, char *first,
    size_t firstlen, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	int rc = PIM_OK;

	*gens = sk_GENERAL_NAME_new_null();
	if (*gens == NULL ||
	    !str_copy(buf, names != NULL ? names : "", sizeof(buf))) {
		str_copy(err, "the server names are too long", errlen);
		return PIM_EINVAL;
	}
	first[0] = '\0';
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL && rc == PIM_OK;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (first[0] == '\0')
			str_copy(first, tok, firstlen);
		rc = ca_san_add(*gens, tok, err, errlen);
	}
	if (rc == PIM_OK && first[0] == '\0') {
		str_copy(err, "no server names given", errlen);
		rc = PIM_EINVAL;
	}
	return rc;
}

static bool
ca_server_exts(X509 *x, X509 *issuer, GENERAL_NAMES *gens)
{
	return ca_add_ext(
		   x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
	       ca_add_ext(
		   x, issuer, NID_key_usage, "critical,digitalSignature") &&
	       ca_add_ext(x, issuer, NID_ext_key_usage, "serverAuth") &&
	       ca_add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
	       ca_add_ext(x, issuer, NID_authority_key_identifier, "keyid") &&
	       X509_add1_ext_i2d(
		   x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
}

/* The listener's certificate for KEY: "O=pimgate, CN=FIRST", the names
 * in GENS, two years from NOW. */
static X509 *
ca_make_server(struct ca *ca, EVP_PKEY *key, GENERAL_NAMES *gens,
    const char *first, int64_t now)
{
	X509 *x = X509_new();
	X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;

	/* A CN holds at most 64 characters; the SAN is what counts. */
	if (x == NULL ||
	    !ca_set_basics(x, now - CA_SKEW_SECS, now + CA_SERVER_LIFETIME) ||
	    !ca_name_add(name, "O", CA_ORG) ||
	    (strlen(first) <= 64 && !ca_name_add(name, "CN", first)) ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_set_pubkey(x, key) != 1 || !ca_server_exts(x, ca->cert, gens))
		goto err;
	if (X509_sign(x, ca->key, EVP_sha256()) == 0)
		goto err;
	return x;
err:
	X509_free(x);
	return NULL;
}

/* Replaces the key file, then the certificate file. */
static int
ca_write_server(EVP_PKEY *key, X509 *x, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	char *key_pem = NULL, *cert_pem = NULL;
	int rc;

	if (!ca_key_pem(key, &key_pem) || !ca_x509_pem(x, &cert_pem))
		rc = ca_fail(err, errlen, PIM_ECRYPTO,
		    "cannot encode the server certificate");
	else
		rc = ca_file_replace(key_path, key_pem, 0600, err, errlen);
	if (rc == PIM_OK)
		rc = ca_file_replace(cert_path, cert_pem, 0644, err, errlen);
	ca_text_free(key_pem);
	free(cert_pem);
	return rc;
}

int
ca_issue_server(struct ca *ca, const char *names, const char *cert_path,
    const char *key_path, int64_t now, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	char first[256];
	int rc;

	rc = ca_san_parse(names, &gens, first, sizeof(first), err, errlen);
	if (rc != PIM_OK)
		goto out;
	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		rc = ca_fail(err, errlen, PIM_ECRYPTO,
		    "cannot generate the server's P-256 key");
		goto out;
	}
	x = ca_make_server(ca, key, gens, first, now);
	if (x == NULL)
		rc = ca_fail(err, errlen, PIM_ECRYPTO,
		    "cannot make the server certificate");
	else
		rc = ca_write_server(key, x, cert_path, key_path, err, errlen);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	GENERAL_NAMES_free(gens);
	return rc;
}
