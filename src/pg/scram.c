/* The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL
 * speaks it, and the md5 password answer.
 *
 * The exchange is a small state machine; any failure ends it:
 *
 *   START --client_first--> FIRST_SENT --client_final--> FINAL_SENT
 *   FINAL_SENT --server_final (proof checks)--> DONE
 *   any state --error--> FAILED (every later call fails)
 *
 * Invariant: server_sig holds the expected server signature exactly in
 * FINAL_SENT. The password, the salted password and every key derived
 * from it are wiped as soon as they are no longer needed. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "scram.h"

#define SCRAM_KEY_LEN 32 /* SHA-256 output */
#define SCRAM_B64_KEY_LEN 44 /* base64 of a key, without the NUL */
#define SCRAM_NONCE_RAW 18 /* random bytes in a fresh nonce */
#define SCRAM_NONCE_MAX 255 /* longest nonce scram_new accepts */
#define SCRAM_SALT_MAX 128 /* longest salt (decoded) accepted */
/* PBKDF2 runs on the event loop: PostgreSQL's default is 4096; more
 * than this would stall every other session for a noticeable time. */
#define SCRAM_ITER_MAX 100000
#define SCRAM_ERRVAL_MAX 64 /* longest server error value shown */

enum scram_state {
	SCRAM_START,
	SCRAM_FIRST_SENT,
	SCRAM_FINAL_SENT,
	SCRAM_DONE,
	SCRAM_FAILED,
};

struct scram {
	enum scram_state state;
	char *password;
	size_t password_len;
	char *nonce; /* ours, printable, no comma */
	char *bare; /* client-first-message-bare: "n=USER,r=NONCE" */
	unsigned char server_sig[SCRAM_KEY_LEN];
};

/* The parts of a server-first-message. NONCE points into the message. */
struct scram_first {
	const char *nonce;
	size_t nonce_len;
	unsigned char salt[SCRAM_SALT_MAX];
	size_t salt_len;
	int iter;
};

/* One piece of a message fed to HMAC. */
struct scram_part {
	const void *p;
	size_t len;
};

static void
scram_seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* Ends the exchange after a failure, with MSG in ERR. */
static void
scram_fail(struct scram *s, char *err, size_t errlen, const char *msg)
{
	s->state = SCRAM_FAILED;
	OPENSSL_cleanse(s->server_sig, sizeof(s->server_sig));
	scram_seterr(err, errlen, msg);
}

/* True if every byte of P is printable ASCII other than a comma, as RFC
 * 5802 wants of a nonce, and there is at least one. */
static bool
scram_printable(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	}
	return true;
}

/* A fresh nonce: SCRAM_NONCE_RAW random bytes in base64. NULL on
 * failure. */
static char *
scram_random_nonce(void)
{
	unsigned char raw[SCRAM_NONCE_RAW];
	char *nonce;

	nonce = malloc(4 * ((SCRAM_NONCE_RAW + 2) / 3) + 1);
	if (nonce == NULL)
		return NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		free(nonce);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)nonce, raw, sizeof(raw));
	return nonce;
}

/* Length of USER as a saslname: ',' and '=' take three bytes each. */
static size_t
scram_saslname_len(const char *user)
{
	size_t n = 0;

	for (; *user != '\0'; user++)
		n += (*user == ',' || *user == '=') ? 3 : 1;
	return n;
}

/* Writes USER as a saslname at OUT (room for scram_saslname_len bytes);
 * returns the end. */
static char *
scram_saslname_put(char *out, const char *user)
{
	for (; *user != '\0'; user++) {
		if (*user == ',') {
			memcpy(out, "=2C", 3);
			out += 3;
		} else if (*user == '=') {
			memcpy(out, "=3D", 3);
			out += 3;
		} else {
			*out++ = *user;
		}
	}
	return out;
}

/* Builds "n=USER,r=NONCE" for S. */
static bool
scram_build_bare(struct scram *s, const char *user)
{
	size_t ulen = scram_saslname_len(user);
	size_t nlen = strlen(s->nonce);
	char *p;

	s->bare = malloc(2 + ulen + 3 + nlen + 1);
	if (s->bare == NULL)
		return false;
	p = s->bare;
	memcpy(p, "n=", 2);
	p = scram_saslname_put(p + 2, user);
	memcpy(p, ",r=", 3);
	memcpy(p + 3, s->nonce, nlen + 1);
	return true;
}

/* Copies PASSWORD into S, or sets S's nonce from NONCE (or at random). */
static bool
scram_set_secrets(struct scram *s, const char *password, const char *nonce)
{
	s->password_len = strlen(password);
	if (s->password_len > INT_MAX)
		return false;
	s->password = malloc(s->password_len + 1);
	if (s->password == NULL)
		return false;
	memcpy(s->password, password, s->password_len + 1);

	if (nonce == NULL) {
		s->nonce = scram_random_nonce();
		return s->nonce != NULL;
	}
	if (strlen(nonce) > SCRAM_NONCE_MAX ||
	    !scram_printable(nonce, strlen(nonce)))
		return false;
	s->nonce = strdup(nonce);
	return s->nonce != NULL;
}

struct scram *
scram_new_user(const char *password, const char *nonce, const char *user)
{
	struct scram *s;

	if (password == NULL || user == NULL)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->state = SCRAM_START;
	if (!scram_set_secrets(s, password, nonce) ||
	    !scram_build_bare(s, user)) {
		scram_free(s);
		return NULL;
	}
	return s;
}

struct scram *
scram_new(const char *password, const char *nonce)
{
	/* PostgreSQL takes the user from the startup packet, not here. */
	return scram_new_user(password, nonce, "");
}

void
scram_free(struct scram *s)
{
	if (s == NULL)
		return;
	if (s->password != NULL) {
		OPENSSL_cleanse(s->password, s->password_len);
		free(s->password);
	}
	free(s->nonce);
	free(s->bare);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

int
scram_client_first(struct scram *s, char *out, size_t size)
{
	size_t len = 3 + strlen(s->bare);

	if (s->state != SCRAM_START || len + 1 > size || len > INT_MAX)
		return -1;
	memcpy(out, "n,,", 3);
	memcpy(out + 3, s->bare, len - 3 + 1);
	s->state = SCRAM_FIRST_SENT;
	return (int)len;
}

/* Takes the attribute NAME ("x=value") at *P, before END: its value goes
 * to VAL and VLEN, *P moves past the value and its comma, if any. The
 * value must not be empty. */
static bool
scram_attr(
    const char **p, const char *end, char name, const char **val, size_t *vlen)
{
	const char *start = *p;
	const char *comma;

	if (end - start < 3 || start[0] != name || start[1] != '=')
		return false;
	start += 2;
	comma = memchr(start, ',', (size_t)(end - start));
	*val = start;
	*vlen = (size_t)((comma != NULL ? comma : end) - start);
	*p = comma != NULL ? comma + 1 : end;
	return *vlen > 0;
}

/* The value of base64 digit C, or -1. */
static int
scram_b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes the padded base64 IN (LEN bytes) into OUT (SIZE bytes) and
 * sets *OUTLEN. Refuses anything but the canonical form: the strict
 * alphabet, at most two '=' at the end, zero bits before them. An empty
 * result is refused too. */
static bool
scram_b64_decode(
    const char *in, size_t len, unsigned char *out, size_t size, size_t *outlen)
{
	size_t i, pad = 0;
	int last;

	if (len == 0 || len % 4 != 0 || len > INT_MAX || len / 4 * 3 > size)
		return false;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		if (scram_b64_val(in[i]) < 0)
			return false;
	}
	/* The digit before the padding carries 2 or 4 unused bits. */
	last = pad > 0 ? scram_b64_val(in[len - pad - 1]) : 0;
	if (last < 0 || (pad == 1 && (last & 0x3) != 0) ||
	    (pad == 2 && (last & 0xf) != 0))
		return false;
	if (EVP_DecodeBlock(out, (const unsigned char *)in, (int)len) < 0)
		return false;
	*outlen = len / 4 * 3 - pad;
	return *outlen > 0;
}

/* Parses an iteration count: a decimal without a leading zero, within
 * 1..SCRAM_ITER_MAX. */
static bool
scram_iter(const char *p, size_t len, int *iter)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9 || p[0] == '0')
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > SCRAM_ITER_MAX)
		return false;
	*iter = (int)v;
	return true;
}

/* Parses "r=NONCE,s=SALT,i=COUNT" (exactly, in that order) into F and
 * checks it against S's nonce. Returns NULL, or the reason. */
static const char *
scram_parse_first(
    const struct scram *s, const char *msg, size_t len, struct scram_first *f)
{
	const char *p = msg, *end = msg + len, *val;
	size_t vlen, ours = strlen(s->nonce);

	if (memchr(msg, '\0', len) != NULL)
		return "server-first-message is garbled";
	if (!scram_attr(&p, end, 'r', &f->nonce, &f->nonce_len) ||
	    !scram_printable(f->nonce, f->nonce_len))
		return "server-first-message has no valid nonce";
	if (f->nonce_len <= ours || memcmp(f->nonce, s->nonce, ours) != 0)
		return "server nonce does not extend the client nonce";
	if (!scram_attr(&p, end, 's', &val, &vlen) ||
	    !scram_b64_decode(
		val, vlen, f->salt, sizeof(f->salt), &f->salt_len))
		return "server-first-message has no valid salt";
	if (!scram_attr(&p, end, 'i', &val, &vlen) ||
	    !scram_iter(val, vlen, &f->iter))
		return "server-first-message has no valid iteration count";
	if (p != end || msg[len - 1] == ',')
		return "server-first-message has trailing data";
	return NULL;
}

/* HMAC-SHA-256 under KEY of the N PARTS, one after the other. */
static bool
scram_hmac(const unsigned char *key, size_t keylen,
    const struct scram_part *parts, size_t n, unsigned char out[SCRAM_KEY_LEN])
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t i, outlen = 0;
	bool ok = false;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	if (EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		if (EVP_MAC_update(ctx, parts[i].p, parts[i].len) != 1)
			goto out;
	}
	ok = EVP_MAC_final(ctx, out, &outlen, SCRAM_KEY_LEN) == 1 &&
	     outlen == SCRAM_KEY_LEN;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* HMAC-SHA-256 under KEY of the C string TEXT. */
static bool
scram_hmac_str(const unsigned char key[SCRAM_KEY_LEN], const char *text,
    unsigned char out[SCRAM_KEY_LEN])
{
	struct scram_part part = {text, strlen(text)};

	return scram_hmac(key, SCRAM_KEY_LEN, &part, 1, out);
}

/* Computes the client proof for the AuthMessage in AUTH (N parts) and
 * keeps the server signature S must later see. */
static bool
scram_prove(struct scram *s, const struct scram_first *f,
    const struct scram_part *auth, size_t n, unsigned char proof[SCRAM_KEY_LEN])
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	unsigned char stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	unsigned int mdlen = 0;
	bool ok = false;
	size_t i;

	if (PKCS5_PBKDF2_HMAC(s->password, (int)s->password_len, f->salt,
		(int)f->salt_len, f->iter, EVP_sha256(), SCRAM_KEY_LEN,
		salted) != 1)
		goto out;
	if (!scram_hmac_str(salted, "Client Key", client_key) ||
	    !scram_hmac_str(salted, "Server Key", server_key))
		goto out;
	if (EVP_Digest(client_key, SCRAM_KEY_LEN, stored_key, &mdlen,
		EVP_sha256(), NULL) != 1 ||
	    mdlen != SCRAM_KEY_LEN)
		goto out;
	/* proof = ClientKey XOR HMAC(StoredKey, AuthMessage) */
	if (!scram_hmac(stored_key, SCRAM_KEY_LEN, auth, n, proof) ||
	    !scram_hmac(server_key, SCRAM_KEY_LEN, auth, n, s->server_sig))
		goto out;
	for (i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] ^= client_key[i];
	ok = true;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(stored_key, sizeof(stored_key));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	return ok;
}

int
scram_client_final(struct scram *s, const char *server_first, size_t len,
    char *out, size_t size, char *err, size_t errlen)
{
	static const char head[] = "c=biws,r=";
	unsigned char proof[SCRAM_KEY_LEN];
	struct scram_first f;
	struct scram_part auth[5];
	const char *why;
	size_t n, need;

	if (s->state != SCRAM_FIRST_SENT) {
		scram_fail(s, err, errlen, "SCRAM exchange out of order");
		return -1;
	}
	why = scram_parse_first(s, server_first, len, &f);
	if (why != NULL) {
		scram_fail(s, err, errlen, why);
		return -1;
	}
	need = sizeof(head) - 1 + f.nonce_len + 3 + SCRAM_B64_KEY_LEN + 1;
	if (need > size || need > INT_MAX) {
		scram_fail(s, err, errlen, "client-final-message too long");
		return -1;
	}

	/* client-final-message-without-proof, then the AuthMessage. */
	n = sizeof(head) - 1;
	memcpy(out, head, n);
	memcpy(out + n, f.nonce, f.nonce_len);
	n += f.nonce_len;
	auth[0] = (struct scram_part){s->bare, strlen(s->bare)};
	auth[1] = (struct scram_part){",", 1};
	auth[2] = (struct scram_part){server_first, len};
	auth[3] = (struct scram_part){",", 1};
	auth[4] = (struct scram_part){out, n};
	if (!scram_prove(s, &f, auth, 5, proof)) {
		OPENSSL_cleanse(proof, sizeof(proof));
		scram_fail(s, err, errlen, "SCRAM key derivation failed");
		return -1;
	}

	memcpy(out + n, ",p=", 3);
	n += 3;
	n += (size_t)EVP_EncodeBlock(
	    (unsigned char *)out + n, proof, SCRAM_KEY_LEN);
	OPENSSL_cleanse(proof, sizeof(proof));
	s->state = SCRAM_FINAL_SENT;
	return (int)n;
}

/* True if P (LEN bytes) is a plausible server-error-value: lower-case
 * letters, digits and '-', as RFC 5802 lists them. */
static bool
scram_errval_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > SCRAM_ERRVAL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
			(p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return false;
	}
	return true;
}

/* Puts the server's "e=" refusal into ERR, naming its value only when
 * it looks like one of the RFC's. */
static void
scram_server_error(const char *msg, size_t len, char *err, size_t errlen)
{
	if (err == NULL || errlen == 0)
		return;
	if (scram_errval_ok(msg + 2, len - 2))
		snprintf(err, errlen, "server refused SCRAM: %.*s",
		    (int)(len - 2), msg + 2);
	else
		snprintf(err, errlen, "server refused SCRAM");
}

bool
scram_server_final(struct scram *s, const char *server_final, size_t len,
    char *err, size_t errlen)
{
	unsigned char sig[3 * (SCRAM_B64_KEY_LEN / 4)];
	size_t siglen = 0;
	bool ok;

	if (s->state != SCRAM_FINAL_SENT) {
		scram_fail(s, err, errlen, "SCRAM exchange out of order");
		return false;
	}
	if (len >= 2 && memcmp(server_final, "e=", 2) == 0) {
		scram_server_error(server_final, len, err, errlen);
		scram_fail(s, NULL, 0, NULL);
		return false;
	}
	if (len != 2 + SCRAM_B64_KEY_LEN ||
	    memcmp(server_final, "v=", 2) != 0 ||
	    !scram_b64_decode(
		server_final + 2, len - 2, sig, sizeof(sig), &siglen) ||
	    siglen != SCRAM_KEY_LEN) {
		scram_fail(s, err, errlen, "server-final-message is garbled");
		return false;
	}
	ok = CRYPTO_memcmp(sig, s->server_sig, SCRAM_KEY_LEN) == 0;
	if (!ok) {
		scram_fail(s, err, errlen, "server signature does not match");
		return false;
	}
	OPENSSL_cleanse(s->server_sig, sizeof(s->server_sig));
	s->state = SCRAM_DONE;
	return true;
}

/* Lower-case hex of the MD5 of the N PARTS into OUT (33 bytes). */
static bool
pg_md5_hex(const struct scram_part *parts, size_t n, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	bool ok;
	size_t i;

	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
	EVP_MD_CTX_free(ctx);
	for (i = 0; ok && i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[32] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

void
pg_md5_password(const char *user, const char *password,
    const unsigned char salt[4], char out[36])
{
	char inner[33];
	struct scram_part parts[2];

	/* hex(md5(password || user)) is password-equivalent: wiped below. */
	parts[0] = (struct scram_part){password, strlen(password)};
	parts[1] = (struct scram_part){user, strlen(user)};
	out[0] = '\0';
	if (pg_md5_hex(parts, 2, inner)) {
		parts[0] = (struct scram_part){inner, 32};
		parts[1] = (struct scram_part){salt, 4};
		memcpy(out, "md5", 3);
		if (!pg_md5_hex(parts, 2, out + 3))
			out[0] = '\0';
	}
	OPENSSL_cleanse(inner, sizeof(inner));
}
