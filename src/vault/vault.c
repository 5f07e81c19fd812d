/* The vault: AES-256-GCM sealing of credentials under one key file.
 *
 * Blob layout (vault.h): version (1) | nonce (12) | ciphertext | tag (16).
 * The context string is the associated data. Plaintext buffers carry one
 * extra NUL byte after the secret (not counted in the length), so a
 * sealed password can be used as a C string. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pimgate/fd.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/vault.h"

#define VAULT_VERSION 1
#define VAULT_NONCE_LEN 12
#define VAULT_TAG_LEN 16
#define VAULT_OVERHEAD (1 + VAULT_NONCE_LEN + VAULT_TAG_LEN)

struct vault {
	unsigned char key[VAULT_KEY_LEN];
};

/* Reads exactly LEN bytes; PIM_EINVAL if the file is shorter. */
static int
vault_read_all(int fd, unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PIM_EIO;
		if (n == 0)
			return PIM_EINVAL;
		p += n;
		len -= (size_t)n;
	}
	return PIM_OK;
}

int
vault_keygen(const char *path)
{
	unsigned char key[VAULT_KEY_LEN];
	int fd = -1, r;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return PIM_ECRYPTO;
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = errno == EEXIST ? PIM_EEXIST : PIM_EIO;
		goto out;
	}

	r = fd_write_all(fd, key, sizeof(key)) == 0 ? PIM_OK : PIM_EIO;
	if (r == PIM_OK && fsync(fd) != 0)
		r = PIM_EIO;
	if (close(fd) != 0 && r == PIM_OK)
		r = PIM_EIO;
	if (r != PIM_OK)
		unlink(path);
out:
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/* Refuses a key file that is not a regular owner-only file of the right
 * size. */
static int
vault_check_file(int fd, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return PIM_EIO;
	if (!S_ISREG(sb.st_mode)) {
		log_warn("%s is not a regular file", path);
		return PIM_EINVAL;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		log_warn("%s is accessible by group or others", path);
		return PIM_EINVAL;
	}
	if (sb.st_size != VAULT_KEY_LEN) {
		log_warn("%s is not a %d-byte key", path, VAULT_KEY_LEN);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

int
vault_open(const char *path, struct vault **out)
{
	struct vault *v = NULL;
	int fd = -1, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? PIM_ENOTFOUND : PIM_EIO;
	r = vault_check_file(fd, path);
	if (r != PIM_OK)
		goto out;

	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		r = PIM_ENOMEM;
		goto out;
	}
	r = vault_read_all(fd, v->key, sizeof(v->key));
	if (r == PIM_OK) {
		*out = v;
		v = NULL;
	}
out:
	vault_close(v);
	close(fd);
	return r;
}

void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	OPENSSL_cleanse(v->key, sizeof(v->key));
	free(v);
}

/* Sets up CTX for AES-256-GCM in direction ENC with NONCE and binds
 * CONTEXT as associated data. */
static int
vault_cipher_init(EVP_CIPHER_CTX *ctx, int enc, const struct vault *v,
    const unsigned char *nonce, const char *context)
{
	size_t alen = strlen(context);
	int n;

	if (EVP_CipherInit_ex(
		ctx, EVP_aes_256_gcm(), NULL, v->key, nonce, enc) != 1)
		return PIM_ECRYPTO;
	if (alen > INT_MAX)
		return PIM_EINVAL;
	if (alen > 0 && EVP_CipherUpdate(ctx, NULL, &n,
			    (const unsigned char *)context, (int)alen) != 1)
		return PIM_ECRYPTO;
	return PIM_OK;
}

/* Runs LEN bytes of IN through CTX into OUT, then finishes. */
static int
vault_cipher_run(EVP_CIPHER_CTX *ctx, const unsigned char *in, size_t len,
    unsigned char *out)
{
	int n = 0, fin = 0;

	if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		return PIM_ECRYPTO;
	if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1)
		return PIM_ECRYPTO;
	if ((size_t)n + (size_t)fin != len)
		return PIM_ECRYPTO;
	return PIM_OK;
}

int
vault_seal(struct vault *v, const char *context, const unsigned char *in,
    size_t len, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL, *nonce, *body;
	int r;

	*out = NULL;
	*outlen = 0;
	if (len > INT_MAX - VAULT_OVERHEAD)
		return PIM_EINVAL;
	buf = malloc(len + VAULT_OVERHEAD);
	ctx = EVP_CIPHER_CTX_new();
	if (buf == NULL || ctx == NULL) {
		r = PIM_ENOMEM;
		goto out;
	}

	buf[0] = VAULT_VERSION;
	nonce = buf + 1;
	body = nonce + VAULT_NONCE_LEN;
	r = RAND_bytes(nonce, VAULT_NONCE_LEN) == 1 ? PIM_OK : PIM_ECRYPTO;
	if (r == PIM_OK)
		r = vault_cipher_init(ctx, 1, v, nonce, context ? context : "");
	if (r == PIM_OK)
		r = vault_cipher_run(ctx, in, len, body);
	if (r == PIM_OK && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
			       VAULT_TAG_LEN, body + len) != 1)
		r = PIM_ECRYPTO;
	if (r == PIM_OK) {
		*out = buf;
		*outlen = len + VAULT_OVERHEAD;
		buf = NULL;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return r;
}

/* Checks the blob's framing and hands back its parts. */
static int
vault_parse(const unsigned char *in, size_t len, const unsigned char **nonce,
    const unsigned char **body, size_t *bodylen)
{
	if (len < VAULT_OVERHEAD || len - VAULT_OVERHEAD > INT_MAX)
		return PIM_ECRYPTO;
	if (in[0] != VAULT_VERSION)
		return PIM_ECRYPTO;
	*nonce = in + 1;
	*body = *nonce + VAULT_NONCE_LEN;
	*bodylen = len - VAULT_OVERHEAD;
	return PIM_OK;
}

int
vault_unseal(struct vault *v, const char *context, const unsigned char *in,
    size_t len, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const unsigned char *nonce, *body;
	unsigned char tag[VAULT_TAG_LEN];
	unsigned char *buf = NULL;
	size_t blen = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((r = vault_parse(in, len, &nonce, &body, &blen)) != PIM_OK)
		return r;
	memcpy(tag, body + blen, sizeof(tag));
	buf = malloc(blen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (buf == NULL || ctx == NULL) {
		r = PIM_ENOMEM;
		goto out;
	}

	r = vault_cipher_init(ctx, 0, v, nonce, context ? context : "");
	if (r == PIM_OK && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
			       VAULT_TAG_LEN, tag) != 1)
		r = PIM_ECRYPTO;
	/* The tag is checked in the final step: nothing is released before. */
	if (r == PIM_OK)
		r = vault_cipher_run(ctx, body, blen, buf);
	if (r == PIM_OK) {
		buf[blen] = '\0';
		*out = buf;
		*outlen = blen;
		buf = NULL;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	if (buf != NULL)
		vault_free_secret(buf, blen + 1);
	return r;
}

void
vault_free_secret(unsigned char *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}
