/* Distinguished names as written in a policy's peer-id: whatever parses
 * must print back to a name that parses to the same DER. */
#include <stdlib.h>
#include <string.h>

#include "crypto/ike_x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t der[1024], again[1024];
	char *s = malloc(size + 1), text[1024];
	size_t len, len2;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ips_ok(ike_dn_parse(s, der, sizeof(der), &len))) {
		ike_dn_text(der, len, text, sizeof(text));
		/* The text form escapes what it must; a name that does not
		 * read back is a bug in one of the two directions. */
		if (text[0] != '\0' && strlen(text) < sizeof(text) - 1 &&
		    strchr(text, '\\') == NULL &&
		    (!ips_ok(ike_dn_parse(text, again, sizeof(again), &len2)) ||
			len2 != len || memcmp(der, again, len) != 0))
			abort();
	}
	free(s);
	return 0;
}
