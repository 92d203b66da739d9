#include "ctl_frame.h"

ips_res
ctl_frame_parse(struct rbuf *rb, struct rbuf *payload)
{
	struct rbuf peek = *rb;
	uint32_t len;

	GUARD(rbuf_u32(&peek, &len));
	ENSURE(len <= CTL_FRAME_MAX, TOOBIG);
	GUARD(rbuf_sub(&peek, len, payload));
	*rb = peek;
	return IPS_OK;
}

ips_res
ctl_frame_write(struct wbuf *wb, const void *p, size_t n)
{
	size_t start = wb->len;
	ips_res r;

	ENSURE(n <= CTL_FRAME_MAX, TOOBIG);
	r = wbuf_u32(wb, (uint32_t)n);
	if (ips_ok(r))
		r = wbuf_bytes(wb, p, n);
	if (!ips_ok(r))
		wb->len = start; /* all or nothing */
	return r;
}
