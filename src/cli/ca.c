/* The bastion's own certificate authority, created by `pimctl init`: an
 * EC P-256 key and a self-signed "CN=pimgate CA" certificate valid for
 * ten years. It issues the short-lived client certificates of the
 * PostgreSQL front end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pimgate/clock.h"

#include "cli.h"

#define CA_DAYS (10 * 365 + 3) /* ten years, leap days included */

/* Fails with WHAT and the last OpenSSL error. */
static int
ca_fail(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return cli_fail("CA: %s", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return cli_fail("CA: %s: %s", what, buf);
}

/* Adds extension NID with VALUE (openssl config syntax) to X. */
static int
ca_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return ca_fail("cannot build an extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? CLI_OK : ca_fail("cannot add an extension");
}

/* A random positive 127-bit serial number. */
static int
ca_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok;

	ok = bn != NULL &&
	     BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? CLI_OK : ca_fail("cannot make a serial number");
}

/* Subject and issuer "CN=pimgate CA", validity from NOW for ten years. */
static int
ca_set_names(X509 *x, int64_t now)
{
	X509_NAME *name = X509_get_subject_name(x);
	time_t t = (time_t)now;

	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)"pimgate CA", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		return ca_fail("cannot set the names");
	if (ASN1_TIME_set(X509_getm_notBefore(x), t) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CA_DAYS, 0, &t) == NULL)
		return ca_fail("cannot set the validity");
	return CLI_OK;
}

/* A self-signed CA certificate for KEY, or NULL (reason printed). */
static X509 *
ca_make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();

	if (x == NULL) {
		ca_fail("out of memory");
		return NULL;
	}
	if (ca_set_serial(x) != CLI_OK ||
	    ca_set_names(x, clock_now()) != CLI_OK)
		goto err;
	if (!X509_set_pubkey(x, key)) {
		ca_fail("cannot set the public key");
		goto err;
	}
	if (ca_add_ext(x, NID_basic_constraints, "critical,CA:TRUE") !=
		CLI_OK ||
	    ca_add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") !=
		CLI_OK ||
	    ca_add_ext(x, NID_subject_key_identifier, "hash") != CLI_OK ||
	    ca_add_ext(x, NID_authority_key_identifier, "keyid:always") !=
		CLI_OK)
		goto err;
	if (X509_sign(x, key, EVP_sha256()) == 0) {
		ca_fail("cannot sign the certificate");
		goto err;
	}
	return x;
err:
	X509_free(x);
	return NULL;
}

/* Creates PATH (which must not exist) with MODE whatever the umask. */
static FILE *
ca_create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		cli_fail("cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
		cli_fail("cannot write %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

/* Closes F, failing with a reason if anything was not written. */
static int
ca_close_file(FILE *f, bool written, const char *path)
{
	bool ok = written && fflush(f) == 0 && fsync(fileno(f)) == 0;

	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		return ca_fail(path);
	return CLI_OK;
}

static int
ca_write_key(EVP_PKEY *key, const char *path)
{
	FILE *f = ca_create_file(path, 0600);

	if (f == NULL)
		return CLI_FAIL;
	return ca_close_file(f,
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1, path);
}

static int
ca_write_cert(X509 *x, const char *path)
{
	FILE *f = ca_create_file(path, 0644);

	if (f == NULL)
		return CLI_FAIL;
	return ca_close_file(f, PEM_write_X509(f, x) == 1, path);
}

int
cli_ca_create(const char *key_path, const char *cert_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = NULL;
	int rc = CLI_FAIL;

	if (key == NULL)
		return ca_fail("cannot generate the P-256 key");
	x = ca_make_cert(key);
	if (x == NULL)
		goto out;
	rc = ca_write_key(key, key_path);
	if (rc == CLI_OK)
		rc = ca_write_cert(x, cert_path);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
