/*
 * ike_io: the IKE sockets on the daemon's libuv loop.
 *
 * UDP 500 and 4500 (RFC 3947), IPv4 and IPv6, bound to every address.
 * Each datagram's destination address is read with IP_PKTINFO /
 * IPV6_RECVPKTINFO so replies leave from the address the peer talked to.
 * On 4500, IKE carries a 4-byte zero non-ESP marker (RFC 3948 2.2), added
 * and removed here; a datagram without it is ESP, handed to esp_cb.
 */
#ifndef IPS_IKE_IO_H
#define IPS_IKE_IO_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/ips_err.h"
#include "ike.h"
#include "stats/stats.h"

typedef void (*ike_io_cb)(void *ctx, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len);

struct ike_io;

/*
 * Bind port and natt_port on IPv4 and (if available) IPv6.  ike_cb gets
 * IKE datagrams with the marker removed; esp_cb (may be NULL) gets
 * UDP-encapsulated ESP.  stats counts Receive Failures.  A non-zero mark
 * is set on every socket (SO_MARK: policy routing, docs/ESP.md).
 */
IPS_MUST_USE ips_res ike_io_start(uv_loop_t *loop, uint16_t port,
    uint16_t natt_port, uint32_t mark, ike_io_cb ike_cb, ike_io_cb esp_cb,
    void *ctx, struct stats *stats, struct ike_io **out, char *errbuf,
    size_t errlen);
/* Send from local (its port picks the socket) to remote; on the NAT-T
 * port the non-ESP marker is added.  0 or a negative errno. */
int ike_io_send(struct ike_io *io, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len);
/* An ESP packet in UDP (RFC 3948): from the NAT-T port, no marker. */
int ike_io_send_esp(struct ike_io *io, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *pkt, size_t len);
/* Close the sockets; memory goes with the libuv close callbacks. */
void ike_io_stop(struct ike_io *io);

#endif
