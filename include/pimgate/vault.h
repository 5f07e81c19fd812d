/* The vault seals secrets (upstream private keys, passwords) with
 * AES-256-GCM under the key that `pimctl init` wrote. A sealed blob is:
 * version byte (1) | 12-byte nonce | ciphertext | 16-byte tag. The
 * CONTEXT string (e.g. "target:host1") is bound as associated data, so a
 * blob cannot be moved to another row. */
#ifndef PIMGATE_VAULT_H
#define PIMGATE_VAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "pimgate/store.h"

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

/* The sealing context of USER's authenticator secret ("mfa:USER"). */
int vault_mfa_context(const char *user, char *buf, size_t size);
/* Opens USER's authenticator (TOTP) secret from the store into *SECRET
 * (free with vault_free_secret); *USER_ID (if not NULL) is the user's id,
 * 0 if unknown. *AT_LOGIN (if not NULL) tells whether
 * the user must give a code at login. PIM_ENOTFOUND if the user is
 * unknown or has none enrolled; PIM_ESTORE; PIM_ECRYPTO if it cannot be
 * opened (V NULL, or the blob changed). */
int vault_open_mfa(struct vault *v, struct store *st, const char *user,
    int64_t *user_id, unsigned char **secret, size_t *len, bool *at_login);

#endif
