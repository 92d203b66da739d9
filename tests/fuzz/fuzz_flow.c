/*
 * The datapath's IP header reader on arbitrary packets from the host:
 * whatever it accepts must lie within the packet and name a family.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "esp/datapath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_flow f;

	if (ips_ok(dp_flow_parse(data, size, &f)) &&
	    ((f.src.af != AF_INET && f.src.af != AF_INET6) ||
		f.src.af != f.dst.af || size < (f.src.af == AF_INET ? 20 : 40)))
		abort();
	return 0;
}
