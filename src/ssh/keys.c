/* Public keys as the store keeps them: OpenSSH lines. */
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/str.h"

#include "ssh_int.h"

int
sshkey_from_line(const char *line, ssh_key *out)
{
	char buf[STORE_KEY_MAX];
	char *b64, *end;

	if (!str_copy(buf, line, sizeof(buf)))
		return PIM_EINVAL;
	b64 = strchr(buf, ' ');
	if (b64 == NULL)
		return PIM_EINVAL;
	*b64++ = '\0';
	end = strchr(b64, ' ');
	if (end != NULL)
		*end = '\0';
	if (ssh_pki_import_pubkey_base64(
		b64, ssh_key_type_from_name(buf), out) != SSH_OK)
		return PIM_EINVAL;
	return PIM_OK;
}
