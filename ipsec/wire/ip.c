#include <string.h>
#include <sys/socket.h>

#include "ip.h"

uint32_t
ip_sum(uint32_t acc, const uint8_t *p, size_t len)
{
	uint64_t s = acc;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 32 != 0)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t
ip_csum_of(uint32_t acc)
{
	while (acc >> 16 != 0)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

size_t
ip_header_len(const struct ips_addr *src)
{
	return src->af == AF_INET ? IP4_HDR_LEN : IP6_HDR_LEN;
}

ips_res
ip_put_header(struct wbuf *w, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, size_t payload_len, uint16_t id)
{
	uint8_t *h;
	uint16_t c;

	ENSURE(
	    src->af == dst->af && (src->af == AF_INET || src->af == AF_INET6),
	    INVAL);
	if (src->af == AF_INET) {
		/*= rfc791#section-3.1
		 *# Version | IHL | TOS | Total Length | Identification |
		 *# Flags | Fragment Offset | TTL | Protocol | Checksum */
		ENSURE(payload_len <= 65535 - IP4_HDR_LEN, TOOBIG);
		GUARD(wbuf_reserve(w, IP4_HDR_LEN, &h));
		memset(h, 0, IP4_HDR_LEN);
		h[0] = 0x45;
		h[2] = (uint8_t)((payload_len + IP4_HDR_LEN) >> 8);
		h[3] = (uint8_t)(payload_len + IP4_HDR_LEN);
		h[4] = (uint8_t)(id >> 8);
		h[5] = (uint8_t)id;
		h[8] = IP_TTL_OUT;
		h[9] = proto;
		memcpy(h + 12, src->b, 4);
		memcpy(h + 16, dst->b, 4);
		c = ip_csum_of(ip_sum(0, h, IP4_HDR_LEN));
		h[10] = (uint8_t)(c >> 8);
		h[11] = (uint8_t)c;
		return IPS_OK;
	}
	/*= rfc8200#section-3
	 *# Version | Traffic Class | Flow Label | Payload Length |
	 *# Next Header | Hop Limit | Source | Destination */
	ENSURE(payload_len <= 65535, TOOBIG);
	GUARD(wbuf_reserve(w, IP6_HDR_LEN, &h));
	memset(h, 0, IP6_HDR_LEN);
	h[0] = 0x60;
	h[4] = (uint8_t)(payload_len >> 8);
	h[5] = (uint8_t)payload_len;
	h[6] = proto;
	h[7] = IP_TTL_OUT;
	memcpy(h + 8, src->b, 16);
	memcpy(h + 24, dst->b, 16);
	return IPS_OK;
}

void
ip_fix_transport_csum(uint8_t *pkt, size_t len)
{
	size_t hl, off;
	uint8_t proto, pseudo[4];
	uint32_t s;
	uint16_t c;

	if (len >= IP4_HDR_LEN && pkt[0] >> 4 == 4) {
		hl = (size_t)(pkt[0] & 15) * 4;
		if (hl < IP4_HDR_LEN || len < hl ||
		    ((pkt[6] & 0x3f) | pkt[7]) != 0) /* MF or offset */
			return;
		proto = pkt[9];
		s = ip_sum(0, pkt + 12, 8);
	} else if (len >= IP6_HDR_LEN && pkt[0] >> 4 == 6) {
		hl = IP6_HDR_LEN;
		proto = pkt[6];
		s = ip_sum(0, pkt + 8, 32);
	} else {
		return;
	}
	if (proto == 6)
		off = 16;
	else if (proto == 17)
		off = 6;
	else
		return;
	if (len < hl + off + 2)
		return;
	/* a UDP datagram must be all of the payload: else it is not what
	 * its header says, and a fresh checksum would only hide that */
	if (proto == 17 && ((size_t)pkt[hl + 4] << 8 | pkt[hl + 5]) != len - hl)
		return;
	/* a UDP checksum of zero means none was sent (IPv4 only) */
	if (proto == 17 && pkt[hl + 6] == 0 && pkt[hl + 7] == 0 &&
	    pkt[0] >> 4 == 4)
		return;
	/* the pseudo-header: addresses, protocol, transport length */
	pseudo[0] = 0;
	pseudo[1] = proto;
	pseudo[2] = (uint8_t)((len - hl) >> 8);
	pseudo[3] = (uint8_t)(len - hl);
	s = ip_sum(s, pseudo, 4);
	pkt[hl + off] = pkt[hl + off + 1] = 0;
	s = ip_sum(s, pkt + hl, len - hl);
	c = ip_csum_of(s);
	if (proto == 17 && c == 0)
		c = 0xffff; /* RFC 768: zero is "none" */
	pkt[hl + off] = (uint8_t)(c >> 8);
	pkt[hl + off + 1] = (uint8_t)c;
}
