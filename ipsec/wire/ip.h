/*
 * ip: the IPv4 (RFC 791) and IPv6 (RFC 8200) headers the datapath writes
 * itself: AH's outer header, and the header of a transport-mode packet
 * once its ESP or AH is removed.  Also the Internet checksum (RFC 1071).
 */
#ifndef IPS_IP_H
#define IPS_IP_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ips_err.h"
#include "wire/rbuf.h"

#define IP4_HDR_LEN 20 /* without options: all we write */
#define IP6_HDR_LEN 40
#define IP_TTL_OUT 64

/* The one's complement sum of len bytes added to acc (RFC 1071 4.1). */
uint32_t ip_sum(uint32_t acc, const uint8_t *p, size_t len);
/* The checksum of a sum: folded to 16 bits and complemented. */
uint16_t ip_csum_of(uint32_t acc);

/* The header's length: IP4_HDR_LEN or IP6_HDR_LEN by src's family. */
size_t ip_header_len(const struct ips_addr *src);

/*
 * Append the header of an IP packet from src to dst whose payload of
 * payload_len bytes, protocol proto, follows: IPv4 with Identification
 * id and its checksum, or IPv6.  IPS_E_TOOBIG past 65535 bytes.
 */
IPS_MUST_USE ips_res ip_put_header(struct wbuf *w, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, size_t payload_len, uint16_t id);

/*
 * Recompute the TCP or UDP checksum of the IP packet pkt (its header
 * written by ip_put_header) over its own addresses: RFC 3948 3.1.2's
 * choice for transport-mode packets whose addresses a NAT rewrote.
 * Other protocols, and fragments, are left as they are.
 */
void ip_fix_transport_csum(uint8_t *pkt, size_t len);

#endif
