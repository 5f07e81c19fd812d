/* Unit tests for the CA: creation and loading (owner-only key), the
 * PostgreSQL listener's certificate, and client certificates signed from
 * requests made here with OpenSSL (EC P-256, RSA 2048, Ed25519), checked
 * to chain to the CA; garbage, a forged request and weak keys are
 * refused. Every test has its own CA in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pimgate/ca.h"
#include "pimgate/err.h"

#define H 3600
#define T0 1800000000 /* 2027-01-15T08:00:00Z */

struct fx {
	char dir[64];
	char cert[128], key[128]; /* the CA */
	char srv_cert[128], srv_key[128]; /* the listener */
	struct ca *ca;
	char err[512];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-ca-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/ca.crt", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/ca.key", f->dir);
	snprintf(f->srv_cert, sizeof(f->srv_cert), "%s/pg.crt", f->dir);
	snprintf(f->srv_key, sizeof(f->srv_key), "%s/pg.key", f->dir);
	assert_int_equal(
	    ca_create(f->cert, f->key, T0 - H, f->err, sizeof(f->err)), PIM_OK);
	assert_int_equal(
	    ca_load(f->cert, f->key, &f->ca, f->err, sizeof(f->err)), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ca_free(f->ca);
	unlink(f->cert);
	unlink(f->key);
	unlink(f->srv_cert);
	unlink(f->srv_key);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* A PEM request (malloc'd) for KEY, signed by SIGNER (KEY if NULL). */
static char *
make_csr(EVP_PKEY *key, EVP_PKEY *signer, const char *cn)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);
	EVP_PKEY *by = signer != NULL ? signer : key;
	const EVP_MD *md =
	    EVP_PKEY_get_base_id(by) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *pem;
	long n;

	assert_non_null(req);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
			     (const unsigned char *)cn, -1, -1, 0),
	    1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, by, md) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	n = BIO_get_mem_data(b, &data);
	pem = calloc(1, (size_t)n + 1);
	assert_non_null(pem);
	memcpy(pem, data, (size_t)n);
	BIO_free(b);
	X509_REQ_free(req);
	return pem;
}

static X509 *
parse_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static X509 *
read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

/* X509_verify_cert of X against the CA at time AT for PURPOSE: the
 * verify error (X509_V_OK if it chains). */
static int
verify_at(struct fx *f, X509 *x, int64_t at, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *root = read_cert(f->cert);
	int e;

	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	e = X509_verify_cert(ctx) == 1 ? X509_V_OK
				       : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	return e;
}

static void
assert_name(X509 *x, int nid, const char *want)
{
	char buf[128] = "";

	X509_NAME_get_text_by_NID(
	    X509_get_subject_name(x), nid, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Signs CSR for alice on clientsdb over [T0, T0+2h]. */
static int
sign(struct fx *f, const char *csr, char **pem, char *serial)
{
	return ca_sign_client(f->ca, csr, csr != NULL ? strlen(csr) : 0,
	    "alice", "clientsdb", T0, T0 + 2 * H, pem, serial, f->err,
	    sizeof(f->err));
}

/* A client certificate for KEY, checked field by field. */
static void
check_client(struct fx *f, EVP_PKEY *key, const char *usage)
{
	char *csr = make_csr(key, NULL, "alice"), *pem = NULL;
	char serial[STORE_SERIAL_MAX], again[STORE_SERIAL_MAX];
	X509 *x, *root;

	assert_int_equal(sign(f, csr, &pem, serial), PIM_OK);
	x = parse_cert(pem);
	assert_int_equal(
	    verify_at(f, x, T0 + 10, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	/* The names are the bastion's (a CN other than alice is refused:
	 * test_cert.c). */
	assert_name(x, NID_commonName, "alice");
	assert_name(x, NID_organizationalUnitName, "clientsdb");
	assert_name(x, NID_organizationName, "pimgate");
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(
	    ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), T0 + 2 * H), 0);
	assert_int_equal(
	    ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), T0 - 60), 0);
	assert_int_equal(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT,
	    strcmp(usage, "rsa") == 0 ? KU_KEY_ENCIPHERMENT : 0);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	root = read_cert(f->cert);
	assert_int_equal(X509_check_issued(root, x), X509_V_OK);
	X509_free(root);
	/* Expired one second after its end. */
	assert_int_equal(
	    verify_at(f, x, T0 + 2 * H + 1, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_CERT_HAS_EXPIRED);
	assert_int_equal(ca_serial_of(x, again), PIM_OK);
	assert_string_equal(serial, again);
	assert_true(strspn(serial, "0123456789abcdef") == strlen(serial));
	X509_free(x);
	free(pem);
	free(csr);
}

/* ---- tests ---- */

static void
test_create_refuses_existing(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	assert_int_equal(
	    ca_create(f->cert, f->key, T0, f->err, sizeof(f->err)), PIM_EEXIST);
	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(f->cert, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_non_null(strstr(ca_cert_pem(f->ca), "BEGIN CERTIFICATE"));
}

static void
test_load_refuses_open_key(void **state)
{
	struct fx *f = *state;
	struct ca *ca = NULL;

	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(
	    ca_load(f->cert, f->key, &ca, f->err, sizeof(f->err)), PIM_EINVAL);
	assert_null(ca);
	assert_non_null(strstr(f->err, "readable by group or others"));
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(
	    ca_load(f->srv_cert, f->key, &ca, f->err, sizeof(f->err)), PIM_EIO);
}

static void
test_client_ec(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	check_client(*state, key, "ec");
	EVP_PKEY_free(key);
}

static void
test_client_rsa(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);

	check_client(*state, key, "rsa");
	EVP_PKEY_free(key);
}

static void
test_client_ed25519(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	check_client(*state, key, "ed25519");
	EVP_PKEY_free(key);
}

static void
test_serials_differ(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *csr = make_csr(key, NULL, "alice"), *a = NULL, *b = NULL;
	char sa[STORE_SERIAL_MAX], sb[STORE_SERIAL_MAX];

	assert_int_equal(sign(f, csr, &a, sa), PIM_OK);
	assert_int_equal(sign(f, csr, &b, sb), PIM_OK);
	assert_string_not_equal(sa, sb);
	free(a);
	free(b);
	free(csr);
	EVP_PKEY_free(key);
}

/* Expects CSR to be refused with a reason containing WANT. */
static void
refused(struct fx *f, const char *csr, size_t len, const char *want)
{
	char serial[STORE_SERIAL_MAX] = "x", *pem = (char *)"unset";

	assert_int_equal(ca_sign_client(f->ca, csr, len, "alice", "clientsdb",
			     T0, T0 + H, &pem, serial, f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_null(pem);
	assert_string_equal(serial, "");
	if (strstr(f->err, want) == NULL)
		fail_msg("reason lacks '%s': %s", want, f->err);
}

static void
test_refuses_garbage(void **state)
{
	static const char bad[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
				  "AAAA\n-----END CERTIFICATE REQUEST-----\n";
	struct fx *f = *state;
	char big[CA_CSR_MAX + 2];

	refused(f, "hello", 5, "not a PEM certificate request");
	refused(f, "", 0, "empty");
	refused(f, bad, strlen(bad), "not a PEM certificate request");
	memset(big, 'A', sizeof(big));
	refused(f, big, sizeof(big), "larger than 16 KiB");
	/* A certificate is not a request. */
	refused(f, ca_cert_pem(f->ca), strlen(ca_cert_pem(f->ca)),
	    "not a PEM certificate request");
}

static void
test_refuses_forged(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	char *csr = make_csr(key, other, "alice");

	refused(*state, csr, strlen(csr), "signature does not match");
	free(csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_refuses_weak_keys(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(1024);
	EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
	char *csr = make_csr(rsa, NULL, "alice");

	refused(*state, csr, strlen(csr), "RSA of at least 2048 bits");
	free(csr);
	csr = make_csr(k1, NULL, "alice");
	refused(*state, csr, strlen(csr), "EC P-256 or P-384");
	free(csr);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k1);
}

static void
test_refuses_bad_window(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *csr = make_csr(key, NULL, "alice"), *pem = NULL;
	char serial[STORE_SERIAL_MAX];

	assert_int_equal(ca_sign_client(f->ca, csr, strlen(csr), "alice",
			     "clientsdb", T0, T0 + CA_CERT_MAX_SECS + 1, &pem,
			     serial, f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_int_equal(
	    ca_sign_client(f->ca, csr, strlen(csr), "alice", "clientsdb", T0,
		T0, &pem, serial, f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_int_equal(
	    ca_sign_client(f->ca, csr, strlen(csr), "Alice Smith", "clientsdb",
		T0, T0 + H, &pem, serial, f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_null(pem);
	free(csr);
	EVP_PKEY_free(key);
}

static bool
san_has(X509 *x, int type, const char *want)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char *text = NULL;

		if (g->type != type)
			continue;
		if (type == GEN_DNS)
			text = OPENSSL_strdup(
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else
			text = OPENSSL_buf2hexstr(
			    ASN1_STRING_get0_data(g->d.iPAddress),
			    ASN1_STRING_length(g->d.iPAddress));
		found = found || strcmp(text, want) == 0;
		OPENSSL_free(text);
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static void
test_server_cert(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	X509 *x;

	assert_int_equal(
	    ca_issue_server(f->ca, "db.example.org, 127.0.0.1,::1", f->srv_cert,
		f->srv_key, T0, f->err, sizeof(f->err)),
	    PIM_OK);
	assert_int_equal(stat(f->srv_key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(f->srv_cert, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	x = read_cert(f->srv_cert);
	assert_int_equal(
	    verify_at(f, x, T0 + 10, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_name(x, NID_commonName, "db.example.org");
	assert_true(san_has(x, GEN_DNS, "db.example.org"));
	assert_true(san_has(x, GEN_IPADD, "7F:00:00:01"));
	assert_true(san_has(
	    x, GEN_IPADD, "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01"));
	assert_int_equal(X509_check_host(x, "db.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	X509_free(x);

	/* Issued again, it replaces both files. */
	assert_int_equal(ca_issue_server(f->ca, "localhost", f->srv_cert,
			     f->srv_key, T0, f->err, sizeof(f->err)),
	    PIM_OK);
	x = read_cert(f->srv_cert);
	assert_false(san_has(x, GEN_DNS, "db.example.org"));
	assert_true(san_has(x, GEN_DNS, "localhost"));
	X509_free(x);
}

static void
test_server_bad_names(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	assert_int_equal(ca_issue_server(f->ca, "", f->srv_cert, f->srv_key, T0,
			     f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_int_equal(
	    ca_issue_server(f->ca, "ok.example,bad_name!", f->srv_cert,
		f->srv_key, T0, f->err, sizeof(f->err)),
	    PIM_EINVAL);
	assert_non_null(strstr(f->err, "bad_name!"));
	assert_int_not_equal(stat(f->srv_cert, &sb), 0);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_create_refuses_existing),
	    FX_TEST(test_load_refuses_open_key),
	    FX_TEST(test_client_ec),
	    FX_TEST(test_client_rsa),
	    FX_TEST(test_client_ed25519),
	    FX_TEST(test_serials_differ),
	    FX_TEST(test_refuses_garbage),
	    FX_TEST(test_refuses_forged),
	    FX_TEST(test_refuses_weak_keys),
	    FX_TEST(test_refuses_bad_window),
	    FX_TEST(test_server_cert),
	    FX_TEST(test_server_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
