/* Signed checkpoints of the audit chain's head.
 *
 * The chain alone shows an event changed, removed or inserted anywhere
 * but at the end: whoever can write the database can cut off the newest
 * events and the rest still links. A checkpoint is the bastion's signed
 * statement "event #ID, with hash H, was the newest of COUNT events at
 * time T"; kept in the store and, as a log line, off it (syslog), it
 * shows a tail cut off later. What is signed is a fixed text:
 *
 *   pimgate-audit-checkpoint-v1\n head=ID\n hash=H\n count=COUNT\n
 *   ts_ms=T\n key=KEYID\n   (without the spaces)
 *
 * with Ed25519 (no separate digest), the signature kept in base64. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pimgate/audit.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/str.h"

#include "audit_int.h"

#define CP_TAG "pimgate-audit-checkpoint-v1"
#define CP_SIG_LEN 64
#define CP_SIG_B64_LEN 88 /* 4 * ceil(64 / 3) */
#define CP_MSG_MAX 256

/* The text that is signed. */
static size_t
cp_message(const struct store_checkpoint *cp, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	    CP_TAG "\nhead=%" PRId64 "\nhash=%s\ncount=%" PRId64
		   "\nts_ms=%" PRId64 "\nkey=%s\n",
	    cp->head_id, cp->head_hash, cp->count, cp->ts_ms, cp->key_id);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

int
audit_checkpoint_sign(const struct audit_key *k, struct store_checkpoint *cp)
{
	unsigned char sig[CP_SIG_LEN];
	size_t siglen = sizeof(sig), len;
	char msg[CP_MSG_MAX];
	EVP_MD_CTX *md;
	int ok;

	if (!audit_key_is_private(k))
		return PIM_ECRYPTO;
	str_copy(cp->key_id, audit_key_id(k), sizeof(cp->key_id));
	len = cp_message(cp, msg, sizeof(msg));
	md = EVP_MD_CTX_new();
	ok = md != NULL && len > 0 &&
	     EVP_DigestSignInit(md, NULL, NULL, NULL, audit_key_pkey(k)) == 1 &&
	     EVP_DigestSign(
		 md, sig, &siglen, (const unsigned char *)msg, len) == 1 &&
	     siglen == CP_SIG_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return PIM_ECRYPTO;
	EVP_EncodeBlock((unsigned char *)cp->sig, sig, CP_SIG_LEN);
	return PIM_OK;
}

/* Decodes the base64 signature of CP; false if it is not exactly the
 * canonical encoding of 64 bytes. */
static bool
cp_sig_decode(const char *b64, unsigned char sig[CP_SIG_LEN])
{
	unsigned char raw[CP_SIG_B64_LEN];
	char again[CP_SIG_B64_LEN + 1];

	if (strlen(b64) != CP_SIG_B64_LEN ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789+/=") != CP_SIG_B64_LEN)
		return false;
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64, CP_SIG_B64_LEN) !=
	    CP_SIG_LEN + 2)
		return false;
	memcpy(sig, raw, CP_SIG_LEN);
	EVP_EncodeBlock((unsigned char *)again, sig, CP_SIG_LEN);
	return strcmp(again, b64) == 0;
}

int
audit_checkpoint_check(
    const struct audit_key *k, const struct store_checkpoint *cp)
{
	unsigned char sig[CP_SIG_LEN];
	char msg[CP_MSG_MAX];
	EVP_MD_CTX *md;
	size_t len;
	int r;

	if (strcmp(cp->key_id, audit_key_id(k)) != 0 ||
	    !cp_sig_decode(cp->sig, sig))
		return PIM_EDENIED;
	len = cp_message(cp, msg, sizeof(msg));
	if (len == 0)
		return PIM_EDENIED;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(
			      md, NULL, NULL, NULL, audit_key_pkey(k)) != 1) {
		EVP_MD_CTX_free(md);
		return PIM_ECRYPTO;
	}
	r = EVP_DigestVerify(
		md, sig, sizeof(sig), (const unsigned char *)msg, len) == 1
		? PIM_OK
		: PIM_EDENIED;
	EVP_MD_CTX_free(md);
	return r;
}

void
audit_checkpoint_line(const struct store_checkpoint *cp, char *buf, size_t size)
{
	char when[32];

	instant_format(cp->ts_ms / 1000, when, sizeof(when));
	snprintf(buf, size,
	    AUDIT_CHECKPOINT_TAG " id=%" PRId64 " head=%" PRId64
				 " hash=%s count=%" PRId64 " ts_ms=%" PRId64
				 " time=%s key=%s sig=%s",
	    cp->id, cp->head_id, cp->head_hash[0] ? cp->head_hash : "-",
	    cp->count, cp->ts_ms, when, cp->key_id, cp->sig);
}

/* ---- reading a checkpoint line back ---- */

static bool
cp_parse_int(const char *v, int64_t *out)
{
	char *end;
	long long n;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = n;
	return true;
}

/* Copies V into DST (SIZE) if it is made only of ALLOWED; "-" is "". */
static bool
cp_parse_word(const char *v, const char *allowed, char *dst, size_t size)
{
	if (strcmp(v, "-") == 0)
		v = "";
	if (strspn(v, allowed) != strlen(v) || strlen(v) >= size)
		return false;
	str_copy(dst, v, size);
	return true;
}

#define CP_HEX "0123456789abcdef"
#define CP_B64                                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" \
	"+/="

/* Fields seen, as bits, so that each required one is there once. */
enum {
	CP_F_HEAD = 1,
	CP_F_HASH = 2,
	CP_F_COUNT = 4,
	CP_F_TS = 8,
	CP_F_KEY = 16,
	CP_F_SIG = 32,
	CP_F_ALL = 63
};

/* Applies one NAME=VALUE field; returns its bit, 0 for a field that is
 * not needed, -1 if the value is malformed. */
static int
cp_parse_field(const char *name, const char *v, struct store_checkpoint *cp)
{
	if (strcmp(name, "id") == 0)
		return cp_parse_int(v, &cp->id) ? 0 : -1;
	if (strcmp(name, "head") == 0)
		return cp_parse_int(v, &cp->head_id) ? CP_F_HEAD : -1;
	if (strcmp(name, "hash") == 0)
		return cp_parse_word(
			   v, CP_HEX, cp->head_hash, sizeof(cp->head_hash))
			   ? CP_F_HASH
			   : -1;
	if (strcmp(name, "count") == 0)
		return cp_parse_int(v, &cp->count) ? CP_F_COUNT : -1;
	if (strcmp(name, "ts_ms") == 0)
		return cp_parse_int(v, &cp->ts_ms) ? CP_F_TS : -1;
	if (strcmp(name, "key") == 0)
		return cp_parse_word(v, CP_HEX, cp->key_id, sizeof(cp->key_id))
			   ? CP_F_KEY
			   : -1;
	if (strcmp(name, "sig") == 0)
		return cp_parse_word(v, CP_B64, cp->sig, sizeof(cp->sig))
			   ? CP_F_SIG
			   : -1;
	return 0; /* time=, and fields a later version may add */
}

/* Where the checkpoint starts in LINE: the tag at the start of the line
 * or of a log message (after ": "), not inside some other text. */
static const char *
cp_find_tag(const char *line)
{
	const char *p = line;

	while ((p = strstr(p, AUDIT_CHECKPOINT_TAG " ")) != NULL) {
		if (p == line ||
		    (p - line >= 2 && p[-2] == ':' && p[-1] == ' '))
			return p;
		p++;
	}
	return NULL;
}

int
audit_checkpoint_parse(const char *line, struct store_checkpoint *cp)
{
	const char *p = cp_find_tag(line);
	char copy[AUDIT_CHECKPOINT_LINE_MAX + 1];
	char *save = NULL, *tok, *eq;
	int seen = 0, bit;

	memset(cp, 0, sizeof(*cp));
	if (p == NULL)
		return PIM_ENOTFOUND;
	p += strlen(AUDIT_CHECKPOINT_TAG " ");
	if (strlen(p) > AUDIT_CHECKPOINT_LINE_MAX)
		return PIM_EINVAL;
	str_copy(copy, p, sizeof(copy));
	for (tok = strtok_r(copy, " \t\r\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL)
			return PIM_EINVAL;
		*eq = '\0';
		bit = cp_parse_field(tok, eq + 1, cp);
		if (bit < 0 || (seen & bit) != 0)
			return PIM_EINVAL;
		seen |= bit;
	}
	return seen == CP_F_ALL ? PIM_OK : PIM_EINVAL;
}
