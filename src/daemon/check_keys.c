/* pimgated -t: the key files are read the way the daemon reads them, so
 * a key that is empty, cut or of the wrong kind is found by the check
 * and not by the start after it. */
#include <stdio.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pimgate/audit.h"
#include "pimgate/ca.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/vault.h"

#include "daemon.h"

/* The listener's certificate and its key: both PEM, and a pair. */
static int
check_tls_pair(
    const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	FILE *cf = fopen(cert_path, "re"), *kf = fopen(key_path, "re");
	X509 *cert = cf != NULL ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key =
	    kf != NULL ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
	int r = PIM_OK;

	if (cert == NULL) {
		snprintf(err, errlen,
		    "[postgres] tls_cert %s: no PEM certificate", cert_path);
		r = PIM_EINVAL;
	} else if (key == NULL) {
		snprintf(err, errlen,
		    "[postgres] tls_key %s: no PEM private key", key_path);
		r = PIM_EINVAL;
	} else if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, errlen,
		    "[postgres] tls_key %s: not the key of tls_cert %s",
		    key_path, cert_path);
		r = PIM_EINVAL;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	if (cf != NULL)
		fclose(cf);
	if (kf != NULL)
		fclose(kf);
	ERR_clear_error();
	return r;
}

static int
check_host_key(const char *path, char *err, size_t errlen)
{
	ssh_key key = NULL;

	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		snprintf(err, errlen,
		    "[ssh] host_key %s: not an OpenSSH private key", path);
		return PIM_EINVAL;
	}
	ssh_key_free(key);
	return PIM_OK;
}

static int
check_signing_key(const char *path, char *err, size_t errlen)
{
	struct audit_key *k = NULL;
	char why[256];

	if (access(path, F_OK) != 0)
		return PIM_OK; /* pimgated makes it */
	if (audit_key_load(path, &k, why, sizeof(why)) != PIM_OK) {
		snprintf(err, errlen, "[audit] signing_key: %s", why);
		return PIM_EINVAL;
	}
	audit_key_free(k);
	return PIM_OK;
}

int
check_key_contents(const struct config *cfg, check_say_fn say, void *arg)
{
	struct vault *v = NULL;
	struct ca *ca = NULL;
	char err[512];
	int problems = 0;

	if (vault_open(cfg->secret_key, &v) != PIM_OK) {
		snprintf(err, sizeof(err),
		    "[server] secret_key %s: not a key pimctl init made "
		    "(wrong size or unreadable)",
		    cfg->secret_key);
		say(arg, err);
		problems++;
	}
	vault_close(v);
	if (ca_load(cfg->ca_cert, cfg->ca_key, &ca, err, sizeof(err)) !=
	    PIM_OK) {
		say(arg, err);
		problems++;
	}
	ca_free(ca);
	if (check_tls_pair(cfg->pg_tls_cert, cfg->pg_tls_key, err,
		sizeof(err)) != PIM_OK ||
	    check_host_key(cfg->host_key, err, sizeof(err)) != PIM_OK) {
		say(arg, err);
		problems++;
	}
	if (check_signing_key(cfg->audit_key, err, sizeof(err)) != PIM_OK) {
		say(arg, err);
		problems++;
	}
	return problems;
}
