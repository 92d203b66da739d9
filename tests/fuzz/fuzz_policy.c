/* The policy parser, then filter expansion of whatever it accepts. */
#include <stddef.h>
#include <stdint.h>

#include "spd/filter.h"
#include "spd/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const local[] = {
	    "192.0.2.1", "10.0.0.1", "2001:db8::1"};
	struct policy_error err;
	struct policy *p = NULL;
	struct hostenv *h;
	struct flt_set *fs = NULL;

	if (!ips_ok(policy_load_buffer(
		"fuzz.yaml", (const char *)data, size, &p, &err)))
		return 0;
	if ((h = hostenv_new()) != NULL) {
		for (size_t i = 0; i < 3; i++) {
			struct ips_addr a;

			if (!ips_addr_parse(local[i], &a) ||
			    !ips_ok(hostenv_add(
				h, i < 2 ? HOSTENV_LOCAL : HOSTENV_DNS, &a)))
				break;
		}
		if (ips_ok(flt_set_build(p, h, &fs)))
			flt_set_free(fs);
		hostenv_free(h);
	}
	policy_free(p);
	return 0;
}
