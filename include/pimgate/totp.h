/* TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, computed with
 * OpenSSL. Pure functions; the replay rule lives in policy_totp_check. */
#ifndef PIMGATE_TOTP_H
#define PIMGATE_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20 /* bytes of a new secret (160 bits) */
#define TOTP_STEP 30 /* seconds */
#define TOTP_DIGITS 6

/* Fills OUT with LEN random bytes. PIM_OK or PIM_ECRYPTO. */
int totp_new_secret(unsigned char *out, size_t len);
/* The code for time T (seconds since the epoch) as 6 digits plus NUL.
 * PIM_OK or PIM_ECRYPTO. */
int totp_code(const unsigned char *secret, size_t len, int64_t t,
    char code[TOTP_DIGITS + 1]);
/* The time step of T. */
int64_t totp_step(int64_t t);
/* RFC 4648 base32 without padding, as authenticator apps take it.
 * Returns the length written (not counting the NUL), 0 if SIZE is too
 * small. */
size_t totp_base32(const unsigned char *in, size_t len, char *out, size_t size);

#endif
