/* Internal to the CA (ca.c, ca_sign.c): the loaded CA and the pieces of
 * certificate building both files use. Nothing outside src/vault/
 * includes this header. */
#ifndef PIMGATE_CA_INT_H
#define PIMGATE_CA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pimgate/ca.h"

/* Certificates start this long before the instant asked for, so that a
 * peer whose clock is a little behind already accepts them. */
#define CA_SKEW_SECS 60

struct ca {
	X509 *cert;
	EVP_PKEY *key;
	char *pem; /* the certificate as PEM text */
};

/* Writes "WHAT: OpenSSL's last error" (or WHAT alone) into ERR, clears
 * OpenSSL's error queue and returns CODE. */
int ca_fail(char *err, size_t errlen, int code, const char *what);

/* Adds extension NID with VALUE (openssl config syntax, "critical,..."
 * allowed) to X, issued by ISSUER (for the authority key identifier). */
bool ca_add_ext(X509 *x, X509 *issuer, int nid, const char *value);
/* Version 3, a new random positive 127-bit serial, validity [FROM, TO]. */
bool ca_set_basics(X509 *x, int64_t from, int64_t to);
/* Adds a "NAME=VALUE" entry (UTF-8) to name N. */
bool ca_name_add(X509_NAME *n, const char *field, const char *value);

/* X as PEM text (malloc'd, NUL-terminated) into *PEM. */
bool ca_x509_pem(X509 *x, char **pem);

#endif
