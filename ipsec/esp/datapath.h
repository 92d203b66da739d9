/*
 * datapath: the IPsec driver of this engine.  Cleartext packets come from
 * the host (a TUN device: the routes into it are the traffic to protect);
 * each is matched to the outbound SA whose selectors cover it, sealed and
 * sent to the peer as ESP-in-UDP (RFC 3948) when Quick Mode chose UDP
 * encapsulation (a NAT between), else as IP protocol 50.  ESP arriving from
 * peers is opened by the SAD (esp/esp.h, esp/replay.h) and, if its inner packet
 * matches the SA it came on (RFC 4301 5.2), delivered to the host.
 *
 * The SPD decides each outbound packet first: a block filter drops it, a
 * negotiate filter sends it on its SA or, with none, asks IKE for one (an
 * acquire) and holds it, a bounded while, for that SA.  The Quick Mode
 * statistics are counted by the SAD as each event happens. No allocation per
 * packet: one buffer each way, owned here.
 */
#ifndef IPS_DATAPATH_H
#define IPS_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ips_err.h"
#include "sad/sad.h"

#define DP_MTU 1400 /* the TUN device's, as kernel-libipsec's ipsec0 */
#define DP_HOLD_MAX 64 /* packets waiting for their SA, all flows */
#define DP_HOLD_MS 5000 /* how long one waits */

/* What identifies a packet's flow to the SPD and the SAD. */
struct dp_flow {
	struct ips_addr src, dst;
	uint8_t proto; /* IP protocol, after IPv6's header */
	uint16_t sport, dport; /* TCP/UDP (first fragment), else 0 */
};

/*
 * An IP packet's flow: version, header and total lengths checked against
 * len.  IPS_E_IKE_MALFORMED for what is not an IPv4 or IPv6 packet.
 */
IPS_MUST_USE ips_res dp_flow_parse(
    const uint8_t *pkt, size_t len, struct dp_flow *f);

enum dp_verdict {
	DP_PROTECT, /* a negotiate filter: an SA, or an acquire */
	DP_BLOCK, /* a block filter */
	DP_CLEAR, /* a permit filter: passed on in clear */
	DP_NONE, /* no filter: not traffic the host should route to us
		    (its own IPv6 chatter on the device, say); dropped */
};

struct dp_ops {
	/* An ESP packet to the peer, in UDP between these ports. */
	int (*send_udp)(void *ctx, const struct ips_addr *local, uint16_t lport,
	    const struct ips_addr *remote, uint16_t rport, const uint8_t *pkt,
	    size_t len);
	/* A whole IP packet, its header ours (AH, or cleartext passed on
	 * by a permit filter), by the main routing table. */
	int (*send_ip)(void *ctx, const uint8_t *pkt, size_t len);
	/* A cleartext packet from the host, a permit filter's or a soft
	 * SA's, sent on past the TUN device; non-zero if it cannot be (no
	 * routing that keeps it from coming back in). */
	int (*send_clear)(void *ctx, const uint8_t *pkt, size_t len);
	/* An ESP packet to the peer as IP protocol 50 (no NAT between). */
	int (*send_raw)(void *ctx, const struct ips_addr *local,
	    const struct ips_addr *remote, const uint8_t *pkt, size_t len);
	/* A decapsulated packet for the host. */
	int (*deliver)(void *ctx, const uint8_t *pkt, size_t len);
	/* The SPD's decision on an outbound flow (docs/FILTERS.md: the most
	 * specific filter's outbound action). */
	enum dp_verdict (*decide)(void *ctx, const struct dp_flow *f);
	/* A negotiate filter covers this flow and no SA does: ask IKE. */
	void (*acquire)(void *ctx, const struct dp_flow *f);
	/* An SA passed 90% of its volume: IKE should rekey it now. */
	void (*soft_expired)(void *ctx);
	uint64_t (*now_ms)(void *ctx);
};

/* Counts of what the datapath dropped outside the Quick Mode statistics
 * (for the diagnostics of issue 6 and the tests). */
struct dp_drops {
	uint64_t no_sa; /* outbound, to protect, no SA within DP_HOLD_MS,
			   pushed out of a full queue, or no longer to
			   protect when its SA came (a reload) */
	uint64_t held_sent; /* held for an SA, then sent on it */
	uint64_t blocked; /* outbound, a block filter */
	uint64_t clear; /* outbound, a permit filter's or a soft SA's:
			   passed on in clear */
	uint64_t clear_unsent; /* the same, that could not be (no mark) */
	uint64_t unmatched; /* outbound, no filter at all */
	uint64_t not_transportable; /* outbound on a transport SA: an IPv4
				       fragment, or IPv6 with extension
				       headers */
	uint64_t expired; /* outbound, its SA past its hard byte lifetime
			     or its sequence numbers (IKE replaces it) */
	uint64_t not_ip; /* from the host, not an IP packet */
	uint64_t inner_mismatch; /* inbound, inner packet off its SA */
	uint64_t not_ipsec; /* from a raw socket, neither ESP nor AH */
	uint64_t send_failed, deliver_failed;
};

struct dp;

struct dp *dp_new(struct sad *sad, const struct dp_ops *ops, void *ctx);
void dp_free(struct dp *dp);
/* A cleartext packet from the host. */
void dp_outbound(struct dp *dp, const uint8_t *pkt, size_t len);
/* An ESP packet from the wire: in UDP (the non-ESP marker already told
 * it from IKE) or as IP protocol 50, its IP header stripped. */
void dp_inbound(struct dp *dp, const uint8_t *pkt, size_t len);
/* An ESP or AH packet from a raw socket, its IP header included. */
void dp_inbound_ip(struct dp *dp, const uint8_t *pkt, size_t len);
void dp_drops(const struct dp *dp, struct dp_drops *out);
/* Every few hundred milliseconds: held packets whose SA has come go out
 * on it; those that waited DP_HOLD_MS are dropped. */
void dp_tick(struct dp *dp);

#endif
