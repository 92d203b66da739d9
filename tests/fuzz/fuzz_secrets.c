/* The secrets file parser. */
#include <stddef.h>
#include <stdint.h>

#include "spd/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct secrets *s = NULL;

	if (ips_ok(secrets_load_buffer(
		"fuzz.yaml", (const char *)data, size, &s, &err)))
		secrets_free(s);
	return 0;
}
