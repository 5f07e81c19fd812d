/* Client certificates: a person's PKCS#10 request in, a short-lived
 * certificate "O=pimgate, OU=TARGET, CN=USER" out. The input must hold
 * exactly one PEM block, the request; its public key is used (after its
 * self-signature is checked), and a CN it names must be USER (a request
 * made for someone else is refused); its other names and its extensions
 * are ignored. The certificate starts CA_SKEW_SECS before the instant
 * asked for (clock skew) and ends exactly at the end asked for. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pimgate/err.h"
#include "pimgate/str.h"

#include "ca_int.h"

#define CA_RSA_MIN_BITS 2048

/* The number of "-----BEGIN " lines in the LEN bytes at S. */
static int
ca_pem_blocks(const char *s, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	const size_t n = sizeof(tag) - 1;
	int count = 0;

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(s + i, tag, n) == 0)
			count++;
	return count;
}

/* True if the LEN bytes at S are all white space. */
static bool
ca_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* The request just read from B must be the only PEM block of CSR (LEN
 * bytes), with nothing but white space after its END line. */
static int
ca_csr_alone(const char *csr, size_t len, BIO *b, char *err, size_t errlen)
{
	const char *rest = NULL;
	long left = BIO_get_mem_data(b, &rest);

	if (ca_pem_blocks(csr, len) > 1) {
		str_copy(err,
		    "the input holds more than one PEM block: give exactly "
		    "one certificate request",
		    errlen);
		return PIM_EINVAL;
	}
	if (left > 0 && !ca_blank(rest, (size_t)left)) {
		str_copy(err,
		    "the input goes on after the request's END line: give "
		    "exactly one certificate request",
		    errlen);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* Parses the request in CSR (LEN bytes of PEM text), which must be
 * its only content. */
static int
ca_csr_read(
    const char *csr, size_t len, X509_REQ **req, char *err, size_t errlen)
{
	BIO *b;
	int rc;

	*req = NULL;
	if (csr == NULL || len == 0) {
		str_copy(err, "the certificate request is empty", errlen);
		return PIM_EINVAL;
	}
	if (len > CA_CSR_MAX) {
		snprintf(err, errlen,
		    "the certificate request is larger than %d KiB",
		    CA_CSR_MAX / 1024);
		return PIM_EINVAL;
	}
	b = BIO_new_mem_buf(csr, (int)len);
	if (b != NULL)
		*req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	ERR_clear_error();
	if (*req == NULL) {
		BIO_free(b);
		str_copy(err,
		    "this is not a PEM certificate request (-----BEGIN "
		    "CERTIFICATE REQUEST-----); make one with openssl req -new",
		    errlen);
		return PIM_EINVAL;
	}
	rc = ca_csr_alone(csr, len, b, err, errlen);
	BIO_free(b);
	if (rc != PIM_OK) {
		X509_REQ_free(*req);
		*req = NULL;
	}
	return rc;
}

/* ENTRY's value as a NUL-terminated UTF-8 string (OPENSSL_malloc'd), or
 * NULL if it cannot be read or holds a NUL. */
static char *
ca_entry_text(const X509_NAME_ENTRY *entry)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));

	if (n < 0 || utf8 == NULL || memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		ERR_clear_error();
		return NULL;
	}
	return (char *)utf8;
}

/* CN (as ca_entry_text gave it) for people to read, into BUF. */
static void
ca_cn_shown(const char *cn, char *buf, size_t size)
{
	if (cn == NULL)
		str_copy(buf, "an unreadable name", size);
	else if (cn[0] == '\0')
		str_copy(buf, "an empty name", size);
	else
		str_sanitize(buf, size, cn);
}

/* Every CN the request names must be USER; a request naming none is
 * taken (its subject is not used). */
static int
ca_csr_subject(X509_REQ *req, const char *user, char *err, size_t errlen)
{
	const X509_NAME *name = X509_REQ_get_subject_name(req);
	char shown[64];
	char *cn;
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0) {
		cn = ca_entry_text(X509_NAME_get_entry(name, i));
		if (cn != NULL && strcmp(cn, user) == 0) {
			OPENSSL_free(cn);
			continue;
		}
		ca_cn_shown(cn, shown, sizeof(shown));
		OPENSSL_free(cn);
		snprintf(err, errlen,
		    "the request names %s, but the certificate would be for "
		    "%s: make a request with -subj /CN=%s",
		    shown, user, user);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* An EC key must be on P-256 or P-384. */
static bool
ca_ec_curve_ok(EVP_PKEY *key)
{
	char group[64];
	size_t n = 0;
	int nid;

	if (EVP_PKEY_get_utf8_string_param(
		key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n) != 1)
		return false;
	nid = OBJ_txt2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1;
}

/* The request's key: its type and size, then its self-signature. Sets
 * *RSA for an RSA key (its certificate may also encipher keys). */
static int
ca_csr_key(X509_REQ *req, bool *rsa, char *err, size_t errlen)
{
	EVP_PKEY *key = X509_REQ_get0_pubkey(req);
	int id = key != NULL ? EVP_PKEY_get_base_id(key) : NID_undef;
	bool ok;

	*rsa = id == EVP_PKEY_RSA;
	if (*rsa)
		ok = EVP_PKEY_get_bits(key) >= CA_RSA_MIN_BITS;
	else if (id == EVP_PKEY_EC)
		ok = ca_ec_curve_ok(key);
	else
		ok = id == EVP_PKEY_ED25519;
	if (!ok) {
		ERR_clear_error();
		snprintf(err, errlen,
		    "the request's key is not accepted: use EC P-256 or "
		    "P-384, Ed25519, or RSA of at least %d bits",
		    CA_RSA_MIN_BITS);
		return PIM_EINVAL;
	}
	if (X509_REQ_verify(req, key) != 1) {
		ERR_clear_error();
		str_copy(err,
		    "the request's signature does not match its key; make a "
		    "new request",
		    errlen);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* "O=pimgate, OU=TARGET, CN=USER" and the CA's name as issuer. */
static bool
ca_client_names(X509 *x, X509 *issuer, const char *user, const char *target)
{
	X509_NAME *n = X509_get_subject_name(x);

	return ca_name_add(n, "O", "pimgate") && ca_name_add(n, "OU", target) &&
	       ca_name_add(n, "CN", user) &&
	       X509_set_issuer_name(x, X509_get_subject_name(issuer)) == 1;
}

static bool
ca_client_exts(X509 *x, X509 *issuer, bool rsa)
{
	return ca_add_ext(
		   x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
	       ca_add_ext(x, issuer, NID_key_usage,
		   rsa ? "critical,digitalSignature,keyEncipherment"
		       : "critical,digitalSignature") &&
	       ca_add_ext(x, issuer, NID_ext_key_usage, "clientAuth") &&
	       ca_add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
	       ca_add_ext(x, issuer, NID_authority_key_identifier, "keyid");
}

/* The client certificate for REQ's key, signed by CA. */
static X509 *
ca_client_make(struct ca *ca, X509_REQ *req, bool rsa, const char *user,
    const char *target, int64_t not_before, int64_t not_after)
{
	X509 *x = X509_new();

	if (x == NULL ||
	    !ca_set_basics(x, not_before - CA_SKEW_SECS, not_after) ||
	    !ca_client_names(x, ca->cert, user, target) ||
	    X509_set_pubkey(x, X509_REQ_get0_pubkey(req)) != 1 ||
	    !ca_client_exts(x, ca->cert, rsa) ||
	    X509_sign(x, ca->key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The names and window asked for must be sane. */
static int
ca_client_check(const char *user, const char *target, int64_t not_before,
    int64_t not_after, char *err, size_t errlen)
{
	if (user == NULL || target == NULL || !str_valid_name(user) ||
	    !str_valid_name(target)) {
		str_copy(err, "invalid user or target name", errlen);
		return PIM_EINVAL;
	}
	if (not_after <= not_before ||
	    not_after - not_before > CA_CERT_MAX_SECS) {
		snprintf(err, errlen,
		    "a certificate's validity must be between 1 second and "
		    "%d hours",
		    CA_CERT_MAX_SECS / 3600);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

int
ca_sign_client(struct ca *ca, const char *csr, size_t len, const char *user,
    const char *target, int64_t not_before, int64_t not_after, char **pem,
    char serial[STORE_SERIAL_MAX], char *err, size_t errlen)
{
	X509_REQ *req = NULL;
	X509 *x = NULL;
	bool rsa = false;
	int rc;

	*pem = NULL;
	serial[0] = '\0';
	rc = ca_client_check(user, target, not_before, not_after, err, errlen);
	if (rc == PIM_OK)
		rc = ca_csr_read(csr, len, &req, err, errlen);
	if (rc == PIM_OK)
		rc = ca_csr_key(req, &rsa, err, errlen);
	if (rc == PIM_OK)
		rc = ca_csr_subject(req, user, err, errlen);
	if (rc != PIM_OK)
		goto out;
	x = ca_client_make(ca, req, rsa, user, target, not_before, not_after);
	if (x == NULL || ca_serial_of(x, serial) != PIM_OK ||
	    !ca_x509_pem(x, pem)) {
		free(*pem);
		*pem = NULL;
		serial[0] = '\0';
		rc = ca_fail(
		    err, errlen, PIM_ECRYPTO, "cannot make the certificate");
	}
out:
	X509_free(x);
	X509_REQ_free(req);
	return rc;
}

int
ca_serial_of(const struct x509_st *x, char serial[STORE_SERIAL_MAX])
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
	BIGNUM *bn = ai != NULL ? ASN1_INTEGER_to_BN(ai, NULL) : NULL;
	char *hex = bn != NULL && !BN_is_negative(bn) ? BN_bn2hex(bn) : NULL;
	int rc = PIM_EINVAL;

	serial[0] = '\0';
	if (hex != NULL && strlen(hex) < STORE_SERIAL_MAX) {
		for (size_t i = 0; hex[i] != '\0'; i++)
			serial[i] = (char)tolower((unsigned char)hex[i]);
		serial[strlen(hex)] = '\0';
		rc = PIM_OK;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}
