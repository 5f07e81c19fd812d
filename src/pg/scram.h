/* The client side of PostgreSQL's password authentication, used by the
 * gateway towards the upstream server: SCRAM-SHA-256 (RFC 5802, RFC 7677,
 * without channel binding: gs2 header "n,,") and the old md5 scheme.
 * Pure functions over buffers; no sockets. Secrets are wiped on free. */
#ifndef PIMGATE_PG_SCRAM_H
#define PIMGATE_PG_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#define SCRAM_MECH "SCRAM-SHA-256"
#define SCRAM_MSG_MAX 1024 /* room for any client message */

struct scram;

/* Starts an exchange for PASSWORD (copied) with a fresh random nonce, or
 * with NONCE (printable, no comma) when not NULL: for tests. NULL on
 * failure. */
struct scram *scram_new(const char *password, const char *nonce);
/* For tests: as scram_new, but with USER in the client-first-message
 * ("n=USER", escaped) where PostgreSQL wants it empty, as the RFC 7677
 * test vector has it. */
struct scram *scram_new_user(
    const char *password, const char *nonce, const char *user);
void scram_free(struct scram *s);
/* The client-first-message "n,,n=,r=NONCE" into OUT; returns its length,
 * or -1 if SIZE is too small. */
int scram_client_first(struct scram *s, char *out, size_t size);
/* Takes the server-first-message (LEN bytes, "r=...,s=...,i=...") and
 * writes the client-final-message into OUT. Returns its length, or -1
 * with a reason in ERR (the server's nonce does not extend ours, bad
 * salt or iteration count (1..100000), SIZE too small). */
int scram_client_final(struct scram *s, const char *server_first, size_t len,
    char *out, size_t size, char *err, size_t errlen);
/* Checks the server-final-message ("v=SIGNATURE", or "e=ERROR"): true
 * only if the server proved it knows the password. Any failure of the
 * three calls above ends the exchange: later calls on S fail too. */
bool scram_server_final(struct scram *s, const char *server_final, size_t len,
    char *err, size_t errlen);

/* The md5 answer: "md5" + hex(md5(hex(md5(PASSWORD + USER)) + SALT)),
 * 35 characters and a NUL into OUT; an empty string if MD5 is not
 * available. */
void pg_md5_password(const char *user, const char *password,
    const unsigned char salt[4], char out[36]);

#endif
