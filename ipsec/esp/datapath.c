#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "datapath.h"
#include "esp.h"
#include "wire/ike_wire.h"
#include "wire/ip.h"

#define DP_BUF (DP_MTU + 256) /* a packet and ESP's overhead, with room */
#define ESP_PROTO 50
#define AH_PROTO 51

/* A packet waiting for the SA its acquire asked for. */
struct dp_held {
	uint64_t since_ms;
	size_t len;
	uint8_t pkt[DP_MTU];
};

struct dp {
	struct sad *sad;
	const struct dp_ops *ops;
	void *ctx;
	struct dp_drops drops;
	uint8_t out[DP_BUF];
	/* inbound: what the peer tunnels is bounded by IP, not by our MTU;
	 * room in front for the header a transport-mode packet gets back */
	uint8_t in[IP6_HDR_LEN + 65536];
	/* a FIFO, oldest at head; allocated once with the datapath */
	struct dp_held held[DP_HOLD_MAX];
	size_t head, nheld;
};

struct dp *
dp_new(struct sad *sad, const struct dp_ops *ops, void *ctx)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (dp != NULL) {
		dp->sad = sad;
		dp->ops = ops;
		dp->ctx = ctx;
	}
	return dp;
}

void
dp_free(struct dp *dp)
{
	if (dp == NULL)
		return;
	/* the buffers and the held packets are cleartext */
	OPENSSL_cleanse(dp, sizeof(*dp));
	free(dp);
}

void
dp_drops(const struct dp *dp, struct dp_drops *out)
{
	*out = dp->drops;
}

/* TCP and UDP ports, if the transport header is there (a first or only
 * fragment). */
static void
ports(struct rbuf *r, uint8_t proto, struct dp_flow *f)
{
	uint16_t s, d;

	if ((proto == 6 || proto == 17) && ips_ok(rbuf_u16(r, &s)) &&
	    ips_ok(rbuf_u16(r, &d))) {
		f->sport = s;
		f->dport = d;
	}
}

ips_res
dp_flow_parse(const uint8_t *pkt, size_t len, struct dp_flow *f)
{
	struct rbuf r;
	uint8_t vihl;

	memset(f, 0, sizeof(*f));
	rbuf_init(&r, pkt, len);
	ENSURE(ips_ok(rbuf_u8(&r, &vihl)), IKE_MALFORMED);
	if (vihl >> 4 == 4) {
		/*= rfc791#section-3.1
		 *# Version | IHL | TOS | Total Length | ... | Protocol | ...
		 *# Source Address | Destination Address | Options */
		size_t ihl = (size_t)(vihl & 15) * 4;
		uint16_t total, frag;
		uint8_t proto;

		ENSURE(ihl >= 20 && ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_u16(&r, &total)) && total >= ihl &&
			total <= len && ips_ok(rbuf_skip(&r, 2)) &&
			ips_ok(rbuf_u16(&r, &frag)) &&
			ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_u8(&r, &proto)) &&
			ips_ok(rbuf_skip(&r, 2)) &&
			ips_ok(rbuf_bytes(&r, f->src.b, 4)) &&
			ips_ok(rbuf_bytes(&r, f->dst.b, 4)) &&
			ips_ok(rbuf_skip(&r, ihl - 20)),
		    IKE_MALFORMED);
		f->src.af = f->dst.af = AF_INET;
		f->proto = proto;
		if ((frag & 0x1fff) == 0) /* no offset: ports are here */
			ports(&r, proto, f);
		return IPS_OK;
	}
	if (vihl >> 4 == 6) {
		/*= rfc8200#section-3
		 *# Version | Traffic Class | Flow Label | Payload Length |
		 *# Next Header | Hop Limit | Source | Destination */
		uint16_t plen;
		uint8_t nh;

		ENSURE(ips_ok(rbuf_skip(&r, 3)) &&
			ips_ok(rbuf_u16(&r, &plen)) &&
			(size_t)plen + 40 <= len && ips_ok(rbuf_u8(&r, &nh)) &&
			ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_bytes(&r, f->src.b, 16)) &&
			ips_ok(rbuf_bytes(&r, f->dst.b, 16)),
		    IKE_MALFORMED);
		f->src.af = f->dst.af = AF_INET6;
		/* RFC 4301 4.4.1.1: the selector's protocol is the one
		 * after the extension headers; a fragment other than the
		 * first has no ports (a truncated chain: none either) */
		for (;;) {
			uint8_t next, hlen;
			uint16_t off;

			if (nh == 0 || nh == 43 || nh == 60) {
				/*= rfc8200#section-4.3
				 *# Next Header | Hdr Ext Len | Options */
				if (!ips_ok(rbuf_u8(&r, &next)) ||
				    !ips_ok(rbuf_u8(&r, &hlen)) ||
				    !ips_ok(
					rbuf_skip(&r, (size_t)hlen * 8 + 6)))
					break;
				nh = next;
				continue;
			}
			if (nh == 44) {
				/*= rfc8200#section-4.5
				 *# Next Header | Reserved | Fragment Offset
				 *# | Res | M | Identification */
				if (!ips_ok(rbuf_u8(&r, &next)) ||
				    !ips_ok(rbuf_skip(&r, 1)) ||
				    !ips_ok(rbuf_u16(&r, &off)) ||
				    !ips_ok(rbuf_skip(&r, 4)))
					break;
				nh = next;
				if ((off & 0xfff8) != 0) {
					f->proto = nh;
					return IPS_OK; /* no ports here */
				}
				continue;
			}
			f->proto = nh;
			ports(&r, nh, f);
			return IPS_OK;
		}
		f->proto = nh;
		return IPS_OK;
	}
	BAIL(IKE_MALFORMED);
}

static bool
udp_encap(const struct sad_params *p)
{
	return p->encap == IPSEC_ENCAP_UDP_TUNNEL ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT ||
	    p->encap == IPSEC_ENCAP_UDP_TUNNEL_DRAFT ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT_DRAFT;
}

static bool
transport_mode(const struct sad_params *p)
{
	return p->encap == IPSEC_ENCAP_TRANSPORT ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT_DRAFT;
}

/* An IP packet's header length (IPv6: extension headers are payload)
 * and total length; dp_flow_parse has checked both. */
static size_t
ip_hl(const uint8_t *pkt)
{
	return pkt[0] >> 4 == 4 ? (size_t)(pkt[0] & 15) * 4 : IP6_HDR_LEN;
}

static size_t
ip_total(const uint8_t *pkt)
{
	return pkt[0] >> 4 == 4 ? (size_t)pkt[2] << 8 | pkt[3]
				: IP6_HDR_LEN + ((size_t)pkt[4] << 8 | pkt[5]);
}

/*
 * Seal pkt on the SA that covers f and send it; false if no SA does.
 * Tunnel mode protects the whole packet; transport mode its payload, the
 * header staying outside (RFC 4303 3.1.1, RFC 4302 3.1.1).  AH writes
 * the outer header itself and goes as a whole packet; ESP goes in UDP
 * or as protocol 50 with a header the kernel writes.
 */
static bool
send_on_sa(
    struct dp *dp, const uint8_t *pkt, size_t len, const struct dp_flow *f)
{
	uint8_t nh = f->src.af == AF_INET ? ESP_NH_IPV4 : ESP_NH_IPV6;
	uint64_t now = dp->ops->now_ms(dp->ctx);
	const uint8_t *body = pkt;
	size_t blen = len;
	struct sad_info sa;
	struct wbuf w;
	ips_res r;
	int rc;

	if (!sad_outbound_for(
		dp->sad, &f->src, &f->dst, f->proto, f->sport, f->dport, &sa))
		return false;
	if (transport_mode(&sa.p)) {
		/* RFC 4303 3.1.1, RFC 4302 3.1.1: transport mode takes whole
		 * datagrams (an IPv4 fragment's header would be lost), and
		 * IPv6 extension headers would have to be split around it:
		 * neither is done here */
		if (pkt[0] >> 4 == 4 ? ((pkt[6] & 0x3f) | pkt[7]) != 0
				     : pkt[6] != f->proto) {
			dp->drops.not_transportable++;
			return true;
		}
		body = pkt + ip_hl(pkt);
		blen = ip_total(pkt) - ip_hl(pkt);
		/* what follows the header, an IPv6 extension header too */
		nh = pkt[0] >> 4 == 4 ? pkt[9] : pkt[6];
	}
	wbuf_init_on(&w, dp->out, sizeof(dp->out));
	r = sa.p.proto == ISAKMP_PROTO_AH
	    ? sad_ah_seal(dp->sad, sa.spi, nh, body, blen, &w, now)
	    : sad_esp_seal(dp->sad, sa.spi, nh, body, blen, &w, now);
	if (!ips_ok(r)) {
		if (r.err == IPS_E_TOOBIG)
			dp->drops.expired++;
		else
			dp->drops.send_failed++;
		rc = 0;
	} else if (sa.p.proto == ISAKMP_PROTO_AH) {
		rc = dp->ops->send_ip(dp->ctx, w.p, w.len);
	} else if (udp_encap(&sa.p)) {
		rc = dp->ops->send_udp(dp->ctx, &sa.p.local, sa.p.local_port,
		    &sa.p.remote, sa.p.remote_port, w.p, w.len);
	} else {
		rc = dp->ops->send_raw(
		    dp->ctx, &sa.p.local, &sa.p.remote, w.p, w.len);
	}
	if (rc != 0)
		dp->drops.send_failed++;
	if (sad_take_soft_due(dp->sad))
		dp->ops->soft_expired(dp->ctx);
	return true;
}

/* Keep a packet for its SA; when the queue is full the oldest goes. */
static void
hold(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct dp_held *h;

	if (len > DP_MTU) {
		dp->drops.no_sa++;
		return;
	}
	if (dp->nheld == DP_HOLD_MAX) {
		struct dp_held *old = &dp->held[dp->head];

		dp->drops.no_sa++;
		OPENSSL_cleanse(old->pkt, old->len);
		dp->head = (dp->head + 1) % DP_HOLD_MAX;
		dp->nheld--;
	}
	h = &dp->held[(dp->head + dp->nheld++) % DP_HOLD_MAX];
	h->since_ms = dp->ops->now_ms(dp->ctx);
	h->len = len;
	memcpy(h->pkt, pkt, len);
}

void
dp_tick(struct dp *dp)
{
	uint64_t now = dp->ops->now_ms(dp->ctx);
	size_t n = dp->nheld;

	/* each held packet once: sent if its SA is there now, kept while
	 * young, else dropped; the survivors keep their order */
	for (size_t i = 0; i < n; i++) {
		struct dp_held *h = &dp->held[dp->head];
		struct dp_flow f;

		dp->head = (dp->head + 1) % DP_HOLD_MAX;
		dp->nheld--;
		if (!ips_ok(dp_flow_parse(h->pkt, h->len, &f)) ||
		    dp->ops->decide(dp->ctx, &f) != DP_PROTECT) {
			/* the policy changed while it waited */
			dp->drops.no_sa++;
		} else if (send_on_sa(dp, h->pkt, h->len, &f)) {
			dp->drops.held_sent++;
		} else if (now - h->since_ms < DP_HOLD_MS) {
			struct dp_held *t =
			    &dp->held[(dp->head + dp->nheld++) % DP_HOLD_MAX];

			if (t == h)
				continue; /* back where it was */
			*t = *h;
		} else {
			dp->drops.no_sa++;
		}
		OPENSSL_cleanse(h->pkt, h->len); /* it held cleartext */
	}
}

/* Not ours to protect: on in clear, by the host's routes past the TUN
 * device (the daemon refuses when it has no mark to say so). */
static void
pass_clear(struct dp *dp, const uint8_t *pkt)
{
	if (dp->ops->send_clear(dp->ctx, pkt, ip_total(pkt)) == 0)
		dp->drops.clear++;
	else
		dp->drops.clear_unsent++;
}

void
dp_outbound(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct dp_flow f;

	if (!ips_ok(dp_flow_parse(pkt, len, &f))) {
		dp->drops.not_ip++;
		return;
	}
	switch (dp->ops->decide(dp->ctx, &f)) {
	case DP_BLOCK:
		dp->drops.blocked++;
		return;
	case DP_NONE:
		dp->drops.unmatched++;
		return;
	case DP_CLEAR:
		pass_clear(dp, pkt);
		return;
	case DP_PROTECT:
		break;
	}
	if (send_on_sa(dp, pkt, len, &f))
		return;
	/* a soft association: the peer never answered and the policy
	 * lets this traffic go in clear meanwhile */
	if (sad_soft_covers(dp->sad, &f.src, &f.dst, f.proto, f.sport, f.dport,
		dp->ops->now_ms(dp->ctx))) {
		pass_clear(dp, pkt);
		return;
	}
	/* RFC 4301 5.1: the packet waits (bounded) for the SA asked for */
	hold(dp, pkt, len);
	dp->ops->acquire(dp->ctx, &f);
}

/*
 * What an inbound SA gave up goes to the host: a tunnelled packet as it
 * is, a transport-mode payload under a header rebuilt from the SA's
 * endpoints (the one ESP or AH replaced).  RFC 4301 5.2: it must be
 * what the SA was made for, from the peer's selector to ours.
 */
static void
deliver(struct dp *dp, const struct sad_info *sa, uint8_t nh, struct wbuf *w)
{
	uint8_t *pkt = w->p;
	size_t len = w->len;
	struct dp_flow f;

	if (nh == ESP_NH_NONE)
		return; /* a dummy packet (RFC 4303 2.6) */
	if (transport_mode(&sa->p)) {
		size_t hl = ip_header_len(&sa->p.local);
		struct wbuf h;

		/* the payload sits IP6_HDR_LEN into dp->in: room enough */
		pkt -= hl;
		len += hl;
		wbuf_init_on(&h, pkt, hl);
		if (!ips_ok(ip_put_header(
			&h, &sa->p.remote, &sa->p.local, nh, w->len, 0))) {
			dp->drops.inner_mismatch++;
			return;
		}
		/* RFC 3948 3.1.2: the peer's checksums cover addresses a
		 * NAT may have changed */
		if (udp_encap(&sa->p))
			ip_fix_transport_csum(pkt, len);
	} else if (nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6) {
		dp->drops.inner_mismatch++;
		return;
	}
	if (!ips_ok(dp_flow_parse(pkt, len, &f)) ||
	    (!transport_mode(&sa->p) &&
		(nh == ESP_NH_IPV4) != (f.src.af == AF_INET)) ||
	    !ips_aspec_contains(&sa->p.dst, &f.src) ||
	    !ips_aspec_contains(&sa->p.src, &f.dst) ||
	    (sa->p.sel_proto != 0 && sa->p.sel_proto != f.proto) ||
	    /* ports as negotiated, ours first (a later fragment has
	     * none, and so matches no port selector) */
	    (sa->p.sel_sport != 0 && sa->p.sel_sport != f.dport) ||
	    (sa->p.sel_dport != 0 && sa->p.sel_dport != f.sport)) {
		dp->drops.inner_mismatch++;
		return;
	}
	if (dp->ops->deliver(dp->ctx, pkt, len) != 0)
		dp->drops.deliver_failed++;
}

void
dp_inbound(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct sad_info sa;
	struct wbuf w;
	uint8_t nh;

	wbuf_init_on(&w, dp->in + IP6_HDR_LEN, sizeof(dp->in) - IP6_HDR_LEN);
	if (sad_esp_open(dp->sad, pkt, len, &w, &nh, &sa,
		dp->ops->now_ms(dp->ctx)) != SAD_RX_OK)
		return; /* counted by the SAD */
	if (sad_take_soft_due(dp->sad))
		dp->ops->soft_expired(dp->ctx);
	deliver(dp, &sa, nh, &w);
}

void
dp_inbound_ip(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct sad_info sa;
	struct dp_flow f;
	struct wbuf w;
	uint8_t nh;
	size_t hl, total;

	if (!ips_ok(dp_flow_parse(pkt, len, &f))) {
		dp->drops.not_ip++;
		return;
	}
	hl = ip_hl(pkt);
	total = ip_total(pkt);
	if (f.proto == ESP_PROTO) {
		dp_inbound(dp, pkt + hl, total - hl);
		return;
	}
	if (f.proto != AH_PROTO) {
		dp->drops.not_ipsec++;
		return;
	}
	wbuf_init_on(&w, dp->in + IP6_HDR_LEN, sizeof(dp->in) - IP6_HDR_LEN);
	if (sad_ah_open(dp->sad, pkt, total, &w, &nh, &sa,
		dp->ops->now_ms(dp->ctx)) != SAD_RX_OK)
		return;
	if (sad_take_soft_due(dp->sad))
		dp->ops->soft_expired(dp->ctx);
	deliver(dp, &sa, nh, &w);
}
