/* SSH public keys for pimctl: reading key files and known_hosts lines,
 * writing the stored "type base64" form, fingerprints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/str.h"

#include "cli.h"

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

int
cli_key_pub_file(const char *path, char *line, size_t size)
{
	ssh_key key = NULL;
	int rc;

	if (cli_key_readable(path) != CLI_OK)
		return CLI_FAIL;
	if (ssh_pki_import_pubkey_file(path, &key) != SSH_OK)
		return cli_fail("%s is not an OpenSSH public key", path);
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
