/* The bastion's certificate authority. `pimctl init` creates it (an EC
 * P-256 key and a self-signed certificate) together with the TLS
 * certificate of the PostgreSQL listener; it then issues short-lived
 * client certificates, each for one user and one target, valid no longer
 * than the grant that allowed it. */
#ifndef PIMGATE_CA_H
#define PIMGATE_CA_H

#include <stddef.h>
#include <stdint.h>

#include "pimgate/store.h"

/* Longest a client certificate may be valid, whatever the grant. */
#define CA_CERT_MAX_SECS (12 * 3600)
/* Largest certificate signing request read (PEM text). */
#define CA_CSR_MAX (16 * 1024)

struct ca;

/* Creates the CA key (KEY_PATH, 0600) and its self-signed certificate
 * (CERT_PATH, 0644), valid ten years from NOW. PIM_EEXIST if either file
 * exists; PIM_EIO or PIM_ECRYPTO with a reason in ERR. */
int ca_create(const char *cert_path, const char *key_path, int64_t now,
    char *err, size_t errlen);
/* Loads the CA. PIM_OK, or PIM_EIO/PIM_EINVAL with a reason in ERR (a key
 * file readable by group or others is refused). */
int ca_load(const char *cert_path, const char *key_path, struct ca **out,
    char *err, size_t errlen);
void ca_free(struct ca *ca);
/* The CA certificate as PEM text (NUL-terminated, owned by CA). */
const char *ca_cert_pem(const struct ca *ca);

/* Issues the PostgreSQL listener's TLS certificate for NAMES (a
 * comma-separated list of DNS names and IP addresses; the first is also
 * the subject CN), valid two years from NOW, with a new EC P-256 key:
 * writes KEY_PATH (0600) and CERT_PATH (0644), replacing them. */
int ca_issue_server(struct ca *ca, const char *names, const char *cert_path,
    const char *key_path, int64_t now, char *err, size_t errlen);

/* Signs the PKCS#10 request CSR (PEM text, LEN bytes, at most CA_CSR_MAX)
 * as a client certificate "CN=USER, O=pimgate, OU=TARGET", valid from
 * NOT_BEFORE to NOT_AFTER, with extended key usage clientAuth and a new
 * random serial. CSR must hold exactly one PEM block, the request, with
 * only white space after it. The request must be well-formed, carry a
 * valid self-signature and an RSA (2048 bits or more), EC P-256/P-384 or
 * Ed25519 key. If its subject has a CN, every CN must be exactly USER (a
 * request made for another person is refused); a subject without a CN
 * is accepted, and the other names and extensions it asks for are
 * ignored. On PIM_OK *PEM is the certificate (malloc'd, NUL-terminated)
 * and SERIAL its serial in lower-case hex; PIM_EINVAL with a reason in
 * ERR for a bad request. */
int ca_sign_client(struct ca *ca, const char *csr, size_t len, const char *user,
    const char *target, int64_t not_before, int64_t not_after, char **pem,
    char serial[STORE_SERIAL_MAX], char *err, size_t errlen);

struct x509_st;
/* The serial of certificate X in lower-case hex, as store_cert keeps it.
 * PIM_OK or PIM_EINVAL. */
int ca_serial_of(const struct x509_st *x, char serial[STORE_SERIAL_MAX]);

#endif
