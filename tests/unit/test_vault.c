/* Unit tests for the vault: key files and AES-256-GCM sealing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/err.h"
#include "pimgate/vault.h"

struct fx {
	char dir[64];
	char key[128];
	struct vault *v;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-vault-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->key, sizeof(f->key), "%s/secret.key", f->dir);
	assert_int_equal(vault_keygen(f->key), PIM_OK);
	assert_int_equal(vault_open(f->key, &f->v), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char path[160];

	vault_close(f->v);
	unlink(f->key);
	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
seal(struct vault *v, const char *ctx, const char *text, unsigned char **out,
    size_t *len)
{
	assert_int_equal(vault_seal(v, ctx, (const unsigned char *)text,
			     strlen(text), out, len),
	    PIM_OK);
	assert_int_equal(*len, strlen(text) + 1 + 12 + 16);
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	static const char secret[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	unsigned char *blob = NULL, *blob2 = NULL, *plain = NULL;
	size_t len = 0, len2 = 0, plen = 0;

	seal(f->v, "target:db1", secret, &blob, &len);
	assert_int_equal(blob[0], 1);
	assert_null(memmem(blob, len, secret, strlen(secret)));
	assert_int_equal(
	    vault_unseal(f->v, "target:db1", blob, len, &plain, &plen), PIM_OK);
	assert_int_equal(plen, strlen(secret));
	assert_memory_equal(plain, secret, plen);
	assert_int_equal(plain[plen], '\0');
	vault_free_secret(plain, plen);

	/* A fresh nonce each time. */
	seal(f->v, "target:db1", secret, &blob2, &len2);
	assert_memory_not_equal(blob, blob2, len);
	free(blob);
	free(blob2);

	/* Empty secrets round-trip too. */
	seal(f->v, "", "", &blob, &len);
	assert_int_equal(
	    vault_unseal(f->v, "", blob, len, &plain, &plen), PIM_OK);
	assert_int_equal(plen, 0);
	vault_free_secret(plain, plen);
	free(blob);
}

static void
test_tamper(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL, *plain = NULL;
	size_t len = 0, plen = 0, i;

	seal(f->v, "target:db1", "hunter2", &blob, &len);
	/* Flip one bit anywhere: version, nonce, ciphertext or tag. */
	for (i = 0; i < len; i++) {
		blob[i] ^= 0x01;
		assert_int_equal(
		    vault_unseal(f->v, "target:db1", blob, len, &plain, &plen),
		    PIM_ECRYPTO);
		assert_null(plain);
		assert_int_equal(plen, 0);
		blob[i] ^= 0x01;
	}
	assert_int_equal(
	    vault_unseal(f->v, "target:db1", blob, len - 1, &plain, &plen),
	    PIM_ECRYPTO);
	assert_int_equal(
	    vault_unseal(f->v, "target:db1", blob, 5, &plain, &plen),
	    PIM_ECRYPTO);
	assert_int_equal(
	    vault_unseal(f->v, "target:db1", blob, len, &plain, &plen), PIM_OK);
	vault_free_secret(plain, plen);
	free(blob);
}

static void
test_wrong_context_or_key(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL, *plain = NULL;
	struct vault *other = NULL;
	size_t len = 0, plen = 0;
	char path[160];

	seal(f->v, "target:db1", "hunter2", &blob, &len);
	assert_int_equal(
	    vault_unseal(f->v, "target:db2", blob, len, &plain, &plen),
	    PIM_ECRYPTO);
	assert_int_equal(
	    vault_unseal(f->v, NULL, blob, len, &plain, &plen), PIM_ECRYPTO);
	assert_null(plain);

	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	assert_int_equal(vault_keygen(path), PIM_OK);
	assert_int_equal(vault_open(path, &other), PIM_OK);
	assert_int_equal(
	    vault_unseal(other, "target:db1", blob, len, &plain, &plen),
	    PIM_ECRYPTO);
	vault_close(other);
	free(blob);
}

static void
test_key_file(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	char path[160];
	struct stat sb;
	int fd;

	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, VAULT_KEY_LEN);
	assert_int_equal(vault_keygen(f->key), PIM_EEXIST);

	/* Readable by group or others: refused. */
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(vault_open(f->key, &v), PIM_EINVAL);
	assert_null(v);
	assert_int_equal(chmod(f->key, 0604), 0);
	assert_int_equal(vault_open(f->key, &v), PIM_EINVAL);
	assert_int_equal(chmod(f->key, 0400), 0);
	assert_int_equal(vault_open(f->key, &v), PIM_OK);
	vault_close(v);
	v = NULL;

	/* Wrong length, missing file. */
	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	assert_int_equal(vault_open(path, &v), PIM_EINVAL);
	unlink(path);
	assert_int_equal(vault_open(path, &v), PIM_ENOTFOUND);
	assert_null(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_wrong_context_or_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
