/* Internal to src/audit/: what the checkpoint files need of the key. */
#ifndef PIMGATE_AUDIT_INT_H
#define PIMGATE_AUDIT_INT_H

#include <stdbool.h>

#include <openssl/evp.h>

struct audit_key;

/* The OpenSSL key inside K (owned by K). */
EVP_PKEY *audit_key_pkey(const struct audit_key *k);
/* Whether K can sign (it holds the private key). */
bool audit_key_is_private(const struct audit_key *k);

#endif
