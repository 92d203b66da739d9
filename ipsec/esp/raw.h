/*
 * raw: the IP packets this kernel, having no IPsec of its own, leaves to
 * us: ESP (protocol 50) and AH (51) from and to peers with no NAT between,
 * over IPv4 and IPv6, and cleartext packets from the TUN device that a
 * permit filter passes on.  Needs CAP_NET_RAW.
 *
 * Every socket carries the daemon's firewall mark, if it has one: policy
 * routing then sends what we write by the main table while the host's own
 * traffic to a transport-mode peer goes through the TUN device
 * (docs/ESP.md, "Routing").
 */
#ifndef IPS_RAW_H
#define IPS_RAW_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/addr.h"
#include "base/ips_err.h"

struct raw_ip;

/* Each ESP or AH packet received, as a whole IP packet (an IPv6 header,
 * which raw sockets do not hand over, rebuilt from its addresses). */
typedef void (*raw_ip_cb)(void *ctx, const uint8_t *pkt, size_t len);

/* IPv6 may be missing (disabled on the host): then only IPv4 works. */
IPS_MUST_USE ips_res raw_ip_open(uv_loop_t *loop, uint32_t mark, raw_ip_cb cb,
    void *ctx, struct raw_ip **out, char *errbuf, size_t errlen);
/* An ESP packet; the kernel writes its IP header, from the source
 * address routing picks.  0 or a negative errno. */
int raw_ip_send_esp(struct raw_ip *r, const struct ips_addr *remote,
    const uint8_t *pkt, size_t len);
/* A whole IP packet, header included: AH, or cleartext passed on. */
int raw_ip_send_packet(struct raw_ip *r, const uint8_t *pkt, size_t len);
/* Close; memory goes with libuv's close callbacks. */
void raw_ip_close(struct raw_ip *r);

#endif
