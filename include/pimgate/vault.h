/* The vault seals secrets (upstream private keys, passwords) with
 * AES-256-GCM under the key that `pimctl init` wrote. A sealed blob is:
 * version byte (1) | 12-byte nonce | ciphertext | 16-byte tag. The
 * CONTEXT string (e.g. "target:host1") is bound as associated data, so a
 * blob cannot be moved to another row. */
#ifndef PIMGATE_VAULT_H
#define PIMGATE_VAULT_H

#include <stddef.h>

#define VAULT_KEY_LEN 32

struct vault;

/* Writes a fresh random key to PATH (0600); EEXIST if PATH exists. */
int vault_keygen(const char *path);
/* Loads the key at PATH; refuses (PIM_EINVAL) a file readable by group or
 * others, or of the wrong length. */
int vault_open(const char *path, struct vault **out);
void vault_close(struct vault *v);

/* Output buffers are malloc'd; the caller frees them (plaintext with
 * vault_free_secret, which wipes it first). */
int vault_seal(struct vault *v, const char *context, const unsigned char *in,
    size_t len, unsigned char **out, size_t *outlen);
/* PIM_ECRYPTO if the blob was changed or sealed under another context.
 * *OUT holds *OUTLEN bytes followed by a NUL (not counted), so a text
 * secret can be used as a C string. */
int vault_unseal(struct vault *v, const char *context, const unsigned char *in,
    size_t len, unsigned char **out, size_t *outlen);
void vault_free_secret(unsigned char *p, size_t len);

#endif
