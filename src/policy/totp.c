/* TOTP (RFC 6238 over RFC 4226): HMAC-SHA1 of the 30-second time step,
 * dynamic truncation to 6 digits; base32 for authenticator apps; and the
 * check a code must pass, one step of skew either way, each step good
 * once. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/totp.h"

#include "policy_int.h"

#define TOTP_SHA1_LEN 20
#define TOTP_SKEW 1 /* steps accepted either side of now */

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
totp_new_secret(unsigned char *out, size_t len)
{
	if (out == NULL || len == 0 || len > INT_MAX)
		return PIM_ECRYPTO;
	if (RAND_bytes(out, (int)len) != 1)
		return PIM_ECRYPTO;
	return PIM_OK;
}

int64_t
totp_step(int64_t t)
{
	int64_t q = t / TOTP_STEP;

	/* Round towards minus infinity, so steps stay 30 s wide before
	 * the epoch too. */
	if (t % TOTP_STEP != 0 && t < 0)
		q--;
	return q;
}

/* The code of counter STEP (RFC 4226 HOTP) into CODE. */
static int
totp_hotp(const unsigned char *secret, size_t len, uint64_t step,
    char code[TOTP_DIGITS + 1])
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	uint32_t bin;
	unsigned off;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(step & 0xff);
		step >>= 8;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, secret, len, msg,
		sizeof(msg), mac, sizeof(mac), &maclen) == NULL ||
	    maclen != TOTP_SHA1_LEN)
		return PIM_ECRYPTO;

	/* Dynamic truncation: the low nibble of the last byte picks four
	 * bytes; their top bit is dropped. */
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	      ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	      (uint32_t)mac[off + 3];
	bin %= 1000000;
	for (int i = TOTP_DIGITS - 1; i >= 0; i--) {
		code[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	code[TOTP_DIGITS] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return PIM_OK;
}

int
totp_code(const unsigned char *secret, size_t len, int64_t t,
    char code[TOTP_DIGITS + 1])
{
	int64_t step = totp_step(t);

	if (secret == NULL || code == NULL || step < 0)
		return PIM_ECRYPTO;
	return totp_hotp(secret, len, (uint64_t)step, code);
}

size_t
totp_base32(const unsigned char *in, size_t len, char *out, size_t size)
{
	size_t need, n = 0;
	uint32_t bits = 0;
	int nbits = 0;

	if (len > (SIZE_MAX - 4) / 8)
		return 0;
	need = (len * 8 + 4) / 5;
	if (out == NULL || size <= need)
		return 0;
	for (size_t i = 0; i < len; i++) {
		bits = (bits << 8) | in[i];
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			out[n++] = totp_b32_alphabet[(bits >> nbits) & 0x1f];
		}
	}
	/* The last group is padded with zero bits on the right. */
	if (nbits > 0)
		out[n++] = totp_b32_alphabet[(bits << (5 - nbits)) & 0x1f];
	out[n] = '\0';
	return n;
}

/* True if CODE is exactly TOTP_DIGITS ASCII digits. */
static bool
totp_well_formed(const char *code)
{
	size_t i;

	if (code == NULL)
		return false;
	for (i = 0; i < TOTP_DIGITS; i++) {
		if (code[i] < '0' || code[i] > '9')
			return false;
	}
	return code[i] == '\0';
}

/* Compares CODE with the code of every step within the skew of NOW,
 * each time in constant time and without stopping at a match; *STEP is
 * the latest step that matched. PIM_OK, PIM_EDENIED or PIM_ECRYPTO. */
static int
totp_match(const unsigned char *secret, size_t len, const char *code,
    int64_t now, int64_t *step)
{
	char expect[TOTP_DIGITS + 1];
	int r = PIM_EDENIED;

	for (int k = -TOTP_SKEW; k <= TOTP_SKEW; k++) {
		int64_t t = now + (int64_t)k * TOTP_STEP;

		if (t < 0)
			continue;
		if (totp_code(secret, len, t, expect) != PIM_OK) {
			r = PIM_ECRYPTO;
			break;
		}
		if (CRYPTO_memcmp(expect, code, TOTP_DIGITS) == 0) {
			*step = totp_step(t);
			r = PIM_OK;
		}
	}
	OPENSSL_cleanse(expect, sizeof(expect));
	return r;
}

int
policy_totp_check(struct store *st, int64_t user_id,
    const unsigned char *secret, size_t len, const char *code, int64_t now,
    char *reason, size_t rlen)
{
	int64_t step = 0;
	int r;

	if (!totp_well_formed(code))
		return policy_refuse(reason, rlen,
		    "the code must be exactly %d digits", TOTP_DIGITS);
	if (secret == NULL || len == 0)
		return policy_refuse(
		    reason, rlen, "no authenticator is enrolled");

	r = totp_match(secret, len, code, now, &step);
	if (r == PIM_ECRYPTO)
		return policy_refuse(
		    reason, rlen, "the code cannot be checked right now");
	if (r != PIM_OK)
		return policy_refuse(
		    reason, rlen, "the code is wrong or expired");

	/* Each step is good once: the store refuses a step that is not
	 * later than the last one accepted. */
	r = store_user_totp_use(st, user_id, step);
	if (r == PIM_EEXIST)
		return policy_refuse(reason, rlen,
		    "this code was already used; wait for the next one");
	if (r == PIM_ENOTFOUND)
		return policy_refuse(reason, rlen, "the user no longer exists");
	if (r != PIM_OK)
		return policy_store_fail(st, r, reason, rlen);
	return PIM_OK;
}
