/* Address specifications: whatever parses must print back to itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[IPS_ASPECSTRLEN];
	struct ips_aspec a, b;
	const char *why;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ips_ok(ips_aspec_parse(s, &a, &why))) {
		ips_aspec_str(&a, buf, sizeof(buf));
		if (!ips_ok(ips_aspec_parse(buf, &b, &why)) ||
		    ips_aspec_cmp(&a, &b) != 0)
			abort();
		(void)ips_aspec_specificity(&a);
	}
	free(s);
	return 0;
}
