/* The bastion's own Ed25519 key, which signs checkpoints of the audit
 * chain. The private key lives in one owner-only PEM file (PKCS#8); an
 * auditor keeps the public half elsewhere and checks with it alone. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pimgate/fd.h"
#include "pimgate/audit.h"
#include "pimgate/err.h"

#include "audit_int.h"

/* A PEM key is a few hundred bytes; anything much larger is not one. */
#define KEY_FILE_MAX (16 * 1024)

struct audit_key {
	EVP_PKEY *pkey;
	bool private_key;
	char id[STORE_KEY_ID_MAX];
};

EVP_PKEY *
audit_key_pkey(const struct audit_key *k)
{
	return k->pkey;
}

bool
audit_key_is_private(const struct audit_key *k)
{
	return k->private_key;
}

/* Fills ERR with WHAT and OpenSSL's first queued error, if any. */
static int
key_fail(char *err, size_t errlen, int code, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s %s: %s", what, path, buf);
	} else {
		snprintf(err, errlen, "%s %s", what, path);
	}
	ERR_clear_error();
	return code;
}

/* Writes the PEM text of KEY to a new PATH (O_EXCL, 0600). */
static int
key_write_new(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	long len;
	int fd, r;

	if (b == NULL ||
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		BIO_free(b);
		return key_fail(err, errlen, PIM_ECRYPTO,
		    "cannot encode the audit signing key", path);
	}
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = errno == EEXIST ? PIM_EEXIST : PIM_EIO;
		snprintf(
		    err, errlen, "cannot create %s: %s", path, strerror(errno));
		BIO_free(b);
		return r;
	}
	r = fd_write_all(fd, pem, (size_t)len) == 0 ? PIM_OK : PIM_EIO;
	if (r == PIM_OK && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
		r = PIM_EIO;
	if (close(fd) != 0 && r == PIM_OK)
		r = PIM_EIO;
	BIO_free(b); /* a secure-heap BIO: cleared when freed */
	if (r != PIM_OK) {
		snprintf(err, errlen, "cannot write %s", path);
		unlink(path);
	}
	return r;
}

int
audit_key_create(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int r;

	if (key == NULL)
		return key_fail(err, errlen, PIM_ECRYPTO,
		    "cannot generate the audit signing key", path);
	r = key_write_new(path, key, err, errlen);
	EVP_PKEY_free(key);
	return r;
}

/* Checks that FD is a regular file and, when SECRET, that no one but
 * its owner can access it. */
static int
key_check_file(int fd, const char *path, bool secret, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return PIM_EINVAL;
	}
	if (secret && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen,
		    "%s is accessible by group or others (chmod 600 it)", path);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* Reads PATH (at most KEY_FILE_MAX bytes) into a new memory BIO (a
 * secure-heap one, cleared when freed). */
static int
key_read_file(
    const char *path, bool secret, BIO **out, char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX];
	ssize_t n = 0;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = errno == ENOENT ? PIM_ENOTFOUND : PIM_EIO;
		snprintf(
		    err, errlen, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	r = key_check_file(fd, path, secret, err, errlen);
	if (r == PIM_OK) {
		do
			n = read(fd, buf, sizeof(buf));
		while (n < 0 && errno == EINTR);
	}
	close(fd);
	if (r == PIM_OK && (n <= 0 || (size_t)n == sizeof(buf))) {
		snprintf(
		    err, errlen, "%s is empty, unreadable or too large", path);
		r = PIM_EINVAL;
	}
	if (r == PIM_OK) {
		*out = BIO_new(BIO_s_secmem());
		if (*out == NULL || BIO_write(*out, buf, (int)n) != (int)n) {
			BIO_free(*out);
			*out = NULL;
			r = PIM_ENOMEM;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* The key id: hex of the first 8 bytes of SHA-256(raw public key). */
static int
key_make_id(struct audit_key *k)
{
	unsigned char raw[32], md[32];
	size_t rawlen = sizeof(raw);
	unsigned int mdlen = 0;

	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 ||
	    EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(), NULL) != 1)
		return PIM_ECRYPTO;
	for (int i = 0; i < 8; i++)
		snprintf(k->id + 2 * i, 3, "%02x", md[i]);
	return PIM_OK;
}

/* Wraps PKEY (taken over) after checking that it is Ed25519. */
static int
key_wrap(EVP_PKEY *pkey, bool private_key, const char *path,
    struct audit_key **out, char *err, size_t errlen)
{
	struct audit_key *k;

	if (pkey == NULL)
		return key_fail(err, errlen, PIM_EINVAL, "no PEM key in", path);
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		snprintf(err, errlen, "%s is not an Ed25519 key", path);
		return PIM_EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return PIM_ENOMEM;
	}
	k->pkey = pkey;
	k->private_key = private_key;
	if (key_make_id(k) != PIM_OK) {
		audit_key_free(k);
		return key_fail(
		    err, errlen, PIM_ECRYPTO, "cannot read the key in", path);
	}
	*out = k;
	return PIM_OK;
}

/* No passphrase is ever asked for: the daemon runs unattended. */
static int
key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
audit_key_load(
    const char *path, struct audit_key **out, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	BIO *b = NULL;
	int r;

	*out = NULL;
	r = key_read_file(path, true, &b, err, errlen);
	if (r != PIM_OK)
		return r;
	pkey = PEM_read_bio_PrivateKey(b, NULL, key_no_passphrase, NULL);
	BIO_free(b);
	return key_wrap(pkey, true, path, out, err, errlen);
}

/* The public key in the first PEM block of B, or NULL with a reason in
 * ERR. A private key is refused by name rather than taken: its public
 * half is what an auditor should hold, and a private key belongs on
 * the bastion only. */
static EVP_PKEY *
key_read_public(BIO *b, const char *path, char *err, size_t errlen)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	long len = 0;

	if (PEM_read_bio(b, &name, &header, &data, &len) != 1) {
		key_fail(err, errlen, PIM_EINVAL, "no PEM key in", path);
		return NULL;
	}
	if (strstr(name, "PRIVATE KEY") != NULL) {
		snprintf(err, errlen,
		    "%s holds a private key; give its public half "
		    "(pimctl audit key > audit.pub prints it)",
		    path);
	} else if (strcmp(name, PEM_STRING_PUBLIC) != 0) {
		snprintf(err, errlen,
		    "%s holds a PEM \"%.40s\", not a "
		    "public key",
		    path, name);
	} else {
		p = data;
		pkey = d2i_PUBKEY(NULL, &p, len);
		if (pkey == NULL)
			key_fail(err, errlen, PIM_EINVAL,
			    "cannot read the public key in", path);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_clear_free(data, len > 0 ? (size_t)len : 0);
	return pkey;
}

int
audit_key_load_public(
    const char *path, struct audit_key **out, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	BIO *b = NULL;
	int r;

	*out = NULL;
	r = key_read_file(path, false, &b, err, errlen);
	if (r != PIM_OK)
		return r;
	pkey = key_read_public(b, path, err, errlen);
	BIO_free(b);
	if (pkey == NULL)
		return PIM_EINVAL;
	return key_wrap(pkey, false, path, out, err, errlen);
}

void
audit_key_free(struct audit_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *
audit_key_id(const struct audit_key *k)
{
	return k->id;
}

char *
audit_key_public_pem(const struct audit_key *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *pem = NULL;
	long n;

	if (b != NULL && PEM_write_bio_PUBKEY(b, k->pkey) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
	}
	BIO_free(b);
	return pem;
}
