/*
 * ah: AH packet protection for one SA (RFC 4302).  AH authenticates the
 * whole IP packet, outer header included, so unlike ESP it works on
 * complete IP packets: sealing writes the outer IPv4 or IPv6 header
 * itself (the datapath sends it with IP_HDRINCL), opening reads the
 * header the packet came with.  The HMAC context is keyed once, when the
 * SA is installed; no allocation per packet.
 *
 * Integrity: HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128 (RFC 4868),
 * with ESN (RFC 4304) when negotiated.  Not supported: IPv4 options and
 * IPv6 extension headers before AH in packets we open (we never send
 * them); such packets fail to verify.
 */
#ifndef IPS_AH_H
#define IPS_AH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ips_err.h"
#include "wire/rbuf.h"

#define AH_HDR_LEN 12 /* next header, length, reserved, SPI, sequence */

struct ah_sa;

IPS_MUST_USE ips_res ah_sa_new(unsigned auth, bool esn, uint32_t spi,
    const uint8_t *key, size_t klen, struct ah_sa **out);
void ah_sa_free(struct ah_sa *sa);

/* What AH adds to a payload: the outer IP header, AH's header and ICV. */
size_t ah_overhead(const struct ah_sa *sa, int af);

/* The SPI and low sequence bits of an AH packet (its IP header first);
 * IPS_E_SHORT if it is not an IP packet carrying AH. */
IPS_MUST_USE ips_res ah_peek(
    const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo);

/*
 * Write the IP packet from src to dst carrying payload under AH number
 * seq (its IPv4 Identification is seq's low 16 bits: unique long enough
 * for reassembly), appending it to out.
 */
IPS_MUST_USE ips_res ah_seal(struct ah_sa *sa, uint64_t seq,
    const struct ips_addr *src, const struct ips_addr *dst, uint8_t next_header,
    const uint8_t *payload, size_t len, struct wbuf *out);

/*
 * Verify AH packet pkt (from its IP header) as number seq and append
 * what it carries to out.  IPS_E_ESP_ICV if the ICV does not verify,
 * IPS_E_SHORT if it is truncated or malformed; on error out is as it was.
 */
IPS_MUST_USE ips_res ah_open(struct ah_sa *sa, uint64_t seq, const uint8_t *pkt,
    size_t len, struct wbuf *out, uint8_t *next_header);

#endif
