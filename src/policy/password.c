/* Password hashing: Argon2id (RFC 9106) in its encoded form, which
 * carries its own salt and parameters, so they can be raised later
 * without invalidating stored hashes. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>

#include "pimgate/err.h"
#include "pimgate/policy.h"

#define PW_TIME_COST 2
#define PW_MEMORY_KIB 19456
#define PW_LANES 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

static int
password_salt(unsigned char *salt, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = getrandom(salt, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PIM_ERR;
		salt += n;
		len -= (size_t)n;
	}
	return PIM_OK;
}

int
policy_password_hash(const char *password, char *out, size_t size)
{
	unsigned char salt[PW_SALT_LEN];
	int rc;

	if (password == NULL || out == NULL || size == 0)
		return PIM_ERR;
	if (password_salt(salt, sizeof(salt)) != PIM_OK)
		return PIM_ERR;
	rc = argon2id_hash_encoded(PW_TIME_COST, PW_MEMORY_KIB, PW_LANES,
	    password, strlen(password), salt, sizeof(salt), PW_HASH_LEN, out,
	    size);
	if (rc != ARGON2_OK) {
		out[0] = '\0';
		return PIM_ERR;
	}
	return PIM_OK;
}

int
policy_password_verify(const char *hash, const char *password)
{
	if (hash == NULL || password == NULL)
		return PIM_EDENIED;
	if (argon2id_verify(hash, password, strlen(password)) != ARGON2_OK)
		return PIM_EDENIED;
	return PIM_OK;
}
