/* SSH public keys for pimctl: reading key files and known_hosts lines,
 * writing the stored "type base64" form, fingerprints. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pimgate/str.h"

#include "cli.h"

#define KEY_FILE_MAX (64 * 1024)
#define KEY_RSA_MIN_BITS 2048

int
cli_key_line(ssh_key key, char *line, size_t size)
{
	const char *type = ssh_key_type_to_char(ssh_key_type(key));
	char *b64 = NULL;
	bool ok;

	if (type == NULL || ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return cli_fail("cannot encode the public key");
	ok = str_printf(line, size, "%s %s", type, b64);
	ssh_string_free_char(b64);
	if (!ok)
		return cli_fail("the public key is too long");
	return CLI_OK;
}

int
cli_key_fingerprint(ssh_key key, char *buf, size_t size)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp;

	if (ssh_get_publickey_hash(
		key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != SSH_OK)
		return CLI_FAIL;
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	if (fp == NULL)
		return CLI_FAIL;
	str_copy(buf, fp, size);
	ssh_string_free_char(fp);
	return CLI_OK;
}

/* Fails with a reason if PATH cannot be read. */
static int
cli_key_readable(const char *path)
{
	if (access(path, R_OK) != 0)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	return CLI_OK;
}

/* Reads PATH, at most KEY_FILE_MAX bytes of text, into *DATA
 * (NUL-terminated, KEY_FILE_MAX + 1 bytes allocated). */
static int
cli_key_slurp(const char *path, char **data)
{
	FILE *f = fopen(path, "r");
	size_t n;
	bool failed;

	if (f == NULL)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	*data = malloc(KEY_FILE_MAX + 1);
	if (*data == NULL) {
		fclose(f);
		return cli_fail("out of memory");
	}
	n = fread(*data, 1, KEY_FILE_MAX + 1, f);
	failed = ferror(f) != 0;
	fclose(f);
	if (failed)
		return cli_fail("cannot read %s", path);
	if (n > KEY_FILE_MAX)
		return cli_fail("%s is too large for a public key file", path);
	if (memchr(*data, '\0', n) != NULL)
		return cli_fail("%s is not an OpenSSH public key", path);
	(*data)[n] = '\0';
	return CLI_OK;
}

/* The next line of *REST that is neither blank nor a comment, with its
 * surrounding blanks removed; NULL at the end. */
static char *
cli_key_next_line(char **rest)
{
	char *line;

	while ((line = strsep(rest, "\n")) != NULL) {
		size_t n;

		line += strspn(line, " \t");
		n = strlen(line);
		while (n > 0 && strchr(" \t\r", line[n - 1]) != NULL)
			line[--n] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			return line;
	}
	return NULL;
}

/* Parses public key line LINE ("type base64 [comment]") of PATH into
 * *KEY; certificates and DSA keys are refused. */
static int
cli_key_parse_pub(const char *path, char *line, ssh_key *key)
{
	char *save = NULL;
	char *type = strtok_r(line, " \t", &save);
	char *b64 = strtok_r(NULL, " \t", &save);
	enum ssh_keytypes_e kt;

	if (type != NULL && strcmp(type, "ssh-dss") == 0)
		return cli_fail("%s is a DSA key, which is too weak; use an "
				"ed25519 key (ssh-keygen -t ed25519)",
		    path);
	if (type != NULL && strstr(type, "-cert-") != NULL)
		return cli_fail(
		    "%s is a certificate; give a plain public key", path);
	kt = type != NULL ? ssh_key_type_from_name(type) : SSH_KEYTYPE_UNKNOWN;
	if (b64 == NULL || kt == SSH_KEYTYPE_UNKNOWN ||
	    ssh_pki_import_pubkey_base64(b64, kt, key) != SSH_OK ||
	    ssh_key_type(*key) != kt)
		return cli_fail("%s is not an OpenSSH public key", path);
	return CLI_OK;
}

/* Finds the one key of the text DATA of PATH: a private key file and a
 * file with more than one key line are refused. */
static int
cli_key_from_text(const char *path, char *data, ssh_key *key)
{
	char *rest = data;
	char *line;
	int rc;

	if (strstr(data, "PRIVATE KEY-----") != NULL ||
	    strstr(data, "PuTTY-User-Key-File") != NULL)
		return cli_fail("%s is a private key file; give the public "
				"key (the .pub file)",
		    path);
	line = cli_key_next_line(&rest);
	if (line == NULL)
		return cli_fail("%s holds no public key", path);
	rc = cli_key_parse_pub(path, line, key);
	if (rc == CLI_OK && cli_key_next_line(&rest) != NULL)
		return cli_fail("%s holds more than one key line; give a file "
				"with one public key",
		    path);
	return rc;
}

/* Reads the SSH wire string at *P (*LEFT bytes left) into S and N and
 * moves past it. */
static bool
cli_key_wire_string(
    const unsigned char **p, size_t *left, const unsigned char **s, size_t *n)
{
	const unsigned char *b = *p;
	uint32_t len;

	if (*left < 4)
		return false;
	len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	      (uint32_t)b[2] << 8 | (uint32_t)b[3];
	if (len > *left - 4)
		return false;
	*s = b + 4;
	*n = len;
	*p += 4 + (size_t)len;
	*left -= 4 + (size_t)len;
	return true;
}

/* The number of bits of the modulus in the blob of RSA key KEY ("ssh-rsa",
 * e, n), or 0 if it cannot be read. */
static int
cli_key_rsa_bits(ssh_key key)
{
	const unsigned char *p, *s = NULL;
	unsigned char *blob = NULL;
	char *b64 = NULL;
	size_t left, n = 0;
	int len, bits = 0;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return 0;
	blob = malloc(strlen(b64) / 4 * 3 + 3);
	len = blob != NULL ? EVP_DecodeBlock(blob, (const unsigned char *)b64,
				 (int)strlen(b64))
			   : -1;
	p = blob;
	left = len > 0 ? (size_t)len : 0;
	if (cli_key_wire_string(&p, &left, &s, &n) &&
	    cli_key_wire_string(&p, &left, &s, &n) &&
	    cli_key_wire_string(&p, &left, &s, &n)) {
		while (n > 0 && s[0] == 0) {
			s++;
			n--;
		}
		bits = n > 0 ? (int)(n * 8) : 0;
		for (unsigned c = n > 0 ? s[0] : 0x80; c < 0x80; c <<= 1)
			bits--;
	}
	free(blob);
	ssh_string_free_char(b64);
	return bits;
}

/* Refuses a weak key: DSA, or RSA below KEY_RSA_MIN_BITS. */
static int
cli_key_strong(const char *path, ssh_key key)
{
	int bits;

	if (ssh_key_type(key) == SSH_KEYTYPE_DSS)
		return cli_fail("%s is a DSA key, which is too weak; use an "
				"ed25519 key (ssh-keygen -t ed25519)",
		    path);
	if (ssh_key_type(key) != SSH_KEYTYPE_RSA)
		return CLI_OK;
	bits = cli_key_rsa_bits(key);
	if (bits == 0)
		return cli_fail("%s is not an OpenSSH public key", path);
	if (bits < KEY_RSA_MIN_BITS)
		return cli_fail("%s is an RSA key of %d bits, which is too "
				"weak; use at least %d bits, or ed25519",
		    path, bits, KEY_RSA_MIN_BITS);
	return CLI_OK;
}

int
cli_key_pub_file(const char *path, char *line, size_t size)
{
	ssh_key key = NULL;
	char *data = NULL;
	int rc;

	rc = cli_key_slurp(path, &data);
	if (rc == CLI_OK)
		rc = cli_key_from_text(path, data, &key);
	if (data != NULL) {
		/* It may have been a private key given by mistake. */
		explicit_bzero(data, KEY_FILE_MAX + 1);
		free(data);
	}
	if (rc == CLI_OK)
		rc = cli_key_strong(path, key);
	if (rc == CLI_OK)
		rc = cli_key_line(key, line, size);
	ssh_key_free(key);
	return rc;
}

/* True if NAME is a plain (not certificate) public key type. */
static bool
cli_key_type_ok(const char *name, enum ssh_keytypes_e *type)
{
	*type = ssh_key_type_from_name(name);
	return *type != SSH_KEYTYPE_UNKNOWN && strstr(name, "-cert-") == NULL;
}

/* Parses one known_hosts or ssh-keyscan line ("host type base64 ...") or
 * public key line ("type base64 ..."); NULL if it holds no key. */
static ssh_key
cli_key_parse_line(char *line)
{
	char *save = NULL;
	char *tok[3] = {NULL, NULL, NULL};
	enum ssh_keytypes_e type;
	ssh_key key = NULL;
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *t = strtok_r(line, " \t", &save); t != NULL && n < 3;
	     t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (tok[0] == NULL || tok[0][0] == '#' || tok[0][0] == '@')
		return NULL;
	for (int i = 0; i < 2; i++) {
		if (tok[i] == NULL || tok[i + 1] == NULL ||
		    !cli_key_type_ok(tok[i], &type))
			continue;
		if (ssh_pki_import_pubkey_base64(tok[i + 1], type, &key) ==
		    SSH_OK)
			return key;
	}
	return NULL;
}

/* Reads the keys of a known_hosts-style file: the ed25519 one if there is
 * one, else the first. NULL if none parses. */
static ssh_key
cli_key_scan_file(FILE *f)
{
	ssh_key best = NULL;
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) != -1) {
		ssh_key key = cli_key_parse_line(line);

		if (key == NULL)
			continue;
		if (best == NULL ||
		    (ssh_key_type(best) != SSH_KEYTYPE_ED25519 &&
			ssh_key_type(key) == SSH_KEYTYPE_ED25519)) {
			ssh_key_free(best);
			best = key;
		} else {
			ssh_key_free(key);
		}
	}
	free(line);
	return best;
}

int
cli_key_host_file(const char *path, char *line, size_t size)
{
	ssh_key key = NULL;
	FILE *f;
	int rc;

	if (cli_key_readable(path) != CLI_OK)
		return CLI_FAIL;
	if (ssh_pki_import_pubkey_file(path, &key) != SSH_OK) {
		key = NULL;
		f = fopen(path, "r");
		if (f == NULL)
			return cli_fail(
			    "cannot read %s: %s", path, strerror(errno));
		key = cli_key_scan_file(f);
		fclose(f);
	}
	if (key == NULL)
		return cli_fail(
		    "%s holds no public key nor known_hosts line", path);
	rc = cli_key_line(key, line, size);
	ssh_key_free(key);
	return rc;
}

void
cli_key_line_fingerprint(const char *line, char *buf, size_t size)
{
	char copy[STORE_KEY_MAX];
	ssh_key key;

	str_copy(buf, "?", size);
	if (!str_copy(copy, line, sizeof(copy)))
		return;
	key = cli_key_parse_line(copy);
	if (key == NULL)
		return;
	cli_key_fingerprint(key, buf, size);
	ssh_key_free(key);
}
